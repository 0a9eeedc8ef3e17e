r"""Figures of training runs (Table 2's experiments): learning curves, the paper's numbers, times.

* :func:`plot_learning_curves`: clean test accuracy against epochs, one line per method;
* :func:`plot_curves_by_method`: one panel per method, with the peak, the paper's metric
  (the mean of the last 10 epochs) and the published number of Table 2;
* :func:`plot_results`: one (dataset, noise) row of :func:`watlib.results.results_table` as
  bars, ours beside the paper's;
* :func:`plot_paper_results`: the paper's Table 2 for one dataset, accuracy against noise;
* :func:`plot_run_times`: the wall time of each run;
* :func:`plot_against_paper` and :func:`caption_against_paper`: the book's answer at a glance,
  our runs of one setting (mean and spread over seeds, each seed shown) beside the paper's
  Table 2, and a caption that says how many seeds each method has;
* :func:`plot_paired_differences`: the seed-by-seed differences of
  :func:`watlib.comparisons.paired_differences`, with their t-intervals, marking the resolved ones.

The tables these figures draw from are in :mod:`watlib.results` (:func:`~watlib.results.run_summary`,
:func:`~watlib.results.results_table`, :data:`~watlib.results.PAPER_TABLE2`); nothing here
computes a number a table does not show.

References
----------
.. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
   Noise. arXiv:1904.03936 (Table 2).

Examples
--------
>>> ax = plot_paper_results("fashion_mnist", highlight=("watc",))
>>> ax.containers[-1].lines[0].get_ydata().tolist()
[94.7, 93.37, 90.41]
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .._checks import check_bool, check_int, check_real
from ..comparisons import PAIRED_COLUMNS
from ..results import (METHOD_LABELS, PAPER_TABLE2, check_records, results_table, run_label, run_summary,
                       table2_records)
from ._style import DATASET_LABELS, PAGE_WIDTH, figure_label

__all__ = ["plot_learning_curves", "plot_curves_by_method", "plot_results", "plot_paper_results", "plot_run_times",
           "plot_against_paper", "caption_against_paper", "plot_paired_differences"]


def plot_learning_curves(records: Sequence[dict], ax=None, title: str | None = None):
    r"""Clean test accuracy against epochs, one line per run label (seeds averaged, band = min-max).

    Runs are grouped by :func:`watlib.results.run_label`: by method for the runs of Table 2,
    and by cost and size for those of a ground-cost study (``config.cost``,
    ``config.cost_scale``). For the :math:`S` runs of a label, truncated to the shortest (:math:`E` epochs), the
    line is the mean over seeds and the band (drawn when :math:`S > 1`) spans the lowest to
    the highest seed,

    .. math::
        \bar a_e = \frac{1}{S} \sum_{s=1}^{S} a_{s,e}, \qquad
        \big[\min_s a_{s,e},\ \max_s a_{s,e}\big], \qquad e = 1, \dots, E .

    Parameters
    ----------
    records : sequence of dict
        Run records (:func:`watlib.train.run`): ``config`` (``method``, and ``cost`` and
        ``cost_scale`` when set) and ``history.test_acc`` are read.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        One line per label, Table 2's methods first in its order, then the other labels in
        the order they first appear, each labelled "<label> (<S>)".

    Examples
    --------
    >>> recs = [{"config": {"method": m}, "history": {"test_acc": [50.0, 60.0, 70.0]}} for m in ("cce", "cce", "watc")]
    >>> ax = plot_learning_curves(recs)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['CCE (2)', 'WAT$_C$ (1)']
    >>> study = {"config": {"method": "wat01", "cost": "word_distance", "cost_scale": "match_watc"},
    ...          "history": {"test_acc": [55.0, 65.0, 75.0]}}
    >>> [t.get_text() for t in plot_learning_curves([study] + recs).get_legend().get_texts()]
    ['CCE (2)', 'WAT$_C$ (1)', "WAT (word distance, WAT$_C$'s mean) (1)"]
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(PAGE_WIDTH, 4.2))
    by_label: dict = {}
    for r in records:
        by_label.setdefault(run_label(r["config"]), []).append(np.asarray(r["history"]["test_acc"], dtype=float))
    table2 = [label for label in METHOD_LABELS.values() if label in by_label]
    for label in table2 + [x for x in by_label if x not in table2]:
        curves = by_label[label]
        n = min(len(c) for c in curves)
        stack = np.stack([c[:n] for c in curves])
        epochs = np.arange(1, n + 1)
        (line,) = ax.plot(epochs, stack.mean(axis=0), label=figure_label(f"{label} ({len(curves)})"))
        if len(curves) > 1:
            ax.fill_between(epochs, stack.min(axis=0), stack.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("clean test accuracy (%)")
    if title:
        ax.set_title(title)
    # below the axes, where it covers no curve and no band (the figure is saved with its bounding box)
    ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_results(table: pd.DataFrame, dataset: str, noise: float, ax=None):
    r"""Bar chart of one (dataset, noise) row of :func:`watlib.results.results_table`: ours beside the paper's.

    One group of bars per method, one bar per source ("ours (<preset>)" first, "paper"
    last), of height the mean of the last 10 epochs :math:`\bar a_{\mathrm{last}}` and error
    bar its standard deviation, both as in the table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`watlib.results.results_table` (its ``attrs["numeric"]`` is used).
    dataset : str
    noise : float
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per source, methods in the order of Table 2.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2).

    Examples
    --------
    >>> from watlib.results import results_table
    >>> rec = {"config": {"dataset": "cifar10", "noise": 0.4, "method": "watc", "seed": 0, "preset": "cpu"},
    ...        "history": {"test_acc": [80.0, 82.0]}, "complete": True}
    >>> ax = plot_results(results_table([rec]), "cifar10", 0.4)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['ours (cpu)', 'paper']
    """
    num = table.attrs["numeric"]
    num = num[(num["dataset"] == dataset) & (num["noise"] == noise)]
    if num.empty:
        raise ValueError(f"no results for dataset={dataset!r}, noise={noise!r} in the table")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    sources = sorted(num["source"].unique(), key=lambda s: s == "paper")
    methods = [m for m in METHOD_LABELS if m in set(num["method"])]
    width = 0.8 / len(sources)
    for j, src in enumerate(sources):
        sub = num[num["source"] == src].set_index("method").reindex(methods)
        xs = np.arange(len(methods)) + (j - (len(sources) - 1) / 2) * width
        ax.bar(xs, sub["mean"], width, yerr=sub["std"], label=src, capsize=2)
    ax.set_xticks(range(len(methods)), [figure_label(METHOD_LABELS[m]) for m in methods], rotation=30)
    finite = num["mean"].dropna()
    ax.set_ylim(max(0.0, finite.min() - 10), min(100.0, finite.max() + 3))
    ax.set_ylabel("clean test accuracy (%)")
    ax.set_title(f"{dataset}, {noise:.0%} noise: mean of the last 10 epochs")
    ax.legend()
    return ax


def _one_setting(records: list[dict]) -> tuple[str | None, float | None]:
    """The (dataset, noise) all records share, or a ValueError naming the mix."""
    settings = {(r["config"].get("dataset"), r["config"].get("noise")) for r in records}
    if len(settings) > 1:
        raise ValueError(f"records must share one dataset and noise rate, got {sorted(settings, key=str)}")
    return settings.pop()


def _mean_curve(records: list[dict]) -> np.ndarray:
    """Test accuracy per epoch averaged over records (truncated to the shortest)."""
    curves = [np.asarray(r["history"]["test_acc"], dtype=float) for r in records]
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


def plot_curves_by_method(records, ncols: int = 3, paper: bool = True, fig=None):
    r"""Clean test accuracy against epochs, one panel per method, peak and last 10 epochs marked.

    Each panel is :func:`plot_learning_curves` of one method's runs (the
    mean over seeds, a band from the lowest to the highest seed). On the mean curve
    :math:`\bar a_e`, :math:`e = 1, \dots, E`, it marks the peak and the paper's metric,
    the mean of the last 10 epochs (shaded):

    .. math::
        a^\star = \max_e \bar a_e, \qquad e^\star = \operatorname*{argmax}_e \bar a_e,
        \qquad \bar a_{\mathrm{last}} = \frac{1}{10} \sum_{e = E - 9}^{E} \bar a_e,

    so that :math:`a^\star - \bar a_{\mathrm{last}}` shows what a network lost by fitting
    the flipped labels after its peak (the memorisation of Zhang et al. 2017). With
    ``paper``, the published number of Table 2 for the records' dataset and noise rate is
    drawn dashed; it comes from the paper's full-scale setting.

    Parameters
    ----------
    records : sequence of dict
        Run records (:func:`watlib.train.run`) of one dataset and noise rate.
    ncols : int
        Panels per row (>= 1); the figure is at most as wide as the book's content column, so
        that its smallest text, 7 pt, is shown at its size in the book's column.
    paper : bool
        Draw the paper's number where Table 2 has one.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw in; a new one is made when omitted.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (M,)
        One panel per method present, in the order of :data:`watlib.methods.METHODS`,
        titled with the method's label; line 0 of each is the mean curve.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2: the mean over the last 10 epochs).
    .. [2] Zhang, C., Bengio, S., Hardt, M., Recht, B., Vinyals, O. (2017). Understanding
       Deep Learning Requires Rethinking Generalization. ICLR.

    Examples
    --------
    >>> recs = [{"config": {"dataset": "fashion_mnist", "noise": 0.4, "method": m, "seed": s},
    ...          "history": {"test_acc": [60.0, 80.0, 70.0]}} for m in ("watc", "cce") for s in (0, 1)]
    >>> axes = plot_curves_by_method(recs)
    >>> [ax.get_title() for ax in axes]
    ['CCE', 'WAT$_C$']
    >>> axes[0].lines[0].get_ydata().tolist()
    [60.0, 80.0, 70.0]
    """
    records = check_records(records)
    ncols = check_int("ncols", ncols, ge=1)
    paper = check_bool("paper", paper)
    dataset, noise = _one_setting(records)
    published = PAPER_TABLE2[(PAPER_TABLE2["dataset"] == dataset) & (PAPER_TABLE2["noise"] == noise)]
    published = published.set_index("method")["mean"] if paper else published.iloc[:0]
    by_method: dict = {}
    for r in records:
        by_method.setdefault(r["config"]["method"], []).append(r)
    methods = [m for m in METHOD_LABELS if m in by_method]
    nrows = -(-len(methods) // ncols)
    cols = min(ncols, len(methods))
    if fig is None:
        fig = plt.figure(figsize=(min(PAGE_WIDTH, 2.9 * cols + 0.4), 2.2 * nrows + 0.9))
    grid = np.asarray(fig.subplots(nrows, cols, squeeze=False, sharex=True, sharey=True))
    for ax in grid.flat[len(methods):]:
        ax.remove()
    axes = grid.flat[: len(methods)]
    for ax, method in zip(axes, methods):
        recs = by_method[method]
        plot_learning_curves(recs, ax=ax)
        ax.get_legend().remove()
        ax.set_xlabel("")
        ax.set_ylabel("")
        mean = _mean_curve(recs)
        e = int(mean.argmax())
        last = mean[-10:]
        ax.axvspan(len(mean) - len(last) + 0.5, len(mean) + 0.5, color="0.85", zorder=0)
        ax.hlines(last.mean(), len(mean) - len(last) + 0.5, len(mean) + 0.5, color="k", linewidth=1.5)
        ax.plot([e + 1], [mean[e]], marker="v", color="#d62728", linestyle="none")
        if method in published.index:
            ax.axhline(published[method], color="0.4", linestyle="--", linewidth=1)
        seeds = f"{len(recs)} seed{'s' if len(recs) > 1 else ''}"
        ax.set_title(figure_label(METHOD_LABELS[method]), fontsize=10)
        # bottom centre: mid-training, where curves are near their peak, leaves it free
        ax.text(0.5, 0.04, f"peak {mean[e]:.1f} (epoch {e + 1})\nlast 10: {last.mean():.1f}\n{seeds}",
                transform=ax.transAxes, ha="center", va="bottom", fontsize=7,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
    for ax in grid[:, 0]:
        ax.set_ylabel("clean test acc. (%)")
    for k, ax in enumerate(axes):
        if k + cols >= len(methods):  # no panel below: label the epoch axis here
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel("epoch")
    handles = [
        plt.Line2D([], [], color="C0", label="mean over seeds (band: min to max)"),
        plt.Line2D([], [], color="#d62728", marker="v", linestyle="none", label="peak"),
        plt.Line2D([], [], color="k", linewidth=1.5, label="mean of the last 10 epochs (shaded)"),
    ]
    if len(published):
        handles.append(plt.Line2D([], [], color="0.4", linestyle="--", label="paper, Table 2 (full scale)"))
    # below the panels (the inline backend's tight bounding box takes it in)
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8, frameon=False, ncol=2)
    return axes


def plot_paper_results(dataset: str, ax=None, highlight: Sequence[str] = ("cce", "vat", "watc")):
    r"""The paper's Table 2 for one dataset: test accuracy against the noise rate, per method.

    One line per method through the published means :math:`\mu_{m}(p)` at the noise rates
    :math:`p \in \{0, 0.2, 0.4\}`, with error bars of the published standard deviations
    (over the last 10 epochs of three runs); the methods of ``highlight`` are drawn thick,
    the others thin. The drop :math:`\mu_m(0) - \mu_m(p)` is the cost of the noise for
    method :math:`m`. Numbers from :data:`watlib.paper.TABLE2` (through
    :data:`watlib.results.PAPER_TABLE2`), nothing computed.

    Parameters
    ----------
    dataset : {"fashion_mnist", "cifar10", "cifar100"}
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    highlight : sequence of str
        Methods (of :data:`watlib.methods.METHODS`) drawn thick.

    Returns
    -------
    matplotlib.axes.Axes
        With one error-bar container per method (``ax.containers``), in the order of
        :data:`watlib.methods.METHODS`, and a legend of the method labels.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2).

    Examples
    --------
    >>> ax = plot_paper_results("cifar10")
    >>> len(ax.containers), ax.containers[-1].lines[0].get_ydata().tolist()
    (10, [91.88, 89.12, 84.55])
    """
    if not isinstance(dataset, str) or dataset not in set(PAPER_TABLE2["dataset"]):
        raise ValueError(f"dataset must be one of {sorted(set(PAPER_TABLE2['dataset']))}, got {dataset!r}")
    if isinstance(highlight, str) or any(m not in METHOD_LABELS for m in highlight):
        raise ValueError(f"highlight must be a sequence of methods of {tuple(METHOD_LABELS)}, got {highlight!r}")
    rows = PAPER_TABLE2[PAPER_TABLE2["dataset"] == dataset].sort_values("noise")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.2))
    markers = "osD^v<>ph*"
    for k, method in enumerate(METHOD_LABELS):
        sub = rows[rows["method"] == method]
        bold = method in highlight
        ax.errorbar(sub["noise"] * 100, sub["mean"], yerr=sub["std"], marker=markers[k % len(markers)],
                    markersize=5 if bold else 3.5, linewidth=2.2 if bold else 0.9, alpha=1.0 if bold else 0.7,
                    capsize=2, label=figure_label(METHOD_LABELS[method]), color=plt.cm.tab10(k % 10))
    ax.set_xticks(sorted(rows["noise"].unique() * 100))
    ax.set_xlabel("label noise rate p (%)")
    ax.set_ylabel("clean test accuracy (%)")
    ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: Table 2 of the paper (mean ± std)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return ax

