"""The pooling ops: max pooling (with PyTorch's flat indices), average pooling and its
adjoint, adaptive max pooling, and the flat scatter/gather pair behind max pooling's
backward and ``max_unpool``. The wrappers (``F.max_pool2d``, ``F.avg_pool1d``,
``F.adaptive_avg_pool2d`` ...) are in ``nn.functional.pool``.

Windows are strided views of the (padded) input; a pooling op loops over the kh*kw
kernel offsets, each step one whole-tensor operation (never a loop over pixels). Max
pooling finds which offset won (the first one on ties, NaN wins, as PyTorch) and turns it
into PyTorch's flat per-plane indices; its backward scatters the gradient to those
positions (one fancy assignment for disjoint windows, a ``bincount`` scatter-add where
windows overlap) and that scatter's own backward is the matching gather, so
higher-order gradients work. Average pooling's backward spreads ``g / divisor`` through
the same strided windows. Adaptive average pooling is separable (``P_h @ x @ P_w.T``
with the averaging matrices of ``_adaptive_matrix``, applied by ``ops.resample.Separable``).
"""
from __future__ import annotations

import numpy as np

from .. import _fast
from .._backend import array_module
from ..autograd.function import Op

__all__: list = []  # op classes only; the public functions live in nn.functional.pool


# ====================================================================== geometry


def _pool_len(n, k, s, p, d, ceil):
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:  # the last window must start inside the input
        o -= 1
    return o


class _PoolGeom(tuple):
    """(kernel, stride, padding, dilation, out_hw, in_hw), each a pair."""

    __slots__ = ()

    def window(self, a, i, j):
        """The view of padded ``a`` seen by kernel offset (i, j) at every output position."""
        (kh, kw), (sh, sw), _, (dh, dw), (ho, wo), _ = self
        return a[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]

    def padded_hw(self):
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = self
        return (max(ph + h, (ho - 1) * sh + dh * (kh - 1) + 1),
                max(pw + w, (wo - 1) * sw + dw * (kw - 1) + 1))

    @property
    def overlapping(self):
        (kh, kw), (sh, sw), _, (dh, dw), _, _ = self
        return (kh - 1) * dh + 1 > sh or (kw - 1) * dw + 1 > sw


