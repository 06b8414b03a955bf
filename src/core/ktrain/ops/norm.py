"""The fused normalisation op ``_Norm`` behind ``F.batch_norm``, ``F.instance_norm``,
``F.layer_norm`` and ``F.group_norm`` (the wrappers, with PyTorch's checks and running
statistics, are in ``nn.functional.normalization``).

The four norms are one op on a view of the input in which the statistics axes and the
parameter axes are explicit:

* batch norm  ``(N, C, S)``, statistics over (0, 2), weight ``(1, C, 1)``;
* instance norm ``(N, C, S)``, statistics over (2,), weight ``(1, C, 1)``;
* layer norm ``(M, K)``, statistics over (1,), weight ``(K,)``;
* group norm ``(N, G, C/G, S)``, statistics over (2, 3), weight ``(1, G, C/G, 1)``.

Forward takes two passes (mean, then the variance of the centred data) and keeps only
the input, mean and 1/std; backward is the closed form
``dx = invstd * (dxh - mean(dxh) - xhat * mean(dxh * xhat))`` with ``dxh = dy * w``.
On the CPU both run over blocks of rows that fit in cache, so the chain of array
operations does not stream every intermediate through memory. Under ``create_graph``
the same formula is built from ktrain ops (recomputing the statistics), so second
derivatives are exact.
"""
from __future__ import annotations

import numpy as np

from .. import _fast
from .._backend import array_module
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ._util import unbroadcast

__all__: list = []  # op classes only; the public functions live in nn.functional.normalization


