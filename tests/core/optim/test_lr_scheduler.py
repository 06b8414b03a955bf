"""Learning-rate schedulers: LR sequences against PyTorch's, closed forms, state_dict,
ReduceLROnPlateau behaviour.

The ``REF`` sequences were computed once with PyTorch 2.13 (``torch.optim.lr_scheduler``)
by the same recipes as ``_run`` below (optimizer.step() then scheduler.step(), recording
``get_last_lr()`` before the first and after every step) and pasted here.
"""
import math
import warnings

import ktrain as kt
import numpy as np
import pytest
from ktrain.optim import SGD, Adam
from ktrain.optim import lr_scheduler as L

REF = {
    'StepLR':
        [[0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.05, 0.1], [0.05, 0.1], [0.05, 0.1], [0.025, 0.05],
         [0.025, 0.05], [0.025, 0.05], [0.0125, 0.025], [0.0125, 0.025]],
    'MultiStepLR':
        [[0.1], [0.1], [0.010000000000000002], [0.010000000000000002], [0.010000000000000002],
         [0.00010000000000000005], [0.00010000000000000005], [0.00010000000000000005],
         [1.0000000000000006e-05], [1.0000000000000006e-05], [1.0000000000000006e-05]],
    'ExponentialLR':
        [[0.1], [0.09000000000000001], [0.08100000000000002], [0.07290000000000002],
         [0.06561000000000002], [0.05904900000000002], [0.05314410000000002]],
    'CosineAnnealingLR':
        [[0.1, 0.2], [0.09140576474687263, 0.18185661446562001],
         [0.06890576474687263, 0.13435661446562], [0.04109423525312736, 0.07564338553437999],
         [0.018594235253127367, 0.02814338553438], [0.01, 0.01],
         [0.018594235253127367, 0.02814338553437999], [0.04109423525312739, 0.07564338553438],
         [0.06890576474687267, 0.13435661446562006], [0.09140576474687269, 0.1818566144656201],
         [0.10000000000000006, 0.2000000000000001], [0.09140576474687272, 0.18185661446562015],
         [0.06890576474687268, 0.13435661446562008], [0.0410942352531274, 0.07564338553438005],
         [0.01859423525312738, 0.02814338553438002], [0.01, 0.01],
         [0.018594235253127367, 0.02814338553437999]],
    'CosineAnnealingWarmRestarts':
        [[0.1], [0.07525000000000001], [0.025750000000000012], [0.1], [0.09336825748732973],
         [0.07525000000000001], [0.0505], [0.025750000000000012], [0.007631742512670284], [0.1],
         [0.09831332840130888], [0.09336825748732973], [0.0855017856687341], [0.07525000000000001],
         [0.06331154273257478], [0.0505]],
    'CAWR_frac':
        [0.09336825748732973, 0.07525000000000001, 0.007631742512670284, 0.1, 0.08977099034441614,
         0.0010678380296485952, 0.1, 0.001423479361996386],
    'CAWR_frac_mult1':
        [0.09619397662556434, 0.0038060233744356634, 0.1, 0.0691341716182545, 0.07777851165098011],
    'OneCycleLR':
        ([[0.0040000000000000036], [0.0349789654219583], [0.08792851591221287],
          [0.09944154354509119], [0.09330129698414118], [0.0811745653949763], [0.06473789976951033],
          [0.046263710266697504], [0.028306099820869922], [0.01334775301888306],
          [0.0034566987425395223], [4e-07], [0.0034566987425395167]],
         [[0.95], [0.9177302443521267], [0.8625744625914449], [0.8505584586887436],
          [0.856698729810778], [0.8688255099070633], [0.8852622412794547], [0.9037365046793212],
          [0.9216941869558779], [0.9366525935914912], [0.9465436874322102], [0.95],
          [0.9465436874322102]]),
    'OneCycleLR_3p_lin':
        ([[0.004, 0.008], [0.03890909090909091, 0.07781818181818181],
          [0.07381818181818182, 0.14763636363636365], [0.09127272727272728, 0.18254545454545457],
          [0.05636363636363637, 0.11272727272727275], [0.02145454545454545, 0.0429090909090909],
          [0.003764729411764706, 0.007529458823529412],
          [0.0032941882352941175, 0.006588376470588235],
          [0.0028236470588235297, 0.005647294117647059],
          [0.0023531058823529414, 0.004706211764705883],
          [0.0018825647058823532, 0.0037651294117647064],
          [0.001412023529411765, 0.00282404705882353],
          [0.0009414823529411767, 0.0018829647058823534],
          [0.00047094117647058847, 0.0009418823529411769],
          [4.0000000000022656e-07, 8.000000000004531e-07],
          [-0.00047014117647058845, -0.0009402823529411769]],
         [[0.95, 0.95], [0.9136363636363636, 0.9136363636363636],
          [0.8772727272727272, 0.8772727272727272], [0.859090909090909, 0.859090909090909],
          [0.8954545454545454, 0.8954545454545454], [0.9318181818181818, 0.9318181818181818],
          [0.95, 0.95], [0.95, 0.95], [0.95, 0.95], [0.95, 0.95], [0.95, 0.95], [0.95, 0.95],
          [0.95, 0.95], [0.95, 0.95], [0.95, 0.95], [0.95, 0.95]]),
    'CyclicLR_tri':
        ([[0.01], [0.040000000000000015], [0.06999999999999999], [0.1], [0.07000000000000003],
          [0.03999999999999998], [0.01], [0.040000000000000056], [0.06999999999999995], [0.1],
          [0.06999999999999995], [0.040000000000000056], [0.01], [0.03999999999999998],
          [0.07000000000000003]],
         [[0.9], [0.8666666666666667], [0.8333333333333334], [0.8], [0.8333333333333334],
          [0.8666666666666667], [0.9], [0.8666666666666666], [0.8333333333333335], [0.8],
          [0.8333333333333335], [0.8666666666666666], [0.9], [0.8666666666666667],
          [0.8333333333333334]]),
    'CyclicLR_tri2':
        ([[0.01], [0.055], [0.09999999999999999], [0.06999999999999999], [0.039999999999999994],
          [0.01], [0.03250000000000002], [0.055], [0.039999999999999994], [0.025000000000000015],
          [0.01], [0.021250000000000012], [0.0325], [0.024999999999999998], [0.01750000000000001],
          [0.01], [0.015625000000000007]],
         [[0.9], [0.8500000000000001], [0.8], [0.8333333333333334], [0.8666666666666667], [0.9],
          [0.875], [0.8500000000000001], [0.8666666666666667], [0.8833333333333333], [0.9],
          [0.8875000000000001], [0.875], [0.8833333333333334], [0.8916666666666667], [0.9],
          [0.89375]]),
    'CyclicLR_exp':
        [[0.01], [0.03700000000000001], [0.0586], [0.07561000000000001], [0.04936600000000002],
         [0.027714699999999988], [0.01], [0.02434890700000003], [0.03582803259999999],
         [0.04486784401000001], [0.03092070640599999], [0.019414317882700018], [0.01],
         [0.017625597484986995], [0.023726075472976615]],
    'LinearLR':
        [[0.025], [0.043750000000000004], [0.06250000000000001], [0.08125000000000002],
         [0.10000000000000002], [0.10000000000000002], [0.10000000000000002],
         [0.10000000000000002]],
    'ConstantLR':
        [[0.05], [0.05], [0.05], [0.1], [0.1], [0.1]],
    'PolynomialLR':
        [[0.1], [0.06944444444444446], [0.04444444444444447], [0.02500000000000001],
         [0.011111111111111117], [0.0027777777777777775], [0.0], [0.0], [0.0]],
    'LambdaLR':
        [[0.1, 0.2], [0.095, 0.1], [0.09025, 0.06666666666666667], [0.0857375, 0.05],
         [0.081450625, 0.04000000000000001], [0.07737809374999999, 0.03333333333333333],
         [0.07350918906249998, 0.02857142857142857]],
    'MultiplicativeLR':
        [[0.1], [0.09000000000000001], [0.08100000000000002], [0.07290000000000002],
         [0.06561000000000002], [0.05904900000000002]],
    'SequentialLR':
        [[0.010000000000000002], [0.04], [0.07], [0.1], [0.09000000000000001],
         [0.08100000000000002], [0.07290000000000002], [0.06561000000000002],
         [0.05904900000000002]],
    'SequentialLR3':
        [[0.05], [0.05], [0.1], [0.08535533905932738], [0.05], [0.014644660940672627], [0.1], [0.1],
         [0.05], [0.05], [0.025], [0.025], [0.0125]],
    'ChainedScheduler':
        [[0.010000000000000002], [0.009000000000000003], [0.08100000000000003],
         [0.07290000000000003], [0.06561000000000003], [0.059049000000000025]],
    'Plateau_min':
        [[0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.05, 0.1], [0.05, 0.1], [0.05, 0.1],
         [0.05, 0.1], [0.025, 0.05], [0.025, 0.05], [0.025, 0.05], [0.0125, 0.025], [0.0125, 0.025],
         [0.0125, 0.025]],
    'Plateau_cool':
        [[0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.05, 0.1], [0.05, 0.1], [0.05, 0.1], [0.05, 0.1],
         [0.025, 0.05], [0.025, 0.05], [0.025, 0.05], [0.025, 0.05], [0.02, 0.05], [0.02, 0.05],
         [0.02, 0.05]],
    'Plateau_max_abs':
        [[0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.1, 0.2], [0.1, 0.2],
         [0.010000000000000002, 0.020000000000000004], [0.010000000000000002, 0.020000000000000004],
         [0.0010000000000000002, 0.0020000000000000005]],
}