def _pad_fill(xp, x, geom, value):
    """``x`` inside a buffer of the padded size filled with ``value`` (or ``x`` itself)."""
    _, _, (ph, pw), _, _, (h, w) = geom
    hn, wn = geom.padded_hw()
    if hn == h and wn == w:
        return x
    n, c = x.shape[:2]
    out = xp.full((n, c, hn, wn), value, x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _lowest(dtype):
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


# ====================================================================== max pooling


# ---------------------------------------------------------------------- compiled kernels
# (``ops._pool_kernels``; the numpy code beside them is the reference)

# elements of the input: below this the numpy passes are as fast as a kernel launch
FAST_MIN = 1 << 13


def _fast_ok(a):
    return a.ndim == 4 and a.dtype.kind == "f" and a.dtype.itemsize >= 4 \
        and _fast.use(a, min_size=FAST_MIN)


def _max_pool_fast(x, geom):
    """(out, PyTorch's flat int64 indices) in one compiled pass."""
    from . import _pool_kernels as K

    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = geom
    n, c = x.shape[:2]
    x3 = np.ascontiguousarray(x).reshape(n * c, h, w)
    out = np.empty((n * c, ho, wo), x.dtype)
    idx = np.empty((n * c, ho, wo), np.int64)
    K.max_pool(x3, kh, kw, sh, sw, ph, pw, dh, dw, out, idx)
    return out.reshape(n, c, ho, wo), idx.reshape(n, c, ho, wo)


def _max_pool_idx(x, geom):
    """(out, flat indices): the kernel when it takes ``x``, else the numpy path."""
    if _fast_ok(x):
        return _max_pool_fast(x, geom)
    out, arg = _max_pool(x, geom, True)
    return out, _flat_indices(array_module(x), arg, geom)


def _max_pool(x, geom, need_arg):
    """(out, arg) where arg[..] is the winning kernel offset i*kw + j (or None)."""
    xp = array_module(x)
    xpd = _pad_fill(xp, x, geom, _lowest(x.dtype))
    kh, kw = geom[0]
    offs = [(i, j) for i in range(kh) for j in range(kw)]
    out = geom.window(xpd, 0, 0).copy()
    for i, j in offs[1:]:
        xp.maximum(out, geom.window(xpd, i, j), out=out)  # NaN propagates, as PyTorch
    if not need_arg:
        return out, None
    # the first offset holding the max (earlier offsets win ties) = the number of offsets
    # before the first hit: one compare, one and-not and one add per offset (a masked
    # copyto per offset, the obvious way, ran ~8x slower for 2x2 windows)
    arg = xp.zeros(out.shape, np.uint8 if kh * kw < 256 else np.int32)
    last = len(offs) - 1
    valid = _valid_masks(xp, geom)
    missed = xp.ones(out.shape, bool)  # no offset so far held the max
    hit = xp.empty(out.shape, bool)
    for k in range(last):  # the last offset wins where no earlier one did
        i, j = offs[k]
        xp.equal(geom.window(xpd, i, j), out, out=hit)
        if valid[k] is not None:  # a padding cell never wins (it could tie with -inf)
            hit &= valid[k]
        xp.greater(missed, hit, out=missed)  # missed & ~hit
        xp.add(arg, missed, out=arg)
    if x.dtype.kind not in "iub" and bool(xp.isnan(out).any()):  # a NaN window: first NaN
        for k in range(last, -1, -1):
            i, j = offs[k]
            xp.copyto(arg, k, where=xp.isnan(geom.window(xpd, i, j)))
    return out, arg


def _valid_masks(xp, geom):
    """Per kernel offset: (Ho, Wo) mask of the outputs whose cell lies inside the input,
    or None when all do."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = geom
    out = []
    for i in range(kh):
        r = np.arange(ho) * sh - ph + i * dh
        rv = (r >= 0) & (r < h)
        for j in range(kw):
            c = np.arange(wo) * sw - pw + j * dw
            cv = (c >= 0) & (c < w)
            out.append(None if rv.all() and cv.all() else xp.asarray(rv[:, None] & cv))
    return out


def _flat_indices(xp, arg, geom):
    """PyTorch's indices: the flat position h * W + w of each max in its input plane."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = geom
    base = (np.arange(ho)[:, None] * sh - ph) * w + (np.arange(wo) * sw - pw)
    k = np.arange(kh * kw)
    table = (k // kw) * dh * w + (k % kw) * dw
    return xp.asarray(table)[arg] + xp.asarray(base)


class MaxPool(Op):
    """Max over the windows of a (N, C, H, W) input. Backward scatters the gradient to
    each window's (first) maximum through PyTorch's flat indices (``ScatterFlat``)."""

    @staticmethod
    def compute(x, geom):
        if _fast_ok(x):
            return _max_pool_fast(x, geom)[0]
        return _max_pool(x, geom, False)[0]

    @staticmethod
    def forward(ctx, x, geom):
        out, idx = _max_pool_idx(x, geom)
        ctx.meta = (idx, geom)
        return out

    @staticmethod
    def backward(ctx, g, *_):
        idx, geom = ctx.meta
        return ScatterFlat.apply(g, idx, geom[5], not geom.overlapping), None


class MaxPoolWithIndices(MaxPool):
    """``MaxPool`` that also returns PyTorch's flat int64 indices (not differentiable)."""

    n_outputs = 2
    nondiff_outputs = (1,)

    @staticmethod
    def compute(x, geom):
        return _max_pool_idx(x, geom)

    @staticmethod
    def forward(ctx, x, geom):
        out, idx = _max_pool_idx(x, geom)
        ctx.meta = (idx, geom)
        return out, idx


# ====================================================================== average pooling


def _avg_divisor(xp, geom, count_include_pad, divisor_override, dtype):
    """Per-output divisor (Ho, Wo) as PyTorch computes it, or a Python number."""
    if divisor_override:
        return float(divisor_override)
    (kh, kw), (sh, sw), (ph, pw), _, (ho, wo), (h, w) = geom

    def axis(o, k, s, p, n):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        full = end - start
        valid = np.minimum(end, n) - np.maximum(start, 0)
        return full if count_include_pad else valid

    dh, dw = axis(ho, kh, sh, ph, h), axis(wo, kw, sw, pw, w)
    if (dh == dh[0]).all() and (dw == dw[0]).all():
        return float(dh[0] * dw[0])
    return xp.asarray((dh[:, None] * dw[None, :]).astype(dtype))


def _div_array(geom, div, dtype):
    ho, wo = geom[4]
    if isinstance(div, float):
        return np.full((ho, wo), div, dtype)
    return np.ascontiguousarray(div, dtype=dtype)


def _avg_pool(x, geom, div):
    if _fast_ok(x) and geom[3] == (1, 1):
        from . import _pool_kernels as K

        (kh, kw), (sh, sw), (ph, pw), _, (ho, wo), (h, w) = geom
        n, c = x.shape[:2]
        out = np.empty((n * c, ho, wo), x.dtype)
        K.avg_pool(np.ascontiguousarray(x).reshape(n * c, h, w), kh, kw, sh, sw, ph, pw,
                   _div_array(geom, div, x.dtype), out)
        return out.reshape(n, c, ho, wo)
    xp = array_module(x)
    xpd = _pad_fill(xp, x, geom, 0)
    kh, kw = geom[0]
    out = geom.window(xpd, 0, 0).copy()
    for i in range(kh):
        for j in range(kw):
            if i or j:
                out += geom.window(xpd, i, j)
    if isinstance(div, float):
        out *= out.dtype.type(1.0 / div)
    else:
        out /= div
    return out


def _avg_scatter(g, geom, div):
    """Adjoint of ``_avg_pool``: ``g / div`` spread over each window."""
    if _fast_ok(g) and geom[3] == (1, 1):
        from . import _pool_kernels as K

        (kh, kw), (sh, sw), (ph, pw), _, (ho, wo), (h, w) = geom
        n, c = g.shape[:2]
        dx = np.empty((n * c, h, w), g.dtype)
        K.avg_scatter(np.ascontiguousarray(g).reshape(n * c, ho, wo), kh, kw, sh, sw, ph, pw,
                      _div_array(geom, div, g.dtype), dx)
        return dx.reshape(n, c, h, w)
    xp = array_module(g)
    n, c = g.shape[:2]
    _, _, (ph, pw), _, _, (h, w) = geom
    hn, wn = geom.padded_hw()
    gd = g * g.dtype.type(1.0 / div) if isinstance(div, float) else g / div
    kh, kw = geom[0]
    if not geom.overlapping and (hn, wn) == (h, w):
        dx = xp.zeros((n, c, h, w), g.dtype)
        for i in range(kh):
            for j in range(kw):
                geom.window(dx, i, j)[...] = gd
        return dx
    dx = xp.zeros((n, c, hn, wn), g.dtype)
    for i in range(kh):
        for j in range(kw):
            geom.window(dx, i, j)[...] += gd
    if (hn, wn) != (h, w):
        dx = dx[:, :, ph:ph + h, pw:pw + w].copy()
    return dx


class AvgPool(Op):
    @staticmethod
    def compute(x, geom, div):
        return _avg_pool(x, geom, div)

    @staticmethod
    def forward(ctx, x, geom, div):
        ctx.meta = (geom, div)
        return _avg_pool(x, geom, div)

    @staticmethod
    def backward(ctx, g):
        return AvgScatter.apply(g, *ctx.meta), None, None


class AvgScatter(Op):
    @staticmethod
    def forward(ctx, g, geom, div):
        ctx.meta = (geom, div)
        return _avg_scatter(g, geom, div)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool.apply(gg, *ctx.meta), None, None


# ====================================================================== adaptive pooling


def _adaptive_matrix(n, o, dtype):
    """(o, n) averaging matrix of PyTorch's adaptive bins [floor(i n/o), ceil((i+1) n/o))."""
    i = np.arange(o)
    start = (i * n) // o
    end = ((i + 1) * n + o - 1) // o
    cols = np.arange(n)
    m = (cols >= start[:, None]) & (cols < end[:, None])
    return (m / (end - start)[:, None]).astype(dtype)


def _adaptive_bins(n, o):
    i = np.arange(o)
    return (i * n) // o, ((i + 1) * n + o - 1) // o


def _adaptive_gather_index(n, o):
    """(o, kmax) positions of each bin, the last one repeated to a common length."""
    start, end = _adaptive_bins(n, o)
    kmax = int((end - start).max())
    idx = start[:, None] + np.arange(kmax)[None, :]
    return np.minimum(idx, end[:, None] - 1)


def _adaptive_max(x, out_hw):
    xp = array_module(x)
    n, c, h, w = x.shape
    oh, ow = out_hw
    ih = _adaptive_gather_index(h, oh)
    iw = _adaptive_gather_index(w, ow)
    kh, kw = ih.shape[1], iw.shape[1]
    v = x[:, :, xp.asarray(ih.reshape(oh, kh, 1, 1)), xp.asarray(iw.reshape(1, 1, ow, kw))]
    v = v.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, kh * kw)  # (N, C, oh, ow, kh*kw)
    a = xp.argmax(v, axis=-1)[..., None]  # first max; NaN wins
    out = xp.take_along_axis(v, a, axis=-1)[..., 0]
    a = a[..., 0]
    rows = xp.asarray(ih)[xp.arange(oh)[:, None], a // kw]
    cols = xp.asarray(iw)[xp.arange(ow)[None, :], a % kw]
    return out, rows * w + cols


def _scatter_flat(g, idx, hw, unique=False):
    """zeros (N, C, H, W) with ``g`` added at the flat per-plane positions ``idx``.

    ``unique`` promises no position repeats within a plane (non-overlapping windows):
    one fancy assignment. Otherwise duplicates must add up, and ``bincount`` is the
    vectorised scatter-add (it accumulates in float64; the result is cast back).
    """
    n, c = g.shape[:2]
    h, w = hw
    if type(idx) is np.ndarray and idx.dtype == np.int64 and g.dtype.kind == "f" \
            and g.dtype.itemsize >= 4 and _fast.use(g, min_size=FAST_MIN // 4):
        from . import _pool_kernels as K

        dx = np.empty((n * c, h * w), g.dtype)
        bad = K.scatter_flat(np.ascontiguousarray(g).reshape(n * c, -1),
                             np.ascontiguousarray(idx).reshape(n * c, -1), bool(unique), dx)
        if bad:
            raise IndexError(f"pooling scatter: {bad} flat indices fall outside an output "
                             f"plane of {h * w} elements")
        return dx.reshape(n, c, h, w)
    xp = array_module(g)
    plane = (xp.arange(n * c, dtype=np.int64) * (h * w)).reshape((n, c) + (1,) * (idx.ndim - 2))
    flat = (idx + plane).reshape(-1)
    if unique:
        out = xp.zeros(n * c * h * w, g.dtype)
        out[flat] = g.reshape(-1)
        return out.reshape(n, c, h, w)
    out = xp.bincount(flat, weights=g.reshape(-1), minlength=n * c * h * w)
    return out.astype(g.dtype, copy=False).reshape(n, c, h, w)


def _gather_flat(gg, idx):
    xp = array_module(gg)
    n, c = gg.shape[:2]
    return xp.take_along_axis(gg.reshape(n, c, -1), idx.reshape(n, c, -1),
                              axis=2).reshape(idx.shape)


class AdaptiveMaxPool(Op):
    n_outputs = 2
    nondiff_outputs = (1,)

    @staticmethod
    def forward(ctx, x, out_hw):
        out, idx = _adaptive_max(x, out_hw)
        ctx.meta = (idx, x.shape[2:])
        return out, idx

    @staticmethod
    def backward(ctx, g, _):
        idx, hw = ctx.meta
        return ScatterFlat.apply(g, idx, hw), None


class ScatterFlat(Op):
    """zeros(N, C, *hw) with ``g`` added at flat per-plane indices (adjoint: GatherFlat)."""

    @staticmethod
    def forward(ctx, g, idx, hw, unique=False):
        ctx.idx = idx
        return _scatter_flat(g, idx, hw, unique)

    @staticmethod
    def backward(ctx, gg):
        return GatherFlat.apply(gg, ctx.idx), None, None, None


class GatherFlat(Op):
    """``x`` read at flat per-plane indices ``idx`` (N, C, ...); adjoint: ScatterFlat."""

    @staticmethod
    def forward(ctx, x, idx):
        ctx.meta = (idx, x.shape[2:])
        return _gather_flat(x, idx)

    @staticmethod
    def backward(ctx, g):
        idx, hw = ctx.meta
        return ScatterFlat.apply(g, idx, tuple(hw)), None
