"""Render the backward graph of a tensor as Graphviz dot text (``to_dot(loss)``).

Feed the text to ``dot -Tpng`` (Graphviz) or any online viewer. Leaves that require
grad are shown with their shape; nodes with the op name; edges point from an op to
the ops/leaves that receive its gradient, as PyTorch's graph is traversed by backward.
"""
from __future__ import annotations

from .function import AccumulateGrad, Node

__all__ = ["to_dot", "walk"]


def walk(root):
    """Yield every node reachable from ``root`` (a Node) once, iteratively."""
    seen = {id(root)}
    stack = [root]
    while stack:
        n = stack.pop()
        yield n
        for nxt, _ in n.next_functions:
            if nxt is not None and id(nxt) not in seen and isinstance(nxt, Node):
                seen.add(id(nxt))
                stack.append(nxt)


def to_dot(tensor, params=None, name="ktrain_graph") -> str:
    """Graphviz dot source for the graph that produced ``tensor``.

    ``params``: optional ``{name: tensor}`` (e.g. ``dict(model.named_parameters())``) used
    to label leaves.
    """
    labels = {id(t): n for n, t in (params or {}).items()}
    lines = [f"digraph {name} {{", '  node [shape=box, fontname="monospace", fontsize=10];']
    root = tensor.grad_fn
    out_id = "out"
    lines.append(f'  {out_id} [label="output\\n{tuple(tensor.shape)}", style=filled, '
                 'fillcolor="#c6e2ff"];')
    if root is None:
        lines.append("}")
        return "\n".join(lines)
    lines.append(f"  {out_id} -> n{id(root)};")
    for node in walk(root):
        lines.append(f'  n{id(node)} [label="{node.name()}"];')
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            if isinstance(nxt, AccumulateGrad):
                v = nxt.variable
                lid = f"l{id(v)}"
                label = labels.get(id(v), "leaf")
                lines.append(f'  {lid} [label="{label}\\n{tuple(v.shape)}", style=filled, '
                             'fillcolor="#d5f5d5"];')
                lines.append(f"  n{id(node)} -> {lid};")
            else:
                lines.append(f"  n{id(node)} -> n{id(nxt)};")
    lines.append("}")
    # a leaf reached from several nodes is declared more than once: keep the first
    seen, out = set(), []
    for ln in lines:
        if ln.endswith("];") and "->" not in ln:
            key = ln.split("[", 1)[0]
            if key in seen:
                continue
            seen.add(key)
        out.append(ln)
    return "\n".join(out)
