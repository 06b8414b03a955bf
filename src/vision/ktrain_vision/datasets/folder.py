"""Class-per-folder datasets: ``root/<class>/**/<file>``.

    ds = ImageFolder("~/data/flowers", split="train", transform=["to_tensor"])
    ds.classes, ds.class_to_idx, ds.samples[0]          # ('~/.../daisy/1.jpg', 0)

Scanning is lazy and cheap: ``os.scandir``/``os.walk`` and file names only, no image is
opened until ``ds[i]`` (a tree of 100k files is indexed in well under a second).

Splits: with ``root/train``, ``root/val`` (or ``valid``/``validation``) and ``root/test``
sub-trees, ``split`` picks one (class indices come from the train tree; without a val
tree, val is ``val_fraction`` of train, per class); otherwise the single tree is split per
class, deterministically by ``split_seed``, into ``val_fraction`` / ``test_fraction`` / the
rest. ``split=None`` is the whole tree (torchvision's ImageFolder).

Channels and size (:class:`ImageFolder`): ``channels`` is 3 (RGB, torchvision's
behaviour), 1 (greyscale: every image is read as 'L') or None (detected from the first
image of each class: 1 when all of them are greyscale); ``image_size`` (an int for a
square, or ``[h, w]``) brings every image to exactly that size when it is read, before the
transforms, without distorting it (scaled to cover, then centre-cropped, as ``ktrain
predict`` does: ``ktrain_vision.io.fit_image``); None keeps the images' own size.
"""
from __future__ import annotations

import functools
import numbers
import os
from pathlib import Path

from PIL import Image

from ..io import fit_image
from ._base import VisionDataset, check_fraction, check_split, stratified_split

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "default_loader",
           "find_classes", "has_file_allowed_extension", "make_dataset", "pil_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
_SPLIT_DIRS = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}


def has_file_allowed_extension(filename: str, extensions) -> bool:
    """Whether ``filename`` ends with one of ``extensions`` (case-insensitive)."""
    exts = (extensions,) if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(tuple(e.lower() for e in exts))


