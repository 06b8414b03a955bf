"""The Tensor: an array, its autograd metadata and thin methods.

Layer: above ``_backend`` and ``autograd`` (which it imports), below ``creation`` and
``ops`` (which it never imports, not even inside a function). Op methods (``x.sum()``,
``x + y``, ``x[i]``, ``x.fill_(v)``, ``x.copy_(y)`` ...) are attached by the modules that
define them through :func:`register_method`; the one helper of ``creation`` that
``Tensor(data)`` needs comes in through the ``_to_array`` slot that ``creation`` fills.
This module holds the object itself, conversions, autograd entry points, in-place
plumbing; ``repr`` comes from ``_tensor_str`` (print options, re-exported here).
"""
from __future__ import annotations

import weakref

import numpy as np

from . import _backend as B
from ._tensor_str import (PRINT_OPTS, _format_tensor, get_printoptions,  # noqa: F401
                          set_printoptions)
from .autograd import function as _function
from .autograd.engine import backward as _backward
from .autograd.grad_mode import STATE
from .autograd.hooks import RemovableHandle

__all__ = ["Tensor", "Size", "register_method", "set_printoptions", "get_printoptions"]

# ``creation._to_array`` (data -> array of a dtype on a device), filled in when
# ``ktrain.creation`` loads: creation sits above this module
_to_array = None

_new = object.__new__
_generic = np.generic