def plot_run_times(records, ax=None):
    r"""Wall time of each run, one bar per (method, seed), with the machine and preset in the title.

    The bar of run :math:`r` has length :math:`t_r / 60` minutes, :math:`t_r` its recorded
    wall time (:func:`watlib.results.run_summary`); the time per epoch :math:`t_r / E_r` is written at its
    end, and the title names every device and preset that produced the records.

    Parameters
    ----------
    records : sequence of dict
        Complete run records.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        With one bar per record (``ax.patches``), top to bottom in the order of
        ``records``.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936.

    Examples
    --------
    >>> rec = {"config": {"method": "watc", "seed": 0, "preset": "cpu", "epochs": 2, "width": 0.25,
    ...                   "train_size": 4000}, "history": {"test_acc": [70.0, 80.0]},
    ...        "device": "cpu: x86_64, 2 threads", "wall_time_s": 120.0, "n_train": 4000}
    >>> ax = plot_run_times([rec])
    >>> [float(p.get_width()) for p in ax.patches], ax.get_title()
    ([2.0], 'wall time per run: cpu: x86_64, 2 threads; preset cpu')
    """
    table = run_summary(records)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.28 * len(table) + 1.2))
    ys = np.arange(len(table))[::-1]
    colors = [plt.cm.tab10(list(METHOD_LABELS.values()).index(m) % 10) for m in table["method"]]
    ax.barh(ys, table["wall_time_min"], color=colors)
    ax.set_yticks(ys, [figure_label(f"{m} (seed {s})") for m, s in zip(table["method"], table["seed"])], fontsize=8)
    for y, minutes, per_epoch in zip(ys, table["wall_time_min"], table["s_per_epoch"]):
        ax.text(minutes, y, f" {per_epoch:.0f} s/epoch", va="center", fontsize=7)
    ax.set_xlim(0, table["wall_time_min"].max() * 1.25)
    ax.set_xlabel("wall time (minutes)")
    devices = "; ".join(sorted(table["device"].unique()))
    presets = ", ".join(sorted(table["preset"].unique()))
    ax.set_title(f"wall time per run: {devices}; preset {presets}")
    return ax


