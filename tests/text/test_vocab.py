"""Vocab / build_vocab_from_iterator: order, specials, default index, pruning, JSON, and
the encoders built on them."""
from collections import OrderedDict

import numpy as np
import pytest
from ktrain_text.encoding import build_encoder, load_encoder
from ktrain_text.vocab import Vocab, build_vocab_from_iterator, vocab


def test_order_specials_and_default_index():
    v = build_vocab_from_iterator([["b", "a", "b"], ["c", "a", "b"]],
                                  specials=["<pad>", "<unk>"])
    assert v.get_itos() == ["<pad>", "<unk>", "b", "a", "c"]   # by count, ties alphabetical
    with pytest.raises(RuntimeError, match="default index"):
        v["zzz"]
    v.set_default_index(v["<unk>"])
    assert v["zzz"] == 1 and v(["a", "zzz"]) == [3, 1]
    assert v.lookup_tokens([2, 4]) == ["b", "c"]
    assert "a" in v and len(v) == 5


def test_min_freq_max_tokens_special_last():
    it = [["x", "x", "x", "y", "y", "z"]]
    assert build_vocab_from_iterator(it, min_freq=2).get_itos() == ["x", "y"]
    assert build_vocab_from_iterator(it, max_tokens=3, specials=["<unk>"]).get_itos() == \
        ["<unk>", "x", "y"]
    assert build_vocab_from_iterator(it, specials=["<unk>"], special_first=False
                                     ).get_itos() == ["x", "y", "z", "<unk>"]
    with pytest.raises(ValueError, match="max_tokens"):
        build_vocab_from_iterator(it, max_tokens=1, specials=["<unk>"])


def test_insert_append_and_errors():
    v = Vocab(["a", "b"], default_index=1)
    v.insert_token("<unk>", 0)
    assert v.get_itos() == ["<unk>", "a", "b"] and v.get_default_index() == 2
    with pytest.raises(RuntimeError, match="already exists"):
        v.append_token("a")
    with pytest.raises(RuntimeError, match="out of bounds"):
        v.lookup_token(9)
    assert vocab(OrderedDict([("q", 3), ("r", 1)]), min_freq=2, specials=["<unk>"]
                 ).get_itos() == ["<unk>", "q"]


def test_json_round_trip(tmp_path):
    v = build_vocab_from_iterator([["é", "ü", "a"]], specials=["<unk>"])
    v.set_default_index(0)
    p = v.save(tmp_path / "vocab.json")
    assert Vocab.load(p) == v
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        Vocab.load(tmp_path / "bad.json")


@pytest.mark.parametrize("tokenizer", ["char", "basic_english", "whitespace", "bpe"])
def test_encoder_round_trip_and_save_load(tmp_path, tokenizer):
    texts = ["to be or not to be", "that is the question"] * 5
    enc = build_encoder(texts, tokenizer, vocab_size=60)
    ids = enc.encode("to be")
    assert enc.decode(ids) == "to be"
    assert enc.encode("zzz qq") and max(enc.encode("zzz qq")) < enc.vocab_size
    path = tmp_path / "enc.json"
    enc.save(path)
    again = load_encoder(path)
    assert again.encode("to be or not") == enc.encode("to be or not")


def test_char_encoder_is_vectorised_and_maps_unknown():
    enc = build_encoder(["abc"], "char")
    out = enc.encode_array("abxc")
    assert out.dtype == np.int64
    assert out.tolist() == [enc.vocab["a"], enc.vocab["b"], enc.vocab["<unk>"], enc.vocab["c"]]
    assert enc.decode([enc.vocab["<pad>"], enc.vocab["a"]]) == "a"   # padding skipped
