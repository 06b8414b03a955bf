"""``ktrain.jit``: graph capture, saved graphs that load without the model's code.

``trace(module_or_fn, example_inputs)`` runs the forward and records every op applied
(hooked at ``Op.apply``, the one place ops are applied) into a ``Graph``: nodes (op,
attributes), values (shape with a symbolic batch dimension ``B``, dtype), the module's
parameters and buffers as named constants. It returns a ``TracedModule`` whose
``.graph`` prints one line per node and whose call runs the graph::

    traced = ktrain.jit.trace(model.eval(), ktrain.randn(8, 3, 32, 32))
    print(traced.graph)
    ktrain.jit.save(traced, "model.kt")          # one safetensors file
    m = ktrain.jit.load("model.kt")              # no model code, no plugin imported
    m(ktrain.randn(3, 3, 32, 32))                # any batch size (dynamic_batch=True)

What a trace guarantees (and checks): the graph computes what the eager forward computes
for inputs of the traced shapes (the batch size free with ``dynamic_batch``), as long as
the forward's control flow does not depend on input values. Reading a tensor's value into
Python (``.item()``, ``bool(t)``, ``.tolist()``, ``.numpy()``) warns with
``TracerWarning`` at the line that did it (``strict=True``: an error). A tensor the
forward builds outside the op mechanism is kept only when it does not depend on the
inputs (checked with a second run on other inputs); ``check_trace`` compares the graph
with eager mode on a third input. A graph traced in ``train()`` mode keeps the training
behaviour of the ops it recorded but does not update BatchNorm running statistics (trace
inference graphs in ``eval()`` mode).

Saved format: see ``ktrain.jit._serialize`` (safetensors + the JSON graph of
``ktrain.jit._ir``, schema version 1). Loading parses JSON and tensor bytes only, resolves
op names against ktrain's own op classes and never imports or runs anything a file names.
"""
from __future__ import annotations

from ._capture import trace
from ._ir import Graph, GraphError
from ._module import TracedModule
from ._serialize import load, save
from ._tracer import TracerWarning, TracingError

# PyTorch's names for what ``trace`` returns
ScriptModule = TracedModule
TopLevelTracedModule = TracedModule

__all__ = ["Graph", "GraphError", "ScriptModule", "TopLevelTracedModule", "TracedModule",
           "TracerWarning", "TracingError", "load", "save", "trace"]
