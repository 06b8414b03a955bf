"""The recorder behind ``ktrain.profiler``, ``record_function`` and the legacy
``ktrain.autograd.profiler.profile`` (PyTorch's names and reports).

What is recorded: every op applied (``Op.apply``: the one entry of every built-in op,
and ``Function.apply`` for custom Functions), every backward node the engine runs and
every gradient it accumulates into a leaf, ``record_function`` ranges, and what the
layers above add through ``_register_instrumentation`` (optimizer steps, DataLoader
fetches, module calls, the deferred inference convolutions).

Nothing costs anything while no profile runs: starting one swaps the entry points for
recording wrappers and stopping puts the originals back (the engine reads the active
recorder once per backward pass, the ``a + b`` fast path one global per call). One
profile runs at a time in a process.

Times come from ``time.perf_counter_ns``. ``cpu_memory_usage`` counts the bytes of the
arrays a range returns that own their memory (views count nothing), so an op's self
memory is what it allocated for its outputs; work buffers it frees before returning and
later frees are not counted.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import warnings
from time import perf_counter_ns

from . import function as _function
from .function import Function, Op
from .profiler_util import EventList, FunctionEvent, FunctionEventAvg  # noqa: F401

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]

_active = [None]  # the running _Recorder that records ops (one global load to test)
_ranges = [None]  # the running _Recorder (record_function ranges)
_instrumentation = []  # install(rec) -> undo(), registered by the layers above


def _register_instrumentation(install):
    """Register ``install(recorder) -> undo``: called when a profile starts (patch entry
    points, add hooks); ``undo()`` is called when it stops."""
    _instrumentation.append(install)
    return install


class _Recorder:
    """The rows of one profile: ``[name, kind, start_ns, end_ns, tid, parent_row,
    input_shapes, bytes, stack]``, each thread nesting its own ranges."""

    def __init__(self, *, record_shapes=False, profile_memory=False, with_stack=False,
                 with_modules=False, ops=True):
        self.ops = ops  # False: record_function ranges only (nothing per op)
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.rows = []
        self._tls = threading.local()
        self.t0 = perf_counter_ns()
        self._undo = []

    # ------------------------------------------------------------------ ranges
    def _stack(self):
        tls = self._tls
        try:
            return tls.stack, tls.tid
        except AttributeError:
            tls.stack = []
            tls.tid = threading.get_native_id()
            return tls.stack, tls.tid

    def begin(self, name, kind="cpu_op", shapes=None):
        st, tid = self._stack()
        row = [name, kind, 0, None, tid, st[-1] if st else None, shapes, 0,
               _frames() if self.with_stack else None]
        self.rows.append(row)
        st.append(row)
        row[2] = perf_counter_ns()
        return row

    def end(self, row, nbytes=0):
        row[3] = perf_counter_ns()
        row[7] = nbytes
        st = self._stack()[0]
        if st and st[-1] is row:
            st.pop()
            return
        for i in range(len(st) - 1, -1, -1):  # closed out of order (a module that raised)
            if st[i] is row:
                del st[i:]
                return

    def call(self, name, shapes, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` as one ``cpu_op`` range ``name``: ``shapes()`` gives its
        input shapes and what it returns its bytes, when those are recorded."""
        row = self.begin(name, "cpu_op", shapes() if self.record_shapes else None)
        out = None
        try:
            out = fn(*args, **kwargs)
            return out
        finally:
            self.end(row, _nbytes(out) if self.profile_memory and out is not None else 0)

    @contextlib.contextmanager
    def range(self, name, kind="user_annotation"):
        row = self.begin(name, kind)
        try:
            yield row
        finally:
            self.end(row)

    def clear(self):
        """Drop what was recorded (the end of a warm-up), keeping the open ranges."""
        self.rows = [r for r in self.rows if r[3] is None]
        self.t0 = perf_counter_ns()

    # ------------------------------------------------------------------ on / off
    def install(self):
        if _ranges[0] is not None:
            raise RuntimeError("a profiler is already running in this process; stop it "
                               "before starting another (ktrain records one profile at a "
                               "time)")
        _ranges[0] = self
        if not self.ops:
            return
        _active[0] = self
        _function._slow_path[0] += 1
        try:
            for install in _instrumentation:
                undo = install(self)
                if undo is not None:
                    self._undo.append(undo)
        except BaseException:
            self.uninstall()
            raise

    def uninstall(self):
        while self._undo:
            self._undo.pop()()
        if _active[0] is self:
            _active[0] = None
            _function._slow_path[0] -= 1
        if _ranges[0] is self:
            _ranges[0] = None

    def events(self):
        """The finished rows as an ``EventList`` ordered by start time, parents linked."""
        t0 = self.t0
        made = {}
        out = []
        for i, r in enumerate(self.rows):
            if r[3] is None:
                continue
            e = FunctionEvent(i, r[0], r[4], max(r[2] - t0, 0) / 1e3, (r[3] - t0) / 1e3,
                              input_shapes=r[6], stack=r[8], cpu_memory_usage=r[7], kind=r[1])
            made[id(r)] = e
            out.append(e)
        for r in self.rows:
            e = made.get(id(r))
            if e is not None and r[5] is not None:
                p = made.get(id(r[5]))
                if p is not None:
                    e.cpu_parent = p
                    p.cpu_children.append(e)
        out.sort(key=lambda e: (e.time_range.start, -e.time_range.end))
        for e in reversed(out):  # a range that allocates nothing itself holds its children's
            if e.kind != "cpu_op" and e.cpu_children:
                e.cpu_memory_usage += sum(c.cpu_memory_usage for c in e.cpu_children)
        return EventList(out, profile_memory=self.profile_memory,
                         with_stack=self.with_stack)


