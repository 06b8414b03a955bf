"""``ktrain plugins`` (list installed plugins) and ``ktrain plugins new NAME`` (scaffold
a third-party plugin package). Mounted in the main app with
``app.add_typer(plugins_app, name="plugins")``."""
from __future__ import annotations

import keyword
import re
from pathlib import Path

import typer

app = typer.Typer(invoke_without_command=True, no_args_is_help=False, rich_markup_mode="rich",
                  help="List installed plugins (versions, components, errors), or scaffold "
                       "a new one.\n\nExample: [bold]ktrain plugins[/bold], "
                       "[bold]ktrain plugins new myplugin[/bold]")


@app.callback(invoke_without_command=True)
def plugins(ctx: typer.Context,
            verbose: bool = typer.Option(False, "--verbose", "-v",
                                         help="Show full tracebacks of broken plugins.")):
    """List installed plugins, their versions and components; broken ones with their error.

    Plugins are distributions with an entry point in group [bold]ktrain.plugins[/bold].

    Example: [bold]ktrain plugins[/bold]
    """
    if ctx.invoked_subcommand is not None:
        return
    from ktrain.plugins import load_plugins

    render(load_plugins(), verbose=verbose)


def render(infos, verbose: bool = False, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    if not infos:
        console.print("No ktrain plugins installed. First-party ones: "
                      "[bold]pip install ktrain-vision ktrain-text ktrain-audio[/bold]; "
                      "write your own with [bold]ktrain plugins new NAME[/bold].")
        return
    table = Table(title="ktrain plugins")
    table.add_column("plugin", style="bold")
    table.add_column("distribution")
    table.add_column("version")
    table.add_column("status")
    table.add_column("components")
    for p in infos:
        if p.error:
            status, comps = "[red]broken[/red]", f"[red]{p.error}[/red]"
        else:
            status = "[green]ok[/green]"
            comps = "\n".join(f"{kind}: {', '.join(names)}"
                              for kind, names in sorted(p.components.items()) if names) or "-"
        table.add_row(p.name, p.distribution or "?", p.version or "?", status, comps)
    console.print(table)
    for p in infos:
        if p.error and verbose and p.traceback:
            console.print(f"[bold red]{p.name}[/bold red] ({p.value}):")
            console.print(p.traceback, markup=False, highlight=False)


# ------------------------------------------------------------------------------ scaffold
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


def _files(name: str, pkg: str, dist: str) -> dict[str, str]:
    cls = "".join(part.capitalize() for part in re.split(r"[_-]", name)) + "Net"
    return {
        "pyproject.toml": f'''[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A ktrain plugin: {name}"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["ktrain"]

[project.entry-points."ktrain.plugins"]
{name} = "{pkg}:register"

[tool.setuptools.packages.find]
include = ["{pkg}*"]
''',
        f"{pkg}/__init__.py": f'''"""The {name} ktrain plugin. ``register`` is called once by ktrain (entry point group
``ktrain.plugins``); names are namespaced as ``{name}.<name>`` and resolve bare when unique.
Targets are lazy "module:attr" strings, so listing plugins imports nothing heavy."""

__version__ = "0.1.0"


def register(registries):
    registries.models.register("example_net", "{pkg}.models:{cls}")
    registries.datasets.register("example_data", "{pkg}.datasets:example_data")
''',
        f"{pkg}/models.py": f'''"""Models of the {name} plugin."""
from ktrain import nn


class {cls}(nn.Module):
    """An example model: a two-layer perceptron."""

    def __init__(self, in_features: int = 8, num_classes: int = 2, hidden: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)
''',
        f"{pkg}/datasets.py": f'''"""Datasets of the {name} plugin."""
from ktrain.datasets import synthetic_classification


def example_data(n_samples: int = 200, n_features: int = 8, n_classes: int = 2,
                 split: str = "train", seed: int = 0):
    """An example dataset: Gaussian blobs (replace with your own data)."""
    return synthetic_classification(n_samples=n_samples, n_features=n_features,
                                    n_classes=n_classes, split=split, seed=seed)
''',
        f"tests/test_{pkg}.py": f'''import ktrain
from ktrain.plugins import load_plugins
from ktrain.registry import DATASETS, MODELS


def test_plugin_loads_and_builds():
    infos = {{p.name: p for p in load_plugins()}}
    assert "{name}" in infos and infos["{name}"].error is None, infos.get("{name}")
    ds = DATASETS.build({{"name": "{name}.example_data", "n_samples": 20}})
    x, y = ds[0]
    model = MODELS.build({{"name": "{name}.example_net", "in_features": 8, "num_classes": 2}})
    assert model(ktrain.stack([x, x])).shape == (2, 2)
''',
        "README.md": f'''# {dist}

A [ktrain](https://github.com/) plugin. It registers:

- model `{name}.example_net` (`{pkg}.models.{cls}`)
- dataset `{name}.example_data` (`{pkg}.datasets.example_data`)

## Install and check

```bash
pip install -e .
ktrain plugins            # lists "{name}" with its components
pytest tests
```

## Use in a config

```yaml
model: {{name: example_net, in_features: 8, num_classes: 2}}   # or {name}.example_net
data: {{name: example_data, n_samples: 200}}
```

Add components in `{pkg}/__init__.py:register(registries)`: `registries.models`,
`.datasets`, `.transforms`, `.losses`, `.optimizers`, `.schedulers`, `.metrics`,
`.callbacks`, `.loggers`, each with `register(name, "module:attr")`.
''',
    }


def scaffold(name: str, directory: Path | str | None = None, force: bool = False) -> Path:
    """Write a plugin package for ``name`` into ``directory/ktrain-<name>``; returns its
    root. Raises ValueError for a bad name or an existing non-empty directory."""
    if not _NAME_RE.match(name or "") or keyword.iskeyword(name):
        raise ValueError(f"invalid plugin name {name!r}: use lowercase letters, digits, "
                         f"'_' or '-', starting with a letter (e.g. 'myplugin')")
    ns = name.replace("-", "_")
    pkg = f"ktrain_{ns}"
    dist = f"ktrain-{name.replace('_', '-')}"
    root = Path(directory or ".") / dist
    if root.exists() and any(root.iterdir()) and not force:
        raise ValueError(f"{root} exists and is not empty (use --force to overwrite)")
    for rel, text in _files(ns, pkg, dist).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@app.command("new")
def new(name: str = typer.Argument(..., help="Plugin name, e.g. 'myplugin' (package "
                                              "ktrain_myplugin, distribution ktrain-myplugin)."),
        directory: Path = typer.Option(Path("."), "--dir", "-d",  # noqa: B008
                                       help="Parent directory of the new package."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing directory.")):
    """Scaffold a third-party plugin package (entry point, example model and dataset, test).

    Writes DIR/ktrain-NAME: pyproject.toml with the [bold]ktrain.plugins[/bold] entry point, ktrain_NAME/__init__.py whose register() adds an example model and dataset, a test and a README.

    Example: [bold]ktrain plugins new myplugin && pip install -e ktrain-myplugin[/bold]
    """
    try:
        root = scaffold(name, directory, force)
    except ValueError as e:
        typer.echo(f"Error: {e}", err=True)
        raise typer.Exit(2)
    typer.echo(f"Created plugin package {root}\n"
               f"Next: pip install -e {root}  &&  ktrain plugins")
