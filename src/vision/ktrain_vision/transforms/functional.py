"""Functional image transforms (``torchvision.transforms.functional`` names and semantics).

Every function takes a PIL image or a ktrain ``Tensor`` image ``(..., C, H, W)`` (uint8 or
float; a leading batch dimension is allowed) and returns the same kind. Tensor paths work
on the tensor's array through its own array module (numpy or cupy), with whole-array
operations only. Colour operations live in :mod:`._color`, affine/rotate/blur/erase in :mod:`._warp`;
both are re-exported here.

    from ktrain_vision.transforms import functional as F
    x = F.to_tensor(pil_img)                  # float32 CHW in [0, 1]
    y = F.resize(x, 16)                       # shorter side -> 16, antialiased bilinear
    z = F.rotate(y, 30.0, interpolation=F.InterpolationMode.BILINEAR)
"""
from __future__ import annotations

import enum
import numbers

import ktrain
import numpy as np
from ktrain import _backend as B
from PIL import Image

__all__ = [
    "InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_hue",
    "adjust_saturation", "adjust_sharpness", "affine", "autocontrast", "center_crop",
    "convert_image_dtype", "crop", "equalize", "erase", "gaussian_blur", "get_dimensions",
    "get_image_size", "hflip", "invert", "normalize", "pad", "pil_to_tensor", "posterize",
    "resize", "resized_crop", "rgb_to_grayscale", "rotate", "solarize", "to_dtype",
    "to_pil_image", "to_tensor", "vflip",
]


class InterpolationMode(enum.Enum):
    """Interpolation modes (torchvision's values)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_MODES = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}


def _interp(mode) -> InterpolationMode:
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, str):
        try:
            return InterpolationMode(mode.lower())
        except ValueError:
            pass
    if isinstance(mode, int):  # PIL constants
        for k, v in _PIL_MODES.items():
            if v == mode:
                return k
    raise ValueError(f"unknown interpolation {mode!r}; one of: "
                     f"{', '.join(m.value for m in InterpolationMode)}")


# ----------------------------------------------------------------------------- helpers
def _is_pil(img) -> bool:
    return isinstance(img, Image.Image)


def _check_image(img, fname):
    if _is_pil(img):
        return
    if not isinstance(img, ktrain.Tensor):
        raise TypeError(f"{fname}: expected a PIL image or a ktrain Tensor, got "
                        f"{type(img).__name__}")
    if img.ndim < 2:
        raise ValueError(f"{fname}: a tensor image needs at least 2 dimensions (..., H, W), "
                         f"got shape {tuple(img.shape)}")


def _arr(t):
    return t._data


def _wrap(a):
    return ktrain.as_tensor(a)


def _max_value(npd) -> float:
    npd = np.dtype(npd)
    if npd.kind == "f":
        return 1.0
    if npd == np.bool_:
        return 1
    return np.iinfo(npd).max


def _cast_like(out, npd):
    """Round/clip a float result back to integer dtype ``npd`` (identity for floats)."""
    npd = np.dtype(npd)
    if npd.kind == "f":
        return out.astype(npd, copy=False)
    xp = B.array_module(out)
    info = np.iinfo(npd)
    return xp.clip(xp.rint(out), info.min, info.max).astype(npd)


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]``."""
    _check_image(img, "get_dimensions")
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    s = img.shape
    return [s[-3] if img.ndim > 2 else 1, s[-2], s[-1]]


def get_image_size(img) -> list[int]:
    """``[width, height]`` (torchvision's order)."""
    _c, h, w = get_dimensions(img)
    return [w, h]


def _pair(x, name):
    if isinstance(x, numbers.Number):
        return [x, x]
    x = list(x)
    if len(x) == 1:
        return [x[0], x[0]]
    if len(x) != 2:
        raise ValueError(f"{name} must be a number or a sequence of 1 or 2 numbers, got {x}")
    return x


