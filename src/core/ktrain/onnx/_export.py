"""The exporter behind ``ktrain.onnx.export``: trace, convert node by node, check.

Each converter takes the node's resolved arguments (``Ref``/``Const`` become ONNX value
names; plain attributes stay Python values) and emits ONNX nodes through ``_Ctx``; it
raises ``_Unsupported`` with a reason for an attribute combination it cannot express,
which the exporter turns into an ``UnsupportedOperatorError`` naming the node.
"""
from __future__ import annotations

import os

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ..jit._ir import ArrRef, Const, Fill, Ref, Sym, op_name, remap

__all__ = ["UnsupportedOperatorError", "export"]


class UnsupportedOperatorError(RuntimeError):
    """A traced op that the ONNX exporter cannot express."""


class _Unsupported(Exception):
    pass


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("ktrain.onnx needs the onnx package: pip install \"ktrain[export]\"") \
            from None
    return onnx, helper, numpy_helper


class _Ctx:
    def __init__(self, graph, tensors, opset):
        self.onnx, self.helper, self.nh = _onnx()
        self.graph, self.tensors, self.opset = graph, tensors, opset
        self.nodes, self.inits, self.init_names = [], [], set()
        self.k = 0
        self.current = None   # the op name of the node being converted

    def fresh(self, stem="t"):
        self.k += 1
        return f"{stem}_{self.k}"

    def const(self, array, stem="c"):
        """A constant the converters need (shapes, axes, folded factors): a Constant node,
        so that the file's initializers are exactly the model's parameters and buffers."""
        name = self.fresh(stem)
        self.nodes.append(self.helper.make_node("Constant", [], [name],
                                                value=self.nh.from_array(np.asarray(array),
                                                                         name)))
        return name

    def name(self, x):
        """The ONNX name of a value or constant argument."""
        if type(x) in (Ref, ArrRef):   # ArrRef: an op reading the input's raw array
            return f"v{x.id}"
        if type(x) is Fill:
            return self.fill(x)
        if type(x) is Const:
            if x.name not in self.init_names:
                arr = B.to_device(self.tensors[x.name].detach()._data, B.CPU)
                self.inits.append(self.nh.from_array(np.ascontiguousarray(arr), x.name))
                self.init_names.add(x.name)
            return x.name
        raise _Unsupported(f"argument {x!r} is not a tensor")

    def fill(self, x):
        """A ``Fill`` (a tensor the forward made with a batch-sized shape) as
        ConstantOfShape over a shape computed from the batch size of input 0."""
        dims = []
        for d in x.shape:
            if isinstance(d, Sym):
                b = self.batch()
                if d.a != 1:
                    b = self.emit("Mul", [b, self.const(np.asarray([d.a], np.int64), "a")],
                                  [self.fresh("dim")])
                if d.c:
                    b = self.emit("Add", [b, self.const(np.asarray([d.c], np.int64), "c")],
                                  [self.fresh("dim")])
                dims.append(b)
            else:
                dims.append(self.const(np.asarray([int(d)], np.int64), "dim"))
        shape = self.emit("Concat", dims, [self.fresh("shape")], axis=0)
        value = self.nh.from_array(np.asarray([x.value], np.dtype(x.dtype)), "value")
        return self.emit("ConstantOfShape", [shape], [self.fresh("fill")], value=value)

    def batch(self):
        """A 1-element int64 tensor: the batch size (dimension 0 of graph input 0)."""
        if getattr(self, "_batch", None) is None:
            shp = self.emit("Shape", [f"v{self.graph.inputs[0]}"], [self.fresh("shape")])
            self._batch = self.emit("Slice", [shp, self.const(np.asarray([0], np.int64), "s"),
                                              self.const(np.asarray([1], np.int64), "e")],
                                    [self.fresh("batch")])
        return self._batch

    def array(self, x):
        """The value of a constant argument (for converters that rewrite weights)."""
        if type(x) is Const:
            return B.to_device(self.tensors[x.name].detach()._data, B.CPU)
        raise _Unsupported("needs a constant (a parameter) here, got a computed value")

    def dtype(self, x):
        if type(x) is Fill:
            return np.dtype(x.dtype)
        if type(x) in (Ref, ArrRef):
            return np.dtype(self.graph.values[x.id].dtype)
        return np.dtype(self.tensors[x.name]._data.dtype)

    def rank(self, x):
        if type(x) is Fill:
            return len(x.shape)
        if type(x) in (Ref, ArrRef):
            return len(self.graph.values[x.id].shape)
        return self.tensors[x.name].ndim

    def shape(self, x):
        return self.graph.values[x.id].shape if type(x) is Ref else \
            tuple(self.tensors[x.name].shape)

    def emit(self, op, inputs, outputs, **attrs):
        self.nodes.append(self.helper.make_node(op, list(inputs), list(outputs), **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def operand(self, x, like):
        """A tensor name for a tensor argument or a Python number (as ``like``'s dtype)."""
        if isinstance(x, (Ref, Const, Fill)):
            return self.name(x)
        if isinstance(x, (bool, int, float, np.generic)):
            return self.const(np.asarray(x, self.dtype(like)), "scalar")
        raise _Unsupported(f"operand {x!r}")


def _ints(xs):
    out = []
    for x in xs:
        if isinstance(x, Sym):
            raise _Unsupported("an attribute follows the batch size")
        out.append(int(x))
    return out


# ---------------------------------------------------------------------- converters
_CONVERTERS = {}


def converter(*names):
    def reg(fn):
        for n in names:
            _CONVERTERS[n] = fn
        return fn
    return reg


@converter("Conv", "ConvAct")
def _conv(c, args, params, outs):
    x, w, b, geom = args[:4]
    (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)), g = geom
    if min(pt, pb, pl, pr) < 0:
        raise _Unsupported("negative padding")
    ins = [c.name(x), c.name(w)] + ([c.name(b)] if b is not None else [])
    relu = len(args) > 4 and bool(args[4])
    y = outs[0] if not relu else c.fresh("conv")
    c.emit("Conv", ins, [y], kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw],
           pads=[pt, pl, pb, pr], group=int(g))
    if relu:
        c.emit("Relu", [y], outs)


