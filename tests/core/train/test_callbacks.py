"""Built-in callbacks, driven by a small fake trainer that calls the hooks in Lightning's
order (and, at the end of the file, by the real Trainer when it is there)."""
from __future__ import annotations

import io
import json
import math
import os
import re
from datetime import timedelta

import numpy as np
import pytest

import ktrain
from ktrain import nn
from ktrain.train.callbacks import (Callback, EarlyStopping, GradientNormMonitor,
                                    LearningRateMonitor, ModelCheckpoint, NaNGuard,
                                    NonFiniteLossError, PlotCallback, ProgressBar, Timer,
                                    default_callbacks)
from ktrain.train.callbacks import timer as timer_mod


# ----------------------------------------------------------------------------- fake trainer
class ListLogger:
    name = "list"
    log_dir = None

    def __init__(self):
        self.records = []

    def log_metrics(self, metrics, step):
        self.records.append((step, dict(metrics)))

    def save(self):
        pass

    def values(self, key):
        return [(s, m[key]) for s, m in self.records if key in m]


class FakeTrainer:
    """The Trainer's contract, with a loop that calls the hooks in Lightning's order.

    ``loss(epoch, batch)`` gives the training loss (a float) unless ``model`` is given, in
    which case a real forward/backward/step runs on a tiny regression problem.
    ``val(epoch)`` gives the validation metrics (None: no validation).
    """

    def __init__(self, callbacks=(), tmp_path=None, max_epochs=3, num_batches=4,
                 loss=None, val=None, model=None, optimizer=None, scaler=None,
                 batch_size=8, log_every_n_steps=1, loggers=None, max_steps=-1):
        self.callbacks = list(callbacks)
        self.loggers = [ListLogger()] if loggers is None else loggers
        self.log_dir = tmp_path
        self.default_root_dir = tmp_path
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.num_training_batches = num_batches
        # epochs and batches actually run (max_epochs may say -1, num_training_batches inf)
        self._epochs, self._n = max_epochs, num_batches
        self.num_val_batches = 2
        self.current_epoch = 0
        self.global_step = 0
        self.batch_idx = 0
        self.callback_metrics = {}
        self.logged_metrics = {}
        self.should_stop = False
        self.state = "fitting"
        self.is_global_zero = True
        self.precision = "32"
        self.log_every_n_steps = log_every_n_steps
        self.loss_fn = loss or (lambda e, b: 1.0 / (1 + e * num_batches + b))
        self.val_fn = val
        self.task = model
        self.optimizers = [optimizer] if optimizer is not None else []
        self.lr_schedulers = []
        self.scaler = scaler
        self.batch_size = batch_size
        self.saved = []
        self._rng = np.random.default_rng(0)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(self, self.task, *args)

    def save_checkpoint(self, path):
        state = {"epoch": self.current_epoch, "step": self.global_step,
                 "callbacks": {cb.state_key: cb.state_dict() for cb in self.callbacks}}
        ktrain.save(state, path)  # atomic
        self.saved.append(os.path.basename(path))

    def _train_batch(self, b):
        if self.task is None:
            loss = ktrain.tensor(float(self.loss_fn(self.current_epoch, b)))
            self._call("on_after_backward")
            return loss
        x = ktrain.tensor(self._rng.standard_normal((self.batch_size, 3)).astype(np.float32))
        y = x.sum(dim=1, keepdim=True)
        loss = ((self.task(x) - y) ** 2).mean() * float(self.loss_fn(self.current_epoch, b))
        opt = self.optimizers[0]
        opt.zero_grad()
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        self._call("on_after_backward")
        return loss

    def _step(self):
        if self.optimizers:
            opt = self.optimizers[0]
            self._call("on_before_optimizer_step", opt)
            if self.scaler is not None:
                self.scaler.step(opt)
                self.scaler.update()
            else:
                opt.step()

    def fit(self):
        self._call("setup", "fit")
        self._call("on_fit_start")
        self._call("on_train_start")
        for epoch in range(self.current_epoch, self._epochs):
            self.current_epoch = epoch
            self._call("on_train_epoch_start")
            for b in range(self._n):
                self.batch_idx = b
                batch = (b,)
                self._call("on_train_batch_start", batch, b)
                loss = self._train_batch(b)
                self._step()
                self.callback_metrics["train/loss"] = float(loss.item())
                self.global_step += 1
                for lg in self.loggers:
                    lg.log_metrics({"train/loss": float(loss.item()), "epoch": epoch},
                                   self.global_step)
                self._call("on_train_batch_end", {"loss": loss, "batch_size": self.batch_size},
                           batch, b)
                if self.should_stop or self.global_step == self.max_steps:
                    self.should_stop = True
                    break
            if self.val_fn is not None and not self.should_stop:  # as the real loop
                self._call("on_validation_start")
                for vb in range(self.num_val_batches):
                    self._call("on_validation_batch_end", {}, (vb,), vb)
                metrics = self.val_fn(epoch)
                self.callback_metrics.update(metrics)
                for lg in self.loggers:
                    lg.log_metrics(dict(metrics, epoch=epoch), self.global_step)
                self._call("on_validation_end")
            self._call("on_train_epoch_end")
            if self.should_stop:
                break
        self._call("on_train_end")
        self._call("on_fit_end")
        self._call("teardown", "fit")
        return self


