"""Dynamic loss scaling for float16 training (``torch.amp.GradScaler``'s semantics).

The scale and the growth schedule follow PyTorch exactly: the scale is a float32 value;
``update`` multiplies it by ``backoff_factor`` when a step found inf/NaN gradients (and
resets the count of good steps), and by ``growth_factor`` after ``growth_interval``
consecutive good steps (keeping the old scale when the product would not be finite).
"""
from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum

import numpy as np

from .. import _backend as B

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    """Where an optimizer is in the current iteration."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _on(arr, dev):
    """``arr`` on device ``dev`` (a copy only when it lives elsewhere)."""
    return B.to_device(arr, dev)


class GradScaler:
    """Scale the loss up so float16 gradients do not underflow; unscale before stepping.

    Args:
        device: 'cuda' (PyTorch's default) or 'cpu'. 'cuda' without a usable GPU warns
            and disables the scaler, as in PyTorch.
        init_scale: the initial scale (2**16).
        growth_factor: multiplies the scale after ``growth_interval`` good steps (> 1).
        backoff_factor: multiplies the scale after a step with inf/NaN gradients (< 1).
        growth_interval: consecutive good steps before the scale grows (2000).
        enabled: when False, ``scale`` returns its input, ``step`` calls
            ``optimizer.step()``, and the other methods do nothing.

    Example::

        scaler = ktrain.amp.GradScaler("cpu")
        for x, y in data:
            optimizer.zero_grad()
            with ktrain.autocast("cpu", dtype=ktrain.float16):
                loss = loss_fn(model(x), y)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)            # optional: to clip unscaled gradients
            scaler.step(optimizer)                # skipped when a gradient is inf/NaN
            scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        self._device = str(device)
        self._enabled = bool(enabled)
        if self._device == "cuda" and self._enabled and B.cupy_module() is None:
            warnings.warn("ktrain.amp.GradScaler is enabled, but CUDA is not available. "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None  # a 0-d float32 Tensor, made on first scale() on its device
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # ------------------------------------------------------------------ internals
    def _check_scale_growth_tracker(self, funcname):
        if self._scale is None:
            raise AssertionError(
                f"Attempted {funcname} but _scale is None.  This may indicate your script did "
                "not use scaler.scale(loss or outputs) earlier in the iteration.")
        return self._scale

    def _lazy_init_scale_growth_tracker(self, dev):
        from .._tensor import Tensor  # noqa: PLC0415 - amp loads before ops need it

        self._scale = Tensor._make(_on(np.array(self._init_scale, np.float32), dev))
        self._growth_tracker = int(self._init_growth_tracker)

    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        """Multiply every gradient by ``inv_scale`` in place; return {device: found_inf}."""
        buckets = defaultdict(list)  # (device, dtype) -> grads
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                a = g._data
                if not allow_fp16 and a.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                buckets[(B.device_of(a), a.dtype)].append(g)
        found = {}
        inv_on = {}
        for (dev, _), grads in buckets.items():
            inv = inv_on.get(dev)
            if inv is None:
                inv = inv_on[dev] = _on(inv_scale, dev)
            xp = B.array_module(grads[0]._data)
            # one finiteness flag per gradient (checked before unscaling, as PyTorch's
            # kernel does), combined into one device value: no host sync here
            flags = [xp.isfinite(g._data).all() for g in grads]
            for g in grads:
                xp.multiply(g._data, inv, out=g._data)
                g._version[0] += 1
            bad = xp.logical_not(xp.stack(flags).all()).astype(np.float32)
            prev = found.get(dev)
            found[dev] = bad if prev is None else xp.maximum(prev, bad)
        return found

    # ------------------------------------------------------------------ public API
    def scale(self, outputs):
        """Multiply a tensor, or the tensors of a (nested) list/tuple/dict, by the scale."""
        if not self._enabled:
            return outputs
        from .._tensor import Tensor  # noqa: PLC0415

        def apply(v):
            if isinstance(v, Tensor):
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker(v.device)
                s = self._scale
                if s.device != v.device:
                    s = Tensor._make(_on(s._data, v.device))
                return v * s
            if isinstance(v, (list, tuple)):
                return type(v)(map(apply, v))
            if isinstance(v, dict):
                return type(v)((k, apply(x)) for k, x in v.items())
            if isinstance(v, abc.Iterable) and not isinstance(v, (str, bytes)):
                return map(apply, v)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale, in place (once per step).

        Optional: ``step`` unscales when it was not called. Use it to work on true
        gradients between backward and step (e.g. gradient clipping). Calling it twice
        for one optimizer before ``update``, or after ``step``, is a RuntimeError.
        """
        if not self._enabled:
            return
        scale = self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal in double then rounded to float32, as PyTorch
        inv_scale = (1.0 / scale._data.astype(np.float64)).astype(np.float32)
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, state, *args, **kwargs):
        if not sum(float(v) for v in state["found_inf_per_device"].values()):
            return optimizer.step(*args, **kwargs)
        return None

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless done) and call ``optimizer.step(*args, **kwargs)`` unless a
        gradient is inf/NaN; returns what ``optimizer.step`` returned (None when skipped).
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, state, *args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Update the scale at the end of the iteration (after every ``step``).

        With ``new_scale`` (a float or a one-element tensor) the scale is set to it.
        Otherwise: any inf/NaN seen this iteration multiplies the scale by
        ``backoff_factor`` and resets the growth count; else the count grows and, on
        reaching ``growth_interval``, the scale is multiplied by ``growth_factor``.
        """
        if not self._enabled:
            return
        scale = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, (float, int)) and not isinstance(new_scale, bool):
                value = np.float32(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element ktrain.Tensor with "
                          "requires_grad=False.")
                if (not hasattr(new_scale, "_data") or new_scale.numel() != 1
                        or new_scale.requires_grad or new_scale.device.type != scale.device.type):
                    raise AssertionError(reason)
                value = np.float32(new_scale.item())
        else:
            found = [v for st in self._per_optimizer_states.values()
                     for v in st["found_inf_per_device"].values()]
            if len(found) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            current = np.float32(scale.item())
            if sum(float(v) for v in found):
                value = np.float32(float(current) * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    with np.errstate(over="ignore"):  # an overflow keeps the old scale
                        grown = np.float32(float(current) * self._growth_factor)
                    value = grown if np.isfinite(grown) else current
                    self._growth_tracker = 0
                else:
                    value = current
                    self._growth_tracker = successful
        scale._data[...] = value
        scale._version[0] += 1
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None \
                else self._growth_tracker
        return 0

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker`` as Python numbers (PyTorch's keys); empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned (a no-op when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale._data[...] = np.float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError(
                    "A GradScaler instance may only be pickled at the beginning of an "
                    "iteration, or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
            state["_per_optimizer_states"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._enabled:
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)
