"""Time of one optimizer step on a model with many parameter tensors: ktrain vs PyTorch.

Run: ``python benchmarks/bench_optim.py [--tensors 120] [--threads 2]``. The model is
``--tensors`` parameter tensors of mixed sizes (weights, biases, norms: about 1.5M
floats in all) with fixed random gradients; a second table uses as many small tensors
(64-512 floats), where the per-step overhead dominates. Each optimizer runs a few warm-up steps,
then the median of several timed runs is reported. PyTorch (when importable) runs with
``torch.set_num_threads(--threads)`` and its default implementation (``foreach=None``).
The ratio column is PyTorch time / ktrain time (higher is better for ktrain).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src", "core"))
import ktrain as kt  # noqa: E402
from ktrain import optim as kopt  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional: the table then has no torch column
    torch = None

CASES = [
    ("SGD(momentum=0.9)", "SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD(momentum, nesterov, wd)", "SGD", dict(lr=0.01, momentum=0.9, nesterov=True,
                                                weight_decay=5e-4)),
    ("Adam", "Adam", dict(lr=1e-3)),
    ("AdamW", "AdamW", dict(lr=1e-3)),
]


def model_shapes(n_tensors: int, seed: int = 0):
    """Shapes of a conv-net-like parameter list: ~1/3 conv/linear weights, the rest
    biases and norm scales, ~1.5M floats in all for 120 tensors."""
    rng = np.random.default_rng(seed)
    shapes = []
    for i in range(n_tensors):
        if i % 3 == 0:
            c = int(rng.choice([16, 32, 48, 64, 96]))
            shapes.append((c, c, 3, 3) if rng.random() < 0.8 else (c * 4, c))
        else:
            shapes.append((int(rng.choice([16, 32, 64, 128, 256])),))
    return shapes


def time_steps(step, warmup=3, number=10, repeat=7) -> float:
    """Median over ``repeat`` runs of the time of one step, in milliseconds."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            step()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times) * 1e3


def bench_ktrain(name, kwargs, init, grads):
    params = [kt.tensor(a.copy(), requires_grad=True) for a in init]
    for p, g in zip(params, grads):
        p.grad = kt.tensor(g.copy())
    opt = getattr(kopt, name)(params, **kwargs)
    return time_steps(opt.step)


def bench_torch(name, kwargs, init, grads):
    params = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    opt = getattr(torch.optim, name)(params, **kwargs)
    return time_steps(opt.step)


def run_table(shapes, threads):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 1e-2 for s in shapes]
    total = sum(a.size for a in init)
    print(f"\n{len(shapes)} parameter tensors, {total / 1e6:.3f}M floats (float32)")
    print(f"{'optimizer':30s} {'ktrain ms':>10s} {'torch ms':>10s} {'torch/ktrain':>13s}")
    for label, name, kwargs in CASES:
        k = bench_ktrain(name, kwargs, init, grads)
        if torch is not None:
            t = bench_torch(name, kwargs, init, grads)
            print(f"{label:30s} {k:10.3f} {t:10.3f} {t / k:13.2f}")
        else:
            print(f"{label:30s} {k:10.3f} {'-':>10s} {'-':>13s}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tensors", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(args.threads)
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, default "
              "(foreach=None) implementation")
    else:
        print("PyTorch is not installed: ktrain times only")
    run_table(model_shapes(args.tensors), args.threads)
    # the same number of tensors, 64-512 floats each: per-step overhead dominates
    rng = np.random.default_rng(2)
    run_table([(int(rng.choice([64, 128, 256, 512])),) for _ in range(args.tensors)],
              args.threads)


if __name__ == "__main__":
    main()
