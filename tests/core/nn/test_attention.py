"""Attention: F.scaled_dot_product_attention against the plain softmax formula and finite
differences (first and second order), nn.MultiheadAttention against a per-head numpy
reference, masks, and the Transformer layers (PyTorch's parameter names, gradients,
causality and padding invariance)."""
from __future__ import annotations

import numpy as np
import pytest

import ktrain as kt
from ktrain import nn
from ktrain.autograd import gradcheck, gradgradcheck
from ktrain.nn import functional as F

RNG = np.random.default_rng(11)


def rnd(*shape):
    return RNG.standard_normal(shape)


def leaf(arr):
    return kt.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)


def npa(t):
    return np.asarray(t.detach())


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(npa(a) if isinstance(a, kt.Tensor) else a,
                               npa(b) if isinstance(b, kt.Tensor) else b, atol=tol, rtol=tol)


def np_softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def np_attention(q, k, v, bias=None, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if bias is not None:
        s = s + bias
    p = np_softmax(s)
    return p @ v, p


# ---------------------------------------------------------------------- sdpa


def test_sdpa_matches_formula():
    q, k, v = rnd(2, 3, 4, 5), rnd(2, 3, 6, 5), rnd(2, 3, 6, 7)
    close(F.scaled_dot_product_attention(kt.tensor(q), kt.tensor(k), kt.tensor(v)),
          np_attention(q, k, v)[0])
    # float mask, broadcast over heads; custom scale; broadcast batch dims of key/value
    m = rnd(2, 1, 4, 6)
    close(F.scaled_dot_product_attention(kt.tensor(q), kt.tensor(k), kt.tensor(v),
                                         attn_mask=kt.tensor(m), scale=0.3),
          np_attention(q, k, v, m, 0.3)[0])
    close(F.scaled_dot_product_attention(kt.tensor(q), kt.tensor(k[:1]), kt.tensor(v[:1])),
          np_attention(q, k[:1], v[:1])[0])
    # bool mask: True takes part
    b = RNG.random((4, 6)) > 0.4
    b[:, 0] = True
    close(F.scaled_dot_product_attention(kt.tensor(q), kt.tensor(k), kt.tensor(v),
                                         attn_mask=kt.tensor(b)),
          np_attention(q, k, v, np.where(b, 0, -np.inf))[0])


def test_sdpa_causal_and_fully_masked_rows():
    q, k, v = rnd(2, 5, 4), rnd(2, 6, 4), rnd(2, 6, 3)
    causal = np.where(np.tril(np.ones((5, 6), bool)), 0, -np.inf)
    close(F.scaled_dot_product_attention(kt.tensor(q), kt.tensor(k), kt.tensor(v),
                                         is_causal=True), np_attention(q, k, v, causal)[0])
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(kt.tensor(q), kt.tensor(k), kt.tensor(v),
                                       attn_mask=kt.ones(5, 6, dtype=kt.bool), is_causal=True)
    b = np.ones((5, 6), bool)
    b[2] = False  # query 2 sees nothing: zeros (PyTorch's safe softmax), gradient zero
    qq = leaf(q)
    out = F.scaled_dot_product_attention(qq, kt.tensor(k), kt.tensor(v), attn_mask=kt.tensor(b))
    assert np.all(npa(out[:, 2]) == 0) and np.isfinite(npa(out)).all()
    out.sum().backward()
    assert np.all(npa(qq.grad[:, 2]) == 0) and np.isfinite(npa(qq.grad)).all()


def test_sdpa_gqa():
    q, k, v = rnd(2, 4, 3, 5), rnd(2, 2, 6, 5), rnd(2, 2, 6, 5)
    out = F.scaled_dot_product_attention(kt.tensor(q), kt.tensor(k), kt.tensor(v),
                                         enable_gqa=True)
    ref = np_attention(q, np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1))[0]
    close(out, ref)


@pytest.mark.parametrize("case", ["plain", "bool", "float_grad", "causal", "broadcast"])
def test_sdpa_gradcheck(case):
    q, k, v = leaf(rnd(2, 3, 4)), leaf(rnd(2, 5, 4)), leaf(rnd(2, 5, 2))
    extra, kw = (), {}
    if case == "bool":
        b = RNG.random((3, 5)) > 0.3
        b[:, 1] = True
        kw["attn_mask"] = kt.tensor(b)
    elif case == "causal":
        kw["is_causal"] = True
    elif case == "broadcast":
        k, v = leaf(rnd(1, 5, 4)), leaf(rnd(1, 5, 2))
        kw["scale"] = 0.7
    if case == "float_grad":
        extra = (leaf(rnd(1, 3, 5)),)

    def f(q, k, v, *m):
        return F.scaled_dot_product_attention(q, k, v, *(m or (kw.get("attn_mask"),)),
                                              **{a: b for a, b in kw.items()
                                                 if a != "attn_mask"})

    assert gradcheck(f, (q, k, v) + extra)


