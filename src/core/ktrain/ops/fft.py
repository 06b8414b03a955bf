"""FFT ops: the discrete Fourier transforms (``_FFT``, ``_RFFT``, ``_IRFFT``, forward and
backward side by side) and the functions built on them, in PyTorch's ``torch.fft`` names.

The public namespace is :mod:`ktrain.fft`, which re-exports this module and documents the
complex layout: a complex tensor of logical shape ``S`` is a real tensor of shape
``(*S, 2)`` holding ``(real, imag)`` (``torch.view_as_real``), and ``dim`` counts in the
logical shape. Transforms run through the array module of the input (``numpy.fft`` or
``cupy.fft``); float32 in gives float32 out. The adjoint of each transform is another
transform written with these ops, so gradients are exact and double backward works.
:mod:`ktrain.ops.spectral` (``stft``/``istft``) is built on this module.
"""
from __future__ import annotations

import numpy as np

from .. import _backend as B
from .._tensor import Tensor
from ..autograd.function import Op

__all__ = [
    "complex",
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "irfft",
    "irfft2",
    "irfftn",
    "magnitude",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]

_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(norm):
    norm = "backward" if norm is None else norm
    if norm not in _DUAL:
        raise ValueError(f"Invalid normalization mode: {norm!r} (expected 'backward', "
                         "'ortho' or 'forward')")
    return norm


def _to_complex(a):
    """(…, 2) real layout -> complex array (complex64 for float32/16, complex128 else):
    a zero-copy view of a contiguous layout array."""
    xp = B.array_module(a)
    real = np.float64 if a.dtype == np.float64 else np.float32
    a = xp.ascontiguousarray(a, dtype=real)
    return a.view(np.complex128 if real == np.float64 else np.complex64)[..., 0]


def _to_layout(c, dtype):
    """complex array -> (…, 2) real layout of ``dtype`` (a view when no cast is needed)."""
    xp = B.array_module(c)
    cd = np.complex128 if dtype == np.float64 else np.complex64
    c = xp.ascontiguousarray(c, dtype=cd)
    return c.view(dtype).reshape(c.shape + (2,))


def _real_dtype(a):
    return a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _resize_adjoint(g: Tensor, length: int, axis: int) -> Tensor:
    """Adjoint of "truncate or zero-pad ``axis`` to n": crop or zero-pad back to ``length``."""
    n = g.shape[axis]
    if n == length:
        return g
    if n > length:
        return g.narrow(axis, 0, length)
    from .padding import pad

    nd = g.dim()
    ax = axis % nd
    widths = [0, 0] * (nd - ax - 1) + [0, length - n]
    return pad(g, tuple(widths))


def _logical_dim(dim, ndim, what):
    if not -ndim <= dim < ndim:
        raise IndexError(f"{what}: dim {dim} is out of range for a signal with {ndim} "
                         "dimension(s)")
    return dim % ndim


def _check_layout(x: Tensor, what):
    if x.dim() < 1 or x.shape[-1] != 2:
        raise ValueError(
            f"{what} expects a complex tensor in ktrain's layout: a real tensor whose last "
            f"dimension has size 2 (real, imag), got shape {list(x.shape)}. Build one from "
            "a real signal with ktrain.fft.complex(x), or use rfft for real input.")
    if not x.is_floating_point():
        raise TypeError(f"{what}: expected a floating point tensor, got {x.dtype}")


# ---------------------------------------------------------------------- ops


class _FFT(Op):
    """Complex -> complex DFT along one logical axis (``inverse`` for ifft)."""

    @staticmethod
    def forward(ctx, a, n, axis, norm, inverse):
        ctx.args = (a.shape[axis], n, axis, norm, inverse)
        xp = B.array_module(a)
        c = _to_complex(a)
        f = xp.fft.ifft if inverse else xp.fft.fft
        return _to_layout(f(c, n=n, axis=axis, norm=norm), _real_dtype(a))

    @staticmethod
    def backward(ctx, g):
        length, n, axis, norm, inverse = ctx.args
        r = _FFT.apply(g, n, axis, _DUAL[norm], not inverse)
        return _resize_adjoint(r, length, axis), None, None, None, None


