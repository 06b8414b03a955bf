"""``ktrain.profiler``: where the time of a model, a training step or a loop goes
(``torch.profiler``'s API on ktrain's CPU recorder).

Example::

    from ktrain.profiler import ProfilerActivity, profile, record_function, schedule

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                 profile_memory=True) as prof:
        with record_function("model_inference"):
            model(x)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    prof.export_chrome_trace("trace.json")        # Perfetto / chrome://tracing

    # a training loop: skip 1 step, warm up 1, record 3, then hand the trace over
    with profile(schedule=schedule(wait=1, warmup=1, active=3),
                 on_trace_ready=tensorboard_trace_handler("log/prof")) as prof:
        for batch in loader:
            train_step(batch)
            prof.step()

Recorded: every op applied, forward and backward (named like the op and its grad_fn:
``Conv``, ``ConvBackward0``), gradient accumulation into leaves, ``record_function``
ranges, optimizer steps, DataLoader fetches and, with ``with_modules=True``, module
calls; each with its thread, self and total time, input shapes (``record_shapes``) and
the bytes its outputs allocated (``profile_memory``). See ``ktrain.autograd.profiler``
for what the figures mean exactly. Device (CUDA) activity is not recorded: on a GPU the
host-side times include waiting for the device.
"""
from __future__ import annotations

import enum
import gzip
import json
import os
import socket
import time
import warnings

from ..autograd.profiler import _Recorder, record_function
from ..autograd.profiler_util import EventList