def test_sdpa_double_backward():
    q, k, v = leaf(rnd(1, 3, 2)), leaf(rnd(1, 4, 2)), leaf(rnd(1, 4, 2))
    m = leaf(rnd(3, 4))
    assert gradgradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
                         (q, k, v, m))


def test_sdpa_dropout():
    kt.manual_seed(0)
    q, k = kt.randn(4, 8, 3), kt.randn(4, 8, 3)
    v = kt.ones(4, 8, 1)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    vals = npa(out).ravel()
    assert abs(vals.mean() - 1) < 0.25  # kept weights rescaled by 1/(1-p)
    assert not np.allclose(vals, 1)
    assert out.dtype == kt.float32


# ---------------------------------------------------------------------- MultiheadAttention


def np_mha(m, q, k, v, bias=None):
    """Per-head reference for sequence-first (L, N, E) inputs: (output, per-head weights)."""
    p = {n: npa(t) for n, t in m.named_parameters()}
    e, h = m.embed_dim, m.num_heads
    d = e // h
    if "in_proj_weight" in p:
        wq, wk, wv = np.split(p["in_proj_weight"], 3)
    else:
        wq, wk, wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    bq, bk, bv = np.split(p["in_proj_bias"], 3) if "in_proj_bias" in p else (0, 0, 0)
    qp, kp, vp = q @ wq.T + bq, k @ wk.T + bk, v @ wv.T + bv
    heads = lambda x: x.reshape(x.shape[0], x.shape[1], h, d).transpose(1, 2, 0, 3)  # noqa
    out, w = np_attention(heads(qp), heads(kp), heads(vp), bias)
    out = out.transpose(2, 0, 1, 3).reshape(q.shape[0], q.shape[1], e)
    out = out @ p["out_proj.weight"].T + p.get("out_proj.bias", 0)
    return out, w


def test_mha_matches_reference_with_masks():
    m = nn.MultiheadAttention(8, 2).double()
    q, k = rnd(4, 3, 8), rnd(5, 3, 8)
    kpm = np.zeros((3, 5), bool)
    kpm[1, 3:] = True
    am = rnd(4, 5)
    out, w = m(kt.tensor(q), kt.tensor(k), kt.tensor(k), key_padding_mask=kt.tensor(kpm),
               attn_mask=kt.tensor(am), average_attn_weights=False)
    bias = am[None, None] + np.where(kpm, -np.inf, 0)[:, None, None, :]
    ref, ref_w = np_mha(m, q, k, k, bias)
    close(out, ref)
    close(w, ref_w)
    assert tuple(w.shape) == (3, 2, 4, 5)
    # bool attn_mask (True = masked) equals its float form; averaged weights
    bm = RNG.random((4, 5)) > 0.7
    bm[:, 0] = False
    o1, w1 = m(kt.tensor(q), kt.tensor(k), kt.tensor(k), attn_mask=kt.tensor(bm))
    o2, w2 = m(kt.tensor(q), kt.tensor(k), kt.tensor(k),
               attn_mask=kt.tensor(np.where(bm, -np.inf, 0.0)))
    close(o1, o2)
    close(w1, w2)
    assert tuple(w1.shape) == (3, 4, 5)
    o3, w3 = m(kt.tensor(q), kt.tensor(k), kt.tensor(k), attn_mask=kt.tensor(bm),
               need_weights=False)
    assert w3 is None
    close(o3, o1)
    # 3-D mask per (batch*head)
    am3 = rnd(6, 4, 5)
    out, _ = m(kt.tensor(q), kt.tensor(k), kt.tensor(k), attn_mask=kt.tensor(am3))
    close(out, np_mha(m, q, k, k, am3.reshape(3, 2, 4, 5))[0])


