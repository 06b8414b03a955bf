"""ktrain.jit: trace -> graph -> run, save -> load; the tracer's safety nets (data reads,
captured tensors that depend on the inputs, untraced in-place writes, control flow) and
the loader's refusal of malformed or foreign graphs."""
import io
import json
import struct
import warnings

import numpy as np
import pytest

import ktrain
from ktrain import nn
from ktrain.jit import GraphError, TracerWarning, TracingError


def _cnn():
    ktrain.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 8 * 8, 5)).eval()


def _eager(m, *x):
    with ktrain.no_grad():
        return m(*x).numpy()


def test_trace_runs_the_graph_for_any_batch_size():
    m = _cnn()
    t = ktrain.jit.trace(m, ktrain.randn(4, 3, 16, 16))
    for b in (1, 4, 9):
        x = ktrain.randn(b, 3, 16, 16)
        with ktrain.no_grad():
            np.testing.assert_allclose(t(x).numpy(), _eager(m, x), rtol=1e-6, atol=1e-6)
    g = t.graph
    assert [type(n.op).__name__ for n in g.nodes]   # nodes recorded
    text = str(g)
    assert text.splitlines()[0] == "graph(%0 : Float(B, 3, 16, 16)):"
    assert "= Conv(%0, %self.0.weight, %self.0.bias" in text
    assert "Reshape(%4, (B, 512))" in text                 # the batch stays symbolic
    assert text.splitlines()[-1] == "  return %6"
    assert t.code == text
    # same parameters, same names: the traced module shares the model's tensors
    assert sorted(t.state_dict()) == sorted(m.state_dict())
    assert dict(t.named_parameters())["0.weight"] is m[0].weight


def test_static_batch_and_input_checks():
    m = _cnn()
    t = ktrain.jit.trace(m, ktrain.randn(2, 3, 16, 16), dynamic_batch=False)
    assert str(t.graph).startswith("graph(%0 : Float(2, 3, 16, 16)):")
    with pytest.raises(ValueError, match=r"input input0 has shape \[3, 3, 16, 16\].*static"):
        t(ktrain.randn(3, 3, 16, 16))
    d = ktrain.jit.trace(m, ktrain.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"takes Float\(B, 3, 16, 16\)"):
        d(ktrain.randn(3, 3, 8, 8))
    with pytest.raises(ValueError, match="dtype float64"):
        d(ktrain.randn(3, 3, 16, 16, dtype=ktrain.float64))
    with pytest.raises(TypeError, match="takes 1 tensor input"):
        d(ktrain.randn(3, 3, 16, 16), ktrain.randn(1))


def test_functions_kwargs_and_structured_outputs():
    w = ktrain.randn(6, 4)

    def f(x, y):
        h = (x @ w).relu()
        return {"sum": h + y, "parts": (h.mean(1), h[:, :2])}

    x, y = ktrain.randn(3, 6), ktrain.randn(3, 4)
    t = ktrain.jit.trace(f, (x,), example_kwarg_inputs={"y": y})
    x2, y2 = ktrain.randn(5, 6), ktrain.randn(5, 4)
    got, want = t(x2, y=y2), f(x2, y2)
    np.testing.assert_allclose(got["sum"].numpy(), want["sum"].numpy(), rtol=1e-6)
    np.testing.assert_allclose(got["parts"][1].numpy(), want["parts"][1].numpy(), rtol=1e-6)
    assert t.input_names == ["input0", "y"]
    assert t.graph.constants == {"_c0": "captured"}      # w, captured as a constant


def test_fill_constants_follow_the_batch():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 3, batch_first=True)

        def forward(self, x):
            h0 = ktrain.zeros(1, x.shape[0], 3)          # a user-made initial state
            return self.rnn(x, h0)[0] + ktrain.ones(x.shape[0], 1, 3)

    m = M().eval()
    t = ktrain.jit.trace(m, ktrain.randn(2, 5, 4))
    assert "full((1, B, 3), 0.0, float32)" in str(t.graph)
    x = ktrain.randn(7, 5, 4)
    np.testing.assert_allclose(t(x).detach().numpy(), _eager(m, x), rtol=1e-5, atol=1e-6)


