"""Adagrad with learning-rate decay and an initial accumulator value."""
from __future__ import annotations

from .._tensor import Tensor
from .optimizer import Optimizer, _scalar, _scalar_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (``torch.optim.Adagrad``). Its state is created at construction, as in
    PyTorch.

    .. code-block:: text

        t = t + 1;  g = -grad if maximize else grad;  if weight_decay: g = g + wd * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g;  p = p - clr * g / (sqrt(s) + eps)

    Args:
        params, lr (default 1e-2), lr_decay (0), weight_decay (0),
        initial_accumulator_value (0), eps (1e-10), maximize (False).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(self._init_state(p, group))

    def _tensor_keys(self, group):
        return ("sum",)

    def _init_state(self, p, group):
        # PyTorch fills the accumulator with the optimizer-wide default
        v = self.defaults["initial_accumulator_value"]
        return {"step": _scalar_tensor(0.0),
                "sum": Tensor._make(p._xp().full(p._data.shape, v, p._data.dtype))}

    def _prepare(self, group, C):
        st = C["step"]
        st += 1
        step = float(st[0])
        return _scalar(group["lr"]) / (1 + (step - 1) * group["lr_decay"])

    def _apply(self, group, P, G, S, clr, W):
        xp, dt = W.xp, P.dtype.type
        wd = group["weight_decay"]
        if group["maximize"]:
            xp.negative(G, out=G)
        t = W.tmp(0)
        if wd != 0:
            xp.multiply(P, dt(wd), out=t)
            G += t
        s = S["sum"]
        xp.multiply(G, G, out=t)
        s += t
        xp.sqrt(s, out=t)
        t += dt(group["eps"])
        xp.divide(G, t, out=t)
        t *= dt(clr)
        P -= t
