"""ktrain.utils.data datasets, random_split, default_collate and default_convert."""
import collections
import os

import ktrain as kt
import numpy as np
import pytest
from ktrain.utils.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset,
                               StackDataset, Subset, TensorDataset, default_collate,
                               default_convert, random_split)


class Range(Dataset):
    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.offset + i


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


class Batched(Range):
    """Counts __getitems__ calls: wrappers must forward whole batches to it."""

    calls = 0

    def __getitems__(self, idx):
        Batched.calls += 1
        return [self.offset + i for i in idx]


# ----------------------------------------------------------------------------- datasets


def test_dataset_base_and_add():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(IterableDataset())
    c = Range(2) + Range(3, offset=10)
    assert isinstance(c, ConcatDataset) and [c[i] for i in range(5)] == [0, 1, 10, 11, 12]
    ch = Stream([1, 2]) + Stream([3])
    assert isinstance(ch, ChainDataset) and list(ch) == [1, 2, 3] and len(ch) == 3


def test_tensor_dataset():
    x, y = kt.arange(12).reshape(4, 3), kt.tensor([0, 1, 0, 1])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    a, b = ds[2]
    assert a.tolist() == [6, 7, 8] and b.item() == 0
    assert ds[-1][0].tolist() == [9, 10, 11]
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, kt.zeros(3))


def test_stack_dataset():
    a, b = Range(3), Range(3, offset=100)
    assert StackDataset(a, b)[1] == (1, 101)
    assert StackDataset(x=a, y=b)[2] == {"x": 2, "y": 102}
    assert StackDataset(a, Batched(3, 5)).__getitems__([0, 2]) == [(0, 5), (2, 7)]
    assert StackDataset(x=a, y=b).__getitems__([1]) == [{"x": 1, "y": 101}]
    assert len(StackDataset(a, b)) == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(a, Range(4))
    with pytest.raises(ValueError):
        StackDataset(a, y=b)
    with pytest.raises(ValueError):
        StackDataset()


def test_concat_dataset():
    c = ConcatDataset([Range(2), Range(0), Range(3, offset=10)])
    assert len(c) == 5 and c.cumulative_sizes == [2, 2, 5]
    assert [c[i] for i in range(5)] == [0, 1, 10, 11, 12]
    assert c[-1] == 12 and c[-5] == 0
    with pytest.raises(ValueError, match="absolute value"):
        c[-6]
    with pytest.raises(IndexError):
        c[5]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([Range(2), Stream([1])])


def test_chain_dataset():
    ch = ChainDataset([Stream([1, 2]), Stream([]), Stream([3])])
    assert list(ch) == [1, 2, 3] and list(ch) == [1, 2, 3] and len(ch) == 3
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([Stream([1]), Range(2)]))


def test_subset():
    s = Subset(Range(10, offset=100), [7, 2, 5])
    assert len(s) == 3 and [s[i] for i in range(3)] == [107, 102, 105]
    Batched.calls = 0
    sb = Subset(Batched(10), [9, 8, 7])
    assert sb.__getitems__([0, 2]) == [9, 7] and Batched.calls == 1
    assert s.__getitems__([1, 0]) == [102, 107]


# ----------------------------------------------------------------------------- random_split


def _flat(parts):
    return sorted(i for p in parts for i in p.indices)


def test_random_split_lengths_and_reproducible():
    ds = Range(10)
    a = random_split(ds, [3, 7], generator=kt.Generator().manual_seed(0))
    b = random_split(ds, [3, 7], generator=kt.Generator().manual_seed(0))
    c = random_split(ds, [3, 7], generator=kt.Generator().manual_seed(1))
    assert [len(p) for p in a] == [3, 7]
    assert _flat(a) == list(range(10))
    assert [p.indices for p in a] == [p.indices for p in b]
    assert [p.indices for p in a] != [p.indices for p in c]
    assert a[0][0] == ds[a[0].indices[0]]
    # the default generator: reproducible through kt.manual_seed
    kt.manual_seed(5)
    d = random_split(ds, [5, 5])
    kt.manual_seed(5)
    e = random_split(ds, [5, 5])
    assert [p.indices for p in d] == [p.indices for p in e]


def test_random_split_fractions_rounding():
    # floor(10 * f) = 3, 3, 3; the remainder 1 goes to the first split (PyTorch's rule)
    parts = random_split(Range(10), [0.33, 0.33, 0.34], generator=kt.Generator())
    assert [len(p) for p in parts] == [4, 3, 3]
    parts = random_split(Range(7), [0.5, 0.5], generator=kt.Generator())
    assert [len(p) for p in parts] == [4, 3] and _flat(parts) == list(range(7))
    parts = random_split(Range(5), [0.2, 0.2, 0.2, 0.2, 0.2])
    assert [len(p) for p in parts] == [1] * 5
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(Range(2), [0.9, 0.1])  # floor: 1, 0; remainder 1 -> [2, 0]


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(Range(10), [3, 3])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        random_split(Range(10), [1.5, -0.5])


# ----------------------------------------------------------------------------- collate

Point = collections.namedtuple("Point", ["x", "y"])


