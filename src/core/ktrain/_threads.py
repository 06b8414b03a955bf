"""How many BLAS threads ktrain's ops use: ``set_num_threads`` / ``get_num_threads``
(PyTorch's names) and the default ``'auto'`` policy.

Why a policy of our own: OpenBLAS starts one thread per core and busy-waits in them. On an
idle 2-core machine that is right, but beside one busy process its threads spin against
the other job and a conv step gets 1.7-4x slower than with one thread (measured, see
``benchmarks/bench_threads.py``). So by default ktrain counts the CPU time that *other*
processes used recently (``/proc/stat`` minus this process's own time) and gives BLAS the
cores that are left: ``max(1, round(cores - others))``.

- In a Trainer run the count is chosen once, when the run starts, and kept: OpenBLAS's
  results depend on its thread count (it blocks GEMMs differently), so a run must not
  change its numerics half-way; the count goes into checkpoints and a resume uses it.
- Outside a Trainer (a plain training script) the op dispatcher (``Function.apply``)
  compares the clock with the next look's time, re-reads the counters at most once per
  second and calls into the BLAS library only when the answer changes.

Fixed settings turn the policy off: ``ktrain.set_num_threads(n)``, the environment
variable ``KTRAIN_NUM_THREADS=n`` (or ``auto``), or a BLAS variable the user set
(``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), which is respected.
The Trainer's ``num_threads`` option (``trainer.num_threads`` in configs) sets the policy
for the duration of a fit.
"""
from __future__ import annotations

import os
import time

__all__ = ["get_num_threads", "get_threads_policy", "num_cores", "set_num_threads",
           "threads_policy"]

_INTERVAL = 1.0          # seconds between looks at the machine's load
_USER_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# ``next_check[0]``: the monotonic time of the next look; ``inf`` when the policy is fixed.
# A one-element list so that the dispatcher's test is one global load and one compare.
next_check = [0.0]


class _State:
    policy = "auto"          # "auto" or an int
    controllers = None       # threadpoolctl's BLAS controllers (found on first use)
    current = None           # the count last given to BLAS
    history = []             # the last few looks: (wall, busy ticks, own CPU seconds)


def num_cores() -> int:
    """The cores this process may run on (its CPU affinity, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _blas():
    if _State.controllers is None:
        try:
            from threadpoolctl import ThreadpoolController

            _State.controllers = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # noqa: BLE001 - no threadpoolctl / no BLAS found: nothing to tune
            _State.controllers = []
    return _State.controllers


def _set_blas(n: int) -> None:
    if n == _State.current:
        return
    for lib in _blas():
        lib.set_num_threads(n)
    _State.current = n
    from . import _fast          # Numba's kernel threads follow BLAS's count

    _fast.set_threads(n)


def get_num_threads() -> int:
    """The number of threads the BLAS library (GEMMs: matmul, linear, conv) uses now."""
    libs = _blas()
    if not libs:
        return 1
    return int(libs[0].get_num_threads())


def get_threads_policy():
    """``'auto'`` or the fixed thread count set with :func:`set_num_threads`."""
    return _State.policy


def set_num_threads(n) -> None:
    """Use ``n`` BLAS threads from now on (a positive int), or ``'auto'``: the cores that
    other processes leave free, re-checked every second (the default)."""
    if isinstance(n, str) and n.strip().lower() == "auto":
        _State.policy = "auto"
        next_check[0] = 0.0
        return
    n = _check_count(n)
    _State.policy = n
    next_check[0] = float("inf")
    _set_blas(n)


def _check_count(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) and not (
            isinstance(n, str) and n.strip().isdigit()):
        raise ValueError(f"num_threads: expected a positive int or 'auto', got {n!r}")
    if int(n) < 1:
        raise ValueError(f"num_threads: expected a positive int or 'auto', got {n!r}")
    return int(n)


def _busy_ticks():
    """Clock ticks all CPUs spent busy since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
    except OSError:
        return None
    v = [int(x) for x in fields[1:9]]   # user nice system idle iowait irq softirq steal
    return sum(v) - v[3] - v[4]


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _sample():
    """``(monotonic seconds, machine busy ticks, this process's CPU seconds)`` or None."""
    busy = _busy_ticks()
    if busy is None:
        return None
    t = os.times()
    return time.monotonic(), busy, t.user + t.system


def choose(cores: int, others: float) -> int:
    """The BLAS threads for ``cores`` usable cores when other processes keep ``others``
    cores busy: the free cores, rounded, at least one."""
    return max(1, min(cores, int(cores - others + 0.5)))


