"""Automatic differentiation: the engine, grad modes, custom Functions, checks and hook handles.

Layer: above ``_backend``/``_threads`` only; the Tensor class reaches it through ``function.Tensor`` (a
slot ``_tensor`` fills) and layers above change how backward runs through
``engine.register_backward_bracket`` (amp suspends autocast that way).
"""
from . import graph, profiler, profiler_util  # noqa: F401
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402  (the functions)
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled, no_grad, set_grad_enabled)

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled", "gradcheck", "gradgradcheck", "graph", "profiler"]