@converter("EvalAffine")
def _batch_norm(c, args, params, outs):
    x, mean, var, w, b, eps = args
    n = c.array(mean).size
    dt = c.dtype(x)
    scale = c.name(w) if w is not None else c.const(np.ones(n, dt), "bn_scale")
    bias = c.name(b) if b is not None else c.const(np.zeros(n, dt), "bn_bias")
    if c.rank(x) < 2:
        raise _Unsupported("batch norm of a tensor of rank < 2")
    c.emit("BatchNormalization", [c.name(x), scale, bias, c.name(mean), c.name(var)], outs,
           epsilon=float(eps))


@converter("Relu", "ReluOver")
def _relu(c, args, params, outs):
    if len(args) != 1 or params:
        raise _Unsupported("extra arguments")
    c.emit("Relu", [c.name(args[0])], outs)


@converter("Hardtanh")
def _hardtanh(c, args, params, outs):
    x, lo, hi = args
    dt = c.dtype(x)
    c.emit("Clip", [c.name(x), c.const(np.asarray(lo, dt), "lo"), c.const(np.asarray(hi, dt),
                                                                         "hi")], outs)


for _k, _o in (("Tanh", "Tanh"), ("Sigmoid", "Sigmoid"), ("Exp", "Exp"), ("Neg", "Neg"),
               ("Contiguous", "Identity")):
    def _unary(c, args, params, outs, _o=_o):
        c.emit(_o, [c.name(args[0])], outs)
    _CONVERTERS[_k] = _unary


for _k, _o in (("Add", "Add"), ("Sub", "Sub"), ("Mul", "Mul"), ("Div", "Div")):
    def _binary(c, args, params, outs, _o=_o):
        a, b = args[:2]
        if len(args) > 2 or params:
            raise _Unsupported("extra arguments (alpha)")
        like = a if isinstance(a, (Ref, Const)) else b
        c.emit(_o, [c.operand(a, like), c.operand(b, like)], outs)
    _CONVERTERS[_k] = _binary


@converter("Linear")
def _linear(c, args, params, outs):
    x, w, b = args
    if c.rank(x) == 2:
        ins = [c.name(x), c.name(w)] + ([c.name(b)] if b is not None else [])
        c.emit("Gemm", ins, outs, transB=1)
        return
    wt = c.const(np.ascontiguousarray(c.array(w).T), "wT") if type(w) is Const else \
        c.emit("Transpose", [c.name(w)], [c.fresh("wT")], perm=[1, 0])
    if b is None:
        c.emit("MatMul", [c.name(x), wt], outs)
    else:
        y = c.emit("MatMul", [c.name(x), wt], [c.fresh("mm")])
        c.emit("Add", [y, c.name(b)], outs)


