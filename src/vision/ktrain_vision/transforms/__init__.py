"""Image transforms with torchvision's names, arguments and semantics.

They work on PIL images and on ktrain tensor images ``(..., C, H, W)`` (uint8 or float; on
CPU or GPU). All randomness comes from ktrain's default generator, so ``ktrain.manual_seed``
reproduces an augmentation pipeline and DataLoader workers draw different streams.

    from ktrain_vision import transforms as T
    train_tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                          T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    mix = T.CutMix(num_classes=10)            # batch level: (images, labels) -> soft labels
    tf = T.build_transforms(["to_tensor", {"name": "normalize", "mean": [0.5], "std": [0.5]}])
"""
from . import functional
from ._autoaugment import RandAugment, TrivialAugmentWide
from ._build import build_transforms
from ._color_transforms import (
    ColorJitter,
    GaussianBlur,
    Grayscale,
    RandomAdjustSharpness,
    RandomAutocontrast,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomInvert,
    RandomPosterize,
    RandomSolarize,
)
from ._mix import CutMix, MixUp
from ._transforms import (
    CenterCrop,
    Compose,
    ConvertImageDtype,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomAffine,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
    ToDtype,
    ToPILImage,
    ToTensor,
)
from .functional import InterpolationMode

__all__ = [
    "CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "CutMix", "GaussianBlur",
    "Grayscale", "InterpolationMode", "Lambda", "MixUp", "Normalize", "PILToTensor", "Pad",
    "RandAugment", "RandomAdjustSharpness", "RandomAffine", "RandomApply",
    "RandomAutocontrast", "RandomChoice", "RandomCrop", "RandomEqualize", "RandomErasing",
    "RandomGrayscale", "RandomHorizontalFlip", "RandomInvert", "RandomPosterize",
    "RandomResizedCrop", "RandomRotation", "RandomSolarize", "RandomVerticalFlip", "Resize",
    "ToDtype", "ToPILImage", "ToTensor", "TrivialAugmentWide", "build_transforms",
    "functional",
]
