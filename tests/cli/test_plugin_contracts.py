"""What the core offers plugins in ``ktrain fit`` / ``predict``: dict inputs given to the
model as keywords, a dataset's own ``collate_fn`` and ``build_batch_sampler``, tasks from
the TASKS registry, the test split after fitting, metrics.json and the confusion matrix,
batched/literal predict readers and grid writers."""
import json
from pathlib import Path

import ktrain
import numpy as np
import pytest
from ktrain import nn
from ktrain.config import ConfigError, compose_config, validate
from ktrain.registry import DATASETS, MODELS, TASKS
from ktrain.train import ClassificationTask
from ktrain.train import evaluate as ev
from ktrain.train.confusion import confusion_matrix, write_confusion_matrix
from ktrain.train.run import new_run_dir, run_from_config
from ktrain.utils.data import BatchSampler, RandomSampler, SequentialSampler

ROOT = Path(__file__).resolve().parents[2]
CALLS = {}


class Sequences:
    """Variable-length token sequences; the class is the first token's parity."""

    classes = ["even", "odd"]

    def __init__(self, split="train", n=240, vocab=12, seed=0):
        if split not in ("train", "val", "test"):
            raise ValueError(f"unknown split {split!r}")
        rng = np.random.default_rng({"train": 0, "val": 1, "test": 2}[split] + 10 * seed)
        self.seqs = [rng.integers(1, vocab, int(rng.integers(2, 9))) for _ in range(n)]
        self.vocab = vocab

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, i):
        s = self.seqs[i]
        return s, int(s[0] % 2)

    def collate_fn(self, samples):
        CALLS["collate"] = CALLS.get("collate", 0) + 1
        lengths = np.array([len(s) for s, _ in samples])
        ids = np.zeros((len(samples), lengths.max()), np.int64)
        mask = np.arange(lengths.max())[None] < lengths[:, None]
        ids[mask] = np.concatenate([s for s, _ in samples])
        return ({"input_ids": ktrain.from_numpy(ids),
                 "attention_mask": ktrain.from_numpy(mask)},
                ktrain.tensor([y for _, y in samples]))

    def build_batch_sampler(self, batch_size, shuffle, drop_last):
        CALLS.setdefault("sampler", []).append((batch_size, shuffle, drop_last))
        base = RandomSampler(self) if shuffle else SequentialSampler(self)
        return BatchSampler(base, batch_size, drop_last)


class FirstToken(nn.Module):
    def __init__(self, vocab=12, num_classes=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, 16)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, input_ids, attention_mask=None):
        CALLS["mask"] = attention_mask is not None
        return self.fc(self.emb(input_ids[:, 0]))


class TemperatureTask(ClassificationTask):
    def __init__(self, model, temperature=1.0, **kw):
        super().__init__(model, **kw)
        self.temperature = temperature
        CALLS["temperature"] = temperature


@pytest.fixture()
def registered():
    CALLS.clear()
    DATASETS.register("contract_sequences", Sequences)
    MODELS.register("contract_first_token", FirstToken)
    TASKS.register("temperature_classification", TemperatureTask)
    yield
    DATASETS.unregister("contract_sequences")
    MODELS.unregister("contract_first_token")
    TASKS.unregister("temperature_classification")


CONFIG = """
experiment: contracts
seed: 0
model: {name: contract_first_token, vocab: 12}
data: {name: contract_sequences, batch_size: 16}
optim: {name: adam, lr: 0.05}
trainer: {max_epochs: 3, enable_progress_bar: false}
task: {type: temperature_classification, temperature: 2.5, num_classes: 2}
"""


def _fit(tmp_path, overrides=()):
    cfg = tmp_path / "contracts.yaml"
    cfg.write_text(CONFIG)
    run = validate(compose_config(cfg, list(overrides)))
    run_dir = new_run_dir(tmp_path / "outputs", run.experiment)
    return run_dir, run_from_config(run, run_dir, enable_progress_bar=False)