def ckpt_files(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def val_series(values, name="val/loss"):
    return lambda e: {name: values[e]}


# ----------------------------------------------------------------------------- ModelCheckpoint
def test_checkpoint_top_k_ranking_deletion_and_last(tmp_path):
    cb = ModelCheckpoint(monitor="val/loss", mode="min", save_top_k=2)
    t = FakeTrainer([cb], tmp_path, max_epochs=4, num_batches=2,
                    val=val_series([0.5, 0.3, 0.4, 0.2])).fit()
    d = tmp_path / "checkpoints"
    assert ckpt_files(d) == ["epoch=1-step=4.ckpt", "epoch=3-step=8.ckpt", "last.ckpt"]
    assert cb.best_model_path == str(d / "epoch=3-step=8.ckpt")
    assert cb.best_model_score == pytest.approx(0.2)
    assert cb.kth_best_model_path == str(d / "epoch=1-step=4.ckpt")
    assert cb.kth_value == pytest.approx(0.3)
    assert sorted(cb.best_k_models.values()) == pytest.approx([0.2, 0.3])
    assert cb.last_model_path == str(d / "last.ckpt")
    # all writes go through trainer.save_checkpoint; 0.4 entered the top 2 (pushing out
    # 0.5) and left it again for 0.2
    assert [s for s in t.saved if s != "last.ckpt"] == [
        "epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt", "epoch=2-step=6.ckpt",
        "epoch=3-step=8.ckpt"]
    assert t.saved.count("last.ckpt") == 4
    last = ktrain.load(d / "last.ckpt")
    assert last["step"] == 8
    # the saved callback state already knows the file being written
    st = last["callbacks"][cb.state_key]
    assert st["best_model_path"] == cb.best_model_path


def test_checkpoint_mode_max_and_metric_template(tmp_path):
    cb = ModelCheckpoint(monitor="val/accuracy", mode="max", save_top_k=1,
                         filename="{epoch}-{val/accuracy:.3f}", save_last=False)
    FakeTrainer([cb], tmp_path, max_epochs=3, num_batches=1,
                val=val_series([0.8, 0.9, 0.85], "val/accuracy")).fit()
    assert ckpt_files(tmp_path / "checkpoints") == ["epoch=1-val_accuracy=0.900.ckpt"]
    assert cb.best_model_score == pytest.approx(0.9)


def test_checkpoint_filename_formats():
    cb = ModelCheckpoint(dirpath="/ckpts")
    m = {"epoch": 3, "step": 120, "val/loss": 0.123456, "val.acc": 0.5}
    assert cb.format_checkpoint_name(m) == os.path.join("/ckpts", "epoch=3-step=120.ckpt")
    cb.filename = "{epoch:02d}-{val/loss:.2f}"
    assert cb.format_checkpoint_name(m).endswith("epoch=03-val_loss=0.12.ckpt")
    cb.filename = "val/loss={val/loss:.3f}"  # already spells name=: no double insert
    assert cb.format_checkpoint_name(m).endswith(os.sep + "val_loss=0.123.ckpt")
    cb.filename = "best-{val.acc}"
    assert cb.format_checkpoint_name(m, ver=2).endswith("best-val.acc=0.5-v2.ckpt")
    cb.auto_insert_metric_name = False
    cb.filename = "{epoch}_{step}"
    assert cb.format_checkpoint_name(m).endswith(os.sep + "3_120.ckpt")
    cb.filename = "{val/acc}"
    with pytest.raises(KeyError, match=r"'val/acc'.*available: 'epoch', 'step', 'val.acc'"):
        cb.format_checkpoint_name(m)


def test_checkpoint_no_monitor_keeps_latest_or_all(tmp_path):
    cb = ModelCheckpoint(dirpath=tmp_path / "a", save_top_k=1)
    FakeTrainer([cb], tmp_path, max_epochs=3, num_batches=2).fit()
    assert ckpt_files(tmp_path / "a") == ["epoch=2-step=6.ckpt", "last.ckpt"]
    cb = ModelCheckpoint(dirpath=tmp_path / "b", save_top_k=-1, save_last=False)
    FakeTrainer([cb], tmp_path, max_epochs=3, num_batches=2).fit()
    assert ckpt_files(tmp_path / "b") == ["epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt",
                                          "epoch=2-step=6.ckpt"]
    cb = ModelCheckpoint(dirpath=tmp_path / "c", save_top_k=0)
    FakeTrainer([cb], tmp_path, max_epochs=2, num_batches=2).fit()
    assert ckpt_files(tmp_path / "c") == ["last.ckpt"]
    with pytest.raises(ValueError, match="no quantity to rank"):
        ModelCheckpoint(save_top_k=3)


def test_checkpoint_every_n_train_steps_and_epochs(tmp_path):
    cb = ModelCheckpoint(dirpath=tmp_path / "s", every_n_train_steps=3, save_top_k=-1)
    t = FakeTrainer([cb], tmp_path, max_epochs=2, num_batches=4).fit()
    assert ckpt_files(tmp_path / "s") == ["epoch=0-step=3.ckpt", "epoch=1-step=6.ckpt",
                                          "last.ckpt"]
    # last.ckpt: at each step save and at each epoch end
    assert t.saved.count("last.ckpt") == 4
    cb = ModelCheckpoint(dirpath=tmp_path / "e", every_n_epochs=2, save_top_k=-1)
    t = FakeTrainer([cb], tmp_path, max_epochs=4, num_batches=1).fit()
    assert ckpt_files(tmp_path / "e") == ["epoch=1-step=2.ckpt", "epoch=3-step=4.ckpt",
                                          "last.ckpt"]
    assert t.saved.count("last.ckpt") == 4  # every epoch, whatever every_n_epochs says


def test_checkpoint_last_written_when_training_stops_mid_epoch(tmp_path):
    class StopAt(Callback):
        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            trainer.should_stop = trainer.global_step == 6

    cb = ModelCheckpoint(save_top_k=0)
    t = FakeTrainer([cb, StopAt()], tmp_path, max_epochs=3, num_batches=4,
                    val=val_series([0.5, 0.4, 0.3])).fit()
    assert t.saved == ["last.ckpt", "last.ckpt"]
    assert ktrain.load(tmp_path / "checkpoints" / "last.ckpt")["step"] == 6


def test_checkpoint_without_validation_monitors_train_metric(tmp_path):
    cb = ModelCheckpoint(monitor="train/loss", save_top_k=1)
    FakeTrainer([cb], tmp_path, max_epochs=3, num_batches=2).fit()
    assert ckpt_files(tmp_path / "checkpoints") == ["epoch=2-step=6.ckpt", "last.ckpt"]


def test_checkpoint_missing_monitor_lists_available(tmp_path):
    cb = ModelCheckpoint(monitor="val/los")
    t = FakeTrainer([cb], tmp_path, max_epochs=1, num_batches=1, val=val_series([0.5]))
    with pytest.raises(KeyError, match=r"'val/los'.*available:.*'train/loss'.*'val/loss'"):
        t.fit()


def test_checkpoint_existing_file_gets_version_suffix(tmp_path):
    d = tmp_path / "checkpoints"
    d.mkdir()
    (d / "epoch=0-step=1.ckpt").write_text("from an earlier run")
    cb = ModelCheckpoint(save_top_k=-1)
    FakeTrainer([cb], tmp_path, max_epochs=1, num_batches=1).fit()
    assert ckpt_files(d) == ["epoch=0-step=1-v1.ckpt", "epoch=0-step=1.ckpt", "last.ckpt"]
    assert (d / "epoch=0-step=1.ckpt").read_text() == "from an earlier run"


def test_checkpoint_state_dict_resume_keeps_ranking(tmp_path):
    vals = [0.5, 0.3, 0.4, 0.2, 0.6, 0.1]
    cb = ModelCheckpoint(monitor="val/loss", save_top_k=2)
    FakeTrainer([cb], tmp_path, max_epochs=3, num_batches=1, val=val_series(vals)).fit()
    state = cb.state_dict()
    assert json.loads(json.dumps(state)) == state  # plain values only
    # a fresh callback (dirpath resolved in setup) picks the state up and goes on
    cb2 = ModelCheckpoint(monitor="val/loss", save_top_k=2)
    cb2.load_state_dict(state)
    t = FakeTrainer([cb2], tmp_path, max_epochs=6, num_batches=1, val=val_series(vals))
    t.current_epoch, t.global_step = 3, 3
    t.fit()
    d = tmp_path / "checkpoints"
    assert ckpt_files(d) == ["epoch=3-step=4.ckpt", "epoch=5-step=6.ckpt", "last.ckpt"]
    assert cb2.best_model_score == pytest.approx(0.1)
    # a different dirpath restores only the best path, with a warning
    cb3 = ModelCheckpoint(dirpath=tmp_path / "other", monitor="val/loss")
    with pytest.warns(UserWarning, match="only the best model path"):
        cb3.load_state_dict(state)
    assert cb3.best_model_path == state["best_model_path"] and cb3.best_k_models == {}


def test_checkpoint_skips_outside_fit_and_state_key(tmp_path):
    cb = ModelCheckpoint(monitor="val/loss")
    t = FakeTrainer([cb], tmp_path)
    t.state = "validating"
    t.callback_metrics = {"val/loss": 1.0}
    cb.setup(t, None, "validate")
    cb.on_validation_end(t, None)
    assert t.saved == []
    assert "val/loss" in cb.state_key and cb.state_key != ModelCheckpoint().state_key


# ----------------------------------------------------------------------------- EarlyStopping
def run_es(values, **kw):
    es = EarlyStopping(**kw)
    t = FakeTrainer([es], None, max_epochs=len(values), num_batches=1,
                    val=val_series(values, kw.get("monitor", "val/loss")), loggers=[])
    t.fit()
    return es, t


def test_early_stopping_patience():
    es, t = run_es([1.0, 0.9, 0.95, 0.96, 0.97, 0.5], patience=3)
    assert t.should_stop and t.current_epoch == 4
    assert es.stopped_epoch == 4 and es.stopping_reason == "patience_exhausted"
    assert "did not improve in the last 3 records" in es.stopping_reason_message
    assert es.best_score == pytest.approx(0.9)
    es, t = run_es([1.0, 0.9, 0.8, 0.7], patience=1)
    assert not t.should_stop and es.stopping_reason == "not_stopped"


def test_early_stopping_min_delta_and_mode_max():
    # improvements of 0.05 do not beat min_delta=0.1
    es, t = run_es([1.0, 0.95, 0.9, 0.85], patience=2, min_delta=0.1)
    assert es.stopped_epoch == 2 and es.best_score == pytest.approx(1.0)
    es, t = run_es([0.5, 0.6, 0.6, 0.7, 0.65, 0.66], monitor="val/acc", mode="max", patience=2)
    assert es.stopped_epoch == 5 and es.best_score == pytest.approx(0.7)
    # equal is not better
    es, _ = run_es([0.5, 0.5, 0.5], mode="max", patience=2)
    assert es.stopped_epoch == 2


def test_early_stopping_thresholds_and_non_finite():
    es, t = run_es([1.0, 0.5, 0.05, 0.01], stopping_threshold=0.1, patience=10)
    assert es.stopped_epoch == 2 and es.stopping_reason == "stopping_threshold"
    es, t = run_es([1.0, 2.0, 12.0, 1.0], divergence_threshold=10.0, patience=10)
    assert es.stopped_epoch == 2 and es.stopping_reason == "divergence_threshold"
    es, t = run_es([1.0, float("nan"), 0.5], patience=10)
    assert es.stopped_epoch == 1 and es.stopping_reason == "non_finite_metric"
    assert "is not finite" in es.stopping_reason_message
    es, t = run_es([1.0, float("inf"), 0.5], patience=10, check_finite=False)
    assert not t.should_stop


def test_early_stopping_missing_metric_and_train_metric():
    t = FakeTrainer([EarlyStopping(monitor="val/acc")], None, max_epochs=1, num_batches=1,
                    val=val_series([1.0]), loggers=[])
    with pytest.raises(KeyError, match=r"'val/acc'.*available: 'train/loss', 'val/loss'"):
        t.fit()
    es = EarlyStopping(monitor="val/acc", strict=False)
    t = FakeTrainer([es], None, max_epochs=2, num_batches=1, val=val_series([1.0, 1.0]),
                    loggers=[])
    with pytest.warns(UserWarning, match="could not find"):
        t.fit()
    # no validation: train metrics are checked at the end of training epochs
    es = EarlyStopping(monitor="train/loss", patience=2)
    t = FakeTrainer([es], None, max_epochs=10, num_batches=1, loss=lambda e, b: 1.0,
                    loggers=[]).fit()
    assert es.stopped_epoch == 2 and t.current_epoch == 2


def test_early_stopping_state_dict_verbose(capsys):
    es, _ = run_es([1.0, 0.9, 0.95], patience=3, verbose=True)
    assert "New best score: 0.9" in capsys.readouterr().out
    st = es.state_dict()
    es2 = EarlyStopping(patience=3)
    es2.load_state_dict(st)
    assert (es2.wait_count, es2.best_score) == (1, pytest.approx(0.9))
    assert es2.evaluate(0.95)[0] is False and es2.evaluate(0.95)[0] is True
    assert EarlyStopping(monitor="a").state_key != EarlyStopping(monitor="b").state_key


# ----------------------------------------------------------------------------- LearningRateMonitor
def tiny_model():
    ktrain.manual_seed(0)
    return nn.Linear(3, 1)


def test_lr_monitor_step_values_and_names():
    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = ktrain.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    class Sched(Callback):
        def on_train_epoch_end(self, trainer, task):
            sched.step()

    mon = LearningRateMonitor(log_momentum=True)
    t = FakeTrainer([mon, Sched()], None, max_epochs=3, num_batches=2, model=model,
                    optimizer=opt).fit()
    lrs = t.loggers[0].values("lr-SGD")
    # logged under the number the step will have (where the Trainer logs its loss)
    assert lrs == [(1, 0.1), (2, 0.1), (3, 0.05), (4, 0.05), (5, 0.025), (6, 0.025)]
    assert mon.lrs["lr-SGD-momentum"] == [0.9] * 6
    # epoch interval, log_every_n_steps respected for 'step'
    mon = LearningRateMonitor(logging_interval="epoch")
    t = FakeTrainer([mon], None, max_epochs=2, num_batches=3, model=model, optimizer=opt).fit()
    assert t.loggers[0].values("lr-SGD") == [(0, 0.0125), (3, 0.0125)]
    mon = LearningRateMonitor()
    t = FakeTrainer([mon], None, max_epochs=1, num_batches=6, model=model, optimizer=opt,
                    log_every_n_steps=3).fit()
    assert [s for s, _ in t.loggers[0].values("lr-SGD")] == [3, 6]


def test_lr_monitor_param_groups_and_duplicates():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    opt1 = ktrain.optim.Adam([{"params": a.parameters(), "lr": 0.1},
                              {"params": b.parameters(), "lr": 0.01}], betas=(0.8, 0.99))
    opt2 = ktrain.optim.Adam([{"params": nn.Linear(2, 2).parameters(), "name": "head"}],
                             lr=0.5)
    opt3 = ktrain.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.2)
    names = LearningRateMonitor(log_momentum=True, log_weight_decay=True).extract(
        [opt1, opt2, opt3])
    assert names == {
        "lr-Adam/pg1": 0.1, "lr-Adam/pg1-momentum": 0.8, "lr-Adam/pg1-weight_decay": 0.0,
        "lr-Adam/pg2": 0.01, "lr-Adam/pg2-momentum": 0.8, "lr-Adam/pg2-weight_decay": 0.0,
        "lr-Adam-1/head": 0.5, "lr-Adam-1/head-momentum": 0.9,
        "lr-Adam-1/head-weight_decay": 0.0,
        "lr-SGD": 0.2, "lr-SGD-momentum": 0.0, "lr-SGD-weight_decay": 0.0}
    with pytest.raises(RuntimeError, match="no optimizers"):
        LearningRateMonitor().on_train_start(FakeTrainer(), None)


