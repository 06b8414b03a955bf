"""Finite-difference checks of backward rules (``gradcheck``) and of their own
derivatives (``gradgradcheck``), in float64, as ``torch.autograd.gradcheck``.

The Tensor class comes through ``autograd.function``'s slot (``_tensor`` sits above).
"""
from __future__ import annotations

import numpy as np

from . import function as _function
from .engine import grad as autograd_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "numerical_jacobian",
           "analytical_jacobian"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when numerical and analytical gradients disagree."""


def _tensors(inputs):
    Tensor = _function.Tensor

    return [x for x in inputs if isinstance(x, Tensor) and x._rg]


def _outputs(fn, inputs):
    Tensor = _function.Tensor

    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor)]


def numerical_jacobian(fn, inputs, eps=1e-6):
    """Central differences: one (n_out_total, n_in) matrix per differentiable input."""
    diff = _tensors(inputs)
    if True:  # grad stays enabled: gradgradcheck's function itself calls autograd.grad
        outs = _outputs(fn, inputs)
        sizes = [o._data.size for o in outs]
        jacs = []
        for x in diff:
            arr = x._data
            if arr.dtype != np.float64:
                raise GradcheckError(f"gradcheck needs float64 inputs, got {x.dtype} "
                                     "(double precision makes finite differences meaningful)")
            J = np.zeros((sum(sizes), arr.size))
            it = np.ndindex(*arr.shape) if arr.ndim else [()]
            for j, idx in enumerate(it):
                orig = arr[idx].item()
                arr[idx] = orig + eps
                plus = [np.asarray(o._data.get() if hasattr(o._data, "get") else o._data,
                                   dtype=np.float64).ravel().copy() for o in _outputs(fn, inputs)]
                arr[idx] = orig - eps
                minus = [np.asarray(o._data.get() if hasattr(o._data, "get") else o._data,
                                    dtype=np.float64).ravel().copy()
                         for o in _outputs(fn, inputs)]
                arr[idx] = orig
                J[:, j] = np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]) \
                    if plus else 0
            jacs.append(J)
    return jacs


def analytical_jacobian(fn, inputs):
    """Backward once per output element; returns one matrix per differentiable input."""
    Tensor = _function.Tensor

    diff = _tensors(inputs)
    outs = _outputs(fn, inputs)
    outs_rg = [o for o in outs if o._rg]
    total = sum(o._data.size for o in outs)
    jacs = [np.zeros((total, x._data.size)) for x in diff]
    row = 0
    for o in outs:
        n = o._data.size
        if not o._rg:
            row += n
            continue
        for k in range(n):
            g = np.zeros(o._data.shape, o._data.dtype)
            g.reshape(-1)[k] = 1
            grads = autograd_grad([o], diff, [Tensor._make(g)], retain_graph=True,
                                  allow_unused=True)
            for J, gi in zip(jacs, grads):
                if gi is not None:
                    a = gi._data.get() if hasattr(gi._data, "get") else gi._data
                    J[row + k] = np.asarray(a, dtype=np.float64).ravel()
        row += n
    del outs_rg
    return jacs


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False, **_ignored) -> bool:
    """Compare backward against central finite differences for float64 inputs.

    Returns True, or raises ``GradcheckError`` naming the input and the worst element.
    """

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if not _tensors(inputs):
        raise GradcheckError("gradcheck expects at least one input tensor with "
                             "requires_grad=True")
    num = numerical_jacobian(func, inputs, eps)
    ana = analytical_jacobian(func, inputs)
    diff = _tensors(inputs)
    for i, (n, a) in enumerate(zip(num, ana)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            err = np.abs(a - n) - (atol + rtol * np.abs(n))
            r, c = np.unravel_index(np.argmax(err), err.shape)
            msg = (f"Jacobian mismatch for output element {r} with respect to input {i} "
                   f"(shape {list(diff[i].shape)}), element {c}:\n"
                   f"numerical: {n[r, c]!r}\nanalytical: {a[r, c]!r}\n"
                   f"max abs difference {np.abs(a - n).max():.3e}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> grad of func."""
    Tensor = _function.Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _outputs(func, inputs)
    rng = np.random.default_rng(0)
    if grad_outputs is None:
        grad_outputs = tuple(Tensor._make(rng.standard_normal(o._data.shape))._set_rg()
                             for o in outs)
    grad_outputs = tuple(grad_outputs)
    n_in = len(inputs)

    def first_grad(*args):
        xs, gos = args[:n_in], args[n_in:]
        diff = _tensors(xs)
        os_ = _outputs(func, xs)
        pairs = [(o, g) for o, g in zip(os_, gos) if o._rg]
        gs = autograd_grad([o for o, _ in pairs], diff, [g for _, g in pairs],
                           create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grad, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