def test_fit_uses_dataset_collate_sampler_dict_inputs_and_registered_task(tmp_path,
                                                                          registered):
    run_dir, metrics = _fit(tmp_path)
    assert CALLS["temperature"] == 2.5 and CALLS["mask"] is True and CALLS["collate"] > 0
    # train (shuffled), val and test loaders all asked the dataset for their batch sampler
    assert (16, True, False) in CALLS["sampler"] and (16, False, False) in CALLS["sampler"]
    assert len(CALLS["sampler"]) == 3
    assert metrics["val/accuracy"] > 0.9 and metrics["test/accuracy"] > 0.9
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["test/accuracy"] == pytest.approx(metrics["test/accuracy"])
    # the confusion matrix of the test split, with the dataset's class names
    rows = (run_dir / "confusion_matrix.csv").read_text().splitlines()
    assert rows[0] == "true \\ predicted,even,odd"
    counts = np.array([[int(v) for v in r.split(",")[1:]] for r in rows[1:]])
    assert counts.sum() == 240 and np.trace(counts) / 240 == pytest.approx(
        metrics["test/accuracy"], abs=1e-6)
    assert (run_dir / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_unknown_task_keys_reach_the_task_signature_check(tmp_path, registered):
    with pytest.raises(ConfigError, match="temperatur"):
        _fit(tmp_path, ["+task.temperatur=3"])


def test_core_run_gets_test_metrics_and_confusion_matrix(tmp_path):
    run = validate(compose_config(ROOT / "conf" / "mlp_synthetic.yaml",
                                  ["trainer=fast", "data.n_samples=200",
                                   "trainer.enable_plots=true"]))
    run_dir = new_run_dir(tmp_path, run.experiment)
    metrics = run_from_config(run, run_dir, enable_progress_bar=False)
    assert "test/accuracy" in metrics and "val/accuracy" in metrics
    assert (run_dir / "confusion_matrix.png").is_file()
    assert (run_dir / "metrics.json").is_file()


def test_confusion_matrix_counts_and_files(tmp_path):
    class Fixed(nn.Module):
        def forward(self, x):  # predicts class x[:, 0]
            return nn.functional.one_hot(x[:, 0].long(), 3).float()

    x = ktrain.tensor([[0.0], [1.0], [2.0], [2.0], [1.0]])
    y = ktrain.tensor([0, 1, 1, 2, 0])
    loader = ktrain.utils.data.DataLoader(ktrain.utils.data.TensorDataset(x, y), batch_size=2)
    cm = confusion_matrix(ClassificationTask(Fixed()), loader)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 1], [0, 0, 1]])
    paths = write_confusion_matrix(cm, tmp_path, classes=["a", "b"], title="val")
    assert [p.name for p in paths] == ["confusion_matrix.csv", "confusion_matrix.png"]
    assert paths[0].read_text().splitlines()[1:] == ["a,1,1,0", "b,0,1,1", "2,0,0,1"]


# ------------------------------------------------------------------------ predict
@pytest.fixture()
def sequence_run(tmp_path, registered):
    run_dir, _ = _fit(tmp_path)
    return run_dir


def _scratch_readers(monkeypatch):
    """The reader and grid-writer registries as copies restored after the test, without
    a text plugin's ':text' reader."""
    from ktrain import plugins

    plugins.load_plugins()  # so that loading them later adds nothing
    for reg in (ev.PREDICT_READERS, ev.GRID_WRITERS):
        monkeypatch.setattr(reg, "_entries", {k: v for k, v in reg._entries.items()
                                              if k != ":text"})
        monkeypatch.setattr(reg, "_aliases", dict(reg._aliases))


