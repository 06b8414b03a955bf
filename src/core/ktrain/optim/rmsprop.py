"""RMSprop, optionally centered and with momentum."""
from __future__ import annotations

from .adam import _zeros_like
from .optimizer import Optimizer, _scalar, _scalar_tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (``torch.optim.RMSprop``).

    .. code-block:: text

        g = -grad if maximize else grad;  if weight_decay: g = g + wd * p
        v = alpha * v + (1 - alpha) * g * g
        if centered: ga = lerp(ga, g, 1 - alpha);  avg = sqrt(v - ga * ga) + eps
        else: avg = sqrt(v) + eps
        if momentum: b = momentum * b + g / avg;  p = p - lr * b
        else: p = p - lr * g / avg

    Args:
        params, lr (default 1e-2), alpha (0.99), eps (1e-8), weight_decay (0),
        momentum (0), centered (False), maximize (False).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _tensor_keys(self, group):
        keys = ["square_avg"]
        if group["momentum"] > 0:
            keys.append("momentum_buffer")
        if group["centered"]:
            keys.append("grad_avg")
        return tuple(keys)

    def _init_state(self, p, group):
        st = {"step": _scalar_tensor(0.0), "square_avg": _zeros_like(p)}
        if group["momentum"] > 0:
            st["momentum_buffer"] = _zeros_like(p)
        if group["centered"]:
            st["grad_avg"] = _zeros_like(p)
        return st

    def _prepare(self, group, C):
        C["step"] += 1
        return None

    def _apply(self, group, P, G, S, sc, W):
        xp, dt = W.xp, P.dtype.type
        lr = _scalar(group["lr"])
        alpha, wd, mom = group["alpha"], group["weight_decay"], group["momentum"]
        if group["maximize"]:
            xp.negative(G, out=G)
        t = W.tmp(0)
        if wd != 0:
            xp.multiply(P, dt(wd), out=t)
            G += t
        v = S["square_avg"]
        v *= dt(alpha)
        xp.multiply(G, G, out=t)
        t *= dt(1 - alpha)
        v += t
        if group["centered"]:
            ga = S["grad_avg"]
            xp.subtract(G, ga, out=t)
            t *= dt(1 - alpha)
            ga += t
            xp.multiply(ga, ga, out=t)
            xp.subtract(v, t, out=t)
            xp.sqrt(t, out=t)
        else:
            xp.sqrt(v, out=t)
        t += dt(group["eps"])
        xp.divide(G, t, out=t)
        if mom > 0:
            buf = S["momentum_buffer"]
            buf *= dt(mom)
            buf += t
            xp.multiply(buf, dt(lr), out=t)
        else:
            t *= dt(lr)
        P -= t
