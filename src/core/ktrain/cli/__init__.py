"""The ``ktrain`` command line (Typer). Thin: every command is one library call.

For now it offers ``ktrain --version`` and ``ktrain info``; training commands
(``fit``, ``eval``, ``sweep`` ...) arrive with the CLI issue.
"""
from __future__ import annotations

import typer

from .. import __version__

app = typer.Typer(add_completion=True, no_args_is_help=True, rich_markup_mode="rich",
                  help="ktrain: PyTorch-style training on numpy and cupy.")


def _version_callback(value: bool):
    if value:
        typer.echo(f"ktrain {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback,
                                       is_eager=True, metavar="",  # a flag: no "<bool>"
                                       help="Print the version and exit.")):
    """ktrain: PyTorch-style training on numpy and cupy."""


from .plugins_cmd import app as _plugins_app  # noqa: E402

app.add_typer(_plugins_app, name="plugins")

from .fit_cmd import register as _register_fit_cmds  # noqa: E402

_register_fit_cmds(app)

from .eval_cmd import register as _register_eval_cmds  # noqa: E402

_register_eval_cmds(app)

from .sweep_cmd import register as _register_sweep_cmd  # noqa: E402

_register_sweep_cmd(app)

from .generate_cmd import register as _register_generate_cmd  # noqa: E402

_register_generate_cmd(app)

from .export_cmd import register as _register_export_cmd  # noqa: E402

_register_export_cmd(app)


@app.command()
def info():
    """Print versions, BLAS and thread settings, and CUDA devices.

    Example: [bold]ktrain info[/bold]
    """
    from .info import collect, render

    render(collect())


def _unwrap_help(typer_app: typer.Typer) -> None:
    """Give each command its docstring with soft line breaks removed: Typer's rich mode
    keeps them, which broke the command list and the examples in the middle of a line.
    Paragraphs (blank lines) stay; a ``\\b`` paragraph stays verbatim, as in click."""
    import inspect

    for info in typer_app.registered_commands:
        doc = info.help or inspect.getdoc(info.callback) or ""
        info.help = "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n"))
                                for p in doc.split("\n\n"))
    for group in typer_app.registered_groups:
        _unwrap_help(group.typer_instance)


_unwrap_help(app)


def main():  # console-script entry point
    app()
