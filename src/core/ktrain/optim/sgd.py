"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""
from __future__ import annotations

from .optimizer import Optimizer, _scalar, required  # noqa: F401

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (``torch.optim.SGD``), optionally with momentum.

    .. code-block:: text

        g = -grad if maximize else grad
        if weight_decay: g = g + weight_decay * p
        if momentum:
            b = g                                   (first step: a copy, no dampening)
            b = momentum * b + (1 - dampening) * g  (later steps)
            g = g + momentum * b if nesterov else b
        p = p - lr * g

    Args:
        params: parameters or param groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and zero dampening).
        maximize: maximize the objective instead of minimizing.

    Example::

        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    _scalar_keys = ()
    _lazy_keys = frozenset({"momentum_buffer"})

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if lr is not required and _scalar(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _tensor_keys(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _init_state(self, p, group):
        return {}

    def _prepare(self, group, C):
        return None

    def _apply(self, group, P, G, S, sc, W):
        xp, dt = W.xp, P.dtype.type
        lr = _scalar(group["lr"])
        wd, mom = group["weight_decay"], group["momentum"]
        # no fused kernel here: ktrain._fast's one-pass SGD measured slower than these numpy
        # passes on an idle machine (0.91-0.96 vs 0.57-0.59 ms, MLP parameters, 2 threads)
        if group["maximize"]:
            xp.negative(G, out=G)
        t = W.tmp(0)
        if wd != 0:
            xp.multiply(P, dt(wd), out=t)
            G += t
        upd = G
        if mom != 0:
            buf = S["momentum_buffer"]
            if "momentum_buffer" in W.fresh:
                buf[...] = G
            else:
                buf *= dt(mom)
                damp = group["dampening"]
                if damp != 0:
                    xp.multiply(G, dt(1 - damp), out=t)
                    buf += t
                else:
                    buf += G
            if group["nesterov"]:
                xp.multiply(buf, dt(mom), out=t)
                G += t
            else:
                upd = buf
        xp.multiply(upd, dt(lr), out=t)
        P -= t
