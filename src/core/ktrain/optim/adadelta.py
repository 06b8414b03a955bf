"""Adadelta."""
from __future__ import annotations

from .. import _fast
from . import _fused
from .adam import _zeros_like
from .optimizer import Optimizer, _scalar, _scalar_tensor

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (``torch.optim.Adadelta``).

    .. code-block:: text

        g = -grad if maximize else grad;  if weight_decay: g = g + wd * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    Args:
        params, lr (default 1.0), rho (0.9), eps (1e-6), weight_decay (0), maximize.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _tensor_keys(self, group):
        return ("square_avg", "acc_delta")

    def _init_state(self, p, group):
        return {"step": _scalar_tensor(0.0), "square_avg": _zeros_like(p),
                "acc_delta": _zeros_like(p)}

    def _prepare(self, group, C):
        C["step"] += 1
        return None

    def _apply(self, group, P, G, S, sc, W):
        xp, dt = W.xp, P.dtype.type
        rho, eps, wd = group["rho"], dt(group["eps"]), group["weight_decay"]
        v, u = S["square_avg"], S["acc_delta"]
        if type(self)._apply is Adadelta._apply and P.ndim == 1 and _fast.use(P, G, v, u):
            _fused._adadelta(P, G, v, u, dt(_scalar(group["lr"])), dt(rho), dt(1 - rho), eps,
                             dt(wd), bool(group["maximize"]))  # one pass (ktrain._fast)
            return
        if group["maximize"]:
            xp.negative(G, out=G)
        t, d = W.tmp(0), W.tmp(1)
        if wd != 0:
            xp.multiply(P, dt(wd), out=t)
            G += t
        v *= dt(rho)
        xp.multiply(G, G, out=t)
        t *= dt(1 - rho)
        v += t
        xp.add(v, eps, out=t)  # std
        xp.sqrt(t, out=t)
        xp.add(u, eps, out=d)  # delta
        xp.sqrt(d, out=d)
        d /= t
        d *= G
        u *= dt(rho)
        xp.multiply(d, d, out=t)
        t *= dt(1 - rho)
        u += t
        d *= dt(_scalar(group["lr"]))
        P -= d
