"""Colour, blur and erasing transform classes (torchvision names, arguments, defaults),
including the random single-op ones (RandomInvert, RandomPosterize, ...)."""
from __future__ import annotations

import math
import numbers

import ktrain

from . import _rng
from . import functional as F
from ._transforms import _Transform
from .functional import _pair

__all__ = ["ColorJitter", "GaussianBlur", "Grayscale", "RandomAdjustSharpness",
           "RandomAutocontrast", "RandomEqualize", "RandomErasing", "RandomGrayscale",
           "RandomInvert", "RandomPosterize", "RandomSolarize"]


def _jitter_range(value, name, center=1.0, bound=(0, float("inf")), clip_first=True):
    if value is None:
        return None
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be non negative.")
        value = [center - float(value), center + float(value)]
        if clip_first:
            value[0] = max(value[0], 0.0)
    else:
        value = [float(v) for v in value]
        if len(value) != 2:
            raise ValueError(f"{name} should be a single number or a list of 2 numbers")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"{name} values should be between {bound}, got {value}")
    if value[0] == value[1] == center:
        return None
    return value


class ColorJitter(_Transform):
    """Random brightness, contrast, saturation and hue in a random order (each factor
    uniform in ``[max(0, 1 - v), 1 + v]``, hue in ``[-v, v]`` with v <= 0.5)."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first=False)

    def __call__(self, img):
        order = ktrain.randperm(4).tolist()
        b = None if self.brightness is None else _rng.uniform(*self.brightness)
        c = None if self.contrast is None else _rng.uniform(*self.contrast)
        s = None if self.saturation is None else _rng.uniform(*self.saturation)
        h = None if self.hue is None else _rng.uniform(*self.hue)
        for fn_id in order:
            if fn_id == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img


class Grayscale(_Transform):
    """Convert to grey (1 or 3 output channels)."""

    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class RandomGrayscale(_Transform):
    """Convert to grey with probability ``p``, keeping the number of channels."""

    def __init__(self, p=0.1):
        self.p = p

    def __call__(self, img):
        if _rng.coin(self.p):
            return F.rgb_to_grayscale(img, F.get_dimensions(img)[0])
        return img


class GaussianBlur(_Transform):
    """Gaussian blur with sigma uniform in ``sigma = [lo, hi]`` (or fixed)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = [int(v) for v in _pair(kernel_size, "kernel_size")]
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError("Kernel size value should be an odd and positive number.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError("If sigma is a single number, it must be positive.")
            sigma = [float(sigma), float(sigma)]
        sigma = [float(v) for v in sigma]
        if len(sigma) != 2 or not 0.0 < sigma[0] <= sigma[1]:
            raise ValueError(f"sigma values should be positive and of the form (min, max), got "
                             f"{sigma}")
        self.sigma = sigma

    def __call__(self, img):
        s = _rng.uniform(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, self.kernel_size, [s, s])


class RandomErasing(_Transform):
    """Erase a random rectangle of a tensor image with probability ``p`` (area fraction in
    ``scale``, aspect ratio in ``ratio``); ``value`` 0, a per-channel list, or 'random'
    (normal noise for float tensors, uniform 0..255 for uint8).

    Extension over torchvision: PIL images are accepted too (``value`` then in pixel units,
    0..255), so it can sit in a dataset's ``train_transform``, which runs before
    ``transform`` (where ``to_tensor`` usually is)."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        if not 0 <= p <= 1:
            raise ValueError(f"Random erasing probability should be between 0 and 1, got {p}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"If value is str, it should be 'random', got {value!r}")
        self.p = p
        self.scale = list(scale)
        self.ratio = list(ratio)
        self.value = value
        self.inplace = inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        c, h, w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = h * w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * _rng.uniform(scale[0], scale[1])
            aspect = math.exp(_rng.uniform(*log_ratio))
            eh = round(math.sqrt(erase_area * aspect))
            ew = round(math.sqrt(erase_area / aspect))
            if not (eh < h and ew < w):
                continue
            if value is None:
                v = ktrain.randn(c, eh, ew, dtype=img.dtype, device=img.device) \
                    if img.is_floating_point() else \
                    ktrain.randint(0, 256, (c, eh, ew), dtype=img.dtype, device=img.device)
            else:
                v = ktrain.tensor(value, dtype=img.dtype, device=img.device).reshape(-1, 1, 1)
            i, j = _rng.randint(0, h - eh + 1), _rng.randint(0, w - ew + 1)
            return i, j, eh, ew, v
        return 0, 0, h, w, img

    def __call__(self, img):
        if F._is_pil(img):  # extension: erase in pixel units, give a PIL image back
            if not _rng.coin(self.p):
                return img
            out = self._erase(F.pil_to_tensor(img), drawn=True)
            return F.to_pil_image(out, mode=img.mode)
        if not isinstance(img, ktrain.Tensor):
            raise TypeError(f"RandomErasing expects a tensor or PIL image, got "
                            f"{type(img).__name__}")
        return self._erase(img)

    def _erase(self, img, drawn=False):
        if not drawn and not _rng.coin(self.p):
            return img
        if self.value == "random":
            value = None
        elif isinstance(self.value, numbers.Number):
            value = [self.value]
        else:
            value = list(self.value)
            if len(value) not in (1, img.shape[-3]):
                raise ValueError(f"RandomErasing: value has {len(value)} entries but the image "
                                 f"has {img.shape[-3]} channels")
        i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
        if v is img:
            return img
        return F.erase(img, i, j, h, w, v, self.inplace)


class _RandomOp(_Transform):
    """Apply one functional op with probability ``p``."""

    def _op(self, img):
        raise NotImplementedError

    def __call__(self, img):
        return self._op(img) if _rng.coin(self.p) else img


class RandomInvert(_RandomOp):
    """Invert the colours with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def _op(self, img):
        return F.invert(img)


class RandomPosterize(_RandomOp):
    """Keep ``bits`` bits per channel with probability ``p`` (uint8 images)."""

    def __init__(self, bits, p=0.5):
        self.bits = bits
        self.p = p

    def _op(self, img):
        return F.posterize(img, self.bits)


class RandomSolarize(_RandomOp):
    """Invert values at or above ``threshold`` with probability ``p``."""

    def __init__(self, threshold, p=0.5):
        self.threshold = threshold
        self.p = p

    def _op(self, img):
        return F.solarize(img, self.threshold)


class RandomAdjustSharpness(_RandomOp):
    """Adjust the sharpness by ``sharpness_factor`` with probability ``p``."""

    def __init__(self, sharpness_factor, p=0.5):
        self.sharpness_factor = sharpness_factor
        self.p = p

    def _op(self, img):
        return F.adjust_sharpness(img, self.sharpness_factor)


class RandomAutocontrast(_RandomOp):
    """Autocontrast with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def _op(self, img):
        return F.autocontrast(img)


class RandomEqualize(_RandomOp):
    """Histogram-equalise with probability ``p`` (uint8 images)."""

    def __init__(self, p=0.5):
        self.p = p

    def _op(self, img):
        return F.equalize(img)
