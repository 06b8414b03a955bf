"""The op classes of loss / ctc / activation / attention / rnn / sparse live in ``ops/``
(issue 13): ``nn.functional`` keeps the public names and wrappers, the old private import
paths still give the same objects, the table-generated activation ops are real named
classes, and the scatter-add of embedding/CTC goes through ``_backend.scatter_add``."""
import ast
import importlib
import pathlib

import numpy as np
import pytest

import ktrain as kt
import ktrain.nn.functional as F
from ktrain import _backend as B
from ktrain.autograd.function import Op

CORE = pathlib.Path(kt.__file__).parent
WRAPPERS = ["nn/functional/loss.py", "nn/functional/ctc.py", "nn/functional/activation.py",
            "nn/functional/attention.py", "nn/functional/rnn.py", "nn/functional/sparse.py",
            "nn/functional/distance.py", "nn/utils/rnn.py"]
OPS = ["ops/loss.py", "ops/ctc.py", "ops/activation.py", "ops/attention.py", "ops/rnn.py",
       "ops/sparse.py"]

# old module -> private names that moved to ops/ and are still importable from it
MOVED = {
    "nn.functional.activation": ("ops.activation", [
        "_Relu", "_ReluOver", "_Hardtanh", "_LeakyRelu", "_Threshold", "_Elu", "_Gelu", "_Silu",
        "_Mish", "_Softplus", "_LogSigmoid", "_Hardsigmoid", "_Hardswish", "_Softsign",
        "_Tanhshrink", "_Softshrink", "_Hardshrink", "_Prelu"]),
    "nn.functional.loss": ("ops.loss", ["_CrossEntropy", "_Nll", "_Bce", "_BceLogits",
                                        "_SmoothL1", "_Huber"]),
    "nn.functional.ctc": ("ops.ctc", ["_Ctc", "_CtcGradMul"]),
    "nn.functional.attention": ("ops.attention", ["_Attention", "_AttentionWeights"]),
    "nn.functional.rnn": ("ops.rnn", ["_LSTMRecurrence", "_GRURecurrence", "_RNNRecurrence"]),
    "nn.functional.sparse": ("ops.sparse", ["_Gather", "_ScatterRows", "_GatherScaledGrad"]),
    "nn.utils.rnn": ("ops.rnn", ["_TakeRows", "_PutRows"]),
}


def _mod(name):
    return importlib.import_module("ktrain." + name)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_private_paths_give_the_ops_objects(old):
    new, names = MOVED[old]
    for n in names:
        obj = getattr(_mod(new), n)
        assert getattr(_mod(old), n) is obj, (old, n)
        assert isinstance(obj, type) and issubclass(obj, Op)
        assert obj.__module__ == "ktrain." + new and obj.__qualname__ == n


def test_public_functional_names_unchanged():
    for part in ("activation", "loss", "ctc", "attention", "sparse", "distance"):
        mod = _mod("nn.functional." + part)
        for name in mod.__all__:
            assert getattr(F, name) is getattr(mod, name), (part, name)
    assert _mod("nn.functional.rnn").__all__ == []
    for n in ("PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence"):
        assert getattr(_mod("nn.utils.rnn"), n) is getattr(kt.nn.utils.rnn, n)


def _module_of(path):
    return importlib.import_module("ktrain." + path[:-3].replace("/", "."))


@pytest.mark.parametrize("path", WRAPPERS)
def test_wrappers_define_no_op_class(path):
    mod = _module_of(path)
    own = [n for n, v in vars(mod).items() if isinstance(v, type) and issubclass(v, Op)
           and v.__module__ == mod.__name__]
    assert own == [], f"{path} defines op classes {own}: they belong in ops/"


@pytest.mark.parametrize("path", WRAPPERS + OPS)
def test_files_stay_small(path):
    n = len((CORE / path).read_text().splitlines())
    assert n < 550, f"{path} has {n} lines"


@pytest.mark.parametrize("path", WRAPPERS + OPS)
def test_no_cupy_import_outside_backend(path):
    src = (CORE / path).read_text()
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("cupy") for a in node.names), path
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            assert not (node.module or "").startswith("cupy"), path
        if path.startswith("ops/") and isinstance(node, ast.ImportFrom):  # ops sit below nn
            assert not (node.level >= 2 and (node.module or "").startswith("nn")), path


def test_table_generated_activation_ops():
    A = _mod("ops.activation")
    for name, row in A._POINTWISE.items():
        cls = getattr(A, name)
        assert issubclass(cls, A._Pointwise) and cls.__name__ == name
        assert cls.__doc__ == row[0]
        assert cls.save_input == (row[4] == "x") and cls.save_output == (row[4] == "y")
        assert cls.block is row[5]
    x = kt.randn(3, 4, requires_grad=True)
    assert F.relu(x).grad_fn.name() == "_ReluBackward0"
    assert F.elu(x).grad_fn.name() == "_EluBackward0"
    assert F.smooth_l1_loss(x, x.detach() * 0, reduction="none").grad_fn.name() == \
        "_SmoothL1Backward0"
    assert _mod("ops.loss")._SmoothL1.__module__ == "ktrain.ops.loss"


@pytest.mark.parametrize("name", ["elu", "softplus", "hardswish", "logsigmoid", "softshrink"])
def test_table_ops_second_order(name):
    from ktrain.autograd import gradgradcheck

    x = kt.tensor(np.array([-2.3, -0.7, 0.4, 1.9], np.float64), requires_grad=True)
    assert gradgradcheck(getattr(F, name), (x,))


def test_backend_scatter_add_accumulates_repeated_indices():
    out = np.zeros(4, np.float32)
    B.scatter_add(np, out, np.array([1, 1, 3, 1]), np.array([1.0, 2.0, 3.0, 4.0], np.float32))
    np.testing.assert_array_equal(out, [0.0, 7.0, 0.0, 3.0])
    assert out.dtype == np.float32
    rows = np.zeros((3, 2))
    B.scatter_add(np, rows, np.array([2, 0, 2]), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(rows, [[2.0, 3.0], [0.0, 0.0], [4.0, 6.0]])


def test_embedding_gradient_through_backend_scatter():
    w = kt.randn(5, 3, requires_grad=True)
    idx = kt.tensor(np.array([[0, 2, 2], [4, 2, 0]]))
    F.embedding(idx, w).sum().backward()
    counts = np.bincount(idx.numpy().reshape(-1), minlength=5).astype(np.float32)
    np.testing.assert_array_equal(w.grad.numpy(), np.repeat(counts[:, None], 3, 1))
