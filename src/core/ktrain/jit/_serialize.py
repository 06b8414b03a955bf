"""``ktrain.jit.save`` / ``load``: a traced graph as one safetensors file.

The file is an ordinary safetensors file. Tensors: every constant of the graph under its
name (parameters and buffers keep the module's names, ``state_dict`` style; captured
tensors are ``_c0``, ``_c1``, ...) and every array attribute of a node as ``@attr0``,
``@attr1``, .... Header metadata: ``format = "ktrain.jit"``, ``ktrain_jit_schema`` (the
graph schema version, ``ktrain.jit._ir.SCHEMA_VERSION``), ``ktrain_version``, and
``ktrain_graph``: the graph as JSON in the form documented in ``ktrain.jit._ir``, with
``constants`` mapping each name to ``{"kind": "param" | "buffer" | "captured",
"requires_grad": bool}`` and ``input_names``/``name`` beside it.

Loading reads the header and the tensor bytes (``ktrain.serialization``'s reader: sizes
and offsets validated by the safetensors library), parses the JSON with a strict decoder
(every node, argument and value is checked; anything unexpected is a ``GraphError`` naming
the node), and resolves each op name against the op classes ktrain itself defines
(``Op``/``Function`` subclasses in ``ktrain.*`` modules). Nothing named in a file is
imported, and no code from it runs.
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np

from .. import __version__
from .. import _backend as B
from ..autograd.function import Function, Op
from ..serialization._decode import _MapLocation, _parse_header, _read_arrays
from ..serialization._files import _atomic_write, _describe, _read_all
from ._ir import SCHEMA_VERSION, ArrRef, Const, Fill, Graph, GraphError, Node, Ref, Sym, \
    Value, op_name, op_path

__all__ = ["load", "save"]

FORMAT = "ktrain.jit"
_MAX_DEPTH = 64
_DTYPES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
           "uint8", "bool", "complex64", "complex128"}


def _record_types():
    from ..ops.conv import _Geom
    from ..ops.pool import _PoolGeom

    return {"conv_geom": _Geom, "pool_geom": _PoolGeom}


def _ops():
    """``module:qualname`` -> class for every op class ktrain defines (the class its module
    holds now, when a module was reloaded), and the set of all of them."""
    out, every = {}, set()
    stack = [Op, Function]
    while stack:
        c = stack.pop()
        for s in c.__subclasses__():
            stack.append(s)
            m = s.__module__
            if m == "ktrain" or m.startswith("ktrain."):
                every.add(s)
                path = op_path(s)
                mod = sys.modules.get(m)
                if path not in out or getattr(mod, s.__qualname__, None) is s:
                    out[path] = s
    return out, every


# ---------------------------------------------------------------------- encoding


class _Enc:
    def __init__(self):
        self.arrays = {}
        self.records = {v: k for k, v in _record_types().items()}
        self.where = ""

    def fail(self, msg):
        return TypeError(f"ktrain.jit.save: {self.where}: {msg}")

    def arg(self, x, depth=0):
        if depth > _MAX_DEPTH:
            raise self.fail("attributes nest too deeply")
        t = type(x)
        if x is None or t is bool or t is str:
            return x
        if t is int:
            return x
        if t is float:
            return x if math.isfinite(x) else {"f": repr(x)}
        if t is ArrRef:
            return {"va": x.id}
        if t is Ref:
            return {"v": x.id}
        if t is Const:
            return {"c": x.name}
        if t is Sym:
            return {"sym": [x.a, x.c]}
        if t is Fill:
            return {"fill": [[self.arg(d) for d in x.shape], self.arg(x.value), x.dtype]}
        if isinstance(x, (np.generic,)):
            v = x.item()
            return {"np": x.dtype.name, "value": self.arg(v, depth + 1)}
        if t is tuple:
            return {"tuple": [self.arg(y, depth + 1) for y in x]}
        if t in self.records:
            return {"obj": self.records[t], "fields": [self.arg(y, depth + 1) for y in x]}
        if t is list:
            return [self.arg(y, depth + 1) for y in x]
        if t is dict:
            if not all(type(k) is str for k in x):
                raise self.fail("a dict attribute with non-string keys cannot be saved")
            return {"dict": [[k, self.arg(v, depth + 1)] for k, v in x.items()]}
        if t is slice:
            return {"slice": [self.arg(y, depth + 1) for y in (x.start, x.stop, x.step)]}
        if x is Ellipsis:
            return {"ellipsis": 1}
        if isinstance(x, np.dtype):
            return {"dtype": x.name}
        if isinstance(x, B.dtype):
            return {"kdtype": x.name}
        if t is np.ndarray or t.__module__.startswith("cupy"):
            name = f"@attr{len(self.arrays)}"
            self.arrays[name] = B.to_device(x, B.CPU)
            return {"array": name}
        raise self.fail(f"an attribute of type {t.__module__}.{t.__qualname__} cannot be "
                        f"saved (supported: numbers, strings, None, tuples, lists, dicts, "
                        f"slices, dtypes, arrays and ktrain's own parameter records)")


def _tensors_of(module):
    out = {}
    consts = module._consts()
    for name in module.graph.constants:
        out[name] = consts[name]
    return out


def save(m, f):
    """Write the ``TracedModule`` ``m`` (from ``trace`` or ``load``) to ``f`` (a path or a
    binary file object) as one safetensors file; the write to a path is atomic."""
    from safetensors.numpy import save as st_save

    from ._module import TracedModule

    if not isinstance(m, TracedModule):
        raise TypeError(f"ktrain.jit.save: expected a traced module (from ktrain.jit.trace "
                        f"or ktrain.jit.load), got {type(m).__name__}; for a plain module's "
                        f"weights use ktrain.save(model.state_dict(), path)")
    g = m.graph
    known = _ops()[1]
    enc = _Enc()
    nodes = []
    for k, n in enumerate(g.nodes):
        op = n.op.__dict__.get("_variadic_of", n.op)   # Split/Unbind for n outputs
        path = op_path(op)
        enc.where = f"node {k} ({op_name(n.op)})"
        if op not in known:
            raise TypeError(f"ktrain.jit.save: node {k} applies {op_name(n.op)} from module "
                            f"{n.op.__module__}, which is not a ktrain op; a saved graph can "
                            f"hold only ktrain's own ops (it is loaded without your code)")
        nodes.append({"op": path, "args": [enc.arg(a) for a in n.args],
                      "params": {p: enc.arg(v) for p, v in n.params.items()},
                      "outputs": list(n.outputs)})
    enc.where = "the outputs"
    tensors = _tensors_of(m)
    consts = {}
    arrays = {}
    for name, kind in g.constants.items():
        t = tensors[name]
        consts[name] = {"kind": kind, "requires_grad": bool(t.requires_grad)}
        arrays[name] = B.to_device(t.detach()._data, B.CPU)
    for alias, target in m.aliases.items():
        consts[alias] = {"kind": "alias", "of": target}
    doc = {"schema": SCHEMA_VERSION, "name": m.original_name, "input_names": m.input_names,
           "inputs": list(g.inputs),
           "values": {str(v.id): {"shape": [enc.arg(d) for d in v.shape], "dtype": v.dtype}
                      for v in g.values.values()},
           "nodes": nodes, "outputs": enc.arg(g.outputs), "constants": consts,
           "batch": g.batch}
    arrays.update(enc.arrays)
    arrays = {k: np.ascontiguousarray(a) for k, a in arrays.items()}
    meta = {"format": FORMAT, "ktrain_jit_schema": str(SCHEMA_VERSION),
            "ktrain_version": __version__,
            "ktrain_graph": json.dumps(doc, separators=(",", ":"), allow_nan=False)}
    data = st_save(arrays, metadata=meta)
    if hasattr(f, "write"):
        f.write(data)
    else:
        _atomic_write(f, data)


# ---------------------------------------------------------------------- decoding


class _Dec:
    def __init__(self, arrays, loc, where):
        self.arrays, self.loc, self.where = arrays, loc, where
        self.records = _record_types()
        self.ctx = ""

    def bad(self, msg):
        return GraphError(f"ktrain.jit.load: {self.where}: {self.ctx}: {msg}")

    def int_(self, x, what):
        if type(x) is not int:
            raise self.bad(f"{what} must be an integer, got {_kind(x)}")
        return x

    def arg(self, x, depth=0):
        if depth > _MAX_DEPTH:
            raise self.bad("attributes nest too deeply")
        t = type(x)
        if x is None or t in (bool, int, str):
            return x
        if t is float:
            if not math.isfinite(x):
                raise self.bad("a non-finite float must be written as {'f': ...}")
            return x
        if t is list:
            return [self.arg(y, depth + 1) for y in x]
        if t is not dict or len(x) == 0:
            raise self.bad(f"unexpected attribute {_kind(x)}")
        keys = set(x)
        if keys == {"np", "value"}:
            name = x["np"]
            if name not in _DTYPES:
                raise self.bad(f"unknown numpy scalar dtype {name!r}")
            v = self.arg(x["value"], depth + 1)
            if type(v) not in (bool, int, float):
                raise self.bad("a numpy scalar needs a number")
            return np.dtype(name).type(v)
        if keys == {"obj", "fields"}:
            return self.record(x, depth)
        if len(keys) != 1:
            raise self.bad(f"unexpected attribute with keys {sorted(keys)}")
        (key, v), = x.items()
        if key == "v":
            return Ref(self.int_(v, "a value reference"))
        if key == "va":
            return ArrRef(self.int_(v, "a value reference"))
        if key == "c":
            if type(v) is not str:
                raise self.bad("a constant reference must be a name")
            return Const(v)
        if key == "sym":
            if type(v) is not list or len(v) != 2:
                raise self.bad("a batch expression is [a, c]")
            return Sym(self.int_(v[0], "a batch factor"), self.int_(v[1], "a batch offset"))
        if key == "f":
            if v not in ("inf", "-inf", "nan"):
                raise self.bad(f"unknown float {v!r}")
            return float(v)
        if key == "tuple":
            if type(v) is not list:
                raise self.bad("a tuple needs a list of items")
            return tuple(self.arg(y, depth + 1) for y in v)
        if key == "dict":
            if type(v) is not list or not all(type(p) is list and len(p) == 2 and
                                              type(p[0]) is str for p in v):
                raise self.bad("a dict is a list of [name, value] pairs")
            return {p[0]: self.arg(p[1], depth + 1) for p in v}
        if key == "slice":
            if type(v) is not list or len(v) != 3:
                raise self.bad("a slice has three parts")
            return slice(*(self.arg(y, depth + 1) for y in v))
        if key == "ellipsis":
            return Ellipsis
        if key == "dtype":
            if v not in _DTYPES or v == "bfloat16":
                raise self.bad(f"unknown dtype {v!r}")
            return np.dtype(v)
        if key == "kdtype":
            dt = getattr(B, str(v), None)
            if v not in _DTYPES or not isinstance(dt, B.dtype):
                raise self.bad(f"unknown dtype {v!r}")
            return dt
        if key == "array":
            a = self.arrays.get(v) if type(v) is str and v.startswith("@attr") else None
            if a is None:
                raise self.bad(f"array attribute {v!r} is not in the file")
            return self.loc.place(a, "cpu")._data
        if key == "fill":
            if type(v) is not list or len(v) != 3 or type(v[0]) is not list or \
                    v[2] not in _DTYPES:
                raise self.bad("a fill is [shape, value, dtype]")
            shape = [self.arg(d, depth + 1) for d in v[0]]
            if not all(type(d) in (int, Sym) for d in shape):
                raise self.bad("a fill's shape holds integers and batch expressions")
            val = self.arg(v[1], depth + 1)
            if type(val) not in (bool, int, float):
                raise self.bad("a fill value is a number")
            return Fill(shape, val, v[2])
        raise self.bad(f"unknown attribute tag {key!r}")

    def record(self, x, depth):
        name, fields = x.get("obj"), x.get("fields")
        cls = self.records.get(name)
        if cls is None or type(fields) is not list:
            raise self.bad(f"unknown parameter record {name!r}")
        return tuple.__new__(cls, [self.arg(y, depth + 1) for y in fields])


def _kind(x):
    return type(x).__name__ if not isinstance(x, dict) else f"object with keys {sorted(x)}"


def load(f, map_location=None):
    """Load a graph saved by ``save`` as a ``TracedModule`` (its constants on
    ``map_location``'s device, PyTorch's ``map_location`` rules). Runs no code from the
    file; a malformed file raises ``GraphError`` naming what is wrong."""
    from ._module import TracedModule

    where = _describe(f)
    data = _read_all(f)
    header = _parse_header(data, where)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GraphError(f"ktrain.jit.load: {where} is not a ktrain.jit graph (a safetensors "
                         f"file without format=ktrain.jit; weights load with ktrain.load)")
    if meta.get("ktrain_jit_schema") != str(SCHEMA_VERSION):
        raise GraphError(f"ktrain.jit.load: {where} uses graph schema "
                         f"{meta.get('ktrain_jit_schema')!r}; this ktrain reads schema "
                         f"{SCHEMA_VERSION}")
    try:
        doc = json.loads(meta.get("ktrain_graph", ""))
    except (ValueError, RecursionError) as e:
        raise GraphError(f"ktrain.jit.load: {where}: the graph is not valid JSON ({e})") \
            from None
    arrays = _read_arrays(data, header, where)
    loc = _MapLocation(map_location, where)
    dec = _Dec(arrays, loc, where)
    graph, tensors, input_names, name, aliases = _decode_graph(doc, dec, arrays, loc)
    try:
        return TracedModule(graph, tensors, input_names=input_names, name=name,
                            aliases=aliases)
    except (KeyError, ValueError, TypeError) as e:
        raise GraphError(f"ktrain.jit.load: {where}: malformed constants ({e})") from None


def _decode_graph(doc, dec, arrays, loc):
    dec.ctx = "the graph"
    if type(doc) is not dict:
        raise dec.bad("the graph is not a JSON object")
    need = {"schema", "inputs", "values", "nodes", "outputs", "constants", "batch"}
    missing = need - set(doc)
    if missing:
        raise dec.bad(f"missing field(s) {sorted(missing)}")
    inputs = doc["inputs"]
    if type(inputs) is not list or not all(type(i) is int for i in inputs):
        raise dec.bad("inputs must be a list of value ids")
    batch = doc["batch"]
    if batch is not None and type(batch) is not int:
        raise dec.bad("batch must be an integer or null")
    values = {}
    if type(doc["values"]) is not dict:
        raise dec.bad("values must be an object")
    for key, v in doc["values"].items():
        dec.ctx = f"value %{key}"
        if not key.isdigit() or type(v) is not dict or type(v.get("shape")) is not list \
                or v.get("dtype") not in _DTYPES:
            raise dec.bad("a value is {'shape': [...], 'dtype': name}")
        shape = [dec.arg(d) for d in v["shape"]]
        if not all(type(d) in (int, Sym) for d in shape):
            raise dec.bad("a shape holds integers and batch expressions")
        values[int(key)] = Value(int(key), shape, v["dtype"])
    known = _ops()[0]
    nodes = []
    if type(doc["nodes"]) is not list:
        raise dec.bad("nodes must be a list")
    for k, n in enumerate(doc["nodes"]):
        dec.ctx = f"node {k}"
        if type(n) is not dict or set(n) != {"op", "args", "params", "outputs"}:
            raise dec.bad("a node is {'op', 'args', 'params', 'outputs'}")
        cls = known.get(n["op"]) if type(n["op"]) is str else None
        if cls is None:
            raise dec.bad(f"unknown op {n['op']!r}: not an op of this ktrain (ops are "
                          f"resolved only among ktrain's own classes; the file may come "
                          f"from another version)")
        dec.ctx = f"node {k} ({op_name(cls)})"
        if getattr(cls, "variadic_outputs", False) and type(n["outputs"]) is list and \
                len(n["outputs"]) != cls.n_outputs:
            from ..ops.join import _multi

            cls = _multi(cls, len(n["outputs"]))
        if issubclass(cls, Op) and type(n["outputs"]) is list and \
                len(n["outputs"]) != cls.n_outputs:
            raise dec.bad(f"lists {len(n['outputs'])} outputs; the op has {cls.n_outputs}")
        if type(n["args"]) is not list or type(n["params"]) is not dict or \
                type(n["outputs"]) is not list or \
                not all(type(o) is int and o in values for o in n["outputs"]):
            raise dec.bad("args must be a list, params an object, outputs a list of value "
                          "ids with shapes")
        nodes.append(Node(cls, [dec.arg(a) for a in n["args"]],
                          {str(p): dec.arg(v) for p, v in n["params"].items()}, n["outputs"]))
    dec.ctx = "the outputs"
    outputs = dec.arg(doc["outputs"])
    constants, tensors, aliases = {}, {}, {}
    if type(doc["constants"]) is not dict:
        raise dec.bad("constants must be an object")
    for name, info in doc["constants"].items():
        dec.ctx = f"constant {name!r}"
        if type(info) is dict and info.get("kind") == "alias":
            if type(info.get("of")) is not str or doc["constants"].get(info["of"], {}).get(
                    "kind") not in ("param", "buffer"):
                raise dec.bad("an alias names a parameter or buffer of the file")
            aliases[name] = info["of"]
            continue
        if type(info) is not dict or info.get("kind") not in ("param", "buffer", "captured") \
                or name not in arrays or name.startswith("@"):
            raise dec.bad("missing from the file or malformed")
        t = loc.place(arrays[name], "cpu")
        if info["kind"] == "param":
            t.requires_grad_(bool(info.get("requires_grad", True)) and t.is_floating_point())
        constants[name] = info["kind"]
        tensors[name] = t
    for i in inputs:
        if i not in values:
            dec.ctx = "the graph"
            raise dec.bad(f"input %{i} has no shape")
    graph = Graph(inputs, nodes, outputs, values, constants, batch)
    try:
        graph.check()
    except GraphError as e:
        raise GraphError(f"ktrain.jit.load: {dec.where}: {e}") from None
    names = doc.get("input_names")
    if names is not None and (type(names) is not list or len(names) != len(inputs) or
                              not all(type(s) is str for s in names)):
        raise dec.bad("input_names must list one name per input")
    name = doc.get("name") if type(doc.get("name")) is str else "TracedModule"
    return graph, tensors, names, name, aliases