def _against_paper(records, dataset: str, noise: float, preset: str) -> tuple[pd.DataFrame, list[dict]]:
    """Per method of Table 2: our seeds at (dataset, noise, preset) with the method's own cost,
    their last-10 means, mean and std over seeds, and the paper's mean and std."""
    if isinstance(records, dict) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of run records (dicts), got {type(records).__name__}")
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be a str, got {type(dataset).__name__}")
    if not isinstance(preset, str):
        raise TypeError(f"preset must be a str, got {type(preset).__name__}")
    noise = check_real("noise", noise, ge=0, lt=1)
    chosen = []
    for r in table2_records([r for r in records if isinstance(r, dict) and "config" in r]):
        c = r["config"]
        if (c.get("dataset") == dataset and c.get("preset") == preset and c.get("noise") is not None
                and np.isclose(float(c["noise"]), noise) and r.get("complete", True)):
            chosen.append(r)
    if not chosen:
        found = sorted({(r.get("config", {}).get("dataset"), r.get("config", {}).get("noise"),
                         r.get("config", {}).get("preset")) for r in records if isinstance(r, dict)}, key=str)
        raise ValueError(f"no complete record at dataset={dataset!r}, noise={noise!r}, preset={preset!r} with the "
                         f"method's own cost (cost and cost_scale None); the records hold (dataset, noise, preset) "
                         f"{found}")
    chosen = check_records(chosen)
    seen: dict = {}
    for r in chosen:
        key = (r["config"]["method"], r["config"].get("seed"))
        if key in seen:
            raise ValueError(f"two records of method {key[0]!r}, seed {key[1]!r} at this setting ({seen[key]!r} and "
                             f"{r.get('key')!r}): a seed would count twice; keep one record per seed")
        seen[key] = r.get("key")
    ours = results_table(chosen, paper=False, pooled=False).attrs["numeric"].set_index("method")
    paper = PAPER_TABLE2[(PAPER_TABLE2["dataset"] == dataset) & np.isclose(PAPER_TABLE2["noise"], noise)]
    paper = paper.set_index("method")
    rows = []
    for method in [m for m in METHOD_LABELS if m in ours.index]:
        seeds = [float(np.mean(r["history"]["test_acc"][-10:])) for r in chosen if r["config"]["method"] == method]
        rows.append({"method": method, "label": METHOD_LABELS[method], "n": int(ours.loc[method, "n"]),
                     "seeds": seeds, "mean": float(ours.loc[method, "mean"]), "std": float(ours.loc[method, "std"]),
                     "paper_mean": float(paper.loc[method, "mean"]) if method in paper.index else np.nan,
                     "paper_std": float(paper.loc[method, "std"]) if method in paper.index else np.nan})
    return pd.DataFrame(rows), chosen


