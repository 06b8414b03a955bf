"""BLAS thread policy: set_num_threads/get_num_threads, the 'auto' policy's choice from
the machine's load, the Trainer's num_threads, DataLoader workers on one thread."""
import subprocess
import sys
import time

import numpy as np
import pytest

import ktrain as kt
from ktrain import _threads
from ktrain.utils.data import DataLoader, Dataset

needs_blas = pytest.mark.skipif(not _threads._blas(), reason="no BLAS found by threadpoolctl")


@pytest.fixture(autouse=True)
def _restore_policy():
    saved = (_threads._State.policy, _threads.next_check[0], _threads.get_num_threads(),
             list(_threads._State.history))
    yield
    policy, due, count, last = saved
    _threads._set_blas(count)
    _threads._State.policy, _threads.next_check[0], _threads._State.history = policy, due, last


@needs_blas
def test_set_num_threads_fixes_the_count_and_stops_the_policy():
    kt.set_num_threads(1)
    assert kt.get_num_threads() == 1
    assert _threads.get_threads_policy() == 1
    assert _threads.next_check[0] == float("inf")
    kt.set_num_threads(2)
    assert kt.get_num_threads() == 2
    kt.set_num_threads("auto")
    assert _threads.get_threads_policy() == "auto" and _threads.next_check[0] == 0.0


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "two", None])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="positive int or 'auto'"):
        kt.set_num_threads(bad)


@pytest.mark.parametrize("cores,others,want", [
    (2, 0.0, 2), (2, 0.3, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 5.0, 1),
    (8, 0.0, 8), (8, 2.2, 6), (8, 2.6, 5), (1, 0.0, 1)])
def test_choose_gives_the_free_cores(cores, others, want):
    assert _threads.choose(cores, others) == want


@needs_blas
def test_retune_reads_other_processes_cpu(monkeypatch):
    """Two looks one second apart: 2.0 s of machine-wide busy CPU, 0.9 s of it ours ->
    1.1 cores busy elsewhere -> one thread on a 2-core machine; then idle -> two."""
    samples = iter([(10.0, 1000, 5.0), (11.0, 1000 + 2 * _threads._TICK, 5.9),
                    (12.0, 1000 + 2 * _threads._TICK + _threads._TICK, 6.85)])
    monkeypatch.setattr(_threads, "_sample", lambda: next(samples))
    monkeypatch.setattr(_threads, "num_cores", lambda: 2)
    kt.set_num_threads("auto")
    _threads._State.current, _threads._State.history = None, []
    _threads.retune()                      # first look: a baseline only
    assert _threads.next_check[0] > time.monotonic()
    _threads.retune()
    assert kt.get_num_threads() == 1
    _threads.retune()                      # 1.0 s busy, 0.95 s ours -> idle elsewhere
    assert kt.get_num_threads() == 2


@needs_blas
def test_fixed_policy_ignores_retune(monkeypatch):
    kt.set_num_threads(2)
    monkeypatch.setattr(_threads, "_sample", lambda: pytest.fail("sampled a fixed policy"))
    _threads.retune()
    assert kt.get_num_threads() == 2 and _threads.next_check[0] == float("inf")


@needs_blas
@pytest.mark.skipif(_threads.num_cores() < 2 or _threads._busy_ticks() is None,
                    reason="needs 2 cores and /proc/stat")
def test_auto_policy_backs_off_beside_a_busy_process():
    """The real thing: with a spinning competitor process the policy drops to
    cores - 1 threads within a few seconds of ops (more load only lowers it further)."""
    spin = subprocess.Popen([sys.executable, "-c",
                             "import time\nt=time.time()\nwhile time.time()-t<20: pass"])
    try:
        kt.set_num_threads("auto")
        x = kt.randn(128, 128)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.5:
            x @ x
        assert kt.get_num_threads() <= _threads.num_cores() - 1
    finally:
        spin.kill()
        spin.wait()


