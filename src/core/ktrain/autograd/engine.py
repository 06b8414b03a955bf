"""The backward engine: an iterative walk over the graph in dependency order.

No recursion (a chain of 100,000 ops works), each node's saved tensors are dropped
right after its backward ran (unless ``retain_graph``), gradients are accumulated into
leaf ``.grad`` in place, and a gradient array the engine alone owns is handed to
``.grad`` without a copy (as PyTorch's AccumulateGrad does).
"""
from __future__ import annotations

import sys

import numpy as np

from .. import _backend as _B
from . import function as _function
from .function import Node, _freed_message
from .grad_mode import STATE
from .hooks import RemovableHandle
from .profiler import _active as _profiling, backward_node as _profiled_backward

__all__ = ["backward", "grad", "register_backward_bracket"]

_getrefcount = sys.getrefcount
# references to a gradient that only the engine holds, measured on first use
_baseline = None


# (on_start, on_end) pairs run around every backward pass, filled by layers above the
# engine when they load (amp suspends autocast: backward ops run in the forward's dtypes)
_brackets = {}


def register_backward_bracket(on_start, on_end):
    """Run ``on_start()`` before and ``on_end()`` after every backward pass of this process.

    The slot through which a layer above autograd changes how backward runs without the
    engine importing it (``ktrain.amp`` suspends autocast this way). ``on_end`` also runs
    when the pass raises. Returns a handle whose ``remove()`` unregisters the pair.
    """
    h = RemovableHandle(_brackets)
    _brackets[h.id] = (on_start, on_end)
    return h


def _tensor_cls():
    return _function.Tensor


def _as_edge(t):
    fn = t.grad_fn
    return (fn, t._output_nr) if fn is not None else (t, 0)


def _calibrate():
    """Measure, at the accumulation site itself, the refcounts of a gradient nobody shares.

    A tiny real backward runs with ``_calibrating`` set; ``_accumulate_leaf`` records the
    counts it sees. Later a gradient whose counts are no higher is owned by the engine
    alone and becomes ``.grad`` without a copy.
    """
    global _baseline, _calibrating
    T = _tensor_cls()
    prof, _profiling[0] = _profiling[0], None  # not the user's work: not profiled
    x = T._make(np.zeros(2), None, True)
    y = x * 2.0
    _baseline = (0, 0)
    _calibrating = True
    try:
        _execute([_as_edge(y)], [T._make(np.ones(2))], False, False)
    finally:
        _calibrating = False
        _profiling[0] = prof


_calibrating = False


def _accumulate_leaf(t, g, create_graph):
    if t._hooks:
        for hook in tuple(t._hooks.values()):
            r = hook(g)
            if r is not None:
                g = r
    cur = t.grad
    if g._data.dtype != t._data.dtype:
        g = g.to(t._data.dtype)
    if g._data.shape != t._data.shape:
        raise RuntimeError(
            f"autograd: gradient of shape {tuple(g._data.shape)} for a leaf of shape "
            f"{tuple(t._data.shape)} (this is a bug in a backward rule; please report it)")
    if cur is None:
        if create_graph:
            t.grad = g
            return
        arr = g._data
        if _calibrating:
            global _baseline
            _baseline = (_getrefcount(g), _getrefcount(arr))
        # the engine alone holds g and its array: keep it instead of copying
        if (arr.base is None and g.grad_fn is None and arr.flags.c_contiguous
                and _getrefcount(g) <= _baseline[0] and _getrefcount(arr) <= _baseline[1]):
            t.grad = g
        else:
            t.grad = _tensor_cls()._make(arr.copy())
        return
    if create_graph or cur._rg or g._rg:
        t.grad = cur + g
    else:
        cur._data += g._data
        cur._version[0] += 1


def _accumulate(buf, nr, g):
    old = buf[nr]
    buf[nr] = g if old is None else old + g


