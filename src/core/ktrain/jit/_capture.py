"""``trace``: run the forward under the tracer twice, merge the two recordings into one
``Graph``, check the graph against eager mode.

The second run gets other input values (floats scaled and shifted, integer and boolean
inputs rolled along the batch) and, with ``dynamic_batch``, one more row. The two
recordings must take the same path: the same ops with the same attributes, except
integers that follow the batch size (they become ``Sym``: ``a * B + c``, solved from the
two runs) and shapes that follow it (``"B"`` dimensions). A captured tensor must be the
same in both runs, or a uniform fill whose shape follows the batch (it becomes a
``Fill``); otherwise it depends on the inputs in a way the trace did not see, which is an
error naming the op and the source line that read it.

``check_trace`` then runs eager mode and the graph on a third input under the same random
state and compares the outputs, as ``torch.jit.trace``'s ``check_trace`` does.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ._ir import ArrRef, Const, Fill, Graph, Ref, Sym, Value, collect, op_name
from ._module import TracedModule
from ._tracer import TracingError, _Trace, hooks

__all__ = ["trace"]


def _flatten_out(x, tr):
    """The forward's output structure with tensors as references."""
    if isinstance(x, Tensor):
        return tr.ref(x, "the output")
    if isinstance(x, tuple):
        return tuple(_flatten_out(y, tr) for y in x)
    if isinstance(x, list):
        return [_flatten_out(y, tr) for y in x]
    if isinstance(x, dict):
        return {k: _flatten_out(y, tr) for k, y in x.items()}
    raise TracingError(f"ktrain.jit.trace: the forward returned a {type(x).__name__}; a "
                       f"traced forward returns tensors or tuples, lists and dicts of them")


def _run(fn, args, kwargs, names, strict, warned):
    tr = _Trace(names, strict)
    tr.warned = warned
    with hooks(tr), no_grad():
        for t in list(args) + list(kwargs.values()):
            tr.value(t)
        out = fn(*args, **kwargs)
        outputs = _flatten_out(out, tr)
    return tr, outputs, out