def test_dispatcher_looks_at_most_once_per_second():
    """The per-op look is one clock read: 100k no-grad adds stay far below 1 s of
    overhead (the policy itself reads /proc/stat at most once per second)."""
    kt.set_num_threads("auto")
    a = kt.ones(4)
    calls = []
    orig = _threads.retune
    try:
        _threads_mod = sys.modules["ktrain.autograd.function"]
        _threads_mod._retune_threads = lambda: (calls.append(1), orig())
        t0 = time.monotonic()
        for _ in range(20000):
            a + a
        elapsed = time.monotonic() - t0
    finally:
        _threads_mod._retune_threads = orig
    assert len(calls) <= elapsed + 2


@needs_blas
def test_trainer_num_threads_applies_during_fit_and_restores(tmp_path):
    from ktrain import nn
    from ktrain.train import Callback, RegressionTask, Trainer
    from ktrain.utils.data import TensorDataset

    seen = []

    class Probe(Callback):
        def on_train_batch_end(self, trainer, *a, **k):
            seen.append(kt.get_num_threads())

    kt.set_num_threads(2)
    x = kt.randn(16, 3)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
    trainer = Trainer(max_epochs=1, num_threads=1, default_root_dir=tmp_path, loggers=False,
                      enable_progress_bar=False, enable_checkpointing=False,
                      enable_plots=False, callbacks=[Probe()])
    trainer.fit(RegressionTask(nn.Linear(3, 1), optimizer=dict(name="sgd", lr=0.1)), loader)
    assert seen == [1, 1]
    assert kt.get_num_threads() == 2 and _threads.get_threads_policy() == 2


def _fit(tmp_path, probe_log, ckpt=None, **kw):
    from ktrain import nn
    from ktrain.train import Callback, RegressionTask, Trainer
    from ktrain.utils.data import TensorDataset

    class Probe(Callback):
        def on_train_batch_end(self, trainer, *a, **k):
            # a fixed count while the run lasts: the dispatcher never looks again
            assert _threads.next_check[0] == float("inf")
            probe_log.append(kt.get_num_threads())

    kt.manual_seed(0)
    x = kt.randn(32, 3)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)
    trainer = Trainer(default_root_dir=tmp_path, loggers=False, enable_progress_bar=False,
                      enable_plots=False, callbacks=[Probe()], **kw)
    trainer.fit(RegressionTask(nn.Linear(3, 1), optimizer=dict(name="sgd", lr=0.1)), loader,
                ckpt_path=ckpt)
    return trainer


@needs_blas
def test_auto_run_keeps_the_count_it_started_with(tmp_path, monkeypatch):
    """'auto' in a Trainer chooses once: a changing load mid-run does not change the
    numerics; the count is in the checkpoint and a resume takes it over."""
    kt.set_num_threads("auto")
    monkeypatch.setattr(_threads, "free_cores", lambda min_window=0.2, workers=0: 1)
    seen = []
    trainer = _fit(tmp_path, seen, max_epochs=2)
    assert seen == [1] * 8 and trainer._threads.chosen == 1
    assert _threads.get_threads_policy() == "auto"        # the process's policy is back
    ckpt = kt.load(tmp_path / "checkpoints" / "last.ckpt")
    assert ckpt["loops"]["blas_threads"] == 1
    # the machine is idle now (2 free cores), but the resumed run continues on 1 thread
    monkeypatch.setattr(_threads, "free_cores", lambda min_window=0.2, workers=0: 2)
    seen.clear()
    _fit(tmp_path, seen, max_epochs=3, ckpt="last")
    assert seen == [1] * 4


@needs_blas
def test_auto_run_keeps_a_count_the_user_fixed(tmp_path, monkeypatch):
    kt.set_num_threads(2)
    monkeypatch.setattr(_threads, "free_cores", lambda min_window=0.2, workers=0: pytest.fail("chose"))
    seen = []
    _fit(tmp_path, seen, max_epochs=1, enable_checkpointing=False)
    assert seen == [2] * 4 and _threads.get_threads_policy() == 2


@needs_blas
def test_free_cores_waits_for_a_window(monkeypatch):
    kt.set_num_threads("auto")
    _threads._State.history = []
    t0 = time.monotonic()
    n = _threads.free_cores(min_window=0.3)
    assert time.monotonic() - t0 >= 0.25 and 1 <= n <= _threads.num_cores()
    # a look made just before does not shorten the window: an older one is used, no wait
    _threads.others_busy()
    t0 = time.monotonic()
    _threads.free_cores(min_window=0.3)
    assert time.monotonic() - t0 < 0.1


