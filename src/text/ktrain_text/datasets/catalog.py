"""Standard corpora in their published layouts: AG_NEWS, IMDB, SST-2, WikiText-2/103.

Each looks for its files under ``root`` and fails with a message naming the expected
path, the canonical URL and its MD5 when they are missing; ``download=True`` fetches
and verifies the archive first (the only time anything touches the network).

===========  =====================================  ==================================
dataset      files under ``root``                   splits
===========  =====================================  ==================================
AG_NEWS      ``ag_news/{train,test}.csv``           val: ``val_fraction`` of train
IMDB         ``aclImdb/{train,test}/{neg,pos}/``    val: ``val_fraction`` of train
SST2         ``SST-2/{train,dev}.tsv``              val: of train; test: dev (labelled)
WikiText2    ``wikitext-2/wiki.*.tokens``           the published train/valid/test
WikiText103  ``wikitext-103/wiki.*.tokens``         the published train/valid/test
===========  =====================================  ==================================

Example::

    train = AG_NEWS("~/data", split="train", download=True)
    test = AG_NEWS("~/data", split="test")
"""
from __future__ import annotations

from pathlib import Path

from ._common import check_split, download_and_extract
from .classification import TextClassificationDataset, TextFolder
from .language_modeling import LanguageModelingDataset

__all__ = ["AG_NEWS", "IMDB", "RESOURCES", "SST2", "WikiText2", "WikiText103"]

#: name -> list of (url, md5, file name, extract)
RESOURCES = {
    "ag_news": [
        (("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/"
         "train.csv"), "b1a00f826fdfbd249f79597b59e1dc12", "ag_news/train.csv", False),
        (("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/"
         "test.csv"), "d52ea96a97a2d943681189a97654912d", "ag_news/test.csv", False),
    ],
    "imdb": [("http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
              "7c2ac02c03563afcf9b574c7e56c153a", "aclImdb_v1.tar.gz", True)],
    "sst2": [("https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
              "9f81648d4199384278b86e315dac217c", "SST-2.zip", True)],
    "wikitext2": [("https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip",
                   "542ccefacc6c27f945fb54453812b3cd", "wikitext-2-v1.zip", True)],
    "wikitext103": [(("https://s3.amazonaws.com/research.metamind.io/wikitext/"
                     "wikitext-103-v1.zip"), "9ddaacaf6af0710eda8c456decff7832",
                     "wikitext-103-v1.zip", True)],
}


def _ensure(name: str, root, expected: list[Path], download: bool) -> Path:
    if root is None:
        raise ValueError(f"{name}: data.root is required (the folder holding the corpus)")
    root = Path(str(root)).expanduser()
    if all(p.exists() for p in (root / e for e in expected)):
        return root
    res = RESOURCES[name]
    if not download:
        missing = [str(root / e) for e in expected if not (root / e).exists()]
        urls = "; ".join(f"{u} (md5 {m})" for u, m, _, _ in res)
        raise FileNotFoundError(
            f"{name}: not found: {', '.join(missing)}. Pass download=True (data.download="
            f"true) to fetch it from {urls}, or download and unpack it there by hand.")
    for url, md5, fname, extract in res:
        target = root / fname
        download_and_extract(url, target.parent, md5, target.name, extract)
    still = [str(root / e) for e in expected if not (root / e).exists()]
    if still:
        raise FileNotFoundError(f"{name}: downloaded, but {', '.join(still)} is missing")
    return root


AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


def AG_NEWS(root=None, split: str = "train", download: bool = False, **kwargs):
    """AG News topic classification (4 classes; title and description as the text)."""
    split = check_split(split)
    root = _ensure("ag_news", root, [Path("ag_news/train.csv"), Path("ag_news/test.csv")],
                   download)
    kwargs.setdefault("val_fraction", 0.05)
    return TextClassificationDataset(
        [root / "ag_news/train.csv"], split=split, format="csv", text_column=[1, 2],
        label_column=0, header=False, label_names=AG_NEWS_CLASSES,
        test_files=[root / "ag_news/test.csv"], **kwargs)


def IMDB(root=None, split: str = "train", download: bool = False, **kwargs):
    """IMDB movie reviews (aclImdb): neg/pos."""
    split = check_split(split)
    root = _ensure("imdb", root, [Path("aclImdb/train/pos"), Path("aclImdb/test/neg")],
                   download)
    return TextFolder(root / "aclImdb", split=split, classes=["neg", "pos"], **kwargs)


def SST2(root=None, split: str = "train", download: bool = False, **kwargs):
    """GLUE SST-2 sentence sentiment: negative/positive (GLUE's test labels are hidden,
    so 'test' is the dev set and 'val' a part of train)."""
    split = check_split(split)
    root = _ensure("sst2", root, [Path("SST-2/train.tsv"), Path("SST-2/dev.tsv")], download)
    kwargs.setdefault("val_fraction", 0.05)
    return TextClassificationDataset(
        [root / "SST-2/train.tsv"], split=split, format="tsv", text_column="sentence",
        label_column="label", header=True, label_names=["negative", "positive"],
        test_files=[root / "SST-2/dev.tsv"], **kwargs)


def _wikitext(name, folder, root, split, download, kwargs):
    split = check_split(split)
    files = {s: Path(folder) / f"wiki.{s}.tokens" for s in ("train", "valid", "test")}
    root = _ensure(name, root, list(files.values()), download)
    kwargs.setdefault("level", "word")
    return LanguageModelingDataset([root / files["train"]], split=split,
                                   val_files=[root / files["valid"]],
                                   test_files=[root / files["test"]], **kwargs)


def WikiText2(root=None, split: str = "train", download: bool = False, **kwargs):
    """WikiText-2 (word level by default; ``level='char'`` for characters)."""
    return _wikitext("wikitext2", "wikitext-2", root, split, download, kwargs)


def WikiText103(root=None, split: str = "train", download: bool = False, **kwargs):
    """WikiText-103 (word level by default)."""
    return _wikitext("wikitext103", "wikitext-103", root, split, download, kwargs)