# ----------------------------------------------------------------------------- GradientNormMonitor
class GradCapture(Callback):
    def __init__(self):
        self.norms = []

    def on_before_optimizer_step(self, trainer, task, optimizer):
        grads = [p.grad.numpy().astype(np.float64) for p in task.parameters()]
        scale = trainer.scaler.get_scale() if trainer.scaler is not None else 1.0
        self.norms.append(math.sqrt(sum(float((g ** 2).sum()) for g in grads)) / scale)


def test_grad_norm_matches_direct_formula():
    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.01)
    mon, cap = GradientNormMonitor(), GradCapture()
    t = FakeTrainer([mon, cap], None, max_epochs=1, num_batches=3, model=model,
                    optimizer=opt).fit()
    got = [v for _, v in t.loggers[0].values("grad_norm")]
    assert got == pytest.approx(cap.norms, rel=1e-5)
    assert [s for s, _ in t.loggers[0].values("grad_norm")] == [1, 2, 3]
    # inf-norm and every n steps
    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.01)
    mon = GradientNormMonitor(norm_type=float("inf"), log_every_n_steps=2)

    class MaxCap(Callback):
        vals = []

        def on_before_optimizer_step(self, trainer, task, optimizer):
            self.vals.append(max(float(np.abs(p.grad.numpy()).max())
                                 for p in task.parameters()))

    cap = MaxCap()
    t = FakeTrainer([mon, cap], None, max_epochs=1, num_batches=4, model=model,
                    optimizer=opt).fit()
    got = t.loggers[0].values("grad_norm")
    assert [s for s, _ in got] == [2, 4]
    assert [v for _, v in got] == pytest.approx([cap.vals[1], cap.vals[3]], rel=1e-6)


