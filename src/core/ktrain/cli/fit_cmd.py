"""``ktrain fit`` and ``ktrain config``: compose a YAML config with Hydra overrides,
validate it, then train it (``fit``) or print it (``config``): parse the arguments,
call :func:`ktrain.app.fit` / :func:`ktrain.app.config_yaml`, map errors to exit codes.

Exit codes: 0 success; 2 a user error (missing file, bad YAML, unknown group option, bad
override, validation problems, unknown component names, bad component arguments), shown
as one paragraph on stderr without a traceback; 1 a failure while running (``--debug``
shows its traceback).

Mounted on the main app with :func:`register` (``register(app)``).
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["config", "fit", "register"]

USER_ERROR, RUNTIME_ERROR = 2, 1

_OVERRIDES_HELP = ("Hydra overrides: key=value, +key=value, ~key, group=option "
                   "(e.g. optim.lr=0.01 trainer=fast model=mlp).")


def _is_user_error(exc) -> bool:
    from ..app.config import ConfigError
    from ..registry import RegistryError

    return isinstance(exc, (ConfigError, RegistryError))


def _paragraph(exc) -> str:
    """The message as one paragraph: lines joined, indented list items comma-separated
    (Hydra's "Available options in 'optim':" listing)."""
    text = str(exc).strip() or type(exc).__name__
    out = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif raw[:1] in ("\t", " ") and not out.endswith(":"):
            out += ", " + line
        else:
            out += " " + line
    return out


def _sample_failure(exc):
    """``(index, file, summary, where)`` when ``exc`` (or what it was raised from) is a
    dataset failing on one sample (``ktrain_sample``, set by the DataLoader), else None."""
    seen = 0
    while exc is not None and seen < 8:
        info = getattr(exc, "ktrain_sample", None)
        if info is not None:
            return (*info, getattr(exc, "ktrain_where", None))
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _fail(exc, debug: bool):
    """Report ``exc`` on stderr and exit: 2 for user errors, 1 otherwise."""
    if _is_user_error(exc):
        if debug:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        typer.echo(f"Error: {_paragraph(exc)}", err=True)
        raise typer.Exit(USER_ERROR)
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    sample = _sample_failure(exc)
    if sample is not None:  # the dataset's error, not a flattened worker traceback
        index, path, summary, where = sample
        typer.echo(f"Error: the run failed while loading sample {index}"
                   + (f" (file {path})" if path else "") + (f" {where}" if where else "")
                   + f": {summary}" + ("" if debug else " (run with --debug for the "
                                       "traceback)"), err=True)
        raise typer.Exit(RUNTIME_ERROR)
    typer.echo(f"Error: the run failed: {type(exc).__name__}: {_paragraph(exc)}"
               + ("" if debug else " (run with --debug for the traceback)"), err=True)
    raise typer.Exit(RUNTIME_ERROR)


_ALLOW_HELP = ("Let the config's _target_ entries name this module (and its submodules) "
               "besides ktrain and the installed plugins; repeatable; recorded in the "
               "run's config.yaml (allow_targets).")
_ALLOW_RUN_HELP = ("Let the run's config name _target_ entries in this module (and its "
                   "submodules) besides ktrain and the installed plugins; repeatable. The "
                   "allow_targets recorded in a run directory are not honoured without it.")
_TRUST_HELP = ("Build whatever _target_ the run's config names (its recorded "
               "allow_targets included): only for a run directory you trust, since a "
               "_target_ can run any code.")


def fit(
    config_file: Annotated[str, typer.Argument(
        metavar="CONFIG", help="A YAML config file (in conf/ or anywhere).")],
    overrides: Annotated[list[str] | None, typer.Argument(
        metavar="OVERRIDES", help=_OVERRIDES_HELP)] = None,
    resume: Annotated[str | None, typer.Option(
        "--resume", metavar="auto|PATH",
        help="Continue a run from its last checkpoint: 'auto' (the latest run of this "
             "experiment), a run directory or a checkpoint file.")] = None,
    output_dir: Annotated[Path, typer.Option(
        "--output-dir", "-o", help="Root of the run directories.")] = Path("outputs"),
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bar or metrics; print only the run "
        "directory.")] = False,
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", metavar="MODULE", help=_ALLOW_HELP)] = None,
    trust_config: Annotated[bool, typer.Option(
        "--trust-config", help="Build whatever _target_ the config names (with --resume: "
        "the allow_targets it records included); a _target_ can run any code.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
):
    """Compose, validate, build and train a config; prints the run directory.

    Example: [bold]ktrain fit conf/mlp_synthetic.yaml optim=adam optim.lr=0.01
    trainer.max_epochs=5[/bold]

    The run directory is outputs/<experiment>/<YYYY-mm-dd_HH-MM-SS_ffffff>/ with
    config.yaml, overrides.yaml, metrics (CSV, JSONL), plots and checkpoints/.
    """
    from ..app import RunInterrupted
    from ..app import fit as app_fit

    overrides = list(overrides or ())
    try:
        res = app_fit(config_file, overrides, resume=resume, output_dir=output_dir,
                      allow_targets=allow_target or (), trust_config=trust_config,
                      enable_progress_bar=False if quiet else None)
    except RunInterrupted as e:
        typer.echo(f"Interrupted; resume with: ktrain fit {config_file} "
                   f"{' '.join(overrides)} --resume {e.run_dir}".replace("  ", " "), err=True)
        raise typer.Exit(130) from None
    except Exception as e:  # noqa: BLE001
        _fail(e, debug)
    # the progress bar has already printed the final and test metrics as tables: the
    # plain list is only for runs without it (trainer.enable_progress_bar=false)
    metrics = res.metrics
    if not quiet and metrics and not res.run.trainer.enable_progress_bar:
        width = max(len(k) for k in metrics)
        for k in sorted(metrics):
            typer.echo(f"{k:<{width}}  {metrics[k]:.6g}")
    typer.echo(str(res.run_dir))


def config(
    config_file: Annotated[str, typer.Argument(
        metavar="CONFIG", help="A YAML config file (in conf/ or anywhere).")],
    overrides: Annotated[list[str] | None, typer.Argument(
        metavar="OVERRIDES", help=_OVERRIDES_HELP)] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Plain YAML, no highlighting.")] = False,
    allow_target: Annotated[list[str] | None, typer.Option(
        "--allow-target", metavar="MODULE", help=_ALLOW_HELP)] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
):
    """Print the composed, validated config as YAML.

    Example: [bold]ktrain config conf/mlp_synthetic.yaml optim=adam trainer=fast[/bold]
    """
    from ..app import config_yaml

    try:
        text = config_yaml(config_file, overrides, allow_target or ())
    except Exception as e:  # noqa: BLE001
        _fail(e, debug)
    if not quiet and sys.stdout.isatty():
        from rich.console import Console
        from rich.syntax import Syntax

        Console().print(Syntax(text, "yaml", background_color="default"))
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def register(app: typer.Typer) -> None:
    """Mount ``fit`` and ``config`` on ``app``."""
    app.command("fit")(fit)
    app.command("config")(config)


def main():  # ``python -m ktrain.cli.fit_cmd fit ...`` (before the commands are mounted)
    app = typer.Typer(add_completion=False, rich_markup_mode="rich")
    register(app)
    app()


if __name__ == "__main__":
    main()
