"""ktrain.save / ktrain.load: safetensors files with a JSON structure, no pickle."""
import collections
import io
import json
import math
import os
import pathlib
import pickle
import struct
import warnings

import ktrain as kt
import ktrain.serialization as S
import numpy as np
import pytest
import safetensors.numpy as stnp

HAS_BF16 = kt.bfloat16.np is not None
CUDA = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not kt.cuda.is_available(),
    reason="CUDA is not available (cupy missing or no GPU visible): cuda variant skipped")])
DEVICES = ["cpu", CUDA]

DTYPES = [kt.float16, kt.float32, kt.float64, kt.int8, kt.int16, kt.int32, kt.int64, kt.uint8,
          kt.bool,
          pytest.param(kt.bfloat16, marks=pytest.mark.skipif(
              not HAS_BF16, reason="bfloat16 needs ml_dtypes, which is not installed"))]


def host(t):
    return np.asarray(t.__array__())


def same(a, b):
    """Same dtype, shape, device and values (NaN == NaN)."""
    assert isinstance(b, kt.Tensor)
    assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape) and a.device == b.device
    x, y = host(a), host(b)
    if a.is_floating_point():
        x, y = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_array_equal(x, y)


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    kt.save(obj, buf)
    buf.seek(0)
    return kt.load(buf, **kw)


def temp_files(d):
    return [p for p in os.listdir(d) if p.endswith(".tmp")]


def header_of(path):
    data = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])


def rewrite_structure(path, fn):
    """Rewrite a ktrain file's structure JSON with fn(dict) (tensors kept)."""
    header = header_of(path)
    meta = header["__metadata__"]
    root = json.loads(meta["ktrain_structure"])
    meta["ktrain_structure"] = json.dumps(fn(root))
    arrays = stnp.load_file(str(path))
    stnp.save_file(arrays, str(path), metadata=meta)


# ----------------------------------------------------------------------------- round trips


def _sample(dtype, shape):
    rng = np.random.default_rng(0)
    if dtype is kt.bool:
        return kt.tensor(rng.random(shape) > 0.5)
    if dtype.is_floating_point:
        a = rng.standard_normal(shape) * 100
        if a.size:
            a.flat[0] = np.inf
        if a.size > 1:
            a.flat[1] = np.nan
        return kt.tensor(a, dtype=dtype)
    info = np.iinfo(dtype.np)
    return kt.tensor(rng.integers(info.min, info.max, size=shape, endpoint=True,
                                  dtype=dtype.np))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(3, 5), (), (0,), (2, 0, 3), (7,)])
def test_round_trip_every_dtype_and_shape(tmp_path, dtype, shape):
    t = _sample(dtype, shape)
    path = tmp_path / "t.kt"
    kt.save(t, path)
    same(t, kt.load(path))
    same(t, roundtrip(t))


def test_non_contiguous_tensors():
    base = kt.arange(24.0).reshape(4, 6)
    obj = {"t": base.t(), "s": base[:, ::2], "r": base[1:3, 1:]}
    assert not obj["t"].is_contiguous() and not obj["s"].is_contiguous()
    back = roundtrip(obj)
    for k, v in obj.items():
        same(v, back[k])
        assert back[k].is_contiguous()


