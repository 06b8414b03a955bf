"""read_image/write_image round trips and errors; make_grid/save_image layout."""
import ktrain
import numpy as np
import pytest
from ktrain_vision.io import (
    ImageReadMode,
    decode_image,
    encode_png,
    read_file,
    read_image,
    write_image,
    write_jpeg,
    write_png,
)
from ktrain_vision.utils import make_grid, save_image
from PIL import Image


def _img(h=5, w=7, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (c, h, w), dtype=np.uint8)


def test_png_round_trip_exact(tmp_path):
    a = _img()
    write_image(ktrain.from_numpy(a), tmp_path / "x.png")
    t = read_image(tmp_path / "x.png")
    assert t.dtype is ktrain.uint8 and tuple(t.shape) == (3, 5, 7)
    np.testing.assert_array_equal(t.numpy(), a)
    g = _img(c=1)
    write_png(ktrain.from_numpy(g), tmp_path / "g.png", compression_level=9)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png").numpy(), g)
    rgba = _img(c=4)
    write_image(ktrain.from_numpy(rgba), tmp_path / "a.png")
    assert tuple(read_image(tmp_path / "a.png").shape) == (4, 5, 7)
    assert tuple(read_image(tmp_path / "a.png", ImageReadMode.RGB).shape) == (3, 5, 7)


def test_jpeg_and_modes(tmp_path):
    a = np.full((3, 16, 16), 120, np.uint8)
    write_jpeg(ktrain.from_numpy(a), tmp_path / "x.jpg", quality=95)
    t = read_image(tmp_path / "x.jpg")
    assert np.abs(t.numpy().astype(int) - 120).max() <= 2
    g = read_image(tmp_path / "x.jpg", ImageReadMode.GRAY)
    assert tuple(g.shape) == (1, 16, 16)
    assert tuple(read_image(tmp_path / "x.jpg", "gray_alpha").shape) == (2, 16, 16)
    assert tuple(read_image(tmp_path / "x.jpg", ImageReadMode.RGB_ALPHA).shape) == (4, 16, 16)
    pal = Image.fromarray(np.zeros((4, 4), np.uint8)).convert("P")
    pal.save(tmp_path / "p.png")
    assert tuple(read_image(tmp_path / "p.png").shape) == (3, 4, 4)
    data = read_file(tmp_path / "p.png")
    assert data.dtype is ktrain.uint8 and tuple(decode_image(data).shape) == (3, 4, 4)
    assert encode_png(ktrain.from_numpy(_img(c=1))).numpy()[:4].tobytes() == b"\x89PNG"


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ValueError, match="bad.jpg"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(TypeError, match="uint8"):
        write_image(ktrain.rand(3, 4, 4), tmp_path / "f.png")
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        write_image(ktrain.zeros(4, 4, dtype=ktrain.uint8), tmp_path / "f.png")
    with pytest.raises(ValueError, match="mode"):
        read_image(tmp_path / "bad.jpg", "cmyk")
    with pytest.raises(ValueError, match="suffix"):
        write_image(ktrain.from_numpy(_img()), tmp_path / "x.unknownext")
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_make_grid_layout():
    x = ktrain.from_numpy(np.arange(1, 6, dtype=np.float32)[:, None, None, None]
                          * np.ones((5, 1, 2, 3), np.float32))
    g = make_grid(x, nrow=2, padding=1, pad_value=-1.0).numpy()
    assert g.shape == (3, 3 * 3 + 1, 2 * 4 + 1)
    # image k sits at row k // 2, column k % 2, offset by the padding
    for k in range(5):
        r, c = divmod(k, 2)
        np.testing.assert_array_equal(g[:, 1 + 3 * r:3 + 3 * r, 1 + 4 * c:4 + 4 * c], k + 1)
    assert g[0, 0, 0] == -1.0 and (g[:, 7:9, 5:8] == -1.0).all()  # empty last cell
    one = make_grid(ktrain.ones(1, 1, 4, 4))
    assert tuple(one.shape) == (3, 4, 4)  # single image: no padding, grey -> 3 channels
    lst = make_grid([ktrain.zeros(3, 2, 2), ktrain.ones(3, 2, 2)], padding=0)
    assert tuple(lst.shape) == (3, 2, 4)


def test_make_grid_normalize():
    x = ktrain.from_numpy(np.array([0.0, 2.0, 4.0], np.float32).reshape(3, 1, 1, 1)
                          * np.ones((3, 1, 1, 2), np.float32))
    g = make_grid(x, padding=0, normalize=True).numpy()
    np.testing.assert_allclose(g[0, 0], [0, 0, 0.5, 0.5, 1, 1])
    g = make_grid(x, padding=0, normalize=True, value_range=(0, 2)).numpy()
    np.testing.assert_allclose(g[0, 0], [0, 0, 1, 1, 1, 1])
    y = ktrain.from_numpy(np.array([[[[0.0, 1.0]]], [[[2.0, 6.0]]]], np.float32))
    g = make_grid(y, padding=0, normalize=True, scale_each=True).numpy()
    np.testing.assert_allclose(g[0, 0], [0, 1, 0, 1])


def test_save_image_round_trip(tmp_path):
    x = ktrain.from_numpy(np.linspace(0, 1, 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4))
    save_image(x, tmp_path / "grid.png", nrow=2, padding=0)
    back = read_image(tmp_path / "grid.png").numpy()
    want = np.clip(make_grid(x, nrow=2, padding=0).numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(back, want)
