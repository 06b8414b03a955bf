"""The op classes of conv / pool / normalization / resampling / linear live in ``ops/``
(issue 13): ``nn.functional`` keeps the public names and thin wrappers, the old private
import paths still give the same objects, the autograd node names are unchanged, and the
layout rules (no op class in a wrapper, small files, no cupy import, no ``Tensor.x =``
assignment) hold for these modules."""
import ast
import importlib
import pathlib
import re
import types

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn.functional as F
from ktrain.autograd.function import Op

CORE = pathlib.Path(kt.__file__).parent
WRAPPERS = ["nn/functional/conv.py", "nn/functional/pool.py",
            "nn/functional/normalization.py", "nn/functional/vision.py",
            "nn/functional/dropout.py", "nn/functional/linear.py"]
OPS = ["ops/conv.py", "ops/pool.py", "ops/norm.py", "ops/resample.py", "ops/linear.py"]

# old module -> (module now defining them, names still importable from the old module)
MOVED = {
    "nn.functional.conv": [("ops.conv", ["Conv", "ConvInputGrad", "ConvWeightGrad"])],
    "nn.functional.pool": [("ops.pool", ["MaxPool", "MaxPoolWithIndices", "AvgPool",
                                         "AvgScatter", "AdaptiveMaxPool", "ScatterFlat",
                                         "GatherFlat"]),
                           ("ops.resample", ["Separable"])],
    "nn.functional.vision": [("ops.resample", ["NearestGather", "Separable"])],
    "nn.functional.normalization": [("ops.norm", ["_Norm"])],
    "nn.functional.linear": [("ops.linear", ["_Linear"])],
}

# the public names of these nn.functional modules before issue 13
PUBLIC = {
    "conv": ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"],
    "pool": ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
             "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
             "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
             "adaptive_max_pool2d_with_indices", "max_unpool1d", "max_unpool2d"],
    "normalization": ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm",
                      "normalize", "local_response_norm"],
    "vision": ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
               "pixel_shuffle", "pixel_unshuffle"],
    "dropout": ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                "feature_alpha_dropout"],
    "linear": ["linear", "bilinear"],
}


def _mod(name):
    return importlib.import_module("ktrain." + name)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_private_paths_give_the_ops_objects(old):
    for new, names in MOVED[old]:
        for n in names:
            obj = getattr(_mod(new), n)
            assert getattr(_mod(old), n) is obj, (old, n)
            assert isinstance(obj, type) and issubclass(obj, Op)
            assert obj.__module__ == "ktrain." + new and obj.__qualname__ == n


@pytest.mark.parametrize("part", sorted(PUBLIC))
def test_public_functional_names_unchanged(part):
    mod = _mod("nn.functional." + part)
    assert mod.__all__ == PUBLIC[part]
    for name in mod.__all__:
        assert getattr(F, name) is getattr(mod, name), (part, name)
        assert getattr(kt.nn.functional, name).__doc__, name


def test_ops_modules_add_no_public_names():
    for path in OPS:
        mod = _mod(path[:-3].replace("/", "."))
        assert mod.__all__ == [], path
    for n in ("Conv", "MaxPool", "Separable", "_Norm", "_Linear"):
        assert n not in vars(kt) and n not in vars(kt.ops), n
    for n in ("conv", "pool", "norm", "resample"):  # ktrain.norm is the reduction
        assert not isinstance(vars(kt).get(n), types.ModuleType), n


def test_autograd_node_names_unchanged():
    x = kt.randn(2, 3, 6, 6, requires_grad=True)
    w = kt.randn(4, 3, 3, 3, requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    names = {
        "ConvBackward0": F.conv2d(x, w, padding=1),
        "ConvInputGradBackward0": F.conv_transpose2d(x, kt.randn(3, 2, 3, 3)),
        "MaxPoolBackward0": F.max_pool2d(x, 2),
        "MaxPoolWithIndicesBackward0": y,
        "AvgPoolBackward0": F.avg_pool2d(x, 2),
        "SeparableBackward0": F.adaptive_avg_pool2d(x, 4),
        "AdaptiveMaxPoolBackward0": F.adaptive_max_pool2d(x, 4),
        "ScatterFlatBackward0": F.max_unpool2d(y, idx, 2),
        "NearestGatherBackward0": F.interpolate(x, scale_factor=2),
        "_LinearBackward0": F.linear(x, kt.randn(5, 6)),
    }
    for name, t in names.items():
        assert t.grad_fn.name() == name
    # the norms reshape around the one fused op
    for t in (F.layer_norm(x, (6,)), F.batch_norm(x, None, None, training=True),
              F.group_norm(x, 3)):
        assert [f.name() for f, _ in t.grad_fn.next_functions] == ["_NormBackward0"]


def test_conv_work_buffers_come_from_the_ops_pool(monkeypatch):
    from ktrain.ops import conv as C

    taken = []
    pool = C._BufferPool(min_bytes=0)
    take = pool.take
    monkeypatch.setattr(pool, "take", lambda *a: taken.append(a[1]) or take(*a))
    monkeypatch.setattr(C, "_POOL", pool)
    x = kt.tensor(np.ones((1, 2, 5, 5), np.float32))
    y = F.conv2d(x, kt.tensor(np.ones((3, 2, 3, 3), np.float32)), padding=1)
    assert (2, 3, 3, 1, 5, 5) in taken  # the im2col buffer
    assert y.dtype == kt.float32 and float(y[0, 0, 2, 2].item()) == 18.0


@pytest.mark.parametrize("path", WRAPPERS)
def test_wrappers_define_no_op_class(path):
    mod = _mod(path[:-3].replace("/", "."))
    own = [n for n, v in vars(mod).items() if isinstance(v, type) and issubclass(v, Op)
           and v.__module__ == mod.__name__]
    assert own == [], f"{path} defines op classes {own}: they belong in ops/"


@pytest.mark.parametrize("path", WRAPPERS + OPS)
def test_files_stay_small_and_use_register_method(path):
    src = (CORE / path).read_text()
    n = len(src.splitlines())
    assert n < 550, f"{path} has {n} lines"
    assert not re.search(r"^\s*Tensor\.\w+\s*=", src, re.M), f"{path}: use register_method"


@pytest.mark.parametrize("path", WRAPPERS + OPS)
def test_no_cupy_import_outside_backend(path):
    tree = ast.parse((CORE / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("cupy") for a in node.names), path
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            assert not (node.module or "").startswith("cupy"), path
