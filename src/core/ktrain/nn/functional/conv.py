"""Convolutions: ``conv1d``/``conv2d`` and their transposes, as im2col plus one GEMM.

Layout, chosen by measurement on the 2-core CPU (``benchmarks/bench_conv.py``):

* im2col copies the strided windows of the zero-padded input into ``col`` of shape
  ``(C, kh, kw, N, Ho, Wo)`` (one copy through an ``as_strided`` view whose inner loop
  runs along output rows: it goes at memcpy speed for 32-wide rows). As a matrix
  ``(C*kh*kw, N*Ho*Wo)`` it is the right operand of one GEMM ``W (O, K) @ col``; groups
  are a batched matmul over ``(g, ...)`` views. The GEMM gives ``(O, N, Ho, Wo)``; the
  copy to NCHW (small: O rows instead of K) is fused with the bias add.
* ``col`` is kept for the weight gradient ``col (K, M) @ gy.T (M, O)``, one GEMM with
  no recomputation (this orientation ran up to 2.4x faster than ``gy @ col.T`` on one
  thread for 16 channels); its memory goes back to a pool once backward is done.
* The input gradient of a stride-1 conv is itself a conv (of the padded output gradient
  with the flipped kernel): im2col + GEMM, 10-35% faster than ``W.T @ gy`` followed by
  col2im. Strided convs use col2im: kh*kw strided adds into a zeroed padded buffer
  (never ``add.at``, never a loop over batch or pixels).
* 1x1 stride-1 convs skip im2col: a matmul per batch item over ``(N, C, H*W)``.
* Work arrays come from ``_POOL``: freed big arrays go back to the OS, and faulting
  the same pages in again every step cost ~15% of a conv stack's training step.

The three linear maps (conv, its adjoint in the input, its adjoint in the weight) are
three Ops whose backward rules are written with each other, so gradients of any order
work; the first-order backward takes a fused path over raw arrays that shares the
transposed output gradient between the weight and bias gradients and the col2im GEMM.
"""
from __future__ import annotations

import sys

import numpy as np

from ..._backend import array_module
from ..._tensor import Tensor
from ...amp import autocast_mode as _amp
from ...autograd.function import Op
from ...autograd.grad_mode import STATE

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

_getrefcount = sys.getrefcount


# ====================================================================== buffer pool


class _BufferPool:
    """Recycles large numpy work arrays by exact (shape, dtype).

    Big allocations go back to the OS when freed (glibc maps them), so each training
    step would fault the same pages in again; the im2col buffers of a network are the
    same every step, so keeping them pays. ``give`` only takes an array nobody else
    references (checked with the refcount, so a live view keeps it out of the pool).
    """

    def __init__(self, max_bytes=1 << 30, min_bytes=1 << 18):
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        self._free: dict = {}
        self._bytes = 0
        # the count ``give`` sees for an array only its caller holds, measured through the
        # same call path (Python versions differ in how they count argument references)
        self._baseline = self._calibrate()

    def _calibrate(self):
        a = np.empty(1)  # held by this frame only, as a caller of ``give`` holds its array
        return self._probe(a)

    def _probe(self, a):  # the shape of ``give``'s call path
        return self._refs(a)

    @staticmethod
    def _refs(a):
        return _getrefcount(a)

    def take(self, xp, shape, dtype):
        if xp is not np:
            return xp.empty(shape, dtype)
        lst = self._free.get((tuple(shape), np.dtype(dtype)))
        if lst:
            a = lst.pop()
            self._bytes -= a.nbytes
            return a
        return np.empty(shape, dtype)

    def give(self, a):
        """Return ``a`` (the caller drops its one reference right after)."""
        if (type(a) is not np.ndarray or a.base is not None or a.nbytes < self.min_bytes
                or self._bytes + a.nbytes > self.max_bytes or self._refs(a) > self._baseline):
            return
        self._free.setdefault((a.shape, a.dtype), []).append(a)
        self._bytes += a.nbytes

    def clear(self):
        self._free.clear()
        self._bytes = 0


_POOL = _BufferPool()


# ====================================================================== geometry


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


def _out_len(n, k, s, lo, hi, d):
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


