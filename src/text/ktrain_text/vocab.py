"""``Vocab``: token <-> index mapping with specials and a default index (torchtext's).

Example::

    vocab = build_vocab_from_iterator([["a", "b", "a"], ["c"]], specials=["<pad>", "<unk>"],
                                      min_freq=1)
    vocab.set_default_index(vocab["<unk>"])
    vocab(["a", "zzz"])                  # [2, 1]
    vocab.save("vocab.json"); Vocab.load("vocab.json")
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["Vocab", "build_vocab_from_iterator", "vocab"]


class Vocab:
    """An ordered token list with its reverse mapping.

    ``vocab[token]`` is the index (the default index for unknown tokens when one is set,
    else a ``RuntimeError`` as in torchtext); ``vocab(tokens)`` maps a list;
    ``lookup_tokens(indices)`` goes back.
    """

    def __init__(self, tokens: Iterable[str] = (), default_index: int | None = None):
        self._itos: list[str] = []
        self._stoi: dict[str, int] = {}
        for t in tokens:
            self.append_token(t)
        self._default = None
        if default_index is not None:
            self.set_default_index(default_index)

    # ---------------------------------------------------------------- lookups
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        i = self._stoi.get(token)
        if i is not None:
            return i
        if self._default is None:
            raise RuntimeError(f"Token {token!r} not found and default index is not set")
        return self._default

    def __call__(self, tokens: Iterable[str]) -> list[int]:
        return self.lookup_indices(tokens)

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        stoi, d = self._stoi, self._default
        if d is None:
            return [self[t] for t in tokens]
        return [stoi.get(t, d) for t in tokens]

    def lookup_token(self, index: int) -> str:
        if not 0 <= int(index) < len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds of size "
                               f"{len(self._itos)}")
        return self._itos[int(index)]

    def lookup_tokens(self, indices: Iterable[int]) -> list[str]:
        return [self.lookup_token(i) for i in indices]

    def get_itos(self) -> list[str]:
        return list(self._itos)

    def get_stoi(self) -> dict[str, int]:
        return dict(self._stoi)

    # ---------------------------------------------------------------- changes
    def set_default_index(self, index: int | None) -> None:
        """The index returned for unknown tokens (None: raise instead)."""
        if index is not None and not 0 <= int(index) < max(len(self), 1):
            raise ValueError(f"default index {index} is out of range for a vocab of size "
                             f"{len(self)}")
        self._default = None if index is None else int(index)

    def get_default_index(self) -> int | None:
        return self._default

    def append_token(self, token: str) -> None:
        if token in self._stoi:
            raise RuntimeError(f"Token {token!r} already exists in the Vocab with index "
                               f"{self._stoi[token]}")
        self._stoi[token] = len(self._itos)
        self._itos.append(token)

    def insert_token(self, token: str, index: int) -> None:
        if token in self._stoi:
            raise RuntimeError(f"Token {token!r} already exists in the Vocab")
        if not 0 <= index <= len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds of size "
                               f"{len(self._itos)}")
        self._itos.insert(index, token)
        self._stoi = {t: i for i, t in enumerate(self._itos)}
        if self._default is not None and self._default >= index:
            self._default += 1

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        return {"itos": list(self._itos), "default_index": self._default}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        if "itos" not in d:
            raise ValueError("a vocab JSON needs an 'itos' list")
        return cls(d["itos"], d.get("default_index"))

    def save(self, path) -> Path:
        """Write ``{"itos": [...], "default_index": ...}`` as JSON (atomic rename)."""
        from ktrain.serialization import atomic_write_text

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False))
        return path

    @classmethod
    def load(cls, path) -> Vocab:
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"cannot read vocab file {path}: {e}") from None

    def __eq__(self, other):
        return isinstance(other, Vocab) and self._itos == other._itos and \
            self._default == other._default

    def __repr__(self):
        head = ", ".join(repr(t) for t in self._itos[:5])
        more = ", ..." if len(self) > 5 else ""
        return f"Vocab(size={len(self)}, [{head}{more}], default_index={self._default})"


def build_vocab_from_iterator(iterator: Iterable[Iterable[str]], min_freq: int = 1,
                              specials: Iterable[str] | None = None,
                              special_first: bool = True,
                              max_tokens: int | None = None) -> Vocab:
    """A :class:`Vocab` of the tokens in ``iterator`` (an iterable of token lists).

    Tokens are ordered by decreasing frequency, ties alphabetically (deterministic);
    those seen fewer than ``min_freq`` times are dropped; ``max_tokens`` caps the size
    (specials included). ``specials`` go first (or last with ``special_first=False``).
    """
    counter = Counter()
    for tokens in iterator:
        counter.update(tokens)
    specials = list(specials or [])
    for s in specials:
        counter.pop(s, None)
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ordered = [t for t, c in ordered if c >= min_freq]
    if max_tokens is not None:
        if max_tokens <= len(specials):
            raise ValueError(f"max_tokens ({max_tokens}) must exceed the number of specials "
                             f"({len(specials)})")
        ordered = ordered[:max_tokens - len(specials)]
    tokens = specials + ordered if special_first else ordered + specials
    return Vocab(tokens)


def vocab(ordered_dict, min_freq: int = 1, specials=None, special_first: bool = True) -> Vocab:
    """torchtext's ``vocab(OrderedDict(token -> count))``: keeps the given order."""
    items = [t for t, c in ordered_dict.items() if c >= min_freq]
    specials = [s for s in (specials or [])]
    items = [t for t in items if t not in specials]
    return Vocab(specials + items if special_first else items + specials)
