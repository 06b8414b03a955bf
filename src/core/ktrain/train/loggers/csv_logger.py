"""``CSVLogger``: metrics as ``<log_dir>/metrics.csv``, one row per logged step.

Columns are ``step``, ``epoch`` and then every metric name in the order it first
appeared. Consecutive ``log_metrics`` calls for the same step are merged into one row
(train loss, learning rate and validation metrics of one step share a row), also
across a ``save()``: the last row written is reopened (the file is cut back to its
start and the merged row written again). Rows are
buffered and written on ``save()`` (the trainer calls it at epoch ends and before
checkpoints), every ``flush_every_n_rows`` rows, and on ``finalize``. When a new metric
name appears after rows were written, the file is rewritten with the wider header
through a temporary file and an atomic rename, so a crash never leaves a torn file.
A run that resumes into the same directory appends to the existing file. A checkpoint
records how many rows were on disk when it was written (``state_dict``); resuming from
it cuts the file back to those rows (those logged after the checkpoint are logged again
by the resumed run), so the file ends as an uninterrupted run's would.

``epoch`` is filled when the trainer includes ``'epoch'`` in the metrics it logs.
"""
from __future__ import annotations

import csv
import math
import os
import warnings
from pathlib import Path

from .base import DirLogger
from ._common import hparams_to_file, to_number

__all__ = ["CSVLogger"]


class CSVLogger(DirLogger):
    """Write metrics to a CSV file.

    Args:
        log_dir: the run directory (may be set later through ``logger.log_dir = ...``).
        filename: the file name inside ``log_dir``.
        flush_every_n_rows: write buffered rows once this many are pending.
    """

    name = "csv"

    def __init__(self, log_dir=None, filename: str = "metrics.csv",
                 flush_every_n_rows: int = 100):
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self.filename = filename
        self.flush_every_n_rows = max(1, int(flush_every_n_rows))
        self._columns: list[str] = ["step", "epoch"]
        self._file_columns: list[str] | None = None
        self._pending: list[dict] = []
        self._written_last: dict | None = None  # the last row on disk ...
        self._written_last_offset = 0  # ... and where it starts
        self._reopened = False
        self._rows_on_disk = 0  # data rows in the file
        self._resume: dict | None = None  # a checkpoint's state, applied once log_dir is known

    @property
    def path(self) -> Path:
        return self._in_log_dir(self.filename)

    def log_hyperparams(self, params: dict) -> None:
        if self._log_dir is not None:
            hparams_to_file(self._log_dir, params)

    def log_metrics(self, metrics: dict, step: int) -> None:
        if self._resume is not None:
            self._apply_resume()
        row = {k: to_number(v) for k, v in metrics.items()}
        row.pop("step", None)
        last = self._pending[-1] if self._pending else None
        if last is None and _mergeable(self._written_last, row, step):
            last = dict(self._written_last)  # rewritten in place at the next save
            self._pending.append(last)
            self._reopened = True
        if _mergeable(last, row, step):
            last.update(row)
        else:
            self._pending.append({"step": int(step), **row})
        for k in row:
            if k not in self._columns:
                self._columns.append(k)
        if len(self._pending) >= self.flush_every_n_rows:
            self.save()

    def save(self) -> None:
        if self._resume is not None:
            self._apply_resume()
        if not self._pending:
            return
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._reopened:
            os.truncate(path, self._written_last_offset)
            self._reopened = False
            self._rows_on_disk -= 1
        if self._file_columns is None and path.exists() and path.stat().st_size:
            with open(path, newline="") as fh:  # appending to an existing run directory
                reader = csv.reader(fh)
                header = next(reader, [])
                self._rows_on_disk = sum(1 for _ in reader)
            self._file_columns = header
            self._columns = header + [c for c in self._columns if c not in header]
        if self._file_columns == self._columns:
            with open(path, "a", newline="") as fh:
                self._write_rows(fh, self._pending)
                fh.flush()
            self._rows_on_disk += len(self._pending)
        else:
            self._rows_on_disk = self._rewrite(path, self._pending) + len(self._pending)
        self._file_columns = list(self._columns)
        self._written_last = self._pending[-1]
        self._pending.clear()

    def _rewrite(self, path: Path, rows: list[dict], old_rows=None) -> int:
        """Write ``old_rows`` (default: the file's rows) and ``rows`` under the current
        header, atomically; returns the number of old rows."""
        if old_rows is None:
            old_rows = []
            if path.exists():
                with open(path, newline="") as fh:
                    old_rows = list(csv.DictReader(fh))
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, self._columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(old_rows)
            self._write_rows(fh, rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return len(old_rows)

    def _write_rows(self, fh, rows: list[dict]) -> None:
        writer = csv.DictWriter(fh, self._columns)
        for i, row in enumerate(rows):
            if i == len(rows) - 1:
                self._written_last_offset = fh.tell()
            writer.writerow({k: _cell(v) for k, v in row.items()})

    def finalize(self, status: str) -> None:
        self.save()

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict:
        """What is on disk (a checkpoint stores it): the row count, the header and the last
        row (later merges may still widen it)."""
        if self._pending and self._log_dir is not None:
            self.save()
        last = None if self._written_last is None else dict(self._written_last)
        return {"rows": self._rows_on_disk, "columns": list(self._file_columns or []),
                "last": last}

    def load_state_dict(self, state: dict) -> None:
        """Make the file what it was when the checkpoint was written (now, or once the
        trainer gives the logger its directory)."""
        self._resume = dict(state)
        if self._log_dir is not None:
            self._apply_resume()

    def _apply_resume(self) -> None:
        state, self._resume = self._resume, None
        n, last = int(state.get("rows", 0)), state.get("last")
        columns = list(state.get("columns") or [])
        path = self.path
        rows, header = [], []
        if path.exists():
            with open(path, newline="") as fh:
                reader = csv.DictReader(fh)
                header = list(reader.fieldnames or [])
                rows = list(reader)
        if n == 0:  # every row came after the checkpoint
            if path.exists():
                path.unlink()
            self._file_columns, self._written_last, self._rows_on_disk = None, None, 0
            return
        if last is None or len(rows) < n or not columns or \
                any(rows[n - 1].get(k) != str(_cell(v)) for k, v in last.items()):
            warnings.warn(f"CSVLogger: {path} does not hold the {n} rows the checkpoint was "
                          f"written after (it has {len(rows)}); appending to it as it is",
                          stacklevel=3)
            return
        self._pending.clear()
        self._columns = columns
        # rows logged after the checkpoint go, and what was merged into its last row since
        self._rewrite(path, [last], old_rows=rows[:n - 1])
        self._file_columns = list(columns)
        self._written_last, self._reopened = dict(last), False
        self._rows_on_disk = n


def _mergeable(last: dict | None, row: dict, step: int) -> bool:
    """Whether ``row`` can join the pending row ``last``: same step (and epoch), no
    metric logged twice."""
    if last is None or last["step"] != step:
        return False
    if "epoch" in row and "epoch" in last and row["epoch"] != last["epoch"]:
        return False
    return not (set(row) - {"epoch"}) & set(last)


def _cell(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    return v
