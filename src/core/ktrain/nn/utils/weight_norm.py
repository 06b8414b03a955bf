"""Weight normalisation: ``w = g * v / ||v||`` recomputed before each forward."""
from __future__ import annotations

from ..parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm"]


def _norm_except_dim(v, dim):
    if dim is None or dim == -1 and v.dim() == 0:
        return v.norm()
    dims = [d for d in range(v.dim()) if d != dim % v.dim()]
    return (v * v).sum(dim=dims, keepdim=True).sqrt()


class _WeightNorm:
    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module, args):
        object.__setattr__(module, self.name, self.compute(module))


def weight_norm(module, name="weight", dim=0):
    """Reparametrise ``module.<name>`` as magnitude ``<name>_g`` times direction ``<name>_v``."""
    weight = getattr(module, name)
    hook = _WeightNorm(name, dim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    object.__setattr__(module, name, hook.compute(module))
    handle = module.register_forward_pre_hook(hook)
    module.__dict__.setdefault("_weight_norm_hooks", {})[name] = handle
    return module


def remove_weight_norm(module, name="weight"):
    hooks = module.__dict__.get("_weight_norm_hooks", {})
    if name not in hooks:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    hooks.pop(name).remove()
    w = _WeightNorm(name, None)
    weight = getattr(module, name).detach()
    del module._parameters[name + "_g"]
    del module._parameters[name + "_v"]
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(weight))
    del w
    return module
