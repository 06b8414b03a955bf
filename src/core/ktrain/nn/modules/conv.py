"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (PyTorch's names,
parameter shapes, defaults and initialisation)."""
from __future__ import annotations

import math

from ...creation import empty
from ...ops.padding import pad as _pad
from .. import init
from ..functional.conv import _conv2d, _conv_transpose2d, _ntuple
from ..module import Module
from ..parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared parameters, initialisation and repr of the conv layers."""

    _nsp = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        n = self._nsp
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        for what, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")
            if v % groups:
                raise ValueError(f"{name}: {what} ({v}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {list(_PADDING_MODES)}, "
                             f"but got padding_mode={padding_mode!r}")
        kernel_size = _ntuple(kernel_size, n, "kernel_size", name)
        stride = _ntuple(stride, n, "stride", name)
        dilation = _ntuple(dilation, n, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one "
                                 "of ['valid', 'same']")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
        else:
            padding = _ntuple(padding, n, "padding", name)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = _ntuple(output_padding, n, "output_padding", name)
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's (left, right) pairs from the last dim backwards, for padding_mode != zeros
        if isinstance(padding, str):
            pairs = []
            if padding == "same":
                for d, k in zip(dilation, kernel_size):
                    tot = d * (k - 1)
                    pairs.append((tot // 2, tot - tot // 2))
            else:
                pairs = [(0, 0)] * n
        else:
            pairs = [(p, p) for p in padding]
        self._reversed_padding_repeated_twice = [v for pr in reversed(pairs) for v in pr]
        factory = {"dtype": dtype, "device": device}
        if transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(empty(shape, **factory))
        if bias:
            self.bias = Parameter(empty(out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) weights, U(+-1/sqrt(fan_in)) bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if isinstance(self.padding, str) or self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def __setstate__(self, state):
        super().__setstate__(state)
        if not hasattr(self, "padding_mode"):
            self.padding_mode = "zeros"


class Conv2d(_ConvNd):
    """2-D convolution layer: (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    Parameters: ``weight`` (C_out, C_in / groups, kH, kW) and ``bias`` (C_out,).
    ``padding_mode`` 'zeros' (default), 'reflect', 'replicate' or 'circular'.

    Example::

        >>> conv = nn.Conv2d(3, 16, 3, padding=1)
        >>> conv(ktrain.randn(8, 3, 32, 32)).shape
        ktrain.Size([8, 16, 32, 32])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        name = type(self).__name__
        if self.padding_mode != "zeros":
            _check_mode_input(self, input)
            input = _pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return _conv2d(input, weight, bias, self.stride, 0, self.dilation, self.groups,
                           name, self._nsp)
        return _conv2d(input, weight, bias, self.stride, self.padding, self.dilation,
                       self.groups, name, self._nsp)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(Conv2d):
    """1-D convolution layer: (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in / groups,
    k). Same options as :class:`Conv2d`."""

    _nsp = 1


def _check_mode_input(mod, input):
    # F.pad only pads the trailing dims; a wrong rank would give a confusing error there
    n = mod._nsp
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{type(mod).__name__}: expected {n + 1}D (unbatched) or {n + 2}D "
                           f"(batched) input, but got input of shape {list(input.shape)}")


class _ConvTransposeNd(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of "
                             f"ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size, stride, padding, kernel_size,
                        num_spatial_dims, dilation=None):
        """The output_padding that gives ``output_size`` (PyTorch's helper)."""
        if output_size is None:
            return self.output_padding
        output_size = list(output_size)
        nonsp = 2 if input.dim() == num_spatial_dims + 2 else 1
        if len(output_size) == nonsp + num_spatial_dims:
            output_size = output_size[nonsp:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(f"{type(self).__name__}: output_size must have "
                             f"{num_spatial_dims} or {nonsp + num_spatial_dims} elements "
                             f"(got {len(output_size)})")
        lo, hi = [], []
        for d in range(num_spatial_dims):
            dil = dilation[d] if dilation is not None else 1
            size = ((input.size(d + nonsp) - 1) * stride[d] - 2 * padding[d]
                    + dil * (kernel_size[d] - 1) + 1)
            lo.append(size)
            hi.append(size + stride[d] - 1)
        for d, size in enumerate(output_size):
            if size < lo[d] or size > hi[d]:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {lo} to {hi} (for an input of "
                                 f"{list(input.shape[nonsp:])})")
        return tuple(int(output_size[d]) - lo[d] for d in range(num_spatial_dims))

    def forward(self, input, output_size=None):
        opad = self._output_padding(input, output_size, self.stride, self.padding,
                                    self.kernel_size, self._nsp, self.dilation)
        return _conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                 opad, self.groups, self.dilation, type(self).__name__,
                                 self._nsp)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution layer (the gradient of Conv2d in its input).

    Parameters: ``weight`` (C_in, C_out / groups, kH, kW) and ``bias`` (C_out,). Output size
    ``(H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``;
    ``forward(input, output_size=None)`` can pick ``output_padding`` from a wanted size.
    """


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer: (N, C_in, L) -> (N, C_out, L_out); weight
    (C_in, C_out / groups, k)."""

    _nsp = 1

