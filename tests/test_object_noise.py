"""Tests of watlib.noise.object_noise: the exact number of objects flipped, flips only along
the allowed confusions, objects relabelled as a whole, the report against counts made here
with scipy, determinism by seed, and input validation."""

import inspect
import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from watlib.costs import class_names
from watlib.paper import SEGMENTATION
from watlib.noise import VAIHINGEN_CONFUSIONS, ObjectNoiseReport, noise_report, object_noise

K = 6
EIGHT = np.ones((3, 3), dtype=bool)
FOUR = ndimage.generate_binary_structure(2, 1)


def _blocky_map(seed, cells=14, block=3):
    """A label map of random classes on a coarse grid, blown up into blocks, so that objects
    of several sizes and shapes (blocks of one class merge) appear."""
    coarse = np.random.default_rng(seed).integers(0, K, size=(cells, cells))
    return np.kron(coarse, np.ones((block, block), dtype=np.int64))


def _objects(y, structure=EIGHT):
    """The clean objects as a list of (class, boolean mask), counted independently."""
    objects = []
    for k in range(K):
        labelled, n = ndimage.label(y == k, structure=structure)
        objects.extend((k, labelled == i) for i in range(1, n + 1))
    return objects


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fraction", [0.0, 0.2, 1 / 3, 0.5, 1.0])
def test_flips_whole_objects_along_allowed_confusions_in_the_requested_number(seed, fraction):
    y = _blocky_map(seed)
    noisy, report = object_noise(y, K, VAIHINGEN_CONFUSIONS, fraction=fraction, seed=seed)
    objects = _objects(y)
    assert report.n_components == report.n_eligible == len(objects)  # every class may flip
    assert report.n_flipped == round(fraction * len(objects))
    flipped = 0
    for k, mask in objects:
        values = np.unique(noisy[mask])
        assert values.size == 1, "an object must change as a whole"
        if values[0] != k:
            flipped += 1
            assert values[0] in VAIHINGEN_CONFUSIONS[k]
    assert flipped == report.n_flipped
    changed = noisy != y
    assert report.pixel_flip_rate == pytest.approx(changed.mean())
    assert sorted(size for size, _, _ in report.flips) == sorted(
        int(mask.sum()) for k, mask in objects if noisy[mask][0] != k
    )


def test_report_counts_match_the_maps():
    y = _blocky_map(5)
    noisy, report = object_noise(y, K, VAIHINGEN_CONFUSIONS, seed=3)
    assert isinstance(report, ObjectNoiseReport)
    expected_per_class = [ndimage.label(y == k, structure=EIGHT)[1] for k in range(K)]
    assert report.components_per_class.tolist() == expected_per_class
    assert report.component_counts.sum(axis=1).tolist() == expected_per_class
    assert np.trace(report.component_counts) == report.n_components - report.n_flipped
    pixels = np.bincount(y.ravel() * K + noisy.ravel(), minlength=K * K).reshape(K, K)
    np.testing.assert_array_equal(report.pixel_counts, pixels)
    T_hat, rate = noise_report(y, noisy, K)
    np.testing.assert_allclose(report.pixel_counts / report.pixel_counts.sum(1, keepdims=True), T_hat)
    assert report.pixel_flip_rate == pytest.approx(rate)
    for size, source, target in report.flips:
        assert size >= 1 and target in VAIHINGEN_CONFUSIONS[source]
    assert sum(size for size, _, _ in report.flips) == (noisy != y).sum()


def test_default_table_is_the_papers_car_rule_and_never_maps_a_class_to_itself():
    names = class_names("vaihingen")
    car, impervious = names.index("car"), names.index("impervious surfaces")
    assert VAIHINGEN_CONFUSIONS[car] == (impervious,)  # not building, not tree
    assert sorted(VAIHINGEN_CONFUSIONS) == list(range(K))
    for source, targets in VAIHINGEN_CONFUSIONS.items():
        assert targets and source not in targets and len(set(targets)) == len(targets)
        for target in targets:  # symmetric, except a car never comes out of another class
            assert source in VAIHINGEN_CONFUSIONS[target] or source == car
    assert all(car not in targets for targets in VAIHINGEN_CONFUSIONS.values())


