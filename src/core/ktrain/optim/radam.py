"""RAdam: Adam with a rectified adaptive learning rate."""
from __future__ import annotations

from .adam import _adam_moments, _check_adam_args, _zeros_like
from .optimizer import Optimizer, _scalar, _scalar_tensor

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (``torch.optim.RAdam``).

    .. code-block:: text

        t = t + 1;  g = -grad if maximize else grad
        if weight_decay: p = p * (1 - lr*wd) if decoupled_weight_decay else (g = g + wd * p)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m_hat * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r
        else:
            p = p - lr * m_hat

    Args:
        params, lr (default 1e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
        decoupled_weight_decay (False), maximize (False).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _tensor_keys(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _init_state(self, p, group):
        return {"step": _scalar_tensor(0.0), "exp_avg": _zeros_like(p),
                "exp_avg_sq": _zeros_like(p)}

    def _prepare(self, group, C):
        st = C["step"]
        st += 1
        step = float(st[0])
        beta1, beta2 = group["betas"]
        bc1 = 1 - beta1 ** step
        bc2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bc2
        rect = None
        if rho_t > 5.0:  # the variance of the adaptive lr is tractable: rectify
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        return bc1, bc2 ** 0.5, rect

    def _apply(self, group, P, G, S, sc, W):
        xp, dt = W.xp, P.dtype.type
        bc1, bc2_sqrt, rect = sc
        beta1, beta2 = group["betas"]
        lr = _scalar(group["lr"])
        t, d = W.tmp(0), W.tmp(1)
        m, v = _adam_moments(xp, dt, group, P, G, S, t, lr)
        xp.divide(m, dt(bc1), out=t)  # bias-corrected m, times lr
        t *= dt(lr)
        if rect is not None:
            xp.sqrt(v, out=d)  # adaptive lr: sqrt(bc2) / (sqrt(v) + eps)
            d += dt(group["eps"])
            xp.divide(dt(bc2_sqrt), d, out=d)
            t *= d
            t *= dt(rect)
        P -= t
