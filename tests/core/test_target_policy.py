"""ktrain.target_policy: a config's ``_target_`` builds only ktrain's and the installed
plugins' components, or modules the user allows; a received run directory does not get
the allow list it records."""
import sys
import textwrap
from pathlib import Path

import pytest
from ktrain.config import ConfigError, validate
from ktrain.registry import MODELS, RegistryError, build_from_target
from ktrain.target_policy import (
    TargetPolicy,
    UntrustedTargetError,
    allow_targets,
    check_hydra_node,
    check_targets,
    plugin_packages,
    policy_for_run_dir,
    use_policy,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def payload(marker):
    """The issue's payload: a nested ``os.system`` inside a harmless-looking model."""
    return {"_target_": "builtins.dict",
            "payload": {"_target_": "os.system", "_args_": [f"touch {marker}"]}}


def base_cfg(**sections):
    cfg = {"experiment": "x",
           "model": {"name": "mlp", "in_features": 4, "num_classes": 2},
           "data": {"name": "synthetic_classification", "n_features": 4, "n_classes": 2}}
    cfg.update(sections)
    return cfg


@pytest.fixture
def marker(tmp_path):
    m = tmp_path / "MARKER"
    yield m
    assert not m.exists(), "a refused target ran"


# ------------------------------------------------------------------------ the rule
@pytest.mark.parametrize("target", ["ktrain.nn.Linear", "ktrain:nn.Linear", "ktrain.models.MLP",
                                    "ktrain.tensor", "ktrain.nn.functional.relu",
                                    "ktrain.datasets.synthetic_classification",
                                    "ktrain.optim.SGD"])
def test_ktrain_components_are_allowed(target):
    assert TargetPolicy().problem(target) is None


@pytest.mark.parametrize("target, why", [
    ("os.system", "not a component of ktrain"),
    ("builtins.eval", "not a component of ktrain"),
    ("ktrain.train.run.os.system", "resolves to posix.system"),       # a re-export
    ("ktrain.registry.MODELS.register", "machinery"),   # would register "os:system"
    ("ktrain.registry.get_registry", "machinery"),
    ("ktrain.serialization.atomic_write_text", "machinery"),           # writes any file
    ("ktrain.nn.Module.load_state_dict", "a method"),
    ("ktrain.nn", "a module"),
    ("ktrain.nn.__class__", "dunder"),
    ("ktrain.train.run.Path", "pathlib"),
    ("not a path", "not an import path"),
])
def test_everything_else_is_refused(target, why):
    msg = TargetPolicy().problem(target)
    assert msg is not None and why in msg, msg
    assert "allow_targets" in msg or "dunder" in msg or "import path" in msg


def test_prefix_is_a_whole_package_and_nothing_is_imported(tmp_path, monkeypatch):
    """``ktrainevil`` is not ``ktrain``; a refused module is never imported."""
    pkg = tmp_path / "ktrainevil"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        f"open({str(tmp_path / 'IMPORTED')!r}, 'w').close()\ndef f(): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    msg = TargetPolicy().problem("ktrainevil.f")
    assert "'ktrainevil.f' is not a component" in msg
    assert not (tmp_path / "IMPORTED").exists() and "ktrainevil" not in sys.modules
    assert TargetPolicy(allow=("ktrainevil",)).problem("ktrainevil.f") is None
    assert TargetPolicy(allow=("ktrain",)).problem("ktrainevil.f") is not None


def test_installed_plugins_are_allowed():
    tops = plugin_packages()
    if "ktrain_vision" not in tops:
        pytest.skip("ktrain-vision not installed")
    assert TargetPolicy().problem("ktrain_vision.models.resnet18") is None
    # a plugin function no registry lists (it writes any file) is not a component
    assert "no registry lists" in TargetPolicy().problem("ktrain_vision.io.write_file")


# ------------------------------------------------------------------------ validate
def test_validate_names_every_refused_target_with_its_key_path(marker):
    cfg = base_cfg(model=payload(marker))
    cfg["optim"] = {"name": "sgd", "hook": {"_target_": "ktrain.train.run.os.system"}}
    cfg["trainer"] = {"callbacks": [{"name": "timer", "x": {"_target_": "os.getcwd"}}]}
    cfg["task"] = {"type": "classification", "loss": "cross_entropy"}
    with pytest.raises(UntrustedTargetError) as e:
        validate(cfg)
    assert isinstance(e.value, ConfigError) and isinstance(e.value, RegistryError)
    paths = [p.split(":")[0] for p in e.value.problems]
    assert paths == ["model._target_", "model.payload._target_", "optim.hook._target_",
                     "trainer.callbacks[0].x._target_"]
    assert "os.system" in e.value.problems[1]


@pytest.mark.parametrize("model", [
    {"_target_": "ktrain.nn.Sequential", "_args_": [{"_target_": "os.system",
                                                     "_args_": ["touch M"]}]},
    {"_target_": "ktrain.models.MLP", "in_features": 4, "num_classes": 2,
     "activation": {"_target_": "os.system", "_partial_": True}},
    {"name": "mlp", "in_features": 4, "num_classes": 2,
     "extra": [[{"deeper": {"_target_": "os.system"}}]]},
])
def test_args_partial_and_any_depth_are_checked(model):
    with pytest.raises(UntrustedTargetError, match="os.system"):
        validate(base_cfg(model=model))


def test_allow_targets_in_the_config(tmp_path):
    cfg = base_cfg(model={"_target_": "my_pkg.Net"}, allow_targets=["my_pkg"])
    assert validate(cfg).allow_targets == ["my_pkg"]
    cfg["model"] = {"_target_": "my_pkgevil.Net"}
    with pytest.raises(UntrustedTargetError, match="my_pkgevil"):
        validate(cfg)
    with pytest.raises(ConfigError, match=r"allow_targets\[1\]: expected a module name"):
        validate(base_cfg(allow_targets=["ok", "rm -rf /"]))


def test_a_run_directory_does_not_get_its_recorded_allow_targets():
    cfg = base_cfg(model={"_target_": "my_pkg.Net"}, allow_targets=["my_pkg"])
    with pytest.raises(UntrustedTargetError) as e:
        validate(cfg, target_policy=policy_for_run_dir(run_dir="runs/x"))
    msg = str(e.value)
    assert "model._target_" in msg and "--trust-config" in msg and "runs/x" in msg
    assert "allow_targets ['my_pkg'] are not honoured" in msg
    validate(cfg, target_policy=policy_for_run_dir(["my_pkg"]))      # --allow-target
    validate(cfg, target_policy=policy_for_run_dir(trust_config=True))  # --trust-config
    with pytest.raises(ConfigError, match="--allow-target"):
        policy_for_run_dir(["a b"])


# ------------------------------------------------------------------------ building
def test_build_refuses_before_calling_anything(marker):
    with pytest.raises(UntrustedTargetError, match="'builtins.dict' is not a component"):
        MODELS.build(payload(marker))
    with allow_targets("builtins"), pytest.raises(UntrustedTargetError, match="os.system"):
        MODELS.build(payload(marker))     # the outer one allowed: the nested one is not
    with pytest.raises(UntrustedTargetError, match="os.system"):
        build_from_target({"_target_": "os.system", "_partial_": True,
                           "_args_": [f"touch {marker}"]})
    with pytest.raises(UntrustedTargetError, match="os.system"):  # nested in _args_
        build_from_target({"_target_": "ktrain.nn.Sequential",
                           "_args_": [{"_target_": "os.system",
                                       "_args_": [f"touch {marker}"]}]})
    with pytest.raises(UntrustedTargetError, match="machinery"):
        build_from_target({"_target_": "ktrain.registry.MODELS.register",
                           "_args_": ["evil", "os:system"]})
    assert "evil" not in MODELS


def test_build_under_an_allowing_policy(tmp_path):
    m = MODELS.build({"_target_": "ktrain.nn.Linear", "in_features": 2, "out_features": 3})
    assert m.weight.shape == (3, 2)
    with allow_targets("collections"):
        assert dict(MODELS.build({"_target_": "collections.OrderedDict", "a": 1})) == {"a": 1}
    with pytest.raises(UntrustedTargetError):  # the with block is over
        MODELS.build({"_target_": "collections.OrderedDict", "a": 1})
    out = tmp_path / "ran"
    with use_policy(TargetPolicy(trust=True)):
        build_from_target({"_target_": "os.system", "_args_": [f"touch {out}"]})
    assert out.exists()


def test_check_targets_walks_without_recursion():
    node = {"_target_": "os.system"}
    for _ in range(3000):
        node = {"a": [node]}
    (problem,) = check_targets(node, TargetPolicy())
    assert problem.startswith("a[0]" + ".a[0]" * 2999 + "._target_:")


# ------------------------------------------------------------------------ hydra's own door
def test_the_hydra_node_of_a_sweep_is_checked():
    from ktrain.config import compose_config
    from omegaconf import OmegaConf

    conf = SRC.parent / "conf" / "mlp_synthetic.yaml"
    node = OmegaConf.to_container(compose_config(conf, return_hydra_config=True).hydra)
    assert check_hydra_node(node, TargetPolicy()) == []       # Hydra's own launcher/sweeper
    node["callbacks"] = {"cb": {"_target_": "os.system", "command": "touch M"}}
    node["job_logging"]["handlers"]["x"] = {"()": "os.system"}
    problems = check_hydra_node(node, TargetPolicy())
    assert [p.split(":")[0] for p in problems] == ["hydra.callbacks.cb._target_",
                                                   "hydra.job_logging.handlers.x.()"]


def test_ktrain_never_calls_hydras_instantiate():
    """Hydra's instantiate/call on a user config would bypass the policy."""
    hits = [str(p) for p in SRC.rglob("*.py")
            if any(w in p.read_text(encoding="utf-8")
                   for w in ("hydra.utils", "instantiate(", "from hydra.utils"))]
    assert hits == []


def test_sweep_refuses_before_any_job_runs(tmp_path, marker):
    from ktrain.train.sweep import run_sweep

    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(f"""\
        defaults: [{{model: mlp}}, {{data: synthetic_classification}}, _self_]
        seed: 0
        hydra:
          callbacks:
            evil: {{_target_: builtins.open, file: "{marker}", mode: w}}
        """))  # hydra.main instantiates its callbacks: this one would create the marker
    with pytest.raises(UntrustedTargetError, match="hydra.callbacks.evil._target_"):
        run_sweep(path, ["seed=0,1"], output_dir=tmp_path / "multirun", hydra_logging=False)
    assert not (tmp_path / "multirun").exists()
