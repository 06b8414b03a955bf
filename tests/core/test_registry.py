"""ktrain.registry: registration, lookup, build, errors, namespaces, _target_, core entries."""
import subprocess
import sys

import ktrain
import numpy as np
import pytest
from ktrain import plugins
from ktrain.registry import (
    CALLBACKS,
    DATASETS,
    LOGGERS,
    LOSSES,
    METRICS,
    MODELS,
    OPTIMIZERS,
    REGISTRIES,
    SCHEDULERS,
    AmbiguousComponentError,
    ComponentArgumentError,
    ComponentImportError,
    DuplicateComponentError,
    Registry,
    UnknownComponentError,
    get_registry,
)


@pytest.fixture(autouse=True)
def _no_plugins(monkeypatch):
    monkeypatch.setenv("KTRAIN_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins.reset_plugins()
    yield
    plugins.reset_plugins()


class Net:
    def __init__(self, width, depth=2):
        self.width, self.depth = width, depth


def test_register_decorator_call_and_bare():
    R = Registry("thing")

    @R.register("a")
    class A:
        pass

    @R.register
    class MyFancyThing:
        pass

    @R.register()
    def make_b():
        return "b"

    R.register("net", Net)
    assert R.get("a") is A and R.get("my_fancy_thing") is MyFancyThing
    assert R.get("make_b")() == "b"
    assert R.names() == ["a", "make_b", "my_fancy_thing", "net"]
    assert "a" in R and "zzz" not in R and len(R) == 4


def test_build_dict_and_name_and_extra_kwargs():
    R = Registry("thing")
    R.register("net", Net)
    n = R.build({"name": "net", "width": 3})
    assert (n.width, n.depth) == (3, 2)
    n = R.build({"name": "net", "width": 3}, depth=5)
    assert n.depth == 5
    cfg = {"name": "net", "width": 1}
    R.build(cfg)
    assert cfg == {"name": "net", "width": 1}  # caller's dict untouched


def test_build_omegaconf():
    omegaconf = pytest.importorskip("omegaconf")
    R = Registry("thing")
    R.register("net", Net)
    n = R.build(omegaconf.OmegaConf.create({"name": "net", "width": 7}))
    assert n.width == 7


def test_lazy_string_target_not_imported_until_get():
    R = Registry("thing")
    R.register("od", "collections:OrderedDict")
    R.register("dotted", "os.path:join")
    import collections
    assert R.get("od") is collections.OrderedDict
    import os
    assert R.get("dotted") is os.path.join
    R.register("broken", "no_such_module_xyz:Thing")
    with pytest.raises(ComponentImportError, match="no_such_module_xyz"):
        R.get("broken")


def test_duplicate_names_say_where_first():
    R = Registry("thing")
    R.register("net", Net)
    with pytest.raises(DuplicateComponentError, match=r"test_registry\.py:\d+"):
        R.register("net", dict)
    R.register("net", Net)                    # same object again: harmless
    R.register("net", dict, override=True)
    assert R.get("net") is dict


def test_unknown_lists_and_suggests():
    R = Registry("thing")
    for n in ("resnet", "resnext", "mlp"):
        R.register(n, Net)
    with pytest.raises(UnknownComponentError) as e:
        R.get("resnett")
    msg = str(e.value)
    assert "unknown thing 'resnett'" in msg and "Did you mean" in msg and "resnet" in msg
    assert "Available things: mlp, resnet, resnext" in msg
    assert isinstance(e.value, KeyError)


#: a name each first-party plugin registers, by registry
PLUGIN_NAMES = [("vision", MODELS, "resnet18"), ("text", MODELS, "char_gpt"),
                ("audio", DATASETS, "fsdd")]


@pytest.mark.parametrize("key,reg,name", PLUGIN_NAMES)
def test_hint_for_an_installed_plugin_not_loaded_comes_from_its_table(key, reg, name):
    """Autoload off: the plugin's shipped plugin.json (read without importing it)."""
    import importlib.util

    if importlib.util.find_spec(f"ktrain_{key}") is None:
        pytest.skip(f"ktrain_{key} is not installed")
    before = set(sys.modules)
    with pytest.raises(UnknownComponentError) as e:
        reg.get(name)
    msg = str(e.value)
    assert f"provided by the plugin ktrain-{key}, which is installed but not loaded" in msg
    assert "KTRAIN_DISABLE_PLUGIN_AUTOLOAD" in msg
    assert not any(m.startswith(f"ktrain_{key}") for m in set(sys.modules) - before)


@pytest.mark.parametrize("key,reg,name", PLUGIN_NAMES)
def test_hint_for_a_plugin_not_installed_names_its_distribution(key, reg, name, monkeypatch):
    """Nothing installed: no table to read, one generic line per first-party plugin."""
    monkeypatch.setattr(plugins, "discover", lambda: [])
    with pytest.raises(UnknownComponentError) as e:
        reg.get(name)
    msg = str(e.value)
    assert f"pip install ktrain-{key}" in msg and f"pip install -e src/{key}" in msg
    assert name not in str(plugins.FIRST_PARTY)   # no copy of the plugins' contents
    with pytest.raises(UnknownComponentError, match=f"pip install ktrain-{key}") as e:
        reg.get(f"{key}.{name}")
    assert str(e.value).count("pip install ktrain-") == 1   # the namespace names the plugin
    with pytest.raises(UnknownComponentError) as e:
        MODELS.get("mlpp")                        # a typo of a core name: no plugin hint
    assert "pip install" not in str(e.value)
    with pytest.raises(UnknownComponentError) as e:
        LOSSES.get("totally_unknown_loss")        # no plugin provides losses
    assert "pip install" not in str(e.value)


def test_no_hint_for_unknown_names_when_the_plugins_are_installed():
    with pytest.raises(UnknownComponentError) as e:
        MODELS.get("totally_unknown_model")
    assert "pip install" not in str(e.value)


def test_aliases_are_first_class():
    R = Registry("thing")
    R.register("cross_entropy", Net, aliases=("ce",), tags=("classification",))
    assert R.get("ce") is Net and R.resolve_name("ce") == "cross_entropy"
    assert R.names() == ["cross_entropy"] and R.aliases() == {"cross_entropy": ("ce",)}
    assert "ce" in R and R.tagged("classification") == ["cross_entropy"]
    R.register("mse", dict)
    R.alias("mse_loss", "mse")
    assert R.get("MSE_Loss") is dict            # the loose form: case and _ ignored
    with pytest.raises(DuplicateComponentError, match="alias 'ce'"):
        R.register("other", list, aliases=("ce",))
    with pytest.raises(DuplicateComponentError, match="already an alias"):
        R.register("ce", list)
    with pytest.raises(UnknownComponentError) as e:
        R.get("cee")
    assert "Did you mean: ce" in str(e.value)
    assert "cross_entropy (ce)" in str(e.value)
    R.unregister("cross_entropy")
    assert "ce" not in R


def test_core_aliases():
    assert LOSSES.resolve_name("ce") == "cross_entropy"
    assert SCHEDULERS.resolve_name("steplr") == "step"
    assert SCHEDULERS.resolve_name("StepLR") == "step"
    assert OPTIMIZERS.resolve_name("RMSprop") == "rmsprop"
    assert LOSSES.get("bce").__name__ == "BCELoss"
    assert LOSSES.get("bce_with_logits").__name__ == "BCEWithLogitsLoss"


def test_check_validates_without_building():
    built = []

    class Opt:
        def __init__(self, params, lr=0.1):
            built.append(lr)

    R = Registry("optimizer")
    R.register("opt", Opt)
    assert R.check({"name": "opt", "lr": 0.2}, [1]) == "opt" and built == []
    with pytest.raises(ComponentArgumentError, match="did you mean 'lr'"):
        R.check({"name": "opt", "lrr": 0.2}, [1])
    with pytest.raises(UnknownComponentError):
        R.check({"name": "nope"})


def test_argument_errors_name_component_and_accepted():
    R = Registry("thing")
    R.register("net", Net)
    with pytest.raises(ComponentArgumentError) as e:
        R.build({"name": "net", "widht": 3})
    msg = str(e.value)
    assert "thing 'net'" in msg and "did you mean 'width'" in msg
    assert "Accepted arguments: width, depth" in msg and "required: width" in msg
    with pytest.raises(ComponentArgumentError, match="needs a 'name'"):
        R.build({"width": 3})


def test_list_pattern_and_namespaces():
    R = Registry("thing")
    R.register("vision.resnet18", Net)
    R.register("vision.resnet20", Net)
    R.register("text.textcnn", Net)
    R.register("mlp", Net)
    assert R.list("resnet*") == ["vision.resnet18", "vision.resnet20"]
    assert R.list("vision.*") == ["vision.resnet18", "vision.resnet20"]
    assert R.list() == R.names()
    assert R.get("resnet18") is Net and R.resolve_name("textcnn") == "text.textcnn"
    R.register("other.resnet18", dict)
    with pytest.raises(AmbiguousComponentError) as e:
        R.get("resnet18")
    assert "other.resnet18" in str(e.value) and "vision.resnet18" in str(e.value)
    assert R.get("other.resnet18") is dict


def test_target_build():
    from ktrain.target_policy import allow_targets

    with allow_targets("collections", Net.__module__, "no_such_pkg_xyz"):
        _target_builds()


def _target_builds():
    R = Registry("thing")
    od = R.build({"_target_": "collections.OrderedDict", "a": 1})
    assert dict(od) == {"a": 1}
    n = R.build({"_target_": f"{Net.__module__}.Net", "width": 2})
    assert n.width == 2
    p = R.build({"_target_": f"{Net.__module__}:Net", "_partial_": True, "depth": 9})
    assert p(width=1).depth == 9
    with pytest.raises(ComponentArgumentError, match="Accepted arguments: width, depth"):
        R.build({"_target_": f"{Net.__module__}.Net", "wdth": 2})
    with pytest.raises(ComponentImportError):
        R.build({"_target_": "no_such_pkg_xyz.Thing"})
    nested = R.build({"_target_": f"{Net.__module__}.Net",
                      "width": {"_target_": "collections.OrderedDict", "a": 1}})
    assert dict(nested.width) == {"a": 1}


def test_core_registries_resolve_everything():
    expected = {LOSSES: ["cross_entropy", "mse"], OPTIMIZERS: ["sgd", "adam", "adamw"],
                SCHEDULERS: ["step", "cosine", "onecycle"], METRICS: ["accuracy", "f1"],
                CALLBACKS: ["model_checkpoint", "early_stopping", "lr_monitor", "grad_norm",
                            "timer", "progress_bar", "nan_guard", "plots"],
                LOGGERS: ["csv", "jsonl", "tensorboard"], MODELS: ["mlp"],
                DATASETS: ["synthetic_classification", "synthetic_regression"]}
    for reg, names in expected.items():
        for n in names:
            assert n in reg
    for reg in REGISTRIES.values():
        for n in reg.names():
            assert callable(reg.get(n)), (reg, n)
    assert get_registry("optim") is OPTIMIZERS and get_registry("model") is MODELS


def test_core_builds_real_objects(tmp_path):
    model = MODELS.build({"name": "mlp", "in_features": 4, "num_classes": 3, "hidden": [8]})
    out = model(ktrain.randn(5, 4))
    assert tuple(out.shape) == (5, 3)
    loss = LOSSES.build({"name": "cross_entropy"})(out, ktrain.tensor([0, 1, 2, 0, 1]))
    loss.backward()
    opt = OPTIMIZERS.build({"name": "sgd", "lr": 0.1, "momentum": 0.9},
                           params=model.parameters())
    sched = SCHEDULERS.build({"name": "step", "step_size": 2}, optimizer=opt)
    opt.step()
    sched.step()
    assert isinstance(SCHEDULERS.build({"name": "cosine", "T_max": 10}, opt),
                      ktrain.optim.lr_scheduler.CosineAnnealingLR)
    m = METRICS.build({"name": "accuracy", "task": "multiclass", "num_classes": 3})
    m.update(out, ktrain.tensor([0, 1, 2, 0, 1]))
    assert 0 <= float(m.compute()) <= 1
    assert CALLBACKS.build({"name": "early_stopping", "patience": 2}).patience == 2
    LOGGERS.build({"name": "csv", "log_dir": str(tmp_path)})
    cnn = MODELS.build({"name": "tiny_cnn", "in_channels": 1, "num_classes": 2})
    assert tuple(cnn(ktrain.randn(2, 1, 8, 8)).shape) == (2, 2)
    with pytest.raises(ComponentArgumentError, match="optimizer 'sgd'"):
        OPTIMIZERS.build({"name": "sgd", "lr": 0.1, "momentun": 0.9},
                         params=model.parameters())


def test_synthetic_datasets():
    tr = DATASETS.build({"name": "synthetic_classification", "n_samples": 100,
                         "n_features": 5, "n_classes": 4, "seed": 1})
    va = DATASETS.build({"name": "synthetic_classification", "n_samples": 100,
                         "n_features": 5, "n_classes": 4, "seed": 1, "split": "val"})
    te = DATASETS.build({"name": "synthetic_classification", "n_samples": 100,
                         "n_features": 5, "n_classes": 4, "seed": 1, "split": "test"})
    assert (len(tr), len(va), len(te)) == (80, 10, 10)
    x, y = tr[0]
    assert x.dtype == ktrain.float32 and tuple(x.shape) == (5,) and y.dtype == ktrain.int64
    assert tr.num_classes == 4 and len(tr.classes) == 4
    again = DATASETS.build({"name": "synthetic_classification", "n_samples": 100,
                            "n_features": 5, "n_classes": 4, "seed": 1})
    np.testing.assert_array_equal(tr.tensors[0].numpy(), again.tensors[0].numpy())
    ys = {int(v) for v in tr.tensors[1].numpy()}
    assert ys == {0, 1, 2, 3}
    r = DATASETS.build({"name": "synthetic_regression", "n_samples": 50, "n_features": 3,
                        "n_targets": 2, "split": "train"})
    assert len(r) == 40 and tuple(r[0][1].shape) == (2,)
    with pytest.raises(ValueError, match="unknown split"):
        DATASETS.build({"name": "synthetic_regression", "split": "nope"})


def test_import_is_cheap():
    code = ("import sys, ktrain.registry; "
            "heavy = [m for m in ('ktrain.train', 'ktrain.metrics', 'ktrain.models', "
            "'ktrain.datasets', 'omegaconf', 'hydra', 'matplotlib', 'tensorboardX', "
            "'ktrain.plugins') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out


@pytest.mark.parametrize("key", ["vision", "text", "audio"])
def test_each_plugin_table_equals_what_it_registers(key):
    """plugin.json of each plugin lists exactly the names (and aliases) it registers."""
    import importlib.util
    import json
    from pathlib import Path

    from ktrain.registry import REGISTRIES

    spec = importlib.util.find_spec(f"ktrain_{key}")
    if spec is None:
        pytest.skip(f"ktrain_{key} is not installed")
    table = json.loads((Path(spec.origin).parent / "plugin.json").read_text())
    assert plugins.manifests()[key]["provides"] == table["provides"]
    info = {p.name: p for p in plugins.load_plugins()}[key]
    assert info.ok, info.error
    registered = {}
    for attr, names in info.components.items():
        reg = REGISTRIES[attr]
        out = []
        for n in names:
            for full in (n, *reg.entries()[n].aliases):
                out.append(full.split(".", 1)[1] if reg.namespaced and
                           full.startswith(key + ".") else full)
        registered[attr] = sorted(out)
    assert registered == table["provides"]
