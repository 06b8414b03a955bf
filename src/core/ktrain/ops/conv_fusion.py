"""Inference fusion: a no-grad 2-D conv returns a *pending* tensor, so that an eval-mode
BatchNorm folds into its weights and a ReLU into its epilogue, for any forward.

Eager mode cannot see the dataflow, so nothing here looks at module structure. Instead:

* ``F.conv2d`` (4-D numpy float32/float64 input, under ``no_grad`` or ``inference_mode``,
  no autocast) checks its arguments as always (shape errors are raised at the call),
  then returns a
  ``PendingConv``: a ``Tensor`` subclass holding the conv's arrays and an epilogue instead
  of data. Its ``_data`` is a property that computes the conv on first access, applies the
  epilogue, stores the array and turns the object into a plain ``Tensor``
  (``__class__`` assignment; same layout). Every reader that is not fusion-aware
  (``.numpy()``, printing, ``detach``, pickling, any op, in-place ops, hooks) just reads
  ``_data`` and gets the exact conv result: correct by construction. ``shape``, ``dtype``,
  ``device``, ``ndim``, ``size``, ``numel`` answer without computing.
* ``F.batch_norm`` in eval (running statistics) on a pending conv without epilogue returns
  a *new* pending tensor with the BN folded in: ``w' = w * s``, ``b' = (b - mean) * s +
  beta`` with ``s = gamma / sqrt(var + eps)`` per output channel (computed in float64,
  cast back). ``F.relu`` / ``nn.ReLU`` / ``ktrain.relu`` / ``Tensor.relu`` return a new
  pending tensor with the ReLU in the epilogue; ``inplace=True`` / ``relu_()`` sets it on
  the tensor itself and bumps its version (nothing has read it yet, so that is the
  in-place semantics). The source pending tensor stays pending: if something else reads
  it later it computes the unfolded conv itself (correct, not faster); if nothing does, it
  is never computed.
* The values must be those of the call, as in eager mode. The weight, bias and BN
  tensors are small, so they are copied at the call (a few microseconds each); the fold
  is recomputed from those copies at each call (it costs about as much as checking a
  cache would: a cache keyed on version counters would be wrong after
  ``w.data.copy_(...)``, whose ``.data`` tensor has its own counter). The conv *input* is
  large, so it is not copied but watched: its class is switched to a subclass whose
  ``_data`` property first computes every pending tensor depending on it and then
  switches the class back; so any later read or write of the input tensor (or of its
  ``_base``) by anything else materialises the dependents first. Writes through another
  view of the same base bump the shared version counter, which is checked when a
  pending tensor is computed: a changed counter raises a ``RuntimeError`` instead of
  giving a wrong result. Writes through a raw numpy array taken from the input before
  the conv cannot be seen (as for autograd's saved tensors).
* Grad mode switched on later: a pending tensor is a plain constant (``requires_grad``
  False, no ``grad_fn``), PyTorch's semantics for a tensor made under ``no_grad``.
  ``requires_grad_()`` on one makes it a leaf; it is then never fused further.
* Threads: computing takes a lock; the "do not flush" flag of the conv wrapper is
  thread-local. cupy arrays and other dtypes take the ordinary op.

The epilogue (folded bias, ReLU) goes to ``ops.conv._conv_forward``'s ``shift``/``relu``
keywords when it has them (fused into Winograd's output transform there); otherwise the
conv runs without bias and one threaded ``_fast`` kernel adds the bias and applies the
ReLU in place (the conv's own bias add over its transposed GEMM output costs about twice
a plain copy), or numpy's in-place add and ``maximum`` without kernels.
Not done here: keeping the GEMM's (O, N, H, W) layout for the next op. Every eager
consumer reads NCHW; a layout-tagged pending tensor would have to be understood by each
consumer's kernel (the conv's im2col, pooling, the residual add), which is the whole-graph
planning of ``ktrain.compile`` (issue 18).

A result nobody reads is never computed: a benchmark timing ``conv(x)`` under no_grad
must read the output (``y.numpy()``) or switch this off.

Off switch: ``KTRAIN_INFERENCE_FUSION=0`` in the environment, or :func:`set_enabled`.
``STATS`` counts what happened (for tests and profiling).
"""
from __future__ import annotations

import inspect
import os
import threading
import weakref

import numpy as np

from ..autograd import profiler as _profiler
from .. import _fast
from .._fast import prange
from .._tensor import Size, Tensor
from .._backend import array_module
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from . import conv as _conv

