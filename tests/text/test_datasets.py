"""Text datasets on small files written here: CSV/TSV/JSONL, folders by class, the
catalog layouts (offline errors included), language modeling; splits and vocabularies."""
import json

import numpy as np
import pytest
from ktrain_text.datasets import (
    AG_NEWS,
    IMDB,
    SST2,
    LanguageModelingDataset,
    TextClassificationDataset,
    TextFolder,
    WikiText2,
    _common,
)


def _splits(make):
    return {s: make(s) for s in ("train", "val", "test")}


def test_tsv_without_header_multiple_files(sentiment_files):
    parts = _splits(lambda s: TextClassificationDataset(
        sentiment_files, split=s, label_names=["negative", "positive"]))
    assert sum(len(d) for d in parts.values()) == 32
    texts = [set(d.texts) for d in parts.values()]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    tr = parts["train"]
    assert tr.classes == ["negative", "positive"] and tr.num_classes == 2
    # the vocabulary comes from the training split and is the same for every split
    assert all(d.encoder.vocab == tr.encoder.vocab for d in parts.values())
    ids, label = tr[0]
    assert ids.dtype == np.int64 and label in (0, 1)
    assert tr.decode(ids) == tr.texts[0]
    assert tr.encode("great phone") == [tr.encoder.vocab["great"], tr.encoder.vocab["phone"]]
    # deterministic: the same seed gives the same split whatever the global RNG does
    np.random.seed(123)
    again = TextClassificationDataset(sentiment_files, split="val")
    assert again.texts == parts["val"].texts
    other = TextClassificationDataset(sentiment_files, split="val", split_seed=1)
    assert other.texts != parts["val"].texts
    with pytest.raises(ValueError, match="split"):
        TextClassificationDataset(sentiment_files, split="dev2")
    with pytest.raises(ValueError, match="num_classes=3"):
        TextClassificationDataset(sentiment_files, num_classes=3)


def test_csv_with_header_by_name_and_label_strings(tmp_path):
    p = tmp_path / "d.csv"
    rows = ["id,review,sentiment"] + [f'{i},"nice, {i}",pos' if i % 2 else f"{i},meh {i},neg"
                                      for i in range(20)]
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = TextClassificationDataset([p], text_column="review", label_column="sentiment",
                                   val_fraction=0.0, test_fraction=0.0)
    assert ds.classes == ["neg", "pos"] and len(ds) == 20
    assert "nice , 1" in [ds.decode(ds[i][0]) for i in range(len(ds))]
    with pytest.raises(ValueError, match="no column"):
        TextClassificationDataset([p], text_column="body", label_column="sentiment")


def test_jsonl_and_one_based_labels_onto_names(tmp_path):
    p = tmp_path / "d.jsonl"
    lines = [json.dumps({"title": f"t{i}", "body": f"word{i % 3}", "y": 1 + i % 4})
             for i in range(40)]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    names = ["World", "Sports", "Business", "Sci/Tech"]
    ds = TextClassificationDataset(p, text_column=["title", "body"], label_column="y",
                                   label_names=names, tokenizer="whitespace")
    assert ds.classes == names
    i = ds.texts.index(next(t for t in ds.texts if t.startswith("t5 ")))
    assert ds[i][1] == (1 + 5 % 4) - 1          # label 2 -> class 1 ('Sports')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        TextClassificationDataset(bad)


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="data.files is required"):
        TextClassificationDataset(None)
    with pytest.raises(FileNotFoundError, match="no such file"):
        TextClassificationDataset([tmp_path / "nope.tsv"])


def test_vocab_path_saves_once_and_reuses(tmp_path, sentiment_files):
    vp = tmp_path / "run" / "vocab.json"
    a = TextClassificationDataset(sentiment_files, vocab_path=str(vp))
    assert vp.is_file()
    b = TextClassificationDataset(sentiment_files[:1], split="test", vocab_path=str(vp))
    assert b.encoder.vocab == a.encoder.vocab


def test_subword_tokenizer_dataset(sentiment_files):
    ds = TextClassificationDataset(sentiment_files, tokenizer="bpe", vocab_size=1000,
                                   max_tokens=300, min_freq=1)
    ids, _ = ds[0]
    assert ds.decode(ids) == ds.texts[0] and ds.vocab_size <= 300 and ids.max() < 300


def test_collate_and_sampler_attributes(sentiment_files):
    from ktrain.utils.data import DataLoader

    ds = TextClassificationDataset(sentiment_files)
    loader = DataLoader(ds, batch_sampler=ds.build_batch_sampler(4, True, False),
                        collate_fn=ds.collate_fn)
    x, y = next(iter(loader))
    assert x["input_ids"].shape == x["attention_mask"].shape and y.shape == (4,)
    assert (x["attention_mask"].numpy().sum(1) == x["lengths"].numpy()).all()
    assert sum(len(b) for b in ds.build_batch_sampler(4, False, False)) == len(ds)


def _write_folder(root):
    for c, words in (("neg", ["bad", "awful"]), ("pos", ["good", "great"])):
        (root / c).mkdir(parents=True)
        for i in range(10):
            (root / c / f"{i}.txt").write_text(f"{words[i % 2]} film {i}", encoding="utf-8")


