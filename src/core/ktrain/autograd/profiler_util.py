"""The profiler's results: ``FunctionEvent``, ``FunctionEventAvg`` and ``EventList``
(``torch.autograd.profiler_util``): the tables, key averages, Chrome traces and
flame-graph stacks built from what a profile recorded.

Times are in microseconds (floats), memory in bytes; CPU only (every device column of
PyTorch's table is absent here, and device sort keys sort by zero).
"""
from __future__ import annotations

import json
import warnings
from collections import defaultdict

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]


class Interval:
    """``[start, end]`` in microseconds since the profile started."""

    __slots__ = ("start", "end")

    def __init__(self, start, end):
        self.start = start
        self.end = end

    def elapsed_us(self):
        return self.end - self.start

    def __repr__(self):
        return f"Interval(start={self.start:.3f}, end={self.end:.3f})"


class FunctionEvent:
    """One recorded range: an op (forward or a backward node), a ``record_function``
    block, an optimizer step, a DataLoader fetch or a module call.

    ``cpu_children`` are the ranges directly inside it on the same thread; its self time
    and self memory exclude theirs.
    """

    def __init__(self, id, name, thread, start_us, end_us, *, input_shapes=None, stack=None,
                 cpu_memory_usage=0, kind="cpu_op", sequence_nr=-1):
        self.id = id
        self.name = name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.cpu_memory_usage = cpu_memory_usage
        self.kind = kind
        self.sequence_nr = sequence_nr
        self.cpu_children = []
        self.cpu_parent = None
        self.count = 1
        self.device_type = "CPU"
        self.is_async = False
        self.is_legacy = False

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self):
        return self.cpu_time_total

    @property
    def self_cpu_memory_usage(self):
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    # PyTorch's device columns: always zero on ktrain's CPU profiler
    device_time_total = self_device_time_total = cuda_time_total = self_cuda_time_total = 0.0
    device_memory_usage = self_device_memory_usage = cuda_memory_usage = 0
    self_cuda_memory_usage = 0
    flops = 0

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name!r} thread={self.thread} "
                f"cpu_time_total={_format_time(self.cpu_time_total)} "
                f"self_cpu_time_total={_format_time(self.self_cpu_time_total)} "
                f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>")


