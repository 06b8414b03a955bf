"""CIFAR ResNets of He et al. 2016 ("Deep Residual Learning", section 4.2):
resnet20/32/44/56/110.

A 3x3 stem of 16 filters, three stages of ``n = (depth - 2) / 6`` basic blocks with 16,
32 and 64 filters (the first block of stages 2 and 3 has stride 2), global average
pooling and a linear classifier. Module names follow torchvision's ResNet (``conv1``,
``bn1``, ``layer1.0.conv1``, ``fc``...).

Shortcuts (``shortcut=``): ``'A'`` (default, the paper's CIFAR choice) is the identity,
with the input subsampled by 2 and zero channels added when a block changes shape: it
has no parameters, so resnet20 has the paper's 0.27M (269,722 with 10 classes).
``'B'`` projects with a 1x1 convolution + BN (``downsample.0/1``, as torchvision)
when the shape changes.

    from ktrain_vision.models import resnet20
    model = resnet20(num_classes=10)                       # 32x32 RGB (CIFAR-10)
    model = resnet20(num_classes=10, in_channels=1)        # 8x8 grey Digits works too
    model(ktrain.randn(4, 3, 32, 32)).shape                # (4, 10)
"""
from __future__ import annotations

from ktrain import nn
from ktrain.nn import functional as F

from ._utils import init_conv_bn_, load_weights
from .resnet import BasicBlock, conv1x1

__all__ = ["CifarResNet", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]


class PadShortcut(nn.Module):
    """Option-A shortcut: take every ``stride``-th pixel and zero-pad the channels from
    ``in_planes`` to ``out_planes`` (split evenly before and after). No parameters."""

    def __init__(self, in_planes: int, out_planes: int, stride: int):
        super().__init__()
        self.in_planes, self.out_planes, self.stride = in_planes, out_planes, stride

    def forward(self, x):
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        extra = self.out_planes - self.in_planes
        if extra:
            x = F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))
        return x

    def extra_repr(self):
        return f"{self.in_planes}, {self.out_planes}, stride={self.stride}"


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet of ``depth = 6n + 2`` layers.

    Args: ``depth`` (20, 32, 44, 56, 110, ... any 6n+2), ``num_classes`` (10),
    ``in_channels`` (3; 1 for grey images), ``shortcut`` ('A' or 'B', see the module
    docstring), ``width`` (filters of the first stage, 16; the others double),
    ``zero_init_residual`` (start every block as the identity).
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 shortcut: str = "A", width: int = 16, zero_init_residual: bool = False):
        super().__init__()
        if (depth - 2) % 6 or depth < 8:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 (20, 32, 44, 56, 110...), "
                             f"got {depth}")
        shortcut = str(shortcut).upper()
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' or 'B', got {shortcut!r}")
        n = (depth - 2) // 6
        self.depth, self.shortcut = depth, shortcut
        self.inplanes = width
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(width, n, 1)
        self.layer2 = self._make_layer(width * 2, n, 2)
        self.layer3 = self._make_layer(width * 4, n, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 4, num_classes)
        init_conv_bn_(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, planes, blocks, stride):
        layers = []
        for i in range(blocks):
            s = stride if i == 0 else 1
            down = None
            if s != 1 or self.inplanes != planes:
                down = (PadShortcut(self.inplanes, planes, s) if self.shortcut == "A" else
                        nn.Sequential(conv1x1(self.inplanes, planes, s), nn.BatchNorm2d(planes)))
            layers.append(BasicBlock(self.inplanes, planes, s, down))
            self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def _cifar(depth, num_classes, in_channels, weights, **kwargs):
    model = CifarResNet(depth, num_classes=num_classes, in_channels=in_channels, **kwargs)
    return load_weights(model, weights)


def resnet20(num_classes: int = 10, in_channels: int = 3, weights=None, **kwargs):
    """CIFAR ResNet-20 (0.27M parameters); kwargs: ``shortcut``, ``width``,
    ``zero_init_residual``."""
    return _cifar(20, num_classes, in_channels, weights, **kwargs)


def resnet32(num_classes: int = 10, in_channels: int = 3, weights=None, **kwargs):
    """CIFAR ResNet-32 (0.46M parameters)."""
    return _cifar(32, num_classes, in_channels, weights, **kwargs)


def resnet44(num_classes: int = 10, in_channels: int = 3, weights=None, **kwargs):
    """CIFAR ResNet-44 (0.66M parameters)."""
    return _cifar(44, num_classes, in_channels, weights, **kwargs)


def resnet56(num_classes: int = 10, in_channels: int = 3, weights=None, **kwargs):
    """CIFAR ResNet-56 (0.85M parameters)."""
    return _cifar(56, num_classes, in_channels, weights, **kwargs)


def resnet110(num_classes: int = 10, in_channels: int = 3, weights=None, **kwargs):
    """CIFAR ResNet-110 (1.7M parameters)."""
    return _cifar(110, num_classes, in_channels, weights, **kwargs)