def find_classes(directory) -> tuple[list[str], dict[str, int]]:
    """Sorted sub-folder names of ``directory`` and their indices (hidden folders such as
    ``.ipynb_checkpoints`` are skipped)."""
    try:
        with os.scandir(directory) as it:
            classes = sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))
    except FileNotFoundError:
        raise FileNotFoundError(f"dataset folder not found: {directory}") from None
    if not classes:
        raise FileNotFoundError(f"no class folders found in {directory} (expected "
                                f"{directory}/<class name>/<files>)")
    return classes, {c: i for i, c in enumerate(classes)}


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None,
                 allow_empty=False) -> list[tuple[str, int]]:
    """``(path, class_index)`` for every accepted file below ``directory/<class>/``
    (sorted per folder; symlinks followed). Exactly one of ``extensions`` and
    ``is_valid_file`` must be given."""
    directory = os.path.expanduser(str(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the "
                         "same time")
    if is_valid_file is None:
        exts = tuple(e.lower() for e in ((extensions,) if isinstance(extensions, str)
                                        else extensions))

        def is_valid_file(p):
            return p.lower().endswith(exts)

    instances = []
    empty = []
    for cls in sorted(class_to_idx):
        idx = class_to_idx[cls]
        target_dir = os.path.join(directory, cls)
        if not os.path.isdir(target_dir):
            continue
        n0 = len(instances)
        for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(root, fname)
                if is_valid_file(path):
                    instances.append((path, idx))
        if len(instances) == n0:
            empty.append(cls)
    if empty and not allow_empty:
        what = f"extensions {', '.join(extensions) if not isinstance(extensions, str) else extensions}" \
            if extensions is not None else "is_valid_file"
        raise FileNotFoundError(f"found no valid file for the classes {', '.join(empty)} in "
                                f"{directory} (accepted: {what}); pass allow_empty=True to allow "
                                f"empty classes")
    return instances


def pil_loader(path, mode="RGB"):
    """Open an image file as a PIL image in ``mode`` ('RGB', or 'L' for greyscale; errors
    name the file)."""
    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            return img.convert(mode)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise OSError(f"cannot read image {path}: {e}") from None


def default_loader(path):
    """The default image loader (:func:`pil_loader`)."""
    return pil_loader(path)


class DatasetFolder(VisionDataset):
    """Samples ``root/<class>/**/<file>`` read by ``loader(path)``.

    Args:
        root: the tree (or a folder with train/val/test sub-trees, see module docstring).
        loader: ``path -> sample``.
        extensions: accepted file suffixes (or give ``is_valid_file(path) -> bool``).
        transform / target_transform / train_transform / batch_transform: as for every
            vision dataset (callables or config specs; train_* only on training data).
        allow_empty: allow class folders without valid files.
        split, val_fraction, test_fraction, split_seed: the train/val/test split.
    """

    def __init__(self, root, loader=default_loader, extensions=None, transform=None,
                 target_transform=None, is_valid_file=None, allow_empty=False, *, split=None,
                 val_fraction=0.1, test_fraction=0.1, split_seed=0, train_transform=None,
                 batch_transform=None):
        self.split = None if split is None else check_split(split, owner=type(self).__name__)
        super().__init__(root, transform, target_transform,
                         train_data=self.split in (None, "train"),
                         train_transform=train_transform, batch_transform=batch_transform)
        self.loader = loader
        self.extensions = extensions
        self.val_fraction = check_fraction(val_fraction, "val_fraction")
        self.test_fraction = check_fraction(test_fraction, "test_fraction")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must be below 1")
        self.split_seed = split_seed
        base = Path(self.root)
        if not base.is_dir():
            raise FileNotFoundError(f"{type(self).__name__}: dataset folder not found: {base}")
        dirs = {s: self._split_dir(base, s) for s in ("train", "val", "test")}
        if self.split is not None and any(dirs.values()):  # root/{train,val,test} layout
            samples = self._from_split_dirs(dirs, extensions, is_valid_file, allow_empty)
        else:
            self.classes, self.class_to_idx = self.find_classes(self.root)
            samples = self.make_dataset(self.root, self.class_to_idx, extensions, is_valid_file,
                                        allow_empty)
            if self.split is not None:
                parts = stratified_split([s[1] for s in samples], self.val_fraction,
                                         self.test_fraction, split_seed)
                samples = [samples[i] for i in parts[self.split].tolist()]
        self.samples = samples
        self.targets = [s[1] for s in samples]
        self._finish()

    def _from_split_dirs(self, dirs, extensions, is_valid_file, allow_empty):
        """Samples of ``self.split`` in the root/train, root/val (or valid/validation),
        root/test layout; without a val folder, val is carved out of train (per class,
        ``val_fraction``, ``split_seed``). Class indices come from the train folder."""
        first = dirs["train"] or dirs["val"] or dirs["test"]
        self.classes, self.class_to_idx = self.find_classes(str(first))
        carve = self.split in ("train", "val") and dirs["val"] is None and dirs["train"]
        sub = dirs["train"] if carve else dirs[self.split]
        if sub is None:
            found = ", ".join(p.name for p in dirs.values() if p is not None)
            raise FileNotFoundError(
                f"{type(self).__name__}: no {self.split!r} folder under {self.root} (found: "
                f"{found}; expected one of {', '.join(_SPLIT_DIRS[self.split])})")
        samples = self.make_dataset(str(sub), self.class_to_idx, extensions, is_valid_file,
                                    allow_empty)
        if carve:
            parts = stratified_split([s[1] for s in samples], self.val_fraction, 0.0,
                                     self.split_seed)
            samples = [samples[i] for i in parts[self.split].tolist()]
        return samples

    def _split_dir(self, base, split=None):
        split = split or self.split
        if split is None:
            return None
        for name in _SPLIT_DIRS[split]:
            if (base / name).is_dir():
                return base / name
        return None

    @staticmethod
    def find_classes(directory):
        """Sorted class folder names and indices (override to customise)."""
        return find_classes(directory)

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None,
                     allow_empty=False):
        """The ``(path, class_index)`` list (override to customise)."""
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def _sample(self, index):
        path, target = self.samples[index]
        return self.loader(path), target

    def __len__(self):
        return len(self.samples)

    def extra_repr(self):
        return f"Classes: {len(self.classes)}"


#: PIL modes read as one channel (grey, with or without alpha, 1/16/32-bit).
_GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
#: ITU-R 601-2 luma weights: PIL's RGB -> 'L' conversion.
_LUMA = (0.299, 0.587, 0.114)


def _check_channels(channels, owner):
    if channels is None or (isinstance(channels, numbers.Integral)
                            and not isinstance(channels, bool) and int(channels) in (1, 3)):
        return None if channels is None else int(channels)
    raise ValueError(f"{owner}: channels must be 1 (greyscale), 3 (RGB) or null (detect from "
                     f"the images), got {channels!r}")


