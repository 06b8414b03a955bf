"""``ktrain generate`` (ktrain.cli.generate_cmd): streams a trained language model's
continuation of a prompt; seeded output is reproducible; user errors exit with 2."""
from pathlib import Path

import pytest
import typer
from ktrain.config import compose_config, validate
from ktrain.train.run import new_run_dir, run_from_config
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
TINY = ["trainer.max_epochs=1", "data.samples_per_epoch=32", "data.block_size=16",
        "data.batch_size=16", "model.n_layer=1", "model.n_embd=16", "model.n_head=2",
        "trainer.enable_progress_bar=false", "trainer.enable_plots=false"]


@pytest.fixture(scope="module")
def plugins_loaded():
    pytest.importorskip("ktrain_text")
    from ktrain import plugins

    plugins.load_plugins()
    yield
    plugins.reset_plugins()


@pytest.fixture(scope="module")
def app():
    from ktrain.cli.generate_cmd import register

    a = typer.Typer()

    @a.callback()
    def _group():  # a group, so that 'generate' is a sub-command as in the real app
        """ktrain"""

    register(a)
    return a


def _fit(root, conf, overrides):
    run = validate(compose_config(str(ROOT / "conf" / conf), overrides))
    run_dir = new_run_dir(root, run.experiment)
    run_from_config(run, run_dir, overrides=overrides, enable_progress_bar=False)
    return run_dir


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory, plugins_loaded):
    root = tmp_path_factory.mktemp("lm")
    corpus = root / "corpus.txt"
    corpus.write_text(TEXT * 30, encoding="utf-8")
    return _fit(root / "outputs", "char_lm.yaml", [f"data.files=[{corpus}]", *TINY])


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def _err(r):
    return r.stderr if hasattr(r, "stderr") else r.output


def test_generate_streams_seeded_text(app, lm_run):
    args = ["generate", lm_run, "--prompt", "All:", "--max-new-tokens", 30, "--seed", 3,
            "--top-k", 5]
    a, b = invoke(app, *args), invoke(app, *args)
    assert a.exit_code == 0, _err(a)
    assert a.stdout == b.stdout and a.stdout.startswith("All:")
    assert len(a.stdout) == len("All:") + 30 + 1            # char level: one char a token
    c = invoke(app, *args[:-4], "--seed", 4, "--top-p", 0.9, "--temperature", 1.5)
    assert c.exit_code == 0 and c.stdout != a.stdout
    bare = invoke(app, *args, "--no-prompt")
    assert bare.stdout == a.stdout[len("All:"):]


def test_generate_library_pieces_match(lm_run):
    from ktrain.cli.generate_cmd import generate_run

    pieces = list(generate_run(lm_run, "All:", 10, seed=3, top_k=5))
    assert len(pieces) == 10 and all(len(p) == 1 for p in pieces)
    greedy = "".join(generate_run(lm_run, "All:", 10, temperature=0))
    assert greedy == "".join(generate_run(lm_run, "All:", 10, temperature=0, seed=99))


def test_generate_user_errors_exit_2(app, lm_run, tmp_path, plugins_loaded):
    r = invoke(app, "generate", tmp_path / "nope", "--prompt", "a")
    assert r.exit_code == 2 and "no such run directory" in _err(r)
    r = invoke(app, "generate", lm_run, "--prompt", "a", "--top-p", 1.5)
    assert r.exit_code == 2 and "--top-p" in _err(r)
    r = invoke(app, "generate", lm_run, "--prompt", "")
    assert r.exit_code == 2 and "encodes to no tokens" in _err(r)
    r = invoke(app, "generate", lm_run, "--ckpt", "missing.ckpt")
    assert r.exit_code == 2 and "checkpoint not found" in _err(r)
    mlp = _fit(tmp_path / "outputs", "mlp_synthetic.yaml", ["trainer=fast",
                                                            "data.n_samples=100"])
    r = invoke(app, "generate", mlp, "--prompt", "a")
    assert r.exit_code == 2 and "cannot generate" in _err(r)


def test_generate_word_level_keeps_separators(tmp_path, plugins_loaded):
    from ktrain.cli.generate_cmd import generate_run

    corpus = tmp_path / "w.txt"
    corpus.write_text("the cat sat on the mat . the dog sat on the log .\n" * 40)
    run = _fit(tmp_path / "outputs", "char_lm.yaml", [
        f"data.files=[{corpus}]", "data.level=word", "data.max_tokens=50", *TINY[:1],
        "data.samples_per_epoch=32", "data.block_size=8", *TINY[3:]])
    pieces = list(generate_run(run, "the cat", 6, seed=0))
    # (a sampled <pad> adds no text, so there may be fewer pieces than tokens)
    assert pieces and all(p.startswith(" ") and len(p) > 1 for p in pieces)
