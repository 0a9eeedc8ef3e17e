"""watlib.comparisons: paired t-intervals and p-values against SciPy's, Holm's adjustment, and
the share of the damage recovered, on small tables worked by hand."""

import numpy as np
import pandas as pd
import pytest

from watlib.comparisons import DAMAGE_COLUMNS, damage_recovered, holm_adjusted, paired_differences


def test_paired_intervals_and_p_values_are_scipys_paired_t_test():
    from scipy import stats

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(70, 2, (3, 8)), index=["CCE", "WAT_C", "VAT"])
    table.loc["WAT_C"] += 1.5
    pairs = paired_differences(table, [("WAT_C", "CCE"), ("VAT", "CCE"), ("WAT_C", "VAT")], level=0.9)
    p_values = []
    for (a, b), (_, row) in zip([("WAT_C", "CCE"), ("VAT", "CCE"), ("WAT_C", "VAT")], pairs.iterrows()):
        test = stats.ttest_rel(table.loc[a], table.loc[b])
        interval = test.confidence_interval(confidence_level=0.9)
        assert row["p"] == pytest.approx(test.pvalue, rel=1e-12)
        assert (row["low"], row["high"]) == pytest.approx((interval.low, interval.high), rel=1e-12)
        assert row["n"] == 8
        p_values.append(test.pvalue)
    np.testing.assert_allclose(pairs["p_holm"], holm_adjusted(p_values))
    assert pairs["resolved"].tolist() == (pairs["p_holm"] < 0.05).tolist()
    assert pairs.attrs == {"level": 0.9, "alpha": 0.05}


def test_the_issue_tables_first_row_three_seeds_of_wat_c_minus_cce():
    table = pd.DataFrame({0: [5.23, 0.0], 1: [4.77, 0.0], 2: [4.14, 0.0]}, index=["WAT_C", "CCE"])
    row = paired_differences(table, [("WAT_C", "CCE")]).iloc[0]
    assert [round(row[k], 2) for k in ("mean", "low", "high")] == [4.71, 3.35, 6.07]
    assert round(row["p"], 3) == 0.004 and row["p_holm"] == row["p"] and row["resolved"]


def test_holm_multiplies_the_smallest_by_m_and_never_lets_a_larger_p_come_out_smaller():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005, 3 x 0.01, 2 x 0.03, 1 x 0.04, then a running max
    np.testing.assert_allclose(holm_adjusted(p), [0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(1)
    for _ in range(20):
        q = rng.uniform(size=7)
        adj = holm_adjusted(q)
        order = np.argsort(q)
        assert (np.diff(adj[order]) >= 0).all() and (adj >= q).all() and (adj <= 1).all()
    assert holm_adjusted([0.5, 0.6]).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"p_values must lie in \[0, 1\]"):
        holm_adjusted([0.2, 1.5])
    with pytest.raises(ValueError, match="one-dimensional"):
        holm_adjusted([[0.2]])


def test_a_comparison_of_one_seed_or_of_no_spread_is_handled_not_nan_passed_on_silently():
    table = pd.DataFrame({0: [1.0, 0.0, 2.0], 1: [np.nan, 0.0, 3.0], 2: [np.nan, 0.0, 4.0]}, index=["A", "B", "C"])
    pairs = paired_differences(table, [("A", "B"), ("C", "C")])
    one = pairs.loc["A - B"]
    assert one["n"] == 1 and np.isnan(one["p"]) and np.isnan(one["low"]) and not one["resolved"]
    same = pairs.loc["C - C"]  # zero in every seed: no spread, no difference
    assert same["p"] == 1.0 and same["low"] == same["high"] == 0.0 and not same["resolved"]
    with pytest.raises(ValueError, match="twice"):
        paired_differences(table, [("A", "B"), ("A", "B")])
    with pytest.raises(ValueError, match="level"):
        paired_differences(table, [("A", "B")], level=95)


def _tables():
    noisy = pd.DataFrame({0: [74.0, 80.0, 73.0], 1: [75.0, 80.5, 76.0], 2: [73.0, 79.0, 74.5], 3: [74.5, 81.0, 75.0]},
                         index=["CCE", "WAT_C", "VAT"])
    clean = pd.DataFrame({0: [89.0, 88.5], 1: [89.5, 89.0], 2: [88.0, 88.5]}, index=["CCE", "WAT_C"])
    return noisy, clean


def test_the_share_of_the_damage_is_the_paired_gain_over_the_paired_damage():
    noisy, clean = _tables()
    table = damage_recovered(noisy, clean, ["WAT_C", "VAT"])
    assert list(table.columns) == list(DAMAGE_COLUMNS) and list(table.index) == ["WAT_C", "VAT"]
    # the damage: clean minus noisy CCE in the seeds both have (0, 1, 2): 15, 14.5, 15
    damage = table.attrs["damage"]
    assert damage["mean"] == pytest.approx(44.5 / 3) and damage["n"] == 3
    assert damage["low"] < damage["mean"] < damage["high"]
    # the gain: over every seed of the noisy table (6, 5.5, 6, 6.5 for WAT_C)
    gains = paired_differences(noisy, [("WAT_C", "CCE"), ("VAT", "CCE")])
    np.testing.assert_allclose(table["gain"], gains["mean"])
    np.testing.assert_allclose(table[["gain_low", "gain_high"]], gains[["low", "high"]])
    assert table.loc["WAT_C", "gain"] == pytest.approx(6.0) and (table["n"] == 4).all()
    np.testing.assert_allclose(table["share"], table["gain"] / damage["mean"])
    np.testing.assert_allclose(table["share_low"], table["gain_low"] / damage["mean"])
    assert (table["share_low"] <= table["share"]).all() and (table["share"] <= table["share_high"]).all()
    # the reference itself recovers nothing, with no spread
    same = damage_recovered(noisy, clean, ["CCE"]).iloc[0]
    assert same["share"] == same["share_low"] == same["share_high"] == 0.0


def test_the_share_of_the_damage_refuses_what_it_cannot_read():
    noisy, clean = _tables()
    with pytest.raises(ValueError, match="reference 'Forward' must be a row of noisy"):
        damage_recovered(noisy, clean, ["WAT_C"], reference="Forward")
    with pytest.raises(ValueError, match="reference 'VAT' must be a row of clean"):
        damage_recovered(noisy, clean, ["WAT_C"], reference="VAT")
    with pytest.raises(ValueError, match=r"runs must be rows of noisy, got \['D2L'\]"):
        damage_recovered(noisy, clean, ["D2L"])
    with pytest.raises(ValueError, match="must share a seed"):
        damage_recovered(noisy[[3]], clean, ["WAT_C"])
    with pytest.raises(ValueError, match="damage of the noise to 'CCE' must be positive"):
        damage_recovered(noisy, clean - 20, ["WAT_C"])
    with pytest.raises(ValueError, match="level"):
        damage_recovered(noisy, clean, ["WAT_C"], level=1.5)