class _RFFT(Op):
    """Real -> one-sided complex DFT (n//2 + 1 bins) along ``axis``."""

    @staticmethod
    def forward(ctx, a, n, axis, norm):
        ctx.args = (a.shape[axis], n, axis, norm)
        xp = B.array_module(a)
        dt = _real_dtype(a)
        return _to_layout(xp.fft.rfft(a.astype(dt, copy=False), n=n, axis=axis, norm=norm), dt)

    @staticmethod
    def backward(ctx, g):
        # grad_x = Re(sum_k g_k conj(W^{kt})) = n * irfft(g') with the middle bins halved
        # (irfft counts each of them twice through Hermitian symmetry).
        length, n, axis, norm = ctx.args
        m = g.shape[axis]
        w = np.full(m, 0.5)
        w[0] = 1.0
        if n % 2 == 0:
            w[-1] = 1.0
        shape = [1] * g.dim()
        shape[axis] = m
        wt = B.array_module(g._data).asarray(w.reshape(shape), dtype=g._data.dtype)
        r = _IRFFT.apply(g * Tensor._make(wt), n, axis, _DUAL[norm])
        return _resize_adjoint(r, length, axis), None, None, None


class _IRFFT(Op):
    """One-sided complex -> real inverse DFT of length ``n`` along ``axis``."""

    @staticmethod
    def forward(ctx, a, n, axis, norm):
        ctx.args = (a.shape[axis], n, axis, norm)
        xp = B.array_module(a)
        return xp.fft.irfft(_to_complex(a), n=n, axis=axis, norm=norm).astype(
            _real_dtype(a), copy=False)

    @staticmethod
    def backward(ctx, g):
        # dL/dX_k = w_k * rfft(g)_k with w = 1 at DC and Nyquist, 2 elsewhere.
        bins, n, axis, norm = ctx.args
        r = _RFFT.apply(g, n, axis, _DUAL[norm])
        m = n // 2 + 1
        w = np.full(m, 2.0)
        w[0] = 1.0
        if n % 2 == 0:
            w[-1] = 1.0
        shape = [1] * r.dim()
        shape[axis] = m
        wt = B.array_module(r._data).asarray(w.reshape(shape), dtype=r._data.dtype)
        return _resize_adjoint(r * Tensor._make(wt), bins, axis), None, None, None


# ---------------------------------------------------------------------- public API


def _points(n, default, what) -> int:
    """The signal length ``n`` (``default`` when None), checked to be positive."""
    n = default if n is None else int(n)
    if n < 1:
        raise ValueError(f"{what}: invalid number of data points ({n}) specified")
    return n


def _c2c(input, n, dim, norm, inverse, what):
    """fft / ifft: complex layout in and out along logical ``dim``."""
    _check_layout(input, what)
    axis = _logical_dim(dim, input.dim() - 1, what)
    return _FFT.apply(input, _points(n, input.shape[axis], what), axis, _norm(norm), inverse)


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """One-dimensional DFT of a complex tensor (layout ``(..., 2)``, see module doc).

    ``X[k] = sum_t x[t] exp(-2 pi i k t / n)`` (times 1/n for ``norm="forward"``,
    1/sqrt(n) for ``"ortho"``). ``n`` zero-pads or truncates the signal first.

    Example::

        X = kt.fft.fft(kt.fft.complex(kt.tensor([1., 2., 3., 4.])))   # shape (4, 2)
    """
    return _c2c(input, n, dim, norm, False, "fft")


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Inverse of :func:`fft` (complex layout in and out): ``x[t] = 1/n sum_k X[k] e^{+...}``.

    Example::

        x = kt.fft.ifft(kt.fft.fft(z))   # == z
    """
    return _c2c(input, n, dim, norm, True, "ifft")


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """DFT of a real signal, the ``n//2 + 1`` non-negative frequencies, complex layout out.

    Example::

        X = kt.fft.rfft(kt.randn(16))   # shape (9, 2): bins 0..8 as (re, im)
    """
    if input.dim() < 1:
        raise ValueError("rfft expects a tensor with at least one dimension")
    axis = _logical_dim(dim, input.dim(), "rfft")
    n = _points(n, input.shape[axis], "rfft")
    if not input.is_floating_point():
        input = input.to(B.get_default_dtype())
    return _RFFT.apply(input, n, axis, _norm(norm))


def irfft(input: Tensor, n: int | None = None, dim: int = -1,
          norm: str | None = None) -> Tensor:
    """Inverse of :func:`rfft`: one-sided complex layout in, real signal of length ``n``
    (default ``2 * (bins - 1)``) out. The imaginary parts of the DC (and, for even ``n``,
    Nyquist) bins are ignored, as a Hermitian signal has none.

    Example::

        x = kt.fft.irfft(kt.fft.rfft(s), n=s.shape[-1])   # == s
    """
    _check_layout(input, "irfft")
    axis = _logical_dim(dim, input.dim() - 1, "irfft")
    n = _points(n, 2 * (input.shape[axis] - 1), "irfft")
    return _IRFFT.apply(input, n, axis, _norm(norm))


def _dims_sizes(s, dim, ndim):
    """PyTorch's (s, dim) defaults: the last len(s) dims, or all ``ndim`` of them."""
    if dim is None:
        dim = tuple(range(-len(s), 0)) if s is not None else tuple(range(-ndim, 0))
    dim = tuple(dim)
    if s is not None and len(s) != len(dim):
        raise ValueError(f"s and dim must have the same length, got {s} and {dim}")
    s = tuple(s) if s is not None else (None,) * len(dim)
    return dim, s


