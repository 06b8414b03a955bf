"""Time of one optimizer step on a model with many parameter tensors: ktrain vs PyTorch,
interleaved in rounds (``_harness.py``), for 1 thread and all cores, with a load check.

    python benchmarks/bench_optim.py --torch-python /work/bench-venv/bin/python
    python benchmarks/bench_optim.py --torch-python /work/bench-venv/bin/python --tensors 200

The model is ``--tensors`` parameter tensors of mixed sizes (weights, biases, norms: about
1.5M floats in all for 120) with fixed random gradients (the same numpy data on both
libraries); a second set of cases uses as many small tensors (64-512 floats), where the
per-step overhead dominates. One worker per framework and thread count builds each case,
warms it up and times ``opt.step()`` in alternating rounds. PyTorch uses its default
implementation (``foreach=None``). Ratio = PyTorch time / ktrain time (>= 1: ktrain faster).
Refuses to run (exit 3) when the 1-minute load is above 0.5 per core unless ``--wait-idle``
or ``--force`` (figures then marked UNDER LOAD).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

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


def small_shapes(n_tensors: int, seed: int = 2):
    rng = np.random.default_rng(seed)
    return [(int(rng.choice([64, 128, 256, 512])),) for _ in range(n_tensors)]


def optim_step(fw, name, kwargs, n_tensors, small):
    """``opt.step`` of optimizer ``name`` over fixed parameters and gradients."""
    shapes = small_shapes(n_tensors) if small else model_shapes(n_tensors)
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 1e-2 for s in shapes]
    if fw.__name__ == "torch":
        params = [fw.nn.Parameter(fw.from_numpy(a.copy())) for a in init]
        for p, g in zip(params, grads):
            p.grad = fw.from_numpy(g.copy())
    else:
        params = [fw.tensor(a.copy(), requires_grad=True) for a in init]
        for p, g in zip(params, grads):
            p.grad = fw.tensor(g.copy())
    opt = getattr(fw.optim, name)(params, **kwargs)
    return opt.step


def cases(n_tensors):
    import _harness as H

    out = []
    for small in (False, True):
        n = sum(int(np.prod(s)) for s in (small_shapes(n_tensors) if small
                                          else model_shapes(n_tensors)))
        for label, name, kwargs in CASES:
            out.append(H.Case(f"{name}{kwargs}|{'small' if small else 'model'}",
                              f"{label}, {n_tensors} t, {n / 1e6:.2f}M", __file__,
                              "optim_step", dict(name=name, kwargs=kwargs,
                                                 n_tensors=n_tensors, small=small)))
    return out


def main(argv=None):
    import _harness as H

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tensors", type=int, default=120)
    H.add_arguments(ap, rounds=5, round_s=0.3)
    args = ap.parse_args(argv)
    return H.main_run(args, cases(args.tensors), "bench_optim: one optimizer step",
                      unit="ms", memory=False, fresh=False)


if __name__ == "__main__":
    main()
