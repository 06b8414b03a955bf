"""The base of the learning-rate schedulers: ``LRScheduler`` and shared helpers.

Public names live in :mod:`ktrain.optim.lr_scheduler`.
"""
from __future__ import annotations

import warnings
import weakref
from functools import wraps

from .._tensor import Tensor
from .optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
    "where possible. Please use `scheduler.step()` to step the scheduler. During the "
    "deprecation, if epoch is different from None, the closed form is used instead of the "
    "new chainable form, where available.")


def _format_param(name, optimizer, param):
    """One value per param group (a list/tuple of the right length, or a broadcast scalar)."""
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(param)} values, param_groups has "
                             f"{len(optimizer.param_groups)}.")
        return list(param)
    return [param] * len(optimizer.param_groups)


def _lrs(optimizer, key="lr"):
    return [g[key] for g in optimizer.param_groups]


def _set_lr(group, key, value):
    cur = group[key]
    if isinstance(cur, Tensor):
        cur.fill_(float(value))
    else:
        group[key] = value


class _in_get_lr:
    """Marks ``get_lr`` calls made by ``step`` (others warn: use ``get_last_lr``)."""

    def __init__(self, o):
        self.o = o

    def __enter__(self):
        self.o._get_lr_called_within_step = True

    def __exit__(self, *exc):
        self.o._get_lr_called_within_step = False


class _initial_mode:
    """Marks the step run by the constructor."""

    def __init__(self, o):
        self.o = o

    def __enter__(self):
        self.o._is_initial = True

    def __exit__(self, *exc):
        self.o._is_initial = False


def _warn_get_lr(sched):
    if not sched._get_lr_called_within_step:
        warnings.warn("To get the last learning rate computed by the scheduler, please use "
                      "`get_last_lr()`.", UserWarning, stacklevel=3)


class LRScheduler:
    """Base class: sets ``initial_lr`` in the param groups, keeps ``base_lrs`` and
    ``last_epoch``, and runs one initial ``step()`` at construction (as PyTorch).

    Subclasses implement ``get_lr()`` (the values for the new ``last_epoch``) and may
    give ``_get_closed_form_lr()`` for ``step(epoch)``.
    """

    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                lr = group["lr"]
                group.setdefault("initial_lr", lr.clone() if isinstance(lr, Tensor) else lr)
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming a scheduler with last_epoch >= 0: load the "
                                   "optimizer state first, or use last_epoch=-1 for a new run")
        self.base_lrs = _lrs(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_optimizer_step(optimizer)
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        with _initial_mode(self):
            self.step()

    def state_dict(self):
        """Every attribute but the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def get_last_lr(self):
        """The learning rates set by the last ``step()``, one per param group."""
        return self._last_lr

    def get_lr(self):
        raise NotImplementedError

    def step(self, epoch=None):
        """Advance one epoch/iteration (``epoch`` jumps there, through the closed form)."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                          "Call them in the opposite order (`optimizer.step()` first), or the "
                          "first value of the learning rate schedule is skipped.",
                          UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        with _in_get_lr(self):
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                if hasattr(self, "_get_closed_form_lr"):
                    values = self._get_closed_form_lr()
                else:
                    values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            _set_lr(group, "lr", lr)
        self._last_lr = _lrs(self.optimizer)


_LRScheduler = LRScheduler


def _track_optimizer_step(opt):
    """Wrap ``opt.step`` once so that schedulers can tell whether it ran (for the warning
    about calling ``scheduler.step()`` first)."""
    if getattr(opt.step, "_wrapped_by_lr_sched", False):
        return
    ref = weakref.ref(opt)
    func = opt.step.__func__
    # the class's step is looked up at each call, so that what patches the class later
    # (the profiler's recording wrapper) is not bypassed
    dynamic = func is getattr(type(opt), "step", None)

    @wraps(func)
    def wrapper(*args, **kwargs):
        o = ref()
        o._opt_called = True
        f = type(o).step if dynamic else func
        return f.__get__(o, o.__class__)(*args, **kwargs)

    wrapper._wrapped_by_lr_sched = True
    opt.step = wrapper