# ----------------------------------------------------------------------------- conversions
def pil_to_tensor(pic):
    """A PIL image as a CHW tensor of its own dtype (uint8 for 'L'/'RGB'), no scaling."""
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: expected a PIL image, got {type(pic).__name__}")
    a = np.asarray(pic)
    if pic.mode == "1":
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16 or a.dtype.byteorder == ">":
        a = a.astype(np.int32)  # 16-bit modes: ktrain has no uint16
    if a.ndim == 2:
        a = a[:, :, None]
    return ktrain.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def to_tensor(pic):
    """A PIL image or an ``(H, W[, C])`` numpy array as a float32 CHW tensor; uint8 data is
    divided by 255 (other integer PIL modes keep their values as floats, as torchvision)."""
    if _is_pil(pic):
        t = pil_to_tensor(pic)
        a = _arr(t)
        if a.dtype == np.uint8:
            return ktrain.from_numpy(a.astype(np.float32) * np.float32(1 / 255))
        return ktrain.from_numpy(a.astype(np.float32))
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: a numpy image must be (H, W) or (H, W, C), got "
                             f"shape {pic.shape}")
        a = pic[:, :, None] if pic.ndim == 2 else pic
        a = np.ascontiguousarray(a.transpose(2, 0, 1))
        if a.dtype == np.uint8:
            return ktrain.from_numpy(a.astype(np.float32) * np.float32(1 / 255))
        return ktrain.from_numpy(a.astype(np.float32) if a.dtype != np.float64 else a)
    raise TypeError(f"to_tensor: expected a PIL image or numpy array, got {type(pic).__name__}")


def to_pil_image(pic, mode=None):
    """A CHW tensor (float in [0, 1] or uint8) or HWC numpy array as a PIL image."""
    if isinstance(pic, ktrain.Tensor):
        a = pic.detach().cpu().numpy()
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3:
            raise ValueError(f"to_pil_image: expected a (C, H, W) tensor, got shape {a.shape}")
        a = a.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        a = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"to_pil_image: expected a tensor or numpy array, got "
                        f"{type(pic).__name__}")
    if a.dtype.kind == "f":
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    if a.shape[2] == 1:
        a = a[:, :, 0]
    elif a.shape[2] not in (3, 4):
        raise ValueError(f"to_pil_image: 1, 3 or 4 channels expected, got {a.shape[2]}")
    return Image.fromarray(np.ascontiguousarray(a), mode=mode)


