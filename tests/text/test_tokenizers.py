"""Word-level and subword tokenizers: splitting, round trips, save/load, specials,
padding and truncation."""
import json

import numpy as np
import pytest
from ktrain_text.tokenizers import (
    CharTokenizer,
    RegexTokenizer,
    SubwordTokenizer,
    WhitespaceTokenizer,
    basic_english,
    get_tokenizer,
)

TEXT = "Hello world, this is a test. Another line!\n" * 30


def test_basic_english_matches_torchtext_rules():
    assert basic_english("Don't panic!") == ["don", "'", "t", "panic", "!"]
    assert basic_english('He said "hi", (twice).') == ["he", "said", "hi", ",", "(", "twice",
                                                       ")", "."]


@pytest.mark.parametrize("name,expected", [
    ("char", list("Ab c")), ("whitespace", ["Ab", "c"]), (None, ["Ab", "c"]),
    ("regex", ["ab", "c"]), ("regex:[a-z]", ["b", "c"])])
def test_get_tokenizer(name, expected):
    tok = get_tokenizer(name)
    assert tok("Ab c") == expected if name != "regex:[a-z]" else tok("Ab c") == ["a", "b", "c"]


def test_word_tokenizers_and_errors():
    assert CharTokenizer(lower=True)("AB") == ["a", "b"]
    assert WhitespaceTokenizer(lower=True)(" A  b\n") == ["a", "b"]
    assert RegexTokenizer()("It's 5pm!") == ["it", "'", "s", "5pm", "!"]
    assert get_tokenizer(str.split) is str.split
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer("nope")


@pytest.mark.parametrize("model", ["bpe", "wordpiece"])
def test_subword_train_on_files_round_trip_save_load(tmp_path, model):
    f = tmp_path / "train.txt"
    f.write_text(TEXT, encoding="utf-8")
    tok = SubwordTokenizer.train([f], model=model, vocab_size=120, min_frequency=1)
    assert tok.token_to_id("<pad>") == 0 and tok.token_to_id("<unk>") == 1
    assert tok.pad_index == 0
    ids = tok.encode("Hello world, this is a test.")
    assert ids and all(isinstance(i, int) for i in ids)
    text = tok.decode(ids)
    if model == "bpe":
        assert text == "Hello world, this is a test."    # byte level: exact
    else:
        assert text.replace(" ", "") == "Helloworld,thisisatest."
    path = tok.save(tmp_path / "tok" / "tokenizer.json")
    json.loads(path.read_text())                          # a plain tokenizer.json
    again = SubwordTokenizer.from_file(path)
    assert again.encode("Hello world, this is a test.") == ids
    assert again.vocab_size == tok.vocab_size


def test_subword_padding_truncation_and_special_tokens(tmp_path):
    tok = SubwordTokenizer.train_from_iterator([TEXT], model="bpe", vocab_size=150,
                                               min_frequency=1)
    batch = tok.encode_batch(["Hello world", "Hello world, this is a test. Another"],
                             truncation=True, max_length=4)
    ids, mask, lengths = batch["input_ids"], batch["attention_mask"], batch["lengths"]
    assert ids.shape[1] == lengths.max() <= 4
    assert (mask.sum(1) == lengths).all()
    assert (ids[mask == 0] == tok.pad_index).all()
    # special tokens are whole tokens and are skipped when decoding
    eos = tok.token_to_id("<eos>")
    assert tok.decode(tok.encode("Hello") + [eos]) == "Hello"
    assert "<eos>" in tok.decode(tok.encode("Hello") + [eos], skip_special_tokens=False)


def test_load_any_tokenizer_json_offline(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    hf = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.Whitespace()
    hf.save(str(tmp_path / "tokenizer.json"))
    tok = SubwordTokenizer.from_file(tmp_path / "tokenizer.json")
    assert tok.encode("hello world foo") == [1, 2, 0]
    with pytest.raises(FileNotFoundError, match="not found"):
        SubwordTokenizer.from_file(tmp_path / "missing.json")


def test_encode_batch_returns_int64_arrays():
    tok = SubwordTokenizer.train_from_iterator([TEXT], model="wordpiece", vocab_size=100,
                                               min_frequency=1)
    b = tok.encode_batch(["hello", "hello world"])
    assert b["input_ids"].dtype == np.int64 and b["attention_mask"].dtype == np.int64
