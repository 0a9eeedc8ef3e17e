"""Tests of watlib.plot: the simplex grid and map of Figure 2 (top), the decision
boundaries (bottom) and the matrix heat map, drawn headless."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import PowerNorm, to_rgba  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from watlib.adversarial import kl, tv  # noqa: E402
from watlib.plot import plot_decision_boundary, plot_matrix, plot_simplex_loss, simplex_grid  # noqa: E402
from watlib.plot import _CORNERS, _simplex_triangles  # noqa: E402
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
    with pytest.raises(exc, match="n must be"):
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
        ({"n": 1}, ValueError, "n must be an integer >= 2"),
        ({"contours": -1}, ValueError, "contours"),
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
        ({"resolution": 1}, ValueError, "resolution"),
        ({"resolution": 10.0}, ValueError, "resolution"),
        ({"margin": -0.1}, ValueError, "margin"),
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


# ----------------------------------------------------------------------------- matrix
def test_plot_matrix_annotates_every_cell():
    M = torch.arange(9.0).reshape(3, 3)
    ax = plot_matrix(M, labels=["a", "b", "c"], title="M")
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2f}" for v in M.flatten().tolist())
    np.testing.assert_array_equal(ax.images[0].get_array(), M.numpy())


@pytest.mark.parametrize("cmap", ["viridis", "Blues", "Greys_r"])
def test_plot_matrix_annotations_contrast_with_their_cells(cmap):
    M = torch.tensor([[0.0, 5.0], [1.0, 0.0]])
    ax = plot_matrix(M, cmap=cmap)
    image = ax.images[0]
    for text in ax.texts:
        j, i = (round(c) for c in text.get_position())
        r, g, b, _ = image.cmap(image.norm(M[i, j].item()))
        luminance = 0.299 * r + 0.587 * g + 0.114 * b
        assert to_rgba(text.get_color()) == to_rgba("white" if luminance < 0.5 else "black")


@pytest.mark.parametrize("M, labels, match", [(torch.zeros(2, 3), None, "square"), (torch.zeros(2, 2), ["a"], "labels")])
def test_plot_matrix_rejects_bad_input(M, labels, match):
    with pytest.raises(ValueError, match=match):
        plot_matrix(M, labels=labels)


def test_plot_matrix_colour_limits():
    ax = plot_matrix(torch.tensor([[0.2, 0.4], [0.6, 0.8]]), vmin=0.0, vmax=1.0)
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert plot_matrix(torch.tensor([[0.2, 0.4], [0.6, 0.8]])).images[0].get_clim() == pytest.approx((0.2, 0.8))


# ----------------------------------------------------------------------------- noisy-label figures
import pickle  # noqa: E402

import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from watlib.costs import class_names  # noqa: E402
from watlib.data import ClassificationDataset, load_dataset, write_fake_cifar  # noqa: E402
from watlib.methods import METHODS  # noqa: E402
from watlib.noise import corrupt_labels, noise_report, transition_matrix  # noqa: E402
from watlib.plot import (  # noqa: E402
    DATASET_LABELS,
    plot_curves_by_method,
    plot_matrices,
    plot_paper_results,
    plot_run_times,
    plot_samples,
    run_summary,
)
from watlib.results import METHOD_LABELS, PAPER_TABLE2  # noqa: E402
from watlib.train import _summary  # noqa: E402

RED = to_rgba("#d62728")


def test_plot_matrices_share_one_colour_scale():
    T = transition_matrix("fashion_mnist", 0.4)
    y = np.repeat(np.arange(10), 50)
    T_hat, _ = noise_report(y, corrupt_labels(y, T, seed=0), 10)
    names = class_names("fashion_mnist")
    axes = plot_matrices([T, T_hat], labels=names, titles=["T", "realised"])
    assert [ax.get_title() for ax in axes] == ["T", "realised"]
    lo, hi = min(T.min(), T_hat.min()), max(T.max(), T_hat.max())
    for ax, M in zip(axes, (T, T_hat)):
        assert ax.images[0].get_clim() == (lo, hi)
        np.testing.assert_array_equal(ax.images[0].get_array(), M)
        assert [t.get_text() for t in ax.get_xticklabels()] == names
        assert len(ax.texts) == M.size
    assert len(axes[0].figure.axes) == 3  # two panels and one colour bar
    big = plot_matrices([transition_matrix("cifar100", 0.4)], vmin=0.0, vmax=1.0)
    assert big.shape == (1,) and big[0].images[0].get_clim() == (0.0, 1.0) and not big[0].texts


@pytest.mark.parametrize("matrices, kwargs, exc, match", [
    ([], {}, ValueError, "at least one"),
    (np.eye(2), {}, TypeError, "list or tuple"),
    ([np.eye(2), np.eye(3)], {}, ValueError, "same shape"),
    ([np.zeros((2, 3))], {}, ValueError, r"matrices\[0\] must be a square matrix, got shape \(2, 3\)"),
    ([np.array([[1.0, np.nan], [0.0, 1.0]])], {}, ValueError, r"matrices\[0\] must be finite"),
    ([np.eye(2), np.eye(2)], {"titles": ["one"]}, ValueError, "titles"),
    ([np.eye(2)], {"vmin": 1.0, "vmax": 0.0}, ValueError, "vmin must be below vmax"),
    ([np.zeros((2, 2))], {}, ValueError, "vmin must be below vmax"),
])
def test_plot_matrices_rejects_bad_input(matrices, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot_matrices(matrices, **kwargs)


def _indexed_dataset(channels=1, per_class=(5, 5, 5), mean=None):
    """Images whose every pixel is the sample's index (so a drawn image names its sample),
    scaled like Fashion-MNIST (one channel, [-1, 1]) or CIFAR (three, mean-subtracted)."""
    y = torch.repeat_interleave(torch.arange(len(per_class)), torch.tensor(per_class))
    y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
    n = len(y)
    pixels = torch.arange(n, dtype=torch.float64).view(n, 1, 1, 1).expand(n, channels, 3, 2)
    if channels == 1:
        shift, scale = torch.tensor([0.5]), torch.tensor([0.5])
    else:
        shift, scale = torch.tensor(mean), torch.ones(3)
    x = ((pixels / 255 - shift.double().view(1, -1, 1, 1)) / scale.double().view(1, -1, 1, 1)).float()
    names = [f"class {k}" for k in range(len(per_class))]
    return ClassificationDataset(x, y, names, "toy", True, shift=shift, scale=scale)


@pytest.mark.parametrize("channels, mean", [(1, None), (3, [0.49, 0.48, 0.45])])
def test_plot_samples_shows_each_row_its_class_and_each_image_its_label(channels, mean):
    ds = _indexed_dataset(channels, mean=mean)
    y_noisy = (ds.y + (torch.arange(len(ds)) % 3 == 0)) % 3  # every third label moved on
    axes = plot_samples(ds, y_noisy, n_per_class=4, seed=0)
    assert axes.shape == (3, 4)
    for r in range(3):
        assert axes[r, 0].get_ylabel() == ds.classes[r]
        shown = []
        for ax in axes[r]:
            img = np.asarray(ax.images[0].get_array())
            assert img.dtype == np.uint8 and img.shape == ((3, 2) if channels == 1 else (3, 2, 3))
            i = int(img.flat[0])
            assert (img == i).all()  # the pixels come back exactly through shift and scale
            shown.append(i)
            assert int(ds.y[i]) == r
            assert ax.get_title() == ds.classes[int(y_noisy[i])]
            assert (to_rgba(ax.title.get_color()) == RED) == bool(y_noisy[i] != ds.y[i])
        assert len(set(shown)) == 4  # without replacement
    titles = [ax.get_title() for ax in plot_samples(ds, y_noisy, n_per_class=4, seed=0).flat]
    assert titles == [ax.get_title() for ax in axes.flat]
    assert DATASET_LABELS.get(ds.name, ds.name) in axes[0, 0].figure.texts[0].get_text()


def test_plot_samples_same_seed_same_images_and_other_seeds_differ():
    ds = _indexed_dataset(per_class=(30, 30))

    def shown(seed):
        return [int(np.asarray(ax.images[0].get_array()).flat[0]) for ax in plot_samples(ds, ds.y, 3, seed).flat]

    assert shown(0) == shown(0)
    assert len({tuple(shown(s)) for s in range(5)}) > 1


def test_plot_samples_reads_generated_cifar_pixels_exactly(tmp_path):
    sums = write_fake_cifar(tmp_path, "cifar100", n_train=300, n_test=100, seed=0)
    ds = load_dataset("cifar100", tmp_path, train=True, checksums=sums)
    with open(tmp_path / "cifar-100-python" / "train", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y_noisy = corrupt_labels(ds.y, transition_matrix("cifar100", 0.4), seed=0)
    axes = plot_samples(ds, y_noisy, n_per_class=2, seed=3, classes=[7, 2])
    assert [ax.get_ylabel() for ax in axes[:, 0]] == [ds.classes[7], ds.classes[2]]
    for r, c in enumerate([7, 2]):
        for ax in axes[r]:
            img = np.asarray(ax.images[0].get_array())
            (match,) = np.flatnonzero((raw == img).all(axis=(1, 2, 3)))
            assert int(ds.y[match]) == c and ax.get_title() == ds.classes[int(y_noisy[match])]
    assert plot_samples(ds, ds.y, n_per_class=1).shape == (10, 1)  # K = 100: the first 10 labels


def _bad_pixels():
    ds = _indexed_dataset()
    return ClassificationDataset(ds.x + 5.0, ds.y, ds.classes, ds.name, True, shift=ds.shift, scale=ds.scale)


@pytest.mark.parametrize("make, kwargs, exc, match", [
    (lambda ds: (ds.x, ds.y), {}, TypeError, "dataset must be a watlib.data.ClassificationDataset"),
    (lambda ds: (ds, ds.y.float()), {}, ValueError, "y_noisy must hold integer labels"),
    (lambda ds: (ds, ds.y[:-1]), {}, ValueError, r"y_noisy must hold integer labels of shape \(N,\) = \(15,\)"),
    (lambda ds: (ds, ds.y + 1), {}, ValueError, r"y_noisy must lie in \[0, K\) = \[0, 3\), got range \[1, 3\]"),
    (lambda ds: (ds, ds.y), {"n_per_class": 0}, ValueError, "n_per_class must be an int >= 1, got 0"),
    (lambda ds: (ds, ds.y), {"n_per_class": 2.0}, TypeError, "n_per_class must be an int"),
    (lambda ds: (ds, ds.y), {"n_per_class": 6}, ValueError, "needs that many images of class 0 .'class 0'., but"),
    (lambda ds: (ds, ds.y), {"seed": -1}, ValueError, "seed must be an int >= 0, got -1"),
    (lambda ds: (ds, ds.y), {"classes": [0, 3]}, ValueError, r"classes must be .* labels in \[0, K\) = \[0, 3\)"),
    (lambda ds: (ds, ds.y), {"classes": []}, ValueError, "classes must be a non-empty"),
    (lambda ds: (_bad_pixels(), ds.y), {}, ValueError, r"must map back to pixels in \[0, 255\]"),
    (lambda ds: (ClassificationDataset(ds.x.expand(-1, 2, -1, -1).contiguous(), ds.y, ds.classes, "two", True), ds.y),
     {}, ValueError, "dataset must have 1 or 3 channels to be drawn, got 2"),
])
def test_plot_samples_rejects_bad_input(make, kwargs, exc, match):
    args = make(_indexed_dataset())
    with pytest.raises(exc, match=match):
        plot_samples(*args, **kwargs)


def _record(method, seed, acc, dataset="fashion_mnist", noise=0.4, wall=600.0, device="cpu: x86_64, 2 threads",
            preset="cpu"):
    """A run record shaped as watlib.train.run writes it (its metric from the training code's summary)."""
    config = {"dataset": dataset, "noise": noise, "method": method, "seed": seed, "preset": preset,
              "epochs": len(acc), "width": 0.25, "train_size": 4000}
    return {"config": config, "history": {"epoch": list(range(1, len(acc) + 1)), "test_acc": list(acc)},
            "metric": _summary(acc) if acc else None, "device": device, "wall_time_s": wall, "n_train": 4000, "complete": True}


def _sweep(dataset="fashion_mnist", noise=0.4):
    rng = np.random.default_rng(0)
    epochs = np.arange(1, 31)
    records = []
    for k, method in enumerate(METHODS):
        for seed in ((0, 1, 2) if method in ("cce", "vat", "wat01", "watc") else (0,)):
            acc = 60 + 20 * np.sin(np.pi * epochs / (20 + k)) + rng.normal(0, 1, len(epochs))
            records.append(_record(method, seed, acc.tolist(), dataset, noise, wall=float(300 + 60 * k + seed)))
    return records


def test_curves_by_method_mark_peak_last_ten_and_paper():
    records = _sweep()
    axes = plot_curves_by_method(records, ncols=4)
    assert [ax.get_title() for ax in axes] == [METHOD_LABELS[m] for m in METHODS]
    assert len(axes[0].figure.axes) == len(METHODS)  # the empty cells of the 3 x 4 grid are removed
    paper = PAPER_TABLE2.query("dataset == 'fashion_mnist' and noise == 0.4").set_index("method")["mean"]
    for ax, method in zip(axes, METHODS):
        curves = np.array([r["history"]["test_acc"] for r in records if r["config"]["method"] == method])
        mean = curves.mean(axis=0)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), mean)
        peak = [ln for ln in ax.lines if ln.get_marker() == "v"]
        assert len(peak) == 1 and peak[0].get_xdata()[0] == mean.argmax() + 1 and peak[0].get_ydata()[0] == mean.max()
        (last10,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        np.testing.assert_allclose(last10.get_segments()[0][:, 1], mean[-10:].mean())
        np.testing.assert_allclose(last10.get_segments()[0][:, 0], [len(mean) - 9.5, len(mean) + 0.5])
        dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
        assert len(dashed) == 1 and dashed[0].get_ydata()[0] == paper[method]
        text = ax.texts[0].get_text()
        assert f"peak {mean.max():.1f} (epoch {mean.argmax() + 1})" in text and f"last 10: {mean[-10:].mean():.1f}" in text
        assert f"{len(curves)} seed" in text
    without = plot_curves_by_method(records, paper=False)
    assert not any(ln.get_linestyle() == "--" for ax in without for ln in ax.lines)
    # no published number at 30% noise: nothing dashed, and the figure legend says so
    other = plot_curves_by_method([_record("cce", 0, [50.0, 60.0], noise=0.3)])
    assert not any(ln.get_linestyle() == "--" for ln in other[0].lines)
    assert "paper" not in " ".join(t.get_text() for t in other[0].figure.legends[0].get_texts())


@pytest.mark.parametrize("records, kwargs, exc, match", [
    ([], {}, ValueError, "at least one run record"),
    ({"config": {}}, {}, TypeError, "records must be a list"),
    ([{"config": {"method": "cce"}}], {}, ValueError, r"records\[0\] must be a run record .* missing 'history'"),
    ([_record("sgd", 0, [1.0])], {}, ValueError, r"records\[0\] has method 'sgd'"),
    ([_record("cce", 0, [])], {}, ValueError, r"records\[0\] must hold at least one finite test accuracy"),
    ([_record("cce", 0, [1.0, float("nan")])], {}, ValueError, "finite test accuracy"),
    ([_record("cce", 0, [1.0]), _record("vat", 0, [1.0], noise=0.2)], {}, ValueError, "share one dataset and noise"),
    ([_record("cce", 0, [1.0])], {"ncols": 0}, ValueError, "ncols must be an int >= 1, got 0"),
])
def test_curves_by_method_rejects_bad_input(records, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot_curves_by_method(records, **kwargs)


@pytest.mark.parametrize("dataset", ["fashion_mnist", "cifar10", "cifar100"])
def test_paper_results_draw_table_2(dataset):
    ax = plot_paper_results(dataset)
    rows = PAPER_TABLE2[PAPER_TABLE2["dataset"] == dataset]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [METHOD_LABELS[m] for m in METHODS]
    for container, method in zip(ax.containers, METHODS):
        sub = rows[rows["method"] == method].sort_values("noise")
        line, _, (bars,) = container.lines
        np.testing.assert_array_equal(line.get_xdata(), sub["noise"].to_numpy() * 100)
        np.testing.assert_array_equal(line.get_ydata(), sub["mean"].to_numpy())
        heights = [seg[1, 1] - seg[0, 1] for seg in bars.get_segments()]
        np.testing.assert_allclose(heights, 2 * sub["std"].to_numpy())
        assert (line.get_linewidth() > 2) == (method in ("cce", "vat", "watc"))
    assert DATASET_LABELS[dataset] in ax.get_title()


@pytest.mark.parametrize("kwargs, match", [
    ({"dataset": "mnist"}, "dataset must be one of"),
    ({"dataset": "cifar10", "highlight": "watc"}, "highlight must be a sequence of methods"),
    ({"dataset": "cifar10", "highlight": ["wat"]}, "highlight must be a sequence of methods"),
])
def test_paper_results_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_paper_results(**kwargs)


def test_run_summary_agrees_with_the_records_and_the_training_summary():
    records = _sweep()
    table = run_summary(records)
    assert isinstance(table, pd.DataFrame) and len(table) == len(records)
    for row, r in zip(table.itertuples(), records):
        m = r["metric"]
        assert row.method == METHOD_LABELS[r["config"]["method"]] and row.seed == r["config"]["seed"]
        assert (row.peak, row.peak_epoch, row.final) == (m["peak"], m["peak_epoch"], m["final"])
        assert row.last10_mean == pytest.approx(m["last10_mean"], abs=1e-12)
        assert row.drop == pytest.approx(m["peak"] - m["last10_mean"], abs=1e-12)
        assert row.wall_time_min == r["wall_time_s"] / 60
        assert row.s_per_epoch == r["wall_time_s"] / len(r["history"]["test_acc"])
        assert (row.preset, row.device, row.n_train) == ("cpu", r["device"], 4000)


def test_run_summary_names_missing_fields():
    record = _record("cce", 0, [1.0, 2.0])
    del record["wall_time_s"], record["config"]["width"]
    with pytest.raises(ValueError, match=r"records\[0\] must be a complete run record, missing \['width', 'wall_time_s'\]"):
        run_summary([record])


def test_run_times_one_bar_per_run_top_down():
    records = _sweep()[:4] + [_record("watc", 5, [1.0, 2.0], wall=90.0, device="cuda: H100", preset="paper")]
    ax = plot_run_times(records)
    bars = sorted(ax.patches, key=lambda p: -p.get_y())
    assert [p.get_width() for p in bars] == [r["wall_time_s"] / 60 for r in records]
    ticks = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())), reverse=True)
    assert [label for _, label in ticks] == [f"{METHOD_LABELS[r['config']['method']]} (seed {r['config']['seed']})"
                                             for r in records]
    assert ax.get_title() == "wall time per run: cpu: x86_64, 2 threads; cuda: H100; preset cpu, paper"
    assert ax.texts[-1].get_text().strip() == f"{90.0 / 2:.0f} s/epoch"