class _Geom(tuple):
    """Conv geometry: kernel (kh, kw), stride, dilation, pads ((top, bottom), (left, right)),
    groups. A tuple, so it is hashable and cheap to pass around."""

    __slots__ = ()

    def __new__(cls, k, s, d, pads, g):
        return tuple.__new__(cls, (k, s, d, pads, g))

    k = property(lambda self: self[0])
    s = property(lambda self: self[1])
    d = property(lambda self: self[2])
    pads = property(lambda self: self[3])
    g = property(lambda self: self[4])

    def out_hw(self, h, w):
        (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)), _ = self
        return _out_len(h, kh, sh, pt, pb, dh), _out_len(w, kw, sw, pl, pr, dw)

    def fit(self, x_hw, y_hw):
        """This geometry with the bottom/right padding trimmed so that an input of size
        ``x_hw`` gives exactly ``y_hw`` (a transposed conv with output_padding makes
        inputs one conv maps to a larger output)."""
        (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)), g = self
        if self.out_hw(*x_hw) == tuple(y_hw):
            return self
        pb = (y_hw[0] - 1) * sh + dh * (kh - 1) + 1 - x_hw[0] - pt
        pr = (y_hw[1] - 1) * sw + dw * (kw - 1) + 1 - x_hw[1] - pl
        return _Geom(self[0], self[1], self[2], ((pt, pb), (pl, pr)), g)

    @property
    def pointwise(self):
        """1x1 kernel, stride 1, no padding: a plain matmul."""
        return self[0] == (1, 1) and self[1] == (1, 1) and self[3] == ((0, 0), (0, 0))


# ====================================================================== array kernels


def _pad(xp, x, pads):
    """Zero-pad the last two dims of ``x`` by ((t, b), (l, r)); negative widths crop."""
    (pt, pb), (pl, pr) = pads
    if pt < 0 or pb < 0 or pl < 0 or pr < 0:
        h, w = x.shape[2:]
        x = x[:, :, max(-pt, 0):h - max(-pb, 0), max(-pl, 0):w - max(-pr, 0)]
        pt, pb, pl, pr = max(pt, 0), max(pb, 0), max(pl, 0), max(pr, 0)
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    hp, wp = h + pt + pb, w + pl + pr
    out = _POOL.take(xp, (n, c, hp, wp), x.dtype)
    # zero the borders only: the interior is overwritten right after
    out[:, :, :pt] = 0
    out[:, :, pt + h:] = 0
    out[:, :, pt:pt + h, :pl] = 0
    out[:, :, pt:pt + h, pl + w:] = 0
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


def _im2col(xp, x, geom, ho, wo):
    """``col[c, i, j, n, oh, ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]`` (pool buffer)."""
    (kh, kw), (sh, sw), (dh, dw), pads, _ = geom
    xpd = _pad(xp, x, pads)
    n, c = x.shape[:2]
    sn, sc, s_h, s_w = xpd.strides
    view = xp.lib.stride_tricks.as_strided(
        xpd, (c, kh, kw, n, ho, wo), (sc, dh * s_h, dw * s_w, sn, sh * s_h, sw * s_w))
    col = _POOL.take(xp, (c, kh, kw, n, ho, wo), x.dtype)
    col[...] = view
    del view
    if xpd is not x:
        _POOL.give(xpd)
    return col


def _col2im(xp, dcol, x_shape, geom):
    """The adjoint of ``_im2col``: kh*kw strided adds into a zeroed padded buffer."""
    (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)), _ = geom
    n, c, h, w = x_shape
    ho, wo = dcol.shape[4:]
    hs, ws = sh * (ho - 1) + 1, sw * (wo - 1) + 1
    hp = max(h + pt + pb, pt + h, dh * (kh - 1) + hs)
    wp = max(w + pl + pr, pl + w, dw * (kw - 1) + ws)
    # channel-major buffer: the adds then read and write in the same order
    buf = _POOL.take(xp, (c, n, hp, wp), dcol.dtype)
    buf.fill(0)
    for i in range(kh):
        for j in range(kw):
            tgt = buf[:, :, i * dh:i * dh + hs:sh, j * dw:j * dw + ws:sw]
            tgt += dcol[:, i, j]
    gx = xp.empty(x_shape, dcol.dtype)
    gx[...] = buf[:, :, pt:pt + h, pl:pl + w].transpose(1, 0, 2, 3)
    _POOL.give(buf)
    return gx


def _cast(a, dtype):
    """numpy's matmul of bfloat16 (ml_dtypes) answers in float32: back to ``dtype``."""
    return a if a.dtype == dtype else a.astype(dtype)


def _to_nchw(xp, yt, n, o, ho, wo, b):
    """(O, N*Ho*Wo) GEMM output -> contiguous (N, O, Ho, Wo), adding the bias on the way."""
    y = xp.empty((n, o, ho, wo), yt.dtype)
    src = yt.reshape(o, n, ho * wo).transpose(1, 0, 2)
    if b is None:
        y.reshape(n, o, ho * wo)[...] = src
    else:
        xp.add(src, b.reshape(o, 1), out=y.reshape(n, o, ho * wo))
    return y


