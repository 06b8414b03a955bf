"""Affine warps, rotation, Gaussian blur and erasing (part of
:mod:`ktrain_vision.transforms.functional`, re-exported there).

Tensor images are sampled with whole-array gathers (nearest or bilinear) through their
own array module; PIL images go through ``Image.transform``/``rotate``.
"""
from __future__ import annotations

import math
import numbers

import ktrain
import numpy as np
from ktrain import _backend as B
from PIL import Image

from .functional import (
    _PIL_MODES,
    InterpolationMode,
    _arr,
    _cast_like,
    _check_image,
    _interp,
    _is_pil,
    _pad_array,
    _pair,
    _wrap,
    get_dimensions,
    pil_to_tensor,
    to_pil_image,
)

__all__ = ["affine", "erase", "gaussian_blur", "rotate"]


def _inverse_affine_matrix(center, angle, translate, scale, shear):
    """torchvision's inverse affine matrix (output pixel -> input pixel), 6 numbers."""
    rot = math.radians(angle)
    sx, sy = (math.radians(s) for s in shear)
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def _warp_array(a, m, out_h, out_w, mode, fill):
    """Sample ``a (..., C, H, W)`` at ``m @ (x+0.5, y+0.5, 1)`` for every output pixel
    (PIL's convention); points outside get ``fill``. Nearest or bilinear."""
    xp = B.array_module(a)
    h, w = a.shape[-2:]
    ys, xs = xp.meshgrid(xp.arange(out_h, dtype=xp.float64) + 0.5,
                         xp.arange(out_w, dtype=xp.float64) + 0.5, indexing="ij")
    sx = m[0] * xs + m[1] * ys + m[2]
    sy = m[3] * xs + m[4] * ys + m[5]
    work = a.dtype if a.dtype.kind == "f" and a.dtype != np.float16 else np.float32
    src = a.astype(work, copy=False)
    if fill is None:
        fill = 0
    fillv = xp.asarray(fill, dtype=work)
    if fillv.ndim == 1 and a.ndim >= 3 and fillv.shape[0] > 1:
        fillv = fillv.reshape(-1, 1, 1)
    if mode is InterpolationMode.NEAREST:
        ix, iy = xp.floor(sx).astype(xp.int64), xp.floor(sy).astype(xp.int64)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        out = src[..., xp.clip(iy, 0, h - 1), xp.clip(ix, 0, w - 1)]
        out = xp.where(inside, out, fillv)
    elif mode is InterpolationMode.BILINEAR:
        fx, fy = sx - 0.5, sy - 0.5
        x0, y0 = xp.floor(fx), xp.floor(fy)
        wx, wy = (fx - x0).astype(work), (fy - y0).astype(work)
        x0, y0 = x0.astype(xp.int64), y0.astype(xp.int64)
        # pad by one fill pixel so that the 4 neighbours of any sample are addressable
        padded = _pad_array(src, 1, 1, 1, 1, 0)
        mask = xp.pad(xp.ones((h, w), work), 1)
        acc = 0
        macc = 0
        for dy, dx, wgt in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                            (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
            yy = xp.clip(y0 + dy + 1, 0, h + 1)
            xx = xp.clip(x0 + dx + 1, 0, w + 1)
            acc = acc + padded[..., yy, xx] * wgt
            macc = macc + mask[yy, xx] * wgt
        out = acc + (1 - macc) * fillv
    else:
        raise ValueError(f"rotate/affine on tensors support nearest and bilinear, got "
                         f"{mode.value}")
    return _cast_like(out, a.dtype)


def _fill_pil(fill, img):
    if fill is None:
        return None
    n = len(img.getbands())
    if isinstance(fill, (list, tuple)):
        fill = tuple(round(v) if not isinstance(v, float) or img.mode != "F" else v
                     for v in fill)
        if len(fill) == 1:
            fill = fill[0]
        elif len(fill) != n:
            raise ValueError(f"fill has {len(fill)} values but the image has {n} bands")
        return fill
    return int(fill) if img.mode != "F" else float(fill)


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):
    """Affine transformation keeping the image centre: rotation by ``angle`` degrees,
    translation ``[tx, ty]`` pixels, ``scale``, shear ``[sx, sy]`` degrees (a single number
    shears along x)."""
    _check_image(img, "affine")
    mode = _interp(interpolation)
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear) + [0.0] * (2 - len(list(shear)))
    if scale <= 0:
        raise ValueError(f"affine: scale must be positive, got {scale}")
    _, h, w = get_dimensions(img)
    c = [w * 0.5, h * 0.5] if center is None else list(center)
    m = _inverse_affine_matrix(c, angle, list(translate), scale, shear)
    if _is_pil(img):
        return img.transform((w, h), Image.Transform.AFFINE, m, _PIL_MODES[mode],
                             fillcolor=_fill_pil(fill, img))
    return _wrap(_warp_array(_arr(img), m, h, w, mode, fill))


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: the image
    centre); ``expand=True`` grows the output to hold the whole rotated image."""
    _check_image(img, "rotate")
    mode = _interp(interpolation)
    if _is_pil(img):
        return img.rotate(angle, _PIL_MODES[mode], expand, center, fillcolor=_fill_pil(fill, img))
    _, h, w = get_dimensions(img)
    c = [w * 0.5, h * 0.5] if center is None else list(center)
    m = _inverse_affine_matrix(c, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    oh, ow = h, w
    if expand:
        r = math.radians(angle)
        cos, sin = abs(math.cos(r)), abs(math.sin(r))
        ow = math.ceil(w * cos + h * sin - 1e-6)
        oh = math.ceil(w * sin + h * cos - 1e-6)
        m[2] += m[0] * (w - ow) * 0.5 + m[1] * (h - oh) * 0.5
        m[5] += m[3] * (w - ow) * 0.5 + m[4] * (h - oh) * 0.5
    return _wrap(_warp_array(_arr(img), m, oh, ow, mode, fill))


# ----------------------------------------------------------------------------- blur, erase
def _gaussian_kernel1d(k, sigma):
    half = (k - 1) * 0.5
    x = np.linspace(-half, half, k)
    pdf = np.exp(-0.5 * (x / sigma) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma=None):
    """Separable Gaussian blur with reflect padding; ``kernel_size`` odd (int or
    ``[kx, ky]``), ``sigma`` default ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``."""
    _check_image(img, "gaussian_blur")
    kx, ky = (int(v) for v in _pair(kernel_size, "kernel_size"))
    if kx <= 0 or ky <= 0 or kx % 2 == 0 or ky % 2 == 0:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
    if sigma is None:
        sx, sy = (0.3 * ((k - 1) * 0.5 - 1) + 0.8 for k in (kx, ky))
    else:
        sx, sy = (float(v) for v in _pair(sigma, "sigma"))
    if sx <= 0 or sy <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if _is_pil(img):
        return to_pil_image(gaussian_blur(pil_to_tensor(img), [kx, ky], [sx, sy]),
                            mode=img.mode)
    a = _arr(img)
    B.array_module(a)
    work = a.dtype if a.dtype.kind == "f" and a.dtype != np.float16 else np.float32
    x = _pad_array(a.astype(work, copy=False), kx // 2, ky // 2, kx // 2, ky // 2,
                   padding_mode="reflect")
    h, w = a.shape[-2:]
    kxv, kyv = _gaussian_kernel1d(kx, sx), _gaussian_kernel1d(ky, sy)
    cast = np.dtype(work).type
    rows = sum(x[..., i:i + h, :] * cast(kyv[i]) for i in range(ky))  # loop over taps only
    out = sum(rows[..., :, j:j + w] * cast(kxv[j]) for j in range(kx))
    return _wrap(_cast_like(out, a.dtype))


def erase(img, i: int, j: int, h: int, w: int, v, inplace=False):
    """Set the ``h x w`` region at ``(i, j)`` of a tensor image to ``v`` (a scalar or a
    tensor broadcastable to ``(C, h, w)``)."""
    if not isinstance(img, ktrain.Tensor):
        raise TypeError(f"erase: expected a Tensor, got {type(img).__name__}")
    a = _arr(img) if inplace else _arr(img).copy()
    val = _arr(v) if isinstance(v, ktrain.Tensor) else v
    a[..., i:i + h, j:j + w] = val
    return img if inplace else _wrap(a)


