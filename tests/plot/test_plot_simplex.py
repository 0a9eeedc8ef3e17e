"""Tests of watlib.plot.simplex: the simplex grid and map of Figure 2 (top) and the decision
boundaries (bottom), drawn headless."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import PowerNorm, to_rgba  # noqa: E402

from watlib.adversarial import kl, tv  # noqa: E402
from watlib.plot import plot_decision_boundary, plot_simplex_loss, simplex_grid  # noqa: E402
from watlib.plot.simplex import _CORNERS, _simplex_triangles  # noqa: E402
from watlib.toy import TOY_CLASSES, TOY_COLORS  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def l2(p_hat, p):
    return (p_hat - p).pow(2).sum(1)


# ----------------------------------------------------------------------------- simplex grid
@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_simplex_grid_points_are_histograms(n):
    g = simplex_grid(n)
    assert g.shape == ((n + 1) * (n + 2) // 2, 3) and g.dtype == torch.float64
    assert (g >= 0).all()
    torch.testing.assert_close(g.sum(1), torch.ones(len(g), dtype=torch.float64), rtol=0, atol=1e-15)
    # every coordinate is a multiple of 1/n and no point repeats
    counts = (g * n).round()
    torch.testing.assert_close(g * n, counts, rtol=0, atol=1e-12)
    assert len({tuple(r) for r in counts.long().tolist()}) == len(g)
    for corner in torch.eye(3, dtype=torch.float64):
        assert (g == corner).all(1).any()


def test_simplex_grid_follows_dtype():
    assert simplex_grid(3, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("n, exc", [(0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError)])
def test_simplex_grid_rejects_bad_n(n, exc):
    with pytest.raises(exc, match="n must be an int"):
        simplex_grid(n)


def test_simplex_grid_rejects_integer_dtype():
    with pytest.raises(TypeError, match="dtype"):
        simplex_grid(3, dtype=torch.int64)


@pytest.mark.parametrize("n", [1, 2, 9])
def test_small_triangles_tile_the_simplex(n):
    xy = simplex_grid(n).numpy() @ _CORNERS
    tris = _simplex_triangles(n)
    assert tris.shape == (n * n, 3)
    a, b, c = (xy[tris[:, k]] for k in range(3))
    signed = 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))
    # all equal, same orientation, and together the area of the unit equilateral triangle
    np.testing.assert_allclose(np.abs(signed), math.sqrt(3) / 4 / n**2, rtol=1e-12)
    assert (np.sign(signed) == np.sign(signed[0])).all()
    np.testing.assert_allclose(np.abs(signed).sum(), math.sqrt(3) / 4, rtol=1e-12)


# ----------------------------------------------------------------------------- simplex map
def test_simplex_map_holds_the_divergence_on_the_grid():
    p0 = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    n = 12
    ax = plot_simplex_loss(l2, p0, n=n, title="L2")
    values = np.asarray(ax.collections[0].get_array())
    grid = simplex_grid(n)
    np.testing.assert_allclose(values, ((grid - p0) ** 2).sum(1).numpy(), rtol=1e-12)
    assert ax.get_title() == "L2"
    assert [t.get_text() for t in ax.texts] == list(TOY_CLASSES)
    assert [to_rgba(t.get_color()) for t in ax.texts] == [to_rgba(c) for c in TOY_COLORS]
    # the green x sits at p0's barycentric position
    (x_mark,) = [ln for ln in ax.lines if ln.get_label() == "p0"]
    np.testing.assert_allclose(np.c_[x_mark.get_xdata(), x_mark.get_ydata()][0], p0.numpy() @ _CORNERS)
    assert x_mark.get_marker() == "x"
    assert len(ax.figure.axes) == 2  # the map and its colour bar


def test_simplex_map_of_tv_is_half_the_l1_distance():
    p0 = [0.2, 0.2, 0.6]
    ax = plot_simplex_loss(tv, p0, n=10, colorbar=False, contours=0)
    grid = simplex_grid(10)
    expected = 0.5 * (grid - torch.tensor(p0, dtype=torch.float64)).abs().sum(1)
    np.testing.assert_allclose(np.asarray(ax.collections[0].get_array()), expected.numpy(), atol=1e-15)
    assert len(ax.figure.axes) == 1
    assert len(ax.collections) == 1  # no iso-lines


def test_simplex_map_accepts_a_corner_given_as_integers():
    ax = plot_simplex_loss(l2, [1, 0, 0], n=4)
    assert float(ax.collections[0].get_array()[0]) == 0


def test_simplex_map_is_zero_at_p0_on_the_grid():
    p0 = simplex_grid(6)[8]
    ax = plot_simplex_loss(l2, p0, n=6)
    values = np.asarray(ax.collections[0].get_array())
    assert values[8] == 0 and values.min() == 0 and (np.delete(values, 8) > 0).all()


def test_simplex_map_draws_infinite_kl_at_the_top_of_the_scale():
    p0 = [0.4, 0.3, 0.3]
    ax = plot_simplex_loss(kl, p0, n=8, norm=PowerNorm(0.5, vmin=0, vmax=2.0))
    values = np.asarray(ax.collections[0].get_array())
    grid = simplex_grid(8)
    on_edge = (grid == 0).any(1).numpy()
    assert np.isfinite(values).all()
    np.testing.assert_array_equal(values[on_edge], np.maximum(values[~on_edge].max(), 2.0))
    expected = (torch.tensor(p0, dtype=torch.float64) * torch.log(torch.tensor(p0, dtype=torch.float64) / grid[~on_edge])).sum(1)
    np.testing.assert_allclose(values[~on_edge], expected.numpy(), rtol=1e-12)


def test_simplex_map_square_root_scale_and_its_levels():
    norm = PowerNorm(0.5)
    ax = plot_simplex_loss(l2, [0.6, 0.2, 0.2], n=10, norm=norm, contours=3)
    values = np.asarray(ax.collections[0].get_array())
    assert norm.vmin == 0 and norm.vmax == values.max()
    # the iso-lines sit at a quarter, half and three quarters of the square-root scale
    np.testing.assert_allclose(ax.collections[1].levels, values.max() * np.array([1, 2, 3]) ** 2 / 16)


def test_simplex_map_custom_names_and_colors():
    ax = plot_simplex_loss(l2, [1 / 3] * 3, n=4, class_names=["a", "b", "c"], colors=["r", "g", "b"])
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"divergence": "kl"}, TypeError, "divergence must be a callable"),
        ({"p0": [0.5, 0.5]}, ValueError, r"p0 must be a histogram of shape \(3,\)"),
        ({"p0": ["a", "b", "c"]}, TypeError, "p0 must be a histogram of 3 real numbers"),
        ({"p0": [0.5, 0.6, -0.1]}, ValueError, "p0 must be non-negative"),
        ({"p0": [0.5, 0.5, 0.5]}, ValueError, "summing to 1"),
        ({"p0": [float("nan"), 0.5, 0.5]}, ValueError, "p0 must be non-negative"),
        ({"n": 1}, ValueError, "n must be an int >= 2, got 1"),
        ({"n": 5.0}, TypeError, "n must be an int, got 5.0 of type float"),
        ({"contours": -1}, ValueError, "contours must be an int >= 0, got -1"),
        ({"contours": True}, TypeError, "contours must be an int, got True of type bool"),
        ({"colorbar": 1}, TypeError, "colorbar must be a bool, got 1 of type int"),
        ({"norm": "sqrt"}, TypeError, "norm must be a matplotlib.colors.Normalize"),
        ({"colors": ["r", "g"]}, ValueError, "colors must be a sequence of at least K=3"),
        ({"colors": ["r", "g", "not-a-colour"]}, ValueError, "colors must hold Matplotlib colours"),
        ({"class_names": "abc"}, ValueError, "class_names"),
        ({"divergence": lambda a, b: l2(a, b)[:-1]}, ValueError, r"shape \(B,\)"),
        ({"divergence": lambda a, b: l2(a, b) * float("nan")}, ValueError, "NaN"),
    ],
)
def test_simplex_map_rejects_bad_input(kwargs, exc, match):
    args = {"divergence": l2, "p0": [0.6, 0.2, 0.2], "n": 5, **kwargs}
    with pytest.raises(exc, match=match):
        plot_simplex_loss(**args)


# ----------------------------------------------------------------------------- boundaries
class _Linear(torch.nn.Module):
    """Logits (x1, x2, 0): class 0 where x1 is largest, 1 where x2 is, 2 where both < 0."""

    def forward(self, x):
        return torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)


def _points():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 2, generator=g)
    y = torch.arange(60) % 3
    return x, y


def test_decision_regions_are_the_argmax_on_the_grid():
    x, y = _points()
    res = 37
    ax = plot_decision_boundary(_Linear(), x, y, resolution=res, title="linear", margin=0.1)
    image = ax.images[0]
    pred = np.asarray(image.get_array())
    assert pred.shape == (res, res)
    x0, x1, y0, y1 = image.get_extent()
    lo, hi = x.min(0).values.double().numpy(), x.max(0).values.double().numpy()
    pad = 0.1 * (hi - lo)
    np.testing.assert_allclose([x0, x1, y0, y1], [lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1]],
                               rtol=1e-6)
    u, v = np.meshgrid(np.linspace(x0, x1, res), np.linspace(y0, y1, res))
    expected = np.argmax(np.stack([u, v, np.zeros_like(u)]), axis=0)
    np.testing.assert_array_equal(pred, expected)
    # one scatter per class, holding exactly that class's points, in its colour
    assert len(ax.collections) == 3
    for k, coll in enumerate(ax.collections):
        np.testing.assert_allclose(coll.get_offsets(), x[y == k].numpy())
        assert tuple(coll.get_facecolor()[0]) == to_rgba(TOY_COLORS[k])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(TOY_CLASSES)
    assert ax.get_title() == "linear"
    assert ax.get_xlabel() and ax.get_ylabel()


def test_decision_boundary_highlight_and_no_legend():
    x, y = _points()
    mark = torch.zeros(60, dtype=torch.bool)
    mark[:5] = True
    ax = plot_decision_boundary(_Linear(), x, y, resolution=10, highlight=mark, legend=False,
                                class_names=["a", "b", "c"], colors=["r", "g", "b"])
    assert ax.get_legend() is None
    assert len(ax.collections) == 4
    np.testing.assert_allclose(ax.collections[3].get_offsets(), x[:5].numpy())


def test_decision_boundary_uses_the_models_dtype():
    x, y = _points()
    model = torch.nn.Linear(2, 3).double()
    ax = plot_decision_boundary(model, x, y, resolution=8)
    assert ax.images[0].get_array().shape == (8, 8)


def test_decision_boundary_missing_classes_and_many_classes():
    x, _ = _points()
    model = torch.nn.Linear(2, 5)
    y = torch.full((60,), 4)
    ax = plot_decision_boundary(model, x, y, resolution=8)
    assert len(ax.collections) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 4"]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"model": "net"}, TypeError, "model must be"),
        ({"x": torch.zeros(60, 3)}, ValueError, r"x must have shape \(N, 2\)"),
        ({"x": torch.full((60, 2), float("nan"))}, ValueError, "x must be finite"),
        ({"y": torch.zeros(60)}, ValueError, "y must be integer labels"),
        ({"y": torch.zeros(59, dtype=torch.long)}, ValueError, "y must be integer labels"),
        ({"y": torch.full((60,), 3)}, ValueError, r"labels in \[0, K\) with K=3"),
        ({"resolution": 1}, ValueError, "resolution must be an int >= 2, got 1"),
        ({"resolution": 10.0}, TypeError, "resolution must be an int, got 10.0 of type float"),
        ({"margin": -0.1}, ValueError, r"margin must be a finite number >= 0, got -0.1"),
        ({"margin": float("inf")}, ValueError, "margin must be a finite number >= 0, got inf"),
        ({"legend": "no"}, TypeError, "legend must be a bool, got .no. of type str"),
        ({"highlight": torch.zeros(60)}, ValueError, "highlight"),
        ({"highlight": torch.zeros(3, dtype=torch.bool)}, ValueError, "highlight"),
        ({"colors": ["r"]}, ValueError, "colors"),
        ({"model": lambda u: u[:, 0]}, ValueError, "model must map"),
    ],
)
def test_decision_boundary_rejects_bad_input(kwargs, exc, match):
    x, y = _points()
    args = {"model": _Linear(), "x": x, "y": y, "resolution": 10, **kwargs}
    with pytest.raises(exc, match=match):
        plot_decision_boundary(**args)
