"""Short-time Fourier transform: ``stft`` / ``istft`` (PyTorch's signatures and conventions)
and the window functions (``hann_window``, ``hamming_window``, ``blackman_window``,
``bartlett_window``).

Complex results use ktrain's complex layout (see :mod:`ktrain.fft`): a trailing dimension
of size 2 holding ``(real, imag)``, as ``torch.view_as_real(torch.stft(...,
return_complex=True))`` gives. ``stft`` is framing (a strided view), window and one
batched ``rfft``; its adjoint, overlap-add, is ``ceil(n_fft / hop)`` strided adds. The
transforms are the ops of :mod:`ktrain.ops.fft` (this module never imports the public
``ktrain.fft`` namespace).
"""
from __future__ import annotations

from .. import _backend as B
from .._tensor import Tensor
from ..autograd.function import Op
from . import fft as _fft

__all__ = [
    "bartlett_window",
    "blackman_window",
    "hamming_window",
    "hann_window",
    "istft",
    "stft",
]


def _cosine_window(window_length, periodic, coeffs, dtype, device, requires_grad):
    import numpy as np

    from ..creation import tensor

    n = int(window_length)
    if n < 0:
        raise RuntimeError(f"window_length must be non-negative, got {n}")
    if n <= 1:
        vals = np.ones(n)
    else:
        denom = n if periodic else n - 1
        k = np.arange(n) * (2 * np.pi / denom)
        vals = sum(c * np.cos(i * k) for i, c in enumerate(coeffs))
    dt = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    return tensor(vals, dtype=dt, device=device, requires_grad=requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                requires_grad=False) -> Tensor:
    """Hann window ``0.5 - 0.5 cos(2 pi k / N)``, ``N = window_length`` when ``periodic``
    (for spectral analysis, the default) else ``window_length - 1`` (torch's definition)."""
    return _cosine_window(window_length, periodic, (0.5, -0.5), dtype, device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, device=None,
                   requires_grad=False) -> Tensor:
    """Hamming window ``alpha - beta cos(2 pi k / N)`` (see :func:`hann_window` for N)."""
    return _cosine_window(window_length, periodic, (alpha, -beta), dtype, device,
                          requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad=False) -> Tensor:
    """Blackman window ``0.42 - 0.5 cos(2 pi k / N) + 0.08 cos(4 pi k / N)``."""
    return _cosine_window(window_length, periodic, (0.42, -0.5, 0.08), dtype, device,
                          requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad=False) -> Tensor:
    """Triangular window ``1 - |2k / N - 1|`` (see :func:`hann_window` for N)."""
    import numpy as np

    from ..creation import tensor

    n = int(window_length)
    if n <= 1:
        vals = np.ones(max(n, 0))
    else:
        denom = n if periodic else n - 1
        vals = 1 - np.abs(2 * np.arange(n) / denom - 1)
    dt = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    return tensor(vals, dtype=dt, device=device, requires_grad=requires_grad)


def _frames_view(a, n_fft, hop, n_frames):
    """``(..., L)`` -> read-only strided view ``(..., n_frames, n_fft)``."""
    xp = B.array_module(a)
    a = xp.ascontiguousarray(a)
    st = a.strides
    return xp.lib.stride_tricks.as_strided(
        a, a.shape[:-1] + (n_frames, n_fft), st[:-1] + (hop * st[-1], st[-1]))


