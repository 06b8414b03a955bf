"""The tracer of ``ktrain.jit.trace``: one forward run with the op entry points hooked.

What is hooked while a trace runs (and only then; one trace at a time per process):
``Op.apply`` and ``Function.apply``, the one place every op is applied (an op applied
inside another op's forward belongs to that op and is not recorded); the ``a + b`` fast
path of ``ops.arith`` (it falls back to ``Op.apply``); ``ops._util._store``, where every
in-place op writes its out-of-place result into the tensor's storage, so the tensor takes
the result's value; and the Tensor methods that read values into Python (``item``,
``tolist``, ``numpy``, ``bool``/``int``/``float``/``index``, ``__array__``), which warn
with ``TracerWarning`` once per call site (``strict=True``: raise). Inference fusion
(``ops.conv_fusion``) is off, so the forward applies the plain ops.

A tensor an op reads is one of: a value (an input, or an output of a recorded op), a named
constant (a parameter or buffer of the traced module), or a tensor the forward made
outside the op mechanism (``ktrain.zeros(...)``, a mask, an array wrapped by a library
shortcut): a *captured* constant. ``trace`` runs the forward twice (the second time with
other input values, and one more row when the batch is dynamic) and keeps a captured
constant only when both runs made the same tensor, or a uniform fill whose shape follows
the batch; anything else depends on the inputs without the trace seeing how, and is an
error that names the op and the source line, never a silently frozen value. An in-place
write the hooks did not see (a raw ``_data`` write) is caught by the tensor's version
counter.
"""
from __future__ import annotations

import os
import sys
import threading
import warnings
import weakref

import numpy as np

from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd.function import Function, Op
from ._ir import ArrRef, Const, Node, Ref

_active = [None]     # the running _Trace
_lock = threading.Lock()
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # .../ktrain


class TracerWarning(UserWarning):
    """The trace may not generalise: the forward read a tensor's value into Python."""


class TracingError(RuntimeError):
    """The forward did something a trace cannot capture faithfully."""


def user_site(depth=2):
    """``file:line`` of the innermost frame outside the ktrain package (the user's code
    that led here), or of the immediate caller when everything is inside ktrain."""
    f = sys._getframe(depth)
    first = None
    while f is not None:
        fn = f.f_code.co_filename
        if first is None:
            first = f
        if not os.path.abspath(fn).startswith(_PKG + os.sep):
            return fn, f.f_lineno
        f = f.f_back
    return (first.f_code.co_filename, first.f_lineno) if first is not None else ("?", 0)


