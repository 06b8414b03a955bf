"""Wall time of the headline run ``ktrain fit conf/resnet.yaml`` with its default settings.

    python benchmarks/bench_fit.py                         # one run of this tree
    python benchmarks/bench_fit.py --repeat 3 --json /tmp/fit.json
    python benchmarks/bench_fit.py --rev HEAD~5 HEAD --repeat 3   # two revisions interleaved
    python benchmarks/bench_fit.py trainer.max_epochs=1    # overrides (then not the headline)

Each run is the ``ktrain`` CLI in a subprocess (``python -c 'from ktrain.cli import main'``
so that the revision's own code is used), output to a temporary directory, ``--quiet``
(no progress bar; the training itself is unchanged), start-up included. The load before
and after each run is printed; the benchmark refuses to start (exit 3) when the 1-minute
load is above 0.5 per core, unless ``--wait-idle`` or ``--force`` (figures marked UNDER
LOAD). ``--rev A B`` checks each revision out with ``git worktree add --detach`` into a
temporary folder and runs it with ``PYTHONPATH=<worktree>/src/core:<worktree>/src/vision:...``
(the plugins are found through the entry points of the installed distributions, which import
``ktrain_vision`` etc. by name: the worktree's copy comes first on the path; each run checks
that ``ktrain`` and ``ktrain_vision`` really come from the worktree and stops otherwise). The
revisions alternate A B, B A, ... and the median wall time of each is reported.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import _harness as H  # noqa: E402

PLUGIN_DIRS = ("core", "vision", "audio", "text")
RUN = "import sys; from ktrain.cli import main; sys.exit(main())"
CHECK = ("import os, ktrain, ktrain_vision; "
         "print(os.path.realpath(ktrain.__file__)); print(os.path.realpath(ktrain_vision.__file__))")


def tree_env(tree):
    env = dict(os.environ)
    paths = [os.path.join(tree, "src", d) for d in PLUGIN_DIRS
             if os.path.isdir(os.path.join(tree, "src", d))]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH")
                                                 else []))
    return env


def check_tree(tree, python):
    """Stop unless ktrain and ktrain_vision import from ``tree``."""
    r = subprocess.run([python, "-c", CHECK], capture_output=True, text=True,
                       env=tree_env(tree), cwd=tempfile.gettempdir())
    real = os.path.realpath(tree)
    files = r.stdout.split()
    if r.returncode != 0 or len(files) != 2 or not all(f.startswith(real) for f in files):
        raise SystemExit(f"{tree}: ktrain/ktrain_vision do not import from this tree "
                         f"({files or r.stderr.strip()[-300:]}); --rev is not reliable here")


def fit_once(tree, python, config, overrides):
    with tempfile.TemporaryDirectory(prefix="ktrain_bench_fit_") as out:
        cmd = [python, "-c", RUN, "fit", os.path.join(tree, config), *overrides, "--quiet",
               "-o", out]
        la0 = H.read_loadavg()[0]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=tree_env(tree), cwd=out)
        wall = time.perf_counter() - t0
        la1 = H.read_loadavg()[0]
    if r.returncode != 0:
        raise SystemExit(f"ktrain fit failed in {tree}:\n{r.stderr[-2000:]}")
    return {"wall_s": wall, "load_before": la0, "load_after": la1,
            "stdout_tail": r.stdout.strip().splitlines()[-3:]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="config overrides (default: none)")
    p.add_argument("--config", default="conf/resnet.yaml")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--rev", nargs=2, metavar=("A", "B"), help="time two git revisions")
    p.add_argument("--python", default=sys.executable, help="interpreter (default: this one)")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--force", action="store_true")
    p.add_argument("--wait-idle", action="store_true")
    args = p.parse_args(argv)
    try:
        before, under_load = H.check_load(args.force, args.wait_idle)
    except SystemExit as e:
        H._log(str(e.code))
        raise SystemExit(H.EXIT_UNDER_LOAD) from None
    tmp = tempfile.mkdtemp(prefix="ktrain_bench_rev_")
    trees, added = {}, []
    try:
        if args.rev:
            for rev in args.rev:
                wt = os.path.join(tmp, rev.replace("/", "_").replace("~", "_"))
                subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", wt, rev],
                               check=True, capture_output=True, text=True)
                added.append(wt)
                trees[rev] = wt
        else:
            trees["this tree"] = ROOT
        for t in trees.values():
            check_tree(t, args.python)
        names = list(trees)
        runs = {n: [] for n in names}
        for i in range(args.repeat):
            for n in (names if i % 2 == 0 else names[::-1]):
                H._log(f"[{i + 1}/{args.repeat}] ktrain fit {args.config} ({n}) ...")
                r = fit_once(trees[n], args.python, args.config, args.overrides)
                H._log(f"    {r['wall_s']:.1f} s (load {r['load_before']:.2f} -> "
                       f"{r['load_after']:.2f})")
                runs[n].append(r)
    finally:
        for wt in added:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", wt],
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    after = H.load_snapshot()
    mark = f"  {H.UNDER_LOAD}" if under_load else ""
    print(f"\nktrain fit {args.config} {' '.join(args.overrides)} wall time; "
          f"{H.cpu_model()}, {H.cores()} cores; load before {before['loadavg'][0]:.2f}, "
          f"after {after['loadavg'][0]:.2f}")
    summary = {}
    for n in names:
        w = [r["wall_s"] for r in runs[n]]
        summary[n] = statistics.median(w)
        print(f"{n:20s} median {summary[n]:7.1f} s  runs {', '.join(f'{x:.1f}' for x in w)}"
              + mark)
    if len(names) == 2:
        a, b = names
        print(f"{a} / {b}: {summary[a] / summary[b]:.2f}x" + mark)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": H.machine_info(), "config": args.config,
                       "overrides": args.overrides, "load_before": before,
                       "load_after": after, "under_load": under_load, "runs": runs,
                       "median_s": summary}, f, indent=1)
    return summary


if __name__ == "__main__":
    main()
