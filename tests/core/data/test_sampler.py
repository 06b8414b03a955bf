"""ktrain.utils.data samplers against hand-computed expectations."""
import ktrain as kt
import numpy as np
import pytest
from ktrain.utils.data import (BatchSampler, DistributedSampler, RandomSampler, Sampler,
                               SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)


def gen(seed=0):
    return kt.Generator().manual_seed(seed)


def test_base_and_sequential():
    with pytest.raises(NotImplementedError):
        iter(Sampler())
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5
    assert list(SequentialSampler([])) == []


def test_random_sampler_permutation_and_reproducible():
    s = RandomSampler(range(20), generator=gen(3))
    a, b = list(s), list(s)
    assert sorted(a) == list(range(20)) and sorted(b) == list(range(20))
    assert a != b  # the generator moves on: a new order each epoch
    assert list(RandomSampler(range(20), generator=gen(3))) == a
    assert len(s) == 20
    # without a generator a fresh seed is drawn from the default generator each time
    kt.manual_seed(7)
    c = list(RandomSampler(range(20)))
    kt.manual_seed(7)
    assert list(RandomSampler(range(20))) == c


def test_random_sampler_num_samples():
    s = RandomSampler(range(4), num_samples=10, generator=gen())
    out = list(s)
    assert len(out) == 10 == len(s)
    assert sorted(out[:4]) == [0, 1, 2, 3] and sorted(out[4:8]) == [0, 1, 2, 3]
    assert len(set(out[8:])) == 2
    r = RandomSampler(range(3), replacement=True, num_samples=70, generator=gen())
    out = list(r)
    assert len(out) == 70 and set(out) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler([])


def test_subset_random_sampler():
    idx = [10, 20, 30, 40]
    s = SubsetRandomSampler(idx, generator=gen(1))
    a = list(s)
    assert sorted(a) == idx and len(s) == 4
    assert list(SubsetRandomSampler(idx, generator=gen(1))) == a


def test_weighted_random_sampler():
    s = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=gen())
    out = np.array(list(s))
    assert len(out) == 200 == len(s) and set(out.tolist()) <= {1, 3}
    assert (out == 3).sum() > (out == 1).sum()  # 3:1 odds
    s = WeightedRandomSampler(np.array([1.0, 1.0, 1.0, 0.5]), 4, replacement=False,
                              generator=gen())
    assert sorted(s) == [0, 1, 2, 3]
    assert s.weights.dtype == kt.float64
    with pytest.raises(ValueError, match="1d sequence"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="replacement"):
        WeightedRandomSampler([1.0], 1, replacement="yes")


def test_batch_sampler():
    bs = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(bs) == 4
    bs = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(bs) == 3
    bs = BatchSampler(range(6), 3, True)  # any iterable of indices works
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    assert list(BatchSampler([], 2, False)) == []
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="batch_size"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(range(3), 2, 0)


def test_distributed_sampler_padding_and_shards():
    ds = range(10)
    shards = [list(DistributedSampler(ds, 3, r, shuffle=False)) for r in range(3)]
    # 10 indices padded to 12 by repeating the start: [0..9, 0, 1]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    assert len(DistributedSampler(ds, 3, 0, shuffle=False)) == 4
    shards = [list(DistributedSampler(ds, 3, r, shuffle=False, drop_last=True))
              for r in range(3)]
    assert shards == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    # padding longer than the data: the list repeats as often as needed
    shards = [list(DistributedSampler(range(2), 5, r, shuffle=False)) for r in range(5)]
    assert shards == [[0], [1], [0], [1], [0]]


def test_distributed_sampler_shuffle_epochs():
    ds = range(11)

    def epoch(e, seed=0):
        out = []
        for r in range(2):
            s = DistributedSampler(ds, 2, r, shuffle=True, seed=seed)
            s.set_epoch(e)
            out.append(list(s))
        return out

    e0 = epoch(0)
    assert set(e0[0] + e0[1]) == set(range(11))
    assert len(e0[0]) == len(e0[1]) == 6
    assert epoch(0) == e0  # every replica computes the same permutation
    assert epoch(1) != e0
    assert epoch(0, seed=1) != e0


def test_distributed_sampler_errors(monkeypatch):
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(range(4), num_replicas=3, rank=3)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RuntimeError, match="num_replicas"):
        DistributedSampler(range(4))
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    s = DistributedSampler(range(8), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (4, 2, [2, 6])
