"""The engine's shape: the Trainer owns its loops and one Progress state, logged values
are converted at publication (not per step), batches are checked once per loader pass,
old import paths still work, files stay small and the engine imports no application."""
import pathlib
import re

import numpy as np
import pytest

import ktrain as kt
from ktrain import nn
from ktrain.nn import functional as F
from ktrain.train import Task, Trainer
from ktrain.train import _data, _results
from ktrain.utils.data import DataLoader, TensorDataset

TRAIN = pathlib.Path(kt.__file__).parent / "train"
# the engine's files (the application modules run/evaluate/sweep/confusion are not)
ENGINE = ["trainer.py", "task.py", "checkpoint.py", "_loops.py", "_fit_loop.py",
          "_evaluation_loop.py", "_progress.py", "_results.py", "_data.py", "_state.py",
          *(f"callbacks/{p.name}" for p in (TRAIN / "callbacks").glob("*.py")),
          *(f"loggers/{p.name}" for p in (TRAIN / "loggers").glob("*.py"))]


def quiet(tmp_path, **kw):
    kw.setdefault("max_epochs", 1)
    return Trainer(default_root_dir=tmp_path, loggers=False, enable_progress_bar=False,
                   enable_checkpointing=False, enable_plots=False, **kw)


class Reg(Task):
    """Linear regression logging its loss every step, and once per epoch."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 2)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self.net(x), y)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/loss_mean", loss, on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self):
        return kt.optim.SGD(self.parameters(), lr=0.05)


def data(n=160, seed=0):
    rs = np.random.RandomState(seed)
    return TensorDataset(kt.tensor(rs.randn(n, 4).astype(np.float32)),
                         kt.tensor(rs.randn(n, 2).astype(np.float32)))


class Publications:
    """A logger counting the rows it gets."""
    name = "count"

    def __init__(self):
        self.rows = []
        self.log_dir = None

    def log_metrics(self, metrics, step):
        self.rows.append((step, dict(metrics)))

    def log_hyperparams(self, params): ...
    def save(self): ...
    def finalize(self, status): ...


# ---------------------------------------------------------------------------- shape

def test_trainer_owns_its_loops_and_one_progress_state(tmp_path):
    from ktrain.train._evaluation_loop import EvaluationLoop, PredictionLoop
    from ktrain.train._fit_loop import FitLoop
    from ktrain.train._progress import Progress

    trainer = quiet(tmp_path, max_epochs=2)
    assert isinstance(trainer.progress, Progress)
    assert isinstance(trainer.fit_loop, FitLoop) and trainer.fit_loop.trainer is trainer
    assert isinstance(trainer.validate_loop, EvaluationLoop)
    assert trainer.validate_loop.stage == "validate" and trainer.test_loop.stage == "test"
    assert isinstance(trainer.predict_loop, PredictionLoop)
    trainer.fit(Reg(), DataLoader(data(40), batch_size=8))
    p = trainer.progress
    assert (trainer.current_epoch, trainer.global_step) == (p.current_epoch, p.global_step) \
        == (2, 10)
    assert trainer.batch_idx == p.batch_idx == 4
    trainer.global_step = 7  # the Lightning attributes stay assignable
    assert p.global_step == 7
    loops = p.state_dict(5, 1)
    assert list(loops) == ["epoch", "global_step", "batches_done", "epoch_completed",
                           "num_training_batches", "epoch_start", "blas_threads"]


def test_old_import_paths_give_the_same_objects():
    from ktrain.train import _evaluation_loop, _fit_loop, _loops, trainer
    from ktrain.train._results import Results, to_float  # noqa: F401
    from ktrain.train._state import DeferredInterrupt, seed_everything  # noqa: F401

    assert trainer.Trainer is Trainer and kt.train.Trainer is Trainer
    assert _loops.FitLoop is _fit_loop.FitLoop
    assert _loops.EvaluationLoop is _evaluation_loop.EvaluationLoop
    assert _loops.PredictionLoop is _evaluation_loop.PredictionLoop
    assert _loops._note is _loops.note and callable(_loops.parse_optimizers)
    assert _data.check_batch is _data.__dict__["check_batch"]


def test_engine_files_are_small_and_import_no_application():
    app = re.compile(r"^\s*(from|import)\s+(ktrain\.app|\.\.app|\.(run|evaluate|sweep)\b|"
                     r"ktrain\.train\.(run|evaluate|sweep)\b)", re.M)
    for name in ENGINE:
        text = (TRAIN / name).read_text()
        assert text.count("\n") < 550, f"train/{name} has {text.count(chr(10))} lines"
        assert not app.search(text), f"train/{name} imports the application layer"


# ---------------------------------------------------------------------------- syncs

def _count_conversions(monkeypatch):
    """Spy on every conversion of logged arrays and every Tensor.item / float()."""
    counts = {"arrays": 0, "calls": 0, "item": 0}
    floats = _results._floats

    def spy(values):
        n = sum(type(v) is not float for v in values)
        if n:
            counts["arrays"] += n
            counts["calls"] += 1
        return floats(values)

    item = kt.Tensor.item

    def item_spy(self):  # float values only: the DataLoader draws an int seed per epoch
        counts["item"] += self._data.dtype.kind == "f"
        return item(self)

    monkeypatch.setattr(_results, "_floats", spy)
    monkeypatch.setattr(kt.Tensor, "item", item_spy)
    return counts


@pytest.mark.parametrize("steps,every", [(20, 10), (40, 10), (40, 20)])
def test_logged_values_are_converted_per_publication_not_per_step(tmp_path, monkeypatch,
                                                                   steps, every):
    counts = _count_conversions(monkeypatch)
    log = Publications()
    trainer = Trainer(default_root_dir=tmp_path, loggers=[log], enable_progress_bar=False,
                      enable_checkpointing=False, enable_plots=False, enable_nan_guard=False,
                      max_epochs=1, log_every_n_steps=every)
    trainer.fit(Reg(), DataLoader(data(8 * steps), batch_size=8))
    publications = steps // every
    assert [s for s, _ in log.rows] == [every * (i + 1) for i in range(publications)] + [steps]
    assert counts["item"] == 0  # nothing reads a tensor one value at a time
    # one conversion per publication (the step values) + one at the epoch end
    assert counts["calls"] == publications + 1
    assert counts["arrays"] == publications + steps
    metrics = trainer.callback_metrics  # converted on this read, floats
    assert all(type(v) is float for v in metrics.values())


def test_nan_guard_reads_the_loss_once_per_step(tmp_path, monkeypatch):
    from ktrain.train.callbacks import nan_guard

    counts = _count_conversions(monkeypatch)
    reads = {"grads+loss": 0, "loss alone": 0}
    check, to_float = nan_guard._grads_finite, nan_guard.to_float

    def check_spy(grads, loss=None):
        reads["grads+loss"] += loss is not None
        return check(grads, loss)

    def to_float_spy(v):
        reads["loss alone"] += 1
        return to_float(v)

    monkeypatch.setattr(nan_guard, "_grads_finite", check_spy)
    monkeypatch.setattr(nan_guard, "to_float", to_float_spy)
    trainer = quiet(tmp_path, log_every_n_steps=10)  # the default NaNGuard is on
    trainer.fit(Reg(), DataLoader(data(160), batch_size=8))
    # the guard's own read: the gradients' total norm and the loss together, each step
    assert counts["item"] == 0 and counts["calls"] == 3
    assert reads == {"grads+loss": 20, "loss alone": 0}  # one transfer per step
    guard = trainer.callbacks[0]
    assert guard.last_finite_step == 20 and guard.last_finite_loss == \
        trainer.callback_metrics["train/loss"]


def test_deferred_values_equal_eager_conversion(tmp_path):
    seen, weights, leaf = [], [], kt.zeros(())

    class Spy(Reg):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            seen.append((float(loss.detach().numpy()), len(batch[0])))
            leaf.add_(1.0)  # a leaf tensor changed in place after it was logged
            self.log("leaf", leaf, on_step=True, on_epoch=True)
            w = self.net.weight[0, 0]  # a view: the optimizer step changes it in place
            weights.append(float(w.detach().numpy()))
            self.log("w", w)
            return loss

    log = Publications()
    trainer = Trainer(default_root_dir=tmp_path, loggers=[log], enable_progress_bar=False,
                      enable_checkpointing=False, enable_plots=False, max_epochs=1,
                      log_every_n_steps=3)
    trainer.fit(Spy(), DataLoader(data(76), batch_size=8))  # 10 batches, the last of 4
    total = weight = 0.0
    for v, n in seen:
        total += v * n
        weight += n
    assert trainer.callback_metrics["train/loss_mean"] == total / weight  # bitwise
    assert trainer.callback_metrics["train/loss"] == seen[-1][0]
    assert [r["train/loss"] for _, r in log.rows[:3]] == [seen[i][0] for i in (2, 5, 8)]
    assert [r["leaf_step"] for _, r in log.rows[:3]] == [3.0, 6.0, 9.0]
    assert [r["w"] for _, r in log.rows[:3]] == [weights[i] for i in (2, 5, 8)]
    assert weights[2] != weights[3]
    assert trainer.callback_metrics["leaf"] == sum(i * (8 if i < 10 else 4)
                                                   for i in range(1, 11)) / 76


# ---------------------------------------------------------------------------- batches

def test_batches_are_checked_fully_once_per_pass(tmp_path, monkeypatch):
    calls = []
    check = _data.check_batch
    monkeypatch.setattr(_data, "check_batch", lambda b, i, s: (calls.append((s, i)),
                                                              check(b, i, s))[1])
    class WithVal(Reg):
        def validation_step(self, batch, batch_idx):
            return None

    task = WithVal()
    trainer = quiet(tmp_path, max_epochs=2)
    trainer.fit(task, DataLoader(data(40), batch_size=8), DataLoader(data(24), batch_size=8))
    assert calls == [("train", 0), ("validate", 0), ("train", 0), ("validate", 0)]


def test_a_bad_later_batch_still_names_its_index(tmp_path):
    good = (kt.zeros(8, 4), kt.zeros(8, 2))
    batches = [good] * 5 + [(np.zeros((8, 4), np.float32), kt.zeros(8, 2))] + [good]
    with pytest.raises(TypeError, match=r"train batch 5: batch\[0\] is numpy.ndarray"):
        quiet(tmp_path).fit(Reg(), batches)
    nested = [{"x": kt.zeros(8, 4), "y": [kt.zeros(8, 2)]}] * 3 + \
        [{"x": kt.zeros(8, 4), "y": [object()]}]
    checker = _data.BatchChecker("validate")
    for i, b in enumerate(nested[:3]):
        checker(b, i)
    with pytest.raises(TypeError, match=r"validate batch 3: batch\['y'\]\[0\] is "
                                        r"builtins.object"):
        checker(nested[3], 3)


def test_batch_structure_may_change_when_it_stays_valid():
    checker = _data.BatchChecker("train")
    for i, b in enumerate([["a", "b"], ["a", "b", "c"], ("t", kt.zeros(2)), kt.zeros(3)]):
        checker(b, i)
    assert _data.batch_signature({"x": kt.zeros(1), "y": [1, "s"]}) == \
        (dict, ("x", "y"), kt.Tensor, (list, int, str))
