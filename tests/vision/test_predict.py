"""ktrain_vision.predict: the image readers and the grid writer of ``ktrain predict``,
and ``ktrain predict RUN images --top-k 3 --grid out.png`` end to end."""
import json
from pathlib import Path

import numpy as np
import pytest
from ktrain.config import ConfigError
from ktrain.train import evaluate as ev
from ktrain_vision.datasets import Digits
from ktrain_vision.predict import (
    IMAGE_EXTENSIONS,
    read_image_for_predict,
    register_predict,
    write_grid,
)
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
NORM = ["to_tensor", {"name": "normalize", "mean": [0.3], "std": [0.38]}]


@pytest.fixture(scope="module")
def digits_ctx():
    ds = Digits(split="val", transform=NORM)
    return ev.PredictContext(dataset=ds, sample_shape=(1, 8, 8))


def _png(path, arr, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr, dtype=np.uint8), mode).save(path)
    return path


def test_registered_for_every_image_extension():
    register_predict()
    register_predict()  # idempotent
    for ext in IMAGE_EXTENSIONS:
        assert ev.PREDICT_READERS[ext] is read_image_for_predict
        assert ev.GRID_WRITERS[ext] is write_grid


def test_reader_applies_the_datasets_eval_transform(tmp_path, digits_ctx):
    raw = Digits(split="val")[0][0]                       # the PIL 'L' 8x8 image
    path = tmp_path / "d.png"
    raw.save(path)
    x = read_image_for_predict(path, digits_ctx)
    assert x.shape == (1, 8, 8) and x.dtype == np.float32
    expected = digits_ctx.dataset[0][0].detach().numpy()
    np.testing.assert_allclose(x, expected, atol=1e-6)


def test_reader_converts_mode_and_size(tmp_path, digits_ctx):
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :, 0] = 255                                    # pure red -> grey 76
    x = read_image_for_predict(_png(tmp_path / "big.jpg", rgb), digits_ctx)
    assert x.shape == (1, 8, 8)
    np.testing.assert_allclose(x, (76 / 255 - 0.3) / 0.38, atol=0.03)
    rgba = np.zeros((8, 8, 4), np.uint8)                  # fully transparent -> white
    x = read_image_for_predict(_png(tmp_path / "t.png", rgba, "RGBA"), digits_ctx)
    np.testing.assert_allclose(x, (1 - 0.3) / 0.38, atol=1e-5)
    grey16 = Image.fromarray(np.full((8, 8), 65535, np.uint16))
    grey16.save(tmp_path / "g16.tif")
    x = read_image_for_predict(tmp_path / "g16.tif", digits_ctx)
    np.testing.assert_allclose(x, (1 - 0.3) / 0.38, atol=1e-5)


def test_reader_first_frame_of_a_gif(tmp_path, digits_ctx):
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (0, 255)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    x = read_image_for_predict(tmp_path / "a.gif", digits_ctx)
    np.testing.assert_allclose(x, (0 - 0.3) / 0.38, atol=1e-5)


def test_reader_without_a_dataset(tmp_path):
    img = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    path = _png(tmp_path / "x.bmp", img)
    x = read_image_for_predict(path, ev.PredictContext())
    np.testing.assert_allclose(x, img.transpose(2, 0, 1) / 255.0, atol=1e-7)
    x = read_image_for_predict(path, ev.PredictContext(sample_shape=(1, 2, 3)))
    assert x.shape == (1, 2, 3)


def test_reader_errors_name_the_file(tmp_path, digits_ctx):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ConfigError, match="broken.png"):
        read_image_for_predict(bad, digits_ctx)


def _records(paths, labels, probs):
    return [{"input": str(p), "index": 0, "class": int(lab), "label": str(lab),
             "probability": pr, "top_k": [{"class": int(lab), "label": str(lab),
                                           "probability": pr}]}
            for p, lab, pr in zip(paths, labels, probs)]


