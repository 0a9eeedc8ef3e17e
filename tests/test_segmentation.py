"""Tests of watlib.segmentation: the Gaussian window, the patch grid's coverage, full-tile
prediction against a direct float64 implementation of the weighted average, and the metrics
against scikit-learn and the paper's Table 3."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

from watlib.costs import class_names
from watlib.models import UNet
from watlib.segmentation import (
    SegmentationMetrics,
    confusion_matrix_of,
    gaussian_window,
    metrics_from_confusion,
    patch_grid,
    predict_tile,
    segmentation_metrics,
)


class ConstantLogits(nn.Module):
    """The same logits at every pixel, whatever the input."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))

    def forward(self, x):
        b, _, h, w = x.shape
        return self.logits[None, :, None, None].expand(b, -1, h, w)


class PositionInPatch(nn.Module):
    """Logits that depend on the pixel's position inside the patch and on the input: a model
    whose patches disagree wherever they overlap."""

    def forward(self, x):
        b, _, h, w = x.shape
        rows = torch.linspace(0, 1, h)[:, None].expand(h, w)
        cols = torch.linspace(0, 1, w)[None, :].expand(h, w)
        position = torch.stack([rows, cols, rows * cols])[None].expand(b, -1, -1, -1)
        return 3 * position + x[:, :1]


class RecordsTraining(nn.Module):
    """Identity on 2 channels (logits = input), with a note of the mode it ran in."""

    def __init__(self):
        super().__init__()
        self.modes = []
        self.grad_enabled = []

    def forward(self, x):
        self.modes.append(self.training)
        self.grad_enabled.append(torch.is_grad_enabled())
        return x


def _direct_prediction(model, tile, patch, overlap, sigma):
    """The weighted average written out in float64, one patch at a time, on the padded-free
    grid of patch_grid (tiles at least a patch in size)."""
    _, h, w = tile.shape
    window = gaussian_window(patch, sigma).double()
    total, weight = None, torch.zeros(h, w, dtype=torch.float64)
    with torch.no_grad():
        for r, c in patch_grid(h, w, patch, overlap):
            p = model(tile[None, :, r : r + patch, c : c + patch]).double().softmax(1)[0]
            total = torch.zeros(p.shape[0], h, w, dtype=torch.float64) if total is None else total
            total[:, r : r + patch, c : c + patch] += window * p
            weight[r : r + patch, c : c + patch] += window
    return total / weight


def test_gaussian_window_values_symmetry_and_sigma():
    w = gaussian_window(7, sigma=1.0)
    assert w.dtype == torch.float32 and w.shape == (7, 7)
    assert torch.equal(w, w.T) and torch.equal(w, w.flip(0)) and torch.equal(w, w.flip(1))
    assert w[3, 3] == 1 and w.argmax() == 3 * 7 + 3
    assert float(w[0, 3]) == pytest.approx(math.exp(-0.5), rel=1e-6)  # u = -1, v = 0
    assert float(w[0, 0]) == pytest.approx(math.exp(-1.0), rel=1e-6)
    u = np.linspace(-1, 1, 7)
    expected = np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * 0.5**2))
    np.testing.assert_allclose(gaussian_window(7, 0.5).numpy(), expected, rtol=1e-6)
    even = gaussian_window(8)
    assert torch.equal(even[3:5, 3:5], torch.full((2, 2), float(even.max())))
    assert float(even.max()) < 1
    assert gaussian_window(1).tolist() == [[1.0]]
    # a wider window is flatter
    assert gaussian_window(9, 3.0).min() > gaussian_window(9, 1.0).min() > gaussian_window(9, 0.3).min() > 0


@pytest.mark.parametrize("sigma, error", [(0, ValueError), (-1, ValueError), (0.1, ValueError),
                                          (float("inf"), ValueError), (float("nan"), ValueError),
                                          ("1", TypeError), (True, TypeError)])
def test_gaussian_window_rejects_bad_sigma(sigma, error):
    with pytest.raises(error, match="sigma must"):
        gaussian_window(16, sigma)


