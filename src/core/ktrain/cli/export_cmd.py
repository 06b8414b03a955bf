"""``ktrain export``: a trained run's model as ONNX or a ``ktrain.jit`` graph, with a
sidecar JSON and a parity check (library: :mod:`ktrain.app.export`).

Exit codes as for ``fit``: 0 success; 2 a user error (missing run directory or
checkpoint, an op that cannot be exported, the onnx package missing), one paragraph on
stderr; 1 a failure while running (``--debug`` shows its traceback).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .eval_cmd import _CKPT_HELP, _console
from .fit_cmd import _ALLOW_RUN_HELP, _OVERRIDES_HELP, _TRUST_HELP, _fail

__all__ = ["export_cmd", "register"]


def export_cmd(
    run: Annotated[str, typer.Argument(
        metavar="RUN_DIR|CHECKPOINT", help="A run directory or a checkpoint file in one.")],
    overrides: Annotated[list[str] | None, typer.Argument(
        metavar="OVERRIDES", help=_OVERRIDES_HELP)] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="onnx (ONNX Runtime, C++, mobile, web) or ktrain (a "
        "ktrain.jit graph: ktrain.jit.load).")] = "onnx",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The file to write (default <run>/export/model.onnx or "
        "model.kt); its sidecar is OUTPUT.json.")] = None,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset version.")] = 17,
    static_batch: Annotated[bool, typer.Option(
        "--static-batch", help="Fix the batch size to the example's (default: free).")] = False,
    ckpt: Annotated[str, typer.Option("--checkpoint", "--ckpt", help=_CKPT_HELP)] = "auto",
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", metavar="MODULE", help=_ALLOW_RUN_HELP)] = None,
    trust_config: Annotated[bool, typer.Option(
        "--trust-config", help=_TRUST_HELP)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
):
    """Export a trained run's model (its best checkpoint by default) for deployment.

    Example: [bold]ktrain export outputs/resnet20/2026-01-01_12-00-00_000000[/bold]

    Prints the file, its size, the opset and the parity with eager mode on a batch of the
    run's validation split; writes OUTPUT.json with the input names and shapes, class
    names and the data config (the pre-processing that stays outside the graph).
    """
    from ..app.export import export_run

    try:
        meta = export_run(run, fmt, output, opset=opset, static_batch=static_batch,
                          ckpt=ckpt, overrides=overrides or (),
                          allow_targets=allow_target or (), trust_config=trust_config)
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001
        _fail(e, debug)
    con = _console()
    con.print(f"written: {meta['path']} ({meta['bytes'] / 1e6:.2f} MB, "
              f"{'opset ' + str(meta['opset']) if meta['opset'] else 'ktrain.jit'})")
    con.print(f"checkpoint: {meta['checkpoint']}")
    con.print("inputs: " + ", ".join(f"{i['name']} {i['dtype']}{i['shape']}"
                                     for i in meta["inputs"]))
    for k, v in meta["parity"].items():
        con.print(f"parity ({meta['example_split']} batch): {k.replace('_', ' ')} {v:.3g}")
    con.print(f"sidecar: {meta['sidecar']}")


def register(app: typer.Typer) -> None:
    """Mount ``export`` on ``app``."""
    app.command("export")(export_cmd)
