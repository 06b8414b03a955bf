"""Run directories: ``<output_root>/<experiment>/<timestamp>/``, the latest run of an
experiment, and what ``resume`` (``'auto'``, a run directory or a checkpoint) means."""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from .config import ConfigError

__all__ = ["find_latest_run", "new_run_dir", "output_dir_error", "resolve_resume"]

LAST_CKPT = os.path.join("checkpoints", "last.ckpt")


def new_run_dir(output_root, experiment) -> Path:
    """Create and return ``<output_root>/<experiment>/<YYYY-mm-dd_HH-MM-SS_ffffff>/``
    (microseconds, and a retry on a clash, so runs started together never share one)."""
    base = _experiment_dir(output_root, experiment)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise output_dir_error(base, e) from None
    while True:
        stamp = _dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
        path = base / stamp
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise output_dir_error(path, e) from None


def _experiment_dir(output_root, experiment) -> Path:
    """``<output_root>/<experiment>``; a ConfigError when the experiment name would lead
    outside the output root (``experiment=../../x``, an absolute path)."""
    root = Path(output_root)
    base = root / str(experiment)
    if not base.resolve().is_relative_to(root.resolve()) or base.resolve() == root.resolve():
        raise ConfigError(f"experiment: {str(experiment)!r} would put the run directory "
                          f"outside the output directory {root}; use a plain name")
    return base


def output_dir_error(path, exc) -> ConfigError:
    """A user error naming the output path that cannot be written and why (a file where
    a directory is expected, no permission, a full disk)."""
    import errno

    reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "the file system is read-only",
              errno.ENOTDIR: "a part of the path is a file, not a directory",
              errno.EEXIST: "a file of that name exists where a directory is expected"}
    code = getattr(exc, "errno", None)
    why = reason.get(code) or getattr(exc, "strerror", None) or str(exc)
    where = getattr(exc, "filename", None) or path
    hint = "free some space or choose another --output-dir" if code in (
        errno.ENOSPC, errno.EDQUOT) else "choose another --output-dir"
    return ConfigError(f"cannot write to the output directory: {where}: {why} ({hint})")


def find_latest_run(output_root, experiment):
    """The newest run directory of ``experiment`` holding ``checkpoints/last.ckpt`` (or
    ``interrupted.ckpt``), or None."""
    base = Path(output_root) / str(experiment)
    if not base.is_dir():
        return None
    runs = sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.name,
                  reverse=True)
    for p in runs:
        ck = p / "checkpoints"
        if (ck / "last.ckpt").is_file() or (ck / "interrupted.ckpt").is_file():
            return p
    return None


def resolve_resume(resume, output_root, experiment):
    """``(run_dir, ckpt_path)`` for ``resume``: 'auto' (the latest run of ``experiment``
    under ``output_root``), a run directory, or a checkpoint file. ``ckpt_path`` is
    'last' for a run directory (its newest of last/interrupted.ckpt). Raises ConfigError
    when there is nothing to resume."""
    if resume is None:
        return None, None
    resume = str(resume)
    if resume == "auto":
        run = find_latest_run(output_root, experiment)
        if run is None:
            raise ConfigError(f"--resume auto: no previous run of experiment "
                              f"{experiment!r} with a checkpoint under "
                              f"{Path(output_root) / str(experiment)}; start one without "
                              f"--resume first, or give a run directory or checkpoint path.")
        return run, "last"
    path = Path(resume).expanduser()
    if path.is_dir():
        ck = path / "checkpoints"
        if not ((ck / "last.ckpt").is_file() or (ck / "interrupted.ckpt").is_file()):
            raise ConfigError(f"--resume {resume}: the directory has no checkpoints/last.ckpt "
                              f"(is it a ktrain run directory?)")
        return path, "last"
    if path.is_file():
        parent = path.parent
        run = parent.parent if parent.name == "checkpoints" else parent
        return run, str(path.resolve())
    raise ConfigError(f"--resume {resume}: no such run directory or checkpoint file "
                      f"(use 'auto' for the latest run of the experiment)")


