"""``JSONLLogger``: metrics as ``<log_dir>/metrics.jsonl``, one JSON object per call.

Each line is ``{"step": 120, "time": 1718000000.123, "epoch": 2, "train/loss": 0.41, ...}``
(``time`` is the Unix time of the call; NaN and infinities are written as ``null``, as
strict JSON has no NaN). Every line is flushed as it is written, so the file can be
followed live (``tail -f``) and survives a crash up to the last call. A resumed run
appends to the same file: a checkpoint records how many lines were written before it
(``state_dict``), and resuming from it cuts the file back to them (the resumed run logs
the later ones again), so the file ends as an uninterrupted run's would. A line torn by
a crash is cut off before appending.
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

from ._common import hparams_to_file, json_safe, to_number
from .base import DirLogger

__all__ = ["JSONLLogger", "read_jsonl"]


class JSONLLogger(DirLogger):
    """Write metrics as JSON lines.

    Args:
        log_dir: the run directory (may be set later through ``logger.log_dir = ...``).
        filename: the file name inside ``log_dir``.
    """

    name = "jsonl"

    def __init__(self, log_dir=None, filename: str = "metrics.jsonl"):
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self.filename = filename
        self._fh = None
        self._lines = 0  # complete lines in the file
        self._last_line = None  # the last one written
        self._resume: dict | None = None  # a checkpoint's state, applied once log_dir is known

    @property
    def path(self) -> Path:
        return self._in_log_dir(self.filename)

    def log_hyperparams(self, params: dict) -> None:
        if self._log_dir is not None:
            hparams_to_file(self._log_dir, params)

    def log_metrics(self, metrics: dict, step: int) -> None:
        record = {"step": int(step), "time": round(time.time(), 3)}
        for k, v in metrics.items():
            if k != "step":
                record[k] = json_safe(to_number(v))
        if self._resume is not None:
            self._apply_resume()
        if self._fh is None:
            self._open()
        line = json.dumps(record, allow_nan=False)
        self._fh.write(line + "\n")
        self._fh.flush()
        self._lines += 1
        self._last_line = line

    def _open(self) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = _read_lines(path)
        if lines and not lines[-1].endswith(b"\n"):  # torn by a crash: never extend it
            with open(path, "r+b") as fh:
                fh.truncate(sum(len(x) for x in lines[:-1]))
            lines.pop()
        self._lines = len(lines)
        self._last_line = lines[-1].decode("utf-8").rstrip("\n") if lines else None
        self._fh = open(path, "a", encoding="utf-8")

    def save(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def finalize(self, status: str) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict:
        """The lines written so far (a checkpoint stores it): their count and the last."""
        if self._fh is None and self._log_dir is not None and self.path.exists():
            self._open()
        return {"lines": self._lines, "last": self._last_line}

    def load_state_dict(self, state: dict) -> None:
        """Cut the file back to the lines of the checkpoint (now, or once the trainer gives
        the logger its directory)."""
        self._resume = dict(state)
        if self._log_dir is not None:
            self._apply_resume()

    def _apply_resume(self) -> None:
        state, self._resume = self._resume, None
        n, last = int(state.get("lines", 0)), state.get("last")
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        path = self.path
        lines = _read_lines(path)
        if n > 0 and (len(lines) < n or lines[n - 1].decode("utf-8").rstrip("\n") != last):
            warnings.warn(f"JSONLLogger: {path} does not hold the {n} lines the checkpoint "
                          f"was written after (it has {len(lines)}); appending to it as it is",
                          stacklevel=3)
            return
        if len(lines) > n:  # lines logged after the checkpoint go
            from ...serialization import atomic_write_text

            atomic_write_text(path, b"".join(lines[:n]).decode("utf-8"))

    def __del__(self):
        fh = getattr(self, "_fh", None)
        if fh is not None:
            fh.close()


def _read_lines(path) -> list[bytes]:
    try:
        with open(path, "rb") as fh:
            return fh.readlines()
    except FileNotFoundError:
        return []


def read_jsonl(path) -> list[dict]:
    """The records of a metrics.jsonl file (a torn last line from a crash is skipped)."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
