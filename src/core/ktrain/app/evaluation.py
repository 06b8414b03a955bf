"""Evaluate and predict with a trained run (what ``ktrain eval`` / ``ktrain predict`` run).

    from ktrain.app.evaluation import evaluate_run, predict_run

    res = evaluate_run("outputs/mlp_synthetic/2026-...", split="val")
    res["metrics"]        # {'val/accuracy': 0.93, 'val/loss': 0.21}
    preds = predict_run("outputs/mlp_synthetic/2026-...", ["x.npy", "rows.csv"], top_k=3)

Both rebuild the task and data from the run's saved ``config.yaml`` (as
:func:`ktrain.app.run.run_from_config` built them), load the checkpoint's weights and
run :meth:`Trainer.validate` / ``test`` / ``predict`` without loggers, checkpointing,
plots or the config's callbacks, so the run directory is left as it is (apart from the
``eval_<split>.json`` written by :func:`evaluate_run`).

Which checkpoint (``ckpt``): ``'auto'`` (default) is the best checkpoint recorded by a
ModelCheckpoint with a ``monitor`` when one exists, else ``checkpoints/last.ckpt`` (or
``interrupted.ckpt``, whichever is newer); ``'last'``, ``'best'`` or a path choose
explicitly. Given a checkpoint file instead of a run directory, that file is used and
the run directory is two levels up (``<run>/checkpoints/x.ckpt``).

Prediction input readers: the registry :data:`~ktrain.registry.PREDICT_READERS` maps a
lower-case file extension
(``'.npy'``) to ``reader(path, context) -> array`` returning a batch of samples
(``(n, *sample_shape)``; one sample of exactly ``sample_shape`` is accepted too).
``context`` is a :class:`PredictContext` (``run``: the RunConfig, ``dataset``: the
run's validation/training dataset or None, ``sample_shape``: the shape of one input
sample or None). The core reads ``.npy`` (one sample or a batch) and ``.csv`` (one
sample per row of numbers, an optional header row). A plugin adds formats in its
``register(registries)``, as it adds its other components::

    registries.predict_readers.register(".png", read_png)
    registries.predict_readers.register(".tok", read_tok, tags=("batched",))
    registries.grid_writers.register(".png", write_grid)

(:func:`register_reader` / :func:`register_grid_writer` are thin wrappers over them.)

Errors a user can fix (missing run directory, checkpoint or config.yaml, an unsupported
extension, inputs of the wrong shape, an unknown split) raise
:class:`~ktrain.config.ConfigError`.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from .config import ConfigError, RunConfig
from ..serialization import json_dumps

__all__ = [
    "BATCHED_READERS",
    "GRID_WRITERS",
    "PREDICT_READERS",
    "PredictContext",
    "choose_checkpoint",
    "collect_inputs",
    "evaluate_run",
    "load_run",
    "open_run",
    "predict_run",
    "register_grid_writer",
    "register_reader",
    "write_grids",
    "resolve_run",
    "write_predictions",
]


from .readers import (  # noqa: F401 - part of this module's names before the split
    BATCHED_READERS,
    GRID_WRITERS,
    LITERAL,
    PREDICT_READERS,
    PredictContext,
    _ext,
    _read_csv,
    _read_npy,
    _readers,
    _Tagged,
    register_grid_writer,
    register_reader,
)


# ------------------------------------------------------------------------ run loading
def resolve_run(path) -> tuple[Path, Path | None]:
    """``(run_dir, checkpoint or None)`` for a run directory or a checkpoint file."""
    p = Path(str(path)).expanduser()
    if p.is_dir():
        run_dir, ckpt = p, None
    elif p.is_file():
        ckpt = p.resolve()
        run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    else:
        raise ConfigError(f"no such run directory or checkpoint file: {path}")
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"{run_dir} has no config.yaml (is it a ktrain run directory? a "
                          "checkpoint is expected at <run>/checkpoints/NAME.ckpt)")
    return run_dir, ckpt


def _best_from(ckpt_path):
    from ..train.checkpoint import load_checkpoint

    try:
        states = load_checkpoint(ckpt_path).get("callbacks") or {}
    except Exception:  # noqa: BLE001
        return None
    for state in states.values():
        if isinstance(state, dict) and state.get("monitor") and state.get("best_model_path"):
            best = Path(state["best_model_path"])
            if best.is_file():
                return best
    return None


def choose_checkpoint(run_dir, ckpt="auto") -> Path:
    """The checkpoint file of ``run_dir`` meant by ``ckpt`` ('auto', 'last', 'best', a path)."""
    run_dir = Path(run_dir)
    if ckpt not in (None, "auto", "last", "best"):
        p = Path(str(ckpt)).expanduser()
        if not p.is_file():
            p = run_dir / "checkpoints" / str(ckpt)
        if not p.is_file():
            raise ConfigError(f"checkpoint not found: {ckpt}")
        return p
    found = [run_dir / "checkpoints" / n for n in ("last.ckpt", "interrupted.ckpt")]
    found = [p for p in found if p.is_file()]
    if not found:
        raise ConfigError(f"{run_dir} has no checkpoints/last.ckpt (did the fit save "
                          "checkpoints? trainer.enable_checkpointing)")
    last = max(found, key=os.path.getmtime)
    if ckpt in ("auto", "best", None):
        best = _best_from(last)
        if best is not None:
            return best
        if ckpt == "best":
            raise ConfigError(f"{run_dir}: no best checkpoint is recorded (no ModelCheckpoint "
                              "with a monitor in trainer.callbacks); use --ckpt last")
    return last


def open_run(run_dir, overrides=(), *, allow_targets=(), trust_config: bool = False):
    """``(run, policy)``: the validated RunConfig saved in ``run_dir`` (Hydra
    ``overrides`` applied) and the :class:`~ktrain.target_policy.TargetPolicy` to build
    it under. The way every command opens a run directory someone may have sent (eval,
    predict, generate; export and serve must use it too): its ``_target_`` s may name
    only ktrain and the installed plugins, plus ``allow_targets`` given by the caller
    (``--allow-target``), never the ``allow_targets`` recorded in its own config.yaml,
    unless ``trust_config`` (``--trust-config``). A refused target raises
    :class:`~ktrain.target_policy.UntrustedTargetError` naming its key path."""
    from .config import compose_config, load_run_config, validate
    from ..target_policy import policy_for_run_dir

    policy = policy_for_run_dir(allow_targets, trust_config, run_dir=run_dir)
    path = Path(run_dir) / "config.yaml"
    overrides = [str(o) for o in overrides or ()]
    cfg = compose_config(str(path), overrides) if overrides else load_run_config(path)
    run = validate(cfg, target_policy=policy)
    return run, policy.with_config(run.allow_targets)


def load_run(run_dir, overrides=(), *, allow_targets=(), trust_config: bool = False
             ) -> RunConfig:
    """The validated RunConfig saved in ``run_dir`` with Hydra ``overrides`` applied
    (its targets checked as :func:`open_run` does)."""
    return open_run(run_dir, overrides, allow_targets=allow_targets,
                    trust_config=trust_config)[0]


def _build_model_task(run: RunConfig):
    from ..train._state import seed_everything
    from .build import _build_task, build_model

    seed_everything(run.seed)
    return _build_task(run, build_model(run))


def _eval_trainer(run: RunConfig, run_dir):
    from ..train.trainer import Trainer

    kw = run.trainer.to_kwargs()
    for k in ("callbacks", "loggers", "enable_checkpointing", "enable_progress_bar",
              "enable_plots", "default_root_dir"):
        kw.pop(k, None)
    return Trainer(callbacks=[], loggers=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_plots=False, seed=run.seed,
                   default_root_dir=str(run_dir), config=run.to_dict(), **kw)


def _dataset(run: RunConfig, split: str):
    from .run import _build_dataset, _user_error

    data = run.data.to_dict()
    try:
        return _build_dataset(data, split)
    except Exception as e:  # noqa: BLE001
        raise _user_error(f"dataset (data: {data.get('name') or data.get('_target_')}, "
                          f"split {split!r})", e) from None


# ------------------------------------------------------------------------ evaluate
def evaluate_run(run_dir_or_ckpt, split: str = "val", overrides=(), ckpt="auto",
                 output=None, write: bool = True, *, allow_targets=(),
                 trust_config: bool = False) -> dict:
    """Evaluate a trained run on its ``'val'`` or ``'test'`` split.

    Returns ``{'split', 'run_dir', 'checkpoint', 'metrics': {name: float}, 'output'}``
    and (``write``) saves it as JSON to ``output`` (default ``<run>/eval_<split>.json``).
    ``allow_targets``/``trust_config``: which ``_target_`` s of the run's config may be
    built (:func:`open_run`).
    """
    from ..target_policy import use_policy
    from .run import _floats, check_checkpoint, make_loader

    if split in ("validation", "valid"):
        split = "val"
    if split not in ("val", "test"):
        raise ConfigError(f"split must be 'val' or 'test', got {split!r}")
    run_dir, given = resolve_run(run_dir_or_ckpt)
    ckpt_path = given if given is not None else choose_checkpoint(run_dir, ckpt)
    run, policy = open_run(run_dir, overrides, allow_targets=allow_targets,
                           trust_config=trust_config)
    with use_policy(policy):
        ds = _dataset(run, split)
        if ds is None or (hasattr(ds, "__len__") and len(ds) == 0):
            raise ConfigError(f"the dataset ({run.data.name or 'data'}) has no {split!r} "
                              f"split (or it is empty)")
        loader = make_loader(ds, run.data.to_dict(), train=False)
        task = _build_model_task(run)
        check_checkpoint(ckpt_path, task, run)
        trainer = _eval_trainer(run, run_dir)
        fn = trainer.validate if split == "val" else trainer.test
        out = fn(task, loader, ckpt_path=str(ckpt_path))
    metrics = _floats(out[0] if out else trainer.callback_metrics)
    result = {"split": split, "run_dir": str(run_dir), "checkpoint": str(ckpt_path),
              "overrides": [str(o) for o in overrides or ()], "metrics": metrics,
              "output": None}
    if write:
        target = Path(output) if output is not None else run_dir / f"eval_{split}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        result["output"] = str(target)
        target.write_text(json_dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


# ------------------------------------------------------------------------ predict
def collect_inputs(inputs, readers=None) -> list:
    """The inputs meant by ``inputs``: files, folders (their files with a known
    extension, sorted) and, when a ``":text"`` reader is registered, literal strings
    (items that are not existing paths and do not look like one, i.e. end in a known
    extension or a slash; returned as ``str``, files as ``Path``).
    Raises ConfigError for missing paths and unknown extensions."""
    readers = PREDICT_READERS if readers is None else readers
    exts = sorted(e for e in readers if e != LITERAL)
    files = []
    for item in inputs:
        if not str(item).strip():  # Path("") is ".": an empty argument is no folder
            if LITERAL not in readers:
                raise ConfigError(f"empty input {str(item)!r}: give a file or folder")
            files.append(str(item))  # empty text: its reader says so
            continue
        p = Path(str(item)).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file()
                           and f.suffix.lower() in readers)
            if not found:
                raise ConfigError(f"{p}: the folder holds no file with a supported "
                                  f"extension ({', '.join(exts)})")
            files.extend(found)
        elif p.is_file():
            if p.suffix.lower() not in readers:
                raise ConfigError(f"{p}: unsupported input extension {p.suffix or '(none)'!r}; "
                                  f"supported: {', '.join(exts)} (plugins add "
                                  "more through the predict_readers registry)")
            files.append(p)
        elif LITERAL in readers and not _path_like(str(item), readers):
            files.append(str(item))
        else:
            raise ConfigError(f"no such input file or folder: {item}")
    if not files:
        raise ConfigError("no inputs given")
    return files


def _path_like(item: str, readers) -> bool:
    """A missing ``x.png`` / ``data/`` is a mistyped path, not literal text."""
    return item.endswith(("/", os.sep)) or (
        Path(item).suffix.lower() in readers and " " not in item)


def _kind(item) -> str:
    return LITERAL if isinstance(item, str) else item.suffix.lower()


def _sample_of(ds):
    try:
        item = ds[0]
    except Exception:  # noqa: BLE001
        return None
    x = item[0] if isinstance(item, (list, tuple)) else item
    shape = getattr(x, "shape", None)
    return None if shape is None else tuple(int(s) for s in shape)


def _as_batch(arr, shape, path):
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biuf":
        raise ConfigError(f"{path}: expected numbers, got an array of {arr.dtype}")
    if shape is None:
        return arr[None] if arr.ndim <= 1 else arr
    if tuple(arr.shape) == shape:
        return arr[None]
    if tuple(arr.shape[1:]) == shape:
        return arr
    raise ConfigError(f"{path}: input shape {tuple(arr.shape)} does not match the model's "
                      f"input: one sample {shape} or a batch (n, {', '.join(map(str, shape))})")


def _read_groups(items, readers, shape, ctx):
    """Read every input; returns ``[(batch array, [(input name, row)...])]``: arrays of
    the same sample shape and dtype are joined into one batch, others kept apart."""
    groups: dict = {}
    for item in items:
        kind = _kind(item)
        name = str(item)
        arr = readers[kind](item, ctx)
        if kind in BATCHED_READERS:
            arr = np.asarray(arr)
            if arr.ndim == 0:
                raise ConfigError(f"{name}: the {kind} reader returned a scalar")
        else:
            arr = _as_batch(arr, shape, name)
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            arr = arr.astype(np.float32, copy=False)
        elif arr.dtype.kind == "f" or arr.dtype.kind == "b":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu" and kind not in BATCHED_READERS:
            arr = arr.astype(np.float32)  # numbers from .npy/.csv are features
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
        key = (tuple(arr.shape[1:]), arr.dtype.str)
        g = groups.setdefault(key, ([], []))
        g[0].append(arr)
        g[1].extend((name, i) for i in range(len(arr)))
    return [(np.concatenate(a), where) for a, where in groups.values()]


def predict_run(run_dir, inputs, top_k: int = 1, overrides=(), ckpt="auto",
                batch_size=None, grid=None, *, allow_targets=(),
                trust_config: bool = False) -> list[dict]:
    """Run the model of ``run_dir`` on ``inputs`` (files or folders).

    ``grid``: a PNG path: the plugins' grid writers (:func:`register_grid_writer`) draw
    the inputs with their predictions there (an error when no writer knows the inputs).
    ``allow_targets``/``trust_config``: which ``_target_`` s of the run's config may be
    built (:func:`open_run`).

    Returns one dict per sample: ``input`` (file), ``index`` (row in the file) and, for a
    classification task, ``class`` (index), ``label`` (class name when the dataset has
    ``classes``), ``probability`` and ``top_k`` (a list of ``{class, label,
    probability}``); for a regression task ``output`` (a list of floats).
    """
    from ..target_policy import use_policy

    if int(top_k) < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    run_dir, given = resolve_run(run_dir)
    ckpt_path = given if given is not None else choose_checkpoint(run_dir, ckpt)
    run, policy = open_run(run_dir, overrides, allow_targets=allow_targets,
                           trust_config=trust_config)
    with use_policy(policy):
        return _predict(run, run_dir, ckpt_path, inputs, top_k, batch_size, grid)


def _predict(run, run_dir, ckpt_path, inputs, top_k, batch_size, grid) -> list[dict]:
    import ktrain

    from ..utils.data import DataLoader, TensorDataset
    from ..train._supervised import ClassificationTask
    from .run import check_checkpoint

    readers = _readers()
    files = collect_inputs(inputs, readers)
    ds = None
    for split in ("val", "train"):
        try:
            ds = _dataset(run, split)
        except Exception:  # noqa: BLE001 - class names/shapes are optional here
            ds = None
        if ds is not None:
            break
    shape = _sample_of(ds) if ds is not None else None
    classes = list(getattr(ds, "classes", None) or []) if ds is not None else []
    ctx = PredictContext(run=run, dataset=ds, sample_shape=shape)

    groups = _read_groups(files, readers, shape, ctx)
    task = _build_model_task(run)
    check_checkpoint(ckpt_path, task, run)  # its problems are never the inputs'
    trainer = _eval_trainer(run, run_dir)
    bs = int(batch_size or run.data.to_dict().get("batch_size", 32) or 32)
    outs, origin = [], []
    for x, where in groups:
        loader = DataLoader(TensorDataset(ktrain.from_numpy(np.ascontiguousarray(x))),
                            batch_size=bs, shuffle=False)
        try:
            outs += trainer.predict(task, loader, ckpt_path=str(ckpt_path))
        except (ValueError, RuntimeError, TypeError) as e:
            if any(w in str(e).lower() for w in ("shape", "size", "dtype")):
                raise ConfigError(f"the inputs do not fit the model (input shape "
                                  f"{tuple(x.shape[1:])}, {x.dtype}): {e}") from None
            raise
        origin += where
    y = np.concatenate([np.asarray(o.detach().cpu().numpy() if hasattr(o, "detach") else o)
                        .reshape(len(o), -1) for o in outs])
    records = []
    if isinstance(task, ClassificationTask):
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):  # binary: P(class 1)
            p1 = y.reshape(-1)
            y = np.stack([1 - p1, p1], axis=1)
        y = y.reshape(len(y), -1)
        k = min(int(top_k), y.shape[1])
        for (f, i), p in zip(origin, y):
            order = np.argsort(-p, kind="stable")[:k]
            top = [{"class": int(c), "label": classes[c] if c < len(classes) else str(int(c)),
                    "probability": float(p[c])} for c in order]
            records.append({"input": f, "index": i, "class": top[0]["class"],
                            "label": top[0]["label"], "probability": top[0]["probability"],
                            "top_k": top})
    else:
        y = y.reshape(len(y), -1)
        for (f, i), v in zip(origin, y):
            records.append({"input": f, "index": i, "output": [float(a) for a in v]})
    position = {str(f): n for n, f in reversed(list(enumerate(files)))}
    records.sort(key=lambda r: (position.get(r["input"], 0), r["index"]))  # input order
    if grid is not None:
        write_grids(records, files, grid, ctx)
    return records


def write_grids(records, files, path, context) -> list[Path]:
    """Draw the inputs with their predictions through the plugins' grid writers: one
    PNG at ``path`` (inputs of several extensions with the same writer share it), or
    ``<stem>_<ext>.png`` per writer when different writers draw different inputs.
    Raises ConfigError when no writer is registered for any of the inputs."""
    kinds = {str(f): _kind(f) for f in files}
    by_writer: dict = {}
    missing = set()
    for r in records:
        kind = kinds.get(r["input"], "")
        writer = GRID_WRITERS[kind] if kind in GRID_WRITERS else None
        if writer is None:
            missing.add(kind)
            continue
        by_writer.setdefault(writer, (kind, []))[1].append(r)
    if not by_writer:
        have = ", ".join(sorted(GRID_WRITERS)) or "none (install a plugin such as ktrain-vision)"
        raise ConfigError(f"--grid: no grid writer for the inputs' formats "
                          f"({', '.join(sorted(missing))}); writers exist for: {have}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for writer, (kind, recs) in by_writer.items():
        target = path if len(by_writer) == 1 else \
            path.with_name(f"{path.stem}_{kind.strip('.:')}{path.suffix or '.png'}")
        out.append(Path(writer(recs, target, context) or target))
    return out


def write_predictions(records, path) -> Path:
    """Write ``records`` (from :func:`predict_run`) as JSON, or as CSV for ``*.csv``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        if records and "output" in records[0]:
            n = max(len(r["output"]) for r in records)
            w.writerow(["input", "index"] + [f"output_{j}" for j in range(n)])
            for r in records:
                w.writerow([r["input"], r["index"]] + r["output"])
        else:
            k = max((len(r["top_k"]) for r in records), default=1)
            head = ["input", "index", "class", "label", "probability"]
            for j in range(1, k):
                head += [f"top{j + 1}_class", f"top{j + 1}_label", f"top{j + 1}_probability"]
            w.writerow(head)
            for r in records:
                row = [r["input"], r["index"], r["class"], r["label"], r["probability"]]
                for t in r["top_k"][1:]:
                    row += [t["class"], t["label"], t["probability"]]
                w.writerow(row)
        path.write_text(buf.getvalue(), encoding="utf-8")
    else:
        path.write_text(json_dumps(records, indent=2) + "\n", encoding="utf-8")
    return path
