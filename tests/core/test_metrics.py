"""ktrain.metrics against direct numpy formulas: exact accumulation, averages, AUROC ties."""
import io
import itertools
import warnings

import ktrain as kt
import numpy as np
import pytest
from ktrain import metrics as M
from ktrain.metrics.classification import column_auroc

HAS_CUDA = kt.cuda.is_available()
C = 5


def val(t):
    return np.asarray(t.__array__(), dtype=np.float64)


def rng(seed=0):
    return np.random.default_rng(seed)


def multiclass_data(n=97, seed=0, absent=None):
    r = rng(seed)
    logits = r.standard_normal((n, C)).astype(np.float32)
    target = r.integers(0, C, n)
    if absent is not None:
        target[target == absent] = (absent + 1) % C
    return logits, target


# ----------------------------------------------------------------------------- references


def ref_stats(pred, target, n_classes):
    """Per-class tp, fp, fn, tn by one-hot comparison."""
    classes = np.arange(n_classes)
    p = pred[:, None] == classes
    t = target[:, None] == classes
    return ((p & t).sum(0), (p & ~t).sum(0), (~p & t).sum(0), (~p & ~t).sum(0))


def div(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))


def ref_scores(kind, pred, target, n_classes, average):
    tp, fp, fn, _ = ref_stats(pred, target, n_classes)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    score = {"accuracy": div(tp, tp + fn), "recall": div(tp, tp + fn),
             "precision": div(tp, tp + fp), "f1": div(2 * tp, 2 * tp + fp + fn)}[kind]
    if average in ("micro", None):
        return score
    w = (tp + fn) if average == "weighted" else ((tp + fp + fn) > 0).astype(float)
    return (w * score).sum() / w.sum()


def pairwise_auc(scores, positive):
    """P(positive scores higher) + P(tie) / 2 over all positive-negative pairs."""
    s_pos, s_neg = scores[positive][:, None], scores[~positive][None, :]
    return ((s_pos > s_neg).sum() + 0.5 * (s_pos == s_neg).sum()) / (s_pos.size * s_neg.size)


def softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


KINDS = {"accuracy": M.Accuracy, "precision": M.Precision, "recall": M.Recall,
         "f1": M.F1Score}


# ----------------------------------------------------------------------------- classification


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_multiclass_against_formulas(kind, average):
    logits, target = multiclass_data(absent=3)  # class 3 never occurs in target
    pred = logits.argmax(1)
    m = KINDS[kind](task="multiclass", num_classes=C, average=average)
    got = val(m(kt.tensor(logits), kt.tensor(target)))
    np.testing.assert_allclose(got, ref_scores(kind, pred, target, C, average), rtol=1e-6)
    # label predictions give the same as scores
    m2 = KINDS[kind](task="multiclass", num_classes=C, average=average)
    np.testing.assert_allclose(val(m2(kt.tensor(pred), kt.tensor(target))), got)


def test_micro_accuracy_is_plain_accuracy_and_macro_differs():
    logits, target = multiclass_data(n=200, seed=1)
    pred = logits.argmax(1)
    micro = M.Accuracy(task="multiclass", num_classes=C)  # torchmetrics' wrapper default
    assert micro.average == "micro"
    assert float(micro(kt.tensor(logits), kt.tensor(target))) == pytest.approx(
        (pred == target).mean())
    macro = M.Accuracy(task="multiclass", num_classes=C, average="macro")
    per_class = [(pred[target == c] == c).mean() for c in range(C)]
    assert float(macro(kt.tensor(logits), kt.tensor(target))) == pytest.approx(np.mean(per_class))


