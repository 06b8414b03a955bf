"""Winograd convolution F(m x m, 3 x 3) for 3x3, stride 1, dilation 1, groups 1 convs.

A conv output tile of m x m pixels is computed from an (m+2) x (m+2) input tile as
``Y = A^T [ (G g G^T) (.) (B^T d B) ] A``; summing over input channels turns the
elementwise product into one batched GEMM over the ``P = (m+2)^2`` tile positions::

    V = B^T d B       input transform       (P, C, T)    T = N * th * tw tiles
    U = G g G^T       filter transform      (P, O, C)
    M = U @ V         np.matmul over P      (P, O, T)
    y = A^T M A       output transform      NCHW, + bias, optional scale/shift and ReLU

* The input transform reads the unpadded input and zero-fills outside it (no padded copy);
  the output transform writes NCHW directly, fusing the epilogue.
* Input gradient: the stride-1 adjoint is a 3x3 conv of the output gradient with the
  flipped, transposed kernel, so it reuses the forward (``ops.conv`` does that).
* Weight gradient: ``dM = A gy A^T`` (P, O, T); ``dU = V @ dM^T`` (P, C, O), the same
  (K, M) @ (M, O) orientation as im2col's weight gradient; ``gw = G^T dU G``. The forward's
  ``V`` is kept for it, 16/36 of im2col's ``col`` for F(2x2).

F(2x2, 3x3) is the one used: its transforms have coefficients 0 and +-1 (exact in float32)
and are Numba kernels (``_fast``); F(4x4, 3x3) (coefficients up to 8 and 1/24) is kept on
the numpy path for measurement and tests only. Measured on the 2-core CPU, 2026-12-07
(ResNet-20 layer shapes, float32): F(4x4)'s smaller GEMMs did not pay for its transforms
on numpy and its float32 error was ~10x larger; see ``ops.conv`` for the selection table.

Float32 error (tested in ``tests/core/nn/test_winograd.py``): against a float64 reference,
F(2x2) forward and input gradient satisfy
``max|y - y64| <= 8 * eps32 * max|x| * max|w| * C * 9`` and the weight gradient
``max|gw - gw64| <= 8 * eps32 * max|x| * max|gy| * N * H * W``, with eps32 = 2**-24 (the
im2col path's own float32 error is of the same order; measured ratios were 0.2-1.5 eps).

Every transform has a numpy path (strided-view adds generated from the transform
matrices, no loop over pixels) that cupy arrays always take, and a Numba kernel for
F(2x2) on contiguous numpy arrays.
"""
from __future__ import annotations

import numpy as np

from .. import _fast
from .._fast import prange

__all__: list = []


class Variant:
    """The matrices of F(m x m, 3 x 3): ``BT`` (a, a), ``G`` (a, 3), ``AT`` (m, a)."""

    def __init__(self, m, bt, g, at):
        self.m = m
        self.a = m + 2
        self.P = self.a * self.a
        self.BT = np.array(bt, dtype=np.float64)
        self.G = np.array(g, dtype=np.float64)
        self.AT = np.array(at, dtype=np.float64)


F2 = Variant(2, [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
             [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]],
             [[1, 1, 1, 0], [0, 1, -1, -1]])
