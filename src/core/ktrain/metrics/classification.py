"""Classification metrics: Accuracy, Precision, Recall, F1Score, FBetaScore,
ConfusionMatrix and AUROC, with torchmetrics' task-wrapper arguments and numerics.

Inputs (Tensors or arrays; never part of a graph):

* ``task="binary"``: ``preds`` (N, ...) probabilities, logits (a sigmoid is applied when
  any value lies outside [0, 1], as torchmetrics does) or 0/1 labels; ``target`` (N, ...)
  0/1 labels. Predicted positive means ``prob > threshold``.
* ``task="multiclass"``: ``preds`` (N, C, ...) scores (logits or probabilities; the
  arg-max / top-k is taken) or (N, ...) labels; ``target`` (N, ...) labels in [0, C).
* ``task="multilabel"``: ``preds`` and ``target`` (N, L, ...), as for binary per label.

``ignore_index`` drops the samples (elements, for multilabel) whose target equals it.
Everything is counted with a handful of vectorised array operations (bincount and
boolean sums); there is no loop over samples. ``average``: ``"micro"`` (global counts,
the default of torchmetrics' task wrappers), ``"macro"`` (unweighted mean over classes
that occur in target or predictions), ``"weighted"`` (by support) or ``None`` (per
class).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import _backend as B
from .metric import Metric, as_tensor, safe_divide, to_array

__all__ = ["Accuracy", "Precision", "Recall", "F1Score", "FBetaScore", "ConfusionMatrix",
           "AUROC"]

_TASKS = ("binary", "multiclass", "multilabel")
_AVERAGES = ("micro", "macro", "weighted", "none", None)


# ----------------------------------------------------------------------------- input checks


def _check_args(task, num_classes, num_labels, average, top_k, threshold, ignore_index):
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}")
    if task == "multiclass" and (not isinstance(num_classes, int) or num_classes < 2):
        raise ValueError("task='multiclass' needs num_classes, an integer >= 2; got "
                         f"{num_classes!r}")
    if task == "multilabel" and (not isinstance(num_labels, int) or num_labels < 2):
        raise ValueError(f"task='multilabel' needs num_labels, an integer >= 2; got {num_labels!r}")
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    if not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
    if top_k > 1 and task != "multiclass":
        raise ValueError("top_k > 1 only applies to task='multiclass'")
    if task == "multiclass" and top_k > num_classes:
        raise ValueError(f"top_k ({top_k}) cannot exceed num_classes ({num_classes})")
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    if ignore_index is not None and not isinstance(ignore_index, int):
        raise ValueError(f"ignore_index must be None or an int, got {ignore_index!r}")


def _pair(preds, target, name):
    p, t = to_array(preds), to_array(target)
    B.check_same_device(name, (p, t))
    if t.dtype.kind == "f":
        if t.size and bool((t != t.round()).any()):
            raise ValueError(f"{name}: target must hold integer labels, got fractional values")
        t = t.astype(np.int64)
    return p, t


def _classes_last(a, n):
    """(N, C, ...) -> (N * prod(...), C)."""
    xp = B.array_module(a)
    if a.ndim > 2:
        a = xp.moveaxis(a, 1, -1)
    return a.reshape(-1, n)


def _probabilities(xp, p, valid=None):
    """torchmetrics' rule: values outside [0, 1] are logits and go through a sigmoid.

    Only entries that are not ignored take part in the decision.
    """
    outside = (p < 0) | (p > 1)
    if valid is not None:
        outside &= valid
    if p.size and bool(outside.any()):
        p = xp.exp(-xp.logaddexp(0.0, -p))  # sigmoid without overflow warnings
    return p


def _valid(xp, t, ignore_index):
    return None if ignore_index is None else t != ignore_index


def _check_labels(xp, a, lo, hi, valid, what, name):
    bad = (a < lo) | (a >= hi)
    if valid is not None:
        bad &= valid
    if a.size and bool(bad.any()):
        vals = a[bad]
        raise ValueError(f"{name}: {what} must lie in [{lo}, {hi - 1}]"
                         f"{'' if valid is None else ' (or be ignore_index)'}; found "
                         f"{vals.ravel()[:5].tolist()}")


def _binary_format(p, t, threshold, ignore_index, validate, name):
    """Flattened boolean predictions and targets, and the validity mask (or None)."""
    xp = B.array_module(p)
    if p.shape != t.shape:
        raise ValueError(f"{name}: preds and target must have the same shape, got "
                         f"{tuple(p.shape)} and {tuple(t.shape)}")
    p, t = p.reshape(-1), t.reshape(-1)
    valid = _valid(xp, t, ignore_index)
    if p.dtype.kind == "f":
        p = _probabilities(xp, p, valid) > threshold
    elif validate:
        _check_labels(xp, p, 0, 2, None, "integer preds", name)
    if validate:
        _check_labels(xp, t, 0, 2, valid, "target", name)
    return p.astype(bool), t == 1, valid


def _multiclass_format(p, t, num_classes, top_k, validate, name):
    """Flattened predicted labels and targets.

    With ``top_k > 1`` the predicted label of a sample is its target when the target is
    among its k best scores, else its best class (torchmetrics >= 1.6).
    """
    xp = B.array_module(p)
    C = num_classes
    if p.ndim == t.ndim + 1:
        if p.dtype.kind != "f":
            raise ValueError(f"{name}: preds with one more dimension than target must be "
                             "floating scores (N, C, ...)")
        if p.shape[1] != C or p.shape[2:] != t.shape[1:] or p.shape[0] != t.shape[0]:
            raise ValueError(f"{name}: expected preds (N, {C}, ...) and target (N, ...), got "
                             f"{tuple(p.shape)} and {tuple(t.shape)}")
        scores = _classes_last(p, C)
        t = t.reshape(-1)
        best = scores.argmax(-1)
        if top_k == 1:
            return best, t
        top = xp.argpartition(scores, C - top_k, axis=1)[:, C - top_k:]  # k best, any order
        return xp.where((top == t[:, None]).any(1), t, best), t
    if p.shape != t.shape:
        raise ValueError(f"{name}: expected preds (N, {C}, ...) scores or (N, ...) labels "
                         f"matching target {tuple(t.shape)}, got {tuple(p.shape)}")
    if top_k != 1:
        raise ValueError(f"{name}: top_k > 1 needs scores (N, C, ...), not labels")
    if p.dtype.kind == "f":
        p = p.astype(np.int64)
    if validate:
        _check_labels(xp, p, 0, C, None, "predicted labels", name)
    return p.reshape(-1), t.reshape(-1)


def _multilabel_format(p, t, num_labels, threshold, ignore_index, validate, name):
    xp = B.array_module(p)
    if p.shape != t.shape or p.ndim < 2 or p.shape[1] != num_labels:
        raise ValueError(f"{name}: expected preds and target of shape (N, {num_labels}, ...), "
                         f"got {tuple(p.shape)} and {tuple(t.shape)}")
    p, t = _classes_last(p, num_labels), _classes_last(t, num_labels)
    valid = _valid(xp, t, ignore_index)
    if p.dtype.kind == "f":
        p = _probabilities(xp, p, valid) > threshold
    elif validate:
        _check_labels(xp, p, 0, 2, None, "integer preds", name)
    if validate:
        _check_labels(xp, t, 0, 2, valid, "target", name)
    return p.astype(bool), t == 1, valid


def _count(xp, mask, valid, axis=None):
    if valid is not None:
        mask = mask & valid
    return mask.sum(axis=axis, dtype=np.int64)


def _bincount(xp, idx, valid, n):
    """bincount of ``idx`` over [0, n), entries where ``valid`` is False dropped."""
    idx = idx.astype(np.int64, copy=False)
    if valid is not None:
        idx = xp.where(valid, idx, n)  # ignored entries go to a spare bin
    return xp.bincount(idx, minlength=n + 1)[:n]


def _multiclass_counts(xp, labels, t, valid, C):
    """Per-class tp, fp, tn, fn from the confusion matrix of labels against targets."""
    cm = _bincount(xp, t * C + labels, valid, C * C).reshape(C, C)
    tp = xp.diagonal(cm).copy()
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    return tp, fp, cm.sum() - tp - fp - fn, fn


# ----------------------------------------------------------------------------- reductions


def _score(kind, tp, fp, tn, fn, per_label_accuracy, beta):
    if kind == "accuracy":
        return safe_divide(tp + tn, tp + tn + fp + fn) if per_label_accuracy \
            else safe_divide(tp, tp + fn)
    if kind == "precision":
        return safe_divide(tp, tp + fp)
    if kind == "recall":
        return safe_divide(tp, tp + fn)
    b2 = beta * beta
    return safe_divide((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)


def _reduce(kind, tp, fp, tn, fn, task, average, top_k=1, beta=1.0):
    """torchmetrics' reduce: micro sums counts first; macro/weighted average the scores."""
    xp = B.array_module(tp)
    if task == "binary":
        return _score(kind, tp, fp, tn, fn, True, beta)
    multilabel = task == "multilabel"
    if average == "micro":
        return _score(kind, tp.sum(), fp.sum(), tn.sum(), fn.sum(), multilabel, beta)
    score = _score(kind, tp, fp, tn, fn, multilabel, beta)
    if average in (None, "none"):
        return score
    if average == "weighted":
        w = (tp + fn).astype(np.float64)
    else:
        w = xp.ones(score.shape, np.float64)
        if not multilabel:  # classes absent from target and predictions do not count
            # (absent from target alone with top-k, except for F-scores: torchmetrics 1.9)
            topk_rule = top_k > 1 and kind != "fbeta"
            absent = (tp + fn == 0) if topk_rule else (tp + fp + fn == 0)
            w = xp.where(absent, 0.0, w)
    return safe_divide((w * score).sum(), w.sum())


