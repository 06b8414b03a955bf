"""Task, ClassificationTask, RegressionTask: optimizer configs, losses, metrics, logging."""
from functools import partial

import numpy as np
import pytest

import ktrain as kt
from ktrain import metrics, nn
from ktrain.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau, StepLR
from ktrain.train import ClassificationTask, RegressionTask, Task, Trainer
from ktrain.train._supervised import build_optimizer, build_scheduler
from ktrain.train._loops import parse_optimizers as _parse_optimizers
from ktrain.utils.data import DataLoader, TensorDataset


def quiet(tmp_path, **kw):
    kw.setdefault("max_epochs", 1)
    return Trainer(default_root_dir=tmp_path, loggers=False, enable_progress_bar=False,
                   enable_checkpointing=False, enable_plots=False, **kw)


def data(n=60, d=5, c=3, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, d).astype(np.float32)
    return kt.tensor(x), kt.tensor(x[:, :c].argmax(1))


def params():
    return nn.Linear(3, 2).parameters()


# ---------------------------------------------------------------------------- optimizers

def test_parse_optimizers_forms():
    p = list(nn.Linear(3, 2).parameters())
    o = kt.optim.SGD(p, lr=0.1)
    s = StepLR(o, 2)
    assert _parse_optimizers(o) == ([o], [])
    assert _parse_optimizers([o]) == ([o], [])
    opts, cfgs = _parse_optimizers(([o], [s]))
    assert opts == [o] and cfgs[0]["scheduler"] is s and cfgs[0]["interval"] == "epoch"
    opts, cfgs = _parse_optimizers({"optimizer": o, "lr_scheduler": {
        "scheduler": s, "interval": "step", "frequency": 2}})
    assert cfgs[0]["interval"] == "step" and cfgs[0]["frequency"] == 2
    o2 = kt.optim.Adam(nn.Linear(2, 2).parameters())
    opts, cfgs = _parse_optimizers([{"optimizer": o}, {"optimizer": o2, "lr_scheduler": s}])
    assert opts == [o, o2] and len(cfgs) == 1
    with pytest.raises(ValueError, match="'epoch' or 'step'"):
        _parse_optimizers({"optimizer": o, "lr_scheduler": {"scheduler": s, "interval": "x"}})
    with pytest.raises(ValueError, match="monitor"):
        _parse_optimizers({"optimizer": o, "lr_scheduler": ReduceLROnPlateau(o)})
    with pytest.raises(TypeError, match="ktrain optimizers"):
        _parse_optimizers(["sgd"])
    with pytest.raises(TypeError, match="returned int"):
        _parse_optimizers(3)


def test_build_optimizer_and_scheduler():
    assert isinstance(build_optimizer(None, params()), kt.optim.Adam)
    o = build_optimizer({"name": "SGD", "lr": 0.3, "momentum": 0.9}, params())
    assert isinstance(o, kt.optim.SGD) and o.param_groups[0]["momentum"] == 0.9
    assert isinstance(build_optimizer("adamw", params()), kt.optim.AdamW)
    assert isinstance(build_optimizer(partial(kt.optim.RMSprop, lr=0.1), params()),
                      kt.optim.RMSprop)
    with pytest.raises(ValueError, match="unknown optimizer 'sgdd'.*sgd"):
        build_optimizer({"name": "sgdd"}, params())
    cfg = build_scheduler({"name": "step", "step_size": 3, "interval": "step"}, o)
    assert isinstance(cfg["scheduler"], StepLR) and cfg["interval"] == "step"
    cfg = build_scheduler({"name": "cosine_annealing", "T_max": 10}, o)
    assert isinstance(cfg["scheduler"], CosineAnnealingLR)
    cfg = build_scheduler(lambda opt: ReduceLROnPlateau(opt), o)
    assert cfg["monitor"] == "val/loss"
    cfg = build_scheduler(lambda opt: {"scheduler": StepLR(opt, 1), "interval": "step"}, o)
    assert cfg["interval"] == "step"


# ---------------------------------------------------------------------------- supervised

