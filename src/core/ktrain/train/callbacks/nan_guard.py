"""``NaNGuard``: catch a non-finite loss (or gradient) instead of training on garbage.

* ``action='stop'`` (default): at ``on_train_batch_end`` a NaN/inf loss raises
  ``NonFiniteLossError`` naming the epoch, batch and global step and the last finite loss.
  With ``check_grads=True`` the gradients are also checked before each optimizer step,
  so the error comes *before* the weights are touched, and names the first parameter
  whose gradient is not finite.
* ``action='skip'``: before each optimizer step the gradients are checked; when any is
  NaN/inf they are all set to None, so the optimizer leaves every parameter as it is
  (the LR scheduler and ``global_step`` still advance). ``skipped_steps`` counts them.
* Under a ``GradScaler`` (``trainer.scaler`` enabled) non-finite steps are the scaler's
  business (it skips the step and lowers the scale): they are only counted.

In every mode, more than ``max_consecutive`` non-finite batches in a row raise the same
error: a scaler whose scale collapses, or a loss that stays NaN, will not recover.
Reading the loss costs one device sync per batch on GPU; with ``check_grads`` the loss
comes back together with the gradients' total norm, in the same transfer.
"""
from __future__ import annotations

import math

from ... import _backend as B
from ..._tensor import Tensor
from ...nn.utils.clip_grad import get_total_norm
from ._common import to_float
from .base import Callback

__all__ = ["NaNGuard", "NonFiniteLossError"]

_HINT = ("Common fixes: a lower learning rate, gradient clipping "
         "(Trainer(gradient_clip_val=1.0)), checking the data for NaN/inf, or a warm-up; "
         "NaNGuard(action='skip') skips such steps; trainer.enable_nan_guard=false "
         "(Trainer(enable_nan_guard=False)) trains on without the default guard.")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss or gradient."""


def _scaler_active(trainer) -> bool:
    scaler = getattr(trainer, "scaler", None)
    if scaler is None:
        return False
    enabled = getattr(scaler, "is_enabled", None)
    return bool(enabled()) if enabled is not None else True


def _grads_finite(grads, loss=None):
    """(the gradients are finite, the loss as a float or None): one transfer for both."""
    # one fused reduction first; a NaN/inf anywhere makes it non-finite. Only then the
    # exact per-tensor test (a finite norm can overflow float32 for huge gradients).
    norm = get_total_norm(grads)._data
    if loss is None:
        norm_value, loss_value = to_float(norm), None
    else:
        xp = B.array_module(norm)
        both = xp.stack([norm.astype(xp.float64).reshape(()),
                         loss._data.astype(xp.float64).reshape(())])
        norm_value, loss_value = both.tolist()
    if math.isfinite(norm_value):
        return True, loss_value
    return all(_tensor_finite(g) for g in grads), loss_value


def _tensor_finite(t) -> bool:
    xp = B.array_module(t._data)
    return bool(xp.isfinite(t._data).all())


class NaNGuard(Callback):
    """Stop on (or skip) non-finite losses and gradients.

    Args:
        action: 'stop' (raise ``NonFiniteLossError``) or 'skip' (drop the step).
        check_grads: also check gradients before each optimizer step (default: True for
            'skip', which needs it, False for 'stop').
        max_consecutive: raise after this many non-finite batches in a row in any mode
            (None: never).
        verbose: print a line for every skipped step.

    Counters: ``nonfinite_count`` (batches with a non-finite loss), ``skipped_steps``
    (steps dropped by 'skip'), ``last_finite_loss`` and ``last_finite_step``.
    """

    def __init__(self, action: str = "stop", check_grads: bool | None = None,
                 max_consecutive: int | None = 100, verbose: bool = False):
        if action not in ("stop", "skip"):
            raise ValueError(f"NaNGuard: action must be 'stop' or 'skip', got {action!r}")
        self.action = action
        self.check_grads = (action == "skip") if check_grads is None else bool(check_grads)
        self.max_consecutive = max_consecutive
        self.verbose = verbose
        self.nonfinite_count = 0
        self.skipped_steps = 0
        self.consecutive = 0
        self.last_finite_loss: float | None = None
        self.last_finite_step: int | None = None
        self._read = (None, None)  # (loss array, its value) read with the gradients

    def _where(self, trainer, batch_idx=None) -> str:
        b = getattr(trainer, "batch_idx", None) if batch_idx is None else batch_idx
        return (f"epoch {trainer.current_epoch}, batch {b} of the epoch "
                f"(global step {trainer.global_step})")

    def _last(self) -> str:
        if self.last_finite_loss is None:
            return "No finite loss was seen before."
        return (f"The last finite loss was {self.last_finite_loss:.6g} at global step "
                f"{self.last_finite_step}.")

    def on_before_optimizer_step(self, trainer, task, optimizer) -> None:
        if not self.check_grads or _scaler_active(trainer):
            return
        grads = [(p, p.grad) for g in optimizer.param_groups for p in g["params"]
                 if p.grad is not None]
        if not grads:
            return
        loss = getattr(getattr(trainer, "fit_loop", None), "batch_loss", None)
        loss = loss if isinstance(loss, Tensor) else None
        finite, value = _grads_finite([g for _, g in grads], loss)
        if value is not None:
            self._read = (loss._data, value)
        if finite:
            return
        if self.action == "skip":
            optimizer.zero_grad(set_to_none=True)
            self.skipped_steps += 1
            if self.verbose:
                print(f"NaNGuard: non-finite gradients at {self._where(trainer)}; "
                      "skipping this optimizer step")
            return
        bad = next((p for p, g in grads if not _tensor_finite(g)), None)
        name = self._param_name(task, bad)
        raise NonFiniteLossError(
            f"NaNGuard: non-finite gradient{f' in {name!r}' if name else ''} at "
            f"{self._where(trainer)}, before the optimizer step. {self._last()} {_HINT}")

    @staticmethod
    def _param_name(task, param) -> str | None:
        named = getattr(task, "named_parameters", None)
        if param is None or named is None:
            return None
        return next((n for n, p in named() if p is param), None)

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        seen, value = self._read
        self._read = (None, None)
        if seen is None or getattr(loss, "_data", None) is not seen:
            value = to_float(loss)
        if math.isfinite(value):
            self.last_finite_loss = value
            self.last_finite_step = trainer.global_step
            self.consecutive = 0
            return
        self.nonfinite_count += 1
        self.consecutive += 1
        if self.max_consecutive is not None and self.consecutive > self.max_consecutive:
            who = "the GradScaler skipped" if _scaler_active(trainer) else "NaNGuard saw"
            raise NonFiniteLossError(
                f"NaNGuard: {self.consecutive} non-finite losses in a row ({who} them all), "
                f"now {value} at {self._where(trainer, batch_idx)}: training does not "
                f"recover. {self._last()} {_HINT}")
        if _scaler_active(trainer) or self.action == "skip":
            return
        raise NonFiniteLossError(
            f"NaNGuard: the training loss is {value} at {self._where(trainer, batch_idx)}. "
            f"{self._last()} {_HINT}")

    def state_dict(self) -> dict:
        return {"nonfinite_count": self.nonfinite_count, "skipped_steps": self.skipped_steps,
                "last_finite_loss": self.last_finite_loss,
                "last_finite_step": self.last_finite_step}

    def load_state_dict(self, state_dict: dict) -> None:
        self.nonfinite_count = int(state_dict.get("nonfinite_count", 0))
        self.skipped_steps = int(state_dict.get("skipped_steps", 0))
        self.last_finite_loss = state_dict.get("last_finite_loss")
        self.last_finite_step = state_dict.get("last_finite_step")
