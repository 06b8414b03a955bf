"""Optimizers: Rosenbrock, trajectories against plain-numpy references of each update rule,
state_dict round trips (also through ktrain.save/load), the flat-buffer design, LBFGS.

The references below are written from PyTorch's documented algorithms (single-tensor
implementations), one parameter at a time with its own state, so they also model
parameters that get no gradient on some steps.
"""
import math
import warnings

import ktrain as kt
import numpy as np
import pytest
from ktrain import optim

# ----------------------------------------------------------------------------- references


def ref_sgd(p, g, st, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
            maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        if "buf" not in st:
            st["buf"] = g.copy()
        else:
            st["buf"] = momentum * st["buf"] + (1 - dampening) * g
        g = g + momentum * st["buf"] if nesterov else st["buf"]
    return p - lr * g


def _moments(st, g, beta1, beta2):
    st.setdefault("m", np.zeros_like(g))
    st.setdefault("v", np.zeros_like(g))
    st["m"] = st["m"] + (1 - beta1) * (g - st["m"])
    st["v"] = beta2 * st["v"] + (1 - beta2) * g * g


def ref_adam(p, g, st, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
             maximize=False, decoupled=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    if weight_decay:
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    _moments(st, g, b1, b2)
    v = st["v"]
    if amsgrad:
        st["vmax"] = np.maximum(st.get("vmax", np.zeros_like(v)), v)
        v = st["vmax"]
    denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
    return p - lr / (1 - b1 ** t) * st["m"] / denom


def ref_adamw(p, g, st, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
              maximize=False):
    return ref_adam(p, g, st, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=True)


def ref_rmsprop(p, g, st, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                centered=False, maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    st["v"] = alpha * st.get("v", 0) + (1 - alpha) * g * g
    if centered:
        st["ga"] = st.get("ga", 0) + (1 - alpha) * (g - st.get("ga", 0))
        avg = np.sqrt(st["v"] - st["ga"] ** 2) + eps
    else:
        avg = np.sqrt(st["v"]) + eps
    if momentum > 0:
        st["buf"] = momentum * st.get("buf", 0) + g / avg
        return p - lr * st["buf"]
    return p - lr * g / avg


def ref_adagrad(p, g, st, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                eps=1e-10, maximize=False):
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    if weight_decay:
        g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    st["s"] = st.get("s", initial_accumulator_value) + g * g
    return p - clr * g / (np.sqrt(st["s"]) + eps)


def ref_adadelta(p, g, st, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    st["v"] = rho * st.get("v", 0) + (1 - rho) * g * g
    delta = np.sqrt(st.get("u", 0) + eps) / np.sqrt(st["v"] + eps) * g
    st["u"] = rho * st.get("u", 0) + (1 - rho) * delta * delta
    return p - lr * delta


def ref_adamax(p, g, st, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    if weight_decay:
        g = g + weight_decay * p
    st["m"] = st.get("m", 0) + (1 - b1) * (g - st.get("m", 0))
    st["u"] = np.maximum(b2 * st.get("u", 0), np.abs(g) + eps)
    return p - lr / (1 - b1 ** t) * st["m"] / st["u"]


def ref_nadam(p, g, st, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    if weight_decay:
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    # PyTorch keeps mu_product in a float32 scalar tensor (whatever the parameter dtype)
    st["mu_prod"] = float(np.float32(np.float32(st.get("mu_prod", 1.0)) * np.float32(mu)))
    _moments(st, g, b1, b2)
    denom = np.sqrt(st["v"] / (1 - b2 ** t)) + eps
    return (p - lr * (1 - mu) / (1 - st["mu_prod"]) * g / denom
            - lr * mu_next / (1 - st["mu_prod"] * mu_next) * st["m"] / denom)


def ref_radam(p, g, st, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
              decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    g = -g if maximize else g
    t = st["t"] = st.get("t", 0) + 1
    if weight_decay:
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    _moments(st, g, b1, b2)
    m_hat = st["m"] / (1 - b1 ** t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return p - lr * m_hat * math.sqrt(1 - b2 ** t) / (np.sqrt(st["v"]) + eps) * rect
    return p - lr * m_hat


REF = {"SGD": ref_sgd, "Adam": ref_adam, "AdamW": ref_adamw, "RMSprop": ref_rmsprop,
       "Adagrad": ref_adagrad, "Adadelta": ref_adadelta, "Adamax": ref_adamax,
       "NAdam": ref_nadam, "RAdam": ref_radam}

# a group bigger than one update chunk, with a parameter spanning chunk boundaries
SHAPES = [(3, 4), (100, 700), (7,), (), (5, 1, 3)]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(centered=True, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(alpha=0.9, momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(weight_decay=0.1, maximize=True, betas=(0.8, 0.99))),
    ("NAdam", dict()),
    ("NAdam", dict(weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),
    ("RAdam", dict(weight_decay=0.1, decoupled_weight_decay=True)),
]


def _ids(c):
    return c[0] + "-" + ",".join(f"{k}={v}" for k, v in c[1].items())


def _grads(rng, shapes, steps, dtype):
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]


def run_against_reference(name, groups, shapes, steps, dtype=np.float64, skip=(), seed=0,
                          rtol=1e-9, atol=1e-12, between=None):
    """Run ktrain's optimizer and the numpy reference side by side.

    groups: list of (param indices, hyper-parameters); skip: (step, param) pairs that get
    no gradient; between(step, params, ref_params): a hook run after each step.
    """
    rng = np.random.default_rng(seed)
    dts = dtype if isinstance(dtype, (list, tuple)) else [dtype] * len(shapes)
    init = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dts)]
    grads = [[rng.standard_normal(s).astype(d) for s, d in zip(shapes, dts)]
             for _ in range(steps)]
    params = [kt.tensor(a.copy(), requires_grad=True) for a in init]
    ref = [a.astype(np.float64) for a in init]
    ref_state = [{} for _ in shapes]
    hyper = {}
    for idx, hp in groups:  # the first group's values are also the optimizer's defaults
        for i in idx:
            hyper[i] = {**groups[0][1], **hp}
    opt = getattr(optim, name)([{"params": [params[i] for i in idx], **hp}
                                for idx, hp in groups], **groups[0][1])
    for s in range(steps):
        for i, p in enumerate(params):
            p.grad = None if (s, i) in skip else kt.tensor(grads[s][i])
        opt.step()
        for i in range(len(shapes)):
            if (s, i) not in skip:
                ref[i] = REF[name](ref[i], grads[s][i].astype(np.float64), ref_state[i],
                                   **hyper[i])
        for i, p in enumerate(params):
            np.testing.assert_allclose(p.detach().numpy(), ref[i], rtol=rtol, atol=atol,
                                       err_msg=f"{name} step {s} param {i}")
        if between is not None:
            between(s, params, ref)
    return opt, params


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_trajectory_float64(config):
    name, hp = config
    run_against_reference(name, [(range(len(SHAPES)), hp)], SHAPES, steps=8)


@pytest.mark.parametrize("config", CONFIGS[1::3] + [CONFIGS[-3]], ids=_ids)
def test_trajectory_float32(config):
    name, hp = config
    opt, params = run_against_reference(name, [(range(len(SHAPES)), hp)], SHAPES, steps=8,
                                        dtype=np.float32, rtol=2e-4, atol=2e-5)
    for p in params:
        assert p.dtype == kt.float32
    for st in opt.state.values():
        for k, v in st.items():
            if k not in ("step", "mu_product"):
                assert v.dtype == kt.float32, k
            else:
                assert v.dtype == kt.float32 and v.shape == ()


@pytest.mark.parametrize("config", [CONFIGS[2], CONFIGS[6], CONFIGS[11], CONFIGS[21]],
                         ids=_ids)
def test_trajectory_small_chunks(config, monkeypatch):
    """Chunks of 4096 floats: many chunk boundaries, parameters split across chunks and
    chunks made of several parameters."""
    import ktrain.optim._flat as flat

    monkeypatch.setattr(flat, "_CHUNK_BYTES", 1024)
    name, hp = config
    shapes = [(3, 4), (50, 201), (7,), (), (4096,), (5, 1, 3), (9000,)]
    opt, _ = run_against_reference(name, [(range(len(shapes)), hp)], shapes, steps=4)
    assert opt._layouts[0].chunk == 4096 and len(opt._layouts[0].plan) == 6


@pytest.mark.parametrize("name,g1,g2", [
    ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.01, momentum=0.5, nesterov=True)),
    ("Adam", dict(lr=0.1, amsgrad=True), dict(lr=0.01, weight_decay=0.2, betas=(0.5, 0.9))),
    ("RMSprop", dict(centered=True), dict(lr=0.05, momentum=0.3)),
    ("NAdam", dict(lr=0.01), dict(weight_decay=0.1, decoupled_weight_decay=True)),
])
def test_param_groups_with_different_hyperparameters(name, g1, g2):
    opt, _ = run_against_reference(name, [([0, 2, 3], g1), ([1, 4], g2)], SHAPES, steps=6)
    assert len(opt.param_groups) == 2
    assert opt.param_groups[0]["lr"] == g1["lr"] if "lr" in g1 else True


@pytest.mark.parametrize("name,hp", [("Adam", dict(lr=0.05)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("NAdam", dict()), ("Adagrad", dict(lr_decay=0.1))])
def test_params_without_gradient_are_skipped(name, hp):
    """A parameter without .grad is not updated and its step counter does not advance:
    the group then has unequal step counters (the per-parameter path)."""
    skip = {(0, 0), (1, 0), (1, 2), (3, 1), (4, 3)}
    opt, params = run_against_reference(name, [(range(len(SHAPES)), hp)], SHAPES, steps=7,
                                        skip=skip)
    if name != "SGD":
        steps = [float(opt.state[p]["step"]) for p in params]
        assert steps == [5, 6, 6, 6, 7]


def test_frozen_parameter_gets_no_state():
    a = kt.ones(3, requires_grad=True)
    frozen = kt.ones(2, requires_grad=True)
    opt = optim.Adam([a, frozen], lr=0.1)
    for _ in range(3):
        a.grad = kt.ones(3)
        opt.step()
    assert frozen not in opt.state or len(opt.state[frozen]) == 0
    np.testing.assert_array_equal(frozen.detach().numpy(), np.ones(2))
    assert float(opt.state[a]["step"]) == 3


def test_mixed_dtypes_take_the_per_parameter_path():
    dts = [np.float32, np.float64, np.float32, np.float64, np.float32]
    opt, params = run_against_reference("Adam", [(range(5), dict(lr=0.01, amsgrad=True))],
                                        SHAPES, steps=5, dtype=dts, rtol=2e-4, atol=2e-5)
    assert [p.dtype for p in params] == [kt.float32, kt.float64, kt.float32, kt.float64,
                                         kt.float32]
    assert opt.state[params[1]]["exp_avg"].dtype == kt.float64


def test_maximize_is_minimize_of_negation():
    rng = np.random.default_rng(3)
    a0, g = rng.standard_normal(10), rng.standard_normal(10)
    a, b = kt.tensor(a0, requires_grad=True), kt.tensor(a0, requires_grad=True)
    oa = optim.Adam([a], lr=0.1, maximize=True)
    ob = optim.Adam([b], lr=0.1)
    for _ in range(4):
        a.grad, b.grad = kt.tensor(g), kt.tensor(-g)
        oa.step()
        ob.step()
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_array_equal(a.grad.numpy(), g)  # the user's gradient is untouched


# ----------------------------------------------------------------------------- Rosenbrock


def _rosen(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosen_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


ROSEN = [
    ("SGD", dict(lr=1e-3, momentum=0.9), 1e-6),
    ("SGD", dict(lr=5e-4, momentum=0.9, nesterov=True), 1e-3),
    ("Adam", dict(lr=0.05), 1e-8),
    ("Adam", dict(lr=0.05, amsgrad=True), 1e-4),
    ("AdamW", dict(lr=0.05, weight_decay=1e-4), 1e-3),
    ("RMSprop", dict(lr=3e-3), 0.05),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9), 1e-2),
    ("Adagrad", dict(lr=2.0), 0.1),
    ("Adadelta", dict(lr=10.0), 5.0),  # Adadelta is slow on Rosenbrock (loss starts at 12.5)
    ("Adamax", dict(lr=0.1), 1e-2),
    ("NAdam", dict(lr=0.02), 1e-2),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.99)), 1e-4),
]


@pytest.mark.parametrize("name,hp,max_loss", ROSEN, ids=[_ids(c[:2]) for c in ROSEN])
def test_rosenbrock(name, hp, max_loss):
    p = kt.tensor([-1.5, 2.0], dtype=kt.float64, requires_grad=True)
    opt = getattr(optim, name)([p], **hp)
    start = _rosen(-1.5, 2.0)
    for _ in range(2000):
        p.grad = kt.tensor(_rosen_grad(*p.detach().numpy()))
        opt.step()
    x, y = p.detach().numpy()
    assert _rosen(x, y) < max_loss < start
    assert math.hypot(x - 1, y - 1) < math.hypot(-2.5, 1.0)


def test_rosenbrock_with_autograd_closure():
    p = kt.tensor([-1.5, 2.0], dtype=kt.float64, requires_grad=True)
    opt = optim.Adam([p], lr=0.05)

    def closure():
        opt.zero_grad()
        loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
        loss.backward()
        return loss

    with kt.no_grad():  # the closure still records a graph
        first = opt.step(closure)
    assert float(first) == pytest.approx(_rosen(-1.5, 2.0))
    for _ in range(1500):
        loss = opt.step(closure)
    assert float(loss) < 1e-6


# ----------------------------------------------------------------------------- state_dict


def _model(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [kt.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


LOCKSTEP = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
            ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
            ("AdamW", dict()), ("RMSprop", dict(centered=True, momentum=0.5)),
            ("Adagrad", dict(lr_decay=0.01)), ("Adadelta", dict()), ("Adamax", dict()),
            ("NAdam", dict()), ("RAdam", dict())]


@pytest.mark.parametrize("via_file", [False, True], ids=["in-memory", "ktrain.save"])
@pytest.mark.parametrize("name,hp", LOCKSTEP, ids=[c[0] for c in LOCKSTEP])
def test_state_dict_lockstep(name, hp, via_file, tmp_path):
    rng = np.random.default_rng(1)
    pa = _model()
    oa = getattr(optim, name)([{"params": pa[:2], **hp}, {"params": pa[2:], "lr": 0.003}])
    for _ in range(3):
        for p in pa:
            p.grad = kt.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))
        oa.step()
    sd = oa.state_dict()
    if via_file:
        kt.save(sd, tmp_path / "opt.kt")
        sd = kt.load(tmp_path / "opt.kt")
    pb = [kt.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pa]
    ob = getattr(optim, name)([{"params": pb[:2], **hp}, {"params": pb[2:], "lr": 0.003}])
    ob.load_state_dict(sd)
    assert ob.param_groups[1]["lr"] == 0.003
    for _ in range(4):
        for a, b in zip(pa, pb):
            g = rng.standard_normal(tuple(a.shape)).astype(np.float32)
            a.grad, b.grad = kt.tensor(g), kt.tensor(g.copy())
        oa.step()
        ob.step()
        for a, b in zip(pa, pb):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    sa, sb = oa.state_dict(), ob.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for i in sa["state"]:
        assert sa["state"][i].keys() == sb["state"][i].keys()
        for k in sa["state"][i]:
            np.testing.assert_array_equal(np.asarray(sa["state"][i][k]),
                                          np.asarray(sb["state"][i][k]))


