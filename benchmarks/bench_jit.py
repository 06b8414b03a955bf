"""Inference through ``ktrain.jit``: eager ``no_grad`` (with the eager inference fusion of
``ops.conv_fusion``), the traced graph, and the traced graph after ``eval_optimized()``
(BatchNorm folded, ReLU fused, constants folded, dead code dropped), with a load check.

    python benchmarks/bench_jit.py --wait-idle
    python benchmarks/bench_jit.py --only resnet20 --rounds 3 --threads 2

Times: one process per workload, the three variants built there and timed in alternating
rounds (E T O, T O E, ...), median per variant; ratio = eager time / variant time (>= 1:
the graph is faster). Peak memory: what one call allocates at its peak (``tracemalloc``
counts numpy's arrays), with the convolutions' buffer pool emptied before each variant. Outputs are checked against eager (max abs difference).
Refuses (exit 3) when the 1-minute load is above 0.5 per core, unless ``--force``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

WORKLOADS = {
    "resnet20": "ResNet-20 (CIFAR), b256 32x32",
    "resnet18": "ResNet-18, b8 224x224",
    "transformer": "Transformer classifier 2L d128 h4, b32 seq64",
}
VARIANTS = ("eager", "traced", "optimized")


def build(name):
    """(model in eval mode, call(model) -> output tensor) for workload ``name``."""
    import ktrain

    ktrain.manual_seed(0)
    if name in ("resnet20", "resnet18"):
        from ktrain_vision.models import get_model

        model = get_model(name, num_classes=10).eval()
        x = ktrain.randn(*((256, 3, 32, 32) if name == "resnet20" else (8, 3, 224, 224)))
        return model, (x,), {}
    if name == "transformer":
        from ktrain_text.models import TransformerClassifier

        model = TransformerClassifier(10000, 2, d_model=128, n_head=4, n_layer=2).eval()
        ids = ktrain.randint(1, 10000, (32, 64))
        return model, (), {"input_ids": ids, "attention_mask": ktrain.ones(32, 64,
                                                                         dtype=ktrain.int64)}
    raise SystemExit(f"unknown workload {name!r}; choose from {sorted(WORKLOADS)}")


def variants(name):
    import warnings

    import ktrain

    model, args, kwargs = build(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ktrain.jit.TracerWarning)
        traced = ktrain.jit.trace(model, args, example_kwarg_inputs=kwargs or None)
    optimized = traced.eval_optimized()

    def runner(m):
        def run():
            with ktrain.no_grad():
                return m(*args, **kwargs).numpy()   # materialise (eager defers convs)
        return run

    return {"eager": runner(model), "traced": runner(traced),
            "optimized": runner(optimized)}


def peak_mib(run):
    """Peak bytes (MiB) the Python and numpy allocations of one call add (``tracemalloc``;
    the convolutions' buffer pool emptied first, so every variant pays for its own work
    arrays)."""
    import gc
    import tracemalloc

    from ktrain.ops._buffer_pool import _POOL

    gc.collect()
    _POOL.clear()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        run()
        return (tracemalloc.get_traced_memory()[1] - start) / 2 ** 20
    finally:
        tracemalloc.stop()


def main(argv=None):
    import _harness as H

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=H.cores())
    p.add_argument("--force", action="store_true")
    p.add_argument("--wait-idle", action="store_true")
    p.add_argument("--json")
    args = p.parse_args(argv)
    from threadpoolctl import threadpool_limits

    import ktrain
    import numpy as np

    before, under = H.check_load(args.force, args.wait_idle)
    ktrain.set_num_threads(args.threads)
    rows = []
    for name in args.only:
        with threadpool_limits(args.threads):
            runs = variants(name)
            ref = runs["eager"]()
            diffs = {v: float(np.abs(runs[v]() - ref).max()) for v in VARIANTS}
            for v in VARIANTS:   # warm-up
                runs[v]()
            times = {v: [] for v in VARIANTS}
            for r in range(args.rounds):
                order = VARIANTS[r % 3:] + VARIANTS[:r % 3]
                for v in order:
                    k = 3 if name != "resnet18" else 2
                    t0 = time.perf_counter()
                    for _ in range(k):
                        runs[v]()
                    times[v].append((time.perf_counter() - t0) / k * 1e3)
        med = {v: statistics.median(times[v]) for v in VARIANTS}
        mem = {v: peak_mib(runs[v]) for v in VARIANTS}
        rows.append({"workload": WORKLOADS[name], "ms": med, "diff": diffs, "added_mib": mem,
                     "rounds": times})
        print(f"{WORKLOADS[name]}: " + ", ".join(
            f"{v} {med[v]:.1f} ms (x{med['eager'] / med[v]:.2f}, +{mem[v]:.0f} MiB, "
            f"max diff {diffs[v]:.1e})" for v in VARIANTS), flush=True)
    after = H.load_snapshot()
    la0, la1 = before["loadavg"][0], after["loadavg"][0]
    info = H.machine_info()
    print(f"\n{info['cpu_model']}, {args.threads} thread(s), commit {info['git']}; load before "
          f"{la0:.2f}, after {la1:.2f}{' UNDER LOAD' if under else ''}\n")
    print("| workload | eager ms | traced ms | optimised ms | optimised / eager | "
          "added MiB eager / traced / optimised | max abs diff (optimised) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        m, a = r["ms"], r["added_mib"]
        print(f"| {r['workload']} | {m['eager']:.1f} | {m['traced']:.1f} | "
              f"{m['optimized']:.1f} | {m['eager'] / m['optimized']:.2f}x | "
              f"{a['eager']:.0f} / {a['traced']:.0f} / {a['optimized']:.0f} | "
              f"{r['diff']['optimized']:.1e} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "load_before": la0, "load_after": la1,
                       "machine": info}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
