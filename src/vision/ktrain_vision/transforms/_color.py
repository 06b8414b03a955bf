"""Colour operations of :mod:`ktrain_vision.transforms.functional` (torchvision semantics).

PIL images go through PIL (ImageEnhance/ImageOps); tensors ``(..., C, H, W)`` through their
array module, uint8 results rounded and clipped as torchvision does.
"""
from __future__ import annotations

import numpy as np
from ktrain import _backend as B
from PIL import Image, ImageEnhance, ImageOps

from .functional import _arr, _check_image, _is_pil, _max_value, _wrap

__all__ = [
    "adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation",
    "adjust_sharpness", "autocontrast", "equalize", "invert", "posterize", "rgb_to_grayscale",
    "solarize",
]

def _float(a):
    return a if a.dtype.kind == "f" and a.dtype != np.float16 else a.astype(np.float32)

def _blend(a, other, ratio):
    """``ratio * a + (1 - ratio) * other`` clamped to the dtype's range, in a's dtype."""
    xp = B.array_module(a)
    bound = _max_value(a.dtype)
    out = ratio * _float(a) + (1.0 - ratio) * other
    out = xp.clip(out, 0, bound)
    if a.dtype.kind != "f":
        # torchvision truncates after clamping for integer images
        return out.astype(a.dtype)
    return out.astype(a.dtype, copy=False)

def _gray_float(a):
    """ITU-R 601-2 luma of an RGB array (float), keeping a channel dimension of 1."""
    if a.shape[-3] == 1:
        return _float(a)
    f = _float(a)
    r, g, b = f[..., 0:1, :, :], f[..., 1:2, :, :], f[..., 2:3, :, :]
    return 0.2989 * r + 0.587 * g + 0.114 * b

def _check_channels(a, fname):
    if a.ndim < 3 or a.shape[-3] not in (1, 3):
        raise ValueError(f"{fname}: expected a (..., 1 or 3, H, W) tensor image, got shape "
                         f"{tuple(a.shape)}")

