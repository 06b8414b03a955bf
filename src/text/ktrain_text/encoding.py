"""Text encoders: one object that turns a string into token ids and back.

A dataset owns one encoder, built deterministically from its training split and
exposed as ``dataset.encode`` / ``dataset.decode`` / ``dataset.vocab_size``:

* :class:`WordEncoder`: a word-level or character tokenizer plus a :class:`Vocab`
  (JSON save/load); characters are encoded with one vectorised table lookup.
* :class:`~ktrain_text.tokenizers.SubwordTokenizer`: BPE / WordPiece / any
  ``tokenizer.json``.

:func:`build_encoder` makes either from training texts; :func:`load_encoder` reads a
saved one (a ``vocab.json`` of ours or a Hugging Face ``tokenizer.json``).

Example::

    enc = build_encoder(["to be or not to be"], tokenizer="char")
    enc.decode(enc.encode("to be")) == "to be"
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .tokenizers import SubwordTokenizer, get_tokenizer
from .vocab import Vocab, build_vocab_from_iterator

__all__ = ["WordEncoder", "build_encoder", "load_encoder"]

PAD, UNK = "<pad>", "<unk>"


class WordEncoder:
    """A named tokenizer (``'char'``, ``'basic_english'``, ``'whitespace'``, ``'regex'``)
    and a :class:`Vocab` with ``<pad>``/``<unk>`` specials (unknown tokens -> ``<unk>``).
    ``decode`` joins characters with ``''`` and words with ``' '`` (padding skipped)."""

    def __init__(self, vocab: Vocab, tokenizer: str = "basic_english", lower: bool = False):
        self.vocab = vocab
        self.tokenizer_name = tokenizer
        self.lower = bool(lower)
        self.tokenizer = get_tokenizer(tokenizer, lower=lower)
        self.is_char = tokenizer in ("char", "character")
        if vocab.get_default_index() is None and UNK in vocab:
            vocab.set_default_index(vocab[UNK])
        self._itos = np.asarray(vocab.get_itos(), dtype=object)
        self._table = None

    # ------------------------------------------------------------------ protocol
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self):
        return len(self.vocab)

    @property
    def pad_index(self) -> int:
        return self.vocab[PAD] if PAD in self.vocab else 0  # noqa: SIM401 - Vocab, not dict

    def _char_table(self):
        if self._table is None:  # sorted code points of single-character tokens -> ids
            singles = [(ord(t), i) for i, t in enumerate(self.vocab.get_itos()) if len(t) == 1]
            singles.sort()
            self._table = (np.array([c for c, _ in singles], dtype=np.int64),
                           np.array([i for _, i in singles], dtype=np.int64))
        return self._table

    def encode_array(self, text: str) -> np.ndarray:
        """The ids of ``text`` as an int64 array (characters: one vectorised lookup)."""
        if not self.is_char:
            return np.asarray(self.vocab.lookup_indices(self.tokenizer(text)), dtype=np.int64)
        if self.lower:
            text = text.lower()
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        keys, ids = self._char_table()
        if keys.size == 0:
            pos = np.zeros(codes.shape, np.int64)
            hit = np.zeros(codes.shape, bool)
        else:
            pos = np.minimum(np.searchsorted(keys, codes), keys.size - 1)
            hit = keys[pos] == codes
        default = self.vocab.get_default_index()
        if not hit.all() and default is None:
            bad = text[int(np.argmin(hit))]
            raise KeyError(f"character {bad!r} is not in the vocabulary (and it has no <unk>)")
        return np.where(hit, ids[pos] if keys.size else 0, -1 if default is None else default)

    def encode(self, text: str) -> list[int]:
        return self.encode_array(text).tolist()

    def decode(self, ids) -> str:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        ids = ids[ids != self.pad_index] if PAD in self.vocab else ids
        if ids.size and (ids.min() < 0 or ids.max() >= len(self._itos)):
            raise ValueError(f"token ids must lie in [0, {len(self._itos) - 1}]")
        return ("" if self.is_char else " ").join(self._itos[ids].tolist())

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return {"type": "word", "tokenizer": self.tokenizer_name, "lower": self.lower,
                "vocab": self.vocab.to_dict()}

    def save(self, path) -> Path:
        from ktrain.serialization import atomic_write_text

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False))
        return path

    def __repr__(self):
        return f"WordEncoder({self.tokenizer_name!r}, vocab_size={self.vocab_size})"


SUBWORD = ("bpe", "wordpiece")


def build_encoder(texts, tokenizer: str = "basic_english", min_freq: int = 1,
                  max_tokens: int | None = None, vocab_size: int = 8000,
                  lower: bool = False, specials=(PAD, UNK)):
    """An encoder fitted on ``texts`` (a list of strings), deterministically.

    ``tokenizer``: a word-level name (vocab from token counts with ``min_freq`` /
    ``max_tokens``), ``'bpe'`` / ``'wordpiece'`` (trained with ``vocab_size``, capped
    by ``max_tokens``; byte-level BPE needs at least 260), or a
    path to a ``tokenizer.json`` / saved ``vocab.json`` (loaded, ``texts`` unused).
    """
    if isinstance(tokenizer, str) and (tokenizer.endswith(".json") or Path(tokenizer).is_file()):
        return load_encoder(tokenizer)
    if isinstance(texts, str):  # one text, not an iterable of characters
        texts = [texts]
    if tokenizer in SUBWORD:
        if max_tokens is not None:  # one cap for every tokenizer (configs interpolate it)
            vocab_size = min(int(vocab_size), int(max_tokens))
        return SubwordTokenizer.train_from_iterator(
            texts, model=tokenizer, vocab_size=int(vocab_size), min_frequency=int(min_freq),
            special_tokens=tuple(specials), lowercase=lower)
    tok = get_tokenizer(tokenizer, lower=lower)
    vocab = build_vocab_from_iterator((tok(t) for t in texts), min_freq=min_freq,
                                      specials=list(specials), max_tokens=max_tokens)
    if UNK in vocab:
        vocab.set_default_index(vocab[UNK])
    return WordEncoder(vocab, tokenizer, lower)


def load_encoder(path):
    """A :class:`WordEncoder` from our ``vocab.json`` or a :class:`SubwordTokenizer` from
    a Hugging Face ``tokenizer.json``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer/vocab file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read {path} as JSON: {e}") from None
    if isinstance(data, dict) and data.get("type") == "word":
        return WordEncoder(Vocab.from_dict(data["vocab"]), data.get("tokenizer", "whitespace"),
                           data.get("lower", False))
    if isinstance(data, dict) and "model" in data:
        return SubwordTokenizer.from_file(path)
    raise ValueError(f"{path}: neither a ktrain vocab.json (type 'word') nor a tokenizers "
                     "tokenizer.json (with a 'model')")


def encoder_for(texts, tokenizer, vocab_path=None, **kw):
    """:func:`build_encoder`, or with ``vocab_path``: load it when the file exists, else
    build and save it there (so later runs reuse the exact same vocabulary)."""
    if vocab_path:
        p = Path(vocab_path)
        if p.is_file():
            return load_encoder(p)
        enc = build_encoder(texts() if callable(texts) else texts, tokenizer, **kw)
        enc.save(p)
        return enc
    return build_encoder(texts() if callable(texts) else texts, tokenizer, **kw)