def test_nested_structure_with_plain_values(tmp_path):
    obj = {
        "model": collections.OrderedDict([("fc.weight", kt.randn(3, 2)),
                                          ("fc.bias", kt.zeros(3))]),
        "optimizer": {"state": {0: {"step": 10, "exp_avg": kt.ones(3, 2)}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                                        "amsgrad": False, "foreach": None}]},
        "epoch": 3, "big": 2 ** 80, "neg": -7, "name": "run-ü✓", "empty": {}, "none": None,
        "floats": [0.1, -0.0, math.inf, -math.inf, math.nan, 1e308],
        "tuple_keys": {(1, "a"): "x", None: 1, True: 2, 2.5: 3},
        "dtype": kt.float16, "device": kt.device("cpu"), "size": kt.Size([2, 3]),
        "bytes": b"\x00\xff", "nested": [[[]], ()], "np_scalar": np.float32(0.5),
        "np_array": np.arange(6).reshape(2, 3),
    }
    path = tmp_path / "ckpt.kt"
    kt.save(obj, str(path))
    back = kt.load(str(path))
    assert type(back["model"]) is collections.OrderedDict
    assert list(back["model"]) == ["fc.weight", "fc.bias"]
    same(obj["model"]["fc.weight"], back["model"]["fc.weight"])
    same(obj["optimizer"]["state"][0]["exp_avg"], back["optimizer"]["state"][0]["exp_avg"])
    assert back["optimizer"]["state"][0]["step"] == 10
    assert back["optimizer"]["param_groups"] == obj["optimizer"]["param_groups"]
    g = back["optimizer"]["param_groups"][0]
    assert type(g["betas"]) is tuple and type(g["lr"]) is float and g["foreach"] is None
    for k in ("epoch", "big", "neg", "name", "empty", "none", "tuple_keys", "bytes", "nested"):
        assert back[k] == obj[k] and type(back[k]) is type(obj[k]), k
    f = back["floats"]
    assert f[:4] == [0.1, -0.0, math.inf, -math.inf] and math.isnan(f[4]) and f[5] == 1e308
    assert math.copysign(1, f[1]) == -1
    assert back["dtype"] is kt.float16 and back["device"] == kt.device("cpu")
    assert type(back["size"]) is kt.Size and back["size"] == (2, 3)
    assert back["np_scalar"] == 0.5
    assert isinstance(back["np_array"], np.ndarray)
    np.testing.assert_array_equal(back["np_array"], obj["np_array"])


def test_file_like_objects_and_pathlike(tmp_path):
    t = {"a": kt.arange(5)}
    buf = io.BytesIO()
    buf.write(b"prefix")
    kt.save(t, buf)
    buf.seek(6)  # load reads from the current position, like torch.load
    same(t["a"], kt.load(buf)["a"])
    p = tmp_path / "x.safetensors"
    kt.save(t, p)  # pathlib.Path
    with open(p, "rb") as fh:
        same(t["a"], kt.load(fh)["a"])
    with open(tmp_path / "y.kt", "wb") as fh:
        kt.save(t, fh)
    same(t["a"], kt.load(os.fspath(tmp_path / "y.kt"))["a"])


def test_requires_grad_preserved_grad_not_saved():
    w = kt.randn(3, requires_grad=True)
    (w * 2).sum().backward()
    assert w.grad is not None
    y = w * 3  # non-leaf
    back = roundtrip({"w": w, "y": y, "c": kt.ones(2)})
    assert back["w"].requires_grad and back["w"].is_leaf and back["w"].grad is None
    assert back["y"].requires_grad and back["y"].is_leaf
    assert not back["c"].requires_grad
    same(w.detach(), back["w"].detach())


def test_loaded_tensors_are_writable_and_independent():
    t = kt.arange(6.0)
    back = roundtrip({"a": t, "b": t[1:4]})
    back["b"].fill_(-1.0)
    assert host(back["a"])[1] != -1.0  # views were saved as separate copies
    np.testing.assert_array_equal(host(t), np.arange(6.0))


def test_same_tensor_object_saved_once():
    t = kt.randn(4)
    back = roundtrip({"x": t, "y": [t, t]})
    assert back["x"] is back["y"][0] is back["y"][1]


def test_top_level_save_load_names_and_format(tmp_path):
    assert kt.save is S.save and kt.load is S.load
    p = tmp_path / "f.kt"
    kt.save({"w": kt.ones(2)}, p)
    meta = header_of(p)["__metadata__"]
    assert meta["format"] == "ktrain" and meta["ktrain_format_version"] == str(S.FORMAT_VERSION)


