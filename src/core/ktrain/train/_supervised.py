"""Ready-made supervised tasks: ``ClassificationTask`` and ``RegressionTask``.

Batches are ``(inputs, targets)`` (extra elements ignored) or dicts with an input key
(``input``/``inputs``/``x``/``image``/``features``) and a target key
(``target``/``targets``/``label``/``labels``/``y``). Inputs that are a dict (a collate
returning ``({"input_ids": ..., "attention_mask": ...}, labels)``) are passed to the model
as keyword arguments. Losses and metrics are given by
name (or as objects); optimizers and schedulers by factory or by a config dict. Every
name comes from a registry of :mod:`ktrain.registry` (``LOSSES``, ``METRICS``,
``OPTIMIZERS``, ``SCHEDULERS``): a task accepts the losses and metrics tagged with its
kind (``classification`` / ``regression``), aliases included (``ce``, ``acc``, ``mae``).
"""
from __future__ import annotations

import copy
import re

from .. import nn, optim
from .._tensor import Tensor
from ..metrics import AUROC, Metric
from ..optim import lr_scheduler as _sched
from ..registry import LOSSES, METRICS, OPTIMIZERS, SCHEDULERS, RegistryError
from .task import Task

__all__ = ["ClassificationTask", "RegressionTask", "build_optimizer", "build_scheduler"]

#: the keys of a scheduler config that say when it steps, not how it is built
SCHEDULE_KEYS = ("interval", "frequency", "monitor")

_INPUT_KEYS = ("input", "inputs", "x", "image", "images", "features")
_TARGET_KEYS = ("target", "targets", "label", "labels", "y")
_STAGES = ("train", "val", "test")


def build_optimizer(spec, params):
    """An optimizer from ``spec``: None (Adam, lr=1e-3), an Optimizer factory
    ``f(params)``, a name, or a dict ``{'name': 'sgd', 'lr': 0.1, ...}`` (names from the
    ``OPTIMIZERS`` registry; class names such as ``'Adam'`` match too)."""
    params = list(params)
    if spec is None:
        return optim.Adam(params, lr=1e-3)
    if isinstance(spec, (str, dict)):
        if isinstance(spec, dict) and "name" not in spec and "_target_" not in spec:
            raise ValueError(f"an optimizer config dict needs a 'name', got {spec!r}")
        return OPTIMIZERS.build(spec, params)
    if callable(spec):
        return spec(params)
    raise TypeError(f"optimizer must be None, a name, a dict or a factory f(params), got "
                    f"{type(spec).__name__}")


def build_scheduler(spec, optimizer):
    """A scheduler config ``{'scheduler', 'interval', 'frequency', 'monitor'}`` from
    ``spec``: a factory ``f(optimizer)`` (returning a scheduler or such a dict) or a dict
    ``{'name': 'steplr', 'step_size': 10, 'interval': 'epoch', 'monitor': ...}`` (names
    from the ``SCHEDULERS`` registry). ReduceLROnPlateau monitors 'val/loss' unless told
    otherwise."""
    if isinstance(spec, dict) and "scheduler" not in spec:
        kw = dict(spec)
        if "name" not in kw and "_target_" not in kw:
            raise ValueError(f"a scheduler config dict needs a 'name', got {spec!r}")
        extra = {k: kw.pop(k) for k in SCHEDULE_KEYS if k in kw}
        cfg = {"scheduler": SCHEDULERS.build(kw, optimizer), **extra}
    elif isinstance(spec, dict):
        cfg = dict(spec)
    elif callable(spec):
        out = spec(optimizer)
        cfg = dict(out) if isinstance(out, dict) else {"scheduler": out}
    else:
        raise TypeError(f"scheduler must be a factory f(optimizer) or a config dict, got "
                        f"{type(spec).__name__}")
    if isinstance(cfg["scheduler"], _sched.ReduceLROnPlateau):
        cfg.setdefault("monitor", "val/loss")
    return cfg


