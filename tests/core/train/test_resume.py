"""Checkpoints and exact resumption: SIGKILL-and-resume in real subprocesses, mid-epoch and
mid-accumulation resumes in process, callback/scaler state, and determinism."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial

import numpy as np
import pytest

import ktrain as kt
from ktrain import nn
from ktrain.train import Callback, ClassificationTask, Trainer
from ktrain.train.callbacks import ModelCheckpoint
from ktrain.utils.data import DataLoader, TensorDataset

SCRIPT = textwrap.dedent("""
    import sys, time
    from functools import partial
    import numpy as np
    import ktrain as kt
    from ktrain import nn
    from ktrain.train import Callback, ClassificationTask, Trainer
    from ktrain.utils.data import DataLoader, TensorDataset

    mode, root, out = sys.argv[1:4]
    kt.manual_seed(0)
    rs = np.random.RandomState(0)
    x = rs.randn(160, 8).astype(np.float32)
    y = x[:, :3].argmax(1)
    loader = DataLoader(TensorDataset(kt.tensor(x), kt.tensor(y)), batch_size=16, shuffle=True,
                        num_workers=0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.25), nn.Linear(32, 3))
    task = ClassificationTask(
        model, optimizer=partial(kt.optim.SGD, lr=0.05, momentum=0.9),
        scheduler=lambda o: kt.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.8))

    class Slow(Callback):  # leaves the parent time to kill us mid-run
        def on_train_batch_end(self, *args):
            time.sleep(0.02)

    trainer = Trainer(max_epochs=4, seed=7, default_root_dir=root, checkpoint_every_n_steps=1,
                      callbacks=[Slow()] if mode == "killed" else [], loggers=False,
                      enable_progress_bar=False, enable_checkpointing=False, enable_plots=False)
    trainer.fit(task, loader, ckpt_path="last" if mode == "resume" else None)
    kt.save(task.state_dict(), out)
""")
TOTAL_STEPS = 40  # 4 epochs of 10 batches


def _run(script, *args):
    return subprocess.Popen([sys.executable, str(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _step_of(path):
    try:
        return int(kt.load(path)["global_step"])
    except Exception:  # noqa: BLE001 - not written yet
        return -1


def test_sigkill_and_resume_is_bitwise_identical(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    full = _run(script, "full", tmp_path / "full", tmp_path / "full.st")
    kill_after = random.Random(os.urandom(8)).randint(2, 30)
    killed = _run(script, "killed", tmp_path / "cut", tmp_path / "never.st")
    last = tmp_path / "cut" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 60
    while _step_of(last) < kill_after:
        assert killed.poll() is None, killed.stdout.read().decode()
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    stopped_at = _step_of(last)
    assert kill_after <= stopped_at < TOTAL_STEPS, (kill_after, stopped_at)
    assert not (tmp_path / "never.st").exists()
    resumed = _run(script, "resume", tmp_path / "cut", tmp_path / "resumed.st")
    for p in (full, resumed):
        out = p.communicate(timeout=120)[0].decode()
        assert p.returncode == 0, out
    a, b = kt.load(tmp_path / "full.st"), kt.load(tmp_path / "resumed.st")
    assert list(a) == list(b)
    for k in a:
        assert a[k].numpy().tobytes() == b[k].numpy().tobytes(), \
            f"{k} differs after a kill at step {stopped_at}"


# ---------------------------------------------------------------------------- in process

def _setup(root, seed=7, workers=0, **kw):
    kt.manual_seed(0)
    rs = np.random.RandomState(0)
    x = rs.randn(100, 8).astype(np.float32)
    loader = DataLoader(TensorDataset(kt.tensor(x), kt.tensor(x[:, :3].argmax(1))),
                        batch_size=16, shuffle=True, num_workers=workers)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    task = ClassificationTask(
        model, optimizer=partial(kt.optim.SGD, lr=0.05, momentum=0.9),
        scheduler=lambda o: {"scheduler": kt.optim.lr_scheduler.StepLR(o, 3, 0.5),
                             "interval": "step"})
    kw.setdefault("max_epochs", 3)
    trainer = Trainer(default_root_dir=root, seed=seed, loggers=False, enable_progress_bar=False,
                      enable_checkpointing=False, enable_plots=False, **kw)
    return task, loader, trainer


def _weights(task):
    return {k: v.numpy().tobytes() for k, v in task.state_dict().items()}


@pytest.mark.parametrize("cut, acc", [(3, 1), (7, 1), (17, 1), (2, 3), (5, 3)])
def test_resume_after_max_steps_cut(tmp_path, cut, acc):
    """7 batches per epoch: cuts mid-epoch, at the epoch's end, and with accumulation."""
    task, loader, trainer = _setup(tmp_path / "full", accumulate_grad_batches=acc)
    trainer.fit(task, loader)
    expected, expected_metrics = _weights(task), dict(trainer.callback_metrics)
    task, loader, trainer = _setup(tmp_path / "cut", accumulate_grad_batches=acc, max_steps=cut,
                                   checkpoint_every_n_steps=1)
    trainer.fit(task, loader)
    task, loader, trainer = _setup(tmp_path / "cut", accumulate_grad_batches=acc)
    kt.manual_seed(1234)  # the checkpoint's RNG states must win
    np.random.seed(5)
    trainer.fit(task, loader, ckpt_path="last")
    assert _weights(task) == expected
    assert trainer.callback_metrics == expected_metrics  # epoch sums and metric states too


