"""Trainer: fitting, hooks, accumulation, clipping, validation schedule, stopping,
schedulers, mixed precision, Ctrl-C, error messages, validate/test/predict."""
from functools import partial

import numpy as np
import pytest

import ktrain as kt
from ktrain import nn
from ktrain.nn import functional as F
from ktrain.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from ktrain.train import Callback, ClassificationTask, RegressionTask, Task, Trainer
from ktrain.utils.data import DataLoader, TensorDataset


def quiet(tmp_path, **kw):
    """A Trainer without default callbacks/loggers (tests stay fast and self-contained)."""
    kw.setdefault("max_epochs", 1)
    return Trainer(default_root_dir=tmp_path, loggers=False, enable_progress_bar=False,
                   enable_checkpointing=False, enable_plots=False, **kw)


def blobs(n=240, d=6, c=3, seed=0):
    rs = np.random.RandomState(seed)
    centers = rs.randn(c, d) * 4
    y = rs.randint(0, c, n)
    x = (centers[y] + rs.randn(n, d)).astype(np.float32)
    return kt.tensor(x), kt.tensor(y)


def loader(x, y, bs=16, shuffle=False):
    return DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=shuffle)


def mlp(d=6, c=3, h=16):
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, c))


def sgd(lr=0.1, **kw):
    return partial(kt.optim.SGD, lr=lr, **kw)


class Recorder(Callback):
    """Records the name of every hook called (arguments: batch_idx where there is one)."""

    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith(("on_", "setup", "teardown")) and callable(attr):
            def rec(*args, _name=name, _fn=attr):
                self.calls.append(_name)
                return _fn(*args)
            return rec
        return attr


# ---------------------------------------------------------------------------- fitting

def test_classification_reaches_target_accuracy(tmp_path):
    kt.manual_seed(0)
    x, y = blobs(600)
    task = ClassificationTask(mlp(), optimizer=dict(name="adam", lr=0.02))
    trainer = quiet(tmp_path, max_epochs=4, seed=0)
    trainer.fit(task, loader(x[:400], y[:400], 32, shuffle=True), loader(x[400:], y[400:], 64))
    assert trainer.callback_metrics["val/accuracy"] > 0.95
    assert trainer.current_epoch == 4 and trainer.global_step == 4 * 13
    assert trainer.state == "finished"


def test_regression_reaches_low_mse(tmp_path):
    kt.manual_seed(0)
    rs = np.random.RandomState(1)
    x = rs.randn(400, 4).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32) + 0.5
         + 0.01 * rs.randn(400, 1)).astype(np.float32)
    x, y = kt.tensor(x), kt.tensor(y)
    task = RegressionTask(nn.Linear(4, 1), optimizer=dict(name="adam", lr=0.1),
                          metrics=("mse", "mae", "rmse"))
    trainer = quiet(tmp_path, max_epochs=15)
    trainer.fit(task, loader(x[:300], y[:300], 32, True), loader(x[300:], y[300:], 50))
    m = trainer.callback_metrics
    assert m["val/mse"] < 0.01 and m["val/mae"] < 0.1
    assert m["val/rmse"] == pytest.approx(m["val/mse"] ** 0.5, rel=1e-5)


def test_hook_order(tmp_path):
    x, y = blobs(32)
    rec = Recorder()
    trainer = quiet(tmp_path, callbacks=[rec])
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y), loader(x[:8], y[:8], 8))
    batch = ["on_train_batch_start", "on_after_backward", "on_before_optimizer_step",
             "on_train_batch_end"]
    assert rec.calls == ["setup", "on_fit_start", "on_train_start", "on_train_epoch_start",
                         *batch, *batch,
                         "on_validation_start", "on_validation_epoch_start",
                         "on_validation_batch_end", "on_validation_epoch_end",
                         "on_validation_end", "on_train_epoch_end", "on_train_end",
                         "on_fit_end", "teardown"]
    rec.calls.clear()
    trainer.test(trainer.task, loader(x[:8], y[:8], 8))
    assert rec.calls == ["setup", "on_test_start", "on_test_batch_end", "on_test_epoch_end",
                         "on_test_end", "teardown"]
    rec.calls.clear()
    trainer.predict(trainer.task, loader(x[:8], y[:8], 8))
    assert rec.calls == ["setup", "on_predict_start", "on_predict_end", "teardown"]


