"""Small models for small images: LeNet-5 and a ConvNet baseline.

    from ktrain_vision.models import lenet5, convnet
    lenet5()(ktrain.randn(8, 1, 28, 28)).shape                    # (8, 10), MNIST
    lenet5(input_size=32)(ktrain.randn(8, 1, 32, 32)).shape       # the original 32x32
    convnet(in_channels=3)(ktrain.randn(8, 3, 32, 32)).shape      # (8, 10), any size
"""
from __future__ import annotations

from collections.abc import Sequence

from ktrain import nn

from ._utils import load_weights

__all__ = ["ConvNet", "LeNet5", "convnet", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) with today's ReLU and max pooling.

    conv1 (6 filters 5x5) -> pool -> conv2 (16 filters 5x5) -> pool -> fc1 (120) -> fc2
    (84) -> fc3 (``num_classes``). For ``input_size=28`` (MNIST) conv1 pads by 2, so the
    feature maps are those of the original 32x32 network (16x5x5 before fc1); any other
    size >= 12 works too (fc1's width follows it).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 28,
                 dropout: float = 0.0):
        super().__init__()
        pad = 2 if int(input_size) == 28 else 0
        side = ((int(input_size) + 2 * pad - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet5: input_size {input_size} is too small (>= 12)")
        self.input_size = int(input_size)
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=pad)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x))).flatten(1)
        x = self.relu(self.fc2(self.relu(self.fc1(x))))
        return self.fc3(self.dropout(x))


class ConvNet(nn.Module):
    """A plain baseline for any image size: per entry of ``channels`` two 3x3
    conv-BN-ReLU layers and a 2x2 max pool, then global average pooling, dropout and a
    linear classifier (``features``, ``classifier``)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3,
                 channels: Sequence[int] = (32, 64, 128), dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        c = int(in_channels)
        for out in channels:
            for _ in range(2):
                layers += [nn.Conv2d(c, int(out), 3, padding=1, bias=False),
                           nn.BatchNorm2d(int(out)), nn.ReLU(inplace=True)]
                c = int(out)
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, int(num_classes)))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def lenet5(num_classes: int = 10, in_channels: int = 1, input_size: int = 28, weights=None,
           **kwargs) -> LeNet5:
    """LeNet-5 for ``input_size`` x ``input_size`` images (28: MNIST, 32: the original)."""
    return load_weights(LeNet5(num_classes, in_channels, input_size, **kwargs), weights)


def convnet(num_classes: int = 10, in_channels: int = 3, channels: Sequence[int] = (32, 64, 128),
            dropout: float = 0.0, weights=None) -> ConvNet:
    """The small ConvNet baseline (:class:`ConvNet`)."""
    return load_weights(ConvNet(num_classes, in_channels, channels, dropout), weights)
