"""Training-step time and peak memory of standard workloads: ktrain beside PyTorch CPU.

    python benchmarks/bench_models.py                 # all workloads, both frameworks
    python benchmarks/bench_models.py --only mlp lstm --steps 20

Each (framework, workload) runs in its own subprocess so that memory is measured cleanly:
"peak MiB" is the process's peak resident memory (imports, model, data and the steps),
which is what a user sees; "step MiB" is the growth of that peak during the timed steps. A step is
forward + backward + SGD(momentum=0.9) in float32; inference is forward only under
no_grad. The ratio column is PyTorch time / ktrain time (>= 1 means ktrain is faster);
PyTorch runs with ``torch.set_num_threads`` equal to the BLAS thread count.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import blas_threads  # noqa: E402

WORKLOADS = {
    "mlp": "MLP 784-512-512-10, batch 128",
    "resnet20": "CIFAR ResNet-20, batch 64",
    "lstm": "LSTM classifier (vocab 10k, emb 128, hidden 256, seq 64), batch 32",
    "transformer": "Transformer encoder (d 128, 4 heads, ff 512, 2 layers, seq 64), batch 32",
    "resnet20_infer": "ResNet-20 inference, batch 256",
}
TARGETS = {"mlp": 0.85, "resnet20": 0.45, "lstm": 0.4, "transformer": 0.75,
           "resnet20_infer": 0.4}


def _fw(name):
    if name == "torch":
        import torch

        return torch
    sys.path.insert(0, os.path.join(HERE, "..", "src", "core"))
    import ktrain

    return ktrain


def resnet20(fw, num_classes=10):
    nn, F = fw.nn, fw.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            layers, cin = [], 16
            for cout, stride in ((16, 1), (32, 2), (64, 2)):
                for i in range(3):
                    layers.append(Block(cin, cout, stride if i == 0 else 1))
                    cin = cout
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layers(x)
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.fc(x)

    return ResNet()


def lstm_classifier(fw):
    nn = fw.nn

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10000, 128)
            self.lstm = nn.LSTM(128, 256, batch_first=True)
            self.fc = nn.Linear(256, 2)

        def forward(self, x):
            out, (h, c) = self.lstm(self.emb(x))
            return self.fc(h[-1])

    return LSTMClassifier()


def transformer(fw):
    nn = fw.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(1000, 128)
            layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.1, batch_first=True)
            self.enc = nn.TransformerEncoder(layer, 2)
            self.fc = nn.Linear(128, 2)

        def forward(self, x):
            return self.fc(self.enc(self.emb(x)).mean(1))

    return Encoder()


def build(fw, name):
    """(model, input, target) for workload ``name`` in framework ``fw``."""
    nn = fw.nn
    g = fw.manual_seed(0)
    del g
    if name == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10))
        x = fw.randn(128, 784)
        y = fw.randint(0, 10, (128,))
    elif name in ("resnet20", "resnet20_infer"):
        model = resnet20(fw)
        b = 64 if name == "resnet20" else 256
        x = fw.randn(b, 3, 32, 32)
        y = fw.randint(0, 10, (b,))
    elif name == "lstm":
        model = lstm_classifier(fw)
        x = fw.randint(0, 10000, (32, 64))
        y = fw.randint(0, 2, (32,))
    elif name == "transformer":
        model = transformer(fw)
        x = fw.randint(0, 1000, (32, 64))
        y = fw.randint(0, 2, (32,))
    else:
        raise SystemExit(f"unknown workload {name!r}; choose from {sorted(WORKLOADS)}")
    return model, x, y


def worker(fw_name, name, steps, warmup):
    fw = _fw(fw_name)
    threads = blas_threads()
    if fw_name == "torch":
        fw.set_num_threads(threads)
    model, x, y = build(fw, name)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    if name.endswith("_infer"):
        model.eval()
        with fw.no_grad():
            for i in range(warmup + steps):
                t0 = time.perf_counter()
                model(x)
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
    else:
        opt = fw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = fw.nn.CrossEntropyLoss()
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3,
            "peak_mib": peak / 1024, "step_mib": (peak - base_rss) / 1024, "threads": threads}


def run_one(fw_name, name, steps, warmup):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", fw_name, name,
           "--steps", str(steps), "--warmup", str(warmup)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _best(a, b):
    """The run with the lower median time (errors lose)."""
    if a is None or "error" in a:
        return b
    if "error" in b:
        return a
    return b if b["median_ms"] < a["median_ms"] else a


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", default=list(WORKLOADS), help="workloads to run")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3,
                   help="alternate ktrain/torch runs this many times and keep each one's best "
                        "median (robust to a machine shared with other work)")
    p.add_argument("--worker", nargs=2, metavar=("FW", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.steps, args.warmup)))
        return
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    print(f"{'workload':58s} {'ktrain ms':>10s} {'torch ms':>9s} {'ratio':>6s} {'target':>6s} "
          f"{'kt peak':>8s} {'th peak':>8s} {'kt step':>8s} {'th step':>8s}  (MiB)")
    for name in args.only:
        k = t = None
        for _ in range(args.rounds):
            k = _best(k, run_one("ktrain", name, args.steps, args.warmup))
            if have_torch:
                t = _best(t, run_one("torch", name, args.steps, args.warmup))
        if "error" in k:
            print(f"{WORKLOADS[name]:58s} ktrain failed: {k['error']}")
            continue
        ts = f"{t['median_ms']:9.1f}" if t and "error" not in t else f"{'-':>9s}"
        ratio = f"{t['median_ms'] / k['median_ms']:6.2f}" if t and "error" not in t else \
            f"{'-':>6s}"
        ok = t and "error" not in t
        tm = f"{t['peak_mib']:8.0f}" if ok else f"{'-':>8s}"
        tsm = f"{t['step_mib']:8.0f}" if ok else f"{'-':>8s}"
        print(f"{WORKLOADS[name]:58s} {k['median_ms']:10.1f} {ts} {ratio} "
              f"{TARGETS[name]:6.2f} {k['peak_mib']:8.0f} {tm} {k['step_mib']:8.0f} {tsm}",
              flush=True)


if __name__ == "__main__":
    main()
