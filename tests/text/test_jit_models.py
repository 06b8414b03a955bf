"""The text models under ktrain.jit: the padded-batch classifiers and GPT's forward trace
and round-trip; the packed-sequence RNN classifiers (their row order comes from the
lengths' values) are refused with an error that names the op and the line."""
import io
import warnings

import ktrain
import numpy as np
import pytest
from ktrain.jit import TracerWarning, TracingError
from ktrain_text.collate import pad_batch
from ktrain_text.models import (GPT, BagOfWords, TextCNN, TransformerClassifier,
                                bilstm_classifier)


def _batch(seqs):
    return {k: ktrain.from_numpy(v) for k, v in pad_batch(seqs).items()}


# the padded-batch classifiers (tests/text/test_onnx_models.py uses them too)
PADDED_CLASSIFIERS = [
    lambda: BagOfWords(30, 3, embed_dim=8, hidden=8),
    lambda: TextCNN(30, 3, embed_dim=16, num_filters=8),
    lambda: TransformerClassifier(30, 3, d_model=16, n_head=2, n_layer=2),
    lambda: TransformerClassifier(30, 3, d_model=16, n_head=2, positions="sinusoidal"),
]


@pytest.mark.parametrize("build", PADDED_CLASSIFIERS)
def test_traced_classifier(build):
    ktrain.manual_seed(0)
    model = build().eval()
    with warnings.catch_warnings():
        # the length checks read the lengths into numpy (validation only): warned
        warnings.simplefilter("ignore", TracerWarning)
        traced = ktrain.jit.trace(model, (), example_kwarg_inputs=_batch([[3, 4, 5, 6],
                                                                         [7, 8, 9, 0]]))
    # traced on full-length rows, run on padded ones: the masks must come from the inputs
    # (a comparison once bypassed the ops and was frozen as an all-true mask)
    b = _batch([[1, 2, 3, 4], [5, 6], [9, 10, 11]])
    with ktrain.no_grad():
        want = model(**b).numpy()
        np.testing.assert_allclose(traced(**b).numpy(), want, rtol=1e-4, atol=1e-5)
        buf = io.BytesIO()
        ktrain.jit.save(traced, buf)
        buf.seek(0)
        np.testing.assert_allclose(ktrain.jit.load(buf)(**b).numpy(), traced(**b).numpy(), rtol=1e-5, atol=1e-6)


def test_traced_gpt_forward():
    ktrain.manual_seed(0)
    model = GPT(vocab_size=30, n_embd=16, n_head=2, n_layer=2, block_size=16).eval()
    traced = ktrain.jit.trace(model, ktrain.randint(0, 30, (2, 8)))
    ids = ktrain.randint(0, 30, (5, 8))
    with ktrain.no_grad():
        np.testing.assert_allclose(traced(ids).numpy(), model(ids).numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_packed_rnn_classifier_is_refused_clearly():
    model = bilstm_classifier(30, 3, embed_dim=16, hidden_size=8).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        with pytest.raises(TracingError, match=r"IndexSelect .* at .*classifiers.py:\d+"):
            ktrain.jit.trace(model, (), example_kwarg_inputs=_batch([[3, 4, 5], [6, 7, 8]]))