@converter("Reshape", "View")
def _reshape(c, args, params, outs):
    x, shape = args
    dims = list(shape)
    syms = [i for i, d in enumerate(dims) if isinstance(d, Sym)]
    if syms:
        if len(syms) > 1 or -1 in dims:
            raise _Unsupported("a target shape with more than one batch-dependent size")
        dims[syms[0]] = -1
    c.emit("Reshape", [c.name(x), c.const(np.asarray(dims, np.int64), "shape")], outs)


@converter("Permute")
def _permute(c, args, params, outs):
    c.emit("Transpose", [c.name(args[0])], outs, perm=_ints(args[1]))


@converter("ConstantPadNd")
def _pad(c, args, params, outs):
    x, widths, value = args
    lo, hi = [int(w[0]) for w in widths], [int(w[1]) for w in widths]
    if min(lo + hi) < 0:
        raise _Unsupported("negative padding (a crop)")
    c.emit("Pad", [c.name(x), c.const(np.asarray(lo + hi, np.int64), "pads"),
                   c.const(np.asarray(value, c.dtype(x)), "pad_value")], outs, mode="constant")


@converter("MaxPool")
def _maxpool(c, args, params, outs):
    x, pg = args
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = pg
    floor_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    floor_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    ceil = int(ho != floor_h or wo != floor_w)
    c.emit("MaxPool", [c.name(x)], outs, kernel_shape=[kh, kw], strides=[sh, sw],
           pads=[ph, pw, ph, pw], dilations=[dh, dw], ceil_mode=ceil)


@converter("Mean", "Sum")
def _reduce(c, args, params, outs):
    x, axes, keepdim = args[:3]
    dtype = args[3] if len(args) > 3 else None
    op = "ReduceMean" if c.current == "Mean" else "ReduceSum"
    axes = _ints(axes)
    xn = c.name(x)
    if dtype is not None:      # sum(dtype=...): accumulate in that dtype, as numpy does
        xn = c.emit("Cast", [xn], [c.fresh("acc")], to=_onnx_dtype(dtype))
    if op == "ReduceSum" or c.opset >= 18:   # axes as an input (ReduceSum since opset 13)
        c.emit(op, [xn, c.const(np.asarray(axes, np.int64), "axes")], outs,
               keepdims=int(bool(keepdim)))
    else:
        c.emit(op, [xn], outs, axes=axes, keepdims=int(bool(keepdim)))


@converter("LogSoftmax", "Softmax")
def _softmax(c, args, params, outs):
    x, axes = args[:2]
    axes = _ints(axes if isinstance(axes, (tuple, list)) else (axes,))
    if len(axes) != 1:
        raise _Unsupported("over several axes")
    c.emit(c.current, [c.name(x)], outs, axis=axes[0])


@converter("Cat")
def _cat(c, args, params, outs):
    c.emit("Concat", [c.name(a) for a in args], outs, axis=int(params["dim"]))


@converter("Stack")
def _stack(c, args, params, outs):
    d = int(params["dim"])
    ax = c.const(np.asarray([d], np.int64), "axes")
    parts = [c.emit("Unsqueeze", [c.name(a), ax], [c.fresh("unsq")]) for a in args]
    c.emit("Concat", parts, outs, axis=d)


@converter("GetItem")
def _getitem(c, args, params, outs):
    x, idx, advanced = args
    if advanced:
        raise _Unsupported("advanced (tensor) indexing")
    idx = idx if isinstance(idx, tuple) else (idx,)
    rank = c.rank(x)
    if Ellipsis in idx:
        k = idx.index(Ellipsis)
        n_real = len(idx) - 1 - sum(i is None for i in idx)
        idx = idx[:k] + (slice(None),) * (rank - n_real) + idx[k + 1:]
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    big = np.iinfo(np.int64).max
    d_in = d_out = 0
    for i in idx:
        if i is None:          # a new axis at this place of the result
            unsqueeze.append(d_out)
            d_out += 1
            continue
        if isinstance(i, slice):
            if i != slice(None):
                st = 1 if i.step is None else int(i.step)
                lo = (0 if st > 0 else -1) if i.start is None else i.start
                hi = (big if st > 0 else -big) if i.stop is None else i.stop
                if isinstance(lo, Sym) or isinstance(hi, Sym):
                    raise _Unsupported("a slice bound that follows the batch size")
                starts.append(int(lo))
                ends.append(int(hi))
                steps.append(st)
                axes.append(d_in)
            d_out += 1
        elif isinstance(i, (int, np.integer)):
            i = int(i)
            starts.append(i)
            ends.append(i + 1 if i != -1 else big)
            steps.append(1)
            axes.append(d_in)
            squeeze.append(d_in)
        else:
            raise _Unsupported(f"index {i!r}")
        d_in += 1
    arr = lambda v: c.const(np.asarray(v, np.int64), "sl")  # noqa: E731
    y = c.name(x)
    stages = [s for s, todo in (("slice", axes), ("squeeze", squeeze),
                                ("unsqueeze", unsqueeze)) if todo]
    if not stages:
        c.emit("Identity", [y], outs)
        return
    for k, stage in enumerate(stages):
        out = [outs[0] if k == len(stages) - 1 else c.fresh(stage)]
        if stage == "slice":
            y = c.emit("Slice", [y, arr(starts), arr(ends), arr(axes), arr(steps)], out)
        elif stage == "squeeze":
            y = c.emit("Squeeze", [y, arr(squeeze)], out)
        else:
            y = c.emit("Unsqueeze", [y, arr(unsqueeze)], out)