def test_value_reads_warn_once_per_site_and_strict_raises():
    def f(x):
        if float(x.sum()) > -1e9:       # data-dependent Python
            return x * 2
        return x

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ktrain.jit.trace(f, ktrain.randn(3, 2))
    msgs = [x for x in w if issubclass(x.category, TracerWarning)]
    assert msgs and msgs[0].filename == __file__
    assert "Python float" in str(msgs[0].message)
    assert len({(x.filename, x.lineno) for x in msgs}) == len(msgs)   # once per site
    with pytest.raises(TracingError, match=r"strict=True.*test_jit.py:\d+"):
        ktrain.jit.trace(f, ktrain.randn(3, 2), strict=True)


def test_input_dependent_captured_tensor_is_an_error():
    def f(x):
        m = ktrain.from_numpy((x.detach().numpy() > 0).astype(np.float32))  # outside the ops
        return x * m

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        with pytest.raises(TracingError, match=r"made outside the op mechanism at .*test_jit"):
            ktrain.jit.trace(f, ktrain.randn(4, 3))


def test_a_mask_made_outside_the_ops_is_caught_even_when_uniform():
    """The example's mask is all ones, so the frozen mask would be a uniform fill; the
    second run pads the first row (integer inputs), which shows the dependence."""
    def f(x, mask):
        m = ktrain.from_numpy(mask.numpy().astype(np.float32))   # behind the ops' back
        return (x * m[..., None]).sum(1)

    x, mask = ktrain.randn(2, 4, 3), ktrain.ones(2, 4, dtype=ktrain.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        with pytest.raises(TracingError, match="made outside the op mechanism"):
            ktrain.jit.trace(f, (x, mask))

    def g(x, mask):                          # the same with ops: traced, and correct
        return (x * mask[..., None].to(x.dtype)).sum(1)

    t = ktrain.jit.trace(g, (x, mask))
    m2 = ktrain.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
    x2 = ktrain.randn(3, 4, 3)
    np.testing.assert_allclose(t(x2, m2).numpy(), g(x2, m2).numpy(), rtol=1e-6)


def test_control_flow_on_values_is_an_error():
    def f(x):
        return x.relu() if x[0, 0].item() > 0 else x.tanh() * 3

    x = ktrain.ones(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        # the second run's inputs are scaled and shifted: 1 -> 0.875 (same branch) ...
        ktrain.jit.trace(f, x)
        # ... but -0.1 -> 0.05: another path, caught by the comparison of the runs
        with pytest.raises(TracingError, match="another path"):
            ktrain.jit.trace(f, ktrain.full((2, 2), -0.1))


def test_untraced_inplace_write_is_caught():
    def f(x):
        h = x * 2
        h._data[...] = 0            # behind the op mechanism's back
        return h + 1

    # a raw write bumps no version counter: check_trace's comparison with eager catches it
    with pytest.raises(TracingError, match="check_trace failed"):
        ktrain.jit.trace(f, ktrain.randn(3, 2))

    def g(x):
        h = x * 2
        h._data[...] = 0
        h._version[0] += 1          # a write that says so but is not an op
        return h + 1

    with pytest.raises(TracingError, match="modified in place outside the op mechanism"):
        ktrain.jit.trace(g, ktrain.randn(3, 2))


def test_writes_through_data_are_followed():
    def f(x):
        h = x * 2
        h.data.zero_()              # the same storage through another tensor
        return h + 1

    t = ktrain.jit.trace(f, ktrain.randn(3, 2))
    np.testing.assert_allclose(t(ktrain.randn(5, 2)).numpy(), 1.0)


def test_traced_inplace_ops_are_followed():
    def f(x):
        h = x * 2
        h.add_(1)
        h[:, 0] = 5.0
        return h.relu_()

    t = ktrain.jit.trace(f, ktrain.randn(3, 4))
    x = ktrain.randn(6, 4)
    np.testing.assert_allclose(t(x).numpy(), f(x).numpy())


def test_check_trace_catches_a_graph_that_diverges():
    state = {"n": 0}

    def f(x):                       # Python state the trace cannot see
        state["n"] += 1
        return x * state["n"]

    with pytest.raises(TracingError, match="another path|check_trace"):
        ktrain.jit.trace(f, ktrain.randn(3, 2))
    ktrain.jit.trace(f, ktrain.randn(3, 2), check_trace=False)


def test_save_load_round_trip_without_the_model_code(tmp_path):
    m = _cnn()
    t = ktrain.jit.trace(m, ktrain.randn(2, 3, 16, 16))
    path = tmp_path / "m.kt"
    ktrain.jit.save(t, path)
    loaded = ktrain.jit.load(path)
    x = ktrain.randn(5, 3, 16, 16)
    with ktrain.no_grad():
        # equal to float rounding (the BLAS thread policy may change the thread count, and
        # with it the GEMM summation order, between two calls)
        np.testing.assert_allclose(loaded(x).numpy(), t(x).numpy(), rtol=1e-5, atol=1e-6)
    assert str(loaded.graph) == str(t.graph)
    assert sorted(loaded.state_dict()) == sorted(m.state_dict())
    # a plain safetensors file: any reader opens it; the graph is JSON metadata
    from safetensors import safe_open

    with safe_open(str(path), "numpy") as fh:
        meta = fh.metadata()
        assert "0.weight" in fh.keys()
    assert meta["format"] == "ktrain.jit" and meta["ktrain_jit_schema"] == "1"
    assert json.loads(meta["ktrain_graph"])["nodes"][0]["op"] == "ktrain.ops.conv:Conv"
    t.save(tmp_path / "again.kt")           # ScriptModule.save
    assert ktrain.jit.load(tmp_path / "again.kt").graph.batch == 2


def test_ops_with_any_number_of_outputs_round_trip(tmp_path):
    def f(x):
        a, b, c = x.chunk(3, 1)
        p, q, r, s = x[:, :4].unbind(1)
        return a * b + c, p + q * r - s

    t = ktrain.jit.trace(f, ktrain.randn(2, 6))
    ktrain.jit.save(t, tmp_path / "s.kt")
    g = ktrain.jit.load(tmp_path / "s.kt")
    x = ktrain.randn(5, 6)
    for got, want in zip(g(x), f(x)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_loaded_graph_trains(tmp_path):
    m = _cnn().train()
    m[1].eval()   # BatchNorm with fixed statistics: its parameters still learn
    t = ktrain.jit.trace(m, ktrain.randn(2, 3, 16, 16))
    buf = io.BytesIO()
    ktrain.jit.save(t, buf)
    buf.seek(0)
    g = ktrain.jit.load(buf)
    assert all(p.requires_grad for p in g.parameters())
    opt = ktrain.optim.SGD(g.parameters(), lr=0.1)
    x, y = ktrain.randn(8, 3, 16, 16), ktrain.randint(0, 5, (8,))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(g(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    # gradients equal the eager module's
    m2 = _cnn().train()
    m2[1].eval()
    t2 = ktrain.jit.trace(m2, x)
    for mod in (m2, t2):
        mod.zero_grad()
        nn.functional.cross_entropy(mod(x), y).backward()
    for (n, p), q in zip(m2.named_parameters(), t2.parameters()):
        assert q is p or np.allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5), n


def test_gradcheck_through_a_traced_graph():
    ktrain.manual_seed(1)
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    t = ktrain.jit.trace(m, ktrain.randn(2, 3, dtype=ktrain.float64))
    x = ktrain.randn(3, 3, dtype=ktrain.float64, requires_grad=True)
    assert ktrain.autograd.gradcheck(lambda x: t(x), (x,))


def test_tied_weights_stay_tied(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, ids):
            return self.out(self.emb(ids))

    m = Tied().eval()
    t = ktrain.jit.trace(m, ktrain.randint(0, 10, (2, 3)))
    ktrain.jit.save(t, tmp_path / "tied.kt")
    g = ktrain.jit.load(tmp_path / "tied.kt")
    assert sorted(g.state_dict()) == ["emb.weight", "out.weight"]
    assert g.emb.weight is g.out.weight
    ids = ktrain.randint(0, 10, (4, 3))
    np.testing.assert_allclose(g(ids).detach().numpy(), _eager(m, ids), rtol=1e-6)


def test_save_refuses_ops_that_are_not_ktrain_ops(tmp_path):
    class Twice(ktrain.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    t = ktrain.jit.trace(lambda x: Twice.apply(x) + 1, ktrain.randn(2, 2))
    np.testing.assert_allclose(t(ktrain.ones(3, 2)).numpy(), 3.0)   # runs in-process
    with pytest.raises(TypeError, match="Twice from module .*not a ktrain op"):
        ktrain.jit.save(t, tmp_path / "x.kt")


# ---------------------------------------------------------------------- the loader


def _saved_doc(tmp_path):
    t = ktrain.jit.trace(_cnn(), ktrain.randn(2, 3, 16, 16))
    ktrain.jit.save(t, tmp_path / "m.kt")
    from safetensors.numpy import load_file
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m.kt"), "numpy") as fh:
        meta = dict(fh.metadata())
    return load_file(str(tmp_path / "m.kt")), meta


def _write(tmp_path, arrays, meta, doc=None):
    from safetensors.numpy import save_file

    if doc is not None:
        meta = dict(meta, ktrain_graph=json.dumps(doc))
    p = tmp_path / "bad.kt"
    save_file(arrays, str(p), metadata=meta)
    return p


@pytest.mark.parametrize("edit,match", [
    (lambda d: d["nodes"][0].update(op="os:system"), r"node 0: unknown op 'os:system'"),
    (lambda d: d["nodes"][0].update(op="builtins:eval"), r"unknown op 'builtins:eval'"),
    (lambda d: d["nodes"][2]["args"].__setitem__(0, {"v": 99}), r"node 2 .*reads %99"),
    (lambda d: d["nodes"][1].update(outputs=[0]), r"redefines %0|node 1"),
    (lambda d: d["nodes"][0]["args"].__setitem__(3, {"obj": "os.system", "fields": []}),
     r"node 0 \(Conv\): unknown parameter record"),
    (lambda d: d["nodes"][0]["args"].__setitem__(1, {"c": "missing"}), r"constant %missing"),
    (lambda d: d["nodes"][0]["args"].__setitem__(2, {"__reduce__": 1}), r"unknown attribute tag"),
    (lambda d: d.pop("nodes"), r"missing field\(s\) \['nodes'\]"),
    (lambda d: d["nodes"][0]["outputs"].append(2), r"node 0 \(Conv\): lists 2 outputs"),
    (lambda d: d["values"].update({"0": {"shape": [1], "dtype": "object"}}), r"value %0"),
    (lambda d: d["constants"].update({"0.weight": {"kind": "pickle"}}), r"constant '0.weight'"),
])
def test_load_rejects_malformed_graphs_naming_the_node(tmp_path, edit, match):
    arrays, meta = _saved_doc(tmp_path)
    doc = json.loads(meta["ktrain_graph"])
    edit(doc)
    with pytest.raises(GraphError, match=match):
        ktrain.jit.load(_write(tmp_path, arrays, meta, doc))


def test_load_rejects_other_files_and_versions(tmp_path):
    arrays, meta = _saved_doc(tmp_path)
    with pytest.raises(GraphError, match="schema '2'"):
        ktrain.jit.load(_write(tmp_path, arrays, dict(meta, ktrain_jit_schema="2")))
    with pytest.raises(GraphError, match="not a ktrain.jit graph"):
        ktrain.jit.load(_write(tmp_path, arrays, {"format": "pt"}))
    with pytest.raises(GraphError, match="not valid JSON"):
        ktrain.jit.load(_write(tmp_path, arrays, dict(meta, ktrain_graph="{nope")))
    p = tmp_path / "trunc.kt"
    p.write_bytes(struct.pack("<Q", 10) + b"{}")
    with pytest.raises(Exception, match="truncated|not a safetensors"):
        ktrain.jit.load(p)


def test_load_maps_constants_to_a_device(tmp_path):
    t = ktrain.jit.trace(_cnn(), ktrain.randn(2, 3, 16, 16))
    ktrain.jit.save(t, tmp_path / "m.kt")
    g = ktrain.jit.load(tmp_path / "m.kt", map_location="cpu")
    assert all(p.device.type == "cpu" for p in g.parameters())
    if not ktrain.cuda.is_available():
        pytest.skip("no CUDA: the cuda map_location is tested on a GPU machine")
    g = ktrain.jit.load(tmp_path / "m.kt", map_location="cuda")
    x = ktrain.randn(3, 3, 16, 16)
    np.testing.assert_allclose(g(x.cuda()).cpu().numpy(), t(x).numpy(), rtol=1e-4, atol=1e-4)