# ----------------------------------------------------------------------------- metrics


class _StatScores(Metric):
    """Accumulates tp, fp, tn, fn (per class or label; scalars for binary)."""

    _kind = None
    higher_is_better = True

    def __init__(self, task, threshold=0.5, num_classes=None, num_labels=None, average="micro",
                 top_k=1, ignore_index=None, validate_args=True):
        super().__init__()
        _check_args(task, num_classes, num_labels, average, top_k, threshold, ignore_index)
        self.task, self.threshold, self.average = task, float(threshold), average
        self.num_classes, self.num_labels = num_classes, num_labels
        self.top_k, self.ignore_index, self.validate_args = top_k, ignore_index, validate_args
        shape = () if task == "binary" else \
            ((num_classes,) if task == "multiclass" else (num_labels,))
        for name in ("tp", "fp", "tn", "fn"):
            self.add_state(name, np.zeros(shape, np.int64))

    def update(self, preds, target) -> None:
        """Add a batch's counts."""
        name = type(self).__name__
        p, t = _pair(preds, target, name)
        xp = self._bind(p)
        if self.task == "binary":
            p, t, valid = _binary_format(p, t, self.threshold, self.ignore_index,
                                         self.validate_args, name)
            tp = _count(xp, p & t, valid)
            fp = _count(xp, p & ~t, valid)
            tn = _count(xp, ~p & ~t, valid)
            fn = _count(xp, ~p & t, valid)
        elif self.task == "multiclass":
            labels, t = _multiclass_format(p, t, self.num_classes, self.top_k,
                                           self.validate_args, name)
            valid = _valid(xp, t, self.ignore_index)
            if self.validate_args:
                _check_labels(xp, t, 0, self.num_classes, valid, "target", name)
            tp, fp, tn, fn = _multiclass_counts(xp, labels, t, valid, self.num_classes)
        else:
            p, t, valid = _multilabel_format(p, t, self.num_labels, self.threshold,
                                             self.ignore_index, self.validate_args, name)
            tp = _count(xp, p & t, valid, 0)
            fp = _count(xp, p & ~t, valid, 0)
            tn = _count(xp, ~p & ~t, valid, 0)
            fn = _count(xp, ~p & t, valid, 0)
        self.tp = self.tp + tp
        self.fp = self.fp + fp
        self.tn = self.tn + tn
        self.fn = self.fn + fn

    def compute(self):
        return as_tensor(_reduce(self._kind, self.tp, self.fp, self.tn, self.fn, self.task,
                                 self.average, self.top_k, getattr(self, "beta", 1.0)))

    def __repr__(self):
        extra = "" if self.task == "binary" else \
            f", num_classes={self.num_classes}" if self.task == "multiclass" else \
            f", num_labels={self.num_labels}"
        return f"{type(self).__name__}(task={self.task!r}{extra}, average={self.average!r})"


