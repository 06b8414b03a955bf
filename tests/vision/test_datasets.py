"""Datasets stored as files (tests write small ones): IDX (raw and gz) for the MNIST family,
CIFAR binary and pickle (and malicious pickles), SVHN .mat; corrupted and missing files."""
import os
import pickle
import struct
import sys

import ktrain
import numpy as np
import pytest
from ktrain_vision import datasets as D
from PIL import Image


# ----------------------------------------------------------------------------- IDX family
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_raw_and_gz(tmp_path, gz, write_mnist):
    xi, yi, xt, _yt = write_mnist(tmp_path / "MNIST" / "raw", gz=gz)
    ds = D.MNIST(tmp_path)
    assert len(ds) == 20 and ds.targets == yi.tolist()
    img, y = ds[3]
    assert isinstance(img, Image.Image) and img.mode == "L" and y == int(yi[3])
    np.testing.assert_array_equal(np.asarray(img), xi[3])
    test = D.MNIST(tmp_path, train=False, transform=["to_tensor"])
    x, y = test[0]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype is ktrain.float32
    np.testing.assert_allclose(x.numpy()[0], xt[0] / 255.0, rtol=1e-6)
    assert ds.classes[0] == "0 - zero" and ds.num_classes == 10


def test_mnist_splits_deterministic_and_disjoint(tmp_path, write_mnist):
    _xi, _yi, _xt, _yt = write_mnist(tmp_path, n_train=50)  # files directly in root
    tr = D.MNIST(tmp_path, split="train", val_fraction=0.2)
    va = D.MNIST(tmp_path, split="val", val_fraction=0.2)
    te = D.MNIST(tmp_path, split="test")
    assert (len(tr), len(va), len(te)) == (40, 10, 10)
    rows = {bytes(r) for r in tr.data.reshape(40, -1)} | {bytes(r) for r in va.data.reshape(10, -1)}
    assert len(rows) == 50  # disjoint and covering
    again = D.MNIST(tmp_path, split="val", val_fraction=0.2)
    np.testing.assert_array_equal(again.data, va.data)
    other = D.MNIST(tmp_path, split="val", val_fraction=0.2, split_seed=1)
    assert not np.array_equal(other.data, va.data)
    with pytest.raises(ValueError, match="unknown split"):
        D.MNIST(tmp_path, split="dev")


def test_mnist_source_test_only(tmp_path, write_idx):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (100, 28, 28),
                                                                   dtype=np.uint8), gz=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(100, dtype=np.uint8) % 10)
    parts = {s: D.MNIST(tmp_path, split=s, source="test", val_fraction=0.1, test_fraction=0.2)
             for s in ("train", "val", "test")}
    assert [len(parts[s]) for s in ("train", "val", "test")] == [70, 10, 20]
    assert sorted(parts["val"].targets) == list(range(10))  # stratified
    with pytest.raises(ValueError, match="needs split"):
        D.MNIST(tmp_path, source="test")


def test_fashion_kmnist_layouts(tmp_path, write_mnist):
    write_mnist(tmp_path / "FashionMNIST", gz=True)
    write_mnist(tmp_path / "KMNIST" / "raw")
    f = D.FashionMNIST(tmp_path)
    k = D.KMNIST(tmp_path, train=False)
    assert f.classes[-1] == "Ankle boot" and len(f) == 20
    assert k.classes[:2] == ["o", "ki"] and len(k) == 10


def test_emnist_variants(tmp_path, write_mnist):
    raw = tmp_path / "EMNIST" / "raw" / "gzip"
    write_mnist(raw, gz=True, prefix="emnist-letters-")
    for old, new in (("emnist-letters-t10k", "emnist-letters-test"),):
        for p in raw.iterdir():
            if p.name.startswith(old):
                p.rename(raw / p.name.replace(old, new))
    ds = D.EMNIST(tmp_path, "letters")  # torchvision style: the variant as 'split'
    assert ds.variant == "letters" and len(ds.classes) == 27 and len(ds) == 20
    val = D.EMNIST(tmp_path, split="val", variant="letters", val_fraction=0.25)
    assert len(val) == 5
    assert len(D.EMNIST(tmp_path, split="test", variant="letters")) == 10
    assert len(D.EMNIST.classes_split_dict["byclass"]) == 62
    assert len(D.EMNIST.classes_split_dict["balanced"]) == 47
    with pytest.raises(D.DatasetNotFoundError, match="emnist-digits-train-images"):
        D.EMNIST(tmp_path, variant="digits")
    with pytest.raises(ValueError, match="unknown variant"):
        D.EMNIST(tmp_path, variant="nope")