__all__ = ["ProfilerAction", "ProfilerActivity", "profile", "record_function", "schedule",
           "supported_activities", "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 2
    XPU = 3
    MTIA = 4
    PrivateUse1 = 5


def supported_activities():
    """The activities ktrain records: ``{ProfilerActivity.CPU}``."""
    return {ProfilerActivity.CPU}


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0,
             skip_first: int = 0, skip_first_wait: int = 0):
    """The action for each step number (PyTorch's schedule): after ``skip_first`` steps,
    cycles of ``wait`` idle steps, ``warmup`` steps traced but discarded and ``active``
    recorded steps, the last of which saves (calls ``on_trace_ready``); ``repeat``
    cycles (0: until the loop ends). ``skip_first_wait=1`` drops the first cycle's
    wait."""
    for name, v, low in (("wait", wait, 0), ("warmup", warmup, 0), ("active", active, 1),
                         ("repeat", repeat, 0), ("skip_first", skip_first, 0)):
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            raise ValueError(f"schedule({name}={v!r}): expected an integer >= {low}")
    if warmup == 0:
        warnings.warn("schedule(warmup=0): the first recorded step also pays the "
                      "profiler's start-up costs; warmup >= 1 gives steadier figures",
                      stacklevel=2)
    cycle = wait + warmup + active

    def fn(step: int) -> ProfilerAction:
        if step < 0:
            raise ValueError(f"schedule: step must be >= 0, got {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        mod = step % cycle
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return fn


def _always_record(step):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False):
    """An ``on_trace_ready`` that writes each trace to ``dir_name`` as
    ``{worker}.{ms}.pt.trace.json[.gz]`` (the names TensorBoard's profiler plugin and
    Perfetto read); ``worker`` defaults to ``{host}_{pid}``."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json"
        path = os.path.join(dir_name, name + (".gz" if use_gzip else ""))
        if use_gzip:
            with gzip.open(path, "wt", encoding="utf-8") as f:
                json.dump(prof._trace(), f)
        else:
            prof.export_chrome_trace(path)
        prof.trace_path = path

    return handler


class profile:
    """Record what runs (see the module docstring); a context manager, or
    ``start()`` / ``stop()``; ``step()`` marks the end of a training step.

    Args follow ``torch.profiler.profile``: ``activities`` (CPU is always recorded;
    CUDA warns that only host-side times exist), ``schedule`` (a callable step ->
    ``ProfilerAction``; default: record every step), ``on_trace_ready`` (called with the
    profiler at the end of each recorded cycle), ``record_shapes``, ``profile_memory``,
    ``with_stack``, ``with_flops`` (not estimated: warns), ``with_modules``.
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False,
                 with_flops=False, with_modules=False, experimental_config=None,
                 execution_trace_observer=None, acc_events=False, use_cuda=None,
                 custom_trace_id_callback=None):
        acts = set(activities) if activities is not None else supported_activities()
        bad = [a for a in acts if not isinstance(a, ProfilerActivity)]
        if bad:
            raise TypeError(f"profile(activities=...): expected ProfilerActivity members, "
                            f"got {bad[0]!r}")
        if acts - {ProfilerActivity.CPU} or use_cuda:
            warnings.warn("profile: only CPU activity is recorded (ktrain's profiler is "
                          "host-side: on a GPU, op times include waiting for the device)",
                          stacklevel=2)
        if with_flops:
            warnings.warn("profile(with_flops=True): FLOP counts are not estimated; the "
                          "flops column stays zero", stacklevel=2)
        if schedule is not None and not callable(schedule):
            raise TypeError("profile(schedule=...): expected a callable step -> "
                            "ProfilerAction, such as ktrain.profiler.schedule(...)")
        self.activities = acts
        self.schedule = schedule or _always_record
        self.record_steps = schedule is not None  # ProfilerStep#N ranges, as PyTorch
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self.trace_path = None
        self._rec = None
        self._step_row = None
        self._events = None
        self._running = False
        self._record_ops = True  # the Trainer's 'simple' profile records its phases only

    # ------------------------------------------------------------------ control
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if self._running:
            raise RuntimeError("profile.start(): this profiler is already running")
        self._running = True
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._enter(self.current_action)

    def stop(self):
        if not self._running:
            return
        self._running = False
        if self.current_action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._finish(save=True)
        else:
            self._discard()
        self.current_action = ProfilerAction.NONE

    def step(self):
        """The current training step ended: move the schedule on by one."""
        if not self._running:
            return
        prev = self.current_action
        self.step_num += 1
        action = self.current_action = self.schedule(self.step_num)
        self._close_step()
        recording = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if prev == ProfilerAction.RECORD_AND_SAVE or (prev in recording
                                                     and action not in recording):
            self._finish(save=True)
        elif prev == ProfilerAction.WARMUP and action in recording:
            self._rec.clear()  # warm-up done: start counting now
        elif prev == ProfilerAction.WARMUP and action == ProfilerAction.NONE:
            self._discard()
        self._enter(action)

    # ------------------------------------------------------------------ internals
    def _enter(self, action):
        if action == ProfilerAction.NONE:
            return
        if self._rec is None:
            self._rec = _Recorder(record_shapes=self.record_shapes,
                                  profile_memory=self.profile_memory,
                                  with_stack=self.with_stack, with_modules=self.with_modules,
                                  ops=self._record_ops)
            self._rec.install()
        if self.record_steps:
            self._step_row = self._rec.begin(f"ProfilerStep#{self.step_num}", "user_annotation")

    def _close_step(self):
        if self._step_row is not None and self._rec is not None:
            self._rec.end(self._step_row)
        self._step_row = None

    def _drop_open_step(self):
        """Forget the step range just opened (a loop that ended after its last step())."""
        row, self._step_row = self._step_row, None
        if row is not None and self._rec is not None:
            self._rec.end(row)
            self._rec.rows = [r for r in self._rec.rows if r is not row]

    def _discard(self):
        self._close_step()
        if self._rec is not None:
            self._rec.uninstall()
            self._rec = None

    def _finish(self, save):
        self._close_step()
        rec, self._rec = self._rec, None
        if rec is None:
            return
        rec.uninstall()
        events = rec.events()
        if self.acc_events and self._events is not None:
            events = EventList(list(self._events) + list(events),
                               profile_memory=self.profile_memory, with_stack=self.with_stack)
        self._events = events
        if save and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def _check(self):
        if self._events is None:
            raise RuntimeError("the profiler has no results yet: they exist once a recorded "
                               "cycle ended (the 'with' block, stop(), or the last active "
                               "step of the schedule)")
        return self._events

    def _trace(self):
        from ..autograd.profiler_util import _chrome_trace

        return _chrome_trace(self._check())

    # ------------------------------------------------------------------ results
    def events(self):
        """The recorded events (an ``EventList``) of the last recorded cycle."""
        return self._check()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        return self._check().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path):
        """Write the last recorded cycle as a Chrome trace (JSON)."""
        self._check().export_chrome_trace(path)
        return path

    def export_stacks(self, path, metric="self_cpu_time_total"):
        if not self.with_stack:
            raise RuntimeError("export_stacks needs a profile taken with with_stack=True")
        self._check().export_stacks(path, metric)
