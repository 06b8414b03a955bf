"""Normalisation: ``F.batch_norm``, ``F.layer_norm``, ``F.group_norm``, ``F.instance_norm``,
``F.rms_norm``, ``F.normalize``, ``F.local_response_norm``.

Batch, instance, layer and group norm check their arguments, reshape the input so that
the statistics axes and the parameter axes are explicit and apply the one fused op
``ops.norm._Norm`` (two-pass statistics, closed-form backward, higher-order gradients
under ``create_graph``); batch and instance norm then update the running statistics in
place. Evaluation mode is a per-channel affine map of the running statistics. RMS norm,
``normalize`` and local response norm are compositions of ktrain ops.
"""
from __future__ import annotations

from ..._backend import array_module
from ..._tensor import Size
from ...amp import autocast_mode as _amp
from ...autograd.grad_mode import no_grad
from ...ops import conv_fusion as _fusion
from ...ops.norm import _EvalAffine, _Norm, _prod

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "normalize",
           "local_response_norm"]


# ---------------------------------------------------------------------- batch / instance


def _channel_view(t, c, nd):
    """A per-channel vector as ``(1, C, 1)`` (or None)."""
    return None if t is None else t.reshape(1, c, 1)


def _affine_eval(input, mean, var, weight, bias, eps):
    """``(x - mean) / sqrt(var + eps) * w + b`` with fixed statistics (per channel)."""
    return _EvalAffine.apply(input, mean, var, weight, bias, float(eps))


def _update_running(running_mean, running_var, mean, var, n, momentum):
    """running = (1 - momentum) * running + momentum * batch (unbiased batch variance)."""
    with no_grad():
        rm, rv = running_mean._data, running_var._data
        unbiased = var * (n / (n - 1)) if n > 1 else var
        m = 0.0 if momentum is None else float(momentum)
        rm *= 1.0 - m
        rm += (mean * m).astype(rm.dtype, copy=False).reshape(rm.shape)
        rv *= 1.0 - m
        rv += (unbiased * m).astype(rv.dtype, copy=False).reshape(rv.shape)
        running_mean._version[0] += 1
        running_var._version[0] += 1


