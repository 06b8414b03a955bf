"""ktrain.config: composing the shipped experiments, overrides in Hydra syntax, YAML files
outside conf/, typed validation with key paths, and readable errors for every user
mistake. Hydra's global state must be clean after every call."""
import textwrap

import pytest

pytest.importorskip("hydra")

from hydra.core.global_hydra import GlobalHydra
from ktrain.config import (
    ConfigError,
    RunConfig,
    compose_config,
    conf_dir,
    load_run_config,
    save_run_config,
    to_yaml,
    validate,
)
from omegaconf import OmegaConf

CONF = conf_dir()
MLP = CONF / "mlp_synthetic.yaml"
EXPERIMENTS = sorted(p for p in CONF.glob("*.yaml"))


@pytest.fixture(autouse=True)
def hydra_clean():
    GlobalHydra.instance().clear()
    yield
    assert not GlobalHydra.instance().is_initialized(), "GlobalHydra left initialised"


def compose_err(path, overrides=()):
    with pytest.raises(ConfigError) as info:
        compose_config(path, overrides)
    assert not GlobalHydra.instance().is_initialized()
    return str(info.value)


def validate_err(cfg):
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    return info.value


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# --------------------------------------------------------------------------- shipped
def test_conf_dir_has_groups():
    for group in ("model", "data", "optim", "sched", "trainer"):
        assert (CONF / group).is_dir(), group
    assert MLP in EXPERIMENTS


# the plugin each shipped experiment needs (configs of an uninstalled plugin are skipped)
PLUGIN_OF = {"resnet": "ktrain_vision", "mnist_lenet": "ktrain_vision",
             "cifar10_resnet20": "ktrain_vision", "imagefolder_resnet18": "ktrain_vision",
             "text_cls": "ktrain_text", "char_lm": "ktrain_text",
             "audio_digits": "ktrain_audio"}


# values a shipped experiment deliberately leaves required (???): the user's data
REQUIRED = {"audio_digits": ["data.root=/data/fsdd/recordings"],
            "text_cls": ["data.files=[/data/sentences.tsv]"],
            "char_lm": ["data.files=[/data/input.txt]"]}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_shipped_experiments_validate(path):
    if path.stem in PLUGIN_OF:
        pytest.importorskip(PLUGIN_OF[path.stem])
    required = REQUIRED.get(path.stem, [])
    if required:  # without them: one clear 'missing required value' line per key
        text = str(validate_err(compose_config(path)))
        for o in required:
            assert f"{o.split('=')[0]}: missing required value" in text
    run = validate(compose_config(path, required))
    assert isinstance(run, RunConfig)
    assert run.experiment == path.stem
    assert run.model.name and run.data.name and run.optim.name


def test_mlp_synthetic_content():
    run = validate(compose_config(MLP))
    assert run.seed == 0 and run.task.type == "classification"
    assert run.model.name == "mlp"
    # interpolations resolved: model sizes follow the data
    assert run.model.kwargs["in_features"] == run.data.kwargs["n_features"]
    assert run.model.kwargs["num_classes"] == run.data.kwargs["n_classes"] == \
        run.task.num_classes
    assert run.optim.name == "sgd" and run.optim.lr == 0.1 and run.optim.momentum == 0.9
    assert run.optim.kwargs == {"nesterov": False}
    assert run.optim.to_dict()["nesterov"] is False
    assert run.sched.name == "cosine_annealing"
    assert run.sched.kwargs["T_max"] == run.trainer.max_epochs == 20
    assert run.trainer.precision == "32" and run.trainer.callbacks == []


@pytest.mark.parametrize("optim,sched,trainer", [("sgd", "cosine", "default"),
                                                  ("adam", "step", "fast"),
                                                  ("adam", "none", "default")])
def test_every_group_option_validates(optim, sched, trainer):
    run = validate(compose_config(MLP, [f"optim={optim}", f"sched={sched}",
                                        f"trainer={trainer}"]))
    assert run.optim.name == optim
    assert (run.sched is None) == (sched == "none")


# --------------------------------------------------------------------------- overrides
def test_override_value():
    run = validate(compose_config(MLP, ["optim.lr=0.25", "data.batch_size=8", "seed=7"]))
    assert run.optim.lr == 0.25 and run.data.batch_size == 8 and run.seed == 7


def test_override_append_key():
    cfg = compose_config(MLP, ["+trainer.checkpoint_every_n_steps=10",
                               "+optim.dampening=0.1"])
    run = validate(cfg)
    assert run.trainer.checkpoint_every_n_steps == 10
    assert run.optim.kwargs["dampening"] == 0.1


