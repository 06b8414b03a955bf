"""The graph IR of ``ktrain.jit``: values, nodes, the graph, its printout and its JSON form.

A ``Graph`` is a straight-line program: ``inputs`` (value ids), ``nodes`` in execution
order, ``outputs`` (a structure of value references). Each ``Node`` applies one op (an
``Op`` or ``Function`` class, applied exactly as eager code applies it: ``cls.apply(*args,
**params)``) to ``args``/``params``, structures in which ``Ref`` stands for a value,
``Const`` for a named constant (a parameter, a buffer, or a tensor the forward captured)
and ``Sym`` for an integer that depends on the batch size. ``Value`` keeps the shape (the
batch dimension as ``"B"`` where it follows the batch) and the dtype seen when tracing.

JSON form (``SCHEMA_VERSION`` 1), as ``ktrain.jit.save`` writes it into the safetensors
metadata under ``ktrain_graph``::

    {"schema": 1,
     "inputs": [0, ...],                                  value ids
     "values": {"0": {"shape": ["B", 3, 32, 32], "dtype": "float32"}, ...},
     "nodes": [{"op": "ktrain.ops.conv:Conv", "args": [arg, ...],
                "params": {"name": arg, ...}, "outputs": [1, ...]}, ...],
     "outputs": arg,                                      a structure of {"v": id}
     "constants": {"conv1.weight": "param", "bn1.running_mean": "buffer",
                   "const0": "captured"},                 tensors stored in the file
     "batch": 64 or null}                                 batch size traced (null: static)

where an ``arg`` is one of: ``null``, ``true``/``false``, an integer, a string, a finite
float; ``{"v": id}`` (a value); ``{"c": name}`` (a constant); ``{"sym": [a, c]}`` (the
integer ``a * B + c`` for the batch size ``B`` of the call); ``{"f": "inf" | "-inf" |
"nan"}``; ``{"tuple": [arg, ...]}``; ``[arg, ...]`` (a list); ``{"dict": [[key, arg],
...]}`` (string keys); ``{"slice": [arg, arg, arg]}``; ``{"ellipsis": 1}``; ``{"dtype":
name}`` (a numpy dtype); ``{"kdtype": name}`` (a ktrain dtype); ``{"np": dtype, "value":
x}`` (a numpy scalar); ``{"array": name}`` (a numpy array stored as a tensor of the file);
``{"obj": type name, "fields": [arg, ...]}`` (one of the parameter record types in
``RECORD_TYPES``). Ops are named ``module:qualname`` and must be ktrain core ops
(``ktrain.*`` modules): loading resolves names against the classes ktrain defines and
never imports anything named in a file.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["ArrRef", "Const", "Fill", "Graph", "GraphError", "Node", "Ref", "Sym", "Value",
           "SCHEMA_VERSION", "collect", "contains", "remap"]

SCHEMA_VERSION = 1


class GraphError(ValueError):
    """A malformed graph (a saved file, or a graph built or transformed wrongly)."""


class Ref:
    """A reference to value ``id`` in node arguments and graph outputs."""

    __slots__ = ("id",)

    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"%{self.id}"

    def __eq__(self, other):
        return type(other) is Ref and other.id == self.id

    def __hash__(self):
        return hash(("ref", self.id))


class ArrRef(Ref):
    """The raw array of value ``id`` (an op that takes an index array as a parameter, as
    the embedding's gather does, gets the input tensor's array itself)."""

    __slots__ = ()

    def __repr__(self):
        return f"%{self.id}.data"

    def __eq__(self, other):
        return type(other) is ArrRef and other.id == self.id

    def __hash__(self):
        return hash(("arr", self.id))


class Fill:
    """A tensor of ``shape`` (ints and ``Sym``) filled with ``value`` (dtype name), made
    at each call: what a forward's ``ktrain.zeros(x.shape[0], ...)`` captures."""

    __slots__ = ("shape", "value", "dtype")

    def __init__(self, shape, value, dtype):
        self.shape, self.value, self.dtype = tuple(shape), value, str(dtype)

    def __repr__(self):
        dims = ", ".join(repr(d) for d in self.shape)
        return f"full(({dims}), {self.value!r}, {self.dtype})"

    def __eq__(self, other):
        return type(other) is Fill and (other.shape, other.value, other.dtype) == (
            self.shape, self.value, self.dtype)

    def __hash__(self):
        return hash(("fill", self.shape, self.dtype))