# ------------------------------------------------------------------------------ segmentation figures
def _maps():
    from watlib.data import VAIHINGEN_CLASSES

    clean = np.arange(8 * 10).reshape(8, 10) % len(VAIHINGEN_CLASSES)
    return {"clean": clean, "corrupted": np.roll(clean, 1, axis=1)}


def test_label_maps_use_the_isprs_colours_and_show_the_close_up():
    from watlib.data import VAIHINGEN_CLASSES, VAIHINGEN_COLORS
    from watlib.plot import plot_label_maps

    maps = _maps()
    fig = plot_label_maps(maps, crop=(2, 6, 3, 9))
    full, close = fig.axes[0], fig.axes[2]  # row 1: full maps, row 2: close-ups
    np.testing.assert_array_equal(full.images[0].get_array(), VAIHINGEN_COLORS[maps["clean"]])
    np.testing.assert_array_equal(close.images[0].get_array(), VAIHINGEN_COLORS[maps["clean"][2:6, 3:9]])
    assert len(full.patches) == 1  # the orange frame of the close-up
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(VAIHINGEN_CLASSES)
    plt.close(fig)


def test_label_maps_reject_bad_crops_and_mismatched_maps():
    from watlib.plot import plot_label_maps

    with pytest.raises(ValueError, match=r"crop must satisfy 0 <= top < bottom <= 8"):
        plot_label_maps(_maps(), crop=(2, 20, 0, 4))
    with pytest.raises(ValueError, match="crop must be"):
        plot_label_maps(_maps(), crop=(2, 3))
    with pytest.raises(ValueError, match="one shape"):
        plot_label_maps({"a": np.zeros((4, 4), int), "b": np.zeros((4, 5), int)})
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_label_maps({})
    with pytest.raises(ValueError, match="must lie in"):
        plot_label_maps({"a": np.full((4, 4), 6)})
    plt.close("all")


