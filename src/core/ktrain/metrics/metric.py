"""The ``Metric`` base class and ``MetricCollection`` (torchmetrics' protocol).

A metric holds *states* declared with :meth:`Metric.add_state`: arrays summed over
batches (counts, sums) or lists of arrays concatenated at compute time (scores for
AUROC). ``update`` folds a batch into the states, ``compute`` turns the states into
the value, ``reset`` starts over, and calling the metric does both: it folds the batch
in and returns the value of that batch alone. Because states are exact sufficient
statistics (counts, not averages of averages), any split of the data into batches
gives the same result as one big batch.

States live on the device of the inputs (numpy or cupy arrays, through the backend);
results are ktrain Tensors on that device.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .. import _backend as B

__all__ = ["Metric", "MetricCollection"]

_REDUCE = ("sum", "cat", "max", "min")


def to_array(x):
    """The raw array of a Tensor (detached), numpy/cupy array, or anything numpy takes."""
    data = getattr(x, "_data", None)
    if data is not None:
        arr = data
    elif hasattr(x, "__cuda_array_interface__") or isinstance(x, np.ndarray):
        arr = x
    else:
        arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":  # bfloat16 (ml_dtypes) and friends: compute in float32
        arr = arr.astype(np.float32)
    return arr


def as_tensor(arr, dtype=np.float32):
    """A ktrain Tensor holding ``arr`` (cast to ``dtype`` unless None), on its device."""
    from .._tensor import Tensor  # noqa: PLC0415

    xp = B.array_module(arr)
    arr = xp.asarray(arr)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return Tensor._make(arr)


def safe_divide(num, den):
    """``num / den`` in float64 with 0 where ``den`` is 0 (torchmetrics' zero_division=0)."""
    xp = B.array_module(num)
    num = xp.asarray(num, dtype=np.float64)
    den = xp.asarray(den, dtype=np.float64)
    zero = den == 0
    return xp.where(zero, 0.0, num / xp.where(zero, 1.0, den))


class Metric:
    """Base class: subclasses call :meth:`add_state` in ``__init__`` and define
    ``update(*batch)`` and ``compute()``.

    * ``update`` accumulates; ``compute`` returns the value over everything seen since
      the last ``reset`` (cached until the next update);
    * ``metric(*batch)`` (``forward``) accumulates the batch and returns its own value;
    * ``state_dict()`` / ``load_state_dict()`` save and restore the accumulated states.

    Example::

        acc = ktrain.metrics.Accuracy(task="multiclass", num_classes=10)
        for x, y in loader:
            batch_acc = acc(model(x), y)     # this batch
        epoch_acc = acc.compute()            # all batches, exactly
        acc.reset()
    """

    higher_is_better = None
    is_differentiable = False

    def __init__(self):
        self._defaults = {}
        self._reductions = {}
        self._update_count = 0
        self._computed = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # wrap the subclass's own update/compute once, at class creation
        if "update" in cls.__dict__:
            cls.update = _wrap_update(cls.__dict__["update"])
        if "compute" in cls.__dict__:
            cls.compute = _wrap_compute(cls.__dict__["compute"])

    # ------------------------------------------------------------------ states
    def add_state(self, name: str, default, dist_reduce_fx: str = "sum") -> None:
        """Declare a state: an array (summed/maxed/mined over batches) or ``[]`` (cat)."""
        if dist_reduce_fx not in _REDUCE:
            raise ValueError(f"add_state: dist_reduce_fx must be one of {_REDUCE}, "
                             f"got {dist_reduce_fx!r}")
        if isinstance(default, list):
            if default:
                raise ValueError("add_state: a list state must start empty")
            dist_reduce_fx = "cat"
        else:
            default = np.asarray(to_array(default))
        self._defaults[name] = default
        self._reductions[name] = dist_reduce_fx
        setattr(self, name, [] if isinstance(default, list) else default.copy())

    def reset(self) -> None:
        """Forget everything accumulated."""
        for name, default in self._defaults.items():
            setattr(self, name, [] if isinstance(default, list) else default.copy())
        self._update_count = 0
        self._computed = None

    def _bind(self, arr):
        """Move array states to the device of ``arr`` (done by updates, cheap when there)."""
        dev = B.device_of(arr)
        for name, default in self._defaults.items():
            if not isinstance(default, list):
                v = getattr(self, name)
                if B.device_of(v) != dev:
                    setattr(self, name, B.to_device(v, dev))
        return B.array_module(arr)

    def _state(self):
        return {n: getattr(self, n) for n in self._defaults}

    def _merge(self, saved):
        """Fold previously saved states into the current (single-batch) states."""
        for name, old in saved.items():
            new = getattr(self, name)
            fx = self._reductions[name]
            if fx == "cat":
                merged = old + new
            else:
                if B.device_of(old) != B.device_of(new):
                    old = B.to_device(old, B.device_of(new))
                xp = B.array_module(new)
                merged = old + new if fx == "sum" else \
                    (xp.maximum(old, new) if fx == "max" else xp.minimum(old, new))
            setattr(self, name, merged)

    # ------------------------------------------------------------------ protocol
    def update(self, *args, **kwargs) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, *args, **kwargs):
        """Accumulate the batch and return the metric of this batch alone."""
        saved, count = self._state(), self._update_count
        self.reset()
        try:
            self.update(*args, **kwargs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # batch-level 0/0 warnings are noise
                value = self.compute()
        except BaseException:  # a bad batch leaves the accumulated states as they were
            for name, v in saved.items():
                setattr(self, name, v)
            self._update_count = count
            raise
        self._merge(saved)
        self._update_count = count + 1
        self._computed = None
        return value

    __call__ = forward

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """The accumulated states as Tensors (list states concatenated) and the count."""
        out = {}
        for name in self._defaults:
            v = getattr(self, name)
            if isinstance(v, list):
                v = _concat(v) if v else np.zeros((0,), np.float32)
            out[name] = as_tensor(v, None)
        out["_update_count"] = self._update_count
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        missing = [n for n in self._defaults if n not in state_dict]
        if missing:
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing states {missing}")
        for name, default in self._defaults.items():
            arr = to_array(state_dict[name])
            setattr(self, name, ([arr] if arr.size else []) if isinstance(default, list)
                    else arr.astype(default.dtype).reshape(default.shape))
        self._update_count = int(state_dict.get("_update_count", 1))
        self._computed = None

    def to(self, device):
        """Move the states to ``device``; returns self."""
        dev = B.as_device(device)
        for name in self._defaults:
            v = getattr(self, name)
            setattr(self, name, [B.to_device(a, dev) for a in v] if isinstance(v, list)
                    else B.to_device(v, dev))
        self._computed = None
        return self

    def __repr__(self):
        return f"{type(self).__name__}()"


def _concat(arrays):
    xp = B.array_module(arrays[0])
    return xp.concatenate(arrays) if len(arrays) > 1 else arrays[0]


def _wrap_update(fn):
    @functools.wraps(fn)
    def update(self, *args, **kwargs):
        if self.__dict__.get("_in_update"):  # a subclass calling super().update()
            return fn(self, *args, **kwargs)
        self._in_update = True
        try:
            fn(self, *args, **kwargs)
        finally:
            self._in_update = False
        self._computed = None
        self._update_count += 1

    return update


def _wrap_compute(fn):
    @functools.wraps(fn)
    def compute(self):
        if self.__dict__.get("_in_compute"):
            return fn(self)
        if self._update_count == 0:
            warnings.warn(f"The ``compute`` method of metric {type(self).__name__} was called "
                          "before the ``update`` method which may lead to errors, as metric "
                          "states have not yet been updated.", UserWarning, stacklevel=2)
        if self._computed is None:
            self._in_compute = True
            try:
                self._computed = fn(self)
            finally:
                self._in_compute = False
        return self._computed

    return compute


class MetricCollection:
    """Several metrics updated with the same inputs: ``compute()`` returns a dict.

    ``MetricCollection([Accuracy(...), F1Score(...)])`` names them by class;
    ``MetricCollection({"acc": ..., "f1": ...})`` by key; ``prefix``/``postfix`` decorate
    the names (``prefix="val_"`` gives ``val_acc``).
    """

    def __init__(self, metrics, prefix: str | None = None, postfix: str | None = None):
        if isinstance(metrics, Metric):
            metrics = [metrics]
        if isinstance(metrics, dict):
            items = list(metrics.items())
        else:
            items = [(type(m).__name__, m) for m in metrics]
        names = [n for n, _ in items]
        if len(set(names)) != len(names):
            raise ValueError(f"MetricCollection: duplicate metric names {names}; pass a dict")
        for n, m in items:
            if not isinstance(m, Metric):
                raise TypeError(f"MetricCollection: {n!r} is a {type(m).__name__}, not a Metric")
        self._metrics = dict(items)
        self.prefix = prefix or ""
        self.postfix = postfix or ""

    def _name(self, n):
        return f"{self.prefix}{n}{self.postfix}"

    def update(self, *args, **kwargs) -> None:
        for m in self._metrics.values():
            m.update(*args, **kwargs)

    def compute(self) -> dict:
        return {self._name(n): m.compute() for n, m in self._metrics.items()}

    def forward(self, *args, **kwargs) -> dict:
        return {self._name(n): m(*args, **kwargs) for n, m in self._metrics.items()}

    __call__ = forward

    def reset(self) -> None:
        for m in self._metrics.values():
            m.reset()

    def to(self, device):
        for m in self._metrics.values():
            m.to(device)
        return self

    def state_dict(self) -> dict:
        return {n: m.state_dict() for n, m in self._metrics.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        for n, m in self._metrics.items():
            m.load_state_dict(state_dict[n])

    def __getitem__(self, name):
        return self._metrics[name]

    def __iter__(self):
        return iter(self._metrics)

    def __len__(self):
        return len(self._metrics)

    def keys(self):
        return [self._name(n) for n in self._metrics]

    def items(self):
        return [(self._name(n), m) for n, m in self._metrics.items()]

    def values(self):
        return list(self._metrics.values())
