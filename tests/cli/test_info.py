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


def _help(*args):
    r = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "240"}, terminal_width=240)
    assert r.exit_code == 0, r.output
    return r.output


def test_version_is_shown_as_a_flag():
    line = next(line for line in _help().splitlines() if "--version" in line)
    assert "<bool>" not in line and "Print the version and exit." in line


def test_help_texts_do_not_break_mid_sentence():
    """Typer's rich mode kept the docstrings' soft line breaks: the command list cut the
    sweep summary after "--monitor and", and every example command was split in two."""
    top = _help()
    assert ("ranks the runs by --monitor and writes summary.csv and summary.png into the "
            "sweep directory") in top
    sweep = _help("sweep")
    assert "ktrain sweep conf/mlp_synthetic.yaml optim.lr=0.01,0.1 seed=range(2) trainer=fast" \
        in sweep
    assert "--sweeper optuna --n-trials 8" in next(
        line for line in sweep.splitlines() if "Optuna:" in line)
    assert "optim.lr=0.01 trainer.max_epochs=5" in _help("fit")
    assert "--split test" in next(line for line in _help("eval").splitlines()
                                  if "Example:" in line)


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
