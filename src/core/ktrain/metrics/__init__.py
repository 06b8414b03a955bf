"""``ktrain.metrics``: accumulating metrics with torchmetrics' interface.

Each metric keeps exact sufficient statistics (counts, sums, or the scores themselves
for AUROC) so that ``compute()`` over many ``update()`` calls equals the metric over
the concatenated data::

    acc = ktrain.metrics.Accuracy(task="multiclass", num_classes=10)
    for x, y in loader:
        acc.update(model(x), y)          # or: batch_value = acc(model(x), y)
    print(acc.compute()); acc.reset()
"""
from .classification import (AUROC, Accuracy, ConfusionMatrix, F1Score, FBetaScore, Precision,
                             Recall)
from .metric import Metric, MetricCollection
from .regression import MeanAbsoluteError, MeanSquaredError
from .text import Perplexity

__all__ = ["Metric", "MetricCollection", "Accuracy", "Precision", "Recall", "F1Score",
           "FBetaScore", "ConfusionMatrix", "AUROC", "MeanSquaredError", "MeanAbsoluteError",
           "Perplexity"]
