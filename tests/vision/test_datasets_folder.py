"""Folder datasets (ImageFolder/DatasetFolder), FakeData, the embedded Digits, the
transform/split rules and registry building."""
import time
from pathlib import Path

import ktrain
import numpy as np
import pytest
from ktrain.utils.data import DataLoader
from ktrain_vision import datasets as D
from PIL import Image


# ----------------------------------------------------------------------------- folders
def _png(path, value=0, size=(4, 4)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size + (3,), value, np.uint8)).save(path)


def _tree(root, counts=None):
    counts = counts or {"cat": 10, "dog": 10}
    for k, (cls, n) in enumerate(sorted(counts.items())):
        for i in range(n):
            _png(root / cls / ("sub" if i % 2 else "") / f"{i}.png", value=k * 100)
    (root / "cat" / "notes.txt").write_text("not an image")


def test_image_folder_basic_and_splits(tmp_path):
    _tree(tmp_path)
    ds = D.ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 20 and all(not p.endswith(".txt") for p, _ in ds.samples)
    img, y = ds[15]
    assert img.mode == "RGB" and y == 1 and np.asarray(img)[0, 0, 0] == 100
    parts = {s: D.ImageFolder(tmp_path, split=s, val_fraction=0.2, test_fraction=0.2)
             for s in ("train", "val", "test")}
    assert [len(parts[s]) for s in ("train", "val", "test")] == [12, 4, 4]
    paths = [{p for p, _ in parts[s].samples} for s in parts]
    assert not (paths[0] & paths[1]) and not (paths[0] & paths[2]) and not (paths[1] & paths[2])
    assert sorted(parts["val"].targets) == [0, 0, 1, 1]  # stratified
    again = D.ImageFolder(tmp_path, split="val", val_fraction=0.2, test_fraction=0.2)
    assert again.samples == parts["val"].samples
    txt = D.DatasetFolder(tmp_path, loader=lambda p: Path(p).read_text(), extensions=(".txt",),
                          allow_empty=True)
    assert len(txt) == 1 and txt[0] == ("not an image", 0)
    only_sub = D.ImageFolder(tmp_path, is_valid_file=lambda p: "sub" in p)
    assert len(only_sub) == 10


def test_image_folder_split_subtrees(tmp_path):
    _tree(tmp_path / "train")
    _tree(tmp_path / "valid", {"cat": 2, "dog": 3})
    tr = D.ImageFolder(tmp_path, split="train")
    va = D.ImageFolder(tmp_path, split="val", transform=["to_tensor"])
    assert len(tr) == 20 and len(va) == 5 and va.classes == ["cat", "dog"]
    assert tuple(va[0][0].shape) == (3, 4, 4)
    with pytest.raises(FileNotFoundError, match="no 'test' folder"):
        D.ImageFolder(tmp_path, split="test")