@converter("Separable")
def _separable(c, args, params, outs):
    x, ah, aw = args
    y = c.name(x)
    if ah is not None:
        y = c.emit("MatMul", [c.const(np.asarray(ah, c.dtype(x)), "ah"), y],
                   [c.fresh("rows") if aw is not None else outs[0]])
    if aw is not None:
        c.emit("MatMul", [y, c.const(np.ascontiguousarray(np.asarray(aw, c.dtype(x)).T),
                                     "awT")], outs)
    if ah is None and aw is None:
        c.emit("Identity", [y], outs)


def _onnx_dtype(npd):
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(npd))


@converter("ToDtype")
def _cast(c, args, params, outs):
    c.emit("Cast", [c.name(args[0])], outs, to=_onnx_dtype(args[1]))


@converter("Gather", "GatherScaledGrad")
def _gather(c, args, params, outs):
    w, idx = args[:2]
    if isinstance(idx, np.ndarray):
        ids = c.const(idx.astype(np.int64), "idx")
    else:
        ids = c.name(idx)
        if c.dtype(idx) != np.int64:
            ids = c.emit("Cast", [ids], [c.fresh("idx64")], to=_onnx_dtype(np.int64))
    if len(args) > 2 and c.current == "Gather" and args[2] is not None:
        raise _Unsupported("per-index scaling of the rows")
    c.emit("Gather", [c.name(w), ids], outs, axis=0)


@converter("Norm")
def _norm(c, args, params, outs):
    x, w, b = args
    axes = tuple(params["axes"])
    rank = c.rank(x)
    if params.get("stats") is not None or axes != tuple(range(rank - len(axes), rank)):
        raise _Unsupported("a normalisation over other than the last axes (batch norm in "
                           "training mode)")
    if c.opset < 17:
        raise _Unsupported("LayerNormalization needs opset 17")
    n = int(np.prod([c.shape(x)[a] for a in axes]))
    dt = c.dtype(x)
    wn = c.name(w) if w is not None else c.const(np.ones(n, dt), "ln_w")
    ins = [c.name(x), wn] + ([c.name(b)] if b is not None else [])
    c.emit("LayerNormalization", ins, outs, axis=-len(axes), epsilon=float(params["eps"]))


@converter("Gelu")
def _gelu(c, args, params, outs):
    x, approx = args
    xn, dt = c.name(x), c.dtype(x)
    k = lambda v: c.const(np.asarray(v, dt), "k")  # noqa: E731
    if approx == "tanh":   # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = c.emit("Mul", [c.emit("Mul", [xn, xn], [c.fresh("g")]), xn], [c.fresh("g")])
        inner = c.emit("Add", [xn, c.emit("Mul", [x3, k(0.044715)], [c.fresh("g")])],
                       [c.fresh("g")])
        t = c.emit("Tanh", [c.emit("Mul", [inner, k(np.sqrt(2 / np.pi))], [c.fresh("g")])],
                   [c.fresh("g")])
    else:                  # 0.5 x (1 + erf(x / sqrt 2))
        t = c.emit("Erf", [c.emit("Mul", [xn, k(1 / np.sqrt(2))], [c.fresh("g")])],
                   [c.fresh("g")])
    one = c.emit("Add", [t, k(1.0)], [c.fresh("g")])
    c.emit("Mul", [c.emit("Mul", [xn, k(0.5)], [c.fresh("g")]), one], outs)


@converter("Clamp")
def _clamp(c, args, params, outs):
    x, lo, hi = args
    bound = lambda v: "" if v is None else c.operand(v, x)  # noqa: E731
    if c.dtype(x).kind != "f" and (isinstance(lo, float) or isinstance(hi, float)):
        raise _Unsupported("float bounds on an integer tensor")
    c.emit("Clip", [c.name(x), bound(lo), bound(hi)], outs)