def test_key_padding_mask_makes_padded_keys_irrelevant():
    m = nn.MultiheadAttention(8, 4, batch_first=True).double()
    q, k = rnd(2, 3, 8), rnd(2, 6, 8)
    kpm = np.zeros((2, 6), bool)
    kpm[0, 4:] = True
    kpm[1, 2:] = True
    k2 = k.copy()
    k2[0, 4:] = rnd(2, 8) * 10
    k2[1, 2:] = rnd(4, 8) * 10
    a, wa = m(kt.tensor(q), kt.tensor(k), kt.tensor(k), key_padding_mask=kt.tensor(kpm))
    b, wb = m(kt.tensor(q), kt.tensor(k2), kt.tensor(k2), key_padding_mask=kt.tensor(kpm))
    close(a, b)
    close(wa, wb)
    assert np.all(npa(wa)[0, :, 4:] == 0)


def test_mha_batch_first_unbatched_and_kdim():
    m = nn.MultiheadAttention(6, 3, kdim=4, vdim=5).double()
    assert [n for n, _ in m.named_parameters()] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight",
        "out_proj.bias"]
    q, k, v = rnd(3, 2, 6), rnd(4, 2, 4), rnd(4, 2, 5)
    out, w = m(kt.tensor(q), kt.tensor(k), kt.tensor(v))
    close(out, np_mha(m, q, k, v)[0])
    # unbatched gives the batch element
    o1, w1 = m(kt.tensor(q[:, 0]), kt.tensor(k[:, 0]), kt.tensor(v[:, 0]))
    close(o1, out[:, 0])
    close(w1, w[0])
    m.batch_first = True
    ob, _ = m(kt.tensor(q.transpose(1, 0, 2)), kt.tensor(k.transpose(1, 0, 2)),
              kt.tensor(v.transpose(1, 0, 2)))
    close(ob.transpose(0, 1), out)


def test_mha_bias_kv_zero_attn_and_names():
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, bias=False)
    assert [(n, tuple(t.shape)) for n, t in m.state_dict().items()] == [
        ("in_proj_weight", (12, 4)), ("bias_k", (1, 1, 4)), ("bias_v", (1, 1, 4)),
        ("out_proj.weight", (4, 4))]
    out, w = m(kt.randn(3, 2, 4), kt.randn(5, 2, 4), kt.randn(5, 2, 4),
               key_padding_mask=kt.zeros(2, 5, dtype=kt.bool))
    assert tuple(out.shape) == (3, 2, 4) and tuple(w.shape) == (2, 3, 7)
    np.testing.assert_allclose(npa(w).sum(-1), 1, rtol=1e-5)
    m = nn.MultiheadAttention(8, 2)
    assert np.all(npa(m.in_proj_bias) == 0) and np.all(npa(m.out_proj.bias) == 0)


def test_mha_gradcheck():
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True).double()
    q, k = leaf(rnd(3, 2, 4)), leaf(rnd(2, 2, 4))
    kpm = kt.tensor(np.array([[False, False], [False, True]]))

    def f(q, k, *ps):
        out, w = m(q, k, k, key_padding_mask=kpm)
        return out, w

    assert gradcheck(f, (q, k) + tuple(m.parameters()))


def test_mha_is_causal_needs_mask():
    m = nn.MultiheadAttention(4, 2)
    x = kt.randn(3, 1, 4)
    with pytest.raises(RuntimeError, match="attn_mask"):
        m(x, x, x, is_causal=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    a, _ = m(x, x, x, attn_mask=mask, is_causal=True, need_weights=False)
    b, _ = m(x, x, x, attn_mask=mask)
    close(a, b, 1e-6)


# ---------------------------------------------------------------------- Transformer layers


def test_encoder_layer_names_match_pytorch():
    layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64)
    assert [(n, tuple(t.shape)) for n, t in layer.state_dict().items()] == [
        ("self_attn.in_proj_weight", (96, 32)), ("self_attn.in_proj_bias", (96,)),
        ("self_attn.out_proj.weight", (32, 32)), ("self_attn.out_proj.bias", (32,)),
        ("linear1.weight", (64, 32)), ("linear1.bias", (64,)), ("linear2.weight", (32, 64)),
        ("linear2.bias", (32,)), ("norm1.weight", (32,)), ("norm1.bias", (32,)),
        ("norm2.weight", (32,)), ("norm2.bias", (32,))]
    assert sum(p.numel() for p in layer.parameters()) == 8544
    dec = nn.TransformerDecoderLayer(32, 4, 64)
    names = list(dec.state_dict())
    assert names[4:8] == ["multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias",
                          "multihead_attn.out_proj.weight", "multihead_attn.out_proj.bias"]
    assert names[-2:] == ["norm3.weight", "norm3.bias"] and len(names) == 18
    t = nn.Transformer(32, 4, 2, 2, 64)
    assert sum(p.numel() for p in t.parameters()) == 42880
    assert "encoder.layers.1.linear2.bias" in t.state_dict()
    assert "decoder.norm.weight" in t.state_dict()