def _seeds(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def plot_against_paper(records, dataset: str = "fashion_mnist", noise: float = 0.4, preset: str = "cpu", ax=None):
    r"""Our runs of one setting beside the paper's Table 2: one row per method, each seed shown.

    From the complete records at ``dataset``, ``noise`` and ``preset`` whose method uses its
    own ground cost (``config.cost`` and ``config.cost_scale`` None: the runs of a cost
    ablation are left out), each method :math:`m` with seeds :math:`s = 1, \dots, S_m` gets
    the paper's metric per seed, the mean test accuracy of the last 10 epochs
    :math:`\bar a_{m,s}`, and its mean and standard deviation over seeds,

    .. math::
        \mu_m = \frac{1}{S_m} \sum_{s=1}^{S_m} \bar a_{m,s}, \qquad
        \sigma_m = \Big(\frac{1}{S_m - 1} \sum_{s=1}^{S_m} (\bar a_{m,s} - \mu_m)^2\Big)^{1/2},

    as :func:`watlib.results.results_table` with ``pooled=False`` computes them. A circle
    marks :math:`\mu_m` with an error bar of :math:`\pm\sigma_m` (none for a single seed),
    a tick each :math:`\bar a_{m,s}`; a grey diamond below it marks the paper's mean
    :math:`\pm` standard deviation (:data:`watlib.results.PAPER_TABLE2`, its full-scale
    setting). Any number of seeds per method works; the row label says how many.

    Parameters
    ----------
    records : sequence of dict
        Run records (:func:`watlib.results.load_records`); those of other settings are
        skipped. Two records of the same method and seed at the setting are an error.
    dataset : str
    noise : float
        In [0, 1).
    preset : str
        The preset of our runs (``config.preset``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        Rows top to bottom in the order of Table 2, labelled "<method> (<S> seeds)";
        ``ax.containers[0]`` is our error bars (means in its ``lines[0]``),
        ``ax.containers[1]`` the paper's, ``ax.collections[-1]`` the seeds' ticks.

    Raises
    ------
    ValueError
        When no record matches the setting (naming the settings the records hold), or a
        (method, seed) appears twice.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2: the mean over the last 10 epochs of three runs).

    Examples
    --------
    >>> recs = [{"config": {"dataset": "fashion_mnist", "noise": 0.4, "preset": "cpu", "method": m, "seed": s,
    ...                     "cost": None}, "history": {"test_acc": [70.0, 70.0 + s]}, "complete": True}
    ...         for m, seeds in (("cce", (0, 1, 2)), ("watc", (0,))) for s in seeds]
    >>> ax = plot_against_paper(recs)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['CCE (3 seeds)', 'WAT$_C$ (1 seed)']
    >>> ax.containers[0].lines[0].get_xdata().tolist(), ax.containers[1].lines[0].get_xdata().tolist()
    ([70.5, 70.0], [78.85, 90.41])
    """
    table, chosen = _against_paper(records, dataset, noise, preset)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.45 * len(table) + 1.7))
    ys = np.arange(len(table), dtype=float)
    single = table["n"].to_numpy() < 2
    spread = np.where(single, np.nan, table["std"].to_numpy(float))
    # no caps on our bars, so that they do not read as the ticks of single seeds
    ax.errorbar(table["mean"].to_numpy(float), ys - 0.15, xerr=spread, fmt="o", color="C0", markersize=6, capsize=0, linewidth=2,
                label=f"ours (preset {preset}): mean ± std over seeds", zorder=3)
    ax.errorbar(table["paper_mean"].to_numpy(float), ys + 0.15, xerr=table["paper_std"].to_numpy(float), fmt="D", color="0.45", markersize=5,
                capsize=3, linewidth=1.2, label="paper, Table 2 (full scale): mean ± std", zorder=3)
    xs = [x for seeds in table["seeds"] for x in seeds]
    ys_seed = [y - 0.15 for y, seeds in zip(ys, table["seeds"]) for _ in seeds]
    ax.scatter(xs, ys_seed, marker="|", s=170, color="C0", alpha=0.55, linewidths=1.3, label="ours: one seed",
               zorder=2)
    ax.set_yticks(ys, [figure_label(f"{label} ({_seeds(n)})") for label, n in zip(table["label"], table["n"])])
    ax.set_ylim(len(table) - 0.5, -0.5)
    for y in ys[1:]:
        ax.axhline(y - 0.5, color="0.9", linewidth=0.8, zorder=0)
    ax.set_xlabel("clean test accuracy (%), mean of the last 10 epochs")
    ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}, {noise:.0%} label noise: ours against the paper")
    ax.grid(axis="x", alpha=0.3)
    # below the axis label: 0.55 inch under the axes, whatever their height
    below = 0.55 / (ax.get_position().height * ax.figure.get_figheight())
    handles = dict(zip(*reversed(ax.get_legend_handles_labels())))
    order = [f"ours (preset {preset}): mean ± std over seeds", "ours: one seed", "paper, Table 2 (full scale): mean ± std"]
    ax.legend([handles[k] for k in order], order, loc="upper center",
              bbox_to_anchor=(0.5, -below), ncol=3, fontsize=8, frameon=False, handletextpad=0.4, columnspacing=1.2)
    return ax


