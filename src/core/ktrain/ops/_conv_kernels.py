"""Compiled CPU kernel (``ktrain._fast``) of the convolution's col2im in ``ops.conv``.

numpy's col2im makes kh*kw strided read-modify-write passes over a padded buffer of the
whole batch, then copies it to NCHW, all on one core; this kernel gives each (image,
channel) plane to one thread, which adds that plane's taps in a cache-resident plane of
the gradient, straight in NCHW. Each pixel gets its taps in the numpy path's (i, j) order,
so the result is bit-identical; the numpy path in ``ops.conv`` stays the reference.
Measured (2 threads, float32): the MNIST example's 32-channel 26x26 input gradient at
batch 64 13.0 -> 6.2 ms, ResNet-20's stride-2 layers 2.5 -> 1.1 and 3.1 -> 0.9 ms, alone.
Inside a training step the gain shrinks (the MNIST example's ``ConvBackward0``: 37-43 against
41-52 ms per step in four alternating profiled pairs): the kernel runs right after a GEMM,
while OpenBLAS's worker threads still spin on the cores waiting for the next one.

im2col has no kernel: one written the same way (padding folded in) ran slower than numpy's
strided copy (rows of 8-32 floats cost more per row in the kernel than numpy's inner loop).
"""
from __future__ import annotations

from .. import _fast
from .._fast import prange


@_fast.kernel(parallel=True)
def col2im(dcol, gx, sh, sw, dh, dw, pt, pl):
    """``gx[n, c]`` = the sum of the taps of ``dcol[c, i, j, n]`` (C, kh, kw, N, Ho, Wo)
    that land inside the (H, W) plane at ``(oh*sh - pt + i*dh, ow*sw - pl + j*dw)``."""
    n_, c_, h, w = gx.shape
    _, kh, kw, _, ho, wo = dcol.shape
    for p in prange(n_ * c_):
        n = p // c_
        c = p % c_
        g = gx[n, c]
        g[:, :] = 0
        for i in range(kh):
            for j in range(kw):
                off = j * dw - pl
                src = dcol[c, i, j, n]
                for oh in range(ho):
                    ih = oh * sh - pt + i * dh
                    if ih < 0 or ih >= h:
                        continue
                    row = g[ih]
                    s = src[oh]
                    if sw == 1:
                        lo = max(0, -off)
                        hi = min(wo, w - off)
                        for ow in range(lo, hi):
                            row[ow + off] += s[ow]
                    else:
                        for ow in range(wo):
                            iw = ow * sw + off
                            if 0 <= iw < w:
                                row[iw] += s[ow]
