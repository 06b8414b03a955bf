"""Conv2d forward+backward on the layers of a CIFAR ResNet-20, ktrain beside PyTorch,
interleaved in rounds (``_harness.py``), for 1 thread and all cores, with a load check.

    python benchmarks/bench_conv.py --torch-python /work/bench-venv/bin/python
    python benchmarks/bench_conv.py --torch-python /work/bench-venv/bin/python --stack-only
    python benchmarks/bench_conv.py --profile-only        # ktrain's phases, in this process

Tables: the whole conv stack of a ResNet-20 (19 convs and the two 1x1 shortcuts, chained,
no BN/ReLU) for a training step and for inference; then each distinct layer,
forward+backward and forward under no_grad, followed by a "ResNet-20 convs" line that weights
each layer's median by how often the network uses it. ``--profile`` adds ktrain's time per
phase (im2col copy, GEMM, copy to NCHW, transposed output gradient, weight-gradient GEMM,
input gradient) on raw arrays, in this process (ktrain only, after the same load check).

One persistent worker per framework and thread count serves every case (the memory
figures are therefore not reported here); each case is built, warmed up, then timed in
``--rounds`` alternating rounds. Ratio = PyTorch time / ktrain time (>= 1: ktrain faster),
the median of the per-round ratios. Refuses to run (exit 3) when the 1-minute load is above
0.5 per core unless ``--wait-idle`` or ``--force`` (figures then marked UNDER LOAD).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

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


def conv_layer(fw, cin, cout, size, k, s, p, batch, train):
    """One Conv2d layer: forward+backward (``train``) or forward under no_grad."""
    conv = fw.nn.Conv2d(cin, cout, k, s, p, bias=False)
    x = fw.randn(batch, cin, size, size, requires_grad=train and cin != 3)
    if not train:
        def step():
            with fw.no_grad():
                conv(x).numpy()  # materialise: ktrain may defer a no_grad conv (fusion)
        return step
    g = None

    def step():
        nonlocal g
        y = conv(x)
        if g is None:
            g = fw.ones(y.shape)
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


def conv_stack(fw, batch, train):
    """Forward (and backward) through the whole conv stack of a ResNet-20 (no BN/ReLU)."""
    convs = [(fw.nn.Conv2d(i, o, k, s, p, bias=False), sc) for i, o, k, s, p, sc in stack_layers()]
    x = fw.randn(batch, 3, 32, 32)

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
            with fw.no_grad():
                for y in forward():
                    y.numpy()  # materialise: ktrain may defer a no_grad conv (fusion)
        return step

    def step():
        outs = forward()
        loss = outs[0].sum()
        for o in outs[1:]:
            loss = loss + o.sum()
        loss.backward()
    return step


def profile_phases(batch, repeat):
    """Time ktrain's conv phases on raw arrays (what the GEMM floor is, what copies cost)."""
    import numpy as np

    sys.path.insert(0, os.path.join(HERE, "..", "src", "core"))
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


def cases(batch, stack=True, layers=True, inference=True):
    import _harness as H

    out = []
    modes = (True, False) if inference else (True,)
    if stack:
        for train in modes:
            out.append(H.Case(f"stack_{'train' if train else 'infer'}",
                              f"ResNet-20 conv stack, {'fwd+bwd' if train else 'no_grad fwd'}",
                              __file__, "conv_stack", {"batch": batch, "train": train}))
    if layers:
        for train in modes:
            for name, cin, cout, size, k, s, p, _ in LAYERS:
                out.append(H.Case(f"{name}|{'train' if train else 'infer'}",
                                  f"{name} {'fwd+bwd' if train else 'fwd'}", __file__,
                                  "conv_layer", dict(cin=cin, cout=cout, size=size, k=k, s=s,
                                                     p=p, batch=batch, train=train)))
    return out


def weighted_lines(results):
    """"ResNet-20 convs": each layer's median weighted by its uses, per mode and threads."""
    uses = {name: u for name, *_, u in LAYERS}
    tot = {}
    for r in results:
        if "|" not in r["case"]:
            continue
        name, mode = r["case"].split("|")
        key = (mode, r["threads"])
        acc = tot.setdefault(key, {})
        for f, fr in r["frameworks"].items():
            if "median_s" in fr:
                acc[f] = acc.get(f, 0.0) + uses[name] * fr["median_s"]
            else:
                acc[f] = float("nan")
    lines = []
    for (mode, th), acc in tot.items():
        k, t = acc.get("ktrain"), acc.get("torch")
        line = f"ResNet-20 convs ({'fwd+bwd' if mode == 'train' else 'fwd'}, {th} thr): " \
               f"ktrain {k * 1e3:.1f} ms"
        if t is not None:
            line += f", torch {t * 1e3:.1f} ms, ratio {t / k:.2f}"
        lines.append(line)
    return lines


def main(argv=None):
    import _harness as H

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--profile", action="store_true", help="also time ktrain's phases")
    ap.add_argument("--repeat", type=int, default=15, help="timed runs per phase (--profile)")
    ap.add_argument("--no-inference", action="store_true", help="skip the forward-only cases")
    ap.add_argument("--profile-only", action="store_true", help="only the phase table")
    ap.add_argument("--stack-only", action="store_true", help="only the whole-stack timing")
    H.add_arguments(ap, rounds=5, round_s=0.3)
    args = ap.parse_args(argv)
    if args.profile_only:
        try:
            H.check_load(args.force, args.wait_idle, args.wait_timeout)
        except SystemExit as e:
            H._log(str(e.code))
            raise SystemExit(H.EXIT_UNDER_LOAD) from None
        profile_phases(args.batch, args.repeat)
        return None
    report = H.main_run(args, cases(args.batch, layers=not args.stack_only,
                                    inference=not args.no_inference),
                        f"bench_conv: ResNet-20 convolutions, batch {args.batch}", unit="ms",
                        memory=False, fresh=False)
    for line in weighted_lines(report["results"]):
        print(line + (f"  [{H.UNDER_LOAD}]" if report["under_load"] else ""))
    if args.profile:
        profile_phases(args.batch, args.repeat)
    return report


if __name__ == "__main__":
    main()
