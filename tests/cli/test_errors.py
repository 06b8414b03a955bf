"""User errors through the CLI: a short paragraph on stderr, exit 2, no traceback; runs
that would train forever, on nothing, or on NaN are refused or stopped."""
import errno
import json
import os
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
import typer
from ktrain.cli.eval_cmd import register as register_eval
from ktrain.cli.fit_cmd import register
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf" / "mlp_synthetic.yaml")
FAST = ["trainer=fast", "data.n_samples=200"]


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    register(a)
    register_eval(a)
    return a


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _user_error(r, *needles):
    """Exit 2, one 'Error:' paragraph naming every needle, no traceback."""
    err = r.stderr
    assert r.exit_code == 2, (r.exit_code, r.stdout, err, r.exception)
    assert err.startswith("Error: ") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)
    return err


def _run_dir(r):
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    return Path(r.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ bad counts and sizes
@pytest.mark.parametrize("override, key", [
    ("trainer.max_epochs=-3", "trainer.max_epochs"),
    ("trainer.max_epochs=0", "trainer.max_epochs"),
    ("trainer.max_steps=-5", "trainer.max_steps"),
    ("trainer.max_steps=0", "trainer.max_steps"),
    ("trainer.limit_train_batches=-1", "trainer.limit_train_batches"),
    ("trainer.limit_train_batches=0", "trainer.limit_train_batches"),
    ("trainer.limit_val_batches=-2", "trainer.limit_val_batches"),
    ("trainer.limit_test_batches=1.5", "trainer.limit_test_batches"),
    ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps"),
    ("experiment=../../x", "experiment"),
    ("experiment=/tmp/elsewhere", "experiment"),
])
def test_bad_counts_are_config_errors_before_anything_runs(app, override, key):
    r = invoke(app, "fit", CONF, *FAST, override)
    _user_error(r, key)
    assert not Path("outputs").exists()           # nothing was built or written
    assert not (Path("..") / "x").exists()


def test_config_accepts_the_documented_special_values(app):
    r = invoke(app, "config", CONF, "trainer.max_epochs=-1", "trainer.max_steps=10",
               "trainer.limit_val_batches=0", "experiment=group/name")
    assert r.exit_code == 0, r.stderr


def test_trainer_refuses_a_negative_epoch_count():
    from ktrain.train import Trainer

    with pytest.raises(ValueError, match="max_epochs"):
        Trainer(max_epochs=-3, loggers=False, enable_progress_bar=False)
    with pytest.raises(ValueError, match="max_steps"):
        Trainer(max_steps=-4, loggers=False, enable_progress_bar=False)


@pytest.mark.parametrize("override, needle", [
    ("model.hidden=[0]", "hidden[0]"),
    ("model.hidden=[16,0]", "hidden[1]"),
    ("model.num_classes=0", "num_classes"),
])
def test_zero_width_layers_are_user_errors(app, override, needle):
    r = invoke(app, "fit", CONF, *FAST, override)
    _user_error(r, needle, "model")


def test_a_zero_element_parameter_of_any_model_is_a_user_error():
    """The safety net behind the models' own checks (a plugin model, a _target_)."""
    from ktrain import nn
    from ktrain.config import ConfigError, compose_config, validate
    from ktrain.train.run import check_model

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(16, 0)

    run = validate(compose_config(CONF, ["model.hidden=[0]"]))
    with pytest.warns(UserWarning):
        net = Net()
    with pytest.raises(ConfigError, match=r"net.weight of shape \(0, 16\).*model.hidden"):
        check_model(net, run)
    check_model(nn.Linear(3, 2), run)                 # a sound model passes


@pytest.mark.parametrize("overrides, needles", [
    (["data.drop_last=true", "data.batch_size=1000"],
     ["no training batch", " samples", "data.batch_size=1000", "drop_last=true"]),
    (["trainer.limit_train_batches=0.01"], ["limit_train_batches=0.01", "rounds down"]),
])
def test_an_epoch_without_batches_is_a_user_error(app, overrides, needles):
    r = invoke(app, "fit", CONF, *FAST, *overrides)
    _user_error(r, *needles)


def test_trainer_fit_without_batches_raises():
    import ktrain
    from ktrain.train import ClassificationTask, Trainer
    from ktrain.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(ktrain.randn(5, 3), ktrain.zeros(5, dtype=ktrain.int64))
    loader = DataLoader(ds, batch_size=8, drop_last=True)
    task = ClassificationTask(ktrain.nn.Linear(3, 2), num_classes=2)
    trainer = Trainer(max_epochs=1, loggers=False, enable_progress_bar=False,
                      enable_checkpointing=False, enable_plots=False)
    with pytest.raises(ValueError, match=r"no batch.*5 samples.*batch_size=8"):
        trainer.fit(task, loader)


# ------------------------------------------------------------------ optional keys
def test_every_printed_key_is_overridable_without_plus(app):
    keys = ["trainer.checkpoint_every_n_steps=3", "trainer.limit_test_batches=2",
            "trainer.default_root_dir=somewhere", "trainer.loggers=[csv]",
            "data.drop_last=true", "data.pin_memory=false", "resume=null",
            "task.label_smoothing=0.1", "trainer.limit_predict_batches=3"]
    r = invoke(app, "config", CONF, "-q", *keys)
    assert r.exit_code == 0, r.stderr
    import yaml

    cfg = yaml.safe_load(r.stdout)
    assert cfg["trainer"]["checkpoint_every_n_steps"] == 3
    assert cfg["trainer"]["limit_test_batches"] == 2
    assert cfg["trainer"]["default_root_dir"] == "somewhere"
    assert cfg["trainer"]["loggers"] == ["csv"]
    assert cfg["data"]["drop_last"] is True
    assert cfg["task"]["label_smoothing"] == 0.1
    # a typo is still a typo
    r = invoke(app, "config", CONF, "trainer.max_epoch=3")
    _user_error(r, "max_epoch")


def test_every_key_config_prints_is_overridable(app):
    """Each leaf of `ktrain config`'s output, set back to its own value without '+'."""
    import yaml

    r = invoke(app, "config", CONF, "-q")
    cfg = yaml.safe_load(r.stdout)
    leaves = [f"{s}.{k}" for s, sec in cfg.items() if isinstance(sec, dict)
              for k, v in sec.items() if not isinstance(v, (dict, list))]
    leaves += [k for k, v in cfg.items() if not isinstance(v, (dict, list))]
    for key in leaves:
        head, _, rest = key.partition(".")
        v = cfg[head][rest] if rest else cfg[head]
        text = "null" if v is None else json.dumps(v) if not isinstance(v, str) else v
        r = invoke(app, "config", CONF, "-q", f"{key}={text}")
        assert r.exit_code == 0, (key, r.stderr)


# ------------------------------------------------------------------ the output directory
def test_an_output_dir_that_is_a_file_is_named(app):
    Path("afile").write_text("x")
    r = invoke(app, "fit", CONF, *FAST, "-o", "afile")
    _user_error(r, "afile", "not a directory")
    r = invoke(app, "fit", CONF, *FAST, "-o", "afile/sub")
    _user_error(r, "afile")


def test_a_read_only_or_full_output_dir_is_named(app, monkeypatch):
    import ktrain.config.compose as compose

    def failing(code, text):
        def fsync(fd):
            raise OSError(code, text)
        return fsync

    monkeypatch.setattr(compose.os, "fsync", failing(errno.ENOSPC, "No space left on device"))
    _user_error(invoke(app, "fit", CONF, *FAST), "disk is full", "config.yaml")
    assert not list(Path(".").rglob(".*.tmp"))      # no half-written leftover
    monkeypatch.setattr(compose.os, "fsync", failing(errno.EROFS, "Read-only file system"))
    _user_error(invoke(app, "fit", CONF, *FAST), "read-only", "config.yaml")


def _mount_tmpfs(path, size):
    path.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=True, capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot mount a tmpfs here (not root?)")


def test_a_full_disk_names_the_path_and_keeps_the_log(app, tmp_path):
    disk = tmp_path / f"disk{uuid.uuid4().hex[:6]}"
    _mount_tmpfs(disk, "400k")
    try:
        run = _run_dir(invoke(app, "fit", CONF, *FAST, "-o", disk))
        log = (run / "run.log").read_text()
        assert log
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)   # leave no room at all
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
        finally:
            os.close(fd)
        r = invoke(app, "fit", CONF, *FAST, "trainer.max_epochs=4", "-o", disk,
                   "--resume", run)
        _user_error(r, "disk is full", str(run))
        assert (run / "run.log").read_text().startswith(log)  # never truncated
        (disk / "filler").unlink()
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=20)