def test_grad_norm_unscales_under_grad_scaler():
    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.01)
    scaler = ktrain.amp.GradScaler("cpu", init_scale=1024.0)
    mon, cap = GradientNormMonitor(), GradCapture()
    t = FakeTrainer([mon, cap], None, max_epochs=1, num_batches=2, model=model,
                    optimizer=opt, scaler=scaler).fit()
    got = [v for _, v in t.loggers[0].values("grad_norm")]
    assert got == pytest.approx(cap.norms, rel=1e-5)
    assert got[0] < 100  # the raw (scaled) norm would be ~1024x larger

    # after scaler.unscale_ (as a trainer does before clipping) the norm is used as is
    class Unscale(Callback):
        def on_before_optimizer_step(self, trainer, task, optimizer):
            trainer.scaler.unscale_(optimizer)

    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.01)
    scaler = ktrain.amp.GradScaler("cpu", init_scale=1024.0)
    mon = GradientNormMonitor()
    t = FakeTrainer([Unscale(), mon], None, max_epochs=1, num_batches=1, model=model,
                    optimizer=opt, scaler=scaler).fit()
    assert t.loggers[0].values("grad_norm")[0][1] == pytest.approx(got[0], rel=1e-4)


# ----------------------------------------------------------------------------- Timer
def test_timer_parse_and_stop(monkeypatch):
    assert timer_mod.parse_duration("00:12:00:00") == 12 * 3600
    assert timer_mod.parse_duration({"minutes": 2}) == 120
    assert timer_mod.parse_duration(timedelta(seconds=5)) == 5
    with pytest.raises(ValueError, match="DD:HH:MM:SS"):
        Timer("12:00")
    clock = [100.0]
    monkeypatch.setattr(timer_mod.time, "monotonic", lambda: clock[0])

    class Tick(Callback):
        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            clock[0] += 10.0

    timer = Timer(duration={"seconds": 35}, verbose=False)
    t = FakeTrainer([Tick(), timer], None, max_epochs=5, num_batches=2).fit()
    assert t.global_step == 4 and timer.stopped  # 40 s >= 35 s after the 4th batch
    assert timer.time_elapsed("train") == pytest.approx(40.0)
    assert timer.time_remaining() == pytest.approx(-5.0)
    # interval='epoch' stops at the end of an epoch; resume carries the elapsed time
    timer = Timer(duration="00:00:00:25", interval="epoch", verbose=False)
    t = FakeTrainer([Tick(), timer], None, max_epochs=5, num_batches=2).fit()
    assert t.global_step == 4
    state = timer.state_dict()
    resumed = Timer(duration="00:00:00:50", verbose=False)
    resumed.load_state_dict(state)
    t = FakeTrainer([Tick(), resumed], None, max_epochs=5, num_batches=2).fit()
    assert t.global_step == 1  # 40 s already spent + 10 s >= 50 s
    assert resumed.time_elapsed() == pytest.approx(50.0)


