"""``ktrain.backends.conv``: which algorithm ktrain's CPU/GPU convolutions use.

* ``benchmark`` (bool, default False, like ``torch.backends.cudnn.benchmark``): when True the
  first call for a given (pass, N, C, H, W, O, kernel, stride, pad, dtype) key times each
  candidate (im2col + GEMM, Winograd F(2x2, 3x3)) once and caches the fastest for that key.
* ``algorithm``: ``None`` (choose: benchmark or the heuristic), ``"im2col"`` or
  ``"winograd"`` (forced wherever Winograd applies: 3x3, stride 1, dilation 1, groups 1,
  non-negative padding). The environment variable ``KTRAIN_CONV_ALGO`` sets the initial value.
* With ``benchmark`` False the heuristic is :func:`heuristic`: im2col everywhere. Measured on
  the 2-core CPU (2026-12-07, float32, 2 threads, load 0.0, forward ms, im2col | Winograd
  F(2x2) kernels | F(2x2) numpy | F(4x4) numpy)::

      64x16x32x32 -> 16     8.5 |  33.5 |  22.5 |  47.3
      64x32x16x16 -> 32     4.9 |   9.8 |  10.8 |  20.0
      64x64x8x8   -> 64     3.6 |   6.4 |   6.6 |  11.3
      256x16x32x32 -> 16   56.3 | 113.5 | 151.7 | 265.3
      256x64x8x8  -> 64    16.4 |  22.2 |  32.6 |  59.1
      64x1x28x28  -> 32     1.4 |  10.5 |  15.8 |  21.7
      64x32x14x14 -> 64     4.5 |   9.4 |  11.0 |  26.2

  The transforms are memory passes over 16/9 of im2col's data with the channel counts of
  these nets (16-64) too small for the saved multiplies to matter, so Winograd never won.
"""
from __future__ import annotations

import os
import time

__all__ = ["benchmark", "algorithm", "ALGORITHMS", "heuristic", "clear_cache", "cache", "choose"]

ALGORITHMS = ("im2col", "winograd")

benchmark = False
algorithm = os.environ.get("KTRAIN_CONV_ALGO", "").strip().lower() or None

cache: dict = {}      # key -> algorithm chosen by benchmarking


def heuristic(key) -> str:
    """The algorithm used without benchmarking for ``key`` (see the table above)."""
    return "im2col"


def clear_cache() -> None:
    """Forget the benchmarked choices."""
    cache.clear()


def forced():
    """The forced algorithm, or None; a clear error for an unknown name."""
    a = algorithm
    if a is None or a == "" or a == "auto":
        return None
    if a not in ALGORITHMS:
        raise ValueError(f"ktrain.backends.conv.algorithm must be None, 'auto' or one of "
                         f"{ALGORITHMS}, got {a!r}")
    return a


def choose(pass_, key, ok, run):
    """Run ``run(algorithm)`` with the algorithm ``ktrain.backends.conv`` picks for
    ``key``: im2col where Winograd does not apply; else the forced one; else (benchmark
    on) the fastest of one timed run each, cached per key; else the heuristic."""
    if not ok:
        return run("im2col")
    f = forced()
    if f is not None:
        return run(f)
    if not benchmark:
        return run(heuristic(key))
    key = (pass_,) + key
    name = cache.get(key)
    if name is not None:
        return run(name)
    best = None
    for name in ALGORITHMS:
        t0 = time.perf_counter()
        r = run(name)
        dt = time.perf_counter() - t0
        if best is None or dt < best[0]:
            best = (dt, name, r)
    cache[key] = best[1]
    return best[2]