def _other_inputs(inputs, extra, pad=True):
    """Inputs with other values and ``extra`` more rows along dimension 0: floats scaled
    and shifted, integer and bool tensors rolled along the batch and (``pad``), for 2-D and
    larger ones, the last position of the first row set to 0 / False, so that masks and
    padding made from them differ from the example's (a mask frozen by the trace shows)."""
    out = []
    for t in inputs:
        a = t._data
        xp = B.array_module(a)
        if extra:
            reps = -(-(a.shape[0] + extra) // a.shape[0])
            a = xp.concatenate([a] * reps, 0)[:t.shape[0] + extra]
        if a.dtype.kind == "f" or a.dtype.kind == "c":
            a = a * np.asarray(0.75, a.dtype) + np.asarray(0.125, a.dtype)
        else:
            if a.ndim and a.shape[0] > 1:
                a = xp.roll(a, 1, 0)
            if pad and a.ndim >= 2 and a.shape[-1] > 1:
                a = a.copy()
                a[(0,) * (a.ndim - 1) + (-1,)] = 0
        out.append(Tensor._make(xp.ascontiguousarray(a)))
    return out


def _run_other(call, inputs, extra, names, strict, warned, state):
    """The second run, on ``_other_inputs``; when the padded variant makes the forward
    raise (a model that refuses a zero length), the plain one."""
    from .. import random as _random

    _random.set_rng_state(state)
    try:
        return _run(call, _other_inputs(inputs, extra, True), {}, names, strict, warned), True
    except TracingError:
        raise
    except Exception:  # noqa: BLE001 - the model refused the padded variant
        pass
    _random.set_rng_state(state)
    return _run(call, _other_inputs(inputs, extra, False), {}, names, strict, warned), False


class _Merge:
    def __init__(self, t1, t2, b1, b2):
        self.t1, self.t2, self.b1, self.b2 = t1, t2, b1, b2
        self.fills = {}

    def err(self, k, what):
        node = self.t1.nodes[k]
        fn, line = self.t1.sites[k]
        return TracingError(f"ktrain.jit.trace: node {k} ({op_name(node.op)}, called at "
                            f"{fn}:{line}) {what}; the graph cannot follow this (trace with "
                            f"inputs the model treats the same way, or dynamic_batch=False "
                            f"when it is the batch size)")

    def ints(self, x, y, k):
        if x == y:
            return x
        if self.b1 is None:
            raise self.err(k, f"has an attribute {x} that became {y} with other input values")
        a = (y - x) // (self.b2 - self.b1)
        if a * (self.b2 - self.b1) != y - x:
            raise self.err(k, f"has an attribute {x} that became {y} with batch {self.b2}, "
                           f"not a multiple of the batch size")
        return Sym(a, x - a * self.b1)

    def const(self, x, y, k):
        if x.name != y.name:
            raise self.err(k, f"reads constant {x.name} in one run and {y.name} in the other")
        t1 = self.t1.captured.get(x.name)
        if t1 is None:
            return x
        t2 = self.t2.captured[y.name]
        a1, a2 = B.to_device(t1._data, B.CPU), B.to_device(t2._data, B.CPU)
        if a1.shape == a2.shape and a1.dtype == a2.dtype and np.array_equal(a1, a2,
                                                                           equal_nan=True):
            return x
        fn, line, op = self.t1.cap_sites[x.name]
        uniform = (a1.size and a2.size and a1.ndim == a2.ndim and a1.dtype == a2.dtype
                   and (a1 == a1.flat[0]).all() and (a2 == a2.flat[0]).all()
                   and a1.flat[0] == a2.flat[0])
        if uniform and self.b1 is not None:
            shape = tuple(self.ints(int(d1), int(d2), k) for d1, d2 in zip(a1.shape, a2.shape))
            v = a1.flat[0].item()
            self.fills[x.name] = True
            return Fill(shape, v, a1.dtype.name)
        raise TracingError(
            f"ktrain.jit.trace: {op} (node {k}) reads a tensor of shape {list(a1.shape)} that "
            f"the forward made outside the op mechanism at {fn}:{line}, and it came out "
            f"different with other inputs (it depends on them, or is random): the trace "
            f"would freeze it. Compute it with tensor ops, or trace in eval() mode when it "
            f"is a dropout mask")

    def m(self, x, y, k):
        tx = type(x)
        if tx is not type(y):
            raise self.err(k, f"has an argument {_short(x)} that became {_short(y)}")
        if tx in (Ref, ArrRef):
            if x.id != y.id:
                raise self.err(k, "reads different values in the two runs")
            return x
        if tx is Const:
            return self.const(x, y, k)
        if tx is int or (isinstance(x, np.integer) and x != y):
            return self.ints(int(x), int(y), k)
        if tx is float:
            if x == y or (math.isnan(x) and math.isnan(y)):
                return x
            raise self.err(k, f"has an attribute {x!r} that became {y!r} with other inputs")
        if isinstance(x, tuple):
            if len(x) != len(y):
                raise self.err(k, f"has a tuple argument of length {len(x)} that became "
                               f"{len(y)}")
            items = [self.m(a, b, k) for a, b in zip(x, y)]
            return tuple(items) if tx is tuple else tuple.__new__(tx, items)
        if tx is list:
            if len(x) != len(y):
                raise self.err(k, f"has a list argument of length {len(x)} that became "
                               f"{len(y)}")
            return [self.m(a, b, k) for a, b in zip(x, y)]
        if tx is dict:
            if x.keys() != y.keys():
                raise self.err(k, "has a dict argument whose keys changed")
            return {key: self.m(x[key], y[key], k) for key in x}
        if tx is np.ndarray or tx.__module__.startswith("cupy"):
            a1, a2 = B.to_device(x, B.CPU), B.to_device(y, B.CPU)
            if a1.shape == a2.shape and a1.dtype == a2.dtype and np.array_equal(a1, a2):
                return x
            raise self.err(k, f"gets an array parameter of shape {list(a1.shape)} computed "
                           f"from the inputs outside the op mechanism (it changed with other "
                           f"inputs)")
        if tx is slice:
            return slice(self.m(x.start, y.start, k), self.m(x.stop, y.stop, k),
                         self.m(x.step, y.step, k))
        if x != y:
            raise self.err(k, f"has an attribute {x!r} that became {y!r}")
        return x

    def graph(self, outputs1, outputs2, input_ids):
        t1, t2 = self.t1, self.t2
        if len(t1.nodes) != len(t2.nodes):
            k = next((i for i, (a, b) in enumerate(zip(t1.nodes, t2.nodes)) if a.op is not b.op),
                     min(len(t1.nodes), len(t2.nodes)))
            what = (f"node {k} is {op_name(t1.nodes[k].op)}" if k < len(t1.nodes)
                    else "it ends") + " in one run and " + (
                f"{op_name(t2.nodes[k].op)}" if k < len(t2.nodes) else "ends") + " in the other"
            raise TracingError(f"ktrain.jit.trace: the forward took another path with other "
                               f"inputs ({len(t1.nodes)} ops against {len(t2.nodes)}: {what}); "
                               f"data-dependent control flow cannot be traced")
        nodes = []
        for k, (n1, n2) in enumerate(zip(t1.nodes, t2.nodes)):
            if n1.op is not n2.op or n1.outputs != n2.outputs:
                raise TracingError(f"ktrain.jit.trace: the forward took another path with "
                                   f"other inputs: node {k} is {op_name(n1.op)} in one run "
                                   f"and {op_name(n2.op)} in the other")
            if n1.params.keys() != n2.params.keys():
                raise self.err(k, "was called with other keyword arguments")
            n1.args = tuple(self.m(a, b, k) for a, b in zip(n1.args, n2.args))
            n1.params = {p: self.m(n1.params[p], n2.params[p], k) for p in n1.params}
            nodes.append(n1)
        outputs = self.m(outputs1, outputs2, len(nodes) - 1 if nodes else 0)
        values = {}
        for vid, (s1, dt) in t1.info.items():
            s2 = t2.info.get(vid, (s1, dt))[0]
            if len(s1) != len(s2):
                raise TracingError(f"ktrain.jit.trace: value %{vid} has rank {len(s1)} in "
                                   f"one run and {len(s2)} in the other")
            shape = []
            for d1, d2 in zip(s1, s2):
                if d1 == d2:
                    shape.append(d1)
                elif self.b1 is not None and (d2 - d1) % (self.b2 - self.b1) == 0:
                    a = (d2 - d1) // (self.b2 - self.b1)
                    shape.append(Sym(a, d1 - a * self.b1))
                else:
                    raise TracingError(f"ktrain.jit.trace: value %{vid} has shape "
                                       f"{list(s1)} in one run and {list(s2)} in the other")
            values[vid] = Value(vid, shape, dt)
        constants = {}
        for n in nodes:
            for c in n.consts():
                if c in t1.captured:
                    constants.setdefault(c, "captured")
        for name in t1.named:
            constants[name] = "buffer" if name in self.buffers else "param"
        used = set()
        for n in nodes:
            used.update(n.consts())
        used.update(c.name for c in collect(outputs, Const))
        constants = {k: v for k, v in constants.items() if k in used}
        g = Graph(input_ids, nodes, outputs, values, constants, self.b1)
        g.sites = list(t1.sites)
        return g


def _short(x):
    r = repr(x)
    return r if len(r) <= 40 else r[:37] + "..."


def trace(func, example_inputs=None, *, dynamic_batch=True, strict=False, check_trace=True,
          check_tolerance=1e-5, example_kwarg_inputs=None):
    """Trace ``func`` (a module or a function of tensors) on ``example_inputs`` (a tensor
    or a tuple of them; ``example_kwarg_inputs`` for keyword inputs) into a
    ``TracedModule``; see ``ktrain.jit``."""
    from .. import nn

    if example_inputs is None:
        example_inputs = ()
    if isinstance(example_inputs, Tensor):
        example_inputs = (example_inputs,)
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(f"ktrain.jit.trace: example_inputs must be a Tensor or a tuple of "
                        f"tensors, got {type(example_inputs).__name__}")
    kw = dict(example_kwarg_inputs or {})
    args = list(example_inputs)
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise TypeError(f"ktrain.jit.trace: example input {i} is a {type(a).__name__}; "
                            f"pass tensors (other arguments belong in the traced function)")
    for k, a in kw.items():
        if not isinstance(a, Tensor):
            raise TypeError(f"ktrain.jit.trace: example keyword input {k!r} is a "
                            f"{type(a).__name__}; pass tensors")
    inputs = args + list(kw.values())
    if not inputs:
        raise ValueError("ktrain.jit.trace: needs at least one example input tensor")
    names, buffers, aliases, every = {}, set(), {}, {}
    is_module = isinstance(func, nn.Module)
    if is_module:   # every parameter and buffer, tied ones under each name (state_dict keys)
        for kind, items in (("param", func.named_parameters(remove_duplicate=False)),
                            ("buffer", func.named_buffers(remove_duplicate=False))):
            for n, p in items:
                if p is None:
                    continue
                first = names.setdefault(id(p), n)
                if first != n:
                    aliases[n] = first
                else:
                    every[n] = (kind, p)
                    if kind == "buffer":
                        buffers.add(n)
    batch = None
    if dynamic_batch:
        dims = {t.shape[0] if t.ndim else None for t in inputs}
        if len(dims) != 1 or None in dims:
            raise ValueError(f"ktrain.jit.trace: dynamic_batch=True takes dimension 0 of every "
                             f"input as the batch, but the inputs have shapes "
                             f"{[list(t.shape) for t in inputs]}; pass dynamic_batch=False "
                             f"for a graph with these exact shapes")
        batch = dims.pop()
    nargs = len(args)

    def call(*ts):
        return func(*ts[:nargs], **dict(zip(kw, ts[nargs:])))

    from .. import random as _random

    state = _random.get_rng_state()
    warned = set()   # one warning per site over both runs
    t1, out1, _ = _run(call, inputs, {}, names, strict, warned)
    (t2, out2, _), pad = _run_other(call, inputs, 1 if batch is not None else 0, names,
                                    strict, warned, state)
    merge = _Merge(t1, t2, batch, batch + 1 if batch is not None else None)
    merge.buffers = buffers
    graph = merge.graph(out1, out2, list(range(len(inputs)))).check()
    for n, (kind, p) in every.items():   # the ones the forward did not read stay too
        graph.constants.setdefault(n, kind)
        t1.named.setdefault(n, p)
    tensors = dict(t1.named)
    tensors.update({c: t1.captured[c] for c in graph.constants if graph.constants[c]
                    == "captured"})
    input_names = [f"input{i}" for i in range(nargs)] + list(kw)
    name = type(func).__name__ if is_module else getattr(func, "__name__", "function")
    traced = TracedModule(graph, tensors, input_names=input_names, name=name, aliases=aliases)
    if is_module:
        traced.train(func.training)
    if check_trace:
        _check(call, traced, inputs, batch, check_tolerance, pad)
    return traced


def _check(call, traced, inputs, batch, tol, pad):
    from .. import random as _random

    xs = _other_inputs(inputs, 3 if batch is not None else 0, pad)
    state = _random.get_rng_state()
    with no_grad():
        want = call(*xs)
        _random.set_rng_state(state)
        got = traced(*xs)
    w, g = _leaves(want), _leaves(got)
    if len(w) != len(g):
        raise TracingError("ktrain.jit.trace: the graph returns another number of tensors "
                           "than the forward")
    for i, (a, b) in enumerate(zip(w, g)):
        a, b = B.to_device(a._data, B.CPU), B.to_device(b._data, B.CPU)
        if a.shape != b.shape or not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).max() \
                if a.shape == b.shape else None
            raise TracingError(
                f"ktrain.jit.trace: check_trace failed: output {i} of the traced graph "
                f"differs from the forward's on a new input "
                f"{'(shapes ' + str(list(a.shape)) + ' vs ' + str(list(b.shape)) + ')' if diff is None else f'(max abs difference {diff:.3g})'}"
                f"; the forward depends on its inputs in a way the trace did not record "
                f"(pass check_trace=False to keep the graph anyway)")


def _leaves(x):
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for y in x for t in _leaves(y)]
    if isinstance(x, dict):
        return [t for y in x.values() for t in _leaves(y)]
    return []
