"""The audio models trace (ktrain.jit), run at another batch size and round-trip through
save -> load."""
import io

import ktrain
import numpy as np
import pytest
from ktrain_audio import models as M


@pytest.mark.parametrize("build,shape", [
    (lambda: M.m5(5, n_channel=8), (2, 1, 8000)),
    (lambda: M.kws_cnn(5, width=4), (2, 1, 20, 30)),
    (lambda: M.kws_resnet(5, width=4, blocks=(1, 1)), (2, 1, 20, 30)),
    (lambda: M.ctc_recognizer(10, n_feats=16, hidden=8), (2, 1, 16, 40)),
])
def test_traced_audio_model(build, shape):
    ktrain.manual_seed(0)
    model = build().eval()
    traced = ktrain.jit.trace(model, ktrain.randn(*shape))
    x = ktrain.randn(4, *shape[1:])
    with ktrain.no_grad():
        want = model(x).numpy()
        np.testing.assert_allclose(traced(x).numpy(), want, rtol=1e-4, atol=1e-5)
        buf = io.BytesIO()
        ktrain.jit.save(traced, buf)
        buf.seek(0)
        np.testing.assert_allclose(ktrain.jit.load(buf)(x).numpy(), traced(x).numpy(), rtol=1e-5, atol=1e-6)
