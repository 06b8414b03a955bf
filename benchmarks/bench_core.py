"""Per-op overhead and backward cost of ktrain beside raw numpy and PyTorch CPU.

Run: ``python benchmarks/bench_core.py`` (PyTorch is used when importable, with
``torch.set_num_threads`` equal to the BLAS thread count). Prints a table of median
times; the ratio column is PyTorch time / ktrain time (higher is better for ktrain).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_threads  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src", "core"))
import ktrain as kt  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional: the table then has no torch column
    torch = None


def per_call_us(fn, number, repeat=7):
    """Median over ``repeat`` runs of the time of one call, in microseconds."""
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def op_cases(lib, rg):
    """(name, thunk) for the small-op cases in library ``lib`` (numpy, ktrain or torch)."""
    if lib == "numpy":
        a = np.ones(4, np.float32)
        b = np.ones(4, np.float32)
        m = np.ones((8, 8), np.float32)
        return [("add", lambda: a + b), ("mul", lambda: a * b), ("matmul 8x8", lambda: m @ m),
                ("sum", lambda: a.sum())]
    mod = kt if lib == "ktrain" else torch
    a = mod.ones(4, requires_grad=rg)
    b = mod.ones(4, requires_grad=rg)
    m = mod.ones(8, 8, requires_grad=rg)
    return [("add", lambda: a + b), ("mul", lambda: a * b), ("matmul 8x8", lambda: m @ m),
            ("sum", lambda: a.sum())]


def chain_backward_ms(mod, n_ops=1000, repeat=7):
    """Median time of backward through a chain of ``n_ops`` small ops (mul/add alternating)."""
    times = []
    for _ in range(repeat):
        x = mod.ones(16, requires_grad=True)
        y = x
        for i in range(n_ops // 2):
            y = y * 1.0001
            y = y + 0.5
        loss = y.sum()
        t0 = timeit.default_timer()
        loss.backward()
        times.append(timeit.default_timer() - t0)
    return statistics.median(times) * 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--number", type=int, default=20000, help="calls per timing run")
    args = p.parse_args(argv)
    threads = blas_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"ktrain {kt.__version__}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, BLAS threads {threads}")
    rows = []
    np_times = {name: per_call_us(fn, args.number) for name, fn in op_cases("numpy", False)}
    for rg in (False, True):
        kt_cases = op_cases("ktrain", rg)
        th_cases = op_cases("torch", rg) if torch else [(n, None) for n, _ in kt_cases]
        for (name, kfn), (_, tfn) in zip(kt_cases, th_cases):
            k = per_call_us(kfn, args.number)
            t = per_call_us(tfn, args.number) if tfn else None
            rows.append((name + (" (requires_grad)" if rg else ""), np_times[name], k, t))
    print(f"\n{'op (small tensors)':32s} {'numpy us':>9s} {'ktrain us':>10s} {'torch us':>9s} "
          f"{'torch/ktrain':>12s}")
    for name, n, k, t in rows:
        ts = f"{t:9.2f}" if t is not None else f"{'-':>9s}"
        rs = f"{t / k:12.2f}" if t is not None else f"{'-':>12s}"
        print(f"{name:32s} {n:9.2f} {k:10.2f} {ts} {rs}")
    kb = chain_backward_ms(kt)
    tb = chain_backward_ms(torch) if torch else None
    print(f"\n{'backward of a 1,000-op chain':32s} {'':9s} {kb:8.2f}ms "
          + (f"{tb:7.2f}ms {tb / kb:12.2f}" if tb is not None else ""))


if __name__ == "__main__":
    main()
