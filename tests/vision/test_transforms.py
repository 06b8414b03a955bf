"""Transforms: hand-computed expectations, shape/dtype contracts, PIL/tensor agreement,
reproducibility under ktrain.manual_seed, MixUp/CutMix and config specs."""
import ktrain
import numpy as np
import pytest
from ktrain_vision import transforms as T
from ktrain_vision.transforms import functional as F
from PIL import Image


def _arr(t):
    return t.numpy()


def _rgb(h=6, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _t(a):  # HWC uint8 -> CHW uint8 tensor
    return ktrain.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


# ----------------------------------------------------------------------------- conversion
def test_to_tensor_and_pil_to_tensor():
    a = _rgb()
    img = Image.fromarray(a)
    t = T.ToTensor()(img)
    assert t.dtype is ktrain.float32 and tuple(t.shape) == (3, 6, 8)
    np.testing.assert_allclose(_arr(t), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    p = T.PILToTensor()(img)
    assert p.dtype is ktrain.uint8
    np.testing.assert_array_equal(_arr(p), a.transpose(2, 0, 1))
    g = T.ToTensor()(Image.fromarray(a[:, :, 0]))
    assert tuple(g.shape) == (1, 6, 8)
    n = T.ToTensor()(a)  # HWC numpy
    np.testing.assert_allclose(_arr(n), _arr(t))


def test_convert_image_dtype_and_to_dtype():
    u = ktrain.tensor([[[0, 128, 255]]], dtype=ktrain.uint8)
    f = T.ConvertImageDtype(ktrain.float32)(u)
    np.testing.assert_allclose(_arr(f), [[[0, 128 / 255, 1.0]]], rtol=1e-6)
    back = F.convert_image_dtype(f, ktrain.uint8)
    np.testing.assert_array_equal(_arr(back), [[[0, 128, 255]]])
    assert T.ToDtype(ktrain.float32)(u).numpy().max() == 255.0  # no scaling
    assert T.ToDtype("float32", scale=True)(u).numpy().max() == 1.0


def test_normalize():
    x = ktrain.ones(2, 2, 2)
    y = T.Normalize([0.5, 0.25], [0.5, 0.25])(x)
    np.testing.assert_allclose(_arr(y)[0], 1.0)
    np.testing.assert_allclose(_arr(y)[1], 3.0)
    assert y.dtype is ktrain.float32
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0.0], [0.0])(ktrain.ones(1, 2, 2))
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize([0.0], [1.0])(ktrain.ones(1, 2, 2, dtype=ktrain.uint8))
    batch = T.Normalize([1.0], [2.0])(ktrain.ones(4, 1, 3, 3))  # NCHW works too
    np.testing.assert_allclose(_arr(batch), 0.0)


# ----------------------------------------------------------------------------- geometry
def test_flips_pil_and_tensor_agree():
    a = _rgb()
    img, t = Image.fromarray(a), _t(a)
    np.testing.assert_array_equal(_arr(F.hflip(t)), a[:, ::-1].transpose(2, 0, 1))
    np.testing.assert_array_equal(_arr(F.vflip(t)), a[::-1].transpose(2, 0, 1))
    np.testing.assert_array_equal(np.asarray(F.hflip(img)), a[:, ::-1])
    assert _arr(T.RandomHorizontalFlip(p=1.0)(t)).tolist() == _arr(F.hflip(t)).tolist()
    assert T.RandomVerticalFlip(p=0.0)(t) is t


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_modes_match_numpy(mode):
    a = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    out = _arr(F.pad(ktrain.from_numpy(a), [1, 2, 3, 1], fill=0, padding_mode=mode))
    want = np.pad(a, [(0, 0), (2, 1), (1, 3)], mode=mode)
    np.testing.assert_array_equal(out, want)
    pil = F.pad(Image.fromarray(a[0]), [1, 2, 3, 1], padding_mode=mode)
    np.testing.assert_array_equal(np.asarray(pil), want[0])