def _opt(kind="SGD", groups=1):
    ps = [kt.zeros(1, requires_grad=True) for _ in range(groups)]
    pg = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(ps)]
    if kind == "SGD":
        return SGD(pg, lr=0.1, momentum=0.9)
    return Adam(pg, lr=0.1)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _run(opt, sched, n, momentum=False):
    lrs, moms = [list(sched.get_last_lr())], [_momenta(opt)]
    for _ in range(n):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append(_momenta(opt))
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    return (lrs, moms) if momentum else lrs


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12, atol=0)


CASES = {
    "StepLR": (2, "SGD", lambda o: L.StepLR(o, step_size=3, gamma=0.5), 10, False),
    "MultiStepLR": (1, "SGD", lambda o: L.MultiStepLR(o, [2, 5, 5, 8], gamma=0.1), 10, False),
    "ExponentialLR": (1, "SGD", lambda o: L.ExponentialLR(o, 0.9), 6, False),
    "CosineAnnealingLR": (2, "SGD", lambda o: L.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
                          16, False),
    "CosineAnnealingWarmRestarts": (1, "SGD", lambda o: L.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001), 15, False),
    "OneCycleLR": (1, "SGD", lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=12), 12, True),
    "OneCycleLR_3p_lin": (2, "Adam", lambda o: L.OneCycleLR(
        o, max_lr=[0.1, 0.2], total_steps=15, three_phase=True, anneal_strategy="linear",
        pct_start=0.25), 15, True),
    "CyclicLR_tri": (1, "SGD", lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3), 14, True),
    "CyclicLR_tri2": (1, "Adam", lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=2,
                                                      step_size_down=3, mode="triangular2"),
                      16, True),
    "CyclicLR_exp": (1, "SGD", lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                    mode="exp_range", gamma=0.9,
                                                    cycle_momentum=False), 14, False),
    "LinearLR": (1, "SGD", lambda o: L.LinearLR(o, start_factor=0.25, total_iters=4), 7, False),
    "ConstantLR": (1, "SGD", lambda o: L.ConstantLR(o, factor=0.5, total_iters=3), 5, False),
    "PolynomialLR": (1, "SGD", lambda o: L.PolynomialLR(o, total_iters=6, power=2.0), 8, False),
    "LambdaLR": (2, "SGD", lambda o: L.LambdaLR(o, [lambda e: 0.95 ** e,
                                                    lambda e: 1.0 / (e + 1)]), 6, False),
    "MultiplicativeLR": (1, "SGD", lambda o: L.MultiplicativeLR(o, lambda e: 0.9), 5, False),
    "SequentialLR": (1, "SGD", lambda o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=3), L.ExponentialLR(o, 0.9)],
        milestones=[3]), 8, False),
    "SequentialLR3": (1, "SGD", lambda o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.5, total_iters=2), L.CosineAnnealingLR(o, T_max=4),
            L.StepLR(o, 2, 0.5)], milestones=[2, 6]), 12, False),
    "ChainedScheduler": (1, "SGD", lambda o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, 0.9)]), 5, False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sequence_matches_pytorch(name):
    groups, kind, make, n, momentum = CASES[name]
    opt = _opt(kind, groups)
    got = _run(opt, make(opt), n, momentum)
    if momentum:
        _close(got[0], REF[name][0])
        _close(got[1], REF[name][1])
    else:
        _close(got, REF[name])


