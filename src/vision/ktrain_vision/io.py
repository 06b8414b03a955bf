"""Read and write image files as uint8 ``(C, H, W)`` tensors (PNG, JPEG and whatever else
Pillow reads), ``torchvision.io`` names.

    img = read_image("cat.jpg")                          # uint8 (3, H, W)
    grey = read_image("cat.jpg", ImageReadMode.GRAY)     # uint8 (1, H, W)
    write_image(img, "copy.png")                         # format from the suffix
"""
from __future__ import annotations

import enum
import io as _io
import os
import tempfile
from pathlib import Path

import ktrain
import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["ImageReadMode", "decode_image", "encode_jpeg", "encode_png", "read_file",
           "read_image", "write_file", "write_image", "write_jpeg", "write_png"]


class ImageReadMode(enum.Enum):
    """Channel layout to read into: as stored, or converted."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4


_PIL_MODE = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA", ImageReadMode.RGB: "RGB",
             ImageReadMode.RGB_ALPHA: "RGBA"}


def _mode(mode) -> ImageReadMode:
    if isinstance(mode, ImageReadMode):
        return mode
    if isinstance(mode, str):
        try:
            return ImageReadMode[mode.upper()]
        except KeyError:
            pass
    raise ValueError(f"unknown image read mode {mode!r}; one of: "
                     f"{', '.join(m.name for m in ImageReadMode)}")


def _to_tensor(img: Image.Image, mode: ImageReadMode):
    if mode is ImageReadMode.UNCHANGED:
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif img.mode == "1":
            img = img.convert("L")
        elif img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            img = img.convert("RGB")
        elif img.mode == "PA":
            img = img.convert("RGBA")
    else:
        img = img.convert(_PIL_MODE[mode])
    a = np.asarray(img)
    if a.dtype == np.uint16 or img.mode.startswith("I"):
        a = a.astype(np.int32)  # 16/32-bit images: int32 (ktrain has no uint16)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.ndim == 2:
        a = a[:, :, None]
    return ktrain.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def decode_image(data, mode=ImageReadMode.UNCHANGED, *, source="<bytes>"):
    """Decode encoded image bytes (or a uint8 tensor of them) into a uint8 CHW tensor."""
    mode = _mode(mode)
    if isinstance(data, ktrain.Tensor):
        data = np.asarray(data.cpu().numpy(), np.uint8).tobytes()
    try:
        with Image.open(_io.BytesIO(bytes(data))) as img:
            img.load()
            return _to_tensor(img, mode)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ValueError(f"cannot decode image {source}: {e} (not an image Pillow can read, "
                         f"or a truncated/corrupted file)") from None


def read_file(path):
    """The bytes of a file as a uint8 1-D tensor."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such image file: {p}")
    return ktrain.from_numpy(np.frombuffer(p.read_bytes(), np.uint8).copy())


def read_image(path, mode=ImageReadMode.UNCHANGED):
    """Read a PNG/JPEG/... file into a uint8 ``(C, H, W)`` tensor (``mode`` converts to
    GRAY, GRAY_ALPHA, RGB or RGB_ALPHA). Errors name the file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such image file: {p}")
    return decode_image(p.read_bytes(), mode, source=str(p))


def _as_hwc_uint8(input, fname):
    if not isinstance(input, ktrain.Tensor):
        raise TypeError(f"{fname}: expected a uint8 (C, H, W) tensor, got {type(input).__name__}")
    if input.dtype is not ktrain.uint8:
        raise TypeError(f"{fname}: expected a uint8 tensor, got {input.dtype} (use "
                        f"convert_image_dtype / to_dtype(..., scale=True) first)")
    if input.ndim != 3 or input.shape[0] not in (1, 2, 3, 4):
        raise ValueError(f"{fname}: expected a (C, H, W) tensor with C in 1..4, got shape "
                         f"{tuple(input.shape)}")
    a = input.detach().cpu().numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(a[:, :, 0] if a.shape[2] == 1 else a)


def encode_png(input, compression_level: int = 6):
    """PNG bytes (as a uint8 1-D tensor) of a uint8 CHW tensor."""
    if not 0 <= compression_level <= 9:
        raise ValueError(f"compression_level must be in 0..9, got {compression_level}")
    buf = _io.BytesIO()
    Image.fromarray(_as_hwc_uint8(input, "encode_png")).save(
        buf, "PNG", compress_level=compression_level)
    return ktrain.from_numpy(np.frombuffer(buf.getvalue(), np.uint8).copy())


def encode_jpeg(input, quality: int = 75):
    """JPEG bytes (as a uint8 1-D tensor) of a uint8 CHW tensor (1 or 3 channels)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    a = _as_hwc_uint8(input, "encode_jpeg")
    if a.ndim == 3 and a.shape[2] not in (3,):
        raise ValueError("encode_jpeg: JPEG supports 1 or 3 channels")
    buf = _io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    return ktrain.from_numpy(np.frombuffer(buf.getvalue(), np.uint8).copy())


def write_file(filename, data) -> None:
    """Write a uint8 1-D tensor (or bytes) to ``filename`` atomically (temp file + rename)."""
    raw = data.cpu().numpy().tobytes() if isinstance(data, ktrain.Tensor) else bytes(data)
    p = Path(filename)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_png(input, filename, compression_level: int = 6) -> None:
    """Write a uint8 CHW tensor as a PNG file (atomically)."""
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input, filename, quality: int = 75) -> None:
    """Write a uint8 CHW tensor (1 or 3 channels) as a JPEG file (atomically)."""
    write_file(filename, encode_jpeg(input, quality))


def write_image(input, filename, quality: int = 75, compression_level: int = 6) -> None:
    """Write a uint8 CHW tensor; the format follows the suffix (.png, .jpg/.jpeg, or any
    format Pillow writes)."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".png":
        return write_png(input, filename, compression_level)
    if suffix in (".jpg", ".jpeg"):
        return write_jpeg(input, filename, quality)
    buf = _io.BytesIO()
    try:
        Image.fromarray(_as_hwc_uint8(input, "write_image")).save(
            buf, Image.registered_extensions().get(suffix))
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"cannot write {filename}: {e} (unknown or unsupported image "
                         f"suffix {suffix!r})") from None
    write_file(filename, buf.getvalue())


def fit_image(img: Image.Image, hw) -> Image.Image:
    """``img`` resized to exactly ``hw = (height, width)`` without distorting it: scaled
    (bilinear) until it covers the target, then centre-cropped to it (what torchvision's
    ``Resize(min)`` + ``CenterCrop`` do for a square). Used by ``ImageFolder(image_size=)``
    and by ``ktrain predict``, so new images are prepared as the training ones were."""
    h, w = int(hw[0]), int(hw[1])
    iw, ih = img.size
    if (iw, ih) == (w, h):
        return img
    scale = max(w / iw, h / ih)
    sw, sh = max(w, round(iw * scale)), max(h, round(ih * scale))
    if (sw, sh) != (iw, ih):
        img = img.resize((sw, sh), Image.BILINEAR)
    left, top = (sw - w) // 2, (sh - h) // 2
    return img if (sw, sh) == (w, h) else img.crop((left, top, left + w, top + h))