def test_ktrain_files_are_plain_safetensors_with_path_keys(tmp_path):
    sd = {"model": {"fc.weight": kt.ones(2, 2), "fc.bias": kt.zeros(2)},
          "layers": [kt.ones(1), kt.zeros(1)], "__metadata__": kt.ones(1)}
    p = tmp_path / "sd.kt"
    kt.save(sd, p)
    arrays = stnp.load_file(str(p))  # any safetensors reader works
    assert set(arrays) == {"model.fc.weight", "model.fc.bias", "layers.0", "layers.1",
                           "__metadata__#1"}
    flat = S.load_file(p)
    assert set(flat) == set(arrays)
    same(sd["model"]["fc.weight"], flat["model.fc.weight"])
    same(sd["__metadata__"], kt.load(p)["__metadata__"])


# ----------------------------------------------------------------------------- plain safetensors


def test_load_plain_safetensors_file_as_flat_dict(tmp_path):
    arrays = {"encoder.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
              "encoder.bias": np.array([1, 2], dtype=np.int64),
              "mask": np.array([True, False]), "scale": np.array(2.5, dtype=np.float16)}
    p = tmp_path / "torch_converted.safetensors"
    stnp.save_file(arrays, str(p), metadata={"format": "pt"})
    for loaded in (kt.load(p), S.load_file(p), kt.load(io.BytesIO(p.read_bytes()))):
        assert set(loaded) == set(arrays)
        for k, a in arrays.items():
            assert isinstance(loaded[k], kt.Tensor) and not loaded[k].requires_grad
            np.testing.assert_array_equal(host(loaded[k]), a)
            assert host(loaded[k]).dtype == a.dtype


def test_save_file_load_file(tmp_path):
    sd = {"a.weight": kt.randn(2, 3), "a.bias": kt.zeros(3, dtype=kt.float64),
          "steps": kt.tensor(5), "t": kt.ones(2, 3).t()}
    p = tmp_path / "sd.safetensors"
    S.save_file(sd, p, metadata={"format": "pt", "note": "hi"})
    assert header_of(p)["__metadata__"] == {"format": "pt", "note": "hi"}
    back = S.load_file(p)
    assert set(back) == set(sd)
    for k, v in sd.items():
        same(v, back[k])
    np.testing.assert_array_equal(stnp.load_file(str(p))["a.weight"], host(sd["a.weight"]))
    with pytest.raises(TypeError, match="not a Tensor"):
        S.save_file({"x": 1}, tmp_path / "bad.safetensors")
    with pytest.raises(TypeError, match="metadata"):
        S.save_file(sd, tmp_path / "bad.safetensors", metadata={"a": 1})
    assert not (tmp_path / "bad.safetensors").exists() and not temp_files(tmp_path)


def test_unsupported_dtype_in_plain_file(tmp_path):
    p = tmp_path / "u32.safetensors"
    stnp.save_file({"x": np.arange(3, dtype=np.uint32)}, str(p))
    with pytest.raises(S.SerializationError, match=r"'x'.*U32") as ei:
        kt.load(p)
    assert str(p) in str(ei.value)


@pytest.mark.skipif(HAS_BF16, reason="checks the error raised without ml_dtypes")
def test_bfloat16_file_without_ml_dtypes_is_a_clear_error(tmp_path):
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}})
    header += " " * (-len(header) % 8)
    p = tmp_path / "bf16.safetensors"
    p.write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\x80\x3f\x80\x3f")
    with pytest.raises(S.SerializationError, match="ml_dtypes") as ei:
        kt.load(p)
    assert str(p) in str(ei.value)


# ----------------------------------------------------------------------------- map_location


def _cuda_file(tmp_path):
    """A ktrain file whose structure says its tensors were saved on cuda:0."""
    p = tmp_path / "cuda.kt"
    kt.save({"w": kt.arange(3.0), "n": 1}, p)

    def to_cuda(node):
        node["map"]["w"]["device"] = "cuda:0"
        return node

    rewrite_structure(p, to_cuda)
    return p


