"""Issue 13 layout of the random, FFT and serialization code: the samplers and the FFT
ops live in ``ops/``; ``ktrain.random`` (the generators), ``ktrain.fft`` and
``ktrain.serialization`` keep every public name they had, as the same objects."""
import pathlib
import re

import pytest

import ktrain as kt
import ktrain.fft as F
import ktrain.ops.fft as OF
import ktrain.ops.random as OR
import ktrain.ops.random_inplace as ORI
import ktrain.ops.spectral as OS
import ktrain.random as R
import ktrain.serialization as S

ROOT = pathlib.Path(kt.__file__).parent

SAMPLERS = ["bernoulli", "multinomial", "normal", "poisson", "rand", "rand_like", "randint",
            "randint_like", "randn", "randn_like", "randperm"]
INPLACE = ["bernoulli_", "cauchy_", "exponential_", "geometric_", "log_normal_", "normal_",
           "random_", "uniform_"]
STATE = ["Generator", "default_generator", "default_generator_for", "fork_rng",
         "get_rng_state", "initial_seed", "manual_seed", "seed", "set_rng_state"]
FFT = ["complex", "fft", "fft2", "fftfreq", "fftn", "fftshift", "ifft", "ifft2", "ifftn",
       "ifftshift", "irfft", "irfft2", "irfftn", "magnitude", "rfft", "rfft2", "rfftfreq",
       "rfftn"]
SERIALIZATION = ["FORMAT_NAME", "FORMAT_VERSION", "SerializationError", "atomic_write_text",
                 "json_dumps", "load", "load_file", "save", "save_file"]


@pytest.mark.parametrize("name", SAMPLERS)
def test_samplers_live_in_ops_random(name):
    fn = getattr(OR, name)
    assert getattr(R, name) is fn and fn.__module__ == "ktrain.ops.random"
    assert getattr(kt, name) is fn


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_samplers_are_tensor_methods(name):
    fn = getattr(ORI, name)
    assert getattr(R, name) is fn and getattr(kt.Tensor, name) is fn
    assert fn.__module__ == "ktrain.ops.random_inplace"


def test_tensor_bernoulli_multinomial_methods():
    assert kt.Tensor.bernoulli is ORI._tensor_bernoulli
    assert kt.Tensor.multinomial is ORI._tensor_multinomial


def test_random_keeps_state_and_all():
    for name in STATE:
        assert getattr(R, name).__module__ == "ktrain.random" or name == "default_generator"
    for name in ("Generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
                 "set_rng_state", "default_generator"):
        assert getattr(kt, name) is getattr(R, name)
    assert R.Generator.__module__ == "ktrain.random"
    assert set(R.__all__) == set(SAMPLERS) | set(STATE) - {"default_generator_for"}
    assert OR.default_generator_for is R.default_generator_for and OR.Generator is R.Generator


def test_fft_namespace_is_ops_fft():
    assert kt.fft is F
    assert sorted(F.__all__) == sorted(OF.__all__) == FFT
    for name in FFT:
        assert getattr(F, name) is getattr(OF, name)
    assert OS._fft is OF  # stft/istft run the ops of ops/fft.py


def test_spectral_names():
    for name in OS.__all__:
        assert getattr(kt, name) is getattr(OS, name)


def test_serialization_names():
    assert sorted(S.__all__) == SERIALIZATION
    for name in SERIALIZATION:
        assert hasattr(S, name)
    assert kt.save is S.save and kt.load is S.load
    assert S.SerializationError.__module__ == "ktrain.serialization"
    # the helpers are private modules of the package, so the target policy's
    # "ktrain.serialization" machinery prefix still covers them
    for name in ("atomic_write_text", "json_dumps"):
        assert getattr(S, name).__module__.startswith("ktrain.serialization.")


_ALLOWED_TOP = {"_backend", "_tensor", "creation", "random", "autograd"}
_MINE = ["ops/random.py", "ops/random_inplace.py", "ops/fft.py", "ops/spectral.py"]


@pytest.mark.parametrize("rel", _MINE)
def test_ops_files_import_only_the_bottom_layers(rel):
    src = (ROOT / rel).read_text()
    tops = set(re.findall(r"^\s*from \.\.([A-Za-z_]\w*)", src, re.M))
    tops |= set(re.findall(r"^\s*from \.\. import ([A-Za-z_]\w*)", src, re.M))
    assert tops <= _ALLOWED_TOP, f"{rel} imports {sorted(tops - _ALLOWED_TOP)}"
    assert "import ktrain" not in src and "cupy" not in re.sub(r"#.*|\"\"\"[\s\S]*?\"\"\"",
                                                                "", src)


def test_spectral_never_imports_public_fft():
    src = (ROOT / "ops/spectral.py").read_text()
    assert not re.search(r"from \.\. import fft|from \.\.fft|ktrain\.fft import", src)


@pytest.mark.parametrize("rel", ["random.py", "fft.py", "ops/random.py", "ops/random_inplace.py",
                                 "ops/fft.py", "ops/spectral.py", "serialization/__init__.py",
                                 "serialization/_files.py", "serialization/_encode.py",
                                 "serialization/_decode.py"])
def test_file_sizes(rel):
    assert len((ROOT / rel).read_text().splitlines()) < 550


def test_import_order_does_not_matter():
    # ops.random and ktrain.random import each other; either may be imported first
    import subprocess
    import sys

    code = ("import sys\n"
            "import ktrain\n"
            "for m in ('ktrain.random', 'ktrain.ops.random', 'ktrain.ops.random_inplace'):\n"
            "    del sys.modules[m]\n"
            "import ktrain.ops.random as o\n"  # the sampling ops first this time
            "r = sys.modules['ktrain.random']\n"
            "assert r.rand is o.rand and o.Generator is r.Generator\n"
            "assert r.uniform_ is ktrain.Tensor.uniform_\n"
            "o.rand(2); ktrain.zeros(2).normal_()\n")
    subprocess.run([sys.executable, "-c", code], check=True)
