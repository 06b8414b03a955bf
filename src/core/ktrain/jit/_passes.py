"""Graph passes: small functions over a ``Graph`` and its constant tensors, each tested on
its own. ``optimize_for_inference`` chains the inference passes (what
``TracedModule.eval_optimized`` applies):

* ``fold_batch_norm``: an evaluation-mode BatchNorm (``EvalAffine``) whose input is the
  only use of a convolution's or a linear layer's output, all parameters constant, goes
  into that layer's weight and bias (computed in float64, cast back);
* ``fuse_conv_relu``: a ReLU whose input is the only use of a 2-D convolution's output
  becomes that convolution's epilogue (``ops.conv_fusion.ConvAct``: fused into Winograd's
  output transform or one pass after the GEMM);
* ``fold_constants``: a pure node whose inputs are all constants is computed once;
* ``eliminate_dead_code``: pure nodes whose outputs nothing reads are dropped.

A pass returns the new graph and tensors (the inputs are not modified). Folding reads the
constants' current values: the result is frozen, as ``torch.jit.freeze``'s.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ._ir import ArrRef, Const, Fill, Graph, Node, Ref, Sym, collect, contains, remap

__all__ = ["eliminate_dead_code", "fold_batch_norm", "fold_constants", "fuse_conv_relu",
           "optimize_for_inference"]


def _copy(graph):
    nodes = [Node(n.op, n.args, n.params, n.outputs) for n in graph.nodes]
    return Graph(graph.inputs, nodes, graph.outputs, graph.values, graph.constants,
                 graph.batch)


def _pure(node):
    """Nodes without side effects: no random draws, no writes over an input array."""
    op = node.op
    name = op.__name__
    mod = op.__module__
    return not (name.endswith("Over") or "random" in mod or name in ("CopySlices",)
                or "dropout" in name.lower() or "Bernoulli" in name)


def _users(graph):
    """value id -> number of reads (node arguments and graph outputs)."""
    count = {}
    for n in graph.nodes:
        for r in n.refs():
            count[r] = count.get(r, 0) + 1
    for r in collect(graph.outputs, Ref):
        count[r.id] = count.get(r.id, 0) + 1
    return count


def _rename(x, old, new):
    """``x`` with references to value ``old`` replaced by ``new``."""
    def leaf(y):
        if type(y) is Ref and y.id == old:
            return Ref(new)
        if type(y) is ArrRef and y.id == old:
            return ArrRef(new)
        return y

    return remap(x, leaf)


def _replace_value(graph, old, new):
    for n in graph.nodes:
        n.args = _rename(n.args, old, new)
        n.params = _rename(n.params, old, new)
    graph.outputs = _rename(graph.outputs, old, new)


def _const_array(tensors, x):
    if x is None:
        return None
    if type(x) is not Const:
        return False
    return tensors[x.name]._data


def _new_const(graph, tensors, arr, stem):
    k = 0
    while f"{stem}{k}" in tensors or f"{stem}{k}" in graph.constants:
        k += 1
    name = f"{stem}{k}"
    tensors[name] = Tensor._make(arr)
    graph.constants[name] = "captured"
    return Const(name)


def _producer(graph):
    return {o: (k, n) for k, n in enumerate(graph.nodes) for o in n.outputs}


def fold_batch_norm(graph, tensors):
    """Conv/Linear followed by an evaluation-mode BatchNorm -> one Conv/Linear."""
    from ..ops.conv import Conv
    from ..ops.linear import _Linear
    from ..ops.norm import _EvalAffine

    graph, tensors = _copy(graph), dict(tensors)
    graph.constants = dict(graph.constants)
    users = _users(graph)
    prod = _producer(graph)
    drop = set()
    for k, n in enumerate(graph.nodes):
        if n.op is not _EvalAffine or type(n.args[0]) is not Ref:
            continue
        src = n.args[0].id
        if users.get(src, 0) != 1 or src not in prod:
            continue
        pk, p = prod[src]
        if p.op not in (Conv, _Linear) or pk in drop:
            continue
        mean, var, g, b = (_const_array(tensors, a) for a in n.args[1:5])
        w = _const_array(tensors, p.args[1])
        pb = _const_array(tensors, p.args[2])
        if any(a is False for a in (mean, var, g, b, w, pb)) or w is None:
            continue
        if p.op is _Linear and w.ndim != 2:
            continue
        o = w.shape[0]
        eps = float(n.args[5])
        xp = B.array_module(w)
        s = 1.0 / xp.sqrt(var.reshape(o).astype(np.float64) + eps)
        if g is not None:
            s = s * g.reshape(o).astype(np.float64)
        shift = -mean.reshape(o).astype(np.float64) * s if pb is None else \
            (pb.astype(np.float64) - mean.reshape(o)) * s
        if b is not None:
            shift = shift + b.reshape(o).astype(np.float64)
        w2 = (w.astype(np.float64) * s.reshape((o,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        args = list(p.args)
        args[1] = _new_const(graph, tensors, w2, "_bnw")
        args[2] = _new_const(graph, tensors, shift.astype(w.dtype), "_bnb")
        p.args = tuple(args)
        _replace_value(graph, n.outputs[0], src)
        drop.add(k)
    graph.nodes = [n for k, n in enumerate(graph.nodes) if k not in drop]
    return _prune_constants(graph, tensors)


def fuse_conv_relu(graph, tensors):
    """A 2-D Conv whose only reader is a ReLU -> one ``ConvAct`` with the ReLU fused."""
    from ..ops.activation import _Relu, _ReluOver
    from ..ops.conv import Conv
    from ..ops.conv_fusion import ConvAct

    graph = _copy(graph)
    users = _users(graph)
    prod = _producer(graph)
    drop = set()
    for k, n in enumerate(graph.nodes):
        if n.op not in (_Relu, _ReluOver) or len(n.args) != 1 or n.params or \
                type(n.args[0]) is not Ref:
            continue
        src = n.args[0].id
        if users.get(src, 0) != 1 or src not in prod:
            continue
        pk, p = prod[src]
        if p.op is not Conv or len(graph.values[src].shape) != 4:
            continue
        p.op = ConvAct
        p.args = tuple(p.args) + (True,)
        _replace_value(graph, n.outputs[0], src)
        drop.add(k)
    graph.nodes = [n for k, n in enumerate(graph.nodes) if k not in drop]
    return graph, dict(tensors)


def _all_const(x):
    """Whether an argument structure reads no value and nothing batch-dependent."""
    return not contains(x, (Ref, Sym, Fill))


def _bind(x, tensors):
    return remap(x, lambda y: tensors[y.name] if type(y) is Const else y)


def fold_constants(graph, tensors):
    """Compute once every pure node that reads only constants (its outputs become
    captured constants; not those another op reads as a raw array)."""
    from ..autograd.grad_mode import no_grad

    graph, tensors = _copy(graph), dict(tensors)
    graph.constants = dict(graph.constants)
    raw = {r.id for n in graph.nodes for r in collect((n.args, n.params), ArrRef)}
    drop = set()
    for k, n in enumerate(graph.nodes):
        if not _pure(n) or not n.consts() or not (_all_const(n.args) and _all_const(n.params)) \
                or any(o in raw for o in n.outputs):
            continue
        with no_grad():
            out = n.op.apply(*_bind(n.args, tensors), **_bind(n.params, tensors))
        outs = out if isinstance(out, tuple) else (out,)
        for v, o in zip(n.outputs, outs):
            _replace_const(graph, v, _new_const(graph, tensors, o.detach()._data, "_fold"))
        drop.add(k)
    graph.nodes = [n for k, n in enumerate(graph.nodes) if k not in drop]
    return _prune_constants(graph, tensors)


def _replace_const(graph, vid, const):
    def leaf(y):
        return const if type(y) is Ref and y.id == vid else y

    for n in graph.nodes:
        n.args = remap(n.args, leaf)
        n.params = remap(n.params, leaf)
    graph.outputs = remap(graph.outputs, leaf)


def eliminate_dead_code(graph, tensors):
    """Drop the pure nodes whose outputs nothing reads (walking back from the end)."""
    graph = _copy(graph)
    needed = {r.id for r in collect(graph.outputs, Ref)}
    keep = []
    for n in reversed(graph.nodes):
        if _pure(n) and not any(o in needed for o in n.outputs):
            continue
        keep.append(n)
        needed.update(n.refs())
    graph.nodes = keep[::-1]
    return _prune_constants(graph, dict(tensors))


def _prune_constants(graph, tensors):
    """Forget captured constants nothing reads any more (parameters and buffers stay:
    they are the module's state)."""
    used = set()
    for n in graph.nodes:
        used.update(n.consts())
    used.update(c.name for c in collect(graph.outputs, Const))
    graph.constants = {k: v for k, v in graph.constants.items() if v != "captured" or k in used}
    tensors = {k: t for k, t in tensors.items() if k in graph.constants}
    return graph, tensors


def optimize_for_inference(graph, tensors):
    """The inference passes in order; returns the new graph and tensors."""
    for p in (fold_batch_norm, fuse_conv_relu, fold_constants, eliminate_dead_code):
        graph, tensors = p(graph, tensors)
    return graph.check(), tensors