def test_map_location_forms(tmp_path):
    p = tmp_path / "m.kt"
    w = kt.arange(4.0)
    kt.save({"w": w}, p)
    for loc in (None, "cpu", kt.device("cpu"), {"cuda:0": "cpu"}, {"cpu": "cpu"}):
        same(w, kt.load(p, map_location=loc)["w"])
    seen = []

    def fn(storage, location):
        seen.append(location)
        return storage

    same(w, kt.load(p, map_location=fn)["w"])
    assert seen == ["cpu"]
    same(w, kt.load(p, map_location=lambda s, loc: None)["w"])
    with pytest.raises(TypeError, match="callable"):
        kt.load(p, map_location=lambda s, loc: 3)


def test_map_location_for_tensors_saved_on_cuda(tmp_path):
    p = _cuda_file(tmp_path)
    back = kt.load(p, map_location={"cuda:0": "cpu"})
    assert back["w"].device == kt.device("cpu") and back["n"] == 1
    same(kt.arange(3.0), kt.load(p, map_location="cpu")["w"])
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # None falls back to the default rule
        kt.load(p, map_location=lambda s, loc: seen.append(loc))
    assert seen == ["cuda:0"]
    if not kt.cuda.is_available():
        with pytest.warns(RuntimeWarning, match="not available"):
            back = kt.load(p)
        assert back["w"].device == kt.device("cpu")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            kt.load(p, map_location="cuda:0")
    else:
        assert kt.load(p)["w"].device == kt.device("cuda", 0)


@pytest.mark.parametrize("device", DEVICES)
def test_device_round_trip(tmp_path, device):
    t = kt.arange(6.0, device=device) if device == "cpu" else kt.arange(6.0).cuda()
    p = tmp_path / "d.kt"
    kt.save({"t": t}, p)
    back = kt.load(p)["t"]
    assert back.device.type == device
    np.testing.assert_array_equal(host(back), np.arange(6.0))
    assert kt.load(p, map_location="cpu")["t"].device == kt.device("cpu")


# ----------------------------------------------------------------------------- atomicity


def test_atomic_write_failure_in_replace_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.kt"
    kt.save({"v": kt.tensor([1.0])}, p)
    old = p.read_bytes()

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        kt.save({"v": kt.tensor([2.0])}, p)
    monkeypatch.undo()
    assert p.read_bytes() == old
    assert temp_files(tmp_path) == []
    same(kt.tensor([1.0]), kt.load(p)["v"])


def test_atomic_write_failure_in_fsync_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.kt"
    kt.save([kt.ones(3)], p)
    old = p.read_bytes()

    def boom(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="fsync failed"):
        kt.save([kt.zeros(3)], p)
    monkeypatch.undo()
    assert p.read_bytes() == old and temp_files(tmp_path) == []


