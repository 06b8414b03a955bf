"""ktrain.utils.data.DataLoader: options, batching, worker processes, seeding, errors,
clean shutdown and the shared-memory transport. Datasets are tiny, at most 2 workers, and
every loader that could wait on a worker has a timeout, so nothing can hang."""
import gc
import multiprocessing as mp
import os
import random
import signal
import time

import ktrain as kt
import numpy as np
import pytest
from ktrain.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset,
                               SequentialSampler, TensorDataset, get_worker_info)

T = 20  # seconds: the longest any loader in this file may wait for one batch


class Squares(Dataset):
    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full((3,), i, np.float32), "y": i * i}


class Probe(Dataset):
    """Reports which worker (and which random numbers) produced each sample."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        wid = -1 if info is None else info.id
        seed = -1 if info is None else info.seed
        return (wid, seed, os.getpid(), kt.rand(1).item(), float(np.random.rand()),
                random.random())


class Failing(Dataset):
    def __init__(self, bad=3, exc=ValueError):
        self.bad, self.exc = bad, exc

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc(f"bad sample {i}")
        return i


class Dies(Dataset):
    """Kills its own worker process at index ``bad``; large samples before that."""

    def __init__(self, bad, how="exit", big=False):
        self.bad, self.how, self.big = bad, how, big

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == self.bad and get_worker_info() is not None:
            if self.how == "exit":
                os._exit(3)
            os.kill(os.getpid(), signal.SIGKILL)
        return np.full((64, 1024), i, np.float32) if self.big else i


class Slow(Dataset):
    def __init__(self, slow_index, seconds):
        self.slow_index, self.seconds = slow_index, seconds

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == self.slow_index:
            time.sleep(self.seconds)
        return i


class Big(Dataset):
    """1 MiB float32 samples with content that depends on the index."""

    def __len__(self):
        return 16

    def __getitem__(self, i):
        return np.random.default_rng(i).standard_normal((512, 512)).astype(np.float32), i


class Shard(IterableDataset):
    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


def _wait_no_workers(seconds=5.0):
    """True once no multiprocessing child of this process is alive."""
    end = time.monotonic() + seconds
    while mp.active_children():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def _shm_blocks():
    if not os.path.isdir("/dev/shm"):
        return []
    return [f for f in os.listdir("/dev/shm") if f.startswith(f"ktrain_{os.getpid()}_")]


@pytest.fixture(autouse=True)
def _clean():
    kt.manual_seed(0)
    yield
    gc.collect()
    assert _wait_no_workers(), f"worker processes left behind: {mp.active_children()}"
    assert _shm_blocks() == [], f"shared memory left behind: {_shm_blocks()}"


def as_lists(batches):
    out = []
    for b in batches:
        if isinstance(b, dict):
            out.append({k: v.tolist() for k, v in b.items()})
        elif isinstance(b, (list, tuple)):
            out.append([v.tolist() if isinstance(v, kt.Tensor) else v for v in b])
        else:
            out.append(b.tolist() if isinstance(b, kt.Tensor) else b)
    return out


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("kwargs, match", [
    ({"num_workers": -1}, "non-negative"),
    ({"timeout": -1}, "timeout"),
    ({"prefetch_factor": 2}, "prefetch_factor"),
    ({"num_workers": 1, "prefetch_factor": -1}, "prefetch_factor"),
    ({"persistent_workers": True}, "persistent_workers"),
    ({"sampler": SequentialSampler(range(3)), "shuffle": True}, "mutually exclusive"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually"),
    ({"batch_sampler": [[0]], "shuffle": True}, "batch_sampler option is mutually"),
    ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None"),
    ({"multiprocessing_context": "fork"}, "num_workers > 0"),
    ({"num_workers": 1, "multiprocessing_context": "nope"}, "valid start method"),
])
def test_option_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(Squares(3), **kwargs)


def test_iterable_option_errors_and_frozen_attributes():
    for kw in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError, match="IterableDataset"):
            DataLoader(Shard(3), **kw)
    dl = DataLoader(Squares(3))
    with pytest.raises(ValueError, match="should not be set"):
        dl.batch_size = 4
    dl.num_workers = 0  # other attributes stay settable
    with pytest.raises(TypeError):
        DataLoader(Squares(3), num_workers=1, multiprocessing_context=3)


def test_reachable_from_the_top_level_package():
    assert kt.utils.data.DataLoader is DataLoader
    assert kt.utils.hooks.RemovableHandle is not None
    assert "data" in dir(kt.utils)


def test_batching_len_and_drop_last():
    dl = DataLoader(Squares(10), batch_size=4)
    b = list(dl)
    assert len(dl) == 3 and [len(x["y"]) for x in b] == [4, 4, 2]
    assert b[1]["y"].tolist() == [16, 25, 36, 49] and b[1]["x"].shape == (4, 3)
    dl = DataLoader(Squares(10), batch_size=4, drop_last=True)
    assert len(dl) == 2 and len(list(dl)) == 2
    dl = DataLoader(Squares(3), batch_size=None)  # no auto-batching: default_convert
    first = next(iter(dl))
    assert first["x"].shape == (3,) and first["y"] == 0 and len(dl) == 3
    dl = DataLoader(Squares(5), batch_sampler=BatchSampler(range(5), 2, False),
                    collate_fn=lambda b: [s["y"] for s in b])
    assert list(dl) == [[0, 1], [4, 9], [16]] and len(dl) == 3
    dl = DataLoader(Squares(4), pin_memory=True, pin_memory_device="")  # no-op on CPU
    assert len(list(dl)) == 4


def test_iterable_dataset_batches_and_len():
    dl = DataLoader(Shard(10), batch_size=4)
    assert [b.tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(dl) == 3
    dl = DataLoader(Shard(10), batch_size=4, drop_last=True)
    assert [b.tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(dl) == 2
    assert list(DataLoader(Shard(3), batch_size=None)) == [0, 1, 2]
    dl = DataLoader(Shard(10, shard=False), batch_size=4, num_workers=2, timeout=T)
    assert len(dl) == 3
    with pytest.warns(UserWarning, match="Length of IterableDataset"):
        assert len(list(dl)) == 6  # both workers iterate a full, unsharded copy


# ----------------------------------------------------------------------------- workers


def test_zero_and_two_workers_give_identical_batches():
    ref = as_lists(DataLoader(Squares(11), batch_size=3))
    got = as_lists(DataLoader(Squares(11), batch_size=3, num_workers=2, timeout=T))
    assert got == ref
    got = as_lists(DataLoader(Squares(11), batch_size=3, num_workers=2, timeout=T,
                              prefetch_factor=1))
    assert got == ref


def test_shuffle_reproducible_and_equal_across_worker_counts():
    def order(nw, **kw):
        dl = DataLoader(Squares(12), batch_size=5, shuffle=True, num_workers=nw,
                        timeout=T if nw else 0, **kw)
        return [b["y"].tolist() for b in dl]

    kt.manual_seed(42)
    a, a2 = order(0), order(0)
    kt.manual_seed(42)
    b, b2 = order(2), order(2)
    assert a == b and a2 == b2 and a != a2
    assert sorted(sum(a, [])) == [i * i for i in range(12)]
    g0 = order(0, generator=kt.Generator().manual_seed(5))
    assert order(2, generator=kt.Generator().manual_seed(5)) == g0


def test_worker_seeding():
    def epoch(dl):
        rows = [tuple(r) for b in dl for r in zip(*[c.tolist() if isinstance(c, kt.Tensor)
                                                     else c for c in b])]
        return rows

    kt.manual_seed(123)
    dl = DataLoader(Probe(), batch_size=2, num_workers=2, timeout=T)
    e1, e2 = epoch(dl), epoch(dl)
    by_worker = {w: [r for r in e1 if r[0] == w] for w in (0, 1)}
    assert all(by_worker.values())
    s0, s1 = by_worker[0][0][1], by_worker[1][0][1]
    assert s1 == s0 + 1  # seed = base_seed + worker_id
    for col in (3, 4, 5):  # ktrain, numpy and python RNGs all differ across workers
        assert by_worker[0][0][col] != by_worker[1][0][col]
    assert [r[3:] for r in e1] != [r[3:] for r in e2]  # and across epochs
    assert len({r[3] for r in e1}) == 8
    kt.manual_seed(123)
    again = epoch(DataLoader(Probe(), batch_size=2, num_workers=2, timeout=T))
    assert [r[:2] + r[3:] for r in again] == [r[:2] + r[3:] for r in e1]  # reproducible
    g = epoch(DataLoader(Probe(), batch_size=2, num_workers=2, timeout=T,
                         generator=kt.Generator().manual_seed(9)))
    g2 = epoch(DataLoader(Probe(), batch_size=2, num_workers=2, timeout=T,
                          generator=kt.Generator().manual_seed(9)))
    assert [r[3:] for r in g] == [r[3:] for r in g2]
    assert get_worker_info() is None


def _init(worker_id):
    info = get_worker_info()
    assert info.id == worker_id and info.num_workers == 2
    info.dataset.n = 10 + worker_id  # each worker configures its own copy


class InitProbe(Dataset):
    n = 0

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.n


def test_worker_init_fn_and_worker_info():
    dl = DataLoader(InitProbe(), batch_size=1, num_workers=2, worker_init_fn=_init, timeout=T)
    assert [b.item() for b in dl] == [10, 11, 10, 11]  # round-robin dispatch, in order
    with pytest.raises(RuntimeError, match="Cannot assign"):
        from ktrain.utils.data import WorkerInfo

        WorkerInfo(id=0).id = 1


def test_iterable_sharding_has_no_duplicates():
    dl = DataLoader(Shard(23), batch_size=4, num_workers=2, timeout=T)
    seen = [v for b in dl for v in b.tolist()]
    assert sorted(seen) == list(range(23))
    dl = DataLoader(Shard(7), batch_size=None, num_workers=2, timeout=T)
    assert sorted(dl) == list(range(7))


def test_worker_exception_carries_traceback_and_worker_id():
    dl = DataLoader(Failing(bad=3), batch_size=2, num_workers=2, timeout=T)
    it = iter(dl)
    assert next(it).tolist() == [0, 1]
    with pytest.raises(ValueError) as ei:
        next(it)
    msg = str(ei.value)
    assert "in DataLoader worker process 1" in msg and "bad sample 3" in msg
    assert "Traceback" in msg and "__getitem__" in msg
    assert next(it).tolist() == [4, 5]  # the iterator goes on, as PyTorch's
    del it
    with pytest.raises(KeyError) as ei:
        list(DataLoader(Failing(bad=0, exc=KeyError), num_workers=1, timeout=T))
    assert "bad sample 0" in str(ei.value) and "\n" in str(ei.value)


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


class RaisesOdd(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        raise NeedsTwoArgs("x", "y")


def test_worker_exception_needing_other_arguments_becomes_runtime_error():
    with pytest.raises(RuntimeError, match="Caught NeedsTwoArgs in DataLoader worker"):
        list(DataLoader(RaisesOdd(), num_workers=1, timeout=T))


def test_unpicklable_batch_is_reported():
    dl = DataLoader(Squares(2), num_workers=1, timeout=T, collate_fn=lambda b: (lambda: 0))
    with pytest.raises(Exception, match="worker process 0"):
        list(dl)


@pytest.mark.parametrize("how, match", [("exit", "exited unexpectedly with exit code 3"),
                                        ("kill", "killed by signal SIGKILL")])
def test_dead_worker_raises_clear_error(how, match):
    dl = DataLoader(Dies(bad=2, how=how, big=True), batch_size=1, num_workers=2, timeout=T)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=match):
        for _ in dl:
            pass
    assert time.monotonic() - t0 < 5  # detected through the sentinel, not the timeout


def test_timeout_raises():
    dl = DataLoader(Slow(slow_index=1, seconds=1.0), num_workers=1, timeout=0.3)
    it = iter(dl)
    assert next(it).item() == 0
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"timed out after 0.3 seconds"):
        next(it)
    assert time.monotonic() - t0 < 2.5  # 0.3 s, then shutdown waits for the stuck worker


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM timers")
def test_keyboard_interrupt_shuts_workers_down():
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        dl = DataLoader(Slow(slow_index=0, seconds=0.6), num_workers=1, timeout=T)
        it = iter(dl)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            next(it)
        assert it._shutdown and _wait_no_workers()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_no_leftover_workers():
    dl = DataLoader(Squares(20), batch_size=2, num_workers=2, timeout=T)
    list(dl)
    assert _wait_no_workers(1.0)  # exhausted: shut down at once
    for i, _ in enumerate(dl):  # broken off early: the iterator is collected
        assert len(mp.active_children()) == 2
        if i == 1:
            break
    gc.collect()
    assert _wait_no_workers(3.0)
    with pytest.raises(ValueError):
        for _ in DataLoader(Failing(bad=5), num_workers=2, timeout=T):
            pass
    gc.collect()
    assert _wait_no_workers(3.0)


class Text(Dataset):
    def __len__(self):
        return 1000

    def __getitem__(self, i):
        return "x" * 5000  # batches of 320 kB pickles: more than a pipe holds


def test_shutdown_is_prompt_while_workers_block_on_sending():
    it = iter(DataLoader(Text(), batch_size=64, num_workers=2, timeout=T))
    next(it)
    time.sleep(0.3)  # both workers now wait for the pipe to drain
    t0 = time.monotonic()
    del it
    gc.collect()
    assert _wait_no_workers(3.0)
    assert time.monotonic() - t0 < 0.9  # they got EPIPE: no join timeout, no terminate


def test_prefetch_keeps_bounded_number_of_tasks_in_flight():
    dl = DataLoader(Squares(20), batch_size=1, num_workers=2, prefetch_factor=1, timeout=T)
    it = iter(dl)
    assert it._send_idx == 2
    for _ in range(5):
        next(it)
        assert it._tasks_outstanding <= 2 and it._send_idx - it._rcvd_idx <= 2
    del it


def test_persistent_workers():
    dl = DataLoader(Probe(), batch_size=2, num_workers=2, persistent_workers=True, timeout=T)
    pids = set()
    for _ in range(3):
        rows = [b for b in dl]
        assert len(rows) == 4
        pids |= {p for b in rows for p in b[2].tolist()}
        assert len(mp.active_children()) == 2  # alive between epochs
    assert len(pids) == 2  # the same two processes every epoch
    it = iter(dl)
    next(it)  # break off early: the next epoch still yields all of its batches in order
    assert [b[0].tolist() for b in dl] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    dl2 = DataLoader(Shard(9), batch_size=2, num_workers=2, persistent_workers=True, timeout=T)
    for _ in range(2):
        assert sorted(v for b in dl2 for v in b.tolist()) == list(range(9))
    del dl, dl2, it
    gc.collect()
    assert _wait_no_workers(3.0)


def test_persistent_workers_give_the_same_epochs_as_fresh_ones():
    def epochs(persistent):
        kt.manual_seed(3)
        dl = DataLoader(Probe(), batch_size=2, shuffle=True, num_workers=2, timeout=T,
                        persistent_workers=persistent)
        # (worker, seed, ktrain/numpy/python random numbers) of each sample, 2 epochs
        return [[tuple(r[:2]) + tuple(r[3:]) for b in dl
                 for r in zip(*[c.tolist() for c in b])] for _ in range(2)]

    fresh, kept = epochs(False), epochs(True)
    assert fresh == kept and fresh[0] != fresh[1]


def _failing_init(worker_id):
    raise OSError(f"cannot open shard {worker_id}")


def test_worker_init_fn_error_is_reported():
    dl = DataLoader(Squares(4), num_workers=2, worker_init_fn=_failing_init, timeout=T)
    with pytest.raises(OSError, match="cannot open shard 0"):
        list(dl)


def test_large_batches_travel_through_shared_memory():
    ds = Big()
    dl = DataLoader(ds, batch_size=8, num_workers=2, timeout=T)  # 8 MiB per batch
    seen = 0
    for x, idx in dl:
        assert x.shape == (8, 512, 512) and x.dtype == kt.float32
        assert _shm_blocks()  # the workers' blocks exist while the loader runs
        for row, i in zip(x.numpy(), idx.tolist()):
            np.testing.assert_array_equal(row, ds[i][0])
        seen += 1
    assert seen == 2
    assert _wait_no_workers(1.0) and _shm_blocks() == []
    # tensors and odd layouts are lifted too; the batch owns ordinary memory
    big_t = kt.arange(8192, dtype=kt.float64).reshape(64, 128)
    dl = DataLoader([big_t.numpy()[:, ::2], big_t.numpy()[:, 1::2]], batch_size=2,
                    num_workers=1, timeout=T, collate_fn=lambda b: (b[0], kt.from_numpy(b[1])))
    a, t = next(iter(dl))
    np.testing.assert_array_equal(a, big_t.numpy()[:, ::2])
    np.testing.assert_array_equal(t.numpy(), big_t.numpy()[:, 1::2])


def test_shared_memory_cleaned_after_killed_worker():
    dl = DataLoader(Dies(bad=5, how="kill", big=True), batch_size=1, num_workers=2, timeout=T)
    with pytest.raises(RuntimeError, match="SIGKILL"):
        list(dl)
    assert _shm_blocks() == []


def test_tensor_dataset_in_workers_and_iterator_len():
    x = kt.arange(30, dtype=kt.float32).reshape(10, 3)
    dl = DataLoader(TensorDataset(x, kt.arange(10)), batch_size=4, num_workers=2, timeout=T)
    it = iter(dl)
    assert len(it) == 3
    xb, yb = next(it)
    assert xb.tolist() == x[:4].tolist() and yb.tolist() == [0, 1, 2, 3]
    del it


@pytest.mark.slow
def test_spawn_context():
    x = kt.arange(12).reshape(6, 2)
    dl = DataLoader(TensorDataset(x), batch_size=4, num_workers=2, timeout=60,
                    multiprocessing_context="spawn")
    assert [b[0].tolist() for b in dl] == [x[:4].tolist(), x[4:].tolist()]