def others_busy(min_window: float = 0.0):
    """Cores' worth of CPU that other processes used over the last ``min_window`` seconds
    or more: from the newest earlier look at least that old (else the oldest one kept).
    None on the first call or where ``/proc/stat`` does not exist."""
    now = _sample()
    if now is None:
        return None
    hist = _State.history
    base = next((h for h in reversed(hist) if now[0] - h[0] >= min_window),
                hist[0] if hist else None)
    hist.append(now)
    del hist[:-3]
    if base is None or now[0] - base[0] <= 0:
        return None
    wall = now[0] - base[0]
    return max(0.0, ((now[1] - base[1]) / _TICK - (now[2] - base[2])) / wall)


def retune() -> None:
    """The ``'auto'`` policy's look at the machine (called by the op dispatcher when
    ``next_check[0]`` has passed)."""
    next_check[0] = time.monotonic() + _INTERVAL
    if _State.policy != "auto":
        next_check[0] = float("inf")
        return
    others = others_busy()
    if others is None:
        return
    _set_blas(choose(num_cores(), others))


def _init_from_env() -> None:
    value = os.environ.get("KTRAIN_NUM_THREADS", "").strip()
    if value:
        try:
            set_num_threads(value)
        except ValueError:
            import warnings

            warnings.warn(f"KTRAIN_NUM_THREADS={value!r} is neither a positive int nor "
                          f"'auto'; using 'auto'", stacklevel=2)
        return
    if any(os.environ.get(v, "").strip() for v in _USER_VARS):
        _State.policy = "env"        # the user fixed BLAS's threads: leave them alone
        next_check[0] = float("inf")


# A DataLoader worker process counts as this much of a core when a run picks its count:
# measured on 2 cores, conf/mnist_lenet.yaml (2 workers decoding 28x28 digits) ran 11-25%
# faster on 1 BLAS thread than on 2 while the worker-less headline run was 12% faster on 2.
WORKER_LOAD = 0.5


def free_cores(min_window: float = 0.2, workers: int = 0) -> int:
    """The BLAS threads the ``'auto'`` policy would pick now: the free cores over at least
    the last ``min_window`` seconds (waiting for the rest when no earlier look is that old,
    e.g. right after import), less ``WORKER_LOAD`` for each of the run's ``workers``."""
    if not _State.history:
        others_busy()                                   # a baseline
    if not _State.history:                              # no /proc/stat here
        return choose(num_cores(), WORKER_LOAD * workers)
    wait = min_window - (time.monotonic() - _State.history[0][0])
    if wait > 0:
        time.sleep(wait)
    others = others_busy(min_window)
    return choose(num_cores(), (others or 0.0) + WORKER_LOAD * workers)


class threads_policy:
    """Context manager for a Trainer run: a fixed count inside, the previous policy (and
    count) restored on exit. ``'auto'`` picks :func:`free_cores` once on entry and keeps
    it for the run, because OpenBLAS's results depend on its thread count (it blocks the
    GEMMs differently): a run must not change its numerics half-way, and a resumed run
    takes the count of its checkpoint (:meth:`resume_with`). ``'auto'`` keeps a count the
    user fixed for the process (``set_num_threads(n)``, ``KTRAIN_NUM_THREADS``, a BLAS
    variable); ``None`` changes nothing."""

    def __init__(self, n):
        if n is not None and not (isinstance(n, str) and n.strip().lower() == "auto"):
            _check_count(n)
        self.n = n
        self.chosen = None
        self.workers = 0      # the run's DataLoader worker processes (set by Trainer.fit)
        self._saved = []      # a stack: the Trainer's stages may nest

    def _picks(self) -> bool:
        """Whether this run chooses its own count (else the process's stays)."""
        if self.n is None:
            return False
        return not isinstance(self.n, str) or _State.policy == "auto"

    def __enter__(self):
        picks = self._picks()
        self._saved.append((picks, _State.policy, next_check[0], get_num_threads()))
        if picks:
            set_num_threads(free_cores(workers=self.workers) if isinstance(self.n, str)
                            else int(self.n))
        self.chosen = get_num_threads()
        return self

    def resume_with(self, n) -> None:
        """Inside an ``'auto'`` run: use the count the checkpoint was trained with."""
        if n and self._saved and self._saved[-1][0] and isinstance(self.n, str):
            set_num_threads(_check_count(int(n)))
            self.chosen = get_num_threads()

    def __exit__(self, *exc):
        picks, policy, due, count = self._saved.pop()
        if picks:
            _State.policy, next_check[0] = policy, due
            _set_blas(count)
        return False


def _initial_guess() -> None:
    """Before the first look (which needs a second of history): the 1-minute load average
    as the other processes' load, so that a process started on a busy machine does not
    spin two BLAS threads through its start-up (imports, data, model building)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return
    n = choose(num_cores(), load)
    if n < num_cores():
        _set_blas(n)


_init_from_env()
if _State.policy == "auto":
    others_busy()   # the baseline of the first look
    _initial_guess()
