"""The interim CLI: ``ktrain --version`` and ``ktrain info``."""
import subprocess
import sys

from typer.testing import CliRunner

import ktrain
from ktrain.cli import app
from ktrain.cli.info import collect


def test_version():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"ktrain {ktrain.__version__}"


def test_info_lists_environment():
    r = CliRunner().invoke(app, ["info"])
    assert r.exit_code == 0, r.output
    for key in ("numpy", "blas", "cuda devices", "cupy"):
        assert key in r.output
    facts = collect()
    assert facts["ktrain"] == ktrain.__version__


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-c", "from ktrain.cli import main; main()", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "info" in r.stdout
