"""Tests of watlib.plot.matrices: heat maps of matrices, one or several on one colour scale,
and dataset samples titled with their training labels, drawn headless."""

from __future__ import annotations

import pickle

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from watlib.costs import class_names  # noqa: E402
from watlib.data import ClassificationDataset, load_dataset  # noqa: E402
from watlib.noise import corrupt_labels, noise_report, transition_matrix  # noqa: E402
from watlib.plot import DATASET_LABELS, plot_matrices, plot_matrix, plot_samples  # noqa: E402
from watlib.testing import write_fake_cifar  # noqa: E402

RED = to_rgba("#d62728")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


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


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"colorbar": "yes"}, TypeError, "colorbar must be a bool, got 'yes' of type str"),
    ({"vmin": float("nan")}, ValueError, "vmin must be a finite number, got nan"),
    ({"vmax": "1"}, TypeError, "vmax must be a real number, got '1' of type str"),
])
def test_plot_matrix_rejects_bad_flags_and_limits(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot_matrix(torch.eye(2), **kwargs)


def test_plot_matrix_colour_limits():
    ax = plot_matrix(torch.tensor([[0.2, 0.4], [0.6, 0.8]]), vmin=0.0, vmax=1.0)
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert plot_matrix(torch.tensor([[0.2, 0.4], [0.6, 0.8]])).images[0].get_clim() == pytest.approx((0.2, 0.8))


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
    ([np.eye(2)], {"vmax": float("inf")}, ValueError, "vmax must be a finite number, got inf"),
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


def test_plot_matrix_fits_the_page_with_legible_annotations():
    """A new figure is at most the book's column (6.8 in at 100 dpi) wide, so it is shown at
    its size and its 8 pt annotations stay 8 pt; a 7.5 in figure came out at 7.3 pt, two maps
    side by side on 15 in at 3.7 pt."""
    from watlib.plot._style import PAGE_WIDTH

    for K in (3, 6, 10, 12, 100):
        ax = plot_matrix(torch.rand(K, K), labels=[f"class {k}" for k in range(K)])
        assert ax.figure.get_figwidth() <= PAGE_WIDTH
        assert all(t.get_fontsize() >= 8 for t in ax.texts)
        plt.close(ax.figure)


def test_plot_matrix_without_labels_has_whole_indices_on_its_axes():
    ax = plot_matrix(torch.rand(10, 10), annotate=False)
    ax.figure.canvas.draw()
    ticks = [*ax.get_xticks(), *ax.get_yticks()]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_plot_matrices_and_plot_samples_fit_the_page_with_legible_text():
    """Two annotated 10 x 10 maps do not fit side by side at 8 pt in a 6.8 in column: they are
    stacked; large maps without annotations go two a row; sample grids shrink to the column."""
    from watlib.plot._style import PAGE_WIDTH

    T = transition_matrix("fashion_mnist", 0.4)
    axes = plot_matrices([T, T], labels=class_names("fashion_mnist"), titles=["a", "b"])
    fig = axes[0].figure
    assert fig.get_figwidth() <= PAGE_WIDTH and all(t.get_fontsize() >= 8 for ax in axes for t in ax.texts)
    fig.canvas.draw()
    first, second = (ax.get_position() for ax in axes)
    assert second.y1 <= first.y0  # one above the other
    big = plot_matrices([np.eye(100), np.eye(100)], vmin=0.0, vmax=1.0)
    first, second = (ax.get_position() for ax in big)
    assert big[0].figure.get_figwidth() <= PAGE_WIDTH and first.x1 <= second.x0  # side by side
    ds = _indexed_dataset(per_class=(10, 10, 10))
    grid = plot_samples(ds, ds.y, n_per_class=8)
    assert grid[0, 0].figure.get_figwidth() <= PAGE_WIDTH
    assert min(ax.title.get_fontsize() for ax in grid.flat) >= 8
