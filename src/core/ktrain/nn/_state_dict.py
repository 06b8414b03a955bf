"""How a Module's own entries are copied in ``load_state_dict`` (PyTorch's rules).

``Module._load_from_state_dict`` stays the override point for layers that adapt old
formats; it runs the pre-hooks and then :func:`load_own_entries`, which copies this
module's parameters and persistent buffers and collects every problem (missing and
unexpected keys, shape mismatches, non-tensor values) instead of stopping at the first.
:func:`raise_load_errors` reports them all in one error, worded as PyTorch words it.
"""
from __future__ import annotations

import itertools

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad


def load_own_entries(module, state_dict, prefix, strict, missing_keys, unexpected_keys,
                     error_msgs) -> None:
    """Copy ``module``'s own parameters/persistent buffers from ``state_dict[prefix+name]``."""
    persistent = {k: v for k, v in module._buffers.items()
                  if k not in module._non_persistent_buffers_set}
    # as in PyTorch, a None entry (Linear(bias=False).bias) is not part of the state
    local = {k: v for k, v in itertools.chain(module._parameters.items(), persistent.items())
             if v is not None}
    for name, param in local.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        src = state_dict[key]
        if not isinstance(src, Tensor):
            from ..creation import as_tensor

            try:
                src = as_tensor(src)
            except Exception:
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  f"a tensor, got {type(src).__name__}.")
                continue
        if tuple(src.shape) != tuple(param.shape):
            error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                              f"{list(src.shape)} from checkpoint, the shape in current "
                              f"model is {list(param.shape)}.")
            continue
        with no_grad():
            param.copy_(src)
    if strict:
        children = module._modules
        for key in state_dict:
            if key.startswith(prefix):
                rest = key[len(prefix):]
                head = rest.split(".", 1)[0]
                if head not in children and "." not in rest and head not in local:
                    unexpected_keys.append(key)
                elif "." in rest and head not in children:
                    unexpected_keys.append(key)
                elif head in module._non_persistent_buffers_set and "." not in rest:
                    unexpected_keys.append(key)


def raise_load_errors(module, strict, missing, unexpected, errors) -> None:
    """One RuntimeError listing every problem of a ``load_state_dict`` call (if any)."""
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                           + "\n\t".join(errors))