def test_text_folder_flat_and_acl_imdb_layout(tmp_path):
    _write_folder(tmp_path / "flat")
    parts = _splits(lambda s: TextFolder(tmp_path / "flat", split=s))
    assert sum(len(d) for d in parts.values()) == 20 and parts["train"].classes == ["neg", "pos"]
    root = tmp_path / "aclImdb"
    _write_folder(root / "train")
    _write_folder(root / "test")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0.txt").write_text("no label", encoding="utf-8")
    tr, va, te = (TextFolder(root, split=s, val_fraction=0.2) for s in ("train", "val", "test"))
    assert (len(tr), len(va), len(te)) == (16, 4, 20) and tr.classes == ["neg", "pos"]


def test_catalog_offline_errors_name_url_and_download(tmp_path):
    for make, name in ((AG_NEWS, "ag_news"), (IMDB, "imdb"), (SST2, "sst2"),
                       (WikiText2, "wikitext2")):
        with pytest.raises(FileNotFoundError) as e:
            make(tmp_path, split="train")
        msg = str(e.value)
        assert "download=True" in msg and _common.check_split("val") == "val"
        assert any(url in msg for url, *_ in __import__(
            "ktrain_text.datasets.catalog", fromlist=["RESOURCES"]).RESOURCES[name])


def test_download_failure_is_clear(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(_common.urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError, match="could not download .*place it at"):
        AG_NEWS(tmp_path, split="train", download=True)


def test_ag_news_sst2_wikitext_layouts(tmp_path):
    (tmp_path / "ag_news").mkdir()
    for name, n in (("train", 40), ("test", 8)):
        rows = [f'"{1 + i % 4}","title {i}","desc {i % 5}"' for i in range(n)]
        (tmp_path / "ag_news" / f"{name}.csv").write_text("\n".join(rows) + "\n")
    tr, te = AG_NEWS(tmp_path, split="train"), AG_NEWS(tmp_path, split="test")
    assert tr.classes[0] == "World" and len(te) == 8 and te[1][1] == 1
    (tmp_path / "SST-2").mkdir()
    for name, n in (("train", 20), ("dev", 6)):
        rows = ["sentence\tlabel"] + [f"nice movie {i} \t{i % 2}" for i in range(n)]
        (tmp_path / "SST-2" / f"{name}.tsv").write_text("\n".join(rows) + "\n")
    assert len(SST2(tmp_path, split="test")) == 6
    (tmp_path / "wikitext-2").mkdir()
    for s in ("train", "valid", "test"):
        (tmp_path / "wikitext-2" / f"wiki.{s}.tokens").write_text(
            " = Title = \n the cat sat on the mat . \n" * 20)
    wt = WikiText2(tmp_path, split="val", block_size=8)
    x, y = wt[0]
    assert x.shape == (8,) and (x[1:] == y[:-1]).all() and "the cat" in wt.decode(x)


def test_language_modeling_char_and_word(corpus):
    tr = LanguageModelingDataset([corpus], split="train", block_size=16, samples_per_epoch=10)
    va = LanguageModelingDataset([corpus], split="val", block_size=16)
    te = LanguageModelingDataset([corpus], split="test", block_size=16, stride=8)
    assert len(tr) == 10 and tr.chars_per_token == 1.0
    x, y = tr[3]
    assert x.shape == y.shape == (16,) and (x[1:] == y[:-1]).all()
    # evaluation blocks are strided and deterministic
    assert (va[0][0] == va.data[:16]).all() and (va[1][0] == va.data[16:32]).all()
    assert (te[1][0] == te.data[8:24]).all()
    assert va.encoder.vocab == tr.encoder.vocab and tr.decode(tr.encode("the fox")) == "the fox"
    wd = LanguageModelingDataset([corpus], split="val", level="word", block_size=4)
    assert wd.chars_per_token > 2 and wd.decode(wd[0][0]).count(" ") == 3
    with pytest.raises(ValueError, match="block_size"):
        LanguageModelingDataset([corpus], split="val", block_size=10_000)


def test_labels_map_alike_in_every_split(tmp_path):
    # the test file holds only labels 2 and 3 (of 1..4): they must keep their classes
    tr = tmp_path / "train.csv"
    tr.write_text("".join(f"{1 + i % 4},text {i}\n" for i in range(20)))
    te = tmp_path / "test.csv"
    te.write_text("3,x\n2,y\n")
    names = ["a", "b", "c", "d"]
    ds = TextClassificationDataset([tr], split="test", label_column=0, text_column=1,
                                   label_names=names, test_files=[te])
    assert [ds[i][1] for i in range(2)] == [2, 1]
    val = TextClassificationDataset([tr], split="val", label_column=0, text_column=1,
                                    val_fraction=0.2, test_fraction=0.0)
    assert val.classes == ["1", "2", "3", "4"]
    assert all(val[i][1] == int(val.texts[i].split()[1]) % 4 for i in range(len(val)))