class FunctionEventAvg:
    """The sum of the events that share a key (name, and input shapes or stack when the
    averages are grouped by them)."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.input_shapes = None
        self.stack = None
        self.node_id = 0
        self.is_async = False
        self.is_legacy = False
        self.device_type = "CPU"

    device_time_total = self_device_time_total = cuda_time_total = self_cuda_time_total = 0.0
    device_memory_usage = self_device_memory_usage = cuda_memory_usage = 0
    self_cuda_memory_usage = 0
    flops = 0

    def add(self, other):
        if self.key is None:
            self.key = other.key
            self.input_shapes = other.input_shapes
            self.stack = other.stack
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        return self

    def __iadd__(self, other):
        return self.add(other)

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key!r} count={self.count} "
                f"self_cpu_time_total={_format_time(self.self_cpu_time_total)} "
                f"cpu_time_total={_format_time(self.cpu_time_total)} "
                f"input_shapes={self.input_shapes} "
                f"cpu_memory_usage={self.cpu_memory_usage}>")


_SORT_KEYS = ("self_cpu_time_total", "cpu_time_total", "cpu_time", "count",
              "cpu_memory_usage", "self_cpu_memory_usage")
_DEVICE_SORT_KEYS = ("cuda_time", "cuda_time_total", "self_cuda_time_total", "device_time",
                     "device_time_total", "self_device_time_total", "cuda_memory_usage",
                     "self_cuda_memory_usage", "device_memory_usage",
                     "self_device_memory_usage", "flops")


class EventList(list):
    """A list of ``FunctionEvent`` (or ``FunctionEventAvg``) with PyTorch's reports."""

    def __init__(self, *args, profile_memory=False, with_stack=False, **kwargs):
        super().__init__(*args)
        self._profile_memory = profile_memory
        self._with_stack = with_stack

    @property
    def self_cpu_time_total(self):
        """The sum of every event's self time (the whole profiled CPU time, once)."""
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        """The events as PyTorch's fixed-width text table, sorted by ``sort_by``
        (descending) and cut at ``row_limit`` rows (``-1``: all)."""
        return _build_table(self, sort_by=sort_by, row_limit=row_limit, header=header,
                            max_src_column_width=max_src_column_width,
                            max_name_column_width=max_name_column_width,
                            max_shapes_column_width=max_shapes_column_width,
                            profile_memory=self._profile_memory,
                            top_level_events_only=top_level_events_only)

    def __str__(self):
        return self.table()

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        """One ``FunctionEventAvg`` per name (and per input shapes, or per the first
        ``group_by_stack_n`` stack frames, when asked)."""
        stats = defaultdict(FunctionEventAvg)
        for e in self:
            key = [e.key]
            if group_by_input_shapes:
                key.append(str(e.input_shapes))
            if group_by_stack_n > 0:
                key += e.stack[:group_by_stack_n]
            stats[tuple(key)].add(e)
        out = EventList(stats.values(), profile_memory=self._profile_memory,
                        with_stack=self._with_stack)
        if not group_by_input_shapes:
            for a in out:
                a.input_shapes = None
        if group_by_stack_n <= 0:
            for a in out:
                a.stack = None
        else:
            for a in out:
                a.stack = (a.stack or [])[:group_by_stack_n]
        return out

    def total_average(self):
        """One ``FunctionEventAvg`` summing every event (key ``"Total"``)."""
        total = FunctionEventAvg()
        for e in self:
            total.add(e)
        total.key = "Total"
        return total

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (JSON) for Perfetto or chrome://tracing."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(_chrome_trace(self), f)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """Write ``frame;frame;...;name value`` lines (folded stacks, microseconds) for
        flame-graph tools; needs a profile taken with ``with_stack=True``."""
        if metric not in ("self_cpu_time_total", "cpu_time_total"):
            raise ValueError(f"export_stacks: metric must be 'self_cpu_time_total' or "
                             f"'cpu_time_total' (the profile records CPU times only), "
                             f"got {metric!r}")
        with open(path, "w", encoding="utf-8") as f:
            for e in self:
                if not e.stack:
                    continue
                value = int(getattr(e, metric))
                if value <= 0:
                    continue
                frames = ";".join(s.replace(";", ",") for s in reversed(e.stack))
                f.write(f"{frames};{e.name.replace(';', ',')} {value}\n")


def _chrome_trace(events):
    trace = []
    threads = set()
    for e in events:
        if not isinstance(e, FunctionEvent):
            raise TypeError("export_chrome_trace needs the recorded events, not their "
                            "key_averages()")
        args = {}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.cpu_memory_usage:
            args["CPU Mem (bytes)"] = e.cpu_memory_usage
        if e.stack:
            args["Call stack"] = ";".join(e.stack)
        if e.sequence_nr >= 0:
            args["Sequence number"] = e.sequence_nr
        threads.add(e.thread)
        trace.append({"ph": "X", "cat": e.kind, "name": e.name, "pid": 0, "tid": e.thread,
                      "ts": round(e.time_range.start, 3),
                      "dur": round(e.cpu_time_total, 3), "args": args})
    for t in sorted(threads):
        trace.append({"ph": "M", "name": "thread_name", "pid": 0, "tid": t,
                      "args": {"name": f"thread {t}"}})
    trace.append({"ph": "M", "name": "process_name", "pid": 0, "args": {"name": "ktrain"}})
    return {"schemaVersion": 1, "displayTimeUnit": "ms", "traceEvents": trace}


# ---------------------------------------------------------------------- the table


def _format_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_memory(nbytes):
    kb, mb, gb = 1024, 1024 ** 2, 1024 ** 3
    if abs(nbytes) >= gb:
        return f"{nbytes / gb:.2f} Gb"
    if abs(nbytes) >= mb:
        return f"{nbytes / mb:.2f} Mb"
    if abs(nbytes) >= kb:
        return f"{nbytes / kb:.2f} Kb"
    return f"{nbytes} b"


def _percent(part, total):
    return f"{100.0 * part / total:.2f}%" if total > 0 else "0.00%"


def _cut(text, width):
    return text if len(text) <= width else text[:width - 3] + "..."


def _sort(events, sort_by):
    if sort_by is None:
        return list(events)
    if sort_by in _DEVICE_SORT_KEYS:
        warnings.warn(f"table(sort_by={sort_by!r}): ktrain's profiler records CPU times "
                      "only, so every device figure is zero and the rows keep their order",
                      stacklevel=4)
        return list(events)
    if sort_by not in _SORT_KEYS:
        raise ValueError(f"table(sort_by={sort_by!r}): unknown key; use one of "
                         f"{', '.join(_SORT_KEYS)}")
    return sorted(events, key=lambda e: getattr(e, sort_by), reverse=True)


def _build_table(events, *, sort_by, row_limit, header, max_src_column_width,
                 max_name_column_width, max_shapes_column_width, profile_memory,
                 top_level_events_only):
    if not events:
        return ""
    if top_level_events_only:
        events = [e for e in events if getattr(e, "cpu_parent", None) is None]
    rows = _sort(events, sort_by)
    total_self = sum(e.self_cpu_time_total for e in events)
    if row_limit is not None and row_limit >= 0:
        rows = rows[:row_limit]
    has_shapes = any(e.input_shapes for e in rows)
    has_stack = any(e.stack for e in rows)
    has_memory = profile_memory and any(e.cpu_memory_usage for e in events)

    name_w = max([len(e.key) for e in rows] + [4]) + 4
    name_w = min(name_w, max_name_column_width)
    shapes_w = min(max([len(str(e.input_shapes)) for e in rows if e.input_shapes] + [12]) + 4,
                   max_shapes_column_width)
    src_w = max_src_column_width
    heads = [("Name", name_w), ("Self CPU %", 12), ("Self CPU", 12), ("CPU total %", 12),
             ("CPU total", 12), ("CPU time avg", 12)]
    if has_memory:
        heads += [("CPU Mem", 12), ("Self CPU Mem", 12)]
    heads.append(("# of Calls", 12))
    if has_shapes:
        heads.append(("Input Shapes", shapes_w))
    if has_stack:
        heads.append(("Source Location", src_w))
    widths = [w for _, w in heads]
    left = [h in ("Input Shapes", "Source Location") for h, _ in heads]
    sep = "  ".join("-" * w for w in widths) + "  "

    def line(cells):
        return "  ".join(str(c).ljust(w) if lj else str(c).rjust(w)
                         for c, w, lj in zip(cells, widths, left)) + "  "

    out = []
    if header is not None:
        out += ["=" * len(sep), header]
    out += [sep, line([h for h, _ in heads]), sep]
    for e in rows:
        count = e.count
        avg = e.cpu_time_total / count if count else 0.0
        cells = [_cut(e.key, name_w), _percent(e.self_cpu_time_total, total_self),
                 _format_time(e.self_cpu_time_total), _percent(e.cpu_time_total, total_self),
                 _format_time(e.cpu_time_total), _format_time(avg)]
        if has_memory:
            cells += [_format_memory(e.cpu_memory_usage),
                      _format_memory(e.self_cpu_memory_usage)]
        cells.append(count)
        if has_shapes:
            cells.append(_cut(str(e.input_shapes or []), shapes_w))
        stack = list(e.stack or []) if has_stack else []
        if has_stack:
            cells.append(_cut(stack[0], src_w) if stack else "")
        out.append(line(cells))
        for frame in stack[1:]:
            out.append(line([""] * (len(cells) - 1) + [_cut(frame, src_w)]))
    out.append(sep)
    out.append(f"Self CPU time total: {_format_time(total_self)}")
    return "\n".join(out) + "\n"
