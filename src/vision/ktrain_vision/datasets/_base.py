"""Shared dataset machinery: splits, transform specs, batch transforms, collate.

Split rule (the ``ktrain fit`` contract): ``split`` is ``"train"``, ``"val"`` or
``"test"``; datasets distributed as train/test files carve ``val`` out of the training
file with a permutation seeded by ``split_seed`` (never the global RNG), so the three
splits are deterministic and disjoint. ``split=None`` keeps torchvision's ``train=``
behaviour (whole training file / test file).

Transform rule: ``transform`` applies to every split, ``train_transform`` (the random
augmentation) only to training data and before ``transform``; ``batch_transform``
(MixUp/CutMix) only to training batches, through :attr:`VisionDataset.collate_fn`.
Each may be a callable or a config spec (see ``transforms.build_transforms``). After
construction ``dataset.transform`` is the effective per-sample pipeline of this split.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ktrain.utils.data import Dataset, default_collate
from PIL import Image

from ..transforms import Compose, ToTensor, build_transforms
from ..transforms.functional import to_tensor

__all__ = ["DatasetNotFoundError", "VisionDataset", "split_indices", "stratified_split"]

SPLITS = ("train", "val", "test")


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are missing (the message says which files to place where)."""


def check_split(split, allowed=SPLITS, owner="dataset"):
    if split in ("validation", "valid"):
        split = "val"
    if split not in allowed:
        raise ValueError(f"{owner}: unknown split {split!r}; one of: {', '.join(allowed)}")
    return split


def check_fraction(value, name):
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def split_indices(n: int, split: str, val_fraction: float, split_seed: int) -> np.ndarray:
    """Indices of ``split`` ('train' or 'val') of a training file of ``n`` items: a seeded
    permutation's first ``round(n * val_fraction)`` items are 'val' (sorted)."""
    perm = np.random.default_rng(split_seed).permutation(n)
    n_val = round(n * val_fraction)
    part = perm[:n_val] if split == "val" else perm[n_val:]
    return np.sort(part)


def stratified_split(targets, val_fraction: float, test_fraction: float,
                     split_seed: int) -> dict[str, np.ndarray]:
    """Per-class seeded split into {'train', 'val', 'test'} index arrays (sorted)."""
    targets = np.asarray(targets)
    rng = np.random.default_rng(split_seed)
    parts = {s: [] for s in SPLITS}
    order = np.argsort(targets, kind="stable")
    classes, starts = np.unique(targets[order], return_index=True)
    bounds = list(starts) + [len(targets)]
    for k in range(len(classes)):  # a loop over classes, not items
        idx = order[bounds[k]:bounds[k + 1]]
        idx = idx[rng.permutation(len(idx))]
        n_val = round(len(idx) * val_fraction)
        n_test = round(len(idx) * test_fraction)
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val:n_val + n_test])
        parts["train"].append(idx[n_val + n_test:])
    return {s: np.sort(np.concatenate(v)) if v else np.zeros(0, np.int64)
            for s, v in parts.items()}


def _flatten(t):
    return list(t.transforms) if isinstance(t, Compose) else [t]


class BatchTransformCollate:
    """``collate_fn`` = ``batch_transform(default_collate(samples))`` (picklable)."""

    def __init__(self, batch_transform):
        self.batch_transform = batch_transform

    def __call__(self, samples):
        return self.batch_transform(default_collate(samples))

    def __repr__(self):
        return f"BatchTransformCollate({self.batch_transform!r})"


def build_batch_transform(spec, num_classes):
    """A batch transform from a spec; a list means 'one of them at random per batch';
    ``num_classes`` is filled in for mixup/cutmix specs that omit it."""
    from ..transforms import RandomChoice
    from ..transforms._build import _plain

    spec = _plain(spec)
    if spec is None or callable(spec):
        return spec

    def one(s):
        if isinstance(s, str):
            s = {"name": s}
        if isinstance(s, dict) and "num_classes" not in s and num_classes is not None:
            s = {**s, "num_classes": num_classes}
        return build_transforms(s, "batch_transform")

    if isinstance(spec, (list, tuple)):
        return RandomChoice([one(s) for s in spec])
    return one(spec)