def _conv_forward(x, w, b, geom, keep_col):
    """y = conv(x, w) + b; returns (y, col) where col is kept only with ``keep_col``."""
    xp = array_module(x)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    g = geom[4]
    og = o // g
    ho, wo = geom.out_hw(h, wd)
    if geom.pointwise:
        x3 = x.reshape(n, c, h * wd)
        if g == 1:
            y = xp.matmul(w.reshape(o, c), x3)
        else:
            y = xp.matmul(w.reshape(g, og, cg), x3.reshape(n, g, cg, h * wd))
        y = _cast(y, x.dtype).reshape(n, o, ho, wo)
        if b is not None:
            y += b.reshape(o, 1, 1)
        return y, None
    col = _im2col(xp, x, geom, ho, wo)
    k = cg * kh * kw
    m = n * ho * wo
    yt = _POOL.take(xp, (g, og, m), x.dtype)
    if g == 1:
        xp.matmul(w.reshape(o, k), col.reshape(k, m), out=yt[0])
    else:
        xp.matmul(w.reshape(g, og, k), col.reshape(g, k, m), out=yt)
    y = _to_nchw(xp, yt, n, o, ho, wo, b)
    _POOL.give(yt)
    del yt
    if keep_col:
        return y, col
    _POOL.give(col)
    return y, None


def _flip_weight(xp, w, g):
    """Weight of the conv that computes the stride-1 adjoint: (O, Cg, kh, kw) ->
    (C, Og, kh, kw), flipped in space and transposed within each group."""
    o, cg, kh, kw = w.shape
    og = o // g
    wf = w.reshape(g, og, cg, kh, kw).transpose(0, 2, 1, 3, 4)[:, :, :, ::-1, ::-1]
    return xp.ascontiguousarray(wf).reshape(g * cg, og, kh, kw)


