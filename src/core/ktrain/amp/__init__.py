"""``ktrain.amp``: automatic mixed precision (``torch.amp``'s names).

* :class:`autocast`: a context manager / decorator that runs matmuls, convolutions and
  linear layers in float16/bfloat16 and precision-sensitive ops in float32, through the
  :func:`~ktrain.amp.autocast_mode.cast_inputs` hook that ops call;
* :class:`GradScaler`: dynamic loss scaling, so float16 gradients neither underflow nor
  corrupt the parameters when they overflow.

Layer: above ``_tensor`` and ``autograd``, below ``ops`` (ops consult ``cast_inputs``).
Autocast is off during backward (backward ops run in their forward's dtypes) through the
pair it registers with ``autograd.engine.register_backward_bracket``: the engine does not
import amp.
"""
from .autocast_mode import (autocast, clear_autocast_cache, get_autocast_dtype,
                            is_autocast_available, is_autocast_cache_enabled, is_autocast_enabled,
                            set_autocast_cache_enabled, set_autocast_dtype, set_autocast_enabled)
from .grad_scaler import GradScaler, OptState

__all__ = ["autocast", "GradScaler", "OptState", "is_autocast_available", "is_autocast_enabled",
           "get_autocast_dtype", "set_autocast_enabled", "set_autocast_dtype",
           "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache"]
