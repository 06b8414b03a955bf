"""The ops/ layout of issue 13: every public name of ``ktrain`` and ``ktrain.ops`` from
before the redesign still resolves (to the same object through old and new module paths),
the unary math family comes from one table, operators are attached through
``register_method``, and the layout rules (file size, cupy only in ``_backend``) hold.

Other helpers of the redesign add their own modules' checks here.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import pathlib
import re
import types

import numpy as np
import pytest

import ktrain as kt
from ktrain import _backend as B
from ktrain.autograd.function import Op
from ktrain.ops import (_dims, _out, arith, compare, convert, cumulative, extrema, linalg,
                        piecewise, reduce, shape, softmax_family)
from ktrain.ops import math as kmath

_OPS_DIR = pathlib.Path(kt.ops.__file__).parent

# the public names of ktrain.ops, and those of ktrain beyond them, before issue 13
_OPS_NAMES = """
    abs absolute acos add addcdiv addcmul addmm all allclose amax amin aminmax any argmax
    argmin argsort argwhere arith asin atan atan2 atleast_1d atleast_2d atleast_3d baddbmm
    bincount bitwise_and bitwise_not bitwise_or bitwise_xor block_diag bmm broadcast_shapes
    broadcast_tensors broadcast_to bucketize cartesian_prod cat ceil chunk clamp clip clone
    column_stack compare concat concatenate constant_pad_nd contiguous convert cos cosh
    count_nonzero cumprod cumsum diag diag_embed diagonal div divide dot dsplit dstack
    einsum eq equal erf erfc erfinv exp exp2 expand expand_as expand_copy expm1 flatten flip
    fliplr flipud floor floor_divide fmax fmin fmod frac gather ge ger greater greater_equal
    gt hsplit hstack hypot index index_add index_copy index_fill index_put index_select
    indexing inner isclose isfinite isinf isnan isneginf isposinf join kron kthvalue le lerp
    less less_equal linalg log log10 log1p log2 log_softmax logical_and logical_not
    logical_or logical_xor logit logsumexp lt masked_fill masked_scatter masked_select math
    matmul max maximum mean median meshgrid min minimum mm mode moveaxis movedim msort mul
    multiply mv nan_to_num nanmean nanmedian nansum narrow ne neg negative nonzero norm
    not_equal outer permute pow prod reciprocal reduce relu remainder repeat_interleave
    reshape reshape_as roll round row_stack rsqrt scatter scatter_add scatter_reduce
    searchsorted select shape sigmoid sign sin sinh softmax sort spectral split sqrt square
    squeeze stack std std_mean sub subtract sum swapaxes swapdims t take take_along_dim tan
    tanh tensor_split tile topk trace transpose tril tril_indices triu triu_indices
    true_divide trunc unbind unflatten unique unique_consecutive unsqueeze var var_mean vdot
    view view_as vsplit vstack where xlogy
""".split()

_KTRAIN_ONLY_NAMES = """
    Generator Size Tensor amp annotations arange as_tensor asarray autograd bartlett_window
    bernoulli bfloat16 blackman_window bool can_cast creation cuda default_generator device
    double dtype empty empty_like enable_grad eye fft float float16 float32 float64
    from_dlpack from_numpy full full_like get_default_dtype get_num_threads get_rng_state
    half hamming_window hann_window inference_mode initial_seed int int16 int32 int64 int8
    is_floating_point is_grad_enabled is_inference_mode_enabled is_tensor istft linspace
    load logspace long manual_seed multinomial no_grad normal numel ones ones_like ops
    poisson promote_types rand rand_like randint randint_like randn randn_like random
    randperm range result_type save scalar_tensor seed serialization set_default_dtype
    set_grad_enabled set_num_threads set_rng_state short stft tensor uint8 zeros zeros_like
