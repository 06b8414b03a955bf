"""Discrete Fourier transforms with autograd (PyTorch's ``torch.fft`` names).

**Complex layout.** ktrain tensors have no complex dtype; a complex tensor of logical
shape ``S`` is stored as a real tensor of shape ``(*S, 2)`` whose trailing dimension holds
``(real, imag)``, exactly what ``torch.view_as_real`` returns. So::

    x = kt.randn(8)                       # a real signal
    X = kt.fft.rfft(x)                    # shape (5, 2): 5 complex bins as (re, im)
    x2 = kt.fft.irfft(X, n=8)             # back to shape (8,)
    Z = kt.fft.fft(kt.fft.complex(x))     # full complex spectrum, shape (8, 2)
    mag = kt.fft.magnitude(X)             # |X|, shape (5,)

* ``rfft`` takes a real tensor and returns the complex layout; ``irfft`` the reverse.
* ``fft``/``ifft`` take and return the complex layout (make one from real parts with
  :func:`complex`).
* ``dim`` always counts in the *logical* shape (the trailing 2 is not a dimension of the
  signal): ``dim=-1`` of a ``(4, 8, 2)`` layout tensor is its length-8 dimension.
* ``norm`` is PyTorch's: ``"backward"`` (default, no scaling forward, 1/n inverse),
  ``"ortho"`` (1/sqrt(n) both ways) or ``"forward"`` (1/n forward, none inverse).

Transforms run through the array module of the input (``numpy.fft`` or ``cupy.fft``);
float32 in gives float32 out, float64 gives float64. Gradients are exact: the adjoint of
each transform is another transform (written with these ops, so double backward works).

The transforms are ops and live in :mod:`ktrain.ops.fft`; this module is their public
namespace (the same objects).
"""
from __future__ import annotations

from .ops import fft as _ops_fft
from .ops.fft import *  # noqa: F401,F403  (the same function objects)

__all__ = list(_ops_fft.__all__)
