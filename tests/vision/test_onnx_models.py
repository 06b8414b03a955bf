"""Every vision model exports to ONNX and runs in ONNX Runtime like eager ktrain (max abs
difference <= 1e-4, at another batch size than the traced one)."""
import io

import ktrain
import numpy as np
import pytest
from ktrain_vision import models as M

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("name,kwargs,shape", [
    ("resnet20", {}, (2, 3, 16, 16)),
    ("resnet32", {"shortcut": "B"}, (2, 3, 16, 16)),
    ("resnet18", {}, (2, 3, 32, 32)),
    ("vgg11_bn", {}, (1, 3, 32, 32)),
    ("mobilenet_v2", {"width_mult": 0.35}, (2, 3, 32, 32)),
    ("lenet5", {}, (2, 1, 28, 28)),
    ("convnet", {}, (2, 3, 32, 32)),
])
def test_onnx_parity(name, kwargs, shape):
    ktrain.manual_seed(0)
    model = M.get_model(name, num_classes=7, **kwargs).eval()
    buf = io.BytesIO()
    ktrain.onnx.export(model, ktrain.randn(*shape), buf, input_names=["image"],
                       output_names=["logits"], dynamic_axes={"image": {0: "batch"}})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    x = ktrain.randn(3, *shape[1:]) * 2
    with ktrain.no_grad():
        want = model(x).numpy()
    got = sess.run(None, {"image": x.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
    g = ktrain.onnx.load(buf.getvalue())         # and back: a ktrain module again
    with ktrain.no_grad():
        back = g(x).numpy()
    assert np.abs(back - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
