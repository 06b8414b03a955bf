"""``summary(model, input)``: a per-layer table of output shapes and parameter counts."""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["summary"]


def _shape(out):
    if isinstance(out, Tensor):
        return list(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shape(o) for o in out]
    return "-"


def summary(model, *inputs, depth=None, print_fn=None):
    """Describe ``model``: one row per module with its output shape (when inputs are given)
    and its own parameter count, then totals. Returns the table as a string (and prints it
    when ``print_fn`` is given, e.g. ``print``)."""
    rows = []
    shapes = {}
    handles = []
    if inputs:
        def hook_for(name):
            def hook(mod, args, out):
                shapes[name] = _shape(out)
            return hook

        for name, mod in model.named_modules():
            handles.append(mod.register_forward_hook(hook_for(name)))
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                model(*inputs)
        finally:
            model.train(was_training)
            for h in handles:
                h.remove()
    for name, mod in model.named_modules():
        level = 0 if not name else name.count(".") + 1
        if depth is not None and level > depth:
            continue
        own = sum(p.numel() for p in mod.parameters(recurse=False))
        trainable = sum(p.numel() for p in mod.parameters(recurse=False) if p.requires_grad)
        label = ("  " * level) + (name.rsplit(".", 1)[-1] + ": " if name else "") + \
            type(mod).__name__
        rows.append((label, str(shapes.get(name, "")), own, trainable))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    nbytes = sum(p.nbytes for p in model.parameters()) + sum(b.nbytes for b in model.buffers())
    w0 = max(len("Layer (type)"), *(len(r[0]) for r in rows))
    w1 = max(len("Output shape"), *(len(r[1]) for r in rows))
    lines = [f"{'Layer (type)':<{w0}}  {'Output shape':<{w1}}  {'Param #':>12}",
             "=" * (w0 + w1 + 16)]
    for label, shape, own, _ in rows:
        lines.append(f"{label:<{w0}}  {shape:<{w1}}  {own:>12,}")
    lines += ["=" * (w0 + w1 + 16), f"Total params: {total:,}",
              f"Trainable params: {trainable:,}", f"Non-trainable params: {total - trainable:,}",
              f"Parameter and buffer size: {nbytes / 2 ** 20:.2f} MiB"]
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text
