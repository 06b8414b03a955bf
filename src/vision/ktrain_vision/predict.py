"""``ktrain predict`` on image files: readers for .png/.jpg/.jpeg/.bmp/.gif/.webp/.tif(f)
and a ``--grid`` writer that draws the inputs with their predictions.

    ktrain predict outputs/resnet/<run> digit.png photos/ --top-k 3 --grid preds.png

The reader opens an image with Pillow and turns it into what the run's model was
trained on: the mode follows the dataset's samples (1 channel: 'L', 3: 'RGB'), the
dataset's evaluation transform (``context.dataset.transform``) is applied, and when
the result's height/width differ from the dataset's samples the image is first resized
to them. Without a dataset the image becomes a float32 CHW array in [0, 1]
(``ToTensor``), resized to the model's input size when it is known.

Both are registered by :func:`register_predict`, which the plugin's ``register()`` calls.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "read_image_for_predict", "register_predict", "write_grid"]

#: The file extensions ``ktrain predict`` reads as images.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

_TILE = 128  # grid tile side in pixels (small images are scaled up, nearest neighbour)


def _error(msg):
    from ktrain.config import ConfigError

    return ConfigError(msg)


def _open(path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.seek(0)  # first frame of an animated GIF/WebP/TIFF
            im.load()
            return im.copy() if im.mode != "P" else im.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise _error(f"{path}: cannot read the image ({e})") from None


def _to_mode(img, channels):
    """``img`` converted to 'L' (1 channel) or 'RGB' (3); transparency goes on white."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        from PIL import Image

        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: scale to 8 bits
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if a.max() > 255 else 255.0
        from PIL import Image

        img = Image.fromarray(np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if channels == 1:
        return img.convert("L")
    if channels == 3:
        return img.convert("RGB")
    return img if img.mode in ("L", "RGB") else img.convert("RGB")


def _as_array(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a ktrain Tensor
        x = x.detach().cpu().numpy()
    elif hasattr(x, "mode") and hasattr(x, "size"):  # still a PIL image
        a = np.asarray(x, dtype=np.float32) / 255.0
        x = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def _resize(img, hw):
    from .io import fit_image

    return fit_image(img, hw)


def read_image_for_predict(path, context) -> np.ndarray:
    """One image file as one model input sample ``(C, H, W)`` float32 (see the module
    docstring for how the run's dataset shapes it)."""
    shape = tuple(context.sample_shape) if getattr(context, "sample_shape", None) else None
    channels = shape[0] if shape is not None and len(shape) == 3 else None
    img = _to_mode(_open(path), channels)
    ds = getattr(context, "dataset", None)
    transform = getattr(ds, "transform", None) if ds is not None else None
    if transform is None:
        if shape is not None and len(shape) == 3:
            img = _resize(img, shape[1:])
        return _as_array(img)
    try:
        x = _as_array(transform(img))
        if shape is not None and len(shape) == 3 and x.shape[-2:] != shape[1:]:
            x = _as_array(transform(_resize(img, shape[1:])))
    except Exception as e:  # noqa: BLE001 - name the file and the transform
        raise _error(f"{path}: the dataset's transform failed on this image "
                     f"({img.mode} {img.size[0]}x{img.size[1]}): {e}") from None
    return x


# ------------------------------------------------------------------------ grid
def _true_label(record, classes):
    """The parent folder's name when it is one of the dataset's classes, else None."""
    parent = Path(record["input"]).parent.name
    return parent if classes and parent in classes else None


def _font(size):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def write_grid(records, path, context=None) -> Path:
    """Draw ``records`` (``ktrain predict``'s dicts for image inputs) as a PNG grid at
    ``path``: each input scaled to a tile, with the predicted label and probability and,
    when the input's parent folder is one of the dataset's classes, the true label
    (green when they agree, red otherwise). Returns the path."""
    from PIL import Image, ImageDraw

    records = list(records)
    if not records:
        raise _error("--grid: no image predictions to draw")
    ds = getattr(context, "dataset", None) if context is not None else None
    classes = [str(c) for c in (getattr(ds, "classes", None) or [])]
    cols = min(len(records), max(1, math.ceil(math.sqrt(len(records)))), 8)
    rows = math.ceil(len(records) / cols)
    font = _font(13)
    text_h = 36
    sheet = Image.new("RGB", (cols * (_TILE + 8) + 8, rows * (_TILE + text_h + 8) + 8), "white")
    draw = ImageDraw.Draw(sheet)
    for n, rec in enumerate(records):
        r, c = divmod(n, cols)
        x0, y0 = 8 + c * (_TILE + 8), 8 + r * (_TILE + text_h + 8)
        img = _to_mode(_open(rec["input"]), 3)
        scale = _TILE / max(img.size)
        size = (max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale)))
        small = max(img.size) < _TILE // 2
        img = img.resize(size, Image.NEAREST if small else Image.BILINEAR)
        sheet.paste(img, (x0 + (_TILE - size[0]) // 2, y0 + (_TILE - size[1]) // 2))
        label = rec.get("label", rec.get("class", "?"))
        prob = rec.get("probability")
        pred = f"{label} ({prob:.0%})" if prob is not None else str(label)
        true = _true_label(rec, classes)
        colour = (0, 0, 0) if true is None else ((0, 128, 0) if true == str(label)
                                                  else (200, 0, 0))
        draw.text((x0, y0 + _TILE + 2), "pred: " + pred, fill=colour, font=font)
        if true is not None:
            draw.text((x0, y0 + _TILE + 18), "true: " + true, fill=(60, 60, 60), font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sheet.save(tmp, format="PNG")
    tmp.replace(path)
    return path


def register_predict(registries=None) -> None:
    """Register the image readers and grid writers of ``ktrain predict`` in the core's
    ``predict_readers`` / ``grid_writers`` registries (``registries``: what the plugin
    entry point receives; default ``ktrain.registry.registries``). Idempotent; a reader or
    writer another plugin registered for an extension is kept."""
    if registries is None:
        from ktrain.registry import registries
    readers = registries.predict_readers
    writers = registries.grid_writers
    for ext in IMAGE_EXTENSIONS:
        for reg, fn in ((readers, read_image_for_predict), (writers, write_grid)):
            if ext not in reg or reg[ext] is fn:
                reg.register(ext, fn, override=True)
