"""What every pointwise op module shares: writing a result into ``out=`` and the
in-place ``x.op_(...)`` methods built from an out-of-place function."""
from __future__ import annotations

from ..autograd.grad_mode import STATE
from ._util import inplace


def _result(r, out):
    """``r``, or ``r`` written into the tensor ``out`` (resized when its shape differs)."""
    if out is None:
        return r
    if STATE.enabled and (r._rg or out._rg):
        raise RuntimeError("out= arguments don't support automatic differentiation, but one of "
                           "the arguments requires grad")
    if out._data.shape != r._data.shape:
        out._data = r._data.astype(out._data.dtype, copy=True)
    else:
        out._data[...] = r._data
    out._version[0] += 1
    return out


def _make_inplace(fn, name):
    """The Tensor method ``name`` running ``fn(self, ...)`` and writing back into ``self``."""
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, name=name, **kwargs)

    method.__name__ = name
    return method
