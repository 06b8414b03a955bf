"""``ktrain eval`` and ``ktrain predict``: evaluate a trained run on its validation/test
split, or run its model on input files (library: :mod:`ktrain.app.evaluation`).

Exit codes as for ``fit``: 0 success; 2 a user error (missing run directory, checkpoint
or config.yaml, bad override, unsupported input extension, inputs of the wrong shape),
one line on stderr; 1 a failure while running (``--debug`` shows its traceback).

Mounted on the main app with :func:`register` (``register(app)``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .fit_cmd import _ALLOW_RUN_HELP, _OVERRIDES_HELP, _TRUST_HELP, _fail

__all__ = ["eval_cmd", "predict_cmd", "register"]

_CKPT_HELP = ("Which checkpoint of a run directory: auto (the best one recorded by a "
              "ModelCheckpoint with a monitor, else last), last, best, or a path/file name.")


def _console():
    """stdout's console; when it is not a terminal (a pipe, a file) tables take the width
    their content needs, so no path or value is cut to fit 80 columns."""
    from rich.console import Console

    con = Console(highlight=False, soft_wrap=True)
    if not con.is_terminal:
        con = Console(highlight=False, soft_wrap=True, width=100_000)
    return con


def eval_cmd(
    run: Annotated[str, typer.Argument(
        metavar="RUN_DIR|CHECKPOINT", help="A run directory or a checkpoint file in one "
        "(<run>/checkpoints/NAME.ckpt).")],
    overrides: Annotated[list[str] | None, typer.Argument(
        metavar="OVERRIDES", help=_OVERRIDES_HELP)] = None,
    split: Annotated[str, typer.Option(
        "--split", "-s", help="The split to evaluate on: val or test.")] = "val",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the JSON here (default <run>/eval_<split>.json).")] = None,
    ckpt: Annotated[str, typer.Option("--ckpt", help=_CKPT_HELP)] = "auto",
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the path of the JSON file.")] = False,
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", metavar="MODULE", help=_ALLOW_RUN_HELP)] = None,
    trust_config: Annotated[bool, typer.Option(
        "--trust-config", help=_TRUST_HELP)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
):
    """Evaluate a trained run on its validation or test split with its saved config.

    Example: [bold]ktrain eval outputs/mlp_synthetic/2026-01-01_12-00-00_000000
    --split test[/bold]

    Prints a metrics table and writes eval_<split>.json in the run directory.
    """
    from ..app import evaluate

    try:
        res = evaluate(run, split=split, overrides=overrides, ckpt=ckpt, output=output,
                       allow_targets=allow_target or (), trust_config=trust_config)
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001
        _fail(e, debug)
    if quiet:
        typer.echo(res["output"])
        return
    from rich.table import Table

    table = Table(title=f"{split} metrics", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k in sorted(res["metrics"]):
        table.add_row(k, f"{res['metrics'][k]:.6g}")
    con = _console()
    con.print(f"checkpoint: {res['checkpoint']}")
    con.print(table)
    con.print(f"written: {res['output']}")


def predict_cmd(
    run: Annotated[str, typer.Argument(
        metavar="RUN_DIR", help="A run directory (or one of its checkpoint files).")],
    inputs: Annotated[list[str], typer.Argument(
        metavar="INPUTS...", help="Input files or folders (.npy: a sample or a batch; "
        ".csv: one sample per row; plugins add formats: images, audio clips, or literal "
        "text for text classifiers).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the predictions to this .json or .csv file.")] = None,
    top_k: Annotated[int, typer.Option(
        "--top-k", "-k", help="How many classes to show per sample.")] = 1,
    ckpt: Annotated[str, typer.Option("--ckpt", help=_CKPT_HELP)] = "auto",
    grid: Annotated[Path | None, typer.Option(
        "--grid", help="Also draw the inputs with their predicted labels into this PNG "
        "(image inputs, through the vision plugin).")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print nothing but errors (use with --output).")] = False,
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", metavar="MODULE", help=_ALLOW_RUN_HELP)] = None,
    trust_config: Annotated[bool, typer.Option(
        "--trust-config", help=_TRUST_HELP)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
):
    """Run a trained model on input files or folders; print or write the predictions.

    Example: [bold]ktrain predict outputs/mlp_synthetic/2026-01-01_12-00-00_000000
    samples.npy rows.csv --top-k 3 --output preds.json[/bold]
    """
    from ..app import predict

    try:
        records = predict(run, inputs, output=output, top_k=top_k, ckpt=ckpt, grid=grid,
                          allow_targets=allow_target or (), trust_config=trust_config)
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001
        _fail(e, debug)
    if quiet:
        return
    from rich.table import Table

    table = Table(title="predictions", title_justify="left")
    table.add_column("input", overflow="fold")  # on a narrow terminal: wrapped, never cut
    table.add_column("#", justify="right")
    if records and "output" in records[0]:
        table.add_column("output")
        for r in records:
            table.add_row(r["input"], str(r["index"]),
                          ", ".join(f"{v:.6g}" for v in r["output"]))
    else:
        table.add_column("class")
        table.add_column("probability", justify="right")
        if top_k > 1:
            table.add_column(f"top {top_k}")
        for r in records:
            row = [r["input"], str(r["index"]), r["label"], f"{r['probability']:.4f}"]
            if top_k > 1:
                row.append(", ".join(f"{t['label']} {t['probability']:.4f}"
                                     for t in r["top_k"]))
            table.add_row(*row)
    con = _console()
    con.print(table)
    if output is not None:
        con.print(f"written: {output}")
    if grid is not None:
        con.print(f"grid: {grid}")


def register(app: typer.Typer) -> None:
    """Mount ``eval`` and ``predict`` on ``app``."""
    app.command("eval")(eval_cmd)
    app.command("predict")(predict_cmd)


def main():  # ``python -m ktrain.cli.eval_cmd eval ...`` (before the commands are mounted)
    app = typer.Typer(add_completion=False, rich_markup_mode="rich")
    register(app)
    app()


if __name__ == "__main__":
    main()
