"""``ktrain.onnx.export``: a model as an ONNX file, built from the ``ktrain.jit`` graph.

    ktrain.onnx.export(model.eval(), ktrain.randn(1, 3, 32, 32), "model.onnx",
                       input_names=["image"], output_names=["logits"],
                       dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})

``torch.onnx.export``'s meaning: ``args`` are the example inputs (a tensor or a tuple),
``dynamic_axes`` names the axes that stay free (the batch axis 0: the graph is traced
with a symbolic batch); without it every shape is fixed. The model is traced
(``ktrain.jit.trace``), each node becomes ONNX operators of ``opset_version`` (default
17) through the converters in ``_ops.py``, parameters and buffers become initializers
under their ``state_dict`` names, and ``onnx.checker.check_model`` runs on the result.
A node with no converter is an ``UnsupportedOperatorError`` naming the op, the node, the
source line that applied it and the opset, never a partial or silently wrong file.

Needs the ``onnx`` package: ``pip install "ktrain[export]"``. Supported now: the ops of
the vision and audio plugins' convolutional models (convolutions incl. grouped, dilated,
1-D; pooling, batch norm in eval, ReLU/ReLU6, linear, residual adds, padding, slicing,
reshapes, concatenation, adaptive average pooling, log-softmax) and of the text models
on padded batches (embeddings, layer norm, GELU, scaled dot-product attention with
padding and causal masks, comparisons and masks, max/mean pooling), and LSTM/GRU/RNN
layers (multi-layer, bidirectional, with their final states) over padded batches; not
yet: packed sequences of different lengths, LSTM with ``proj_size``,
``EmbeddingBag``, the audio front-end. Also covered: transposed/grouped/dilated
convolutions, average pooling, group/instance norm, LeakyReLU/ELU/SiLU/Softplus/
Hardswish/Hardsigmoid/Mish/PReLU, multi-head attention and the Transformer layers.

``ktrain.onnx.load(path)`` imports a graph (ours or another framework's) that uses the
operators listed in ``_import.SUPPORTED`` as a trainable ``OnnxModule`` (``_import.py``).
"""
from __future__ import annotations

from ._export import UnsupportedOperatorError, export
from ._import import OnnxModule, load

__all__ = ["OnnxModule", "UnsupportedOperatorError", "export", "load"]