def _overlap_add(f, hop, length):
    """Adjoint of framing: ``(..., n_frames, n_fft)`` summed into ``(..., length)``."""
    xp = B.array_module(f)
    n_frames, n_fft = f.shape[-2:]
    lead = f.shape[:-2]
    total = max(length, (n_frames - 1) * hop + n_fft, n_frames * hop + n_fft)
    out = xp.zeros(lead + (total,), f.dtype)
    for j in range(-(-n_fft // hop)):  # block j of every frame lands on one strided region
        lo = j * hop
        w = min(hop, n_fft - lo)
        region = out[..., lo:lo + n_frames * hop].reshape(lead + (n_frames, hop))
        region[..., :w] += f[..., lo:lo + w]
    return out[..., :length]


class _Frame(Op):
    @staticmethod
    def forward(ctx, a, n_fft, hop, n_frames):
        ctx.args = (hop, a.shape[-1])
        return _frames_view(a, n_fft, hop, n_frames)

    @staticmethod
    def backward(ctx, g):
        hop, length = ctx.args
        return _OverlapAdd.apply(g, hop, length), None, None, None


class _OverlapAdd(Op):
    @staticmethod
    def forward(ctx, f, hop, length):
        ctx.args = (f.shape[-1], hop, f.shape[-2])
        return _overlap_add(f, hop, length)

    @staticmethod
    def backward(ctx, g):
        n_fft, hop, n_frames = ctx.args
        return _Frame.apply(g, n_fft, hop, n_frames), None, None


def frame(input: Tensor, frame_length: int, hop_length: int) -> Tensor:
    """Frames ``(..., n_frames, frame_length)`` of ``(..., L)`` (no padding), differentiable."""
    n_frames = 1 + (input.shape[-1] - frame_length) // hop_length
    return _Frame.apply(input, frame_length, hop_length, n_frames)


def overlap_add(frames: Tensor, hop_length: int, length: int) -> Tensor:
    """Sum of frames ``(..., n_frames, n_fft)`` placed every ``hop_length`` samples."""
    return _OverlapAdd.apply(frames, hop_length, length)


def _window(window, win_length, n_fft, ref: Tensor, what):
    from ..creation import ones
    from .padding import pad

    if window is None:
        window = ones(win_length, dtype=ref.dtype, device=ref.device)
    elif window.dim() != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{what}: expected a 1-D window of size win_length={win_length}, got "
                           f"shape {list(window.shape)}")
    if win_length < n_fft:  # centred in the frame, as torch pads it
        left = (n_fft - win_length) // 2
        window = pad(window, (left, n_fft - win_length - left))
    return window


def _params(n_fft, hop_length, win_length, what):
    n_fft = int(n_fft)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    win = n_fft if win_length is None else int(win_length)
    if hop <= 0:
        raise RuntimeError(f"{what}: expected hop_length > 0, but got hop_length={hop}")
    if not 0 < win <= n_fft:
        raise RuntimeError(f"{what}: expected 0 < win_length <= n_fft, but got "
                           f"win_length={win}, n_fft={n_fft}")
    return n_fft, hop, win


def _no_complex(return_complex, what):
    if return_complex:
        raise ValueError(
            f"{what}: return_complex=True is not supported: ktrain has no complex dtype. "
            "Results use the real layout of torch.view_as_real (a trailing dimension of size "
            "2 holding real and imaginary parts); pass return_complex=False (or leave it "
            "None) and use ktrain.fft.magnitude(...) for |X|.")


def stft(input: Tensor, n_fft: int, hop_length: int | None = None,
         win_length: int | None = None, window: Tensor | None = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None) -> Tensor:
    """Short-time Fourier transform of ``(L,)`` or ``(B, L)`` real signals.

    ``X[..., f, m] = sum_k window[k] * x[m * hop_length + k] * exp(-2 pi i f k / n_fft)``
    (times ``n_fft ** -0.5`` when ``normalized``). With ``center`` the signal is padded by
    ``n_fft // 2`` on both sides (``pad_mode``: 'reflect', 'constant', 'replicate',
    'circular'), giving ``1 + L // hop_length`` frames. Defaults as PyTorch:
    ``hop_length = n_fft // 4``, ``win_length = n_fft``, rectangular window (zero-padded to
    ``n_fft`` when shorter), ``onesided`` for real input (``n_fft // 2 + 1`` bins).

    Returns the complex layout ``(..., n_freq, n_frames, 2)`` (real, imag), i.e.
    ``torch.view_as_real(torch.stft(..., return_complex=True))``; ``return_complex=True``
    raises since ktrain has no complex dtype.

    Example::

        x = kt.randn(2, 16000)
        X = kt.stft(x, 400, hop_length=160, window=kt.hann_window(400))  # (2, 201, 101, 2)
        power = kt.fft.magnitude(X, 2.0)
    """
    from .padding import pad

    _no_complex(return_complex, "stft")
    n_fft, hop, win = _params(n_fft, hop_length, win_length, "stft")
    if input.dim() not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, got shape {list(input.shape)}")
    if not input.is_floating_point():
        input = input.to(B.get_default_dtype())
    x = input
    if center:
        p = n_fft // 2
        if pad_mode == "reflect" and x.shape[-1] <= p:
            raise RuntimeError(f"stft: reflect padding of {p} needs a signal longer than {p} "
                               f"samples, got length {x.shape[-1]} (use pad_mode='constant')")
        x = pad(x.unsqueeze(0), (p, p), mode=pad_mode).squeeze(0)
    if x.shape[-1] < n_fft:
        raise RuntimeError(f"stft: input of length {x.shape[-1]} (after padding) is shorter "
                           f"than n_fft={n_fft}")
    frames = frame(x, n_fft, hop) * _window(window, win, n_fft, x, "stft")
    norm = "ortho" if normalized else "backward"
    if onesided is None or onesided:
        spec = _fft.rfft(frames, dim=-1, norm=norm)
    else:
        spec = _fft.fft(_fft.complex(frames), dim=-1, norm=norm)
    return spec.transpose(-3, -2)  # (..., n_frames, n_freq, 2) -> (..., n_freq, n_frames, 2)


def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """Inverse STFT by weighted overlap-add (PyTorch's ``istft``), differentiable.

    ``input``: complex layout ``(..., n_freq, n_frames, 2)`` as :func:`stft` returns.
    Each frame is inverted (``irfft`` when ``onesided``, the default when ``n_freq !=
    n_fft``), multiplied by the window, overlap-added and divided by the overlap-added
    squared window (which must be non-zero everywhere: the NOLA condition). With
    ``center`` the ``n_fft // 2`` padding is removed; ``length`` trims or zero-pads the
    result. ``istft(stft(x, ...), ..., length=len(x))`` gives ``x`` back.

    Example::

        w = kt.hann_window(256)
        y = kt.istft(kt.stft(x, 256, 64, window=w), 256, 64, window=w, length=x.shape[-1])
    """
    from .padding import pad

    _no_complex(return_complex, "istft")
    n_fft, hop, win = _params(n_fft, hop_length, win_length, "istft")
    if input.dim() not in (3, 4) or input.shape[-1] != 2:
        raise RuntimeError(
            "istft: expected a complex-layout tensor (..., n_freq, n_frames, 2) with 3 or 4 "
            f"dimensions, got shape {list(input.shape)}")
    n_freq, n_frames = input.shape[-3], input.shape[-2]
    if onesided is None:
        onesided = n_freq != n_fft
    if onesided and n_freq != n_fft // 2 + 1:
        raise RuntimeError(f"istft: expected {n_fft // 2 + 1} frequency bins for a one-sided "
                           f"transform with n_fft={n_fft}, got {n_freq}")
    spec = input.transpose(-3, -2)  # (..., n_frames, n_freq, 2)
    norm = "ortho" if normalized else "backward"
    if onesided:
        frames = _fft.irfft(spec, n=n_fft, dim=-1, norm=norm)
    else:
        frames = _fft.ifft(spec, n=n_fft, dim=-1, norm=norm).select(-1, 0)
    w = _window(window, win, n_fft, frames, "istft")
    total = n_fft + hop * (n_frames - 1)
    y = overlap_add(frames * w, hop, total)
    env = overlap_add((w * w).expand(n_frames, n_fft), hop, total)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = min(start + int(length), total)
    else:
        end = total - n_fft // 2 if center else total
    y = y[..., start:end]
    env = env[start:end]
    if bool((env.detach().abs() < 1e-11).any()):
        raise RuntimeError("istft: window overlap add min below threshold (the window and "
                           "hop_length violate the NOLA condition)")
    y = y / env
    if length is not None and y.shape[-1] < length:
        y = pad(y, (0, int(length) - y.shape[-1]))
    return y

