"""The convolution ops: ``Conv`` and its two adjoints ``ConvInputGrad`` (the transposed
conv) and ``ConvWeightGrad``, as im2col plus one GEMM; the wrappers that check the
arguments (``conv1d``/``conv2d`` and their transposes) are in ``nn.functional.conv``.

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
* The input gradient of a stride-1 conv with O <= C is itself a conv (of the padded
  output gradient with the flipped kernel): im2col + GEMM, 10-35% faster than ``W.T @ gy``
  followed by col2im (a compiled kernel with the ``fast`` extra: ``ops._conv_kernels``).
  With O > C that im2col spans more channels than the col2im's
  columns: ``W.T @ gy`` + col2im ran 1.07-1.35x faster (MNIST example's 32 -> 64 conv:
  23.8 against 32.0 ms, 2 threads). Strided convs use col2im too: kh*kw strided adds into
  a zeroed padded buffer (never ``add.at``, never a loop over batch or pixels).
* 1x1 stride-1 convs skip im2col: a matmul per batch item over ``(N, C, H*W)``.
* Work arrays come from ``_POOL``: freed big arrays go back to the OS, and faulting
  the same pages in again every step cost ~15% of a conv stack's training step.

* Winograd F(2x2, 3x3) (``ops.winograd``: 3x3, stride 1, groups 1) is chosen per pass and
  shape by ``ktrain.backends.conv``; its forward keeps ``V`` (a ``_Saved``), not ``col``.

The three linear maps (conv, its adjoint in the input, its adjoint in the weight) are
three Ops whose backward rules are written with each other, so gradients of any order
work; the first-order backward takes a fused path over raw arrays that shares the
transposed output gradient between the weight and bias gradients and the col2im GEMM.
"""
from __future__ import annotations

import numpy as np

from . import _buffer_pool
from . import _conv_kernels as _k
from . import winograd as _wg
from .. import _fast
from .._backend import array_module
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ..backends import conv as _algo

__all__: list = []  # op classes only; the public functions live in nn.functional.conv

# the work-array pool (its own module; tests and winograd reach it as ``conv._POOL``)
_POOL = _buffer_pool._POOL
_BufferPool = _buffer_pool._BufferPool


# ====================================================================== geometry


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
    if dcol.dtype in _KERNEL_DTYPES and dcol.flags.c_contiguous and _fast.use(dcol):
        gx = xp.empty(x_shape, dcol.dtype)  # one plane per thread (ops._conv_kernels)
        _k.col2im(dcol, gx, sh, sw, dh, dw, pt, pl)
        return gx
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


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


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


def _epilogue(xp, y, scale, shift, relu):
    """In place: ``y = y * scale + shift`` per output channel, then ReLU."""
    o = y.shape[1]
    if scale is not None:
        y *= xp.asarray(scale, dtype=y.dtype).reshape(o, 1, 1)
    if shift is not None:
        y += xp.asarray(shift, dtype=y.dtype).reshape(o, 1, 1)
    if relu:
        xp.maximum(y, 0, out=y)
    return y


_Saved = _wg.Saved


def _give_saved(saved):
    if isinstance(saved, _Saved):
        saved.give_back()
    elif saved is not None:
        _POOL.give(saved)


def _wino_ok(geom, x, w):
    """Winograd applies: 3x3, stride 1, dilation 1, groups 1, pads >= 0, float32/64."""
    return (geom[0] == (3, 3) and geom[1] == (1, 1) and geom[2] == (1, 1) and geom[4] == 1
            and min(geom[3][0] + geom[3][1]) >= 0
            and x.dtype in (np.float32, np.float64) and w.dtype == x.dtype)


_choose = _algo.choose


def _wino_forward(xp, x, w, b, geom, keep, scale, shift, relu):
    return _wg.conv_forward(xp, _POOL, x, w, b, geom[3][0][0], geom[3][1][0],
                            geom.out_hw(*x.shape[2:]), keep, scale, shift, relu)


def _conv_forward(x, w, b, geom, keep_col, *, relu=False, scale=None, shift=None,
                  pass_="forward"):
    """y = conv(x, w) + b; returns (y, saved) where saved (im2col's ``col`` or a Winograd
    ``_Saved``) is kept only with ``keep_col``.

    Inference epilogue keywords, applied in this order on the output (fused into the
    Winograd output transform; one in-place pass each on the im2col path):

    * ``scale``, ``shift``: per-output-channel arrays of shape (O,) (a folded BatchNorm):
      ``y = (conv(x, w) + b) * scale + shift``;
    * ``relu``: ``y = max(y, 0)`` last.
    """
    key = (x.shape, w.shape, geom, x.dtype)

    def run(name):
        xp = array_module(x)
        if name == "winograd":
            return _wino_forward(xp, x, w, b, geom, keep_col, scale, shift, relu)
        y, col = _im2col_forward(xp, x, w, b, geom, keep_col)
        if relu or scale is not None or shift is not None:
            _epilogue(xp, y, scale, shift, relu)
        return y, col

    return _choose(pass_, key, _wino_ok(geom, x, w), run)


def _im2col_forward(xp, x, w, b, geom, keep_col):
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
    if geom[1] == (1, 1) and (o <= c or g != 1 or _algo.benchmark or _algo.forced()):
        # a stride-1 conv of the output gradient with the flipped kernel (its im2col spans
        # the O output channels: when O > C, W.T @ gy + col2im below moves less memory,
        # unless Winograd may be chosen for that conv)
        a, l_ = dh * (kh - 1) - pt, dw * (kw - 1) - pl
        g2 = _Geom(geom[0], (1, 1), geom[2], ((a, h - ho + pt), (l_, wd - wo + pl)), g)
        return _conv_forward(gy, _flip_weight(xp, w, g), b, g2, False, pass_="input_grad")[0]
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


def _wino_weight_grad(xp, x, gy, geom, saved):
    return _wg.weight_grad(xp, _POOL, x, gy, geom[3][0][0], geom[3][1][0], saved)


def _conv_weight_grad(x, gy, geom, w_shape, col=None, gyt=None):
    """The adjoint of conv in its weight: sum over batch and pixels of gy x col (or with
    a Winograd forward's ``_Saved``: the Winograd weight gradient)."""
    xp = array_module(gy)
    saved = col if isinstance(col, _Saved) else None
    if (col is None or saved is not None) and not geom.pointwise:
        # chosen on its own (a Winograd forward's V only saves the input transform)
        key = (x.shape, tuple(w_shape), geom, gy.dtype)

        def run(name):
            if name == "winograd":
                return _wino_weight_grad(xp, x, gy, geom, saved)
            return _im2col_weight_grad(xp, x, gy, geom, w_shape, None, gyt)

        w_ok = _wino_ok(geom, gy, gy) and tuple(w_shape[2:]) == (3, 3)
        return _choose("weight_grad", key, w_ok, run)
    return _im2col_weight_grad(xp, x, gy, geom, w_shape, col, gyt)


def _im2col_weight_grad(xp, x, gy, geom, w_shape, col, gyt):
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
        _give_saved(col)
        del col


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
