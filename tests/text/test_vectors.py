"""Pretrained word vectors: GloVe and word2vec/fastText text formats, coverage, Embedding."""
import numpy as np
import pytest
from ktrain_text.vectors import coverage, embedding_from_vectors, load_vectors
from ktrain_text.vocab import build_vocab_from_iterator


@pytest.fixture
def vocab():
    return build_vocab_from_iterator([["good", "bad", "movie", "zzz"]],
                                     specials=["<pad>", "<unk>"])


@pytest.mark.parametrize("header", [False, True])
def test_load_glove_and_word2vec(tmp_path, vocab, header):
    lines = ["good 1 2 3", "Bad 4 5 6", "movie 7 8 9", "other 0 0 1"]
    if header:
        lines = ["4 3"] + lines
    p = tmp_path / "vecs.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    vecs = load_vectors(p, vocab=vocab)
    assert vecs.dim == 3 and "other" not in vecs        # filtered to the vocabulary
    assert vecs["good"].tolist() == [1, 2, 3] and vecs["nope"].tolist() == [0, 0, 0]
    rep = coverage(load_vectors(p), vocab)
    assert rep["total"] == 4 and rep["covered"] == 2 and rep["missing"] == ["bad", "zzz"]
    assert rep["coverage"] == 0.5
    emb, rep = embedding_from_vectors(load_vectors(p), vocab, freeze=True)
    w = emb.weight.detach().numpy()
    assert w.shape == (len(vocab), 3) and w.dtype == np.float32
    assert w[vocab["good"]].tolist() == [1, 2, 3]
    assert np.all(w[vocab["<pad>"]] == 0)
    assert not emb.weight.requires_grad


def test_bad_vector_file(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("a 1 2\nb 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 2 numbers"):
        load_vectors(p)
    with pytest.raises(FileNotFoundError):
        load_vectors(tmp_path / "none.txt")