def test_state_dict_format():
    ps = _model()
    opt = optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1}], lr=0.01)
    sd = opt.state_dict()
    assert sd["state"] == {}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3, 4]]
    for p in ps:
        p.grad = kt.ones(*p.shape)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3, 4]
    st = sd["state"][1]
    assert sorted(st) == ["exp_avg", "exp_avg_sq", "step"]
    assert st["step"].shape == () and st["step"].dtype == kt.float32 and float(st["step"]) == 1
    assert tuple(st["exp_avg"].shape) == SHAPES[1]
    g0 = sd["param_groups"][0]
    assert g0["lr"] == 0.01 and g0["betas"] == (0.9, 0.999) and g0["amsgrad"] is False
    assert g0["decoupled_weight_decay"] is False and "params" in g0


def test_load_state_dict_casts_and_copies():
    p64 = [kt.tensor(np.ones(3), requires_grad=True)]
    o64 = optim.Adam(p64, lr=0.1)
    p64[0].grad = kt.ones(3, dtype=kt.float64)
    o64.step()
    sd = o64.state_dict()
    p32 = [kt.ones(3, requires_grad=True)]
    o32 = optim.Adam(p32, lr=0.5)
    o32.load_state_dict(sd)
    st = o32.state[p32[0]]
    assert st["exp_avg"].dtype == kt.float32  # cast to the parameter's dtype
    assert st["step"].dtype == kt.float32 and float(st["step"]) == 1  # step keeps its own
    assert o32.param_groups[0]["lr"] == 0.1
    st["exp_avg"].fill_(7.0)  # a copy: the source optimizer is not affected
    assert float(o64.state[p64[0]]["exp_avg"][0]) != 7.0