def caption_against_paper(records, dataset: str = "fashion_mnist", noise: float = 0.4, preset: str = "cpu") -> str:
    r"""The caption of :func:`plot_against_paper` for the same records: what is drawn, and how
    many seeds each method has.

    Methods are grouped by their number of seeds, in the order of Table 2; the training
    scale (images and epochs) is named when all the records share it.

    Parameters
    ----------
    records : sequence of dict
        As for :func:`plot_against_paper`.
    dataset : str
    noise : float
    preset : str

    Returns
    -------
    str
        Markdown, one paragraph.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2).

    Examples
    --------
    >>> recs = [{"config": {"dataset": "fashion_mnist", "noise": 0.4, "preset": "cpu", "method": m, "seed": s},
    ...          "history": {"test_acc": [70.0]}} for m, s in (("cce", 0), ("cce", 1), ("vat", 0))]
    >>> caption_against_paper(recs).split("Seeds per method: ")[1]
    '2 for CCE; 1 for VAT (one seed has no spread).'
    """
    table, chosen = _against_paper(records, dataset, noise, preset)
    scale = {(r["config"].get("train_size"), len(r["history"]["test_acc"])) for r in chosen}
    size = ""
    if len(scale) == 1:
        train_size, epochs = scale.pop()
        size = (f" ({train_size:,} training images, {epochs} epochs)" if train_size
                else f" ({epochs} epochs)")
    groups = []
    for n in sorted(set(table["n"]), reverse=True):
        labels = [figure_label(label) for label in table.loc[table["n"] == n, "label"]]  # as in the figure
        names = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        groups.append(f"{n} for {names}")
    note = " (one seed has no spread)" if (table["n"] == 1).any() else ""
    return (f"Clean test accuracy on {DATASET_LABELS.get(dataset, dataset)} with {noise:.0%} label noise, the mean "
            f"over the last 10 epochs as in the paper's Table 2. Ours, at the `{preset}` preset{size}: circle and "
            f"bar the mean ± standard deviation over seeds, a tick for each seed; the paper's, at its full scale: "
            f"diamond and bar its mean ± standard deviation. Only runs with each method's own ground cost are shown. "
            f"Seeds per method: {'; '.join(groups)}{note}.")


