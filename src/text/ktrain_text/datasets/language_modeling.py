"""Language-modeling data: one token stream cut into blocks of ``block_size``.

The files are read, joined with newlines, and split *contiguously*: the first
``1 - val_fraction - test_fraction`` of the text trains, the next part validates, the
end tests (or ``val_files``/``test_files`` give those splits). The encoder (characters,
words or subwords) is built from the training text only.

Samples are ``(x, y)`` int64 arrays of ``block_size`` with ``y`` = ``x`` shifted by one
token. Training draws a *random* contiguous block each time (``samples_per_epoch``
blocks an epoch, from numpy's global generator, which the Trainer seeds);
evaluation walks the stream with ``stride`` (default ``block_size``: every token is
scored once).

Example::

    ds = LanguageModelingDataset(["input.txt"], level="char", block_size=128)
    x, y = ds[0]; ds.decode(x)
"""
from __future__ import annotations

import numpy as np

from ..encoding import encoder_for
from ._common import check_split, resolve_files

__all__ = ["LanguageModelingDataset"]


def _read(paths):
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in paths)


class LanguageModelingDataset:
    """Blocks of a token stream for next-token prediction.

    Args:
        files: text file(s) (list, path or glob); joined with newlines.
        split: 'train', 'val' or 'test'.
        level: 'char' (default), 'word' (whitespace), or any tokenizer name of
            :func:`~ktrain_text.encoding.build_encoder` ('basic_english', 'bpe',
            'wordpiece', a tokenizer.json path).
        block_size: tokens per sample.
        val_fraction, test_fraction: contiguous tail parts of the text.
        val_files, test_files: explicit files for those splits instead.
        samples_per_epoch: random training blocks per epoch (default: as many as fit the
            training stream without overlap).
        stride: step between evaluation blocks (default ``block_size``).
        min_freq, max_tokens, vocab_size, lower, vocab_path: encoder options.
    """

    def __init__(self, files=None, split: str = "train", level: str = "char",
                 block_size: int = 128, val_fraction: float = 0.05,
                 test_fraction: float = 0.05, val_files=None, test_files=None,
                 samples_per_epoch: int | None = None, stride: int | None = None,
                 min_freq: int = 1, max_tokens: int | None = None, vocab_size: int = 8000,
                 lower: bool = False, vocab_path: str | None = None):
        split = check_split(split)
        if int(block_size) < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        self.split, self.block_size, self.level = split, int(block_size), level
        paths = resolve_files(files)
        text = _read(paths)
        extra = {n: _read(resolve_files(f, f"data.{n}_files"))
                 for n, f in (("val", val_files), ("test", test_files)) if f}
        vf = 0.0 if "val" in extra else float(val_fraction)
        tf = 0.0 if "test" in extra else float(test_fraction)
        if not (0 <= vf < 1 and 0 <= tf < 1 and vf + tf < 1):
            raise ValueError(f"val_fraction ({vf}) and test_fraction ({tf}) must be in [0, 1) "
                             "with a sum below 1")
        n = len(text)
        a, b = int(n * (1 - vf - tf)), int(n * (1 - tf))
        parts = {"train": text[:a], "val": text[a:b], "test": text[b:]}
        parts.update(extra)
        tokenizer = {"char": "char", "word": "whitespace"}.get(level, level)
        self.encoder = encoder_for(parts["train"], tokenizer, vocab_path, min_freq=min_freq,
                                   max_tokens=max_tokens, vocab_size=vocab_size, lower=lower,
                                   specials=("<unk>",) if tokenizer == "char" else
                                   ("<pad>", "<unk>"))
        own = parts[split]
        enc = getattr(self.encoder, "encode_array", None)
        self.data = enc(own) if enc else np.asarray(self.encoder.encode(own), np.int64)
        self.n_chars = len(own)
        if len(self.data) < self.block_size + 1:
            raise ValueError(f"the {split} split has {len(self.data)} tokens, fewer than "
                             f"block_size + 1 = {self.block_size + 1} (smaller block_size, "
                             f"or a larger {split} fraction)")
        self.stride = int(stride or self.block_size)
        self.samples_per_epoch = samples_per_epoch
        self.files = [str(p) for p in paths]

    def __len__(self):
        if self.split == "train":
            return int(self.samples_per_epoch or max(1, (len(self.data) - 1) // self.block_size))
        return (len(self.data) - 1 - self.block_size) // self.stride + 1

    def __getitem__(self, i):
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} blocks")
        i %= len(self)
        T = self.block_size
        if self.split == "train":
            start = np.random.randint(0, len(self.data) - T)
        else:
            start = i * self.stride
        chunk = self.data[start:start + T + 1]
        return chunk[:-1].copy(), chunk[1:].copy()

    # ------------------------------------------------------------------ encoder access
    @property
    def vocab_size(self) -> int:
        return self.encoder.vocab_size

    @property
    def chars_per_token(self) -> float:
        """Characters of this split per token (1 for character level): bits per
        character = loss / ln 2 / chars_per_token."""
        return self.n_chars / max(len(self.data), 1)

    def encode(self, text: str) -> list[int]:
        return self.encoder.encode(text)

    def decode(self, ids) -> str:
        return self.encoder.decode(ids)

    def __repr__(self):
        return (f"LanguageModelingDataset(split={self.split!r}, tokens={len(self.data)}, "
                f"block_size={self.block_size}, vocab_size={self.vocab_size})")
