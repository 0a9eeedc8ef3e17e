"""Tests of watlib.noise: every transition matrix against its mapping table, CIFAR-100's
superclasses, the sampling of noisy labels against binomial bounds, the realised-noise report
against pandas, and input validation."""

import re

import numpy as np
import pandas as pd
import pytest
import torch

import watlib.noise as wnoise
from watlib.costs import class_names
from watlib.data import cifar100_superclasses
from watlib.noise import corrupt_labels, noise_report, transition_matrix

RATES = (0.0, 0.2, 0.3, 0.4, 1.0)
N_LABELS = 50_000
Z = 4.5  # binomial bound, in standard deviations

# The mappings as {source: {target: share of p}} by label index, written from facts.md and
# the paper's Section 5.1 (each checked against class names below).
FMNIST_PAPER = {3: {0: 1.0}, 4: {6: 1.0}, 6: {4: 0.5, 2: 0.5}, 5: {7: 1.0}, 9: {7: 1.0}}
FMNIST_RELEASED = {9: {1: 1.0}, 5: {7: 1.0}, 2: {6: 1.0}, 4: {6: 1.0}, 6: {4: 1.0}, 3: {0: 1.0}}
CIFAR10_PAIRS = {9: {1: 1.0}, 2: {0: 1.0}, 4: {7: 1.0}, 3: {5: 1.0}, 5: {3: 1.0}}
CIFAR100_BLOCKS = {i: {5 * (i // 5) + (i + 1) % 5: 1.0} for i in range(100)}


def _cycles_spec(groups):
    """{source: {next in its group: 1}} for groups of label indices, cycling in order."""
    return {g[k]: {g[(k + 1) % len(g)]: 1.0} for g in groups for k in range(len(g))}


def _superclass_groups():
    """The fine label indices of each of CIFAR-100's superclasses, ascending."""
    superclasses, coarse = cifar100_superclasses()
    return [np.flatnonzero(coarse.numpy() == s).tolist() for s in range(len(superclasses))]


def _superclass_names():
    names = class_names("cifar100")
    return [{names[i] for i in group} for group in _superclass_groups()]


SPECS = {
    ("fashion_mnist", "paper"): FMNIST_PAPER,
    ("fashion_mnist", "released"): FMNIST_RELEASED,
    ("cifar10", "pairs"): CIFAR10_PAIRS,
    ("cifar100", "blocks"): CIFAR100_BLOCKS,
    ("cifar100", "superclass"): _cycles_spec(_superclass_groups()),
}


def _matrix_from_spec(spec, K, p):
    T = np.eye(K)
    for i, targets in spec.items():
        T[i, i] = 1.0 - p
        for j, share in targets.items():
            T[i, j] = share * p
    return T


def _confusion(y, y_noisy, K):
    """Counts N[i, j] of true i labelled j, with pandas as an independent reference."""
    tab = pd.crosstab(pd.Series(np.asarray(y).ravel()), pd.Series(np.asarray(y_noisy).ravel()))
    return tab.reindex(index=range(K), columns=range(K), fill_value=0).to_numpy()


def _assert_binomial(y, y_noisy, T):
    """Each count N[i, j] within Z standard deviations of Binomial(n_i, T[i, j]); entries
    with T[i, j] in {0, 1} must then hold exactly."""
    N = _confusion(y, y_noisy, T.shape[0])
    n = N.sum(axis=1, keepdims=True)
    mean, sd = n * T, np.sqrt(n * T * (1 - T))
    worst = np.max(np.abs(N - mean) - Z * sd)
    assert worst <= 1e-9, (np.abs(N - mean) / np.maximum(sd, 1e-300)).max()


def _balanced_labels(K, seed=0):
    """N_LABELS labels, as many of each class as fit, in a shuffled order."""
    y = np.repeat(np.arange(K), N_LABELS // K)
    return np.random.default_rng(seed).permutation(y)


# ------------------------------------------------------------------------ mapping tables


def test_fashion_mnist_indices_are_the_papers_named_classes():
    names = class_names("fashion_mnist")
    # Section 5.1: DRESS -> T-SHIRT/TOP, COAT <-> SHIRT, SANDAL -> SNEAKER, SHIRT -> PULLOVER,
    # ANKLE BOOT -> SNEAKER.
    text = {("Dress", "T-shirt/top"), ("Coat", "Shirt"), ("Shirt", "Coat"),
            ("Sandal", "Sneaker"), ("Shirt", "Pullover"), ("Ankle boot", "Sneaker")}
    assert {(names[i], names[j]) for i, t in FMNIST_PAPER.items() for j in t} == text
    released = {(names[i], names[j]) for i, t in FMNIST_RELEASED.items() for j in t}
    assert released - text == {("Ankle boot", "Trouser"), ("Pullover", "Shirt")}


@pytest.mark.parametrize("key", SPECS, ids="-".join)
@pytest.mark.parametrize("p", RATES)
def test_matrix_equals_its_mapping_table(key, p):
    dataset, variant = key
    K = len(class_names(dataset))
    T = transition_matrix(dataset, p, variant=variant)
    assert isinstance(T, np.ndarray) and T.dtype == np.float64 and T.shape == (K, K)
    np.testing.assert_array_equal(T, _matrix_from_spec(SPECS[key], K, p))
    assert (T >= 0).all()
    np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    sources = sorted(SPECS[key])
    others = sorted(set(range(K)) - set(sources))
    assert (np.diag(T)[sources] == 1.0 - p).all()
    assert (np.diag(T)[others] == 1.0).all()
    np.testing.assert_array_equal(T[others], np.eye(K)[others])


@pytest.mark.parametrize("key", SPECS, ids="-".join)
def test_rate_zero_is_the_identity(key):
    dataset, variant = key
    T = transition_matrix(dataset, 0.0, variant=variant)
    np.testing.assert_array_equal(T, np.eye(T.shape[0]))


def test_defaults_are_the_paper_and_patrini_blocks():
    np.testing.assert_array_equal(
        transition_matrix("fashion_mnist", 0.4), transition_matrix("fashion_mnist", 0.4, "paper")
    )
    np.testing.assert_array_equal(
        transition_matrix("cifar100", 0.4), transition_matrix("cifar100", 0.4, "blocks")
    )
    np.testing.assert_array_equal(
        transition_matrix("cifar10", 0.4, num_classes=10), transition_matrix("cifar10", 0.4)
    )
    assert not np.array_equal(
        transition_matrix("fashion_mnist", 0.4), transition_matrix("fashion_mnist", 0.4, "released")
    )


def test_shirt_splits_its_rate_evenly_and_keeps_one_minus_p():
    T = transition_matrix("fashion_mnist", 0.4)
    names = class_names("fashion_mnist")
    shirt, coat, pullover = (names.index(n) for n in ("Shirt", "Coat", "Pullover"))
    assert T[shirt, coat] == T[shirt, pullover] == 0.4 / 2
    assert T[shirt, shirt] == 1 - 0.4
    assert np.count_nonzero(T[shirt]) == 3


def test_cifar10_at_rate_one_sends_each_source_to_its_partner():
    T = transition_matrix("cifar10", 1.0)
    names = class_names("cifar10")
    assert ((T == 0) | (T == 1)).all() and (np.count_nonzero(T, axis=1) == 1).all()
    image = {names[i]: names[int(np.argmax(T[i]))] for i in range(10)}
    assert image["truck"] == "automobile" and image["bird"] == "airplane"
    assert image["deer"] == "horse" and image["cat"] == "dog" and image["dog"] == "cat"
    assert [n for n in names if image[n] == n] == ["airplane", "automobile", "frog", "horse", "ship"]
    cat, dog = names.index("cat"), names.index("dog")
    swap = T[np.ix_([cat, dog], [cat, dog])]
    np.testing.assert_array_equal(swap @ swap, np.eye(2))


@pytest.mark.parametrize("variant", ["blocks", "superclass"])
def test_cifar100_at_rate_one_is_a_permutation_of_5_cycles(variant):
    T = transition_matrix("cifar100", 1.0, variant)
    np.testing.assert_array_equal(T @ T.T, np.eye(100))
    powers = [np.linalg.matrix_power(T, k) for k in range(1, 6)]
    assert all((np.diag(P) == 0).all() for P in powers[:4])
    np.testing.assert_array_equal(powers[4], np.eye(100))


# ------------------------------------------------------------------- CIFAR-100 superclasses


def _cycles(T):
    """The cycles (as lists of label indices, from their smallest) of a permutation matrix."""
    succ = np.argmax(T, axis=1)
    seen, cycles = set(), []
    for start in range(T.shape[0]):
        if start not in seen:
            cycle = [start]
            while succ[cycle[-1]] != start:
                cycle.append(int(succ[cycle[-1]]))
            seen.update(cycle)
            cycles.append(cycle)
    return cycles


def test_superclass_variant_covers_the_100_fine_labels_once_in_20_cycles_of_5():
    cycles = _cycles(transition_matrix("cifar100", 1.0, "superclass"))
    assert len(cycles) == 20 and all(len(c) == 5 for c in cycles)
    assert sorted(i for c in cycles for i in c) == list(range(100))


@pytest.mark.parametrize(
    "member, others",
    [
        ("maple_tree", {"oak_tree", "palm_tree", "pine_tree", "willow_tree"}),
        ("beaver", {"dolphin", "otter", "seal", "whale"}),
        ("aquarium_fish", {"flatfish", "ray", "shark", "trout"}),
        ("baby", {"boy", "girl", "man", "woman"}),
        ("keyboard", {"clock", "lamp", "telephone", "television"}),
        ("lawn_mower", {"rocket", "streetcar", "tank", "tractor"}),
    ],
)
def test_superclass_variant_cycles_within_the_real_superclasses(member, others):
    names = class_names("cifar100")
    cycles = _cycles(transition_matrix("cifar100", 1.0, "superclass"))
    (cycle,) = [c for c in cycles if names.index(member) in c]
    assert {names[i] for i in cycle} == others | {member}
    # the cycle visits the group in alphabetical order, the last going back to the first
    group = sorted(names[i] for i in cycle)
    assert [names[i] for i in cycle] == group


def test_superclass_variant_groups_equal_the_superclass_map():
    names = class_names("cifar100")
    cycles = _cycles(transition_matrix("cifar100", 1.0, "superclass"))
    got = {frozenset(names[i] for i in c) for c in cycles}
    assert got == {frozenset(group) for group in _superclass_names()}


def test_blocks_are_consecutive_indices_and_no_block_is_a_superclass():
    T = transition_matrix("cifar100", 1.0, "blocks")
    assert _cycles(T) == [list(range(s, s + 5)) for s in range(0, 100, 5)]
    names = class_names("cifar100")
    superclasses = _superclass_names()
    blocks = [set(names[s : s + 5]) for s in range(0, 100, 5)]
    assert not any(b in superclasses for b in blocks)
    # the documented overlap: at most 2 fine labels of a block share a superclass
    assert max(len(b & s) for b in blocks for s in superclasses) == 2
    assert not np.array_equal(T, transition_matrix("cifar100", 1.0, "superclass"))
    assert not np.array_equal(
        transition_matrix("cifar100", 0.4, "blocks"), transition_matrix("cifar100", 0.4, "superclass")
    )


def test_docstring_states_every_mapping_with_class_names():
    doc = " ".join(transition_matrix.__doc__.split())
    for (dataset, variant), spec in SPECS.items():
        if dataset == "cifar100":
            continue
        names = class_names(dataset)
        for i, targets in spec.items():
            for j, share in targets.items():
                if (dataset, variant) == ("fashion_mnist", "paper"):
                    frac = "1" if share == 1 else "1/2"
                    row = rf"{re.escape(names[i])} \({i}\) {re.escape(names[j])} \({j}\) {frac}"
                    assert re.search(row, doc), row
                else:
                    arrow = f"{names[i]} ({i}) -> {names[j]} ({j})"
                    assert arrow in doc, arrow
    assert "maple_tree -> oak_tree -> palm_tree -> pine_tree -> willow_tree -> maple_tree" in doc
    block0 = " -> ".join(class_names("cifar100")[:5] + class_names("cifar100")[:1])
    assert block0 in doc


# ---------------------------------------------------------------------------- symmetric


@pytest.mark.parametrize("K", [2, 3, 10, 100])
@pytest.mark.parametrize("p", RATES)
def test_symmetric(K, p):
    T = transition_matrix("symmetric", p, num_classes=K)
    assert T.dtype == np.float64 and T.shape == (K, K)
    assert (np.diag(T) == 1.0 - p).all()
    off = T[~np.eye(K, dtype=bool)]
    assert (off == p / (K - 1)).all()
    np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(T, transition_matrix("symmetric", p, "uniform", num_classes=K))


# ------------------------------------------------------------------------ corrupt_labels


@pytest.mark.parametrize("key", SPECS, ids="-".join)
def test_realised_flips_are_binomial_and_non_sources_never_flip(key):
    dataset, variant = key
    T = transition_matrix(dataset, 0.4, variant=variant)
    y = _balanced_labels(T.shape[0])
    y_noisy = corrupt_labels(y, T, seed=1)
    _assert_binomial(y, y_noisy, T)
    others = sorted(set(range(T.shape[0])) - set(SPECS[key]))
    assert (y_noisy[np.isin(y, others)] == y[np.isin(y, others)]).all()
    flipped = y_noisy != y
    assert set(zip(y[flipped].tolist(), y_noisy[flipped].tolist())) == {
        (i, j) for i, t in SPECS[key].items() for j in t
    }


def test_realised_flips_of_symmetric_and_of_a_random_matrix_are_binomial():
    T = transition_matrix("symmetric", 0.3, num_classes=10)
    y = _balanced_labels(10)
    _assert_binomial(y, corrupt_labels(y, T, seed=2), T)
    rng = np.random.default_rng(3)
    T = rng.dirichlet(np.ones(6), size=6)
    T[:, 0] = 0.0  # zero entries at both ends of a row are never drawn
    T[:, -1] = 0.0
    T[2] = np.eye(6)[2]
    T /= T.sum(axis=1, keepdims=True)
    y = _balanced_labels(6)
    _assert_binomial(y, corrupt_labels(y, T, seed=4), T)


def test_same_seed_same_labels_different_seed_different():
    T = transition_matrix("cifar10", 0.4)
    y = _balanced_labels(10)
    a, b, c = corrupt_labels(y, T, 0), corrupt_labels(y, T, 0), corrupt_labels(y, T, 1)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    np.testing.assert_array_equal(corrupt_labels(y, T, np.random.default_rng(0)), a)


def test_uses_one_uniform_per_label_in_c_order():
    T = transition_matrix("symmetric", 0.5, num_classes=3)
    y = np.array([[0, 1, 2], [2, 1, 0]])
    u = np.random.default_rng(5).random(y.size)
    cdf = np.cumsum(T, axis=1)
    expected = np.array([int(np.sum(cdf[i] <= v)) for i, v in zip(y.ravel(), u)]).reshape(y.shape)
    np.testing.assert_array_equal(corrupt_labels(y, T, 5), expected)


@pytest.mark.parametrize("key", [("fashion_mnist", "paper"), ("cifar100", "blocks"), ("symmetric", "uniform")])
def test_flipped_set_grows_with_the_rate_under_one_seed(key):
    dataset, variant = key
    kw = {"num_classes": 10} if dataset == "symmetric" else {}
    K = transition_matrix(dataset, 0.0, variant, **kw).shape[0]
    y = _balanced_labels(K)
    flips = [corrupt_labels(y, transition_matrix(dataset, p, variant, **kw), 7) != y for p in RATES]
    for low, high in zip(flips, flips[1:]):
        assert not (low & ~high).any()
        assert high.sum() > low.sum()


def test_identity_and_rate_one_permutation_are_exact():
    y = _balanced_labels(100)
    np.testing.assert_array_equal(corrupt_labels(y, np.eye(100), 0), y)
    T = transition_matrix("cifar100", 1.0, "superclass")
    np.testing.assert_array_equal(corrupt_labels(y, T, 0), np.argmax(T, axis=1)[y])


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_tensor_labels_keep_type_dtype_shape_and_match_numpy(dtype):
    T = transition_matrix("cifar10", 0.4)
    y = torch.from_numpy(_balanced_labels(10)[:1000].reshape(10, 100)).to(dtype)
    before = y.clone()
    out = corrupt_labels(y, T, 3)
    assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.shape == y.shape
    assert out.device == y.device
    torch.testing.assert_close(y, before)  # labels untouched
    np.testing.assert_array_equal(out.numpy(), corrupt_labels(y.numpy().astype(np.int64), T, 3))
    # T as a float32 tensor (rows sum to 1 only within float32) gives the same draws here
    out32 = corrupt_labels(y, torch.as_tensor(T, dtype=torch.float32), 3)
    assert out32.dtype == dtype and out32.shape == y.shape


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_labels_stay_on_their_device_and_match_their_cpu_copy():
    T = torch.as_tensor(transition_matrix("cifar10", 0.4), device="cuda")
    y = torch.from_numpy(_balanced_labels(10)).to("cuda")
    out = corrupt_labels(y, T, 3)
    assert out.device == y.device and out.dtype == y.dtype
    torch.testing.assert_close(out.cpu(), corrupt_labels(y.cpu(), T.cpu(), 3))
    T_hat, _ = noise_report(y, out, 10)
    np.testing.assert_array_equal(T_hat, noise_report(y.cpu(), out.cpu(), 10)[0])


def test_numpy_and_list_labels():
    T = transition_matrix("cifar10", 0.4)
    y = np.array([3, 5, 9], dtype=np.int16)
    out = corrupt_labels(y, T, 0)
    assert isinstance(out, np.ndarray) and out.dtype == np.int16
    np.testing.assert_array_equal(corrupt_labels([3, 5, 9], T, 0), out)
    assert corrupt_labels([], T, 0).shape == (0,)


# -------------------------------------------------------------------------- noise_report


def test_noise_report_agrees_with_pandas_and_estimates_T():
    T = transition_matrix("fashion_mnist", 0.4)
    y = _balanced_labels(10)
    y_noisy = corrupt_labels(y, T, 0)
    T_hat, flip_rate = noise_report(y, y_noisy, 10)
    ref = pd.crosstab(y, y_noisy, normalize="index").reindex(
        index=range(10), columns=range(10), fill_value=0.0
    )
    np.testing.assert_allclose(T_hat, ref.to_numpy(), rtol=0, atol=1e-15)
    assert flip_rate == np.count_nonzero(y != y_noisy) / y.size
    n = N_LABELS // 10
    assert np.all(np.abs(T_hat - T) <= Z * np.sqrt(T * (1 - T) / n) + 1e-15)
    # the 5 source classes flip at 0.4, the 5 others never: the mean rate is 0.2
    assert abs(flip_rate - 0.2) <= Z * np.sqrt(0.4 * 0.6 * 5 * n) / y.size
    torch_report = noise_report(torch.from_numpy(y), torch.from_numpy(y_noisy), 10)
    np.testing.assert_array_equal(torch_report[0], T_hat)


def test_noise_report_edge_cases():
    T_hat, rate = noise_report(np.array([[0, 2], [2, 0]]), np.array([[0, 2], [2, 0]]), 4)
    np.testing.assert_array_equal(T_hat, np.diag([1.0, 0.0, 1.0, 0.0]))  # absent: zero rows
    assert rate == 0.0 and np.isfinite(T_hat).all()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, kwargs, err, msg",
    [
        ((10, 0.2), {}, TypeError, r"dataset must be one of \(.*'symmetric'\), got 10 of type int"),
        (("mnist", 0.2), {}, ValueError,
         r"dataset must be one of \('fashion_mnist', 'cifar10', 'cifar100', 'symmetric'\), got 'mnist'"),
        (("cifar10", -0.1), {}, ValueError, r"rate must be a finite number in \[0, 1\], got -0.1"),
        (("cifar10", 1.5), {}, ValueError, r"rate must be a finite number in \[0, 1\], got 1.5"),
        (("cifar10", float("nan")), {}, ValueError, r"rate must be a finite number in \[0, 1\], got nan"),
        (("cifar10", "0.2"), {}, TypeError, "rate must be a real number, got '0.2' of type str"),
        (("cifar10", True), {}, TypeError, "rate must be a real number, got True of type bool"),
        (("cifar10", 0.2, "superclass"), {}, ValueError,
         r"variant must be one of \['pairs'\] for dataset 'cifar10' \(None means 'pairs'\), got 'superclass'"),
        (("cifar100", 0.2, "released"), {}, ValueError,
         r"variant must be one of \['blocks', 'superclass'\] for dataset 'cifar100'.*got 'released'"),
        (("fashion_mnist", 0.2, "text"), {}, ValueError,
         r"variant must be one of \['paper', 'released'\] for dataset 'fashion_mnist'.*got 'text'"),
        (("symmetric", 0.2, "blocks"), {"num_classes": 5}, ValueError,
         r"variant must be one of \['uniform'\] for dataset 'symmetric'"),
        (("cifar10", 0.2, 1), {}, TypeError, "variant must be a str or None, got int 1"),
        (("symmetric", 0.2), {}, ValueError, "num_classes must be given .* for dataset 'symmetric'"),
        (("symmetric", 0.2), {"num_classes": 1}, ValueError, "num_classes must be an int >= 2, got 1"),
        (("symmetric", 0.2), {"num_classes": 3.0}, TypeError, "num_classes must be an int, got 3.0 of type float"),
        (("cifar10", 0.2), {"num_classes": 100}, ValueError,
         r"num_classes must be None or 10 \(the classes of 'cifar10'\), got 100"),
    ],
)
def test_transition_matrix_rejects(args, kwargs, err, msg):
    with pytest.raises(err, match=msg):
        transition_matrix(*args, **kwargs)


T3 = transition_matrix("symmetric", 0.3, num_classes=3)


@pytest.mark.parametrize(
    "labels, T, seed, err, msg",
    [
        ([0, 1, 5], T3, 0, ValueError, r"labels must lie in \[0, 3\) \(the 3 classes\), got labels\[2\] = 5"),
        (np.array([0, -1, 2]), T3, 0, ValueError, r"labels must lie in \[0, 3\).*got labels\[1\] = -1"),
        (np.array([[0, 1], [2, 3]]), T3, 0, ValueError, r"got labels\[\(1, 1\)\] = 3"),
        (torch.tensor([0, 7]), T3, 0, ValueError, r"got labels\[1\] = 7"),
        (np.array([0.0, 1.0]), T3, 0, TypeError, "labels must hold integers, got dtype float64"),
        (torch.tensor([0.0, 1.0]), T3, 0, TypeError, "labels must hold integers, got dtype torch.float32"),
        (np.array([True, False]), T3, 0, TypeError, "labels must hold integers, got dtype bool"),
        (np.zeros(3, np.uint8), np.eye(300), 0, ValueError,
         "labels of dtype uint8 cannot hold label 299 of the 300 classes of T"),
        ([0, 1], np.ones((3, 4)) / 4, 0, ValueError, r"T must be a non-empty square \(K, K\) matrix, got shape \(3, 4\)"),
        ([0, 1], np.ones(3) / 3, 0, ValueError, r"got shape \(3,\)"),
        ([0, 1], np.zeros((0, 0)), 0, ValueError, r"got shape \(0, 0\)"),
        ([0, 1], [[1.1, -0.1], [0.0, 1.0]], 0, ValueError, r"T must be non-negative, got T\[0, 1\] = -0.1"),
        ([0, 1], [[1.0, 0.0], [np.nan, 1.0]], 0, ValueError, r"T must be finite, got T\[1, 0\] = nan"),
        ([0, 1], [[1.0, 0.0], [0.5, 0.4]], 0, ValueError,
         r"T must be row-stochastic \(each row sums to 1 within 1e-06; T\[i, j\] = P\(noisy = j \| true = i\)\), "
         r"got row 1 summing to 0.9"),
        # cleanlab's column-stochastic noise_matrix is the transpose: rejected as T
        ([0, 1], transition_matrix("fashion_mnist", 0.4).T, 0, ValueError, "T must be row-stochastic.*got row 0"),
        ([0, 1], [["a", "b"], ["c", "d"]], 0, TypeError, "T must hold real numbers, got dtype <U1"),
        ([0, 1], np.eye(2, dtype=bool), 0, TypeError, "T must hold real numbers, got dtype bool"),
        ([0, 1], T3, -1, ValueError, "seed must be a non-negative int, got -1"),
        ([0, 1], T3, 1.5, TypeError, "seed must be a non-negative int or a numpy.random.Generator, got float 1.5"),
        ([0, 1], T3, None, TypeError, "seed must be .* got NoneType None"),
        ([0, 1], T3, True, TypeError, "seed must be .* got bool True"),
    ],
)
def test_corrupt_labels_rejects(labels, T, seed, err, msg):
    with pytest.raises(err, match=msg):
        corrupt_labels(labels, T, seed)


@pytest.mark.parametrize(
    "y_clean, y_noisy, K, err, msg",
    [
        ([0, 1], [0, 1, 1], 2, ValueError, r"y_noisy must have the shape of y_clean, got \(3,\) and \(2,\)"),
        ([], [], 2, ValueError, "y_clean must hold at least one label"),
        ([0, 1], [0, 2], 2, ValueError, r"y_noisy must lie in \[0, 2\).*got y_noisy\[1\] = 2"),
        ([0, 3], [0, 1], 2, ValueError, r"y_clean must lie in \[0, 2\).*got y_clean\[1\] = 3"),
        ([0, 1], [0.0, 1.0], 2, TypeError, "y_noisy must hold integers, got dtype float64"),
        ([0, 1], [0, 1], 0, ValueError, "num_classes must be an int >= 1, got 0"),
        ([0, 1], [0, 1], 2.0, TypeError, "num_classes must be an int, got 2.0 of type float"),
    ],
)
def test_noise_report_rejects(y_clean, y_noisy, K, err, msg):
    with pytest.raises(err, match=msg):
        noise_report(y_clean, y_noisy, K)


def test_module_exports():
    assert set(wnoise.__all__) == {
        "transition_matrix", "corrupt_labels", "noise_report",
        "VAIHINGEN_CONFUSIONS", "ObjectNoiseReport", "object_noise",
    }