def fftn(input, s=None, dim=None, norm=None):
    """N-dimensional :func:`fft` over ``dim`` (default: all logical dims), complex layout."""
    _check_layout(input, "fftn")
    dim, s = _dims_sizes(s, dim, input.dim() - 1)
    for d, n in zip(dim, s):
        input = fft(input, n, d, norm)
    return input


def ifftn(input, s=None, dim=None, norm=None):
    """N-dimensional :func:`ifft` (complex layout in and out)."""
    _check_layout(input, "ifftn")
    dim, s = _dims_sizes(s, dim, input.dim() - 1)
    for d, n in zip(dim, s):
        input = ifft(input, n, d, norm)
    return input


def rfftn(input, s=None, dim=None, norm=None):
    """N-dimensional DFT of a real tensor: rfft over the last of ``dim``, fft over the rest."""
    dim, s = _dims_sizes(s, dim, input.dim())
    out = rfft(input, s[-1], dim[-1], norm)
    for d, n in zip(dim[:-1], s[:-1]):
        out = fft(out, n, d, norm)
    return out


def irfftn(input, s=None, dim=None, norm=None):
    """Inverse of :func:`rfftn`: ifft over all but the last of ``dim``, irfft over it."""
    _check_layout(input, "irfftn")
    dim, s = _dims_sizes(s, dim, input.dim() - 1)
    for d, n in zip(dim[:-1], s[:-1]):
        input = ifft(input, n, d, norm)
    return irfft(input, s[-1], dim[-1], norm)


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D :func:`fftn` over the last two logical dims."""
    return fftn(input, s, dim, norm)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D :func:`ifftn`."""
    return ifftn(input, s, dim, norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D :func:`rfftn` over the last two dims of a real tensor."""
    return rfftn(input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    """2-D :func:`irfftn`."""
    return irfftn(input, s, dim, norm)


def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Sample frequencies of an ``n``-point :func:`fft`: ``[0, 1, ..., -1] / (d * n)``.

    Example::

        kt.fft.fftfreq(4)   # tensor([0., 0.25, -0.5, -0.25])
    """
    from ..creation import tensor

    dt = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    return tensor(np.fft.fftfreq(int(n), d), dtype=dt, device=device,
                  requires_grad=requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Sample frequencies of an ``n``-point :func:`rfft`: ``[0, 1, ..., n//2] / (d * n)``."""
    from ..creation import tensor

    dt = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    return tensor(np.fft.rfftfreq(int(n), d), dtype=dt, device=device,
                  requires_grad=requires_grad)


def _shift(input, dim, sign):
    nd = input.dim()
    dims = tuple(range(nd)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    return input.roll(tuple(sign * (input.shape[d] // 2) for d in dims), dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Move the zero frequency to the centre (``roll`` by ``n//2``). For a complex layout
    tensor pass the logical ``dim`` explicitly (the default rolls every dimension)."""
    return _shift(input, dim, 1)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """Inverse of :func:`fftshift`."""
    return _shift(input, dim, -1)


def complex(real: Tensor, imag: Tensor | None = None) -> Tensor:
    """A complex-layout tensor ``(..., 2)`` from real and imaginary parts (imag default 0).

    Example::

        z = kt.fft.complex(kt.tensor([1., 2.]))   # [[1, 0], [2, 0]]
    """
    from .join import stack

    if imag is None:
        imag = real * 0
    return stack([real, imag], -1)


def magnitude(input: Tensor, power: float = 1.0) -> Tensor:
    """``|z| ** power`` of a complex-layout tensor (``power=2`` is the energy, computed
    without a square root, so its gradient is finite at 0)."""
    _check_layout(input, "magnitude")
    energy = (input * input).sum(-1)
    if power == 2.0:
        return energy
    return energy ** (power / 2.0)