def test_crop_center_crop_and_out_of_bounds():
    a = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    t = ktrain.from_numpy(a)
    np.testing.assert_array_equal(_arr(F.center_crop(t, 3)), a[:, 1:4, 1:4])
    np.testing.assert_array_equal(_arr(F.crop(t, 1, 2, 2, 2)), a[:, 1:3, 2:4])
    big = _arr(F.center_crop(t, 7))
    assert big.shape == (1, 7, 7) and big[0, 0, 0] == 0 and big[0, 1, 1] == a[0, 0, 0]
    outside = _arr(F.crop(t, -1, -1, 3, 3))
    np.testing.assert_array_equal(outside[0, 1:, 1:], a[0, :2, :2])
    assert outside[0, 0].sum() == 0


def test_random_crop_padding_and_pad_if_needed():
    ktrain.manual_seed(0)
    a = np.arange(16, dtype=np.uint8).reshape(1, 4, 4) + 1
    t = ktrain.from_numpy(a)
    for _ in range(10):
        out = _arr(T.RandomCrop(4, padding=1)(t))
        assert out.shape == (1, 4, 4)
        padded = np.pad(a, [(0, 0), (1, 1), (1, 1)])
        windows = [padded[:, i:i + 4, j:j + 4] for i in range(3) for j in range(3)]
        assert any((out == w).all() for w in windows)
    out = T.RandomCrop(6, pad_if_needed=True, padding_mode="edge")(t)
    assert tuple(out.shape) == (1, 6, 6)
    with pytest.raises(ValueError, match="larger than the input"):
        T.RandomCrop(6)(t)
    pil = T.RandomCrop(3, padding=2)(Image.fromarray(a[0]))
    assert pil.size == (3, 3)


def test_resize_sizes_and_values():
    t = ktrain.ones(3, 4, 8)
    assert tuple(F.resize(t, 2).shape) == (3, 2, 4)           # shorter side
    assert tuple(F.resize(t, [3, 5]).shape) == (3, 3, 5)
    assert tuple(F.resize(t, 2, max_size=3).shape) == (3, 1, 3)
    np.testing.assert_allclose(_arr(F.resize(t, [7, 9])), 1.0, rtol=1e-6)  # constant stays
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    for size in ([2, 2], [3, 7], [9, 5]):  # PIL's float images are the reference filters
        for mode in ("bilinear", "bicubic"):
            ours = _arr(F.resize(ktrain.from_numpy(a), size, mode))[0]
            pil = np.asarray(Image.fromarray(a[0], mode="F").resize(
                size[::-1], F._PIL_MODES[F.InterpolationMode(mode)]))
            np.testing.assert_allclose(ours, pil, rtol=1e-4, atol=1e-4)
    near = _arr(F.resize(ktrain.from_numpy(a), [2, 2], interpolation="nearest"))
    np.testing.assert_array_equal(near[0], a[0, ::2, ::2])


def test_resize_tensor_close_to_pil():
    a = _rgb(20, 30, seed=3)
    for size in ([10, 15], [40, 33]):
        for mode in ("bilinear", "bicubic"):
            ten = _arr(F.resize(_t(a), size, mode))
            assert ten.dtype == np.uint8
            # PIL's float filter, clipped: our uint8 result is its rounding
            ref = np.stack([np.asarray(Image.fromarray(a[:, :, c].astype(np.float32), "F")
                                       .resize(size[::-1], F._PIL_MODES[F._interp(mode)]))
                            for c in range(3)])
            assert np.abs(np.clip(ref, 0, 255) - ten).max() <= 0.51
            if mode == "bilinear":  # PIL's own 8-bit path agrees to 1 level
                pil = np.asarray(F.resize(Image.fromarray(a), size, mode)).transpose(2, 0, 1)
                assert np.abs(pil.astype(int) - ten.astype(int)).max() <= 1