def test_loader_workers_count_as_half_a_core(monkeypatch):
    monkeypatch.setattr(_threads, "others_busy", lambda min_window=0.0: 0.0)
    monkeypatch.setattr(_threads, "num_cores", lambda: 2)
    _threads._State.history = [(time.monotonic() - 1, 0, 0.0)]
    assert _threads.free_cores(workers=0) == 2
    assert _threads.free_cores(workers=1) == 2   # 1.5 free rounds up
    assert _threads.free_cores(workers=2) == 1


@needs_blas
def test_fit_tells_the_policy_about_its_workers(tmp_path, monkeypatch):
    got = []
    monkeypatch.setattr(_threads, "free_cores",
                        lambda min_window=0.2, workers=0: got.append(workers) or 1)
    from ktrain import nn
    from ktrain.train import RegressionTask, Trainer
    from ktrain.utils.data import TensorDataset

    kt.set_num_threads("auto")
    x = kt.randn(8, 3)
    loader = DataLoader(TensorDataset(x, x), batch_size=4, num_workers=2)
    Trainer(max_epochs=1, default_root_dir=tmp_path, loggers=False, enable_progress_bar=False,
            enable_checkpointing=False, enable_plots=False).fit(
        RegressionTask(nn.Linear(3, 3), optimizer=dict(name="sgd", lr=0.1)), loader)
    assert got == [2]


def test_others_busy_measures_over_the_window(monkeypatch):
    T = _threads._TICK
    samples = iter([(0.0, 0, 0.0), (1.0, T, 1.0), (1.05, T + T // 10, 1.05)])
    monkeypatch.setattr(_threads, "_sample", lambda: next(samples))
    _threads._State.history = []
    assert _threads.others_busy() is None
    assert _threads.others_busy() == pytest.approx(0.0)
    # 0.05 s after the previous look: measured from the one before (1.05 s window)
    assert _threads.others_busy(0.2) == pytest.approx((1.1 - 1.05) / 1.05)


@pytest.mark.parametrize("bad", [0, -1, "many"])
def test_trainer_rejects_bad_num_threads(bad):
    from ktrain.train import Trainer

    with pytest.raises(ValueError, match="num_threads"):
        Trainer(num_threads=bad)


class _Threads(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return np.array(kt.get_num_threads())


@needs_blas
def test_dataloader_workers_use_one_thread():
    kt.set_num_threads(2)
    got = [int(b) for b in DataLoader(_Threads(), batch_size=None, num_workers=2)]
    assert got == [1, 1, 1, 1]
    assert kt.get_num_threads() == 2


def test_env_variable_fixes_the_policy():
    code = ("import ktrain, ktrain._threads as t; "
            "print(t.get_threads_policy(), ktrain.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "KTRAIN_NUM_THREADS": "1"},
                         check=True).stdout.split()
    assert out[0] == "1" and (out[1] == "1" or not _threads._blas())
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "OPENBLAS_NUM_THREADS": "1"},
                         check=True).stdout.split()
    assert out[0] == "env"


def test_info_reports_the_policy():
    from ktrain.cli.info import collect

    kt.set_num_threads("auto")
    assert collect()["blas thread policy"].startswith("auto")
    kt.set_num_threads(1)
    assert collect()["blas thread policy"] == "fixed: 1"


@needs_blas
def test_initial_guess_uses_the_load_average(monkeypatch):
    """At import, before any look: a busy machine (load 1.2 on 2 cores) starts on one
    thread; an idle one keeps BLAS's own count."""
    monkeypatch.setattr(_threads, "num_cores", lambda: 2)
    kt.set_num_threads(2)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    _threads._initial_guess()
    assert kt.get_num_threads() == 1
    kt.set_num_threads(2)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (0.2, 0.1, 0.1))
    _threads._initial_guess()
    assert kt.get_num_threads() == 2
