"""CTC speech recognition task (registered in ktrain's TASKS as ``ctc``).

Batches are ``({"x", "lengths"}, {"targets", "target_lengths"})`` as
:func:`ktrain_audio.datasets.ctc_collate` builds them; the model returns log-probs
``(T, B, C)`` and has ``output_lengths(lengths)``. Logged: ``{stage}/loss`` and, for
val/test, ``{stage}/cer`` (character error rate of greedy decoding).

Config (e.g. ``ktrain fit conf/audio_digits.yaml data=yesno model=ctc_recognizer
task.type=ctc``)::

    task: {type: ctc, blank: 0}

The loss is always CTC and the metric the CER: a ``loss``/``metrics`` the config carries
for classification is ignored with a warning.
"""
from __future__ import annotations

import ktrain as kt
import ktrain.nn.functional as F
from ktrain.train._supervised import _SupervisedTask

from .models import char_error_rate, greedy_decode

__all__ = ["CTCTask"]


class CTCTask(_SupervisedTask):
    """Train a CTC model; validation decodes greedily and reports the CER."""

    def __init__(self, model, optimizer="adam", scheduler=None, blank: int = 0,
                 loss=None, metrics=None, zero_infinity: bool = True, num_classes=None):
        if loss not in (None, "ctc") or any(m not in ("cer",) for m in (metrics or ())):
            import warnings

            warnings.warn(f"CTCTask: ignoring loss={loss!r} / metrics={metrics!r}: the loss is "
                          "CTC and val/test report the character error rate", stacklevel=2)
        super().__init__(model, self._ctc, (), optimizer, scheduler)
        self.blank, self.zero_infinity = blank, zero_infinity

    def _ctc(self, out, y):
        log_probs, in_len = out
        return F.ctc_loss(log_probs, y["targets"], in_len, y["target_lengths"],
                          blank=self.blank, reduction="mean", zero_infinity=self.zero_infinity)

    def _run(self, x):
        log_probs = self.model(**x) if isinstance(x, dict) else self.model(x)
        lengths = x.get("lengths") if isinstance(x, dict) else None
        if lengths is None:
            lengths = kt.full((log_probs.shape[1],), log_probs.shape[0], dtype=kt.int64,
                              device=log_probs.device)
        else:
            lengths = self.model.output_lengths(lengths).clamp(max=log_probs.shape[0])
        return log_probs, lengths

    def _shared_step(self, batch, stage):
        x, y = batch
        log_probs, in_len = self._run(x)
        loss = self._ctc((log_probs, in_len), y)
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True,
                 prog_bar=True)
        if stage != "train":
            hyp = greedy_decode(log_probs, in_len, self.blank)
            tg = y["targets"].cpu().numpy()
            tl = y["target_lengths"].cpu().numpy()
            ref = [tg[i, :tl[i]].tolist() for i in range(len(tl))]
            self.log(f"{stage}/cer", char_error_rate(hyp, ref), on_epoch=True, prog_bar=True)
        return loss

    def predict_step(self, batch, batch_idx):
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        log_probs, in_len = self._run(x)
        return greedy_decode(log_probs, in_len, self.blank)
