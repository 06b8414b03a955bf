"""Text classifiers over padded token ids: TextCNN, BiLSTM/BiGRU, Transformer encoder.

All take ``forward(input_ids, attention_mask=None, lengths=None)`` (the dict a text
dataset's collate produces; the core calls ``model(**inputs)``) and return logits
``(B, num_classes)``. Padding never changes a sample's output: TextCNN zeroes padded
embeddings and max-pools only windows that touch real tokens, the RNNs run packed
sequences, the Transformer masks padded keys and mean-pools real tokens only. Without
``attention_mask``/``lengths`` every position counts as real.

Example::

    model = TextCNN(vocab_size=5000, num_classes=2)
    logits = model(input_ids, attention_mask=mask)           # (B, 2)
"""
from __future__ import annotations

import ktrain
import numpy as np
from ktrain import nn
from ktrain.nn.utils.rnn import pack_padded_sequence

from .blocks import Block, sinusoidal_positions

__all__ = ["BagOfWords", "RNNClassifier", "TextCNN", "TransformerClassifier", "bigru_classifier",
           "bilstm_classifier"]


def _mask_and_lengths(input_ids, attention_mask, lengths):
    """A bool mask (B, L) and host lengths (B,) from whichever was given."""
    B, L = input_ids.shape
    if attention_mask is not None:
        mask = attention_mask.bool() if attention_mask.dtype != ktrain.bool else attention_mask
        if lengths is None:
            lengths = mask.long().sum(1)
    elif lengths is not None:
        lens = ktrain.as_tensor(lengths).to(input_ids.device)
        mask = ktrain.arange(L, device=input_ids.device)[None, :] < lens[:, None]
    else:
        mask = None
    if lengths is None:
        host = np.full(B, L, dtype=np.int64)
    else:
        host = np.asarray(ktrain.as_tensor(lengths).cpu().numpy(), dtype=np.int64).reshape(-1)
    return mask, host


class BagOfWords(nn.Module):
    """fastText-style baseline: the mean of the real tokens' embeddings -> dropout ->
    (hidden layer) -> linear. Strong and fast on small sentiment data.

    Args:
        vocab_size, num_classes: sizes.
        embed_dim: embedding width.
        hidden: width of an optional ReLU layer (0: none).
        dropout: on the pooled embedding.
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 64,
                 hidden: int = 0, dropout: float = 0.3, padding_idx: int | None = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU()) if hidden else None
        self.fc = nn.Linear(hidden or embed_dim, num_classes)

    def forward(self, input_ids, attention_mask=None, lengths=None):
        mask, _ = _mask_and_lengths(input_ids, attention_mask, lengths)
        x = self.embedding(input_ids)
        if mask is None:
            pooled = x.mean(1)
        else:
            m = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        h = self.dropout(pooled)
        if self.hidden is not None:
            h = self.hidden(h)
        return self.fc(h)


class TextCNN(nn.Module):
    """Kim (2014) CNN: embeddings -> parallel 1-D convolutions -> ReLU -> max over time
    -> dropout -> linear.

    Args:
        vocab_size, num_classes: sizes.
        embed_dim: embedding width.
        num_filters: channels per kernel size.
        kernel_sizes: widths of the convolutions.
        dropout: before the classifier.
        embed_dropout: on the word embeddings (a strong regulariser on small data).
        padding_idx: the padding id (its embedding stays zero).
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 128,
                 num_filters: int = 100, kernel_sizes=(3, 4, 5), dropout: float = 0.5,
                 embed_dropout: float = 0.0, padding_idx: int | None = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        # "full" convolution (padding k-1): every window that touches a real token exists
        # for any padded length, so padding cannot change the pooled features
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, k, padding=k - 1)
                                    for k in self.kernel_sizes])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(num_filters * len(self.kernel_sizes), num_classes)

    def forward(self, input_ids, attention_mask=None, lengths=None):
        mask, _ = _mask_and_lengths(input_ids, attention_mask, lengths)
        x = self.embed_dropout(self.embedding(input_ids))                # (B, L, E)
        if mask is not None:
            x = x * mask.unsqueeze(-1).to(x.dtype)
        x = x.transpose(1, 2)                                            # (B, E, L)
        L = input_ids.shape[1]
        if mask is not None:
            n_real = mask.long().sum(1, keepdim=True)                    # (B, 1)
        feats = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = conv(x).relu()                                           # (B, F, L + k - 1)
            if mask is not None:  # windows starting at j - (k-1) < n_real touch real tokens
                pos = ktrain.arange(L + k - 1, device=input_ids.device)[None, :]
                valid = (pos < n_real + (k - 1)).unsqueeze(1)
                h = h.masked_fill(~valid, float("-inf"))
            feats.append(h.amax(dim=2))
        return self.fc(self.dropout(ktrain.cat(feats, dim=1)))