def test_collate_leaf_dtypes():
    f = default_collate([1.5, 2.0])
    assert f.dtype == kt.float64 and f.tolist() == [1.5, 2.0]
    i = default_collate([1, 2, 3])
    assert i.dtype == kt.int64 and i.tolist() == [1, 2, 3]
    b = default_collate([True, False])
    assert b.dtype == kt.bool and b.tolist() == [True, False]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == kt.float32
    assert default_collate([np.int32(1), np.int32(2)]).dtype == kt.int32
    assert default_collate([np.float64(1.5), np.float64(2)]).dtype == kt.float64
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]
    assert default_collate([np.str_("a"), np.str_("b")]) == ["a", "b"]
    a = default_collate([np.zeros((2, 3), np.float16), np.ones((2, 3), np.float16)])
    assert a.dtype == kt.float16 and a.shape == (2, 2, 3) and a.numpy()[1].sum() == 6
    t = default_collate([kt.tensor([1.0, 2.0]), kt.tensor([3.0, 4.0])])
    assert t.dtype == kt.float32 and t.tolist() == [[1, 2], [3, 4]]


def test_collate_nested():
    batch = [
        {"img": np.full((2,), 0, np.uint8), "meta": {"id": 0, "name": "a"},
         "pair": (1.0, [kt.tensor(0), 5]), "pt": Point(1, 2.0)},
        {"img": np.full((2,), 1, np.uint8), "meta": {"id": 1, "name": "b"},
         "pair": (2.0, [kt.tensor(1), 6]), "pt": Point(3, 4.0)},
    ]
    out = default_collate(batch)
    assert set(out) == {"img", "meta", "pair", "pt"}
    assert out["img"].dtype == kt.uint8 and out["img"].tolist() == [[0, 0], [1, 1]]
    assert out["meta"]["id"].tolist() == [0, 1] and out["meta"]["name"] == ["a", "b"]
    assert isinstance(out["pair"], list)  # tuples collate to lists, as PyTorch
    assert out["pair"][0].dtype == kt.float64
    assert out["pair"][1][0].tolist() == [0, 1] and out["pair"][1][1].tolist() == [5, 6]
    assert isinstance(out["pt"], Point) and out["pt"].x.tolist() == [1, 3]
    assert out["pt"].y.dtype == kt.float64
    pairs = default_collate([(1, "a"), (2, "b")])  # PyTorch: a list; string fields a tuple
    assert isinstance(pairs, list) and pairs[0].tolist() == [1, 2] and pairs[1] == ("a", "b")
    od = default_collate([collections.OrderedDict(a=1), collections.OrderedDict(a=2)])
    assert isinstance(od, collections.OrderedDict) and od["a"].tolist() == [1, 2]


def test_collate_errors_name_the_problem():
    with pytest.raises(RuntimeError, match=r"\[3\] at entry 0 and \[4\] at entry 1"):
        default_collate([kt.zeros(3), kt.zeros(4)])
    with pytest.raises(RuntimeError, match=r"numpy arrays.*\[2, 2\] at entry 0 and \[2, 3\] "
                                           r"at entry 2"):
        default_collate([np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(TypeError, match="int at entry 0 and str at entry 1"):
        default_collate([1, "a"])
    with pytest.raises(TypeError, match="Tensor at entry 0 and ndarray at entry 1"):
        default_collate([kt.zeros(2), np.zeros(2)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(KeyError, match="entry 1"):
        default_collate([{"a": 1, "b": 2}, {"a": 1}])


def test_default_convert():
    assert default_convert(3) == 3 and default_convert("s") == "s"
    t = default_convert(np.arange(3, dtype=np.int16))
    assert isinstance(t, kt.Tensor) and t.dtype == kt.int16
    assert default_convert(np.float64(2.0)).dtype == kt.float64
    out = default_convert({"a": np.zeros(2), "b": (np.ones(1), "x"), "p": Point(np.zeros(1), 1)})
    assert isinstance(out["a"], kt.Tensor) and isinstance(out["b"], list)
    assert isinstance(out["b"][0], kt.Tensor) and out["b"][1] == "x"
    assert isinstance(out["p"], Point) and isinstance(out["p"].x, kt.Tensor)
    s = np.array(["a", "b"])
    assert default_convert(s) is s  # strings stay numpy


# ----------------------------------------------------------------------------- real data

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "data",
                    "mnist")


@pytest.mark.skipif(not os.path.isdir(DATA), reason="shared/data/mnist is absent")
def test_mnist_labels_tensor_dataset_and_split():
    import gzip

    files = [f for f in os.listdir(DATA) if "labels" in f and "t10k" in f]
    if not files:
        pytest.skip("no MNIST test labels file")
    with gzip.open(os.path.join(DATA, files[0]), "rb") as fh:
        raw = fh.read()
    labels = np.frombuffer(raw, np.uint8, offset=8).astype(np.int64)
    assert labels.size == 10000
    ds = TensorDataset(kt.from_numpy(labels))
    train, val = random_split(ds, [0.9, 0.1], generator=kt.Generator().manual_seed(0))
    assert (len(train), len(val)) == (9000, 1000)
    counts = np.bincount([int(val[i][0]) for i in range(len(val))], minlength=10)
    assert counts.min() > 50  # a random split keeps every class
