"""The config-driven application: what the ``ktrain`` commands run, callable from Python.

    from ktrain import app
    res = app.fit("conf/resnet.yaml", ["optim.lr=0.1"])      # = ktrain fit conf/... optim.lr=0.1
    app.evaluate(res.run_dir, split="test")                  # = ktrain eval RUN --split test
    app.predict(res.run_dir, ["x.npy"], top_k=3)             # = ktrain predict RUN x.npy
    app.sweep("conf/mlp_synthetic.yaml", ["optim.lr=0.01,0.1"])

Layout: :mod:`~ktrain.app.fit` (compose + validate a config, run directories of a fit,
:func:`fit`), :mod:`~ktrain.app.run` (components from a validated config, run
directories, resume resolution, :func:`~ktrain.app.run.run_from_config`),
:mod:`~ktrain.app.evaluation` (eval/predict of a run directory, prediction readers),
:mod:`~ktrain.app.multirun` (Hydra sweeps), :mod:`~ktrain.app.textgen` (text from a
language-model run), :mod:`~ktrain.app.confusion`. The engine
(:mod:`ktrain.train` and below) never imports this package; the old paths
``ktrain.train.run`` / ``evaluate`` / ``sweep`` / ``confusion`` still import these modules
(:mod:`ktrain._moved`).
"""
from __future__ import annotations

from .fit import FitResult, RunInterrupted, compose, config_yaml, fit

__all__ = ["FitResult", "RunInterrupted", "compose", "config_yaml", "evaluate", "fit",
           "generate", "predict", "sweep"]


def generate(run, prompt, **kwargs):
    """Yield the continuation of ``prompt`` by a language-model run, piece by piece:
    :func:`ktrain.app.textgen.generate_run` (what ``ktrain generate`` runs)."""
    from .textgen import generate_run

    return generate_run(run, prompt, **kwargs)


def evaluate(run, split="val", ckpt="auto", overrides=(), **kwargs):
    """Evaluate a run directory (or checkpoint) on ``split`` ('val' or 'test'):
    :func:`ktrain.app.evaluation.evaluate_run` (what ``ktrain eval`` runs)."""
    from .config import ConfigError
    from .evaluation import evaluate_run

    if split not in ("val", "test"):
        raise ConfigError(f"--split must be 'val' or 'test', got {split!r}")
    return evaluate_run(run, split=split, overrides=list(overrides or ()), ckpt=ckpt,
                        **kwargs)


def predict(run, inputs, output=None, **kwargs):
    """Predict with a run on input files/texts: :func:`ktrain.app.evaluation.predict_run`
    (what ``ktrain predict`` runs); ``output``: also write them to this .json/.csv."""
    from .evaluation import predict_run, write_predictions

    records = predict_run(run, inputs, **kwargs)
    if output is not None:
        write_predictions(records, output)
    return records


def sweep(config_file, params=(), **kwargs):
    """A Hydra multirun of ``config_file`` (what ``ktrain sweep`` runs): ``params`` are
    Hydra overrides, those with several values swept, the others fixed for every run;
    :func:`ktrain.app.multirun.run_sweep` does the rest."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from .config import ConfigError
    from .multirun import run_sweep

    swept, fixed = [], list(kwargs.pop("fixed", ()))
    parser = OverridesParser.create()
    for p in params or ():
        try:
            o = parser.parse_override(p)
            (swept if o.is_sweep_override() else fixed).append(p)
        except Exception:  # noqa: BLE001 - reported with context by run_sweep
            swept.append(p)
    if not swept:
        raise ConfigError("nothing to sweep: give at least one PARAM=VALUES with "
                          "several values (e.g. optim.lr=0.01,0.1 or seed=range(3))")
    return run_sweep(config_file, swept, fixed=fixed, **kwargs)