@pytest.mark.parametrize("k", [2, 3])
def test_top_k(k):
    logits, target = multiclass_data(n=150, seed=2)
    top = np.argsort(-logits, 1)[:, :k]
    hit = (top == target[:, None]).any(1)
    acc = M.Accuracy(task="multiclass", num_classes=C, top_k=k)
    assert float(acc(kt.tensor(logits), kt.tensor(target))) == pytest.approx(hit.mean())
    # each sample predicts its target when it is in the top k, else its best class
    pred = np.where(hit, target, logits.argmax(1))
    for kind in ("precision", "recall", "f1"):
        for average in ("micro", "weighted"):
            m = KINDS[kind](task="multiclass", num_classes=C, top_k=k, average=average)
            np.testing.assert_allclose(val(m(kt.tensor(logits), kt.tensor(target))),
                                       ref_scores(kind, pred, target, C, average), rtol=1e-6)
    with pytest.raises(ValueError, match="needs scores"):
        M.Accuracy(task="multiclass", num_classes=C, top_k=2).update(
            kt.tensor(target), kt.tensor(target))
    with pytest.raises(ValueError, match="top_k"):
        M.Accuracy(task="multiclass", num_classes=C, top_k=C + 1)


@pytest.mark.parametrize("ignore", [-100, 0])
@pytest.mark.parametrize("kind", list(KINDS))
def test_multiclass_ignore_index_equals_dropping_samples(ignore, kind):
    logits, target = multiclass_data(n=120, seed=3)
    target = target.copy()
    drop = rng(4).random(120) < 0.25
    target[drop] = ignore
    keep = target != ignore
    for average in ("micro", "macro"):
        m = KINDS[kind](task="multiclass", num_classes=C, average=average, ignore_index=ignore)
        ref = KINDS[kind](task="multiclass", num_classes=C, average=average)
        np.testing.assert_allclose(val(m(kt.tensor(logits), kt.tensor(target))),
                                   val(ref(kt.tensor(logits[keep]), kt.tensor(target[keep]))))
    cm = M.ConfusionMatrix(task="multiclass", num_classes=C, ignore_index=ignore)
    assert int(val(cm(kt.tensor(logits), kt.tensor(target))).sum()) == keep.sum()


def test_multiclass_extra_dimensions():
    r = rng(5)
    logits = r.standard_normal((4, C, 3, 2)).astype(np.float32)  # (N, C, H, W)
    target = r.integers(0, C, (4, 3, 2))
    acc = M.Accuracy(task="multiclass", num_classes=C)
    assert float(acc(kt.tensor(logits), kt.tensor(target))) == pytest.approx(
        (logits.argmax(1) == target).mean())