@converter("MaskedFill")
def _masked_fill(c, args, params, outs):
    x, mask, value = args
    v = c.const(np.asarray(value, c.dtype(x)), "fill") if not isinstance(
        value, (Ref, Const)) else c.name(value)
    c.emit("Where", [c.name(mask), v, c.name(x)], outs)


@converter("Select")
def _select(c, args, params, outs):
    x, kind, axes, keepdim = args
    op = {"amax": "ReduceMax", "amin": "ReduceMin"}.get(kind)
    if op is None:
        raise _Unsupported(f"{kind} (only amax/amin)")
    axes = _ints(axes)
    if c.opset >= 18:
        c.emit(op, [c.name(x), c.const(np.asarray(axes, np.int64), "axes")], outs,
               keepdims=int(bool(keepdim)))
    else:
        c.emit(op, [c.name(x)], outs, axes=axes, keepdims=int(bool(keepdim)))


@converter("Unbind")
def _unbind(c, args, params, outs):
    x, dim = args
    n = len(outs)
    parts = c.emit("Split", [c.name(x), c.const(np.ones(n, np.int64), "split")],
                   [c.fresh("part") for _ in range(n)], axis=int(dim))
    parts = [parts] if n == 1 else parts
    ax = c.const(np.asarray([int(dim)], np.int64), "axes")
    for p, o in zip(parts, outs):
        c.emit("Squeeze", [p, ax], [o])


@converter("Attention", "AttentionWeights")
def _attention(c, args, params, outs):
    q, k, v, mask, keep = args
    if keep is not None:
        raise _Unsupported("attention dropout (export in eval mode)")
    dt = c.dtype(q)
    rank = c.rank(k)
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    kt = c.emit("Transpose", [c.name(k)], [c.fresh("kT")], perm=perm)
    s = c.emit("MatMul", [c.name(q), kt], [c.fresh("scores")])
    s = c.emit("Mul", [s, c.const(np.asarray(params["scale"], dt), "scale")], [c.fresh("s")])
    if params["causal"]:
        lq, lk = c.shape(q)[-2], c.shape(k)[-2]
        if isinstance(lq, Sym) or isinstance(lk, Sym):
            raise _Unsupported("a causal mask over a batch-dependent length")
        tri = np.where(np.arange(lk)[None, :] <= np.arange(lq)[:, None] + (lk - lq), 0,
                       -np.inf).astype(dt)
        s = c.emit("Add", [s, c.const(tri, "causal")], [c.fresh("s")])
    if mask is not None:
        s = c.emit("Add", [s, c.name(mask)], [c.fresh("s")])
    p = c.emit("Softmax", [s], [c.fresh("p")] if len(outs) == 1 else [outs[1]], axis=-1)
    c.emit("MatMul", [p, c.name(v)], outs[:1])


_COMPARE = {"equal": "Equal", "less": "Less", "greater": "Greater", "less_equal": "LessOrEqual",
            "greater_equal": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or",
            "logical_xor": "Xor", "not_equal": "Equal"}


@converter("Compare")
def _compare(c, args, params, outs):
    a, b, ufunc = args[:3]
    op = _COMPARE.get(ufunc)
    if op is None or (len(args) > 3 and args[3] is not None):
        raise _Unsupported(f"{ufunc}")
    like = a if isinstance(a, (Ref, Const)) else b
    ins = [c.operand(a, like), c.operand(b, like)]
    if op in ("And", "Or", "Xor"):   # ONNX takes bool operands only
        if not all(isinstance(x, (Ref, Const)) for x in (a, b)):
            raise _Unsupported(f"{ufunc} with a Python scalar")
        ins = [n if c.dtype(x) == np.bool_ else
               c.emit("Cast", [n], [c.fresh("b")], to=_onnx_dtype(np.bool_))
               for n, x in zip(ins, (a, b))]
    if ufunc == "not_equal":
        c.emit("Not", [c.emit("Equal", ins, [c.fresh("eq")])], outs)
    else:
        c.emit(op, ins, outs)


@converter("Invert")
def _invert(c, args, params, outs):
    x, ufunc = args
    if ufunc == "invert" and c.dtype(x) != np.bool_:
        raise _Unsupported("bitwise NOT of integers")
    c.emit("Not", [c.name(x)], outs)