class _Trace:
    def __init__(self, names, strict):
        self.names = names            # id(tensor) -> constant name (params and buffers)
        self.named = {}               # constant name -> tensor
        self.strict = strict
        # weak maps (a trace must not keep every intermediate alive: tracing ResNet-20 at
        # batch 256 held 900 MB that way): entries leave when their object dies
        self.vals = {}                # id(Tensor) -> [vid, version list, version, ref]
        self.arrs = {}                # id(array) -> [vid, ref]
        self.info = {}                # vid -> (shape, dtype name)
        self.nodes = []
        self.sites = []               # per node: (file, line)
        self.captured = {}            # name -> tensor (first-use order)
        self.cap_ids = {}             # id(tensor) -> name
        self.cap_sites = {}           # name -> (file, line, op name)
        self.keep = []                # objects that take no weak reference
        self.depth = 0
        self.n = 0
        self.warned = set()

    # ------------------------------------------------------------------ values
    def _ref(self, obj, table):
        k = id(obj)

        def gone(r, k=k):
            e = table.get(k)
            if e is not None and e[-1] is r:
                del table[k]

        try:
            return weakref.ref(obj, gone)
        except TypeError:
            self.keep.append(obj)
            return lambda: obj

    def put_val(self, t, vid):
        self.vals[id(t)] = [vid, t._version, t._version[0], self._ref(t, self.vals)]

    def put_arr(self, a, vid):
        self.arrs[id(a)] = [vid, self._ref(a, self.arrs)]

    def val(self, t):
        e = self.vals.get(id(t))
        return e if e is not None and e[3]() is t else None

    def arr(self, a):
        e = self.arrs.get(id(a))
        return e if e is not None and e[1]() is a else None

    def value(self, t):
        vid = self.n
        self.n += 1
        self.put_val(t, vid)
        self.put_arr(t._data, vid)
        self.info[vid] = (tuple(t.shape), t._data.dtype.name)
        return vid

    def _derived(self, arr):
        """Whether ``arr`` is a view of a traced value's array."""
        b = getattr(arr, "base", None)
        while b is not None:
            if self.arr(b) is not None:
                return True
            b = getattr(b, "base", None)
        return False

    def ref(self, t, op):
        e = self.val(t)
        if e is not None:
            if t._version is not e[1]:   # a view got its base's counter after the op
                e[1], e[2] = t._version, t._version[0]
            if t._version[0] == e[2]:
                a = self.arr(t._data)
                if a is not None and a[0] != e[0]:
                    e[0] = a[0]   # the storage was rewritten through another tensor (.data)
                return Ref(e[0])
            a = self.arr(t._data)
            if a is not None and a[0] != e[0]:
                e[0], e[2] = a[0], t._version[0]
                return Ref(a[0])
            raise TracingError(
                f"ktrain.jit.trace: {op} reads a tensor of shape {list(t.shape)} that was "
                f"modified in place outside the op mechanism (a write into .data or a raw "
                f"array) at {_fmt_site(user_site(4))}; the trace cannot follow such writes: "
                f"use the in-place tensor methods (x.add_(y), x[i] = v) or out-of-place ops")
        name = self.names.get(id(t))
        if name is not None:
            self.named[name] = t
            return Const(name)
        name = self.cap_ids.get(id(t))
        if name is not None:
            return Const(name)
        data = t._data
        a = self.arr(data)
        if a is not None:   # detach(), .data, a new Tensor on the same array
            self.put_val(t, a[0])
            return Ref(a[0])
        if self._derived(data):
            raise TracingError(
                f"ktrain.jit.trace: {op} reads a view of a traced tensor that was made "
                f"outside the op mechanism (at {_fmt_site(user_site(4))}); the trace cannot "
                f"record it: use the tensor's methods (view, reshape, indexing)")
        name = f"_c{len(self.captured)}"
        self.captured[name] = t
        self.cap_ids[id(t)] = name
        self.cap_sites[name] = user_site(4) + (op,)
        self.keep.append(t)
        return Const(name)

    def arg(self, x, op):
        """A node argument: tensors become references, everything else stays as given
        (arrays that are a value's own array become ``ArrRef``)."""
        if isinstance(x, Tensor):
            return self.ref(x, op)
        if isinstance(x, np.ndarray) or type(x).__module__.startswith("cupy"):
            a = self.arr(x)
            if a is not None:
                return ArrRef(a[0])
            if self._derived(x):
                raise TracingError(
                    f"ktrain.jit.trace: {op} gets an array computed from a traced tensor "
                    f"outside the op mechanism (at {_fmt_site(user_site(4))}); the trace "
                    f"cannot record how it was computed")
            return x
        if isinstance(x, tuple):
            items = [self.arg(y, op) for y in x]
            return tuple(items) if type(x) is tuple else tuple.__new__(type(x), items)
        if isinstance(x, list):
            return [self.arg(y, op) for y in x]
        if isinstance(x, dict):
            return {k: self.arg(y, op) for k, y in x.items()}
        return x

    def record(self, cls, orig, args, params):
        from ._ir import op_name

        op = op_name(cls)
        enc_args = [self.arg(a, op) for a in args]
        enc_params = {k: self.arg(v, op) for k, v in params.items()}
        site = user_site(3)
        self.depth += 1
        try:
            out = orig(cls, *args, **params)
        finally:
            self.depth -= 1
        outs = out if isinstance(out, tuple) else (out,)
        vids = []
        for o in outs:
            if not isinstance(o, Tensor):
                raise TracingError(f"ktrain.jit.trace: {op} returned a {type(o).__name__}, "
                                   f"not tensors; the trace records only tensor results")
            vids.append(self.value(o))
        self.nodes.append(Node(cls, enc_args, enc_params, vids))
        self.sites.append(site)
        return out

    def stored(self, t, arr):
        """``_store(t, arr)`` ran: ``t`` now holds the value whose array is ``arr``."""
        a = self.arr(arr)
        if a is None:
            return   # not a traced result: the version check catches a later read
        self.put_val(t, a[0])
        self.put_arr(t._data, a[0])

    def warn_value_read(self, what):
        fn, line = user_site(3)
        msg = (f"Converting a tensor to {what} might cause the trace to be incorrect. We "
               f"can't record the data flow of Python values, so this value will be treated "
               f"as a constant in the future. This means that the trace might not generalize "
               f"to other inputs!")
        if self.strict:
            raise TracingError(f"ktrain.jit.trace(strict=True): {fn}:{line}: {msg}")
        if (fn, line) not in self.warned:
            self.warned.add((fn, line))
            warnings.warn_explicit(msg, TracerWarning, fn, line)