def _check_image_size(image_size, owner):
    """``image_size`` as ``(h, w)`` or None (int: a square)."""
    if image_size is None:
        return None
    vals = [image_size] if isinstance(image_size, numbers.Number) else image_size
    try:
        vals = list(vals)
    except TypeError:
        vals = None
    if vals is None or len(vals) not in (1, 2) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            for v in vals):
        raise ValueError(f"{owner}: image_size must be a positive int or [height, width] "
                         f"(or null to keep the images' size), got {image_size!r}")
    return (int(vals[0]), int(vals[-1]))


def _grey_normalize(transform):
    """``transform`` with each top-level 3-value :class:`Normalize` replaced by its grey
    equivalent (the luma-weighted mean and std), so that an RGB recipe's statistics
    (ImageNet's) follow a greyscale dataset."""
    from ..transforms import Compose, Normalize

    def grey(t):
        if isinstance(t, Normalize) and len(t.mean) == 3 and len(t.std) == 3:
            return Normalize([sum(w * m for w, m in zip(_LUMA, t.mean))],
                             [sum(w * s for w, s in zip(_LUMA, t.std))], t.inplace)
        return t

    if isinstance(transform, Compose):
        return Compose([grey(t) for t in transform.transforms])
    return None if transform is None else grey(transform)


class ImageFolder(DatasetFolder):
    """:class:`DatasetFolder` of images (:data:`IMG_EXTENSIONS`, PIL images).

    ``channels``: 3 (RGB, the default), 1 (greyscale 'L') or None (detect: 1 when the first
    image of every class is greyscale, else 3); the detected value is ``self.channels``.
    With 1 channel, a 3-value ``Normalize`` in the transforms (an RGB recipe's statistics)
    becomes its grey equivalent: the mean and std weighted by PIL's luma weights (0.299,
    0.587, 0.114), e.g. ImageNet's become 0.459 / 0.226. ``image_size`` (int or
    ``[h, w]``): every image is brought to exactly that size as it is read, before the
    transforms, without distortion (scaled to cover it, then centre-cropped: ``io.fit_image``); None keeps the images' size. ``image_mode``/``image_hw`` say the
    result (``ktrain predict`` converts new images the same way)."""

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader,
                 is_valid_file=None, allow_empty=False, *, split=None, val_fraction=0.1,
                 test_fraction=0.1, split_seed=0, train_transform=None, batch_transform=None,
                 channels=3, image_size=None):
        owner = type(self).__name__
        channels = _check_channels(channels, owner)
        self.image_size = _check_image_size(image_size, owner)
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform, target_transform, is_valid_file, allow_empty, split=split,
                         val_fraction=val_fraction, test_fraction=test_fraction,
                         split_seed=split_seed, train_transform=train_transform,
                         batch_transform=batch_transform)
        self.imgs = self.samples
        self.channels = self._detect_channels() if channels is None else channels
        self.image_mode = "L" if self.channels == 1 else "RGB"
        self.image_hw = self.image_size
        if self.loader is default_loader or self.loader is pil_loader:
            # read straight into the wanted mode (picklable for loader workers)
            self.loader = functools.partial(pil_loader, mode=self.image_mode)
        if self.channels == 1:
            self.transform = _grey_normalize(self.transform)

    def _detect_channels(self):
        """1 when the first image of every class is greyscale, else 3 (headers only)."""
        first = {}
        for path, target in self.samples:
            first.setdefault(target, path)
        for path in first.values():
            try:
                with Image.open(path) as im:
                    mode = im.mode
            except (OSError, ValueError, Image.DecompressionBombError) as e:
                raise OSError(f"cannot read image {path}: {e}") from None
            if mode not in _GREY_MODES:
                return 3
        return 1 if first else 3

    def _sample(self, index):
        path, target = self.samples[index]
        img = self.loader(path)
        if getattr(img, "mode", self.image_mode) != self.image_mode:
            img = img.convert(self.image_mode)
        if self.image_size is not None:
            img = fit_image(img, self.image_size)
        return img, target

    def extra_repr(self):
        size = "" if self.image_size is None else f", {self.image_size[0]}x{self.image_size[1]}"
        return f"{super().extra_repr()}\nImages: {self.image_mode}{size}"