def test_load_state_dict_errors():
    opt = optim.SGD(_model(), lr=0.1)
    two = optim.SGD([{"params": _model()[:2]}, {"params": _model()[2:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two.state_dict())
    other = optim.SGD(_model()[:3], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group: "
                                         "group 0 has 3 parameters in the state dict and 5"):
        opt.load_state_dict(other.state_dict())


def test_load_state_dict_of_other_shapes_errors_at_step():
    a = [kt.zeros(3, requires_grad=True)]
    oa = optim.Adam(a)
    a[0].grad = kt.ones(3)
    oa.step()
    b = [kt.zeros(4, requires_grad=True)]
    ob = optim.Adam(b)
    ob.load_state_dict(oa.state_dict())
    b[0].grad = kt.ones(4)
    with pytest.raises(RuntimeError, match="state 'exp_avg' of parameter 0 .* has shape"):
        ob.step()


@pytest.mark.parametrize("shape", [(2, 3), (20000, 10)], ids=["flat", "chunked"])
def test_wrong_gradient_shape_is_an_error(shape):
    p = kt.zeros(*shape, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = kt.ones(shape[0])
    with pytest.raises(RuntimeError, match=r"parameter 0 of its group has shape .* but its "
                                           r"\.grad has shape"):
        opt.step()
    p.grad = kt.ones(*shape)
    opt.step()
    assert float(opt.state[p]["step"]) == 1


def test_lbfgs_state_dict_saves(tmp_path):
    x = kt.tensor([3.0, -2.0], dtype=kt.float64, requires_grad=True)
    opt = optim.LBFGS([x], history_size=5, max_iter=4)

    def closure():
        opt.zero_grad()
        loss = (x * x * kt.tensor([1.0, 10.0], dtype=kt.float64)).sum()
        loss.backward()
        return loss

    opt.step(closure)
    kt.save(opt.state_dict(), tmp_path / "lbfgs.kt")
    y = kt.tensor(x.detach().numpy().copy(), requires_grad=True)
    o2 = optim.LBFGS([y], history_size=5, max_iter=4)
    o2.load_state_dict(kt.load(tmp_path / "lbfgs.kt"))
    assert o2.state[y]["n_iter"] == opt.state[x]["n_iter"]
    assert len(o2.state[y]["old_dirs"]) == len(opt.state[x]["old_dirs"])


# ----------------------------------------------------------------------------- flat buffers


def test_flat_buffer_invariants():
    ps = _model()
    ids = [id(p) for p in ps]
    opt = optim.Adam(ps, lr=0.1)
    for p in ps:
        p.grad = kt.ones(*p.shape)
    versions = [p._version[0] for p in ps]
    opt.step()
    assert [id(p) for p in opt.param_groups[0]["params"]] == ids
    assert [tuple(p.shape) for p in ps] == SHAPES
    assert [tuple(p.grad.shape) for p in ps] == SHAPES
    assert all(p.is_contiguous() and p.dtype == kt.float32 for p in ps)
    assert [p._version[0] for p in ps] == [v + 1 for v in versions]
    base = ps[1]._data.base
    assert base is not None and all(np.shares_memory(p._data, base) for p in ps)
    for p in ps:
        st = opt.state[p]
        for k in ("exp_avg", "exp_avg_sq"):
            assert tuple(st[k].shape) == tuple(p.shape) and st[k].dtype == p.dtype
        assert st["step"].shape == ()
    ea = [opt.state[p]["exp_avg"] for p in ps]
    assert all(np.shares_memory(e._data, ea[1]._data.base) for e in ea)
    # user code keeps working on the views: in-place edits are seen by the next step
    before = ps[0].detach().numpy().copy()
    with kt.no_grad():
        ps[0].mul_(0.0)
    opt.step()
    assert not np.allclose(ps[0].detach().numpy(), before)
    assert np.abs(ps[0].detach().numpy()).max() < 1.0
    assert [float(opt.state[p]["step"]) for p in ps] == [2.0] * 5


def test_views_taken_after_first_step_follow_updates():
    p = kt.zeros(10, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    p.grad = kt.ones(10)
    opt.step()
    view = p.detach()
    opt.step()
    np.testing.assert_array_equal(view.numpy(), np.full(10, -2.0, np.float32))


def test_replaced_storage_is_picked_up():
    """``p.data = ...`` (as module.to() does) between steps: the next step re-flattens."""
    def swap(step, params, ref):
        if step == 2:
            for i, p in enumerate(params):
                new = np.asarray(ref[i], dtype=np.float64) * 0.5
                p.data = kt.tensor(new)
                ref[i] = new.copy()

    run_against_reference("Adam", [(range(len(SHAPES)), dict(lr=0.01))], SHAPES, steps=5,
                          between=swap)


def test_hyperparameters_can_change_between_steps():
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(4) for _ in range(6)]
    p = kt.tensor(np.zeros(4), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    ref, st = np.zeros(4), {}
    for i, g in enumerate(grads):
        lr, mom = 0.1 / (i + 1), 0.9 - 0.1 * i
        opt.param_groups[0]["lr"] = lr
        opt.param_groups[0]["momentum"] = mom
        p.grad = kt.tensor(g)
        opt.step()
        ref = ref_sgd(ref, g, st, lr=lr, momentum=mom)
        np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-12)


def test_state_reset_is_picked_up():
    p = kt.tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    for _ in range(2):
        p.grad = kt.ones(3, dtype=kt.float64)
        opt.step()
    from collections import defaultdict
    opt.state = defaultdict(dict)
    p.grad = kt.ones(3, dtype=kt.float64)
    opt.step()
    assert float(opt.state[p]["step"]) == 1


# ----------------------------------------------------------------------------- API


def test_zero_grad():
    ps = _model()
    opt = optim.SGD(ps, lr=0.1)
    for p in ps:
        p.grad = kt.ones(*p.shape)
    g1 = ps[1].grad
    opt.zero_grad(set_to_none=False)
    assert ps[1].grad is g1 and float(g1.abs().sum()) == 0
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_add_param_group():
    a, b = kt.zeros(2, requires_grad=True), kt.zeros(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {kt.zeros(1, requires_grad=True)}})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([b])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        optim.SGD([a, a], lr=0.1)
    assert any("duplicate parameters" in str(x.message) for x in w)


def test_named_parameters():
    a, b = kt.zeros(2, requires_grad=True), kt.zeros(3, requires_grad=True)
    opt = optim.Adam([("w", a), ("b", b)])
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


@pytest.mark.parametrize("cls,kwargs,msg", [
    (optim.SGD, dict(lr=-1), "Invalid learning rate: -1"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (optim.SGD, dict(lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.Adam, dict(lr=-1), "Invalid learning rate: -1"),
    (optim.Adam, dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (optim.AdamW, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (optim.Adam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (optim.RMSprop, dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    (optim.Adagrad, dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    (optim.Adadelta, dict(rho=1.5), "Invalid rho value: 1.5"),
    (optim.NAdam, dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (optim.RAdam, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.LBFGS, dict(lr=-1), "Invalid learning rate: -1"),
])
def test_invalid_hyperparameters(cls, kwargs, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        cls([kt.zeros(1, requires_grad=True)], **kwargs)


def test_performance_flags_are_accepted():
    p = [kt.zeros(1, requires_grad=True)]
    optim.Adam(p, foreach=True, fused=True, capturable=True)  # no effect here
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        optim.SGD(p, differentiable=True)


def test_repr_like_pytorch():
    opt = optim.SGD([kt.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
                         "    foreach: None\n    fused: None\n    lr: 0.1\n    maximize: False\n"
                         "    momentum: 0.9\n    nesterov: False\n    weight_decay: 0\n)")


def test_defaults_like_pytorch():
    p = [kt.zeros(1, requires_grad=True)]
    assert optim.SGD(p).defaults["lr"] == 1e-3
    assert optim.Adam(p).defaults["betas"] == (0.9, 0.999)
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.AdamW(p).defaults["decoupled_weight_decay"] is True
    assert optim.RMSprop(p).defaults["lr"] == 1e-2
    assert optim.Adagrad(p).defaults["eps"] == 1e-10
    assert optim.Adadelta(p).defaults["lr"] == 1.0
    assert optim.Adamax(p).defaults["lr"] == 2e-3
    assert optim.NAdam(p).defaults["momentum_decay"] == 4e-3
    assert optim.RAdam(p).defaults["lr"] == 1e-3
    assert optim.LBFGS(p).defaults["max_eval"] == 25
    a = optim.Adagrad(p, initial_accumulator_value=0.3)  # eager state, as PyTorch
    assert float(a.state[p[0]]["sum"][0]) == pytest.approx(0.3)


def test_closure_runs_with_grad_enabled():
    p = kt.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    seen = []

    def closure():
        seen.append(kt.is_grad_enabled())
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with kt.no_grad():
        loss = opt.step(closure)
    assert seen == [True] and float(loss) == 4.0
    assert float(p.detach()[0]) == pytest.approx(2.0 - 0.1 * 4.0)


# ----------------------------------------------------------------------------- LBFGS


def test_lbfgs_quadratic():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    h = a @ a.T + 6 * np.eye(6)  # SPD Hessian
    b = rng.standard_normal(6)
    x = kt.tensor(np.zeros(6), requires_grad=True)
    opt = optim.LBFGS([x], lr=1, max_iter=50, history_size=10, line_search_fn="strong_wolfe",
                      tolerance_grad=1e-12, tolerance_change=1e-15)
    H, B_ = kt.tensor(h), kt.tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x * (H @ x)).sum() - (B_ * x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.solve(h, b), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_rosenbrock(line_search):
    xs = [kt.tensor([-1.5], dtype=kt.float64, requires_grad=True),
          kt.tensor([2.0], dtype=kt.float64, requires_grad=True)]
    lr = 1 if line_search else 0.1
    opt = optim.LBFGS(xs, lr=lr, max_iter=20, history_size=10, line_search_fn=line_search)

    def closure():
        opt.zero_grad()
        x, y = xs
        loss = ((1 - x) ** 2 + 100 * (y - x ** 2) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(10 if line_search else 15):
        opt.step(closure)
    x, y = float(xs[0]), float(xs[1])
    tol = 1e-4 if line_search else 1e-2
    assert abs(x - 1) < tol and abs(y - 1) < tol
    assert opt.state[xs[0]]["func_evals"] > 0


def test_lbfgs_errors():
    a = kt.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [kt.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([a], line_search_fn="armijo")


# ----------------------------------------------------------------------------- swa_utils


def test_averaged_model_swa_and_ema():
    from ktrain import nn
    from ktrain.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    swa = AveragedModel(model)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    snaps = []
    rng = np.random.default_rng(0)
    for _ in range(4):
        with kt.no_grad():
            for p in model.parameters():
                p.copy_(kt.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
            model[1].running_mean.fill_(float(len(snaps)))
        snaps.append([p.detach().numpy().copy() for p in model.parameters()])
        swa.update_parameters(model)
        ema.update_parameters(model)
    assert int(swa.n_averaged.item()) == 4
    for i, p in enumerate(swa.module.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), np.mean([s[i] for s in snaps], 0),
                                   rtol=1e-5, atol=1e-6)
    for i, p in enumerate(ema.module.parameters()):
        e = snaps[0][i]
        for s in snaps[1:]:
            e = 0.9 * e + 0.1 * s[i]
        np.testing.assert_allclose(p.detach().numpy(), e, rtol=1e-5, atol=1e-6)
    # buffers are copied, not averaged (use_buffers=False)
    np.testing.assert_array_equal(swa.module[1].running_mean.numpy(), np.full(4, 3.0))
    x = kt.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    swa.eval()
    assert tuple(swa(x).shape) == (5, 4)


def test_update_bn():
    from ktrain import nn
    from ktrain.optim.swa_utils import update_bn

    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, momentum=0.5))
    model.eval()
    rng = np.random.default_rng(0)
    batches = [kt.tensor(rng.standard_normal((8, 2)).astype(np.float32) * 3 + 1)
               for _ in range(3)]
    update_bn([(b, None) for b in batches], model)
    assert model.training is False and model[1].momentum == 0.5
    with kt.no_grad():
        feats = np.concatenate([model[0](b).numpy() for b in batches])
    np.testing.assert_allclose(model[1].running_mean.numpy(), feats.mean(0), rtol=1e-4,
                               atol=1e-5)


def test_custom_optimizer_subclass():
    """A PyTorch-style subclass that overrides step() works on the base class."""

    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        with kt.no_grad():
                            p.sub_(group["lr"] * p.grad.sign())
                        self.state[p]["n"] = self.state[p].get("n", 0) + 1

    p = kt.tensor([1.0, -1.0], requires_grad=True)
    opt = SignSGD([p])
    p.grad = kt.tensor([3.0, -0.5])
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.9, -0.9], rtol=1e-6)
    assert opt.state_dict()["state"] == {0: {"n": 1}}
    with pytest.raises(NotImplementedError, match="must override step"):
        optim.Optimizer([p], {}).step()
