"""LanguageModelingTask through the Trainer and the TASKS registry; the plugin's
registrations and the ':text' predict reader."""
import math

import ktrain
import numpy as np
import pytest
from ktrain.train import Trainer
from ktrain.utils.data import DataLoader
from ktrain_text.datasets import LanguageModelingDataset
from ktrain_text.models import GPT
from ktrain_text.tasks import LanguageModelingTask


def test_lm_task_logs_loss_perplexity_bpc(corpus):
    tr = LanguageModelingDataset([corpus], split="train", block_size=16, samples_per_epoch=64)
    va = LanguageModelingDataset([corpus], split="val", block_size=16)
    ktrain.manual_seed(0)
    model = GPT(tr.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    task = LanguageModelingTask(model, optimizer={"name": "adamw", "lr": 3e-3})
    trainer = Trainer(max_epochs=2, enable_progress_bar=False, enable_checkpointing=False,
                      loggers=False, enable_plots=False, seed=0)
    trainer.fit(task, DataLoader(tr, batch_size=16), DataLoader(va, batch_size=16))
    m = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert m["val/loss"] < math.log(tr.vocab_size)                 # it learned something
    assert math.isclose(m["val/perplexity"], math.exp(m["val/loss"]), rel_tol=1e-4)
    assert math.isclose(m["val/bpc"], m["val/loss"] / math.log(2), rel_tol=1e-4)
    assert "train/perplexity" in m


def test_lm_task_dict_batches_and_errors():
    model = GPT(10, block_size=8, n_layer=1, n_head=1, n_embd=8)
    task = LanguageModelingTask(model)
    x, y = task._split({"input_ids": ktrain.tensor([[1, 2, 3, 4]])})
    assert x["input_ids"].shape == (1, 3) and y.numpy().tolist() == [[2, 3, 4]]
    with pytest.raises(ValueError, match="metric"):
        LanguageModelingTask(model, metrics=["accuracy"])
    with pytest.raises(ValueError, match="cross_entropy"):
        LanguageModelingTask(model, loss="mse")


def test_plugin_registers_components():
    from ktrain import plugins
    from ktrain.registry import DATASETS, MODELS

    plugins.load_plugins()
    assert MODELS.get("textcnn").__name__ == "TextCNN"
    assert MODELS.get("gpt").__name__ == "GPT"
    assert DATASETS.get("text_classification").__name__ == "TextClassificationDataset"
    try:
        from ktrain.registry import TASKS
    except ImportError:
        pytest.skip("core without a TASKS registry")
    assert TASKS.get("language_modeling") is LanguageModelingTask


def test_text_literal_reader(sentiment_files):
    from ktrain.config import ConfigError
    from ktrain.train.evaluate import PredictContext
    from ktrain_text.datasets import TextClassificationDataset
    from ktrain_text.predict import read_text_literal

    ds = TextClassificationDataset(sentiment_files)
    ids = read_text_literal("great phone", PredictContext(dataset=ds))
    assert ids.dtype == np.int64 and ids.shape == (1, 2)
    for empty in ("", "   "):  # was predicted on a lone padding token
        with pytest.raises(ConfigError, match=f"text input {empty!r} is empty"):
            read_text_literal(empty, PredictContext(dataset=ds))
    ds.encode = lambda text: []  # a text that the tokenizer drops entirely
    with pytest.raises(ConfigError, match="'!!' gives no tokens"):
        read_text_literal("!!", PredictContext(dataset=ds))
    with pytest.raises(ValueError, match="encode"):
        read_text_literal("x", PredictContext(dataset=object()))


def test_an_empty_argument_is_empty_text_not_the_current_folder(tmp_path, monkeypatch):
    """``ktrain predict RUN ""`` scanned the current folder (Path("") is "."): with the
    text reader it is an (empty) literal, which that reader refuses; without it, an error."""
    from ktrain.config import ConfigError
    from ktrain.train.evaluate import LITERAL, collect_inputs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.npy").write_bytes(b"")
    readers = {".npy": None, LITERAL: None}
    assert collect_inputs(["", "  "], readers) == ["", "  "]
    with pytest.raises(ConfigError, match="empty input ''"):
        collect_inputs([""], {".npy": None})


def test_group_documents_a_separate_test_file(sentiment_files):
    """``data.test_files`` is a key of the text_classification group (the README's
    recipe, no '+'): the test split is that file, and the seeded split covers the rest."""
    from pathlib import Path

    from ktrain.config import compose_config, validate
    from ktrain.train.run import _build_dataset

    conf = str(Path(__file__).resolve().parents[2] / "conf" / "text_cls.yaml")
    train, test = sentiment_files
    run = validate(compose_config(conf, [f"data.files=[{train}]",
                                         f"data.test_files=[{test}]"]))
    data = run.data.to_dict()
    assert [Path(p) for p in data["test_files"]] == [test] and data["val_files"] is None
    assert len(_build_dataset(data, "test")) == 16          # all of the test file
    assert len(_build_dataset(data, "train")) + len(_build_dataset(data, "val")) == 16


def test_lm_task_epoch_sums_survive_a_mid_epoch_resume(corpus, tmp_path):
    """The token-weighted loss sums behind train/perplexity and train/bpc are checkpointed
    (a resumed epoch reported the figures of its remaining batches only)."""
    from ktrain.train import Callback

    class Rec(Callback):
        def __init__(self):
            self.rows = []

        def on_train_epoch_end(self, trainer, task):
            self.rows.append({k: float(v) for k, v in trainer.callback_metrics.items()
                              if k.startswith("train/") and not k.endswith("_step")})

    tr = LanguageModelingDataset([corpus], split="train", block_size=8, samples_per_epoch=40)

    def fit(root, **kw):
        ktrain.manual_seed(0)
        model = GPT(tr.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8)
        task = LanguageModelingTask(model, optimizer={"name": "adamw", "lr": 3e-3})
        rec = Rec()
        trainer = Trainer(max_epochs=2, enable_progress_bar=False, enable_checkpointing=False,
                          loggers=False, enable_plots=False, seed=0, default_root_dir=root,
                          callbacks=[rec], **{k: v for k, v in kw.items() if k != "ckpt"})
        trainer.fit(task, DataLoader(tr, batch_size=8), ckpt_path=kw.get("ckpt"))
        return rec.rows

    full = fit(tmp_path / "full")
    fit(tmp_path / "cut", max_steps=7, checkpoint_every_n_steps=1)   # 5 batches an epoch
    ckpt = ktrain.load(tmp_path / "cut" / "checkpoints" / "last.ckpt")
    assert ckpt["loops"]["batches_done"] == 2 and ckpt["task_nll"]["train"][1] == 2 * 8 * 8
    resumed = fit(tmp_path / "cut", ckpt="last")
    assert resumed == full[1:]
    assert set(full[1]) >= {"train/perplexity", "train/bpc", "train/loss"}
