"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``
(PyTorch's functional form of ``nn.MultiheadAttention``).

Both check their arguments, turn masks into additive float masks (and dropout into a
keep-mask) and apply one fused op, ``ops.attention._Attention``:
``softmax(q k^T * scale + mask) v`` with a closed-form backward (higher-order gradients
under ``create_graph``). Rows whose every key is masked give zeros, not NaN.
"""
from __future__ import annotations

import math

import numpy as np

from ... import _backend as B
from ..._tensor import Tensor
from ...ops.attention import _Attention, _AttentionWeights
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_wrap = Tensor._make
_NEG_INF = float("-inf")


def _additive_mask(mask, dtype):
    """A bool mask (True = take part) becomes 0 / -inf; a float mask is used as is."""
    if mask is None:
        return None
    if mask.dtype == B.bool:  # with ops, so that a jit trace follows the mask
        return (mask.to(dtype) * 0).masked_fill(mask.logical_not(), _NEG_INF)
    if not mask.is_floating_point():
        raise TypeError(f"attn_mask must be a bool or floating tensor, got {mask.dtype}")
    return mask if mask.dtype == dtype else mask.to(dtype)


def _dropout_keep(shape, p, like):
    from ...random import rand

    keep = rand(*shape, dtype=like.dtype, device=like.device)._data >= p
    return _wrap(keep.astype(like._data.dtype) * (1.0 / (1.0 - p)))


def _attend(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
            need_weights):
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at "
                           "least 2-D")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype}, key.dtype: {key.dtype} and "
                           f"value.dtype: {value.dtype} instead.")
    e_q, e_k = query.shape[-1], key.shape[-1]
    if e_q != e_k:
        raise RuntimeError(f"scaled_dot_product_attention: query and key embedding sizes "
                           f"differ ({e_q} and {e_k})")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value sequence lengths "
                           f"differ ({key.shape[-2]} and {value.shape[-2]})")
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk or value.shape[-3] != hk:
            raise RuntimeError(f"scaled_dot_product_attention: number of query heads ({hq}) "
                               f"must be a multiple of key/value heads ({hk})")
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    scale = 1.0 / math.sqrt(e_q) if scale is None else float(scale)
    mask = _additive_mask(attn_mask, query.dtype)
    keep = None
    if dropout_p > 0.0:
        batch = np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]))
        shape = batch + (query.shape[-2], key.shape[-2])
        if mask is not None:
            shape = np.broadcast_shapes(shape, tuple(mask.shape))
        keep = _dropout_keep(shape, dropout_p, query)
    cls = _AttentionWeights if need_weights else _Attention
    return cls.apply(query, key, value, mask, keep, scale=scale, causal=bool(is_causal))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(query @ key^T * scale + mask) @ value`` (PyTorch's signature).

    Shapes: query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)`` -> ``(..., L,
    Ev)``; batch dimensions broadcast. ``attn_mask``: bool (True = the position takes
    part) or float (added to the scores), broadcastable to ``(..., L, S)``. ``is_causal``
    masks keys after each query (top-left aligned). ``scale`` defaults to
    ``1/sqrt(E)``. ``dropout_p`` drops attention weights (always, as PyTorch: pass 0.0
    in evaluation). ``enable_gqa`` lets key/value have fewer heads (dim -3) than query.

    Example::

        q = k = v = ktrain.randn(2, 4, 16, 8)          # (batch, heads, seq, head_dim)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    """
    return _attend(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                   False)


# ---------------------------------------------------------------------- multi-head attention


def _canonical_mask(mask, mask_name, target_type):
    """Bool masks (True = masked out) become float 0/-inf; float masks pass unchanged."""
    if mask is None:
        return None
    if mask.dtype == B.bool:  # with ops, so that a jit trace follows the mask
        return (mask.to(target_type) * 0).masked_fill(mask, _NEG_INF)
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    return mask


def _heads(x, n, h, d):
    """(S, N, h*d) -> (N, h, S, d), a view when possible."""
    return x.reshape(x.shape[0], n, h, d).permute(1, 2, 0, 3)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention on sequence-first inputs ``(L, N, E)`` (or unbatched
    ``(L, E)``); returns ``(output, weights or None)``. PyTorch's semantics: in
    ``key_padding_mask`` (N, S) and bool ``attn_mask`` (L, S) or (N*heads, L, S), True
    means *masked out*; float masks are added to the scores."""
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k/static_v are not "
                                  "supported")
    batched = query.dim() == 3
    if not batched:
        if query.dim() != 2:
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.dim()}-D query tensor")
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, "
                             f"but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    dtype = query.dtype
    kpm = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and kpm is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype)
        is_causal = False  # the explicit mask carries the causality
    # ---- input projections
    if not use_separate_proj_weight:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        E = embed_dim
        if query is key and key is value:
            q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            w_q, w_kv = in_proj_weight[:E], in_proj_weight[E:]
            b_q = b_kv = None
            if in_proj_bias is not None:
                b_q, b_kv = in_proj_bias[:E], in_proj_bias[E:]
            q = linear(query, w_q, b_q)
            if key is value:
                k, v = linear(key, w_kv, b_kv).chunk(2, -1)
            else:
                k = linear(key, w_kv[:E], None if b_kv is None else b_kv[:E])
                v = linear(value, w_kv[E:], None if b_kv is None else b_kv[E:])
    else:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do "
                                 f"not match value's {tuple(value.shape[:2])}")
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q = linear(query, q_proj_weight, b_q)
        k = linear(key, k_proj_weight, b_k)
        v = linear(value, v_proj_weight, b_v)
    # ---- masks to (N or 1, heads or 1, L, S)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(1, 1, tgt_len, src_len)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
            attn_mask = attn_mask.reshape(bsz, num_heads, tgt_len, src_len)
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if kpm is not None:
        if tuple(kpm.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but "
                                 f"got {tuple(kpm.shape)}")
        kpm = kpm.reshape(bsz, 1, 1, src_len)
    from ...ops.join import cat
    from ...ops.padding import pad

    extra = []
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        extra.append(1)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must be both set or both None")
    q, k, v = (_heads(t, bsz, num_heads, head_dim) for t in (q, k, v))
    if add_zero_attn:
        z = k.new_zeros(bsz, num_heads, 1, head_dim)
        k, v = cat([k, z], 2), cat([v, z], 2)
        extra.append(1)
    if extra:
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, len(extra)))
        if kpm is not None:
            kpm = pad(kpm, (0, len(extra)))
    mask = attn_mask if kpm is None else (kpm if attn_mask is None else attn_mask + kpm)
    if not training:
        dropout_p = 0.0
    res = _attend(q, k, v, mask, dropout_p, is_causal, None, False, need_weights)
    out, weights = res if need_weights else (res, None)
    out = out.permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias)
    if weights is not None and average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights
