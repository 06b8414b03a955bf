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
:mod:`~ktrain.app.multirun` (Hydra sweeps), :mod:`~ktrain.app.confusion`. The engine
(:mod:`ktrain.train` and below) never imports this package; the old paths
``ktrain.train.run`` / ``evaluate`` / ``sweep`` / ``confusion`` still import these modules
(:mod:`ktrain._moved`).
"""
from __future__ import annotations

from .fit import FitResult, RunInterrupted, compose, config_yaml, fit

__all__ = ["FitResult", "RunInterrupted", "compose", "config_yaml", "evaluate", "fit",
           "predict", "sweep"]


def evaluate(run, split="val", ckpt="auto", **kwargs):
    """Evaluate a run directory (or checkpoint) on ``split``:
    :func:`ktrain.app.evaluation.evaluate_run` (what ``ktrain eval`` runs)."""
    from .evaluation import evaluate_run

    return evaluate_run(run, split=split, ckpt=ckpt, **kwargs)


def predict(run, inputs, **kwargs):
    """Predict with a run on input files/texts: :func:`ktrain.app.evaluation.predict_run`
    (what ``ktrain predict`` runs)."""
    from .evaluation import predict_run

    return predict_run(run, inputs, **kwargs)


def sweep(config_file, overrides=(), **kwargs):
    """A Hydra multirun of ``config_file``: :func:`ktrain.app.multirun.run_sweep` (what
    ``ktrain sweep`` runs)."""
    from .multirun import run_sweep

    return run_sweep(config_file, list(overrides or ()), **kwargs)