def _prod(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


# elements per block of rows (see ``ops.activation.blocked``); norms chain fewer
# operations per block than activations, so a larger block pays less per-call overhead
_BLOCK = 1 << 16


def _row_blocks(x, axes):
    """Slices of axis 0 of about ``_BLOCK`` elements each, so that the chain of array
    operations on one block stays in cache (one slice covering everything on the GPU, for
    small inputs, or when the statistics run along axis 0 and the caller can't split)."""
    n0 = x.shape[0] if x.ndim else 1
    if type(x) is not np.ndarray or x.size < 4 * _BLOCK or n0 < 2:
        return [slice(None)]
    step = max(1, _BLOCK // max(x.size // n0, 1))
    if step >= n0:
        return [slice(None)]
    return [slice(i, i + step) for i in range(0, n0, step)]


_LETTERS = "abcdefghijklmnop"


def _sum_prod(a, b, axes):
    """sum over ``axes`` of ``a * b`` (keepdims), without the product temporary on the CPU."""
    if type(a) is np.ndarray and a.ndim <= len(_LETTERS):
        sub = _LETTERS[:a.ndim]
        out = "".join(c for i, c in enumerate(sub) if i not in axes)
        r = np.einsum(f"{sub},{sub}->{out}", a, b)
        return r.reshape(tuple(1 if i in axes else s for i, s in enumerate(a.shape)))
    return (a * b).sum(axis=axes, keepdims=True)


class _Norm(Op):
    """``(x - mean_A x) / sqrt(var_A x + eps) * w + b`` with statistics over axes ``A``.

    ``w``/``b`` (or None) broadcast against ``x`` and have size 1 along axis 0. ``stats``,
    when a list, receives the (mean, biased variance) arrays in keepdim shape (for running
    statistics). On the CPU the work runs in blocks of rows (axis 0) that fit in cache;
    when the statistics include axis 0 (batch norm) they are accumulated over the blocks
    first. Backward recomputes the normalised input block by block from x, mean, invstd.
    """

    @staticmethod
    def forward(ctx, x, w, b, axes, eps, stats=None):
        X, W, _ = ctx.inputs
        m = _prod(x.shape, axes)
        xp = array_module(x)
        kind = _fast_kind(x, w, b, axes)
        if kind == "bn":
            y, mean, var, invstd = _bn_forward_fast(x, w, b, eps)
        elif kind == "ln":
            y, mean, var, invstd = _ln_forward_fast(x, w, b, eps)
        elif 0 in axes:  # statistics across the blocks: mean, then the centred sum of squares
            blocks = _row_blocks(x, axes)
            y = xp.empty_like(x)
            mean = x.mean(axis=axes, keepdims=True)
            var = None
            for sl in blocks:
                xc = x[sl] - mean
                part = _sum_prod(xc, xc, axes)
                var = part if var is None else var + part
            var /= m
            invstd = 1.0 / xp.sqrt(var + eps)
            for sl in blocks:
                _affine_into(y[sl], x[sl], mean, invstd, w, b)
        else:
            blocks = _row_blocks(x, axes)
            y = xp.empty_like(x)
            kshape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
            mean = xp.empty(kshape, x.dtype)
            var = xp.empty(kshape, x.dtype)
            invstd = xp.empty(kshape, x.dtype)
            for sl in blocks:
                xb = x[sl]
                mb = xb.mean(axis=axes, keepdims=True)
                xc = xb - mb
                vb = _sum_prod(xc, xc, axes)
                vb /= m
                ib = 1.0 / xp.sqrt(vb + eps)
                mean[sl], var[sl], invstd[sl] = mb, vb, ib
                xc *= ib
                if w is not None:
                    xp.multiply(xc, w, out=y[sl])
                    if b is not None:
                        y[sl] += b
                elif b is not None:
                    xp.add(xc, b, out=y[sl])
                else:
                    y[sl] = xc
        if stats is not None:
            stats.append((mean, var))
        if any(e is not None for e in ctx._edges):
            ctx.save_for_backward(X, W)
            ctx.arrs = (mean, invstd)
            ctx.meta = (axes, eps, m, None if w is None else w.shape,
                        None if b is None else b.shape)
            ctx.fast = kind
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        mean, invstd = ctx.arrs
        axes, eps, m, wshape, bshape = ctx.meta
        e = ctx._edges
        if STATE.enabled:
            return _norm_backward_graph(g, x, w, axes, eps, e, wshape, bshape)
        kind = getattr(ctx, "fast", None)
        if kind is not None and type(g._data) is np.ndarray and g._data.dtype == x._data.dtype:
            fn = _bn_backward_fast if kind == "bn" else _ln_backward_fast
            gx, gw, gb = fn(g._data, x._data, None if w is None else w._data, mean, invstd,
                            m, e)
            return tuple(None if a is None else Tensor._make(a) for a in (gx, gw, gb))
        gd, xd = g._data, x._data
        xp = array_module(gd)
        nd = gd.ndim
        wd = None if w is None else w._data
        # axes along which the weight is constant (it broadcasts there)
        wflat = set(range(nd)) if wd is None else \
            {i for i in range(nd) if i < nd - wd.ndim or wd.shape[i - (nd - wd.ndim)] == 1}
        blocks = _row_blocks(gd, axes)
        gx = xp.empty_like(gd) if e[0] is not None else None
        gw = gb = None
        inv_m = 1.0 / m

        def rows(a, sl):  # per-row statistics follow the block; global ones don't
            return a if a.shape[0] == 1 else a[sl]

        if set(axes) <= wflat:  # batch / instance norm: dxh's statistics are w * g's
            if 0 in axes:  # the sums run over every block before any gradient is known
                s1 = s2 = None
                for sl in blocks:
                    gb_, xh = gd[sl], (xd[sl] - mean) * invstd
                    p1, p2 = gb_.sum(axis=axes, keepdims=True), _sum_prod(gb_, xh, axes)
                    s1 = p1 if s1 is None else s1 + p1
                    s2 = p2 if s2 is None else s2 + p2
                k = invstd if wd is None else invstd * wd
                if gx is not None:
                    for sl in blocks:
                        t = (xd[sl] - mean) * (invstd * (s2 * inv_m))
                        t += s1 * inv_m
                        np_sub = xp.subtract(gd[sl], t, out=t)
                        xp.multiply(np_sub, k, out=gx[sl])
                s1_all, s2_all = s1, s2
            else:
                s1_all = s2_all = None
                for sl in blocks:
                    gb_ = gd[sl]
                    ib = rows(invstd, sl)
                    xh = (xd[sl] - rows(mean, sl)) * ib
                    s1 = gb_.sum(axis=axes, keepdims=True)
                    s2 = _sum_prod(gb_, xh, axes)
                    if gx is not None:
                        xh *= s2 * inv_m
                        xh += s1 * inv_m
                        xp.subtract(gb_, xh, out=xh)
                        xp.multiply(xh, ib if wd is None else ib * wd, out=gx[sl])
                    p1, p2 = s1.sum(axis=0, keepdims=True), s2.sum(axis=0, keepdims=True)
                    s1_all = p1 if s1_all is None else s1_all + p1
                    s2_all = p2 if s2_all is None else s2_all + p2
            if e[1] is not None:
                gw = Tensor._make(_sum_to(s2_all, wshape))
            if e[2] is not None:
                gb = Tensor._make(_sum_to(s1_all, bshape))
            return (None if gx is None else Tensor._make(gx)), gw, gb
        # layer / group norm: the weight varies inside a normalised group
        if 0 in axes:
            blocks = [slice(None)]
        pw = pb = None
        # the parameters' reduction axes: where they broadcast (e.g. rows for layer norm)
        paxes = tuple(i for i in range(nd) if i < nd - len(wshape or bshape)
                      or (wshape or bshape)[i - (nd - len(wshape or bshape))] == 1)
        for sl in blocks:
            gb_ = gd[sl]
            ib = rows(invstd, sl)
            xh = xd[sl] - rows(mean, sl)
            xh *= ib
            if e[1] is not None:
                part = _sum_prod(gb_, xh, paxes)
                pw = part if pw is None else pw + part
            if e[2] is not None:
                part = gb_.sum(axis=paxes, keepdims=True)
                pb = part if pb is None else pb + part
            if gx is not None:
                gxh = gb_ * wd if wd is not None else gb_
                s1 = gxh.sum(axis=axes, keepdims=True)
                s2 = _sum_prod(gxh, xh, axes)
                out = gx[sl]
                xp.multiply(gxh, ib, out=out)
                xh *= s2 * (ib * inv_m)
                out -= xh
                out -= s1 * (ib * inv_m)
        if pw is not None:
            pw = pw.reshape(wshape)
        if pb is not None:
            pb = pb.reshape(bshape)
        return (None if gx is None else Tensor._make(gx),
                None if pw is None else Tensor._make(pw),
                None if pb is None else Tensor._make(pb))


# ---------------------------------------------------------------------- compiled kernels
# (``ops._norm_kernels``; the numpy code above is the reference the tests compare against)

# elements: below this numpy's passes are as fast as a kernel launch (measured: a
# 64x16x8x8 batch norm is ~2x faster as a kernel, 16x16x4x4 is not)
FAST_MIN = 1 << 13


def _fast_kind(x, w, b, axes):
    """'bn' (batch norm over (N, C, S)), 'ln' (layer norm over (M, K)) when the compiled
    kernels take this call, else None."""
    if x.dtype.kind != "f" or x.dtype.itemsize < 4 or not _fast.use(x, min_size=FAST_MIN):
        return None
    for p in (w, b):
        if p is not None and (type(p) is not np.ndarray or p.dtype != x.dtype):
            return None
    if axes == (0, 2) and x.ndim == 3:
        c = x.shape[1]
        if all(p is None or p.shape == (1, c, 1) for p in (w, b)):
            return "bn"
    elif axes == (1,) and x.ndim == 2:
        k = x.shape[1]
        if all(p is None or p.shape == (k,) for p in (w, b)):
            return "ln"
    return None


def _bn_forward_fast(x, w, b, eps):
    from . import _norm_kernels as K

    c = x.shape[1]
    x = np.ascontiguousarray(x)
    mean = np.empty(c, x.dtype)
    var = np.empty(c, x.dtype)
    K.bn_stats(x, mean, var)
    invstd = (1.0 / np.sqrt(var.astype(np.float64) + eps)).astype(x.dtype)
    scale = invstd if w is None else invstd * w.reshape(c)
    shift = np.zeros(c, x.dtype) if b is None else np.ascontiguousarray(b.reshape(c))
    y = np.empty(x.shape, x.dtype)
    K.bn_apply(x, mean, scale, shift, y)
    ks = (1, c, 1)
    return y, mean.reshape(ks), var.reshape(ks), invstd.reshape(ks)


def _bn_backward_fast(gd, xd, wd, mean, invstd, m, e):
    """dx, dw, db of batch norm: one pass for the per-channel sums, one for dx."""
    from . import _norm_kernels as K

    c = xd.shape[1]
    gd = np.ascontiguousarray(gd)
    xd = np.ascontiguousarray(xd)
    mu = mean.reshape(c)
    s1 = np.empty(c, np.float64)
    s2 = np.empty(c, np.float64)
    K.bn_grad_sums(gd, xd, mu, s1, s2)
    inv = invstd.reshape(c).astype(np.float64)
    gx = gw = gb = None
    if e[0] is not None:
        k = inv if wd is None else inv * wd.reshape(c)
        dt = xd.dtype
        ka = k.astype(dt)
        kb = (-k * inv * inv * s2 / m).astype(dt)
        kc = (-k * s1 / m).astype(dt)
        gx = np.empty(xd.shape, dt)
        K.bn_grad_input(gd, xd, mu, ka, kb, kc, gx)
    if e[1] is not None:
        gw = (inv * s2).astype(xd.dtype).reshape(1, c, 1)
    if e[2] is not None:
        gb = s1.astype(xd.dtype).reshape(1, c, 1)
    return gx, gw, gb


def _ln_forward_fast(x, w, b, eps):
    from . import _norm_kernels as K

    x = np.ascontiguousarray(x)
    rows = x.shape[0]
    none = np.empty(0, x.dtype)
    mean = np.empty(rows, x.dtype)
    invstd = np.empty(rows, x.dtype)
    y = np.empty(x.shape, x.dtype)
    K.ln_forward(x, none if w is None else np.ascontiguousarray(w),
                 none if b is None else np.ascontiguousarray(b), float(eps), y, mean, invstd)
    inv64 = invstd.astype(np.float64)
    var = (1.0 / (inv64 * inv64) - eps).astype(x.dtype)  # only for ``stats`` (never asked)
    return y, mean.reshape(rows, 1), var.reshape(rows, 1), invstd.reshape(rows, 1)


def _ln_backward_fast(gd, xd, wd, mean, invstd, m, e):
    from . import _norm_kernels as K

    gd = np.ascontiguousarray(gd)
    xd = np.ascontiguousarray(xd)
    rows, k = xd.shape
    mu = mean.reshape(rows)
    inv = invstd.reshape(rows)
    gx = gw = gb = None
    if e[0] is not None:
        gx = np.empty(xd.shape, xd.dtype)
        K.ln_grad_input(gd, xd, np.empty(0, xd.dtype) if wd is None else
                        np.ascontiguousarray(wd), mu, inv, gx)
    if e[1] is not None or e[2] is not None:
        nchunks = max(1, min(rows, 4 * _fast_threads()))
        pw = np.empty((nchunks, k), np.float64)
        pb = np.empty((nchunks, k), np.float64)
        K.ln_grad_params(gd, xd, mu, inv, nchunks, pw, pb)
        if e[1] is not None:
            gw = pw.sum(axis=0).astype(xd.dtype)
        if e[2] is not None:
            gb = pb.sum(axis=0).astype(xd.dtype)
    return gx, gw, gb


def _fast_threads():
    n = _fast._State.threads
    return 2 if n is None else max(1, int(n))


class _EvalAffine(Op):
    """Evaluation-mode batch norm with fixed statistics: ``(x - mean) / sqrt(var + eps) * w
    + b`` per channel of ``x`` (N, C, *). Inputs x, mean, var (C,), weight and bias (C,) or
    None; ``eps``. The statistics are constants (no gradient, as PyTorch's running stats);
    the forward is one compiled pass when the kernels take it, numpy's otherwise."""

    @staticmethod
    def compute(x, mean, var, w, b, eps):
        c = x.shape[1]
        xp = array_module(x)
        inv = 1.0 / xp.sqrt(var.reshape(c).astype(np.float64) + eps)
        scale = inv if w is None else inv * w.reshape(c)
        shift = -mean.reshape(c) * scale
        if b is not None:
            shift = shift + b.reshape(c)
        scale, shift = scale.astype(x.dtype), shift.astype(x.dtype)
        if x.dtype.kind == "f" and x.dtype.itemsize >= 4 and _fast.use(x, min_size=FAST_MIN):
            from . import _norm_kernels as K

            x3 = np.ascontiguousarray(x).reshape(x.shape[0], c, -1)
            y = np.empty(x3.shape, x.dtype)
            K.channel_affine(x3, scale, shift, y)
            return y.reshape(x.shape)
        shape = (1, c) + (1,) * (x.ndim - 2)
        y = x * scale.reshape(shape)
        y += shift.reshape(shape)
        return y

    @staticmethod
    def forward(ctx, x, mean, var, w, b, eps):
        ctx.eps = eps
        ctx.save_for_backward(*ctx.inputs[:5])
        return _EvalAffine.compute(x, mean, var, w, b, eps)

    @staticmethod
    def backward(ctx, g):
        x, mean, var, w, b = ctx.saved_tensors
        c = x.shape[1]
        shape = (1, c) + (1,) * (x.ndim - 2)
        red = (0,) + tuple(range(2, x.ndim))
        inv = (var.detach() + ctx.eps).rsqrt().reshape(shape)
        e = ctx._edges
        gx = g * (inv if w is None else inv * w.reshape(shape)) if e[0] is not None else None
        gw = (g * ((x - mean.detach().reshape(shape)) * inv)).sum(red).reshape(w.shape) \
            if w is not None and e[3] is not None else None
        gb = g.sum(red).reshape(b.shape) if b is not None and e[4] is not None else None
        return gx, None, None, gw, gb, None


def _affine_into(out, x, mean, invstd, w, b):
    """out = (x - mean) * invstd * w + b, written into ``out``."""
    xp = array_module(out)
    xp.subtract(x, mean, out=out)
    out *= invstd
    if w is not None:
        out *= w
    if b is not None:
        out += b


def _sum_to(a, shape):
    """Sum array ``a`` down to the broadcastable ``shape``."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and a.shape[i + lead] != 1)
    if axes:
        a = a.sum(axis=axes)
    return a.reshape(shape)


def _norm_backward_graph(g, x, w, axes, eps, e, wshape, bshape):
    """The closed-form gradient with ktrain ops (differentiable again)."""
    mean = x.mean(axes, keepdim=True)
    xc = x - mean
    invstd = ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = xc * invstd
    gx = gw = gb = None
    if e[0] is not None:
        gxh = g * w if w is not None else g
        gx = invstd * (gxh - gxh.mean(axes, keepdim=True)
                       - xhat * (gxh * xhat).mean(axes, keepdim=True))
    if e[1] is not None:
        gw = unbroadcast(g * xhat, tuple(wshape))
    if e[2] is not None:
        gb = unbroadcast(g, tuple(bshape))
    return gx, gw, gb
