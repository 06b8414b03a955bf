"""Conv2d forward+backward on the layers of a CIFAR ResNet-20, ktrain beside PyTorch.

Run: ``python benchmarks/bench_conv.py [--batch 64] [--repeat 15] [--profile]``.

Tables: the whole conv stack of a ResNet-20 (19 convs and the two 1x1 shortcuts,
chained, no BN/ReLU) for a training step and for inference; then each distinct layer,
forward+backward and forward under no_grad, with a "ResNet-20 convs" row that weights
each layer by how often the network uses it. ``--profile`` adds ktrain's time per phase
(im2col copy, GEMM, copy to NCHW, transposed output gradient, weight-gradient GEMM,
input gradient) on raw arrays.

PyTorch is used when importable, with ``torch.set_num_threads(2)`` (or the value of
``OPENBLAS_NUM_THREADS`` when set, which also sets numpy's BLAS threads). The two
libraries run alternately and each figure is a median over ``--repeat`` runs (the machine
may be shared; "min" columns show the best run). Ratio = PyTorch time / ktrain time
(higher is better for ktrain).
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
import ktrain.nn as knn  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional: the table then has no torch column
    torch = None

# name, in, out, size, kernel, stride, padding, uses in ResNet-20
LAYERS = [
    ("conv1 3->16 32x32", 3, 16, 32, 3, 1, 1, 1),
    ("16->16 32x32", 16, 16, 32, 3, 1, 1, 6),
    ("16->32 32x32 s2", 16, 32, 32, 3, 2, 1, 1),
    ("32->32 16x16", 32, 32, 16, 3, 1, 1, 5),
    ("32->64 16x16 s2", 32, 64, 16, 3, 2, 1, 1),
    ("64->64 8x8", 64, 64, 8, 3, 1, 1, 5),
    ("1x1 16->32 s2", 16, 32, 32, 1, 2, 0, 1),
    ("1x1 32->64 s2", 32, 64, 16, 1, 2, 0, 1),
]


def _median_ms(times):
    return statistics.median(times) * 1e3


def ktrain_case(cin, cout, size, k, s, p, batch, train):
    conv = knn.Conv2d(cin, cout, k, s, p, bias=False)
    x = kt.randn(batch, cin, size, size, requires_grad=train and cin != 3)
    if not train:
        def step():
            with kt.no_grad():
                conv(x)
        return step
    g = None

    def step():
        nonlocal g
        y = conv(x)
        if g is None:
            g = kt.ones(y.shape)
        y.backward(g)
    return step


def torch_case(cin, cout, size, k, s, p, batch, train):
    conv = torch.nn.Conv2d(cin, cout, k, s, p, bias=False)
    x = torch.randn(batch, cin, size, size, requires_grad=train and cin != 3)
    if not train:
        def step():
            with torch.no_grad():
                conv(x)
        return step
    g = None

    def step():
        nonlocal g
        y = conv(x)
        if g is None:
            g = torch.ones(y.shape)
        y.backward(g)
    return step


def stack_layers():
    """The 19 convs of ResNet-20 in order plus the two 1x1 shortcuts (applied to the block
    inputs), as (in, out, kernel, stride, padding, is_shortcut)."""
    layers = [(3, 16, 3, 1, 1, False)] + [(16, 16, 3, 1, 1, False)] * 6
    for cin, cout in ((16, 32), (32, 64)):
        layers += [(cin, cout, 1, 2, 0, True), (cin, cout, 3, 2, 1, False)]
        layers += [(cout, cout, 3, 1, 1, False)] * 5
    return layers


def stack_case(lib, batch, train):
    """Forward (and backward) through the whole conv stack of a ResNet-20 (no BN/ReLU)."""
    mod = kt if lib == "ktrain" else torch
    nnm = knn if lib == "ktrain" else torch.nn
    convs = [(nnm.Conv2d(i, o, k, s, p, bias=False), sc) for i, o, k, s, p, sc in stack_layers()]
    x = mod.randn(batch, 3, 32, 32)

    def forward():
        h = x
        outs = []
        for conv, shortcut in convs:
            if shortcut:
                outs.append(conv(h))  # a side branch: its output also gets a gradient
            else:
                h = conv(h)
        return [h] + outs

    if not train:
        def step():
            with mod.no_grad():
                forward()
        return step

    def step():
        outs = forward()
        loss = outs[0].sum()
        for o in outs[1:]:
            loss = loss + o.sum()
        loss.backward()
    return step


def run_stack(batch, repeat):
    print(f"\nResNet-20 conv stack (19 convs + 2 shortcuts, chained), batch {batch}")
    hdr = f"{'':22s} {'ktrain ms':>10s} {'(min)':>7s}"
    if torch is not None:
        hdr += f" {'torch ms':>10s} {'(min)':>7s} {'ratio':>7s}"
    print(hdr)
    for train in (True, False):
        fns = [stack_case("ktrain", batch, train)]
        if torch is not None:
            fns.append(stack_case("torch", batch, train))
        med, mins = time_pair(fns, repeat, with_min=True)
        line = f"{'training step' if train else 'inference':22s} {med[0]:10.1f} {mins[0]:7.1f}"
        if torch is not None:
            line += f" {med[1]:10.1f} {mins[1]:7.1f} {med[1] / med[0]:7.2f}"
        print(line)


def time_pair(fns, repeat, with_min=False):
    """Alternate the functions ``repeat`` times (after 2 warm-up calls); medians in ms."""
    for f in fns:
        f()
        f()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for t, f in zip(times, fns):
            t0 = time.perf_counter()
            f()
            t.append(time.perf_counter() - t0)
    med = [_median_ms(t) for t in times]
    if with_min:
        return med, [min(t) * 1e3 for t in times]
    return med


def run_table(batch, repeat, train):
    title = "forward+backward" if train else "forward (no_grad)"
    print(f"\nConv2d {title}, batch {batch}")
    hdr = f"{'layer':22s} {'ktrain ms':>10s}"
    if torch is not None:
        hdr += f" {'torch ms':>10s} {'ratio':>7s}"
    print(hdr)
    tot_k = tot_t = 0.0
    for name, cin, cout, size, k, s, p, uses in LAYERS:
        fns = [ktrain_case(cin, cout, size, k, s, p, batch, train)]
        if torch is not None:
            fns.append(torch_case(cin, cout, size, k, s, p, batch, train))
        ms = time_pair(fns, repeat)
        tot_k += uses * ms[0]
        line = f"{name:22s} {ms[0]:10.2f}"
        if torch is not None:
            tot_t += uses * ms[1]
            line += f" {ms[1]:10.2f} {ms[1] / ms[0]:7.2f}"
        print(line)
    line = f"{'ResNet-20 convs':22s} {tot_k:10.1f}"
    if torch is not None:
        line += f" {tot_t:10.1f} {tot_t / tot_k:7.2f}"
    print(line)


def profile_phases(batch, repeat):
    """Time ktrain's conv phases on raw arrays (what the GEMM floor is, what copies cost)."""
    from ktrain.ops import conv as C

    print(f"\nktrain phases per layer (ms, median of {repeat}), batch {batch}")
    print(f"{'layer':22s} {'im2col':>7s} {'gemm':>7s} {'to_nchw':>7s} {'gy^T':>7s} "
          f"{'dW gemm':>7s} {'dX':>7s} {'fwd+bwd':>8s}")
    xp = np
    for name, cin, cout, size, k, s, p, _ in LAYERS:
        x = np.random.randn(batch, cin, size, size).astype(np.float32)
        w = np.random.randn(cout, cin, k, k).astype(np.float32)
        geom = C._Geom((k, k), (s, s), (1, 1), ((p, p), (p, p)), 1)
        ho, wo = geom.out_hw(size, size)
        gy = np.random.randn(batch, cout, ho, wo).astype(np.float32)
        col = C._im2col(xp, x, geom, ho, wo)
        kk = cin * k * k
        m = batch * ho * wo
        yt = np.empty((cout, m), np.float32)
        gyt = C._gy_t(xp, gy, 1)
        phases = {
            "im2col": lambda: C._POOL.give(C._im2col(xp, x, geom, ho, wo)),
            "gemm": lambda: np.matmul(w.reshape(cout, kk), col.reshape(kk, m), out=yt),
            "to_nchw": lambda: C._to_nchw(xp, yt, batch, cout, ho, wo, None),
            "gy^T": lambda: C._POOL.give(C._gy_t(xp, gy, 1)),
            "dW gemm": lambda: C._conv_weight_grad(x, gy, geom, w.shape, col, gyt),
            "dX": lambda: C._conv_input_grad(gy, w, geom, (size, size), None, gyt),
        }

        def full():
            y, c = C._conv_forward(x, w, None, geom, True)
            C._fused_backward(gy, x, w, c, geom, cin != 3, True, False)
            C._POOL.give(c)
        phases["fwd+bwd"] = full
        res = {}
        for key, f in phases.items():
            f()
            res[key] = _median_ms([_timed(f) for _ in range(repeat)])
        print(f"{name:22s} " + " ".join(f"{res[key]:7.2f}" for key in phases))


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--profile", action="store_true", help="also time ktrain's phases")
    ap.add_argument("--no-inference", action="store_true", help="skip the forward-only table")
    ap.add_argument("--profile-only", action="store_true", help="only the phase table")
    ap.add_argument("--stack-only", action="store_true", help="only the whole-stack timing")
    args = ap.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", 2)))
    kt.manual_seed(0)
    if args.stack_only:
        run_stack(args.batch, args.repeat)
        return
    if not args.profile_only:
        run_stack(args.batch, args.repeat)
        run_table(args.batch, args.repeat, True)
        if not args.no_inference:
            run_table(args.batch, args.repeat, False)
    if args.profile or args.profile_only:
        profile_phases(args.batch, args.repeat)


if __name__ == "__main__":
    main()
