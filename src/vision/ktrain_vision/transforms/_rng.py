"""Random draws for transforms, all from ktrain's default generator.

``ktrain.manual_seed`` therefore makes every augmentation reproducible, and DataLoader
workers (which the core seeds with ``base_seed + worker_id``) draw different streams.
"""
from __future__ import annotations

import ktrain
import numpy as np


def uniform(low: float = 0.0, high: float = 1.0) -> float:
    """One float uniform in [low, high)."""
    u = ktrain.rand(1, dtype=ktrain.float64).item()
    return low + (high - low) * u


def uniforms(n: int) -> np.ndarray:
    """``n`` floats uniform in [0, 1) from ONE draw (cheaper than ``n`` calls)."""
    return ktrain.rand(n, dtype=ktrain.float64).numpy()


def randint(low: int, high: int) -> int:
    """One int uniform in [low, high)."""
    return int(ktrain.randint(int(low), int(high), (1,)).item())


def coin(p: float) -> bool:
    """True with probability ``p`` (torchvision's ``torch.rand(1) < p``)."""
    return ktrain.rand(1, dtype=ktrain.float64).item() < p


def numpy_generator() -> np.random.Generator:
    """A numpy Generator seeded from ktrain's default generator (for distributions ktrain
    does not sample, e.g. Beta); reproducible under ``ktrain.manual_seed``."""
    return np.random.default_rng(int(ktrain.randint(0, 1 << 62, (1,)).item()))