def test_scene_shows_the_dsm_in_metres():
    from watlib.data import VaihingenTile
    from watlib.plot import plot_scene

    image = np.zeros((5, 4, 4), np.float32)
    image[3] = np.linspace(0, 1, 16).reshape(4, 4)
    fig = plot_scene(VaihingenTile(1, image, np.zeros((4, 4), np.int64), {}, (250.0, 270.0)))
    dsm = fig.axes[1].images[0].get_array()
    assert float(dsm.min()) == 250.0 and float(dsm.max()) == 270.0
    plt.close(fig)


def test_segmentation_curves_average_seeds_and_skip_undefined_values():
    from watlib.plot import plot_segmentation_curves

    recs = [{"config": {"method": "wat"}, "history": {"val_oa": [50.0, 70.0], "val_avg_f1": [None, 60.0]}},
            {"config": {"method": "wat"}, "history": {"val_oa": [60.0, 80.0], "val_avg_f1": [40.0, 50.0]}}]
    fig = plot_segmentation_curves(recs)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [55.0, 75.0])
    assert line.get_label() == "WAT (2)"
    assert np.isnan(fig.axes[1].get_lines()[0].get_ydata()[0])
    with pytest.raises(ValueError, match="at least one"):
        plot_segmentation_curves([])
    plt.close("all")