def test_binary_probabilities_logits_and_labels():
    r = rng(6)
    probs = r.random(80).astype(np.float32)
    target = r.integers(0, 2, 80)
    pred = probs > 0.3
    tp, fp = (pred & (target == 1)).sum(), (pred & (target == 0)).sum()
    fn, tn = (~pred & (target == 1)).sum(), (~pred & (target == 0)).sum()
    expect = {"accuracy": (tp + tn) / 80, "precision": tp / (tp + fp), "recall": tp / (tp + fn),
              "f1": 2 * tp / (2 * tp + fp + fn)}
    logits = np.log(probs / (1 - probs))
    for kind, cls in KINDS.items():
        for preds in (probs, logits):  # logits go through a sigmoid first
            got = float(cls(task="binary", threshold=0.3)(kt.tensor(preds), kt.tensor(target)))
            assert got == pytest.approx(expect[kind], rel=1e-6)
        labels = float(cls(task="binary")(kt.tensor(pred.astype(np.int64)), kt.tensor(target)))
        assert labels == pytest.approx(expect[kind], rel=1e-6)
    masked = target.copy()
    masked[:20] = -1
    acc = M.Accuracy(task="binary", threshold=0.3, ignore_index=-1)
    assert float(acc(kt.tensor(probs), kt.tensor(masked))) == pytest.approx(
        (pred[20:] == target[20:]).mean())
    with pytest.raises(ValueError, match="target must lie in"):
        M.Accuracy(task="binary").update(kt.tensor(probs), kt.tensor(target + 1))


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_multilabel(average):
    r = rng(7)
    L = 4
    logits = r.standard_normal((60, L)).astype(np.float32)
    target = r.integers(0, 2, (60, L))
    p, t = logits > 0, target == 1  # sigmoid(x) > 0.5  <=>  x > 0
    tp, fp = (p & t).sum(0), (p & ~t).sum(0)
    fn, tn = (~p & t).sum(0), (~p & ~t).sum(0)
    if average == "micro":
        tp, fp, fn, tn = tp.sum(), fp.sum(), fn.sum(), tn.sum()
    acc = div(tp + tn, tp + tn + fp + fn)
    f1 = div(2 * tp, 2 * tp + fp + fn)
    if average in ("macro", "weighted"):
        w = np.ones(L) if average == "macro" else (tp + fn)
        acc, f1 = (w * acc).sum() / w.sum(), (w * f1).sum() / w.sum()
    got_acc = M.Accuracy(task="multilabel", num_labels=L, average=average)(
        kt.tensor(logits), kt.tensor(target))
    got_f1 = M.F1Score(task="multilabel", num_labels=L, average=average)(
        kt.tensor(logits), kt.tensor(target))
    np.testing.assert_allclose(val(got_acc), acc, rtol=1e-6)
    np.testing.assert_allclose(val(got_f1), f1, rtol=1e-6)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix(normalize):
    logits, target = multiclass_data(n=90, seed=8, absent=2)
    pred = logits.argmax(1)
    counts = np.zeros((C, C), np.int64)
    for i in range(C):  # reference: a loop over classes, not samples
        counts[i] = np.bincount(pred[target == i], minlength=C)
    cm = M.ConfusionMatrix(task="multiclass", num_classes=C, normalize=normalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = cm(kt.tensor(logits), kt.tensor(target))
    if normalize is None:
        assert got.dtype is kt.int64
        np.testing.assert_array_equal(val(got), counts)
        return
    den = {"true": counts.sum(1, keepdims=True), "pred": counts.sum(0, keepdims=True),
           "all": counts.sum()}[normalize]
    np.testing.assert_allclose(val(got), div(counts, den), rtol=1e-6)


def test_binary_and_multilabel_confusion_matrix():
    r = rng(9)
    p, t = r.random(50), r.integers(0, 2, 50)
    got = val(M.ConfusionMatrix(task="binary")(kt.tensor(p), kt.tensor(t)))
    pred = p > 0.5
    np.testing.assert_array_equal(got, [[(~pred & (t == 0)).sum(), (pred & (t == 0)).sum()],
                                        [(~pred & (t == 1)).sum(), (pred & (t == 1)).sum()]])
    pm, tm = r.random((40, 3)), r.integers(0, 2, (40, 3))
    got = val(M.ConfusionMatrix(task="multilabel", num_labels=3)(kt.tensor(pm), kt.tensor(tm)))
    assert got.shape == (3, 2, 2)
    for j in range(3):
        pj, tj = pm[:, j] > 0.5, tm[:, j] == 1
        np.testing.assert_array_equal(got[j], [[(~pj & ~tj).sum(), (pj & ~tj).sum()],
                                               [(~pj & tj).sum(), (pj & tj).sum()]])


# ----------------------------------------------------------------------------- AUROC


@pytest.mark.parametrize("scores,target,expect", [
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),       # sklearn's doc example
    ([0.5, 0.5, 0.5, 0.9], [0, 1, 0, 1], 0.75),        # a tie between a positive and negatives
    ([0.3, 0.3, 0.3, 0.3], [0, 1, 0, 1], 0.5),         # all tied: the diagonal
    ([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], 1.0),
    ([0.4, 0.3, 0.2, 0.1], [0, 0, 1, 1], 0.0),
    ([0.2, 0.2, 0.6, 0.6, 0.9], [0, 1, 0, 1, 1], 2 / 3),
])
def test_auroc_known_cases(scores, target, expect):
    m = M.AUROC(task="binary")
    m.update(kt.tensor(scores), kt.tensor(target))
    assert float(m.compute()) == pytest.approx(expect, abs=1e-7)


