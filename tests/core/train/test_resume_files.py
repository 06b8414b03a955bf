"""A run killed (SIGKILL) at several moments and resumed each time writes, row for row,
the per-epoch files an uninterrupted run writes: metrics.csv, metrics.jsonl,
metrics.json, the TensorBoard scalars (wall-clock columns aside), and the same top-k
checkpoints, with no temporary file left in checkpoints/."""
import csv
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ktrain.train.loggers import read_jsonl, read_scalars, tensorboard_available

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf" / "mlp_synthetic.yaml"
# 160 training samples: 5 batches an epoch, 4 epochs (20 steps), last.ckpt every 3 steps,
# the best 2 by val/accuracy kept
OVERRIDES = ["data.n_samples=200", "trainer.max_epochs=4", "trainer.log_every_n_steps=1",
             "+trainer.checkpoint_every_n_steps=3", "trainer.enable_progress_bar=false",
             "trainer.enable_plots=false", "trainer.num_threads=1",
             "trainer.callbacks=[{name: model_checkpoint, monitor: val/accuracy, mode: max,"
             " save_top_k: 2}]"]

# The child kills itself (SIGKILL) at the moment its argv names:
#   step:S        after optimizer step S (mid-epoch), before the periodic checkpoint
#   val:E         when the validation of epoch E starts (the epoch's train rows not logged)
#   epoch:E       when epoch E starts (epoch E-1's rows and checkpoints all written)
#   write:NAME:S  inside the atomic write of checkpoint NAME at step S (temp file written,
#                 not yet renamed: a '.NAME.*.tmp' stays behind)
CHILD = textwrap.dedent("""
    import os, signal, sys
    from ktrain.config import compose_config, validate
    from ktrain.train import Trainer
    from ktrain.train.run import run_from_config

    conf, run_dir, resume, plan = sys.argv[1:5]
    kind, _, arg = plan.partition(":")
    trainer = [None]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    hook = Trainer._hook
    def _hook(self, name, *args, **kw):
        trainer[0] = self
        if (kind == "step" and name == "on_train_batch_end" and self.global_step == int(arg)
                or kind == "val" and name == "on_validation_epoch_start"
                and self.current_epoch == int(arg)
                or kind == "epoch" and name == "on_train_epoch_start"
                and self.current_epoch == int(arg)):
            die()
        return hook(self, name, *args, **kw)
    Trainer._hook = _hook

    replace = os.replace
    def _replace(src, dst, *a, **kw):
        name, _, step = arg.rpartition(":")
        if kind == "write" and os.path.basename(dst) == name and trainer[0] is not None \\
                and trainer[0].global_step == int(step):
            die()
        return replace(src, dst, *a, **kw)
    os.replace = _replace

    run = validate(compose_config(conf, sys.argv[5:]))
    run_from_config(run, run_dir, resume="last" if resume == "1" else None,
                    enable_progress_bar=False)
""")


def _child(script, run_dir, resume, plan):
    return subprocess.Popen([sys.executable, str(script), str(CONF), str(run_dir),
                             "1" if resume else "0", plan, *OVERRIDES],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(p, killed):
    out = p.communicate(timeout=300)[0].decode()
    if killed:
        assert p.returncode == -signal.SIGKILL, out
    else:
        assert p.returncode == 0, out


def _figures(run):
    """The run's per-epoch files, wall-clock columns aside, and its checkpoint names."""
    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    jsonl = [{k: v for k, v in r.items() if k != "time"} for r in read_jsonl(run / "metrics.jsonl")]
    out = {"metrics.csv": rows, "metrics.jsonl": jsonl,
           "metrics.json": json.loads((run / "metrics.json").read_text()),
           "checkpoints": sorted(os.listdir(run / "checkpoints"))}
    if tensorboard_available():
        out["tensorboard"] = read_scalars(run / "tensorboard")
    return out


def _compare(full, resumed, what):
    for name in full:
        a, b = full[name], resumed[name]
        if isinstance(a, list) and name != "checkpoints":
            for i, (x, y) in enumerate(zip(a, b)):
                assert x == y, f"{what}: {name} row {i} differs:\n  {x}\n  {y}"
        assert a == b, f"{what}: {name} differs ({len(a)} vs {len(b)} rows)"


def _kill_and_resume(tmp_path, plans):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    full = _child(script, tmp_path / "full", False, "none:")
    cut = tmp_path / "cut"
    for i, plan in enumerate(plans):
        _finish(_child(script, cut, i > 0, plan), killed=True)
    _finish(_child(script, cut, True, "none:"), killed=False)
    _finish(full, killed=False)
    assert not [n for n in os.listdir(cut / "checkpoints") if n.endswith(".tmp")]
    return _figures(tmp_path / "full"), _figures(cut)


def test_killed_at_many_moments_writes_what_an_uninterrupted_run_writes(tmp_path):
    plans = ["step:2",                       # mid-epoch 0, before any checkpoint
             "write:last.ckpt:5",            # inside epoch 0's last.ckpt write (after a top-k one)
             "val:1",                        # epoch 1 trained, its validation starting
             "epoch:2",                      # right after epoch 1 ended
             "write:epoch=2-step=15.ckpt:15",  # a top-k write of epoch 2's end
             "step:17"]                      # mid-epoch 3
    full, resumed = _kill_and_resume(tmp_path, plans)
    assert len(full["metrics.csv"]) > 20 and len(full["metrics.jsonl"]) > 20
    _compare(full, resumed, f"kills {plans}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_killed_at_a_random_moment(tmp_path, seed):
    """The parent kills the child at a random time (anywhere: a log write, a checkpoint
    write, validation ...), twice."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    full = _child(script, tmp_path / "full", False, "none:")
    _finish(full, killed=False)
    cut, rng = tmp_path / "cut", random.Random(seed)
    for i in range(2):
        p = _child(script, cut, i > 0, "none:")
        deadline = time.time() + 120
        while not (cut / "checkpoints" / "last.ckpt").exists() and p.poll() is None:
            assert time.time() < deadline
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
    _finish(_child(script, cut, True, "none:"), killed=False)
    assert not [n for n in os.listdir(cut / "checkpoints") if n.endswith(".tmp")]
    _compare(_figures(tmp_path / "full"), _figures(cut), f"random kills (seed {seed})")