def test_rotate_and_affine():
    a = np.arange(16, dtype=np.uint8).reshape(1, 4, 4)
    t = ktrain.from_numpy(a)
    np.testing.assert_array_equal(_arr(F.rotate(t, 90.0))[0], np.rot90(a[0]))  # CCW
    np.testing.assert_array_equal(np.asarray(F.rotate(Image.fromarray(a[0]), 90.0)),
                                  np.rot90(a[0]))
    ident = F.affine(t, 0.0, [0, 0], 1.0, [0.0, 0.0])
    np.testing.assert_array_equal(_arr(ident), a)
    moved = _arr(F.affine(t, 0.0, [1, 0], 1.0, [0.0, 0.0]))[0]
    np.testing.assert_array_equal(moved[:, 1:], a[0, :, :3])
    assert (moved[:, 0] == 0).all()
    pil_moved = np.asarray(F.affine(Image.fromarray(a[0]), 0.0, [1, 0], 1.0, [0.0, 0.0]))
    np.testing.assert_array_equal(pil_moved, moved)
    big = F.rotate(ktrain.ones(1, 4, 8), 90.0, expand=True)
    assert tuple(big.shape) == (1, 8, 4)
    bil = _arr(F.rotate(ktrain.ones(1, 5, 5), 45.0, interpolation="bilinear", fill=1.0))
    np.testing.assert_allclose(bil, 1.0, rtol=1e-6)


@pytest.mark.parametrize("args", [(30, [0, 0], 1.0, [0, 0]), (-45, [1, 1], 0.8, [10, -7]),
                                  (10, [2, -3], 1.2, [5, 0])])
def test_affine_tensor_matches_pil(args):
    a = np.random.default_rng(0).integers(0, 256, (17, 23), dtype=np.uint8)
    t = ktrain.from_numpy(a[None].copy())
    p = np.asarray(F.affine(Image.fromarray(a), *args)).astype(int)
    q = _arr(F.affine(t, *args))[0].astype(int)
    assert (p != q).mean() < 0.005  # nearest: same pixels (rare ties at .5 differ)
    p = np.asarray(F.affine(Image.fromarray(a), *args, interpolation="bilinear")).astype(int)
    q = _arr(F.affine(t, *args, interpolation="bilinear"))[0].astype(int)
    inside = _arr(F.affine(ktrain.ones(1, 17, 23), *args, interpolation="bilinear"))[0] > 0.999
    assert np.abs(p - q)[inside].max() <= 1  # borders: blended with fill, as torchvision


def test_random_resized_crop_and_random_affine_shapes():
    ktrain.manual_seed(1)
    a = _rgb(12, 16)
    for img in (Image.fromarray(a), _t(a), T.ToTensor()(Image.fromarray(a))):
        out = T.RandomResizedCrop(8)(img)
        assert F.get_dimensions(out) == [3, 8, 8]
        out = T.RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=10)(img)
        assert F.get_dimensions(out) == [3, 12, 16]
        out = T.RandomRotation(15, expand=False)(img)
        assert F.get_dimensions(out) == [3, 12, 16]


# ----------------------------------------------------------------------------- colour
def test_grayscale_weights():
    a = np.zeros((1, 1, 3), np.float32)
    a[..., 0], a[..., 1], a[..., 2] = 1.0, 0.5, 0.25
    t = ktrain.from_numpy(a.transpose(2, 0, 1).copy())
    g = _arr(F.rgb_to_grayscale(t))
    np.testing.assert_allclose(g, [[[0.2989 + 0.5 * 0.587 + 0.25 * 0.114]]], rtol=1e-6)
    assert tuple(T.Grayscale(3)(t).shape) == (3, 1, 1)
    assert T.Grayscale()(Image.fromarray(_rgb())).mode == "L"
    ktrain.manual_seed(0)
    out = T.RandomGrayscale(p=1.0)(t)
    assert tuple(out.shape) == (3, 1, 1) and np.allclose(_arr(out)[0], _arr(out)[2])


