"""``TensorBoardLogger``: TensorBoard event files in ``<log_dir>/tensorboard``.

Written with tensorboardX's event writer (no TensorFlow or PyTorch needed); view with
``tensorboard --logdir <run dir>``. Every metric is a scalar at its step. With
``log_hparams`` (default) the hyper-parameters given to ``log_hyperparams`` are written
at ``finalize`` together with the final value of every metric, for TensorBoard's
HParams tab (in the ``tensorboard/hparams`` sub-run).

Scalars are written synchronously (``save()`` has them on disk, fsync'd), so a
checkpoint can record how many there are (``state_dict``). Resuming from it rewrites the
event files' first that many scalars into one fresh file and removes the old files (and
the hparams sub-run, written at the end of the killed run): the resumed run logs the
later scalars again, and the run's scalars end as an uninterrupted run's would. The
rewrite is journalled (complete temp file, then ``.ready``, then the old files go), so a
kill in the middle of it loses nothing. ``read_scalars`` reads them back.

tensorboardX is an optional dependency: without it, constructing the logger raises an
ImportError that says how to install it (``default_loggers`` just leaves it out).
"""
from __future__ import annotations

import itertools
import math
import os
import shutil
import socket
import struct
import time
import warnings
from pathlib import Path

from ._common import flatten, to_number
from .base import DirLogger

__all__ = ["TensorBoardLogger", "read_scalars", "tensorboard_available"]

_INSTALL = ("TensorBoardLogger needs the 'tensorboardX' package (a dependency of ktrain "
            "that is missing here): pip install tensorboardX")


# tensorboardX names event files by the second and opens them with 'wb': a second writer
# in the same second (fit then test) would clobber the first file without a unique suffix
_WRITER_IDS = itertools.count()
_JOURNAL = ".ktrain-resume"  # no 'tfevents' in the name: TensorBoard skips it


def _suffix() -> str:
    return f".{os.getpid()}.{next(_WRITER_IDS)}"


def _read_events(path) -> list:
    """The ``Event`` protos of one event file (TFRecord framing: length, its CRC, data,
    its CRC); a record torn by a crash ends the file."""
    from tensorboardX.proto.event_pb2 import Event

    data = Path(path).read_bytes()
    out, pos = [], 0
    while pos + 12 <= len(data):
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        if pos + 12 + n + 4 > len(data):
            break
        try:
            out.append(Event.FromString(data[pos + 12:pos + 12 + n]))
        except Exception:  # noqa: BLE001 - a corrupt record ends what can be read
            break
        pos += 12 + n + 4
    return out


def _event_files(d: Path) -> list[Path]:
    """The event files directly in ``d``, oldest first (by their first event's time)."""
    def first_time(p):
        evs = _read_events(p)
        return (evs[0].wall_time if evs else math.inf, p.name)

    return sorted((p for p in d.iterdir() if p.is_file() and "tfevents" in p.name),
                  key=first_time)


def read_scalars(path) -> list[tuple]:
    """``(tag, step, value)`` of every scalar in the event files under ``path`` (a file or
    a directory, searched recursively; each directory's files oldest first)."""
    path = Path(path)
    if path.is_file():
        files = [path]
    else:
        files = [f for d in sorted({p.parent for p in path.rglob("*tfevents*")})
                 for f in _event_files(d)]
    return [(v.tag, ev.step, v.simple_value) for f in files for ev in _read_events(f)
            for v in ev.summary.value if v.HasField("simple_value")]


def _rewrite(d: Path, events: list, old: list[Path]) -> None:
    """Replace the event files ``old`` of ``d`` by one file holding ``events``: written
    to a temp file, renamed to ``.ready`` once complete, then the old files are removed
    and it takes an event-file name (``_finish_journal`` completes an interrupted one)."""
    from tensorboardX.record_writer import RecordWriter

    tmp = d / f"{_JOURNAL}.tmp"
    w = RecordWriter(str(tmp))
    for ev in events:
        w.write(ev.SerializeToString())
    w.flush()  # fsync'd
    w.close()
    os.replace(tmp, d / f"{_JOURNAL}.ready")
    _finish_journal(d, old)


def _finish_journal(d: Path, old=None) -> None:
    ready, tmp = d / f"{_JOURNAL}.ready", d / f"{_JOURNAL}.tmp"
    if tmp.exists():  # an incomplete rewrite: the old files are all still there
        tmp.unlink()
    if not ready.exists():
        return
    for p in (old if old is not None else
              [p for p in d.iterdir() if p.is_file() and "tfevents" in p.name]):
        p.unlink(missing_ok=True)
    name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}{_suffix()}"
    os.replace(ready, d / name)


