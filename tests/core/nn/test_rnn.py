"""Recurrent layers (nn.RNN/LSTM/GRU and cells) and nn.utils.rnn packing: forward against
step-by-step numpy formulas, gradients against finite differences, packed vs padded
equivalence, PyTorch's parameter names and shapes, errors."""
from __future__ import annotations

import numpy as np
import pytest

import ktrain as kt
from ktrain import nn
from ktrain.autograd import gradcheck, gradgradcheck
from ktrain.nn.utils import rnn as rnn_utils

RNG = np.random.default_rng(7)


def rnd(*shape):
    return RNG.standard_normal(shape)


def leaf(arr):
    return kt.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)


def npa(t):
    return np.asarray(t.detach())


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(npa(a) if isinstance(a, kt.Tensor) else a,
                               npa(b) if isinstance(b, kt.Tensor) else b, atol=tol, rtol=tol)


# ---------------------------------------------------------------------- numpy references


def sig(x):
    return 1 / (1 + np.exp(-x))


def np_cell(mode, x, h, c, p, sfx):
    """One step of ``mode`` with the module's parameters ``p`` (numpy arrays)."""
    w_ih, w_hh = p["weight_ih" + sfx], p["weight_hh" + sfx]
    b_ih = p.get("bias_ih" + sfx, 0)
    b_hh = p.get("bias_hh" + sfx, 0)
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        if "weight_hr" + sfx in p:
            h = h @ p["weight_hr" + sfx].T
        return h, c
    if mode == "GRU":
        ir, iz, in_ = np.split(gi, 3, axis=-1)
        hr, hz, hn = np.split(gh, 3, axis=-1)
        r, z = sig(ir + hr), sig(iz + hz)
        n = np.tanh(in_ + r * hn)
        return (1 - z) * n + z * h, None
    pre = gi + gh
    return (np.maximum(pre, 0) if mode == "RNN_RELU" else np.tanh(pre)), None


def np_rnn(m, x, h0=None, c0=None):
    """Reference forward of a module on a (T, N, I) array: (output, h_n, c_n)."""
    p = {k: npa(v) for k, v in m.named_parameters()}
    dirs = 2 if m.bidirectional else 1
    t_len, n = x.shape[:2]
    ph = m.proj_size or m.hidden_size
    h0 = np.zeros((m.num_layers * dirs, n, ph)) if h0 is None else h0
    c0 = np.zeros((m.num_layers * dirs, n, m.hidden_size)) if c0 is None else c0
    hs, cs, inp = [], [], x
    for layer in range(m.num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            h, c = h0[k], c0[k]
            ys = [None] * t_len
            for t in (range(t_len - 1, -1, -1) if d else range(t_len)):
                h, c = np_cell(m.mode, inp[t], h, c, p, sfx)
                ys[t] = h
            outs.append(np.stack(ys))
            hs.append(h)
            cs.append(c)
        inp = np.concatenate(outs, -1)
    return inp, np.stack(hs), (np.stack(cs) if m.mode == "LSTM" else None)


def make(cls, *args, **kw):
    return getattr(nn, cls)(*args, **kw).double()


CONFIGS = [
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 2, "bidirectional": True}),
    ("LSTM", {"bias": False}),
    ("GRU", {"num_layers": 2, "bidirectional": True}),
    ("GRU", {"bias": False}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("RNN", {"bidirectional": True}),
]


@pytest.mark.parametrize("cls,kw", CONFIGS)
def test_forward_matches_numpy_formulas(cls, kw):
    m = make(cls, 3, 4, **kw)
    dirs = 2 if m.bidirectional else 1
    x = rnd(5, 2, 3)
    h0 = rnd(m.num_layers * dirs, 2, m.proj_size or 4)
    c0 = rnd(m.num_layers * dirs, 2, 4)
    ref_y, ref_h, ref_c = np_rnn(m, x, h0, c0)
    hx = (kt.tensor(h0), kt.tensor(c0)) if cls == "LSTM" else kt.tensor(h0)
    y, hn = m(kt.tensor(x), hx)
    close(y, ref_y)
    if cls == "LSTM":
        close(hn[0], ref_h)
        close(hn[1], ref_c)
    else:
        close(hn, ref_h)
    # default zero states and batch_first give the same numbers
    ref_y0, _, _ = np_rnn(m, x)
    m.batch_first = True
    y_bf, _ = m(kt.tensor(x.transpose(1, 0, 2).copy()))
    close(y_bf.transpose(0, 1), ref_y0)


def _weighted(outs):
    """A small scalar summary of every output (one backward per gradcheck row)."""
    rng = np.random.default_rng(0)
    return tuple((o * kt.tensor(rng.standard_normal(tuple(o.shape)))).sum() for o in outs)