def test_unknown_names_are_reported():
    with pytest.raises(ValueError, match="unknown loss 'hinge'.*cross_entropy"):
        ClassificationTask(nn.Linear(2, 2), loss="hinge")
    with pytest.raises(ValueError, match="unknown metric 'r2'.*mse"):
        RegressionTask(nn.Linear(2, 1), metrics=("r2",))


def test_val_metrics_are_exact_over_the_epoch(tmp_path):
    x, y = data(50)
    task = ClassificationTask(nn.Linear(5, 3), optimizer=dict(name="sgd", lr=0.1),
                              metrics=("accuracy", "f1", "auroc"))
    trainer = quiet(tmp_path)
    trainer.fit(task, DataLoader(TensorDataset(x, y), batch_size=16))
    out = trainer.validate(task, DataLoader(TensorDataset(x, y), batch_size=7))[0]
    with kt.no_grad():
        logits = task(x)
    ref = metrics.Accuracy(task="multiclass", num_classes=3)
    assert out["val/accuracy"] == pytest.approx(float(ref(logits, y)))
    ref = metrics.F1Score(task="multiclass", num_classes=3, average="macro")
    assert out["val/f1"] == pytest.approx(float(ref(logits, y)))
    ref = metrics.AUROC(task="multiclass", num_classes=3)
    assert out["val/auroc"] == pytest.approx(float(ref(logits.softmax(1), y)))
    again = trainer.validate(task, DataLoader(TensorDataset(x, y), batch_size=50))[0]
    assert again["val/accuracy"] == out["val/accuracy"]  # reset between runs


def test_metric_objects_and_dict_batches(tmp_path):
    x, y = data(40)

    class Dicts:
        def __len__(self):
            return 40

        def __getitem__(self, i):
            return {"image": x[i], "label": y[i]}

    task = ClassificationTask(nn.Linear(5, 3), optimizer=dict(name="sgd", lr=0.1),
                              metrics=[metrics.Accuracy(task="multiclass", num_classes=3,
                                                        top_k=2)])
    trainer = quiet(tmp_path)
    trainer.fit(task, DataLoader(Dicts(), batch_size=8), DataLoader(Dicts(), batch_size=8))
    assert "val/accuracy" in trainer.callback_metrics and "train/accuracy" in \
        trainer.callback_metrics
    assert task._metrics["val"]["accuracy"] is not task._metrics["train"]["accuracy"]


def test_bce_means_probabilities_and_a_task_refuses_it_on_logits():
    """'bce' is BCELoss (PyTorch's meaning); the task's logits need 'bce_with_logits'."""
    from ktrain.registry import LOSSES

    assert LOSSES.get("bce") is nn.BCELoss
    assert LOSSES.get("bce_with_logits") is nn.BCEWithLogitsLoss
    with pytest.raises(ValueError, match="use 'bce_with_logits'"):
        ClassificationTask(nn.Linear(2, 1), loss="bce")
    assert ClassificationTask(nn.Linear(2, 1), loss="ce").loss_name == "cross_entropy"
    assert RegressionTask(nn.Linear(2, 1), loss="mae").loss_name == "l1"
    with pytest.raises(ValueError, match="not a regression loss 'cross_entropy'.*mse"):
        RegressionTask(nn.Linear(2, 1), loss="cross_entropy")


def test_binary_classification_with_bce_with_logits(tmp_path):
    rs = np.random.RandomState(0)
    x = rs.randn(200, 2).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    task = ClassificationTask(nn.Linear(2, 1), loss="bce_with_logits", metrics=("accuracy", "auroc"),
                              optimizer=dict(name="adam", lr=0.1))
    loader = DataLoader(TensorDataset(kt.tensor(x), kt.tensor(y)), batch_size=32)
    trainer = quiet(tmp_path, max_epochs=5)
    trainer.fit(task, loader, loader)
    assert trainer.callback_metrics["val/accuracy"] > 0.95
    probs = kt.cat(trainer.predict(task, loader))
    assert tuple(probs.shape) == (200, 1) and 0 <= float(probs.min()) <= float(probs.max()) <= 1