def _fmt_site(site):
    return f"{site[0]}:{site[1]}"


# ---------------------------------------------------------------------- hooks

_VALUE_READS = {"item": "a Python number", "tolist": "a Python list",
                "numpy": "a numpy array", "__bool__": "a Python boolean",
                "__int__": "a Python integer", "__float__": "a Python float",
                "__index__": "a Python index", "__array__": "a numpy array"}


def _hooked_apply(orig):
    def apply(cls, *args, **params):
        tr = _active[0]
        if tr is None or tr.depth:
            return orig(cls, *args, **params)
        return tr.record(cls, orig, args, params)

    return classmethod(apply)


def _hooked_read(name, what, orig):
    def read(self, *a, **k):
        tr = _active[0]
        if tr is not None and not tr.depth:
            tr.warn_value_read(what)
        return orig(self, *a, **k)

    read.__name__ = name
    return read


def _hooked_store(orig):
    def _store(t, arr, name):
        orig(t, arr, name)
        tr = _active[0]
        if tr is not None and not tr.depth:
            tr.stored(t, arr)

    return _store


class hooks:
    """Context manager: install the trace hooks for ``trace`` (a ``_Trace``)."""

    def __init__(self, trace):
        self.trace = trace
        self.undo = []

    def __enter__(self):
        from ..ops import _util
        from ..ops import conv_fusion

        if not _lock.acquire(blocking=False):
            raise RuntimeError("ktrain.jit.trace: another trace is running in this process "
                               "(one at a time)")
        try:
            for cls in (Op, Function):
                orig = cls.__dict__["apply"]
                cls.apply = _hooked_apply(orig.__func__)
                self.undo.append(lambda cls=cls, orig=orig: setattr(cls, "apply", orig))
            for name, what in _VALUE_READS.items():
                orig = Tensor.__dict__.get(name)
                if orig is None:
                    continue
                setattr(Tensor, name, _hooked_read(name, what, orig))
                self.undo.append(lambda name=name, orig=orig: setattr(Tensor, name, orig))
            orig_store = _util._store
            _util._store = _hooked_store(orig_store)
            self.undo.append(lambda: setattr(_util, "_store", orig_store))
            fusion = conv_fusion.ENABLED
            conv_fusion.set_enabled(False)
            self.undo.append(lambda: conv_fusion.set_enabled(fusion))
            _function._slow_path[0] += 1
            self.undo.append(_slow_off)
            _active[0] = self.trace
            self.undo.append(lambda: _active.__setitem__(0, None))
        except BaseException:
            self.__exit__()
            raise
        return self.trace

    def __exit__(self, *exc):
        while self.undo:
            self.undo.pop()()
        _lock.release()
        return False


def _slow_off():
    _function._slow_path[0] -= 1