# ---------------------------------------------------------------------- what is measured
_SKIP_FILES = {__file__}


def _frames():
    """The Python stack above the recorded call, innermost first (profiler frames left
    out), as ``file(line): function``."""
    f = sys._getframe(2)
    out = []
    while f is not None and len(out) < 64:
        code = f.f_code
        if code.co_filename not in _SKIP_FILES:
            out.append(f"{code.co_filename}({f.f_lineno}): {code.co_name}")
        f = f.f_back
    return out


def _shapes(args):
    T = _function.Tensor
    out = []
    for a in args:
        if isinstance(a, T):
            out.append(list(a.shape))
        elif isinstance(a, (list, tuple)) and a and all(isinstance(x, T) for x in a):
            out.append([list(x.shape) for x in a])
        else:
            out.append([])
    return out


def _nbytes(out):
    """Bytes of the arrays in ``out`` (a Tensor, a raw array or a tuple of them) that own
    memory. Tensor subclasses count nothing: reading a pending conv's data computes it."""
    T = _function.Tensor
    if type(out) is T:
        out = out._data
    elif isinstance(out, (tuple, list)):
        return sum(_nbytes(o) for o in out if o is not None)
    elif isinstance(out, T) or not hasattr(out, "shape"):
        return 0
    return out.nbytes if getattr(out, "base", None) is None else 0


_names = {}


def _op_name(cls):
    n = _names.get(cls)
    if n is None:
        n = _names[cls] = cls.__name__.lstrip("_") or cls.__name__
    return n


def _profiled(fn, name_of, rec):
    def wrapper(cls, *args, **params):
        if _active[0] is not rec:  # paused (the engine's one-off calibration)
            return fn(cls, *args, **params)
        return rec.call(name_of(cls), lambda: _shapes(args), fn, cls, *args, **params)

    return classmethod(wrapper)


def _install_ops(rec):
    saved = [(cls, cls.__dict__["apply"]) for cls in (Op, Function)]
    Op.apply = _profiled(saved[0][1].__func__, _op_name, rec)
    Function.apply = _profiled(saved[1][1].__func__, _op_name, rec)

    def undo():
        for cls, orig in saved:
            cls.apply = orig

    return undo


_register_instrumentation(_install_ops)


