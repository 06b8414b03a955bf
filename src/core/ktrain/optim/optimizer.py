"""``Optimizer``: the base class of every optimizer (PyTorch's API and state_dict format).

Parameters come as an iterable of tensors or of dicts (param groups whose missing
hyper-parameters fall back to ``defaults``); ``state`` is keyed by parameter; the
``state_dict`` is PyTorch's portable, index-based format.

How a step stays fast
---------------------
Elementwise optimizers (all but LBFGS) describe their algorithm with three hooks:
``_init_state`` (PyTorch's lazy state), ``_prepare`` (per-step scalars such as bias
corrections; increments ``step``) and ``_apply`` (the elementwise update written with
in-place ufuncs on arrays). The base class runs ``_apply`` once per group on flat
buffers instead of once per parameter:

* on the first step each group gets ONE flat buffer for its parameters and one per state
  variable; every parameter's storage (``p._data``) is re-pointed to a view into the
  parameter buffer (the Parameter object stays the same), and every ``state[p]`` tensor
  is a PyTorch-shaped view into its state buffer, so ``state_dict`` and user code see
  the usual per-parameter tensors; per-parameter ``step`` counters are 0-d views into one
  small CPU array;
* each step runs the update on cache-sized chunks of the flat buffers (numpy: the
  gradients are copied into a chunk buffer as it goes, so the copy stays in cache) or
  in one go (cupy: one ``concatenate(..., out=)`` gathers the gradients);
* the layout is checked every step (same parameters, same storages, same state
  tensors) and rebuilt when anything changed (``module.to()``, ``load_state_dict``,
  a parameter that got no gradient...). Groups whose parameters differ in dtype or
  device, are non-contiguous or have unequal step counters take the per-parameter path,
  which runs the very same ``_apply`` on each parameter's own arrays.

Caveat of the flat design: a view taken of a parameter's storage *before* its first
optimizer step (``v = p.detach()`` then ``opt.step()``) keeps the old storage and does
not see later updates; views taken afterwards do.
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from itertools import chain

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ..autograd import profiler as _profiler
from ..autograd.grad_mode import enable_grad
from ._flat import _check_grad_shapes, _FlatGroup, _Work

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that every param group must give."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _scalar(x):
    """A hyper-parameter as a Python number (1-element tensors are accepted)."""
    return float(x) if isinstance(x, Tensor) else x


def _scalar_np_dtype():
    # PyTorch keeps step counters in float32 unless the default dtype is float64
    return np.float64 if B.get_default_dtype() is B.float64 else np.float32


def _scalar_tensor(value) -> Tensor:
    """A 0-d CPU tensor holding a per-parameter scalar state (``step``, ``mu_product``)."""
    return Tensor._make(np.array(value, dtype=_scalar_np_dtype()))


def _typename(x) -> str:
    return type(x).__module__.split(".")[0] + "." + type(x).__name__


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts that
            define parameter groups (``{'params': [...], 'lr': 0.1}``).
        defaults: default hyper-parameters, used by groups that do not set them.

    Subclasses for elementwise algorithms implement ``_init_state``, ``_prepare``,
    ``_apply`` and ``_tensor_keys`` (see the module docstring); others override ``step``.
    """

    _scalar_keys: tuple = ("step",)  # per-parameter 0-d CPU state tensors
    _lazy_keys: frozenset = frozenset()  # state tensors that _apply itself initialises

    def __init__(self, params, defaults):
        if defaults.get("differentiable"):
            raise NotImplementedError(f"{type(self).__name__}: differentiable=True (autograd "
                                      "through the optimizer step) is not supported")
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.state = defaultdict(dict)
        self.param_groups = []
        self._layouts = {}
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------------ pickling / copying
    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._layouts = {}

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a param group (e.g. layers unfrozen during fine-tuning)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        dup = [i for i, p in enumerate(tensors) if id(p) in seen]
        if dup:
            raise ValueError("some parameters appear in more than one parameter group "
                             f"(parameter {dup[0]} of the new group, shape "
                             f"{tuple(tensors[dup[0]].shape)})")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g = p.grad = g.detach()
                    else:
                        g._rg = False
                    g._data.fill(0)
                    g._version[0] += 1

    # ------------------------------------------------------------------ state_dict
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``.

        Parameters are replaced by their position over all groups, so the dict can be
        loaded into an optimizer built over other (equally shaped) parameters.
        """
        mapping = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k):
                 (dict(v) if isinstance(v, dict) else v) for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict) -> None:
        """Load a ``state_dict()``: hyper-parameters and per-parameter state (copied and
        cast to each parameter's dtype and device; ``step`` counters keep theirs)."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "(as returned by Optimizer.state_dict())")
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(groups)})")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group: group {i} has "
                                 f"{len(sg['params'])} parameters in the state dict and "
                                 f"{len(g['params'])} in the optimizer")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            param = id_map.get(k)
            if param is None:
                state[k] = v
            else:
                state[param] = _cast(param, v)
        new_groups = []
        for g, ng in zip(groups, saved_groups):
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            for k, v in self.defaults.items():
                ng.setdefault(k, v)
            new_groups.append(ng)
        self.state = state
        self.param_groups = new_groups
        self._layouts = {}

    # ------------------------------------------------------------------ stepping
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns
        the loss (it runs with gradients enabled)."""
        if type(self)._apply is Optimizer._apply:
            raise NotImplementedError(f"{type(self).__name__} must override step() (or "
                                      "implement the elementwise hooks _init_state, "
                                      "_tensor_keys, _prepare and _apply)")
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if len(self._layouts) > len(self.param_groups):  # groups were removed
            self._layouts = {i: v for i, v in self._layouts.items() if i < len(self.param_groups)}
        for i, group in enumerate(self.param_groups):
            self._step_group(i, group)
        return loss

    # hooks of elementwise optimizers ------------------------------------
    def _tensor_keys(self, group) -> tuple:
        """Names of the parameter-shaped state tensors ``_apply`` uses for ``group``."""
        raise NotImplementedError

    def _init_state(self, p, group) -> dict:
        """PyTorch's lazy state of a parameter seen for the first time."""
        raise NotImplementedError

    def _prepare(self, group, C):
        """Per-step scalars. ``C`` maps each ``_scalar_keys`` name to a 1-d CPU array (one
        entry per parameter, all equal, or a single entry) updated in place."""
        raise NotImplementedError

    def _apply(self, group, P, G, S, sc, W):
        """Update parameters ``P`` in place from gradients ``G`` (writable scratch) and state
        arrays ``S`` (name -> array shaped like ``P``), with scalars ``sc`` from
        ``_prepare`` and scratch space ``W`` (``W.tmp(i)``)."""
        raise NotImplementedError

    def _step_group(self, i, group):
        active = [p for p in group["params"] if p.grad is not None]
        if not active:
            return
        keys = tuple(self._tensor_keys(group))
        lay = self._layouts.get(i)
        if lay is None or not lay.valid(self, group, active, keys):
            lay = self._build(group, active, keys)
            if lay is None:
                self._layouts.pop(i, None)
                self._step_loop(group, active, keys)
                return
            self._layouts[i] = lay
        lay.run(self, group)

    def _states_for(self, group, active, keys):
        """``state[p]`` for each active parameter: initialised and checked."""
        state = self.state
        out = []
        for n, p in enumerate(active):
            d = state[p]
            if len(d) == 0:
                d.update(self._init_state(p, group))
            for k in self._scalar_keys:
                v = d.get(k)
                if not isinstance(v, Tensor):
                    d[k] = _scalar_tensor(0.0 if v is None else float(v))
                elif type(v._data) is not np.ndarray or v._data.ndim:
                    d[k] = Tensor._make(np.array(float(v), dtype=v._data.dtype
                                                 if v._data.dtype.kind == "f" else
                                                 _scalar_np_dtype()))
            for k in keys:
                t = d.get(k)
                if t is not None and tuple(t.shape) != tuple(p.shape):
                    raise RuntimeError(
                        f"{type(self).__name__}: state '{k}' of parameter {n} of its group has "
                        f"shape {tuple(t.shape)} but the parameter has shape {tuple(p.shape)} "
                        "(was the state_dict saved for another model?)")
            out.append(d)
        return out

    def _build(self, group, active, keys):
        """A flat layout for ``active``, or None when the group needs the per-parameter path."""
        sdicts = self._states_for(group, active, keys)
        a0 = active[0]._data
        xp, dt = B.array_module(a0), a0.dtype
        dev = B.device_of(a0)
        if len({id(p) for p in active}) != len(active):
            return None
        for p in active:
            a = p._data
            if (a.dtype != dt or B.array_module(a) is not xp or not a.flags.c_contiguous
                    or p._base is not None or (xp is not np and B.device_of(a) != dev)):
                return None
        for k in keys:
            have = [k in d for d in sdicts]
            if not any(have):
                continue
            if not all(have):
                return None
            for d in sdicts:
                t = d[k]._data
                if t.dtype != dt or B.array_module(t) is not xp or \
                        (xp is not np and B.device_of(t) != dev):
                    return None
        for k in self._scalar_keys:
            vals = [d[k]._data for d in sdicts]
            if any(v.dtype != vals[0].dtype for v in vals) or \
                    any(v != vals[0] for v in vals):  # unequal step counters
                return None
        return _FlatGroup(self, group, active, keys, sdicts)

    def _step_loop(self, group, active, keys):
        """The per-parameter path: ``_apply`` on each parameter's own arrays."""
        sdicts = self._states_for(group, active, keys)
        lazy = self._lazy_keys
        _check_grad_shapes(active)
        for p, d in zip(active, sdicts):
            P = p._data
            xp = B.array_module(P)
            G = xp.array(p.grad._data, dtype=P.dtype, copy=True)
            S, fresh = {}, set()
            for k in keys:
                t = d.get(k)
                if t is None:
                    arr = xp.empty(P.shape, P.dtype) if k in lazy else xp.zeros(P.shape, P.dtype)
                    if k in lazy:
                        fresh.add(k)
                    else:
                        d[k] = Tensor._make(arr)
                    S[k] = arr
                else:
                    S[k] = t._data
            C = {k: d[k]._data.reshape(1) for k in self._scalar_keys}
            sc = self._prepare(group, C)
            self._apply(group, P, G, S, sc, _Work(xp, P.dtype, P.shape, fresh))
            for k in fresh:
                d[k] = Tensor._make(S[k])
            p._version[0] += 1


def _cast(param, value, key=None):
    """A copy of a loaded state value with tensors moved to ``param``'s device (and, for
    floating parameters, cast to its dtype); ``step`` counters keep their dtype on the CPU."""
    if isinstance(value, Tensor):
        arr = value._data
        if key == "step":
            return Tensor._make(np.array(B.to_device(arr, B.CPU), copy=True))
        arr = B.to_device(arr, param.device)
        if param.is_floating_point():
            arr = arr.astype(param._data.dtype, copy=True)
        else:
            arr = arr.copy()
        return Tensor._make(arr)
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value


# ---------------------------------------------------------------------- profiling
def _profile_optimizers(rec):
    """While a profile runs, each optimizer's ``step`` and ``zero_grad`` are ranges
    (``Optimizer.step#SGD.step``, PyTorch's names)."""
    classes = _profiler._subclasses(Optimizer)
    undo = [_profiler._wrap_methods(
        rec, classes, attr, lambda self, a=attr: f"Optimizer.{a}#{type(self).__name__}.{a}")
        for attr in ("step", "zero_grad")]
    return lambda: [u() for u in undo]


_profiler._register_instrumentation(_profile_optimizers)