@pytest.mark.parametrize("name,T_mult,epochs", [
    ("CAWR_frac", 2, [0.5, 1.0, 2.5, 3.0, 4.25, 8.9, 9.0, 20.5]),
    ("CAWR_frac_mult1", 1, [0.5, 3.5, 4.0, 5.5, 9.25])])
def test_warm_restarts_fractional_epochs(name, T_mult, epochs):
    opt = _opt()
    if T_mult == 2:
        s = L.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)
    else:
        s = L.CosineAnnealingWarmRestarts(opt, T_0=4, eta_min=0.0)
    got = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in epochs:
            opt.step()
            s.step(e)
            got.append(s.get_last_lr()[0])
    _close(got, REF[name])


# ---------------------------------------------------------------------- closed forms


def test_closed_forms():
    opt = _opt()
    s = L.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    for e in range(1, 11):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(
            0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * e / 10)) / 2, rel=1e-12)
    opt = _opt()
    s = L.StepLR(opt, step_size=4, gamma=0.3)
    for e in range(1, 13):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(0.1 * 0.3 ** (e // 4), rel=1e-12)
    opt = _opt()
    s = L.PolynomialLR(opt, total_iters=5, power=3.0)
    for e in range(1, 8):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(0.1 * (1 - min(e, 5) / 5) ** 3, abs=1e-15)
    opt = _opt()
    s = L.LinearLR(opt, start_factor=0.2, end_factor=0.8, total_iters=6)
    for e in range(1, 9):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(0.1 * (0.2 + 0.6 * min(e, 6) / 6),
                                                   rel=1e-12)


def test_step_with_epoch_uses_closed_form():
    opt = _opt()
    s = L.ExponentialLR(opt, 0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        s.step(3)
    assert s.get_last_lr()[0] == pytest.approx(0.1 * 0.5 ** 3)
    assert s.last_epoch == 3


def test_onecycle_shape():
    opt = _opt()
    s = L.OneCycleLR(opt, max_lr=1.0, total_steps=100, div_factor=10, final_div_factor=100)
    lrs = [s.get_last_lr()[0]]
    for _ in range(99):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
    assert lrs[0] == pytest.approx(0.1)
    assert max(lrs) == pytest.approx(1.0)
    assert int(np.argmax(lrs)) == 29  # end of the warm-up phase: pct_start * total - 1
    assert lrs[-1] == pytest.approx(0.1 / 100)
    with pytest.raises(ValueError, match="Tried to step 101 times"):
        opt.step()
        s.step()
        opt.step()
        s.step()


# ---------------------------------------------------------------------- base behaviour


def test_initial_lr_and_resume_needs_it():
    opt = _opt()
    L.StepLR(opt, 2)
    assert opt.param_groups[0]["initial_lr"] == 0.1
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(_opt(), 2, last_epoch=3)


def test_warns_when_stepped_before_optimizer():
    opt = _opt()
    s = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    opt = _opt()
    s = L.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()


def test_get_lr_outside_step_warns():
    opt = _opt()
    s = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR",
                                  "CyclicLR_tri", "SequentialLR", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts", "LambdaLR"])
def test_state_dict_round_trip(name, tmp_path):
    groups, kind, make, n, _ = CASES[name]
    opt_a = _opt(kind, groups)
    sa = make(opt_a)
    for _ in range(n // 2):
        opt_a.step()
        sa.step()
    sd = sa.state_dict()
    assert "optimizer" not in sd
    kt.save({"sched": sd, "opt": opt_a.state_dict()}, tmp_path / "s.kt")
    loaded = kt.load(tmp_path / "s.kt")
    opt_b = _opt(kind, groups)
    sb = make(opt_b)
    opt_b.load_state_dict(loaded["opt"])
    sb.load_state_dict(loaded["sched"])
    assert getattr(sb, "last_epoch", None) == getattr(sa, "last_epoch", None)
    for _ in range(n - n // 2):
        opt_a.step()
        sa.step()
        opt_b.step()
        sb.step()
        assert sb.get_last_lr() == sa.get_last_lr()
        assert _momenta(opt_b) == _momenta(opt_a)


# ---------------------------------------------------------------------- ReduceLROnPlateau

M = [1.0, 0.9, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]


@pytest.mark.parametrize("name,metrics,kwargs", [
    ("Plateau_min", M, dict(patience=2, factor=0.5)),
    ("Plateau_cool", M, dict(patience=1, factor=0.5, cooldown=2, min_lr=[0.02, 0.05])),
    ("Plateau_max_abs", [1, 2, 2.05, 2.5, 2.5, 2.55, 2.6, 2.6],
     dict(mode="max", patience=1, threshold=0.1, threshold_mode="abs")),
])
def test_plateau_matches_pytorch(name, metrics, kwargs):
    opt = _opt(groups=2)
    s = L.ReduceLROnPlateau(opt, **kwargs)
    got = []
    for m in metrics:
        opt.step()
        s.step(m)
        got.append(list(s.get_last_lr()))
    _close(got, REF[name])


def test_plateau_behaviour():
    opt = _opt()
    s = L.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, threshold=0.1,
                            threshold_mode="rel", cooldown=1, min_lr=0.02, eps=1e-8)
    lr = lambda: opt.param_groups[0]["lr"]  # noqa: E731
    s.step(1.0)  # best = 1.0
    s.step(0.95)  # not 10% better: bad epoch 1
    s.step(0.95)  # bad epoch 2
    assert lr() == 0.1
    s.step(0.95)  # bad epoch 3 > patience: reduce, cooldown 1
    assert lr() == pytest.approx(0.05)
    s.step(0.95)  # in cooldown: not counted
    s.step(0.95)
    s.step(0.95)
    assert lr() == pytest.approx(0.05)
    s.step(0.95)
    assert lr() == pytest.approx(0.025)
    for _ in range(8):
        s.step(0.95)
    assert lr() == pytest.approx(0.02)  # clamped at min_lr
    s.step(kt.tensor(0.5))  # a tensor metric is accepted: a new best
    assert s.best == 0.5 and s.num_bad_epochs == 0
    sd = s.state_dict()
    s2 = L.ReduceLROnPlateau(_opt())
    s2.load_state_dict(sd)
    assert s2.best == 0.5 and s2.patience == 2 and s2.mode == "min"


def test_plateau_errors():
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(_opt(), factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        L.ReduceLROnPlateau(_opt(), mode="avg")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        L.ReduceLROnPlateau(_opt(groups=1), min_lr=[0.1, 0.2])


def test_argument_errors():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), 2)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        L.CosineAnnealingWarmRestarts(_opt(), T_0=0)
    with pytest.raises(ValueError, match="total_steps OR"):
        L.OneCycleLR(_opt(), max_lr=0.1)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        o = _opt()
        L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3])
    with pytest.raises(ValueError, match="support momentum or beta1"):
        from ktrain.optim import Adagrad
        o = Adagrad([kt.zeros(1, requires_grad=True)])
        L.OneCycleLR(o, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        L.OneCycleLR(_opt(), max_lr=[0.1, 0.2], total_steps=10)


# ---------------------------------------------------------------------- SWALR

SWALR_REF = {  # PyTorch 2.13, torch.optim.swa_utils.SWALR, groups with lr 0.1 and 0.2
    "cos": [[0.1, 0.2], [0.09267766952966369, 0.17803300858899107], [0.075, 0.125],
            [0.057322330470336316, 0.07196699141100894]] + [[0.05, 0.05]] * 4,
    "lin": [[0.1, 0.2], [0.08333333333333334, 0.1366666666666667],
            [0.06666666666666668, 0.07333333333333335]] + [[0.05, 0.01]] * 5,
    "zero": [[0.02, 0.02]] * 8,
}


@pytest.mark.parametrize("name,kwargs", [
    ("cos", dict(swa_lr=0.05, anneal_epochs=4)),
    ("lin", dict(swa_lr=[0.05, 0.01], anneal_epochs=3, anneal_strategy="linear")),
    ("zero", dict(swa_lr=0.02, anneal_epochs=0))])
def test_swalr_matches_pytorch(name, kwargs, tmp_path):
    from ktrain.optim.swa_utils import SWALR

    opt = _opt(groups=2)
    s = SWALR(opt, **kwargs)
    _close(_run(opt, s, 7), SWALR_REF[name])
    kt.save(s.state_dict(), tmp_path / "swalr.kt")
    s2 = SWALR(_opt(groups=2), **kwargs)
    s2.load_state_dict(kt.load(tmp_path / "swalr.kt"))
    assert s2._step_count == s._step_count and s2.anneal_func(0.5) == s.anneal_func(0.5)
