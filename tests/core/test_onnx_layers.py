"""The common nn layers through ktrain.onnx.export, each run in ONNX Runtime at another
batch size against eager ktrain; the layers not covered yet fail with a clear error."""
import io
import warnings

import numpy as np
import pytest

import ktrain
from ktrain import nn

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class _MHA(nn.Module):
    def __init__(self):
        super().__init__()
        self.m = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        out, w = self.m(x, x, x)
        return out + w.sum() * 0


class _Dec(nn.Module):
    def __init__(self):
        super().__init__()
        self.m = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)

    def forward(self, x):
        return self.m(x, x)


X4, X3, X2, XS = (2, 4, 8, 8), (2, 5, 8), (2, 8), (2, 5, 8)
LAYERS = {
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                   output_padding=1), X4),
    "Conv1d dilated": (lambda: nn.Conv1d(5, 6, 3, dilation=2, padding=2), X3),
    "Conv2d grouped": (lambda: nn.Conv2d(4, 8, 3, groups=4, stride=2), X4),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, 2, padding=1), X4),
    "AvgPool1d": (lambda: nn.AvgPool1d(2), X3),
    "MaxPool1d": (lambda: nn.MaxPool1d(2), X3),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d(3), X4),
    "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d(1), X4),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(5), X3),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), X4),
    "InstanceNorm2d": (lambda: nn.InstanceNorm2d(4, affine=True), X4),
    "LayerNorm": (lambda: nn.LayerNorm(8), X2),
    "Dropout (eval)": (lambda: nn.Dropout(0.5), X2),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), X2),
    "ELU": (lambda: nn.ELU(0.7), X2),
    "GELU tanh": (lambda: nn.GELU("tanh"), X2),
    "SiLU": (lambda: nn.SiLU(), X2),
    "Softplus": (lambda: nn.Softplus(beta=2.0), X2),
    "Hardswish": (lambda: nn.Hardswish(), X2),
    "Hardsigmoid": (lambda: nn.Hardsigmoid(), X2),
    "Mish": (lambda: nn.Mish(), X2),
    "PReLU": (lambda: nn.PReLU(4), X4),
    "Softmax": (lambda: nn.Softmax(-1), X2),
    "Upsample bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), X4),
    "Upsample nearest": (lambda: nn.Upsample(scale_factor=2), X4),
    "PixelShuffle": (lambda: nn.PixelShuffle(2), X4),
    "MultiheadAttention": (_MHA, XS),
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(8, 2, 16,
                                                                   batch_first=True), XS),
    "TransformerDecoderLayer": (_Dec, XS),
}


def _export(m, x):
    buf = io.BytesIO()
    ktrain.onnx.export(m, x, buf, dynamic_axes={"input0": {0: "batch"}})
    return ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_parity(name):
    build, shape = LAYERS[name]
    ktrain.manual_seed(0)
    m = build().eval()
    sess = _export(m, ktrain.randn(*shape))
    x = ktrain.randn(3, *shape[1:])
    with ktrain.no_grad():
        want = m(x).numpy()
    got = sess.run(None, {"input0": x.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-4


@pytest.mark.parametrize("build,x,err", [
    (lambda: nn.LSTM(8, 4, proj_size=2, batch_first=True), ktrain.randn(2, 5, 8),
     ktrain.onnx.UnsupportedOperatorError),
    (lambda: nn.EmbeddingBag(10, 3), ktrain.randint(0, 10, (2, 4)), ktrain.jit.TracingError),
])
def test_not_covered_yet_fails_clearly(build, x, err):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ktrain.jit.TracerWarning)
        with pytest.raises(err, match=r"node \d+|outside the op mechanism"):
            _export(build().eval(), x)
