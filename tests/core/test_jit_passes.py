"""ktrain.jit graph passes, each on its own, and eval_optimized on a residual CNN."""
import numpy as np
import pytest

import ktrain
from ktrain import nn
from ktrain.jit import _passes as P


def _ops(graph):
    return [type(n.op).__name__ if False else n.op.__name__.lstrip("_") for n in graph.nodes]


def _graph_of(fn, *x):
    t = ktrain.jit.trace(fn, x)
    return t, t.graph, t._consts()


def _run(graph, tensors, *x):
    from ktrain.jit._module import TracedModule

    m = TracedModule(graph, tensors)
    with ktrain.no_grad():
        return m(*x)


def _randomise_bn(bn):
    with ktrain.no_grad():
        bn.running_mean.copy_(ktrain.randn(bn.num_features) * 0.3)
        bn.running_var.copy_(ktrain.rand(bn.num_features) + 0.5)
        bn.weight.copy_(ktrain.randn(bn.num_features))
        bn.bias.copy_(ktrain.randn(bn.num_features))


@pytest.mark.parametrize("bias", [True, False])
def test_fold_batch_norm_into_conv_and_linear(bias):
    ktrain.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 6, 3, bias=bias), nn.BatchNorm2d(6), nn.Flatten(),
                      nn.Linear(6 * 6 * 6, 4, bias=bias), nn.BatchNorm1d(4)).eval()
    _randomise_bn(m[1])
    _randomise_bn(m[4])
    x = ktrain.randn(5, 3, 8, 8)
    t, g, c = _graph_of(m, x)
    assert _ops(g).count("EvalAffine") == 2
    g2, c2 = P.fold_batch_norm(g, c)
    assert "EvalAffine" not in _ops(g2) and _ops(g2).count("Conv") == 1
    np.testing.assert_allclose(_run(g2, c2, x).numpy(), t(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert "EvalAffine" in _ops(t.graph)           # the input graph is unchanged


def test_fold_batch_norm_skips_a_conv_output_read_twice():
    ktrain.manual_seed(0)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2)

        def forward(self, x):
            y = self.conv(x)
            return self.bn(y) + y

    m = M().eval()
    _randomise_bn(m.bn)
    _, g, c = _graph_of(m, ktrain.randn(2, 2, 3, 3))
    assert P.fold_batch_norm(g, c)[0].nodes.__len__() == len(g.nodes)


def test_fuse_conv_relu_and_no_backward():
    ktrain.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3),
                      nn.ReLU(inplace=True)).eval()
    x = ktrain.randn(2, 3, 8, 8)
    t, g, c = _graph_of(m, x)
    g2, c2 = P.fuse_conv_relu(g, c)
    assert _ops(g2) == ["ConvAct", "ConvAct"]
    np.testing.assert_allclose(_run(g2, c2, x).numpy(), t(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    from ktrain.jit._module import TracedModule

    fused = TracedModule(g2, c2)
    with pytest.raises(RuntimeError, match="no backward"):
        fused(ktrain.randn(2, 3, 8, 8, requires_grad=True)).sum().backward()


def test_fold_constants_and_dead_code():
    w = ktrain.randn(3, 4)

    def f(x):
        wt = w.t() * 2          # constants only: folded
        unused = (x * 3).exp()  # nothing reads it: dropped
        del unused
        return x @ wt

    x = ktrain.randn(2, 4)
    t, g, c = _graph_of(f, x)
    assert "Exp" in _ops(g)
    g2, c2 = P.fold_constants(g, c)
    assert len(g2.nodes) == len(g.nodes) - 2
    g3, c3 = P.eliminate_dead_code(g2, c2)
    assert "Exp" not in _ops(g3) and len(g3.nodes) == 1
    assert set(g3.constants) == {k for k in g3.constants if k.startswith("_fold")}
    np.testing.assert_allclose(_run(g3, c3, x).numpy(), f(x).numpy(), rtol=1e-6)


def test_dead_code_keeps_writes_over_inputs():
    def f(x):
        y = x * 1
        y.relu_()              # in place: its output is y's new value
        return y + 1

    t, g, c = _graph_of(f, ktrain.randn(3, 3))
    g2, _ = P.eliminate_dead_code(g, c)
    assert "ReluOver" in _ops(g2)


def test_eval_optimized_residual_cnn():
    from ktrain_vision.models import get_model  # noqa: PLC0415 - a plugin model as the case

    ktrain.manual_seed(0)
    m = get_model("resnet20", num_classes=5).eval()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            _randomise_bn(mod)
    x = ktrain.randn(3, 3, 16, 16)
    t = ktrain.jit.trace(m, x)
    o = t.eval_optimized()
    ops = _ops(o.graph)
    # every BatchNorm folded; the ReLU fused where it reads the conv (stem and the first
    # conv of each block); the second conv of a block feeds the residual add
    assert "EvalAffine" not in ops and ops.count("ConvAct") == 10 and ops.count("Conv") == 9
    with ktrain.no_grad():
        np.testing.assert_allclose(o(x).numpy(), m(x).numpy(), rtol=1e-4, atol=1e-4)
        x5 = ktrain.randn(5, 3, 16, 16)
        np.testing.assert_allclose(o(x5).numpy(), m(x5).numpy(), rtol=1e-4, atol=1e-4)
    assert not any(p.requires_grad for p in o.parameters())
    assert all(p.requires_grad for p in m.parameters())     # the model is untouched


def test_fold_constants_leaves_batch_dependent_slices():
    w = ktrain.randn(16, 3)

    def f(x):
        return x + w[:x.shape[0]]          # a constant sliced by the batch size

    t = ktrain.jit.trace(f, ktrain.randn(4, 3))
    g2, c2 = P.fold_constants(t.graph, t._consts())
    assert "GetItem" in _ops(g2)           # not folded: its bound follows the batch
    x = ktrain.randn(7, 3)
    np.testing.assert_allclose(_run(g2, c2, x).numpy(), f(x).numpy(), rtol=1e-6)
