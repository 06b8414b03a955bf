"""Core synthetic datasets (registered as ``synthetic_classification`` and
``synthetic_regression``): deterministic, instant, for tests, smoke runs and configs.

The full set is drawn from ``seed`` and then split train/val/test, so the three splits
of one seed are disjoint and come from the same distribution.
"""
from __future__ import annotations

import numpy as np

__all__ = ["synthetic_classification", "synthetic_regression"]

_SPLITS = ("train", "val", "test")


def _split_slice(n: int, split: str, val_fraction: float, test_fraction: float) -> slice:
    if split in ("validation", "valid"):
        split = "val"
    if split not in _SPLITS + ("all",):
        raise ValueError(f"unknown split {split!r}; one of: train, val, test, all")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1
            and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction and test_fraction must be in [0, 1) and sum below 1")
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    n_train = n - n_val - n_test
    return {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val),
            "test": slice(n_train + n_val, n), "all": slice(0, n)}[split]


def _dataset(x, y, **attrs):
    import ktrain
    from ktrain.utils.data import TensorDataset

    ds = TensorDataset(ktrain.from_numpy(np.ascontiguousarray(x)),
                       ktrain.from_numpy(np.ascontiguousarray(y)))
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def synthetic_classification(n_samples: int = 1000, n_features: int = 20, n_classes: int = 3,
                             split: str = "train", seed: int = 0, class_sep: float = 2.0,
                             noise: float = 1.0, val_fraction: float = 0.1,
                             test_fraction: float = 0.1):
    """Gaussian blobs: class ``k`` is centred at a random point at distance about
    ``class_sep`` from the origin, with isotropic noise ``noise``. Returns a
    ``TensorDataset`` of ``(x float32 (n_features,), y int64)`` with ``classes``,
    ``num_classes`` and ``num_features`` attributes. ``n_samples`` counts all splits."""
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features))
    centers *= class_sep / np.maximum(np.linalg.norm(centers, axis=1, keepdims=True), 1e-12)
    centers *= np.sqrt(n_features) / 2
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    x = centers[y] + noise * rng.standard_normal((n_samples, n_features))
    sl = _split_slice(n_samples, split, val_fraction, test_fraction)
    return _dataset(x[sl].astype(np.float32), y[sl].astype(np.int64),
                    classes=[f"class_{i}" for i in range(n_classes)],
                    num_classes=n_classes, num_features=n_features, split=split)


def synthetic_regression(n_samples: int = 1000, n_features: int = 10, n_targets: int = 1,
                         split: str = "train", seed: int = 0, noise: float = 0.1,
                         val_fraction: float = 0.1, test_fraction: float = 0.1):
    """A linear target ``y = x @ w + b + noise`` with standard normal ``x``. Returns a
    ``TensorDataset`` of ``(x float32 (n_features,), y float32 (n_targets,))``."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_features, n_targets))
    b = rng.standard_normal(n_targets)
    x = rng.standard_normal((n_samples, n_features))
    y = x @ w + b + noise * rng.standard_normal((n_samples, n_targets))
    sl = _split_slice(n_samples, split, val_fraction, test_fraction)
    return _dataset(x[sl].astype(np.float32), y[sl].astype(np.float32),
                    num_features=n_features, num_targets=n_targets, split=split)