def tensorboard_available() -> bool:
    """Whether tensorboardX can be imported."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardLogger(DirLogger):
    """Write metrics as TensorBoard scalars.

    Args:
        log_dir: the run directory (may be set later through ``logger.log_dir = ...``).
        sub_dir: directory inside ``log_dir`` for the event files.
        flush_secs: how often the writer thread flushes on its own.
        log_hparams: write the hyper-parameters and final metrics at ``finalize``.
    """

    name = "tensorboard"

    def __init__(self, log_dir=None, sub_dir: str = "tensorboard", flush_secs: int = 30,
                 log_hparams: bool = True):
        try:
            from tensorboardX import SummaryWriter
            from tensorboardX.event_file_writer import EventsWriter
        except ImportError as e:
            raise ImportError(_INSTALL) from e
        self._writer_cls, self._events_cls = SummaryWriter, EventsWriter
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self.sub_dir = sub_dir
        self.flush_secs = int(flush_secs)
        self.log_hparams = log_hparams
        self._writer = None  # a SummaryWriter for what else users write (images ...)
        self._events = None  # the synchronous scalar writer (tensorboardX EventsWriter)
        self._scalars = 0  # scalars in the run's event files
        self._resume: dict | None = None  # a checkpoint's state, applied once log_dir is known
        self._hparams: dict = {}
        self._last: dict[str, float] = {}
        self._hparams_written = False

    @property
    def events_dir(self) -> Path:
        return self._in_log_dir(self.sub_dir)

    @property
    def writer(self):
        """A ``tensorboardX.SummaryWriter`` on the same directory (created on first use),
        for other kinds of data (images, histograms ...); ``log_metrics`` does not use it,
        and what it writes is not cut back on resume."""
        if self._writer is None:
            self.events_dir.mkdir(parents=True, exist_ok=True)
            self._writer = self._writer_cls(logdir=str(self.events_dir),
                                            flush_secs=self.flush_secs,
                                            filename_suffix=_suffix())
        return self._writer

    def log_hyperparams(self, params: dict) -> None:
        self._hparams.update(flatten(params))

    def log_metrics(self, metrics: dict, step: int) -> None:
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.summary import scalar

        if self._resume is not None:
            self._apply_resume()
        if self._events is None:
            self.events_dir.mkdir(parents=True, exist_ok=True)
            self._events = self._events_cls(str(self.events_dir / "events"), _suffix())
        for k, v in metrics.items():
            if k == "step":
                continue
            v = float(to_number(v))
            self._events.write_event(Event(wall_time=time.time(), step=int(step),
                                           summary=scalar(k, v)))
            self._scalars += 1
            self._last[k] = v

    def save(self) -> None:
        if self._resume is not None:
            self._apply_resume()
        if self._events is not None:
            self._events.flush()  # fsync'd: a checkpoint written next counts them
        if self._writer is not None:
            self._writer.flush()

    def finalize(self, status: str) -> None:
        hparams_due = self.log_hparams and self._hparams and not self._hparams_written
        if hparams_due and self._log_dir is not None:
            self._hparams_written = True  # once per run, not after every validate/test
            hp = {k: v if isinstance(v, (bool, int, float, str)) else str(v)
                  for k, v in self._hparams.items()}
            final = {f"hparam/{k}": v for k, v in self._last.items()
                     if math.isfinite(v) and k != "epoch" and not k.startswith("lr-")}
            self._write_hparams(hp, final)
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None

    def _write_hparams(self, hp: dict, final: dict) -> None:
        """What ``SummaryWriter.add_hparams(hp, final, name='hparams')`` writes."""
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.summary import hparams, scalar

        d = self.events_dir / "hparams"
        d.mkdir(parents=True, exist_ok=True)
        w = self._events_cls(str(d / "events"), _suffix())
        for summary in hparams(hp, final):
            w.write_event(Event(wall_time=time.time(), summary=summary))
        for k, v in final.items():
            w.write_event(Event(wall_time=time.time(), summary=scalar(k, v)))
        w.close()

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict:
        """The number of scalars on disk and the last value of each metric."""
        if self._events is not None:
            self._events.flush()
        return {"scalars": self._scalars, "last": dict(self._last)}

    def load_state_dict(self, state: dict) -> None:
        """Cut the event files back to the checkpoint's scalars (now, or once the trainer
        gives the logger its directory)."""
        self._resume = dict(state)
        if self._log_dir is not None:
            self._apply_resume()

    def _apply_resume(self) -> None:
        state, self._resume = self._resume, None
        n = int(state.get("scalars", 0))
        self._last = {str(k): float(v) for k, v in (state.get("last") or {}).items()}
        self._hparams_written = False
        for w in (self._events, self._writer):
            if w is not None:
                w.close()
        self._events = self._writer = None
        d = self.events_dir
        if not d.is_dir():
            self._scalars = 0
            return
        shutil.rmtree(d / "hparams", ignore_errors=True)  # written when the run ended
        _finish_journal(d)
        files = _event_files(d)
        kept, count, first_version = [], 0, False
        for path in files:
            for ev in _read_events(path):
                if ev.HasField("file_version"):
                    if not first_version:  # the first file's header event only
                        kept.append(ev)
                        first_version = True
                    continue
                k = sum(1 for v in ev.summary.value if v.HasField("simple_value"))
                if count + k > n:
                    break
                kept.append(ev)
                count += k
            else:
                continue
            break
        if count < n:
            warnings.warn(f"TensorBoardLogger: {d} holds {count} scalars, the checkpoint was "
                          f"written after {n}; keeping them as they are", stacklevel=3)
        self._scalars = count
        total = sum(1 for path in files for ev in _read_events(path)
                    for v in ev.summary.value if v.HasField("simple_value"))
        if len(files) <= 1 and total == count:
            return  # nothing after the checkpoint
        _rewrite(d, kept, files)
