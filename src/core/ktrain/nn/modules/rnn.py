"""Recurrent layers: RNN, LSTM, GRU and their single-step cells (PyTorch's names,
parameter layout, gate order and formulas).

Speed comes from one decision: a layer and direction is one fused ``Op``. Its forward
projects the inputs of every step with one GEMM (``x @ W_ih^T``), then loops over time
on raw arrays (one hidden GEMM and a few fused gate operations per step, written into
preallocated buffers); its backward loops back over time the same way and finishes with
one GEMM each for ``dW_hh``, ``dW_ih`` and ``dx`` over all steps. The autograd graph of
a layer is therefore one node, not dozens per step.

Packed sequences run the same loop with a shrinking batch: at step ``t`` only the first
``batch_sizes[t]`` rows advance, the others keep their state, so the final states are
taken at each sequence's true last step.

Under ``create_graph=True`` the backward runs as ktrain ops on a recomputed forward
(slower, but differentiable again), so higher-order gradients work too.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ..._tensor import Tensor
from ...ops.join import cat, stack
from ...ops.rnn import _GRURecurrence, _LSTMRecurrence, _RNNRecurrence
from .. import functional as F
from .. import init
from ..functional.rnn import _layer, _packed_steps, _padded_steps
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_wrap = Tensor._make


# ---------------------------------------------------------------------- RNN modules


class RNNBase(Module):
    """Base of RNN, LSTM and GRU: parameters (PyTorch's names, shapes and init) and the
    shared forward over layers, directions, padded or packed input."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, v in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(v, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(v).__name__}")
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int):
                raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
            if v <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}.get(mode)
        if gates is None:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        from ...creation import empty

        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(dirs):
                in_size = input_size if layer == 0 else real_hidden * dirs
                sfx = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gates * hidden_size, in_size)),
                          ("weight_hh", (gates * hidden_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gates * hidden_size,)),
                               ("bias_hh", (gates * hidden_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    name = f"{base}_l{layer}{sfx}"
                    setattr(self, name, Parameter(empty(shape, **kw)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every weight and bias."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def flatten_parameters(self):
        """No-op (PyTorch packs weights for cuDNN here; ktrain needs no flat buffer)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ------------------------------------------------------------------ forward
    def _state_shapes(self, n):
        dirs = 2 if self.bidirectional else 1
        h = (self.num_layers * dirs, n, self.proj_size or self.hidden_size)
        return h, (self.num_layers * dirs, n, self.hidden_size)

    def forward(self, input, hx=None):
        lstm = self.mode == "LSTM"
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        packed = isinstance(input, PackedSequence)
        batched = True
        if packed:
            x, batch_sizes, sorted_indices, unsorted_indices = input
            bs = [int(v) for v in batch_sizes.tolist()]
            steps, n = _packed_steps(bs), bs[0]
            if x.dim() != 2:
                raise RuntimeError(f"input must have 2 dimensions, got {x.dim()}")
        else:
            sorted_indices = unsorted_indices = None
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                                 "tensor instead")
            batched = input.dim() == 3
            bdim = 0 if self.batch_first else 1
            if not batched:
                input = input.unsqueeze(bdim)
                if hx is not None:
                    hs = hx if lstm else (hx,)
                    if any(h.dim() != 2 for h in hs):
                        raise RuntimeError(
                            f"For unbatched 2-D input, hx should also be 2-D but got "
                            f"{', '.join(f'{h.dim()}-D' for h in hs)} tensor")
                    hx = tuple(h.unsqueeze(1) for h in hs) if lstm else hx.unsqueeze(1)
            elif hx is not None and any(h.dim() != 3 for h in (hx if lstm else (hx,))):
                raise RuntimeError("For batched 3-D input, hx should also be 3-D but got "
                                   f"{', '.join(f'{h.dim()}-D' for h in (hx if lstm else (hx,)))}"
                                   " tensor")
            x = input.transpose(0, 1) if self.batch_first else input
            t_len, n = x.shape[0], x.shape[1]
            steps = _padded_steps(t_len, n)
            x = x.reshape(t_len * n, x.shape[2])
        w0 = getattr(self, self._flat_weights_names[0])
        if x.dtype != w0.dtype:
            raise ValueError(f"{name} input dtype ({x.dtype}) does not match weight dtype "
                             f"({w0.dtype}). Convert input: input.to({w0.dtype}), or convert "
                             f"model: model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        h_shape, c_shape = self._state_shapes(n)
        if hx is None:
            h0 = x.new_zeros(h_shape)
            c0 = x.new_zeros(c_shape) if lstm else None
        else:
            h0, c0 = hx if lstm else (hx, None)
            msgs = ("Expected hidden[0] size {}, got {}", "Expected hidden[1] size {}, got {}") \
                if lstm else ("Expected hidden size {}, got {}",)
            for t, shape, msg in zip((h0, c0), (h_shape, c_shape), msgs):
                if tuple(t.shape) != shape:
                    raise RuntimeError(msg.format(shape, list(t.shape)))
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if lstm else None
        dirs = 2 if self.bidirectional else 1
        hns, cns = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                weights = [getattr(self, nm) for nm in self._all_weights[k]]
                y, hn, cn = _layer(self.mode, x, h0[k], c0[k] if lstm else None, weights,
                                   self.bias, steps, d == 1)
                outs.append(y)
                hns.append(hn)
                cns.append(cn)
            x = outs[0] if dirs == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(hns, 0)
        c_n = stack(cns, 0) if lstm else None
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if lstm else None
        hidden = (h_n, c_n) if lstm else h_n
        if packed:
            return PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices), hidden
        out = x.reshape(t_len, n, x.shape[1])
        if self.batch_first:  # contiguous, as PyTorch's (code calls .view on it)
            out = out.transpose(0, 1).contiguous()
        if not batched:
            out = out.squeeze(bdim)
            hidden = (h_n.squeeze(1), c_n.squeeze(1)) if lstm else h_n.squeeze(1)
        return out, hidden


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act tanh or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, hx=None)``
    returns ``(output, h_n)``. Input ``(T, N, input_size)`` (``(N, T, ...)`` with
    batch_first), ``(T, input_size)`` unbatched, or a ``PackedSequence``.
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlin = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlin = kwargs.pop("nonlinearity", "tanh")
        if self_nonlin == "tanh":
            mode = "RNN_TANH"
        elif self_nonlin == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self_nonlin}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlin


class LSTM(RNNBase):
    """Long short-term memory, gates in PyTorch's order (i, f, g, o)::

        i, f, o = sigmoid(...), g = tanh(...); c' = f*c + i*g; h' = o*tanh(c') [@ W_hr^T]

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, proj_size=0)``; ``forward(input, (h0, c0)=None)``
    returns ``(output, (h_n, c_n))``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit, gates in PyTorch's order (r, z, n)::

        r, z = sigmoid(...); n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1-z)*n + z*h

    Same arguments as ``RNN`` (without nonlinearity); returns ``(output, h_n)``.
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------- cells


class RNNCellBase(Module):
    """Base of the single-step cells: weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        from ...creation import empty

        kw = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _prepare(self, input, hx, name):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        hs = hx if isinstance(hx, (tuple, list)) else (() if hx is None else (hx,))
        for i, h in enumerate(hs):
            if h.dim() not in (1, 2):
                what = f"hx[{i}]" if isinstance(hx, (tuple, list)) else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {h.dim()}D "
                                 "instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            hs = tuple(h.unsqueeze(0) for h in hs)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        n = input.shape[0]
        for h in hs:
            if tuple(h.shape) != (n, self.hidden_size):
                raise RuntimeError(f"hidden has inconsistent size: got {list(h.shape)}, "
                                   f"expected {[n, self.hidden_size]}")
        return input, hs, batched, ((0, n),)

class RNNCell(RNNCellBase):
    """One Elman step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (tanh or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        input, hs, batched, steps = self._prepare(input, hx, "RNNCell")
        h0 = hs[0] if hs else input.new_zeros(input.shape[0], self.hidden_size)
        _, h = _RNNRecurrence.apply(input, self.weight_ih, self.bias_ih, self.bias_hh, h0, None,
                                    self.weight_hh, None, steps=steps, reverse=False,
                                    relu=self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c)=None)`` returns ``(h', c')``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        input, hs, batched, steps = self._prepare(input, hx, "LSTMCell")
        if not hs:
            z = input.new_zeros(input.shape[0], self.hidden_size)
            hs = (z, z)
        _, h, c = _LSTMRecurrence.apply(input, self.weight_ih, self.bias_ih, self.bias_hh, hs[0],
                                        hs[1], self.weight_hh, None, steps=steps,
                                        reverse=False)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's formula, see ``GRU``)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        input, hs, batched, steps = self._prepare(input, hx, "GRUCell")
        h0 = hs[0] if hs else input.new_zeros(input.shape[0], self.hidden_size)
        _, h = _GRURecurrence.apply(input, self.weight_ih, self.bias_ih, self.bias_hh, h0, None,
                                    self.weight_hh, None, steps=steps, reverse=False)
        return h if batched else h.squeeze(0)
