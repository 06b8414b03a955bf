"""A dataset failing on one sample: the DataLoader names the sample index and its file,
in the main process and from a worker process."""
import numpy as np
import pytest

import ktrain
from ktrain.utils.data import DataLoader, Dataset, Subset
from ktrain.utils.data._worker import sample_source


class BadFiles(Dataset):
    """Sample 5 is an unreadable 'file'."""

    def __init__(self, n=12):
        self.samples = [(f"data/img_{i:03d}.png", i % 2) for i in range(n)]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"cannot identify image file {self.samples[i][0]!r}")
        return ktrain.from_numpy(np.full(3, i, np.float32)), self.samples[i][1]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_the_failing_sample_is_named(num_workers):
    loader = DataLoader(BadFiles(), batch_size=4, num_workers=num_workers)
    with pytest.raises(ValueError) as err:
        list(loader)
    index, path, summary = err.value.ktrain_sample
    assert (index, path) == (5, "data/img_005.png")
    assert summary == "ValueError: cannot identify image file 'data/img_005.png'"
    if num_workers:
        assert "worker process" in err.value.ktrain_where
    else:
        assert "while loading sample 5 of BadFiles (file data/img_005.png)" in \
            err.value.__notes__


def test_sample_source_looks_through_subsets_and_conventions():
    ds = BadFiles()
    assert sample_source(Subset(Subset(ds, [9, 8, 7]), [2, 1]), 0) == "data/img_007.png"

    class WithPath(Dataset):
        def sample_path(self, i):
            return f"clip{i}.wav"

    assert sample_source(WithPath(), 3) == "clip3.wav"
    assert sample_source(object(), 3) is None