def test_auroc_against_pairwise_formula_with_ties():
    r = rng(10)
    scores = np.round(r.random(400), 1)  # heavy ties
    target = r.random(400) < 0.3
    m = M.AUROC(task="binary")
    for lo, hi in [(0, 7), (7, 150), (150, 151), (151, 400)]:  # uneven batches
        m.update(kt.tensor(scores[lo:hi]), kt.tensor(target[lo:hi].astype(np.int64)))
    assert float(m.compute()) == pytest.approx(pairwise_auc(scores, target), abs=1e-7)
    logits = np.log(scores + 0.05) * 3  # any increasing map gives the same area
    m2 = M.AUROC(task="binary")
    assert float(m2(kt.tensor(logits), kt.tensor(target.astype(np.int64)))) == \
        pytest.approx(pairwise_auc(scores, target), abs=1e-7)


@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_auroc_multiclass_one_vs_rest(average):
    logits, target = multiclass_data(n=120, seed=11)
    logits = np.round(logits, 1)
    probs = softmax(logits.astype(np.float64))
    per_class = np.array([pairwise_auc(probs[:, c], target == c) for c in range(C)])
    support = np.bincount(target, minlength=C)
    expect = {"macro": per_class.mean(), "weighted": (per_class * support).sum() / support.sum(),
              None: per_class}[average]
    m = M.AUROC(task="multiclass", num_classes=C, average=average)
    np.testing.assert_allclose(val(m(kt.tensor(logits), kt.tensor(target))), expect, atol=1e-6)


def test_auroc_multilabel_and_ignore_index():
    r = rng(12)
    scores = np.round(r.random((80, 3)), 1)
    target = r.integers(0, 2, (80, 3))
    target[r.random((80, 3)) < 0.2] = -1
    m = M.AUROC(task="multilabel", num_labels=3, average=None, ignore_index=-1)
    expect = [pairwise_auc(scores[target[:, j] >= 0, j], target[target[:, j] >= 0, j] == 1)
              for j in range(3)]
    np.testing.assert_allclose(val(m(kt.tensor(scores), kt.tensor(target))), expect, atol=1e-7)
    micro = M.AUROC(task="multilabel", num_labels=3, average="micro", ignore_index=-1)
    keep = target >= 0
    assert float(micro(kt.tensor(scores), kt.tensor(target))) == pytest.approx(
        pairwise_auc(scores[keep], target[keep] == 1), abs=1e-7)
    b = M.AUROC(task="binary", ignore_index=-1)
    assert float(b(kt.tensor(scores[:, 0]), kt.tensor(target[:, 0]))) == pytest.approx(
        expect[0], abs=1e-7)


def test_auroc_without_positives_is_zero_with_warning():
    m = M.AUROC(task="binary")
    m.update(kt.tensor([0.1, 0.9]), kt.tensor([0, 0]))
    with pytest.warns(UserWarning, match="no positive or no negative"):
        assert float(m.compute()) == 0.0
    auc, _, _ = column_auroc(np.zeros((0, 2)), np.zeros((0, 2), bool))
    assert auc.tolist() == [0.0, 0.0]


# ----------------------------------------------------------------------------- regression, text


def test_regression_metrics():
    r = rng(13)
    a, b = r.standard_normal(101).astype(np.float32), r.standard_normal(101).astype(np.float32)
    d = a.astype(np.float64) - b
    assert float(M.MeanSquaredError()(kt.tensor(a), kt.tensor(b))) == pytest.approx(
        (d ** 2).mean(), rel=1e-6)
    assert float(M.MeanSquaredError(squared=False)(kt.tensor(a), kt.tensor(b))) == \
        pytest.approx(np.sqrt((d ** 2).mean()), rel=1e-6)
    assert float(M.MeanAbsoluteError()(kt.tensor(a), kt.tensor(b))) == pytest.approx(
        np.abs(d).mean(), rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        M.MeanSquaredError().update(kt.tensor(a), kt.tensor(b[:5]))


@pytest.mark.parametrize("ignore", [None, -100])
def test_perplexity(ignore):
    r = rng(14)
    logits = (r.standard_normal((3, 7, 11)) * 3).astype(np.float32)
    target = r.integers(0, 11, (3, 7))
    if ignore is not None:
        target[0, :4] = ignore
    x = logits.astype(np.float64).reshape(-1, 11)
    logp = x - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) - \
        x.max(1, keepdims=True)
    t = target.reshape(-1)
    keep = t != ignore if ignore is not None else np.ones_like(t, bool)
    expect = np.exp(-logp[keep.nonzero()[0], t[keep]].mean())
    m = M.Perplexity(ignore_index=ignore)
    assert float(m(kt.tensor(logits), kt.tensor(target))) == pytest.approx(expect, rel=1e-5)