def test_epoch_metrics_are_visible_to_callbacks_at_epoch_end(tmp_path):
    seen = {}

    class Probe(Callback):
        def on_train_epoch_end(self, trainer, task):
            seen["train"] = dict(trainer.callback_metrics)

        def on_validation_epoch_end(self, trainer, task):
            seen["val"] = dict(trainer.callback_metrics)

    x, y = blobs(48)
    trainer = quiet(tmp_path, callbacks=[Probe()])
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y), loader(x, y))
    assert {"val/loss", "val/accuracy"} <= set(seen["val"])
    assert {"train/loss", "train/accuracy", "val/loss"} <= set(seen["train"])


def test_callbacks_reach_the_fit_loaders(tmp_path):
    seen = {}

    class Probe(Callback):
        def on_train_start(self, trainer, task):
            seen["loaders"] = (trainer.train_dataloader, trainer.val_dataloaders)

    x, y = blobs(48)
    train, val = loader(x, y), loader(x, y)
    trainer = quiet(tmp_path, callbacks=[Probe()])
    assert trainer.train_dataloader is None and trainer.val_dataloaders is None
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), train, val)
    assert seen["loaders"][0] is train and seen["loaders"][1] is val


def test_log_epoch_value_is_batch_size_weighted_mean(tmp_path):
    class T(Task):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(kt.ones(1))

        def training_step(self, batch, batch_idx):
            x, _ = batch
            self.log("v", float(batch_idx + 1), on_step=True, on_epoch=True)
            self.log("n", float(len(x)), on_step=False, on_epoch=True, batch_size=1)
            return (self.w * x.sum()).mean() * 0

        def configure_optimizers(self):
            return kt.optim.SGD(self.parameters(), lr=0.1)

    x, y = kt.zeros(10, 1), kt.zeros(10)
    trainer = quiet(tmp_path, log_every_n_steps=1)
    trainer.fit(T(), loader(x, y, bs=4))  # batches of 4, 4, 2
    assert trainer.callback_metrics["v"] == pytest.approx((1 * 4 + 2 * 4 + 3 * 2) / 10)
    assert trainer.callback_metrics["n"] == pytest.approx(10 / 3)
    assert trainer.logged_metrics["v_epoch"] == pytest.approx(1.8)
    assert trainer.logged_metrics["v_step"] == 3.0


# ---------------------------------------------------------------------------- optimization

def test_accumulation_equals_large_batch(tmp_path):
    x, y = blobs(64)

    def run(bs, acc):
        kt.manual_seed(3)
        task = ClassificationTask(mlp(), optimizer=sgd(0.2))
        quiet(tmp_path, max_epochs=2, accumulate_grad_batches=acc).fit(task, loader(x, y, bs))
        return {k: v.numpy() for k, v in task.state_dict().items()}

    big, small = run(32, 1), run(8, 4)
    for k in big:
        np.testing.assert_allclose(small[k], big[k], rtol=1e-5, atol=1e-5)


def test_accumulation_steps_at_epoch_end(tmp_path):
    x, y = blobs(40)
    trainer = quiet(tmp_path, max_epochs=2, accumulate_grad_batches=2)
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8))  # 5 batches
    assert trainer.global_step == 2 * 3


@pytest.mark.parametrize("algorithm", ["value", "norm"])
def test_gradient_clipping(tmp_path, algorithm):
    x, y = blobs(16)
    x = x * 100  # large gradients
    kt.manual_seed(0)
    task = ClassificationTask(mlp(), optimizer=sgd(1.0))
    before = [p.detach().clone() for p in task.parameters()]
    quiet(tmp_path, max_steps=1, gradient_clip_val=0.01,
          gradient_clip_algorithm=algorithm).fit(task, loader(x, y))
    deltas = [(p.detach() - b).numpy() for p, b in zip(task.parameters(), before)]
    if algorithm == "value":
        assert max(np.abs(d).max() for d in deltas) == pytest.approx(0.01, rel=1e-5)
    else:
        total = np.sqrt(sum((d.astype(np.float64) ** 2).sum() for d in deltas))
        assert total == pytest.approx(0.01, rel=1e-4)


class CountVal(Callback):
    def __init__(self):
        self.at = []

    def on_validation_start(self, trainer, task):
        self.at.append((trainer.current_epoch, trainer.batch_idx))