def test_ctrl_c_mid_accumulation_resumes_exactly(tmp_path):
    class Interrupt(Callback):
        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            if trainer.current_epoch == 1 and batch_idx == 2:  # 3 of a 2-batch window: pending
                raise KeyboardInterrupt

    task, loader, trainer = _setup(tmp_path / "full", accumulate_grad_batches=2)
    trainer.fit(task, loader)
    expected = _weights(task)
    task, loader, trainer = _setup(tmp_path / "cut", accumulate_grad_batches=2,
                                   callbacks=[Interrupt()], checkpoint_every_n_steps=1)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(task, loader)
    ckpt = kt.load(tmp_path / "cut" / "checkpoints" / "interrupted.ckpt")
    assert ckpt["loops"]["batches_done"] == 3 and ckpt["accumulated_grads"][0] is not None
    task, loader, trainer = _setup(tmp_path / "cut", accumulate_grad_batches=2)
    trainer.fit(task, loader, ckpt_path="last")  # interrupted.ckpt is newer than last.ckpt
    assert _weights(task) == expected


def test_resume_from_epoch_end_checkpoint_with_workers(tmp_path):
    class SaveAtEpochEnd(Callback):
        def on_train_epoch_end(self, trainer, task):
            if trainer.current_epoch == 0:
                trainer.save_checkpoint(tmp_path / "epoch0.ckpt")

    task, loader, trainer = _setup(tmp_path / "full", workers=2)
    trainer.fit(task, loader)
    expected = _weights(task)
    task, loader, trainer = _setup(tmp_path / "cut", workers=2, callbacks=[SaveAtEpochEnd()])
    trainer.fit(task, loader)
    ckpt = kt.load(tmp_path / "epoch0.ckpt")
    assert ckpt["loops"]["epoch_completed"] and ckpt["epoch"] == 0
    task, loader, trainer = _setup(tmp_path / "cut", workers=2)
    trainer.fit(task, loader, ckpt_path=tmp_path / "epoch0.ckpt")
    assert _weights(task) == expected and trainer.current_epoch == 3