def test_same_seed_same_noise_other_seed_other_noise():
    y = _blocky_map(7)
    a, report_a = object_noise(y, K, VAIHINGEN_CONFUSIONS, seed=11)
    b, report_b = object_noise(y, K, VAIHINGEN_CONFUSIONS, seed=11)
    c, _ = object_noise(y, K, VAIHINGEN_CONFUSIONS, seed=12)
    np.testing.assert_array_equal(a, b)
    assert report_a.flips == report_b.flips
    assert not np.array_equal(a, c)
    d, _ = object_noise(y, K, VAIHINGEN_CONFUSIONS, seed=np.random.default_rng(11))
    np.testing.assert_array_equal(a, d)


def test_fraction_zero_leaves_the_map_unchanged_and_input_is_not_modified():
    y = _blocky_map(0).astype(np.uint8)
    before = y.copy()
    noisy, report = object_noise(y, K, VAIHINGEN_CONFUSIONS, fraction=0, seed=0)
    np.testing.assert_array_equal(noisy, y)
    assert noisy is not y and noisy.dtype == np.uint8
    assert report.n_flipped == 0 and report.flips == () and report.pixel_flip_rate == 0.0
    object_noise(y, K, VAIHINGEN_CONFUSIONS, fraction=1.0, seed=0)
    np.testing.assert_array_equal(y, before)


def test_torch_tensor_in_tensor_out_with_its_dtype():
    y = _blocky_map(1)
    t = torch.from_numpy(y).to(torch.int32)
    noisy_t, report_t = object_noise(t, K, VAIHINGEN_CONFUSIONS, seed=4)
    noisy_np, report_np = object_noise(y, K, VAIHINGEN_CONFUSIONS, seed=4)
    assert isinstance(noisy_t, torch.Tensor) and noisy_t.dtype == torch.int32
    np.testing.assert_array_equal(noisy_t.numpy(), noisy_np)
    assert report_t.flips == report_np.flips
    assert torch.equal(t, torch.from_numpy(y).to(torch.int32))


def test_custom_table_classes_outside_it_never_flip():
    y = _blocky_map(2)
    table = {4: (0,), 3: (2,)}
    noisy, report = object_noise(y, K, table, fraction=1.0, seed=0)
    assert report.n_eligible == report.components_per_class[[3, 4]].sum() == report.n_flipped
    keep = ~np.isin(y, [3, 4])
    np.testing.assert_array_equal(noisy[keep], y[keep])
    assert (noisy[y == 4] == 0).all() and (noisy[y == 3] == 2).all()
    # an empty sequence is a class that never flips, like an absent one
    _, report_empty = object_noise(y, K, {**table, 0: ()}, fraction=1.0, seed=0)
    assert report_empty.n_eligible == report.n_eligible


def test_connectivity_decides_whether_diagonal_pixels_are_one_object():
    y = np.array([[4, 0, 0],
                  [0, 4, 0],
                  [0, 0, 4]])
    _, eight = object_noise(y, K, VAIHINGEN_CONFUSIONS, fraction=0, seed=0)
    _, four = object_noise(y, K, VAIHINGEN_CONFUSIONS, fraction=0, seed=0, connectivity=4)
    assert eight.components_per_class[4] == 1 and four.components_per_class[4] == 3
    # the two road triangles touch at the diagonal's corners too: 8-connected objects of two
    # classes may cross there
    assert eight.components_per_class[0] == 1 and four.components_per_class[0] == 2
    assert four.components_per_class[0] == ndimage.label(y == 0, structure=FOUR)[1]


