"""MobileNetV2 (Sandler et al. 2018) as torchvision builds it (``features.0.0``,
``features.1.conv.0.0``, ..., ``classifier.1``), so converted weights load directly.

    from ktrain_vision.models import mobilenet_v2
    model = mobilenet_v2(num_classes=10, width_mult=0.5)
    model(ktrain.randn(2, 3, 96, 96)).shape                 # (2, 10)
"""
from __future__ import annotations

from ktrain import nn

from ._utils import init_conv_bn_, load_weights, make_divisible

__all__ = ["InvertedResidual", "MobileNetV2", "conv_norm_activation", "mobilenet_v2"]


def conv_norm_activation(in_channels, out_channels, kernel_size=3, stride=1, groups=1,
                         activation=nn.ReLU6) -> nn.Sequential:
    """Conv2d (no bias, "same" padding) + BatchNorm2d + activation, as a Sequential
    (``.0``, ``.1``, ``.2``: torchvision's Conv2dNormActivation keys)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels), activation(inplace=True))


class InvertedResidual(nn.Module):
    """1x1 expansion (skipped when ``expand_ratio == 1``), 3x3 depthwise, linear 1x1
    projection; a residual connection when the shape is kept."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: float):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        self.stride = stride
        hidden = round(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_norm_activation(inp, hidden, kernel_size=1))
        layers += [conv_norm_activation(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2: ``num_classes``, ``width_mult`` (channel multiplier),
    ``inverted_residual_setting`` (rows ``[t, c, n, s]``), ``round_nearest``, ``dropout``
    (before the classifier), ``in_channels``."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting=None, round_nearest: int = 8,
                 dropout: float = 0.2, in_channels: int = 3):
        super().__init__()
        setting = inverted_residual_setting or [
            [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
            [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
        if not setting or any(len(row) != 4 for row in setting):
            raise ValueError(f"inverted_residual_setting should be a non-empty list of "
                             f"4-element lists, got {setting}")
        input_channel = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [conv_norm_activation(in_channels, input_channel, stride=2)]
        for t, c, n, s in setting:
            out = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, out, s if i == 0 else 1, t))
                input_channel = out
        features.append(conv_norm_activation(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))
        init_conv_bn_(self, linear_std=0.01)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(x.flatten(1))


def mobilenet_v2(num_classes: int = 1000, weights=None, **kwargs) -> MobileNetV2:
    """MobileNetV2 (3,504,872 parameters with 1000 classes); kwargs go to
    :class:`MobileNetV2` (``width_mult``, ``dropout``...)."""
    return load_weights(MobileNetV2(num_classes=num_classes, **kwargs), weights)
