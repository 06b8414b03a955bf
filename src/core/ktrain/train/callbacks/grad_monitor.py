"""``GradientNormMonitor``: log the total gradient norm before each logged optimizer step.

The norm is ``nn.utils.get_total_norm`` over every gradient the optimizer holds, taken at
``on_before_optimizer_step``. Under mixed precision the gradients may still carry the
loss scale: when ``trainer.scaler`` is an enabled ``GradScaler`` whose per-optimizer state
says the gradients have not been unscaled yet, the norm is divided by the current scale
(the true norm, without unscaling in place, which would upset the trainer's own
``unscale_``); when they have been unscaled, the norm is logged as is. Skipped steps
(inf/NaN gradients) log ``inf``/``nan``.

Name: ``grad_norm`` (``grad_norm/opt<i>`` when the trainer has several optimizers),
logged at ``step = trainer.global_step + 1`` (the number the step being taken will have,
where the Trainer logs its loss), every ``log_every_n_steps`` steps (default: the
trainer's ``log_every_n_steps``).
"""
from __future__ import annotations

from ...nn.utils.clip_grad import get_total_norm
from ._common import log_to_loggers, to_float
from .base import Callback

__all__ = ["GradientNormMonitor"]


def _scaled_state(scaler, optimizer) -> bool | None:
    """True when ``optimizer``'s gradients still carry ``scaler``'s scale, False when they
    were unscaled, None when it cannot be told (no scaler, disabled, unknown scaler)."""
    if scaler is None:
        return None
    enabled = getattr(scaler, "is_enabled", None)
    if enabled is not None and not enabled():
        return None
    states = getattr(scaler, "_per_optimizer_states", None)
    if states is None:
        return None
    state = states.get(id(optimizer)) if hasattr(states, "get") else None
    stage = getattr((state or {}).get("stage"), "name", "READY")
    return stage == "READY"


class GradientNormMonitor(Callback):
    """Log the total ``norm_type``-norm of the gradients (``grad_norm``).

    Args:
        norm_type: order of the norm (2.0; ``float('inf')`` for the max-norm).
        log_every_n_steps: log every n optimizer steps (default: the trainer's setting).
        name: metric name.

    ``last_norm`` holds the last value computed.
    """

    def __init__(self, norm_type: float = 2.0, log_every_n_steps: int | None = None,
                 name: str = "grad_norm"):
        self.norm_type = float(norm_type)
        self.log_every_n_steps = log_every_n_steps
        self.name = name
        self.last_norm: float | None = None

    def on_before_optimizer_step(self, trainer, task, optimizer) -> None:
        step = trainer.global_step + 1
        every = self.log_every_n_steps or getattr(trainer, "log_every_n_steps", 1) or 1
        if step % every:
            return
        grads = [p.grad for g in optimizer.param_groups for p in g["params"]
                 if p.grad is not None]
        if not grads:
            return
        norm = to_float(get_total_norm(grads, self.norm_type))
        scaler = getattr(trainer, "scaler", None)
        if _scaled_state(scaler, optimizer):
            norm = norm / float(scaler.get_scale())
        self.last_norm = norm
        optimizers = list(getattr(trainer, "optimizers", None) or [optimizer])
        key = self.name
        if len(optimizers) > 1:
            idx = next((i for i, o in enumerate(optimizers) if o is optimizer), 0)
            key = f"{self.name}/opt{idx}"
        log_to_loggers(trainer, {key: norm}, step)
