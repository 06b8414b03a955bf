"""nn.Module: registration, walking, modes, devices/dtypes, state_dict, hooks, repr."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ktrain as kt
from ktrain import nn


class Affine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(kt.randn(n_out, n_in))
        self.bias = nn.Parameter(kt.zeros(n_out))
        self.register_buffer("calls", kt.zeros((), dtype=kt.int64))
        self.register_buffer("scratch", kt.zeros(n_out), persistent=False)

    def forward(self, x):
        self.calls += 1
        return x @ self.weight.T + self.bias

    def extra_repr(self):
        return f"in={self.weight.shape[1]}, out={self.weight.shape[0]}"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Affine(4, 3)
        self.blocks = nn.ModuleList([Affine(3, 3), Affine(3, 3)])
        self.head = nn.Sequential(OrderedDict(fc=Affine(3, 2)))
        self.scale = nn.Parameter(kt.ones(1))

    def forward(self, x):
        x = self.a(x)
        for b in self.blocks:
            x = b(x).tanh()
        return self.head(x) * self.scale


def test_registration_and_walkers():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "a.weight", "a.bias", "blocks.0.weight", "blocks.0.bias",
                     "blocks.1.weight", "blocks.1.bias", "head.fc.weight", "head.fc.bias"]
    assert len(list(net.parameters())) == 9
    assert [n for n, _ in net.named_buffers()] == [
        "a.calls", "a.scratch", "blocks.0.calls", "blocks.0.scratch", "blocks.1.calls",
        "blocks.1.scratch", "head.fc.calls", "head.fc.scratch"]
    assert [n for n, _ in net.named_children()] == ["a", "blocks", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "blocks", "blocks.0", "blocks.1",
                                                   "head", "head.fc"]
    assert net.get_submodule("head.fc") is net.head.fc
    assert net.get_parameter("blocks.1.bias") is net.blocks[1].bias
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        net.nope
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter"):
        net.scale = 3


def test_shared_parameters_listed_once():
    net = Net()
    net.blocks[1].weight = net.blocks[0].weight
    assert len(list(net.parameters())) == 8
    assert len(list(net.named_parameters(remove_duplicate=False))) == 9


def test_state_dict_keys_and_round_trip(tmp_path):
    net = Net()
    sd = net.state_dict()
    assert "a.scratch" not in sd and "a.calls" in sd and isinstance(sd, OrderedDict)
    assert not sd["a.weight"].requires_grad
    kt.save(sd, tmp_path / "m.kt")
    other = Net()
    res = other.load_state_dict(kt.load(tmp_path / "m.kt"))
    assert res.missing_keys == [] and res.unexpected_keys == []
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())


def test_strict_load_reports_every_problem_at_once():
    net = Net()
    sd = net.state_dict()
    del sd["a.bias"]
    sd["extra.weight"] = kt.zeros(1)
    sd["head.fc.weight"] = kt.zeros(5, 5)
    with pytest.raises(RuntimeError) as e:
        Net().load_state_dict(sd)
    msg = str(e.value)
    assert 'Missing key(s) in state_dict: "a.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for head.fc.weight: copying a param with shape [5, 5]" in msg
    del sd["head.fc.weight"]
    res = Net().load_state_dict(sd, strict=False)
    assert "a.bias" in res.missing_keys and "extra.weight" in res.unexpected_keys


def test_train_eval_zero_grad_requires_grad():
    net = Net()
    assert net.training and net.blocks[0].training
    net.eval()
    assert not net.training and not net.head.fc.training
    net.train()
    out = net(kt.randn(5, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_dtype_keeps_parameter_identity_and_int_buffers():
    net = Net()
    w = net.a.weight
    net.double()
    assert net.a.weight is w and w.dtype == kt.float64
    assert net.a.calls.dtype == kt.int64
    net.to(kt.float32)
    assert w.dtype == kt.float32
    with pytest.raises(TypeError, match="floating point"):
        net.to(kt.int32)
    net.to("cpu")


def test_apply_and_init():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Affine") == 4
    net.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, Affine) else None)
    assert float(net.a.bias.abs().sum()) == 0


def test_forward_hooks_and_handles():
    net = Net()
    calls = []
    h1 = net.a.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = net.a.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    x = kt.randn(2, 4)
    out_a = net.a(x)
    np.testing.assert_allclose(out_a.detach().numpy(), (net.a.bias + 1).detach().numpy()
                               .reshape(1, -1).repeat(2, 0), rtol=1e-6)
    assert calls == [(2, 3)]
    h1.remove()
    h2.remove()
    net.a(x)
    assert calls == [(2, 3)]
    g = nn.register_module_forward_hook(lambda m, a, o: calls.append(type(m).__name__))
    net(x)
    g.remove()
    assert "Net" in calls and "Sequential" in calls


def test_repr_is_nested_like_pytorch():
    r = repr(Net())
    assert r.startswith("Net(\n  (a): Affine(in=4, out=3)\n  (blocks): ModuleList(\n")
    assert "(head): Sequential(\n    (fc): Affine(in=3, out=2)\n  )" in r


def test_containers():
    seq = nn.Sequential(Affine(2, 3), Affine(3, 4), Affine(4, 1))
    assert len(seq) == 3 and isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert seq[-1] is seq[2]
    assert seq(kt.randn(5, 2)).shape == (5, 1)
    del seq[0]
    assert [k for k, _ in seq.named_children()] == ["0", "1"]
    ml = nn.ModuleList()
    ml.append(Affine(1, 1)).extend([Affine(1, 1)])
    ml.insert(0, Affine(2, 2))
    assert len(ml) == 3 and ml[0].weight.shape == (2, 2)
    md = nn.ModuleDict({"x": Affine(1, 2)})
    md["y"] = Affine(2, 2)
    assert list(md.keys()) == ["x", "y"] and "y" in md
    pl = nn.ParameterList([kt.zeros(2), nn.Parameter(kt.ones(3))])
    assert len(pl) == 2 and isinstance(pl[0], nn.Parameter)
    pd = nn.ParameterDict({"a": kt.zeros(1)})
    assert isinstance(pd["a"], nn.Parameter)
    holder = nn.Module()
    holder.pl = pl
    assert [n for n, _ in holder.named_parameters()] == ["pl.0", "pl.1"]


def test_parameter_behaviour():
    p = nn.Parameter(kt.ones(2))
    assert p.requires_grad and p.is_leaf and isinstance(p, kt.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 1.]")
    t = kt.zeros(3)
    q = nn.Parameter(t)
    q.data[0] = 5  # shares storage with t
    assert t[0].item() == 5
    assert pickle.loads(pickle.dumps(p)).requires_grad
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.a.weight is not net.a.weight
    np.testing.assert_array_equal(clone.a.weight.detach().numpy(), net.a.weight.detach().numpy())
    with pytest.raises(TypeError, match="ktrain.nn.Parameter or None required"):
        net.register_parameter("bad", net.scale * 2)


def test_summary_counts_parameters():
    text = nn.utils.summary(Net(), kt.randn(2, 4))
    assert "Total params: 48" in text  # 4*3+3 + 2*(3*3+3) + 3*2+2 + 1
    assert "[2, 2]" in text


def test_clip_grad_and_vector_conversion():
    net = Net()
    net(kt.randn(4, 4)).sum().backward()
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    total = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
    norm = nn.utils.clip_grad_norm_(net.parameters(), 0.5)
    np.testing.assert_allclose(norm.item(), total, rtol=1e-5)
    new_total = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum()
                            for p in net.parameters()))
    np.testing.assert_allclose(new_total, 0.5, rtol=1e-4)
    nn.utils.clip_grad_value_(net.parameters(), 0.01)
    assert max(float(p.grad.abs().max()) for p in net.parameters()) <= 0.01
    with pytest.raises(RuntimeError, match="non-finite"):
        net.scale.grad.fill_(float("nan"))
        nn.utils.clip_grad_norm_(net.parameters(), 1.0, error_if_nonfinite=True)
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (48,)
    nn.utils.vector_to_parameters(kt.zeros(48), net.parameters())
    assert all(float(p.abs().sum()) == 0 for p in net.parameters())


def test_init_functions_statistics():
    w = kt.empty(256, 128)
    nn.init.xavier_uniform_(w)
    bound = np.sqrt(6 / (256 + 128))
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.9 * bound
    nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
    np.testing.assert_allclose(float(w.std()), np.sqrt(2 / 128), rtol=0.05)
    nn.init.trunc_normal_(w, std=1.0, a=-1.0, b=1.0)
    assert float(w.abs().max()) <= 1.0
    nn.init.orthogonal_(w)
    np.testing.assert_allclose((w.T @ w).numpy(), np.eye(128), atol=1e-5)
    nn.init.eye_(w)
    assert float(w.sum()) == 128
    nn.init.constant_(w, 0.5)
    assert float(w.mean()) == 0.5
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))
    c = kt.empty(4, 4, 3, 3)
    nn.init.dirac_(c)
    assert float(c.sum()) == 4
    g = kt.Generator().manual_seed(3)
    a = nn.init.normal_(kt.empty(5), generator=g).clone()
    g.manual_seed(3)
    assert kt.equal(a, nn.init.normal_(kt.empty(5), generator=g))


def test_weight_norm():
    m = Affine(3, 2)
    nn.utils.weight_norm(m)
    assert {"weight_g", "weight_v"} <= set(dict(m.named_parameters()))
    out = m(kt.randn(4, 3)).sum()
    out.backward()
    assert m.weight_g.grad is not None and m.weight_v.grad is not None
    nn.utils.remove_weight_norm(m)
    assert "weight" in dict(m.named_parameters())


def test_none_parameters_are_not_state():
    """Linear(bias=False).bias / Conv2d(bias=False) are absent from the state_dict and
    neither missing when loading it nor accepted when a file has them (PyTorch's rule)."""
    for m in (nn.Linear(3, 4, bias=False), nn.Conv2d(1, 2, 3, bias=False)):
        sd = m.state_dict()
        assert list(sd) == ["weight"]
        other = type(m)(*((3, 4) if isinstance(m, nn.Linear) else (1, 2, 3)), bias=False)
        assert other.load_state_dict(sd) is not None
        np.testing.assert_array_equal(other.weight.detach().numpy(), m.weight.detach().numpy())
        with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "bias"'):
            other.load_state_dict({**sd, "bias": kt.zeros(4)})
    net = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2))
    net.load_state_dict(net.state_dict())
