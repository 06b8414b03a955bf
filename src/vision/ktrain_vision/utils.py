"""``make_grid`` and ``save_image`` (torchvision.utils semantics).

    grid = make_grid(batch, nrow=8, padding=2, normalize=True)   # (3, H', W') float
    save_image(batch, "samples.png", nrow=4)
"""
from __future__ import annotations

import math
from pathlib import Path

import ktrain
import numpy as np
from ktrain import _backend as B
from PIL import Image

__all__ = ["make_grid", "save_image"]


def _stack(tensor):
    if isinstance(tensor, (list, tuple)):
        if not tensor:
            raise ValueError("make_grid: got an empty list of images")
        arrs = [t._data if isinstance(t, ktrain.Tensor) else np.asarray(t) for t in tensor]
        xp = B.array_module(arrs[0])
        shapes = {a.shape for a in arrs}
        if len(shapes) != 1:
            raise ValueError(f"make_grid: all images must have the same shape, got "
                             f"{sorted(shapes)}")
        return xp.stack(arrs)
    if not isinstance(tensor, ktrain.Tensor):
        raise TypeError(f"make_grid: expected a tensor or a list of tensors, got "
                        f"{type(tensor).__name__}")
    return tensor._data


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0):
    """Tile images ``(B, C, H, W)`` (or a list of ``(C, H, W)``) into one ``(C, H', W')``
    image, ``nrow`` per row with ``padding`` pixels of ``pad_value`` around each.

    ``normalize=True`` shifts to [0, 1] by ``value_range = (lo, hi)`` (default: the min and
    max of the whole batch, or of each image with ``scale_each``). One-channel images are
    repeated to 3 channels; a single image is returned without padding.
    """
    a = _stack(tensor)
    xp = B.array_module(a)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        if a.shape[0] == 1:
            a = xp.concatenate([a] * 3, axis=0)
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected (B, C, H, W), (C, H, W) or (H, W) images, got "
                         f"shape {a.shape}")
    if a.shape[1] == 1:
        a = xp.concatenate([a] * 3, axis=1)
    if normalize:
        a = a.astype(np.float32) if a.dtype.kind != "f" else a.copy()
        if value_range is not None:
            if len(value_range) != 2:
                raise ValueError("value_range has to be a tuple (min, max) if specified")
            lo, hi = float(value_range[0]), float(value_range[1])
            a = (xp.clip(a, lo, hi) - lo) / max(hi - lo, 1e-5)
        elif scale_each:
            lo = a.min(axis=(1, 2, 3), keepdims=True)
            hi = a.max(axis=(1, 2, 3), keepdims=True)
            a = (a - lo) / xp.maximum(hi - lo, 1e-5)
        else:
            lo, hi = float(a.min()), float(a.max())
            a = (a - lo) / max(hi - lo, 1e-5)
    if a.shape[0] == 1:
        return ktrain.as_tensor(a[0])
    n, c, h, w = a.shape
    xmaps = min(nrow, n)
    ymaps = math.ceil(n / xmaps)
    height, width = h + padding, w + padding
    cells = xp.full((ymaps * xmaps, c, height, width), pad_value, dtype=a.dtype)
    cells[:n, :, padding:, padding:] = a
    grid = cells.reshape(ymaps, xmaps, c, height, width).transpose(2, 0, 3, 1, 4)
    grid = grid.reshape(c, ymaps * height, xmaps * width)
    out = xp.full((c, ymaps * height + padding, xmaps * width + padding), pad_value,
                  dtype=a.dtype)
    out[:, :ymaps * height, :xmaps * width] = grid
    return ktrain.as_tensor(out)


def save_image(tensor, fp, format=None, **kwargs) -> None:
    """Save images as one grid image file; ``kwargs`` go to :func:`make_grid`. Float
    images are taken in [0, 1] (uint8 images as they are)."""
    grid = make_grid(tensor, **kwargs)._data
    if B.is_cuda_array(grid):
        grid = grid.get()
    if grid.dtype.kind == "f":
        grid = np.clip(grid * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif grid.dtype != np.uint8:
        grid = np.clip(grid, 0, 255).astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(grid.transpose(1, 2, 0)))
    if isinstance(fp, (str, Path)):
        Path(fp).parent.mkdir(parents=True, exist_ok=True)
    img.save(fp, format=format)
