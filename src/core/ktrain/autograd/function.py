"""Graph nodes and the two ways of writing a differentiable operation.

* ``Op`` (internal): ``forward(ctx, *arrays, **params)`` computes on raw arrays of
  whichever array module the inputs use; ``backward(ctx, *grads)`` receives and
  returns ``Tensor`` objects and is written with ktrain ops, so the same rule gives
  first and higher-order gradients. The ``ctx`` object *is* the graph node (grad_fn).
* ``Function`` (public, PyTorch's ``torch.autograd.Function``): ``forward(ctx, *args)``
  receives Tensors (run under ``no_grad``), ``backward(ctx, *grads)`` Tensors.

Both keep only what ``save_for_backward`` names; the engine drops it after use.
"""
from __future__ import annotations

import numpy as np

from .grad_mode import STATE
from .hooks import RemovableHandle
from .._threads import next_check as _threads_due, retune as _retune_threads
from time import monotonic as _monotonic

_new = object.__new__

__all__ = ["Function", "FunctionCtx", "Node", "Op", "once_differentiable"]

_generic = np.generic
# how many watchers of Op.apply are installed (the profiler, the jit tracer): while > 0 the
# shortcuts that skip Op.apply (the ``a + b`` fast path of ops.arith) take Op.apply
_slow_path = [0]
Tensor = None  # the slot ktrain._tensor fills when it defines the class (it sits above)


def _wrap(arr):
    """A fresh Tensor for ``arr`` (numpy scalars become 0-d arrays)."""
    if isinstance(arr, _generic):
        arr = np.asarray(arr)
    return Tensor._make(arr)


