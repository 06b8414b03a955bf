"""Stochastic weight averaging and EMA of weights (``torch.optim.swa_utils``).

``AveragedModel`` keeps a running average (SWA, or EMA with ``get_ema_multi_avg_fn``) of
a model's parameters; ``SWALR`` anneals each group's lr to a constant ``swa_lr``;
``update_bn`` recomputes BatchNorm statistics for the averaged weights.
"""
from __future__ import annotations

import itertools
import math
from copy import deepcopy

from .. import _backend as B
from .. import creation as _c
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.module import Module
from ._lr_base import LRScheduler, _format_param, _warn_get_lr

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


def _lerp_(avg, cur, w):
    """``avg += w * (cur - avg)`` in place on the arrays of two tensors."""
    a = avg._data
    xp = B.array_module(a)
    if a.dtype.kind == "f":
        d = xp.subtract(cur._data, a, dtype=a.dtype)
        d *= a.dtype.type(w)
        a += d
    else:  # integer buffers (use_buffers=True): computed in float, cast back
        a[...] = (a + w * (cur._data - a)).astype(a.dtype)
    avg._version[0] += 1


def get_ema_multi_avg_fn(decay=0.999):
    """``multi_avg_fn`` for an exponential moving average: ``ema = lerp(ema, p, 1 - decay)``."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        for e, p in zip(ema_param_list, current_param_list):
            _lerp_(e, p, 1 - decay)

    return ema_update


def get_swa_multi_avg_fn():
    """``multi_avg_fn`` for the equal-weight running average of SWA."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        w = 1 / (float(num_averaged) + 1)
        for a, p in zip(averaged_param_list, current_param_list):
            _lerp_(a, p, w)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """``avg_fn`` for an exponential moving average (one parameter at a time)."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """``avg_fn`` for the equal-weight running average of SWA (one parameter at a time)."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the running average of ``model``'s.

    Call ``update_parameters(model)`` after optimizer steps; the first call copies. By
    default it is SWA's equal-weight average; ``multi_avg_fn=get_ema_multi_avg_fn(d)``
    gives an EMA. Buffers are copied from the model (averaged too with
    ``use_buffers=True``). ``n_averaged`` counts the updates.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", _c.tensor(0, dtype=B.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold ``model``'s current parameters into the average."""
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.module.parameters(), model.parameters()
        n = int(self.n_averaged.item())
        with no_grad():
            pairs = [(a.detach(), p.detach().to(a.device)) for a, p in zip(mine, theirs)]
            if n == 0:
                for a, p in pairs:
                    a.copy_(p)
            elif self.avg_fn is not None:
                for a, p in pairs:
                    a.copy_(self.avg_fn(a, p, self.n_averaged))
            else:
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                groups = {}
                for a, p in pairs:  # one call per (device, dtype), as PyTorch
                    groups.setdefault((str(a.device), a.dtype), []).append((a, p))
                for items in groups.values():
                    fn([a for a, _ in items], [p for _, p in items], self.n_averaged)
            if not self.use_buffers:
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.detach().copy_(b_model.detach().to(b_avg.device))
            self.n_averaged.add_(1)


def update_bn(loader, model, device=None):
    """Recompute the running statistics of every BatchNorm of ``model`` with one pass over
    ``loader`` (batches are tensors, or lists/tuples whose first item is the input)."""
    from ..nn.modules.normalization import _BatchNorm

    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None  # cumulative average over the pass
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None and isinstance(batch, Tensor):
                batch = batch.to(device)
            model(batch)
    for m, mom in momenta.items():
        m.momentum = mom
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` (``cos`` or
    ``linear``), then keep it constant."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        for lr, group in zip(_format_param("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, strategy):
        self._anneal_strategy = strategy
        self.anneal_func = self._cosine_anneal if strategy == "cos" else self._linear_anneal

    def get_lr(self):
        _warn_get_lr(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
                    for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