class Accuracy(_StatScores):
    """Fraction of correct predictions (``torchmetrics.Accuracy``).

    binary: (tp + tn) / all; multiclass micro: correct / all (with ``top_k``: target among
    the k best scores); macro: mean per-class recall; multilabel: per-label accuracy.

    Example::

        acc = Accuracy(task="multiclass", num_classes=3)
        acc(ktrain.tensor([[.1, .8, .1], [.7, .2, .1]]), ktrain.tensor([1, 2]))  # 0.5
    """

    _kind = "accuracy"


class Precision(_StatScores):
    """tp / (tp + fp) (``torchmetrics.Precision``); 0 where nothing was predicted."""

    _kind = "precision"


class Recall(_StatScores):
    """tp / (tp + fn) (``torchmetrics.Recall``); 0 where a class never occurs."""

    _kind = "recall"


class FBetaScore(_StatScores):
    """(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp) (``torchmetrics.FBetaScore``)."""

    _kind = "fbeta"

    def __init__(self, task, beta=1.0, threshold=0.5, num_classes=None, num_labels=None,
                 average="micro", top_k=1, ignore_index=None, validate_args=True):
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta}")
        self.beta = float(beta)
        super().__init__(task, threshold, num_classes, num_labels, average, top_k,
                         ignore_index, validate_args)