@pytest.mark.parametrize("kw, expected", [
    (dict(val_check_interval=0.25), [(0, 1), (0, 3), (0, 5), (0, 7), (1, 1), (1, 3), (1, 5),
                                     (1, 7)]),
    (dict(val_check_interval=3), [(0, 2), (0, 5), (1, 2), (1, 5)]),
    (dict(val_check_interval=3, check_val_every_n_epoch=None), [(0, 2), (0, 5), (1, 0),
                                                                 (1, 3), (1, 6)]),
    (dict(check_val_every_n_epoch=2), [(1, 7)]),
    (dict(limit_val_batches=0), []),
])
def test_val_check_interval(tmp_path, kw, expected):
    x, y = blobs(64)
    cb = CountVal()
    quiet(tmp_path, max_epochs=2, callbacks=[cb], **kw).fit(
        ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8), loader(x[:8], y[:8]))
    assert cb.at == expected


def test_max_steps_stops_mid_epoch(tmp_path):
    x, y = blobs(64)
    trainer = quiet(tmp_path, max_epochs=5, max_steps=5)
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8))
    assert trainer.global_step == 5 and trainer.current_epoch == 0


def test_should_stop_after_current_batch(tmp_path):
    class Stop(Callback):
        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            if batch_idx == 2:
                trainer.should_stop = True

    x, y = blobs(64)
    trainer = quiet(tmp_path, max_epochs=3, callbacks=[Stop()])
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8))
    assert trainer.global_step == 3 and trainer.current_epoch == 0


def _lr(trainer):
    return trainer.optimizers[0].param_groups[0]["lr"]


@pytest.mark.parametrize("interval, expected", [("step", 0.1 * 0.5 ** 8),
                                                 ("epoch", 0.1 * 0.5 ** 2)])
def test_scheduler_interval(tmp_path, interval, expected):
    x, y = blobs(32)
    task = ClassificationTask(mlp(), optimizer=sgd(0.1),
                              scheduler=lambda o: {"scheduler": StepLR(o, 1, 0.5),
                                                   "interval": interval})
    trainer = quiet(tmp_path, max_epochs=2)
    trainer.fit(task, loader(x, y, 8))
    assert _lr(trainer) == pytest.approx(expected)
    assert trainer.lr_schedulers[0] is trainer.lr_scheduler_configs[0]["scheduler"]


def test_reduce_lr_on_plateau_monitors_val_loss(tmp_path):
    x, y = blobs(32)
    task = ClassificationTask(mlp(), optimizer=sgd(0.0),  # lr 0: val/loss never improves
                              scheduler=lambda o: ReduceLROnPlateau(o, factor=0.5, patience=0))
    trainer = quiet(tmp_path, max_epochs=3)
    trainer.fit(task, loader(x, y, 16), loader(x, y, 16))
    assert trainer.lr_scheduler_configs[0]["monitor"] == "val/loss"
    assert _lr(trainer) == 0.0
    opt_lr = []

    class T(ClassificationTask):
        def configure_optimizers(self):
            o = kt.optim.SGD(self.parameters(), lr=1e-3)
            return {"optimizer": o, "lr_scheduler": {"scheduler": ReduceLROnPlateau(
                o, factor=0.5, patience=0, threshold=0.5), "monitor": "val/loss"}}

        def on_train_epoch_start(self):
            opt_lr.append(self.trainer.optimizers[0].param_groups[0]["lr"])

    quiet(tmp_path, max_epochs=3).fit(T(mlp(), optimizer=sgd()), loader(x, y, 16),
                                      loader(x, y, 16))
    assert opt_lr == pytest.approx([1e-3, 1e-3, 0.5e-3])  # first epoch sets the best


def test_estimated_stepping_batches_for_one_cycle(tmp_path):
    class T(ClassificationTask):
        def configure_optimizers(self):
            o = kt.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
            total = self.trainer.estimated_stepping_batches
            s = kt.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=total)
            return {"optimizer": o, "lr_scheduler": {"scheduler": s, "interval": "step"}}

    x, y = blobs(80)  # 10 batches, half of them used, 2 per step: 3 steps per epoch
    trainer = quiet(tmp_path, max_epochs=3, limit_train_batches=0.5, accumulate_grad_batches=2)
    trainer.fit(T(mlp()), loader(x, y, 8))
    assert trainer.estimated_stepping_batches == 9 == trainer.global_step
    assert trainer.lr_schedulers[0].last_epoch == 9


def test_reduce_lr_on_plateau_missing_metric(tmp_path):
    x, y = blobs(32)
    task = ClassificationTask(mlp(), optimizer=sgd(),
                              scheduler=lambda o: ReduceLROnPlateau(o))
    with pytest.raises(KeyError, match="val/loss"):
        quiet(tmp_path).fit(task, loader(x, y, 16))  # no validation: no val/loss