@pytest.mark.parametrize("height, width", [(1, 1), (7, 30), (16, 16), (17, 16), (45, 33), (100, 61)])
@pytest.mark.parametrize("patch, overlap", [(16, 0), (16, 5), (16, 15), (8, 3)])
def test_patch_grid_covers_every_pixel_and_ends_at_the_border(height, width, patch, overlap):
    origins = patch_grid(height, width, patch, overlap)
    covered = np.zeros((max(height, patch), max(width, patch)), dtype=int)
    for r, c in origins:
        covered[r : r + patch, c : c + patch] += 1
    assert (covered[:height, :width] >= 1).all()
    tops, lefts = sorted({r for r, _ in origins}), sorted({c for _, c in origins})
    assert len(origins) == len(tops) * len(lefts)
    for starts, length in ((tops, height), (lefts, width)):
        assert starts[0] == 0 and starts[-1] == max(length - patch, 0)
        steps = np.diff(starts)
        assert (steps[:-1] == patch - overlap).all() and (steps <= patch - overlap).all()


@pytest.mark.parametrize("patch, overlap, error, match", [
    (16, 16, ValueError, "overlap must be < patch.*overlap=16 with patch=16"),
    (16, 20, ValueError, "overlap must be < patch"),
    (16, -1, ValueError, "overlap must be an int >= 0, got -1"),
    (0, 0, ValueError, "patch must be an int >= 1, got 0"),
    (16.0, 4, TypeError, "patch must be an int"),
    (16, 4.5, TypeError, "overlap must be an int"),
])
def test_bad_patch_and_overlap_are_rejected(patch, overlap, error, match):
    with pytest.raises(error, match=match):
        patch_grid(40, 40, patch, overlap)
    with pytest.raises(error, match=match):
        predict_tile(ConstantLogits([0.0, 1.0]), torch.zeros(1, 40, 40), patch=patch, overlap=overlap)


@pytest.mark.parametrize("height, width", [(40, 40), (37, 53), (16, 16), (5, 9), (1, 1), (9, 70)])
def test_a_constant_model_gives_its_softmax_at_every_pixel(height, width):
    logits = [0.5, -1.0, 2.0, 0.0]
    probs = predict_tile(ConstantLogits(logits), torch.randn(2, height, width), patch=16, overlap=11)
    assert probs.shape == (4, height, width) and probs.dtype == torch.float32
    expected = torch.tensor(logits).softmax(0)[:, None, None].expand_as(probs)
    torch.testing.assert_close(probs, expected, rtol=1e-6, atol=1e-7)


def test_without_overlap_each_patch_is_reproduced_exactly():
    torch.manual_seed(0)
    tile = torch.randn(1, 48, 32)
    model = PositionInPatch()
    probs = predict_tile(model, tile, patch=16, overlap=0, batch_size=5)
    for r, c in patch_grid(48, 32, 16, 0):
        direct = model(tile[None, :, r : r + 16, c : c + 16]).softmax(1)[0]
        torch.testing.assert_close(probs[:, r : r + 16, c : c + 16], direct, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("height, width, overlap, sigma", [(48, 32, 8, 1.0), (41, 57, 11, 0.5), (23, 16, 15, 2.0)])
def test_overlapping_patches_are_the_gaussian_weighted_average(height, width, overlap, sigma):
    torch.manual_seed(1)
    tile = torch.randn(1, height, width)
    model = PositionInPatch()
    probs = predict_tile(model, tile, patch=16, overlap=overlap, sigma=sigma, batch_size=3)
    expected = _direct_prediction(model, tile, 16, overlap, sigma)
    torch.testing.assert_close(probs.double(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(probs.sum(0), torch.ones(height, width), rtol=0, atol=1e-5)
    assert (probs >= 0).all()


def test_a_pixelwise_model_is_reproduced_on_tiles_smaller_than_a_patch():
    model = RecordsTraining()
    for h, w in [(3, 5), (1, 20), (16, 2), (7, 40)]:
        tile = np.random.default_rng(h * w).normal(size=(2, h, w))  # numpy float64 in
        probs = predict_tile(model, tile, patch=16, overlap=4)
        torch.testing.assert_close(probs, torch.from_numpy(tile).float().softmax(0), rtol=1e-6, atol=1e-7)


def test_the_model_runs_in_eval_mode_without_gradients_and_its_mode_is_restored():
    model = RecordsTraining().train()
    predict_tile(model, torch.zeros(2, 30, 30), patch=16, overlap=8, batch_size=2)
    assert model.training  # restored
    assert model.modes and not any(model.modes) and not any(model.grad_enabled)
    assert len(model.modes) == math.ceil(len(patch_grid(30, 30, 16, 8)) / 2)


def test_a_unet_predicts_a_whole_tile_and_batching_does_not_change_it():
    torch.manual_seed(0)
    model = UNet(in_channels=3, num_classes=6, width=0.0625, depth=2)
    tile = torch.randn(3, 50, 41)
    a = predict_tile(model, tile, patch=16, overlap=8, batch_size=1)
    b = predict_tile(model, tile, patch=16, overlap=8, batch_size=64)
    assert a.shape == (6, 50, 41)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.sum(0), torch.ones(50, 41), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"tile": torch.zeros(30, 30)}, ValueError, r"tile must have shape \(C, H, W\)"),
    ({"tile": torch.zeros(1, 0, 30)}, ValueError, r"tile must have shape \(C, H, W\)"),
    ({"tile": torch.zeros(1, 20, 20, dtype=torch.bool)}, TypeError, "tile must hold real numbers"),
    ({"tile": [[[0.0]]]}, TypeError, "tile must be a torch.Tensor or numpy.ndarray"),
    ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1, got 0"),
    ({"sigma": 0.0}, ValueError, "sigma must be finite"),
    ({"progress": 1}, TypeError, "progress must be a bool"),
    ({"model": lambda x: x}, TypeError, "model must be a torch.nn.Module"),
    ({"model": nn.Conv2d(1, 2, 3)}, ValueError, r"model must map a batch .* got \(\d+, 2, 14, 14\)"),
])
def test_predict_tile_rejects_bad_arguments(kwargs, error, match):
    args = {"model": ConstantLogits([0.0, 1.0]), "tile": torch.zeros(1, 20, 20), "patch": 16, "overlap": 4}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        predict_tile(**args)