def _gy_t(xp, gy, g):
    """(N, O, Ho, Wo) -> contiguous (g, Og, N*Ho*Wo) (pool buffer)."""
    n, o, ho, wo = gy.shape
    t = _POOL.take(xp, (g, o // g, n * ho * wo), gy.dtype)
    t.reshape(o, n, ho * wo)[...] = gy.reshape(n, o, ho * wo).transpose(1, 0, 2)
    return t


def _conv_input_grad(gy, w, geom, x_hw, b=None, gyt=None):
    """The adjoint of conv in its input (= conv_transpose): (N, O, Ho, Wo) -> (N, C, H, W)."""
    xp = array_module(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    g = geom[4]
    og = o // g
    c = cg * g
    h, wd = x_hw
    if geom.pointwise:
        wt = w.reshape(g, og, cg).transpose(0, 2, 1)
        gy3 = gy.reshape(n, g, og, ho * wo)
        gx = xp.matmul(wt[0] if g == 1 else wt, gy3[:, 0] if g == 1 else gy3)
        gx = _cast(gx, gy.dtype).reshape(n, c, h, wd)
        if b is not None:
            gx += b.reshape(c, 1, 1)
        return gx
    (dh, dw), ((pt, _), (pl, _)) = geom[2], geom[3]
    if geom[1] == (1, 1):
        # a stride-1 conv of the output gradient with the flipped kernel
        a, l_ = dh * (kh - 1) - pt, dw * (kw - 1) - pl
        g2 = _Geom(geom[0], (1, 1), geom[2], ((a, h - ho + pt), (l_, wd - wo + pl)), g)
        return _conv_forward(gy, _flip_weight(xp, w, g), b, g2, False)[0]
    own = gyt is None
    if own:
        gyt = _gy_t(xp, gy, g)
    k = cg * kh * kw
    m = n * ho * wo
    dcol = _POOL.take(xp, (c, kh, kw, n, ho, wo), gy.dtype)
    wt = w.reshape(g, og, k).transpose(0, 2, 1)
    if g == 1:
        xp.matmul(wt[0], gyt[0], out=dcol.reshape(k, m))
    else:
        xp.matmul(wt, gyt, out=dcol.reshape(g, k, m))
    if own:
        _POOL.give(gyt)
        del gyt
    gx = _col2im(xp, dcol, (n, c, h, wd), geom)
    _POOL.give(dcol)
    if b is not None:
        gx += b.reshape(c, 1, 1)
    return gx


def _conv_weight_grad(x, gy, geom, w_shape, col=None, gyt=None):
    """The adjoint of conv in its weight: sum over batch and pixels of gy x col."""
    xp = array_module(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w_shape
    g = geom[4]
    og = o // g
    if geom.pointwise:
        x3 = x.reshape(n, g, cg, ho * wo)
        gy3 = gy.reshape(n, g, og, ho * wo)
        gw = xp.matmul(gy3, x3.transpose(0, 1, 3, 2)).sum(0)
        return _cast(gw, gy.dtype).reshape(w_shape)
    own_col = col is None
    if own_col:
        col = _im2col(xp, x, geom, ho, wo)
    own_gyt = gyt is None
    if own_gyt:
        gyt = _gy_t(xp, gy, g)
    k = cg * kh * kw
    cm = col.reshape(g, k, n * ho * wo)
    # (K, M) @ (M, Og) then a tiny transpose: BLAS runs this shape faster than
    # (Og, M) @ (M, K) with the long dim M contracted against a transposed operand
    gw = xp.matmul(cm, gyt.transpose(0, 2, 1)).transpose(0, 2, 1)
    if own_gyt:
        _POOL.give(gyt)
    if own_col:
        del cm
        _POOL.give(col)
    return xp.ascontiguousarray(_cast(gw, gy.dtype)).reshape(w_shape)


# ====================================================================== ops


def _needs(ctx, i):
    return ctx._edges[i] is not None


class Conv(Op):
    """``y = conv2d(x, w) + b`` (N, C, H, W) -> (N, O, Ho, Wo)."""

    @staticmethod
    def compute(x, w, b, geom):
        return _conv_forward(x, w, b, geom, False)[0]

    @staticmethod
    def forward(ctx, x, w, b, geom):
        y, col = _conv_forward(x, w, b, geom, ctx._edges[1] is not None)
        ctx.col = col
        ctx.geom = geom
        xt, wt = ctx.inputs[0], ctx.inputs[1]
        ctx.save_for_backward(xt, wt)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        geom = ctx.geom
        nx, nw, nb = _needs(ctx, 0), _needs(ctx, 1), _needs(ctx, 2)
        if not STATE.enabled:  # first order: one fused pass over raw arrays
            return _fused_backward(gy._data, x._data, w._data, ctx.col, geom, nx, nw, nb)
        gx = ConvInputGrad.apply(gy, w, None, geom, x.shape[2:]) if nx else None
        gw = ConvWeightGrad.apply(x, gy, geom, w.shape) if nw else None
        gb = gy.sum((0, 2, 3)) if nb else None
        return gx, gw, gb, None

    def _release(self):
        col = self.__dict__.pop("col", None)
        super()._release()
        if col is not None:
            _POOL.give(col)


def _fused_backward(gy, x, w, col, geom, nx, nw, nb):
    xp = array_module(gy)
    g = geom[4]
    gyt = None
    if not geom.pointwise and (nw or nb or (nx and geom[1] != (1, 1))):
        gyt = _gy_t(xp, gy, g)
    gx = gw = gb = None
    if nb:
        gb = gyt.reshape(gy.shape[1], -1).sum(1) if gyt is not None else gy.sum((0, 2, 3))
        gb = Tensor._make(gb)
    if nw:
        gw = Tensor._make(_conv_weight_grad(x, gy, geom, w.shape, col, gyt))
    if nx:
        gx = Tensor._make(_conv_input_grad(gy, w, geom, x.shape[2:], None, gyt))
    if gyt is not None:
        _POOL.give(gyt)
    return gx, gw, gb, None


class ConvInputGrad(Op):
    """The adjoint of ``Conv`` in its input, ``conv_transpose2d(gy, w) + b``."""

    @staticmethod
    def compute(gy, w, b, geom, x_hw):
        return _conv_input_grad(gy, w, geom, x_hw, b)

    @staticmethod
    def forward(ctx, gy, w, b, geom, x_hw):
        ctx.geom = geom
        ctx.save_for_backward(ctx.inputs[0], ctx.inputs[1])
        return _conv_input_grad(gy, w, geom, x_hw, b)

    @staticmethod
    def backward(ctx, gg):
        gy, w = ctx.saved_tensors
        geom = ctx.geom
        a = Conv.apply(gg, w, None, geom.fit(gg.shape[2:], gy.shape[2:])) \
            if _needs(ctx, 0) else None
        bw = ConvWeightGrad.apply(gg, gy, geom, w.shape) if _needs(ctx, 1) else None
        bb = gg.sum((0, 2, 3)) if _needs(ctx, 2) else None
        return a, bw, bb, None, None


class ConvWeightGrad(Op):
    """The adjoint of ``Conv`` in its weight: (x, gy) -> gradient of shape ``w_shape``."""

    @staticmethod
    def compute(x, gy, geom, w_shape):
        return _conv_weight_grad(x, gy, geom, w_shape)

    @staticmethod
    def forward(ctx, x, gy, geom, w_shape):
        ctx.geom = geom
        ctx.save_for_backward(ctx.inputs[0], ctx.inputs[1])
        return _conv_weight_grad(x, gy, geom, w_shape)

    @staticmethod
    def backward(ctx, gg):
        x, gy = ctx.saved_tensors
        geom = ctx.geom
        a = ConvInputGrad.apply(gy, gg, None, geom, x.shape[2:]) if _needs(ctx, 0) else None
        b = Conv.apply(x, gg, None, geom.fit(x.shape[2:], gy.shape[2:])) \
            if _needs(ctx, 1) else None
        return a, b, None, None


# ====================================================================== checks


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