def test_grid_writer(tmp_path, digits_ctx):
    ds = Digits(split="val")
    paths = []
    for i in range(5):
        img, y = ds[i]
        (tmp_path / str(y)).mkdir(exist_ok=True)
        img.save(tmp_path / str(y) / f"{i}.png")
        paths.append(tmp_path / str(y) / f"{i}.png")
    truth = [ds[i][1] for i in range(5)]
    labels = [truth[0], (truth[1] + 1) % 10, *truth[2:]]  # one wrong prediction
    out = write_grid(_records(paths, labels, [0.9] * 5), tmp_path / "out" / "grid.png",
                     digits_ctx)
    assert out == tmp_path / "out" / "grid.png" and out.is_file()
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert sheet.shape[0] > 128 and sheet.shape[1] > 3 * 128           # a 3x2 grid
    green = ((sheet[..., 1] > 100) & (sheet[..., 0] < 60)).sum()
    red = ((sheet[..., 0] > 150) & (sheet[..., 1] < 60)).sum()
    assert green > 0 and red > 0               # true labels known: right and wrong marked
    # unknown true labels (folder not a class) and no dataset still draw
    single = write_grid(_records([paths[0]], [3], [0.5]), tmp_path / "one.png", None)
    assert Image.open(single).size[0] >= 128
    with pytest.raises(ConfigError, match="no image"):
        write_grid([], tmp_path / "none.png", digits_ctx)


# ------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A quick fit of conf/resnet.yaml (a few batches) to predict with."""
    from ktrain.config import compose_config, validate
    from ktrain.train.run import new_run_dir, run_from_config

    over = ["trainer.max_epochs=1", "trainer.limit_train_batches=3",
            "trainer.limit_val_batches=2", "trainer.enable_plots=false"]
    run = validate(compose_config(str(ROOT / "conf" / "resnet.yaml"), over))
    run_dir = new_run_dir(tmp_path_factory.mktemp("runs"), run.experiment)
    run_from_config(run, run_dir, overrides=over, enable_progress_bar=False)
    return run_dir


def test_cli_predict_images_top_k_and_grid(digits_run, tmp_path, monkeypatch):
    from ktrain.cli import app
    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    ds = Digits(split="test")
    for i in range(4):
        img, y = ds[i]
        (tmp_path / "imgs" / str(y)).mkdir(parents=True, exist_ok=True)
        img.save(tmp_path / "imgs" / str(y) / f"{i}.png")
    img.convert("RGB").resize((32, 32)).save(tmp_path / "photo.png")
    r = CliRunner().invoke(app, ["predict", str(digits_run), "imgs", "photo.png", "--top-k",
                                 "3", "--grid", "grid.png", "-o", "preds.json"],
                           env={"COLUMNS": "200"})
    assert r.exit_code == 0, (r.output, r.exception)
    assert "top 3" in r.stdout and "photo.png" in r.stdout

    recs = json.loads(Path("preds.json").read_text())
    assert len(recs) == 5 and all(len(x["top_k"]) == 3 for x in recs)
    assert all(x["label"] in [str(c) for c in range(10)] for x in recs)
    assert all(abs(sum(t["probability"] for t in x["top_k"])) <= 1 + 1e-6 for x in recs)
    assert Image.open("grid.png").format == "PNG"


def test_cli_predict_grid_without_matplotlib(digits_run, tmp_path, monkeypatch):
    """--grid draws with Pillow: it works without the 'plots' extra (matplotlib)."""
    import sys

    from ktrain.cli import app
    from typer.testing import CliRunner

    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.chdir(tmp_path)
    img, y = Digits(split="test")[0]
    img.save(tmp_path / "d.png")
    r = CliRunner().invoke(app, ["predict", str(digits_run), "d.png", "--grid", "g.png"])
    assert r.exit_code == 0, (r.output, r.exception)
    assert Image.open("g.png").format == "PNG"
