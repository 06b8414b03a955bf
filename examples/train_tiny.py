"""Train a tiny two-layer network with ktrain's autograd alone (no nn/optim yet).

    python examples/train_tiny.py

Learns to classify points of two interleaved spirals; prints the loss as it falls and
the final training accuracy (about 97-100% after a few seconds on a laptop CPU).
"""
import math
import time

import numpy as np

import ktrain as kt


def spirals(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * math.pi
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    x = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], 1) / 10
    x += rng.normal(0, 0.02, x.shape)
    y = (sign > 0).astype(np.int64)
    return kt.tensor(x, dtype=kt.float32), kt.tensor(y)


def main(steps=1500, hidden=64, lr=0.5):
    kt.manual_seed(0)
    x, y = spirals()
    w1 = (kt.randn(2, hidden) * math.sqrt(2 / 2)).requires_grad_()
    b1 = kt.zeros(hidden, requires_grad=True)
    w2 = (kt.randn(hidden, hidden) * math.sqrt(2 / hidden)).requires_grad_()
    b2 = kt.zeros(hidden, requires_grad=True)
    w3 = (kt.randn(hidden, 2) * math.sqrt(1 / hidden)).requires_grad_()
    b3 = kt.zeros(2, requires_grad=True)
    params = [w1, b1, w2, b2, w3, b3]
    onehot = kt.eye(2)[y]
    t0 = time.perf_counter()
    for step in range(steps + 1):
        h = (x @ w1 + b1).tanh()
        h = (h @ w2 + b2).tanh()
        logits = h @ w3 + b3
        # cross-entropy written with autograd ops: logsumexp - logit of the true class
        loss = (logits.logsumexp(1) - (logits * onehot).sum(1)).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with kt.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % 300 == 0:
            acc = (logits.argmax(1) == y).float().mean().item()
            print(f"step {step:5d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    print(f"trained {steps} steps in {time.perf_counter() - t0:.1f} s; "
          f"final accuracy {acc:.1%}")
    return acc


if __name__ == "__main__":
    main()