__all__: list = []

ENABLED = os.environ.get("KTRAIN_INFERENCE_FUSION", "1").strip().lower() not in (
    "0", "false", "off", "no")
STATS = {"pending": 0, "folds": 0, "relus": 0, "computed": 0, "kernel": 0,
         "conv_epilogue": 0}

_SLOT_GET = Tensor._data.__get__
_SLOT_SET = Tensor._data.__set__
_LOCK = threading.RLock()
_TLS = threading.local()
_new = object.__new__
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def set_enabled(flag: bool) -> bool:
    """Switch inference fusion on or off; returns the previous setting."""
    global ENABLED
    prev, ENABLED = ENABLED, bool(flag)
    return prev


def is_enabled() -> bool:
    return ENABLED


def reset_stats():
    for k in STATS:
        STATS[k] = 0


_CONV_KW = None


def _conv_kw():
    """The epilogue keywords ``ops.conv._conv_forward`` takes (``relu``, ``shift``)."""
    global _CONV_KW
    if _CONV_KW is None:
        try:
            _CONV_KW = frozenset(inspect.signature(_conv._conv_forward).parameters)
        except (TypeError, ValueError):
            _CONV_KW = frozenset()
    return _CONV_KW


# ====================================================================== watching the input


_WATCHED: dict = {}


def _watched_get(self):
    if not getattr(_TLS, "quiet", False):
        _flush(self)
    return _SLOT_GET(self)


def _watched_set(self, value):
    _flush(self)
    _SLOT_SET(self, value)


def _watched_class(cls):
    w = _WATCHED.get(cls)
    if w is None:
        w = type(cls.__name__, (cls,), {"__slots__": (), "__module__": cls.__module__,
                                        "__qualname__": cls.__qualname__,
                                        "_data": property(_watched_get, _watched_set),
                                        "_kt_unwatched": cls})
        _WATCHED[cls] = w
    return w


def is_watched(t) -> bool:
    """``t`` has pending convs depending on it and this thread is not in :class:`quiet`."""
    return type(t) in _WATCHED.values() and not getattr(_TLS, "quiet", False)


def _flush(t):
    """Compute every live pending tensor that depends on ``t``; ``t`` becomes its own
    class again."""
    with _LOCK:
        deps = t.__dict__.pop("_kt_deps", ())
        base = getattr(type(t), "_kt_unwatched", None)
        if base is not None:
            t.__class__ = base
    for r in deps:
        p = r()
        if p is not None and type(p) is PendingConv:
            p._compute()


def _watch(t, p):
    """Make ``t`` flush ``p`` before anyone else touches its data. False when ``t``'s
    class cannot be switched (then no pending tensor is made)."""
    cls = type(t)
    if cls not in _WATCHED.values():
        try:
            t.__class__ = _watched_class(cls)
        except TypeError:
            return False
    t.__dict__.setdefault("_kt_deps", []).append(weakref.ref(p))
    return True


def _unwatch(plan, p):
    for t in plan.watched:
        deps = t.__dict__.get("_kt_deps")
        if deps is None:
            continue
        deps[:] = [r for r in deps if r() is not None and r() is not p
                   and type(r()) is PendingConv]
        if not deps:
            del t.__dict__["_kt_deps"]
            base = getattr(type(t), "_kt_unwatched", None)
            if base is not None:
                t.__class__ = base


class quiet:
    """Reads of watched tensors inside this block do not flush (the conv wrapper only
    reads its input; it must not compute a pending conv of the same input)."""

    def __enter__(self):
        self.prev = getattr(_TLS, "quiet", False)
        _TLS.quiet = True

    def __exit__(self, *exc):
        _TLS.quiet = self.prev


# ====================================================================== the pending tensor


class _Plan:
    __slots__ = ("x", "w", "b", "geom", "relu", "versions", "watched", "shape", "dtype")