def convert_image_dtype(image, dtype=ktrain.float32):
    """Convert a tensor image's dtype, rescaling values (uint8 255 <-> float 1.0)."""
    if not isinstance(image, ktrain.Tensor):
        raise TypeError(f"convert_image_dtype: expected a Tensor, got {type(image).__name__}")
    a = _arr(image)
    xp = B.array_module(a)
    out = np.dtype(B.to_numpy_dtype(B.as_dtype(dtype)))
    if a.dtype == out:
        return image
    if a.dtype.kind == "f":
        if out.kind == "f":
            return _wrap(a.astype(out))
        # torchvision: multiply by (max + 1 - eps) and truncate
        return _wrap((a * (_max_value(out) + 1.0 - 1e-3)).astype(out))
    if out.kind == "f":
        return _wrap(a.astype(out) / out.type(_max_value(a.dtype)))
    in_max, out_max = _max_value(a.dtype), _max_value(out)
    if in_max > out_max:
        factor = (in_max + 1) // (out_max + 1)
        return _wrap((a // factor).astype(out))
    factor = (out_max + 1) // (in_max + 1)
    return _wrap(a.astype(out) * xp.asarray(factor, dtype=out))


def to_dtype(image, dtype=ktrain.float32, scale=False):
    """``transforms.v2.functional.to_dtype``: cast; with ``scale=True`` rescale the value
    range as :func:`convert_image_dtype`."""
    if scale:
        return convert_image_dtype(image, dtype)
    return image.to(dtype=dtype)


def normalize(tensor, mean, std, inplace=False):
    """``(tensor - mean) / std`` per channel for a float tensor ``(..., C, H, W)``."""
    if not isinstance(tensor, ktrain.Tensor):
        raise TypeError(f"normalize: expected a Tensor, got {type(tensor).__name__}")
    if not tensor.is_floating_point():
        raise TypeError(f"normalize: input tensor should be a float tensor, got {tensor.dtype} "
                        f"(add to_tensor or to_dtype(scale=True) before normalize)")
    if tensor.ndim < 3:
        raise ValueError(f"normalize: expected a tensor image (..., C, H, W), got shape "
                         f"{tuple(tensor.shape)}")
    a = _arr(tensor)
    xp = B.array_module(a)
    m = xp.asarray(mean, dtype=a.dtype).reshape(-1, 1, 1)
    s = xp.asarray(std, dtype=a.dtype).reshape(-1, 1, 1)
    if bool((s == 0).any()):
        raise ValueError(f"normalize: std evaluated to zero after conversion to {a.dtype}, "
                         f"leading to division by zero (std={std})")
    if m.shape[0] not in (1, a.shape[-3]) or s.shape[0] not in (1, a.shape[-3]):
        raise ValueError(f"normalize: mean/std have {m.shape[0]}/{s.shape[0]} values but the "
                         f"image has {a.shape[-3]} channels")
    if inplace:
        a -= m
        a /= s
        return tensor
    return _wrap((a - m) / s)


# ----------------------------------------------------------------------------- flips, crops
def hflip(img):
    """Flip left-right."""
    _check_image(img, "hflip")
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return _wrap(_arr(img)[..., ::-1].copy())


def vflip(img):
    """Flip top-bottom."""
    _check_image(img, "vflip")
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return _wrap(_arr(img)[..., ::-1, :].copy())


def _parse_padding(padding):
    if isinstance(padding, numbers.Number):
        p = [int(padding)] * 4
    else:
        p = [int(v) for v in padding]
        if len(p) == 1:
            p = p * 4
        elif len(p) == 2:
            p = [p[0], p[1], p[0], p[1]]
        elif len(p) != 4:
            raise ValueError(f"padding must be an int or a sequence of 1, 2 or 4 ints, got "
                             f"{padding}")
    return p  # left, top, right, bottom


_NP_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
                 "symmetric": "symmetric"}


def _pad_array(a, left, top, right, bottom, fill=0, padding_mode="constant"):
    xp = B.array_module(a)
    if padding_mode not in _NP_PAD_MODES:
        raise ValueError(f"padding_mode must be one of constant, edge, reflect, symmetric; got "
                         f"{padding_mode!r}")
    # negative padding crops
    h, w = a.shape[-2], a.shape[-1]
    a = a[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        if isinstance(fill, (list, tuple)) and a.ndim >= 3 and len(fill) > 1:
            out = xp.empty(a.shape[:-2] + (a.shape[-2] + top + bottom,
                                           a.shape[-1] + left + right), a.dtype)
            out[...] = xp.asarray(fill, dtype=a.dtype).reshape(-1, 1, 1)
            out[..., top:top + a.shape[-2], left:left + a.shape[-1]] = a
            return out
        fill = fill[0] if isinstance(fill, (list, tuple)) else fill
        return xp.pad(a, widths, mode="constant", constant_values=fill or 0)
    return xp.pad(a, widths, mode=_NP_PAD_MODES[padding_mode])


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad all sides (``padding``: int, ``[lr, tb]`` or ``[left, top, right, bottom]``);
    ``padding_mode``: constant (with ``fill``), edge, reflect or symmetric."""
    _check_image(img, "pad")
    left, top, right, bottom = _parse_padding(padding)
    if _is_pil(img):
        a = np.asarray(img)
        if a.ndim == 3:
            a = a.transpose(2, 0, 1)
        out = _pad_array(a, left, top, right, bottom, fill, padding_mode)
        if out.ndim == 3:
            out = out.transpose(1, 2, 0)
        res = Image.fromarray(np.ascontiguousarray(out), mode=img.mode)
        if img.mode == "P":
            res.putpalette(img.getpalette())
        return res
    return _wrap(_pad_array(_arr(img), left, top, right, bottom, fill, padding_mode))


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` region at ``(top, left)``; outside the image is zero-padded."""
    _check_image(img, "crop")
    top, left, height, width = int(top), int(left), int(height), int(width)
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    a = _arr(img)
    h, w = a.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        sub = a[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
        return _wrap(_pad_array(sub, max(-left, 0), max(-top, 0), max(right - w, 0),
                                max(bottom - h, 0)))
    return _wrap(a[..., top:bottom, left:right].copy())


def center_crop(img, output_size):
    """The central ``output_size`` region (int or ``[h, w]``), padding with zeros when the
    image is smaller."""
    _check_image(img, "center_crop")
    ch, cw = (int(v) for v in _pair(output_size, "output_size"))
    _, h, w = get_dimensions(img)
    if ch > h or cw > w:
        pl, pt = (cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0
        pr, pb = (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0
        img = pad(img, [pl, pt, pr, pb])
        _, h, w = get_dimensions(img)
        if h == ch and w == cw:
            return img
    top = round((h - ch) / 2.0)
    left = round((w - cw) / 2.0)
    return crop(img, top, left, ch, cw)


# ----------------------------------------------------------------------------- resize
def _output_size(h, w, size, max_size):
    if isinstance(size, numbers.Number) or (isinstance(size, (list, tuple)) and len(size) == 1):
        req = int(size if isinstance(size, numbers.Number) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = req, int(req * long / short)
        if max_size is not None:
            if max_size <= req:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                                 f"requested size {req}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)
    if max_size is not None:
        raise ValueError("max_size is only supported when size is an int or [int]")
    size = list(size)
    if len(size) != 2:
        raise ValueError(f"size must be an int or a sequence of 1 or 2 ints, got {size}")
    return int(size[0]), int(size[1])


def _resize_matrix(xp, n_in, n_out, mode, antialias):
    """``(n_out, n_in)`` interpolation weights (PIL's separable filters: the filter is
    stretched by the scale when shrinking with ``antialias``; rows are normalised, which
    also clamps samples at the borders)."""
    scale = n_in / n_out
    centers = (np.arange(n_out) + 0.5) * scale
    if mode is InterpolationMode.NEAREST:
        idx = np.minimum(np.floor(np.arange(n_out) * scale).astype(np.int64), n_in - 1)
        m = np.zeros((n_out, n_in), np.float64)
        m[np.arange(n_out), idx] = 1.0
        return xp.asarray(m)
    fscale = max(scale, 1.0) if antialias else 1.0
    x = (np.arange(n_in)[None, :] + 0.5 - centers[:, None]) / fscale
    if mode is InterpolationMode.BILINEAR:
        wts = np.maximum(0.0, 1.0 - np.abs(x))
    elif mode is InterpolationMode.BICUBIC:
        ax = np.abs(x)
        a = -0.5
        wts = np.where(ax < 1, ((a + 2) * ax - (a + 3)) * ax * ax + 1,
                       np.where(ax < 2, (((ax - 5) * ax + 8) * ax - 4) * a, 0.0))
    else:
        raise ValueError(f"resize of tensors supports nearest, bilinear and bicubic, got "
                         f"{mode.value}")
    s = wts.sum(axis=1, keepdims=True)
    return xp.asarray(wts / np.where(s == 0, 1.0, s))


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: an int matches the shorter side (keeping the aspect ratio, longer
    side at most ``max_size``), ``[h, w]`` is exact. Tensors use separable weight matrices
    (PIL's filters; antialiased when shrinking unless ``antialias=False``)."""
    _check_image(img, "resize")
    mode = _interp(interpolation)
    _, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if _is_pil(img):
        if (oh, ow) == (h, w):
            return img
        return img.resize((ow, oh), _PIL_MODES[mode])
    if (oh, ow) == (h, w):
        return img
    a = _arr(img)
    xp = B.array_module(a)
    work = a.dtype if a.dtype.kind == "f" and a.dtype != np.float16 else np.float32
    wh = _resize_matrix(xp, h, oh, mode, antialias).astype(work)
    ww = _resize_matrix(xp, w, ow, mode, antialias).astype(work)
    out = xp.matmul(xp.matmul(wh, a.astype(work, copy=False)), ww.T)
    return _wrap(_cast_like(out, a.dtype))


def resized_crop(img, top, left, height, width, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """:func:`crop` then :func:`resize`."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


# colour and warp operations share this namespace (imported last: they use the helpers above)
from ._color import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    adjust_sharpness,
    autocontrast,
    equalize,
    invert,
    posterize,
    rgb_to_grayscale,
    solarize,
)
from ._warp import affine, erase, gaussian_blur, rotate