def test_literal_and_batched_readers_and_grid_writers(sequence_run, tmp_path, monkeypatch):
    _scratch_readers(monkeypatch)
    seen = {}

    def read_text(text, ctx):  # "3 4 5" -> token ids, one sample of its own length
        seen["dataset"] = type(ctx.dataset).__name__
        return np.array([[int(t) for t in text.split()]], np.int64)

    def read_tok(path, ctx):
        return np.array([[int(t) for t in line.split()] for line in
                         Path(path).read_text().splitlines()], np.int64)

    def grid(records, path, ctx):
        seen["grid"] = [(r["input"], r["label"]) for r in records]
        Path(path).write_bytes(b"png")
        return path

    ev.register_reader(":text", read_text, batched=True)
    ev.register_reader(".tok", read_tok, batched=True)
    ev.register_grid_writer(".tok", grid)
    tok = tmp_path / "two.tok"
    tok.write_text("3 1 1\n4 2 2\n")
    records = ev.predict_run(sequence_run, ["5 2", tok, "6 1 1 1"], top_k=2,
                             grid=tmp_path / "g.png")
    assert seen["dataset"] == "Sequences"
    # results come back in input order although the three shapes ran as three batches
    assert [(r["input"], r["index"], r["label"]) for r in records] == [
        ("5 2", 0, "odd"), (str(tok), 0, "odd"), (str(tok), 1, "even"),
        ("6 1 1 1", 0, "even")]
    assert seen["grid"] == [(str(tok), "odd"), (str(tok), "even")]
    assert (tmp_path / "g.png").read_bytes() == b"png"
    with pytest.raises(ConfigError, match="no grid writer"):
        ev.predict_run(sequence_run, ["5 2"], grid=tmp_path / "h.png")
    # inputs of two extensions drawn by the same writer share one grid
    ev.register_reader(".tk2", read_tok, batched=True)
    ev.register_grid_writer(".tk2", grid)
    tk2 = tmp_path / "one.tk2"
    tk2.write_text("7 1\n")
    ev.predict_run(sequence_run, [tok, tk2], grid=tmp_path / "both.png")
    assert [i for i, _ in seen["grid"]] == [str(tok), str(tok), str(tk2)]
    assert (tmp_path / "both.png").is_file() and not list(tmp_path.glob("both_*"))
    # a missing file with a known extension is a mistyped path, not text
    with pytest.raises(ConfigError, match="no such input file or folder: gone.tok"):
        ev.predict_run(sequence_run, ["gone.tok"])


def test_without_a_literal_reader_a_missing_path_is_an_error(sequence_run, monkeypatch):
    _scratch_readers(monkeypatch)
    with pytest.raises(ConfigError, match="no such input file or folder: nope.txt"):
        ev.predict_run(sequence_run, ["nope.txt"])


# ------------------------------------------------------------------------ plugin configs
def test_plugin_conf_folders_join_the_search_path(tmp_path, monkeypatch):
    """A plugin package's conf/<group>/<option>.yaml is found by group overrides, without
    importing the plugin."""
    from types import SimpleNamespace

    from ktrain import plugins
    from ktrain.config import plugin_conf_dirs

    pkg = tmp_path / "site" / "fake_conf_plugin"
    (pkg / "conf" / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (pkg / "conf" / "data" / "plugin_blobs.yaml").write_text(
        "name: synthetic_classification\nbatch_size: 8\nn_samples: 64\nn_features: 16\n"
        "n_classes: 3\nval_fraction: 0.25\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(plugins, "discover", lambda: [
        SimpleNamespace(name="fake", value="fake_conf_plugin:register")])
    assert plugin_conf_dirs() == [(pkg / "conf").resolve()]
    cfg = compose_config(ROOT / "conf" / "mlp_synthetic.yaml", ["data=plugin_blobs"])
    assert cfg.data.n_classes == 3 and cfg.model.num_classes == 3
    # an explicit hydra.searchpath override keeps its entries and gains the plugin's
    extra = tmp_path / "mine"
    (extra / "data").mkdir(parents=True)
    (extra / "data" / "mine.yaml").write_text("name: synthetic_classification\n"
                                              "n_classes: 5\nn_features: 16\n")
    cfg = compose_config(ROOT / "conf" / "mlp_synthetic.yaml",
                         [f"hydra.searchpath=[{extra.as_uri()}]", "data=mine"])
    assert cfg.data.n_classes == 5
    cfg = compose_config(ROOT / "conf" / "mlp_synthetic.yaml",
                         [f"hydra.searchpath=[{extra.as_uri()}]", "data=plugin_blobs"])
    assert cfg.data.n_classes == 3
