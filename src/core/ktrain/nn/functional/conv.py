"""Convolutions: ``conv1d``/``conv2d`` and their transposes, PyTorch's signatures and
checks.

Each wrapper validates its arguments (shapes, dtypes, stride/padding/dilation/groups),
builds the conv geometry and applies one op of ``ops.conv``: ``Conv`` (im2col plus one
GEMM) or, for the transposes, ``ConvInputGrad`` (the adjoint of conv in its input). A
1-D conv runs through the 2-D path as a height-1 image.
"""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...amp import autocast_mode as _amp
from ...ops import conv_fusion as _fusion
from ...ops.conv import Conv, ConvInputGrad, ConvWeightGrad, _Geom  # noqa: F401  (old paths)

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


# ====================================================================== checks


def _ntuple(v, n, what, op):
    """``v`` (int or sequence of n ints) as a tuple of n Python ints."""
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1 and n > 1:
            v = tuple(v) * n
        if len(v) != n:
            raise ValueError(f"{op}: expected {what} to be a single int or a tuple of {n} "
                             f"ints, got {v!r}")
        out = tuple(v)
    else:
        out = (v,) * n
    for x in out:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
            raise TypeError(f"{op}: {what} must be integers, got {v!r}")
    return tuple(int(x) for x in out)


def _shape(t):
    return list(t._data.shape)


def _check_common(op, input, weight, bias, nsp, transposed):
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: expected Tensors for input and weight, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    nd = input._data.ndim
    if nd not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"{op}: expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) "
                           f"input, but got input of shape {_shape(input)}")
    if weight._data.ndim != nsp + 2:
        raise RuntimeError(f"{op}: expected a {nsp + 2}-D weight, but got weight of shape "
                           f"{_shape(weight)}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"{op}: input type ({input.dtype}) and weight type "
                           f"({weight.dtype}) should be the same")
    if not input.is_floating_point():
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    if bias is not None:
        n_out = weight._data.shape[1] if transposed else weight._data.shape[0]
        if not isinstance(bias, Tensor):
            raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
        if bias._data.shape != (n_out,) and not transposed:
            raise RuntimeError(f"{op}: expected bias of shape [{n_out}] (one per output "
                               f"channel), got {_shape(bias)}")
        if bias._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}: input type ({input.dtype}) and bias type "
                               f"({bias.dtype}) should be the same")
    return nd == nsp + 2


def _check_positive(op, what, vals, minimum):
    if any(v < minimum for v in vals):
        word = "positive" if minimum == 1 else "non-negative"
        raise RuntimeError(f"{op}: {what} should be {word}, got {list(vals)}")


def _conv2d(input, weight, bias, stride, padding, dilation, groups, op, nsp=2):
    """Shared body of conv1d/conv2d and the Conv modules (``op`` names the caller)."""
    if type(input) is not Tensor and _fusion.is_watched(input):
        with _fusion.quiet():  # only reads its input: must not compute its pending convs
            return _conv2d(input, weight, bias, stride, padding, dilation, groups, op, nsp)
    if _amp.ANY_ACTIVE:
        input, weight, bias = _amp.cast_inputs(f"conv{nsp}d", input, weight, bias)
    batched = _check_common(op, input, weight, bias, nsp, False)
    k = tuple(weight._data.shape[2:])
    stride = _ntuple(stride, nsp, "stride", op)
    dilation = _ntuple(dilation, nsp, "dilation", op)
    _check_positive(op, "stride", stride, 1)
    _check_positive(op, "dilation", dilation, 1)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive integer, got {groups!r}")
    groups = int(groups)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nsp
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={list(stride)})")
            tot = [d * (kk - 1) for d, kk in zip(dilation, k)]
            pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                             "'valid', 'same'")
    else:
        p = _ntuple(padding, nsp, "padding", op)
        _check_positive(op, "padding", p, 0)
        pads = tuple((v, v) for v in p)
    x = input if batched else input.unsqueeze(0)
    c = x._data.shape[1]
    o, cg = weight._data.shape[:2]
    if o % groups:
        raise RuntimeError(f"{op}: out_channels ({o}, weight of shape {_shape(weight)}) must "
                           f"be divisible by groups={groups}")
    if cg * groups != c:
        raise RuntimeError(f"{op}: expected input with {cg * groups} channels (weight of shape "
                           f"{_shape(weight)}, groups={groups}), got {c} (input shape "
                           f"{_shape(input)})")
    sp = x._data.shape[2:]
    padded = [s + lo + hi for s, (lo, hi) in zip(sp, pads)]
    eff = [d * (kk - 1) + 1 for d, kk in zip(dilation, k)]
    if any(pd < e for pd, e in zip(padded, eff)):
        raise RuntimeError(f"{op}: calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater "
                           f"than actual input size (input shape {_shape(input)})")
    if nsp == 1:  # through the 2-D path: a height-1 image
        x = x.unsqueeze(2)
        weight = weight.unsqueeze(2)
        geom = _Geom((1,) + k, (1,) + stride, (1,) + dilation, ((0, 0),) + pads, groups)
    else:
        geom = _Geom(k, stride, dilation, pads, groups)
        if batched and _fusion.ENABLED and not _amp.ANY_ACTIVE:
            y = _fusion.pending_conv(x, weight, bias, geom)  # eval fusion, ops.conv_fusion
            if y is not None:
                return y
    y = Conv.apply(x, weight, bias, geom)
    if nsp == 1:
        y = y.squeeze(2)
    return y if batched else y.squeeze(0)


