"""Per-model parity of ktrain.jit and ktrain.onnx: every plugin model traced, exported to
ONNX, run in ONNX Runtime and imported back with ktrain.onnx.load, each against eager
ktrain at another batch size (5 samples; text models traced on full-length rows and run
on a padded batch). Prints a markdown table of max abs differences.

    python benchmarks/onnx_parity.py       # needs onnx and onnxruntime (the test extra)
"""
import ktrain, numpy as np, io, warnings, onnxruntime as ort
from ktrain_vision import models as V
from ktrain_audio import models as A
from ktrain_text.models import GPT, BagOfWords, TextCNN, TransformerClassifier
from ktrain_text.collate import pad_batch
warnings.simplefilter("ignore")
def tb(seqs): return {k: ktrain.from_numpy(v) for k, v in pad_batch(seqs).items()}
rows = []
vis = [("ResNet-20", "resnet20", {}, (2,3,32,32)), ("ResNet-32 (B)", "resnet32", {"shortcut":"B"}, (2,3,32,32)), ("ResNet-18", "resnet18", {}, (2,3,64,64)),
       ("VGG-11-BN", "vgg11_bn", {}, (1,3,32,32)), ("MobileNetV2 0.35", "mobilenet_v2", {"width_mult":0.35}, (2,3,64,64)), ("LeNet-5", "lenet5", {}, (2,1,28,28)), ("ConvNet", "convnet", {}, (2,3,32,32))]
cases = [(n, V.get_model(k, num_classes=10, **kw), (ktrain.randn(*s),), {}, (ktrain.randn(5, *s[1:]) * 2,), {}) for n, k, kw, s in vis]
cases += [(n, m, (ktrain.randn(*s),), {}, (ktrain.randn(5, *s[1:]),), {}) for n, m, s in [("M5", A.m5(10, n_channel=8), (2,1,8000)), ("KWS CNN", A.kws_cnn(10, width=8), (2,1,40,50)), ("KWS ResNet", A.kws_resnet(10, width=8, blocks=(1,1)), (2,1,40,50)), ("CTC recogniser", A.ctc_recognizer(29, n_feats=64, hidden=32), (2,1,64,60))]]
ex = tb([[3,4,5,6,7,8],[7,8,9,1,2,3]]); run = tb([[1,2,3,4,5,6],[5,6],[9,10,11],[4],[5,6,7,8]])
for n, m in [("bag of words", BagOfWords(1000, 4, embed_dim=32, hidden=32)), ("TextCNN", TextCNN(1000, 4, embed_dim=32, num_filters=16)), ("Transformer cls", TransformerClassifier(1000, 4, d_model=32, n_head=4, n_layer=2))]:
    cases.append((n, m, (), ex, (), run))
cases.append(("GPT forward", GPT(vocab_size=100, n_embd=32, n_head=4, n_layer=2, block_size=16), (ktrain.randint(0,100,(2,12)),), {}, (ktrain.randint(0,100,(5,12)),), {}))
print("| model | nodes | jit max abs diff | ONNX Runtime max abs diff | ONNX -> ktrain.onnx.load max abs diff |")
print("|---|---:|---:|---:|---:|")
for n, m, a, k, a2, k2 in cases:
    ktrain.manual_seed(0); m.eval()
    with ktrain.no_grad(): want = m(*a2, **k2).numpy()
    t = ktrain.jit.trace(m, a, example_kwarg_inputs=k or None)
    with ktrain.no_grad(): dj = np.abs(t(*a2, **k2).numpy() - want).max()
    names = list(k) if k else ["x"]
    buf = io.BytesIO(); ktrain.onnx.export(m, a, buf, kwargs=k or None, input_names=names, dynamic_axes={q: {0: "b"} for q in names})
    sess = ort.InferenceSession(buf.getvalue())
    feeds = {i.name: (k2[i.name] if k2 else a2[0]).numpy() for i in sess.get_inputs()}
    do = np.abs(sess.run(None, feeds)[0] - want).max()
    try:
        g = ktrain.onnx.load(buf.getvalue())
        with ktrain.no_grad(): dl = "%.1e" % np.abs(g(*[(k2[q] if k2 else a2[0]) for q in g.input_names]).numpy() - want).max()
    except ValueError as e:
        dl = "not importable (" + str(e).split("is a ")[1].split(" op")[0] + ")"
    print(f"| {n} | {len(t.graph.nodes)} | {dj:.1e} | {do:.1e} | {dl} |", flush=True)
