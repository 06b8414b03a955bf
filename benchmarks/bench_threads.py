"""BLAS thread policy: step times with 1 thread, all cores and the default 'auto' policy,
on an idle machine and beside one competing busy process.

    ../shared/tools/wait-idle && python benchmarks/bench_threads.py
    python benchmarks/bench_threads.py --only resnet20 conf:resnet --rounds 3
    python benchmarks/bench_threads.py --data ~/data     # also the configs that need data

Two kinds of workload:
- ``bench_models.py``'s training steps (mlp, transformer, resnet20, resnet20_infer, lstm):
  each (workload, setting) in its own process, warmed up for 1.5 s (so 'auto' has looked at
  the machine once), then the median of ``--steps`` steps.
- the shipped configs (``conf:NAME``): the wall time of a short ``ktrain fit conf/NAME.yaml``
  (2 epochs of the headline run, a few dozen batches of the others), start-up included.
  Configs that need a dataset run when ``--data`` holds it (``mnist/``, ``fsdd/recordings``,
  ``sentiment_labelled_sentences/``, ``tinyshakespeare/input.txt``: the folder layout of
  the project's test data) and are skipped otherwise.

Settings are interleaved in rounds (1, all, auto, 1, all, auto, ...) and each cell is the
median over rounds. 'busy' starts one pure-Python spinning process for the duration of the
condition. The load average is printed before and after each condition; an 'idle' figure
taken with a 1-minute load above 0.5 per core is flagged, since it is not a result, and the
run refuses to start (exit 3) at such a load unless ``--force`` or ``--wait-idle``.
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (set on some machines to work around old OpenBLAS bugs;
they slow a current numpy) are removed from the workers' environment unless ``--keep-env``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _harness import BLAS_OVERRIDES  # noqa: E402

STEP_WORKLOADS = ("mlp", "transformer", "resnet20", "resnet20_infer", "lstm")


def _configs(data):
    """name -> (config file, overrides) or None when its data is missing."""
    d = os.path.expanduser(data) if data else None

    def need(*parts):
        if d is None:
            return None
        p = os.path.join(d, *parts)
        return p if os.path.exists(p) else None

    mnist, fsdd = need("mnist"), need("fsdd", "recordings")
    sent, shakes = need("sentiment_labelled_sentences"), need("tinyshakespeare", "input.txt")
    out = {
        "resnet": ("resnet.yaml", ["trainer.max_epochs=2"]),
        "mlp_synthetic": ("mlp_synthetic.yaml", ["trainer.max_epochs=5"]),
        "mnist_lenet": mnist and ("mnist_lenet.yaml", [
            f"data.root={mnist}", "data.source=test", "trainer.max_epochs=1",
            "trainer.limit_train_batches=60", "trainer.limit_val_batches=10"]),
        "audio_digits": fsdd and ("audio_digits.yaml", [
            f"data.root={fsdd}", "trainer.max_epochs=1", "trainer.limit_train_batches=30",
            "trainer.limit_val_batches=5"]),
        "text_cls": sent and ("text_cls.yaml", [
            "data.files=[" + ",".join(sorted(
                os.path.join(sent, f) for f in os.listdir(sent) if f.endswith("_labelled.txt")))
            + "]", "trainer.max_epochs=2"]),
        "char_lm": shakes and ("char_lm.yaml", [
            f"data.files=[{shakes}]", "trainer.max_epochs=1", "trainer.limit_train_batches=40",
            "trainer.limit_val_batches=5"]),
    }
    return out


def _env(setting, keep_env):
    env = dict(os.environ)
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(v, None)
    if not keep_env:
        for v in BLAS_OVERRIDES:
            env.pop(v, None)
    env["KTRAIN_NUM_THREADS"] = setting
    env["PYTHONPATH"] = os.path.join(ROOT, "src", "core") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def step_worker(name, steps):
    """Median ms of a training (or inference) step of bench_models' workload ``name``."""
    import ktrain as fw
    from bench_models import build

    model, x, y = build(fw, name)
    infer = name.endswith("_infer")
    if infer:
        model.eval()
    opt = fw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = fw.nn.CrossEntropyLoss()

    def step():
        if infer:
            with fw.no_grad():
                model(x).numpy()  # materialise: ktrain may defer no_grad convolutions
            return
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    t_end, n = time.monotonic() + 1.5, 0
    while time.monotonic() < t_end or n < 2:   # warm-up; 'auto' looks at the machine
        step()
        n += 1
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, fw.get_num_threads()


