"""``TracedModule``: a module that runs a ``Graph``, and the graph interpreter.

The interpreter applies each node's op exactly as eager code does (``cls.apply``), so a
traced module computes what the eager forward computed, records autograd when its
parameters require grad (a loaded graph trains like any module), and runs on whatever
device its constants are on. Values are dropped after their last use.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .._tensor import Tensor
from ._ir import ArrRef, Const, Fill, Ref, Sym, collect, contains, op_name

__all__ = ["TracedModule"]


def _needs_env(x):
    """Whether an argument structure must be resolved at each call."""
    return contains(x, (Ref, Const, Sym, Fill))


class _Resolver:
    __slots__ = ("env", "consts", "batch", "device")

    def __init__(self, env, consts, batch, device):
        self.env, self.consts, self.batch, self.device = env, consts, batch, device

    def __call__(self, x):
        t = type(x)
        if t is Ref:
            return self.env[x.id]
        if t is Const:
            return self.consts[x.name]
        if t is ArrRef:
            return self.env[x.id]._data
        if t is Sym:
            return x(self.batch)
        if t is Fill:
            from .. import creation

            shape = tuple(d(self.batch) if type(d) is Sym else d for d in x.shape)
            return creation.full(shape, x.value, dtype=_kdtype(x.dtype), device=self.device)
        if isinstance(x, tuple):
            items = [self(y) for y in x]
            return tuple(items) if t is tuple else tuple.__new__(t, items)
        if t is list:
            return [self(y) for y in x]
        if t is dict:
            return {k: self(y) for k, y in x.items()}
        if t is slice:
            return slice(self(x.start), self(x.stop), self(x.step))
        return x


def _kdtype(name):
    from .. import _backend as B

    return B.from_numpy_dtype(np.dtype(name)) if name != "bfloat16" else B.bfloat16


class _Plan:
    """The graph prepared for execution: per node the op, its arguments (resolved now
    when they hold no references) and the values it frees."""

    def __init__(self, graph):
        last = {}
        for k, n in enumerate(graph.nodes):
            for r in n.refs():
                last[r] = k
        keep = {r.id for r in collect(graph.outputs, Ref)}
        self.steps = []
        frees = {}
        for v, k in last.items():
            if v not in keep:
                frees.setdefault(k, []).append(v)
        for k, n in enumerate(graph.nodes):
            dyn_a, dyn_p = _needs_env(n.args), _needs_env(n.params)
            self.steps.append((n.op, n.args, dyn_a, n.params, dyn_p, n.outputs,
                               tuple(frees.get(k, ()))))


def execute(graph, plan, consts, inputs):
    """Run ``graph`` on ``inputs`` (tensors, in graph input order) with ``consts``."""
    batch = inputs[0].shape[0] if graph.batch is not None and inputs else None
    device = inputs[0].device if inputs else None
    env = dict(zip(graph.inputs, inputs))
    res = _Resolver(env, consts, batch, device)
    for k, (op, args, dyn_a, params, dyn_p, outs, frees) in enumerate(plan.steps):
        a = res(args) if dyn_a else args
        p = res(params) if dyn_p else params
        try:
            out = op.apply(*a, **p)
        except Exception as e:  # noqa: BLE001 - re-raised with the node named
            raise type(e)(f"{e} [traced graph, node {k}: {op_name(op)}]").with_traceback(
                e.__traceback__) from None
        if len(outs) == 1:
            env[outs[0]] = out[0] if isinstance(out, tuple) else out
        else:
            for v, o in zip(outs, out):
                env[v] = o
        for v in frees:
            del env[v]
    return res(graph.outputs)


class TracedModule(nn.Module):
    """A module that runs a traced graph (what ``ktrain.jit.trace`` and ``ktrain.jit.load``
    return). Its parameters and buffers keep the traced module's names, so ``state_dict``
    has the same keys; the graph is ``.graph`` (printable), ``.code`` its text."""

    def __init__(self, graph, tensors, *, input_names=None, name="TracedModule", aliases=None):
        super().__init__()
        graph.check()
        self.__dict__["graph"] = graph
        self.__dict__["_plan"] = _Plan(graph)
        self.__dict__["original_name"] = name
        self.__dict__["input_names"] = list(input_names or [f"input{i}" for i in
                                                            range(len(graph.inputs))])
        self.__dict__["_captured"] = {}
        for cname, kind in graph.constants.items():
            t = tensors[cname]
            if kind == "captured":
                self._captured[cname] = t
                continue
            owner, leaf = self._owner(cname)
            if kind == "param":
                if not isinstance(t, nn.Parameter):
                    t = nn.Parameter(t, requires_grad=bool(t.requires_grad)
                                     if isinstance(t, Tensor) else True)
                owner.register_parameter(leaf, t)
            else:
                owner.register_buffer(leaf, t)
        self.__dict__["aliases"] = dict(aliases or {})   # tied name -> the name it shares
        for alias, target in self.aliases.items():
            owner, leaf = self._owner(target)
            t = getattr(owner, leaf)
            owner, leaf = self._owner(alias)
            if isinstance(t, nn.Parameter):
                owner.register_parameter(leaf, t)
            else:
                owner.register_buffer(leaf, t)

    def _owner(self, name):
        parts = name.split(".")
        mod = self
        for p in parts[:-1]:
            sub = mod._modules.get(p)
            if sub is None:
                sub = nn.Module()
                mod.add_module(p, sub)
            mod = sub
        return mod, parts[-1]

    def _consts(self):
        out = dict(self._captured)
        for name, kind in self.graph.constants.items():
            if kind == "captured":
                continue
            owner, leaf = self._owner(name)
            out[name] = getattr(owner, leaf)
        return out

    @property
    def code(self):
        return str(self.graph)

    def _check_inputs(self, inputs):
        g = self.graph
        if len(inputs) != len(g.inputs):
            raise TypeError(f"{self.original_name}: the traced graph takes "
                            f"{len(g.inputs)} tensor input(s) ({', '.join(self.input_names)})"
                            f", got {len(inputs)}")
        batch = None
        for i, (vid, t) in enumerate(zip(g.inputs, inputs)):
            want = g.values[vid]
            if not isinstance(t, Tensor):
                raise TypeError(f"{self.original_name}: input {self.input_names[i]} must be "
                                f"a Tensor, got {type(t).__name__}")
            ok = t.ndim == len(want.shape) and t._data.dtype.name == want.dtype
            if ok:
                for d, w in zip(t.shape, want.shape):
                    if isinstance(w, Sym):
                        b = (d - w.c) // w.a if w.a else None
                        if b is None or w(b) != d or (batch is not None and b != batch) \
                                or b < 1:
                            ok = False
                        batch = b
                    elif d != w:
                        ok = False
            if not ok:
                raise ValueError(f"{self.original_name}: input {self.input_names[i]} has "
                                 f"shape {list(t.shape)} and dtype {t._data.dtype.name}; the "
                                 f"traced graph takes {want.type_str()} (B: any batch size)"
                                 if g.batch is not None else
                                 f"{self.original_name}: input {self.input_names[i]} has "
                                 f"shape {list(t.shape)} and dtype {t._data.dtype.name}; the "
                                 f"graph was traced with a static shape {want.type_str()}")

    def forward(self, *args, **kwargs):
        names = self.input_names
        inputs = list(args)
        if kwargs:
            for n in names[len(args):]:
                if n not in kwargs:
                    raise TypeError(f"{self.original_name}: missing input {n!r}")
                inputs.append(kwargs.pop(n))
            if kwargs:
                raise TypeError(f"{self.original_name}: unexpected input(s) "
                                f"{sorted(kwargs)}; the graph takes {names}")
        self._check_inputs(inputs)
        return execute(self.graph, self._plan, self._consts(), inputs)

    def eval_optimized(self):
        """A frozen inference copy: BatchNorm folded into the convolutions and linear
        layers before it, ReLUs fused into the convolutions, constant subgraphs computed
        once, dead nodes dropped (``ktrain.jit._passes``). It reads the current parameter
        values (later changes do not reach it) and has no gradients."""
        from ._passes import optimize_for_inference

        frozen = {k: Tensor._make(t.detach()._data.copy()) for k, t in self._consts().items()}
        graph, tensors = optimize_for_inference(self.graph, frozen)
        aliases = {a: t for a, t in self.aliases.items() if t in graph.constants}
        m = TracedModule(graph, tensors, input_names=self.input_names,
                         name=self.original_name, aliases=aliases)
        return m.eval()

    def save(self, f):
        from ._serialize import save

        save(self, f)

    def extra_repr(self):
        g = self.graph
        return f"original_name={self.original_name}, nodes={len(g.nodes)}"