class F1Score(FBetaScore):
    """Harmonic mean of precision and recall, 2 tp / (2 tp + fp + fn)."""

    def __init__(self, task, threshold=0.5, num_classes=None, num_labels=None, average="micro",
                 top_k=1, ignore_index=None, validate_args=True):
        super().__init__(task, 1.0, threshold, num_classes, num_labels, average, top_k,
                         ignore_index, validate_args)


class ConfusionMatrix(Metric):
    """Counts of (target, prediction) pairs (``torchmetrics.ConfusionMatrix``).

    Rows are targets, columns predictions: (2, 2) for binary, (C, C) for multiclass,
    (L, 2, 2) for multilabel. ``normalize``: None (int64 counts), ``"true"`` (rows sum
    to 1), ``"pred"`` (columns sum to 1) or ``"all"``; 0/0 becomes 0.
    """

    def __init__(self, task, threshold=0.5, num_classes=None, num_labels=None, normalize=None,
                 ignore_index=None, validate_args=True):
        super().__init__()
        _check_args(task, num_classes, num_labels, None, 1, threshold, ignore_index)
        if normalize not in (None, "none", "true", "pred", "all"):
            raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
        self.task, self.threshold, self.normalize = task, float(threshold), normalize
        self.num_classes, self.num_labels = num_classes, num_labels
        self.ignore_index, self.validate_args = ignore_index, validate_args
        shape = (2, 2) if task == "binary" else \
            ((num_classes, num_classes) if task == "multiclass" else (num_labels, 2, 2))
        self.add_state("confmat", np.zeros(shape, np.int64))

    def update(self, preds, target) -> None:
        name = type(self).__name__
        p, t = _pair(preds, target, name)
        xp = self._bind(p)
        if self.task == "binary":
            p, t, valid = _binary_format(p, t, self.threshold, self.ignore_index,
                                         self.validate_args, name)
            cm = _bincount(xp, t * 2 + p, valid, 4).reshape(2, 2)
        elif self.task == "multiclass":
            C = self.num_classes
            labels, t = _multiclass_format(p, t, C, 1, self.validate_args, name)
            valid = _valid(xp, t, self.ignore_index)
            if self.validate_args:
                _check_labels(xp, t, 0, C, valid, "target", name)
            cm = _bincount(xp, t * C + labels, valid, C * C).reshape(C, C)
        else:
            L = self.num_labels
            p, t, valid = _multilabel_format(p, t, L, self.threshold, self.ignore_index,
                                             self.validate_args, name)
            idx = xp.arange(L) * 4 + t * 2 + p  # label-major blocks of four cells
            cm = _bincount(xp, idx.reshape(-1), None if valid is None else valid.reshape(-1),
                           4 * L).reshape(L, 2, 2)
        self.confmat = self.confmat + cm

    def compute(self):
        cm = self.confmat
        if self.normalize in (None, "none"):
            return as_tensor(cm, np.int64)
        axes = {"true": (-1,), "pred": (-2,), "all": (-2, -1)}[self.normalize]
        den = cm.sum(axis=axes, keepdims=True)
        if bool((den == 0).any()):
            warnings.warn("ConfusionMatrix: rows/columns without samples normalise to 0",
                          UserWarning, stacklevel=2)
        return as_tensor(safe_divide(cm, den))