def test_checkpoint_contents_and_callback_state(tmp_path):
    class Counter(Callback):
        def __init__(self):
            self.n, self.loaded = 0, None

        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            self.n += 1

        def state_dict(self):
            return {"n": self.n}

        def load_state_dict(self, state):
            self.n = state["n"]

        def on_save_checkpoint(self, trainer, task, checkpoint):
            checkpoint["extra"] = "hello"

        def on_load_checkpoint(self, trainer, task, checkpoint):
            self.loaded = checkpoint["extra"]

    config = {"model": {"name": "mlp", "width": 16}, "optim": {"lr": 0.05}}
    task, loader, trainer = _setup(tmp_path, precision="16-mixed", callbacks=[Counter()],
                                   max_steps=4, checkpoint_every_n_steps=2, config=config)
    trainer.fit(task, loader)
    ckpt = kt.load(tmp_path / "checkpoints" / "last.ckpt")
    assert ckpt["ktrain_version"] == kt.__version__ and ckpt["config"] == config
    assert ckpt["global_step"] == 4 and ckpt["epoch"] == 0 and ckpt["loops"]["batches_done"] == 4
    assert ckpt["callbacks"][Counter().state_key] == {"n": 4} and ckpt["extra"] == "hello"
    assert set(ckpt["callbacks"]) == {Counter().state_key, "NaNGuard"}  # the default guard
    assert set(ckpt["rng_states"]) >= {"ktrain", "numpy", "python"}
    assert ckpt["grad_scaler"]["scale"] == trainer.scaler.get_scale()
    assert len(ckpt["optimizer_states"]) == 1 and len(ckpt["lr_schedulers"]) == 1
    assert "train/loss" in ckpt["results"] and "train" in ckpt["task_metrics"]
    counter = Counter()
    task, loader, trainer = _setup(tmp_path, precision="16-mixed", callbacks=[counter],
                                   max_steps=6)
    trainer.scaler = None
    trainer.fit(task, loader, ckpt_path="last")
    assert counter.loaded == "hello" and counter.n == 6 and trainer.global_step == 6
    assert trainer.scaler.get_scale() == ckpt["grad_scaler"]["scale"]


def test_plain_config():
    from types import MappingProxyType

    from ktrain.train.checkpoint import plain_config

    cfg = MappingProxyType({"optim": MappingProxyType({"lr": 0.1}), "layers": (1, 2)})
    assert plain_config(cfg) == {"optim": {"lr": 0.1}, "layers": [1, 2]}
    assert plain_config(None) is None


def test_resume_last_without_checkpoint_starts_fresh(tmp_path):
    task, loader, trainer = _setup(tmp_path, max_epochs=1)
    with pytest.warns(UserWarning, match="starting from scratch"):
        trainer.fit(task, loader, ckpt_path="last")
    assert trainer.global_step == 7
    with pytest.raises(FileNotFoundError):
        trainer.fit(task, loader, ckpt_path=tmp_path / "nope.ckpt")


def test_same_seed_is_bitwise_reproducible(tmp_path):
    runs = []
    for seed in (3, 3, 4):
        task, loader, trainer = _setup(tmp_path, seed=seed, max_epochs=2)
        trainer.fit(task, loader)
        runs.append(_weights(task))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


class _EpochMetrics(Callback):
    """The train/val figures every epoch reports."""

    def __init__(self):
        self.rows = []

    def on_train_epoch_end(self, trainer, task):
        self.rows.append((trainer.current_epoch, {k: v for k, v in trainer.callback_metrics.items()
                                                  if k.startswith(("train/", "val/"))}))


def test_resume_from_epoch_end_checkpoint_reports_one_epoch(tmp_path):
    """last.ckpt written where validation ends (every batch of the epoch done): the resumed
    run reports that epoch's train metrics, and the next epoch counts only itself (it
    counted both epochs: train/accuracy 0.52 instead of 0.71)."""
    kt.manual_seed(0)
    rs = np.random.RandomState(0)
    x = rs.randn(96, 8).astype(np.float32)
    val = DataLoader(TensorDataset(kt.tensor(x[:32]), kt.tensor(x[:32, :3].argmax(1))),
                     batch_size=16)

    def fit(root, epochs, resume=None):
        rec = _EpochMetrics()
        task, loader, trainer = _setup(root, max_epochs=epochs,
                                       callbacks=[ModelCheckpoint(), rec])
        trainer.fit(task, loader, val, ckpt_path=resume)
        return rec.rows

    full = fit(tmp_path / "full", 3)
    fit(tmp_path / "cut", 1)
    ckpt = kt.load(tmp_path / "cut" / "checkpoints" / "last.ckpt")
    assert ckpt["loops"]["batches_done"] == 7 and not ckpt["loops"]["epoch_completed"]
    resumed = fit(tmp_path / "cut", 3, resume="last")
    assert [e for e, _ in resumed] == [0, 1, 2]
    assert resumed == full
