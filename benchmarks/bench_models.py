"""Training-step time and peak memory of standard workloads: ktrain beside PyTorch CPU,
interleaved in rounds, for 1 thread and for all cores, with a load check.

    python benchmarks/bench_models.py --torch-python /work/bench-venv/bin/python
    python benchmarks/bench_models.py --torch-python /work/bench-venv/bin/python \
        --markdown --json /tmp/bench_models.json          # the README table + every figure
    python benchmarks/bench_models.py --only mlp lstm --threads 2 --rounds 7
    ../shared/tools/wait-idle && python benchmarks/bench_models.py ...   # or --wait-idle

What is measured: for each workload and thread count, one fresh worker process per framework
(``_harness.py``: same thread count for both, set before import) builds the workload once
(seed 0, the same model code on both libraries, float32), warms it up, then the two workers
alternate for ``--rounds`` rounds of about ``--round-s`` seconds each. A training step is
``zero_grad``, forward, loss, backward and the optimizer step (SGD momentum 0.9 unless said);
inference is forward only in ``eval()`` under ``no_grad``, the output converted to numpy
(ktrain may defer a no_grad convolution; the conversion makes both libraries compute it). Reported: median step time of each,
ratio = PyTorch time / ktrain time (>= 1: ktrain is faster) as the median of the per-round
ratios with their min-max, the target of the performance issue and PASS/MISS (all cores:
ratio >= target; 1 thread: ratio >= that workload's all-cores ratio), each worker's peak RSS
("peak MiB": imports, model, data, steps: what a user sees) and its growth during the timed
steps. The run refuses (exit 3) when the 1-minute load is above 0.5 per core, unless
``--wait-idle`` or ``--force`` (figures then marked UNDER LOAD). Without PyTorch (neither
here nor ``--torch-python``) only ktrain's figures are printed and the ratio is n/a.
With the defaults the whole run takes about 5-8 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

WORKLOADS = {
    "mlp": "MLP 784-512-512-10, b128",
    "transformer": "Transformer enc. 2L d128 h4 ff512 seq64, b32",
    "resnet20": "ResNet-20 training, b64",
    "resnet20_infer": "ResNet-20 inference, b256",
    "lstm": "LSTM classifier emb128 h256 seq64, b32",
    "mnist_cnn": "MNIST example CNN (Adadelta), b64",
    "lstmcell_loop": "LSTMCell(32,64) 1,000-step loop, b16",
}
# ratio PyTorch / ktrain the performance issue asks for, with all cores
TARGETS = {"mlp": 1.0, "transformer": 0.9, "resnet20": 0.7, "resnet20_infer": 0.7,
           "lstm": 0.8, "mnist_cnn": 0.8, "lstmcell_loop": 0.5}


def _flatten(fw, x):
    return fw.flatten(x, 1)


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


def mnist_net(fw):
    """The CNN of pytorch/examples' mnist/main.py (``Net``), unchanged."""
    nn, F = fw.nn, fw.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = _flatten(fw, x)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def build(fw, name):
    """(model, input, target) for workload ``name`` in framework ``fw`` (used by
    bench_threads.py too)."""
    nn = fw.nn
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
    elif name == "mnist_cnn":
        model = mnist_net(fw)
        x = fw.randn(64, 1, 28, 28)
        y = fw.randint(0, 10, (64,))
    elif name == "lstmcell_loop":
        model = nn.LSTMCell(32, 64)
        x = fw.randn(1000, 16, 32)
        y = None
    else:
        raise SystemExit(f"unknown workload {name!r}; choose from {sorted(WORKLOADS)}")
    return model, x, y


def make_step(fw, name):
    """The timed step of workload ``name`` (the harness's factory)."""
    model, x, y = build(fw, name)
    if name.endswith("_infer"):
        model.eval()

        def infer():
            with fw.no_grad():
                # materialise the output: ktrain may defer no_grad convolutions (fusion)
                model(x).numpy()
        return infer
    if name == "lstmcell_loop":
        h0 = fw.zeros(16, 64)
        c0 = fw.zeros(16, 64)

        def cell_loop():
            model.zero_grad()
            h, c = h0, c0
            outs = []
            for t in range(x.shape[0]):
                h, c = model(x[t], (h, c))
                outs.append(h)
            fw.stack(outs).sum().backward()
        return cell_loop
    if name == "mnist_cnn":
        opt = fw.optim.Adadelta(model.parameters(), lr=1.0)
        loss_fn = fw.nn.functional.nll_loss
    else:
        opt = fw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = fw.nn.CrossEntropyLoss()
    model.train()

    def train():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return train


def cases(names):
    import _harness as H

    return [H.Case(n, WORKLOADS[n], __file__, "make_step", {"name": n}) for n in names]


def main(argv=None):
    import _harness as H

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS),
                   metavar="WORKLOAD", help=f"workloads to run (default all: {list(WORKLOADS)})")
    H.add_arguments(p, rounds=5, round_s=1.0)
    args = p.parse_args(argv)
    return H.main_run(args, cases(args.only), "bench_models: step time, ktrain vs PyTorch CPU",
                      unit="ms", targets=TARGETS, memory=True, fresh=True)


if __name__ == "__main__":
    main()
