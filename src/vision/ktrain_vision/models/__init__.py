"""Vision models with torchvision's names, module names and default initialisation.

    from ktrain_vision import models
    m = models.resnet18(num_classes=10)                    # torchvision's state_dict keys
    m = models.resnet50(weights="resnet50.safetensors")    # converted torchvision weights
    models.list_models("resnet*")                          # ['resnet101', 'resnet110', ...]

ImageNet: resnet18/34/50/101/152, vgg11/13/16/19 (+ ``_bn``), mobilenet_v2.
CIFAR-style (32x32 and smaller): resnet20/32/44/56/110 (He et al. 2016, option-A
shortcuts by default). Small: lenet5, convnet.
"""
from __future__ import annotations

import fnmatch

from ._utils import load_weights
from .cifar_resnet import CifarResNet, resnet20, resnet32, resnet44, resnet56, resnet110
from .mobilenet import MobileNetV2, mobilenet_v2
from .resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from .small import ConvNet, LeNet5, convnet, lenet5
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

_BUILDERS = ("lenet5", "convnet", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
             "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11", "vgg11_bn",
             "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "mobilenet_v2")

__all__ = ["VGG", "BasicBlock", "Bottleneck", "CifarResNet", "ConvNet", "LeNet5", "MobileNetV2",
           "ResNet", "convnet", "get_model", "lenet5", "list_models", "load_weights",
           "mobilenet_v2", "resnet18", "resnet20", "resnet32", "resnet34", "resnet44", "resnet50",
           "resnet56", "resnet101", "resnet110", "resnet152", "vgg11", "vgg11_bn", "vgg13",
           "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


def list_models(pattern: str | None = None) -> list[str]:
    """The model builder names, sorted, optionally filtered by a glob ``pattern``."""
    names = sorted(_BUILDERS)
    return names if pattern is None else [n for n in names if fnmatch.fnmatch(n, pattern)]


def get_model(name: str, **kwargs):
    """Build model ``name`` (see :func:`list_models`) with ``kwargs``."""
    if name not in _BUILDERS:
        import difflib

        close = difflib.get_close_matches(name, _BUILDERS, n=3)
        raise ValueError(f"unknown model {name!r}" + (f"; did you mean {', '.join(close)}?"
                                                      if close else "")
                         + f" (available: {', '.join(sorted(_BUILDERS))})")
    return globals()[name](**kwargs)