@pytest.mark.parametrize("cls,kw", [
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 1, "batch_first": True}),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {"bias": False}),
    ("RNN", {"bidirectional": True}),
    ("RNN", {"nonlinearity": "relu"}),
])
def test_gradcheck_modules(cls, kw):
    m = make(cls, 2, 2, **kw)
    dirs = 2 if m.bidirectional else 1
    bf = m.batch_first
    x = leaf(rnd(2, 3, 2) if bf else rnd(3, 2, 2))
    h0 = leaf(rnd(m.num_layers * dirs, 2, m.proj_size or 2) * 0.5)
    c0 = leaf(rnd(m.num_layers * dirs, 2, 2) * 0.5)
    params = list(m.parameters())

    def f(x, h0, c0, *ps):
        y, hn = m(x, (h0, c0) if cls == "LSTM" else h0)
        return _weighted([y] + (list(hn) if cls == "LSTM" else [hn]))

    inputs = (x, h0, c0 if cls == "LSTM" else c0.detach()) + tuple(params)
    assert gradcheck(f, inputs, eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_gradcheck_packed(cls):
    m = make(cls, 2, 2, bidirectional=True)
    x = leaf(rnd(4, 3, 2))
    params = list(m.parameters())

    def f(x, *ps):
        packed = rnn_utils.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        y, hn = m(packed)
        hs = list(hn) if cls == "LSTM" else [hn]
        return _weighted([y.data] + hs)

    assert gradcheck(f, (x,) + tuple(params), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_formula_and_gradcheck(cls):
    m = make(cls, 3, 2)
    mode = {"LSTMCell": "LSTM", "GRUCell": "GRU", "RNNCell": "RNN_TANH"}[cls]
    x, h, c = leaf(rnd(4, 3)), leaf(rnd(4, 2)), leaf(rnd(4, 2))
    p = {k: npa(v) for k, v in m.named_parameters()}
    ref_h, ref_c = np_cell(mode, npa(x), npa(h), npa(c), p, "")
    out = m(x, (h, c)) if mode == "LSTM" else m(x, h)
    if mode == "LSTM":
        close(out[0], ref_h)
        close(out[1], ref_c)
    else:
        close(out, ref_h)

    def f(x, h, c, *ps):
        o = m(x, (h, c)) if mode == "LSTM" else m(x, h)
        return tuple(o) if mode == "LSTM" else o

    cc = c if mode == "LSTM" else c.detach()
    assert gradcheck(f, (x, h, cc) + tuple(m.parameters()), atol=1e-6)
    # unbatched input and default state
    one = m(x[0])
    ref = m(x[:1])
    if mode == "LSTM":
        close(one[0], ref[0][0])
    else:
        close(one, ref[0])


def test_rnn_cell_relu_and_no_bias():
    m = make("RNNCell", 3, 2, bias=False, nonlinearity="relu")
    assert m.bias_ih is None and [k for k, _ in m.named_parameters()] == ["weight_ih",
                                                                            "weight_hh"]
    x, h = rnd(4, 3), rnd(4, 2)
    ref, _ = np_cell("RNN_RELU", x, h, None, {k: npa(v) for k, v in m.named_parameters()}, "")
    close(m(kt.tensor(x), kt.tensor(h)), ref)
    assert repr(m) == "RNNCell(3, 2, bias=False, nonlinearity=relu)"


# ---------------------------------------------------------------------- packing


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_packed_equals_each_sequence_alone(cls):
    m = make(cls, 3, 4, num_layers=2, bidirectional=True)
    lengths = [3, 5, 1, 4]
    seqs = [rnd(n, 3) for n in lengths]
    packed = rnn_utils.pack_sequence([kt.tensor(s) for s in seqs], enforce_sorted=False)
    out, hn = m(packed)
    assert isinstance(out, rnn_utils.PackedSequence)
    padded, lens = rnn_utils.pad_packed_sequence(out, batch_first=True)
    assert lens.tolist() == lengths
    h_all = hn[0] if cls == "LSTM" else hn
    for j, s in enumerate(seqs):
        y1, h1 = m(kt.tensor(s[:, None, :]))
        close(padded[j, :lengths[j]], y1[:, 0], 1e-10)
        assert np.all(npa(padded[j, lengths[j]:]) == 0)
        close(h_all[:, j], (h1[0] if cls == "LSTM" else h1)[:, 0], 1e-10)
        if cls == "LSTM":
            close(hn[1][:, j], h1[1][:, 0], 1e-10)


def test_packed_with_initial_state_and_sorted_input():
    m = make("LSTM", 2, 3)
    x = rnd(4, 3, 2)
    h0, c0 = rnd(1, 3, 3), rnd(1, 3, 3)
    packed = rnn_utils.pack_padded_sequence(kt.tensor(x), kt.tensor([4, 2, 2]))
    assert packed.sorted_indices is None and packed.batch_sizes.tolist() == [3, 3, 1, 1]
    _, (h, c) = m(packed, (kt.tensor(h0), kt.tensor(c0)))
    for j, n in enumerate([4, 2, 2]):
        _, (h1, c1) = m(kt.tensor(x[:n, j:j + 1]), (kt.tensor(h0[:, j:j + 1]),
                                                    kt.tensor(c0[:, j:j + 1])))
        close(h[:, j], h1[:, 0])
        close(c[:, j], c1[:, 0])


def test_pack_pad_roundtrip_and_options():
    x = rnd(3, 4, 2)  # batch_first (B=3, T=4)
    p = rnn_utils.pack_padded_sequence(kt.tensor(x), [2, 4, 3], batch_first=True,
                                       enforce_sorted=False)
    assert p.sorted_indices.tolist() == [1, 2, 0]
    assert p.unsorted_indices.tolist() == [2, 0, 1]
    assert p.batch_sizes.tolist() == [3, 3, 2, 1]
    pad, lens = rnn_utils.pad_packed_sequence(p, batch_first=True, padding_value=-1.0,
                                              total_length=6)
    assert tuple(pad.shape) == (3, 6, 2) and lens.tolist() == [2, 4, 3]
    for j, n in enumerate([2, 4, 3]):
        close(pad[j, :n], x[j, :n])
        assert np.all(npa(pad[j, n:]) == -1)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(kt.tensor(x), [2, 4, 3], batch_first=True)
    with pytest.raises(ValueError, match="total_length"):
        rnn_utils.pad_packed_sequence(p, total_length=2)
    seqs = [kt.tensor(x[j, :n]) for j, n in enumerate([2, 4, 3])]
    for a, b in zip(rnn_utils.unpack_sequence(rnn_utils.pack_sequence(seqs, False)), seqs):
        close(a, b)


def test_pad_sequence():
    seqs = [kt.tensor(rnd(n, 2)) for n in (2, 3, 1)]
    out = rnn_utils.pad_sequence(seqs, padding_value=7.0)
    assert tuple(out.shape) == (3, 3, 2)
    close(out[:2, 0], seqs[0])
    assert np.all(npa(out[2, 0]) == 7)
    left = rnn_utils.pad_sequence(seqs, batch_first=True, padding_side="left")
    assert tuple(left.shape) == (3, 3, 2)
    close(left[0, 1:], seqs[0])
    assert np.all(npa(left[2, :2]) == 0)
    for a, b in zip(rnn_utils.unpad_sequence(left[:, [0, 0, 0]] * 0 + out.transpose(0, 1),
                                             kt.tensor([2, 3, 1]), batch_first=True), seqs):
        close(a, b)


def test_pack_gradients_flow_to_padded_input():
    x = leaf(rnd(3, 2, 2))

    def f(x):
        p = rnn_utils.pack_padded_sequence(x, [3, 1])
        return rnn_utils.pad_packed_sequence(p, padding_value=5.0)[0]

    assert gradcheck(f, (x,))
    x.grad = None
    f(x).sum().backward()
    assert np.all(npa(x.grad[1:, 1]) == 0) and np.all(npa(x.grad[:, 0]) == 1)


# ---------------------------------------------------------------------- module behaviour


def test_parameter_names_and_shapes_match_pytorch():
    m = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    expected = []
    for layer, in_size in ((0, 10), (1, 40)):
        for sfx in ("", "_reverse"):
            expected += [(f"weight_ih_l{layer}{sfx}", (80, in_size)),
                         (f"weight_hh_l{layer}{sfx}", (80, 20)),
                         (f"bias_ih_l{layer}{sfx}", (80,)), (f"bias_hh_l{layer}{sfx}", (80,))]
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == expected
    assert sum(p.numel() for p in m.parameters()) == 15040  # PyTorch's count
    p = nn.LSTM(4, 6, proj_size=3)
    assert [(k, tuple(v.shape)) for k, v in p.state_dict().items()] == [
        ("weight_ih_l0", (24, 4)), ("weight_hh_l0", (24, 3)), ("bias_ih_l0", (24,)),
        ("bias_hh_l0", (24,)), ("weight_hr_l0", (3, 6))]
    g = nn.GRU(4, 6, bias=False)
    assert [(k, tuple(v.shape)) for k, v in g.state_dict().items()] == [
        ("weight_ih_l0", (18, 4)), ("weight_hh_l0", (18, 6))]
    assert [k for k, _ in nn.LSTMCell(3, 5).named_parameters()] == [
        "weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert tuple(nn.GRUCell(3, 5).weight_hh.shape) == (15, 5)
    assert len(m.all_weights) == 4 and m.all_weights[1][0] is m.weight_ih_l0_reverse
    m.flatten_parameters()


def test_init_range_and_dtype():
    m = nn.GRU(5, 16)
    for p in m.parameters():
        assert p.dtype == kt.float32
        assert np.abs(npa(p)).max() <= 0.25 and np.abs(npa(p)).max() > 0.2
    y, h = m(kt.randn(3, 2, 5))
    assert y.dtype == kt.float32 and h.dtype == kt.float32


def test_extra_repr():
    assert repr(nn.LSTM(10, 20, num_layers=2, bidirectional=True)) == \
        "LSTM(10, 20, num_layers=2, bidirectional=True)"
    assert repr(nn.GRU(3, 4, bias=False, batch_first=True, dropout=0.5, num_layers=2)) == \
        "GRU(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5)"
    assert repr(nn.LSTM(3, 4, proj_size=2)) == "LSTM(3, 4, proj_size=2)"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"


def test_unbatched_input():
    m = make("LSTM", 3, 4, num_layers=2)
    x, h0, c0 = rnd(5, 3), rnd(2, 4), rnd(2, 4)
    y, (h, c) = m(kt.tensor(x), (kt.tensor(h0), kt.tensor(c0)))
    y1, (h1, c1) = m(kt.tensor(x[:, None]), (kt.tensor(h0[:, None]), kt.tensor(c0[:, None])))
    assert tuple(y.shape) == (5, 4) and tuple(h.shape) == (2, 4)
    close(y, y1[:, 0])
    close(c, c1[:, 0])


def test_dropout_between_layers():
    m = nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = kt.randn(4, 2, 3)
    a, _ = m(x)
    b, _ = m(x)
    assert not np.allclose(npa(a), npa(b))
    m.eval()
    c, _ = m(x)
    d, _ = m(x)
    close(c, d)
    with pytest.warns(UserWarning, match="dropout"):
        nn.LSTM(3, 4, dropout=0.2)


def test_errors():
    m = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        m(kt.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size"):
        m(kt.randn(2, 1, 3), (kt.randn(1, 2, 4), kt.randn(1, 1, 4)))
    with pytest.raises(ValueError, match="dtype"):
        m(kt.randn(2, 1, 3, dtype=kt.float64))
    with pytest.raises(ValueError, match="2D or 3D"):
        m(kt.randn(3))
    with pytest.raises(ValueError, match="proj_size"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        nn.RNN(3, 4)(kt.randn(2, 1, 3), kt.randn(2, 1, 4))


@pytest.mark.parametrize("cls,kw", [("LSTM", {"proj_size": 1}), ("GRU", {}),
                                    ("RNN", {"bidirectional": True})])
def test_double_backward(cls, kw):
    m = make(cls, 2, 2, **kw)
    x = leaf(rnd(3, 1, 2))
    w = m.weight_hh_l0

    def f(x, w):
        y, hn = m(x)
        return (y * y).sum() + (hn[0] if cls == "LSTM" else hn).sum()

    assert gradgradcheck(f, (x, w), atol=1e-6)
    # the differentiable (create_graph) backward equals the fused one
    (g1,) = kt.autograd.grad(f(x, w), x)
    (g2,) = kt.autograd.grad(f(x, w), x, create_graph=True)
    close(g1, g2)


def test_double_backward_packed_and_cells():
    m = make("LSTM", 2, 2, bidirectional=True)
    x = leaf(rnd(3, 2, 2))

    def f(x):
        y, _ = m(rnn_utils.pack_padded_sequence(x, [3, 2]))
        return (y.data ** 2).sum()

    assert gradgradcheck(f, (x,), atol=1e-6)
    cell = make("GRUCell", 2, 2)
    assert gradgradcheck(lambda x, h: cell(x, h), (leaf(rnd(2, 2)), leaf(rnd(2, 2))),
                         atol=1e-6)


def test_train_step_reduces_loss():
    kt.manual_seed(0)
    m = nn.LSTM(4, 8, batch_first=True)
    x = kt.randn(6, 5, 4)
    target = kt.randn(6, 8)
    losses = []
    for _ in range(30):
        _, (h, _) = m(x)
        loss = ((h[0] - target) ** 2).mean()
        losses.append(loss.item())
        for p in m.parameters():
            p.grad = None
        loss.backward()
        with kt.no_grad():
            for p in m.parameters():
                p -= 0.5 * p.grad
    assert losses[-1] < 0.7 * losses[0]