def _time_steps(steps):
    """The number of steps T of a padded batch (every step the same rows, contiguous), or
    raise: packed sequences of different lengths have no ONNX equivalent here."""
    b = steps[0][1]
    for t, (o, bt) in enumerate(steps):
        want = t * b if not isinstance(b, Sym) else (Sym(t * b.a, t * b.c) if t else 0)
        if bt != b or o != want:
            raise _Unsupported("packed sequences of different lengths (export padded "
                               "batches)")
    return len(steps)


def _recurrent(c, args, params, outs, kind):
    x, w_ih, b_ih, b_hh, h0, c0, w_hh, w_hr = args
    if w_hr is not None:
        raise _Unsupported("an LSTM with proj_size")
    n, order = {"LSTM": (4, (0, 3, 1, 2)), "GRU": (3, (1, 0, 2)), "RNN": (1, (0,))}[kind]
    w = c.array(w_ih)
    hid = w.shape[0] // n
    dt = w.dtype
    steps = _time_steps(params["steps"])
    # the parameters stay initializers in PyTorch's layout (so ktrain.onnx.load gives them
    # back trainable, under their names); a row Gather puts the gates in ONNX's order
    rows = c.const(np.concatenate([np.arange(k * hid, (k + 1) * hid) for k in order])
                   .astype(np.int64), "gate_rows")
    ax0 = c.const(np.asarray([0], np.int64), "axes")

    def gated(t, stem):
        return c.emit("Gather", [c.name(t), rows], [c.fresh(stem)], axis=0)

    W = c.emit("Unsqueeze", [gated(w_ih, "W"), ax0], [c.fresh("W")])
    R = c.emit("Unsqueeze", [gated(w_hh, "R"), ax0], [c.fresh("R")])
    zero = lambda: c.const(np.zeros(n * hid, dt), "zero_bias")  # noqa: E731
    bias = c.emit("Concat", [gated(b_ih, "bi") if b_ih is not None else zero(),
                             gated(b_hh, "bh") if b_hh is not None else zero()],
                  [c.fresh("B")], axis=0)
    Bc = c.emit("Unsqueeze", [bias, ax0], [c.fresh("B")])
    X = c.emit("Reshape", [c.name(x), c.const(np.asarray([steps, -1, w.shape[1]], np.int64),
                                                 "shape")], [c.fresh("X")])
    ins = [X, W, R, Bc, "", c.emit("Unsqueeze", [c.name(h0), ax0], [c.fresh("h0")])]
    attrs = {"hidden_size": hid, "direction": "reverse" if params["reverse"] else "forward"}
    n_out = 3 if kind == "LSTM" else 2
    if kind == "LSTM":
        ins.append(c.emit("Unsqueeze", [c.name(c0), ax0], [c.fresh("c0")]))
    elif kind == "GRU":
        attrs["linear_before_reset"] = 1     # PyTorch's n = tanh(.. + r * (W_hn h + b_hn))
    else:
        attrs["activations"] = ["Relu" if params.get("relu") else "Tanh"]
    ys = c.emit(kind, ins, [c.fresh(o) for o in ("Y", "Y_h", "Y_c")[:n_out]], **attrs)
    c.emit("Reshape", [ys[0], c.const(np.asarray([-1, hid], np.int64), "shape")], [outs[0]])
    for y, o in zip(ys[1:], outs[1:]):
        c.emit("Squeeze", [y, ax0], [o])


@converter("LSTMRecurrence")
def _lstm(c, args, params, outs):
    _recurrent(c, args, params, outs, "LSTM")


@converter("GRURecurrence")
def _gru(c, args, params, outs):
    _recurrent(c, args, params, outs, "GRU")


@converter("RNNRecurrence")
def _rnn(c, args, params, outs):
    _recurrent(c, args, params, outs, "RNN")


@converter("ConvInputGrad")
def _conv_transpose(c, args, params, outs):
    x, w, b, geom, out_hw = args
    (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)), g = geom
    h, wd = c.shape(x)[-2:]
    if min(pt, pb, pl, pr) < 0 or any(isinstance(v, Sym) for v in (h, wd, *out_hw)):
        raise _Unsupported("negative padding or a batch-dependent size")
    oph = out_hw[0] - ((h - 1) * sh - pt - pb + dh * (kh - 1) + 1)
    opw = out_hw[1] - ((wd - 1) * sw - pl - pr + dw * (kw - 1) + 1)
    ins = [c.name(x), c.name(w)] + ([c.name(b)] if b is not None else [])
    c.emit("ConvTranspose", ins, outs, kernel_shape=[kh, kw], strides=[sh, sw],
           dilations=[dh, dw], pads=[pt, pl, pb, pr], group=int(g),
           output_padding=[int(oph), int(opw)])