# ---------------------------------------------------------------------------- precision

def test_bf16_mixed_trains(tmp_path):
    dtypes = []

    class T(ClassificationTask):
        def training_step(self, batch, batch_idx):
            dtypes.append(self(batch[0]).dtype)
            return super().training_step(batch, batch_idx)

    kt.manual_seed(0)
    x, y = blobs(256)
    trainer = quiet(tmp_path, max_epochs=3, precision="bf16-mixed")
    task = T(mlp(), optimizer=dict(name="adam", lr=0.02))
    trainer.fit(task, loader(x[:192], y[:192], 32, True), loader(x[192:], y[192:], 64))
    assert trainer.scaler is None and dtypes[0] is kt.bfloat16
    assert all(p.dtype is kt.float32 for p in task.parameters())
    assert trainer.callback_metrics["val/accuracy"] > 0.9


class InfAt(ClassificationTask):
    """A loss that is inf on batch 1 of each epoch (its gradients overflow)."""

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        return loss * float("inf") if batch_idx == 1 else loss


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
@pytest.mark.parametrize("precision, scaler", [
    ("16-mixed", lambda: kt.amp.GradScaler("cpu", init_scale=256.0)),
    ("16-mixed", lambda: None),  # the default scaler
    ("bf16-mixed", lambda: True)])
def test_loss_scaling_skips_inf_steps(tmp_path, precision, scaler):
    seen, scales = [], []

    class Watch(Callback):
        def on_train_batch_start(self, trainer, task, batch, batch_idx):
            seen.append([p.detach().clone() for p in task.parameters()])
            scales.append(trainer.scaler.get_scale())

        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            seen.append([p.detach().clone() for p in task.parameters()])

    x, y = blobs(32)
    trainer = quiet(tmp_path, precision=precision, grad_scaler=scaler(), callbacks=[Watch()])
    task = InfAt(mlp(), optimizer=sgd())
    trainer.fit(task, loader(x, y, 8))
    assert isinstance(trainer.scaler, kt.amp.GradScaler)
    changed = [any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(s, e))
               for s, e in zip(seen[::2], seen[1::2])]
    assert changed[1] is False and scales[2] == scales[1] * 0.5  # skipped, backed off
    if precision == "bf16-mixed" or scales[0] == 256.0:  # no float16 overflow elsewhere
        assert changed == [True, False, True, True]
    assert trainer.global_step == 4 and all(np.isfinite(p.detach().numpy()).all()
                                            for p in task.parameters())


# ---------------------------------------------------------------------------- interruption

def test_ctrl_c_saves_checkpoint(tmp_path, capsys):
    class Interrupt(Callback):
        def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
            if trainer.global_step == 3:
                raise KeyboardInterrupt

    exc = []

    class OnExc(Callback):
        def on_exception(self, trainer, task, exception):
            exc.append(type(exception))

    x, y = blobs(64)
    trainer = quiet(tmp_path, max_epochs=2, callbacks=[Interrupt(), OnExc()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8))
    path = tmp_path / "checkpoints" / "interrupted.ckpt"
    ckpt = kt.load(path)
    assert ckpt["global_step"] == 3 and ckpt["loops"]["batches_done"] == 3
    assert exc == [KeyboardInterrupt] and trainer.interrupted and trainer.state == "interrupted"
    assert "interrupted.ckpt" in capsys.readouterr().err