# ----------------------------------------------------------------------------- AUROC


def column_auroc(scores, positive, valid=None):
    """Exact ROC AUC of each column of ``scores`` (M, K) against boolean ``positive``.

    Equal scores form one threshold, so the result equals the trapezoidal area under the
    ROC curve over unique thresholds (sklearn, torchmetrics), which is the Mann-Whitney
    statistic: P(score of a positive > score of a negative) + P(tie) / 2. Computed with
    one sort per column and cumulative counts over the groups of tied scores; entries
    with ``valid`` False are left out. Returns (auc, n_positive, n_negative) per column;
    a column without positives or negatives gets 0 (torchmetrics' convention).
    """
    xp = B.array_module(scores)
    M, K = scores.shape
    if M == 0:
        z = xp.zeros(K, np.float64)
        return z, z, z
    order = xp.argsort(scores, axis=0)
    s = xp.take_along_axis(scores, order, 0).T.reshape(-1)  # column-major: column blocks
    pos = xp.take_along_axis(positive, order, 0).T.reshape(-1)
    ok = None if valid is None else xp.take_along_axis(valid, order, 0).T.reshape(-1)
    neg = ~pos
    if ok is not None:
        pos, neg = pos & ok, neg & ok
    # group = run of equal scores inside one column
    new = xp.ones(M * K, bool)
    if M > 1:
        new[1:] = s[1:] != s[:-1]
        new[::M] = True  # every column starts a new group
    gid = xp.cumsum(new) - 1
    n_groups = int(gid[-1]) + 1 if gid.size else 0
    pos_g = xp.bincount(gid, weights=pos.astype(np.float64), minlength=n_groups)
    neg_g = xp.bincount(gid, weights=neg.astype(np.float64), minlength=n_groups)
    col_g = xp.flatnonzero(new) // M  # column of each group
    neg_before = xp.cumsum(neg_g) - neg_g  # negatives in earlier groups (all columns)
    first = xp.searchsorted(col_g, xp.arange(K))  # first group of each column
    below = neg_before - neg_before[first][col_g]  # negatives scored lower, same column
    wins = xp.bincount(col_g, weights=pos_g * (below + 0.5 * neg_g), minlength=K)
    n_pos = xp.bincount(col_g, weights=pos_g, minlength=K)
    n_neg = xp.bincount(col_g, weights=neg_g, minlength=K)
    return safe_divide(wins, n_pos * n_neg), n_pos, n_neg


