"""The layout of issue 13 for the index and join families: ``ops/index.py``,
``ops/indexing.py`` and ``ops/join.py`` split into files named by what they hold
(scatter_gather, index_dim, masked, sorting, subscript, join, rearrange, diagonals,
padding). Every public name from before is the same object through ``ktrain``,
``ktrain.ops``, its new module and its old module path; Tensor methods come from the new
modules through ``register_method``; the files stay small and import no cupy.
"""
from __future__ import annotations

import importlib
import pathlib
import re

import numpy as np
import pytest

import ktrain as kt
from ktrain import _backend as B
from ktrain.ops import (diagonals, index, index_dim, indexing, join, masked, padding,
                        rearrange, scatter_gather, sorting, subscript)

_OPS_DIR = pathlib.Path(kt.ops.__file__).parent

# the public op functions of each new module (the __all__ of index/indexing/join before)
_NEW_HOMES = {
    scatter_gather: "gather scatter scatter_add scatter_reduce take take_along_dim",
    index_dim: "index_select index_add index_copy index_fill",
    masked: "masked_fill masked_select masked_scatter nonzero argwhere",
    sorting: "sort argsort msort topk kthvalue mode unique unique_consecutive bincount "
             "searchsorted bucketize",
    subscript: "index_put",
    join: "cat concat concatenate stack hstack vstack dstack column_stack row_stack "
          "atleast_3d split chunk tensor_split hsplit vsplit dsplit unbind narrow select",
    rearrange: "flip fliplr flipud roll repeat_interleave tile outer ger kron meshgrid "
               "cartesian_prod",
    diagonals: "tril triu diag diagonal diag_embed trace tril_indices triu_indices block_diag",
    padding: "constant_pad_nd",
}

# the Tensor methods these files attach, by the module that now holds them
_METHODS = {
    subscript: "__getitem__ __setitem__ index_put index_put_",
    sorting: "argsort bincount bucketize kthvalue mode msort searchsorted sort topk unique "
             "unique_consecutive",
    masked: "argwhere masked_fill masked_fill_ masked_scatter masked_scatter_ masked_select "
            "nonzero",
    join: "chunk dsplit hsplit narrow select split tensor_split unbind vsplit",
    diagonals: "diag diag_embed diagonal trace tril tril_ triu triu_",
    rearrange: "flip fliplr flipud ger kron outer repeat repeat_interleave roll tile",
    scatter_gather: "gather scatter scatter_ scatter_add scatter_add_ scatter_reduce "
                    "scatter_reduce_ take take_along_dim",
    index_dim: "index_add index_add_ index_copy index_copy_ index_fill index_fill_ "
               "index_select",
}

# old module -> the names (functions and op classes) it held that moved elsewhere
_OLD_PATHS = {
    index: (_NEW_HOMES[scatter_gather] + " " + _NEW_HOMES[index_dim] + " " + _NEW_HOMES[masked]
            + " " + _NEW_HOMES[sorting] + " Gather ScatterAdd Scatter ScatterReduce PadTo "
            "IndexSelect IndexAddDim IndexCopyDim IndexFillDim MaskedFill MaskedSelect "
            "MaskedExpand MaskedScatter Sort Topk Kthvalue Mode IndexOutOfRangeError"),
    indexing: "index_put copy_into getitem setitem GetItem IndexAdd IndexPut ZeroAt CopyFrom",
    join: (_NEW_HOMES[rearrange] + " " + _NEW_HOMES[diagonals] + " pad repeat constant_pad_nd "
           "Flip Roll Tril Triu Repeat RepeatInterleave SegmentSum ConstantPadNd PadNd "
           "PadNdAdjoint Diagonal DiagEmbed"),
}

_FILES = ["_index_util.py", "scatter_gather.py", "index_dim.py", "masked.py", "sorting.py",
          "subscript.py", "join.py", "rearrange.py", "diagonals.py", "padding.py", "index.py",
          "indexing.py"]


