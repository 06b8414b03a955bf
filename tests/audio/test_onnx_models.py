"""The audio plugin's convolutional models export to ONNX and match eager ktrain in ONNX
Runtime; the CTC recogniser (a GRU over packed frames) is refused with the node named."""
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


def test_ctc_recognizer_is_refused_clearly():
    model = M.ctc_recognizer(10, n_feats=16, hidden=8).eval()
    with pytest.raises(ktrain.onnx.UnsupportedOperatorError, match=r"node \d+ .*models.py:\d+"):
        ktrain.onnx.export(model, ktrain.randn(2, 1, 16, 40), io.BytesIO(),
                           dynamic_axes={"input0": {0: "batch"}})