def test_sigint_stops_after_the_current_batch(tmp_path, capsys):
    import signal

    class SendSigint(Callback):
        def on_train_batch_start(self, trainer, task, batch, batch_idx):
            if batch_idx == 2:
                signal.raise_signal(signal.SIGINT)  # a Ctrl-C in the middle of the batch

    # pytest started in the background (nohup, `cmd &`) inherits SIGINT ignored, and a
    # Trainer keeps an ignored SIGINT ignored: give this test the default handler it needs
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        x, y = blobs(64)
        trainer = quiet(tmp_path, callbacks=[SendSigint()])
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8))
        assert trainer.global_step == 3  # batch 2 was finished first
        ckpt = kt.load(tmp_path / "checkpoints" / "interrupted.ckpt")
        assert ckpt["loops"]["batches_done"] == 3 and ckpt["global_step"] == 3
        assert "stopping after the current batch" in capsys.readouterr().err
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_ignored_sigint_stays_ignored(tmp_path):
    """A Trainer started with SIGINT ignored (nohup, background jobs) leaves it ignored,
    as PyTorch Lightning does: a Ctrl-C meant for the shell does not stop the run."""
    import signal

    seen = []

    class Probe(Callback):
        def on_train_batch_start(self, trainer, task, batch, batch_idx):
            seen.append(signal.getsignal(signal.SIGINT))
            if batch_idx == 1:
                signal.raise_signal(signal.SIGINT)  # ignored: the run goes on

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        x, y = blobs(32)
        trainer = quiet(tmp_path, callbacks=[Probe()])
        trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8))
        assert trainer.global_step == 4 and not trainer.interrupted
        assert seen and all(h is signal.SIG_IGN for h in seen)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_exception_calls_on_exception_and_reraises(tmp_path):
    got = []

    class Boom(Callback):
        def on_train_batch_start(self, trainer, task, batch, batch_idx):
            raise ZeroDivisionError("boom")

        def on_exception(self, trainer, task, exception):
            got.append(exception)

        def teardown(self, trainer, task, stage):
            got.append(stage)

    x, y = blobs(16)
    with pytest.raises(ZeroDivisionError):
        quiet(tmp_path, callbacks=[Boom()]).fit(ClassificationTask(mlp(), optimizer=sgd()),
                                                loader(x, y))
    assert isinstance(got[0], ZeroDivisionError) and got[1] == "fit"


# ---------------------------------------------------------------------------- errors

def test_wrong_batch_type_reports_index_and_value(tmp_path):
    class Weird:
        def __repr__(self):
            return "<Weird image>"

    class DS:
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return (kt.zeros(6), Weird()) if i >= 4 else (kt.zeros(6), kt.tensor(0))

    raw = DataLoader(TensorDataset(kt.zeros(4, 6), kt.zeros(4)), batch_size=2,
                     collate_fn=lambda items: [(a.numpy(), b) for a, b in items])
    task = ClassificationTask(mlp(), optimizer=sgd())
    with pytest.raises(TypeError, match=r"train batch 0: batch\[0\]\[0\] is numpy.ndarray "
                                        r"\(array.*collate_fn must return ktrain Tensors"):
        quiet(tmp_path).fit(task, raw)
    with pytest.raises(TypeError, match=r"train batch 1: expected a Tensor .* got "
                                        r"builtins.str \('oops'\)"):
        quiet(tmp_path).fit(task, [(kt.zeros(2, 6), kt.tensor([0, 1])), "oops"])
    ok_then_weird = DataLoader(DS(), batch_size=2, collate_fn=lambda items: (
        kt.stack([a for a, _ in items]),
        kt.stack([b for _, b in items]) if isinstance(items[0][1], kt.Tensor) else items[0][1]))
    with pytest.raises(TypeError, match=r"train batch 2: batch\[1\] is .*Weird \(<Weird image>\)"):
        quiet(tmp_path).fit(task, ok_then_weird)


def test_loading_error_names_the_batch(tmp_path):
    class DS:
        def __len__(self):
            return 8

        def __getitem__(self, i):
            if i == 5:
                raise ValueError("corrupt file")
            return kt.zeros(6), 0

    with pytest.raises(ValueError, match="corrupt file") as info:
        quiet(tmp_path).fit(ClassificationTask(mlp(), optimizer=sgd()),
                            DataLoader(DS(), batch_size=2))
    assert "while loading train batch 2 of epoch 0" in "".join(info.value.__notes__)


def test_shape_mismatch_names_loss_and_shapes(tmp_path):
    x = kt.randn(16, 4)
    y = kt.randn(16)
    task = RegressionTask(nn.Linear(4, 1), optimizer=sgd())
    with pytest.raises(ValueError, match=r"loss 'mse' got model output of shape \(8, 1\) "
                                         r"and targets of shape \(8,\)"):
        quiet(tmp_path).fit(task, loader(x, y, 8))
    xc, yc = blobs(16)
    task = ClassificationTask(mlp(c=4), optimizer=sgd(), num_classes=3)
    with pytest.raises(ValueError, match=r"'cross_entropy' .* \(8, 4\) .* \(8,\).*num_classes=3"):
        quiet(tmp_path).fit(task, loader(xc, yc, 8))
    task = ClassificationTask(mlp(), optimizer=sgd())
    with pytest.raises(ValueError, match=r"\(8, 3\) and targets of shape \(8, 2\)"):
        quiet(tmp_path).fit(task, loader(xc, kt.zeros(16, 2, dtype=kt.int64), 8))