# ------------------------------------------------------------------ non-finite losses
def _strict_json(text):
    def bad(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=bad)


def test_a_diverged_run_stops_with_the_step_and_the_loss(app):
    r = invoke(app, "fit", CONF, *FAST, "optim.lr=1e6", "trainer.max_epochs=3")
    assert r.exit_code == 1, (r.stdout, r.stderr)
    err = r.stderr
    assert "NaNGuard" in err and "global step" in err and "loss" in err, err
    assert "Traceback" not in err and "trainer.enable_nan_guard=false" in err
    run = next(Path("outputs/mlp_synthetic").iterdir())
    assert not (run / "metrics.json").exists()       # no results of a bad run
    for ck in run.glob("checkpoints/*.ckpt"):        # whatever was saved is finite
        from ktrain.train.checkpoint import load_checkpoint

        sd = load_checkpoint(ck)["state_dict"]
        assert all(np.isfinite(v.numpy()).all() for v in sd.values()), ck


def test_json_files_are_strict_when_the_guard_is_off(app):
    r = invoke(app, "fit", CONF, *FAST, "optim.lr=1e6", "trainer.enable_nan_guard=false")
    run = _run_dir(r)
    metrics = _strict_json((run / "metrics.json").read_text())
    assert metrics["train/loss"] is None                  # null, never a bare NaN
    for line in (run / "metrics.jsonl").read_text().splitlines():
        _strict_json(line)
    _strict_json((run / "hparams.json").read_text())
    r = invoke(app, "eval", run, "--ckpt", "last")
    assert r.exit_code == 0, r.stderr
    assert _strict_json((run / "eval_val.json").read_text())["metrics"]["val/loss"] is None


