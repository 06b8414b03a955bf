"""Helpers shared by the loggers (not public API)."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ...serialization import json_dumps

__all__ = ["to_number", "json_safe", "hparams_to_file", "flatten", "plain"]


def to_number(v):
    """A metric value as a Python int (ints, bools) or float (everything else)."""
    item = getattr(v, "item", None)
    if item is not None:
        v = item()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    return float(v)


def json_safe(v):
    """``v`` with NaN/inf floats as None (strict JSON has no NaN)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def flatten(params: dict, prefix: str = "", sep: str = "/") -> dict:
    """A nested dict as one level: ``{'optim': {'lr': 0.1}} -> {'optim/lr': 0.1}``."""
    out = {}
    for k, v in (params or {}).items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            out.update(flatten(v, key, sep))
        else:
            out[key] = v
    return out


def plain(obj):
    """Mappings (OmegaConf's DictConfig included) and sequences as dicts and lists."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return [plain(v) for v in obj]
    return obj


def hparams_to_file(log_dir, params: dict, filename: str = "hparams.json") -> Path:
    """Write ``params`` as JSON into ``log_dir`` atomically (non-JSON values as strings)."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / filename
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        fh.write(json_dumps(plain(params), indent=2, sort_keys=True, default=str))
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
