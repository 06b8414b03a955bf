"""End to end on the real data in ../shared/data (skipped when absent; slow): a
character GPT on tiny Shakespeare and a sentiment classifier, both through the same
library path as ``ktrain fit conf/...yaml overrides`` (compose, validate, run)."""
import time
from pathlib import Path

import pytest
from ktrain import plugins
from ktrain.config import compose_config, validate
from ktrain.train.run import new_run_dir, run_from_config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _plugins():
    plugins.load_plugins()


def _fit(tmp_path, conf, overrides):
    run = validate(compose_config(str(ROOT / "conf" / conf), overrides))
    run_dir = new_run_dir(tmp_path / "outputs", run.experiment)
    t0 = time.perf_counter()
    metrics = run_from_config(run, run_dir, overrides=overrides, enable_progress_bar=False)
    return run_dir, metrics, time.perf_counter() - t0


def test_char_gpt_tiny_shakespeare_below_1_9_nats(tmp_path, shared_data):
    text = shared_data / "tinyshakespeare" / "input.txt"
    if not text.is_file():
        pytest.skip(f"{text} not found")
    run_dir, m, secs = _fit(tmp_path, "char_lm.yaml", [
        f"data.files=[{text}]", "trainer.enable_plots=false",
        "trainer.enable_progress_bar=false"])
    print(f"char GPT: val/loss {m['val/loss']:.3f} nats/char, val/bpc {m['val/bpc']:.3f}, "
          f"test/loss {m.get('test/loss', float('nan')):.3f}, {secs:.0f} s")
    assert m["val/loss"] < 1.9
    from ktrain.cli.generate_cmd import generate_run

    sample = "".join(generate_run(run_dir, "ROMEO:", 100, top_k=10, seed=0))
    assert len(sample) == 100


def test_sentiment_classifier_above_75_percent(tmp_path, shared_data):
    folder = shared_data / "sentiment_labelled_sentences"
    files = sorted(folder.glob("*_labelled.txt"))
    if len(files) < 3:
        pytest.skip(f"sentiment files not found in {folder}")
    run_dir, m, secs = _fit(tmp_path, "text_cls.yaml", [
        f"data.files=[{','.join(str(f) for f in files)}]", "trainer.enable_plots=false",
        "trainer.enable_progress_bar=false"])
    print(f"sentiment: val/accuracy {m['val/accuracy']:.3f}, test/accuracy "
          f"{m['test/accuracy']:.3f}, {secs:.0f} s")
    assert m["test/accuracy"] > 0.75
    from ktrain.train.evaluate import predict_run

    recs = predict_run(run_dir, ["I love this phone, it works great",
                                 "terrible, broke after one day"])
    assert [r["label"] for r in recs] == ["positive", "negative"]
