"""The default NaN guard of a real Trainer, and strict JSON for non-finite numbers."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import ktrain
from ktrain.serialization import json_dumps
from ktrain.train import ClassificationTask, Trainer
from ktrain.train.callbacks import NaNGuard, NonFiniteLossError
from ktrain.utils.data import DataLoader, TensorDataset


def _strict(text):
    def bad(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=bad)


def _loader(n=32, nan_from=None):
    g = ktrain.Generator().manual_seed(0)
    x = ktrain.randn(n, 4, generator=g)
    if nan_from is not None:
        x.numpy()[nan_from:] = np.nan      # a sample whose features are NaN
    y = ktrain.zeros(n, dtype=ktrain.int64)
    return DataLoader(TensorDataset(x, y), batch_size=8)


def _trainer(tmp_path, **kw):
    return Trainer(max_epochs=2, loggers=False, enable_progress_bar=False,
                   enable_plots=False, default_root_dir=tmp_path, **kw)


def test_the_guard_is_on_by_default_and_first(tmp_path):
    t = _trainer(tmp_path)
    assert isinstance(t.callbacks[0], NaNGuard) and t.callbacks[0].check_grads
    assert sum(isinstance(c, NaNGuard) for c in t.callbacks) == 1
    mine = NaNGuard(action="skip")
    assert [c for c in _trainer(tmp_path, callbacks=[mine]).callbacks
            if isinstance(c, NaNGuard)] == [mine]
    assert not any(isinstance(c, NaNGuard)
                   for c in _trainer(tmp_path, enable_nan_guard=False).callbacks)


def test_a_diverged_fit_stops_before_the_nan_step_and_is_never_saved(tmp_path):
    model = ktrain.nn.Linear(4, 2)
    task = ClassificationTask(model, num_classes=2, optimizer={"name": "sgd", "lr": 0.1})
    t = _trainer(tmp_path, checkpoint_every_n_steps=1)
    with pytest.raises(NonFiniteLossError, match=r"batch 5 of the epoch \(global step 5\)"):
        t.fit(task, _loader(n=48, nan_from=40), None)             # NaN inputs in batch 5
    assert np.isfinite(model.weight.detach().numpy()).all()         # the step was stopped
    from ktrain.train.checkpoint import load_checkpoint

    last = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert all(np.isfinite(v.numpy()).all() for v in last["state_dict"].values())


def test_without_the_guard_the_fit_trains_on(tmp_path):
    model = ktrain.nn.Linear(4, 2)
    task = ClassificationTask(model, num_classes=2, optimizer={"name": "sgd", "lr": 0.1})
    t = _trainer(tmp_path, enable_nan_guard=False, enable_checkpointing=False)
    t.fit(task, _loader(nan_from=0), None)
    assert t.global_step == 8 and not np.isfinite(model.weight.detach().numpy()).all()


def test_json_dumps_is_strict():
    obj = {"a": float("nan"), "b": [math.inf, -math.inf, 1.5], "c": np.float32("nan"),
           "d": np.float64(2.0), "e": (np.int64(3),), "f": np.array([1.0, np.nan])}
    text = json_dumps(obj, indent=2)
    assert _strict(text) == {"a": None, "b": [None, None, 1.5], "c": None, "d": 2.0,
                             "e": [3], "f": [1.0, None]}
    assert "NaN" not in text and "Infinity" not in text
