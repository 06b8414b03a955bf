"""Gradient recording switches: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each works as a context manager and as a decorator (with or without parentheses),
like PyTorch's. The state is per thread, as in PyTorch, so a data-loading thread
never records a graph by accident.
"""
from __future__ import annotations

import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled"]


class _State(threading.local):
    def __init__(self):
        self.enabled = True
        self.inference = False


STATE = _State()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad record a graph."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _GradMode:
    """Context manager and decorator that sets grad mode to ``self._target``."""

    _target = True
    _inference = None  # None: leave the inference flag alone

    def __new__(cls, *args):
        self = super().__new__(cls)
        if len(args) == 1 and callable(args[0]):  # used as @no_grad without parentheses
            self.__init__()
            return self(args[0])
        return self

    def __enter__(self):
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = self._target
        if self._inference is not None:
            STATE.inference = self._inference

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self._prev
        return False

    def clone(self):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: ``with ktrain.no_grad(): ...`` or ``@ktrain.no_grad()``."""

    _target = False


class enable_grad(_GradMode):
    """Re-enable graph recording, e.g. inside a ``no_grad`` block."""

    _target = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)``: as a context manager, decorator, or plain call."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = self._target  # the plain-call form takes effect at once

    def __enter__(self):
        pass

    def __call__(self, fn):
        STATE.enabled, STATE.inference = self._prev  # the decorator form must not stay switched
        return (enable_grad() if self._target else no_grad())(fn)


class inference_mode(_GradMode):
    """Like ``no_grad`` for pure inference; ``inference_mode(False)`` changes nothing."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self._target = not self.mode
        self._inference = True if self.mode else None

    def __enter__(self):
        if not self.mode:
            self._prev = (STATE.enabled, STATE.inference)
            return
        super().__enter__()
