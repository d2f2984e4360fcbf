"""lenet_utils.preprocess: a drawn digit made to look like an MNIST digit."""
import numpy as np
import pytest

from lenet_utils.preprocess import BOX, CENTRE, FIELD, _round, area_weights, ink_box, mnist_style


def canvas(size=280):
    return np.zeros((size, size))


def centre_of_mass(img):
    rows, cols = np.indices(img.shape)
    return (img * rows).sum() / img.sum(), (img * cols).sum() / img.sum()


def test_round_half_up_like_javascript():
    assert [_round(x) for x in (0.5, 1.5, 2.5, -0.5, 2.4999)] == [1, 2, 3, 0, 2]


def test_area_weights():
    w = area_weights(3, 2)   # output pixel 0 covers input [0, 1.5), pixel 1 covers [1.5, 3)
    assert np.allclose(w, [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])
    assert np.allclose(area_weights(7, 7), np.eye(7))
    for n_in, n_out in [(280, 20), (13, 20), (200, 7), (1, 5)]:
        assert np.allclose(area_weights(n_in, n_out).sum(1), 1.0)
    with pytest.raises(ValueError, match="positive"):
        area_weights(0, 3)


def test_a_bar_becomes_20_pixels_long_and_centred():
    ink = canvas()
    ink[40:240, 130:150] = 1.0          # a vertical bar, 200 x 20 pixels
    out = mnist_style(ink)
    assert out.shape == (FIELD, FIELD) and out.dtype == np.float32
    top, left, bottom, right = ink_box(out)
    assert (bottom - top, right - left) == (BOX, 2)   # 200 -> 20, 20 -> 2: the aspect ratio is kept
    cy, cx = centre_of_mass(out)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
    assert np.isclose(out.sum(), 20 * 2)              # area averaging keeps the ink in proportion


def test_position_and_size_do_not_matter():
    rng = np.random.default_rng(0)
    shape = (rng.random((40, 30)) > 0.6).astype(float)
    a, b = canvas(), canvas()
    a[10:50, 20:50] = shape                              # small, top left
    b[150:270, 100:190] = np.kron(shape, np.ones((3, 3)))  # three times larger, bottom right
    assert np.allclose(mnist_style(a), mnist_style(b), atol=1e-6)


def test_a_digit_near_the_edge_stays_inside_the_field():
    ink = canvas()
    ink[20:220, 30:50] = 1.0
    ink[20:40, 30:200] = 1.0                             # a heavy top bar pulls the centre of mass up
    out = mnist_style(ink)
    assert np.isclose(out.sum(), mnist_style(np.pad(ink, 10)).sum())
    top, left, bottom, right = ink_box(out)
    assert top >= 0 and bottom <= FIELD and left >= 0 and right <= FIELD


def test_mnist_digits_are_their_own_preprocessing(data_root):
    """An MNIST digit whose ink box is 20 pixels tall and at most 20 wide is already size-normalised
    and centred: the procedure gives it back unchanged. (That checks the box size, the centre (14, 14)
    and the whole-pixel shift against the real data set.)"""
    import lenet_utils as lu

    images = lu.load_mnist(train=False)[0][:500].numpy() / 255.0
    checked = 0
    for img in images:
        top, left, bottom, right = ink_box(img)
        if bottom - top == BOX and right - left <= BOX:
            assert np.abs(mnist_style(img) - img).max() < 1e-6
            checked += 1
    assert checked > 400


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="no ink"):
        mnist_style(canvas())
    with pytest.raises(ValueError, match=r"one grey image \[H, W\]"):
        mnist_style(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="0..1"):
        mnist_style(np.full((28, 28), 255.0))
