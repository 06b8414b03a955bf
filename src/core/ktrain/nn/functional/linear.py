"""Affine maps: ``F.linear`` (one GEMM, bias added in place) and ``F.bilinear``."""
from __future__ import annotations

from ..._tensor import Tensor
from ...amp import autocast_mode as _amp
from ...autograd.function import Op
from ...autograd.grad_mode import STATE

__all__ = ["linear", "bilinear"]


def _linear_arr(x, w, b):
    if x.ndim == 2:
        out = x @ w.T
    else:
        lead = x.shape[:-1]
        out = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(lead + (w.shape[0],))
    if out.dtype != x.dtype:  # numpy multiplies bfloat16 (ml_dtypes) matrices in float32
        out = out.astype(x.dtype)
    if b is not None:
        out += b
    return out


class _Linear(Op):
    """``x @ w.T + b`` over the last dimension of ``x``; inputs of any rank >= 1 are
    flattened to one matrix so there is a single GEMM each way."""

    @staticmethod
    def compute(x, w, b):
        return _linear_arr(x, w, b)

    @staticmethod
    def forward(ctx, x, w, b):
        X, W, _ = ctx.inputs
        e = ctx._edges
        # keep an operand only when the other one's gradient needs it
        ctx.save_for_backward(X if e[1] is not None else None, W if e[0] is not None else None)
        return _linear_arr(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        e = ctx._edges
        n_out = g.shape[-1]
        if not STATE.enabled:  # plain backward: raw GEMMs, no graph
            gd = g._data
            g2 = gd.reshape(-1, n_out) if gd.ndim != 2 else gd
            gx = gw = gb = None
            if e[0] is not None:
                gx = g2 @ w._data
                if gx.dtype != gd.dtype:
                    gx = gx.astype(gd.dtype)
                if gd.ndim != 2:
                    gx = gx.reshape(gd.shape[:-1] + (gx.shape[-1],))
                gx = Tensor._make(gx)
            if e[1] is not None:
                xd = x._data
                x2 = xd.reshape(-1, xd.shape[-1]) if xd.ndim != 2 else xd
                gw = g2.T @ x2
                gw = Tensor._make(gw if gw.dtype == gd.dtype else gw.astype(gd.dtype))
            if e[2] is not None:
                gb = Tensor._make(g2.sum(0))
            return gx, gw, gb
        g2 = g.reshape(-1, n_out) if g.ndim != 2 else g
        gx = gw = gb = None
        if e[0] is not None:
            gx = g2 @ w
            if g.ndim != 2:
                gx = gx.reshape(tuple(g.shape[:-1]) + (gx.shape[-1],))
        if e[1] is not None:
            x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gw = g2.mT @ x2
        if e[2] is not None:
            gb = g2.sum(0)
        return gx, gw, gb


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
