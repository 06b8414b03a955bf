"""Explicit downloads: canonical URLs, a progress bar, checksums, atomic files and extraction.

Nothing here runs unless a dataset is built with ``download=True``. A file is streamed to
``<name>.part`` (resumed with an HTTP Range request when a previous attempt left one),
verified (md5 or sha256), then renamed into place; an archive is extracted into a
temporary folder beside its destination and moved in with ``os.replace``, so an
interrupted run never leaves a half-written file or folder under its final name.

    download_and_extract_archive("https://.../cifar-10-binary.tar.gz", root,
                                 md5="c32a1d4ab5d03f1284b67883e8d87530")
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from ._base import DatasetNotFoundError

__all__ = ["DownloadError", "check_integrity", "download_and_extract_archive", "download_url",
           "extract_archive", "file_digest"]

_CHUNK = 1 << 20
_TIMEOUT = 30


class DownloadError(DatasetNotFoundError):
    """A download failed or gave a file with the wrong checksum."""


def _urlopen(request, timeout=_TIMEOUT):
    """The fetch primitive (tests monkeypatch it)."""
    return urllib.request.urlopen(request, timeout=timeout)


def file_digest(path, algorithm="md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_integrity(path, md5=None, sha256=None) -> bool:
    """True when ``path`` exists and matches the given checksum(s) (none given: exists)."""
    path = Path(path)
    if not path.is_file():
        return False
    if md5 is not None and file_digest(path, "md5") != md5:
        return False
    return not (sha256 is not None and file_digest(path, "sha256") != sha256)


def _checksum_text(md5, sha256):
    return ", ".join(f"{k} {v}" for k, v in (("md5", md5), ("sha256", sha256)) if v) or \
        "no checksum"


def _progress():
    try:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ImportError:  # pragma: no cover - rich ships with the core
        return None
    prog = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), transient=True)
    return prog


def download_url(url: str, root, filename: str | None = None, md5: str | None = None,
                 sha256: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``root/filename`` unless a verified copy is already there;
    returns the path. Errors (no network, HTTP error, checksum mismatch) raise
    :class:`DownloadError` saying where to place the file by hand."""
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    dest = root / (filename or os.path.basename(url.split("?")[0]))
    if check_integrity(dest, md5, sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    manual = (f"Without network, download {url} elsewhere and place it at {dest} "
              f"({_checksum_text(md5, sha256)}), then build the dataset again.")
    offset = part.stat().st_size if part.is_file() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "ktrain-vision"})
    if offset and url.startswith(("http://", "https://")):
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = _urlopen(req)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset and check_integrity(part, md5, sha256) \
                and (md5 or sha256):  # the partial file is already complete
            os.replace(part, dest)
            return dest
        if e.code == 416:
            part.unlink(missing_ok=True)
        raise DownloadError(f"could not download {url}: {e}. {manual}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DownloadError(f"could not download {url}: {e}. {manual}") from None
    try:
        status = getattr(resp, "status", None) or getattr(resp, "code", 200) or 200
        mode = "ab" if offset and status == 206 else "wb"
        if mode == "wb":
            offset = 0
        length = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
        total = offset + int(length) if length and length.isdigit() else None
        prog = _progress() if progress else None
        with open(part, mode) as f:
            if prog is not None:
                with prog:
                    task = prog.add_task(f"downloading {dest.name}", total=total,
                                         completed=offset)
                    for chunk in iter(lambda: resp.read(_CHUNK), b""):
                        f.write(chunk)
                        prog.update(task, advance=len(chunk))
            else:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"download of {url} was interrupted: {e}; the partial file "
                            f"{part} will be resumed next time. {manual}") from None
    finally:
        close = getattr(resp, "close", None)
        if close is not None:
            close()
    for algo, want in (("md5", md5), ("sha256", sha256)):
        if want is not None:
            got = file_digest(part, algo)
            if got != want:
                part.unlink(missing_ok=True)
                raise DownloadError(f"checksum mismatch for {url}: expected {algo} {want}, got "
                                    f"{got} (the download was deleted). {manual}")
    os.replace(part, dest)
    return dest


def _safe_members_zip(zf: zipfile.ZipFile, dest: Path):
    base = dest.resolve()
    for m in zf.namelist():
        target = (dest / m).resolve()
        if base not in target.parents and target != base:
            raise DownloadError(f"refusing to extract {m!r}: it points outside {dest}")
    return zf.namelist()


def extract_archive(from_path, to_path=None, remove_finished=False) -> Path:
    """Extract a .tar(.gz/.bz2/.xz), .zip or single-file .gz archive into ``to_path``
    (default: its folder) atomically: extracted into a temporary sibling folder, then
    each top-level entry is moved into place (existing entries are kept)."""
    from_path = Path(from_path)
    to_path = Path(to_path) if to_path is not None else from_path.parent
    to_path.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=to_path))
    try:
        name = from_path.name
        if tarfile.is_tarfile(from_path):
            with tarfile.open(from_path) as tf:
                tf.extractall(tmp, filter="data")  # 'data' refuses links/paths outside tmp
        elif zipfile.is_zipfile(from_path):
            with zipfile.ZipFile(from_path) as zf:
                zf.extractall(tmp, _safe_members_zip(zf, tmp))
        elif name.endswith(".gz"):
            with gzip.open(from_path, "rb") as src, open(tmp / name[:-3], "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            raise DownloadError(f"cannot extract {from_path}: not a tar, zip or gzip file")
        for entry in tmp.iterdir():
            final = to_path / entry.name
            if not final.exists():
                os.replace(entry, final)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise DownloadError(f"cannot extract {from_path}: {e} (the file is corrupted; delete "
                            f"it and download again)") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if remove_finished:
        from_path.unlink(missing_ok=True)
    return to_path


def download_and_extract_archive(url, download_root, extract_root=None, filename=None,
                                 md5=None, sha256=None, remove_finished=False) -> Path:
    """:func:`download_url` then :func:`extract_archive`."""
    archive = download_url(url, download_root, filename, md5, sha256)
    return extract_archive(archive, extract_root or download_root, remove_finished)
