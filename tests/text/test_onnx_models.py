"""The text models export to ONNX and match eager ktrain in ONNX Runtime on a padded
batch (traced on full-length rows); the packed-sequence RNN classifiers are refused."""
import io
import warnings

import ktrain
import numpy as np
import pytest
from ktrain.jit import TracerWarning, TracingError
from ktrain_text.models import GPT, bigru_classifier

from .test_jit_models import PADDED_CLASSIFIERS, _batch

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("build", PADDED_CLASSIFIERS)
def test_classifier_onnx_parity_on_padded_batches(build):
    ktrain.manual_seed(0)
    model = build().eval()
    ex = _batch([[3, 4, 5, 6], [7, 8, 9, 1]])
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        ktrain.onnx.export(model, (), buf, kwargs=ex, input_names=list(ex),
                           dynamic_axes={k: {0: "batch"} for k in ex})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    b = _batch([[1, 2, 3, 4], [5, 6], [9, 10, 11]])
    with ktrain.no_grad():
        want = model(**b).numpy()
    got = sess.run(None, {i.name: b[i.name].numpy() for i in sess.get_inputs()})[0]
    assert np.abs(got - want).max() <= 1e-4
    # and back into ktrain (ktrain.onnx.load): the same outputs
    g = ktrain.onnx.load(buf.getvalue())
    with ktrain.no_grad():
        back = g(*[b[n] for n in g.input_names]).numpy()
    assert np.abs(back - want).max() <= 1e-4


def test_gpt_forward_onnx_parity():
    ktrain.manual_seed(0)
    model = GPT(vocab_size=30, n_embd=16, n_head=2, n_layer=2, block_size=16).eval()
    buf = io.BytesIO()
    ktrain.onnx.export(model, ktrain.randint(0, 30, (2, 8)), buf, input_names=["ids"],
                       dynamic_axes={"ids": {0: "batch"}})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    ids = ktrain.randint(0, 30, (3, 8))
    with ktrain.no_grad():
        want = model(ids).numpy()
    assert np.abs(sess.run(None, {"ids": ids.numpy()})[0] - want).max() <= 1e-4


def test_packed_rnn_classifier_is_refused():
    model = bigru_classifier(30, 3, embed_dim=16, hidden_size=8).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        with pytest.raises((TracingError, ktrain.onnx.UnsupportedOperatorError)):
            ktrain.onnx.export(model, (), io.BytesIO(), kwargs=_batch([[3, 4, 5], [6, 7, 8]]))
