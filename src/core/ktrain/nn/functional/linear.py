"""Affine maps: ``F.linear`` (checks, then the one-GEMM op ``ops.linear._Linear``) and
``F.bilinear`` (a composition of ktrain ops: one GEMM against the reshaped weight, then a
contraction with the second input)."""
from __future__ import annotations

from ..._tensor import Tensor
from ...amp import autocast_mode as _amp
from ...ops.linear import _Linear

__all__ = ["linear", "bilinear"]


def _check_linear(input, weight, bias):
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("linear(): input and weight must be Tensors, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    if weight.ndim != 2 or input.ndim == 0:
        raise RuntimeError(f"linear(): expected a 2-D weight and an input of at least 1 "
                           f"dimension, got weight of shape {list(weight.shape)} and input of "
                           f"shape {list(input.shape)}")
    if input.shape[-1] != weight.shape[1]:
        m = input.numel() // max(input.shape[-1], 1) if input.shape[-1] else 0
        raise RuntimeError(
            f"linear(): mat1 and mat2 shapes cannot be multiplied ({m}x{input.shape[-1]} and "
            f"{weight.shape[1]}x{weight.shape[0]}): input of shape {list(input.shape)} has "
            f"{input.shape[-1]} features but weight of shape {list(weight.shape)} expects "
            f"{weight.shape[1]}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"linear(): mat1 and mat2 must have the same dtype, but got "
                           f"{input.dtype.name} and {weight.dtype.name}")
    if bias is not None and (bias.ndim > 1 or bias.numel() not in (1, weight.shape[0])):
        raise RuntimeError(f"linear(): bias of shape {list(bias.shape)} does not match the "
                           f"{weight.shape[0]} output features")


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``.

    Shapes: input ``(*, in_features)``, weight ``(out_features, in_features)``, bias
    ``(out_features,)``; the result is ``(*, out_features)``.
    Example: ``F.linear(x, torch_like_weight, bias)``.
    """
    if _amp.ANY_ACTIVE:
        input, weight, bias = _amp.cast_inputs("linear", input, weight, bias)
    _check_linear(input, weight, bias)
    if input.ndim == 1:
        return _Linear.apply(input.unsqueeze(0), weight, bias).squeeze(0)
    return _Linear.apply(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``.

    Shapes: input1 ``(*, in1)``, input2 ``(*, in2)``, weight ``(out, in1, in2)``.
    """
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): expected a 3-D weight (out, in1, in2), got shape "
                           f"{list(weight.shape)}")
    o, i1, i2 = weight.shape
    if input1.shape[-1] != i1 or input2.shape[-1] != i2:
        raise RuntimeError(f"bilinear(): input1 of shape {list(input1.shape)} and input2 of "
                           f"shape {list(input2.shape)} do not match weight of shape "
                           f"{list(weight.shape)} (expected last dims {i1} and {i2})")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input1 and input2 must have the same batch "
                           f"dimensions, got {list(input1.shape)} and {list(input2.shape)}")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, i1)
    x2 = input2.reshape(-1, i2)
    # (M, in1) @ (in1, out*in2) -> (M, out, in2), then contract in2 with input2
    t = (x1 @ weight.permute(1, 0, 2).reshape(i1, o * i2)).reshape(-1, o, i2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (o,))