# ----------------------------------------------------------------------------- ProgressBar
LINE = re.compile(r"^epoch \d+/3 step \d+/5 loss \d+\.\d{4} \d+\.\d samples/s eta \d+:\d\d:\d\d$")


def test_progress_plain_lines(capsys):
    bar = ProgressBar(log_every_n_seconds=None, log_every_n_steps=2)
    FakeTrainer([bar], None, max_epochs=3, num_batches=5, batch_size=16,
                val=lambda e: {"val/loss": 0.5 - 0.1 * e, "val/accuracy": 0.7}).fit()
    out = capsys.readouterr().out
    assert bar.is_plain  # captured stdout is not a terminal
    lines = out.splitlines()
    steps = [ln for ln in lines if " step " in ln]
    assert len(steps) == 6 and all(LINE.match(ln) for ln in steps), steps
    assert lines[0].startswith("epoch 1/3 step 2/5 loss 0.7500 ")  # mean of 1, 1/2
    assert "epoch 1/3 validation val/accuracy 0.7000 val/loss 0.5000" in lines
    done = [ln for ln in lines if " done in " in ln]
    assert len(done) == 3 and "samples/s) train/loss" in done[0] and "val/loss 0.3000" in done[2]
    assert "final metrics" in out and "val/accuracy" in out.split("final metrics")[1]


