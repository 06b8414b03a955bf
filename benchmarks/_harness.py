"""Interleaved A/B benchmark harness: ktrain beside PyTorch (and numpy), with a load check.

Used by ``bench_models.py``, ``bench_conv.py``, ``bench_core.py`` and ``bench_optim.py``.

How a figure is made
--------------------
- For each case (a workload) and each thread count, one **persistent worker subprocess per
  framework** is started (``python benchmarks/_harness.py --worker``). Its environment sets
  ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS``/``KTRAIN_NUM_THREADS`` to
  the thread count *before* anything is imported; then PyTorch gets
  ``torch.set_num_threads(n)`` + ``torch.set_num_interop_threads(1)`` and ktrain
  ``ktrain.set_num_threads(n)``. The worker imports the benchmark file, builds the case once
  (``factory(fw, **kwargs)`` returns the step function) and warms it up (at least
  ``warmup`` steps and ``warmup_s`` seconds).
- The parent then runs **rounds**, alternating the frameworks (A B, B A, A B, ...: the order
  flips every round so that a drift in the machine's speed hits both alike). In a round a
  worker times ``k`` steps one by one (``k`` chosen from the warm-up so that a round lasts
  about ``round_s`` seconds, or fixed by ``steps``) and sends the per-step times back over
  its pipe; the other workers wait blocked on their pipe (no CPU), and a short pause between
  turns lets OpenMP/BLAS threads stop spinning.
- Reported: the median step time of each framework over all timed steps, the ratio per
  round (PyTorch round median / ktrain round median: >= 1 means ktrain is faster) and the
  median, min and max of those ratios. Each worker reports its own peak RSS
  (``ru_maxrss``: imports, model, data and steps) and its growth during the timed steps.
  With ``fresh=True`` (the model benchmarks) every case gets a fresh worker pair, so the
  memory figures are those of that workload alone.

Load
----
Before starting, the 1-minute load average and the busy fraction of the CPUs over one
second (``/proc/stat``: nothing of ours runs yet, so that is other processes) are printed.
A 1-minute load above ``0.5`` per core makes the benchmark **refuse** (exit status 3) unless
``--wait-idle`` (poll until it is below) or ``--force`` (run, but every figure is marked
``UNDER LOAD - not a result`` in the table, the markdown and the JSON). During the timed
rounds of each case the CPU time of other processes is measured (system busy time from
``/proc/stat`` minus the workers' and the parent's own CPU time); a case where others used
more than ``0.25`` core per core is flagged ``interference``. After the run the load, minus
the benchmark's own average use, is checked the same way.
"""
from __future__ import annotations

import gc
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KTRAIN_SRC = os.path.join(ROOT, "src", "core")

LOAD_PER_CORE = 0.5          # refuse above this 1-minute load per core
INTERFERENCE_PER_CORE = 0.25  # flag a case where other processes used more than this
UNDER_LOAD = "UNDER LOAD - not a result"
EXIT_UNDER_LOAD = 3
PAUSE_S = 0.2                # between turns: lets spinning OpenMP/BLAS threads go to sleep
RATIO_PAIR = ("torch", "ktrain")  # ratio = time of the first / time of the second


# --------------------------------------------------------------------------- machine / load
def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def read_loadavg():
    """(1, 5, 15)-minute load averages (a function so that tests can replace it)."""
    return os.getloadavg()


def read_cpu_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
    except OSError:
        return None
    vals = [int(v) for v in parts[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])  # guest time is already counted in user
    return total - idle, total


def busy_fraction(interval=1.0):
    """Fraction of all CPUs busy over ``interval`` seconds (None without /proc/stat)."""
    a = read_cpu_jiffies()
    if a is None:
        return None
    time.sleep(interval)
    b = read_cpu_jiffies()
    dt = b[1] - a[1]
    return (b[0] - a[0]) / dt if dt > 0 else 0.0