def test_objects_and_targets_are_drawn_uniformly():
    # 12 one-pixel cars and 12 one-pixel low-vegetation spots on a road, apart from one
    # another: each object is flipped in a third of the seeds; low vegetation (3 allowed
    # targets) goes to each of them in a third of its flips.
    y = np.zeros((6, 16), dtype=np.int64)
    y[1::4, 1::2] = 4
    y[3::4, 1::2] = 2
    n_seeds = 300
    hits = np.zeros(y.shape)
    targets = {0: 0, 3: 0, 5: 0}
    for seed in range(n_seeds):
        noisy, report = object_noise(y, K, VAIHINGEN_CONFUSIONS, fraction=1 / 3, seed=seed)
        hits += (noisy != y) & (y != 0)
        for _, source, target in report.flips:
            if source == 2:
                targets[target] += 1
    p, n_objects = 1 / 3, int((y != 0).sum())
    assert round(p * (n_objects + 1)) == 8  # 25 objects (+ the road), 8 flipped each time
    freq = hits[y != 0] / n_seeds
    bound = 4.5 * math.sqrt(p * (1 - p) / n_seeds)
    assert np.all(np.abs(freq - 8 / 25) < bound)
    total = sum(targets.values())
    for count in targets.values():
        assert abs(count / total - 1 / 3) < 4.5 * math.sqrt(2 / 9 / total)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"fraction": 1.5}, ValueError, r"fraction must be a finite number in \[0, 1\], got 1\.5"),
        ({"fraction": -0.1}, ValueError, r"fraction must be a finite number in \[0, 1\], got -0\.1"),
        ({"fraction": float("nan")}, ValueError, r"fraction must be a finite number in \[0, 1\], got nan"),
        ({"fraction": "1/3"}, TypeError, "fraction must be a real number"),
        ({"confusions": {6: (0,)}}, ValueError, r"a class of confusions must be an int in \[0, 6\), got 6"),
        ({"confusions": {-1: (0,)}}, ValueError, r"a class of confusions must be an int in \[0, 6\), got -1"),
        ({"confusions": {4: (7,)}}, ValueError, r"confusions\[4\]\[0\] must be an int in \[0, 6\), got 7"),
        ({"confusions": {4: (0, 4)}}, ValueError, r"confusions\[4\] must not contain class 4 itself"),
        ({"confusions": {4: (0, 0)}}, ValueError, r"confusions\[4\] must list distinct"),
        ({"confusions": {4: 0}}, TypeError, r"confusions\[4\] must be a sequence"),
        ({"confusions": {4: (0.0,)}}, TypeError, r"confusions\[4\]\[0\] must be an int"),
        ({"confusions": [(4, (0,))]}, TypeError, "confusions must be a mapping"),
        ({"connectivity": 6}, ValueError, "connectivity must be 4 or 8"),
        ({"num_classes": 1}, ValueError, "num_classes must be an int >= 2, got 1"),
        ({"num_classes": 6.0}, TypeError, "num_classes must be an int, got 6.0 of type float"),
        ({"num_classes": 4}, ValueError, r"confusions\[0\]\[2\] must be an int in \[0, 4\), got 5"),
        ({"confusions": None}, TypeError, "confusions must be a mapping"),
        ({"seed": -1}, ValueError, "seed must be a non-negative int"),
        ({"seed": 1.0}, TypeError, "seed must be a non-negative int"),
    ],
)
def test_bad_arguments_are_rejected_with_their_name(kwargs, error, match):
    arguments = {"num_classes": K, "confusions": VAIHINGEN_CONFUSIONS, **kwargs}
    with pytest.raises(error, match=match):
        object_noise(np.zeros((4, 4), dtype=np.int64), **arguments)


def test_the_number_of_classes_and_the_table_are_required():
    y = np.zeros((4, 4), dtype=np.int64)
    with pytest.raises(TypeError, match="num_classes"):
        object_noise(y)
    with pytest.raises(TypeError, match="confusions"):
        object_noise(y, K)
    with pytest.raises(TypeError):  # the table is data, not to be changed by a caller
        VAIHINGEN_CONFUSIONS[4] = (1,)
    # the default share of objects is the paper's third, read from watlib.paper
    assert inspect.signature(object_noise).parameters["fraction"].default == SEGMENTATION["noise_fraction"] == 1 / 3


@pytest.mark.parametrize(
    "label_map, error, match",
    [
        (np.zeros((2, 3, 3), dtype=np.int64), ValueError, r"label_map must be 2-D .*\(2, 3, 3\)"),
        (np.zeros(5, dtype=np.int64), ValueError, "label_map must be 2-D"),
        (np.zeros((0, 4), dtype=np.int64), ValueError, "at least one pixel"),
        (np.zeros((3, 3)), TypeError, "label_map must hold integers, got dtype float64"),
        (np.zeros((3, 3), dtype=bool), TypeError, "label_map must hold integers"),
        (torch.zeros(3, 3), TypeError, "label_map must hold integers"),
        (np.full((3, 3), 6), ValueError, r"label_map must lie in \[0, 6\).*= 6"),
        (np.full((3, 3), -1), ValueError, r"label_map must lie in \[0, 6\)"),
    ],
)
def test_bad_label_maps_are_rejected(label_map, error, match):
    with pytest.raises(error, match=match):
        object_noise(label_map, K, VAIHINGEN_CONFUSIONS, seed=0)


def test_a_dtype_too_small_for_the_targets_is_rejected():
    y = np.zeros((3, 3), dtype=np.int8)
    with pytest.raises(ValueError, match="dtype int8 cannot hold class 200"):
        object_noise(y, 201, {0: (200,)}, seed=0)