def test_image_folder_val_carved_from_train_folder(tmp_path):
    _tree(tmp_path / "train")
    _tree(tmp_path / "test", {"cat": 1, "dog": 2})
    tr = D.ImageFolder(tmp_path, split="train", val_fraction=0.2)
    va = D.ImageFolder(tmp_path, split="val", val_fraction=0.2)
    te = D.ImageFolder(tmp_path, split="test")
    assert (len(tr), len(va), len(te)) == (16, 4, 3)
    assert not {p for p, _ in tr.samples} & {p for p, _ in va.samples}
    assert all("/train/" in p for p, _ in va.samples)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        D.ImageFolder(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    _png(tmp_path / "b" / "x.png")
    with pytest.raises(FileNotFoundError, match="no valid file for the classes a"):
        D.ImageFolder(tmp_path)
    ds = D.ImageFolder(tmp_path, allow_empty=True)
    assert len(ds) == 1 and ds.classes == ["a", "b"]
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG garbage")
    ds = D.ImageFolder(tmp_path, allow_empty=True)
    with pytest.raises(OSError, match="broken.png"):
        ds[0]
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        D.make_dataset(tmp_path, None)


def _grey_tree(root, side=12, n=3, mode="L"):
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        for i in range(n):
            (root / cls).mkdir(parents=True, exist_ok=True)
            a = rng.integers(0, 256, (side, side), dtype=np.uint8)
            Image.fromarray(a).convert(mode).save(root / cls / f"{i}.png")


IMAGENET = {"name": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def test_image_folder_channels_and_image_size(tmp_path):
    """Greyscale and small images: channels=1 reads 'L' (1-channel tensors), None detects
    it, image_size resizes as the image is read; an RGB normalize follows channels=1."""
    _grey_tree(tmp_path)
    default = D.ImageFolder(tmp_path, transform=["to_tensor"])
    assert default.channels == 3 and tuple(default[0][0].shape) == (3, 12, 12)  # torchvision
    grey = D.ImageFolder(tmp_path, channels=1, image_size=16, transform=["to_tensor", IMAGENET])
    detected = D.ImageFolder(tmp_path, channels=None, image_size=[16, 20],
                             transform=["to_tensor"])
    assert detected.channels == 1 and detected.image_mode == "L"
    assert tuple(detected[0][0].shape) == (1, 16, 20) and detected.image_hw == (16, 20)
    x = grey[0][0]
    assert tuple(x.shape) == (1, 16, 16) and x.dtype == ktrain.float32
    raw = Image.open(grey.samples[0][0]).resize((16, 16), Image.BILINEAR)
    mean = 0.299 * 0.485 + 0.587 * 0.456 + 0.114 * 0.406
    std = 0.299 * 0.229 + 0.587 * 0.224 + 0.114 * 0.225
    np.testing.assert_allclose(x.numpy()[0], (np.asarray(raw) / 255.0 - mean) / std,
                               rtol=1e-5, atol=1e-5)
    assert grey.image_mode == "L" and grey.image_hw == (16, 16)
    rgb = tmp_path / "rgb"
    _tree(rgb)
    assert D.ImageFolder(rgb, channels=None).channels == 3
    assert tuple(D.ImageFolder(rgb, channels=1, transform=["to_tensor"])[0][0].shape) == \
        (1, 4, 4)


def test_image_folder_channels_image_size_errors(tmp_path):
    _grey_tree(tmp_path)
    for bad in (2, "rgb", True):
        with pytest.raises(ValueError, match="channels must be 1"):
            D.ImageFolder(tmp_path, channels=bad)
    for bad in (0, [4, 4, 4], "big", -3):
        with pytest.raises(ValueError, match="image_size must be"):
            D.ImageFolder(tmp_path, image_size=bad)


def test_image_folder_scan_is_lazy_and_fast(tmp_path):
    n = 1500
    for c in range(3):
        d = tmp_path / f"c{c}"
        d.mkdir()
        for i in range(n // 3):
            (d / f"{i}.jpg").touch()  # empty files: the scan must never open them

    def loader(p):
        raise AssertionError("loader called during scan")

    t0 = time.perf_counter()
    ds = D.ImageFolder(tmp_path, loader=loader)
    assert len(ds) == n and time.perf_counter() - t0 < 5.0


@pytest.mark.slow
def test_image_folder_100k_files(tmp_path):
    for c in range(10):
        d = tmp_path / f"class{c}"
        d.mkdir()
        for i in range(10_000):
            (d / f"{i}.png").touch()
    t0 = time.perf_counter()
    ds = D.ImageFolder(tmp_path, loader=lambda p: 1 / 0, split="train")
    elapsed = time.perf_counter() - t0
    assert len(ds) == 80_000 and elapsed < 5.0, elapsed


# ----------------------------------------------------------------------------- FakeData, Digits
def test_fake_data():
    ds = D.FakeData(size=8, image_size=(3, 5, 6), num_classes=4, transform=["to_tensor"])
    x, y = ds[2]
    assert tuple(x.shape) == (3, 5, 6) and 0 <= y < 4 and len(ds) == 8
    np.testing.assert_array_equal(ds[2][0].numpy(), x.numpy())  # deterministic per index
    val = D.FakeData(size=8, image_size=(3, 5, 6), num_classes=4, split="val",
                     transform=["to_tensor"])
    assert not np.array_equal(val[2][0].numpy(), x.numpy())
    assert D.FakeData(size=2, image_size=(1, 4, 4))[0][0].mode == "L"
    with pytest.raises(IndexError):
        ds[8]


def test_digits_splits():
    tr, va, te = (D.Digits(split=s) for s in ("train", "val", "test"))
    assert len(tr) + len(va) + len(te) == 1797
    assert abs(len(va) - 270) <= 10 and abs(len(te) - 270) <= 10
    rows = [{bytes(r) + bytes([t]) for r, t in zip(d.data.reshape(len(d), -1), d.targets)}
            for d in (tr, va, te)]
    assert sum(len(r) for r in rows) >= 1790  # a few duplicate images exist in the data
    counts = np.bincount(va.targets, minlength=10)
    assert counts.min() >= 25 and counts.max() <= 30  # stratified
    assert tr.data.dtype == np.uint8 and tr.data.max() == 255 and tr.data.shape[1:] == (8, 8)
    assert tr.classes == [str(i) for i in range(10)]
    assert tr.image_mode == "L" and tr.image_hw == (8, 8)
    np.testing.assert_array_equal(D.Digits(split="val").data, va.data)
    with pytest.raises(ValueError, match="unknown split"):
        D.Digits(split="training")


def test_tensor_first_fast_path_matches_pil_path():
    from ktrain_vision import transforms as T

    fast = D.Digits(split="val", transform=["to_tensor", {"name": "normalize", "mean": [0.3],
                                                          "std": [0.4]}])
    slow = D.Digits(split="val", transform=T.Compose([T.Lambda(lambda im: im), T.ToTensor(),
                                                      T.Normalize([0.3], [0.4])]))
    for i in (0, 5, 100):
        np.testing.assert_array_equal(fast[i][0].numpy(), slow[i][0].numpy())
    c = D.CIFAR10.__new__(D.CIFAR10)  # RGB arrays take the same path
    rgb = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    c.transform, c.target_transform = T.ToTensor(), None
    c.data, c.targets = rgb, [0, 1]
    np.testing.assert_array_equal(c[1][0].numpy(), T.ToTensor()(Image.fromarray(rgb[1])).numpy())


def test_digits_transform_rules_and_collate():
    spec = {"transform": ["to_tensor"], "train_transform": [{"name": "random_rotation",
                                                          "degrees": 10}],
                "batch_transform": {"name": "cutmix", "alpha": 1.0}}
    tr = D.Digits(split="train", **spec)
    va = D.Digits(split="val", **spec)
    assert len(tr.transform.transforms) == 2 and len(va.transform.transforms) == 1
    assert va.batch_transform is None and tr.batch_transform.num_classes == 10
    x, y = va[0]
    assert tuple(x.shape) == (1, 8, 8) and x.dtype is ktrain.float32 and isinstance(y, int)
    ktrain.manual_seed(0)
    xb, yb = next(iter(DataLoader(tr, batch_size=16, collate_fn=tr.collate_fn)))
    assert tuple(xb.shape) == (16, 1, 8, 8) and tuple(yb.shape) == (16, 10)
    np.testing.assert_allclose(yb.numpy().sum(1), 1.0, rtol=1e-6)
    _xv, yv = next(iter(DataLoader(va, batch_size=16, collate_fn=va.collate_fn)))
    assert yv.dtype is ktrain.int64
    both = D.Digits(split="train", transform="to_tensor",
                    batch_transform=[{"name": "mixup"}, {"name": "cutmix"}])
    _, yb = both.collate_fn([both[i] for i in range(4)])
    assert tuple(yb.shape) == (4, 10)


def test_datasets_build_through_registry():
    from ktrain.registry import DATASETS

    ds = DATASETS.build({"name": "digits", "split": "val", "transform": ["to_tensor"]})
    assert isinstance(ds, D.Digits) and len(ds) > 0
    fake = DATASETS.build({"name": "fake_data", "size": 4, "image_size": [1, 4, 4],
                           "split": "test"})
    assert len(fake) == 4


def test_augmentation_in_workers_reproducible_and_distinct():
    """Workers are seeded by the core (base_seed + worker id): augmentations drawn from
    ktrain's RNG differ between workers and repeat under the same ktrain.manual_seed."""
    ds = D.FakeData(size=8, image_size=(1, 8, 8), transform=["to_tensor"],
                    train_transform=[{"name": "random_erasing", "p": 1.0, "value": "random"}])
    ds._sample = lambda i: (Image.fromarray(np.zeros((8, 8), np.uint8)), 0)  # same image

    def epoch(seed):
        ktrain.manual_seed(seed)
        loader = DataLoader(ds, batch_size=1, num_workers=2)
        return [x.numpy() for x, _ in loader]

    a, b = epoch(3), epoch(3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], a[1])  # worker 0's and worker 1's first draws differ


def test_every_registered_target_resolves():
    import importlib

    import ktrain_vision as kv

    for table in (kv.DATASETS, kv.TRANSFORMS):
        for name, target in table.items():
            module, attr = target.split(":")
            assert callable(getattr(importlib.import_module(module), attr)), name


def test_fit_image_covers_then_centre_crops_without_distortion():
    from ktrain_vision.io import fit_image
    from PIL import Image

    # a 40x20 (w x h) image: left half black, right half white, a red middle column
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, 20:] = 255
    a[:, 19:21] = (255, 0, 0)
    out = fit_image(Image.fromarray(a), (10, 10))
    assert out.size == (10, 10)
    b = np.asarray(out)
    # scaled by 1/2 to 20x10, then the middle 10 columns kept: the red column stays centred
    assert b[:, 4:6, 0].min() > 100 and b[:, 4:6, 1].max() < 200
    assert b[:, 0].max() < 60 and b[:, -1].min() > 200        # the two halves, not squashed
    assert fit_image(Image.fromarray(a), (20, 40)).size == (40, 20)
    up = fit_image(Image.fromarray(a[:4, :6]), (12, 12))         # small images grow
    assert up.size == (12, 12)
    wide = fit_image(Image.fromarray(a), (8, 32))                 # [h, w] targets too
    assert wide.size == (32, 8)