# ---------------------------------------------------------------------------------- metrics

NAMES = class_names("vaihingen")
TABLE3_CHOICE = {"class_names": NAMES, "ignore_class": "clutter"}  # the caller's stated choice


def _random_maps(seed, shape=(40, 50), K=6, accuracy=0.7):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, size=shape)
    pred = np.where(rng.random(shape) < accuracy, truth, rng.integers(0, K, size=shape))
    return truth, pred


@pytest.mark.parametrize("seed", range(4))
def test_metrics_agree_with_scikit_learn_on_random_maps(seed):
    truth, pred = _random_maps(seed)
    m = segmentation_metrics(truth, pred, 6, **TABLE3_CHOICE)
    assert isinstance(m, SegmentationMetrics)
    expected = 100 * f1_score(truth.ravel(), pred.ravel(), labels=range(6), average=None)
    np.testing.assert_allclose([m.f1[name] for name in class_names("vaihingen")], expected, rtol=1e-12)
    assert m.overall_accuracy == pytest.approx(100 * accuracy_score(truth.ravel(), pred.ravel()), rel=1e-12)
    assert m.average_over == tuple(class_names("vaihingen")[:5])  # clutter left out
    assert m.average_f1 == pytest.approx(expected[:5].mean(), rel=1e-12)
    everything = segmentation_metrics(truth, pred, 6, class_names=NAMES, average_over="all")
    assert everything.average_f1 == pytest.approx(
        100 * f1_score(truth.ravel(), pred.ravel(), labels=range(6), average="macro"), rel=1e-12)
    # nothing is dropped unless the caller says so, even with Vaihingen's names
    default = segmentation_metrics(truth, pred, 6, class_names=NAMES)
    assert default.average_over == tuple(NAMES) and default.average_f1 == everything.average_f1
    by_index = segmentation_metrics(truth, pred, 6, class_names=NAMES, ignore_class=5)
    assert by_index.average_over == m.average_over and by_index.average_f1 == m.average_f1


