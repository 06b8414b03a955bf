"""``ktrain sweep``: a real Hydra multirun over PARAM=VALUES, ranked at the end.

Exit codes: 0 at least one job succeeded; 1 every job failed (or the sweep crashed);
2 a user error (config file, override syntax, unknown key, missing plugin).

Mounted on the main app with :func:`register` (``register(app)``).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from .fit_cmd import _ALLOW_HELP, RUNTIME_ERROR, _fail

__all__ = ["register", "sweep"]


def sweep(
    config_file: Annotated[str, typer.Argument(
        metavar="CONFIG", help="A YAML config file (in conf/ or anywhere).")],
    params: Annotated[list[str] | None, typer.Argument(
        metavar="PARAM=VALUES",
        help="Hydra overrides; sweeps: a,b,c  range(1,4)  choice(a,b)  interval(1e-4,0.1) "
             "(optuna). Plain key=value overrides apply to every run.")] = None,
    sweeper: Annotated[str, typer.Option(
        "--sweeper", help="basic (grid of comma lists / range()) or optuna "
        "(interval()/choice(); needs ktrain\\[sweep]).")] = "basic",
    n_trials: Annotated[int | None, typer.Option(
        "--n-trials", help="Number of optuna trials.")] = None,
    launcher: Annotated[str, typer.Option(
        "--launcher", help="basic (sequential) or joblib (parallel; needs "
        "ktrain\\[sweep]).")] = "basic",
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", help="Parallel jobs (joblib launcher / optuna batch size).")] = None,
    monitor: Annotated[str, typer.Option(
        "--monitor", help="Metric that ranks the runs.")] = "val/accuracy",
    mode: Annotated[str, typer.Option("--mode", help="max or min.")] = "max",
    output_dir: Annotated[Path, typer.Option(
        "--output-dir", "-o", help="Root of the sweep directories.")] = Path("multirun"),
    no_hydra_logging: Annotated[bool, typer.Option(
        "--no-hydra-logging", help="Turn off Hydra's console/file logging.")] = False,
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", metavar="MODULE", help=_ALLOW_HELP)] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
):
    """Run a hyper-parameter sweep (Hydra multirun); ranks the runs by --monitor and
    writes summary.csv and summary.png into the sweep directory, which it prints.

    Example: [bold]ktrain sweep conf/mlp_synthetic.yaml optim.lr=0.01,0.1
    seed=range(2) trainer=fast[/bold]

    Optuna: [bold]ktrain sweep conf/mlp_synthetic.yaml 'optim.lr=interval(1e-4,0.1)'
    --sweeper optuna --n-trials 8[/bold]
    """
    from ..app import sweep as app_sweep

    try:
        result = app_sweep(config_file, params, sweeper=sweeper, n_trials=n_trials,
                           launcher=launcher, jobs=jobs, monitor=monitor, mode=mode,
                           output_dir=output_dir, hydra_logging=not no_hydra_logging,
                           allow_targets=allow_target or ())
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001
        _fail(e, debug)
    _render(result)
    if result.rows and result.n_failed == len(result.rows):
        typer.echo(f"Error: all {len(result.rows)} runs failed; see "
                   f"sweep_result.json in each run dir", err=True)
        typer.echo(str(result.sweep_dir))
        raise typer.Exit(RUNTIME_ERROR)
    if not result.rows:
        typer.echo("Error: the sweep produced no runs", err=True)
        typer.echo(str(result.sweep_dir))
        raise typer.Exit(RUNTIME_ERROR)
    typer.echo(str(result.sweep_dir))


def _render(result):
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False, highlight=False, soft_wrap=True)
    table = Table(title=f"Sweep: {len(result.rows)} runs ranked by {result.monitor} "
                        f"({result.mode})")
    table.add_column("rank", justify="right")
    table.add_column("job", justify="right")
    for p in result.params:
        table.add_column(p)
    table.add_column(result.monitor, justify="right")
    table.add_column("status")
    for r in result.rows:
        m = r.get("metric")
        metric = f"{m:.6g}" if isinstance(m, float) and math.isfinite(m) else "-"
        table.add_row(str(r.get("rank") or "-"), str(r.get("job")),
                      *[str(r.get("params", {}).get(p, "")) for p in result.params],
                      metric, "ok" if r["status"] == "ok" else "[red]failed[/red]")
    console.print(table)
    for r in result.rows:
        if r["status"] != "ok":
            typer.echo(f"run {r.get('job')} failed: {r.get('error')}", err=True)
    if result.csv_path:
        console.print(f"summary: {result.csv_path}")
    if result.plot_path:
        console.print(f"plot: {result.plot_path}")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Mount ``sweep`` on ``app``."""
    app.command("sweep")(sweep)


def main():  # ``python -m ktrain.cli.sweep_cmd CONFIG PARAMS...``
    app = typer.Typer(add_completion=False, rich_markup_mode="rich")
    register(app)
    app.command("_noop", hidden=True)(lambda: None)  # keep 'sweep' as a subcommand
    app()


if __name__ == "__main__":
    main()
