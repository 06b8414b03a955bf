"""``ktrain.app.fit``: compose a config with overrides, validate it, make (or find, for a
resume) the run directory and train it; what ``ktrain fit`` runs, callable from Python::

    from ktrain import app
    res = app.fit("conf/mlp_synthetic.yaml", ["optim.lr=0.1", "trainer=fast"])
    res.run_dir, res.metrics
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FitResult", "RunInterrupted", "compose", "config_yaml", "fit"]


@dataclass
class FitResult:
    """What :func:`fit` gives back: the run directory, the final metrics, the run config."""
    run_dir: Path
    metrics: dict = field(default_factory=dict)
    run: object = None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fit`; ``run_dir`` is the directory to resume from."""

    def __init__(self, run_dir):
        super().__init__(str(run_dir))
        self.run_dir = Path(run_dir)


def compose(config_file, overrides=(), allow_targets=(), trust_config=False, resume=None):
    """``(cfg, run, policy)``: the composed and validated config and the target policy
    to build it under. A fresh run honours the config's ``allow_targets`` (plus
    ``allow_targets`` given here, both recorded in ``run.allow_targets``); a resumed one
    is a run directory being opened, so only the ones given here (or ``trust_config``)
    count."""
    from .config import compose_config, validate
    from ..target_policy import TargetPolicy, policy_for_run_dir, valid_modules

    extra = valid_modules(allow_targets or (), "--allow-target")
    cfg = compose_config(config_file, list(overrides or ()))
    resume = resume or cfg.get("resume")
    if resume:
        policy = policy_for_run_dir(extra, trust_config, run_dir=f"--resume {resume}")
    else:
        policy = TargetPolicy(allow=extra, trust=bool(trust_config))
    run = validate(cfg, target_policy=policy)
    run.allow_targets = list(dict.fromkeys([*run.allow_targets, *extra]))
    return cfg, run, policy


def config_yaml(config_file, overrides=(), allow_targets=()) -> str:
    """The composed, validated config as YAML (``ktrain config``)."""
    from .config import to_yaml

    _, run, _ = compose(config_file, overrides, allow_targets)
    return to_yaml(run)


def _remove_if_empty(dirs) -> None:
    """Remove the directories ``dirs`` (innermost first) this call created, if empty."""
    for d in dirs:
        try:
            d.rmdir()  # only an empty directory
        except OSError:
            return


def fit(config_file, overrides=(), *, resume=None, output_dir="outputs",
        allow_targets=(), trust_config=False, enable_progress_bar=None) -> FitResult:
    """Compose ``config_file`` with the Hydra ``overrides``, validate it, build it and
    train it in a new run directory ``<output_dir>/<experiment>/<timestamp>/`` (or, with
    ``resume``: ``'auto'``, a run directory or a checkpoint, continue that run).

    Raises ConfigError/RegistryError for a user error (nothing created), the run's own
    exception when it fails, :class:`RunInterrupted` on Ctrl-C. A run that fails before
    writing anything leaves no directory behind."""
    from .run import new_run_dir, resolve_resume, run_from_config

    overrides = list(overrides or ())
    _, run, policy = compose(config_file, overrides, allow_targets, trust_config, resume)
    run_dir, ckpt = resolve_resume(resume or run.resume, output_dir, run.experiment)
    created = []
    if run_dir is None:
        base = Path(output_dir) / str(run.experiment)
        created = [] if base.exists() else [base]
        run_dir = new_run_dir(output_dir, run.experiment)
        created.insert(0, run_dir)
    try:
        metrics = run_from_config(run, run_dir, overrides=overrides, resume=ckpt,
                                  enable_progress_bar=enable_progress_bar,
                                  target_policy=policy)
    except KeyboardInterrupt:
        _remove_if_empty(created)
        raise RunInterrupted(run_dir) from None
    except BaseException:
        _remove_if_empty(created)  # a run that failed before writing anything: no trace
        raise
    return FitResult(Path(run_dir), dict(metrics or {}), run)
