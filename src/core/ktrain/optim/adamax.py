"""Adamax: Adam with the infinity norm."""
from __future__ import annotations

from .adam import _check_adam_args, _zeros_like
from .optimizer import Optimizer, _scalar, _scalar_tensor

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (``torch.optim.Adamax``).

    .. code-block:: text

        t = t + 1;  g = -grad if maximize else grad;  if weight_decay: g = g + wd * p
        m = lerp(m, g, 1 - beta1);  u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u

    Args:
        params, lr (default 2e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
        maximize (False).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _tensor_keys(self, group):
        return ("exp_avg", "exp_inf")

    def _init_state(self, p, group):
        return {"step": _scalar_tensor(0.0), "exp_avg": _zeros_like(p),
                "exp_inf": _zeros_like(p)}

    def _prepare(self, group, C):
        st = C["step"]
        st += 1
        return _scalar(group["lr"]) / (1 - group["betas"][0] ** float(st[0]))

    def _apply(self, group, P, G, S, clr, W):
        xp, dt = W.xp, P.dtype.type
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        if group["maximize"]:
            xp.negative(G, out=G)
        t = W.tmp(0)
        if wd != 0:
            xp.multiply(P, dt(wd), out=t)
            G += t
        m, u = S["exp_avg"], S["exp_inf"]
        xp.subtract(G, m, out=t)
        t *= dt(1 - beta1)
        m += t
        u *= dt(beta2)
        xp.abs(G, out=t)
        t += dt(group["eps"])
        xp.maximum(u, t, out=u)
        xp.divide(m, u, out=t)
        t *= dt(clr)
        P -= t