def test_idx_missing_and_corrupted(tmp_path, write_mnist):
    with pytest.raises(D.DatasetNotFoundError) as e:
        D.MNIST(tmp_path)
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "download=True" in msg
    raw = tmp_path / "MNIST" / "raw"
    write_mnist(raw)
    p = raw / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-7])  # truncated
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*truncated"):
        D.MNIST(tmp_path)
    p.write_bytes(b"\x12\x34\x56\x78" + bytes(20))
    with pytest.raises(ValueError, match="not an IDX file"):
        D.MNIST(tmp_path)
    g = raw / "t10k-images-idx3-ubyte"
    g.unlink()
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        D.MNIST(tmp_path, train=False)


def test_idx_label_count_mismatch(tmp_path, write_idx):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        D.MNIST(tmp_path, train=False)


# ----------------------------------------------------------------------------- CIFAR
def test_cifar10_binary(tmp_path, write_cifar10_bin):
    xs, ys = write_cifar10_bin(tmp_path)
    ds = D.CIFAR10(tmp_path)
    assert len(ds) == 20 and ds.classes[0] == "c0"
    img, y = ds[5]  # batch 2, item 1
    assert img.mode == "RGB" and img.size == (32, 32) and y == int(ys[1][1])
    np.testing.assert_array_equal(np.asarray(img), xs[1][1].transpose(1, 2, 0))
    te = D.CIFAR10(tmp_path, split="test", transform=["to_tensor"])
    assert len(te) == 4 and tuple(te[0][0].shape) == (3, 32, 32)
    tr, va = D.CIFAR10(tmp_path, split="train"), D.CIFAR10(tmp_path, split="val")
    assert (len(tr), len(va)) == (18, 2)


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar10_pickle(tmp_path, protocol, write_cifar10_py):
    xs, ys = write_cifar10_py(tmp_path, protocol=protocol)
    ds = D.CIFAR10(tmp_path, train=False)
    assert ds.classes[0] == "p0" and len(ds) == 4
    np.testing.assert_array_equal(np.asarray(ds[2][0]), xs[5][2].transpose(1, 2, 0))
    assert ds.targets == [int(v) for v in ys[5]]


def test_cifar100_binary_and_pickle(tmp_path):
    b = tmp_path / "b" / "cifar-100-binary"
    b.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (6, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, 6)
    fine = (y * 7) % 100
    rec = np.concatenate([np.zeros((6, 1), np.uint8), fine.astype(np.uint8)[:, None],
                          x.reshape(6, -1)], axis=1)
    (b / "train.bin").write_bytes(rec.tobytes())
    (b / "test.bin").write_bytes(rec[:2].tobytes())
    ds = D.CIFAR100(tmp_path / "b")
    assert ds.targets == fine.tolist() and len(ds.classes) == 100
    assert ds.classes[0] == "apple" and ds.classes[-1] == "worm"
    p = tmp_path / "p" / "cifar-100-python"
    p.mkdir(parents=True)
    d = {"fine_labels": fine.tolist(), "coarse_labels": [0] * 6, "data": x.reshape(6, -1)}
    (p / "train").write_bytes(pickle.dumps(d, protocol=2))
    (p / "test").write_bytes(pickle.dumps(d, protocol=2))
    (p / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"f{i}" for i in range(100)]}))
    dp = D.CIFAR100(tmp_path / "p", split="test")
    assert dp.classes[1] == "f1" and len(dp) == 6
    np.testing.assert_array_equal(np.asarray(dp[0][0]), x[0].transpose(1, 2, 0))


def _py2_style_pickle(data: bytes, shape, labels) -> bytes:
    """The opcodes Python 2's cPickle wrote for the CIFAR python batches: str keys and the
    array's raw data as BINSTRING (decoded as latin-1 text by Python 3)."""
    p = b"\x80\x02}(U\x04data"
    p += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
    p += b"(K\x01" + b"".join(b"M" + struct.pack("<H", d) for d in shape) + b"\x86"
    p += b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xff"
    p += b"J\xff\xff\xff\xffK\x00tb\x89T" + struct.pack("<i", len(data)) + data + b"tb"
    p += b"U\x06labels](" + b"".join(b"K" + bytes([v]) for v in labels) + b"eu."
    return p