def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` with 1 or 3 (repeated) output channels."""
    _check_image(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels should be 1 or 3, got {num_output_channels}")
    if _is_pil(img):
        g = img.convert("L")
        return Image.merge("RGB", [g, g, g]) if num_output_channels == 3 else g
    a = _arr(img)
    _check_channels(a, "rgb_to_grayscale")
    xp = B.array_module(a)
    g = _gray_float(a).astype(a.dtype)
    if num_output_channels == 3:
        g = xp.broadcast_to(g, g.shape[:-3] + (3,) + g.shape[-2:]).copy()
    return _wrap(g)

def adjust_brightness(img, brightness_factor: float):
    """Multiply by ``brightness_factor`` (0 gives black, 1 the original)."""
    _check_image(img, "adjust_brightness")
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative")
    if _is_pil(img):
        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    a = _arr(img)
    return _wrap(_blend(a, 0.0, brightness_factor))

def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey level (0 gives a uniform grey image)."""
    _check_image(img, "adjust_contrast")
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative")
    if _is_pil(img):
        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    a = _arr(img)
    _check_channels(a, "adjust_contrast")
    g = _gray_float(a)
    if a.dtype.kind != "f":
        g = g.astype(a.dtype).astype(np.float32)  # torchvision rounds the grey image first
    mean = g.mean(axis=(-3, -2, -1), keepdims=True)
    return _wrap(_blend(a, mean, contrast_factor))

def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey image (0 gives grey, 1 the original, 2 doubles saturation)."""
    _check_image(img, "adjust_saturation")
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative")
    if _is_pil(img):
        return ImageEnhance.Color(img).enhance(saturation_factor)
    a = _arr(img)
    _check_channels(a, "adjust_saturation")
    if a.shape[-3] == 1:
        return img
    return _wrap(_blend(a, _gray_float(a).astype(a.dtype).astype(_float(a).dtype),
                        saturation_factor))

def _rgb2hsv(r, g, b, xp):
    maxc = xp.maximum(xp.maximum(r, g), b)
    minc = xp.minimum(xp.minimum(r, g), b)
    eqc = maxc == minc
    cr = maxc - minc
    ones = xp.ones_like(maxc)
    s = cr / xp.where(eqc, ones, maxc)
    crd = xp.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = xp.mod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return h, s, maxc

def _hsv2rgb(h, s, v, xp):
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(xp.int64) % 6
    p = xp.clip(v * (1.0 - s), 0.0, 1.0)
    q = xp.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = xp.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    r = xp.choose(i, [v, q, p, p, t, v])
    g = xp.choose(i, [t, v, v, q, p, p])
    b = xp.choose(i, [p, p, t, v, v, q])
    return r, g, b

def adjust_hue(img, hue_factor: float):
    """Shift the hue by ``hue_factor`` turns (in [-0.5, 0.5]) through HSV."""
    _check_image(img, "adjust_hue")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    if _is_pil(img):
        if img.mode in ("L", "1", "I", "F"):
            return img
        mode = img.mode
        h, s, v = img.convert("HSV").split()
        hn = np.asarray(h).astype(np.uint8) + np.uint8(int(hue_factor * 255) % 256)
        return Image.merge("HSV", (Image.fromarray(hn, "L"), s, v)).convert(mode)
    a = _arr(img)
    _check_channels(a, "adjust_hue")
    if a.shape[-3] == 1:
        return img
    xp = B.array_module(a)
    f = _float(a)
    if a.dtype.kind != "f":
        f = f / 255.0
    h, s, v = _rgb2hsv(f[..., 0, :, :], f[..., 1, :, :], f[..., 2, :, :], xp)
    h = xp.mod(h + hue_factor, 1.0)
    out = xp.stack(_hsv2rgb(h, s, v, xp), axis=-3)
    if a.dtype.kind != "f":
        return _wrap(xp.clip(xp.rint(out * 255.0), 0, 255).astype(a.dtype))
    return _wrap(out.astype(a.dtype, copy=False))

def adjust_sharpness(img, sharpness_factor: float):
    """Blend with a smoothed image (kernel [[1,1,1],[1,5,1],[1,1,1]]/13, borders kept)."""
    _check_image(img, "adjust_sharpness")
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative")
    if _is_pil(img):
        return ImageEnhance.Sharpness(img).enhance(sharpness_factor)
    a = _arr(img)
    if a.shape[-1] <= 2 or a.shape[-2] <= 2:
        return img
    f = _float(a)
    h, w = a.shape[-2:]
    box = sum(f[..., i:i + h - 2, j:j + w - 2] for i in range(3) for j in range(3))
    smooth = (box + 4.0 * f[..., 1:-1, 1:-1]) / 13.0
    if a.dtype.kind != "f":
        smooth = B.array_module(a).rint(smooth)
    deg = f.copy()
    deg[..., 1:-1, 1:-1] = smooth
    return _wrap(_blend(a, deg, sharpness_factor))

def invert(img):
    """``max - img``."""
    _check_image(img, "invert")
    if _is_pil(img):
        return ImageOps.invert(img)
    a = _arr(img)
    return _wrap((_max_value(a.dtype) - a).astype(a.dtype))

def posterize(img, bits: int):
    """Keep the ``bits`` most significant bits of each uint8 channel."""
    _check_image(img, "posterize")
    if not 0 <= bits <= 8:
        raise ValueError(f"posterize: bits must be in [0, 8], got {bits}")
    if _is_pil(img):
        return ImageOps.posterize(img, int(bits))
    a = _arr(img)
    if a.dtype != np.uint8:
        raise TypeError(f"posterize: only uint8 tensor images are supported, got {a.dtype}")
    mask = np.uint8((0xFF << (8 - int(bits))) & 0xFF)
    return _wrap(a & mask)

def solarize(img, threshold: float):
    """Invert every value at or above ``threshold``."""
    _check_image(img, "solarize")
    if _is_pil(img):
        return ImageOps.solarize(img, threshold)
    a = _arr(img)
    xp = B.array_module(a)
    if threshold > _max_value(a.dtype):
        raise ValueError(f"solarize: threshold {threshold} is above the image's maximum "
                         f"value {_max_value(a.dtype)}")
    inv = (_max_value(a.dtype) - a).astype(a.dtype)
    return _wrap(xp.where(a >= threshold, inv, a))

def autocontrast(img):
    """Stretch each channel to the full range (min -> 0, max -> max value)."""
    _check_image(img, "autocontrast")
    if _is_pil(img):
        return ImageOps.autocontrast(img)
    a = _arr(img)
    xp = B.array_module(a)
    bound = _max_value(a.dtype)
    f = _float(a)
    lo = f.min(axis=(-2, -1), keepdims=True)
    hi = f.max(axis=(-2, -1), keepdims=True)
    flat = hi == lo
    scale = bound / xp.where(flat, 1.0, hi - lo)
    lo = xp.where(flat, 0.0, lo)
    scale = xp.where(flat, 1.0, scale)
    out = xp.clip((f - lo) * scale, 0, bound)
    return _wrap(out.astype(a.dtype))

def equalize(img):
    """Histogram equalisation per channel (uint8 tensor images), PIL's algorithm."""
    _check_image(img, "equalize")
    if _is_pil(img):
        return ImageOps.equalize(img)
    a = _arr(img)
    if a.dtype != np.uint8:
        raise TypeError(f"equalize: only uint8 tensor images are supported, got {a.dtype}")
    xp = B.array_module(a)
    lead = a.shape[:-2]
    flat = a.reshape(-1, a.shape[-2] * a.shape[-1])
    n = flat.shape[0]
    # one bincount over all channels: offset each channel's values by 256 * channel
    hist = xp.bincount((flat.astype(xp.int64) + 256 * xp.arange(n)[:, None]).ravel(),
                       minlength=256 * n).reshape(n, 256)
    last = xp.where(hist > 0, xp.arange(256)[None, :], -1).max(axis=1)
    last_count = hist[xp.arange(n), last]
    step = (hist.sum(axis=1) - last_count) // 255
    cum = xp.cumsum(hist, axis=1)
    safe = xp.where(step == 0, 1, step)[:, None]
    lut = (xp.concatenate([xp.zeros((n, 1), cum.dtype), cum[:, :-1]], axis=1)
           + (safe // 2)) // safe
    lut = xp.clip(lut, 0, 255).astype(np.uint8)
    out = xp.take_along_axis(lut, flat.astype(xp.int64), axis=1)
    out = xp.where((step == 0)[:, None], flat, out)
    return _wrap(out.reshape(lead + a.shape[-2:]))