def _zeros_for(meta, like):
    """Zeros for an output that got no gradient, on the device of ``like`` (a gradient)."""
    shape, dtype = meta
    xp = np if type(like._data) is np.ndarray else _xp(like._data)
    return _tensor_cls()._make(xp.zeros(shape, dtype))


def _execute(root_edges, root_grads, retain_graph, create_graph, capture=None,
             accumulate=True, only_leaves=None):
    """Run backward from ``root_edges`` with ``root_grads``.

    capture: ``{key: index}`` where key is ``(node, output_nr)`` for a computed tensor or
    ``id(leaf)`` for a leaf; the total gradient for each key is returned in a list.
    accumulate: write leaf gradients into ``.grad`` (False for ``autograd.grad``).
    only_leaves: with ``accumulate``, the set of ``id``s of the leaves to accumulate into.
    """
    if _baseline is None:
        _calibrate()
    captured = [None] * (len(capture) if capture else 0)

    # 1. dependency counts of every node reachable from the roots
    deps = {}
    stack = []
    for e, _ in zip(root_edges, root_grads):
        n = e[0]
        if isinstance(n, Node) and n not in deps:
            deps[n] = 0
            stack.append(n)
    while stack:
        n = stack.pop()
        for e in n._edges:
            if e is None:
                continue
            m = e[0]
            if not isinstance(m, Node):
                continue
            c = deps.get(m)
            if c is None:
                deps[m] = 1
                stack.append(m)
            else:
                deps[m] = c + 1

    buffers = {}
    prof = None if _calibrating else _profiling[0]
    prev = STATE.enabled
    STATE.enabled = create_graph
    brackets = tuple(_brackets.values())
    for b in brackets:
        b[0]()
    try:
        for e, g in zip(root_edges, root_grads):
            n, nr = e
            if isinstance(n, Node):
                buf = buffers.get(n)
                if buf is None:
                    buf = buffers[n] = [None] * n._n_outputs
                _accumulate(buf, nr, g)
            else:  # timed inline, not wrapped: a wrapper's reference would defeat the no-copy test
                row = None if prof is None else prof.begin("AccumulateGrad", "cpu_op")
                _deliver_leaf(n, g, create_graph, capture, captured, accumulate, only_leaves)
                if row is not None:
                    prof.end(row)

        ready = [n for n in dict.fromkeys(e[0] for e in root_edges)
                 if isinstance(n, Node) and deps[n] == 0]
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            in_grads = None
            if grads is not None:
                if node._out_hooks is not None or node._retain is not None or capture:
                    grads = _output_hooks(node, grads, create_graph, capture, captured)
                if node._pre_hooks:
                    for hook in tuple(node._pre_hooks.values()):
                        r = hook(tuple(grads))
                        if r is not None:
                            grads = list(r)
                if node._n_outputs > 1 and getattr(node, "_materialize", True):
                    meta = node._out_meta
                    like = next(g for g in grads if g is not None)
                    nondiff = getattr(node, "nondiff_outputs", ())
                    for i, g in enumerate(grads):
                        if g is None and meta[i] is not None and i not in nondiff:
                            grads[i] = _zeros_for(meta[i], like)
                if node._freed:
                    raise RuntimeError(_freed_message(node))
                in_grads = (node._run_backward(grads) if prof is None
                            else _profiled_backward(prof, node, grads))
                if node._post_hooks:
                    for hook in tuple(node._post_hooks.values()):
                        r = hook(in_grads, tuple(grads))
                        if r is not None:
                            in_grads = tuple(r)
                if not retain_graph:
                    node._release()
                del grads
            edges = node._edges
            for i in range(len(edges)):
                e = edges[i]
                if e is None:
                    continue
                m, nr = e
                g = in_grads[i] if in_grads is not None and i < len(in_grads) else None
                if isinstance(m, Node):
                    if g is not None:
                        buf = buffers.get(m)
                        if buf is None:
                            buf = buffers[m] = [None] * m._n_outputs
                        _accumulate(buf, nr, g)
                    d = deps[m] - 1
                    deps[m] = d
                    if d == 0:
                        ready.append(m)
                elif g is not None:
                    row = None if prof is None else prof.begin("AccumulateGrad", "cpu_op")
                    _deliver_leaf(m, g, create_graph, capture, captured, accumulate, only_leaves)
                    if row is not None:
                        prof.end(row)
                del g
            del in_grads
    finally:
        STATE.enabled = prev
        for b in reversed(brackets):
            b[1]()
    return captured