def proc_cpu_s(pid):
    """User + system CPU seconds of process ``pid`` (all its threads), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _jiffy_s():
    return 1.0 / os.sysconf("SC_CLK_TCK")


def load_snapshot(interval=1.0):
    la = read_loadavg()
    return {"loadavg": [round(v, 2) for v in la], "busy_fraction": _r(busy_fraction(interval)),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _r(v, nd=3):
    return None if v is None else round(v, nd)


def load_ok(loadavg, n_cores, per_core=LOAD_PER_CORE) -> bool:
    return loadavg[0] <= per_core * n_cores


def wait_idle(n_cores, timeout_s=600.0, per_core=LOAD_PER_CORE, poll_s=5.0, log=None):
    """Poll until the 1-minute load is at most ``per_core`` per core; True when it got there."""
    log = log or _log
    t0 = time.monotonic()
    while True:
        la = read_loadavg()
        if load_ok(la, n_cores, per_core):
            log(f"wait-idle: load {la[0]:.2f} <= {per_core * n_cores:.2f} after "
                f"{time.monotonic() - t0:.0f} s")
            return True
        if time.monotonic() - t0 >= timeout_s:
            log(f"wait-idle: load still {la[0]:.2f} after {timeout_s:.0f} s")
            return False
        time.sleep(poll_s)


def check_load(force=False, wait=False, wait_timeout_s=600.0, n_cores=None, log=None,
               interval=1.0):
    """The load check before a benchmark. Returns ``(snapshot, under_load)``; raises
    ``SystemExit(3)`` with a message when the machine is busy and neither ``force`` nor a
    successful ``wait`` allows going on."""
    log = log or _log
    n_cores = n_cores or cores()
    if wait and not load_ok(read_loadavg(), n_cores):
        wait_idle(n_cores, wait_timeout_s, log=log)
    snap = load_snapshot(interval)
    la, busy = snap["loadavg"], snap["busy_fraction"]
    limit = LOAD_PER_CORE * n_cores
    busy_s = "n/a" if busy is None else f"{100 * busy:.0f}%"
    log(f"load before: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} (1/5/15 min; limit {limit:.2f} "
        f"for {n_cores} cores), CPUs busy (other processes): {busy_s}")
    if busy is not None and busy > LOAD_PER_CORE:
        log(f"warning: other processes keep {100 * busy:.0f}% of the CPUs busy right now")
    if load_ok(la, n_cores):
        return snap, False
    if force:
        log(f"--force: the 1-minute load {la[0]:.2f} is above {limit:.2f}; every figure is "
            f"marked '{UNDER_LOAD}'")
        return snap, True
    raise SystemExit(
        f"refusing to benchmark: the 1-minute load is {la[0]:.2f}, above {LOAD_PER_CORE} per "
        f"core ({limit:.2f} on {n_cores} cores): other processes would distort the figures "
        f"(PyTorch's OpenMP threads suffer more than ktrain). Wait until the machine is idle "
        f"(--wait-idle), or pass --force to get figures marked '{UNDER_LOAD}'.")


def git_commit():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return {"commit": rev or None, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    return {"cpu_model": cpu_model(), "cores": cores(), "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "python": sys.version.split()[0],
            "git": git_commit()}


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- interpreters
def find_torch_python(torch_python=None):
    """(interpreter, torch version) for the PyTorch workers, or (None, reason)."""
    exe = torch_python or sys.executable
    if torch_python is None and importlib.util.find_spec("torch") is None:
        return None, "PyTorch is not importable here (pass --torch-python PATH)"
    try:
        r = subprocess.run([exe, "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True, timeout=120)
    except OSError as e:
        return None, f"{exe}: {e}"
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"{exe} cannot import torch: {last}"
    return exe, r.stdout.strip()


# --------------------------------------------------------------------------- the worker
# OpenBLAS overrides some machines set to work around old OpenBLAS bugs: they pin the
# kernel (OPENBLAS_CORETYPE=Haswell runs AVX2 kernels on an AVX-512 CPU: a 512^3 sgemm
# 1.4-1.9x slower) and are not what a fresh install runs; removed unless --keep-env
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KEEP_ENV = [False]


def _worker_env(threads):
    env = dict(os.environ)
    if not KEEP_ENV[0]:
        for v in BLAS_OVERRIDES:
            env.pop(v, None)
    n = str(threads)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "KTRAIN_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[v] = n
    env["PYTHONPATH"] = KTRAIN_SRC + os.pathsep + HERE + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _import_framework(name, threads):
    if name == "torch":
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set (parallel work happened): keep going
            pass
        return torch
    if name == "numpy":
        import numpy

        return numpy
    if name == "ktrain":
        if KTRAIN_SRC not in sys.path:
            sys.path.insert(0, KTRAIN_SRC)
        import ktrain

        ktrain.set_num_threads(threads)
        return ktrain
    raise ValueError(f"unknown framework {name!r}")


def _framework_info(name, fw):
    info = {"framework": name, "python": sys.version.split()[0], "executable": sys.executable}
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "version",
                                                       "num_threads", "threading_layer",
                                                       "architecture")}
                               for p in threadpool_info()]
    except Exception:  # threadpoolctl is optional
        pass
    if name == "torch":
        info["torch"] = fw.__version__
        info["num_threads"] = fw.get_num_threads()
        info["num_interop_threads"] = fw.get_num_interop_threads()
    elif name == "ktrain":
        info["ktrain"] = getattr(fw, "__version__", None)
        info["num_threads"] = fw.get_num_threads()
        try:
            from ktrain import _fast

            info["fast_kernels"] = bool(_fast.available() and _fast.enabled())
        except Exception:
            pass
    return info


def _maxrss_mib():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform != "darwin" else r / 2**20


def _load_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _as_step(made):
    """A factory returns ``step`` or ``(step, inner)``: ``inner`` calls per step (the times
    are divided by it). A step that returns a number has timed itself (seconds)."""
    if isinstance(made, tuple):
        return made[0], int(made[1])
    return made, 1


def _time_steps(step, inner, k):
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        r = step()
        dt = time.perf_counter() - t0
        if isinstance(r, (int, float)) and not isinstance(r, bool):
            dt = float(r)
        times.append(dt / inner)
    return times


def worker_main(proto_out, proto_in):
    """Serve the parent: JSON lines in, JSON lines out (see ``Worker``)."""
    spec = json.loads(proto_in.readline())
    name, threads = spec["framework"], int(spec["threads"])

    def send(obj):
        proto_out.write(json.dumps(obj) + "\n")
        proto_out.flush()

    try:
        fw = _import_framework(name, threads)
        info = _framework_info(name, fw)
    except Exception as e:
        send({"error": f"import {name}: {type(e).__name__}: {e}"})
        return
    send({"ready": True, "info": info, "rss_mib": _maxrss_mib()})
    cases = {}
    for line in proto_in:
        msg = json.loads(line)
        cmd = msg["cmd"]
        try:
            if cmd == "quit":
                send({"bye": True, "peak_mib": _maxrss_mib()})
                return
            if cmd == "build":
                cid = msg["id"]
                mod = _load_module(msg["file"])
                rss0 = _maxrss_mib()
                if hasattr(fw, "manual_seed"):
                    fw.manual_seed(0)
                step, inner = _as_step(getattr(mod, msg["factory"])(fw, **msg.get("kwargs", {})))
                rss_built = _maxrss_mib()
                warm = []
                t_end = time.perf_counter() + float(msg.get("warmup_s", 0.0))
                n_min, n_max = int(msg.get("warmup", 1)), int(msg.get("warmup_max", 50))
                while len(warm) < n_min or (time.perf_counter() < t_end and len(warm) < n_max):
                    warm += _time_steps(step, inner, 1)
                tail = warm[len(warm) // 2:] or warm
                cases[cid] = (step, inner)
                gc.collect()
                send({"built": cid, "warm_step_s": statistics.median(tail),
                      "warmup_steps": len(warm), "rss_before_build_mib": rss0,
                      "rss_built_mib": rss_built, "rss_warm_mib": _maxrss_mib(),
                      "num_threads": info.get("num_threads")})
            elif cmd == "round":
                step, inner = cases[msg["id"]]
                gc.collect()
                rss0 = _maxrss_mib()
                times = _time_steps(step, inner, int(msg["steps"]))
                send({"times": times, "rss_before_mib": rss0, "rss_after_mib": _maxrss_mib()})
            elif cmd == "drop":
                cases.pop(msg["id"], None)
                gc.collect()
                send({"dropped": msg["id"]})
            else:
                send({"error": f"unknown command {cmd!r}"})
        except Exception as e:
            tb = traceback.format_exc(limit=6)
            send({"error": f"{type(e).__name__}: {e}", "traceback": tb})


class WorkerError(RuntimeError):
    pass


class Worker:
    """A persistent benchmark worker for one framework and thread count."""

    def __init__(self, framework, threads, python=None):
        self.framework, self.threads = framework, threads
        self.python = python or sys.executable
        self.proc = subprocess.Popen(
            [self.python, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=None, text=True, env=_worker_env(threads),
            cwd=ROOT)
        self.info = None
        self.peak_mib = None
        r = self.ask({"framework": framework, "threads": threads})
        self.info = r["info"]

    def ask(self, msg):
        if self.proc.poll() is not None:
            raise WorkerError(f"{self.framework} worker exited ({self.proc.returncode})")
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise WorkerError(f"{self.framework} worker exited") from None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise WorkerError(f"{self.framework} worker died (exit {self.proc.returncode}; "
                              "see its stderr above)")
        r = json.loads(line)
        if "error" in r:
            raise WorkerError(r["error"] + ("\n" + r["traceback"] if r.get("traceback") else ""))
        return r

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.peak_mib = self.ask({"cmd": "quit"})["peak_mib"]
            except WorkerError:
                pass
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.peak_mib


# --------------------------------------------------------------------------- running
class Case:
    """One thing to time: ``factory(fw, **kwargs)`` in module file ``file`` builds it."""

    def __init__(self, id, label, file, factory, kwargs=None, frameworks=None):
        self.id, self.label, self.file, self.factory = id, label, os.path.abspath(file), factory
        self.kwargs = dict(kwargs or {})
        self.frameworks = frameworks  # None: every framework of the run

    def build_msg(self, cfg):
        return {"cmd": "build", "id": self.id, "file": self.file, "factory": self.factory,
                "kwargs": self.kwargs, "warmup": cfg["warmup"], "warmup_s": cfg["warmup_s"],
                "warmup_max": cfg["warmup_max"]}


def _steps_for(warm_s, cfg):
    if cfg.get("steps"):
        return int(cfg["steps"])
    k = int(cfg["round_s"] / max(warm_s, 1e-9))
    return max(cfg["min_steps"], min(cfg["max_steps"], k))


def _ratio(pair_times):
    a, b = pair_times
    return a / b if a and b else None


def run_cases(cases, frameworks, threads_list, pythons=None, rounds=5, steps=None,
              round_s=1.0, min_steps=3, max_steps=200, warmup=2, warmup_s=1.0, warmup_max=50,
              fresh=True, under_load=False, log=None):
    """Time every case for every thread count, interleaving the frameworks in rounds.

    ``pythons`` maps a framework to its interpreter (default: this one). ``fresh``: a new
    worker per framework for every case (clean memory figures); otherwise one worker per
    framework and thread count serves every case. Returns a list of result dicts."""
    log = log or _log
    pythons = pythons or {}
    cfg = {"steps": steps, "round_s": round_s, "min_steps": min_steps, "max_steps": max_steps,
           "warmup": warmup, "warmup_s": warmup_s, "warmup_max": warmup_max}
    results = []
    for threads in threads_list:
        shared = {}
        try:
            for case in cases:
                fws = [f for f in frameworks if case.frameworks is None or f in case.frameworks]
                log(f"[{threads} thr] {case.label} ...")
                res = _run_case(case, fws, threads, pythons, rounds, cfg, fresh, shared, log)
                res["under_load"] = under_load
                if under_load:
                    res["note"] = UNDER_LOAD
                results.append(res)
                log("    " + _progress_line(res))
        finally:
            for w in shared.values():
                w.close()
    return results


def _progress_line(res):
    parts = []
    for f, r in res["frameworks"].items():
        if "error" in r:
            parts.append(f"{f} failed")
        else:
            parts.append(f"{f} {fmt_time(r['median_s'])}")
    if res.get("ratio_median") is not None:
        parts.append(f"ratio {res['ratio_median']:.2f}")
    if res.get("interference"):
        parts.append("INTERFERENCE")
    return ", ".join(parts)


def _run_case(case, fws, threads, pythons, rounds, cfg, fresh, shared, log):
    res = {"case": case.id, "label": case.label, "threads": threads, "frameworks": {}}
    workers, ks = {}, {}
    try:
        for f in fws:
            fr = res["frameworks"][f] = {}
            try:
                w = shared.get(f) if not fresh else None
                if w is None:
                    w = Worker(f, threads, pythons.get(f))
                    if not fresh:
                        shared[f] = w
                fr["info"] = w.info
                b = w.ask(case.build_msg(cfg))
                workers[f] = w
                ks[f] = _steps_for(b["warm_step_s"], cfg)
                fr.update({"warm_step_s": b["warm_step_s"], "warmup_steps": b["warmup_steps"],
                           "steps_per_round": ks[f], "build_mib": b["rss_built_mib"]
                           - b["rss_before_build_mib"], "rss_warm_mib": b["rss_warm_mib"],
                           "num_threads": b["num_threads"], "times_s": []})
            except WorkerError as e:
                fr["error"] = str(e)
                log(f"    {f}: {str(e).splitlines()[0]}")
        cpu0 = {f: w.cpu_s() for f, w in workers.items()}
        sys0, own0, t0 = read_cpu_jiffies(), _own_cpu_s(), time.perf_counter()
        order = list(workers)
        for r in range(rounds):
            for f in (order if r % 2 == 0 else order[::-1]):
                if "error" in res["frameworks"][f]:
                    continue
                time.sleep(PAUSE_S)
                try:
                    out = workers[f].ask({"cmd": "round", "id": case.id, "steps": ks[f]})
                except WorkerError as e:
                    res["frameworks"][f]["error"] = str(e)
                    continue
                fr = res["frameworks"][f]
                fr["times_s"].append(out["times"])
                fr["timed_growth_mib"] = max(fr.get("timed_growth_mib", 0.0),
                                             out["rss_after_mib"] - fr["rss_warm_mib"])
        wall = time.perf_counter() - t0
        sys1, own1 = read_cpu_jiffies(), _own_cpu_s()
        cpu1 = {f: w.cpu_s() for f, w in workers.items()}
        ours = own1 - own0
        for f in workers:
            if cpu0.get(f) is not None and cpu1.get(f) is not None:
                ours += cpu1[f] - cpu0[f]
        if sys0 is not None and sys1 is not None and wall > 0:
            busy_s = (sys1[0] - sys0[0]) * _jiffy_s()
            others = max(0.0, busy_s - ours) / wall
            res["others_cores"] = round(others, 3)
            res["own_cores"] = round(ours / wall, 3)
            res["interference"] = others > INTERFERENCE_PER_CORE * cores()
        else:
            res["others_cores"] = res["own_cores"] = None
            res["interference"] = None
        res["wall_s"] = round(wall, 3)
    finally:
        for f, w in workers.items():
            if fresh:
                peak = w.close()
            else:
                try:
                    w.ask({"cmd": "drop", "id": case.id})
                except WorkerError:
                    pass
                peak = _maxrss_of_shared(w)
            res["frameworks"][f]["peak_mib"] = peak
    summarize(res)
    return res


def _maxrss_of_shared(w):
    return None  # a shared worker's peak covers several cases: not reported per case


def _own_cpu_s():
    t = os.times()
    return t.user + t.system


def summarize(res):
    """Medians, per-round ratios and their spread, in place."""
    for f, fr in res["frameworks"].items():
        if "error" in fr or not fr.get("times_s"):
            fr.setdefault("error", fr.get("error", "no timed steps"))
            continue
        flat = [t for r in fr["times_s"] for t in r]
        fr["median_s"] = statistics.median(flat)
        fr["min_s"] = min(flat)
        fr["round_medians_s"] = [statistics.median(r) for r in fr["times_s"]]
    a, b = RATIO_PAIR
    fa, fb = res["frameworks"].get(a, {}), res["frameworks"].get(b, {})
    if "median_s" in fa and "median_s" in fb:
        rounds = [x / y for x, y in zip(fa["round_medians_s"], fb["round_medians_s"])]
        res["ratio_rounds"] = rounds
        res["ratio_median"] = statistics.median(rounds)
        res["ratio_min"], res["ratio_max"] = min(rounds), max(rounds)
        res["ratio_of_medians"] = fa["median_s"] / fb["median_s"]
    else:
        res["ratio_rounds"] = []
        res["ratio_median"] = res["ratio_min"] = res["ratio_max"] = None
        res["ratio_of_medians"] = None
    return res


def after_check(before, results, t_start, under_load, n_cores=None, log=None):
    """Load after the run; flags interference. Returns (snapshot, interference_flag)."""
    log = log or _log
    n_cores = n_cores or cores()
    snap = load_snapshot()
    wall = max(time.monotonic() - t_start, 1e-9)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    own_avg = (ch.ru_utime + ch.ru_stime + me.ru_utime + me.ru_stime) / wall
    # the 1-minute load decays with a 1-minute time constant: what we added shows in full
    # only after a long run, so subtract our average use (at most all the cores)
    excess = snap["loadavg"][0] - min(own_avg, n_cores)
    flagged = [r["case"] + f"@{r['threads']}" for r in results if r.get("interference")]
    busy = snap["busy_fraction"]
    busy_s = "n/a" if busy is None else f"{100 * busy:.0f}%"
    log(f"load after: {snap['loadavg'][0]:.2f} {snap['loadavg'][1]:.2f} "
        f"{snap['loadavg'][2]:.2f}; the benchmark itself used {own_avg:.2f} cores on average; "
        f"CPUs busy now (other processes): {busy_s}")
    interference = bool(flagged) or excess > LOAD_PER_CORE * n_cores or (
        busy is not None and busy > LOAD_PER_CORE)
    if interference:
        why = []
        if flagged:
            why.append(f"other processes used CPU during {', '.join(flagged)}")
        if excess > LOAD_PER_CORE * n_cores:
            why.append(f"load after minus own use is {excess:.2f}")
        if busy is not None and busy > LOAD_PER_CORE:
            why.append(f"other processes keep {100 * busy:.0f}% of the CPUs busy now")
        log("WARNING: possible interference: " + "; ".join(why) + ". Treat the figures with "
            "care (rerun on an idle machine).")
    snap["own_cores_avg"] = round(own_avg, 3)
    snap["load_minus_own"] = round(excess, 3)
    snap["interference"] = interference
    return snap, interference


# --------------------------------------------------------------------------- output
def fmt_time(s, unit=None):
    if s is None:
        return "-"
    unit = unit or ("s" if s >= 10 else "ms" if s >= 1e-3 else "us")
    if unit == "us":
        return f"{s * 1e6:.2f} us"
    if unit == "ms":
        return f"{s * 1e3:.2f} ms" if s < 0.1 else f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def _num(s, unit):
    if s is None:
        return "-"
    v = s * {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    return f"{v:.2f}" if v < 100 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def verdicts(results, targets, all_threads=None):
    """PASS/MISS per (case, threads): with all cores, ratio >= target; with fewer threads,
    ratio >= that case's all-cores ratio ("no workload below its all-cores ratio").
    Returns {(case, threads): (criterion text, "PASS"|"MISS"|"n/a")}."""
    out = {}
    by_case = {}
    for r in results:
        by_case.setdefault(r["case"], {})[r["threads"]] = r
    for cid, rows in by_case.items():
        top = all_threads if all_threads in rows else max(rows)
        top_ratio = rows[top].get("ratio_median")
        for th, r in rows.items():
            ratio = r.get("ratio_median")
            if th == top:
                tgt = targets.get(cid) if targets else None
                crit = f">= {tgt:.2f}" if tgt is not None else "-"
                ok = None if tgt is None or ratio is None else ratio >= tgt
            else:
                crit = f">= {top_ratio:.2f} ({top} thr)" if top_ratio is not None else "-"
                ok = None if ratio is None or top_ratio is None else ratio >= top_ratio
            if r.get("under_load"):
                out[(cid, th)] = (crit, "n/a")  # the row carries the UNDER LOAD mark
            else:
                out[(cid, th)] = (crit, "n/a" if ok is None else "PASS" if ok else "MISS")
    return out


def _row_fields(r, unit, verdict):
    k = r["frameworks"].get("ktrain", {})
    t = r["frameworks"].get("torch", {})
    ratio = r.get("ratio_median")
    if ratio is None:
        rs = "n/a"
    else:
        rs = f"{ratio:.2f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
    flag = []
    if r.get("under_load"):
        flag.append(UNDER_LOAD)
    if r.get("interference"):
        flag.append(f"interference ({r['others_cores']:.2f} cores)")
    for f, fr in r["frameworks"].items():
        if "error" in fr:
            flag.append(f"{f} failed: {fr['error'].splitlines()[0][:80]}")
    return {
        "label": r["label"], "threads": str(r["threads"]),
        "kt": _num(k.get("median_s"), unit), "th": _num(t.get("median_s"), unit) if t else "n/a",
        "ratio": rs, "crit": verdict[0] if verdict else "-",
        "verdict": verdict[1] if verdict else "-",
        "ktm": f"{k['peak_mib']:.0f}" if k.get("peak_mib") else "-",
        "thm": f"{t['peak_mib']:.0f}" if t.get("peak_mib") else "-" if t else "n/a",
        "ktg": f"{k['timed_growth_mib']:.0f}" if "timed_growth_mib" in k else "-",
        "thg": f"{t['timed_growth_mib']:.0f}" if "timed_growth_mib" in t else "-",
        "flag": "; ".join(flag),
    }


def format_table(results, unit="ms", targets=None, memory=True, all_threads=None):
    v = verdicts(results, targets, all_threads) if targets is not None else {}
    head = (f"{'case':44s} {'thr':>3s} {'ktrain ' + unit:>10s} {'torch ' + unit:>10s} "
            f"{'ratio (min-max)':>17s}")
    if targets is not None:
        head += f" {'target':>16s} {'':>4s}"
    if memory:
        head += f" {'peak MiB kt/th':>14s} {'timed +MiB':>10s}"
    lines = [head]
    for r in results:
        f = _row_fields(r, unit, v.get((r["case"], r["threads"])))
        line = f"{f['label'][:44]:44s} {f['threads']:>3s} {f['kt']:>10s} {f['th']:>10s} " \
               f"{f['ratio']:>17s}"
        if targets is not None:
            line += f" {f['crit']:>16s} {f['verdict'][:4]:>4s}"
        if memory:
            line += f" {f['ktm'] + '/' + f['thm']:>14s} {f['ktg'] + '/' + f['thg']:>10s}"
        if f["flag"]:
            line += "  " + f["flag"]
        lines.append(line)
    lines.append("ratio = PyTorch time / ktrain time (>= 1: ktrain is faster), median over "
                 "rounds (min-max of the per-round ratios)")
    return "\n".join(lines)


def format_markdown(results, unit="ms", targets=None, memory=True, all_threads=None,
                    report=None):
    v = verdicts(results, targets, all_threads) if targets is not None else {}
    cols = ["workload", "threads", f"ktrain {unit}", f"PyTorch {unit}", "ratio (min-max)"]
    if targets is not None:
        cols += ["target", "PASS/MISS"]
    if memory:
        cols += ["peak MiB ktrain", "peak MiB PyTorch"]
    out = []
    if report:
        out.append(markdown_header(report))
        out.append("")
    out += ["| " + " | ".join(cols) + " |",
            "|" + "|".join("---" if i < 2 else "---:" for i in range(len(cols))) + "|"]
    for r in results:
        f = _row_fields(r, unit, v.get((r["case"], r["threads"])))
        cells = [f["label"], f["threads"], f["kt"], f["th"], f["ratio"]]
        if targets is not None:
            cells += [f["crit"], f["verdict"]]
        if memory:
            cells += [f["ktm"], f["thm"]]
        if f["flag"]:
            cells[0] += f" **({f['flag']})**"
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def markdown_header(report):
    m = report["machine"]
    lb, la = report["load_before"], report.get("load_after") or {}
    vers = []
    for f, info in report.get("versions", {}).items():
        bits = [f"{f} {info.get(f, '')}".strip()]
        if info.get("numpy") and f != "numpy":
            bits.append(f"numpy {info['numpy']}")
        blas = [p for p in info.get("threadpools", []) if p.get("user_api") == "blas"]
        if blas:
            arch = blas[0].get("architecture")
            bits.append(f"{blas[0].get('internal_api')} {blas[0].get('version')}"
                        + (f" ({arch} kernels)" if arch else ""))
        vers.append(", ".join(bits))
    g = m.get("git", {})
    s = (f"{m['cpu_model']}, {m['cores']} cores; {'; '.join(vers)}; commit "
         f"{(g.get('commit') or '?')[:10]}{' (dirty)' if g.get('dirty') else ''}; "
         f"load before {lb['loadavg'][0]:.2f}")
    if la:
        s += f", after {la['loadavg'][0]:.2f} (own use {la.get('own_cores_avg', 0):.2f} cores)"
    if report.get("under_load"):
        s += f". **{UNDER_LOAD}**"
    elif la.get("interference"):
        s += ". **Possible interference: see the flagged rows**"
    return s


# --------------------------------------------------------------------------- command line
def add_arguments(p, rounds=5, round_s=1.0, threads=True):
    """The options every harness-based benchmark shares."""
    p.add_argument("--rounds", type=int, default=rounds,
                   help=f"interleaved rounds per case (default {rounds})")
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps per round (default: about --round-s seconds' worth)")
    p.add_argument("--round-s", type=float, default=round_s,
                   help=f"target seconds per round and framework (default {round_s})")
    p.add_argument("--warmup", type=int, default=2, help="minimum warm-up steps (default 2)")
    p.add_argument("--warmup-s", type=float, default=1.0,
                   help="minimum warm-up seconds (default 1)")
    if threads:
        p.add_argument("--threads", nargs="+", default=None,
                       help="thread counts (default: 1 and all cores); 'all' = all cores")
    p.add_argument("--torch-python", default=None,
                   help="interpreter for the PyTorch workers (e.g. /work/bench-venv/bin/python)"
                        " when PyTorch is not importable in this one")
    p.add_argument("--no-torch", action="store_true", help="ktrain figures only")
    p.add_argument("--json", metavar="PATH", help="write every figure and the machine here")
    p.add_argument("--markdown", action="store_true", help="also print the README table")
    p.add_argument("--force", action="store_true",
                   help=f"run even when the machine is busy; figures are marked '{UNDER_LOAD}'")
    p.add_argument("--wait-idle", action="store_true",
                   help="wait until the 1-minute load is below 0.5 per core first")
    p.add_argument("--keep-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the workers' environment "
                        "(removed by default: they pin OpenBLAS to older kernels)")
    p.add_argument("--wait-timeout", type=float, default=600.0,
                   help="seconds --wait-idle waits at most (default 600)")
    return p


def thread_counts(arg):
    n = cores()
    if not arg:
        vals = [1, n]
    else:
        vals = [n if str(a).lower() == "all" else int(a) for a in arg]
    out = []
    for v in vals:
        if v < 1:
            raise SystemExit(f"--threads: expected positive counts, got {v}")
        if v not in out:
            out.append(v)
    return out


def main_run(args, cases, title, unit="ms", targets=None, memory=True, fresh=True,
             frameworks=("ktrain", "torch"), extra=None, log=None):
    """Load check, interleaved rounds, table/markdown/JSON, load after. Returns the report
    dict; a refusal raises SystemExit(3)."""
    log = log or _log
    n = cores()
    KEEP_ENV[0] = bool(getattr(args, "keep_env", False))
    pinned = {v: os.environ[v] for v in BLAS_OVERRIDES if v in os.environ}
    if pinned:
        log(("keeping " if KEEP_ENV[0] else "removed from the workers' environment (a fresh "
             "install does not set them; --keep-env keeps them): ")
            + ", ".join(f"{k}={v}" for k, v in pinned.items()))
    try:
        before, under_load = check_load(args.force, args.wait_idle, args.wait_timeout, n, log)
    except SystemExit as e:
        log(str(e.code))
        raise SystemExit(EXIT_UNDER_LOAD) from None
    t_start = time.monotonic()
    fws = list(frameworks)
    pythons = {}
    torch_version = None
    if "torch" in fws:
        exe, ver = (None, "--no-torch") if args.no_torch else find_torch_python(args.torch_python)
        if exe is None:
            log(f"PyTorch: none ({ver}); ktrain-only figures, ratio n/a")
            fws.remove("torch")
        else:
            pythons["torch"] = exe
            torch_version = ver
            log(f"PyTorch {ver} ({exe})")
    threads_list = thread_counts(getattr(args, "threads", None)) if hasattr(args, "threads") \
        else [cores()]
    results = run_cases(cases, fws, threads_list, pythons=pythons, rounds=args.rounds,
                        steps=args.steps, round_s=args.round_s, warmup=args.warmup,
                        warmup_s=args.warmup_s, fresh=fresh, under_load=under_load, log=log)
    after, interference = after_check(before, results, t_start, under_load, n, log)
    versions = {}
    for r in results:
        for f, fr in r["frameworks"].items():
            if fr.get("info") and f not in versions:
                versions[f] = fr["info"]
    report = {"title": title, "machine": machine_info(), "versions": versions,
              "torch_version": torch_version, "threads": threads_list,
              "settings": {"rounds": args.rounds, "steps": args.steps, "round_s": args.round_s,
                           "warmup": args.warmup, "warmup_s": args.warmup_s,
                           "pause_s": PAUSE_S, "fresh_workers": fresh,
                           "blas_env_kept": KEEP_ENV[0], "blas_env": pinned},
              "load_before": before, "load_after": after, "under_load": under_load,
              "interference": interference, "unit": unit, "targets": targets,
              "results": results, "command": sys.argv}
    if targets is not None:
        report["verdicts"] = {f"{c}@{t}": list(v) for (c, t), v in
                              verdicts(results, targets, max(threads_list)).items()}
    if extra:
        report.update(extra)
    print(f"\n{title}")
    print(markdown_header(report).replace("**", ""))
    if under_load:
        print(f"*** {UNDER_LOAD}: the 1-minute load was {before['loadavg'][0]:.2f} before the "
              "run ***")
    print(format_table(results, unit, targets, memory, max(threads_list)))
    if args.markdown:
        print()
        print(format_markdown(results, unit, targets, memory, max(threads_list), report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
        log(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        # the protocol uses the original stdout; anything the workload prints goes to stderr
        _proto_out = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        if HERE not in sys.path:
            sys.path.insert(0, HERE)
        worker_main(_proto_out, sys.stdin)
    else:
        print(__doc__)
