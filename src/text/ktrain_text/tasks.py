"""``LanguageModelingTask``: next-token prediction with perplexity and bits per character.

Registered as task type ``language_modeling`` (``task: {type: language_modeling}`` in a
run config). Batches are ``(input_ids, targets)`` of shape ``(B, T)`` (a
:class:`~ktrain_text.datasets.LanguageModelingDataset`) or dicts with ``input_ids`` and
``labels``; the model returns logits ``(B, T, V)``. Logged per stage: ``<stage>/loss``
(mean token cross entropy, nats), and at epoch end ``<stage>/perplexity`` =
exp(loss) and ``<stage>/bpc`` = loss / ln 2 / ``chars_per_token`` (bits per character;
``chars_per_token`` is 1 for character-level data, and
``LanguageModelingDataset.chars_per_token`` for word/subword data).

Example::

    task = LanguageModelingTask(GPT(vocab_size=65), optimizer={"name": "adamw", "lr": 1e-3})
    Trainer(max_epochs=1).fit(task, train_loader, val_loader)
"""
from __future__ import annotations

import math

from ktrain.nn import functional as F
from ktrain.train import Task
from ktrain.train._supervised import build_optimizer, build_scheduler

__all__ = ["LanguageModelingTask"]

_METRICS = ("perplexity", "bpc")


class LanguageModelingTask(Task):
    """Token-level cross entropy for a causal LM.

    Args:
        model: maps ids ``(B, T)`` to logits ``(B, T, V)``.
        optimizer, scheduler: specs as for :class:`ktrain.train.ClassificationTask`.
        loss: only ``'cross_entropy'``.
        metrics: any of ``'perplexity'``, ``'bpc'`` (both by default).
        ignore_index: target id left out of the loss (padding).
        label_smoothing: for the training loss.
        chars_per_token: characters per token, for ``bpc``.
    """

    def __init__(self, model, optimizer=None, scheduler=None, loss: str = "cross_entropy",
                 metrics=_METRICS, ignore_index: int = -100, label_smoothing: float = 0.0,
                 chars_per_token: float = 1.0):
        super().__init__()
        from ktrain.registry import LOSSES

        if loss not in LOSSES or LOSSES.resolve_name(loss) != "cross_entropy":
            raise ValueError(f"LanguageModelingTask: loss must be 'cross_entropy', got {loss!r}")
        metrics = [metrics] if isinstance(metrics, str) else list(metrics or ())
        bad = [m for m in metrics if m not in _METRICS]
        if bad:
            raise ValueError(f"LanguageModelingTask: unknown metric(s) {bad}; known: "
                             f"{', '.join(_METRICS)}")
        if float(chars_per_token) <= 0:
            raise ValueError(f"chars_per_token must be > 0, got {chars_per_token}")
        self.model = model
        self.metrics = tuple(metrics)
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)
        self.chars_per_token = float(chars_per_token)
        self.optimizer_spec, self.scheduler_spec = optimizer, scheduler
        self._nll = {"train": [0.0, 0], "val": [0.0, 0], "test": [0.0, 0]}

    def forward(self, x):
        return self.model(**x) if isinstance(x, dict) else self.model(x)

    @staticmethod
    def _split(batch):
        if isinstance(batch, dict):
            x = {k: v for k, v in batch.items() if k not in ("labels", "targets", "target")}
            y = next((batch[k] for k in ("labels", "targets", "target") if k in batch), None)
            if y is None:  # labels = inputs shifted by one
                ids = batch["input_ids"]
                x = {**x, "input_ids": ids[:, :-1]}
                y = ids[:, 1:]
            return x, y
        if isinstance(batch, (list, tuple)) and len(batch) >= 2:
            return batch[0], batch[1]
        raise ValueError("LanguageModelingTask expects batches (input_ids, targets) or dicts "
                         f"with 'input_ids' (and 'labels'); got {type(batch).__name__}")

    def _step(self, batch, stage):
        x, y = self._split(batch)
        logits = self(x)
        if logits.ndim != 3 or tuple(logits.shape[:2]) != tuple(y.shape):
            raise ValueError(f"LanguageModelingTask: expected logits (B, T, V) for targets "
                             f"(B, T) = {tuple(y.shape)}, got {tuple(logits.shape)}")
        V = logits.shape[-1]
        smooth = self.label_smoothing if stage == "train" else 0.0
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1),
                               ignore_index=self.ignore_index, label_smoothing=smooth)
        n = int((y != self.ignore_index).sum()) if self.ignore_index >= 0 else int(y.numel())
        acc = self._nll[stage]
        acc[0] += float(loss.detach()) * n
        acc[1] += n
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True,
                 prog_bar=True, batch_size=n)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        return {"loss": self._step(batch, "val")}

    def test_step(self, batch, batch_idx):
        return {"loss": self._step(batch, "test")}

    def predict_step(self, batch, batch_idx):
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        return F.softmax(self(x)[:, -1, :], dim=-1)  # next-token distribution

    # ------------------------------------------------------------------ epoch metrics
    def _epoch_metrics(self, stage):
        total, n = self._nll[stage]
        self._nll[stage] = [0.0, 0]
        if not n:
            return
        mean = total / n
        if "perplexity" in self.metrics:
            self.log(f"{stage}/perplexity", math.exp(min(mean, 700.0)))
        if "bpc" in self.metrics:
            self.log(f"{stage}/bpc", mean / math.log(2.0) / self.chars_per_token)

    def setup(self, stage):
        # the train sums restart with each fit (a resumed one then loads its checkpoint's)
        # and after each epoch's figures; not at epoch start, which a resumed run repeats
        # in the middle of the epoch
        if stage == "fit":
            self._nll["train"] = [0.0, 0]

    def on_save_checkpoint(self, checkpoint):
        # the token-weighted loss sum of the unfinished epoch (perplexity and bpc of a
        # resumed epoch are then those of an uninterrupted one)
        total, n = self._nll["train"]
        checkpoint["task_nll"] = {"train": [float(total), int(n)]}

    def on_load_checkpoint(self, checkpoint):
        saved = (checkpoint.get("task_nll") or {}).get("train")
        if saved is not None:
            self._nll["train"] = [float(saved[0]), int(saved[1])]

    def on_train_epoch_end(self):
        self._epoch_metrics("train")

    def on_validation_epoch_start(self):
        self._nll["val"] = [0.0, 0]

    def on_validation_epoch_end(self):
        self._epoch_metrics("val")

    def on_test_epoch_start(self):
        self._nll["test"] = [0.0, 0]

    def on_test_epoch_end(self):
        self._epoch_metrics("test")

    def configure_optimizers(self):
        opt = build_optimizer(self.optimizer_spec, self.parameters())
        if self.scheduler_spec is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": build_scheduler(self.scheduler_spec, opt)}
