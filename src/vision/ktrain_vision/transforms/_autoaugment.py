"""TrivialAugmentWide and RandAugment (torchvision's op tables and magnitudes).

Both work on PIL images and uint8 tensor images (float tensors: Posterize/Equalize need
uint8 and are skipped, Solarize thresholds are scaled to [0, 1]).
"""
from __future__ import annotations

import math

import numpy as np

from . import _rng
from . import functional as F
from ._transforms import _Transform
from .functional import InterpolationMode, _interp

__all__ = ["RandAugment", "TrivialAugmentWide"]


def _apply_op(img, op, magnitude, interpolation, fill):
    if op == "ShearX":
        return F.affine(img, 0.0, [0, 0], 1.0, [math.degrees(math.atan(magnitude)), 0.0],
                        interpolation, fill, center=[0, 0])
    if op == "ShearY":
        return F.affine(img, 0.0, [0, 0], 1.0, [0.0, math.degrees(math.atan(magnitude))],
                        interpolation, fill, center=[0, 0])
    if op == "TranslateX":
        return F.affine(img, 0.0, [int(magnitude), 0], 1.0, [0.0, 0.0], interpolation, fill)
    if op == "TranslateY":
        return F.affine(img, 0.0, [0, int(magnitude)], 1.0, [0.0, 0.0], interpolation, fill)
    if op == "Rotate":
        return F.rotate(img, magnitude, interpolation, fill=fill)
    if op == "Brightness":
        return F.adjust_brightness(img, 1.0 + magnitude)
    if op == "Color":
        return F.adjust_saturation(img, 1.0 + magnitude)
    if op == "Contrast":
        return F.adjust_contrast(img, 1.0 + magnitude)
    if op == "Sharpness":
        return F.adjust_sharpness(img, 1.0 + magnitude)
    is_float = not F._is_pil(img) and img.is_floating_point()
    if op == "Posterize":
        return img if is_float else F.posterize(img, int(magnitude))
    if op == "Solarize":
        return F.solarize(img, magnitude / 255.0 if is_float else magnitude)
    if op == "AutoContrast":
        return F.autocontrast(img)
    if op == "Equalize":
        return img if is_float else F.equalize(img)
    if op == "Identity":
        return img
    raise ValueError(f"unknown augmentation op {op!r}")


class _AugmentBase(_Transform):
    def __init__(self, interpolation, fill):
        self.interpolation = _interp(interpolation)
        self.fill = fill

    def _fill_for(self, img):
        if self.fill is None or F._is_pil(img):
            return self.fill
        c = F.get_dimensions(img)[0]
        if isinstance(self.fill, (int, float)):
            return [float(self.fill)] * c
        return [float(f) for f in self.fill]


class TrivialAugmentWide(_AugmentBase):
    """Apply ONE op picked uniformly at a uniformly random magnitude bin (TrivialAugment)."""

    def __init__(self, num_magnitude_bins=31, interpolation=InterpolationMode.NEAREST,
                 fill=None):
        super().__init__(interpolation, fill)
        self.num_magnitude_bins = num_magnitude_bins

    @staticmethod
    def _augmentation_space(n):
        return {
            "Identity": (None, False),
            "ShearX": (np.linspace(0.0, 0.99, n), True),
            "ShearY": (np.linspace(0.0, 0.99, n), True),
            "TranslateX": (np.linspace(0.0, 32.0, n), True),
            "TranslateY": (np.linspace(0.0, 32.0, n), True),
            "Rotate": (np.linspace(0.0, 135.0, n), True),
            "Brightness": (np.linspace(0.0, 0.99, n), True),
            "Color": (np.linspace(0.0, 0.99, n), True),
            "Contrast": (np.linspace(0.0, 0.99, n), True),
            "Sharpness": (np.linspace(0.0, 0.99, n), True),
            "Posterize": (8 - np.round(np.arange(n) / ((n - 1) / 6)).astype(int), False),
            "Solarize": (np.linspace(255.0, 0.0, n), False),
            "AutoContrast": (None, False),
            "Equalize": (None, False),
        }

    def __call__(self, img):
        space = self._augmentation_space(self.num_magnitude_bins)
        names = list(space)
        op = names[_rng.randint(0, len(names))]
        mags, signed = space[op]
        mag = float(mags[_rng.randint(0, len(mags))]) if mags is not None else 0.0
        if signed and _rng.randint(0, 2):
            mag = -mag
        return _apply_op(img, op, mag, self.interpolation, self._fill_for(img))


class RandAugment(_AugmentBase):
    """Apply ``num_ops`` ops picked uniformly, all at bin ``magnitude`` of
    ``num_magnitude_bins`` (RandAugment)."""

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31,
                 interpolation=InterpolationMode.NEAREST, fill=None):
        super().__init__(interpolation, fill)
        if not 0 <= magnitude < num_magnitude_bins:
            raise ValueError(f"magnitude must be in [0, {num_magnitude_bins}), got {magnitude}")
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins

    @staticmethod
    def _augmentation_space(n, image_size):
        h, w = image_size
        return {
            "Identity": (None, False),
            "ShearX": (np.linspace(0.0, 0.3, n), True),
            "ShearY": (np.linspace(0.0, 0.3, n), True),
            "TranslateX": (np.linspace(0.0, 150.0 / 331.0 * w, n), True),
            "TranslateY": (np.linspace(0.0, 150.0 / 331.0 * h, n), True),
            "Rotate": (np.linspace(0.0, 30.0, n), True),
            "Brightness": (np.linspace(0.0, 0.9, n), True),
            "Color": (np.linspace(0.0, 0.9, n), True),
            "Contrast": (np.linspace(0.0, 0.9, n), True),
            "Sharpness": (np.linspace(0.0, 0.9, n), True),
            "Posterize": (8 - np.round(np.arange(n) / ((n - 1) / 4)).astype(int), False),
            "Solarize": (np.linspace(255.0, 0.0, n), False),
            "AutoContrast": (None, False),
            "Equalize": (None, False),
        }

    def __call__(self, img):
        _, h, w = F.get_dimensions(img)
        space = self._augmentation_space(self.num_magnitude_bins, (h, w))
        names = list(space)
        fill = self._fill_for(img)
        for _ in range(self.num_ops):
            op = names[_rng.randint(0, len(names))]
            mags, signed = space[op]
            mag = float(mags[self.magnitude]) if mags is not None else 0.0
            if signed and _rng.randint(0, 2):
                mag = -mag
            img = _apply_op(img, op, mag, self.interpolation, fill)
        return img
