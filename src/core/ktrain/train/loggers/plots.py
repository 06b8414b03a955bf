"""PNG plots of a run's curves, drawn from its ``metrics.jsonl`` (or ``metrics.csv``).

``plot_metrics(log_dir)`` writes, into ``log_dir`` (or ``out_dir``), each plot whose
data is there:

* ``loss.png``: every metric with ``loss`` in its name (``train/loss``, ``val/loss``)
  against the step; log scale when the values span more than two decades;
* ``metrics.png``: the other ``train``/``val``/``test`` metrics, one panel per metric
  (``train/accuracy``, ``train/accuracy_epoch`` and ``val/accuracy`` share the
  ``accuracy`` panel);
* ``lr.png``: the learning rates logged by ``LearningRateMonitor`` (``lr-*``), with
  momentum and weight decay in panels of their own when logged.

In a fit the ``PlotCallback`` (``ktrain.train.callbacks``) calls it at the end (and after
a failure, to show what went wrong). Figures are drawn on matplotlib's Agg canvas
directly, without pyplot: no display, no global backend switch, safe in threads.
matplotlib is the optional ``plots`` extra: without it ``plot_metrics`` raises
``PlotsNotInstalled`` (an ImportError) that names ``pip install "ktrain[plots]"``.
"""
from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from pathlib import Path

from .._matplotlib import agg_figure
from .jsonl import read_jsonl

__all__ = ["plot_metrics", "read_metrics"]

_SKIP = {"step", "time", "epoch"}
_PREFIXES = ("train", "val", "test")


def read_metrics(log_dir, filenames=("metrics.jsonl", "metrics.csv")) -> list[dict]:
    """The logged records of a run directory: from the first of ``filenames`` that exists."""
    log_dir = Path(log_dir)
    for name in filenames:
        path = log_dir / name
        if not path.exists():
            continue
        if path.suffix == ".jsonl":
            return read_jsonl(path)
        with open(path, newline="") as fh:
            return [{k: _num(v) for k, v in row.items() if k is not None}
                    for row in csv.DictReader(fh)]
    return []


def _num(text):
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _series(records: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    out: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for i, rec in enumerate(records):
        step = rec.get("step", i)
        if step is None:
            continue
        for k, v in rec.items():
            if k in _SKIP or not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            if not math.isfinite(v):
                continue
            xs, ys = out[k]
            xs.append(float(step))
            ys.append(float(v))
    return dict(out)


def _split_prefix(name: str) -> tuple[str, str] | None:
    for p in _PREFIXES:
        for sep in ("/", "_"):
            if name.startswith(p + sep) and len(name) > len(p) + 1:
                rest = name[len(p) + 1:]
                for suffix in ("_step", "_epoch"):  # Task.log's on_step+on_epoch names
                    if rest.endswith(suffix) and len(rest) > len(suffix):
                        rest = rest[:-len(suffix)]
                return p, rest
    return None


def _new_figure(n_panels: int):
    Figure, FigureCanvasAgg = agg_figure("plot_metrics' PNG plots")
    cols = min(n_panels, 3)
    rows = math.ceil(n_panels / cols)
    fig = Figure(figsize=(4.5 * cols + 1.5, 3.6 * rows), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def _draw(ax, series: dict, names: list[str], title: str, ylabel: str | None = None,
          log_ok: bool = True) -> None:
    all_y = []
    for name in names:
        xs, ys = series[name]
        style = {"marker": "o", "markersize": 3} if len(xs) <= 60 else {}
        ax.plot(xs, ys, label=name, linewidth=1.4, **style)
        all_y.extend(ys)
    if log_ok and all_y and min(all_y) > 0 and max(all_y) / min(all_y) > 100:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("step")
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    os.replace(tmp, path)
    return path


def plot_metrics(log_dir, out_dir=None, records: list[dict] | None = None) -> list[Path]:
    """Write loss.png, metrics.png and lr.png for a run; return the paths written.

    Args:
        log_dir: the run directory holding ``metrics.jsonl`` or ``metrics.csv``.
        out_dir: where to write the PNGs (default: ``log_dir``).
        records: the records to plot instead of reading them from ``log_dir``.
    """
    out_dir = Path(out_dir if out_dir is not None else log_dir)
    series = _series(read_metrics(log_dir) if records is None else records)
    if not series:
        return []
    lr_names = sorted(k for k in series if k.startswith("lr-"))
    loss_names = sorted(k for k in series if "loss" in k.lower() and k not in lr_names)
    panels: dict[str, list[str]] = defaultdict(list)
    for k in sorted(series):
        split = _split_prefix(k)
        if split is not None and k not in loss_names:
            panels[split[1]].append(k)
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    if loss_names:
        fig, (ax,) = _new_figure(1)
        _draw(ax, series, loss_names, "loss", ylabel="loss")
        written.append(_save(fig, out_dir / "loss.png"))
    if panels:
        fig, axes = _new_figure(len(panels))
        for ax, (metric, names) in zip(axes, sorted(panels.items())):
            _draw(ax, series, names, metric, ylabel=metric, log_ok=False)
        written.append(_save(fig, out_dir / "metrics.png"))
    if lr_names:
        kinds = {"learning rate": [n for n in lr_names if not n.endswith(("-momentum",
                                                                          "-weight_decay"))],
                 "momentum": [n for n in lr_names if n.endswith("-momentum")],
                 "weight decay": [n for n in lr_names if n.endswith("-weight_decay")]}
        kinds = {k: v for k, v in kinds.items() if v}
        fig, axes = _new_figure(len(kinds))
        for ax, (kind, names) in zip(axes, kinds.items()):
            _draw(ax, series, names, kind, ylabel=kind, log_ok=kind == "learning rate")
        written.append(_save(fig, out_dir / "lr.png"))
    return written
