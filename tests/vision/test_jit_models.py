"""Every vision model traces (ktrain.jit), runs at another batch size, and survives
save -> load (a file that loads without the plugin's code) with identical outputs."""
import io

import ktrain
import numpy as np
import pytest
from ktrain_vision import models as M


@pytest.mark.parametrize("name,kwargs,shape", [
    ("resnet20", {}, (2, 3, 16, 16)),
    ("resnet32", {"shortcut": "B"}, (2, 3, 16, 16)),
    ("resnet18", {}, (2, 3, 32, 32)),
    ("vgg11_bn", {"init_weights": False}, (1, 3, 32, 32)),
    ("mobilenet_v2", {"width_mult": 0.35}, (2, 3, 32, 32)),
    ("lenet5", {}, (2, 1, 28, 28)),
    ("convnet", {}, (2, 3, 32, 32)),
])
def test_traced_model_matches_eager_and_round_trips(name, kwargs, shape):
    ktrain.manual_seed(0)
    model = M.get_model(name, num_classes=7, **kwargs).eval()
    traced = ktrain.jit.trace(model, ktrain.randn(*shape))
    x = ktrain.randn(3, *shape[1:])
    with ktrain.no_grad():
        want = model(x).numpy()
        np.testing.assert_allclose(traced(x).numpy(), want, rtol=1e-4, atol=1e-5)
        buf = io.BytesIO()
        ktrain.jit.save(traced, buf)
        buf.seek(0)
        loaded = ktrain.jit.load(buf)
        np.testing.assert_allclose(loaded(x).numpy(), traced(x).numpy(), rtol=1e-5, atol=1e-6)
    assert sorted(loaded.state_dict()) == sorted(model.state_dict())


def test_loaded_in_a_process_without_the_plugin(tmp_path):
    import subprocess
    import sys

    ktrain.manual_seed(0)
    model = M.get_model("resnet20", num_classes=4).eval()
    traced = ktrain.jit.trace(model, ktrain.randn(2, 3, 16, 16))
    ktrain.jit.save(traced, tmp_path / "r20.kt")
    x = ktrain.randn(3, 3, 16, 16)
    np.save(tmp_path / "x.npy", x.numpy())
    with ktrain.no_grad():
        np.save(tmp_path / "want.npy", model(x).numpy())
    code = (
        "import sys, numpy as np, ktrain\n"
        f"m = ktrain.jit.load({str(tmp_path / 'r20.kt')!r})\n"
        f"x = ktrain.from_numpy(np.load({str(tmp_path / 'x.npy')!r}))\n"
        "with ktrain.no_grad():\n"
        "    y = m(x).numpy()\n"
        f"np.testing.assert_allclose(y, np.load({str(tmp_path / 'want.npy')!r}), rtol=1e-4, "
        "atol=1e-5)\n"
        "bad = sorted(k for k in sys.modules if k.startswith('ktrain_'))\n"
        "assert not bad, bad\n"
        "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
