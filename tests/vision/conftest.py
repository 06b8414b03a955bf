"""tests/vision: skipped as a whole when the ktrain-vision plugin is not installed; shared
writers of small dataset files (IDX, CIFAR) as fixtures."""
import gzip
import pickle

import numpy as np
import pytest

pytest.importorskip("ktrain_vision")


def _idx_bytes(arr):
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int32: 0x0C}
    arr = np.asarray(arr)
    head = bytes([0, 0, codes[arr.dtype.type], arr.ndim])
    head += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write_idx(path, arr, gz=False):
    data = _idx_bytes(arr)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _mnist_arrays(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n).astype(np.uint8))


def _write_mnist(folder, n_train=20, n_test=10, gz=False, prefix=""):
    xi, yi = _mnist_arrays(n_train, 0)
    xt, yt = _mnist_arrays(n_test, 1)
    _write_idx(folder / f"{prefix}train-images-idx3-ubyte", xi, gz)
    _write_idx(folder / f"{prefix}train-labels-idx1-ubyte", yi, gz)
    _write_idx(folder / f"{prefix}t10k-images-idx3-ubyte", xt, gz)
    _write_idx(folder / f"{prefix}t10k-labels-idx1-ubyte", yt, gz)
    return xi, yi, xt, yt


def _cifar_images(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)


def _write_cifar10_bin(root, n=4):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    all_x, all_y = [], []
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        x, y = _cifar_images(n, i)
        rec = np.concatenate([y.astype(np.uint8)[:, None], x.reshape(n, -1)], axis=1)
        (folder / name).write_bytes(rec.tobytes())
        all_x.append(x)
        all_y.append(y)
    (folder / "batches.meta.txt").write_text("\n".join(f"c{i}" for i in range(10)) + "\n\n")
    return all_x, all_y


def _write_cifar10_py(root, n=4, protocol=2):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    xs, ys = [], []
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        x, y = _cifar_images(n, 10 + i)
        d = {b"batch_label": b"batch", b"labels": [int(v) for v in y],
             b"data": x.reshape(n, -1), b"filenames": [b"f%d.png" % j for j in range(n)]}
        (folder / name).write_bytes(pickle.dumps(d, protocol=protocol))
        xs.append(x)
        ys.append(y)
    (folder / "batches.meta").write_bytes(pickle.dumps(
        {"label_names": [f"p{i}" for i in range(10)], "num_vis": 3072}, protocol=protocol))
    return xs, ys



@pytest.fixture
def write_idx():
    """``write_idx(path, array, gz=False)``: an IDX file (gzip-compressed with gz)."""
    return _write_idx


@pytest.fixture
def write_mnist():
    """``write_mnist(folder, n_train=20, n_test=10, gz=False, prefix="")`` -> the arrays."""
    return _write_mnist


@pytest.fixture
def write_cifar10_bin():
    """``write_cifar10_bin(root, n=4)``: a cifar-10-batches-bin folder -> (xs, ys)."""
    return _write_cifar10_bin


@pytest.fixture
def write_cifar10_py():
    """``write_cifar10_py(root, n=4, protocol=2)``: a cifar-10-batches-py folder."""
    return _write_cifar10_py
