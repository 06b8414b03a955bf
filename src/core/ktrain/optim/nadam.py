"""NAdam: Adam with Nesterov momentum (momentum decay schedule of Dozat)."""
from __future__ import annotations

from .adam import _adam_moments, _check_adam_args, _zeros_like
from .optimizer import Optimizer, _scalar, _scalar_tensor

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (``torch.optim.NAdam``).

    .. code-block:: text

        t = t + 1;  g = -grad if maximize else grad
        if weight_decay: p = p * (1 - lr*wd) if decoupled_weight_decay else (g = g + wd * p)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay));  mu_{t+1} likewise
        mu_product = mu_product * mu_t
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
              - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    Args:
        params, lr (default 2e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0),
        momentum_decay (4e-3), decoupled_weight_decay (False), maximize (False).
    """

    _scalar_keys = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _tensor_keys(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _init_state(self, p, group):
        return {"step": _scalar_tensor(0.0), "mu_product": _scalar_tensor(1.0),
                "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def _prepare(self, group, C):
        st, mp = C["step"], C["mu_product"]
        st += 1
        step = float(st[0])
        beta1, beta2 = group["betas"]
        md = group["momentum_decay"]
        lr = _scalar(group["lr"])
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * md)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
        mp *= mp.dtype.type(mu)  # a float32 state, rounded as PyTorch's
        mu_product = float(mp[0])
        mu_product_next = mu_product * mu_next
        return (1 - beta2 ** step, -lr * (1.0 - mu) / (1.0 - mu_product),
                (-lr * mu_next) / (1.0 - mu_product_next))

    def _apply(self, group, P, G, S, sc, W):
        xp, dt = W.xp, P.dtype.type
        bc2, c_grad, c_avg = sc
        beta1, beta2 = group["betas"]
        t, d = W.tmp(0), W.tmp(1)
        m, v = _adam_moments(xp, dt, group, P, G, S, t, _scalar(group["lr"]))
        xp.divide(v, dt(bc2), out=d)
        xp.sqrt(d, out=d)
        d += dt(group["eps"])
        xp.divide(G, d, out=t)
        t *= dt(c_grad)
        P += t
        xp.divide(m, d, out=t)
        t *= dt(c_avg)
        P += t