class RNNClassifier(nn.Module):
    """Embeddings -> (bi)LSTM/GRU over packed sequences -> last hidden states -> linear.

    Args:
        vocab_size, num_classes: sizes.
        embed_dim, hidden_size, num_layers: sizes of the recurrent stack.
        rnn_type: 'lstm' or 'gru'.
        bidirectional: concatenate the forward and backward final states.
        dropout: between layers and before the classifier.
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 128,
                 hidden_size: int = 128, num_layers: int = 1, rnn_type: str = "lstm",
                 bidirectional: bool = True, dropout: float = 0.3,
                 padding_idx: int | None = 0):
        super().__init__()
        rnn_type = rnn_type.lower()
        if rnn_type not in ("lstm", "gru"):
            raise ValueError(f"rnn_type must be 'lstm' or 'gru', got {rnn_type!r}")
        self.rnn_type = rnn_type
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        cls = nn.LSTM if rnn_type == "lstm" else nn.GRU
        self.rnn = cls(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                       bidirectional=bidirectional,
                       dropout=dropout if num_layers > 1 else 0.0)
        self.dirs = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size * self.dirs, num_classes)

    def forward(self, input_ids, attention_mask=None, lengths=None):
        _, lens = _mask_and_lengths(input_ids, attention_mask, lengths)
        lens = np.maximum(lens, 1)  # an empty text still reads its (padding) first step
        x = self.embedding(input_ids)
        packed = pack_padded_sequence(x, lens.tolist(), batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        h = h[0] if self.rnn_type == "lstm" else h                      # (layers*dirs, B, H)
        last = h[-self.dirs:]                                            # top layer
        feat = last.transpose(0, 1).reshape(input_ids.shape[0], -1)     # (B, dirs*H)
        return self.fc(self.dropout(feat))


def bilstm_classifier(vocab_size: int, num_classes: int, **kw):
    """:class:`RNNClassifier` with a bidirectional LSTM."""
    return RNNClassifier(vocab_size, num_classes, rnn_type="lstm", bidirectional=True, **kw)


def bigru_classifier(vocab_size: int, num_classes: int, **kw):
    """:class:`RNNClassifier` with a bidirectional GRU."""
    return RNNClassifier(vocab_size, num_classes, rnn_type="gru", bidirectional=True, **kw)


class TransformerClassifier(nn.Module):
    """A pre-norm Transformer encoder over token ids, mean-pooled over real tokens.

    Args:
        vocab_size, num_classes: sizes.
        d_model, n_head, n_layer, d_ff: encoder sizes (``d_ff`` default 4 * d_model).
        max_len: the longest input (positions).
        positions: 'learned' or 'sinusoidal'.
        dropout: embeddings, attention, residual branches and classifier.
    """

    def __init__(self, vocab_size: int, num_classes: int, d_model: int = 128,
                 n_head: int = 4, n_layer: int = 2, d_ff: int | None = None,
                 max_len: int = 512, positions: str = "learned", dropout: float = 0.1,
                 padding_idx: int | None = 0):
        super().__init__()
        if positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions must be 'learned' or 'sinusoidal', got {positions!r}")
        self.max_len = int(max_len)
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        if positions == "learned":
            self.pos_emb = nn.Embedding(max_len, d_model)
        else:
            self.pos_emb = None
            self.register_buffer("pos_table",
                                 ktrain.from_numpy(sinusoidal_positions(max_len, d_model)),
                                 persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(d_model, n_head, d_ff, dropout)
                                     for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, input_ids, attention_mask=None, lengths=None):
        _B, L = input_ids.shape
        if L > self.max_len:
            raise ValueError(f"TransformerClassifier: input length {L} exceeds max_len "
                             f"{self.max_len} (set data.max_length or model.max_len)")
        mask, _ = _mask_and_lengths(input_ids, attention_mask, lengths)
        pos = self.pos_emb(ktrain.arange(L, device=input_ids.device)) if self.pos_emb \
            is not None else self.pos_table[:L]
        x = self.drop(self.embedding(input_ids) + pos)
        for blk in self.blocks:
            x, _ = blk(x, key_mask=mask)
        x = self.ln_f(x)
        if mask is None:
            pooled = x.mean(1)
        else:
            m = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.fc(self.drop(pooled))
