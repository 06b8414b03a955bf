"""download=True: file:// URLs and a patched fetch, checksum mismatch, offline errors that
say where to place files, resumable partial files, safe extraction, no implicit download."""
import hashlib
import io
import tarfile
import urllib.error

import pytest
from ktrain_vision import datasets as D
from ktrain_vision.datasets import _download


# ----------------------------------------------------------------------------- downloads
def _targz(src_dir, out):
    with tarfile.open(out, "w:gz") as tf:
        tf.add(src_dir, arcname=src_dir.name)
    return hashlib.md5(out.read_bytes()).hexdigest()


def test_cifar_download_from_file_url(tmp_path, monkeypatch, write_cifar10_bin):
    src = tmp_path / "src"
    write_cifar10_bin(src)
    md5 = _targz(src / "cifar-10-batches-bin", tmp_path / "c10.tar.gz")
    monkeypatch.setattr(D.CIFAR10, "url", (tmp_path / "c10.tar.gz").as_uri())
    monkeypatch.setattr(D.CIFAR10, "tgz_md5", md5)
    root = tmp_path / "root"
    ds = D.CIFAR10(root, download=True)
    assert len(ds) == 20 and (root / "cifar-10-batches-bin" / "test_batch.bin").is_file()
    assert not list(root.glob(".extract-*")) and not list(root.glob("*.part"))
    # a second download=True finds the data and fetches nothing
    monkeypatch.setattr(_download, "_urlopen", lambda *a, **k: 1 / 0)
    assert len(D.CIFAR10(root, download=True)) == 20


def test_download_checksum_mismatch_and_offline(tmp_path, monkeypatch):
    (tmp_path / "blob.bin").write_bytes(b"hello")
    url = (tmp_path / "blob.bin").as_uri()
    with pytest.raises(D.DownloadError) as e:
        D.download_url(url, tmp_path / "dl", md5="0" * 32)
    msg = str(e.value)
    assert "checksum mismatch" in msg and str(tmp_path / "dl" / "blob.bin") in msg
    assert not (tmp_path / "dl" / "blob.bin").exists()
    assert not (tmp_path / "dl" / "blob.bin.part").exists()
    good = hashlib.md5(b"hello").hexdigest()
    assert D.download_url(url, tmp_path / "dl", md5=good).read_bytes() == b"hello"

    def offline(*a, **k):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(_download, "_urlopen", offline)
    with pytest.raises(D.DownloadError, match="place it at .*MNIST.raw.train-images"):
        D.MNIST(tmp_path / "m", download=True)


def test_no_implicit_download(tmp_path, monkeypatch):
    monkeypatch.setattr(_download, "_urlopen",
                        lambda *a, **k: pytest.fail("downloaded without download=True"))
    for cls in (D.MNIST, D.CIFAR10, D.CIFAR100):
        with pytest.raises(D.DatasetNotFoundError):
            cls(tmp_path)
    with pytest.raises(D.DatasetNotFoundError):
        D.SVHN(tmp_path)


def test_mnist_download_patched_fetch_and_resume(tmp_path, monkeypatch, write_mnist):
    src = tmp_path / "src"
    write_mnist(src, gz=True)
    resources = [(p.name, hashlib.md5(p.read_bytes()).hexdigest())
                 for p in sorted(src.iterdir())]
    monkeypatch.setattr(D.MNIST, "mirrors", ["https://mirror.invalid/", src.as_uri() + "/"])
    monkeypatch.setattr(D.MNIST, "resources", resources)
    real = _download._urlopen
    calls = []

    def fetch(req, timeout=30):
        calls.append(req.full_url)
        if "mirror.invalid" in req.full_url:
            raise urllib.error.URLError("no route")
        return real(req, timeout)

    monkeypatch.setattr(_download, "_urlopen", fetch)
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz.part").write_bytes(b"stale partial bytes")
    ds = D.MNIST(tmp_path / "root", download=True)
    assert len(ds) == 20 and any("mirror.invalid" in c for c in calls)
    assert not list(raw.glob("*.part"))


def test_extract_archive_refuses_path_traversal(tmp_path):
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tf:
        info = tarfile.TarInfo("../outside.txt")
        data = b"x"
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(D.DownloadError):
        D.extract_archive(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()


class _Resp:
    def __init__(self, data, status):
        self._buf, self.status = io.BytesIO(data), status
        self.headers = {"Content-Length": str(len(data))}

    def read(self, n=-1):
        return self._buf.read(n)

    def close(self):
        pass


def test_download_resumes_partial_file_with_range(tmp_path, monkeypatch):
    payload = bytes(range(256)) * 40
    md5 = hashlib.md5(payload).hexdigest()
    (tmp_path / "f.bin.part").write_bytes(payload[:1000])
    seen = []

    def fetch(req, timeout=30):
        rng = req.get_header("Range")
        seen.append(rng)
        if rng == "bytes=1000-":
            return _Resp(payload[1000:], 206)
        return _Resp(payload, 200)

    monkeypatch.setattr(_download, "_urlopen", fetch)
    out = D.download_url("https://example.invalid/f.bin", tmp_path, md5=md5, progress=False)
    assert out.read_bytes() == payload and seen == ["bytes=1000-"]
    # a server that ignores Range (200) restarts from scratch
    (tmp_path / "g.bin.part").write_bytes(b"junk")
    monkeypatch.setattr(_download, "_urlopen", lambda req, timeout=30: _Resp(payload, 200))
    assert D.download_url("https://example.invalid/g.bin", tmp_path, md5=md5).read_bytes() \
        == payload
    # 416: the partial file was complete already (crash before the rename)
    (tmp_path / "h.bin.part").write_bytes(payload)

    def full(req, timeout=30):
        raise urllib.error.HTTPError(req.full_url, 416, "Range Not Satisfiable", {}, None)

    monkeypatch.setattr(_download, "_urlopen", full)
    assert D.download_url("https://example.invalid/h.bin", tmp_path, md5=md5).read_bytes() \
        == payload


def test_emnist_zip_and_svhn_mat_downloads(tmp_path, monkeypatch, write_mnist):
    import zipfile

    import numpy as np

    src = tmp_path / "src" / "gzip"
    write_mnist(src, gz=True, prefix="emnist-digits-")
    for p in list(src.iterdir()):
        p.rename(src / p.name.replace("emnist-digits-t10k", "emnist-digits-test"))
    archive = tmp_path / "gzip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(src.iterdir()):
            zf.write(p, f"gzip/{p.name}")
    monkeypatch.setattr(D.EMNIST, "url", archive.as_uri())
    monkeypatch.setattr(D.EMNIST, "md5", hashlib.md5(archive.read_bytes()).hexdigest())
    ds = D.EMNIST(tmp_path / "root", variant="digits", split="test", download=True)
    assert len(ds) == 10 and ds.classes == [str(i) for i in range(10)]

    sio = pytest.importorskip("scipy.io")
    mat = tmp_path / "srv" / "test_32x32.mat"
    mat.parent.mkdir()
    sio.savemat(mat, {"X": np.zeros((32, 32, 3, 3), np.uint8), "y": np.ones((3, 1), np.uint8)})
    monkeypatch.setattr(D.SVHN, "base_url", mat.parent.as_uri() + "/")
    monkeypatch.setattr(D.SVHN, "split_list", {
        **D.SVHN.split_list, "test": ("test_32x32.mat", hashlib.md5(mat.read_bytes()).hexdigest())})
    assert len(D.SVHN(tmp_path / "svhn", split="test", download=True)) == 3
