"""Where the step time of the bench_models workloads goes: ktrain's profiler (and, with
``--torch-python``, torch.profiler on the same model code) over a few steps.

    python benchmarks/profile_models.py --only resnet20 lstm --threads 2
    python benchmarks/profile_models.py --torch-python /work/bench-venv/bin/python \
        --markdown > /tmp/profiles.md

Each workload runs in a fresh process per framework with the thread count set before
import (as bench_models does), warms up for ``--warmup`` steps, then profiles ``--steps``
steps. Printed per framework: the step time under the profiler (recording costs ktrain
a few microseconds per op: compare shares, not the totals, with bench_models' figures)
and the top ops by self time, with their share of the profiled time. Run it on an idle
machine: a profile under load moves time into whichever op was preempted.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _harness import BLAS_OVERRIDES  # noqa: E402


def _worker(fw_name, workload, threads, warmup, steps, top):
    """In a fresh process: profile ``workload``; print one JSON line."""
    os.environ.update({k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                  "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")})
    if fw_name == "torch":
        import torch as fw
        fw.set_num_threads(threads)
    else:
        import ktrain as fw
        fw.set_num_threads(threads)
    import time

    from bench_models import make_step

    fw.manual_seed(0)
    step = make_step(fw, workload)
    for _ in range(warmup):
        step()
    from_prof = fw.profiler
    t0 = time.perf_counter()
    with from_prof.profile(activities=[from_prof.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    wall = (time.perf_counter() - t0) / steps * 1e3
    avg = prof.key_averages()
    total = sum(a.self_cpu_time_total for a in avg)
    rows = sorted(avg, key=lambda a: a.self_cpu_time_total, reverse=True)[:top]
    print(json.dumps({"fw": fw_name, "workload": workload, "threads": threads,
                      "step_ms": wall, "total_us": total / steps,
                      "rows": [(a.key, a.self_cpu_time_total / steps / 1e3,
                                a.self_cpu_time_total / total, a.count // steps)
                               for a in rows]}))


def _run(python, fw_name, workload, args):
    cmd = [python, os.path.abspath(__file__), "--worker", fw_name, "--only", workload,
           "--threads", str(args.threads), "--warmup", str(args.warmup),
           "--steps", str(args.steps), "--top", str(args.top)]
    env = dict(os.environ)
    if not args.keep_env:  # as bench_models: what a fresh install runs (see _harness.py)
        for v in BLAS_OVERRIDES:
            env.pop(v, None)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE, env=env)
    if r.returncode != 0:
        raise SystemExit(f"profile_models: the {fw_name} worker for {workload} failed:\n"
                         f"{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _print(res, markdown):
    name = f"{res['fw']} {res['workload']}, {res['threads']} thread(s)"
    head = f"{name}: {res['step_ms']:.1f} ms/step under the profiler"
    if markdown:
        print(f"\n**{head}**\n\n| op | ms/step | share | calls/step |\n|---|---:|---:|---:|")
        for key, ms, share, calls in res["rows"]:
            print(f"| `{key}` | {ms:.2f} | {100 * share:.1f}% | {calls} |")
    else:
        print(f"\n{head}")
        for key, ms, share, calls in res["rows"]:
            print(f"  {key[:48]:<48} {ms:9.2f} ms {100 * share:6.1f}%  x{calls}")


def main(argv=None):
    from bench_models import WORKLOADS

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--top", type=int, default=10, help="ops shown per profile")
    p.add_argument("--torch-python", help="a Python with torch: profile PyTorch too")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--keep-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (removed by default)")
    p.add_argument("--worker", choices=("ktrain", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.only[0], args.threads, args.warmup, args.steps,
                       args.top)
    load = os.getloadavg()[0]
    print(f"profile_models: {args.threads} thread(s), load {load:.2f} before")
    for w in args.only:
        _print(_run(sys.executable, "ktrain", w, args), args.markdown)
        if args.torch_python:
            _print(_run(args.torch_python, "torch", w, args), args.markdown)
    print(f"\nload {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