def _conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation,
                      op, nsp=2):
    """Shared body of conv_transpose1d/2d and the ConvTranspose modules."""
    if _amp.ANY_ACTIVE:
        input, weight, bias = _amp.cast_inputs(f"conv_transpose{nsp}d", input, weight, bias)
    batched = _check_common(op, input, weight, bias, nsp, True)
    k = tuple(weight._data.shape[2:])
    stride = _ntuple(stride, nsp, "stride", op)
    dilation = _ntuple(dilation, nsp, "dilation", op)
    padding = _ntuple(padding, nsp, "padding", op)
    opad = _ntuple(output_padding, nsp, "output_padding", op)
    _check_positive(op, "stride", stride, 1)
    _check_positive(op, "dilation", dilation, 1)
    _check_positive(op, "padding", padding, 0)
    _check_positive(op, "output_padding", opad, 0)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive integer, got {groups!r}")
    groups = int(groups)
    for op_, s, d in zip(opad, stride, dilation):
        if op_ >= s and op_ >= d:
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                               f"dilation, but got output_padding={list(opad)}, "
                               f"stride={list(stride)}, dilation={list(dilation)}")
    x = input if batched else input.unsqueeze(0)
    c = x._data.shape[1]
    cin, cog = weight._data.shape[:2]
    if cin != c:
        raise RuntimeError(f"{op}: expected input with {cin} channels (weight of shape "
                           f"{_shape(weight)}), got {c} (input shape {_shape(input)})")
    if cin % groups:
        raise RuntimeError(f"{op}: in_channels ({cin}, weight of shape {_shape(weight)}) must "
                           f"be divisible by groups={groups}")
    cout = cog * groups
    if bias is not None and bias._data.shape != (cout,):
        raise RuntimeError(f"{op}: expected bias of shape [{cout}] (one per output channel), "
                           f"got {_shape(bias)}")
    sp = x._data.shape[2:]
    out = [(n - 1) * s - 2 * p + d * (kk - 1) + op_ + 1
           for n, s, p, d, kk, op_ in zip(sp, stride, padding, dilation, k, opad)]
    if any(v <= 0 for v in out):
        raise RuntimeError(f"{op}: the output size {out} is too small (input shape "
                           f"{_shape(input)}, kernel {list(k)}, stride {list(stride)}, padding "
                           f"{list(padding)})")
    pads = tuple((p, p) for p in padding)
    if nsp == 1:
        x = x.unsqueeze(2)
        weight = weight.unsqueeze(2)
        geom = _Geom((1,) + k, (1,) + stride, (1,) + dilation, ((0, 0),) + pads, groups)
        out = [1] + out
    else:
        geom = _Geom(k, stride, dilation, pads, groups)
    y = ConvInputGrad.apply(x, weight, bias, geom, tuple(out))
    if nsp == 1:
        y = y.squeeze(2)
    return y if batched else y.squeeze(0)


# ====================================================================== public functions


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) over an (N, C, H, W) input.

    ``out[n, o] = bias[o] + sum_c weight[o, c] (*) input[n, g(o)*C/groups + c]``.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in / groups, kH, kW).
        bias: optional (C_out,).
        stride, dilation: int or (sH, sW).
        padding: int, (pH, pW), 'valid' (none) or 'same' (output size = input size; stride
            1 only; an odd total goes to the bottom/right, as PyTorch).
        groups: split input and output channels into this many independent groups
            (``groups == C_in`` is a depthwise conv).

    Returns (N, C_out, H_out, W_out) with ``H_out = (H + 2p - d(k-1) - 1) // s + 1``.

    Example::

        >>> F.conv2d(ktrain.randn(8, 3, 32, 32), ktrain.randn(16, 3, 3, 3), padding=1).shape
        ktrain.Size([8, 16, 32, 32])
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv2d")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over an (N, C_in, L) input with weight (C_out, C_in / groups, k).

    Same arguments as :func:`conv2d` with one spatial dim (computed by the 2-D path).
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv1d", 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """2-D transposed convolution (the adjoint of conv2d in its input; "deconvolution").

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_in, C_out / groups, kH, kW).
        bias: optional (C_out,).
        stride, padding, dilation: those of the conv this one transposes.
        output_padding: extra size added to one side of each output dim (smaller than
            stride or dilation), to pick among the input sizes a strided conv maps to the
            same output size.

    Returns (N, C_out, H_out, W_out) with
    ``H_out = (H - 1) s - 2p + d(k - 1) + output_padding + 1``.
    """
    return _conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, "conv_transpose2d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """1-D transposed convolution: input (N, C_in, L), weight (C_in, C_out / groups, k)."""
    return _conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, "conv_transpose1d", 1)
