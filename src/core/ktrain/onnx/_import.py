"""``ktrain.onnx.load``: an ONNX graph as a trainable ktrain module.

The file is parsed with the ``onnx`` package (protobuf: data only, nothing runs) and
checked with ``onnx.checker``; its float initializers become ``Parameter``s (trainable)
and the others (and BatchNormalization's running statistics) buffers, under their ONNX names (dots become nested submodules, so a file
written by ``ktrain.onnx.export`` gives back the model's ``state_dict`` keys). Calling the
module walks the nodes in order and applies each with ktrain's functional ops, so autograd
records it: export -> load -> fine-tune works, and so does a graph another framework wrote,
as long as it uses the operators below. Anything else is refused at load time with the
node's name and op type.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .._tensor import Tensor

__all__ = ["OnnxModule", "load"]


def _attrs(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _ints(t):
    return [int(v) for v in np.asarray(t.detach()._data if isinstance(t, Tensor) else t)
            .reshape(-1)]


def _conv(F, x, w, b=None, *, kernel_shape=None, strides=None, pads=None, dilations=None,
          group=1, auto_pad="NOTSET"):
    if auto_pad not in ("NOTSET", b"NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    nd = w.ndim - 2
    strides = strides or [1] * nd
    dilations = dilations or [1] * nd
    pads = pads or [0] * (2 * nd)
    lo, hi = pads[:nd], pads[nd:]
    if lo != hi:   # asymmetric: pad explicitly (F.pad takes the last dim first)
        x = F.pad(x, [p for d in reversed(range(nd)) for p in (lo[d], hi[d])])
        lo = [0] * nd
    conv = F.conv1d if nd == 1 else F.conv2d if nd == 2 else None
    if conv is None:
        raise NotImplementedError(f"Conv over {nd} spatial dims")
    return conv(x, w, b, tuple(strides), tuple(lo), tuple(dilations), int(group))


def _pool(F, kind, x, *, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0,
          count_include_pad=0, auto_pad="NOTSET", storage_order=0):
    nd = len(kernel_shape)
    strides = strides or [1] * nd
    pads = pads or [0] * (2 * nd)
    lo, hi = pads[:nd], pads[nd:]
    if lo != hi:
        raise NotImplementedError(f"{kind} with asymmetric pads")
    if nd != 2:
        raise NotImplementedError(f"{kind} over {nd} spatial dims")
    if kind == "MaxPool":
        return F.max_pool2d(x, tuple(kernel_shape), tuple(strides), tuple(lo),
                            tuple(dilations or [1, 1]), ceil_mode=bool(ceil_mode))
    return F.avg_pool2d(x, tuple(kernel_shape), tuple(strides), tuple(lo),
                        ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad))


def _reduce(x, axes, keepdims, op):
    dims = tuple(range(x.ndim)) if axes is None else tuple(int(a) for a in axes)
    return getattr(x, op)(dim=dims, keepdim=bool(keepdims))


def _slice(x, starts, ends, axes=None, steps=None):
    starts, ends = _ints(starts), _ints(ends)
    axes = _ints(axes) if axes is not None else list(range(len(starts)))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    idx = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        n = x.shape[a]
        clip = lambda v: max(-n - 1, min(n, v))  # noqa: E731
        idx[a] = slice(clip(s), None if abs(e) >= 2 ** 62 else clip(e), st)
    return x[tuple(idx)]


def _run_node(F, kt, op, a, x):
    """The ktrain computation of one ONNX node (``x``: its input tensors or None)."""
    if op == "Conv":
        return _conv(F, *x, **a)
    if op in ("MaxPool", "AveragePool"):
        return _pool(F, op, x[0], **a)
    if op == "GlobalAveragePool":
        return x[0].mean(dim=tuple(range(2, x[0].ndim)), keepdim=True)
    if op == "BatchNormalization":
        return F.batch_norm(x[0], x[3], x[4], x[1], x[2], training=False,
                            eps=float(a.get("epsilon", 1e-5)))
    if op == "LayerNormalization":
        axis = int(a.get("axis", -1)) % x[0].ndim
        return F.layer_norm(x[0], tuple(x[0].shape[axis:]), x[1], x[2] if len(x) > 2 else None,
                            float(a.get("epsilon", 1e-5)))
    if op == "Gemm":
        A, Bm = x[0], x[1]
        if a.get("transA", 0):
            A = A.mT
        if a.get("transB", 0):
            Bm = Bm.mT
        y = A @ Bm
        if a.get("alpha", 1.0) != 1.0:
            y = y * float(a["alpha"])
        if len(x) > 2 and x[2] is not None:
            y = y + (x[2] if a.get("beta", 1.0) == 1.0 else x[2] * float(a["beta"]))
        return y
    if op == "MatMul":
        return x[0] @ x[1]
    if op in ("Add", "Sub", "Mul", "Div"):
        return {"Add": kt.add, "Sub": kt.sub, "Mul": kt.mul, "Div": kt.div}[op](x[0], x[1])
    if op in ("Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Erf", "Sqrt", "Abs"):
        return getattr(kt, op.lower())(x[0])
    if op == "Identity":
        return x[0]
    if op == "Clip":
        lo = float(x[1].item()) if len(x) > 1 and x[1] is not None else None
        hi = float(x[2].item()) if len(x) > 2 and x[2] is not None else None
        return x[0].clamp(lo, hi)
    if op in ("Softmax", "LogSoftmax"):
        f = F.softmax if op == "Softmax" else F.log_softmax
        return f(x[0], dim=int(a.get("axis", -1)))
    if op == "Reshape":
        shape = _ints(x[1])
        shape = [x[0].shape[i] if (d == 0 and not a.get("allowzero", 0)) else d
                 for i, d in enumerate(shape)]
        return x[0].reshape(shape)
    if op == "Flatten":
        ax = int(a.get("axis", 1)) % max(x[0].ndim, 1)
        return x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
    if op == "Transpose":
        perm = a.get("perm") or list(reversed(range(x[0].ndim)))
        return x[0].permute(*perm)
    if op == "Concat":
        return kt.cat([t for t in x if t is not None], dim=int(a["axis"]))
    if op in ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"):
        axes = a.get("axes") if len(x) < 2 or x[1] is None else _ints(x[1])
        name = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax",
                "ReduceMin": "amin"}[op]
        return _reduce(x[0], axes, a.get("keepdims", 1), name)
    if op == "Pad":
        if a.get("mode", "constant") not in ("constant", b"constant"):
            raise NotImplementedError(f"Pad mode {a['mode']}")
        pads = _ints(x[1])
        n = len(pads) // 2
        value = float(x[2].item()) if len(x) > 2 and x[2] is not None else 0.0
        torch_pads = [p for d in reversed(range(n)) for p in (pads[d], pads[d + n])]
        return F.pad(x[0], torch_pads, value=value)
    if op == "Slice":
        return _slice(*x)
    if op in ("Squeeze", "Unsqueeze"):
        axes = a.get("axes") if len(x) < 2 or x[1] is None else _ints(x[1])
        y = x[0]
        if op == "Squeeze":
            axes = [i for i, d in enumerate(y.shape) if d == 1] if axes is None else axes
            for ax in sorted((ax % y.ndim for ax in axes), reverse=True):
                y = y.squeeze(ax)
            return y
        for ax in sorted(ax % (y.ndim + len(axes)) for ax in axes):
            y = y.unsqueeze(ax)
        return y
    if op == "Gather":
        axis = int(a.get("axis", 0))
        if axis == 0 and x[0].ndim == 2 and x[1].dtype in (kt.int64, kt.int32):
            return F.embedding(x[1], x[0])
        return x[0].index_select(axis, x[1].reshape(-1)).reshape(
            list(x[0].shape[:axis]) + list(x[1].shape) + list(x[0].shape[axis + 1:]))
    if op == "Cast":
        from onnx import helper

        return x[0].to(kt.from_numpy(np.zeros(0, helper.tensor_dtype_to_np_dtype(a["to"])))
                       .dtype)
    if op == "Shape":
        return kt.tensor(list(x[0].shape), dtype=kt.int64)
    if op == "ConstantOfShape":
        from onnx import numpy_helper

        v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return kt.full(tuple(_ints(x[0])), v.reshape(-1)[0].item(),
                       dtype=kt.from_numpy(v).dtype)
    if op == "Where":
        return kt.where(x[0], x[1], x[2])
    if op in ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"):
        return {"Equal": kt.eq, "Less": kt.lt, "Greater": kt.gt, "LessOrEqual": kt.le,
                "GreaterOrEqual": kt.ge}[op](x[0], x[1])
    if op == "Not":
        return kt.logical_not(x[0])
    if op in ("LSTM", "GRU", "RNN"):
        return _recurrent(kt, op, a, x)
    if op == "Split":
        axis = int(a.get("axis", 0))
        sizes = _ints(x[1]) if len(x) > 1 and x[1] is not None else a.get("split")
        if sizes is None:
            n = int(a["num_outputs"])
            sizes = [x[0].shape[axis] // n] * n
        return tuple(kt.split(x[0], list(sizes), dim=axis))
    raise NotImplementedError(op)


def _regate(w, order, n):
    """ONNX's gate blocks of ``w`` (rows) back in PyTorch's order, with ops (so a gradient
    reaches the ONNX-layout parameter)."""
    import ktrain as kt

    h = w.shape[0] // n
    return kt.cat([w[k * h:(k + 1) * h] for k in order], 0)


def _recurrent(kt, op, a, x):
    """ONNX LSTM / GRU / RNN (one direction, no sequence lengths) through the fused
    recurrence ops of ``ops.rnn``."""
    from ..ops.rnn import _GRURecurrence, _LSTMRecurrence, _RNNRecurrence

    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction not in ("forward", "reverse"):
        raise NotImplementedError(f"{op} with direction={direction}")
    if len(x) > 4 and x[4] is not None:
        raise NotImplementedError(f"{op} with sequence_lens")
    n, order = {"LSTM": (4, (0, 2, 3, 1)), "GRU": (3, (1, 0, 2)), "RNN": (1, (0,))}[op]
    if op == "GRU" and not a.get("linear_before_reset", 0):
        raise NotImplementedError("GRU with linear_before_reset=0")
    X, W, R = x[0], x[1], x[2]
    T, Bn, I = X.shape
    hid = int(a["hidden_size"])
    w_ih, w_hh = _regate(W[0], order, n), _regate(R[0], order, n)
    b_ih = b_hh = None
    if len(x) > 3 and x[3] is not None:
        b_ih, b_hh = _regate(x[3][0][:n * hid], order, n), _regate(x[3][0][n * hid:], order, n)
    h0 = x[5][0] if len(x) > 5 and x[5] is not None else kt.zeros(Bn, hid, dtype=X.dtype)
    steps = tuple((t * Bn, Bn) for t in range(T))
    x2 = X.reshape(T * Bn, I)
    rev = direction == "reverse"
    if op == "LSTM":
        c0 = x[6][0] if len(x) > 6 and x[6] is not None else kt.zeros(Bn, hid, dtype=X.dtype)
        y, h, c = _LSTMRecurrence.apply(x2, w_ih, b_ih, b_hh, h0, c0, w_hh, None, steps=steps,
                                        reverse=rev)
        return y.reshape(T, 1, Bn, hid), h.unsqueeze(0), c.unsqueeze(0)
    if op == "GRU":
        y, h = _GRURecurrence.apply(x2, w_ih, b_ih, b_hh, h0, None, w_hh, None, steps=steps,
                                    reverse=rev)
    else:
        acts = [v.decode() if isinstance(v, bytes) else v for v in a.get("activations",
                                                                          ["Tanh"])]
        if acts[0] not in ("Tanh", "Relu"):
            raise NotImplementedError(f"RNN activation {acts[0]}")
        y, h = _RNNRecurrence.apply(x2, w_ih, b_ih, b_hh, h0, None, w_hh, None, steps=steps,
                                    reverse=rev, relu=acts[0] == "Relu")
    return y.reshape(T, 1, Bn, hid), h.unsqueeze(0)


SUPPORTED = ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
             "LayerNormalization", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu",
             "Sigmoid", "Tanh", "Exp", "Neg", "Erf", "Sqrt", "Abs", "Identity", "Clip",
             "Softmax", "LogSoftmax", "Reshape", "Flatten", "Transpose", "Concat",
             "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "Pad", "Slice", "Squeeze",
             "Unsqueeze", "Gather", "Cast", "Shape", "ConstantOfShape", "Where", "Equal",
             "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "Split", "LSTM", "GRU", "RNN", "Constant")


class OnnxModule(nn.Module):
    """An imported ONNX graph (``ktrain.onnx.load``); call it with the graph's inputs
    (positionally or by name). Returns one tensor, or a tuple for several outputs."""

    def __init__(self, proto):
        from onnx import numpy_helper

        super().__init__()
        g = proto.graph
        self.__dict__["_nodes"] = []
        self.__dict__["_consts"] = {}
        self.__dict__["_where"] = {}
        from onnx import TensorProto

        for t in list(g.initializer) + [a.t for n in g.node for a in n.attribute if a.t.name
                                        or a.t.dims]:
            if t.data_location == TensorProto.EXTERNAL:
                raise ValueError(f"ktrain.onnx.load: tensor {t.name!r} keeps its data in an "
                                 f"external file; ktrain reads only self-contained models "
                                 f"(a file must not make it read other paths)")
        init_names = set()
        # running statistics are state, not parameters (ONNX does not say which is which)
        stats = {i for n in g.node if n.op_type == "BatchNormalization" for i in n.input[3:5]}
        for t in g.initializer:
            arr = numpy_helper.to_array(t).copy()
            tensor = Tensor._make(np.ascontiguousarray(arr))
            self._add(t.name, tensor, float_param=arr.dtype.kind == "f" and t.name not in stats)
            init_names.add(t.name)
        for k, n in enumerate(g.node):
            if n.domain not in ("", "ai.onnx"):
                raise ValueError(f"ktrain.onnx.load: node {k} ({n.name or n.op_type}) is in "
                                 f"domain {n.domain!r}; only the default ONNX domain is read")
            if n.op_type not in SUPPORTED:
                raise ValueError(f"ktrain.onnx.load: node {k} ({n.name or '?'}) is a "
                                 f"{n.op_type} op, which ktrain cannot import (supported: "
                                 f"{', '.join(SUPPORTED)})")
            a = _attrs(n)
            if n.op_type == "Constant":
                arr = numpy_helper.to_array(a["value"]) if "value" in a else None
                if arr is None:
                    raise ValueError(f"ktrain.onnx.load: node {k}: a Constant needs 'value'")
                self._consts[n.output[0]] = Tensor._make(arr.copy())
                continue
            self._nodes.append((k, n.name, n.op_type, a, list(n.input), list(n.output)))
        self.__dict__["input_names"] = [i.name for i in g.input if i.name not in init_names]
        self.__dict__["output_names"] = [o.name for o in g.output]
        self.__dict__["_init_names"] = init_names
        known = set(self.input_names) | init_names | set(self._consts)
        for k, name, op, a, ins, outs in self._nodes:
            for i in ins:
                if i and i not in known:
                    raise ValueError(f"ktrain.onnx.load: node {k} ({name or op}) reads {i!r}, "
                                     f"which no earlier node, input or initializer defines")
            known.update(outs)
        for o in self.output_names:
            if o not in known:
                raise ValueError(f"ktrain.onnx.load: the graph output {o!r} is never computed")

    def _add(self, name, tensor, float_param):
        parts = name.split(".")
        mod = self
        for p in parts[:-1]:
            if not p.isidentifier() and not p.isdigit():
                mod = None
                break
            sub = mod._modules.get(p)
            if sub is None:
                sub = nn.Module()
                mod.add_module(p, sub)
            mod = sub
        leaf = parts[-1]
        if mod is None or not (leaf.isidentifier() or leaf.isdigit()):
            mod, leaf = self, "_" + "".join(ch if ch.isalnum() else "_" for ch in name)
        if float_param:
            mod.register_parameter(leaf, nn.Parameter(tensor))
        else:
            mod.register_buffer(leaf, tensor)
        self._where[name] = (mod, leaf)

    def forward(self, *args, **kwargs):
        import ktrain as kt
        from ..nn import functional as F

        vals = dict(self._consts)
        for name, (mod, leaf) in self._where.items():
            vals[name] = getattr(mod, leaf)
        inputs = list(args) + [kwargs.pop(n) for n in self.input_names[len(args):]
                               if n in kwargs]
        if kwargs or len(inputs) != len(self.input_names):
            raise TypeError(f"OnnxModule: takes the inputs {self.input_names}, got "
                            f"{len(inputs)} (and unexpected {sorted(kwargs)})")
        vals.update(zip(self.input_names, inputs))
        for k, name, op, a, ins, outs in self._nodes:
            x = [vals[i] if i else None for i in ins]
            try:
                y = _run_node(F, kt, op, a, x)
            except NotImplementedError as e:
                raise NotImplementedError(f"ktrain.onnx: node {k} ({name or op}): {e} is not "
                                          f"supported") from None
            ys = y if isinstance(y, tuple) else (y,)
            for o, t in zip(outs, ys):
                vals[o] = t
        res = tuple(vals[o] for o in self.output_names)
        return res[0] if len(res) == 1 else res


def load(f):
    """Import the ONNX model at ``f`` (a path, bytes or a binary file object) as an
    ``OnnxModule``; see the module docstring."""
    import onnx

    from ._export import _onnx

    _onnx()
    data = f if isinstance(f, (bytes, bytearray)) else f.read() if hasattr(f, "read") \
        else open(f, "rb").read()
    try:
        proto = onnx.load_from_string(bytes(data))
        onnx.checker.check_model(proto)
    except Exception as e:  # noqa: BLE001 - DecodeError, ValidationError...: a bad file
        raise ValueError(f"ktrain.onnx.load: not a valid ONNX model ({type(e).__name__}: "
                         f"{str(e)[:300]})") from None
    return OnnxModule(proto)