@pytest.mark.parametrize("mod", list(_NEW_HOMES), ids=lambda m: m.__name__)
def test_public_names_live_in_their_new_module(mod):
    names = _NEW_HOMES[mod].split()
    assert sorted(mod.__all__) == sorted(names)
    for n in names:
        obj = getattr(mod, n)
        assert obj.__module__ == mod.__name__, n
        assert getattr(kt.ops, n) is obj and getattr(kt, n) is obj, n
        assert obj.__doc__, n


@pytest.mark.parametrize("old", list(_OLD_PATHS), ids=lambda m: m.__name__)
def test_old_module_paths_give_the_same_objects(old):
    for n in _OLD_PATHS[old].split():
        obj = getattr(old, n)
        home = importlib.import_module(obj.__module__)
        assert home is not old and getattr(home, n) is obj, f"{old.__name__}.{n}"
    with pytest.raises(AttributeError):
        join.no_such_name  # noqa: B018


def test_old_star_imports_give_the_same_names():
    assert index.__all__ == ["gather", "scatter", "scatter_add", "scatter_reduce",
                             "index_select", "index_add", "index_copy", "index_fill",
                             "masked_fill", "masked_select", "masked_scatter", "take",
                             "take_along_dim", "nonzero", "argwhere", "topk", "sort", "argsort",
                             "msort", "unique", "unique_consecutive", "bincount",
                             "searchsorted", "bucketize", "kthvalue", "mode"]
    assert indexing.__all__ == ["index_put"]
    from ktrain.nn import functional as F
    from ktrain.ops.join import pad as old_pad

    assert F.pad is padding.pad is old_pad


@pytest.mark.parametrize("mod", list(_METHODS), ids=lambda m: m.__name__)
def test_tensor_methods_come_from_the_new_modules(mod):
    for n in _METHODS[mod].split():
        f = vars(kt.Tensor)[n]
        assert f.__module__ == mod.__name__, n
    T = kt.Tensor
    assert T.__getitem__ is subscript.getitem and T.__setitem__ is subscript.setitem
    assert T.gather is scatter_gather.gather and T.index_select is index_dim.index_select
    assert T.sort is sorting.sort and T.split is join.split and T.tril is diagonals.tril


def test_grad_fn_names_and_copy_are_unchanged():
    x = kt.tensor([[3.0, 1.0], [2.0, 4.0]], requires_grad=True)
    assert kt.gather(x, 1, kt.tensor([[1], [0]])).grad_fn.name() == "GatherBackward0"
    assert kt.sort(x, 1).values.grad_fn.name() == "SortBackward0"
    assert x[kt.tensor([1, 0])].grad_fn.name() == "GetItemBackward0"
    assert x.flip(0).grad_fn.name() == "FlipBackward0"
    assert padding.pad(x, (1, 1)).grad_fn.name() == "ConstantPadNdBackward0"
    y = kt.zeros(2, 2)
    assert y.copy_(kt.tensor([1.0, 2.0])) is y and y.tolist() == [[1.0, 2.0], [1.0, 2.0]]


def test_segment_sum_backend_scatter_add_matches_reduceat():
    # the GPU branch of SegmentSum (repeat_interleave's adjoint) goes through
    # B.scatter_add with a (slice, index) key; numpy takes the same key
    g = np.arange(12.0, dtype=np.float32).reshape(2, 6)
    reps = np.array([2, 0, 3, 1])
    out = np.zeros((2, 4), np.float32)
    B.scatter_add(np, out, (slice(None), np.repeat(np.arange(4), reps)), g)
    want = rearrange.SegmentSum.forward(type("Ctx", (), {})(), g, 1, reps)
    np.testing.assert_array_equal(out, want)
    assert out.dtype == np.float32


@pytest.mark.parametrize("name", _FILES)
def test_files_stay_small_import_no_cupy_and_attach_methods_by_register_method(name):
    src = (_OPS_DIR / name).read_text()
    assert src.count("\n") < 550, name
    assert not re.search(r"^\s*(import|from)\s+cupy", src, re.M), name
    assert not re.search(r"^\s*Tensor\.\w+\s*=", src, re.M), name


def test_thin_modules_hold_no_code():
    for name in ("index.py", "indexing.py"):
        src = (_OPS_DIR / name).read_text()
        assert not re.search(r"^(def|class) ", src, re.M), name