def test_bad_training_step_results(tmp_path):
    class T(Task):
        def __init__(self, ret):
            super().__init__()
            self.lin, self.ret = nn.Linear(6, 1), ret

        def training_step(self, batch, batch_idx):
            out = self.lin(batch[0])
            return {"vector": out} if self.ret == "dict" else out if self.ret == "vec" \
                else out.sum().detach()

        def configure_optimizers(self):
            return kt.optim.SGD(self.parameters(), lr=0.1)

    x, y = blobs(8)
    with pytest.raises(TypeError, match="batch 0.*dict without a 'loss'"):
        quiet(tmp_path).fit(T("dict"), loader(x, y))
    with pytest.raises(ValueError, match=r"loss of shape \(8, 1\)"):
        quiet(tmp_path).fit(T("vec"), loader(x, y))
    with pytest.raises(RuntimeError, match="does not require grad"):
        quiet(tmp_path).fit(T("detached"), loader(x, y))
    with pytest.raises(TypeError, match="ktrain.train.Task"):
        quiet(tmp_path).fit(mlp(), loader(x, y))


def test_training_step_none_skips_batch(tmp_path):
    class T(ClassificationTask):
        def training_step(self, batch, batch_idx):
            return None if batch_idx % 2 else super().training_step(batch, batch_idx)

    x, y = blobs(32)
    trainer = quiet(tmp_path)
    trainer.fit(T(mlp(), optimizer=sgd()), loader(x, y, 8))
    assert trainer.global_step == 2


# ---------------------------------------------------------------------------- evaluation

def test_validate_test_predict(tmp_path):
    x, y = blobs(100)
    task = ClassificationTask(mlp(), optimizer=dict(name="adam", lr=0.02),
                              metrics=("accuracy", "f1"))
    trainer = quiet(tmp_path, max_epochs=3)
    trainer.fit(task, loader(x, y, 20, True))
    val = trainer.validate(task, loader(x, y, 30))
    test = trainer.test(task, loader(x, y, 30))
    assert set(val[0]) == {"val/loss", "val/accuracy", "val/f1"}
    assert set(test[0]) == {"test/loss", "test/accuracy", "test/f1"}
    assert val[0]["val/loss"] == pytest.approx(test[0]["test/loss"])
    direct = F.cross_entropy(task(x), y).item()
    assert val[0]["val/loss"] == pytest.approx(direct, rel=1e-5)
    preds = trainer.predict(task, loader(x, y, 30))
    assert [tuple(p.shape) for p in preds] == [(30, 3)] * 3 + [(10, 3)]
    np.testing.assert_allclose(kt.cat(preds).sum(1).numpy(), 1.0, rtol=1e-5)
    acc = (kt.cat(preds).argmax(1) == y).float().mean().item()
    assert val[0]["val/accuracy"] == pytest.approx(acc)
    assert task.training  # back in train mode


def test_validate_loads_weights_from_checkpoint(tmp_path):
    x, y = blobs(64)
    task = ClassificationTask(mlp(), optimizer=sgd())
    trainer = quiet(tmp_path)
    trainer.fit(task, loader(x, y, 16))
    path = trainer.save_checkpoint(tmp_path / "w.ckpt", weights_only=True)
    expected = trainer.validate(task, loader(x, y, 16))[0]["val/loss"]
    fresh = ClassificationTask(mlp(), optimizer=sgd())
    got = quiet(tmp_path).validate(fresh, loader(x, y, 16), ckpt_path=path)
    assert got[0]["val/loss"] == expected


def test_sanity_check_runs_validation_without_logging(tmp_path):
    x, y = blobs(32)
    cb = CountVal()
    trainer = quiet(tmp_path, num_sanity_val_steps=1, callbacks=[cb], limit_train_batches=2)
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8), loader(x, y, 8))
    assert len(cb.at) == 2 and trainer.global_step == 2


def test_default_callbacks_and_loggers(tmp_path):
    x, y = blobs(32)
    trainer = Trainer(max_epochs=1, default_root_dir=tmp_path, enable_progress_bar=False,
                      enable_plots=False)
    trainer.fit(ClassificationTask(mlp(), optimizer=sgd()), loader(x, y, 8), loader(x, y, 16))
    if trainer.loggers:
        assert any(p.suffix in (".csv", ".jsonl") for p in tmp_path.iterdir())
    names = {type(cb).__name__ for cb in trainer.callbacks}
    if "ModelCheckpoint" in names:
        assert (tmp_path / "checkpoints" / "last.ckpt").exists()
