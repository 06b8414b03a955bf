"""Text classification datasets: delimited/JSONL files and folders of files by class.

Every dataset here takes ``split`` in ``{'train', 'val', 'test'}`` with deterministic,
disjoint splits (seeded by ``split_seed``), builds its encoder (tokenizer + vocabulary)
from the *training* split only, and exposes what a run needs:

* ``dataset[i] -> (token_ids int64 array, label int)``;
* ``collate_fn`` (:class:`~ktrain_text.collate.PadCollate`: ``({'input_ids',
  'attention_mask', 'lengths'}, labels)``) and ``build_batch_sampler(batch_size,
  shuffle, drop_last)`` (length bucketing);
* ``classes``, ``num_classes``, ``vocab_size``, ``pad_index``, ``encode(str)``,
  ``decode(ids)``, ``encoder``.

The val/test datasets (and ``ktrain predict``) rebuild the same vocabulary by
re-reading the same files and re-splitting them with the same seed; pass
``vocab_path`` to store it once and load it afterwards instead.

Example (the UCI "sentiment labelled sentences", ``sentence<TAB>label`` lines)::

    ds = TextClassificationDataset(["amazon.txt", "yelp.txt"], split="train",
                                   label_names=["negative", "positive"])
    ids, label = ds[0]
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..collate import BucketBatchSampler, PadCollate
from ..encoding import encoder_for
from ._common import check_split, random_split_indices, resolve_files

__all__ = ["EncodedTextDataset", "TextClassificationDataset", "TextFolder"]

_FORMATS = ("csv", "tsv", "jsonl")


class EncodedTextDataset:
    """Texts with integer labels, encoded once into one flat id array plus offsets."""

    def __init__(self, texts, labels, encoder, classes, max_length=None, split="train",
                 num_classes=None):
        if num_classes is not None and int(num_classes) != len(classes):
            raise ValueError(f"num_classes={num_classes} but the data has {len(classes)} "
                             f"classes: {list(classes)}")
        self.texts = list(texts)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.encoder = encoder
        self.classes = list(classes)
        self.split = split
        self.max_length = max_length
        enc = getattr(encoder, "encode_array", None)
        seqs = [enc(t) if enc else np.asarray(encoder.encode(t), np.int64) for t in self.texts]
        if max_length is not None:
            seqs = [s[:int(max_length)] for s in seqs]
        self.lengths = np.fromiter((len(s) for s in seqs), np.int64, len(seqs))
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        self.ids = np.concatenate(seqs).astype(np.int64) if seqs else np.zeros(0, np.int64)
        self.collate_fn = PadCollate(self.pad_index)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for a dataset of {len(self)} samples")
        return self.ids[self.offsets[i]:self.offsets[i + 1]], int(self.labels[i])

    def build_batch_sampler(self, batch_size: int, shuffle: bool, drop_last: bool = False):
        """Length-bucketed batches (less padding); see :class:`BucketBatchSampler`."""
        return BucketBatchSampler(self.lengths, batch_size, shuffle=shuffle, drop_last=drop_last)

    # ------------------------------------------------------------------ encoder access
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def vocab_size(self) -> int:
        return self.encoder.vocab_size

    @property
    def pad_index(self) -> int:
        return self.encoder.pad_index

    def encode(self, text: str) -> list[int]:
        ids = self.encoder.encode(text)
        return ids[: self.max_length] if self.max_length is not None else ids

    def decode(self, ids) -> str:
        return self.encoder.decode(ids)

    def __repr__(self):
        return (f"{type(self).__name__}(split={self.split!r}, n={len(self)}, "
                f"classes={self.classes}, vocab_size={self.vocab_size})")


# ---------------------------------------------------------------------- reading files
def _format_of(path: Path, fmt: str) -> str:
    if fmt != "auto":
        if fmt not in _FORMATS:
            raise ValueError(f"format must be auto, {', '.join(_FORMATS)}; got {fmt!r}")
        return fmt
    ext = path.suffix.lower()
    if ext in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    if ext in (".tsv", ".txt", ".tab"):
        return "tsv"
    raise ValueError(f"{path}: cannot tell the format from the extension {ext!r}; "
                     "set format= csv, tsv or jsonl")


def _columns(spec):
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]


def _read_rows(path: Path, fmt: str, text_cols, label_col, header, delimiter):
    """(texts, raw labels) of one file."""
    texts, labels = [], []
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not valid JSON: {e}") from None
                try:
                    texts.append(" ".join(str(row[c]) for c in text_cols))
                    labels.append(row[label_col])
                except (KeyError, TypeError):
                    raise ValueError(f"{path}:{n}: expected keys {text_cols + [label_col]}, "
                                     f"got {sorted(row) if isinstance(row, dict) else row!r}"
                                     ) from None
        return texts, labels
    named = any(isinstance(c, str) for c in text_cols + [label_col])
    header = named if header is None else bool(header)
    if named and not header:
        raise ValueError(f"{path}: columns given by name ({text_cols}, {label_col!r}) need "
                         "a header row (header=true) or give column numbers")
    delim = delimiter or ("\t" if fmt == "tsv" else ",")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim,
                            quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
        rows = iter(reader)
        index = None
        if header:
            head = next(rows, None)
            if head is None:
                return texts, labels
            index = {h.strip(): i for i, h in enumerate(head)}
            missing = [c for c in text_cols + [label_col]
                       if isinstance(c, str) and c not in index]
            if missing:
                raise ValueError(f"{path}: no column(s) {missing} in the header {head}")
        tc = [index[c] if isinstance(c, str) else int(c) for c in text_cols]
        lc = index[label_col] if isinstance(label_col, str) else int(label_col)
        need = max(tc + [lc])
        for n, row in enumerate(rows, 2 if header else 1):
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) <= need:
                raise ValueError(f"{path}:{n}: expected at least {need + 1} columns "
                                 f"(delimiter {delim!r}), got {len(row)}: {row!r}")
            texts.append(" ".join(row[i] for i in tc))
            labels.append(row[lc].strip())
    return texts, labels


def _norm_label(r):
    return r if isinstance(r, str) else (str(int(r)) if float(r).is_integer() else str(r))


def _label_map(raw, label_names, where):
    """``(classes, lookup raw label -> index)`` over ALL rows (every split maps alike).
    Labels that are names map to their position; integer labels 0..K-1 or 1..K map by
    value onto ``label_names``, other integers in sorted order."""
    uniq = sorted({_norm_label(r) for r in raw})
    numeric = all(_is_int(u) for u in uniq)
    if numeric:
        uniq = sorted(uniq, key=int)
    if label_names is None:
        return uniq, {u: i for i, u in enumerate(uniq)}
    names = [str(n) for n in label_names]
    if set(uniq) <= set(names):
        return names, {n: i for i, n in enumerate(names)}
    if numeric and len(uniq) <= len(names):
        vals = sorted(int(u) for u in uniq)
        base = 0 if vals[0] >= 0 and vals[-1] < len(names) else \
            (1 if vals[0] >= 1 and vals[-1] <= len(names) else None)
        if base is not None:
            return names, {str(v): v - base for v in vals}
        return names, {str(v): i for i, v in enumerate(vals)}
    raise ValueError(f"{where}: labels {uniq[:10]} do not match label_names {names}")


def _is_int(s):
    try:
        int(s)
        return True
    except ValueError:
        return False


class TextClassificationDataset(EncodedTextDataset):
    """Texts and labels from CSV, TSV or JSON-lines files.

    Args:
        files: one or more files (a list, a path or a glob). Rows of all files are pooled.
        split: 'train', 'val' or 'test': a seeded split of the pooled rows
            (``val_fraction``/``test_fraction`` of them), unless ``test_files`` /
            ``val_files`` give those splits explicitly.
        format: 'auto' (by extension: .csv, .tsv/.txt, .jsonl), 'csv', 'tsv', 'jsonl'.
        text_column: column number, header name or JSON key (or a list of them, joined
            with a space). Default 0 (JSONL: 'text').
        label_column: likewise; default 1 (JSONL: 'label').
        header: whether the first row names the columns; None: when columns are given
            by name.
        delimiter: override the format's delimiter.
        label_names: class names in label order (for ``classes``; integer labels 0..K-1
            or 1..K map onto them, string labels by name); default the sorted labels.
        tokenizer: 'basic_english' (default), 'whitespace', 'char', 'regex', 'bpe',
            'wordpiece', or a path to a tokenizer.json / vocab.json.
        min_freq, max_tokens: vocabulary pruning (word level); vocab_size: subword size.
        max_length: cut longer texts (tokens).
        vocab_path: load the encoder from this file if it exists, else build and save it.
        num_classes: when given, checked against the classes found (so a config can
            state it once and interpolate ``${data.num_classes}`` into the model).

    The vocabulary has at most ``max_tokens`` entries, so ``model.vocab_size:
    ${data.max_tokens}`` always fits (ids of unused rows never occur).
    """

    def __init__(self, files=None, split: str = "train", format: str = "auto",
                 text_column=None, label_column=None, header: bool | None = None,
                 delimiter: str | None = None, label_names=None,
                 tokenizer: str = "basic_english", lower: bool = False, min_freq: int = 1,
                 max_tokens: int | None = None, vocab_size: int = 8000,
                 max_length: int | None = None, val_fraction: float = 0.1,
                 test_fraction: float = 0.1, split_seed: int = 0, val_files=None,
                 test_files=None, vocab_path: str | None = None,
                 num_classes: int | None = None):
        split = check_split(split)
        paths = resolve_files(files)
        def read(ps):
            texts, raw = [], []
            for p in ps:
                fmt = _format_of(p, format)
                tcol = _columns(text_column if text_column is not None else
                                ("text" if fmt == "jsonl" else 0))
                lcol = label_column if label_column is not None else \
                    ("label" if fmt == "jsonl" else 1)
                t, r = _read_rows(p, fmt, tcol, lcol, header, delimiter)
                texts += t
                raw += r
            return texts, raw

        texts, raw = read(paths)
        parts = {}
        extra = {}
        for name, fs in (("val", val_files), ("test", test_files)):
            if fs:
                extra[name] = read(resolve_files(fs, f"data.{name}_files"))
        vf = 0.0 if "val" in extra else val_fraction
        tf = 0.0 if "test" in extra else test_fraction
        for name in ("train", "val", "test"):
            if name in extra:
                parts[name] = extra[name]
            else:
                idx = random_split_indices(len(texts), name, vf, tf, split_seed)
                parts[name] = ([texts[i] for i in idx], [raw[i] for i in idx])
        all_raw = [r for t, rs in parts.values() for r in rs]
        if not all_raw:
            raise ValueError(f"no rows found in {[str(p) for p in paths]}")
        classes, lookup = _label_map(all_raw, label_names, str(paths[0]))
        texts_s, raw_s = parts[split]
        labels = [lookup[_norm_label(r)] for r in raw_s]
        train_texts = parts["train"][0]
        encoder = encoder_for(train_texts, tokenizer, vocab_path, min_freq=min_freq,
                              max_tokens=max_tokens, vocab_size=vocab_size, lower=lower)
        super().__init__(texts_s, labels, encoder, classes, max_length, split, num_classes)
        self.files = [str(p) for p in paths]


class TextFolder(EncodedTextDataset):
    """One text file per sample in a folder per class (``root/<class>/*.txt``), or the
    aclImdb layout ``root/{train,test}/<class>/*.txt`` (then 'test' is ``root/test`` and
    train/val split ``root/train``).

    Args:
        root: the folder.
        classes: the class folder names in label order (default: every sub-folder,
            sorted, except ``exclude``).
        extensions: file name endings to read.
        Other arguments as for :class:`TextClassificationDataset`.
    """

    def __init__(self, root=None, split: str = "train", classes=None,
                 extensions=(".txt",), exclude=("unsup",), tokenizer: str = "basic_english",
                 lower: bool = False, min_freq: int = 1, max_tokens: int | None = None,
                 vocab_size: int = 8000, max_length: int | None = None,
                 val_fraction: float = 0.1, test_fraction: float = 0.1, split_seed: int = 0,
                 vocab_path: str | None = None, num_classes: int | None = None):
        split = check_split(split)
        if root is None:
            raise ValueError("data.root is required: the folder with one sub-folder per class")
        root = Path(str(root)).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"no such folder: {root}")
        presplit = (root / "train").is_dir() and (root / "test").is_dir()
        if presplit and classes is None:
            classes = sorted(p.name for p in (root / "train").iterdir()
                             if p.is_dir() and p.name not in exclude)
        exts = tuple(e.lower() for e in extensions)

        def read(folder):
            cls = list(classes) if classes is not None else sorted(
                p.name for p in folder.iterdir() if p.is_dir() and p.name not in exclude)
            texts, labels = [], []
            for k, c in enumerate(cls):
                d = folder / c
                if not d.is_dir():
                    raise FileNotFoundError(f"class folder not found: {d}")
                for f in sorted(d.iterdir()):
                    if f.is_file() and f.name.lower().endswith(exts):
                        texts.append(f.read_text(encoding="utf-8", errors="replace"))
                        labels.append(k)
            if not texts:
                raise ValueError(f"{folder}: no {'/'.join(exts)} files in class folders {cls}")
            return cls, texts, labels

        if presplit:
            cls, texts, labels = read(root / "train")
            parts = {}
            for name in ("train", "val"):
                idx = random_split_indices(len(texts), name, val_fraction, 0.0, split_seed)
                parts[name] = ([texts[i] for i in idx], [labels[i] for i in idx])
            if split == "test":
                _, tt, tl = read(root / "test")
                parts["test"] = (tt, tl)
        else:
            cls, texts, labels = read(root)
            parts = {}
            for name in ("train", split):
                idx = random_split_indices(len(texts), name, val_fraction, test_fraction,
                                           split_seed)
                parts[name] = ([texts[i] for i in idx], [labels[i] for i in idx])
        encoder = encoder_for(parts["train"][0], tokenizer, vocab_path, min_freq=min_freq,
                              max_tokens=max_tokens, vocab_size=vocab_size, lower=lower)
        super().__init__(parts[split][0], parts[split][1], encoder, cls, max_length, split,
                         num_classes)
        self.root = str(root)