def test_generate_square_subsequent_mask():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == kt.float32
    np.testing.assert_array_equal(npa(m), [[0, -np.inf, -np.inf], [0, 0, -np.inf],
                                           [0, 0, 0]])


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def test_encoder_layer_matches_reference():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0).double()
    x = rnd(4, 3, 8)
    p = {n: npa(t) for n, t in layer.named_parameters()}
    sa = np_mha(layer.self_attn, x, x, x)[0]
    h = np_layer_norm(x + sa, p["norm1.weight"], p["norm1.bias"])
    ff = np.maximum(h @ p["linear1.weight"].T + p["linear1.bias"], 0) @ \
        p["linear2.weight"].T + p["linear2.bias"]
    ref = np_layer_norm(h + ff, p["norm2.weight"], p["norm2.bias"])
    close(layer(kt.tensor(x)), ref, 1e-9)


@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "activation": "gelu",
                                     "batch_first": True}])
def test_encoder_decoder_layers_gradcheck(kw):
    enc = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, **kw).double()
    dec = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, **kw).double()
    src, tgt = leaf(rnd(2, 3, 4) if kw else rnd(3, 2, 4)), leaf(rnd(2, 2, 4))
    kpm = kt.tensor(np.array([[False, False, True], [False, False, False]]))
    mask = nn.Transformer.generate_square_subsequent_mask(2).double()

    def f(src, tgt, *ps):
        mem = enc(src, src_key_padding_mask=kpm)
        return dec(tgt, mem, tgt_mask=mask, memory_key_padding_mask=kpm)

    # a representative subset of parameters keeps finite differences cheap
    params = (enc.self_attn.in_proj_weight, enc.linear1.bias, enc.norm1.weight,
              dec.self_attn.out_proj.weight, dec.multihead_attn.in_proj_bias,
              dec.linear2.weight, dec.norm3.bias)
    out = f(src, tgt)
    assert tuple(out.shape) == (2, 2, 4)

    def g(src, tgt, *ps):
        return (f(src, tgt) * kt.tensor(np.linspace(-1, 1, 16).reshape(2, 2, 4))).sum()

    assert gradcheck(g, (src, tgt) + params, atol=1e-6)


def test_encoder_causality_and_padding_invariance():
    kt.manual_seed(3)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                           batch_first=True), 2,
                                norm=nn.LayerNorm(8), enable_nested_tensor=False).double()
    assert enc.layers[0] is not enc.layers[1]
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    x = rnd(2, 5, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5).double()
    a = enc(kt.tensor(x), mask=mask)
    y = x.copy()
    y[:, 3:] = rnd(2, 2, 8)  # changing the future leaves earlier positions unchanged
    b = enc(kt.tensor(y), mask=mask)
    close(a[:, :3], b[:, :3], 1e-10)
    assert not np.allclose(npa(a[:, 3:]), npa(b[:, 3:]))
    close(enc(kt.tensor(x), mask=mask, is_causal=True), a, 1e-10)
    kpm = np.zeros((2, 5), bool)
    kpm[0, 3:] = True
    c = enc(kt.tensor(x), src_key_padding_mask=kt.tensor(kpm))
    d = enc(kt.tensor(y), src_key_padding_mask=kt.tensor(kpm))
    close(c[0, :3], d[0, :3], 1e-10)


def test_transformer_forward_and_callable_activation():
    kt.manual_seed(0)
    t = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, activation=F.gelu, batch_first=True)
    src, tgt = kt.randn(2, 5, 8), kt.randn(2, 4, 8)
    out = t(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4))
    assert tuple(out.shape) == (2, 4, 8) and out.dtype == kt.float32
    out.sum().backward()
    assert all(p.grad is not None for p in t.parameters())
    with pytest.raises(RuntimeError, match="batch number"):
        t(kt.randn(3, 5, 8), tgt)
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU())
    assert "activation" in dict(layer.named_children())


def test_sdpa_double_backward_with_masked_row_and_dtype_check():
    b = np.ones((3, 4), bool)
    b[1] = False
    mask = kt.tensor(b)
    q, k, v = leaf(rnd(3, 2)), leaf(rnd(4, 2)), leaf(rnd(4, 2))
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask),
                         (q, k, v))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(kt.randn(2, 3), kt.randn(2, 3, dtype=kt.float64),
                                       kt.randn(2, 3))
