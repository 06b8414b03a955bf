"""Transform classes (``torchvision.transforms`` names, arguments and defaults): containers,
conversions and geometry (colour, blur and erasing classes are in :mod:`._color_transforms`).

Each works on PIL images and on tensor images ``(..., C, H, W)``; random ones draw from
ktrain's default generator (see :mod:`._rng`), so ``ktrain.manual_seed`` reproduces them.

    from ktrain_vision import transforms as T
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])
"""
from __future__ import annotations

import math
import numbers

import ktrain

from . import _rng
from . import functional as F
from .functional import InterpolationMode, _interp, _pair

__all__ = [
    "CenterCrop", "Compose", "ConvertImageDtype", "Lambda", "Normalize", "PILToTensor", "Pad",
    "RandomAffine", "RandomApply", "RandomChoice", "RandomCrop", "RandomHorizontalFlip",
    "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize", "ToDtype",
    "ToPILImage", "ToTensor",
]


class _Transform:
    """Base: ``__call__`` applies the transform; ``repr`` shows the arguments."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(_Transform):
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda(_Transform):
    """Apply a user function."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)


class RandomApply(_Transform):
    """Apply the list of ``transforms`` with probability ``p``."""

    def __init__(self, transforms, p=0.5):
        self.transforms = list(transforms)
        self.p = p

    def __call__(self, img):
        if self.p < 1 and not _rng.coin(self.p):
            return img
        for t in self.transforms:
            img = t(img)
        return img


class RandomChoice(_Transform):
    """Apply one of ``transforms`` picked at random (weights ``p``, default uniform)."""

    def __init__(self, transforms, p=None):
        self.transforms = list(transforms)
        if not self.transforms:
            raise ValueError("RandomChoice needs at least one transform")
        self.p = list(p) if p is not None else [1.0] * len(self.transforms)

    def __call__(self, *args):
        total = sum(self.p)
        u = _rng.uniform(0.0, total)
        acc = 0.0
        for t, w in zip(self.transforms, self.p):
            acc += w
            if u < acc:
                return t(*args)
        return self.transforms[-1](*args)


# ----------------------------------------------------------------------------- conversion
class ToTensor(_Transform):
    """PIL image / HWC numpy array -> float32 CHW tensor in [0, 1] (uint8 divided by 255)."""

    def __call__(self, pic):
        return F.to_tensor(pic)


class PILToTensor(_Transform):
    """PIL image -> CHW tensor of the image's dtype (uint8), no scaling."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)


class ToPILImage(_Transform):
    """CHW tensor / HWC array -> PIL image."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)


class ConvertImageDtype(_Transform):
    """Convert a tensor image to ``dtype``, rescaling values (uint8 255 <-> float 1.0)."""

    def __init__(self, dtype=ktrain.float32):
        self.dtype = ktrain._backend.as_dtype(dtype)

    def __call__(self, image):
        return F.convert_image_dtype(image, self.dtype)


class ToDtype(_Transform):
    """``transforms.v2.ToDtype``: cast a tensor image; ``scale=True`` rescales values."""

    def __init__(self, dtype=ktrain.float32, scale=False):
        self.dtype = ktrain._backend.as_dtype(dtype)
        self.scale = scale

    def __call__(self, image):
        if F._is_pil(image):
            image = F.pil_to_tensor(image)
        return F.to_dtype(image, self.dtype, self.scale)


class Normalize(_Transform):
    """Per-channel ``(x - mean) / std`` on float tensor images."""

    def __init__(self, mean, std, inplace=False):
        self.mean = list(mean) if not isinstance(mean, numbers.Number) else [mean]
        self.std = list(std) if not isinstance(std, numbers.Number) else [std]
        self.inplace = inplace
        self._arrays = {}  # (device, dtype) -> (mean, std) arrays shaped (C, 1, 1)

    def __call__(self, tensor):
        if self.inplace or not isinstance(tensor, ktrain.Tensor) or tensor.ndim < 3 \
                or not tensor.is_floating_point():
            return F.normalize(tensor, self.mean, self.std, self.inplace)  # checks, errors
        a = tensor._data
        key = (str(tensor.device), a.dtype)
        ms = self._arrays.get(key)
        if ms is None:
            xp = ktrain._backend.array_module(a)
            ms = (xp.asarray(self.mean, dtype=a.dtype).reshape(-1, 1, 1),
                  xp.asarray(self.std, dtype=a.dtype).reshape(-1, 1, 1))
            if bool((ms[1] == 0).any()):
                return F.normalize(tensor, self.mean, self.std)  # raises the zero-std error
            self._arrays[key] = ms
        if ms[0].shape[0] not in (1, a.shape[-3]) or ms[1].shape[0] not in (1, a.shape[-3]):
            return F.normalize(tensor, self.mean, self.std)  # raises the channel error
        return ktrain.as_tensor((a - ms[0]) / ms[1])