class PendingConv(Tensor):
    """A conv output not computed yet (see the module docstring)."""

    __slots__ = ()

    @property
    def _data(self):
        if type(self) is PendingConv:
            self._compute()
        return _SLOT_GET(self)

    @_data.setter
    def _data(self, value):  # overwritten before being read: the conv is never needed
        with _LOCK:
            plan = self.__dict__.pop("_kt_plan", None)
            _SLOT_SET(self, value)
            self.__class__ = Tensor
        if plan is not None:
            _unwatch(plan, self)

    def _compute(self):
        with _LOCK:
            if type(self) is not PendingConv:
                return
            plan = self.__dict__["_kt_plan"]
            for vl, v in plan.versions:
                if vl[0] != v:
                    raise RuntimeError(
                        "the input of a convolution run under no_grad was modified in place "
                        "(through another view of its storage) before the result was read; "
                        "read the result first, or set KTRAIN_INFERENCE_FUSION=0")
            y = _run(plan)
            del self.__dict__["_kt_plan"]
            _SLOT_SET(self, y)
            self.__class__ = Tensor
            STATS["computed"] += 1
        _unwatch(plan, self)

    # metadata without computing
    @property
    def shape(self):
        return Size(self.__dict__["_kt_plan"].shape)

    def size(self, dim=None):
        if dim is None:
            return self.shape
        return self.__dict__["_kt_plan"].shape[dim]

    @property
    def ndim(self):
        return 4

    def dim(self):
        return 4

    def numel(self):
        n, o, h, w = self.__dict__["_kt_plan"].shape
        return n * o * h * w

    def __len__(self):
        return self.__dict__["_kt_plan"].shape[0]

    @property
    def dtype(self):
        from .. import _backend as B

        return B.from_numpy_dtype(self.__dict__["_kt_plan"].dtype)

    @property
    def device(self):
        from .. import _backend as B

        return B.device_of(self.__dict__["_kt_plan"].x)

    def is_floating_point(self):
        return True

    def _fuse_relu(self, inplace):
        return fuse_relu(self, inplace)

    def relu(self):
        r = fuse_relu(self, False)
        return r if r is not None else Tensor.relu(self)

    def relu_(self):
        r = fuse_relu(self, True)
        return r if r is not None else Tensor.relu_(self)


@_fast.kernel(parallel=True)
def _bias_act(y, b, relu):
    """In place over ``y`` (N*O, S) with ``b`` (O,): ``y += b[row % O]``, then max(., 0)
    (NaN stays NaN) when ``relu``."""
    o = b.size
    s = y.shape[1]
    for r in prange(y.shape[0]):
        bv = b[r % o]
        for j in range(s):
            v = y[r, j] + bv
            y[r, j] = v if (not relu or v > 0 or v != v) else 0


def _run(plan):
    """The conv of ``plan`` with its epilogue, as a fresh NCHW array."""
    b = plan.b
    kw = _conv_kw()
    if "relu" in kw and "shift" in kw:
        # the conv applies shift and ReLU itself (fused into Winograd's output transform,
        # or one pass after a bias-free copy back to NCHW)
        STATS["conv_epilogue"] += 1
        return _conv._conv_forward(plan.x, plan.w, None, plan.geom, False, shift=b,
                                   relu=plan.relu)[0]
    n, o, h, w = plan.shape
    if b is not None and n * o * h * w >= _fast.MIN_SIZE and _fast.use(plan.x, min_size=0):
        # the conv's own bias add (a ufunc over its transposed GEMM output) costs about
        # twice a plain copy: copy, then one threaded bias(+ReLU) pass
        y = _conv.Conv.compute(plan.x, plan.w, None, plan.geom)
        if y.flags.c_contiguous:
            n, o = y.shape[:2]
            _bias_act(y.reshape(n * o, -1), b, plan.relu)
            STATS["kernel"] += 1
            return y
        y += b.reshape(-1, 1, 1)
    else:
        y = _conv.Conv.compute(plan.x, plan.w, b, plan.geom)
    if plan.relu:
        np.maximum(y, 0, out=y)
    return y


def _make(plan):
    p = _new(PendingConv)
    p._rg = False
    p._version = [0]
    p.__dict__["_kt_plan"] = plan
    for t in plan.watched:
        if not _watch(t, p):
            _unwatch(plan, p)
            return None
    return p


def _copy(a):
    return None if a is None else a.copy()


def pending_conv(x, weight, bias, geom):
    """The pending result of ``Conv.apply(x, weight, bias, geom)``, or None when this call
    is not eligible (the caller then runs the op)."""
    if STATE.enabled:  # only under no_grad / inference_mode, as the issue asks (a conv
        return None    # with grad enabled runs at the call, whatever its inputs)
    xa = x._data
    if type(xa) is not np.ndarray or xa.dtype not in _FLOATS or xa.ndim != 4:
        return None
    wa = weight._data
    ba = None if bias is None else bias._data
    plan = _Plan()
    plan.x = xa
    plan.w = wa.copy()
    plan.b = _copy(ba)
    plan.geom = geom
    plan.relu = False
    watched = [x] if x._base is None else [x, x._base]
    plan.watched = watched
    plan.versions = ((x._version, x._version[0]),)
    n, _, h, w = xa.shape
    plan.shape = (n, wa.shape[0]) + tuple(geom.out_hw(h, w))
    plan.dtype = xa.dtype
    p = _make(plan)
    if p is not None:
        STATS["pending"] += 1
    return p


