"""``ktrain export``: a trained run's model as an ONNX file or a ``ktrain.jit`` graph, with
a sidecar JSON and a parity check (what :func:`export_run` does).

The run directory is opened as every command opens one someone may have sent
(:func:`ktrain.app.evaluation.open_run`: its ``_target_`` s name only ktrain and the
installed plugins unless allowed), the model is built from its config, the chosen
checkpoint's weights are loaded, and a batch of the run's validation split (the test or
train split when there is none) is the example input: traced, exported, and compared
with eager mode (in ONNX Runtime too when it is installed).

Beside ``OUT`` goes ``OUT.json``: format, opset, the checkpoint, input names with shapes
and dtypes (``"batch"`` for the free batch axis), output names, class names when the
dataset has them, the data config (the pre-processing that stays outside the graph: image
resizing and normalisation transforms, a tokenizer) and the parity figures.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..serialization import json_dumps
from .config import ConfigError

__all__ = ["export_run"]


def _example(run, ds_split):
    from ..train._supervised import _inputs
    from .evaluation import _dataset
    from .run import make_loader

    for split in (ds_split, "test", "train"):
        try:
            ds = _dataset(run, split)
        except Exception:  # noqa: BLE001 - try the next split
            ds = None
        if ds is not None and (not hasattr(ds, "__len__") or len(ds)):
            data = dict(run.data.to_dict())
            loader = make_loader(ds, data, train=False)
            batch = next(iter(loader))
            return ds, split, _inputs(batch)
    raise ConfigError("the run's dataset has no val, test or train split to take an example "
                      "batch from")


def export_run(run_dir_or_ckpt, fmt="onnx", output=None, *, opset=17, static_batch=False,
               ckpt="auto", overrides=(), allow_targets=(), trust_config=False) -> dict:
    """Export a run's model; returns the sidecar dict (also written as ``OUT.json``)."""
    import ktrain

    from ..target_policy import use_policy
    from .build import check_checkpoint
    from .evaluation import _build_model_task, choose_checkpoint, open_run, resolve_run

    if fmt not in ("onnx", "ktrain"):
        raise ConfigError(f"--format must be onnx or ktrain, got {fmt!r}")
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise ConfigError("exporting to ONNX needs the onnx package: pip install "
                              "\"ktrain[export]\" (or use --format ktrain)") from None
    run_dir, given = resolve_run(run_dir_or_ckpt)
    ckpt_path = given if given is not None else choose_checkpoint(run_dir, ckpt)
    run, policy = open_run(run_dir, overrides, allow_targets=allow_targets,
                           trust_config=trust_config)
    with use_policy(policy):
        task = _build_model_task(run)
        state = check_checkpoint(ckpt_path, task, run)
        task.load_state_dict(state["state_dict"])
        ds, split, x = _example(run, "val")
    model = task.model.eval()
    args, kwargs = ((), dict(x)) if isinstance(x, dict) else ((x,), {})
    names = list(kwargs) if kwargs else ["input"]
    out = Path(output) if output is not None else run_dir / "export" / (
        "model.onnx" if fmt == "onnx" else "model.kt")
    out.parent.mkdir(parents=True, exist_ok=True)
    with ktrain.no_grad():
        want = model(*args, **kwargs)
    want = np.asarray(want.detach().cpu().numpy())
    parity = {}
    try:
        if fmt == "onnx":
            ktrain.onnx.export(model, args, out, input_names=names, output_names=["output"],
                               dynamic_axes=None if static_batch else
                               {n: {0: "batch"} for n in names},
                               opset_version=int(opset), kwargs=kwargs or None)
            try:
                import onnxruntime as ort
            except ImportError:
                ort = None
            if ort is not None:
                sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
                feeds = {i.name: (kwargs[i.name] if kwargs else x).numpy()
                         for i in sess.get_inputs()}
                parity["onnxruntime_max_abs_diff"] = float(np.abs(
                    sess.run(None, feeds)[0] - want).max())
            back = ktrain.onnx.load(out)
        else:
            traced = ktrain.jit.trace(model, args, dynamic_batch=not static_batch,
                                      example_kwarg_inputs=kwargs or None)
            ktrain.jit.save(traced, out)
            back = ktrain.jit.load(out)
    except (ktrain.onnx.UnsupportedOperatorError, ktrain.jit.TracingError) as e:
        raise ConfigError(f"cannot export this model: {e}") from None
    with ktrain.no_grad():
        got = back(*args, **kwargs) if not (fmt == "onnx" and kwargs) else \
            back(*[kwargs[n] for n in back.input_names])
    parity["reloaded_max_abs_diff"] = float(np.abs(got.detach().numpy() - want).max())
    example = {n: (kwargs[n] if kwargs else x) for n in names}
    meta = {"format": fmt, "path": str(out), "bytes": os.path.getsize(out),
            "opset": int(opset) if fmt == "onnx" else None,
            "checkpoint": str(ckpt_path), "run_dir": str(run_dir),
            "inputs": [{"name": n, "dtype": t.dtype.name,
                        "shape": (["batch"] if not static_batch else [int(t.shape[0])])
                        + [int(d) for d in t.shape[1:]]} for n, t in example.items()],
            "outputs": [{"name": "output", "shape": (["batch"] if not static_batch else
                                                     [int(want.shape[0])])
                         + [int(d) for d in want.shape[1:]]}],
            "classes": [str(c) for c in (getattr(ds, "classes", None) or [])],
            "example_split": split, "data": run.data.to_dict(), "parity": parity}
    side = Path(str(out) + ".json")
    side.write_text(json_dumps(meta, indent=2) + "\n", encoding="utf-8")
    meta["sidecar"] = str(side)
    return meta