def test_override_delete_group():
    cfg = compose_config(MLP, ["~sched"])
    assert "sched" not in cfg
    assert validate(cfg).sched is None


def test_override_group_switch():
    run = validate(compose_config(MLP, ["optim=adam", "trainer=fast"]))
    assert run.optim.name == "adam" and run.optim.kwargs["betas"] == [0.9, 0.999]
    assert run.trainer.max_epochs == 2 and run.trainer.enable_progress_bar is False
    assert run.sched.kwargs["T_max"] == 2  # interpolation follows the switched trainer


def test_override_interpolation_follows():
    run = validate(compose_config(MLP, ["data.n_classes=7"]))
    assert run.model.kwargs["num_classes"] == 7 and run.task.num_classes == 7


def test_path_without_suffix_and_relative(monkeypatch):
    monkeypatch.chdir(CONF.parent)
    assert validate(compose_config("conf/mlp_synthetic")).experiment == "mlp_synthetic"


# --------------------------------------------------------------------------- outside conf/
def test_yaml_outside_conf_uses_shipped_groups(tmp_path):
    path = write(tmp_path, "elsewhere/my_exp.yaml", """\
        defaults:
          - model: mlp
          - data: synthetic_classification
          - optim: adam
          - trainer: fast
          - _self_
        optim:
          lr: 0.005
        data:
          n_classes: 3
        """)
    run = validate(compose_config(path, ["trainer.max_epochs=1"]))
    assert run.experiment == "my_exp"  # defaults to the file's stem
    assert run.optim.name == "adam" and run.optim.lr == 0.005
    assert run.model.kwargs["num_classes"] == 3 and run.sched is None
    assert run.trainer.max_epochs == 1


def test_yaml_outside_conf_with_own_group(tmp_path):
    write(tmp_path, "optim/mine.yaml", "name: rmsprop\nlr: 0.002\nalpha: 0.9\n")
    path = write(tmp_path, "exp.yaml", """\
        defaults:
          - model: mlp
          - data: synthetic_classification
          - optim: mine
          - _self_
        experiment: local
        """)
    run = validate(compose_config(path))
    assert run.experiment == "local" and run.optim.name == "rmsprop"
    assert run.optim.kwargs == {"alpha": 0.9}
    # the local option and the shipped ones are all reachable
    assert validate(compose_config(path, ["optim=sgd"])).optim.name == "sgd"


def test_yaml_own_searchpath_is_kept(tmp_path):
    write(tmp_path, "extra/model/tiny.yaml", "name: tiny_net\nwidth: 4\n")
    path = write(tmp_path, "exp/e.yaml", f"""\
        defaults:
          - model: tiny
          - data: synthetic_classification
          - _self_
        hydra:
          searchpath:
            - file://{tmp_path / 'extra'}
        """)
    run = validate(compose_config(path))
    assert run.model.name == "tiny_net" and run.data.name == "synthetic_classification"


def test_component_with_target(tmp_path):
    path = write(tmp_path, "t.yaml", """\
        defaults:
          - data: synthetic_classification
          - _self_
        allow_targets: [my_pkg]
        model:
          _target_: my_pkg.MyNet
          width: 3
        """)
    run = validate(compose_config(path))
    assert run.model.name is None and run.model.kwargs["_target_"] == "my_pkg.MyNet"
    assert run.allow_targets == ["my_pkg"]


# --------------------------------------------------------------------------- compose errors
def test_missing_file(tmp_path):
    msg = compose_err(tmp_path / "nope.yaml")
    assert "not found" in msg and "nope.yaml" in msg
    assert "directory" in compose_err(tmp_path)


def test_wrong_suffix(tmp_path):
    path = write(tmp_path, "a.yml", "seed: 1\n")
    assert ".yaml" in compose_err(path)


def test_bad_yaml_line_number(tmp_path):
    path = write(tmp_path, "bad.yaml", "seed: 1\noptim:\n  lr: [0.1, 0.2\n  name: sgd\n")
    msg = compose_err(path)
    assert msg.startswith("bad YAML in ") and "bad.yaml, line 4" in msg


def test_bad_yaml_in_group_file(tmp_path):
    write(tmp_path, "optim/broken.yaml", "name: sgd\nlr: : 0.1\n")
    path = write(tmp_path, "exp.yaml", "defaults:\n  - optim: broken\n  - _self_\n")
    msg = compose_err(path)
    assert "bad YAML" in msg and "broken.yaml, line 2" in msg