class Node:
    """A node of the backward graph (``tensor.grad_fn``).

    ``_edges[i]`` is where the gradient of input ``i`` goes: ``(node, output_nr)`` for
    a computed tensor, ``(tensor, 0)`` for a leaf that requires grad, or ``None``.
    """

    _n_outputs = 1
    _edges = ()
    _saved = None
    _saved_versions = None
    _out = None
    _freed = False
    _out_hooks = None
    _retain = None
    _pre_hooks = None
    _post_hooks = None
    _metadata = None
    _plain_args = ()

    # ------------------------------------------------------------------ saving
    def save_for_backward(self, *tensors):
        """Keep tensors (or None) for backward; versions are checked when unpacked."""
        self._saved = tensors
        T = Tensor
        self._saved_versions = [t._version[0] if isinstance(t, T) else None for t in tensors]

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(_freed_message(self))
            return ()
        for i, (t, v) in enumerate(zip(saved, self._saved_versions)):
            if v is not None and t._version[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{self.name()}] saved tensor {i} of shape "
                    f"{list(t.shape)} is at version {t._version[0]}; expected version {v} instead. "
                    "Use out-of-place operations (or .clone() before modifying) to fix this.")
        return saved

    @property
    def saved_output(self):
        """The op's output (for rules like exp' = exp), linked to this node for create_graph."""
        out = self._out
        if out is None:
            raise RuntimeError(_freed_message(self))
        arr, ver, v0 = out
        if ver[0] != v0:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{self.name()}] output of shape {list(arr.shape)} is at "
                f"version {ver[0]}; expected version {v0} instead. Use out-of-place operations.")
        t = Tensor._make(arr, self, True)
        t._version = ver
        return t

    def _release(self):
        if self._saved is not None or self._out is not None:
            self._saved = None
            self._out = None
            self._freed = True

    # ------------------------------------------------------------------ inspection
    def name(self) -> str:
        return type(self).__name__ + "Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        """((node | AccumulateGrad | None, output_nr), ...) for each input, as in PyTorch."""
        out = []
        plain = self._plain_args
        for i, e in enumerate(self._edges):
            if i in plain:  # non-tensor arguments have no slot, as in PyTorch
                continue
            if e is None:
                out.append((None, 0))
            elif isinstance(e[0], Node):
                out.append(e)
            else:
                out.append((AccumulateGrad(e[0]), 0))
        return tuple(out)

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after this node ran; may return new grad_inputs."""
        return self._add_hook("_post_hooks", fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before this node runs; may return new grad_outputs."""
        return self._add_hook("_pre_hooks", fn)

    def _add_hook(self, attr, fn):
        store = getattr(self, attr)
        if store is None:
            store = {}
            setattr(self, attr, store)
        h = RemovableHandle(store)
        store[h.id] = fn
        return h

    # subclasses implement ``_run_backward(grads) -> tuple of grads per edge``


def _freed_message(node):
    return (f"Trying to backward through the graph a second time (node {node.name()}), or to "
            "access saved tensors after they have already been freed. Saved intermediate "
            "values of the graph are freed when you call .backward() or autograd.grad(). "
            "Specify retain_graph=True if you need to backward through the graph a second time.")


class AccumulateGrad:
    """The node that accumulates into a leaf's ``.grad`` (shown by ``next_functions``)."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)


class Op(Node):
    """Base of ktrain's built-in ops. See the module docstring for the contract.

    Class attributes: ``save_output`` (keep the output array for ``ctx.saved_output``),
    ``n_outputs`` (number of arrays ``forward`` returns), ``nondiff_outputs`` (indices of
    outputs that never get a gradient, e.g. argmax indices).
    """

    save_output = False
    n_outputs = 1
    nondiff_outputs = ()

    @staticmethod
    def forward(ctx, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    compute = None  # optional pure ``compute(*arrays, **params)`` used when no graph is needed

    @classmethod
    def apply(cls, *args, **params):
        """Run the op on Tensors (and plain values); record a node when grad is needed."""
        if _monotonic() >= _threads_due[0]:  # the BLAS thread policy's look (1/s at most)
            _retune_threads()
        T = Tensor
        arrays = []
        rg = False
        for a in args:
            if isinstance(a, T):
                arrays.append(a._data)
                if a._rg:
                    rg = True
            else:
                arrays.append(a)
        if rg and STATE.enabled:
            return cls._record(args, params)
        compute = cls.compute
        if compute is not None:
            out = compute(*arrays, **params)
        else:
            ctx = cls.__new__(cls)
            ctx.inputs = args
            ctx._edges = (None,) * len(args)
            out = cls.forward(ctx, *arrays, **params)
        if cls.n_outputs == 1:
            if isinstance(out, _generic):
                out = np.asarray(out)
            t = _new(T)
            t._data = out
            t._rg = False
            t._version = [0]
            return t
        return tuple(_wrap(o) for o in out)

    @classmethod
    def _record(cls, args, params):
        T = Tensor
        ctx = _new(cls)
        arrays = list(args)
        edges = [None] * len(arrays)
        plain = None
        i = 0
        for a in args:
            if isinstance(a, T):
                arrays[i] = a._data
                if a._rg:
                    fn = a.grad_fn
                    edges[i] = (fn, a._output_nr) if fn is not None else (a, 0)
            elif plain is None:
                plain = [i]
            else:
                plain.append(i)
            i += 1
        ctx._edges = edges
        if plain is not None:
            ctx._plain_args = plain
        ctx.inputs = args
        out = cls.forward(ctx, *arrays, **params)
        ctx.inputs = None
        if cls.n_outputs == 1:
            if isinstance(out, _generic):
                out = np.asarray(out)
            t = _new(T)
            t._data = out
            t._rg = True
            t._version = v = [0]
            t.grad_fn = ctx
            if cls.save_output:
                ctx._out = (out, v, 0)
            return t
        ctx._n_outputs = cls.n_outputs
        outs = []
        nondiff = cls.nondiff_outputs
        meta = []
        for i, o in enumerate(out):
            if isinstance(o, _generic):
                o = np.asarray(o)
            meta.append((o.shape, o.dtype))
            if i in nondiff:
                outs.append(T._make(o))
            else:
                t = T._make(o, ctx, True)
                t._output_nr = i
                outs.append(t)
        ctx._out_meta = meta
        return tuple(outs)

    @property
    def needs_input_grad(self):
        return tuple(e is not None for e in self._edges)

    def _run_backward(self, grads):
        res = type(self).backward(self, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        return res


# ---------------------------------------------------------------------- public Function


class FunctionCtx(Node):
    """The ``ctx`` of a custom ``Function``: also its graph node."""

    _non_differentiable = ()
    _materialize = True
    _dirty = ()

    def mark_non_differentiable(self, *tensors):
        """Outputs named here get ``requires_grad=False`` and never receive a gradient."""
        self._non_differentiable = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        """Declare inputs modified in place by forward."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        """With False, backward may receive None for outputs that got no gradient."""
        self._materialize = bool(value)

    @property
    def needs_input_grad(self):
        return self._needs_input_grad


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        # the node class of a Function subclass: a FunctionCtx that dispatches backward to it
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})


class BackwardCFunction(FunctionCtx):
    _forward_cls = None

    def name(self):
        return type(self).__name__

    def _run_backward(self, grads):
        fcls = self._forward_cls
        res = fcls.backward(self, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n = len(self._edges)
        if len(res) < n:
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {n}, got {len(res)})")
        res = res[:n]  # extra Nones for non-tensor args are allowed
        out = []
        for i, (g, meta) in enumerate(zip(res, self._in_meta)):
            if g is None or meta is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a {type(g).__name__} as "
                                f"gradient {i}; expected a Tensor or None")
            shape, dtype = meta
            if g.shape != shape:
                try:
                    g = g.expand(shape) if len(g.shape) <= len(shape) else None
                except Exception:
                    g = None
                if g is None:
                    raise RuntimeError(
                        f"function {self.name()} returned an invalid gradient at index {i} - "
                        f"got {list(res[i].shape)} but expected shape compatible with "
                        f"{list(shape)}")
            if g._data.dtype != dtype:
                g = g.to(dtype)
            out.append(g)
        return tuple(out)


class Function(FunctionCtx, metaclass=_FunctionMeta):
    """Base class for custom differentiable operations (``torch.autograd.Function``).

    Example::

        class Exp(ktrain.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad):
                (y,) = ctx.saved_tensors
                return grad * y

        y = Exp.apply(x)
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("custom Function subclasses must implement forward")

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError("custom Function subclasses must implement backward")

    @classmethod
    def apply(cls, *args, **kwargs):
        T = Tensor
        ctx = cls._backward_cls()
        needs = tuple(isinstance(a, T) and a._rg for a in args)
        ctx._needs_input_grad = needs
        record = STATE.enabled and any(needs)
        prev = STATE.enabled
        STATE.enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        if not record:
            return out
        ctx._edges = [((a.grad_fn, a._output_nr) if a.grad_fn is not None else (a, 0))
                      if n else None for a, n in zip(args, needs)]
        ctx._in_meta = [(a.shape, a._data.dtype) if n else None for a, n in zip(args, needs)]
        nondiff = ctx._non_differentiable
        input_ids = {id(a): a for a in args if isinstance(a, T)}
        res = []
        meta = []
        for i, o in enumerate(outs):
            if not isinstance(o, T):
                res.append(o)
                meta.append(None)
                continue
            meta.append((o._data.shape, o._data.dtype))
            if id(o) in nondiff:
                o._rg = False
                res.append(o)
                continue
            if id(o) in input_ids and o not in ctx._dirty:
                o = o.view_as(o)  # an input returned as is becomes a new node output
            o.grad_fn = ctx
            o._output_nr = i
            o._rg = True
            res.append(o)
        ctx._n_outputs = len(outs)
        ctx._out_meta = meta
        return res[0] if single else tuple(res)


def once_differentiable(fn):
    """Decorator for a custom backward that cannot itself be differentiated."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *grads):
        from .grad_mode import no_grad

        with no_grad():
            return fn(ctx, *grads)

    return wrapper