def _wrap_methods(rec, classes, attr, label, kind="user_annotation"):
    """Wrap ``attr`` of each class in ``classes`` that defines it in a range named
    ``label(self)``; a call inside a recorded one of the same ``attr`` (``super()``)
    records nothing more. Returns the undo."""
    depth = threading.local()
    saved = []

    def wrap(fn):
        def wrapper(self, *args, **kwargs):
            if getattr(depth, "n", 0):
                return fn(self, *args, **kwargs)
            depth.n = 1
            row = rec.begin(label(self), kind)
            try:
                return fn(self, *args, **kwargs)
            finally:
                depth.n = 0
                rec.end(row)

        wrapper.__wrapped__ = fn
        return wrapper

    for cls in classes:
        fn = cls.__dict__.get(attr)
        if fn is not None and callable(fn):
            saved.append((cls, fn))
            setattr(cls, attr, wrap(fn))

    def undo():
        for cls, fn in saved:
            setattr(cls, attr, fn)

    return undo


def _subclasses(cls):
    """``cls`` and every subclass defined so far."""
    seen = [cls]
    for c in seen:
        seen.extend(s for s in c.__subclasses__() if s not in seen)
    return seen


def backward_node(rec, node, grads):
    """Run ``node``'s backward as one range named like its grad_fn (the engine calls
    this instead of ``node._run_backward`` while a profile runs)."""
    return rec.call(node.name().lstrip("_"), lambda: _shapes(grads), node._run_backward, grads)


# ---------------------------------------------------------------------- public API


class record_function(contextlib.ContextDecorator):
    """A named range in the profile: ``with record_function("data"): ...`` or as a
    decorator. Costs nothing while no profile runs."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self.args = args
        self._rec = None
        self._row = None

    def _recreate_cm(self):  # each decorated call (recursion included) gets its own range
        return record_function(self.name, self.args)

    def __enter__(self):
        rec = _ranges[0]
        if rec is not None:
            self._rec = rec
            self._row = rec.begin(self.name, "user_annotation")
        return self

    def __exit__(self, *exc):
        if self._row is not None:
            self._rec.end(self._row)
            self._row = self._rec = None
        return False


def _unsupported(use_cuda, use_device, with_flops, owner):
    if use_cuda or (use_device not in (None, "cpu")):
        warnings.warn(f"{owner}: device activity is not recorded (ktrain's profiler is "
                      "host-side: op times include waiting for the device)", stacklevel=3)
    if with_flops:
        warnings.warn(f"{owner}(with_flops=True): FLOP counts are not estimated; the flops "
                      "column stays zero", stacklevel=3)


class profile:
    """The legacy context manager (``torch.autograd.profiler.profile``)::

        with ktrain.autograd.profiler.profile(record_shapes=True) as prof:
            model(x).sum().backward()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

    ``ktrain.profiler.profile`` is the same recorder with schedules and trace handlers.
    """

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False,
                 with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None):
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        if enabled:
            _unsupported(use_cuda, use_device, with_flops, "profile")
        self._rec = None
        self._events = None

    def __enter__(self):
        if self.enabled:
            self._rec = _Recorder(record_shapes=self.record_shapes,
                                  profile_memory=self.profile_memory,
                                  with_stack=self.with_stack, with_modules=self.with_modules)
            self._rec.install()
        return self

    def __exit__(self, *exc):
        if self._rec is not None:
            self._rec.uninstall()
            self._events = self._rec.events()
            self._rec = None
        return False

    def _check(self):
        if self._events is None:
            raise RuntimeError("the profile has no results yet: read them after the "
                               "'with profile(...)' block ends")
        return self._events

    @property
    def function_events(self):
        return self._check()

    def events(self):
        return self._check()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        return self._check().key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        return self._check().table(sort_by=sort_by, row_limit=row_limit,
                                   max_src_column_width=max_src_column_width,
                                   max_name_column_width=max_name_column_width,
                                   max_shapes_column_width=max_shapes_column_width,
                                   header=header, top_level_events_only=top_level_events_only)

    def total_average(self):
        return self._check().total_average()

    @property
    def self_cpu_time_total(self):
        return self._check().self_cpu_time_total

    def export_chrome_trace(self, path):
        self._check().export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        if not self.with_stack:
            raise RuntimeError("export_stacks needs a profile taken with with_stack=True")
        self._check().export_stacks(path, metric)

    def __str__(self):
        return self.table() if self._events is not None else "<unfinished profile>"
