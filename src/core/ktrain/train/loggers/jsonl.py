"""``JSONLLogger``: metrics as ``<log_dir>/metrics.jsonl``, one JSON object per call.

Each line is ``{"step": 120, "time": 1718000000.123, "epoch": 2, "train/loss": 0.41, ...}``
(``time`` is the Unix time of the call; NaN and infinities are written as ``null``, as
strict JSON has no NaN). Every line is flushed as it is written, so the file can be
followed live (``tail -f``) and survives a crash up to the last call. A resumed run
appends to the same file.
"""
from __future__ import annotations

import json
import time
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
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(record, allow_nan=False) + "\n")
        self._fh.flush()

    def save(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def finalize(self, status: str) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __del__(self):
        fh = getattr(self, "_fh", None)
        if fh is not None:
            fh.close()


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
