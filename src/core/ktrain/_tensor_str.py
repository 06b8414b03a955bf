"""How tensors print: ``repr``/``str`` and the print options (``torch._tensor_str``).

:func:`set_printoptions` changes :data:`PRINT_OPTS`, which every ``repr`` reads; the
defaults are PyTorch's (precision 4, threshold 1000, edgeitems 3, linewidth 80, the
notation chosen from the values). Layer: beside ``_tensor`` (which imports it); it
reads a tensor's fields and imports only ``_backend``.
"""
from __future__ import annotations

import sys

import numpy as np

from . import _backend as B

__all__ = ["set_printoptions", "get_printoptions", "PRINT_OPTS"]


class _PrintOptions:
    """How ``repr``/``str`` show tensors (``torch._tensor_str.PRINT_OPTS``)."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None  # None: chosen from the values, as PyTorch does


PRINT_OPTS = _PrintOptions()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, float("inf"), 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print (``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point of floating values (default 4).
        threshold: tensors with more elements than this are summarised (default 1000).
        edgeitems: items shown at each end of a summarised dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``"default"``, ``"short"`` (precision 2, edgeitems 2) or ``"full"`` (no
            summarising); applied first, then the explicit arguments.
        sci_mode: ``True`` always scientific notation, ``False`` never, ``None`` (the
            default; every call without it resets to this) chosen from the values.

    Example: ``ktrain.set_printoptions(precision=2)`` then ``ktrain.tensor([1/3])`` prints
    ``tensor([0.33])``.
    """
    o = PRINT_OPTS
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        o.precision, o.threshold, o.edgeitems, o.linewidth = _PROFILES[profile]
    if precision is not None:
        o.precision = int(precision)
    if threshold is not None:
        o.threshold = threshold
    if edgeitems is not None:
        o.edgeitems = int(edgeitems)
    if linewidth is not None:
        o.linewidth = int(linewidth)
    o.sci_mode = None if sci_mode is None else bool(sci_mode)


def get_printoptions() -> dict:
    """The current print options as a dict (the keywords of :func:`set_printoptions`)."""
    return {k: getattr(PRINT_OPTS, k) for k in _PrintOptions.__slots__}


def _format_tensor(t):
    arr = t._data if type(t._data) is np.ndarray else t._data.get()
    dt = B.from_numpy_dtype(arr.dtype)
    body = _format_array(arr, dt)
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    if arr.size == 0 and arr.ndim != 1:
        extras.append(f"size={tuple(arr.shape)}")
    if dt not in (B.get_default_dtype(), B.int64, B.bool):
        extras.append(f"dtype=ktrain.{dt.name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        extras.append("requires_grad=True")
    inner = ", ".join([body] + extras)
    return f"tensor({inner})"


def _format_array(arr, dt):
    o = PRINT_OPTS
    p = o.precision
    if arr.dtype.kind == "f" or dt is B.bfloat16:
        a = arr.astype(np.float64)
        finite = a[np.isfinite(a)]
        ints = (finite.size and np.all(finite == np.round(finite))
                and np.abs(finite).max() < 1e8)
        if o.sci_mode is None and ints:
            fmt = lambda x: (f"{x:.0f}." if np.isfinite(x) else str(x))  # noqa: E731
        else:
            if o.sci_mode is None:
                nz = np.abs(finite[finite != 0]) if finite.size else finite
                sci = nz.size and (nz.max() / nz.min() > 1000 or nz.max() > 1e8
                                   or nz.min() < 1e-4)
            else:
                sci = o.sci_mode
            spec = f".{p}e" if sci else f".{p}f"
            fmt = lambda x: format(x, spec) if np.isfinite(x) else str(x)  # noqa: E731
        fm = {"float_kind": fmt}
    elif arr.dtype.kind == "b":
        fm = {"bool": lambda x: "True" if x else "False"}
        a = arr
    else:
        fm = {"int_kind": lambda x: str(x)}
        a = arr
    if a.ndim == 0:
        return next(iter(fm.values()))(a.item())
    threshold = o.threshold if o.threshold != float("inf") else sys.maxsize
    return np.array2string(a, separator=", ", formatter=fm, threshold=threshold,
                           edgeitems=o.edgeitems, prefix="tensor(", max_line_width=o.linewidth)
