"""Transformer building blocks shared by the encoder classifier and the GPT decoder.

Pre-norm residual blocks (``x + attn(ln(x))``, ``x + mlp(ln(x))``) with a fused
query/key/value projection and :func:`ktrain.nn.functional.scaled_dot_product_attention`.
Self-attention takes an optional boolean key mask (True = the position takes part) and a
``causal`` flag, and can read/extend a key/value cache for incremental decoding.

Example::

    blk = Block(64, n_head=4)
    y = blk(ktrain.randn(2, 10, 64), causal=True)              # (2, 10, 64)
"""
from __future__ import annotations

import math

import ktrain
import numpy as np
from ktrain import nn
from ktrain.nn import functional as F

__all__ = ["MLP", "Block", "SelfAttention", "sinusoidal_positions"]


def sinusoidal_positions(n_positions: int, dim: int) -> np.ndarray:
    """The fixed sine/cosine position table of "Attention is all you need" (float32,
    ``(n_positions, dim)``): even columns ``sin(p / 10000^(2i/dim))``, odd columns cos."""
    pos = np.arange(n_positions, dtype=np.float64)[:, None]
    div = np.exp(np.arange(0, dim, 2, dtype=np.float64) * (-math.log(10000.0) / dim))
    table = np.zeros((n_positions, dim), np.float64)
    table[:, 0::2] = np.sin(pos * div)
    table[:, 1::2] = np.cos(pos * div)[:, : dim // 2]
    return table.astype(np.float32)


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection.

    ``forward(x, key_mask=None, causal=False, cache=None)``: ``x`` is ``(B, T, C)``;
    ``key_mask`` a bool ``(B, S)`` (True = attend); ``cache`` a ``(k, v)`` pair of
    ``(B, H, S_past, C/H)`` from earlier steps (the new keys/values are appended). Returns
    ``(y, (k, v))`` where ``(k, v)`` cover all positions seen so far.
    """

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        self.n_head, self.d_model = n_head, d_model
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = float(dropout)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x, key_mask=None, causal=False, cache=None):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.qkv(x).view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4).unbind(0)
        past = 0
        if cache is not None:
            k = ktrain.cat([cache[0], k], dim=2)
            v = ktrain.cat([cache[1], v], dim=2)
            past = cache[0].shape[2]
        mask = None
        if key_mask is not None:
            mask = key_mask[:, None, None, :]                      # (B, 1, 1, S)
        if causal and (T > 1):
            if past == 0 and mask is None:
                pass                                                # is_causal below
            else:  # queries at positions past..past+T-1 see keys 0..their own position
                S = past + T
                tri = np.arange(S)[None, :] <= (np.arange(T)[:, None] + past)
                tri = ktrain.from_numpy(tri).to(x.device)
                mask = tri if mask is None else (mask & tri)
        use_is_causal = causal and T > 1 and mask is None
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p,
                                           is_causal=use_is_causal)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_drop(self.proj(y)), (k, v)


class MLP(nn.Module):
    """``Linear(C, 4C) -> GELU -> Linear(4C, C) -> Dropout``."""

    def __init__(self, d_model: int, d_ff: int | None = None, dropout: float = 0.0,
                 bias: bool = True):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.fc = nn.Linear(d_model, d_ff, bias=bias)
        self.act = nn.GELU()
        self.proj = nn.Linear(d_ff, d_model, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.proj(self.act(self.fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(ln1(x))`` then ``x + mlp(ln2(x))``."""

    def __init__(self, d_model: int, n_head: int, d_ff: int | None = None,
                 dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_head, dropout, bias)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, d_ff, dropout, bias)

    def forward(self, x, key_mask=None, causal=False, cache=None):
        a, kv = self.attn(self.ln1(x), key_mask=key_mask, causal=causal, cache=cache)
        x = x + a
        x = x + self.mlp(self.ln2(x))
        return x, kv