def test_confusion_matrices_of_tiles_add_up_to_that_of_all_pixels():
    tiles = [_random_maps(seed, shape=(10 + seed, 7)) for seed in range(3)]
    summed = sum(confusion_matrix_of(t, p, 6) for t, p in tiles)
    truth = np.concatenate([t.ravel() for t, _ in tiles])
    pred = np.concatenate([p.ravel() for _, p in tiles])
    np.testing.assert_array_equal(summed, confusion_matrix_of(truth, pred, 6))
    assert summed.dtype == np.int64 and summed.sum() == truth.size
    a, b = metrics_from_confusion(summed), segmentation_metrics(truth, pred, 6)
    assert a.f1 == b.f1 and a.overall_accuracy == b.overall_accuracy
    # torch tensors are accepted too
    t, p = tiles[0]
    np.testing.assert_array_equal(confusion_matrix_of(torch.from_numpy(t), torch.from_numpy(p), 6),
                                  confusion_matrix_of(t, p, 6))
    # the number of classes is the caller's: a larger K adds empty rows and columns
    wider = confusion_matrix_of(t, p, 8)
    np.testing.assert_array_equal(wider[:6, :6], confusion_matrix_of(t, p, 6))
    assert wider[6:].sum() == wider[:, 6:].sum() == 0


def _confusion_with_f1(f1_percent, tp=1_000_000):
    """A Vaihingen confusion matrix whose first five classes have the given F1 scores: each
    class k keeps tp pixels and loses e_k to clutter, 2 tp / (2 tp + e_k) = F1_k / 100."""
    cm = np.zeros((6, 6), dtype=np.int64)
    for k, f in enumerate(f1_percent):
        cm[k, k] = tp
        cm[k, 5] = round(2 * tp * (100 / f - 1))
    cm[5, 5] = tp
    return cm


# Table 3 of the paper, by column, in ISPRS class order (impervious surfaces, building, low
# vegetation, tree, car): the per-class F1 and the published average F1.
TABLE3 = {
    "CCE clean": ((85.76, 90.29, 76.32, 84.72, 58.91), 79.20),
    "CCE noisy": ((62.20, 75.06, 25.92, 70.89, 14.21), 49.65),
    "Bootsoft": ((82.66, 88.34, 61.40, 80.49, 10.98), 64.77),
    "WAT": ((79.01, 89.04, 71.56, 82.92, 25.78), 69.66),
}


@pytest.mark.parametrize("column", TABLE3)
def test_leaving_clutter_out_gives_table_3s_mean_over_five_classes(column):
    per_class, published_average = TABLE3[column]
    m = metrics_from_confusion(_confusion_with_f1(per_class), **TABLE3_CHOICE)
    names = class_names("vaihingen")
    for name, f in zip(names, per_class):
        assert m.f1[name] == pytest.approx(f, abs=1e-4)
    # the published per-class scores and average are each rounded to 0.01 (CCE noisy: the
    # mean of the rounded scores is 49.656, published 49.65)
    assert m.average_f1 == pytest.approx(published_average, abs=0.01)
    assert "clutter" not in m.average_over and m.f1["clutter"] is not None
    # with clutter in the average the published number is not reproduced
    with_clutter = metrics_from_confusion(_confusion_with_f1(per_class), class_names=NAMES, average_over="all")
    assert abs(with_clutter.average_f1 - published_average) > 0.5
    # which is what the default gives: clutter is never dropped silently
    default = metrics_from_confusion(_confusion_with_f1(per_class), class_names=NAMES)
    assert default.average_f1 == with_clutter.average_f1


def test_a_class_absent_from_truth_and_prediction_has_no_f1_and_leaves_the_average():
    truth = np.array([0, 0, 1, 1, 4])
    pred = np.array([0, 1, 1, 1, 4])
    m = segmentation_metrics(truth, pred, 6, **TABLE3_CHOICE)
    assert m.f1["tree"] is None and m.f1["low vegetation"] is None and m.f1["clutter"] is None
    defined = [m.f1[n] for n in ("impervious surfaces", "building", "car")]
    assert m.average_f1 == pytest.approx(np.mean(defined))
    assert not any(isinstance(v, float) and math.isnan(v) for v in m.f1.values())
    only_absent = segmentation_metrics(truth, pred, 6, class_names=NAMES, average_over=["tree", 2])
    assert only_absent.average_f1 is None and only_absent.average_over == ("tree", "low vegetation")
    # a class predicted but absent from the truth has F1 = 0, not None
    assert segmentation_metrics(np.array([0, 0]), np.array([0, 3]), 6, class_names=NAMES).f1["tree"] == 0.0


