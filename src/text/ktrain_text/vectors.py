"""Pretrained word vectors (GloVe, word2vec and fastText text formats) -> ``Embedding``.

Example::

    vecs = load_vectors("glove.6B.100d.txt", vocab=vocab)     # only the vocab's words
    emb, report = embedding_from_vectors(vecs, vocab, freeze=False)
    report["coverage"]          # 0.93: share of vocabulary tokens that got a vector
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["Vectors", "coverage", "embedding_from_vectors", "load_vectors"]


class Vectors:
    """Word -> vector table: ``itos`` (list), ``stoi`` (dict), ``vectors`` float32 (N, D).
    ``vecs['word']`` gives the vector (zeros for unknown words); ``get_vecs_by_tokens``
    stacks many (torchtext's names)."""

    def __init__(self, itos, vectors):
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.vectors = np.asarray(vectors, dtype=np.float32).reshape(len(self.itos), -1)
        self.dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __getitem__(self, token):
        i = self.stoi.get(token)
        return self.vectors[i] if i is not None else np.zeros(self.dim, np.float32)

    def get_vecs_by_tokens(self, tokens, lower_case_backup: bool = False) -> np.ndarray:
        rows = []
        for t in tokens:
            if t not in self.stoi and lower_case_backup:
                t = t.lower()
            rows.append(self[t])
        return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)

    def __repr__(self):
        return f"Vectors(n={len(self)}, dim={self.dim})"


def load_vectors(path, vocab=None, max_vectors: int | None = None,
                 lower_case_backup: bool = True) -> Vectors:
    """Read a GloVe (``word v1 ... vD``), word2vec text or fastText ``.vec`` file (both
    with an ``N D`` header line, detected automatically).

    ``vocab`` (a Vocab or a set of words) keeps only those words (and their lower-case
    forms), so large files load in little memory; ``max_vectors`` reads only the first
    ones (the files list frequent words first).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vectors file not found: {path}")
    wanted = None
    if vocab is not None:
        words = vocab.get_itos() if hasattr(vocab, "get_itos") else list(vocab)
        wanted = set(words) | ({w.lower() for w in words} if lower_case_backup else set())
    itos, rows, dim = [], [], None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if n == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])  # word2vec / fastText header: count, dimension
                continue
            if len(parts) < 2:
                continue
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise ValueError(f"{path}:{n}: expected {dim} numbers after the word, got "
                                 f"{len(parts) - 1}")
            word = parts[0]
            if max_vectors is not None and n > max_vectors + 1:
                break
            if wanted is not None and word not in wanted:
                continue
            if word in itos:
                continue
            itos.append(word)
            rows.append(np.asarray(parts[1:], dtype=np.float32))
    if dim is None:
        raise ValueError(f"{path}: no vectors found")
    vecs = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    return Vectors(itos, vecs)


def coverage(vectors: Vectors, vocab, lower_case_backup: bool = True,
             specials=("<pad>", "<unk>", "<bos>", "<eos>")) -> dict:
    """How much of ``vocab`` (specials excluded) has a vector: ``{'covered', 'total',
    'coverage', 'missing'}`` (``missing``: up to 20 uncovered tokens, frequent first)."""
    tokens = [t for t in vocab.get_itos() if t not in specials]
    miss = [t for t in tokens if t not in vectors and
            not (lower_case_backup and t.lower() in vectors)]
    total = len(tokens)
    return {"covered": total - len(miss), "total": total,
            "coverage": (total - len(miss)) / total if total else 0.0, "missing": miss[:20]}


def embedding_from_vectors(vectors: Vectors, vocab, freeze: bool = False,
                           padding_idx: int | None = None, unk_std: float = 0.1,
                           seed: int = 0, lower_case_backup: bool = True):
    """An ``nn.Embedding`` (len(vocab), D) with pretrained rows where the vocabulary has
    them and ``N(0, unk_std)`` rows elsewhere (zeros at ``padding_idx``, default the
    ``<pad>`` token when present). Returns ``(embedding, coverage report)``."""
    import ktrain
    from ktrain import nn

    itos = vocab.get_itos()
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((len(itos), vectors.dim)) * unk_std).astype(np.float32)
    idx = np.fromiter((vectors.stoi.get(t, vectors.stoi.get(t.lower(), -1)
                       if lower_case_backup else -1) for t in itos), np.int64, len(itos))
    hit = idx >= 0
    w[hit] = vectors.vectors[idx[hit]]
    if padding_idx is None and "<pad>" in vocab:
        padding_idx = vocab["<pad>"]
    if padding_idx is not None:
        w[padding_idx] = 0.0
    emb = nn.Embedding.from_pretrained(ktrain.from_numpy(w), freeze=freeze,
                                       padding_idx=padding_idx)
    return emb, coverage(vectors, vocab, lower_case_backup)