F4 = Variant(4, [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
             [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
             [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
              [0, 1, -1, 8, -8, 1]])


def tiles(ho, wo, v=F2):
    """Tile rows and columns covering an ho x wo output."""
    m = v.m
    return -(-ho // m), -(-wo // m)


# ====================================================================== numpy paths


def _combo(xp, coefs, parts, out=None):
    """``sum_k coefs[k] * parts[k]`` with zero terms skipped and +-1 as adds."""
    acc = out
    first = True
    for c, p in zip(coefs, parts):
        if c == 0:
            continue
        if first:
            if acc is None:
                acc = p * c if c != 1 else p.copy()
            elif c == 1:
                acc[...] = p
            else:
                xp.multiply(p, c, out=acc)
            first = False
        elif c == 1:
            acc += p
        elif c == -1:
            acc -= p
        else:
            acc += p * c
    if first:
        if acc is None:
            acc = xp.zeros_like(parts[0])
        else:
            acc[...] = 0
    return acc


def _input_np(xp, x, pt, pl, th, tw, v, out):
    """V[p, c, (n, i, j)] of the zero-extended input (numpy/cupy path: one padded copy)."""
    n, c, h, w = x.shape
    m, a = v.m, v.a
    hp, wp = m * th + a - m, m * tw + a - m
    xpd = xp.zeros((n, c, hp, wp), x.dtype)
    r0, r1 = max(0, -pt), min(h, hp - pt)
    c0, c1 = max(0, -pl), min(w, wp - pl)
    if r1 > r0 and c1 > c0:
        xpd[:, :, pt + r0:pt + r1, pl + c0:pl + c1] = x[:, :, r0:r1, c0:c1]
    sn, sc, sh, sw = xpd.strides
    # d[r][s] = tiles' (r, s) pixel, each (C, N, th, tw)
    d = xp.lib.stride_tricks.as_strided(xpd, (a, a, c, n, th, tw),
                                        (sh, sw, sc, sn, m * sh, m * sw))
    rows = [_combo(xp, v.BT[i], [d[r] for r in range(a)]) for i in range(a)]
    v5 = out.reshape(a, a, c, n, th, tw)
    for i in range(a):
        for j in range(a):
            _combo(xp, v.BT[j], [rows[i][s] for s in range(a)], out=v5[i, j])
    return out


def _output_np(xp, mm, y, th, tw, v, mul, add, relu):
    """y = A^T M A (+ epilogue) from M (P, O, T) into NCHW ``y``."""
    n, o, ho, wo = y.shape
    m, a = v.m, v.a
    m6 = mm.reshape(a, a, o, n, th, tw)
    rows = [_combo(xp, v.AT[i], [m6[r] for r in range(a)]) for i in range(m)]
    full = xp.empty((n, o, th, m, tw, m), y.dtype)
    for i in range(m):
        for j in range(m):
            r = _combo(xp, v.AT[j], [rows[i][s] for s in range(a)])
            full[:, :, :, i, :, j] = r.transpose(1, 0, 2, 3)
    yy = full.reshape(n, o, th * m, tw * m)[:, :, :ho, :wo]
    if mul is not None:
        xp.multiply(yy, mul.reshape(o, 1, 1), out=yy)
    if add is not None:
        xp.add(yy, add.reshape(o, 1, 1), out=yy)
    if relu:
        xp.maximum(yy, 0, out=yy)
    y[...] = yy
    return y


def _gradout_np(xp, gy, th, tw, v, out):
    """dM[p, o, (n, i, j)] = (A gy_tile A^T)[p] with gy zero beyond its edge."""
    n, o, ho, wo = gy.shape
    m, a = v.m, v.a
    gp = xp.zeros((n, o, th * m, tw * m), gy.dtype)
    gp[:, :, :ho, :wo] = gy
    sn, so, sh, sw = gp.strides
    d = xp.lib.stride_tricks.as_strided(gp, (m, m, o, n, th, tw),
                                        (sh, sw, so, sn, m * sh, m * sw))
    A = v.AT.T
    rows = [_combo(xp, A[i], [d[r] for r in range(m)]) for i in range(a)]
    o5 = out.reshape(a, a, o, n, th, tw)
    for i in range(a):
        for j in range(a):
            _combo(xp, A[j], [rows[i][s] for s in range(m)], out=o5[i, j])
    return out


# ====================================================================== F(2x2) kernels


@_fast.kernel(inline="always")
def _ld(x, n, c, r, s, h, w, zero):
    if r >= 0 and r < h and s >= 0 and s < w:
        return x[n, c, r, s]
    return zero


@_fast.kernel(parallel=True)
def _k_input(x, out, pt, pl, th, tw):
    n_, c_, h, w = x.shape
    zero = np.zeros(1, x.dtype)[0]
    for q in prange(c_ * n_):
        c = q // n_
        n = q % n_
        base = n * th * tw
        for i in range(th):
            r = 2 * i - pt
            inner_r = r >= 0 and r + 3 < h
            for j in range(tw):
                s = 2 * j - pl
                if inner_r and s >= 0 and s + 3 < w:
                    d00 = x[n, c, r, s]
                    d01 = x[n, c, r, s + 1]
                    d02 = x[n, c, r, s + 2]
                    d03 = x[n, c, r, s + 3]
                    d10 = x[n, c, r + 1, s]
                    d11 = x[n, c, r + 1, s + 1]
                    d12 = x[n, c, r + 1, s + 2]
                    d13 = x[n, c, r + 1, s + 3]
                    d20 = x[n, c, r + 2, s]
                    d21 = x[n, c, r + 2, s + 1]
                    d22 = x[n, c, r + 2, s + 2]
                    d23 = x[n, c, r + 2, s + 3]
                    d30 = x[n, c, r + 3, s]
                    d31 = x[n, c, r + 3, s + 1]
                    d32 = x[n, c, r + 3, s + 2]
                    d33 = x[n, c, r + 3, s + 3]
                else:
                    d00 = _ld(x, n, c, r, s, h, w, zero)
                    d01 = _ld(x, n, c, r, s + 1, h, w, zero)
                    d02 = _ld(x, n, c, r, s + 2, h, w, zero)
                    d03 = _ld(x, n, c, r, s + 3, h, w, zero)
                    d10 = _ld(x, n, c, r + 1, s, h, w, zero)
                    d11 = _ld(x, n, c, r + 1, s + 1, h, w, zero)
                    d12 = _ld(x, n, c, r + 1, s + 2, h, w, zero)
                    d13 = _ld(x, n, c, r + 1, s + 3, h, w, zero)
                    d20 = _ld(x, n, c, r + 2, s, h, w, zero)
                    d21 = _ld(x, n, c, r + 2, s + 1, h, w, zero)
                    d22 = _ld(x, n, c, r + 2, s + 2, h, w, zero)
                    d23 = _ld(x, n, c, r + 2, s + 3, h, w, zero)
                    d30 = _ld(x, n, c, r + 3, s, h, w, zero)
                    d31 = _ld(x, n, c, r + 3, s + 1, h, w, zero)
                    d32 = _ld(x, n, c, r + 3, s + 2, h, w, zero)
                    d33 = _ld(x, n, c, r + 3, s + 3, h, w, zero)
                # B^T d: rows
                t00 = d00 - d20
                t01 = d01 - d21
                t02 = d02 - d22
                t03 = d03 - d23
                t10 = d10 + d20
                t11 = d11 + d21
                t12 = d12 + d22
                t13 = d13 + d23
                t20 = d20 - d10
                t21 = d21 - d11
                t22 = d22 - d12
                t23 = d23 - d13
                t30 = d10 - d30
                t31 = d11 - d31
                t32 = d12 - d32
                t33 = d13 - d33
                t = base + i * tw + j
                out[0, c, t] = t00 - t02
                out[1, c, t] = t01 + t02
                out[2, c, t] = t02 - t01
                out[3, c, t] = t01 - t03
                out[4, c, t] = t10 - t12
                out[5, c, t] = t11 + t12
                out[6, c, t] = t12 - t11
                out[7, c, t] = t11 - t13
                out[8, c, t] = t20 - t22
                out[9, c, t] = t21 + t22
                out[10, c, t] = t22 - t21
                out[11, c, t] = t21 - t23
                out[12, c, t] = t30 - t32
                out[13, c, t] = t31 + t32
                out[14, c, t] = t32 - t31
                out[15, c, t] = t31 - t33


@_fast.kernel(parallel=True)
def _k_output(mm, y, th, tw, mul, add, flags):
    # flags: 1 = multiply by mul[o], 2 = add add[o], 4 = ReLU
    n_, o_, ho, wo = y.shape
    domul = (flags & 1) != 0
    doadd = (flags & 2) != 0
    relu = (flags & 4) != 0
    zero = np.zeros(1, y.dtype)[0]
    for q in prange(n_ * o_):
        n = q // o_
        o = q % o_
        base = n * th * tw
        sc = mul[o] if domul else zero
        sh = add[o] if doadd else zero
        for i in range(th):
            r = 2 * i
            for j in range(tw):
                t = base + i * tw + j
                # A^T M: two rows of four
                s0 = mm[0, o, t] + mm[4, o, t] + mm[8, o, t]
                s1 = mm[1, o, t] + mm[5, o, t] + mm[9, o, t]
                s2 = mm[2, o, t] + mm[6, o, t] + mm[10, o, t]
                s3 = mm[3, o, t] + mm[7, o, t] + mm[11, o, t]
                u0 = mm[4, o, t] - mm[8, o, t] - mm[12, o, t]
                u1 = mm[5, o, t] - mm[9, o, t] - mm[13, o, t]
                u2 = mm[6, o, t] - mm[10, o, t] - mm[14, o, t]
                u3 = mm[7, o, t] - mm[11, o, t] - mm[15, o, t]
                y00 = s0 + s1 + s2
                y01 = s1 - s2 - s3
                y10 = u0 + u1 + u2
                y11 = u1 - u2 - u3
                if domul:
                    y00 *= sc
                    y01 *= sc
                    y10 *= sc
                    y11 *= sc
                if doadd:
                    y00 += sh
                    y01 += sh
                    y10 += sh
                    y11 += sh
                if relu:
                    y00 = max(y00, zero)
                    y01 = max(y01, zero)
                    y10 = max(y10, zero)
                    y11 = max(y11, zero)
                s = 2 * j
                y[n, o, r, s] = y00
                if s + 1 < wo:
                    y[n, o, r, s + 1] = y01
                if r + 1 < ho:
                    y[n, o, r + 1, s] = y10
                    if s + 1 < wo:
                        y[n, o, r + 1, s + 1] = y11


@_fast.kernel(parallel=True)
def _k_gradout(gy, out, th, tw):
    n_, o_, ho, wo = gy.shape
    zero = np.zeros(1, gy.dtype)[0]
    for q in prange(n_ * o_):
        n = q // o_
        o = q % o_
        base = n * th * tw
        for i in range(th):
            r = 2 * i
            for j in range(tw):
                s = 2 * j
                a = gy[n, o, r, s]
                b = gy[n, o, r, s + 1] if s + 1 < wo else zero
                c = gy[n, o, r + 1, s] if r + 1 < ho else zero
                d = gy[n, o, r + 1, s + 1] if (r + 1 < ho and s + 1 < wo) else zero
                # A dY: rows (a, b) -> r0 = y0, r1 = y0 + y1, r2 = y0 - y1, r3 = -y1
                p0 = a
                p1 = b
                q0 = a + c
                q1 = b + d
                w0 = a - c
                w1 = b - d
                z0 = -c
                z1 = -d
                t = base + i * tw + j
                out[0, o, t] = p0
                out[1, o, t] = p0 + p1
                out[2, o, t] = p0 - p1
                out[3, o, t] = -p1
                out[4, o, t] = q0
                out[5, o, t] = q0 + q1
                out[6, o, t] = q0 - q1
                out[7, o, t] = -q1
                out[8, o, t] = w0
                out[9, o, t] = w0 + w1
                out[10, o, t] = w0 - w1
                out[11, o, t] = -w1
                out[12, o, t] = z0
                out[13, o, t] = z0 + z1
                out[14, o, t] = z0 - z1
                out[15, o, t] = -z1


# ====================================================================== transforms


def _fast_ok(v, *arrays):
    return v is F2 and _fast.use(*arrays) and all(a.flags.c_contiguous for a in arrays)


def input_transform(xp, x, pt, pl, th, tw, out, v=F2):
    """(N, C, H, W) -> out (P, C, N*th*tw), tile (i, j) reading rows ``m*i - pt + r``."""
    if _fast_ok(v, x, out):
        _k_input(x, out, pt, pl, th, tw)
        return out
    return _input_np(xp, x, pt, pl, th, tw, v, out)


def filter_transform(xp, w, v=F2):
    """(O, C, 3, 3) -> U (P, O, C) = G g G^T, contiguous."""
    o, c = w.shape[:2]
    g = xp.asarray(v.G, dtype=w.dtype)
    u = xp.matmul(xp.matmul(g, w), g.T)  # (O, C, a, a)
    return xp.ascontiguousarray(u.reshape(o, c, v.P).transpose(2, 0, 1))


def output_transform(xp, mm, y, th, tw, mul=None, add=None, relu=False, v=F2):
    """M (P, O, T) -> y (N, O, Ho, Wo) = A^T M A * mul + add (per channel), then ReLU."""
    if _fast_ok(v, mm, y):
        flags = (1 if mul is not None else 0) | (2 if add is not None else 0) | (4 if relu else 0)
        dummy = mul if mul is not None else (add if add is not None else y.reshape(-1)[:1])
        _k_output(mm, y, th, tw, mul if mul is not None else dummy,
                  add if add is not None else dummy, flags)
        return y
    return _output_np(xp, mm, y, th, tw, v, mul, add, relu)


def gradout_transform(xp, gy, th, tw, out, v=F2):
    """gy (N, O, Ho, Wo) -> out (P, O, T) = A gy_tile A^T (the adjoint of the output
    transform)."""
    if _fast_ok(v, gy, out):
        _k_gradout(gy, out, th, tw)
        return out
    return _gradout_np(xp, gy, th, tw, v, out)


def filter_grad_transform(xp, du, v=F2):
    """dU (P, C, O) -> gw (O, C, 3, 3) = G^T dU G (the adjoint of the filter transform)."""
    p, c, o = du.shape
    g = xp.asarray(v.G, dtype=du.dtype)
    d4 = du.transpose(2, 1, 0).reshape(o, c, v.a, v.a)
    return xp.ascontiguousarray(xp.matmul(xp.matmul(g.T, d4), g))


# ====================================================================== convolution


class Saved:
    """What a Winograd forward keeps for the weight gradient: ``v`` (P, C, T)."""

    __slots__ = ("v", "pool")

    def __init__(self, v, pool=None):
        self.v = v
        self.pool = pool

    def give_back(self):
        v, self.v = self.v, None
        if v is not None and self.pool is not None:
            self.pool.give(v)


def conv_forward(xp, pool, x, w, b, pt, pl, out_hw, keep, scale, shift, relu):
    """Winograd conv (N, C, H, W) -> (N, O, Ho, Wo), top/left pads ``pt``/``pl``, work
    buffers from ``pool`` (``ops.conv._POOL``); returns (y, Saved or None). Epilogue:
    ``relu((conv + b) * scale + shift)`` fused into the output transform."""
    n, c, h, wd = x.shape
    o = w.shape[0]
    ho, wo = out_hw
    th, tw = tiles(ho, wo)
    t = n * th * tw
    x = xp.ascontiguousarray(x)
    v = pool.take(xp, (16, c, t), x.dtype)
    input_transform(xp, x, pt, pl, th, tw, v)
    u = filter_transform(xp, w)
    mm = pool.take(xp, (16, o, t), x.dtype)
    xp.matmul(u, v, out=mm)
    mul = None if scale is None else xp.ascontiguousarray(xp.asarray(scale, dtype=x.dtype))
    add = None if b is None else b.astype(x.dtype, copy=False)
    if shift is not None:
        sh = xp.asarray(shift, dtype=x.dtype)
        add = sh if add is None else add * (mul if mul is not None else 1) + sh
    elif add is not None and mul is not None:
        add = add * mul
    if add is not None:
        add = xp.ascontiguousarray(add.reshape(o))
    if mul is not None:
        mul = mul.reshape(o)
    y = xp.empty((n, o, ho, wo), x.dtype)
    output_transform(xp, mm, y, th, tw, mul, add, relu)
    pool.give(mm)
    del mm
    if keep:
        return y, Saved(v, pool)
    pool.give(v)
    return y, None


def weight_grad(xp, pool, x, gy, pt, pl, saved):
    """Winograd weight gradient: gw = G^T (V @ dM^T) G with dM = A gy A^T."""
    n, o, ho, wo = gy.shape
    th, tw = tiles(ho, wo)
    t = n * th * tw
    own = saved is None
    if own:
        v = pool.take(xp, (16, x.shape[1], t), gy.dtype)
        input_transform(xp, xp.ascontiguousarray(x), pt, pl, th, tw, v)
    else:
        v = saved.v
    dm = pool.take(xp, (16, o, t), gy.dtype)
    gradout_transform(xp, xp.ascontiguousarray(gy), th, tw, dm)
    du = xp.matmul(v, dm.transpose(0, 2, 1))
    pool.give(dm)
    del dm
    if own:
        pool.give(v)
    return filter_grad_transform(xp, du)
