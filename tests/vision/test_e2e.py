"""End to end: ``ktrain fit conf/resnet.yaml`` (the headline run) with few batches, the
vision configs compose and validate, and (slow) the full headline run reaches >= 98% test
accuracy; LeNet-5 learns the real MNIST test set in ``../shared/data/mnist``."""
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ktrain.cli import app
from ktrain.config import compose_config, validate
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
QUICK = ["trainer.max_epochs=1", "trainer.limit_train_batches=4",
         "trainer.limit_val_batches=2"]


def _shared_data() -> Path:
    env = os.environ.get("KTRAIN_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def fit(*args):
    r = CliRunner().invoke(app, ["fit", *map(str, args)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, (r.output, r.exception)
    return Path(r.stdout.strip().splitlines()[-1]), r.stdout


def test_headline_run_quick(tmp_path):
    run, out = fit(CONF / "resnet.yaml", *QUICK)
    assert run.parent == Path("outputs") / "resnet"
    for name in ("config.yaml", "overrides.yaml", "metrics.csv", "metrics.jsonl",
                 "checkpoints/last.ckpt", "confusion_matrix.png", "confusion_matrix.csv"):
        assert (run / name).is_file(), name
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["model"] == {"name": "resnet20", "num_classes": 10, "in_channels": 1,
                            "shortcut": "A"}
    assert cfg["data"]["name"] == "digits"
    assert "test/accuracy" in out and "val/accuracy" in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["test/accuracy"] <= 1.0
    head = (run / "confusion_matrix.csv").read_text().splitlines()[0]
    assert all(str(d) in head for d in range(10))         # the dataset's class names


def test_headline_run_switches_datasets_with_clear_errors(tmp_path):
    """``data=cifar10`` / ``data=mnist`` select those datasets (3 / 1 channels); without
    the files and with download=false the error says what to put where."""
    for data, channels in (("cifar10", 3), ("mnist", 1), ("cifar100", 3), ("svhn", 3),
                           ("fashion_mnist", 1)):
        run = validate(compose_config(str(CONF / "resnet.yaml"),
                                      [f"data={data}", f"data.root={tmp_path}"]))
        assert run.model.to_dict()["in_channels"] == channels
        assert run.data.to_dict()["name"] == data and run.data.to_dict()["download"] is False
    r = CliRunner().invoke(app, ["fit", str(CONF / "resnet.yaml"), "data=cifar10",
                                 f"data.root={tmp_path}"])
    assert r.exit_code != 0
    text = r.output + str(r.exception or "")
    assert "download" in text.lower() and str(tmp_path) in text
    assert not list(tmp_path.glob("cifar-10*"))            # nothing was downloaded


def test_headline_run_on_real_mnist_quick():
    """``data=mnist`` really switches: ResNet-20 with 1 input channel on 28x28 digits."""
    root = _shared_data() / "mnist"
    if not (root / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no MNIST test set in {root}")
    run, out = fit(CONF / "resnet.yaml", "data=mnist", f"data.root={root}", "data.source=test",
                   "data.num_workers=0", "data.batch_size=16", "trainer.max_epochs=1",
                   "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                   "+trainer.limit_test_batches=1")
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["data"]["name"] == "mnist" and cfg["model"]["in_channels"] == 1
    assert "test/accuracy" in out


@pytest.mark.parametrize("conf,overrides,model", [
    ("mnist_lenet.yaml", ["data.root=/nowhere"], "lenet5"),
    ("cifar10_resnet20.yaml", [], "resnet20"),
    ("imagefolder_resnet18.yaml", [], "resnet18"),
    ("imagefolder_resnet18.yaml", ["data.root=/pics", "task.num_classes=3"], "resnet18"),
    ("resnet.yaml", ["model=resnet56", "model.shortcut=B"], "resnet56"),
    ("resnet.yaml", ["model=convnet"], "convnet"),
    ("resnet.yaml", ["model=mobilenet_v2", "data=cifar10"], "mobilenet_v2"),
])
def test_configs_compose(conf, overrides, model):
    run = validate(compose_config(str(CONF / conf), overrides))
    m = run.model.to_dict()
    assert m["name"] == model and m["num_classes"] == run.task.num_classes


def test_image_folder_group_requires_root_and_classes():
    r = CliRunner().invoke(app, ["fit", str(CONF / "resnet.yaml"), "data=image_folder"])
    assert r.exit_code == 2
    assert "task.num_classes" in r.output                  # the first missing value
    r = CliRunner().invoke(app, ["fit", str(CONF / "resnet.yaml"), "data=image_folder",
                                 "task.num_classes=5"])
    assert r.exit_code == 2 and "data.root" in r.output


def test_imagefolder_resnet18_quick(tmp_path):
    """The image-folder starting point on a tiny generated tree (32 px, 2 batches)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (tmp_path / "pics" / cls).mkdir(parents=True)
        for i in range(10):
            a = np.clip(rng.normal(colour, 30, (40, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(a).save(tmp_path / "pics" / cls / f"{i}.png")
    run, out = fit(CONF / "imagefolder_resnet18.yaml", f"data.root={tmp_path / 'pics'}",
                   "task.num_classes=2", "data.batch_size=4", "data.num_workers=0",
                   "data.image_size=32", *QUICK)
    assert (run / "checkpoints" / "last.ckpt").is_file() and "val/accuracy" in out
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["model"]["in_channels"] == 3 and cfg["data"]["channels"] == 3
    assert cfg["data"]["train_transform"][0] == {"name": "random_resized_crop", "size": 32}


def _grey_pngs(root, side=12):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, level in (("dark", 60), ("light", 190)):
        (root / cls).mkdir(parents=True)
        for i in range(10):
            a = np.clip(rng.normal(level, 20, (side, side)), 0, 255).astype(np.uint8)
            Image.fromarray(a).save(root / cls / f"{i}.png")  # mode 'L'


def test_imagefolder_greyscale_small_images(tmp_path):
    """12x12 greyscale PNGs through the unchanged image-folder group: data.channels=1 and
    data.image_size=16 give 1x16x16 inputs, the model's in_channels follows, the group's
    RGB normalize becomes its grey equivalent; bad values exit 2."""
    _grey_pngs(tmp_path / "glyphs")
    common = [f"data.root={tmp_path / 'glyphs'}", "task.num_classes=2", "data.batch_size=4",
              "data.num_workers=0"]
    run, out = fit(CONF / "imagefolder_resnet18.yaml", *common, "data.channels=1",
                   "data.image_size=16", "model=lenet5", "model.input_size=16", *QUICK)
    assert (run / "checkpoints" / "last.ckpt").is_file() and "val/accuracy" in out
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["model"]["name"] == "lenet5" and cfg["model"]["in_channels"] == 1
    assert cfg["data"]["channels"] == 1 and cfg["data"]["image_size"] == 16
    run, out = fit(CONF / "imagefolder_resnet18.yaml", *common, "data.channels=1",
                   "data.image_size=[16,16]", "model=resnet20", *QUICK)
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["in_channels"] == 1
    for bad in ("data.channels=2", "data.image_size=0"):
        r = CliRunner().invoke(app, ["fit", str(CONF / "imagefolder_resnet18.yaml"), *common,
                                     bad, *QUICK], env={"COLUMNS": "200"})
        assert r.exit_code == 2, (bad, r.output)
        assert bad.split("=")[0].split(".")[1] in r.output


# ------------------------------------------------------------------ slow
def _documented_headline() -> dict:
    """README's headline figures: (OpenBLAS kernel, BLAS threads) -> correct test digits."""
    import re

    row = re.compile(r"^\| OpenBLAS (\w+) kernel, (\d+) BLAS threads? \| \*?\*?([\d.]+)%\*?\*? "
                     r"\((\d+) of 269\)")
    out = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        m = row.match(line)
        if m:
            out[(m[1], int(m[2]))] = int(m[4])
            assert abs(float(m[3]) - 100 * int(m[4]) / 269) < 0.006, line
    return out


def test_readme_documents_the_headline_figures():
    rows = _documented_headline()
    assert len(rows) >= 2 and all(250 <= v <= 269 for v in rows.values())


@pytest.mark.slow
def test_headline_run_gives_the_documented_figure(tmp_path):
    """The full headline run reaches >= 98%, and exactly the README's figure where the
    README has one for this machine's OpenBLAS kernel and the BLAS threads the run used
    (OpenBLAS's float rounding depends on both, so the trajectory does)."""
    import ktrain
    from threadpoolctl import threadpool_info

    t0 = time.perf_counter()
    run, _ = fit(CONF / "resnet.yaml", "--quiet")
    seconds = time.perf_counter() - t0
    metrics = json.loads((run / "metrics.json").read_text())
    threads = ktrain.load(run / "checkpoints" / "last.ckpt")["loops"]["blas_threads"]
    kernel = next((i.get("architecture") for i in threadpool_info()
                   if i.get("internal_api") == "openblas"), None)
    correct = round(metrics["test/accuracy"] * 269)
    print(f"conf/resnet.yaml: test accuracy {metrics['test/accuracy']:.4f} ({correct} of 269) "
          f"in {seconds:.0f} s, OpenBLAS {kernel} kernel, {threads} BLAS threads")
    assert metrics["test/accuracy"] >= 0.98
    documented = _documented_headline().get((kernel, threads))
    if documented is not None:
        assert correct == documented, (kernel, threads)


@pytest.mark.slow
def test_lenet_learns_real_mnist():
    """conf/mnist_lenet.yaml on the real MNIST test set (the only MNIST images in the
    shared data): ``data.source=test`` carves train (7,000) / val (1,000) / test (2,000)
    from it, stratified; LeNet-5 reaches >= 97% on the held-out 2,000."""
    root = _shared_data() / "mnist"
    if not (root / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no MNIST test set in {root}")
    t0 = time.perf_counter()
    run, _ = fit(CONF / "mnist_lenet.yaml", f"data.root={root}", "data.source=test",
                 "trainer.max_epochs=8", "data.batch_size=32", "optim.weight_decay=0.0005",
                 "data.num_workers=0", "--quiet")
    seconds = time.perf_counter() - t0
    metrics = json.loads((run / "metrics.json").read_text())
    print(f"LeNet-5 on MNIST t10k (7,000 train / 2,000 held out): "
          f"{metrics['test/accuracy']:.4f} in {seconds:.0f} s")
    assert metrics["test/accuracy"] >= 0.97
