"""ktrain-vision: image datasets, transforms and models for ktrain (torchvision's names).

    import ktrain_vision as kv
    from ktrain_vision import transforms as T
    ds = kv.datasets.Digits(split="train", transform=T.ToTensor())
    model = kv.models.resnet20(num_classes=10)

Installing the distribution registers everything below with ktrain's registries through
the ``ktrain.plugins`` entry point (``vision.resnet20``, or ``resnet20`` when unique), so
configs name them without code. Importing this package is cheap: submodules load lazily.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("datasets", "transforms", "models", "io", "utils", "predict")

# registry name -> "module:attribute" (imported only when a config asks for the name)
DATASETS = {
    "mnist": "ktrain_vision.datasets:MNIST",
    "fashion_mnist": "ktrain_vision.datasets:FashionMNIST",
    "kmnist": "ktrain_vision.datasets:KMNIST",
    "emnist": "ktrain_vision.datasets:EMNIST",
    "cifar10": "ktrain_vision.datasets:CIFAR10",
    "cifar100": "ktrain_vision.datasets:CIFAR100",
    "svhn": "ktrain_vision.datasets:SVHN",
    "image_folder": "ktrain_vision.datasets:ImageFolder",
    "dataset_folder": "ktrain_vision.datasets:DatasetFolder",
    "fake_data": "ktrain_vision.datasets:FakeData",
    "digits": "ktrain_vision.datasets:Digits",
}

_T = "ktrain_vision.transforms:"
TRANSFORMS = {
    "compose": _T + "Compose",
    "to_tensor": _T + "ToTensor",
    "pil_to_tensor": _T + "PILToTensor",
    "to_dtype": _T + "ToDtype",
    "convert_image_dtype": _T + "ConvertImageDtype",
    "normalize": _T + "Normalize",
    "resize": _T + "Resize",
    "center_crop": _T + "CenterCrop",
    "random_crop": _T + "RandomCrop",
    "random_resized_crop": _T + "RandomResizedCrop",
    "random_horizontal_flip": _T + "RandomHorizontalFlip",
    "random_vertical_flip": _T + "RandomVerticalFlip",
    "random_rotation": _T + "RandomRotation",
    "random_affine": _T + "RandomAffine",
    "color_jitter": _T + "ColorJitter",
    "grayscale": _T + "Grayscale",
    "random_grayscale": _T + "RandomGrayscale",
    "gaussian_blur": _T + "GaussianBlur",
    "random_erasing": _T + "RandomErasing",
    "trivial_augment_wide": _T + "TrivialAugmentWide",
    "rand_augment": _T + "RandAugment",
    "lambda": _T + "Lambda",
    "mixup": _T + "MixUp",
    "cutmix": _T + "CutMix",
    "pad": _T + "Pad",
    "random_apply": _T + "RandomApply",
    "random_choice": _T + "RandomChoice",
    "to_pil_image": _T + "ToPILImage",
    "random_invert": _T + "RandomInvert",
    "random_posterize": _T + "RandomPosterize",
    "random_solarize": _T + "RandomSolarize",
    "random_autocontrast": _T + "RandomAutocontrast",
    "random_equalize": _T + "RandomEqualize",
    "random_adjust_sharpness": _T + "RandomAdjustSharpness",
}

_M = "ktrain_vision.models:"
MODELS = {
    "lenet5": _M + "lenet5",
    "convnet": _M + "convnet",
    **{f"resnet{d}": _M + f"resnet{d}" for d in (20, 32, 44, 56, 110)},
    **{f"resnet{d}": _M + f"resnet{d}" for d in (18, 34, 50, 101, 152)},
    **{f"vgg{d}": _M + f"vgg{d}" for d in (11, 13, 16, 19)},
    **{f"vgg{d}_bn": _M + f"vgg{d}_bn" for d in (11, 13, 16, 19)},
    "mobilenet_v2": _M + "mobilenet_v2",
}


def register(registries) -> None:
    """The ``ktrain.plugins`` entry point: add the vision components to ktrain's
    registries (names are namespaced ``vision.*`` by the plugin loader) and the image
    readers of ``ktrain predict``."""
    registries.register_tables(datasets=DATASETS, transforms=TRANSFORMS, models=MODELS)
    from .predict import register_predict

    register_predict(registries)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