# ----------------------------------------------------------------------------- geometry
class Resize(_Transform):
    """Resize: an int matches the shorter side, ``[h, w]`` is exact."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        self.size = size if isinstance(size, numbers.Number) else list(size)
        self.interpolation = _interp(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class Pad(_Transform):
    """Pad all sides (``padding``: int, ``[lr, tb]`` or ``[l, t, r, b]``); ``padding_mode``
    constant (with ``fill``), edge, reflect or symmetric."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class CenterCrop(_Transform):
    """Crop the centre (``size``: int or ``[h, w]``)."""

    def __init__(self, size):
        self.size = [int(v) for v in _pair(size, "size")]

    def __call__(self, img):
        return F.center_crop(img, self.size)


class RandomCrop(_Transform):
    """Crop at a random position, after optional ``padding`` (``padding_mode``: constant,
    edge, reflect, symmetric); ``pad_if_needed`` pads images smaller than ``size``."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        self.size = [int(v) for v in _pair(size, "size")]
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size):
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the "
                             f"input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _rng.randint(0, h - th + 1), _rng.randint(0, w - tw + 1), th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            img = F.pad(img, [tw - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = F.pad(img, [0, th - h], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)


class RandomResizedCrop(_Transform):
    """Crop a random area (``scale`` of the image, aspect ratio in ``ratio``, log-uniform)
    and resize it to ``size`` (torchvision's 10 attempts, then a central fallback)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = [int(v) for v in _pair(size, "size")]
        self.scale = list(scale)
        self.ratio = list(ratio)
        self.interpolation = _interp(interpolation)
        self.antialias = antialias

    @staticmethod
    def get_params(img, scale, ratio):
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _rng.uniform(scale[0], scale[1])
            aspect = math.exp(_rng.uniform(*log_ratio))
            w = round(math.sqrt(target_area * aspect))
            h = round(math.sqrt(target_area / aspect))
            if 0 < w <= width and 0 < h <= height:
                return _rng.randint(0, height - h + 1), _rng.randint(0, width - w + 1), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, round(width / min(ratio))
        elif in_ratio > max(ratio):
            h, w = height, round(height * max(ratio))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, self.antialias)


class RandomHorizontalFlip(_Transform):
    """Flip left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        return F.hflip(img) if _rng.coin(self.p) else img


class RandomVerticalFlip(_Transform):
    """Flip top-bottom with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        return F.vflip(img) if _rng.coin(self.p) else img


def _degrees(degrees, name="degrees"):
    if isinstance(degrees, numbers.Number):
        if degrees < 0:
            raise ValueError(f"If {name} is a single number, it must be positive, got {degrees}")
        return [-float(degrees), float(degrees)]
    d = [float(v) for v in degrees]
    if len(d) != 2:
        raise ValueError(f"{name} should be a number or a sequence of 2 numbers, got {degrees}")
    return d


class RandomRotation(_Transform):
    """Rotate by an angle uniform in ``degrees`` (``d`` means ``[-d, d]``)."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        self.degrees = _degrees(degrees)
        self.interpolation = _interp(interpolation)
        self.expand = expand
        self.center = center
        self.fill = fill

    def __call__(self, img):
        angle = _rng.uniform(*self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)


class RandomAffine(_Transform):
    """Random affine transformation: rotation in ``degrees``, translation up to
    ``translate = [fx, fy]`` of the size, ``scale = [lo, hi]``, ``shear`` in degrees
    (a number, ``[lo, hi]`` along x, or ``[xlo, xhi, ylo, yhi]``)."""

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        self.degrees = _degrees(degrees)
        if translate is not None:
            translate = [float(v) for v in translate]
            if len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"translate should be 2 values in [0, 1], got {translate}")
        self.translate = translate
        if scale is not None:
            scale = [float(v) for v in scale]
            if len(scale) != 2 or any(s <= 0 for s in scale):
                raise ValueError(f"scale should be 2 positive values, got {scale}")
        self.scale = scale
        if shear is not None:
            if isinstance(shear, numbers.Number):
                shear = _degrees(shear, "shear")
            shear = [float(v) for v in shear]
            if len(shear) not in (2, 4):
                raise ValueError(f"shear should be a number or 2 or 4 numbers, got {shear}")
        self.shear = shear
        self.interpolation = _interp(interpolation)
        self.fill = fill
        self.center = center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        u = _rng.uniforms(6)  # one draw for all parameters (the RNG call dominates otherwise)

        def between(lo, hi, k):
            return lo + (hi - lo) * float(u[k])

        angle = between(degrees[0], degrees[1], 0)
        if translate is not None:
            mx, my = float(translate[0] * img_size[0]), float(translate[1] * img_size[1])
            tx, ty = round(between(-mx, mx, 1)), round(between(-my, my, 2))
        else:
            tx, ty = 0, 0
        s = between(scale_ranges[0], scale_ranges[1], 3) if scale_ranges is not None else 1.0
        sx = sy = 0.0
        if shears is not None:
            sx = between(shears[0], shears[1], 4)
            if len(shears) == 4:
                sy = between(shears[2], shears[3], 5)
        return angle, (tx, ty), s, (sx, sy)

    def __call__(self, img):
        size = F.get_image_size(img)
        angle, tr, s, sh = self.get_params(self.degrees, self.translate, self.scale,
                                           self.shear, size)
        return F.affine(img, angle, list(tr), s, list(sh), self.interpolation, self.fill,
                        self.center)