# ----------------------------------------------------------------------------- accumulation


FACTORIES = {
    "acc_micro": lambda: M.Accuracy(task="multiclass", num_classes=C),
    "acc_macro_top2": lambda: M.Accuracy(task="multiclass", num_classes=C, average="macro",
                                         top_k=2),
    "f1_weighted_ignore": lambda: M.F1Score(task="multiclass", num_classes=C,
                                            average="weighted", ignore_index=1),
    "precision_macro": lambda: M.Precision(task="multiclass", num_classes=C, average="macro"),
    "recall_none": lambda: M.Recall(task="multiclass", num_classes=C, average=None),
    "confmat_true": lambda: M.ConfusionMatrix(task="multiclass", num_classes=C,
                                              normalize="true"),
    "auroc_macro": lambda: M.AUROC(task="multiclass", num_classes=C),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_uneven_batches_equal_one_shot(name):
    logits, target = multiclass_data(n=103, seed=15)
    one = FACTORIES[name]()
    one.update(kt.tensor(logits), kt.tensor(target))
    expect = val(one.compute())
    m = FACTORIES[name]()
    cuts = [0, 1, 2, 40, 41, 90, 103]
    batch_values = []
    for lo, hi in itertools.pairwise(cuts):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch_values.append(val(m(kt.tensor(logits[lo:hi]), kt.tensor(target[lo:hi]))))
    np.testing.assert_allclose(val(m.compute()), expect, rtol=1e-12, atol=1e-12)
    # forward returned each batch's own value
    single = FACTORIES[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single.update(kt.tensor(logits[40:41]), kt.tensor(target[40:41]))
        np.testing.assert_allclose(batch_values[3], val(single.compute()))
    m.reset()
    m.update(kt.tensor(logits[:50]), kt.tensor(target[:50]))
    ref = FACTORIES[name]()
    ref.update(kt.tensor(logits[:50]), kt.tensor(target[:50]))
    np.testing.assert_allclose(val(m.compute()), val(ref.compute()))


def test_regression_and_perplexity_accumulate_exactly():
    r = rng(16)
    a, b = r.standard_normal(77), r.standard_normal(77)
    logits, tokens = r.standard_normal((77, 9)), r.integers(0, 9, 77)
    for factory, x, y in [(M.MeanSquaredError, a, b), (lambda: M.MeanSquaredError(False), a, b),
                          (M.MeanAbsoluteError, a, b), (M.Perplexity, logits, tokens)]:
        one, many = factory(), factory()
        one.update(kt.tensor(x), kt.tensor(y))
        for lo, hi in [(0, 3), (3, 60), (60, 77)]:
            many.update(kt.tensor(x[lo:hi]), kt.tensor(y[lo:hi]))
        assert float(many.compute()) == pytest.approx(float(one.compute()), rel=1e-12)


def test_compute_is_cached_and_warns_before_update():
    m = M.Accuracy(task="binary")
    with pytest.warns(UserWarning, match="before the ``update``"):
        m.compute()
    m.update(kt.tensor([1, 0]), kt.tensor([1, 1]))
    first = m.compute()
    assert m.compute() is first
    m.update(kt.tensor([1]), kt.tensor([1]))
    assert float(m.compute()) == pytest.approx(2 / 3)


def test_bad_batch_keeps_accumulated_state():
    m = M.Accuracy(task="multiclass", num_classes=3)
    m(kt.tensor([0, 1]), kt.tensor([0, 1]))
    with pytest.raises(ValueError, match="target must lie in"):
        m(kt.tensor([0, 1]), kt.tensor([0, 7]))
    assert float(m.compute()) == 1.0 and m._update_count == 1


def test_state_dict_round_trip():
    logits, target = multiclass_data(n=60, seed=17)
    for factory in (FACTORIES["acc_macro_top2"], FACTORIES["auroc_macro"]):
        m = factory()
        m.update(kt.tensor(logits[:30]), kt.tensor(target[:30]))
        buf = io.BytesIO()
        kt.save(m.state_dict(), buf)
        buf.seek(0)
        restored = factory()
        restored.load_state_dict(kt.load(buf))
        for x in (m, restored):
            x.update(kt.tensor(logits[30:]), kt.tensor(target[30:]))
        np.testing.assert_allclose(val(restored.compute()), val(m.compute()))


def test_inputs_may_be_arrays_lists_and_grad_tensors():
    logits, target = multiclass_data(n=20, seed=18)
    ref = float(M.Accuracy(task="multiclass", num_classes=C)(kt.tensor(logits),
                                                               kt.tensor(target)))
    assert float(M.Accuracy(task="multiclass", num_classes=C)(logits, target)) == ref
    assert float(M.Accuracy(task="multiclass", num_classes=C)(logits.tolist(),
                                                              target.tolist())) == ref
    g = kt.tensor(logits, requires_grad=True)
    assert float(M.Accuracy(task="multiclass", num_classes=C)(g, kt.tensor(target))) == ref


def test_metric_collection():
    logits, target = multiclass_data(n=50, seed=19)
    col = M.MetricCollection({"acc": M.Accuracy(task="multiclass", num_classes=C),
                              "f1": M.F1Score(task="multiclass", num_classes=C,
                                              average="macro")}, prefix="val_")
    batch = col(kt.tensor(logits[:20]), kt.tensor(target[:20]))
    assert set(batch) == {"val_acc", "val_f1"}
    col.update(kt.tensor(logits[20:]), kt.tensor(target[20:]))
    out = col.compute()
    assert float(out["val_acc"]) == pytest.approx((logits.argmax(1) == target).mean())
    assert len(col) == 2 and col.keys() == ["val_acc", "val_f1"]
    col.reset()
    assert col["acc"]._update_count == 0
    named = M.MetricCollection([M.MeanSquaredError(), M.MeanAbsoluteError()])
    assert list(named) == ["MeanSquaredError", "MeanAbsoluteError"]
    with pytest.raises(ValueError, match="duplicate"):
        M.MetricCollection([M.MeanSquaredError(), M.MeanSquaredError()])


def test_argument_errors():
    with pytest.raises(ValueError, match="task must be one of"):
        M.Accuracy(task="regression")
    with pytest.raises(ValueError, match="num_classes"):
        M.Accuracy(task="multiclass")
    with pytest.raises(ValueError, match="num_labels"):
        M.F1Score(task="multilabel")
    with pytest.raises(ValueError, match="average"):
        M.Precision(task="multiclass", num_classes=3, average="samples")
    with pytest.raises(ValueError, match="expected preds"):
        M.Accuracy(task="multiclass", num_classes=3).update(kt.randn(4, 5), kt.tensor([0] * 4))
    with pytest.raises(ValueError, match="normalize"):
        M.ConfusionMatrix(task="binary", normalize="rows")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="CUDA is not available: cuda variant skipped")
def test_metrics_on_cuda_match_cpu():
    logits, target = multiclass_data(n=64, seed=20)
    for name, factory in FACTORIES.items():
        cpu, gpu = factory(), factory()
        cpu.update(kt.tensor(logits), kt.tensor(target))
        gpu.update(kt.tensor(logits).cuda(), kt.tensor(target).cuda())
        out = gpu.compute()
        assert out.device.type == "cuda", name
        np.testing.assert_allclose(val(out), val(cpu.compute()), rtol=1e-6, err_msg=name)