def test_progress_plain_time_based(capsys, monkeypatch):
    from ktrain.train.callbacks import progress as progress_mod

    clock = [0.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: clock[0])

    class Tick(Callback):
        def on_train_batch_start(self, trainer, task, batch, batch_idx):
            clock[0] += 3.0

    bar = ProgressBar(log_every_n_seconds=10.0, metrics_table=False)
    FakeTrainer([Tick(), bar], None, max_epochs=1, num_batches=10).fit()
    steps = [ln for ln in capsys.readouterr().out.splitlines() if " step " in ln]
    # a line at most every 10 s of 3 s batches: after batches 4 and 8 (12 s, 24 s)
    assert [ln.split()[3] for ln in steps] == ["4/10", "8/10"]
    assert steps[0].endswith("eta 0:00:18")


def test_progress_rich_tty_smoke():
    from rich.console import Console

    buf = io.StringIO()
    con = Console(file=buf, force_terminal=True, width=120, color_system=None)
    bar = ProgressBar(console=con, refresh_rate=2)
    t = FakeTrainer([bar], None, max_epochs=2, num_batches=5,
                    val=lambda e: {"val/loss": 0.25}).fit()
    assert not bar.is_plain and bar._progress is None
    out = buf.getvalue()
    assert "epoch 2/2" in out and "samples/s" in out and "loss" in out
    assert "epoch 1/2 done in" in out and "final metrics" in out and "val/loss" in out
    # unknown epoch count and infinite batches do not break the bars
    buf.seek(0)
    buf.truncate()
    t = FakeTrainer([ProgressBar(console=con)], None, max_epochs=1, num_batches=3)
    t.max_epochs, t.num_training_batches, t.num_val_batches = -1, float("inf"), None
    t.fit()
    assert "epoch 1 " in buf.getvalue() and "3/?" in buf.getvalue()  # no total: "?"
    # standalone validate prints a table of validation metrics
    buf.seek(0)
    buf.truncate()
    bar = ProgressBar(console=con)
    t.state, t.callback_metrics = "validating", {"val/loss": 0.1, "train/loss": 1.0}
    bar.setup(t, None, "validate")
    bar.on_validation_start(t, None)
    bar.on_validation_batch_end(t, None, {}, None, 0)
    bar.on_validation_end(t, None)
    out = buf.getvalue()
    assert "validation metrics" in out and "val/loss" in out and "train/loss" not in out
    assert bar._progress is None


def test_progress_without_rich(capsys, monkeypatch):
    from ktrain.train.callbacks import progress as progress_mod

    monkeypatch.setattr(progress_mod, "Console", None)
    bar = ProgressBar(log_every_n_seconds=None, log_every_n_steps=1)
    FakeTrainer([bar], None, max_epochs=1, num_batches=2).fit()
    out = capsys.readouterr().out
    assert "epoch 1/1 step 1/2 loss 1.0000" in out and "final metrics" in out


# ----------------------------------------------------------------------------- NaNGuard
def nan_at(step):
    return lambda e, b: float("nan") if e * 3 + b == step else 1.0


def test_nan_guard_stop_message():
    guard = NaNGuard()
    t = FakeTrainer([guard], None, max_epochs=3, num_batches=3, loss=nan_at(4))
    with pytest.raises(NonFiniteLossError) as err:
        t.fit()
    msg = str(err.value)
    assert "loss is nan at epoch 1, batch 1 of the epoch (global step 5)" in msg
    assert "last finite loss was 1 at global step 4" in msg and "gradient_clip_val" in msg


def test_nan_guard_stop_before_step_names_parameter():
    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.1)
    w = model.weight.detach().numpy().copy()
    guard = NaNGuard(check_grads=True)
    t = FakeTrainer([guard], None, max_epochs=1, num_batches=3, model=model, optimizer=opt,
                    loss=nan_at(0))
    with pytest.raises(NonFiniteLossError, match=r"non-finite gradient in '(weight|bias)'"):
        t.fit()
    np.testing.assert_array_equal(model.weight.detach().numpy(), w)  # not stepped


def test_nan_guard_skip_leaves_weights():
    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.1)

    class Snap(Callback):
        def __init__(self):
            self.w = []

        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            self.w.append(task.weight.detach().numpy().copy())

    guard, snap = NaNGuard(action="skip"), Snap()
    t = FakeTrainer([guard, snap], None, max_epochs=1, num_batches=4, model=model,
                    optimizer=opt, loss=nan_at(2)).fit()
    assert t.global_step == 4 and guard.skipped_steps == 1 and guard.nonfinite_count == 1
    np.testing.assert_array_equal(snap.w[2], snap.w[1])  # the NaN step changed nothing
    assert not np.array_equal(snap.w[3], snap.w[2]) and np.isfinite(snap.w[3]).all()
    # too many in a row is an error even when skipping
    guard = NaNGuard(action="skip", max_consecutive=2)
    t = FakeTrainer([guard], None, max_epochs=1, num_batches=5, loss=lambda e, b: math.inf)
    with pytest.raises(NonFiniteLossError, match="3 non-finite losses in a row"):
        t.fit()