def _split(batch, owner):
    if isinstance(batch, (list, tuple)) and len(batch) >= 2:
        return batch[0], batch[1]
    if isinstance(batch, dict):
        x = next((batch[k] for k in _INPUT_KEYS if k in batch), None)
        y = next((batch[k] for k in _TARGET_KEYS if k in batch), None)
        if x is not None and y is not None:
            return x, y
    kind = f"dict with keys {sorted(batch)}" if isinstance(batch, dict) else type(batch).__name__
    raise ValueError(f"{owner} expects batches (inputs, targets) or dicts with one of "
                     f"{_INPUT_KEYS} and one of {_TARGET_KEYS}; got a {kind}")


def _inputs(batch):
    if isinstance(batch, (list, tuple)):
        return batch[0]
    if isinstance(batch, dict):
        return next((batch[k] for k in _INPUT_KEYS if k in batch), batch)
    return batch


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _shape(t):
    return tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__


class _Shaped:
    """What ``_make_metric`` reads of a batch's outputs/targets (shape and ndim), to
    rebuild a checkpoint's metrics before any batch is seen."""

    def __init__(self, shape):
        self.shape = tuple(int(n) for n in shape)
        self.ndim = len(self.shape)


class _SupervisedTask(Task):
    """Shared machinery: loss with shape checks, metrics per stage, optimizers."""

    _kind = ""  # the registry tag of the losses and metrics this task computes

    def __init__(self, model, loss, metrics, optimizer, scheduler):
        super().__init__()
        self.model = model
        if isinstance(loss, str):
            self.loss_name = self._registered(LOSSES, loss, "loss")
            self.loss_fn = None
        elif callable(loss):
            self.loss_name = type(loss).__name__ if isinstance(loss, nn.Module) else \
                getattr(loss, "__name__", type(loss).__name__)
            self.loss_fn = loss
        else:
            raise TypeError(f"loss must be a name, a Module or a callable, got "
                            f"{type(loss).__name__}")
        if isinstance(metrics, (str, Metric)):
            metrics = (metrics,)
        self._metric_specs = dict(metrics) if isinstance(metrics, dict) else \
            {(m.lower() if isinstance(m, str) else _snake(type(m).__name__)): m
             for m in (metrics or ())}
        for spec in self._metric_specs.values():
            if isinstance(spec, str):
                self._registered(METRICS, spec, "metric")
        self._metrics = {s: None for s in _STAGES}
        self._metric_shapes = {}  # stage -> [output shape, target shape] the metrics were made for
        self._pending_metric_states = {}
        self.optimizer_spec = optimizer
        self.scheduler_spec = scheduler

    def _registered(self, registry, name, what):
        """The canonical name of the ``registry`` entry ``name`` names, when it carries
        this task's tag; a ValueError naming the entries that do otherwise."""
        try:
            entry = registry.entry(name.lower())
        except RegistryError:
            entry = None
        if entry is not None and self._kind in entry.tags:
            return entry.name
        if entry is not None and entry.name == "bce" and what == "loss":
            raise ValueError(f"{type(self).__name__}: loss 'bce' is BCELoss, which expects "
                             "probabilities, but the task gives the loss the model's "
                             "logits: use 'bce_with_logits' (BCEWithLogitsLoss), or pass "
                             "ktrain.nn.BCELoss() as the loss if the model ends in a sigmoid")
        mine = ", ".join(registry._with_aliases(n) for n in registry.tagged(self._kind))
        alt = "a loss module or callable" if what == "loss" else "Metric objects"
        why = "unknown" if entry is None else f"not a {self._kind}"
        raise ValueError(f"{type(self).__name__}: {why} {what} {name!r}; known: {mine} (or "
                         f"pass {alt})")

    def _criterion(self):
        """The registry's loss module of ``loss_name`` (built on first use, kept out of
        the task's submodules so that its state_dict is the model's)."""
        crit = self.__dict__.get("_criterion_module")
        if crit is None:
            crit = self.__dict__["_criterion_module"] = LOSSES.build(self.loss_name)
        return crit

    def forward(self, x):
        # a dict of inputs ({"input_ids": ..., "attention_mask": ...}) is given as keywords
        return self.model(**x) if isinstance(x, dict) else self.model(x)

    # ------------------------------------------------------------------ loss
    def compute_loss(self, out, y):
        """The loss of model output ``out`` against targets ``y`` (shapes checked)."""
        if self.loss_fn is not None:
            try:
                return self.loss_fn(out, y)
            except Exception as e:
                if hasattr(e, "add_note"):
                    e.add_note(f"{type(self).__name__}: loss {self.loss_name} got model output "
                               f"of shape {_shape(out)} and targets of shape {_shape(y)}")
                raise
        self._check_shapes(out, y)
        return self._builtin_loss(out, y)

    def _mismatch(self, out, y, expected):
        return ValueError(f"{type(self).__name__}: loss '{self.loss_name}' got model output of "
                          f"shape {_shape(out)} and targets of shape {_shape(y)}; {expected}")

    # ------------------------------------------------------------------ metrics
    def _stage_metrics(self, stage, out, y):
        ms = self._metrics[stage]
        if ms is None:
            ms = self._metrics[stage] = {name: (copy.deepcopy(spec) if isinstance(spec, Metric)
                                                else self._make_metric(spec.lower(), out, y))
                                         for name, spec in self._metric_specs.items()}
            if isinstance(out, Tensor) and isinstance(y, Tensor):  # to rebuild them on resume
                self._metric_shapes[stage] = [list(out.shape), list(y.shape)]
            for name, st in self._pending_metric_states.pop(stage, {}).items():
                if name in ms:
                    ms[name].load_state_dict(st)
        return ms

    def _update_metrics(self, stage, out, y):
        if not self._metric_specs:
            return
        y = y.detach() if isinstance(y, Tensor) else y
        preds, target = self._metric_inputs(out.detach(), y)
        probs = None
        for m in self._stage_metrics(stage, out, y).values():
            if isinstance(m, AUROC) and not self._binary:  # needs probabilities, not scores
                if probs is None:
                    probs = self._predict(preds.float())
                m.update(probs, target)
            else:
                m.update(preds, target)

    def _log_metrics(self, stage):
        ms = self._metrics[stage]
        if not ms:
            return
        for name, m in ms.items():
            if m._update_count:
                self.log(f"{stage}/{name}", m.compute())
            m.reset()

    def _reset_metrics(self, stage):
        for m in (self._metrics[stage] or {}).values():
            m.reset()

    # ------------------------------------------------------------------ steps
    def _shared_step(self, batch, stage):
        x, y = _split(batch, type(self).__name__)
        y = self._prepare_targets(y)
        out = self(x)
        loss = self.compute_loss(out, y)
        on_step = stage == "train"
        self.log(f"{stage}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True)
        self._update_metrics(stage, out, y)
        return loss

    def training_step(self, batch, batch_idx):
        return self._shared_step(batch, "train")

    def validation_step(self, batch, batch_idx):
        return {"loss": self._shared_step(batch, "val")}

    def test_step(self, batch, batch_idx):
        return {"loss": self._shared_step(batch, "test")}

    def predict_step(self, batch, batch_idx):
        return self._predict(self(_inputs(batch)))

    def _prepare_targets(self, y):
        return y

    def _predict(self, out):
        return out

    # ------------------------------------------------------------------ hooks
    def setup(self, stage):
        # train metrics restart with each fit (a resumed fit then loads its checkpoint's);
        # not at epoch start, which a resumed run repeats mid-epoch
        if stage == "fit":
            self._reset_metrics("train")

    def on_train_epoch_end(self):
        self._log_metrics("train")

    def on_validation_epoch_start(self):
        self._reset_metrics("val")

    def on_validation_epoch_end(self):
        self._log_metrics("val")

    def on_test_epoch_start(self):
        self._reset_metrics("test")

    def on_test_epoch_end(self):
        self._log_metrics("test")

    def on_save_checkpoint(self, checkpoint):
        # the train metrics of an unfinished epoch, so that a resumed epoch reports the same
        ms = self._metrics["train"]
        states = {n: m.state_dict() for n, m in ms.items()} if ms is not None else \
            dict(self._pending_metric_states.get("train", {}))
        checkpoint["task_metrics"] = {"train": states}
        if "train" in self._metric_shapes:
            checkpoint["task_metric_shapes"] = {"train": self._metric_shapes["train"]}

    def on_load_checkpoint(self, checkpoint):
        states = checkpoint.get("task_metrics", {})
        shapes = checkpoint.get("task_metric_shapes", {})
        for stage, st in states.items():
            if self._metrics.get(stage) is None and stage in shapes and st:
                # build the metrics now: a resume at the end of an epoch (every batch done)
                # runs no step that would build them before the epoch's metrics are logged
                out, y = (_Shaped(s) for s in shapes[stage])
                try:
                    self._stage_metrics(stage, out, y)
                    self._metric_shapes[stage] = shapes[stage]
                except (AttributeError, TypeError):  # a _make_metric needing real tensors
                    self._metrics[stage] = None
            ms = self._metrics.get(stage)
            if ms is None:
                self._pending_metric_states[stage] = st
            else:
                for name, s in st.items():
                    if name in ms:
                        ms[name].load_state_dict(s)

    def configure_optimizers(self):
        opt = build_optimizer(self.optimizer_spec, self.parameters())
        if self.scheduler_spec is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": build_scheduler(self.scheduler_spec, opt)}


class ClassificationTask(_SupervisedTask):
    """Supervised classification of ``model``'s logits.

    Args:
        model: maps inputs to logits ``(N, C, ...)`` (or ``(N, ...)`` with loss
            'bce_with_logits').
        loss: a ``LOSSES`` entry tagged ``classification``: 'cross_entropy' or 'ce' (class
            indices or class probabilities as targets), 'nll' (model outputs
            log-probabilities), 'bce_with_logits' (binary/multilabel logits), or a loss
            Module/callable ``loss(output, target)``. 'bce' is ``BCELoss`` (it expects
            probabilities) and is refused with a message: use 'bce_with_logits'.
        metrics: names ('accuracy', 'precision', 'recall', 'f1', 'auroc'; macro-averaged
            over classes), ``ktrain.metrics.Metric`` objects, or a dict name -> either.
            Each is accumulated exactly over an epoch and logged as ``train/<name>``,
            ``val/<name>`` and ``test/<name>`` at epoch end; the loss as ``<stage>/loss``.
        optimizer: a factory ``f(params)``, a name, or a dict ``{'name': 'sgd', 'lr': ...}``
            (default Adam with lr=1e-3).
        scheduler: a factory ``f(optimizer)`` or a dict ``{'name': 'steplr', 'step_size':
            10, 'interval': 'epoch'}``.
        num_classes: the number of classes (default: the size of the logits' dim 1).
        label_smoothing: for 'cross_entropy'.

    ``predict_step`` returns probabilities (softmax; sigmoid for 'bce').
    """

    _kind = "classification"

    def __init__(self, model, loss="cross_entropy", metrics=("accuracy",), optimizer=None,
                 scheduler=None, num_classes=None, label_smoothing=0.0):
        super().__init__(model, loss, metrics, optimizer, scheduler)
        self.num_classes = num_classes
        self.label_smoothing = float(label_smoothing)

    @property
    def _binary(self):
        return self.loss_name == "bce_with_logits"

    def _criterion(self):
        crit = self.__dict__.get("_criterion_module")
        if crit is None or (self.loss_name == "cross_entropy" and
                            crit.label_smoothing != self.label_smoothing):
            kw = {"label_smoothing": self.label_smoothing} \
                if self.loss_name == "cross_entropy" else {}
            crit = self.__dict__["_criterion_module"] = LOSSES.build(self.loss_name, **kw)
        return crit

    def _check_shapes(self, out, y):
        if not isinstance(out, Tensor) or not isinstance(y, Tensor):
            raise self._mismatch(out, y, "both must be Tensors")
        if self._binary or y.is_floating_point():
            if tuple(out.shape) != tuple(y.shape):
                raise self._mismatch(out, y, "expected the same shape (logits and 0/1 or "
                                     "probability targets)")
            return
        if out.ndim != y.ndim + 1 or out.shape[0] != y.shape[0] or \
                tuple(out.shape[2:]) != tuple(y.shape[1:]):
            raise self._mismatch(out, y, "expected output (N, C, ...) and class-index targets "
                                 "(N, ...)")
        if self.num_classes is not None and out.shape[1] != self.num_classes:
            raise self._mismatch(out, y, f"the output has {out.shape[1]} classes but "
                                 f"num_classes={self.num_classes}")

    def _builtin_loss(self, out, y):
        if self._binary and not y.is_floating_point():
            y = y.to(out.dtype)
        return self._criterion()(out, y)

    def _predict(self, out):
        return out.sigmoid() if self._binary else \
            (out.exp() if self.loss_name == "nll" else out.softmax(dim=1))

    def _metric_inputs(self, out, y):
        if self._binary:  # probabilities: thresholds apply to them, not to logits
            return out.sigmoid(), y
        if y.is_floating_point():  # class probabilities: score against the most likely class
            y = y.argmax(1)
        return out, y  # scores: the arg-max (or top-k) is all label metrics need

    def _make_metric(self, name, out, y):
        if self._binary:
            single = out.ndim == 1 or tuple(out.shape[1:]) == (1,) or out.ndim > 2
            kw = {"task": "binary"} if single else \
                {"task": "multilabel", "num_labels": int(out.shape[1])}
        else:
            kw = {"task": "multiclass", "num_classes": int(self.num_classes or out.shape[1])}
        entry = METRICS.entry(name)
        if kw["task"] != "binary" and "macro" in entry.tags:
            kw["average"] = "macro"
        return METRICS.get(entry.name)(**kw)


class RegressionTask(_SupervisedTask):
    """Supervised regression: ``model``'s output against float targets of the same shape.

    Args:
        model: maps inputs to predictions of the targets' shape.
        loss: a ``LOSSES`` entry tagged ``regression``: 'mse', 'l1' (or 'mae'),
            'smooth_l1', 'huber', or a loss Module/callable.
        metrics: ``METRICS`` entries tagged ``regression`` ('mse', 'rmse', 'mae'), Metric objects, or a dict name -> either; logged as
            ``<stage>/<name>`` at epoch end, the loss as ``<stage>/loss``.
        optimizer, scheduler: as for :class:`ClassificationTask`.

    Integer targets are converted to float32; ``predict_step`` returns the outputs.
    """

    _kind = "regression"

    def __init__(self, model, loss="mse", metrics=("mse", "mae"), optimizer=None,
                 scheduler=None):
        super().__init__(model, loss, metrics, optimizer, scheduler)

    def _prepare_targets(self, y):
        if isinstance(y, Tensor) and not y.is_floating_point():
            y = y.float()
        return y

    def _check_shapes(self, out, y):
        if not isinstance(out, Tensor) or not isinstance(y, Tensor):
            raise self._mismatch(out, y, "both must be Tensors")
        if tuple(out.shape) != tuple(y.shape):
            hint = ""
            if out.ndim == y.ndim + 1 and out.shape[-1] == 1:
                hint = " (targets need a trailing dim of 1, e.g. y.unsqueeze(-1), or the " \
                       "model output a squeeze(-1))"
            raise self._mismatch(out, y, f"expected the same shape{hint}")

    def _builtin_loss(self, out, y):
        return self._criterion()(out, y)

    def _metric_inputs(self, out, y):
        return out.float(), y

    def _make_metric(self, name, out, y):
        return METRICS.get(METRICS.resolve_name(name))()
