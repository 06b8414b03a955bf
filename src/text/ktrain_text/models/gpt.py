"""A GPT-style causal decoder language model (pre-norm blocks, tied embeddings).

``GPT(vocab_size, block_size, n_layer, n_head, n_embd)`` maps token ids ``(B, T)`` to
next-token logits ``(B, T, vocab_size)``. :meth:`GPT.generate` samples continuations with
temperature, top-k and nucleus (top-p) filtering from a seeded generator, reusing a
key/value cache so each new token costs one position's forward pass; :meth:`GPT.stream`
yields the tokens one at a time (what ``ktrain generate`` prints).

Example::

    model = GPT(vocab_size=65, block_size=128, n_layer=4, n_head=4, n_embd=128)
    logits = model(ktrain.randint(0, 65, (8, 128)))            # (8, 128, 65)
    out = model.generate(ktrain.tensor([[1, 2, 3]]), max_new_tokens=50, top_k=10, seed=0)
"""
from __future__ import annotations

import math

import ktrain
import numpy as np
from ktrain import nn
from ktrain.nn import functional as F

from .blocks import Block, sinusoidal_positions

__all__ = ["GPT", "sample_next"]


def sample_next(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0,
                top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """Draw one token id per row of ``logits`` ``(B, V)`` (a host array).

    ``temperature`` 0 is greedy (arg-max); ``top_k`` keeps the k most likely tokens;
    ``top_p`` keeps the smallest set whose probability reaches ``top_p`` (at least one).
    Vectorised over the batch: one uniform draw per row and an inverse-CDF lookup.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature is None or temperature <= 0:
        return logits.argmax(-1).astype(np.int64)
    z = logits / float(temperature)
    V = z.shape[-1]
    if top_k is not None and 0 < int(top_k) < V:
        kth = np.partition(z, V - int(top_k), axis=-1)[:, V - int(top_k)][:, None]
        z = np.where(z < kth, -np.inf, z)
    z = z - z.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    if top_p is not None and 0.0 < float(top_p) < 1.0:
        order = np.argsort(-p, axis=-1, kind="stable")
        sp = np.take_along_axis(p, order, -1)
        before = np.cumsum(sp, -1) - sp           # mass of the more likely tokens
        sp = np.where(before < float(top_p), sp, 0.0)
        p = np.zeros_like(p)
        np.put_along_axis(p, order, sp, -1)
        p /= p.sum(-1, keepdims=True)
    cdf = np.cumsum(p, -1)
    u = rng.random((p.shape[0], 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(-1), V - 1).astype(np.int64)


class GPT(nn.Module):
    """A decoder-only transformer LM (GPT-2 layout: pre-norm blocks, final LayerNorm,
    output head tied to the token embedding).

    Args:
        vocab_size: number of token ids.
        block_size: the longest context (positions) the model sees.
        n_layer, n_head, n_embd: depth, attention heads, width.
        dropout: on embeddings, attention weights and residual branches.
        bias: biases in Linear layers.
        positions: ``'learned'`` (an Embedding) or ``'sinusoidal'`` (fixed table).
        tie_weights: share the token embedding with the output projection.
    """

    def __init__(self, vocab_size: int, block_size: int = 128, n_layer: int = 4,
                 n_head: int = 4, n_embd: int = 128, dropout: float = 0.0, bias: bool = True,
                 positions: str = "learned", tie_weights: bool = True):
        super().__init__()
        if positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions must be 'learned' or 'sinusoidal', got {positions!r}")
        self.vocab_size, self.block_size = int(vocab_size), int(block_size)
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        if positions == "learned":
            self.pos_emb = nn.Embedding(block_size, n_embd)
        else:
            self.pos_emb = None
            self.register_buffer("pos_table",
                                 ktrain.from_numpy(sinusoidal_positions(block_size, n_embd)),
                                 persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, dropout=dropout, bias=bias)
                                     for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.tie_weights = bool(tie_weights)
        # tied: logits = x @ tok_emb.weight.T (no separate head, so no duplicate entry)
        self.head = None if tie_weights else nn.Linear(n_embd, vocab_size)
        self._init_weights(n_layer)

    def _init_weights(self, n_layer):
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def _positions(self, start, T, device):
        if self.pos_emb is not None:
            return self.pos_emb(ktrain.arange(start, start + T, device=device))
        return self.pos_table[start:start + T]

    def forward(self, input_ids, attention_mask=None, lengths=None, cache=None):
        """Logits ``(B, T, vocab_size)`` for token ids ``(B, T)`` (T <= block_size).

        ``attention_mask`` (B, T) marks real tokens (1) and right padding (0); causal
        attention already keeps real tokens from seeing later padding, so it only matters
        for what callers do with the padded positions' logits. ``cache``: a list to be
        filled with each layer's ``(k, v)`` (see :meth:`stream`).
        """
        _B, T = input_ids.shape
        past = cache[0][0].shape[2] if cache else 0
        if past + T > self.block_size:
            raise ValueError(f"GPT: sequence of length {past + T} exceeds block_size "
                             f"{self.block_size}")
        x = self.drop(self.tok_emb(input_ids) + self._positions(past, T, input_ids.device))
        new = []
        for i, blk in enumerate(self.blocks):
            x, kv = blk(x, causal=True, cache=cache[i] if cache else None)
            new.append(kv)
        if cache is not None:
            cache[:] = new
        x = self.ln_f(x)
        return F.linear(x, self.tok_emb.weight) if self.head is None else self.head(x)

    # ------------------------------------------------------------------ generation
    def stream(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0,
               top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
               use_cache: bool = True, num_tokens: int | None = None):
        """Yield ``max_new_tokens`` sampled token ids, one ``(B,)`` int64 array per step.

        ``prompt_ids``: ``(L,)`` or ``(B, L)`` ids (Tensor, array or list). Sampling uses
        its own ``numpy`` generator seeded by ``seed`` (the global RNG is untouched), so
        the same seed gives the same text. With ``use_cache`` the keys and values of
        earlier positions are kept and each step runs one position; once the context
        exceeds ``block_size`` the window slides and the last ``block_size`` tokens are
        recomputed each step (as the uncached path does), so the output is the same
        either way. ``num_tokens``: sample only ids below it (a vocabulary smaller than
        the model's embedding table, e.g. ``vocab_size: ${data.max_tokens}`` in a config).
        """
        ids = np.asarray(prompt_ids.detach().cpu().numpy() if hasattr(prompt_ids, "detach")
                         else prompt_ids, dtype=np.int64)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise ValueError(f"prompt_ids must be (L,) or (B, L) with L >= 1, got shape "
                             f"{tuple(ids.shape)}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"prompt ids must lie in [0, {self.vocab_size - 1}]")
        rng = np.random.default_rng(seed)
        device = next(iter(self.parameters())).device
        was_training = self.training
        self.eval()
        try:
            with ktrain.no_grad():
                cache, fed = [], 0
                for _ in range(int(max_new_tokens)):
                    ctx = ids[:, -self.block_size:]
                    if use_cache and ids.shape[1] <= self.block_size:
                        x = ids[:, fed:]
                        logits = self(ktrain.from_numpy(np.ascontiguousarray(x)).to(device),
                                      cache=cache)
                        fed = ids.shape[1]
                    else:
                        cache, fed = [], 0
                        logits = self(ktrain.from_numpy(np.ascontiguousarray(ctx)).to(device))
                    last = logits[:, -1, :].float().cpu().numpy()
                    if num_tokens is not None:
                        last = last[:, :int(num_tokens)]
                    nxt = sample_next(last, rng, temperature, top_k, top_p)
                    ids = np.concatenate([ids, nxt[:, None]], axis=1)
                    yield nxt
        finally:
            self.train(was_training)

    def generate(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None, use_cache: bool = True, callback=None,
                 num_tokens: int | None = None):
        """The prompt followed by ``max_new_tokens`` sampled ids: an int64 Tensor
        ``(B, L + max_new_tokens)`` (see :meth:`stream` for the arguments).
        ``callback(ids)`` is called with each step's ``(B,)`` array as it is drawn."""
        ids = np.asarray(prompt_ids.detach().cpu().numpy() if hasattr(prompt_ids, "detach")
                         else prompt_ids, dtype=np.int64)
        squeeze = ids.ndim == 1
        ids = ids[None] if squeeze else ids
        steps = []
        for nxt in self.stream(ids, max_new_tokens, temperature, top_k, top_p, seed,
                               use_cache, num_tokens):
            steps.append(nxt)
            if callback is not None:
                callback(nxt)
        out = np.concatenate([ids] + [s[:, None] for s in steps], axis=1)
        return ktrain.from_numpy(out[0] if squeeze else out)