# ------------------------------------------------------------------ checkpoints
def test_corrupt_foreign_and_other_model_checkpoints_are_user_errors(app):
    import ktrain

    run = _run_dir(invoke(app, "fit", CONF, *FAST))
    ck = run / "checkpoints"
    (ck / "trunc.ckpt").write_bytes((ck / "last.ckpt").read_bytes()[:3000])
    (ck / "junk.ckpt").write_text("garbage")
    ktrain.save({"w": ktrain.zeros(3)}, ck / "plain.ckpt")
    for name, needle in (("trunc.ckpt", "truncated"), ("junk.ckpt", "not a safetensors"),
                         ("plain.ckpt", "not a ktrain Trainer checkpoint")):
        _user_error(invoke(app, "eval", run, "--ckpt", name), name, needle)
        np.save("x.npy", np.zeros((2, 16), np.float32))
        _user_error(invoke(app, "predict", run, "x.npy", "--ckpt", ck / name), name, needle)
        _user_error(invoke(app, "fit", CONF, *FAST, "--resume", ck / name), name, needle)
    # resuming with another model: a count and the first names, not every key
    err = _user_error(invoke(app, "fit", CONF, *FAST, "model.hidden=[32,8,8]", "--resume",
                             run), "another model", "2 missing keys", "6 mis-shaped keys",
                      "model.net.1.weight (64, 16) vs (32, 16)", "(3 more)")
    assert "model.net.5.weight" not in err and len(err) < 600
    # predict with another model's checkpoint blames the checkpoint, not the inputs
    other = _run_dir(invoke(app, "fit", CONF, *FAST, "model.hidden=[8]"))
    err = _user_error(invoke(app, "predict", run, "x.npy", "--ckpt",
                             other / "checkpoints" / "last.ckpt"), "another model")
    assert "inputs" not in err
    r = invoke(app, "predict", run, "x.npy")                 # its own checkpoint works
    assert r.exit_code == 0, r.stderr