def test_cifar10_python2_pickle(tmp_path, write_cifar10_py):
    write_cifar10_py(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3, 3072), dtype=np.uint8)  # bytes >= 128: latin-1 round trip
    blob = _py2_style_pickle(x.tobytes(), x.shape, [1, 2, 3])
    assert pickle.loads(blob, encoding="latin1")["labels"] == [1, 2, 3]
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(blob)
    ds = D.CIFAR10(tmp_path, train=False)
    assert ds.targets == [1, 2, 3]
    np.testing.assert_array_equal(np.asarray(ds[1][0]), x[1].reshape(3, 32, 32).transpose(1, 2, 0))


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_malicious_pickle_is_refused(tmp_path, write_cifar10_py):
    write_cifar10_py(tmp_path)
    marker = tmp_path / "pwned"
    evil = {"data": np.zeros((4, 3072), np.uint8), "labels": [0] * 4, "x": _Evil(marker)}
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(evil, 2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global .*system"):
        D.CIFAR10(tmp_path, train=False)
    assert not marker.exists()
    # object arrays would unpickle arbitrary objects: refused too
    obj = {"data": np.array([1, "a"], dtype=object), "labels": [0]}
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(obj, 2))
    with pytest.raises(pickle.UnpicklingError, match="object arrays"):
        D.CIFAR10(tmp_path, train=False)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02}q\x00(X")
    with pytest.raises(pickle.UnpicklingError, match="test_batch"):
        D.CIFAR10(tmp_path, train=False)


def test_cifar_missing_and_corrupted(tmp_path, write_cifar10_bin):
    with pytest.raises(D.DatasetNotFoundError, match="cifar-10-batches-bin.*cifar-10-binary"):
        D.CIFAR10(tmp_path)
    write_cifar10_bin(tmp_path)
    f = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(ValueError, match="test_batch.bin.*truncated"):
        D.CIFAR10(tmp_path, train=False)


# ----------------------------------------------------------------------------- SVHN
def test_svhn_mat(tmp_path):
    sio = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 32, 3, 10), dtype=np.uint8)
    y = np.array([10, 1, 2, 3, 4, 5, 6, 7, 8, 9], np.uint8)[:, None]
    sio.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y})
    sio.savemat(tmp_path / "test_32x32.mat", {"X": x[..., :4], "y": y[:4]})
    ds = D.SVHN(tmp_path, split="train", val_fraction=0.2)
    va = D.SVHN(tmp_path, split="val", val_fraction=0.2)
    assert (len(ds), len(va)) == (8, 2)
    full = D.SVHN(tmp_path, split="train", val_fraction=0.0)
    assert full.targets[0] == 0  # label 10 means digit 0
    np.testing.assert_array_equal(np.asarray(full[1][0]), x[..., 1])
    assert len(D.SVHN(tmp_path, split="test")) == 4
    with pytest.raises(D.DatasetNotFoundError, match="extra_32x32.mat"):
        D.SVHN(tmp_path, split="extra")
    (tmp_path / "test_32x32.mat").write_bytes(b"garbage" * 10)
    with pytest.raises(ValueError, match="test_32x32.mat"):
        D.SVHN(tmp_path, split="test")


def test_svhn_without_scipy_names_the_extra(tmp_path, monkeypatch):
    """scipy is an optional extra of ktrain-vision (only SVHN's .mat files need it): without
    it the error names the file and the pip command, and nothing else needs scipy."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    (tmp_path / "test_32x32.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(ImportError, match=r'test_32x32\.mat.*pip install "ktrain-vision\[svhn\]"'):
        D.SVHN(tmp_path, split="test")
    meta = tomllib.loads((Path(__file__).parents[2] / "src/vision/pyproject.toml").read_text())
    assert not any(d.startswith("scipy") for d in meta["project"]["dependencies"])
    assert meta["project"]["optional-dependencies"]["svhn"] == ["scipy>=1.11"]