def test_unserialisable_object_leaves_old_file(tmp_path):
    p = tmp_path / "ckpt.kt"
    kt.save({"a": 1}, p)
    old = p.read_bytes()
    with pytest.raises(TypeError, match=r"type set at obj\['opt'\]\['x'\]"):
        kt.save({"opt": {"x": {1, 2}}, "w": kt.ones(2)}, p)
    assert p.read_bytes() == old and temp_files(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["ckpt.kt"]


def test_overwrite_replaces_content(tmp_path):
    p = tmp_path / "ckpt.kt"
    kt.save({"a": 1}, p)
    kt.save({"a": 2}, p)
    assert kt.load(p) == {"a": 2} and temp_files(tmp_path) == []


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kt.save({"a": 1}, tmp_path / "nope" / "x.kt")


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("obj, msg", [
    ({"opt": {"x": {1, 2}}}, r"type set at obj\['opt'\]\['x'\]"),
    ([1, object()], r"type object at obj\[1\]"),
    ({"f": lambda: 0}, r"type function at obj\['f'\]"),
    (collections.namedtuple("P", "a")(1), r"type P at obj$"),
    ({kt.ones(1): 1}, "dict key of type Tensor"),
    (1 + 2j, "type complex"),
])
def test_unsupported_objects_name_the_path(obj, msg):
    with pytest.raises(TypeError, match=msg):
        kt.save(obj, io.BytesIO())


def test_self_referencing_container():
    a = [1]
    a.append(a)
    with pytest.raises(TypeError, match=r"self-referencing list at obj\[1\]"):
        kt.save(a, io.BytesIO())
    shared = [kt.ones(1)]
    back = roundtrip({"x": shared, "y": shared})  # shared, not cyclic: fine
    same(back["x"][0], back["y"][0])


def test_missing_file_and_directory(tmp_path):
    p = tmp_path / "missing.kt"
    with pytest.raises(FileNotFoundError, match="missing.kt"):
        kt.load(p)
    with pytest.raises(IsADirectoryError, match="directory"):
        kt.load(tmp_path)


@pytest.mark.parametrize("cut", [0, 5, 8, 20, -1, -9])
def test_truncated_files_name_the_file(tmp_path, cut):
    p = tmp_path / "full.kt"
    kt.save({"w": kt.randn(10, 10), "b": kt.zeros(3), "step": 4}, p)
    data = p.read_bytes()
    t = tmp_path / "cut.kt"
    t.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    with pytest.raises(S.SerializationError) as ei:
        kt.load(t)
    assert str(t) in str(ei.value)


@pytest.mark.parametrize("payload", [
    os.urandom(1000), b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}",
    b"PK\x03\x04" + b"\x00" * 100,  # a zip (a PyTorch .pt file looks like this)
    struct.pack("<Q", 2) + b"[]",
])
def test_garbage_files_name_the_file(tmp_path, payload):
    p = tmp_path / "junk.bin"
    p.write_bytes(payload)
    with pytest.raises(S.SerializationError, match="junk.bin"):
        kt.load(p)
    with pytest.raises(S.SerializationError, match="BytesIO"):
        kt.load(io.BytesIO(payload))


def test_corrupt_structure_is_a_clear_error(tmp_path):
    p = tmp_path / "s.kt"
    kt.save({"w": kt.ones(2)}, p)
    rewrite_structure(p, lambda root: {"@": "tensor", "key": "nope"})
    with pytest.raises(S.SerializationError, match="'nope' is missing"):
        kt.load(p)
    rewrite_structure(p, lambda root: {"@": "exec", "code": "import os"})
    with pytest.raises(S.SerializationError, match="unknown node tag 'exec'"):
        kt.load(p)


def test_newer_format_version_rejected(tmp_path):
    p = tmp_path / "v.kt"
    kt.save({"a": 1}, p)
    meta = header_of(p)["__metadata__"]
    meta["ktrain_format_version"] = "99"
    stnp.save_file({}, str(p), metadata=meta)
    with pytest.raises(S.SerializationError, match="version '99'"):
        kt.load(p)


def test_text_mode_file_and_bad_targets(tmp_path):
    p = tmp_path / "a.kt"
    kt.save(1, p)
    with open(p, encoding="latin-1") as fh, pytest.raises(TypeError, match="text mode"):
        kt.load(fh)
    with pytest.raises(TypeError, match="file-like"):
        kt.save(1, 42)
    with pytest.raises(TypeError, match="never"):
        kt.save(1, io.BytesIO(), pickle_module=pickle)


def test_load_never_unpickles(tmp_path, monkeypatch):
    p = tmp_path / "x.kt"
    obj = {"w": kt.randn(2, 2, requires_grad=True), "meta": {"epoch": 1, "t": (1, "a")},
           "dt": kt.int64}

    def forbidden(*a, **k):
        raise AssertionError("pickle must not be used")

    for name in ("load", "loads", "Unpickler", "dump", "dumps", "Pickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    kt.save(obj, p)
    back = kt.load(p, weights_only=False)
    same(obj["w"].detach(), back["w"].detach())
    assert back["meta"] == obj["meta"] and back["dt"] is kt.int64
    stnp.save_file({"a": np.zeros(2, np.float32)}, str(tmp_path / "plain.safetensors"))
    assert set(kt.load(tmp_path / "plain.safetensors")) == {"a"}