# ------------------------------------------------------------------ a failing sample
_BAD_DATASET = '''
import numpy as np
import ktrain
from ktrain.utils.data import Dataset


class BadFiles(Dataset):
    def __init__(self, n_samples=80, split="train", **kw):
        self.samples = [(f"data/img_{i:03d}.png", i % 4) for i in range(n_samples)]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        if i == 37:
            raise ValueError(f"cannot identify image file {self.samples[i][0]!r}")
        return ktrain.from_numpy(np.full(16, i, np.float32)), self.samples[i][1]
'''


@pytest.mark.parametrize("workers", [0, 2])
def test_a_failing_sample_is_one_short_line(app, monkeypatch, tmp_path, workers):
    mod = f"badfiles_{workers}"
    (tmp_path / f"{mod}.py").write_text(_BAD_DATASET)
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ["fit", CONF, "trainer=fast", "~data.name", f"+data._target_={mod}.BadFiles",
            f"data.num_workers={workers}", "--allow-target", mod]
    r = invoke(app, *args)
    assert r.exit_code == 1, (r.stdout, r.stderr)
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "sample 37 (file data/img_037.png)" in err
    assert "ValueError: cannot identify image file 'data/img_037.png'" in err
    assert len(err) < 300, err
    r = invoke(app, *args, "--debug")                       # the whole story on request
    assert "Traceback" in r.stderr and "__getitem__" in r.stderr


# ------------------------------------------------------------------ missing plugins
def _only_vision(monkeypatch):
    import ktrain.config.compose as compose

    vision = ROOT / "src" / "vision" / "ktrain_vision" / "conf"
    monkeypatch.setattr(compose, "plugin_conf_dirs", lambda: [vision.resolve()])


def test_a_group_of_a_missing_plugin_names_the_pip_command(app, monkeypatch):
    _only_vision(monkeypatch)
    err = _user_error(invoke(app, "fit", str(ROOT / "conf" / "text_cls.yaml")),
                      "text plugin", "pip install ktrain-text", "pip install -e src/text",
                      "data/text_classification")
    assert err.index("pip install") < err.index("Available options")
    _user_error(invoke(app, "config", CONF, "data=char_corpus"), "pip install ktrain-text")
    err = _user_error(invoke(app, "config", CONF, "model=mlpp"), "model/mlpp")
    assert "pip install" not in err                       # a plain typo: no plugin hint


def test_an_optuna_sweep_without_the_extra_names_the_pip_command(monkeypatch):
    import importlib.util

    from ktrain.cli.sweep_cmd import register as register_sweep

    real = importlib.util.find_spec

    def find_spec(name, *a, **k):
        if name.startswith("hydra_plugins"):
            raise ModuleNotFoundError("No module named 'hydra_plugins'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    a = typer.Typer()
    register_sweep(a)
    r = CliRunner().invoke(a, ["sweep", CONF, "optim.lr=interval(1e-4,0.1)", "--sweeper",
                               "optuna"])
    _user_error(r, 'pip install "ktrain[sweep]"')
    assert "hydra_plugins" not in r.stderr
    from ktrain.config import ConfigError, compose_config

    with pytest.raises(ConfigError, match=r'pip install "ktrain\[sweep\]"'):
        compose_config(CONF, ["hydra/sweeper=nosuchsweeper"], return_hydra_config=True)
