"""Audio models, the CTC task and its decoding/metric."""
import ktrain as kt
import ktrain.nn.functional as F
import numpy as np
import pytest
from ktrain_audio import models as M


@pytest.mark.parametrize("build,shape", [(lambda: M.m5(5, n_channel=8), (3, 1, 16000)),
                                         (lambda: M.kws_cnn(5, width=4), (3, 1, 20, 30)),
                                         (lambda: M.kws_resnet(5, width=4, blocks=(1, 1)),
                                          (3, 1, 20, 30))])
def test_classifiers_forward_backward(build, shape):
    kt.manual_seed(0)
    model = build()
    x = kt.randn(*shape)
    out = model(x)
    assert out.shape == (3, 5)
    F.cross_entropy(out, kt.tensor([0, 1, 2])).backward()
    assert all(p.grad is not None for p in model.parameters())
    # lengths: full lengths change nothing; shorter ones pool over the valid frames only
    model.eval()
    full = shape[-1]
    model.requires_grad_(False)
    a = model(x).numpy()
    np.testing.assert_allclose(model(x, lengths=kt.tensor([full] * 3)).numpy(), a, rtol=1e-5)
    b = model(x, lengths=kt.tensor([full, full // 4, full])).numpy()
    np.testing.assert_allclose(b[[0, 2]], a[[0, 2]], rtol=1e-5)
    assert not np.allclose(b[1], a[1])


def test_ctc_decode_and_cer():
    lp = np.full((6, 1, 3), -10.0)
    for t, c in enumerate([1, 1, 0, 1, 2, 2]):
        lp[t, 0, c] = 0.0
    assert M.greedy_decode(kt.tensor(lp)) == [[1, 1, 2]]
    assert M.greedy_decode(kt.tensor(lp), lengths=[3]) == [[1]]
    assert M.edit_distance("kitten", "sitting") == 3
    assert M.char_error_rate(["abc", "x"], ["abd", "xy"]) == pytest.approx(2 / 5)


def test_ctc_task_learns_tiny_problem(tmp_path):
    from ktrain.train import Trainer
    from ktrain.utils.data import DataLoader
    from ktrain_audio.ctc import CTCTask
    from ktrain_audio.datasets import ctc_collate

    rng = np.random.default_rng(0)
    protos = rng.standard_normal((3, 8, 1)).astype(np.float32)   # one feature pattern per label

    def sample():
        labels = list(rng.integers(1, 3, 3))
        frames = np.concatenate([np.repeat(protos[v], 4, 1) for v in labels]
                                + [np.zeros((8, 2), np.float32)], 1)
        return frames + 0.05 * rng.standard_normal(frames.shape).astype(np.float32), labels

    data = [sample() for _ in range(64)]
    kt.manual_seed(0)
    model = M.ctc_recognizer(3, n_feats=8, hidden=16, num_layers=1, stride=1)
    task = CTCTask(model, optimizer={"name": "adam", "lr": 0.02})
    loader = DataLoader(data, batch_size=16, shuffle=True, collate_fn=ctc_collate)
    val = DataLoader(data[:16], batch_size=16, collate_fn=ctc_collate)
    trainer = Trainer(max_epochs=12, default_root_dir=str(tmp_path), enable_progress_bar=False,
                      enable_checkpointing=False, loggers=False,
                      enable_plots=False)
    trainer.fit(task, loader, val)
    m = trainer.callback_metrics
    assert float(m["val/cer"]) < 0.2
    preds = trainer.predict(task, DataLoader(data[:4], batch_size=4, collate_fn=ctc_collate))
    assert len(preds[0]) == 4
