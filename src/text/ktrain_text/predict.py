"""``ktrain predict RUN "some text"``: the ``:text`` literal reader for text runs.

A literal input (not an existing path) reaches this reader as a ``str``; it is encoded
with the run's dataset encoder (``context.dataset.encode``, the vocabulary the run was
trained with) into int64 token ids of shape ``(1, L)``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["read_text_literal", "register_readers"]


def _user_error(msg):
    try:
        from ktrain.config import ConfigError
    except ImportError:  # pragma: no cover
        return ValueError(msg)
    return ConfigError(msg)


def read_text_literal(text, context) -> np.ndarray:
    """Token ids ``(1, L)`` of ``text`` under the run's dataset encoder."""
    ds = getattr(context, "dataset", None)
    encode = getattr(ds, "encode", None)
    if encode is None:
        raise _user_error("text input needs a run whose dataset has an encoder (a "
                          "ktrain_text dataset): this run's dataset "
                          f"({type(ds).__name__ if ds is not None else 'none'}) has no "
                          "encode()")
    text = str(text)
    if not text.strip():
        raise _user_error(f"text input {text!r} is empty: nothing to predict (give the "
                          "text to classify, in quotes)")
    ids = np.asarray(encode(text), dtype=np.int64).reshape(-1)
    if ids.size == 0:  # predicting on padding alone would answer for no text at all
        raise _user_error(f"text input {text!r} gives no tokens under the run's "
                          "tokenizer: nothing to predict")
    return ids[None, :]


def register_readers(registries=None) -> None:
    """Register the ``:text`` reader (literal inputs, a ready batch of token ids) in the
    core's ``predict_readers`` registry (``registries``: what the plugin entry point
    receives; default ``ktrain.registry.registries``)."""
    if registries is None:
        from ktrain.registry import registries
    readers = registries.predict_readers
    readers.register(":text", read_text_literal, override=True, tags=("batched",))
