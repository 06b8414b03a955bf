"""Generic core models, registered as ``mlp`` and ``tiny_cnn`` (``ktrain.registry.MODELS``)."""
from __future__ import annotations

from collections.abc import Sequence

from . import nn

__all__ = ["MLP", "TinyCNN"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                "silu": nn.SiLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU}


def _activation(name: str):
    try:
        return _ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; one of: "
                         f"{', '.join(_ACTIVATIONS)}") from None


def _check_widths(**widths):
    """A ValueError naming the first width (an int or a list of ints) below 1: a layer
    of width 0 builds, warns, and trains on nothing."""
    for name, v in widths.items():
        items = list(v) if isinstance(v, (list, tuple)) else [v]
        for i, w in enumerate(items):
            if int(w) < 1:
                where = f"{name}[{i}]" if isinstance(v, (list, tuple)) else name
                raise ValueError(f"{where} must be a width >= 1, got {w}")


class MLP(nn.Module):
    """A multilayer perceptron: ``in_features -> hidden... -> num_classes``.

    Inputs with more than two dims are flattened from dim 1 (images work directly).
    ``num_classes`` is the output width (use 1 or ``n_targets`` for regression).
    """

    def __init__(self, in_features: int, num_classes: int,
                 hidden: Sequence[int] | int = (64,), activation: str = "relu",
                 dropout: float = 0.0, batch_norm: bool = False):
        super().__init__()
        if isinstance(hidden, int):
            hidden = (hidden,)
        _check_widths(in_features=in_features, num_classes=num_classes, hidden=hidden)
        self.in_features, self.num_classes = int(in_features), int(num_classes)
        layers: list[nn.Module] = [nn.Flatten()]
        width = self.in_features
        for h in hidden:
            layers.append(nn.Linear(width, int(h)))
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(h)))
            layers.append(_activation(activation))
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, self.num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class TinyCNN(nn.Module):
    """A small conv net for images ``(N, in_channels, H, W)`` of any size: a few
    conv-BN-ReLU-maxpool blocks, global average pooling and a linear head."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10,
                 channels: Sequence[int] = (16, 32), dropout: float = 0.0):
        super().__init__()
        _check_widths(in_channels=in_channels, num_classes=num_classes, channels=channels)
        blocks: list[nn.Module] = []
        c = int(in_channels)
        for out in channels:
            blocks += [nn.Conv2d(c, int(out), 3, padding=1, bias=False),
                       nn.BatchNorm2d(int(out)), nn.ReLU(), nn.MaxPool2d(2)]
            c = int(out)
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.fc = nn.Linear(c, int(num_classes))

    def forward(self, x):
        return self.fc(self.dropout(self.flatten(self.pool(self.features(x)))))
