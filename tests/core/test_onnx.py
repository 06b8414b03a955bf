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
