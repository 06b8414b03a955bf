"""``ktrain.backends``: what this build and machine can honestly report (``torch.backends``).

* :mod:`~ktrain.backends.conv`: the convolution algorithm (im2col or Winograd, ``benchmark``);
* :mod:`~ktrain.backends.cpu`: ``get_cpu_capability()`` from numpy's SIMD dispatch;
* :mod:`~ktrain.backends.cuda`: ``is_built()`` (cupy importable), the ``matmul`` flags
  and the scaled-dot-product-attention switches;
* :mod:`~ktrain.backends.cudnn`: ``is_available()``, ``version()`` and the ``enabled`` /
  ``benchmark`` / ``deterministic`` / ``allow_tf32`` flags;
* :mod:`~ktrain.backends.mkl`, :mod:`~ktrain.backends.openmp`: whether the BLAS numpy
  loaded is MKL, whether an OpenMP runtime is loaded;
* :mod:`~ktrain.backends.mps`, :mod:`~ktrain.backends.mkldnn`: never available here.

The flags are plain module attributes, so scripts written for PyTorch
(``torch.backends.cudnn.benchmark = True``) run unchanged; ktrain's numpy and cupy
kernels do not read them (documented on each). GPU queries go through ``_backend``,
the one module that imports cupy. Layer: beside ``autograd``, above ``_backend``.
"""
from . import conv, cpu, cuda, cudnn, mkl, mkldnn, mps, openmp

__all__ = ["conv", "cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp"]
