"""Adam (and the decoupled weight decay of AdamW), with AMSGrad and maximize."""
from __future__ import annotations

from .. import _fast
from . import _fused
from .optimizer import Optimizer, _scalar, _scalar_tensor

__all__ = ["Adam"]


def _check_adam_args(lr, betas, eps, weight_decay):
    if not 0.0 <= _scalar(lr):
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= _scalar(betas[0]) < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= _scalar(betas[1]) < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _zeros_like(p):
    from .._tensor import Tensor

    return Tensor._make(p._xp().zeros(p._data.shape, p._data.dtype))


def _adam_moments(xp, dt, group, P, G, S, t, lr):
    """The steps Adam, NAdam and RAdam share, in place on (flat) buffers: maximize,
    weight decay (decoupled: P *= 1 - lr*wd; else L2 added to G), then
    m <- m + (1 - beta1) (g - m) and v <- beta2 v + (1 - beta2) g^2. ``t`` is scratch.
    Returns (m, v)."""
    beta1, beta2 = group["betas"]
    wd = group["weight_decay"]
    if group["maximize"]:
        xp.negative(G, out=G)
    if wd != 0:
        if group["decoupled_weight_decay"]:
            P *= dt(1 - lr * wd)
        else:
            xp.multiply(P, dt(wd), out=t)
            G += t
    m, v = S["exp_avg"], S["exp_avg_sq"]
    xp.subtract(G, m, out=t)  # m.lerp_(g, 1 - beta1)
    t *= dt(1 - beta1)
    m += t
    v *= dt(beta2)
    xp.multiply(G, G, out=t)
    t *= dt(1 - beta2)
    v += t
    return m, v


class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``); ``decoupled_weight_decay=True`` gives AdamW.

    .. code-block:: text

        t = t + 1;  g = -grad if maximize else grad
        if weight_decay: p = p * (1 - lr*wd) if decoupled else (g = g + wd * p)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        vmax = max(vmax, v) if amsgrad
        p = p - lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)

    Args:
        params: parameters or param groups.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages of the gradient and its square.
        eps: term added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the maximum of past squared-gradient averages.
        maximize: maximize the objective.
        decoupled_weight_decay: AdamW's decay of the weights themselves.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        betas = tuple(_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _tensor_keys(self, group):
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else \
            ("exp_avg", "exp_avg_sq")

    def _init_state(self, p, group):
        st = {"step": _scalar_tensor(0.0), "exp_avg": _zeros_like(p),
              "exp_avg_sq": _zeros_like(p)}
        if group["amsgrad"]:
            st["max_exp_avg_sq"] = _zeros_like(p)
        return st

    def _prepare(self, group, C):
        st = C["step"]
        st += 1
        step = float(st[0])
        beta1, beta2 = group["betas"]
        lr = _scalar(group["lr"])
        return lr / (1 - beta1 ** step), (1 - beta2 ** step) ** 0.5

    def _apply(self, group, P, G, S, sc, W):
        xp, dt = W.xp, P.dtype.type
        step_size, bc2_sqrt = sc
        beta1, beta2 = group["betas"]
        lr = _scalar(group["lr"])
        if (not group["amsgrad"] and type(self)._apply is Adam._apply and P.ndim == 1
                and _fast.use(P, G, *S.values())):  # one fused pass (ktrain._fast)
            wd = group["weight_decay"]
            dec = bool(group["decoupled_weight_decay"])
            _fused._adam(P, G, S["exp_avg"], S["exp_avg_sq"], dt(step_size), dt(bc2_sqrt),
                         dt(1 - beta1), dt(beta2), dt(1 - beta2), dt(group["eps"]),
                         dt(0 if dec else wd), dt(1 - lr * wd if dec else 1),
                         bool(group["maximize"]))
            return
        t = W.tmp(0)
        m, v = _adam_moments(xp, dt, group, P, G, S, t, lr)
        if group["amsgrad"]:
            vmax = S["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        xp.sqrt(v, out=t)
        t /= dt(bc2_sqrt)
        t += dt(group["eps"])
        xp.divide(m, t, out=t)
        t *= dt(step_size)
        P -= t