@converter("AvgPool")
def _avgpool(c, args, params, outs):
    x, pg, div = args
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), (h, w) = pg
    if (dh, dw) != (1, 1):
        raise _Unsupported("dilated average pooling")
    if (ph or pw) and (div is None or float(div) != kh * kw):
        raise _Unsupported("padding with count_include_pad=False or a divisor_override")
    if not (ph or pw) and div is not None and float(div) != kh * kw:
        raise _Unsupported("a divisor_override")
    floor_h = (h + 2 * ph - kh) // sh + 1
    floor_w = (w + 2 * pw - kw) // sw + 1
    c.emit("AveragePool", [c.name(x)], outs, kernel_shape=[kh, kw], strides=[sh, sw],
           pads=[ph, pw, ph, pw], count_include_pad=1,
           ceil_mode=int(ho != floor_h or wo != floor_w))


@converter("Split")
def _split(c, args, params, outs):
    x, dim, bounds = args
    sizes = [int(e) - int(s) for s, e in bounds]
    if int(bounds[0][0]) != 0 or any(int(bounds[i][1]) != int(bounds[i + 1][0])
                                     for i in range(len(bounds) - 1)):
        raise _Unsupported("pieces that do not tile the axis")
    if len(outs) == 1:
        c.emit("Slice", [c.name(x), c.const(np.asarray([0], np.int64), "s"),
                         c.const(np.asarray([sizes[0]], np.int64), "e"),
                         c.const(np.asarray([int(dim)], np.int64), "a")], outs)
        return
    c.emit("Split", [c.name(x), c.const(np.asarray(sizes, np.int64), "split")], outs,
           axis=int(dim))


@converter("LeakyRelu")
def _leaky(c, args, params, outs):
    c.emit("LeakyRelu", [c.name(args[0])], outs, alpha=float(args[1]))


@converter("Elu")
def _elu(c, args, params, outs):
    x, alpha, scale, input_scale = args
    if float(scale) != 1.0 or float(input_scale) != 1.0:
        raise _Unsupported("ELU with scale/input_scale (use Selu/Celu)")
    c.emit("Elu", [c.name(x)], outs, alpha=float(alpha))


@converter("Silu")
def _silu(c, args, params, outs):
    xn = c.name(args[0])
    c.emit("Mul", [xn, c.emit("Sigmoid", [xn], [c.fresh("sig")])], outs)


@converter("Softplus")
def _softplus(c, args, params, outs):
    x, beta, threshold = args
    xn = c.name(x)
    if float(beta) == 1.0:
        sp = c.emit("Softplus", [xn], [c.fresh("sp")])
    else:   # log(1 + exp(beta x)) / beta
        bx = c.emit("Mul", [xn, c.const(np.asarray(beta, c.dtype(x)), "beta")], [c.fresh("bx")])
        sp = c.emit("Div", [c.emit("Softplus", [bx], [c.fresh("sp")]),
                            c.const(np.asarray(beta, c.dtype(x)), "beta")], [c.fresh("sp")])
        xn = bx
    # PyTorch returns x itself where beta x > threshold
    big = c.emit("Greater", [xn, c.const(np.asarray(threshold, c.dtype(x)), "thr")],
                 [c.fresh("big")])
    c.emit("Where", [big, c.name(x), sp], outs)


@converter("Hardswish")
def _hardswish(c, args, params, outs):
    c.emit("HardSwish", [c.name(args[0])], outs)


@converter("Hardsigmoid")
def _hardsigmoid(c, args, params, outs):
    c.emit("HardSigmoid", [c.name(args[0])], outs, alpha=1.0 / 6, beta=0.5)


@converter("Mish")
def _mish(c, args, params, outs):
    xn = c.name(args[0])
    t = c.emit("Tanh", [c.emit("Softplus", [xn], [c.fresh("sp")])], [c.fresh("t")])
    c.emit("Mul", [xn, t], outs)


@converter("Prelu")
def _prelu(c, args, params, outs):
    x, w = args
    slope = c.array(w).reshape(-1)
    rank = c.rank(x)
    shape = (slope.size,) + (1,) * (rank - 2) if slope.size > 1 and rank >= 2 else slope.shape
    wn = c.emit("Reshape", [c.name(w), c.const(np.asarray(shape, np.int64), "shape")],
                [c.fresh("slope")])
    c.emit("PRelu", [c.name(x), wn], outs)