def _check_param(name, t, c, what):
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{what}: {name} should contain {c} elements (one per channel of the "
                           f"input), got {t.numel()} (shape {list(t.shape)})")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over all dimensions but the channel dimension 1.

    Training: normalise with the batch mean and biased variance and update
    ``running_mean``/``running_var`` (when given) with ``momentum`` (the running variance
    takes the unbiased batch variance). Evaluation: normalise with the running statistics.
    Shapes: input ``(N, C, *)``; running stats, weight, bias ``(C,)``.
    """
    if _amp.ANY_ACTIVE:
        input, weight, bias = _amp.cast_inputs("batch_norm", input, weight, bias)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dimensions (N, C, *), "
                         f"got shape {list(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(name, t, c, "batch_norm")
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be defined in "
                               "evaluation mode (training=False)")
        if type(input) is _fusion.PendingConv:  # folded into the conv (ops.conv_fusion)
            y = _fusion.fold_batch_norm(input, running_mean, running_var, weight, bias, eps)
            if y is not None:
                return y
        return _affine_eval(input, running_mean, running_var, weight, bias, eps)
    n = input.numel() // max(c, 1)
    if n <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {Size(input.shape)!r}")
    x = input.reshape(input.shape[0], c, -1)
    stats = [] if running_mean is not None else None
    y = _Norm.apply(x, _channel_view(weight, c, 3), _channel_view(bias, c, 3),
                    axes=(0, 2), eps=float(eps), stats=stats)
    if stats:
        mean, var = stats[0]
        _update_running(running_mean, running_var, mean, var, n, momentum)
    return y.reshape(input.shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its spatial dimensions.

    Shapes: input ``(N, C, *)``; weight, bias, running stats ``(C,)``. With
    ``use_input_stats=False`` the running statistics are used instead.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of at least 3 dimensions "
                         f"(N, C, *), got shape {list(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(name, t, c, "instance_norm")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("instance_norm: expected running_mean and running_var to be "
                               "defined when use_input_stats is false")
        return _affine_eval(input, running_mean, running_var, weight, bias, eps)
    s = input.numel() // max(input.shape[0] * c, 1)
    if s <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{Size(input.shape)!r}")
    x = input.reshape(input.shape[0], c, -1)
    stats = [] if running_mean is not None else None
    y = _Norm.apply(x, _channel_view(weight, c, 3), _channel_view(bias, c, 3),
                    axes=(2,), eps=float(eps), stats=stats)
    if stats:
        mean, var = stats[0]
        _update_running(running_mean, running_var, mean.mean(axis=0), var.mean(axis=0), s,
                        momentum)
    return y.reshape(input.shape)


# ---------------------------------------------------------------------- layer / group


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dimensions, then ``* weight + bias``.

    Shapes: input ``(*, *normalized_shape)``; weight and bias ``normalized_shape``.
    """
    if _amp.ANY_ACTIVE:
        input, weight, bias = _amp.cast_inputs("layer_norm", input, weight, bias)
    ns = _shape_tuple(normalized_shape)
    k = len(ns)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != ns or input.ndim < k:
        raise RuntimeError(f"layer_norm: Given normalized_shape={list(ns)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in ns)}], but got input of size "
                           f"{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"layer_norm: {name} of shape {list(t.shape)} does not match "
                               f"normalized_shape {list(ns)}")
    kk = _prod(ns, range(k))
    x = input.reshape(-1, kk)
    y = _Norm.apply(x, None if weight is None else weight.reshape(kk),
                    None if bias is None else bias.reshape(kk), axes=(1,), eps=float(eps))
    return y.reshape(input.shape)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of ``C / num_groups`` channels of each sample, then apply the
    per-channel ``weight``/``bias``. Shapes: input ``(N, C, *)``, weight/bias ``(C,)``."""
    if _amp.ANY_ACTIVE:
        input, weight, bias = _amp.cast_inputs("group_norm", input, weight, bias)
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected an input of at least 2 dimensions (N, C, *), "
                           f"got shape {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"group_norm: Expected number of channels in input to be divisible "
                           f"by num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        _check_param(name, t, c, "group_norm")
    g = num_groups
    x = input.reshape(n, g, c // g, -1)
    shape = (1, g, c // g, 1)
    y = _Norm.apply(x, None if weight is None else weight.reshape(shape),
                    None if bias is None else bias.reshape(shape), axes=(2, 3), eps=float(eps))
    return y.reshape(input.shape)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last dimensions (eps defaults to the
    dtype's machine epsilon, as in PyTorch)."""
    ns = _shape_tuple(normalized_shape)
    k = len(ns)
    if tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"rms_norm: Given normalized_shape={list(ns)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in ns)}], but got input of size "
                           f"{list(input.shape)}")
    if eps is None:
        eps = float(array_module(input._data).finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)`` along ``dim``."""
    n = input.norm(p, dim, keepdim=True).clamp(min=eps)
    r = input / n
    if out is not None:
        with no_grad():
            out.copy_(r)
        return out
    return r


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Normalise each element by the sum of squares over ``size`` neighbouring channels:
    ``x / (k + alpha / size * sum(x^2))^beta``."""
    from ...ops.padding import pad

    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher dimensional input, got "
                         f"shape {list(input.shape)}")
    if input.numel() == 0:
        return input
    sq = (input * input).unsqueeze(1)  # (N, 1, C, *)
    c = input.shape[1]
    sq = sq.reshape(sq.shape[0], 1, c, -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = sum(sq[:, :, i:i + c] for i in range(size)) * (1.0 / size)
    div = div.reshape(input.shape)
    return input / (div * alpha + k) ** beta