def plot_paired_differences(pairs: pd.DataFrame, ax=None, unit: str = "points of accuracy"):
    r"""The comparisons of :func:`watlib.comparisons.paired_differences`: one row each, every seed shown.

    For a comparison :math:`a - b` with per-seed differences :math:`d_1, \dots, d_S` a dot
    marks each :math:`d_s` and a bar the mean :math:`\bar d` with its t-interval (``low`` to
    ``high``, the table's level). A row the family resolves (``resolved``: Holm-adjusted
    p below the table's alpha) is drawn solid; the others hollow and grey, their interval
    saying how large the difference can be. A vertical line marks zero.

    Parameters
    ----------
    pairs : pandas.DataFrame
        A :func:`watlib.comparisons.paired_differences` table: one row per comparison, columns
        the seeds, then its summary columns (``mean``, ``low``, ``high``, ``resolved``...).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    unit : str
        What the differences measure, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes
        Rows top to bottom in the order of ``pairs``; ``ax.collections[0]`` the seeds'
        dots, ``ax.collections[-1]`` the means (their offsets), ``ax.containers[0]`` the
        bars of the intervals.

    Raises
    ------
    ValueError
        When ``pairs`` lacks the columns of a :func:`~watlib.comparisons.paired_differences`
        table or has no rows.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2, whose WAT_C against WAT_0-1 these differences
       retest seed by seed).

    Examples
    --------
    >>> from watlib.comparisons import paired_differences
    >>> table = pd.DataFrame({0: [70.0, 80.0, 71.0], 1: [72.0, 75.0, 71.5]}, index=["CCE", "WAT_C", "VAT"])
    >>> pairs = paired_differences(table, [("WAT_C", "CCE"), ("VAT", "CCE")])
    >>> ax = plot_paired_differences(pairs)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['WAT$_C$ - CCE', 'VAT - CCE']
    >>> ax.collections[-1].get_offsets()[:, 0].tolist()
    [6.5, 0.25]
    """
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(f"pairs must be a pandas.DataFrame from watlib.comparisons.paired_differences, got {type(pairs).__name__}")
    missing = [c for c in ("mean", "low", "high", "resolved") if c not in pairs.columns]
    if missing or pairs.empty:
        raise ValueError(f"pairs must be a non-empty table of watlib.comparisons.paired_differences "
                         f"(columns: the seeds, mean, low, high, resolved...); got columns {list(pairs.columns)} "
                         f"and {len(pairs)} rows")
    seeds = [c for c in pairs.columns if c not in PAIRED_COLUMNS]
    level, alpha = pairs.attrs.get("level", 0.95), pairs.attrs.get("alpha", 0.05)
    if ax is None:
        _, ax = plt.subplots(figsize=(PAGE_WIDTH, 0.42 * len(pairs) + 1.3))
    ys = np.arange(len(pairs), dtype=float)
    means = pairs["mean"].to_numpy(float)
    resolved = pairs["resolved"].to_numpy(bool)
    colors = np.where(resolved, "C0", "0.55")
    values = pairs[seeds].to_numpy(float)
    xs, ys_seed = values.ravel(), np.repeat(ys, len(seeds))
    keep = np.isfinite(xs)
    ax.scatter(xs[keep], ys_seed[keep], s=16, color="k", alpha=0.6, zorder=4, label="one seed")
    err = np.vstack([means - pairs["low"].to_numpy(float), pairs["high"].to_numpy(float) - means])
    ax.errorbar(means, ys, xerr=np.nan_to_num(err), fmt="none", ecolor=colors, elinewidth=2, capsize=0, zorder=2)
    ax.scatter(means, ys, s=48, marker="o", zorder=3, linewidths=1.5, edgecolors=colors,
               facecolors=[c if r else "white" for c, r in zip(colors, resolved)],
               label=f"mean and {level:.0%} t-interval")
    ax.axvline(0.0, color="0.3", linewidth=0.8, zorder=1)
    ax.set_yticks(ys, [figure_label(str(label)) for label in pairs.index])
    ax.set_ylim(len(pairs) - 0.5, -0.5)
    ax.set_xlabel(f"difference ({unit}), seed by seed")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"paired differences, {level:.0%} t-intervals: filled when resolved (Holm-adjusted p < {alpha:g})",
                 fontsize=9)
    return ax