def test_other_numbers_of_classes_average_over_all_of_them_with_generic_names():
    truth, pred = _random_maps(9, K=3)
    m = segmentation_metrics(truth, pred, num_classes=3)
    assert m.class_names == ("class 0", "class 1", "class 2") == m.average_over
    named = segmentation_metrics(truth, pred, num_classes=3, class_names=["a", "b", "c"], average_over=["c", 0])
    assert named.average_over == ("c", "a")
    assert named.average_f1 == pytest.approx((named.f1["a"] + named.f1["c"]) / 2)
    # six classes, named or not: the average runs over all six
    other = segmentation_metrics(*_random_maps(3), 6, class_names=list("abcdef"))
    assert len(other.average_over) == 6
    unnamed = segmentation_metrics(*_random_maps(3), 6)
    assert unnamed.class_names == tuple(f"class {k}" for k in range(6)) == unnamed.average_over


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((np.zeros(4, int), np.zeros(5, int)), {}, ValueError, "y_pred must have the shape of y_true"),
    ((np.zeros(4), np.zeros(4, int)), {}, TypeError, "y_true must hold integers"),
    ((np.zeros(4, int), np.full(4, 6)), {}, ValueError, r"y_pred must lie in \[0, 6\).*= 6"),
    ((np.full(4, -1), np.zeros(4, int)), {}, ValueError, r"y_true must lie in \[0, 6\).*= -1"),
    ((np.zeros(0, int), np.zeros(0, int)), {}, ValueError, "at least one pixel"),
    ((np.zeros(4, int), np.zeros(4, int)), {"num_classes": 0}, ValueError, "num_classes must be an int >= 1, got 0"),
    ((np.zeros(4, int), np.zeros(4, int)), {"num_classes": 6.0}, TypeError, "num_classes must be an int, got 6.0"),
    ((np.zeros(4, int), np.zeros(4, int)), {"ignore_class": 6}, ValueError,
     r"ignore_class must be an int in \[0, 6\), got 6"),
    ((np.zeros(4, int), np.zeros(4, int)), {"ignore_class": "sky"}, ValueError,
     "ignore_class names a class not in .*'sky'"),
    ((np.zeros(4, int), np.zeros(4, int)), {"ignore_class": 1.0}, TypeError, "ignore_class must be an int"),
    ((np.zeros(4, int), np.zeros(4, int)), {"ignore_class": 5, "average_over": [0]}, ValueError,
     "give average_over or ignore_class, not both"),
    ((np.zeros(4, int), np.zeros(4, int)), {"class_names": ["a"]}, ValueError, "class_names must be 6 distinct"),
    ((np.zeros(4, int), np.zeros(4, int)), {"class_names": "abcdef"}, TypeError, "class_names must be a sequence"),
    ((np.zeros(4, int), np.zeros(4, int)), {"average_over": [7]}, ValueError, r"classes in \[0, 6\), got 7"),
    ((np.zeros(4, int), np.zeros(4, int)), {"average_over": ["sky"]}, ValueError, "'sky'"),
    ((np.zeros(4, int), np.zeros(4, int)), {"average_over": [0, 0]}, ValueError, "must not repeat"),
    ((np.zeros(4, int), np.zeros(4, int)), {"average_over": []}, TypeError, "non-empty sequence"),
    ((np.zeros(4, int), np.zeros(4, int)), {"average_over": "most"}, ValueError, "None, 'all'"),
])
def test_segmentation_metrics_rejects_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        segmentation_metrics(*args, **{"num_classes": 6, **kwargs})


def test_the_number_of_classes_is_required():
    with pytest.raises(TypeError, match="num_classes"):
        segmentation_metrics(np.zeros(4, int), np.zeros(4, int))
    with pytest.raises(TypeError, match="num_classes"):
        confusion_matrix_of(np.zeros(4, int), np.zeros(4, int))


@pytest.mark.parametrize("cm, error, match", [
    (np.zeros((6, 6), dtype=int), ValueError, "at least one pixel"),
    (np.ones((6, 5), dtype=int), ValueError, r"square \(K, K\).*\(6, 5\)"),
    (np.full((2, 2), -1), ValueError, r"counts >= 0, got cm\[0, 0\] = -1"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, r"cm\[0, 1\]"),
    (np.ones((2, 2), dtype=bool), TypeError, "cm must hold pixel counts"),
])
def test_metrics_from_confusion_rejects_bad_matrices(cm, error, match):
    with pytest.raises(error, match=match):
        metrics_from_confusion(cm)