def test_nan_guard_with_grad_scaler_only_counts():
    model = tiny_model()
    opt = ktrain.optim.SGD(model.parameters(), lr=0.1)
    scaler = ktrain.amp.GradScaler("cpu", init_scale=8.0)
    guard = NaNGuard(action="stop")
    t = FakeTrainer([guard], None, max_epochs=1, num_batches=4, model=model, optimizer=opt,
                    scaler=scaler, loss=nan_at(1)).fit()
    assert guard.nonfinite_count == 1 and t.global_step == 4
    assert scaler.get_scale() == 4.0  # the scaler backed off once
    assert np.isfinite(model.weight.detach().numpy()).all()
    with pytest.raises(ValueError):
        NaNGuard(action="ignore")


# ----------------------------------------------------------------------------- PlotCallback etc.
def test_plot_callback_writes_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    from ktrain.train.loggers import JSONLLogger

    lg = JSONLLogger(tmp_path)
    cb = PlotCallback()
    FakeTrainer([cb], tmp_path, max_epochs=2, num_batches=3, loggers=[lg],
                val=lambda e: {"val/loss": 0.5, "val/accuracy": 0.5 + e / 10}).fit()
    assert sorted(p.name for p in cb.paths) == ["loss.png", "metrics.png"]
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_callback_never_fails_the_run(tmp_path, monkeypatch, capsys):
    import sys

    from ktrain.train import _matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    monkeypatch.setattr(_matplotlib, "_seen", set())
    from ktrain.train.loggers import JSONLLogger

    for sub in ("a", "b"):  # without the 'plots' extra: one notice per process, no warning
        cb = PlotCallback()
        FakeTrainer([cb], tmp_path / sub, max_epochs=1, num_batches=1,
                    loggers=[JSONLLogger(tmp_path / sub)]).fit()
        assert cb.paths == []
    err = capsys.readouterr().err
    assert err.count("matplotlib is not installed") == 1
    assert 'pip install "ktrain[plots]"' in err and "loss.png" in err


def test_default_callbacks():
    es = EarlyStopping()
    cbs = default_callbacks([es])
    assert type(cbs[0]) is NaNGuard and cbs[1] is es   # the guard first: it stops a bad step
    assert [type(c) for c in cbs[2:]] == [ModelCheckpoint, PlotCallback, ProgressBar]
    mine = ModelCheckpoint(monitor="val/loss")
    assert default_callbacks([mine], enable_plots=False, enable_progress_bar=False,
                             enable_nan_guard=False) == [mine]


# ----------------------------------------------------------------------------- real Trainer
def real_setup(task_cls=None, n=64):
    """(Trainer, task, train_loader, val_loader) of a tiny 2-class problem, or skip."""
    try:
        from ktrain.train.task import ClassificationTask
        from ktrain.train.trainer import Trainer
    except ImportError:
        pytest.skip("ktrain.train.Trainer not available yet")
    from ktrain.utils.data import DataLoader, TensorDataset

    ktrain.manual_seed(0)
    x = ktrain.randn(n, 4)
    y = (x[:, 0] > 0).long()
    train = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    val = DataLoader(TensorDataset(x, y), batch_size=32)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    task = (task_cls or ClassificationTask)(model, optimizer={"name": "sgd", "lr": 0.1})
    return Trainer, task, train, val


def test_real_trainer_checkpoint_monitors_logs_plots_and_resume(tmp_path, capsys):
    from ktrain.train.loggers import default_loggers

    pytest.importorskip("matplotlib")
    Trainer, task, train, val = real_setup()

    def callbacks():
        return [ModelCheckpoint(monitor="val/accuracy", mode="max", save_top_k=2,
                                filename="{epoch}-{val/accuracy:.4f}"),
                LearningRateMonitor(), GradientNormMonitor(), PlotCallback(),
                ProgressBar(log_every_n_seconds=None, log_every_n_steps=2)]

    cbs = callbacks()
    tr = Trainer(max_epochs=3, default_root_dir=tmp_path, log_every_n_steps=1, callbacks=cbs,
                 loggers=default_loggers(tmp_path, tensorboard=False), seed=0)
    tr.fit(task, train, val)
    ckpt = cbs[0]
    d = tmp_path / "checkpoints"
    assert sorted(os.listdir(d)) == sorted([os.path.basename(p) for p in ckpt.best_k_models]
                                           + ["last.ckpt"])
    assert len(ckpt.best_k_models) == 2
    with open(tmp_path / "metrics.csv", newline="") as fh:
        import csv

        rows = list(csv.DictReader(fh))
    val_acc = [float(r["val/accuracy"]) for r in rows if r.get("val/accuracy")]
    assert len(val_acc) == 3 and ckpt.best_model_score == pytest.approx(max(val_acc))
    # lr, grad norm and the step loss of one optimizer step share one row
    steps = [r for r in rows if r["train/loss_step"]]
    assert len(steps) == 12 and all(r["lr-SGD"] == "0.1" and float(r["grad_norm"]) > 0
                                    for r in steps)
    assert len({r["step"] for r in rows}) == len(rows)  # one row per step
    assert {p.name for p in ckpt_plot_paths(cbs[3])} == {"loss.png", "metrics.png", "lr.png"}
    out = capsys.readouterr().out
    assert "epoch 1/3 step 2/4 loss" in out and "epoch 3/3 validation val/accuracy" in out
    assert "final metrics" in out

    # resume from last.ckpt: the ranking comes back and keeps deleting the right files
    cbs2 = callbacks()
    tr = Trainer(max_epochs=5, default_root_dir=tmp_path, log_every_n_steps=1, callbacks=cbs2,
                 loggers=default_loggers(tmp_path, tensorboard=False), seed=0)
    tr.fit(task, train, val, ckpt_path="last")
    ckpt2 = cbs2[0]
    assert tr.global_step == 20 and len(ckpt2.best_k_models) == 2
    assert ckpt2.best_model_score >= ckpt.best_model_score
    assert sorted(os.listdir(d)) == sorted([os.path.basename(p) for p in ckpt2.best_k_models]
                                           + ["last.ckpt"])


