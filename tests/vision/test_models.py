"""ktrain_vision.models: torchvision's parameter counts and exact state_dict keys, forward
shapes, init, a backward smoke test and ``weights=PATH`` loading."""
import ktrain
import numpy as np
import pytest
from ktrain import nn
from ktrain.serialization import save_file
from ktrain_vision import models as M


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def bn(prefix):
    return [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var",
                                      "num_batches_tracked")]


# ---------------------------------------------------- torchvision's key lists, written out
def torchvision_resnet_keys(layers, bottleneck):
    """The state_dict keys of torchvision.models.resnet* (conv1, bn1, layerS.B.convI/bnI,
    the first block's downsample.0/1, fc), in torchvision's order."""
    keys = ["conv1.weight", *bn("bn1")]
    for stage, blocks in enumerate(layers, start=1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            for i in range(1, 4 if bottleneck else 3):
                keys += [f"{p}.conv{i}.weight", *bn(f"{p}.bn{i}")]
            if b == 0 and (stage > 1 or bottleneck):
                keys += [f"{p}.downsample.0.weight", *bn(f"{p}.downsample.1")]
    return keys + ["fc.weight", "fc.bias"]


#: torchvision's features.N indices of the convolutions of VGG-16 (BN follows at N+1).
VGG16_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
VGG16_BN_CONVS = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]


def torchvision_vgg_keys(convs, batch_norm):
    keys = []
    for i in convs:
        keys += [f"features.{i}.weight", f"features.{i}.bias"]
        if batch_norm:
            keys += bn(f"features.{i + 1}")
    for i in (0, 3, 6):
        keys += [f"classifier.{i}.weight", f"classifier.{i}.bias"]
    return keys


def torchvision_mobilenet_v2_keys():
    keys = ["features.0.0.weight", *bn("features.0.1")]
    keys += ["features.1.conv.0.0.weight", *bn("features.1.conv.0.1"),
             "features.1.conv.1.weight", *bn("features.1.conv.2")]
    for f in range(2, 18):
        p = f"features.{f}.conv"
        keys += [f"{p}.0.0.weight", *bn(f"{p}.0.1"), f"{p}.1.0.weight", *bn(f"{p}.1.1"),
                 f"{p}.2.weight", *bn(f"{p}.3")]
    return keys + ["features.18.0.weight", *bn("features.18.1"),
                   "classifier.1.weight", "classifier.1.bias"]


@pytest.fixture(scope="module")
def r18():
    return M.resnet18()


@pytest.fixture(scope="module")
def r50():
    return M.resnet50()


