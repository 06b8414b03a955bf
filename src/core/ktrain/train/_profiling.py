"""``Trainer(profiler="simple" | "advanced")``: profile a few training steps and write
the reports into the run directory's ``profile/`` folder.

* ``simple``: the phases of each step (``Trainer.train_dataloader_next``,
  ``Trainer.training_step``, ``Trainer.backward``, ``Trainer.optimizer_step``, and
  ``Trainer.validation`` / ``Trainer.save_checkpoint`` when they fall in the window),
  nothing per op, so the recorded steps run at full speed: ``phases.txt`` and
  ``trace.json``.
* ``advanced``: the phases and every op, forward and backward, with input shapes, the
  bytes their outputs allocate and the module each runs in: ``ops.txt`` (sorted by self
  time), ``ops_by_shape.txt`` (per op and input shapes), ``phases.txt`` and ``trace.json``
  (open it in https://ui.perfetto.dev or chrome://tracing).

The window skips ``WAIT`` steps (the first step pays one-off costs: kernel compilation,
buffer pools filling), warms up for ``WARMUP`` and records ``ACTIVE``. A fit shorter
than that records what it ran.
"""
from __future__ import annotations

import contextlib
import os
import sys

from .. import profiler as _prof
from ..autograd.profiler_util import EventList, FunctionEvent

WAIT, WARMUP, ACTIVE = 1, 1, 3
KINDS = ("simple", "advanced")
_NULL = contextlib.nullcontext()


def check_kind(kind):
    if kind is None or kind is False:
        return None
    if kind not in KINDS:
        raise ValueError(f"profiler must be None, 'simple' or 'advanced', got {kind!r}")
    return kind


class FitProfiler:
    """Owns the ``ktrain.profiler.profile`` of one fit."""

    def __init__(self, trainer, kind):
        self.trainer = trainer
        self.kind = kind
        self.dir = os.path.join(trainer.log_dir, "profile")
        self.written = None
        advanced = kind == "advanced"
        self.prof = _prof.profile(
            schedule=_prof.schedule(wait=WAIT, warmup=WARMUP, active=ACTIVE, repeat=1),
            on_trace_ready=self._write, record_shapes=advanced, profile_memory=advanced,
            with_modules=advanced)
        self.prof._record_ops = advanced

    def phase(self, name):
        """A ``record_function`` range for a phase of the step (free outside the window)."""
        return _prof.record_function(f"Trainer.{name}")

    def start(self):
        self.prof.start()

    def step(self):
        self.prof.step()

    def stop(self, ok):
        if ok:
            self.prof._drop_open_step()  # opened by the last step(): nothing ran in it
            self.prof.stop()  # a fit shorter than the window writes what it recorded
        else:
            self.prof._discard()
            self.prof._running = False

    # ------------------------------------------------------------------ the reports
    def _write(self, prof):
        os.makedirs(self.dir, exist_ok=True)
        events = prof.events()
        steps = sorted(e.name for e in events if e.name.startswith("ProfilerStep#"))
        what = (f"{len(steps)} training step(s) ({', '.join(s.split('#')[1] for s in steps)}"
                f", counted from 0) of {self.trainer.task.__class__.__name__}, "
                f"'{self.kind}' profile")
        phases = _only(events, lambda e: e.name.startswith(("Trainer.", "ProfilerStep#")))
        files = {"phases.txt": phases.key_averages().table(
            sort_by="cpu_time_total", row_limit=-1, header=f"Phases of {what}")}
        if self.kind == "advanced":
            avg = events.key_averages()
            files["ops.txt"] = avg.table(sort_by="self_cpu_time_total", row_limit=60,
                                         header=f"Ops of {what}, by self time")
            files["ops_by_shape.txt"] = events.key_averages(group_by_input_shapes=True).table(
                sort_by="self_cpu_time_total", row_limit=60,
                header=f"Ops of {what}, per input shapes")
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
                f.write(text)
        prof.export_chrome_trace(os.path.join(self.dir, "trace.json"))
        self.written = sorted(files) + ["trace.json"]
        print(f"ktrain: profile of {len(steps)} step(s) written to {self.dir} "
              f"({', '.join(self.written)})", file=sys.stderr, flush=True)


def _only(events, keep):
    """Copies of the events ``keep`` accepts, each nested in its nearest kept ancestor
    (so self times exclude only kept children)."""
    copies = {}
    for e in events:
        if keep(e):
            copies[id(e)] = FunctionEvent(e.id, e.name, e.thread, e.time_range.start,
                                          e.time_range.end, kind=e.kind)
    for e in events:
        c = copies.get(id(e))
        p = e.cpu_parent
        while c is not None and p is not None and id(p) not in copies:
            p = p.cpu_parent
        if c is not None and p is not None:
            c.cpu_parent = copies[id(p)]
            c.cpu_parent.cpu_children.append(c)
    return EventList(copies.values())


def phase(trainer, name):
    """``trainer``'s profiler range for ``name``, or a no-op context."""
    p = trainer._fit_profiler
    return _NULL if p is None else p.phase(name)
