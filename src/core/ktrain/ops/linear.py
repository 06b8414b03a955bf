"""The affine op ``_Linear`` behind ``F.linear`` (and so ``nn.Linear``): ``x @ w.T + b``
as one GEMM each way, the bias added in place. The wrappers (``F.linear`` with its
checks, ``F.bilinear``) are in ``nn.functional.linear``.
"""
from __future__ import annotations

from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE

__all__: list = []  # op classes only; the public functions live in nn.functional.linear


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
