"""Shared pieces of the model builders: torchvision's default initialisation and
``weights=PATH`` loading from a safetensors state_dict (no code runs on load)."""
from __future__ import annotations

import os
from pathlib import Path

from ktrain import nn

__all__ = ["init_conv_bn_", "load_weights", "make_divisible"]


def init_conv_bn_(model: nn.Module, linear_std: float | None = None) -> None:
    """torchvision's default initialisation, in place.

    Convolutions: ``kaiming_normal_(mode='fan_out', nonlinearity='relu')`` and zero bias;
    batch/group norms: weight 1, bias 0; linear layers: ``N(0, linear_std)`` and zero bias
    when ``linear_std`` is given (VGG, MobileNetV2), else PyTorch's default (ResNet).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without going more than 10%
    below ``v`` (the rule of the TensorFlow MobileNet models, as torchvision uses it)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _read_state_dict(path: Path) -> dict:
    from ktrain.serialization import load

    try:
        obj = load(str(path), map_location="cpu")
    except Exception as e:  # noqa: BLE001 - say which file failed and why
        raise ValueError(f"weights={path}: not a readable safetensors file ({e}). Convert "
                         "PyTorch weights with safetensors.torch.save_file(model.state_dict(), "
                         "'model.safetensors') (see the ktrain-vision README).") from None
    # a ktrain checkpoint ({'model': state_dict, ...}) or {'state_dict': ...} wrapper
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            inner = obj.get(key)
            if isinstance(inner, dict) and inner:
                obj = inner
                break
    if not isinstance(obj, dict):
        # the file's content, not the argument, is wrong: a ValueError
        raise ValueError(f"weights={path}: expected a state_dict (name -> tensor), "  # noqa: TRY004
                         f"got {type(obj).__name__}")
    return obj


def load_weights(model: nn.Module, weights) -> nn.Module:
    """Load ``weights`` (a path to a safetensors state_dict) into ``model`` in place.

    ``None`` leaves the model as initialised. A DataParallel ``module.`` prefix is
    stripped. Missing, unexpected and mis-shaped keys are all reported in one error that
    names the file. Returns ``model``.
    """
    if weights is None or weights is False:
        return model
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be a path to a .safetensors file or None, got "
                        f"{type(weights).__name__}")
    path = Path(weights).expanduser()
    if not path.is_file():
        hint = ""
        if "IMAGENET" in str(weights).upper() or (not path.suffix and str(weights).isupper()):
            hint = (" (torchvision's named weights such as 'IMAGENET1K_V1' are not "
                    "downloaded by ktrain: convert them once with the recipe in the "
                    "ktrain-vision README and pass the .safetensors path)")
        raise FileNotFoundError(f"weights file not found: {path}{hint}")
    state = _read_state_dict(path)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise RuntimeError(f"weights={path} do not fit {type(model).__name__}: {e}") from None
    return model