def run_steps(name, setting, steps, keep_env):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--steps", str(steps)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(setting, keep_env))
    if r.returncode != 0:
        raise SystemExit(f"{name} ({setting}) failed:\n{r.stderr[-2000:]}")
    ms, threads = json.loads(r.stdout.strip().splitlines()[-1])
    return ms, threads


def run_config(spec, setting, keep_env):
    conf, over = spec
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "ktrain.cli.fit_cmd", "fit", os.path.join(ROOT, "conf", conf),
               *over, "trainer.enable_checkpointing=false", "trainer.enable_plots=false",
               f"trainer.num_threads={setting}", "--quiet", "-o", out]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=out,
                           env=_env(setting, keep_env))
        wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{conf} ({setting}) failed:\n{r.stderr[-2000:]}")
    return wall * 1e3, None


def _load():
    return os.getloadavg()[0]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", help="workloads (mlp ... lstm) and configs (conf:resnet)")
    p.add_argument("--conditions", nargs="*", default=["idle", "busy"],
                   choices=["idle", "busy"])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--data", help="a folder with the datasets the data-backed configs need")
    p.add_argument("--keep-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the workers' environment")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--force", action="store_true",
                   help="run even when the machine is busy (the idle figures are then flagged)")
    p.add_argument("--wait-idle", action="store_true",
                   help="wait until the 1-minute load is below 0.5 per core first")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(step_worker(args.worker, args.steps)))
        return
    import _harness as H

    try:  # the 'idle' condition needs an idle machine: refuse (exit 3) unless --force
        H.check_load(args.force or args.conditions == ["busy"], args.wait_idle)
    except SystemExit as e:
        H._log(str(e.code))
        raise SystemExit(H.EXIT_UNDER_LOAD) from None

    from ktrain._threads import num_cores

    cores = num_cores()
    configs = _configs(args.data)
    jobs = [(w, None) for w in STEP_WORKLOADS] + [
        (f"conf:{c}", spec) for c, spec in configs.items()]
    if args.only:
        unknown = set(args.only) - {j for j, _ in jobs}
        if unknown:
            raise SystemExit(f"unknown workloads {sorted(unknown)}; choose from "
                             f"{[j for j, _ in jobs]}")
        jobs = [j for j in jobs if j[0] in args.only]
    skipped = [j for j, spec in jobs if j.startswith("conf:") and spec is None]
    jobs = [j for j in jobs if not (j[0].startswith("conf:") and j[1] is None)]
    settings = ["1", str(cores), "auto"]
    print(f"{cores} cores; settings: 1 thread, {cores} threads, auto; "
          f"rounds {args.rounds}; unit: ms per step (workloads) or wall ms (conf:)")
    if skipped:
        print(f"skipped (no data; pass --data): {', '.join(skipped)}")
    results = []
    for cond in args.conditions:
        before = _load()
        flag = "" if cond == "busy" or before < 0.5 * cores else \
            "   <-- NOT IDLE: not a result"
        print(f"\n[{cond}] load before {before:.2f}{flag}")
        spin = None
        if cond == "busy":
            spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            print(f"{'workload':24s} {'1 thread':>10s} {cores:>3d} threads {'auto':>10s} "
                  f"{'auto/best':>9s} {'auto thr':>8s}")
            for name, spec in jobs:
                cells = {s: [] for s in settings}
                auto_threads = []
                for _ in range(args.rounds):
                    for s in settings:
                        if spec is None:
                            ms, th = run_steps(name, s, args.steps, args.keep_env)
                        else:
                            ms, th = run_config(spec, s, args.keep_env)
                        cells[s].append(ms)
                        if s == "auto" and th is not None:
                            auto_threads.append(th)
                med = {s: statistics.median(v) for s, v in cells.items()}
                best = min(med["1"], med[str(cores)])
                ratio = med["auto"] / best
                th = "/".join(str(t) for t in auto_threads) or "-"
                print(f"{name:24s} {med['1']:10.1f} {med[str(cores)]:11.1f} "
                      f"{med['auto']:10.1f} {ratio:9.2f} {th:>8s}", flush=True)
                results.append({"condition": cond, "workload": name, **med,
                                "auto_over_best": ratio, "auto_threads": auto_threads})
        finally:
            if spin is not None:
                spin.kill()
                spin.wait()
        print(f"[{cond}] load after {_load():.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
