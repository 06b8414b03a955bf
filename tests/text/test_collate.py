"""Padding collation (lengths, attention masks) and the bucketing batch sampler."""
import numpy as np
import pytest
from ktrain_text.collate import BucketBatchSampler, PadCollate, pad_batch


def test_pad_batch_masks_lengths_and_truncation():
    b = pad_batch([[5, 6, 7], [8], []], padding_value=0)
    assert b["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert b["lengths"].tolist() == [3, 1, 0]
    t = pad_batch([np.arange(10), np.arange(2)], max_length=4, padding_value=-1)
    assert t["input_ids"].shape == (2, 4) and t["lengths"].tolist() == [4, 2]
    assert t["input_ids"][1].tolist() == [0, 1, -1, -1]


def test_pad_collate_returns_tensor_dict_and_labels():
    x, y = PadCollate(padding_value=1)([(np.array([4, 5]), 1), (np.array([6]), 0)])
    assert set(x) == {"input_ids", "attention_mask", "lengths"}
    assert x["input_ids"].numpy().tolist() == [[4, 5], [6, 1]]
    assert str(x["input_ids"].dtype).endswith("int64") and y.numpy().tolist() == [1, 0]
    only = PadCollate()([np.array([1, 2]), np.array([3])])
    assert only["lengths"].numpy().tolist() == [2, 1]


@pytest.mark.parametrize("shuffle,drop_last", [(True, False), (False, False), (True, True)])
def test_bucket_sampler_covers_everything_once(shuffle, drop_last):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, 203)
    s = BucketBatchSampler(lengths, 8, shuffle=shuffle, drop_last=drop_last,
                           bucket_size_multiplier=5, seed=0)
    batches = list(s)
    assert len(batches) == len(s)
    flat = np.concatenate(batches)
    if drop_last:
        assert all(len(b) == 8 for b in batches) and len(set(flat)) == len(flat)
    else:
        assert sorted(flat.tolist()) == list(range(203))
    # inside a batch lengths are close: much less padding than random batches
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 30


def test_bucket_sampler_seeded_epochs_differ_but_repeat():
    lengths = np.arange(64)
    a = BucketBatchSampler(lengths, 4, seed=3)
    b = BucketBatchSampler(lengths, 4, seed=3)
    e0, e1 = list(a), list(a)
    assert e0 == list(b) and e0 != e1
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler(lengths, 0)