class Const:
    """A reference to the named constant ``name`` (parameter, buffer or captured tensor)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"%self.{self.name}"

    def __eq__(self, other):
        return type(other) is Const and other.name == self.name

    def __hash__(self):
        return hash(("const", self.name))


class Sym:
    """The integer ``a * B + c`` for the batch size ``B`` of a call."""

    __slots__ = ("a", "c")

    def __init__(self, a, c):
        self.a, self.c = int(a), int(c)

    def __call__(self, batch):
        return self.a * batch + self.c

    def __repr__(self):
        a = "B" if self.a == 1 else f"{self.a}*B"
        return a if self.c == 0 else f"{a}{self.c:+d}"

    def __eq__(self, other):
        return type(other) is Sym and (other.a, other.c) == (self.a, self.c)

    def __hash__(self):
        return hash(("sym", self.a, self.c))


class Value:
    """What the trace saw of a value: its shape (``"B"`` for a batch dimension) and dtype."""

    __slots__ = ("id", "shape", "dtype")

    def __init__(self, id, shape, dtype):
        self.id, self.shape, self.dtype = id, tuple(shape), str(dtype)

    def type_str(self):
        dims = ", ".join(str(d) for d in self.shape)
        return f"{_DTYPE_TAGS.get(self.dtype, self.dtype)}({dims})"


_DTYPE_TAGS = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "bool": "Bool"}


class Node:
    """One op application: ``outputs = op.apply(*args, **params)``."""

    __slots__ = ("op", "args", "params", "outputs")

    def __init__(self, op, args, params, outputs):
        self.op, self.args, self.params, self.outputs = op, tuple(args), dict(params), \
            list(outputs)

    def refs(self):
        """The value ids this node reads (in argument order, repeats kept)."""
        out = []
        _collect(self.args, Ref, out)
        _collect(self.params, Ref, out)
        return [r.id for r in out]

    def consts(self):
        out = []
        _collect(self.args, Const, out)
        _collect(self.params, Const, out)
        return [c.name for c in out]


def _collect(x, kind, out):
    if type(x) is kind or (kind is Ref and type(x) is ArrRef):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for y in x:
            _collect(y, kind, out)
    elif isinstance(x, dict):
        for y in x.values():
            _collect(y, kind, out)
    elif isinstance(x, slice):
        for y in (x.start, x.stop, x.step):
            _collect(y, kind, out)


def collect(x, kind):
    """Every ``kind`` (``Ref`` includes ``ArrRef``) in the structure ``x``, in order."""
    out = []
    _collect(x, kind, out)
    return out


def contains(x, kinds):
    """Whether the structure ``x`` (tuples, lists, dicts, slices) holds a leaf that is an
    instance of ``kinds`` (``Ref`` covers ``ArrRef``)."""
    if isinstance(x, kinds):
        return True
    if isinstance(x, (list, tuple)):
        return any(contains(y, kinds) for y in x)
    if isinstance(x, dict):
        return any(contains(y, kinds) for y in x.values())
    if isinstance(x, slice):
        return any(contains(y, kinds) for y in (x.start, x.stop, x.step))
    return False


def remap(x, fn):
    """``x`` with every leaf replaced by ``fn(leaf)``: tuples (their subclasses too, as
    the ops' geometry records), lists and dicts rebuilt around the new leaves."""
    t = type(x)
    if isinstance(x, tuple):
        items = [remap(y, fn) for y in x]
        return tuple(items) if t is tuple else tuple.__new__(t, items)
    if t is list:
        return [remap(y, fn) for y in x]
    if t is dict:
        return {k: remap(y, fn) for k, y in x.items()}
    return fn(x)


def op_name(cls):
    """The display name of an op class (``_Linear`` -> ``Linear``)."""
    return cls.__name__.lstrip("_") or cls.__name__


def op_path(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


class Graph:
    """A traced program; see the module docstring."""

    def __init__(self, inputs, nodes, outputs, values, constants, batch=None):
        self.inputs = list(inputs)
        self.nodes = list(nodes)
        self.outputs = outputs
        self.values = dict(values)          # id -> Value
        self.constants = dict(constants)    # name -> "param" | "buffer" | "captured"
        self.batch = batch
        self.sites = None                   # per node (file, line) of the call, from a trace

    # ------------------------------------------------------------------ printing
    def __str__(self):
        v = self.values
        ins = ", ".join(f"%{i} : {v[i].type_str()}" for i in self.inputs)
        lines = [f"graph({ins}):"]
        for name, kind in self.constants.items():
            lines.append(f"  %self.{name} : {kind}")
        for n in self.nodes:
            outs = ", ".join(f"%{o} : {v[o].type_str()}" if o in v else f"%{o}"
                             for o in n.outputs)
            args = [_fmt(a) for a in n.args] + [f"{k}={_fmt(a)}" for k, a in n.params.items()]
            lines.append(f"  {outs} = {op_name(n.op)}({', '.join(args)})")
        lines.append(f"  return {_fmt(self.outputs)}")
        return "\n".join(lines)

    __repr__ = __str__

    # ------------------------------------------------------------------ checks
    def check(self):
        """Every reference is defined before use, every value defined once; raises
        ``GraphError`` naming the node."""
        defined = set()
        for i in self.inputs:
            if i in defined:
                raise GraphError(f"graph input %{i} is listed twice")
            defined.add(i)
        for k, n in enumerate(self.nodes):
            for r in n.refs():
                if r not in defined:
                    raise GraphError(f"node {k} ({op_name(n.op)}) reads %{r}, which no "
                                     f"earlier node or input defines")
            for c in n.consts():
                if c not in self.constants:
                    raise GraphError(f"node {k} ({op_name(n.op)}) reads constant %{c}, "
                                     f"which the graph does not hold")
            for o in n.outputs:
                if o in defined:
                    raise GraphError(f"node {k} ({op_name(n.op)}) redefines %{o}")
                defined.add(o)
        out = []
        _collect(self.outputs, Ref, out)
        for r in out:
            if r.id not in defined:
                raise GraphError(f"the graph returns %{r.id}, which no node defines")
        return self


def _fmt(a):
    if isinstance(a, (Ref, Const, Sym, Fill)):
        return repr(a)
    if isinstance(a, tuple):
        inner = ", ".join(_fmt(x) for x in a)
        return f"({inner},)" if len(a) == 1 else f"({inner})"
    if isinstance(a, list):
        return "[" + ", ".join(_fmt(x) for x in a) + "]"
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k!r}: {_fmt(x)}" for k, x in a.items()) + "}"
    if isinstance(a, slice):
        parts = ["" if x is None else _fmt(x) for x in (a.start, a.stop, a.step)]
        return ":".join(parts[:2] if a.step is None else parts)
    if isinstance(a, np.ndarray):
        return f"array{list(a.shape)}"
    if isinstance(a, np.dtype):
        return a.name
    if isinstance(a, float) and not math.isfinite(a):
        return repr(a)
    return repr(a)
