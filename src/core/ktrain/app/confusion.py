"""The confusion matrix of a trained classifier, as CSV and PNG (written at the end of
``ktrain fit`` for classification runs).

    from ktrain.app.confusion import confusion_matrix, write_confusion_matrix
    cm = confusion_matrix(task, loader)                 # (C, C) int64, rows = targets
    write_confusion_matrix(cm, "runs/x", classes=ds.classes, title="test")

Rows are true classes, columns predicted classes (torchmetrics' and sklearn's layout).
The PNG is drawn on matplotlib's Agg canvas (no display needed); cells show counts and
the colour shows the row-normalised rate, so rare classes stay readable. Without
matplotlib (the optional ``plots`` extra) only the CSV is written, with one notice.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .. import autograd
from ..train._data import move_batch
from ..train._supervised import ClassificationTask, _split

__all__ = ["confusion_matrix", "write_confusion_matrix"]


def confusion_matrix(task: ClassificationTask, loader, device=None, limit_batches=None):
    """Counts of (true class, predicted class) of ``task`` over ``loader`` in eval mode.

    Returns an ``(C, C)`` int64 array, or None when the task is not a multi-class
    classifier with class-index targets (binary/multilabel heads, soft targets)."""
    if not isinstance(task, ClassificationTask) or task._binary:
        return None
    was_training = task.training
    task.eval()
    counts = None
    try:
        with autograd.no_grad():
            for i, batch in enumerate(loader):
                if limit_batches is not None and i >= limit_batches:
                    break
                if device is not None:
                    batch = move_batch(batch, device)
                x, y = _split(batch, type(task).__name__)
                if y.is_floating_point():
                    return None
                out = task(x)
                if out.ndim < 2:
                    return None
                c = int(task.num_classes or out.shape[1])
                pred = out.argmax(1).cpu().numpy().reshape(-1).astype(np.int64)
                true = y.cpu().numpy().reshape(-1).astype(np.int64)
                keep = (true >= 0) & (true < c)  # ignore_index-style padding labels
                flat = np.bincount(true[keep] * c + pred[keep], minlength=c * c)
                counts = flat.reshape(c, c) if counts is None else counts + flat.reshape(c, c)
    finally:
        task.train(was_training)
    return counts


def _labels(classes, c):
    classes = list(classes or [])
    return [str(classes[i]) if i < len(classes) else str(i) for i in range(c)]


def write_confusion_matrix(cm, out_dir, classes=None, title: str = "",
                           stem: str = "confusion_matrix") -> list[Path]:
    """Write ``<stem>.csv`` and ``<stem>.png`` into ``out_dir``; returns their paths
    (only the CSV, after a one-time notice, when matplotlib is missing)."""
    cm = np.asarray(cm, dtype=np.int64)
    c = cm.shape[0]
    names = _labels(classes, c)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["true \\ predicted"] + names)
    for name, row in zip(names, cm):
        w.writerow([name] + [int(v) for v in row])
    paths = [out_dir / f"{stem}.csv"]
    paths[0].write_text(buf.getvalue(), encoding="utf-8")
    from ..train._matplotlib import PlotsNotInstalled, agg_figure, notify_skipped

    try:
        Figure, FigureCanvasAgg = agg_figure()
    except PlotsNotInstalled:
        notify_skipped([f"{stem}.png"])
        return paths
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = min(4 + 0.45 * c, 24)
    fig = Figure(figsize=(size + 1, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ticks = np.arange(c)
    small = c <= 40
    ax.set_xticks(ticks, labels=names if small else None, rotation=90 if c > 10 else 0)
    ax.set_yticks(ticks, labels=names if small else None)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title + ': ' if title else ''}accuracy {acc:.4f} ({int(cm.sum())} samples)")
    if c <= 25:
        for (i, j), v in np.ndenumerate(cm):  # one label per cell: at most 625
            ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    fig.tight_layout()
    paths.append(out_dir / f"{stem}.png")
    fig.savefig(paths[1], dpi=100)
    return paths