def test_color_adjustments_hand_values():
    x = ktrain.from_numpy(np.array([[[0.2, 0.6]], [[0.4, 0.8]], [[0.6, 1.0]]], np.float32))
    np.testing.assert_allclose(_arr(F.adjust_brightness(x, 0.0)), 0.0)
    np.testing.assert_allclose(_arr(F.adjust_brightness(x, 2.0)),
                               np.clip(_arr(x) * 2, 0, 1), rtol=1e-6)
    gray = _arr(F.rgb_to_grayscale(x))
    np.testing.assert_allclose(_arr(F.adjust_contrast(x, 0.0)), gray.mean(), rtol=1e-5)
    np.testing.assert_allclose(_arr(F.adjust_saturation(x, 0.0)),
                               np.broadcast_to(gray, (3, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(_arr(F.adjust_hue(x, 0.0)), _arr(x), atol=1e-6)
    red = ktrain.from_numpy(np.array([[[1.0]], [[0.0]], [[0.0]]], np.float32))
    np.testing.assert_allclose(_arr(F.adjust_hue(red, 1 / 3)).ravel(), [0, 1, 0], atol=1e-5)
    u = ktrain.tensor([[[10, 200]]], dtype=ktrain.uint8)
    assert _arr(F.posterize(u, 2)).tolist() == [[[0, 192]]]
    assert _arr(F.solarize(u, 128)).tolist() == [[[10, 55]]]
    assert _arr(F.invert(u)).tolist() == [[[245, 55]]]
    assert _arr(F.autocontrast(u)).tolist() == [[[0, 255]]]
    ramp = np.repeat(np.arange(64, dtype=np.uint8), 16).reshape(1, 32, 32)
    eq = _arr(F.equalize(ktrain.from_numpy(ramp)))
    assert eq.min() == 0 and eq.max() >= 248 and (np.diff(eq.ravel().astype(int)) >= 0).all()
    np.testing.assert_array_equal(eq[0], np.asarray(F.equalize(Image.fromarray(ramp[0]))))


def test_color_pil_and_tensor_close():
    a = _rgb(8, 8, seed=5)
    img, t = Image.fromarray(a), _t(a)
    for fn, arg, tol in ((F.adjust_brightness, 1.3, 1), (F.adjust_saturation, 0.4, 2),
                         (F.adjust_contrast, 0.6, 2), (F.adjust_hue, 0.1, 12)):
        p = np.asarray(fn(img, arg)).transpose(2, 0, 1).astype(int)
        q = _arr(fn(t, arg)).astype(int)
        assert np.abs(p - q).max() <= tol, fn.__name__  # PIL's HSV is 8-bit: hue is coarse
        assert np.abs(p - q).mean() <= 2, fn.__name__


def test_color_jitter_shapes_and_ranges():
    ktrain.manual_seed(3)
    cj = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
    x = T.ToTensor()(Image.fromarray(_rgb()))
    out = cj(x)
    assert out.dtype is ktrain.float32 and out.numpy().min() >= 0 and out.numpy().max() <= 1
    assert cj(Image.fromarray(_rgb())).size == (8, 6)
    with pytest.raises(ValueError):
        T.ColorJitter(hue=0.7)


def test_random_single_op_transforms():
    u = ktrain.tensor([[[10, 200]]], dtype=ktrain.uint8)
    assert _arr(T.RandomInvert(p=1.0)(u)).tolist() == [[[245, 55]]]
    assert T.RandomInvert(p=0.0)(u) is u
    assert _arr(T.RandomPosterize(2, p=1.0)(u)).tolist() == [[[0, 192]]]
    assert _arr(T.RandomSolarize(128, p=1.0)(u)).tolist() == [[[10, 55]]]
    assert _arr(T.RandomAutocontrast(p=1.0)(u)).tolist() == [[[0, 255]]]
    assert tuple(T.RandomEqualize(p=1.0)(u).shape) == (1, 1, 2)
    assert tuple(T.RandomAdjustSharpness(2.0, p=1.0)(ktrain.rand(3, 5, 5)).shape) == (3, 5, 5)
    np.testing.assert_array_equal(_arr(T.Pad([1, 0], fill=7)(u)), [[[7, 10, 200, 7]]])
    img = Image.fromarray(_rgb())
    for t in (T.RandomInvert(1.0), T.RandomPosterize(3, 1.0), T.RandomSolarize(100, 1.0),
              T.RandomAutocontrast(1.0), T.RandomEqualize(1.0), T.RandomAdjustSharpness(0, 1.0)):
        assert t(img).size == img.size


def test_gaussian_blur():
    d = np.zeros((1, 5, 5), np.float32)
    d[0, 2, 2] = 1.0
    out = _arr(F.gaussian_blur(ktrain.from_numpy(d), 3, 1.0))
    k = np.exp(-0.5 * np.array([-1.0, 0.0, 1.0]) ** 2)
    k /= k.sum()
    np.testing.assert_allclose(out[0, 1:4, 1:4], np.outer(k, k), rtol=1e-5)
    np.testing.assert_allclose(out.sum(), 1.0, rtol=1e-5)
    assert T.GaussianBlur(3)(Image.fromarray(_rgb())).size == (8, 6)
    with pytest.raises(ValueError):
        T.GaussianBlur(4)


def test_random_erasing():
    ktrain.manual_seed(0)
    x = ktrain.ones(3, 16, 16)
    out = T.RandomErasing(p=1.0, value=0)(x)
    zeros = (out.numpy() == 0).all(axis=0)
    assert zeros.any() and 0 < zeros.sum() < 16 * 16
    assert (x.numpy() == 1).all()  # not in place by default
    r = T.RandomErasing(p=1.0, value="random")(x)
    assert tuple(r.shape) == (3, 16, 16)
    pil = T.RandomErasing(p=1.0, value=[255, 0, 0])(Image.fromarray(np.zeros((16, 16, 3),
                                                                               np.uint8)))
    red = np.asarray(pil)
    assert pil.mode == "RGB" and (red[..., 0] == 255).any() and (red[..., 1] == 0).all()
    with pytest.raises(TypeError, match="tensor or PIL"):
        T.RandomErasing(p=1.0)(np.zeros((4, 4)))


@pytest.mark.parametrize("cls", [T.TrivialAugmentWide, T.RandAugment])
def test_autoaugment_shapes(cls):
    ktrain.manual_seed(0)
    a = _rgb(10, 10)
    aug = cls()
    for _ in range(15):
        assert aug(Image.fromarray(a)).size == (10, 10)
        u = aug(_t(a))
        assert u.dtype is ktrain.uint8 and tuple(u.shape) == (3, 10, 10)
        f = aug(T.ToTensor()(Image.fromarray(a)))
        assert f.dtype is ktrain.float32 and tuple(f.shape) == (3, 10, 10)


def test_reproducible_under_manual_seed():
    pipe = T.build_transforms([
        {"name": "random_resized_crop", "size": 8, "scale": [0.3, 1.0]},
        "random_horizontal_flip", "trivial_augment_wide",
        {"name": "color_jitter", "brightness": 0.3, "contrast": 0.3},
        "to_tensor", {"name": "random_erasing", "p": 0.5}])
    img = Image.fromarray(_rgb(16, 16, seed=9))

    def run(seed):
        ktrain.manual_seed(seed)
        return np.stack([pipe(img).numpy() for _ in range(6)])

    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


# ----------------------------------------------------------------------------- batch mixing
@pytest.mark.parametrize("cls", [T.MixUp, T.CutMix])
def test_mixup_cutmix_contract(cls):
    ktrain.manual_seed(0)
    x = ktrain.rand(6, 3, 8, 8)
    y = ktrain.tensor([0, 1, 2, 3, 4, 0])
    mix = cls(alpha=1.0, num_classes=5)
    xo, yo = mix((x, y))
    assert tuple(xo.shape) == (6, 3, 8, 8) and xo.dtype is ktrain.float32
    assert tuple(yo.shape) == (6, 5) and yo.dtype is ktrain.float32
    np.testing.assert_allclose(yo.numpy().sum(axis=1), 1.0, rtol=1e-6)
    lam = yo.numpy()[1, 1]  # sample 1 (label 1) is mixed with sample 0 (label 0)
    xa, xr = x.numpy(), np.roll(x.numpy(), 1, axis=0)
    if cls is T.MixUp:
        np.testing.assert_allclose(xo.numpy(), lam * xa + (1 - lam) * xr, rtol=1e-5, atol=1e-6)
    else:
        from_self = np.isclose(xo.numpy(), xa)
        assert (from_self | np.isclose(xo.numpy(), xr)).all()
        frac = from_self[1].all(axis=0).mean()
        np.testing.assert_allclose(frac, lam, atol=1e-6)
    out = mix([x, y])
    assert isinstance(out, list)
    with pytest.raises(TypeError, match="float"):
        mix((ktrain.zeros(2, 1, 2, 2, dtype=ktrain.uint8), ktrain.tensor([0, 1])))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        mix((ktrain.rand(2, 1, 2, 2), ktrain.tensor([0, 7])))


def test_mixup_reproducible():
    x, y = ktrain.rand(4, 1, 4, 4), ktrain.tensor([0, 1, 2, 3])
    ktrain.manual_seed(5)
    a = T.MixUp(num_classes=4)((x, y))[1].numpy()
    ktrain.manual_seed(5)
    b = T.MixUp(num_classes=4)((x, y))[1].numpy()
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- specs
def test_build_transforms_specs():
    from omegaconf import OmegaConf

    assert T.build_transforms(None) is None
    f = lambda x: x
    assert T.build_transforms(f) is f
    one = T.build_transforms("to_tensor")
    assert isinstance(one, T.ToTensor)
    comp = T.build_transforms(OmegaConf.create(
        ["to_tensor", {"name": "normalize", "mean": [0.5], "std": [0.5]},
         {"name": "random_apply", "transforms": ["random_horizontal_flip"], "p": 0.5}]))
    assert isinstance(comp, T.Compose) and len(comp.transforms) == 3
    assert isinstance(comp.transforms[2].transforms[0], T.RandomHorizontalFlip)
    out = comp(Image.fromarray(_rgb()[:, :, 0]))
    assert out.dtype is ktrain.float32 and out.numpy().min() >= -1
    # names missing from the plugin's registry table fall back to the exported classes
    extra = T.build_transforms([{"name": "pad", "padding": 1}, {"name": "random_invert"}])
    assert isinstance(extra.transforms[0], T.Pad)
    assert isinstance(extra.transforms[1], T.RandomInvert)
    r = T.build_transforms({"name": "resize", "size": 4, "interpolation": "bicubic"})
    assert r.interpolation is T.InterpolationMode.BICUBIC
    with pytest.raises(Exception, match="random_crp|random_crop"):
        T.build_transforms(["random_crp"])
    with pytest.raises(TypeError, match="transform spec"):
        T.build_transforms([3])


# ----------------------------------------------------------------------------- GPU
@pytest.mark.gpu
@pytest.mark.skipif(not ktrain.cuda.is_available(), reason="CUDA is not available")
def test_tensor_transforms_on_gpu_match_cpu():
    a = _rgb(12, 10, seed=4)
    cpu = _t(a)
    gpu = cpu.to("cuda")
    ops = [lambda x: F.resize(x, [7, 9]), lambda x: F.resize(x, [20, 15], "bicubic"),
           lambda x: F.rotate(x, 30.0, "bilinear"), lambda x: F.affine(x, 10, [1, 2], 1.1, [5, 3]),
           lambda x: F.pad(x, [1, 2], padding_mode="reflect"), F.hflip,
           lambda x: F.gaussian_blur(x, 3, 1.0), lambda x: F.adjust_hue(x, 0.2),
           lambda x: F.adjust_contrast(x, 0.5), lambda x: F.adjust_sharpness(x, 2.0), F.equalize,
           F.autocontrast, lambda x: F.posterize(x, 3), lambda x: F.rgb_to_grayscale(x, 3),
           lambda x: F.normalize(F.convert_image_dtype(x), [0.5] * 3, [0.2] * 3)]
    for op in ops:
        c, g = op(cpu), op(gpu)
        assert g.is_cuda
        np.testing.assert_allclose(g.cpu().numpy().astype(float), c.numpy().astype(float),
                                   atol=1.01)
    x = ktrain.rand(4, 3, 8, 8, device="cuda")
    y = ktrain.tensor([0, 1, 2, 3], device="cuda")
    for mix in (T.MixUp(num_classes=4), T.CutMix(num_classes=4)):
        xo, yo = mix((x, y))
        assert xo.is_cuda and yo.is_cuda
        np.testing.assert_allclose(yo.cpu().numpy().sum(1), 1.0, rtol=1e-6)
    assert T.RandomErasing(p=1.0, value="random")(x[0]).is_cuda