class AUROC(Metric):
    """Area under the ROC curve, exact (``torchmetrics.AUROC`` with ``thresholds=None``).

    Keeps every score and target (a ``cat`` state) and computes the exact area at the end,
    ties handled as sklearn and torchmetrics do (one ROC point per unique threshold).

    * binary: ``preds`` (N, ...) scores (logits or probabilities: the area depends only
      on their order), ``target`` (N, ...) 0/1;
    * multiclass: ``preds`` (N, C, ...) (a softmax is applied when values lie outside
      [0, 1]); one-vs-rest per class, ``average`` ``"macro"``/``"weighted"``/None;
    * multilabel: ``preds``/``target`` (N, L, ...); per label, or ``"micro"`` (flattened).

    A class without positive (or negative) samples scores 0, with a warning.
    """

    higher_is_better = True

    def __init__(self, task, num_classes=None, num_labels=None, average="macro",
                 ignore_index=None, validate_args=True):
        super().__init__()
        _check_args(task, num_classes, num_labels, average, 1, 0.5, ignore_index)
        if task == "multiclass" and average == "micro":
            raise ValueError("AUROC(task='multiclass') supports average 'macro', 'weighted' "
                             "or None")
        self.task, self.average = task, average
        self.num_classes, self.num_labels = num_classes, num_labels
        self.ignore_index, self.validate_args = ignore_index, validate_args
        self.add_state("preds", [], "cat")
        self.add_state("target", [], "cat")

    def update(self, preds, target) -> None:
        name = type(self).__name__
        p, t = _pair(preds, target, name)
        xp = B.array_module(p)
        if p.dtype.kind != "f":
            p = p.astype(np.float32)
        if self.task == "binary":
            if p.shape != t.shape:
                raise ValueError(f"{name}: preds and target must have the same shape, got "
                                 f"{tuple(p.shape)} and {tuple(t.shape)}")
            p, t = p.reshape(-1), t.reshape(-1)
        elif self.task == "multiclass":
            C = self.num_classes
            if p.ndim != t.ndim + 1 or p.shape[1] != C:
                raise ValueError(f"{name}: expected preds (N, {C}, ...) and target (N, ...), "
                                 f"got {tuple(p.shape)} and {tuple(t.shape)}")
            p, t = _classes_last(p, C), t.reshape(-1)
            if p.size and bool(((p < 0) | (p > 1)).any()):
                p = xp.exp(p - p.max(1, keepdims=True))
                p = p / p.sum(1, keepdims=True)
        else:
            L = self.num_labels
            if p.shape != t.shape or p.ndim < 2 or p.shape[1] != L:
                raise ValueError(f"{name}: expected preds and target (N, {L}, ...), got "
                                 f"{tuple(p.shape)} and {tuple(t.shape)}")
            p, t = _classes_last(p, L), _classes_last(t, L)
        valid = _valid(xp, t, self.ignore_index)
        if self.validate_args:
            hi = self.num_classes if self.task == "multiclass" else 2
            _check_labels(xp, t, 0, hi, valid, "target", name)
        if valid is not None and self.task != "multilabel":
            p, t = p[valid], t[valid]
        elif valid is not None:
            t = xp.where(valid, t, -1)  # kept, and left out at compute time
        self.preds.append(p)
        self.target.append(t)

    def compute(self):
        if not self.preds:
            return as_tensor(np.zeros(()))
        xp = B.array_module(self.preds[0])
        p = xp.concatenate(self.preds) if len(self.preds) > 1 else self.preds[0]
        t = xp.concatenate(self.target) if len(self.target) > 1 else self.target[0]
        valid = None
        if self.task == "binary":
            scores, positive = p[:, None], (t == 1)[:, None]
        elif self.task == "multiclass":
            scores = p
            positive = t[:, None] == xp.arange(self.num_classes)[None, :]
        else:
            valid = t >= 0 if self.ignore_index is not None else None
            if self.average == "micro":
                scores, positive = p.reshape(-1, 1), (t == 1).reshape(-1, 1)
                valid = None if valid is None else valid.reshape(-1, 1)
            else:
                scores, positive = p, t == 1
        auc, n_pos, n_neg = column_auroc(scores, positive, valid)
        if bool(((n_pos == 0) | (n_neg == 0)).any()):
            warnings.warn("AUROC: no positive or no negative samples for some class; its "
                          "score is 0", UserWarning, stacklevel=2)
        if self.task == "binary" or (self.task == "multilabel" and self.average == "micro"):
            return as_tensor(auc[0])
        if self.average in (None, "none"):
            return as_tensor(auc)
        if self.average == "weighted":
            return as_tensor(safe_divide((auc * n_pos).sum(), n_pos.sum()))
        return as_tensor(auc.mean())
