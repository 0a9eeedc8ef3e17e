"""Tests of watlib.plot.runs: the figures of training runs (learning curves, one panel per
method, the paper's Table 2, our results beside it, run times, the book's overview against the
paper), drawn headless."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

from watlib.methods import METHODS  # noqa: E402
from watlib.plot import (  # noqa: E402
    DATASET_LABELS,
    caption_against_paper,
    plot_against_paper,
    plot_curves_by_method,
    plot_learning_curves,
    plot_paired_differences,
    plot_paper_results,
    plot_results,
    plot_run_times,
)
from watlib.comparisons import paired_differences  # noqa: E402
from watlib.results import METHOD_LABELS, PAPER_TABLE2, results_table, seed_table  # noqa: E402
from _fake_records import run_record, sweep  # noqa: E402


def _plain(text):
    """A figure's text with the WAT labels' subscripts (watlib.plot's figure_label) written plainly."""
    return text.replace(r"WAT$_{0\mathrm{-}1}$", "WAT_0-1").replace("WAT$_C$", "WAT_C")


def test_figures_write_the_wat_labels_with_subscripts_as_the_prose_does():
    records = [run_record(m, s, [60.0, 70.0]) for m in ("wat01", "watc") for s in (0, 1)]
    legend = [t.get_text() for t in plot_learning_curves(records).get_legend().get_texts()]
    assert legend == [r"WAT$_{0\mathrm{-}1}$ (2)", "WAT$_C$ (2)"]
    pairs = paired_differences(seed_table(records), [("WAT_C", "WAT_0-1")])
    assert [t.get_text() for t in plot_paired_differences(pairs).get_yticklabels()] == \
        [r"WAT$_C$ - WAT$_{0\mathrm{-}1}$"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_curves_by_method_mark_peak_last_ten_and_paper():
    records = sweep()
    axes = plot_curves_by_method(records, ncols=4)
    assert [_plain(ax.get_title()) for ax in axes] == [METHOD_LABELS[m] for m in METHODS]
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
    other = plot_curves_by_method([run_record("cce", 0, [50.0, 60.0], noise=0.3)])
    assert not any(ln.get_linestyle() == "--" for ln in other[0].lines)
    assert "paper" not in " ".join(_plain(t.get_text()) for t in other[0].figure.legends[0].get_texts())


@pytest.mark.parametrize("records, kwargs, exc, match", [
    ([], {}, ValueError, "at least one run record"),
    ({"config": {}}, {}, TypeError, "records must be a list"),
    ([{"config": {"method": "cce"}}], {}, ValueError, r"records\[0\] must be a run record .* missing 'history'"),
    ([run_record("sgd", 0, [1.0])], {}, ValueError, r"records\[0\] has method 'sgd'"),
    ([run_record("cce", 0, [])], {}, ValueError, r"records\[0\] must hold at least one finite test accuracy"),
    ([run_record("cce", 0, [1.0, float("nan")])], {}, ValueError, "finite test accuracy"),
    ([run_record("cce", 0, [1.0]), run_record("vat", 0, [1.0], noise=0.2)], {}, ValueError, "share one dataset and noise"),
    ([run_record("cce", 0, [1.0])], {"ncols": 0}, ValueError, "ncols must be an int >= 1, got 0"),
    ([run_record("cce", 0, [1.0])], {"ncols": 2.0}, TypeError, "ncols must be an int, got 2.0 of type float"),
    ([run_record("cce", 0, [1.0])], {"paper": "yes"}, TypeError, "paper must be a bool, got .yes. of type str"),
])
def test_curves_by_method_rejects_bad_input(records, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot_curves_by_method(records, **kwargs)


@pytest.mark.parametrize("dataset", ["fashion_mnist", "cifar10", "cifar100"])
def test_paper_results_draw_table_2(dataset):
    ax = plot_paper_results(dataset)
    rows = PAPER_TABLE2[PAPER_TABLE2["dataset"] == dataset]
    assert [_plain(t.get_text()) for t in ax.get_legend().get_texts()] == [METHOD_LABELS[m] for m in METHODS]
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



def test_run_times_one_bar_per_run_top_down():
    records = sweep()[:4] + [run_record("watc", 5, [1.0, 2.0], wall=90.0, device="cuda: H100", preset="paper")]
    ax = plot_run_times(records)
    bars = sorted(ax.patches, key=lambda p: -p.get_y())
    assert [p.get_width() for p in bars] == [r["wall_time_s"] / 60 for r in records]
    ticks = sorted(zip(ax.get_yticks(), (_plain(t.get_text()) for t in ax.get_yticklabels())), reverse=True)
    assert [label for _, label in ticks] == [f"{METHOD_LABELS[r['config']['method']]} (seed {r['config']['seed']})"
                                             for r in records]
    assert ax.get_title() == "wall time per run: cpu: x86_64, 2 threads; cuda: H100; preset cpu, paper"
    assert ax.texts[-1].get_text().strip() == f"{90.0 / 2:.0f} s/epoch"



def test_learning_curves_mean_over_seeds_and_min_max_band():
    records = sweep()
    ax = plot_learning_curves(records, title="sweep")
    labels = [_plain(t.get_text()) for t in ax.get_legend().get_texts()]
    assert labels == [f"{METHOD_LABELS[m]} ({3 if m in ('cce', 'vat', 'wat01', 'watc') else 1})" for m in METHODS]
    for line, method in zip(ax.lines, METHODS):
        curves = np.array([r["history"]["test_acc"] for r in records if r["config"]["method"] == method])
        np.testing.assert_allclose(line.get_xdata(), np.arange(1, curves.shape[1] + 1))
        np.testing.assert_allclose(line.get_ydata(), curves.mean(axis=0))
    # one band per method run with more than one seed, from the lowest to the highest seed
    assert len(ax.collections) == 4
    cce = np.array([r["history"]["test_acc"] for r in records if r["config"]["method"] == "cce"])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(cce.min()) and band.max() == pytest.approx(cce.max())
    assert ax.get_title() == "sweep"


def test_learning_curves_keep_the_runs_of_a_cost_study_apart_from_their_method():
    records = [run_record(m, s, [60.0 + s] * 10) for m in ("cce", "wat01") for s in (0, 1)]
    study = [run_record("wat01", s, [70.0 + s] * 10) for s in (0, 1)]
    for r in study:
        r["config"].update(cost="features", cost_scale="match_watc")
    ax = plot_learning_curves(study + records)
    assert [_plain(t.get_text()) for t in ax.get_legend().get_texts()] == [
        "CCE (2)", "WAT_0-1 (2)", "WAT (features, WAT_C's mean) (2)"]
    np.testing.assert_allclose([line.get_ydata()[0] for line in ax.lines], [60.5, 60.5, 70.5])


def test_learning_curves_truncate_to_the_shortest_seed():
    ax = plot_learning_curves([run_record("cce", 0, [50.0, 60.0, 70.0]), run_record("cce", 1, [70.0, 80.0])])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [60.0, 70.0])


def test_results_bars_are_the_tables_numbers_ours_before_the_papers():
    records = sweep()
    table = results_table(records)
    ax = plot_results(table, "fashion_mnist", 0.4)
    assert [_plain(t.get_text()) for t in ax.get_legend().get_texts()] == ["ours (cpu)", "paper"]
    assert [_plain(t.get_text()) for t in ax.get_xticklabels()] == [METHOD_LABELS[m] for m in METHODS]
    num = table.attrs["numeric"].set_index(["source", "method"])
    ours, paper = [c for c in ax.containers if isinstance(c, BarContainer)]
    np.testing.assert_allclose([p.get_height() for p in ours], [num.loc[("ours (cpu)", m), "mean"] for m in METHODS])
    np.testing.assert_allclose([p.get_height() for p in paper], [num.loc[("paper", m), "mean"] for m in METHODS])
    assert "fashion_mnist, 40% noise" in ax.get_title()
    with pytest.raises(ValueError, match=r"no results for dataset='cifar10', noise=0.4 in the table"):
        plot_results(table, "cifar10", 0.4)


def _against_paper_records():
    """The Fashion-MNIST sweep at 40% plus records the figure must leave out: another preset,
    another noise rate, a cost ablation (cost, or the own cost rescaled), an unfinished run."""
    records = sweep()
    ablation = run_record("wat01", 0, [10.0] * 12)
    ablation["config"].update(cost="word_distance", cost_scale="match_watc")
    rescaled = run_record("watc", 5, [10.0] * 12)
    rescaled["config"].update(cost=None, cost_scale=2.0)
    unfinished = run_record("cce", 7, [10.0] * 12)
    unfinished["complete"] = False
    others = [run_record("cce", 3, [10.0] * 12, preset="paper"), run_record("cce", 4, [10.0] * 12, noise=0.2),
              ablation, rescaled, unfinished]
    return records, others


def test_against_paper_mean_and_spread_over_seeds_beside_the_paper():
    records, others = _against_paper_records()
    ax = plot_against_paper(records + others, "fashion_mnist", 0.4, preset="cpu")
    numeric = results_table(records, paper=False, pooled=False).attrs["numeric"].set_index("method").loc[list(METHODS)]
    labels = [_plain(t.get_text()) for t in ax.get_yticklabels()]
    assert labels == [f"{METHOD_LABELS[m]} ({n} seed{'s' if n > 1 else ''})" for m, n in zip(METHODS, numeric["n"])]
    ours, paper = ax.containers
    np.testing.assert_allclose(ours.lines[0].get_xdata(), numeric["mean"])
    published = PAPER_TABLE2.query("dataset == 'fashion_mnist' and noise == 0.4").set_index("method").loc[list(METHODS)]
    np.testing.assert_allclose(paper.lines[0].get_xdata(), published["mean"])
    # error bars: the std over seeds where a method has several, none for a single seed
    (bars,) = ours.lines[2]
    for seg, (method, row) in zip(bars.get_segments(), numeric.iterrows()):
        if row["n"] > 1:
            assert seg[1, 0] - seg[0, 0] == pytest.approx(2 * row["std"]), method
        else:
            assert len(seg) == 0, method
    # one tick per seed, at that seed's mean of the last 10 epochs
    ticks = ax.collections[-1].get_offsets()
    expected = [np.mean(r["history"]["test_acc"][-10:]) for m in METHODS for r in records if r["config"]["method"] == m]
    np.testing.assert_allclose(ticks[:, 0], expected)


@pytest.mark.parametrize("seeds", [1, 2, 5])
def test_against_paper_any_number_of_seeds(seeds):
    records = [run_record(m, s, [60.0 + s] * 10) for m in ("cce", "watc") for s in range(seeds)]
    ax = plot_against_paper(records)
    assert [_plain(t.get_text()) for t in ax.get_yticklabels()] == [f"CCE ({seeds} seed{'s' if seeds > 1 else ''})",
                                                          f"WAT_C ({seeds} seed{'s' if seeds > 1 else ''})"]
    np.testing.assert_allclose(ax.containers[0].lines[0].get_xdata(), 60.0 + (seeds - 1) / 2)
    assert f"{seeds} for CCE and WAT_C" in _plain(caption_against_paper(records))


def test_against_paper_caption_counts_seeds_and_names_the_scale():
    records, others = _against_paper_records()
    caption = _plain(caption_against_paper(records + others))
    assert "Seeds per method: 3 for CCE, VAT, WAT_0-1 and WAT_C; 1 for Backward, Forward, Unhinged, Bootsoft, " \
           "CoTeaching and D2L (one seed has no spread)." in caption
    assert "`cpu` preset (4,000 training images, 30 epochs)" in caption and "40% label noise" in caption
    mixed = [r for r in records if r["config"]["method"] != "vat"] + [run_record("vat", s, [60.0] * 12) for s in range(3)]
    assert "preset:" in caption_against_paper(mixed)  # no single scale to name
    with pytest.raises(ValueError, match=r"VAT .* hold runs of two configurations \(epochs=30/12\)"):
        caption_against_paper(records + [run_record("vat", 9, [60.0] * 12)])  # one cell, two settings


@pytest.mark.parametrize("records, kwargs, exc, match", [
    ([run_record("cce", 0, [50.0])], {"preset": "paper"}, ValueError, r"no complete record at .*preset='paper'"),
    ([run_record("cce", 0, [50.0])], {"noise": 0.2}, ValueError, "no complete record"),
    ([run_record("cce", 0, [50.0]), run_record("cce", 0, [51.0])], {}, ValueError, "seed 0 .* would count twice"),
    ([run_record("cce", 0, [50.0])], {"noise": 1.5}, ValueError, "noise"),
    (run_record("cce", 0, [50.0]), {}, TypeError, "records must be a list"),
    ([run_record("cce", 0, [50.0])], {"dataset": 3}, TypeError, "dataset must be a str"),
])
def test_against_paper_rejects_bad_input(records, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot_against_paper(records, **kwargs)
    with pytest.raises(exc, match=match):
        caption_against_paper(records, **kwargs)


def _study_pairs():
    acc = {("cce", 0): 70.0, ("cce", 1): 72.0, ("cce", 2): 71.0,
           ("watc", 0): 75.0, ("watc", 1): 74.0, ("watc", 2): 76.5,
           ("vat", 0): 71.0, ("vat", 1): 71.0, ("vat", 2): 72.5}
    records = [run_record(m, s, [a] * 10) for (m, s), a in acc.items()]
    return paired_differences(seed_table(records), [("WAT_C", "CCE"), ("VAT", "CCE"), ("VAT", "WAT_C")])


def test_paired_differences_plot_draws_each_seed_and_the_mean_with_its_interval():
    pairs = _study_pairs()
    ax = plot_paired_differences(pairs)
    assert [_plain(t.get_text()) for t in ax.get_yticklabels()] == ["WAT_C - CCE", "VAT - CCE", "VAT - WAT_C"]
    seeds = ax.collections[0].get_offsets()
    np.testing.assert_allclose(seeds[:, 0], [5.0, 2.0, 5.5, 1.0, -1.0, 1.5, -4.0, -3.0, -4.0])
    np.testing.assert_allclose(seeds[:, 1], [0, 0, 0, 1, 1, 1, 2, 2, 2])
    means = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(means[:, 0], pairs["mean"])
    (bars,) = ax.containers[0].lines[2]
    for seg, low, high in zip(bars.get_segments(), pairs["low"], pairs["high"]):
        np.testing.assert_allclose(seg[:, 0], [low, high])
    assert "95% t-interval" in ax.get_legend_handles_labels()[1][1]


def test_paired_differences_plot_hollow_where_the_family_does_not_resolve_it():
    pairs = _study_pairs()
    # WAT_C - CCE: 5, 2, 5.5, every seed above zero but p = .062 (Holm .125); VAT - CCE: the
    # signs disagree; VAT - WAT_C: -4, -3, -4, p = .008 (Holm .024)
    assert pairs["resolved"].tolist() == [False, False, True]
    faces = plot_paired_differences(pairs).collections[-1].get_facecolors()
    assert [tuple(f) == (1.0, 1.0, 1.0, 1.0) for f in faces] == [True, True, False]


def test_paired_differences_plot_skips_missing_seeds():
    pairs = _study_pairs()
    pairs.loc["VAT - CCE", 2] = np.nan
    assert len(plot_paired_differences(pairs).collections[0].get_offsets()) == 8


@pytest.mark.parametrize("pairs, exc, match", [
    ([1, 2], TypeError, "pairs must be a pandas.DataFrame"),
    (pd.DataFrame({0: [1.0]}), ValueError, "columns: the seeds, mean, low, high, resolved"),
    (pd.DataFrame(columns=[0, "mean", "low", "high", "resolved"]), ValueError, "0 rows"),
])
def test_paired_differences_plot_rejects_bad_input(pairs, exc, match):
    with pytest.raises(exc, match=match):
        plot_paired_differences(pairs)