@converter("NearestGather")
def _nearest(c, args, params, outs):
    x, ih, iw = args[:3]
    y = c.name(x)
    for k, idx in ((2, ih), (3, iw)):   # ops.resample._gather's axes
        if idx is None:
            continue
        last = idx is iw or iw is None
        y = c.emit("Gather", [y, c.const(np.asarray(idx, np.int64), "idx")],
                   [outs[0] if last else c.fresh("rows")], axis=k)
    if ih is None and iw is None:
        c.emit("Identity", [y], outs)


# ---------------------------------------------------------------------- export


def collect_leaves(x):
    """The leaves of an output structure, in order."""
    out = []
    remap(x, out.append)
    return out


def export(model, args, f, *, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=17, export_params=True, verbose=False, kwargs=None):
    """Export ``model`` (a module or a ``ktrain.jit`` traced module) to ONNX at ``f`` (a
    path or a binary file object); returns the ``onnx.ModelProto``."""
    from .. import jit
    from ..jit._module import TracedModule

    onnx, helper, _ = _onnx()
    if not export_params:
        raise NotImplementedError("ktrain.onnx.export: export_params=False (weights as "
                                  "inputs) is not supported; the weights are initializers")
    if opset_version < 13:
        raise ValueError(f"ktrain.onnx.export: opset_version {opset_version} is below 13, "
                         f"the lowest this exporter writes")
    if isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    dynamic = bool(dynamic_axes)
    if dynamic:
        for name, axes in dynamic_axes.items():
            ax = list(axes) if not isinstance(axes, dict) else list(axes)
            if ax != [0]:
                raise NotImplementedError(f"ktrain.onnx.export: dynamic_axes[{name!r}] = "
                                          f"{axes}: only the batch axis 0 can be dynamic")
    traced = model if isinstance(model, TracedModule) else jit.trace(
        model, args, dynamic_batch=dynamic, example_kwarg_inputs=kwargs)
    g = traced.graph
    ctx = _Ctx(g, traced._consts(), opset_version)
    n_in = len(g.inputs)
    in_names = list(input_names or traced.input_names)[:n_in]
    in_names += [f"input{i}" for i in range(len(in_names), n_in)]
    for k, n in enumerate(g.nodes):
        name = op_name(n.op)
        conv = _CONVERTERS.get(name)
        where = ""
        if g.sites and k < len(g.sites):
            where = f", called at {g.sites[k][0]}:{g.sites[k][1]}"
        if conv is None:
            raise UnsupportedOperatorError(
                f"ktrain.onnx.export: node {k} applies {name}{where}, which has no ONNX "
                f"converter (opset {opset_version}); supported: {', '.join(sorted(_CONVERTERS))}")
        try:
            ctx.current = name
            conv(ctx, n.args, n.params, [f"v{o}" for o in n.outputs])
        except _Unsupported as e:
            raise UnsupportedOperatorError(f"ktrain.onnx.export: node {k} ({name}{where}) "
                                           f"cannot be written in ONNX opset {opset_version}: "
                                           f"{e}") from None
    outs = [x for x in collect_leaves(g.outputs) if isinstance(x, (Ref, Const))]
    out_names = list(output_names or [f"output{i}" for i in range(len(outs))])
    if len(out_names) != len(outs):
        raise ValueError(f"ktrain.onnx.export: {len(out_names)} output names for "
                         f"{len(outs)} outputs")
    for r, nm in zip(outs, out_names):
        if type(r) is not Ref:
            raise UnsupportedOperatorError(f"ktrain.onnx.export: output {nm} is a constant "
                                           f"(a parameter returned as is)")
        ctx.emit("Identity", [ctx.name(r)], [nm])

    def info(nm, vid):
        v = g.values[vid]
        dims = ["batch" if isinstance(d, Sym) else int(d) for d in v.shape]
        dt = helper.np_dtype_to_tensor_dtype(np.dtype(v.dtype))
        return helper.make_tensor_value_info(nm, dt, dims)

    for nm, vid in zip(in_names, g.inputs):
        ctx.nodes.insert(0, helper.make_node("Identity", [nm], [f"v{vid}"]))
    graph = helper.make_graph(
        ctx.nodes, getattr(model, "original_name", type(model).__name__),
        [info(nm, vid) for nm, vid in zip(in_names, g.inputs)],
        [info(nm, r.id) for nm, r in zip(out_names, outs)],
        ctx.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset_version)],
                              producer_name="ktrain")
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
    else:
        from ..serialization._files import _atomic_write

        _atomic_write(os.fspath(f), data)
    if verbose:
        print(helper.printable_graph(proto.graph))
    return proto

