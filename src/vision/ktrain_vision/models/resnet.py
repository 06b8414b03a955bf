"""ImageNet ResNets (He et al. 2015), module for module as torchvision builds them, so
state_dict keys and shapes are torchvision's (converted weights load directly).

    from ktrain_vision.models import resnet18
    model = resnet18(num_classes=10)                        # torchvision's init
    model = resnet50(weights="resnet50.safetensors")        # converted torchvision weights
    model(ktrain.randn(2, 3, 224, 224)).shape               # (2, 1000)
"""
from __future__ import annotations

from collections.abc import Sequence

from ktrain import nn

from ._utils import init_conv_bn_, load_weights

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152"]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding, no bias (as torchvision)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("dilation > 1 is not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (stride here, as torchvision's "ResNet V1.5"), 1x1 expand x4."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet: 7x7/2 stem, 3x3/2 max pool, four stages, global average
    pool and a linear classifier ``fc``.

    Args: ``block`` (BasicBlock or Bottleneck), ``layers`` (blocks per stage),
    ``num_classes``, ``zero_init_residual`` (the last BN of each block starts at zero, so
    every block starts as the identity), ``groups``/``width_per_group`` (ResNeXt/wide
    variants), ``in_channels`` (3; other values change ``conv1``'s shape).
    """

    def __init__(self, block, layers: Sequence[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 in_channels: int = 3):
        super().__init__()
        self.inplanes = 64
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_conv_bn_(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups,
                        self.base_width, self.dilation)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet(block, layers, weights, num_classes, **kwargs):
    return load_weights(ResNet(block, layers, num_classes=num_classes, **kwargs), weights)


def resnet18(num_classes: int = 1000, weights=None, **kwargs) -> ResNet:
    """ResNet-18 (11,689,512 parameters with 1000 classes); ``weights``: a safetensors
    state_dict path; other kwargs go to :class:`ResNet`."""
    return _resnet(BasicBlock, [2, 2, 2, 2], weights, num_classes, **kwargs)


def resnet34(num_classes: int = 1000, weights=None, **kwargs) -> ResNet:
    """ResNet-34 (21,797,672 parameters with 1000 classes)."""
    return _resnet(BasicBlock, [3, 4, 6, 3], weights, num_classes, **kwargs)


def resnet50(num_classes: int = 1000, weights=None, **kwargs) -> ResNet:
    """ResNet-50 (25,557,032 parameters with 1000 classes)."""
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, num_classes, **kwargs)


def resnet101(num_classes: int = 1000, weights=None, **kwargs) -> ResNet:
    """ResNet-101 (44,549,160 parameters with 1000 classes)."""
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, num_classes, **kwargs)


def resnet152(num_classes: int = 1000, weights=None, **kwargs) -> ResNet:
    """ResNet-152 (60,192,808 parameters with 1000 classes)."""
    return _resnet(Bottleneck, [3, 8, 36, 3], weights, num_classes, **kwargs)
