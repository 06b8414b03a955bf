"""Tokenizers: character, whitespace and regex/basic-English word splitting, and subword
BPE / WordPiece through the Hugging Face ``tokenizers`` library.

Word-level tokenizers are plain callables ``str -> list[str]`` (pair them with a
:class:`~ktrain_text.vocab.Vocab`); :func:`get_tokenizer` builds one by name as
torchtext's does. :class:`SubwordTokenizer` wraps a ``tokenizers.Tokenizer`` (train on
files or an iterator, save/load ``tokenizer.json``, special tokens, padding and
truncation) and also loads any pretrained ``tokenizer.json`` offline.

Example::

    tok = get_tokenizer("basic_english")
    tok("Don't panic!")                       # ['don', "'", 't', 'panic', '!']
    bpe = SubwordTokenizer.train(["corpus.txt"], model="bpe", vocab_size=2000)
    bpe.encode("hello world")                 # [312, 845]
    bpe.save("tokenizer.json"); SubwordTokenizer.from_file("tokenizer.json")
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["CharTokenizer", "RegexTokenizer", "SubwordTokenizer", "WhitespaceTokenizer",
           "basic_english", "get_tokenizer"]

# torchtext's basic_english normalisation: lower case, spaces around punctuation, some
# punctuation dropped
_BASIC_PATTERNS = [(re.compile(p), r) for p, r in [
    (r"\'", " '  "), (r"\"", ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "),
    (r"\(", " ( "), (r"\)", " ) "), (r"\!", " ! "), (r"\?", " ? "), (r"\;", " "),
    (r"\:", " "), (r"\s+", " ")]]


def basic_english(text: str) -> list[str]:
    """torchtext's ``basic_english``: lower-case, split off punctuation, drop quotes,
    colons and semicolons, split on whitespace."""
    text = text.lower()
    for pat, rep in _BASIC_PATTERNS:
        text = pat.sub(rep, text)
    return text.split()


class CharTokenizer:
    """``str -> list[str]`` of single characters (``lower`` optionally)."""

    def __init__(self, lower: bool = False):
        self.lower = lower

    def __call__(self, text: str) -> list[str]:
        return list(text.lower() if self.lower else text)

    def __repr__(self):
        return f"CharTokenizer(lower={self.lower})"


class WhitespaceTokenizer:
    """Split on runs of whitespace (``lower`` optionally)."""

    def __init__(self, lower: bool = False):
        self.lower = lower

    def __call__(self, text: str) -> list[str]:
        return (text.lower() if self.lower else text).split()

    def __repr__(self):
        return f"WhitespaceTokenizer(lower={self.lower})"


class RegexTokenizer:
    """Tokens are the matches of ``pattern`` (default: runs of word characters, or single
    other non-space characters)."""

    def __init__(self, pattern: str = r"\w+|[^\w\s]", lower: bool = True):
        self.pattern = pattern
        self._re = re.compile(pattern)
        self.lower = lower

    def __call__(self, text: str) -> list[str]:
        return self._re.findall(text.lower() if self.lower else text)

    def __repr__(self):
        return f"RegexTokenizer({self.pattern!r}, lower={self.lower})"


def get_tokenizer(name, lower: bool | None = None):
    """A word-level tokenizer by name: ``'basic_english'``, ``'char'``, ``'whitespace'``
    (or None: whitespace, as torchtext's ``split``), ``'regex'`` or ``'regex:<pattern>'``;
    a callable is returned as is."""
    if callable(name):
        return name
    if name in (None, "whitespace", "split"):
        return WhitespaceTokenizer(bool(lower))
    if name == "basic_english":
        return basic_english
    if name in ("char", "character"):
        return CharTokenizer(bool(lower))
    if name == "regex":
        return RegexTokenizer(lower=True if lower is None else lower)
    if isinstance(name, str) and name.startswith("regex:"):
        return RegexTokenizer(name[len("regex:"):], lower=True if lower is None else lower)
    raise ValueError(f"unknown tokenizer {name!r}; known: basic_english, char, whitespace, "
                     "regex, regex:<pattern> (subword: bpe, wordpiece or a tokenizer.json "
                     "path, see SubwordTokenizer)")


# ---------------------------------------------------------------------------- subword
def _hf():
    try:
        import tokenizers
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError("subword tokenizers need the 'tokenizers' package: pip install "
                          "tokenizers") from e
    return tokenizers


class SubwordTokenizer:
    """A BPE / WordPiece (or any pretrained) tokenizer of the ``tokenizers`` library.

    Build with :meth:`train` (from files), :meth:`train_from_iterator` (from strings) or
    :meth:`from_file` (any ``tokenizer.json``). ``encode(text) -> list[int]``,
    ``decode(ids) -> str``, ``encode_batch(texts, padding=True, truncation=True,
    max_length=...)`` gives numpy ``input_ids``/``attention_mask``/``lengths``.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    # -------------------------------------------------------------- construction
    @classmethod
    def _new(cls, model: str, unk_token: str, lowercase: bool):
        tk = _hf()
        from tokenizers import decoders, normalizers, pre_tokenizers

        model = model.lower()
        if model == "bpe":
            # byte-level: every string is representable, decode restores spaces exactly
            tok = tk.Tokenizer(tk.models.BPE())
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
        elif model == "wordpiece":
            tok = tk.Tokenizer(tk.models.WordPiece(unk_token=unk_token))
            tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            tok.decoder = decoders.WordPiece()
        else:
            raise ValueError(f"unknown subword model {model!r}: 'bpe' or 'wordpiece'")
        norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        tok.normalizer = normalizers.Sequence(norms)
        return tok

    @staticmethod
    def _trainer(model, vocab_size, min_frequency, special_tokens):
        tk = _hf()
        from tokenizers import pre_tokenizers

        if model.lower() == "bpe":
            return tk.trainers.BpeTrainer(
                vocab_size=vocab_size, min_frequency=min_frequency,
                special_tokens=list(special_tokens), show_progress=False,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        return tk.trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                            special_tokens=list(special_tokens),
                                            show_progress=False)

    @classmethod
    def train(cls, files, model: str = "bpe", vocab_size: int = 8000, min_frequency: int = 2,
              special_tokens=("<pad>", "<unk>", "<bos>", "<eos>"), lowercase: bool = False):
        """Train a ``'bpe'`` (byte-level) or ``'wordpiece'`` tokenizer on text files."""
        files = [str(f) for f in ([files] if isinstance(files, (str, Path)) else files)]
        for f in files:
            if not Path(f).is_file():
                raise FileNotFoundError(f"tokenizer training file not found: {f}")
        unk = "<unk>" if "<unk>" in special_tokens else "[UNK]"
        tok = cls._new(model, unk, lowercase)
        tok.train(files, cls._trainer(model, vocab_size, min_frequency, special_tokens))
        return cls(tok)

    @classmethod
    def train_from_iterator(cls, texts: Iterable[str], model: str = "bpe",
                            vocab_size: int = 8000, min_frequency: int = 2,
                            special_tokens=("<pad>", "<unk>", "<bos>", "<eos>"),
                            lowercase: bool = False):
        """Train on an iterable of strings (deterministic for the same texts)."""
        unk = "<unk>" if "<unk>" in special_tokens else "[UNK]"
        tok = cls._new(model, unk, lowercase)
        tok.train_from_iterator(list(texts),
                                cls._trainer(model, vocab_size, min_frequency, special_tokens))
        return cls(tok)

    @classmethod
    def from_file(cls, path):
        """Load any ``tokenizer.json`` (e.g. a pretrained model's), offline."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        return cls(_hf().Tokenizer.from_file(str(path)))

    load = from_file

    def save(self, path) -> Path:
        """Write ``tokenizer.json`` (atomic rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        self.tokenizer.save(str(tmp))
        tmp.replace(path)
        return path

    # -------------------------------------------------------------- use
    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def __len__(self):
        return self.vocab_size

    def token_to_id(self, token: str):
        return self.tokenizer.token_to_id(token)

    def id_to_token(self, i: int):
        return self.tokenizer.id_to_token(int(i))

    @property
    def pad_index(self) -> int:
        """The id of ``<pad>`` (or ``[PAD]``), else 0."""
        for t in ("<pad>", "[PAD]", "<|pad|>"):
            i = self.tokenizer.token_to_id(t)
            if i is not None:
                return int(i)
        return 0

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        ids = [int(i) for i in np.asarray(ids).reshape(-1)]
        return self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    def encode_batch(self, texts, padding: bool = True, truncation: bool = False,
                     max_length: int | None = None, add_special_tokens: bool = False) -> dict:
        """``{'input_ids', 'attention_mask', 'lengths'}`` numpy int64 arrays; padded to
        the longest text (``padding``) and cut at ``max_length`` (``truncation``)."""
        from .collate import pad_batch

        encs = self.tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        seqs = [e.ids for e in encs]
        if truncation and max_length is not None:
            seqs = [s[:max_length] for s in seqs]
        if not padding:
            return {"input_ids": seqs}
        return pad_batch(seqs, padding_value=self.pad_index)

    def __repr__(self):
        model = type(self.tokenizer.model).__name__
        return f"SubwordTokenizer({model}, vocab_size={self.vocab_size})"