def _derive(src, w, b, relu):
    old = src.__dict__["_kt_plan"]
    plan = _Plan()
    plan.x, plan.geom, plan.versions = old.x, old.geom, old.versions
    plan.watched, plan.shape, plan.dtype = old.watched, old.shape, old.dtype
    plan.w, plan.b, plan.relu = w, b, relu
    return _make(plan)


def fold_batch_norm(p, running_mean, running_var, weight, bias, eps):
    """Eval-mode ``batch_norm`` of the pending ``p`` folded into its conv, or None."""
    if not ENABLED or p._rg or type(p) is not PendingConv:
        return None
    plan = p.__dict__["_kt_plan"]
    if plan.relu:
        return None
    ts = [t for t in (running_mean, running_var, weight, bias) if t is not None]
    if STATE.enabled and any(t._rg for t in ts):
        return None
    arrs = [t._data for t in ts]
    if any(type(a) is not np.ndarray or a.dtype != plan.dtype for a in arrs):
        return None
    o = plan.w.shape[0]
    mean = running_mean._data.astype(np.float64).reshape(o)
    s = 1.0 / np.sqrt(running_var._data.astype(np.float64).reshape(o) + float(eps))
    if weight is not None:
        s = s * weight._data.astype(np.float64).reshape(o)
    shift = -mean * s if plan.b is None else (plan.b.astype(np.float64) - mean) * s
    if bias is not None:
        shift = shift + bias._data.astype(np.float64).reshape(o)
    w = (plan.w.astype(np.float64) * s.reshape((o,) + (1,) * (plan.w.ndim - 1)))
    r = _derive(p, w.astype(plan.dtype), shift.astype(plan.dtype), False)
    if r is not None:
        STATS["folds"] += 1
    return r


def fuse_relu(p, inplace):
    """``relu(p)`` as a pending tensor (``inplace``: on ``p`` itself), or None."""
    if not ENABLED or type(p) is not PendingConv or p._rg:
        return None
    with _LOCK:
        if type(p) is not PendingConv:
            return None
        plan = p.__dict__["_kt_plan"]
        if inplace:
            plan.relu = True
            p._version[0] += 1
            STATS["relus"] += 1
            return p
    r = _derive(p, plan.w, plan.b, True)
    if r is not None:
        STATS["relus"] += 1
    return r


def _profile_deferred(rec):
    """While a profile runs, a deferred convolution computed when its result is first
    read is a range of its own (``ConvFused``), not time inside whichever op read it."""
    run = globals()["_run"]

    def recorded(plan):
        return rec.call("ConvFused", lambda: [list(plan.x.shape), list(plan.w.shape)], run,
                        plan)

    globals()["_run"] = recorded

    def undo():
        globals()["_run"] = run

    return undo


_profiler._register_instrumentation(_profile_deferred)


class ConvAct(Op):
    """Inference convolution with its epilogue: ``conv(x, w) + b``, then ``max(., 0)`` when
    ``relu`` (what ``ktrain.jit``'s inference passes put in a graph: a BatchNorm folded
    into ``w``/``b``, the ReLU fused). Computed as a pending conv's epilogue is (``_run``).
    Forward only: an inference-optimised graph has no gradients."""

    @staticmethod
    def compute(x, w, b, geom, relu):
        if type(x) is np.ndarray and x.ndim == 4 and x.dtype in _FLOATS and w.dtype == x.dtype:
            plan = _Plan()
            plan.x, plan.w, plan.b, plan.geom, plan.relu = x, w, b, geom, bool(relu)
            n, _, h, wd = x.shape
            plan.shape = (n, w.shape[0]) + tuple(geom.out_hw(h, wd))
            plan.dtype = x.dtype
            return _run(plan)
        y = _conv.Conv.compute(x, w, b, geom)
        return array_module(y).maximum(y, 0) if relu else y

    @staticmethod
    def forward(ctx, x, w, b, geom, relu):
        return ConvAct.compute(x, w, b, geom, relu)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("ConvAct (an inference-optimised graph from eval_optimized()) has "
                           "no backward: train the traced module, not its optimised copy")
