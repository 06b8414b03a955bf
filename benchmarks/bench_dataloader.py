"""Images/s of a DataLoader that decodes PNG files and augments them, for 0, 1 and 2 workers.

Run: ``python benchmarks/bench_dataloader.py [--images 512] [--epochs 3]``. Needs Pillow.
It writes ``--images`` small RGB PNGs (32x32, CIFAR-sized) to a temporary folder, then
times a loader whose dataset decodes each file with Pillow and augments it in numpy
(random 32x32 crop of the 4-pixel zero-padded image, random horizontal flip, scale to
float32 CHW), batch size 64, shuffled. Workers are persistent; one untimed warm-up epoch
comes first, and the "first epoch" column includes starting the workers. "main CPU" is
the CPU time the main process spends per image: what a training loop loses to loading
(it does not depend on how busy the machine is, unlike images/s); ``--io-ms`` adds a
simulated storage latency per image. When PyTorch is importable, the same dataset runs
through ``torch.utils.data.DataLoader`` for reference. The load before and after is printed;
the run refuses to start (exit 3) when the 1-minute load is above 0.5 per core, unless
``--force`` (figures then marked UNDER LOAD) or ``--wait-idle``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src", "core"))
import ktrain as kt  # noqa: E402
from ktrain.utils.data import DataLoader, Dataset  # noqa: E402

try:
    from PIL import Image
except ImportError:  # pragma: no cover
    sys.exit("bench_dataloader needs Pillow: pip install pillow")

try:
    import torch
    import torch.utils.data as tud
except ImportError:  # PyTorch is optional: the table then has no torch rows
    torch = None


def write_pngs(folder, n, size=32, seed=0):
    """n smooth-ish random RGB images (noise compresses badly, photos do not)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        base = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
        img = np.kron(base, np.ones((4, 4, 1), np.uint8))
        img = np.clip(img.astype(np.int16) + rng.integers(-8, 9, img.shape), 0, 255)
        p = os.path.join(folder, f"{i:05d}.png")
        Image.fromarray(img.astype(np.uint8)).save(p)
        paths.append((p, i % 10))
    return paths


class PngFolder(Dataset):
    """Decode a PNG, random-crop (pad 4) and random-flip it with numpy's global RNG, which
    each DataLoader worker seeds differently."""

    def __init__(self, items, size=32, pad=4, io_ms=0.0):
        self.items, self.size, self.pad, self.io_s = items, size, pad, io_ms / 1000
        self.mean = np.array([0.49, 0.48, 0.45], np.float32).reshape(3, 1, 1)
        self.std = np.array([0.25, 0.24, 0.26], np.float32).reshape(3, 1, 1)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        if self.io_s:
            time.sleep(self.io_s)  # simulated storage latency (network disk, object store)
        with Image.open(path) as im:
            img = np.asarray(im.convert("RGB"))
        p, s = self.pad, self.size
        padded = np.zeros((s + 2 * p, s + 2 * p, 3), np.uint8)
        padded[p:p + s, p:p + s] = img
        y, x = np.random.randint(0, 2 * p + 1, size=2)
        crop = padded[y:y + s, x:x + s]
        if np.random.rand() < 0.5:
            crop = crop[:, ::-1]
        chw = crop.transpose(2, 0, 1).astype(np.float32) * (1 / 255)
        return (chw - self.mean) / self.std, label


def run(make_loader, epochs):
    t0 = time.perf_counter()
    loader = make_loader()
    n = 0
    for x, _ in loader:  # warm-up epoch: starts the workers
        n += len(x)
    first = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for _ in range(epochs):
        for x, _ in loader:
            n += len(x)
    steady = time.perf_counter() - t0
    main_cpu = time.process_time() - c0
    del loader
    return n / steady, n / epochs / first, main_cpu / n * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--io-ms", type=float, default=0.0,
                    help="simulated read latency per image, in ms (default 0: local files)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved repetitions; the best of them is reported (a shared "
                         "machine's load comes and goes)")
    ap.add_argument("--force", action="store_true",
                    help="run even when the machine is busy; figures are marked UNDER LOAD")
    ap.add_argument("--wait-idle", action="store_true",
                    help="wait until the 1-minute load is below 0.5 per core first")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _harness as H

    try:
        before, under_load = H.check_load(args.force, args.wait_idle)
    except SystemExit as e:
        H._log(str(e.code))
        raise SystemExit(H.EXIT_UNDER_LOAD) from None

    def loaders(ds):
        for nw in args.workers:
            yield "ktrain", nw, lambda nw=nw: DataLoader(
                ds, batch_size=args.batch_size, shuffle=True, num_workers=nw,
                persistent_workers=nw > 0, timeout=120 if nw else 0)
            if torch is not None:
                yield "torch", nw, lambda nw=nw: tud.DataLoader(
                    ds, batch_size=args.batch_size, shuffle=True, num_workers=nw,
                    persistent_workers=nw > 0)

    best = {}
    with tempfile.TemporaryDirectory(prefix="ktrain_bench_png_") as d:
        ds = PngFolder(write_pngs(d, args.images), io_ms=args.io_ms)
        for _ in range(args.rounds):
            for lib, nw, make in loaders(ds):
                kt.manual_seed(0)
                if torch is not None:
                    torch.manual_seed(0)
                r = run(make, args.epochs)
                old = best.get((lib, nw))
                best[(lib, nw)] = r if old is None else (max(old[0], r[0]), max(old[1], r[1]),
                                                         min(old[2], r[2]))

    print(f"{args.images} PNGs 32x32, batch {args.batch_size}, {args.epochs} timed epochs, "
          f"best of {args.rounds} rounds, io latency {args.io_ms} ms, {os.cpu_count()} CPUs")
    print(f"{'loader':8s} {'workers':>7s} {'images/s':>9s} {'vs 0 workers':>12s} "
          f"{'first epoch img/s':>17s} {'main CPU us/img':>15s}")
    for (lib, nw), (ips, first, cpu) in sorted(best.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ratio = ips / best[(lib, args.workers[0])][0]
        print(f"{lib:8s} {nw:7d} {ips:9.0f} {ratio:11.2f}x {first:17.0f} {cpu:15.1f}"
              + (f"  {H.UNDER_LOAD}" if under_load else ""))
    la = H.read_loadavg()
    print(f"load before {before['loadavg'][0]:.2f}, after {la[0]:.2f} (1-minute; this "
          f"benchmark's own workers count in the latter)")


if __name__ == "__main__":
    main()