def test_label_smoothing_and_soft_targets(tmp_path):
    x, y = data(32)
    soft = kt.nn.functional.one_hot(y, 3).float()
    task = ClassificationTask(nn.Linear(5, 3), optimizer=dict(name="sgd", lr=0.1),
                              label_smoothing=0.1)
    trainer = quiet(tmp_path)
    trainer.fit(task, DataLoader(TensorDataset(x, soft), batch_size=8),
                DataLoader(TensorDataset(x, y), batch_size=8))
    with kt.no_grad():
        expected = kt.nn.functional.cross_entropy(task(x), y, label_smoothing=0.1).item()
    assert trainer.callback_metrics["val/loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.filterwarnings("ignore:mse_loss")
def test_custom_loss_module_error_names_shapes(tmp_path):
    x, y = data(16)
    task = ClassificationTask(nn.Linear(5, 3), loss=nn.MSELoss(),
                              optimizer=dict(name="sgd", lr=0.1))
    with pytest.raises(Exception) as info:
        quiet(tmp_path).fit(task, DataLoader(TensorDataset(x, kt.zeros(16, 4)), batch_size=8))
    assert "loss MSELoss got model output of shape (8, 3) and targets of shape (8, 4)" in \
        "".join(getattr(info.value, "__notes__", [])) + str(info.value)


def test_regression_integer_targets_and_predict(tmp_path):
    x = kt.randn(20, 3)
    y = kt.randint(0, 5, (20, 1))
    task = RegressionTask(nn.Linear(3, 1), optimizer=dict(name="sgd", lr=0.01))
    trainer = quiet(tmp_path)
    trainer.fit(task, DataLoader(TensorDataset(x, y), batch_size=5))
    preds = trainer.predict(task, DataLoader(TensorDataset(x), batch_size=5))
    with kt.no_grad():
        np.testing.assert_allclose(kt.cat(preds).numpy(), task(x).numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------- Task basics

def test_log_outside_trainer_warns():
    class T(Task):
        pass

    with pytest.warns(UserWarning, match="outside a Trainer"):
        T().log("x", 1.0)


def test_log_validation(tmp_path):
    class T(Task):
        def __init__(self, mode):
            super().__init__()
            self.w, self.mode = nn.Parameter(kt.ones(1)), mode

        def training_step(self, batch, batch_idx):
            if self.mode == "vector":
                self.log("v", kt.ones(3))
            elif self.mode == "type":
                self.log("v", "high")
            return (self.w * batch[0]).sum()

        def on_train_epoch_end(self):
            if self.mode == "epoch_step":
                self.log("e", 1.0, on_step=True)

        def configure_optimizers(self):
            return kt.optim.SGD(self.parameters(), lr=0.1)

    loader = DataLoader(TensorDataset(kt.ones(4, 1), kt.ones(4)), batch_size=2)
    with pytest.raises(ValueError, match=r"expected a scalar, got a tensor of shape \(3,\)"):
        quiet(tmp_path).fit(T("vector"), loader)
    with pytest.raises(TypeError, match="cannot log a value of type str"):
        quiet(tmp_path).fit(T("type"), loader)
    with pytest.raises(ValueError, match="only possible inside a step"):
        quiet(tmp_path).fit(T("epoch_step"), loader)


def test_trainer_link_and_copy(tmp_path):
    import copy

    x, y = data(8)
    task = ClassificationTask(nn.Linear(5, 3), optimizer=dict(name="sgd", lr=0.1))
    trainer = quiet(tmp_path)
    trainer.fit(task, DataLoader(TensorDataset(x, y), batch_size=4))
    assert task.trainer is trainer and task.current_epoch == 1 and task.global_step == 2
    assert copy.deepcopy(task).trainer is None
    assert "model.weight" in task.state_dict() and len(task.state_dict()) == 2


def test_default_predict_step_and_required_steps(tmp_path):
    class T(Task):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, x):
            return self.lin(x)

    x = kt.randn(6, 2)
    out = quiet(tmp_path).predict(T(), DataLoader(TensorDataset(x, x), batch_size=3))
    assert [tuple(o.shape) for o in out] == [(3, 1), (3, 1)]
    with pytest.raises(NotImplementedError, match="validation_step"):
        quiet(tmp_path).validate(T(), DataLoader(TensorDataset(x, x), batch_size=3))