def test_resnet18_keys_shapes_and_count(r18):
    sd = r18.state_dict()
    assert list(sd) == torchvision_resnet_keys([2, 2, 2, 2], bottleneck=False)
    assert len(sd) == 122
    assert n_params(r18) == 11_689_512
    assert tuple(sd["conv1.weight"].shape) == (64, 3, 7, 7)
    assert tuple(sd["layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1)
    assert tuple(sd["layer4.1.conv2.weight"].shape) == (512, 512, 3, 3)
    assert tuple(sd["fc.weight"].shape) == (1000, 512)
    assert sd["bn1.num_batches_tracked"].dtype == ktrain.int64


def test_resnet50_keys_shapes_and_count(r50):
    sd = r50.state_dict()
    assert list(sd) == torchvision_resnet_keys([3, 4, 6, 3], bottleneck=True)
    assert len(sd) == 320
    assert n_params(r50) == 25_557_032
    # torchvision's "V1.5": the stride sits on the 3x3 conv
    assert r50.layer2[0].conv2.stride == (2, 2) and r50.layer2[0].conv1.stride == (1, 1)
    assert tuple(sd["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
    assert tuple(sd["layer3.0.conv2.weight"].shape) == (256, 256, 3, 3)
    assert tuple(sd["fc.weight"].shape) == (1000, 2048)


@pytest.mark.parametrize("name,count,layers,bottleneck", [
    ("resnet34", 21_797_672, [3, 4, 6, 3], False),
    ("resnet101", 44_549_160, [3, 4, 23, 3], True),
    pytest.param("resnet152", 60_192_808, [3, 8, 36, 3], True, marks=pytest.mark.slow),
])
def test_deeper_resnets(name, count, layers, bottleneck):
    model = M.get_model(name)
    assert n_params(model) == count
    assert list(model.state_dict()) == torchvision_resnet_keys(layers, bottleneck)


def test_vgg16_keys_and_count():
    model = M.vgg16(init_weights=False)  # torchvision's init of 138M weights is slow here
    sd = model.state_dict()
    assert list(sd) == torchvision_vgg_keys(VGG16_CONVS, batch_norm=False)
    assert n_params(model) == 138_357_544
    assert tuple(sd["classifier.0.weight"].shape) == (4096, 25088)
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d)


def test_vgg16_bn_keys_and_count():
    model = M.vgg16_bn(num_classes=10, init_weights=False)
    assert list(model.state_dict()) == torchvision_vgg_keys(VGG16_BN_CONVS, batch_norm=True)
    assert n_params(model) == 138_365_992 - 4097 * 990  # fc 4096 -> 10 instead of 1000


@pytest.mark.slow
@pytest.mark.parametrize("name,count", [
    ("vgg11", 132_863_336), ("vgg11_bn", 132_868_840), ("vgg13", 133_047_848),
    ("vgg13_bn", 133_053_736), ("vgg16_bn", 138_365_992), ("vgg19", 143_667_240),
    ("vgg19_bn", 143_678_248)])
def test_vgg_counts(name, count):
    assert n_params(M.get_model(name, init_weights=False)) == count


def test_mobilenet_v2_keys_and_count():
    model = M.mobilenet_v2()
    sd = model.state_dict()
    assert list(sd) == torchvision_mobilenet_v2_keys()
    assert len(sd) == 314
    assert n_params(model) == 3_504_872
    assert tuple(sd["features.2.conv.1.0.weight"].shape) == (96, 1, 3, 3)  # depthwise
    assert tuple(sd["classifier.1.weight"].shape) == (1000, 1280)
    assert n_params(M.mobilenet_v2(width_mult=0.5)) == 1_968_680  # torchvision's width 0.5


@pytest.mark.parametrize("name,count", [
    ("resnet20", 269_722), ("resnet32", 464_154), ("resnet44", 658_586),
    ("resnet56", 853_018), ("resnet110", 1_727_962)])
def test_cifar_resnet_counts_option_a(name, count):
    # He et al. 2016 table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M (option A has no
    # shortcut parameters)
    assert n_params(M.get_model(name)) == count


def test_cifar_resnet_structure():
    a = M.resnet20()
    assert len(a.layer1) == len(a.layer2) == len(a.layer3) == 3
    assert not any("downsample" in k for k in a.state_dict())
    b = M.resnet20(shortcut="B", in_channels=1, num_classes=7)
    sd = b.state_dict()
    assert tuple(sd["layer2.0.downsample.0.weight"].shape) == (32, 16, 1, 1)
    assert tuple(sd["conv1.weight"].shape) == (16, 1, 3, 3)
    assert tuple(sd["fc.weight"].shape) == (7, 64)
    assert n_params(b) == (269_722 - 650 + 455           # fc: 10 -> 7 classes
                           - 16 * 3 * 9 + 16 * 1 * 9     # conv1: 1 input channel
                           + (16 * 32 + 64) + (32 * 64 + 128))  # two 1x1 projections + BN
    with pytest.raises(ValueError, match="6n"):
        M.CifarResNet(depth=21)
    with pytest.raises(ValueError, match="shortcut"):
        M.resnet20(shortcut="C")


def test_pad_shortcut_values():
    x = ktrain.arange(2 * 16 * 4 * 4, dtype=ktrain.float32).reshape(2, 16, 4, 4)
    y = M.cifar_resnet.PadShortcut(16, 32, 2)(x).detach().numpy()
    assert y.shape == (2, 32, 2, 2)
    np.testing.assert_array_equal(y[:, 8:24], x.detach().numpy()[:, :, ::2, ::2])
    assert not y[:, :8].any() and not y[:, 24:].any()


@pytest.mark.parametrize("name,kwargs,shape", [
    ("resnet20", {}, (2, 3, 32, 32)),
    ("resnet20", {"in_channels": 1}, (2, 1, 8, 8)),       # embedded Digits
    ("resnet32", {"shortcut": "B"}, (2, 3, 16, 16)),
    ("lenet5", {}, (2, 1, 28, 28)),
    ("lenet5", {"input_size": 32}, (2, 1, 32, 32)),
    ("lenet5", {"input_size": 32, "in_channels": 3}, (2, 3, 32, 32)),
    ("convnet", {}, (2, 3, 32, 32)),
    ("convnet", {"in_channels": 1}, (2, 1, 8, 8)),
    ("resnet18", {}, (1, 3, 64, 64)),
    ("resnet18", {"in_channels": 1}, (1, 1, 32, 32)),
    ("mobilenet_v2", {"width_mult": 0.35}, (1, 3, 64, 64)),
])
def test_forward_shapes(name, kwargs, shape):
    model = M.get_model(name, num_classes=7, **kwargs).eval()
    with ktrain.no_grad():
        y = model(ktrain.randn(*shape))
    assert tuple(y.shape) == (shape[0], 7) and y.dtype == ktrain.float32
    assert np.isfinite(y.detach().numpy()).all()


def test_vgg_forward_any_size():
    model = M.vgg11(num_classes=5, init_weights=False).eval()
    with ktrain.no_grad():
        assert tuple(model(ktrain.randn(1, 3, 32, 32)).shape) == (1, 5)


@pytest.mark.parametrize("name,kwargs,shape", [
    ("resnet20", {"in_channels": 1}, (4, 1, 8, 8)),
    ("lenet5", {}, (4, 1, 28, 28)),
    ("mobilenet_v2", {"width_mult": 0.25}, (4, 3, 32, 32)),
])
def test_backward_smoke(name, kwargs, shape):
    # seeded: with an unseeded batch of 2 (BatchNorm over 2 values at MobileNet's 1x1
    # stage) the third step's gradients overflowed on some random draws
    ktrain.manual_seed(0)
    model = M.get_model(name, num_classes=3, **kwargs)
    opt = ktrain.optim.SGD(model.parameters(), lr=0.01)
    x, y = ktrain.randn(*shape), ktrain.tensor([0, 1, 2, 1][:shape[0]])
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        assert all(p.grad is not None and np.isfinite(p.grad.detach().numpy()).all()
                   for p in model.parameters())
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_torchvision_init():
    model = M.resnet18(zero_init_residual=True)
    w = model.layer3[0].conv1.weight.detach().numpy()           # fan_out = 256 * 9
    assert abs(w.std() - np.sqrt(2.0 / (256 * 9))) < 0.05 * np.sqrt(2.0 / (256 * 9))
    assert (model.bn1.weight.detach().numpy() == 1).all()
    assert (model.bn1.bias.detach().numpy() == 0).all()
    assert (model.layer1[0].bn2.weight.detach().numpy() == 0).all()  # zero_init_residual
    assert (M.resnet18().layer1[0].bn2.weight.detach().numpy() == 1).all()
    mb = M.mobilenet_v2(width_mult=0.25)
    assert abs(mb.classifier[1].weight.detach().numpy().std() - 0.01) < 0.001
    assert (mb.classifier[1].bias.detach().numpy() == 0).all()
    assert M.resnet50(zero_init_residual=True).layer1[0].bn3.weight.detach().numpy().max() == 0


def test_list_and_get_model():
    assert M.list_models("vgg16*") == ["vgg16", "vgg16_bn"]
    assert "mobilenet_v2" in M.list_models()
    with pytest.raises(ValueError, match="resnet18"):
        M.get_model("resnet81")


def test_registry_names():
    from ktrain.registry import MODELS

    model = MODELS.build({"name": "resnet20", "num_classes": 4, "in_channels": 1})
    assert isinstance(model, M.CifarResNet) and model.fc.out_features == 4


# ---------------------------------------------------------------------- weights=PATH
def test_weights_round_trip(tmp_path):
    src = M.resnet20(num_classes=10, in_channels=1)
    with ktrain.no_grad():
        src.bn1.running_mean.add_(0.5)
    path = tmp_path / "r20.safetensors"
    save_file(src.state_dict(), str(path))
    dst = M.resnet20(num_classes=10, in_channels=1, weights=str(path))
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[k].detach().numpy(), v.detach().numpy(),
                                      err_msg=k)
    x = ktrain.randn(2, 1, 8, 8)
    src.eval(), dst.eval()
    np.testing.assert_allclose(dst(x).detach().numpy(), src(x).detach().numpy(), rtol=1e-6,
                               atol=1e-6)
    # ktrain.save of a state_dict and a {"model": state_dict} wrapper load as well
    ktrain.save(src.state_dict(), str(tmp_path / "a.safetensors"))
    ktrain.save({"model": src.state_dict()}, str(tmp_path / "b.safetensors"))
    for name in ("a", "b"):
        m = M.resnet20(num_classes=10, in_channels=1, weights=tmp_path / f"{name}.safetensors")
        np.testing.assert_array_equal(m.fc.weight.detach().numpy(),
                                      src.fc.weight.detach().numpy())


def test_weights_from_plain_safetensors_with_module_prefix(tmp_path):
    """A file as safetensors.torch.save_file writes it (no ktrain metadata), with
    DataParallel's ``module.`` prefix and int64 num_batches_tracked."""
    from safetensors.numpy import save_file as np_save_file

    src = M.lenet5()
    arrays = {f"module.{k}": np.ascontiguousarray(v.detach().numpy())
              for k, v in src.state_dict().items()}
    path = tmp_path / "lenet.safetensors"
    np_save_file(arrays, str(path))
    dst = M.lenet5(weights=str(path))
    np.testing.assert_array_equal(dst.conv1.weight.detach().numpy(),
                                  src.conv1.weight.detach().numpy())


def test_weights_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        M.resnet20(weights=str(tmp_path / "nope.safetensors"))
    with pytest.raises(FileNotFoundError, match="IMAGENET1K_V1.*README"):
        M.resnet18(weights="IMAGENET1K_V1")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(ValueError, match="bad.safetensors"):
        M.resnet20(weights=str(bad))
    pickle_like = tmp_path / "model.pth"
    pickle_like.write_bytes(b"PK\x03\x04 a torch zip pickle")
    with pytest.raises(ValueError, match="safetensors.torch.save_file"):
        M.resnet20(weights=str(pickle_like))
    # wrong architecture: missing/unexpected keys and shape mismatches all named at once
    path = tmp_path / "r20.safetensors"
    save_file(M.resnet20(num_classes=10).state_dict(), str(path))
    with pytest.raises(RuntimeError) as e:
        M.resnet20(num_classes=5, weights=str(path))
    assert "r20.safetensors" in str(e.value) and "fc.weight" in str(e.value)
    with pytest.raises(RuntimeError, match="(?s)Missing key.*layer1.3|Unexpected key.*"):
        M.resnet32(num_classes=10, weights=str(path))
    with pytest.raises(TypeError, match="path"):
        M.resnet20(weights=123)