class Size(tuple):
    """The shape of a tensor: a tuple that prints as ``ktrain.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self):
        return f"ktrain.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r


class Tensor:
    """A multi-dimensional array with automatic differentiation (``torch.Tensor``).

    Build tensors with ``ktrain.tensor(data)``, ``ktrain.zeros(...)`` and friends.
    ``Tensor(data)`` also works and gives the default floating dtype, as in PyTorch.
    """

    __slots__ = ("_data", "_rg", "_version", "__weakref__", "__dict__")
    # rarely-set attributes live in the (lazily created) instance dict with class defaults,
    # so building a tensor costs three attribute stores
    grad = None
    grad_fn = None
    _output_nr = 0
    _base = None
    _hooks = None
    __array_priority__ = 1000
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators

    def __init__(self, data=(), *, dtype=None, device=None, requires_grad=False):
        if isinstance(data, int) and not isinstance(data, bool):
            data = np.empty((data,), B.to_numpy_dtype(dtype or B.get_default_dtype()))
        arr = _to_array(data, dtype or B.get_default_dtype(), device, copy=True)
        self._data = arr
        self._rg = False
        self._version = [0]
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(arr, grad_fn=None, rg=False):
        t = _new(Tensor)
        t._data = arr
        t._rg = rg
        t._version = [0]
        if grad_fn is not None:
            t.grad_fn = grad_fn
        return t

    def _set_rg(self):
        self._rg = True
        return self

    def _view_of(self, base):
        """Mark self as a view of ``base``: shared storage and version counter."""
        self._version = base._version
        self._base = base._base if base._base is not None else base
        return self

    # ------------------------------------------------------------------ basic properties
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self):
        return B.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return B.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return B.is_cuda_array(self._data)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        d = self._data
        return d.__array_interface__["data"][0] if type(d) is np.ndarray else d.data.ptr

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self.dtype is B.bfloat16

    def is_complex(self) -> bool:
        return False

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad in place (leaves only, floating dtypes only); returns self."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return self
        if requires_grad and not self.is_floating_point():
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}")
        self._rg = requires_grad
        return self

    @property
    def retains_grad(self) -> bool:
        fn = self.grad_fn
        return fn is not None and fn._retain is not None and self._output_nr in fn._retain

    def retain_grad(self):
        """Keep ``.grad`` of this non-leaf tensor after backward."""
        fn = self.grad_fn
        if fn is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if fn._retain is None:
            fn._retain = {}
        fn._retain[self._output_nr] = weakref.ref(self)

    @property
    def data(self):
        """The same storage without autograd history (``.data`` as in PyTorch)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def is_inference(self):
        return False

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (PyTorch semantics)."""
        _backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs)

    def register_hook(self, hook):
        """``hook(grad) -> grad | None`` runs when this tensor's gradient is computed."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self.grad_fn
        if fn is None:
            if self._hooks is None:
                self._hooks = {}
            h = RemovableHandle(self._hooks)
            self._hooks[h.id] = hook
            return h
        if fn._out_hooks is None:
            fn._out_hooks = {}
        d = fn._out_hooks.setdefault(self._output_nr, {})
        h = RemovableHandle(d)
        d[h.id] = hook
        return h

    def detach(self):
        """A tensor on the same storage, cut from the graph (shares the version counter)."""
        t = Tensor._make(self._data)
        t._version = self._version
        return t

    def detach_(self):
        if self._base is not None and self._base._rg:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        self._output_nr = 0
        return self

    # ------------------------------------------------------------------ conversion
    def numpy(self, *, force=False):
        """The numpy array on the same memory (CPU tensors without grad, like PyTorch)."""
        if self._rg and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. "
                                "Use Tensor.cpu() to copy the tensor to host memory first.")
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._data if type(self._data) is np.ndarray else self._data.get()
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return arr.copy() if copy else arr

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        d = self._data
        return (d if type(d) is np.ndarray else d.get()).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is "
                               "ambiguous")
        return bool(self.item())

    def __complex__(self):
        return complex(self.item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    __hash__ = object.__hash__

    def __dlpack__(self, stream=None, **kwargs):
        if self._rg:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        if stream is None:
            return self._data.__dlpack__(**kwargs)
        return self._data.__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __reduce_ex__(self, proto):
        # pickling (DataLoader workers) sends the array and the requires_grad flag only
        return (_rebuild, (self.__array__(), str(self.device), self._rg))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        t = type(self).__new__(type(self))
        Tensor.__init__(t, ())
        t._data = self._data.copy()
        t._rg = self._rg
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        if hasattr(self, "__dict__"):  # subclasses such as Parameter
            t.__dict__.update(self.__dict__)
        memo[id(self)] = t
        return t

    # ------------------------------------------------------------------ devices and dtypes
    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``; differentiable."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (B.dtype, type)) or isinstance(a, np.dtype):
                dtype = a
            elif isinstance(a, (str, B.device, int)):
                device = a
            elif a is None:
                continue
            else:
                raise TypeError(f"to() received an invalid argument {a!r}")
        out = self
        if dtype is not None:
            out = Tensor._to_dtype(out, B.as_dtype(dtype), copy)
            copy = copy and out is self
        if device is not None:
            out = Tensor._to_device(out, B.as_device(device), copy)
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        return self.to(B.as_device("cuda" if device is None else device))

    def type(self, dtype=None):
        if dtype is None:
            return f"ktrain.{self.dtype.name}"
        return self.to(dtype)

    def float(self):
        return self.to(B.float32)

    def double(self):
        return self.to(B.float64)

    def half(self):
        return self.to(B.float16)

    def bfloat16(self):
        return self.to(B.bfloat16)

    def int(self):
        return self.to(B.int32)

    def long(self):
        return self.to(B.int64)

    def short(self):
        return self.to(B.int16)

    def char(self):
        return self.to(B.int8)

    def byte(self):
        return self.to(B.uint8)

    def bool(self):
        return self.to(B.bool)

    def type_as(self, other):
        return self.to(other.dtype)

    # ------------------------------------------------------------------ new_* factories
    def _xp(self):
        return B.array_module(self._data)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(None, size, dtype, device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(0, size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(1, size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return self._new_filled(fill_value, (size,), dtype, device, requires_grad)

    def _new_filled(self, value, size, dtype, device, requires_grad):
        shape = _size_arg(size)
        npd = B.to_numpy_dtype(dtype) if dtype is not None else self._data.dtype
        xp = B.module_for_device(B.as_device(device)) if device is not None else self._xp()
        arr = xp.empty(shape, npd) if value is None else xp.full(shape, value, npd)
        t = Tensor._make(arr)
        if requires_grad:
            t.requires_grad_()
        return t

    # ------------------------------------------------------------------ in-place helpers
    def zero_(self):
        return self.fill_(0)

    # fill_ (ops._util), copy_ (ops.indexing) and new_tensor (creation) are attached by
    # the modules they need

    # ------------------------------------------------------------------ repr
    def __repr__(self):
        return _format_tensor(self)

    def __format__(self, spec):
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)


def _size_arg(size):
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))`` or ``f([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        shape = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"sizes must be integers, got {size!r}") from None
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _rebuild(arr, device, requires_grad):
    t = Tensor._make(arr)
    if device != "cpu":
        t = t.to(device)
    t._rg = requires_grad
    return t


def _wrap_dim(dim, ndim, op="op"):
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def _write(t, fn, name):
    """Run ``fn(array)`` that writes into t's storage, with PyTorch's leaf check."""
    if t._rg and t.grad_fn is None and STATE.enabled:
        raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place "
                           f"operation ({name}); wrap it in `with ktrain.no_grad():`")
    fn(t._data)
    t._version[0] += 1
    if t._rg and STATE.enabled:  # the values no longer depend on the old history
        t.grad_fn = None
        t._rg = False
    return t


def register_method(*names):
    """Decorator (or plain call): attach ``fn`` to ``Tensor`` under each of ``names``.

    The one way the modules above this one add Tensor methods: ``@register_method("sum")``
    on a function; ``register_method("__add__", "__radd__")(fn)`` for operators (dunders
    are looked up on the class, so they work like any method); in-place variants are
    registered under their own ``name_``; a ``property`` object (``register_method("T")
    (property(fn))``) becomes a property. Returns ``fn`` unchanged, so the function stays
    usable under its module name.
    """
    def deco(fn):
        for n in names:
            setattr(Tensor, n, fn)
        return fn

    return deco


# the autograd core builds Tensors through this slot (autograd sits below this module)
_function.Tensor = Tensor