def test_top_level_not_mapping(tmp_path):
    assert "mapping" in compose_err(write(tmp_path, "l.yaml", "- 1\n- 2\n"))


def test_unknown_group_option():
    msg = compose_err(MLP, ["optim=adamx"])
    assert "Could not find 'optim/adamx'" in msg
    assert "Available options in 'optim':" in msg and "adam" in msg and "sgd" in msg
    assert "Config search path" not in msg


def test_unknown_group_option_in_file(tmp_path):
    path = write(tmp_path, "e.yaml", "defaults:\n  - model: resnet_nope\n  - _self_\n")
    msg = compose_err(path)
    assert "Available options in 'model':" in msg and "mlp" in msg


def test_override_of_unknown_key():
    msg = compose_err(MLP, ["optim.lrr=0.1"])
    assert "Could not override 'optim.lrr'" in msg and "+optim.lrr=0.1" in msg


@pytest.mark.parametrize("override", ["optim.lr", "optim.lr=[1,", "=3"])
def test_malformed_override(override):
    msg = compose_err(MLP, [override])
    assert "override" in msg.lower() and override.split("=")[0] in msg


# --------------------------------------------------------------------------- validation
def test_wrong_type_message():
    err = validate_err(compose_config(MLP, ["optim.lr=fast"]))
    assert str(err) == "invalid config:\n  optim.lr: expected a float, got 'fast' (str)"
    assert err.problems == ["optim.lr: expected a float, got 'fast' (str)"]


def test_missing_value_message():
    msg = str(validate_err(compose_config(MLP, ["data.batch_size=???"])))
    assert "data.batch_size: missing required value (???); expected an int" in msg


def test_missing_section_and_name(tmp_path):
    path = write(tmp_path, "m.yaml", "defaults:\n  - optim: sgd\n  - _self_\n"
                 "data:\n  batch_size: 4\n")
    msg = str(validate_err(compose_config(path)))
    assert "model: missing required value" in msg
    assert "data.name: missing required value" in msg


def test_unknown_key_did_you_mean():
    msg = str(validate_err(compose_config(MLP, ["+trainer.max_epoch=3"])))
    assert "trainer.max_epoch: unknown key; did you mean 'max_epochs'?" in msg


def test_unknown_top_level_key():
    msg = str(validate_err(compose_config(MLP, ["+optimizer.lr=3", "+zzz=1"])))
    assert "optimizer: unknown key; did you mean 'optim'?" in msg
    assert "zzz: unknown key; valid keys: experiment, seed," in msg


def test_unknown_task_type_and_task_keys(monkeypatch):
    monkeypatch.setenv("KTRAIN_DISABLE_PLUGIN_AUTOLOAD", "1")
    text = str(validate_err(compose_config(MLP, ["task.type=segmentation"])))
    assert "task.type: unknown task 'segmentation'" in text
    assert "classification" in text and "regression" in text
    text = str(validate_err(compose_config(MLP, ["+task.num_clases=3"])))
    assert "task.num_clases: unknown key for task.type 'classification'" in text
    assert "did you mean 'num_classes'?" in text


def test_bad_choice_and_nested_paths():
    err = validate_err(compose_config(MLP, [
        "trainer.precision=16x", "+trainer.callbacks=[{name: x},3]",
        "trainer.enable_progress_bar=maybe", "seed=1.5"]))
    text = str(err)
    assert "trainer.precision: expected one of '32'" in text and "did you mean '16'?" in text
    assert "trainer.callbacks[1]: expected a mapping (a config section), got 3 (int)" in text
    assert "trainer.enable_progress_bar: expected a boolean, got 'maybe' (str)" in text
    assert "seed: expected an int, got 1.5 (float)" in text


def test_lists_all_problems_at_once():
    err = validate_err(compose_config(MLP, ["optim.lr=fast", "data.batch_size=???",
                                            "+trainer.max_epoch=3", "seed=abc"]))
    assert len(err.problems) == 4
    assert str(err).startswith("invalid config (4 problems):")
    for key in ("optim.lr", "data.batch_size", "trainer.max_epoch", "seed"):
        assert any(p.startswith(key + ":") for p in err.problems), key


def test_value_checks():
    err = validate_err(compose_config(MLP, ["trainer.accumulate_grad_batches=0",
                                            "trainer.val_check_interval=1.5",
                                            "data.batch_size=0"]))
    assert len(err.problems) == 3
    assert "trainer.val_check_interval: expected a float in (0, 1]" in str(err)