class VisionDataset(Dataset):
    """Base of the vision datasets: ``root``, ``classes``, ``targets``, per-split transforms
    and ``collate_fn``. Subclasses implement ``_sample(index) -> (PIL image, int)`` and set
    ``self.targets`` and ``self.classes``.

    ``image_mode`` ('L' or 'RGB') and ``image_hw`` ((H, W), or None when images vary) say
    what the raw images look like, so that a new image (``ktrain predict``) can be converted
    and resized before ``transform`` is applied to it."""

    _repr_indent = 4
    image_mode = "RGB"
    image_hw = None

    def __init__(self, root=None, transform=None, target_transform=None, *, train_data=True,
                 train_transform=None, batch_transform=None):
        self.root = None if root is None else os.path.expanduser(str(root))
        base = build_transforms(transform, "transform")
        aug = build_transforms(train_transform, "train_transform") if train_data else None
        if aug is not None and base is not None:
            self.transform = Compose(_flatten(aug) + _flatten(base))
        else:
            self.transform = aug if aug is not None else base
        self.target_transform = build_transforms(target_transform, "target_transform")
        self._batch_spec = batch_transform if train_data else None
        self._train_data = train_data
        self.batch_transform = None
        self.collate_fn = default_collate

    def _finish(self):
        """Call at the end of a subclass ``__init__`` (once ``classes`` is known)."""
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        if self._batch_spec is not None:
            self.batch_transform = build_batch_transform(self._batch_spec, len(self.classes))
            self.collate_fn = BatchTransformCollate(self.batch_transform)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _sample(self, index):
        raise NotImplementedError

    def __getitem__(self, index):
        img, target = self._sample(index)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.targets)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"Root location: {self.root}")
        if getattr(self, "split", None) is not None:
            lines.append(f"Split: {self.split}")
        extra = self.extra_repr()
        if extra:
            lines += extra.splitlines()
        for title, t in (("Transform", self.transform),
                         ("Target transform", self.target_transform),
                         ("Batch transform", self.batch_transform)):
            if t is not None:
                lines += f"{title}: {t!r}".splitlines()
        body = "\n".join(" " * self._repr_indent + ln for ln in lines)
        return f"Dataset {type(self).__name__}\n{body}"


class ArrayImageDataset(VisionDataset):
    """Images held in a uint8 array ``data`` ((N, H, W) grey or (N, H, W, 3) RGB), given
    out as PIL images; ``targets`` a list of ints."""

    def _set_arrays(self, data, targets, index=None):
        if index is not None:
            data, targets = data[index], np.asarray(targets)[index]
        self.data = np.ascontiguousarray(data)
        self.targets = [int(t) for t in np.asarray(targets).tolist()]
        self.image_mode = "L" if self.data.ndim == 3 else "RGB"
        self.image_hw = tuple(int(v) for v in self.data.shape[1:3])

    def _sample(self, index):
        a = self.data[index]
        return Image.fromarray(a), self.targets[index]

    def __getitem__(self, index):
        t = self.transform
        rest = None
        if isinstance(t, ToTensor):
            rest = ()
        elif isinstance(t, Compose) and t.transforms and isinstance(t.transforms[0], ToTensor):
            rest = t.transforms[1:]
        if rest is None:
            return super().__getitem__(index)
        # the pipeline starts with ToTensor: convert the array directly (same values as
        # through a PIL image, without the PIL round trip)
        img = to_tensor(self.data[index])
        for tf in rest:
            img = tf(img)
        target = self.targets[index]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


def resolve_split(split, train, owner, allowed=SPLITS):
    """``(split or None, is_training_data, file)`` where file is 'train' or 'test': the
    torchvision ``train=`` flag when ``split`` is None, else train/val -> the training
    file and test -> the test file."""
    if split is None:
        return None, bool(train), ("train" if train else "test")
    split = check_split(split, allowed, owner)
    return split, split == "train", ("test" if split == "test" else "train")


def first_existing(candidates):
    for c in candidates:
        if Path(c).is_file():
            return Path(c)
    return None
