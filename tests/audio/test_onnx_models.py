"""The audio plugin's models (the CNNs and the CTC recogniser, convolutions + BiGRU)
export to ONNX and match eager ktrain in ONNX Runtime at another batch size."""
import io

import ktrain
import numpy as np
import pytest
from ktrain_audio import models as M

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("build,shape", [
    (lambda: M.m5(5, n_channel=8), (2, 1, 8000)),
    (lambda: M.kws_cnn(5, width=4), (2, 1, 20, 30)),
    (lambda: M.kws_resnet(5, width=4, blocks=(1, 1)), (2, 1, 20, 30)),
])
def test_onnx_parity(build, shape):
    ktrain.manual_seed(0)
    model = build().eval()
    buf = io.BytesIO()
    ktrain.onnx.export(model, ktrain.randn(*shape), buf, input_names=["x"],
                       dynamic_axes={"x": {0: "batch"}})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    x = ktrain.randn(4, *shape[1:])
    with ktrain.no_grad():
        want = model(x).numpy()
    assert np.abs(sess.run(None, {"x": x.numpy()})[0] - want).max() <= 1e-4


def test_ctc_recognizer_onnx_parity():
    ktrain.manual_seed(0)
    model = M.ctc_recognizer(10, n_feats=16, hidden=8).eval()   # conv front + BiGRU
    buf = io.BytesIO()
    ktrain.onnx.export(model, ktrain.randn(2, 1, 16, 40), buf, input_names=["x"],
                       dynamic_axes={"x": {0: "batch"}})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    x = ktrain.randn(4, 1, 16, 40)
    with ktrain.no_grad():
        want = model(x).numpy()
    got = sess.run(None, {"x": x.numpy()})[0]
    assert got.shape == want.shape and np.abs(got - want).max() <= 1e-4