def _deliver_leaf(t, g, create_graph, capture, captured, accumulate, only_leaves):
    if capture:
        k = capture.get(id(t))
        if k is not None:
            if t._hooks:
                for hook in tuple(t._hooks.values()):
                    r = hook(g)
                    if r is not None:
                        g = r
            old = captured[k]
            captured[k] = g if old is None else old + g
            return
    if not accumulate:
        return
    if only_leaves is not None and id(t) not in only_leaves:
        return
    _accumulate_leaf(t, g, create_graph)


def _output_hooks(node, grads, create_graph, capture, captured):
    hooks = node._out_hooks
    for nr, g in enumerate(grads):
        if g is None:
            continue
        if hooks is not None and nr in hooks:
            for hook in tuple(hooks[nr].values()):
                r = hook(g)
                if r is not None:
                    g = r
            grads[nr] = g
        if node._retain is not None and nr in node._retain:
            t = node._retain[nr]()
            if t is not None:
                val = g if create_graph else g.detach()
                t.grad = val if t.grad is None else t.grad + val
        if capture:
            k = capture.get((node, nr))
            if k is not None:
                captured[k] = g if captured[k] is None else captured[k] + g
    return grads


def _make_grads(outputs, grad_outputs, create_graph):
    T = _tensor_cls()
    res = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, but output {i} "
                    f"has shape {list(out.shape)}; pass gradient= (or grad_outputs=) of that shape")
            if not out.is_floating_point():
                raise RuntimeError(
                    f"grad can be implicitly created only for real floating point outputs, "
                    f"got {out.dtype}")
            xp = np if type(out._data) is np.ndarray else _xp(out._data)
            g = T._make(xp.ones(out._data.shape, out._data.dtype))
        elif not isinstance(g, T):
            g = T._make(np.asarray(g, dtype=out._data.dtype))
        else:
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and "
                    f"output[{i}] has a shape of {list(out.shape)}.")
            if not create_graph:
                g = g.detach()
        res.append(g)
    return res


def _xp(arr):
    return _B.array_module(arr)


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors) or (None,) * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"backward: got {len(tensors)} tensors but {len(grad_tensors)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(tensors):
        if not t._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn "
                "(was it computed under no_grad(), or from tensors without requires_grad=True?)")
    grads = _make_grads(tensors, grad_tensors, create_graph)
    only = None
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("backward: 'inputs' argument should not be empty")
        only = {id(t) for t in inputs}
        for t in inputs:
            if t.grad_fn is not None:
                t.retain_grad()
    _execute([_as_edge(t) for t in tensors], grads, retain_graph, create_graph,
             accumulate=True, only_leaves=only)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(inputs):
        if not t._rg:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad")
    for i, t in enumerate(outputs):
        if not t._rg:
            raise RuntimeError(f"autograd.grad: output {i} does not require grad and does not "
                               "have a grad_fn")
    grads = _make_grads(outputs, grad_outputs, create_graph)
    capture = {}
    for i, t in enumerate(inputs):
        key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else id(t)
        capture.setdefault(key, i)
    captured = _execute([_as_edge(t) for t in outputs], grads, retain_graph, create_graph,
                        capture=capture, accumulate=False)
    result = []
    for i, t in enumerate(inputs):
        key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else id(t)
        g = captured[capture[key]]
        if g is None:
            if materialize_grads:
                g = t.detach().new_zeros(t.shape) if hasattr(t, "new_zeros") else None
            elif not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
