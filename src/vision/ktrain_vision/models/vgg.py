"""VGG-11/13/16/19 (Simonyan & Zisserman 2014), with and without batch norm, as
torchvision builds them (``features.N``, ``avgpool``, ``classifier.N``), so converted
torchvision weights load directly.

    from ktrain_vision.models import vgg16_bn
    model = vgg16_bn(num_classes=10)
    model(ktrain.randn(1, 3, 224, 224)).shape      # (1, 10); any input >= 32x32 works
"""
from __future__ import annotations

from ktrain import nn

from ._utils import init_conv_bn_, load_weights

__all__ = ["VGG", "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn"]

#: Conv widths per configuration; "M" is a 2x2 max pool (torchvision's cfgs A, B, D, E).
CFGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    """The ``features`` stack: 3x3 conv (+ BN) + ReLU per number, max pool per "M"."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU(inplace=True))
        in_channels = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` -> AdaptiveAvgPool2d((7, 7)) -> flatten -> ``classifier``
    (Linear 25088-4096, ReLU, Dropout, Linear 4096-4096, ReLU, Dropout, Linear)."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            init_conv_bn_(self, linear_std=0.01)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(depth, batch_norm, num_classes, weights, in_channels=3, **kwargs):
    kwargs.setdefault("init_weights", weights is None)
    model = VGG(make_layers(CFGS[depth], batch_norm, in_channels), num_classes=num_classes,
                **kwargs)
    return load_weights(model, weights)


def vgg11(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-11 (132,863,336 parameters); kwargs: ``dropout``, ``in_channels``."""
    return _vgg(11, False, num_classes, weights, **kwargs)


def vgg11_bn(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-11 with batch norm (132,868,840 parameters)."""
    return _vgg(11, True, num_classes, weights, **kwargs)


def vgg13(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-13 (133,047,848 parameters)."""
    return _vgg(13, False, num_classes, weights, **kwargs)


def vgg13_bn(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-13 with batch norm (133,053,736 parameters)."""
    return _vgg(13, True, num_classes, weights, **kwargs)


def vgg16(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-16 (138,357,544 parameters)."""
    return _vgg(16, False, num_classes, weights, **kwargs)


def vgg16_bn(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-16 with batch norm (138,365,992 parameters)."""
    return _vgg(16, True, num_classes, weights, **kwargs)


def vgg19(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-19 (143,667,240 parameters)."""
    return _vgg(19, False, num_classes, weights, **kwargs)


def vgg19_bn(num_classes: int = 1000, weights=None, **kwargs) -> VGG:
    """VGG-19 with batch norm (143,678,248 parameters)."""
    return _vgg(19, True, num_classes, weights, **kwargs)