def test_coercions_and_plain_dict():
    run = validate(compose_config(MLP, ["optim.lr=1", "trainer.precision=16"]))
    assert run.optim.lr == 1.0 and isinstance(run.optim.lr, float)
    assert run.trainer.precision == "16"
    # a plain dict works too, and a RunConfig round-trips through to_dict
    plain = {"experiment": "x", "model": {"name": "mlp"}, "data": {"name": "d"},
             "optim": {"name": "sgd", "lr": 0.1}, "trainer": {"precision": 32}}
    run = validate(plain)
    assert run.trainer.precision == "32" and run.sched is None
    assert validate(run.to_dict()) == run


def test_config_error_is_value_error():
    assert issubclass(ConfigError, ValueError)


def test_unresolvable_interpolation(tmp_path):
    path = write(tmp_path, "i.yaml", "defaults:\n  - model: mlp\n  - data: "
                 "synthetic_classification\n  - _self_\nseed: ${nowhere.x}\n")
    msg = str(validate_err(compose_config(path)))
    assert "seed: cannot resolve" in msg


# --------------------------------------------------------------------------- output
def test_to_yaml_and_save(tmp_path):
    cfg = compose_config(MLP, ["optim=adam", "optim.lr=0.01"])
    text = to_yaml(cfg)
    assert "in_features: 16" in text and "${" not in text  # resolved
    run = validate(cfg)
    assert validate(OmegaConf.create(to_yaml(run))) == run
    config_file, overrides_file = save_run_config(cfg, tmp_path / "run")
    assert config_file.read_text() == text
    assert OmegaConf.to_container(OmegaConf.load(overrides_file)) == ["optim=adam",
                                                                     "optim.lr=0.01"]
    assert validate(load_run_config(tmp_path / "run")) == run
    save_run_config(cfg, tmp_path / "run2", overrides=["seed=3"])
    assert OmegaConf.load(tmp_path / "run2" / "overrides.yaml")[0] == "seed=3"
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_load_run_config_missing(tmp_path):
    with pytest.raises(ConfigError, match="no saved config"):
        load_run_config(tmp_path)


def test_outer_hydra_app_is_restored():
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3", job_name="outer"):
        outer = GlobalHydra.instance().hydra
        compose_config(MLP, ["seed=1"])
        assert GlobalHydra.instance().hydra is outer
        with pytest.raises(ConfigError):
            compose_config(MLP, ["optim=nope"])
        assert GlobalHydra.instance().hydra is outer


def test_callbacks_and_loggers_components():
    callbacks = "trainer.callbacks=[{name: early_stopping, monitor: 'val/loss', patience: 3}]"
    cfg = compose_config(MLP, [callbacks, "+trainer.loggers=[csv, {name: jsonl}]"])
    tr = validate(cfg).trainer
    assert tr.callbacks[0].name == "early_stopping"
    assert tr.callbacks[0].kwargs == {"monitor": "val/loss", "patience": 3}
    assert tr.loggers[0] == "csv" and tr.loggers[1].name == "jsonl"
    assert validate(compose_config(MLP, ["+trainer.loggers=false"])).trainer.loggers is False


def test_hydra_node_ignored():
    cfg = compose_config(MLP, return_hydra_config=True)
    assert "hydra" in cfg
    assert validate(cfg).experiment == "mlp_synthetic"


def test_searchpath_override_is_merged(tmp_path):
    write(tmp_path, "extra/model/tiny.yaml", "name: tiny_net\n")
    path = write(tmp_path, "exp/e.yaml", "defaults:\n  - model: tiny\n"
                 "  - data: synthetic_classification\n  - _self_\n")
    overrides = [f"hydra.searchpath=[file://{tmp_path / 'extra'}]"]
    cfg = compose_config(path, overrides)
    assert validate(cfg).model.name == "tiny_net"
    save_run_config(cfg, tmp_path / "run")  # the user's overrides, not ktrain's additions
    assert OmegaConf.to_container(OmegaConf.load(tmp_path / "run" / "overrides.yaml")) == \
        overrides


def test_shipped_config_builds_through_the_registries():
    """The composed model/data sections are accepted by the registered builders."""
    import ktrain as kt
    from ktrain.registry import DATASETS, MODELS

    run = validate(compose_config(MLP))
    # loader settings (batch_size, shuffle ...) are fields; the dataset gets name + kwargs
    ds = DATASETS.build({"name": run.data.name, **run.data.kwargs})
    model = MODELS.build(run.model.to_dict())
    x, y = ds[0]
    out = model(x.unsqueeze(0))
    assert out.shape == (1, run.task.num_classes) and isinstance(y, kt.Tensor)
