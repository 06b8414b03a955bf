"""Helpers shared by the text datasets: split arithmetic, file checks, downloads."""
from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["SPLITS", "check_split", "download_and_extract", "md5sum", "random_split_indices",
           "resolve_files"]

SPLITS = ("train", "val", "test")


def check_split(split: str) -> str:
    if split in ("valid", "validation", "dev"):
        split = "val"
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    return split


def resolve_files(files, what="data.files") -> list[Path]:
    """``files`` (a path, a glob, or a list of them) as existing files; clear errors."""
    if files is None or (isinstance(files, (list, tuple)) and not files):
        raise ValueError(f"{what} is required: give the text file(s), e.g. "
                         f"{what}=[path/a.txt,path/b.txt]")
    items = [files] if isinstance(files, (str, Path)) else list(files)
    out = []
    for it in items:
        p = Path(str(it)).expanduser()
        if any(ch in str(it) for ch in "*?["):
            found = sorted(Path(p.anchor or ".").glob(str(p.relative_to(p.anchor)))
                           if p.is_absolute() else Path(".").glob(str(it)))
            if not found:
                raise FileNotFoundError(f"{what}: no file matches {it!r}")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{what}: no such file: {it}")
    return out


def random_split_indices(n: int, split: str, val_fraction: float, test_fraction: float,
                         seed: int) -> np.ndarray:
    """Indices of ``split`` in a seeded permutation of ``range(n)``: test first, then
    val, the rest train (disjoint, the same for the same seed whatever the global RNG)."""
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= float(f) < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {f}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction + test_fraction}")
    perm = np.random.default_rng(int(seed)).permutation(n)
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    parts = {"test": perm[:n_test], "val": perm[n_test:n_test + n_val],
             "train": perm[n_test + n_val:]}
    return np.sort(parts[split])


def md5sum(path, chunk=1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download_and_extract(url: str, root, md5: str | None, filename: str | None = None,
                         extract: bool = True) -> Path:
    """Fetch ``url`` into ``root`` (verify ``md5``), extract archives; returns the file.

    Raises RuntimeError naming the URL and the place to put the file by hand when the
    download fails (e.g. offline)."""
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    target = root / (filename or url.rsplit("/", 1)[-1])
    if not (target.is_file() and (md5 is None or md5sum(target) == md5)):
        tmp = target.with_name(target.name + ".part")
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as out:
                shutil.copyfileobj(r, out)
        except Exception as e:  # noqa: BLE001
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"could not download {url}: {e}. Without network access, "
                               f"download it elsewhere and place it at {target}") from None
        if md5 is not None and md5sum(tmp) != md5:
            got = md5sum(tmp)
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"checksum mismatch for {url}: md5 {got}, expected {md5}")
        tmp.replace(target)
    if extract:
        name = target.name.lower()
        if name.endswith(".zip"):
            with zipfile.ZipFile(target) as z:
                z.extractall(root)
        elif name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(target) as t:
                t.extractall(root, filter="data")
    return target
