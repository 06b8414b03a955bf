"""``TensorBoardLogger``: TensorBoard event files in ``<log_dir>/tensorboard``.

Written with tensorboardX's ``SummaryWriter`` (no TensorFlow or PyTorch needed); view
with ``tensorboard --logdir <run dir>``. Every metric is a scalar at its step. With
``log_hparams`` (default) the hyper-parameters given to ``log_hyperparams`` are written
at ``finalize`` together with the final value of every metric, for TensorBoard's
HParams tab (in the ``tensorboard/hparams`` sub-run).

tensorboardX is an optional dependency: without it, constructing the logger raises an
ImportError that says how to install it (``default_loggers`` just leaves it out).
"""
from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

from ._common import flatten, to_number
from .base import DirLogger

__all__ = ["TensorBoardLogger", "tensorboard_available"]

_INSTALL = ("TensorBoardLogger needs the 'tensorboardX' package (a dependency of ktrain "
            "that is missing here): pip install tensorboardX")


# tensorboardX names event files by the second and opens them with 'wb': a second writer
# in the same second (fit then test) would clobber the first file without a unique suffix
_WRITER_IDS = itertools.count()


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
        except ImportError as e:
            raise ImportError(_INSTALL) from e
        self._writer_cls = SummaryWriter
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self.sub_dir = sub_dir
        self.flush_secs = int(flush_secs)
        self.log_hparams = log_hparams
        self._writer = None
        self._hparams: dict = {}
        self._last: dict[str, float] = {}
        self._hparams_written = False

    @property
    def events_dir(self) -> Path:
        return self._in_log_dir(self.sub_dir)

    @property
    def writer(self):
        """The ``tensorboardX.SummaryWriter`` (created on first use)."""
        if self._writer is None:
            self.events_dir.mkdir(parents=True, exist_ok=True)
            suffix = f".{os.getpid()}.{next(_WRITER_IDS)}"
            self._writer = self._writer_cls(logdir=str(self.events_dir),
                                            flush_secs=self.flush_secs, filename_suffix=suffix)
        return self._writer

    def log_hyperparams(self, params: dict) -> None:
        self._hparams.update(flatten(params))

    def log_metrics(self, metrics: dict, step: int) -> None:
        w = self.writer
        for k, v in metrics.items():
            if k == "step":
                continue
            v = float(to_number(v))
            w.add_scalar(k, v, global_step=int(step))
            self._last[k] = v

    def save(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def finalize(self, status: str) -> None:
        hparams_due = self.log_hparams and self._hparams and not self._hparams_written
        if self._writer is None and not hparams_due:
            return
        w = self.writer
        if hparams_due:
            self._hparams_written = True  # once per run, not after every validate/test
            hp = {k: v if isinstance(v, (bool, int, float, str)) else str(v)
                  for k, v in self._hparams.items()}
            final = {f"hparam/{k}": v for k, v in self._last.items()
                     if math.isfinite(v) and k != "epoch" and not k.startswith("lr-")}
            w.add_hparams(hp, final, name="hparams")
        w.flush()
        w.close()
        self._writer = None
