"""Batch-level MixUp and CutMix (``torchvision.transforms.v2`` semantics).

Both take a collated batch ``(images (N, C, H, W) float, labels (N,) int)`` (a tuple, a
list, or just the two arguments) and return ``(mixed images, soft labels (N, num_classes)
float)``; each sample is mixed with its neighbour in the batch (``roll(1, 0)``), and every
label row sums to 1. ``lambda ~ Beta(alpha, alpha)`` is drawn from ktrain's generator.

    mix = CutMix(num_classes=10)
    loader = DataLoader(ds, batch_size=64,
                        collate_fn=lambda s: mix(default_collate(s)))
"""
from __future__ import annotations

import math

import ktrain
from ktrain import _backend as B

from . import _rng
from ._transforms import _Transform

__all__ = ["CutMix", "MixUp"]


class _BatchMix(_Transform):
    def __init__(self, *, alpha=1.0, num_classes=None, labels_getter="default"):
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.alpha = float(alpha)
        self.num_classes = num_classes
        self.labels_getter = labels_getter

    def _unpack(self, args):
        container = None
        if len(args) == 1 and isinstance(args[0], (tuple, list)):
            container = type(args[0])
            args = tuple(args[0])
        if len(args) < 2:
            raise ValueError(f"{type(self).__name__} expects a batch (images, labels), got "
                             f"{len(args)} element(s)")
        images, labels, *rest = args
        if not isinstance(images, ktrain.Tensor) or images.ndim != 4:
            raise ValueError(f"{type(self).__name__}: images must be a (N, C, H, W) tensor, "
                             f"got {getattr(images, 'shape', type(images).__name__)}")
        if not images.is_floating_point():
            raise TypeError(f"{type(self).__name__}: images must be float (add to_tensor / "
                            f"to_dtype(scale=True) to the sample transform), got {images.dtype}")
        if not isinstance(labels, ktrain.Tensor) or labels.ndim != 1 \
                or labels.is_floating_point():
            raise ValueError(f"{type(self).__name__}: labels must be a (N,) integer tensor, got "
                             f"{getattr(labels, 'shape', type(labels).__name__)}")
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"{type(self).__name__}: {images.shape[0]} images but "
                             f"{labels.shape[0]} labels")
        if self.num_classes is None:
            raise ValueError(f"{type(self).__name__}: num_classes is required")
        return container, images, labels, rest

    def _one_hot(self, labels, like):
        y = labels._data
        xp = B.array_module(y)
        if bool((y < 0).any()) or bool((y >= self.num_classes).any()):
            raise ValueError(f"{type(self).__name__}: labels must be in [0, {self.num_classes})")
        return (y[:, None] == xp.arange(self.num_classes)[None, :]).astype(like.dtype)

    def _lam(self) -> float:
        return float(_rng.numpy_generator().beta(self.alpha, self.alpha))

    @staticmethod
    def _pack(container, images, labels, rest):
        out = (images, labels, *rest)
        return container(out) if container is not None else out

    def __call__(self, *args):
        container, images, labels, rest = self._unpack(args)
        x = images._data
        y = self._one_hot(labels, x)
        x, y = self._mix(x, y)
        return self._pack(container, ktrain.as_tensor(x), ktrain.as_tensor(y), rest)


class MixUp(_BatchMix):
    """``x = lam * x + (1 - lam) * x.roll(1)`` and the same for the one-hot labels."""

    def __init__(self, *, alpha=1.0, num_classes=None, labels_getter="default"):
        super().__init__(alpha=alpha, num_classes=num_classes, labels_getter=labels_getter)

    def _mix(self, x, y):
        xp = B.array_module(x)
        lam = self._lam()
        lx = x.dtype.type(lam)
        x = xp.roll(x, 1, axis=0) * (1 - lx) + x * lx
        y = xp.roll(y, 1, axis=0) * (1 - lx) + y * lx
        return x, y


class CutMix(_BatchMix):
    """Paste a random box (area about ``1 - lam``) from the rolled batch; labels mixed by
    the box's actual area."""

    def __init__(self, *, alpha=1.0, num_classes=None, labels_getter="default"):
        super().__init__(alpha=alpha, num_classes=num_classes, labels_getter=labels_getter)

    def _mix(self, x, y):
        xp = B.array_module(x)
        lam = self._lam()
        h, w = x.shape[-2:]
        rx, ry = _rng.randint(0, w), _rng.randint(0, h)
        r = 0.5 * math.sqrt(1.0 - lam)
        rw, rh = int(r * w), int(r * h)
        x1, y1 = max(rx - rw, 0), max(ry - rh, 0)
        x2, y2 = min(rx + rw, w), min(ry + rh, h)
        out = x.copy()
        out[..., y1:y2, x1:x2] = xp.roll(x, 1, axis=0)[..., y1:y2, x1:x2]
        lam_adj = 1.0 - (x2 - x1) * (y2 - y1) / float(w * h)
        la = y.dtype.type(lam_adj)
        y = xp.roll(y, 1, axis=0) * (1 - la) + y * la
        return out, y


