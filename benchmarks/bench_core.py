"""Per-op overhead and backward cost of ktrain beside raw numpy and PyTorch CPU, interleaved
in rounds (``_harness.py``), for 1 thread and all cores, with a load check.

    python benchmarks/bench_core.py --torch-python /work/bench-venv/bin/python
    python benchmarks/bench_core.py --torch-python /work/bench-venv/bin/python --threads 1

Cases: small-tensor ops (add, mul, 8x8 matmul, sum on 4-element tensors), without and with
``requires_grad`` (the autograd recording cost), each step being ``--number`` calls and the
figure the time of one call; and the backward of a 1,000-op chain (mul/add alternating,
the chain built outside the timed part). One worker per framework (numpy, ktrain, PyTorch)
and thread count serves every case; the frameworks alternate in rounds. Ratio = PyTorch time
/ ktrain time (>= 1: ktrain faster). Refuses to run (exit 3) when the 1-minute load is above
0.5 per core unless ``--wait-idle`` or ``--force`` (figures then marked UNDER LOAD).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

OPS = ("add", "mul", "matmul 8x8", "sum")


def small_op(fw, op, requires_grad, number):
    """``number`` calls of the small op ``op`` (the harness divides the time by it)."""
    if fw.__name__ == "numpy":
        a, b, m = fw.ones(4, fw.float32), fw.ones(4, fw.float32), fw.ones((8, 8), fw.float32)
    else:
        a = fw.ones(4, requires_grad=requires_grad)
        b = fw.ones(4, requires_grad=requires_grad)
        m = fw.ones(8, 8, requires_grad=requires_grad)
    f = {"add": lambda: a + b, "mul": lambda: a * b, "matmul 8x8": lambda: m @ m,
         "sum": lambda: a.sum()}[op]
    rng = range(number)

    def step():
        for _ in rng:
            f()
    return step, number


def chain_backward(fw, n_ops=1000):
    """Backward through a chain of ``n_ops`` small ops; the step times only the backward."""
    def step():
        x = fw.ones(16, requires_grad=True)
        y = x
        for _ in range(n_ops // 2):
            y = y * 1.0001
            y = y + 0.5
        loss = y.sum()
        t0 = time.perf_counter()
        loss.backward()
        return time.perf_counter() - t0
    return step


def cases(number):
    import _harness as H

    out = []
    for rg in (False, True):
        for op in OPS:
            out.append(H.Case(f"{op}|{rg}", op + (" (requires_grad)" if rg else ""), __file__,
                              "small_op", dict(op=op, requires_grad=rg, number=number),
                              frameworks=None if not rg else ("ktrain", "torch")))
    out.append(H.Case("chain", "backward of a 1,000-op chain", __file__, "chain_backward",
                      frameworks=("ktrain", "torch")))
    return out


def main(argv=None):
    import _harness as H

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--number", type=int, default=2000, help="calls per timed step")
    H.add_arguments(p, rounds=5, round_s=0.3)
    args = p.parse_args(argv)
    report = H.main_run(args, cases(args.number), "bench_core: per-op overhead", unit="us",
                        memory=False, fresh=False, frameworks=("ktrain", "torch", "numpy"))
    print("\nraw numpy (same ops, no autograd), us per call:")
    for r in report["results"]:
        fr = r["frameworks"].get("numpy", {})
        if "median_s" in fr:
            print(f"  {r['label']:32s} {fr['median_s'] * 1e6:8.2f} ({r['threads']} thr)"
                  + (f"  {H.UNDER_LOAD}" if report["under_load"] else ""))
    return report


if __name__ == "__main__":
    main()
