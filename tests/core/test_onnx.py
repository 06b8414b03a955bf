"""ktrain.onnx.export: core layers through ONNX Runtime against eager ktrain, dynamic and
static batch, and the errors for what cannot be exported."""
import io

import numpy as np
import pytest

import ktrain
from ktrain import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run(proto_bytes, feeds):
    sess = ort.InferenceSession(proto_bytes, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _export(m, x, **kw):
    buf = io.BytesIO()
    proto = ktrain.onnx.export(m, x, buf, **kw)
    return proto, buf.getvalue()


class Block(nn.Module):
    """conv (grouped, dilated, padded) + BN + ReLU6, a strided slice, pad, residual add,
    max pool (ceil mode), a 1x1 conv without bias, adaptive pool, linear, log-softmax."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU6()
        self.c2 = nn.Conv2d(8, 8, 1, bias=False)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.fc = nn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        h = self.act(self.bn(self.c1(x)))
        h = h + nn.functional.relu(self.c2(h))
        h = nn.functional.pad(h[:, :, ::2, 1:], (0, 1, 0, 0))
        h = nn.functional.adaptive_avg_pool2d(self.pool(h), 2)
        return nn.functional.log_softmax(self.fc(h.flatten(1)), -1)


def test_export_matches_eager_with_dynamic_batch():
    ktrain.manual_seed(0)
    m = Block().eval()
    with ktrain.no_grad():
        m.bn.running_mean.copy_(ktrain.randn(8) * 0.2)
        m.bn.running_var.copy_(ktrain.rand(8) + 0.5)
    proto, data = _export(m, ktrain.randn(2, 4, 12, 12), input_names=["image"],
                          output_names=["logp"],
                          dynamic_axes={"image": {0: "batch"}, "logp": {0: "batch"}})
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["image"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {t.name for t in proto.graph.initializer} >= {"c1.weight", "bn.running_mean",
                                                         "fc.bias"}
    for b in (1, 5):
        x = ktrain.randn(b, 4, 12, 12)
        with ktrain.no_grad():
            want = m(x).numpy()
        got = _run(data, {"image": x.numpy()})[0]
        assert np.abs(got - want).max() <= 1e-4


def test_static_export_fixes_the_batch(tmp_path):
    ktrain.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 3), nn.Tanh()).eval()
    path = tmp_path / "m.onnx"
    ktrain.onnx.export(m, ktrain.randn(4, 6), path)
    proto = onnx.load(str(path))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [4, 6]
    x = ktrain.randn(4, 6)
    with ktrain.no_grad():
        np.testing.assert_allclose(_run(path.read_bytes(), {"input0": x.numpy()})[0],
                                   m(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("kind,kw", [("LSTM", {"num_layers": 2, "bidirectional": True}),
                                     ("LSTM", {"bias": False}),
                                     ("GRU", {"bidirectional": True}),
                                     ("GRU", {"num_layers": 2, "bias": False}),
                                     ("RNN", {}), ("RNN", {"nonlinearity": "relu",
                                                           "bidirectional": True})])
def test_recurrent_layers_export_with_their_states(kind, kw):
    ktrain.manual_seed(0)
    m = getattr(nn, kind)(3, 4, batch_first=True, **kw).eval()
    _, data = _export(m, ktrain.randn(2, 5, 3), input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})
    x = ktrain.randn(6, 5, 3)
    with ktrain.no_grad():
        out, state = m(x)
    want = [out] + (list(state) if kind == "LSTM" else [state])
    got = _run(data, {"x": x.numpy()})
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.abs(g - w.numpy()).max() <= 1e-5


def test_unsupported_attributes_name_the_node_and_line():
    m = nn.LSTM(3, 4, proj_size=2).eval()
    with pytest.raises(ktrain.onnx.UnsupportedOperatorError,
                       match=r"node \d+ \(LSTMRecurrence, called at .*test_onnx.py:\d+\).*"
                             r"opset 17: an LSTM with proj_size"):
        _export(m, ktrain.randn(5, 2, 3))


def test_argument_errors():
    m = nn.Linear(2, 2).eval()
    with pytest.raises(NotImplementedError, match="only the batch axis 0"):
        _export(m, ktrain.randn(2, 2), dynamic_axes={"input0": {1: "feat"}})
    with pytest.raises(ValueError, match="opset_version 11"):
        _export(m, ktrain.randn(2, 2), opset_version=11)
    with pytest.raises(ValueError, match="2 output names for 1 outputs"):
        _export(m, ktrain.randn(2, 2), output_names=["a", "b"])


# ---------------------------------------------------------------------- import


def _block_model():
    ktrain.manual_seed(0)
    m = Block().eval()
    with ktrain.no_grad():
        m.bn.running_mean.copy_(ktrain.randn(8) * 0.2)
        m.bn.running_var.copy_(ktrain.rand(8) + 0.5)
    return m


def test_export_then_load_is_the_same_model_and_trains():
    m = _block_model()
    _, data = _export(m, ktrain.randn(2, 4, 12, 12), input_names=["image"],
                      dynamic_axes={"image": {0: "batch"}})
    g = ktrain.onnx.load(data)
    assert g.input_names == ["image"]
    x = ktrain.randn(5, 4, 12, 12)
    with ktrain.no_grad():
        np.testing.assert_allclose(g(x).numpy(), m(x).numpy(), rtol=1e-5, atol=1e-6)
    # parameters are the model's (running statistics are buffers), under the same names
    assert {n for n, _ in g.named_parameters()} == {n for n, _ in m.named_parameters()}
    assert "bn.running_mean" in dict(g.named_buffers())
    # gradients equal eager ktrain's, and a few SGD steps lower the loss
    y = ktrain.randint(0, 5, (5,))
    for mod in (m, g):
        mod.zero_grad()
        nn.functional.nll_loss(mod(x), y).backward()
    gp = dict(g.named_parameters())
    for n, p in m.named_parameters():
        np.testing.assert_allclose(gp[n].grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6)
    opt = ktrain.optim.SGD(g.parameters(), lr=0.1)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.nll_loss(g(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_load_a_graph_written_by_hand():
    """What another framework writes: an MLP with Gemm, Relu, MatMul, Add, Softmax."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal(6).astype(
        np.float32)
    w2, b2 = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal(3).astype(
        np.float32)
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["z"]),
             helper.make_node("Add", ["z", "b2"], ["zb"]),
             helper.make_node("Softmax", ["zb"], ["p"], axis=1)]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"),
                                                    (b2, "b2"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    g = ktrain.onnx.load(model.SerializeToString())
    x = rng.standard_normal((5, 4)).astype(np.float32)
    z = np.maximum(x @ w1.T + b1, 0) @ w2 + b2
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    with ktrain.no_grad():
        np.testing.assert_allclose(g(ktrain.from_numpy(x)).numpy(), want, rtol=1e-5)
    assert sorted(n for n, _ in g.named_parameters()) == ["b1", "b2", "w1", "w2"]


def test_load_refuses_what_it_cannot_import():
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("LRN", ["x"], ["y"], size=3, name="norm1")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match=r"node 0 \(norm1\) is a LRN op, which ktrain cannot"):
        ktrain.onnx.load(model.SerializeToString())
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        ktrain.onnx.load(b"\x08\x07garbage")
    # weights in an external file: refused (a model must not make ktrain read other paths)
    from onnx import numpy_helper

    w = numpy_helper.from_array(np.ones((3, 3), np.float32), "w")
    w.data_location = TensorProto.EXTERNAL
    w.ClearField("raw_data")
    e = w.external_data.add()
    e.key, e.value = "location", "../../etc/passwd"
    g2 = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w])
    m2 = helper.make_model(g2, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="external file|not a valid ONNX"):
        ktrain.onnx.load(m2.SerializeToString())


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_round_trip_keeps_trainable_weights(kind):
    """ONNX's LSTM/GRU/RNN nodes import through ktrain's recurrences; the weights stay
    the model's parameters (PyTorch layout, same names; a row Gather reorders the gates
    inside the graph), so gradients equal eager's."""
    ktrain.manual_seed(0)
    m = getattr(nn, kind)(3, 4, batch_first=True, bidirectional=True).eval()
    _, data = _export(m, ktrain.randn(2, 5, 3), dynamic_axes={"input0": {0: "batch"}})
    g = ktrain.onnx.load(data)
    assert {n for n, _ in g.named_parameters()} == {n for n, _ in m.named_parameters()}
    x = ktrain.randn(3, 5, 3)
    for mod in (m, g):
        mod.zero_grad()
        out = mod(x)
        (out[0] if isinstance(out, tuple) else out).pow(2).sum().backward()
    with ktrain.no_grad():
        np.testing.assert_allclose(g(x)[0].numpy(), m(x)[0].numpy(), rtol=1e-5, atol=1e-6)
    gp = dict(g.named_parameters())
    for n, p in m.named_parameters():
        np.testing.assert_allclose(gp[n].grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-6)
