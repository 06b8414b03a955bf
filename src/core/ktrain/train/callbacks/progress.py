"""``ProgressBar``: rich progress bars on a terminal, plain log lines everywhere else.

On a terminal (or in Jupyter) it shows an epoch bar and a step bar with the running loss
(mean of the last ``window`` batches), throughput in samples/s and the ETA, plus a
validation bar while validation runs; with ``leave=True`` every finished epoch leaves one
summary line above the bars. When stdout is not a terminal (a log file, CI, a pipe,
``nohup``) or rich is missing, it prints plain lines instead::

    epoch 1/10 step 100/391 loss 0.4312 123.4 samples/s eta 0:01:12
    epoch 1/10 validation val/accuracy 0.9100 val/loss 0.3012
    epoch 1/10 done in 0:00:41 (1234.5 samples/s) train/loss 0.4101 val/loss 0.3012

A step line comes every ``log_every_n_seconds`` seconds and/or every
``log_every_n_steps`` batches (whichever is set and comes first), so a log file grows
by a bounded number of lines whatever the speed. At the end of ``fit`` (and of
``validate``/``test``) a table of the final metrics is printed.

Only rank 0 prints. ``refresh_rate=0`` disables the bars (the table still prints).
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from datetime import timedelta

from .._results import _floats
from ._common import is_global_zero, is_sanity_checking, to_float
from .base import Callback

__all__ = ["ProgressBar"]

try:  # rich is a core dependency; degrade to plain lines if it is gone anyway
    from rich import box
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.table import Table
except ImportError:  # pragma: no cover - exercised by monkeypatching in tests
    Console = None


def _fmt_eta(seconds: float) -> str:
    return str(timedelta(seconds=int(round(max(seconds, 0.0)))))


def _fmt(v: float) -> str:
    return f"{v:.4f}" if 1e-3 <= abs(v) < 1e4 or v == 0 else f"{v:.4g}"


def _batch_size(batch) -> int | None:
    """Leading size of the first array-like in a (nested) batch."""
    stack = [batch]
    while stack:
        x = stack.pop(0)
        shape = getattr(x, "shape", None)
        if shape is not None and len(shape):
            return int(shape[0])
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return None


def _total(n) -> int | None:
    """A batch count as an int, or None when unknown/infinite."""
    if n is None:
        return None
    if isinstance(n, (list, tuple)):
        n = sum(n)
    try:
        n = float(n)
    except (TypeError, ValueError):
        return None
    return int(n) if math.isfinite(n) and n >= 0 else None


class ProgressBar(Callback):
    """Training progress: rich bars on a TTY, periodic plain lines otherwise.

    Args:
        refresh_rate: update the bars every n batches (0 disables them).
        leave: keep one summary line per finished epoch (and the bars at the end).
        console: a ``rich.console.Console`` to draw on (default: stdout).
        plain: force plain lines (True) or bars (False); None decides by TTY.
        log_every_n_seconds: plain mode: at most one step line per this many seconds.
        log_every_n_steps: plain mode: a step line every n batches.
        window: batches in the running mean of the loss.
        metrics_table: print the final metrics as a table.
    """

    MIN_RENDER_INTERVAL = 0.1  # seconds between two drawings of the bars

    def __init__(self, refresh_rate: int = 1, leave: bool = True, console=None,
                 plain: bool | None = None, log_every_n_seconds: float | None = 10.0,
                 log_every_n_steps: int | None = None, window: int = 20,
                 metrics_table: bool = True):
        if refresh_rate < 0:
            raise ValueError(f"ProgressBar: refresh_rate must be >= 0, got {refresh_rate}")
        self.refresh_rate = int(refresh_rate)
        self.leave = leave
        self._console = console
        self._force_plain = plain
        self.log_every_n_seconds = log_every_n_seconds
        self.log_every_n_steps = log_every_n_steps
        self.metrics_table = metrics_table
        self._losses: deque = deque(maxlen=max(1, int(window)))
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._plain = True
        self._standalone = False  # bars started by validate()/test() rather than fit()
        self._last_render = 0.0
        self._reset_epoch()

    # ------------------------------------------------------------------ output plumbing
    @property
    def console(self):
        if self._console is None and Console is not None:
            self._console = Console()
        return self._console

    @property
    def is_plain(self) -> bool:
        """Whether this run prints plain lines (decided when a stage starts)."""
        return self._plain

    def _decide_mode(self) -> None:
        if Console is None:
            self._plain = True
        elif self._force_plain is not None:
            self._plain = bool(self._force_plain)
        else:
            con = self.console
            self._plain = not (con.is_terminal or getattr(con, "is_jupyter", False))

    def _print(self, text: str) -> None:
        con = self.console
        if con is None:
            print(text, flush=True)
        else:
            con.print(text, markup=False, highlight=False, soft_wrap=True)
            file = getattr(con, "file", None)
            if self._plain and hasattr(file, "flush"):
                file.flush()

    def _enabled(self, trainer) -> bool:
        return is_global_zero(trainer)

    def _bars(self) -> bool:
        return not self._plain and self.refresh_rate > 0

    # ------------------------------------------------------------------ state per epoch
    def _reset_epoch(self) -> None:
        self._t0 = time.monotonic()
        self._samples = 0
        self._batches = 0
        self._last_line_t = self._t0
        self._last_line_batch = 0
        self._losses.clear()

    def _loss(self) -> float | None:
        if not self._losses:
            return None
        # losses stay tensors until shown (no device sync per batch), each read once, all
        # of them in one transfer
        todo = [i for i, v in enumerate(self._losses) if not isinstance(v, float)]
        arrays = [getattr(self._losses[i], "_data", None) for i in todo]
        if all(getattr(a, "size", 0) == 1 for a in arrays):
            for i, v in zip(todo, _floats([a.reshape(()) for a in arrays])):
                self._losses[i] = v
        else:
            for i in todo:
                self._losses[i] = to_float(self._losses[i])
        return sum(self._losses) / len(self._losses)

    def _rate(self) -> tuple[float | None, float | None]:
        """(samples/s, batches/s) since the epoch started."""
        dt = time.monotonic() - self._t0
        if dt <= 0 or not self._batches:
            return None, None
        return (self._samples / dt if self._samples else None), self._batches / dt

    @staticmethod
    def _epoch_text(trainer) -> str:
        e = trainer.current_epoch + 1
        m = getattr(trainer, "max_epochs", None)
        return f"epoch {e}/{m}" if m is not None and m > 0 else f"epoch {e}"

    @staticmethod
    def _metrics_text(trainer, prefix: tuple[str, ...] | None = None) -> str:
        metrics = getattr(trainer, "callback_metrics", None) or {}
        items = []
        for k in sorted(metrics):
            if prefix is not None and not k.startswith(prefix):
                continue
            try:
                items.append(f"{k} {_fmt(to_float(metrics[k]))}")
            except (TypeError, ValueError):
                continue
        return " ".join(items)

    def _step_text(self, trainer, batch_idx: int, bars: bool) -> str:
        parts = []
        loss = self._loss()
        if loss is not None:
            parts.append(f"loss {_fmt(loss)}")
        sps, bps = self._rate()
        if sps is not None:
            parts.append(f"{sps:.1f} samples/s")
        total = _total(getattr(trainer, "num_training_batches", None))
        if not bars and total is not None and bps:
            parts.append(f"eta {_fmt_eta((total - batch_idx - 1) / bps)}")
        return " ".join(parts)

    # ------------------------------------------------------------------ rich bars
    def _start_bars(self) -> None:
        if self._progress is not None or not self._bars():
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("<"), TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console, auto_refresh=False, transient=not self.leave)
        self._progress.start()
        self._tasks = {}

    def _stop_bars(self) -> None:
        if self._progress is not None:
            try:
                self._progress.stop()
            finally:
                self._progress = None
                self._tasks = {}

    def _task(self, name: str, description: str, total) -> int:
        p = self._progress
        if name in self._tasks and total is not None:
            p.reset(self._tasks[name], total=total, description=description, info="")
        else:  # reset() cannot make a known total unknown: start a new task
            if name in self._tasks:
                p.remove_task(self._tasks.pop(name))
            self._tasks[name] = p.add_task(description, total=total, info="")
        return self._tasks[name]

    def _refresh(self) -> None:
        if self._progress is not None:
            self._progress.refresh()
            self._last_render = time.monotonic()

    # ------------------------------------------------------------------ fit hooks
    def setup(self, trainer, task, stage: str) -> None:
        self._decide_mode()

    def on_train_start(self, trainer, task) -> None:
        if not self._enabled(trainer):
            return
        self._start_bars()
        if self._progress is not None:
            m = getattr(trainer, "max_epochs", None)
            self._task("epoch", "epochs", m if m is not None and m > 0 else None)
            self._progress.update(self._tasks["epoch"], completed=trainer.current_epoch)
            self._refresh()

    def on_train_epoch_start(self, trainer, task) -> None:
        self._reset_epoch()
        if self._progress is not None and self._enabled(trainer):
            total = _total(getattr(trainer, "num_training_batches", None))
            tid = self._task("step", self._epoch_text(trainer), total)
            start = getattr(trainer, "batch_idx", 0) or 0  # resumed mid-epoch
            self._progress.update(tid, completed=start if total else 0)
            self._refresh()

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx: int) -> None:
        if not self._enabled(trainer):
            return
        self._batches += 1
        bs = outputs.get("batch_size") if isinstance(outputs, dict) else None
        bs = bs if bs is not None else _batch_size(batch)
        if bs:
            self._samples += int(bs)
        if isinstance(outputs, dict):
            loss = outputs.get("loss")
            if loss is not None:
                self._losses.append(loss.detach() if hasattr(loss, "detach") else loss)
        total = _total(getattr(trainer, "num_training_batches", None))
        last = total is not None and batch_idx + 1 >= total
        if self._plain:
            now = time.monotonic()
            due = (self.log_every_n_seconds is not None
                   and now - self._last_line_t >= self.log_every_n_seconds)
            n = self.log_every_n_steps
            due = due or bool(n and (batch_idx + 1) % n == 0)
            if due and not last:  # the epoch line covers the last batch
                step = f"step {batch_idx + 1}/{total}" if total else f"step {batch_idx + 1}"
                info = self._step_text(trainer, batch_idx, bars=False)
                self._print(f"{self._epoch_text(trainer)} {step} {info}".rstrip())
                self._last_line_t = now
        elif self._progress is not None and ((batch_idx + 1) % self.refresh_rate == 0 or last):
            now = time.monotonic()
            if last or now - self._last_render >= self.MIN_RENDER_INTERVAL:
                self._progress.update(self._tasks["step"], completed=batch_idx + 1,
                                      info=self._step_text(trainer, batch_idx, bars=True))
                self._refresh()
            else:  # fast steps: count them, draw at most MIN_RENDER_INTERVAL apart
                self._progress.update(self._tasks["step"], completed=batch_idx + 1)

    def on_train_epoch_end(self, trainer, task) -> None:
        if not self._enabled(trainer):
            return
        sps, _ = self._rate()
        took = _fmt_eta(time.monotonic() - self._t0)
        speed = f" ({sps:.1f} samples/s)" if sps else ""
        summary = f"{self._epoch_text(trainer)} done in {took}{speed}"
        metrics = self._metrics_text(trainer)
        line = f"{summary} {metrics}".rstrip()
        if self._plain:
            self._print(line)
        elif self._progress is not None:
            self._progress.update(self._tasks["epoch"], completed=trainer.current_epoch + 1,
                                  info=self._metrics_text(trainer, ("val",)))
            if self.leave:
                self._progress.console.print(line, markup=False, highlight=False,
                                             soft_wrap=True)
            self._refresh()

    def on_train_end(self, trainer, task) -> None:
        self._stop_bars()

    def on_fit_end(self, trainer, task) -> None:
        self._stop_bars()
        if self._enabled(trainer):
            self._print_table(trainer, "final metrics")

    def on_exception(self, trainer, task, exception: BaseException) -> None:
        self._stop_bars()

    def teardown(self, trainer, task, stage: str) -> None:
        self._stop_bars()

    # ------------------------------------------------------------------ evaluation hooks
    def _eval_start(self, trainer, name: str) -> None:
        if not self._enabled(trainer):
            return
        standalone = self._progress is None
        self._start_bars()
        if self._progress is not None:
            attr = "num_val_batches" if name == "validation" else f"num_{name}_batches"
            total = _total(getattr(trainer, attr, None))
            desc = "sanity check" if is_sanity_checking(trainer) else name
            self._task(name, desc, total)
            self._progress.update(self._tasks[name], visible=True)
            self._refresh()
        self._standalone = standalone

    def _eval_batch(self, trainer, name: str, batch_idx: int) -> None:
        if self._progress is not None and name in self._tasks and self._enabled(trainer):
            if (batch_idx + 1) % self.refresh_rate == 0:
                self._progress.update(self._tasks[name], completed=batch_idx + 1)
                self._refresh()

    def _eval_end(self, trainer, name: str) -> None:
        if not self._enabled(trainer):
            return
        if self._progress is not None and name in self._tasks:
            self._progress.update(self._tasks[name], visible=False)
            self._refresh()
        fitting = getattr(trainer, "state", "fitting") == "fitting"
        if fitting:
            if self._plain and not is_sanity_checking(trainer):
                metrics = self._metrics_text(trainer, ("val",))
                self._print(f"{self._epoch_text(trainer)} validation {metrics}".rstrip())
            return
        if self._standalone:
            self._stop_bars()
        prefix = ("val",) if name == "validation" else (name,)
        self._print_table(trainer, f"{name} metrics", prefix)

    def on_validation_start(self, trainer, task) -> None:
        self._eval_start(trainer, "validation")

    def on_validation_batch_end(self, trainer, task, outputs, batch, batch_idx: int) -> None:
        self._eval_batch(trainer, "validation", batch_idx)

    def on_validation_end(self, trainer, task) -> None:
        self._eval_end(trainer, "validation")

    def on_test_start(self, trainer, task) -> None:
        self._eval_start(trainer, "test")

    def on_test_batch_end(self, trainer, task, outputs, batch, batch_idx: int) -> None:
        self._eval_batch(trainer, "test", batch_idx)

    def on_test_end(self, trainer, task) -> None:
        self._eval_end(trainer, "test")

    # ------------------------------------------------------------------ table
    def _print_table(self, trainer, title: str, prefix: tuple[str, ...] | None = None) -> None:
        if not self.metrics_table:
            return
        metrics = getattr(trainer, "callback_metrics", None) or {}
        rows = []
        for k in sorted(metrics):
            if prefix is not None and not k.startswith(prefix):
                continue
            try:
                rows.append((k, f"{to_float(metrics[k]):.6g}"))
            except (TypeError, ValueError):
                continue
        if not rows:
            return
        con = self.console
        if con is None:
            width = max(len(k) for k, _ in rows)
            print(title)
            for k, v in rows:
                print(f"  {k:<{width}}  {v}")
            sys.stdout.flush()
            return
        table = Table(title=title, box=box.ASCII if self._plain else box.SIMPLE_HEAD,
                      title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for k, v in rows:
            table.add_row(k, v)
        con.print(table)