""".split()


def test_public_names_of_ktrain_and_ops_are_kept():
    # ``ktrain.ops.spectral`` was imported after ``from .ops import *`` ran, so ktrain lacks it
    kt_names = [n for n in _OPS_NAMES if n != "spectral"] + _KTRAIN_ONLY_NAMES
    for mod, names in ((kt.ops, _OPS_NAMES), (kt, kt_names)):
        have = {n for n in dir(mod) if not n.startswith("_")}
        assert set(names) - have == set(), mod.__name__
        for n in names:
            if n in dir(kt.ops) and not isinstance(getattr(kt.ops, n), types.ModuleType):
                assert getattr(kt, n) is getattr(kt.ops, n), n
        # what is new is only the new modules of the layout, no new functions
        extra = have - set(names)
        if mod is kt:  # the top-level names issue 13 adds (lazy torch.* aliases, printing)
            extra -= set(kt._LAZY) | {"set_printoptions"}
        assert all(isinstance(getattr(mod, n), types.ModuleType) for n in extra), extra


@pytest.mark.parametrize("old, new, names", [
    (arith, piecewise, piecewise.__all__ + ["Maximum", "Minimum", "Where", "Clamp", "Sign",
                                            "Floor", "Ceil", "Round", "Trunc", "Frac"]),
    (arith, _out, ["_result", "_make_inplace"]),
    (reduce, extrema, extrema.__all__),
    (reduce, softmax_family, softmax_family.__all__ + ["Softmax", "LogSoftmax", "Logsumexp"]),
    (reduce, cumulative, cumulative.__all__ + ["Cumsum", "Cumprod"]),
    (reduce, _dims, ["norm_dims", "keepdim_shape", "expand_back"]),
])
def test_moved_names_keep_their_old_module_path(old, new, names):
    for n in names:
        assert getattr(old, n) is getattr(new, n), f"{old.__name__}.{n}"
        if not n.startswith("_") and n in getattr(new, "__all__", ()):
            assert getattr(kt, n) is getattr(new, n), n
            assert getattr(new, n).__doc__, n


def test_tensor_methods_and_operators_point_at_the_op_functions():
    T = kt.Tensor
    assert T.__add__ is arith._add and T.__mul__ is arith._mul
    assert T.add is arith.add and T.clamp is piecewise.clamp
    assert T.max is extrema.max and T.softmax is softmax_family.softmax
    assert T.cumsum is cumulative.cumsum and T.sum is reduce.sum and T.sin is kmath.sin
    assert T.__matmul__ is linalg.matmul and T.__eq__ is compare.eq
    assert isinstance(vars(T)["T"], property) and isinstance(vars(T)["mH"], property)
    assert vars(T)["_to_dtype"].__func__ is convert.to_dtype
    assert T.__hash__ is object.__hash__
    x = kt.tensor([[1.0, -2.0], [3.0, 4.0]])
    y = x.clone()
    y += 1
    y.clamp_(max=3.0)
    assert y.tolist() == [[2.0, -1.0], [3.0, 3.0]]
    assert (x @ x.T).tolist() == [[5.0, -5.0], [-5.0, 25.0]]
    assert (-x).abs().tolist() == [[1.0, 2.0], [3.0, 4.0]] and +x is x
    assert (2 ** x)[0, 0].item() == 2.0 and (7 // x)[1, 1].item() == 1.0


def test_no_tensor_attribute_assignment_in_op_modules():
    pattern = re.compile(r"^\s*Tensor\.\w+\s*=", re.M)
    for mod in (arith, piecewise, kmath, reduce, extrema, softmax_family, cumulative, compare,
                convert, linalg, shape, importlib.import_module("ktrain.ops.einsum")):
        src = pathlib.Path(mod.__file__).read_text()
        assert not pattern.search(src), f"{mod.__name__}: use register_method"


_MINE = ["math.py", "arith.py", "piecewise.py", "_out.py", "reduce.py", "extrema.py",
         "softmax_family.py", "cumulative.py", "_dims.py", "compare.py", "convert.py",
         "linalg.py", "shape.py", "einsum.py"]


@pytest.mark.parametrize("name", _MINE)
def test_op_files_stay_small_and_import_no_cupy(name):
    src = (_OPS_DIR / name).read_text()
    assert src.count("\n") < 550, name
    assert not re.search(r"^\s*(import|from)\s+cupy", src, re.M), name


# ------------------------------------------------------------------ the unary table

@pytest.mark.parametrize("name", list(kmath._UNARY))
def test_unary_table_gives_named_ops(name):
    cls = getattr(kmath, name)
    assert isinstance(cls, type) and issubclass(cls, Op)
    assert cls.__name__ == cls.__qualname__ == name and cls.__module__ == "ktrain.ops.math"
    assert cls.save_output == (kmath._UNARY[name][1] == "y")
    x = kt.tensor([0.25, 0.5], requires_grad=True)
    y = getattr(kt, name.lower())(x)
    assert type(y.grad_fn) is cls and y.grad_fn.name() == name + "Backward0"
    assert y.dtype == kt.float32
    with kt.no_grad():
        z = getattr(kt, name.lower())(x)
    assert z.grad_fn is None and np.array_equal(z.numpy(), y.detach().numpy())
    g = kt.tensor([1.0, -2.0])
    direct = y.grad_fn._run_backward((g,))  # the engine's entry calls the derivative itself
    assert len(direct) == 1
    np.testing.assert_array_equal(direct[0].detach().numpy(),
                                  cls.backward(y.grad_fn, g).detach().numpy())
    y.sum().backward()
    assert x.grad.dtype == kt.float32


def test_relu_inplace_keeps_its_node_name_without_and_with_graph():
    x = kt.tensor([-1.0, 2.0])
    assert x.relu_() is x and x.tolist() == [0.0, 2.0]
    a = kt.tensor([-1.0, 2.0], requires_grad=True)
    b = (a * 1).relu_()
    assert b.grad_fn.name() == "ReluBackward0"
    b.sum().backward()
    assert a.grad.tolist() == [0.0, 1.0]


def test_unary_rules_differentiate_twice():
    for name in ("sin", "cos", "tanh", "sigmoid", "exp", "log", "sqrt", "erf", "atan"):
        x = kt.tensor([0.3, 0.7], dtype=kt.float64, requires_grad=True)
        assert kt.autograd.gradgradcheck(getattr(kt, name), (x,)), name


# ------------------------------------------------------------------ special functions

def test_special_function_comes_from_the_backend():
    sp = pytest.importorskip("scipy.special")
    assert B.special_function(np, "erf") is sp.erf
    assert B.special_function(np, "erfinv") is sp.erfinv
    assert B.special_function(np, "no_such_function") is None


def test_erf_without_scipy_uses_the_numpy_formulas(monkeypatch):
    x = np.linspace(-3.0, 3.0, 41)
    p = np.linspace(-0.95, 0.95, 21)
    ref_erf = np.array([math.erf(v) for v in x])
    with_sp = kt.erfinv(kt.tensor(p, dtype=kt.float64)).numpy()
    monkeypatch.setitem(B._SPECIAL, ("numpy", "erf"), None)
    monkeypatch.setitem(B._SPECIAL, ("numpy", "erfinv"), None)
    got = kt.erf(kt.tensor(x, dtype=kt.float64)).numpy()
    np.testing.assert_allclose(got, ref_erf, rtol=0, atol=1e-14)
    inv = kt.erfinv(kt.tensor(p, dtype=kt.float64)).numpy()
    np.testing.assert_allclose(np.array([math.erf(v) for v in inv]), p, rtol=0, atol=1e-13)
    if importlib.util.find_spec("scipy") is not None:  # with_sp came from scipy.special
        np.testing.assert_allclose(inv, with_sp, rtol=1e-12)
    f32 = kt.erf(kt.tensor(x, dtype=kt.float32))  # the rational float32 form, no scipy
    assert f32.dtype == kt.float32
    np.testing.assert_allclose(f32.numpy(), ref_erf, atol=2e-7)