def ckpt_plot_paths(plot_cb):
    for p in plot_cb.paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return plot_cb.paths


def test_real_trainer_early_stopping_and_timer(tmp_path):
    Trainer, task, train, val = real_setup()
    es = EarlyStopping(monitor="val/accuracy", mode="max", stopping_threshold=0.0)
    tr = Trainer(max_epochs=5, default_root_dir=tmp_path, callbacks=[es], loggers=False,
                 enable_progress_bar=False, enable_checkpointing=False)
    tr.fit(task, train, val)
    assert es.stopped_epoch == 0 and es.stopping_reason == "stopping_threshold"
    assert tr.global_step == 4
    timer = Timer(duration=0, verbose=False)
    tr = Trainer(max_epochs=5, default_root_dir=tmp_path, callbacks=[timer], loggers=False,
                 enable_progress_bar=False, enable_checkpointing=False)
    tr.fit(task, train, val)
    assert tr.global_step == 1 and timer.stopped and timer.time_elapsed() > 0


def test_real_trainer_nan_guard(tmp_path):
    from ktrain.train.task import ClassificationTask

    class NanAtStep5(ClassificationTask):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            return loss * float("nan") if self.trainer.global_step == 5 else loss

    Trainer, task, train, val = real_setup(NanAtStep5)
    kw = dict(max_epochs=3, default_root_dir=tmp_path, loggers=False,
              enable_progress_bar=False, enable_checkpointing=False)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at epoch 1, batch 1 of the "
                                                 r"epoch \(global step 6\).*at global step 5"):
        Trainer(callbacks=[NaNGuard()], **kw).fit(task, train, val)
    Trainer, task, train, val = real_setup(NanAtStep5)
    guard = NaNGuard(action="skip")
    tr = Trainer(callbacks=[guard], **kw)
    tr.fit(task, train, val)
    assert guard.skipped_steps == 1 and tr.global_step == 12
    assert all(np.isfinite(p.detach().numpy()).all() for p in task.parameters())


@pytest.mark.parametrize("mode, vals", [("min", [0.5, math.nan, 0.4, math.inf]),
                                        ("max", [math.nan, 0.5, -math.inf, math.nan])])
def test_checkpoint_non_finite_monitor_never_enters_top_k(tmp_path, mode, vals):
    """A NaN (or infinite) score never replaces a finite best, even with room in the top
    k (a NaN first score used to enter it, and save_top_k=-1 kept every one)."""
    for k in (1, 2, -1):
        cb = ModelCheckpoint(dirpath=tmp_path / f"k{k}{mode}", monitor="val/loss", mode=mode,
                             save_top_k=k)
        FakeTrainer([cb], tmp_path, max_epochs=4, num_batches=1, val=val_series(vals)).fit()
        assert cb.best_k_models and all(math.isfinite(v) for v in cb.best_k_models.values())
        assert math.isfinite(cb.best_model_score)
        finite = [v for v in vals if math.isfinite(v)]
        assert cb.best_model_score == (min if mode == "min" else max)(finite)


def test_resume_removes_partial_writes_and_checkpoints_written_after_it(tmp_path):
    """A resume removes the temp files of killed writes and the top-k files the run
    wrote after the checkpoint: the resumed run rewrites them under the same names, with
    no '-v1' twin and no stale file left."""
    from ktrain.train import ClassificationTask, Trainer
    from ktrain.utils.data import DataLoader, TensorDataset

    def fit(root, epochs, resume=None):
        ktrain.manual_seed(0)
        rs = np.random.RandomState(0)
        x = rs.randn(64, 4).astype(np.float32)
        data = TensorDataset(ktrain.tensor(x), ktrain.tensor((x[:, 0] > 0).astype(np.int64)))
        task = ClassificationTask(ktrain.nn.Linear(4, 2))
        cb = ModelCheckpoint(monitor="val/loss", save_top_k=-1)
        trainer = Trainer(max_epochs=epochs, default_root_dir=root, seed=0, loggers=False,
                          callbacks=[cb], enable_progress_bar=False, enable_plots=False)
        trainer.fit(task, DataLoader(data, batch_size=16), DataLoader(data, batch_size=32),
                    ckpt_path=resume)
        return cb

    fit(tmp_path / "full", 3)
    fit(tmp_path / "cut", 1)
    d = tmp_path / "cut" / "checkpoints"
    saved_at_1 = (d / "last.ckpt").read_bytes()
    fit(tmp_path / "cut", 2, resume="last")
    (d / "last.ckpt").write_bytes(saved_at_1)    # as if killed right after epoch 1's top-k
    (d / ".last.ckpt.0123456789ab.tmp").write_bytes(b"partial")   # ... inside a write
    (d / "notes.tmp").write_text("not ours")
    cb = fit(tmp_path / "cut", 3, resume="last")
    assert ckpt_files(d) == ckpt_files(tmp_path / "full" / "checkpoints") + ["notes.tmp"]
    assert sorted(os.path.basename(p) for p in cb.best_k_models) == \
        ["epoch=0-step=4.ckpt", "epoch=1-step=8.ckpt", "epoch=2-step=12.ckpt"]
