"""Small end-to-end checks that models built from ktrain.nn + ktrain.optim actually learn."""
import numpy as np

import ktrain as kt
from ktrain import nn


def _blobs(n=512, seed=0):
    """Four Gaussian blobs in 2-D: linearly separable with a margin."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2, 2], [-2, 2], [-2, -2], [2, -2]], dtype=np.float32)
    y = rng.integers(0, 4, n)
    x = centres[y] + rng.normal(0, 0.6, (n, 2)).astype(np.float32)
    return kt.tensor(x), kt.tensor(y)


def _bars(n=384, seed=0):
    """8x8 images holding a horizontal or vertical bar at a random place, plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, n)
    pos = rng.integers(1, 7, n)
    for label in (0, 1):
        idx = np.nonzero(y == label)[0]
        if label == 0:
            x[idx, 0, pos[idx], 1:7] += 2.0
        else:
            x[idx, 0, 1:7, pos[idx]] += 2.0
    return kt.tensor(x), kt.tensor(y)


def _accuracy(model, x, y):
    model.eval()
    with kt.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_mlp_learns_blobs():
    kt.manual_seed(0)
    x, y = _blobs()
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = kt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    assert _accuracy(model, x, y) > 0.95


def test_cnn_learns_bars():
    kt.manual_seed(0)
    x, y = _bars()
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    opt = kt.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(8):
        model.train()
        for i in range(0, len(x), 64):
            opt.zero_grad()
            loss = loss_fn(model(x[i:i + 64]), y[i:i + 64])
            loss.backward()
            opt.step()
    xt, yt = _bars(seed=1)
    assert _accuracy(model, xt, yt) > 0.95
