"""Text models: output shapes, padding that never changes a sample's output, causal
masking, seeded generation and the KV cache matching the uncached path."""
import ktrain
import numpy as np
import pytest
from ktrain_text.collate import pad_batch
from ktrain_text.models import (
    GPT,
    BagOfWords,
    TextCNN,
    TransformerClassifier,
    bigru_classifier,
    bilstm_classifier,
    sample_next,
)

CLASSIFIERS = {
    "bag_of_words": lambda: BagOfWords(30, 3, embed_dim=8, hidden=8),
    "textcnn": lambda: TextCNN(30, 3, embed_dim=16, num_filters=8),
    "bilstm": lambda: bilstm_classifier(30, 3, embed_dim=16, hidden_size=8),
    "bigru": lambda: bigru_classifier(30, 3, embed_dim=16, hidden_size=8),
    "transformer": lambda: TransformerClassifier(30, 3, d_model=16, n_head=2, n_layer=2),
    "transformer_sin": lambda: TransformerClassifier(30, 3, d_model=16, n_head=2,
                                                     positions="sinusoidal"),
}


def _batch(seqs):
    return {k: ktrain.from_numpy(v) for k, v in pad_batch(seqs).items()}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_shapes_and_padding_invariance(name):
    ktrain.manual_seed(0)
    model = CLASSIFIERS[name]().eval()
    seqs = [[3, 4, 5, 6, 7, 8, 9], [10, 11], [12]]
    with ktrain.no_grad():
        out = model(**_batch(seqs)).numpy()
        assert out.shape == (3, 3) and out.dtype == np.float32
        for i, s in enumerate(seqs):   # each alone, without any padding
            alone = model(ktrain.tensor([s])).numpy()[0]
            np.testing.assert_allclose(out[i], alone, rtol=1e-5, atol=1e-5)
        # lengths alone give the same as the mask
        b = _batch(seqs)
        by_len = model(b["input_ids"], lengths=b["lengths"]).numpy()
        np.testing.assert_allclose(by_len, out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["textcnn", "bilstm", "transformer"])
def test_classifier_trains_one_step(name):
    from ktrain.nn import functional as F

    model = CLASSIFIERS[name]()
    b = _batch([[3, 4, 5], [6]])
    loss = F.cross_entropy(model(**b), ktrain.tensor([0, 2]))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert float(model.embedding.weight.grad[0].abs().sum()) == 0.0   # padding row


def _gpt(**kw):
    ktrain.manual_seed(0)
    cfg = {"vocab_size": 17, "block_size": 12, "n_layer": 2, "n_head": 2, "n_embd": 16}
    cfg.update(kw)
    return GPT(**cfg).eval()


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_gpt_shapes_causality_and_tied_weights(positions):
    m = _gpt(positions=positions)
    x = ktrain.tensor([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]])
    with ktrain.no_grad():
        y = m(x).numpy()
        assert y.shape == (2, 5, 17)
        x2 = x.numpy().copy()
        x2[:, 3:] = 9                                 # changing the future ...
        y2 = m(ktrain.from_numpy(x2)).numpy()
    np.testing.assert_allclose(y[:, :3], y2[:, :3], rtol=1e-5, atol=1e-6)  # ... not the past
    assert not np.allclose(y[:, 3:], y2[:, 3:])
    names = [n for n, _ in m.named_parameters()]
    assert "tok_emb.weight" in names and not any(n.startswith("head") for n in names)
    with pytest.raises(ValueError, match="block_size"):
        m(ktrain.zeros(1, 13, dtype=ktrain.int64))


def test_gpt_state_dict_round_trip():
    a, b = _gpt(), _gpt(n_layer=2)
    b.load_state_dict(a.state_dict())
    x = ktrain.tensor([[1, 2, 3]])
    with ktrain.no_grad():
        np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


@pytest.mark.parametrize("kw", [{}, {"top_k": 3}, {"top_p": 0.8, "temperature": 0.7},
                                {"temperature": 0.0}])
def test_generate_seeded_and_kv_cache_equals_uncached(kw):
    m = _gpt()
    prompt = ktrain.tensor([[1, 2, 3], [4, 5, 6]])
    # 20 new tokens: past block_size (12), so the sliding window is covered as well
    a = m.generate(prompt, 20, seed=7, **kw).numpy()
    b = m.generate(prompt, 20, seed=7, **kw).numpy()
    c = m.generate(prompt, 20, seed=7, use_cache=False, **kw).numpy()
    assert a.shape == (2, 23) and (a[:, :3] == prompt.numpy()).all()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    if kw.get("temperature", 1.0) > 0:
        d = m.generate(prompt, 20, seed=8, **kw).numpy()
        assert not np.array_equal(a, d)


def test_cached_logits_equal_full_forward():
    m = _gpt()
    ids = ktrain.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    with ktrain.no_grad():
        full = m(ids).numpy()
        cache = []
        first = m(ids[:, :5], cache=cache).numpy()
        steps = [m(ids[:, i:i + 1], cache=cache).numpy() for i in range(5, 8)]
    np.testing.assert_allclose(first, full[:, :5], rtol=1e-5, atol=1e-5)
    for k, s in enumerate(steps):
        np.testing.assert_allclose(s[:, 0], full[:, 5 + k], rtol=1e-5, atol=1e-5)


def test_stream_and_callback_and_errors():
    m = _gpt()
    got = []
    out = m.generate([1, 2], 5, seed=0, callback=got.append)
    assert out.shape == (7,) and [int(g[0]) for g in got] == out.numpy()[2:].tolist()
    assert len(list(m.stream([[1]], 4, seed=0))) == 4
    limited = m.generate([1], 30, seed=0, num_tokens=3).numpy()
    assert limited[1:].max() < 3
    with pytest.raises(ValueError, match="prompt"):
        list(m.stream([[99]], 2))


def test_sample_next_filters():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 2000))
    top1 = sample_next(logits, rng, top_k=1)
    assert (top1 == 0).all()
    nucleus = sample_next(logits, rng, top_p=0.7)       # {0, 1} hold 0.8 >= 0.7
    assert set(nucleus.tolist()) == {0, 1}
    free = sample_next(logits, rng)
    assert abs((free == 0).mean() - 0.5) < 0.05 and set(free.tolist()) == {0, 1, 2, 3}
    assert (sample_next(logits[:3], rng, temperature=0) == 0).all()


@pytest.mark.gpu
@pytest.mark.skipif(not ktrain.cuda.is_available(), reason="needs CUDA (cupy)")
def test_models_on_gpu_match_cpu():
    seqs = [[3, 4, 5, 6], [7, 8]]
    for make in (CLASSIFIERS["textcnn"], CLASSIFIERS["transformer"], CLASSIFIERS["bilstm"]):
        ktrain.manual_seed(0)
        model = make().eval()
        with ktrain.no_grad():
            cpu = model(**_batch(seqs)).numpy()
            model.to("cuda")
            gpu = model(**{k: v.to("cuda") for k, v in _batch(seqs).items()}).cpu().numpy()
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4)
    m = _gpt()
    a = m.generate([[1, 2, 3]], 15, seed=0, top_k=5).numpy()
    b = m.to("cuda").generate([[1, 2, 3]], 15, seed=0, top_k=5).numpy()
    np.testing.assert_array_equal(a, b)
