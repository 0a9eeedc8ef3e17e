r"""Paired comparisons of runs over seeds: differences, t-intervals, Holm's adjustment, and the
share of the noise's damage a method recovers.

Runs of one seed share the training images, the noise draw, the initialisation and the
minibatch order, so two methods are compared seed by seed: :func:`paired_differences` takes a
table of one row per run and one column per seed (:func:`watlib.results.seed_table`) and gives
each comparison its mean difference, t-interval and paired-t p-value, with the p-values of the
comparisons passed together (one family) adjusted by :func:`holm_adjusted`.
:func:`damage_recovered` reads a method's gain over cross-entropy against the damage the noise
does to cross-entropy, measured by clean-label runs of the same seeds.

A difference is called resolved when its Holm-adjusted p is below ``alpha`` within its family;
one that is not is still bounded by its interval ("between ``low`` and ``high`` points"), which
is what "no effect" can mean.

Tables only (pandas and SciPy); the figure of a family is
:func:`watlib.plot.plot_paired_differences`.
"""

from __future__ import annotations

import numpy as np

from ._extras import needs_extra

with needs_extra("plot", "watlib.comparisons (tables of paired differences)"):
    import pandas as pd

from ._checks import check_real

__all__ = ["paired_differences", "PAIRED_COLUMNS", "holm_adjusted", "damage_recovered", "DAMAGE_COLUMNS"]


def _seeds(table: pd.DataFrame) -> list:
    """The seed columns of a :func:`watlib.results.seed_table` (all but its summary columns)."""
    return [c for c in table.columns if c not in ("mean", "std", "n")]


def holm_adjusted(p_values) -> np.ndarray:
    r"""Holm's step-down adjustment of a family of p-values.

    With the :math:`m` p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`, the adjusted
    value of the :math:`i`-th is

    .. math::
        \tilde p_{(i)} = \min\Bigl(1, \max_{j \le i} (m - j + 1)\, p_{(j)}\Bigr),

    so that rejecting every hypothesis with :math:`\tilde p < \alpha` keeps the chance of any
    false rejection in the family below :math:`\alpha` [1]_. NaN p-values (a comparison with
    fewer than two seeds) stay NaN and do not count in :math:`m`.

    Parameters
    ----------
    p_values : array_like, shape (m,)
        p-values in [0, 1] or NaN.

    Returns
    -------
    numpy.ndarray, shape (m,)
        The adjusted p-values, in the input's order.

    References
    ----------
    .. [1] S. Holm, "A simple sequentially rejective multiple test procedure", Scandinavian
       Journal of Statistics 6(2), 65-70, 1979.

    Examples
    --------
    >>> holm_adjusted([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional, got shape {p.shape}")
    finite = np.isfinite(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise ValueError(f"p_values must lie in [0, 1] (or be NaN), got {p[finite].min()} to {p[finite].max()}")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(finite)
    order = idx[np.argsort(p[idx], kind="stable")]
    m = len(order)
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


#: The summary columns of :func:`paired_differences`, after one column per seed.
PAIRED_COLUMNS = ("mean", "std", "n", "low", "high", "p", "p_holm", "resolved", "same_sign")


def paired_differences(table: pd.DataFrame, comparisons, level: float = 0.95, alpha: float = 0.05) -> pd.DataFrame:
    r"""Seed by seed differences between runs of a :func:`watlib.results.seed_table`, with paired t-intervals
    and Holm-adjusted p-values over the family of comparisons given.

    Runs of one seed share the training images, the noise draw, the initialisation and the
    minibatch order, so for each comparison ``(a, b)`` the difference is taken within each
    of the :math:`n` seeds both runs have, :math:`d_s = x_{a,s} - x_{b,s}`, and summarised by
    its mean :math:`\bar d`, its standard deviation :math:`s_d` (``ddof=1``), the
    ``level`` t-interval and the two-sided paired t-test of a zero mean:

    .. math::
        \bar d \pm t_{n-1,\,(1+\mathrm{level})/2}\, \frac{s_d}{\sqrt n}, \qquad
        p = 2\, P\Bigl(T_{n-1} > \frac{|\bar d|\sqrt n}{s_d}\Bigr).

    The comparisons passed together are one family: ``p_holm`` is :func:`holm_adjusted` over
    them, and a difference is ``resolved`` when ``p_holm < alpha``. A difference that is not
    resolved is still bounded by its interval ("between ``low`` and ``high`` points").

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`watlib.results.seed_table`.
    comparisons : sequence of (str, str)
        Pairs of row labels of ``table``: ``a`` minus ``b``; the family of the adjustment.
    level : float
        Confidence level of the intervals, in (0, 1).
    alpha : float
        The family-wise error rate below which a difference is called resolved, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per comparison (index ``"a - b"``): the difference per seed (columns the
        seeds both runs have), ``mean``, ``std``, ``n``, ``low`` and ``high`` (the
        interval), ``p`` (paired t), ``p_holm``, ``resolved`` (bool) and ``same_sign``
        (every seed's difference has the sign of the mean: a description, not a test; with
        three seeds a zero difference shows it one time in four). With fewer than two seeds
        the interval and the p-values are NaN and nothing is resolved. ``attrs`` holds
        ``level`` and ``alpha``.

    Examples
    --------
    >>> table = pd.DataFrame({0: [70.0, 80.0, 71.0], 1: [72.0, 81.0, 71.5], 2: [71.0, 81.5, 70.0]},
    ...                      index=["CCE", "WAT_C", "VAT"])
    >>> pairs = paired_differences(table, [("WAT_C", "CCE"), ("VAT", "CCE")])
    >>> pairs[["mean", "low", "high", "p", "p_holm", "resolved"]].round(3)
                  mean    low    high      p  p_holm  resolved
    WAT_C - CCE  9.833  7.936  11.731  0.002   0.004      True
    VAT - CCE   -0.167 -2.752   2.419  0.808   0.808     False
    """
    from scipy import stats

    level = check_real("level", level, gt=0, lt=1)
    alpha = check_real("alpha", alpha, gt=0, lt=1)
    seeds = _seeds(table)
    rows = {}
    for pair in comparisons:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"comparisons must hold (a, b) pairs of row labels, got {pair!r}")
        a, b = pair
        missing = [x for x in (a, b) if x not in table.index]
        if missing:
            raise ValueError(f"comparisons name runs that are not rows of table: {missing}; rows: {list(table.index)}")
        if f"{a} - {b}" in rows:
            raise ValueError(f"comparisons name {a!r} - {b!r} twice: a family counts each comparison once")
        d = table.loc[a, seeds].astype(float) - table.loc[b, seeds].astype(float)
        d = d[np.isfinite(d.to_numpy())]
        n = len(d)
        mean = float(d.mean()) if n else float("nan")
        std = float(d.std(ddof=1)) if n > 1 else float("nan")
        low = high = p = float("nan")
        if n > 1:
            if std > 0:
                half = float(stats.t.ppf((1 + level) / 2, n - 1)) * std / np.sqrt(n)
                low, high = mean - half, mean + half
                p = float(2 * stats.t.sf(abs(mean) * np.sqrt(n) / std, n - 1))
            else:  # every seed the same difference: no spread to test against
                low = high = mean
                p = 1.0 if mean == 0 else 0.0
        row = d.to_dict()
        row.update(mean=mean, std=std, n=n, low=low, high=high, p=p,
                   same_sign=bool(n and mean != 0 and (np.sign(d) == np.sign(mean)).all()))
        rows[f"{a} - {b}"] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["p_holm"] = holm_adjusted(out["p"].to_numpy()) if len(out) else []
    out["resolved"] = (out["p_holm"] < alpha).to_numpy(bool)
    out = out[[s for s in seeds if s in out.columns] + list(PAIRED_COLUMNS)]
    out.attrs.update(level=level, alpha=alpha)
    return out


#: The columns of :func:`damage_recovered`.
DAMAGE_COLUMNS = ("gain", "gain_low", "gain_high", "n", "share", "share_low", "share_high")


def damage_recovered(noisy: pd.DataFrame, clean: pd.DataFrame, runs, reference: str = "CCE",
                     level: float = 0.95) -> pd.DataFrame:
    r"""The share of the noise's damage to ``reference`` that each run recovers.

    The damage is what the noise costs the reference method, seed by seed: the clean-label
    run's accuracy minus the noisy one's, :math:`D_s = x^{\mathrm{clean}}_{\mathrm{ref},s} -
    x_{\mathrm{ref},s}`, with mean :math:`\bar D` over the seeds both tables have. A run's gain
    is its paired difference to the reference at the noise rate,
    :math:`G_s = x_{r,s} - x_{\mathrm{ref},s}` (:func:`paired_differences`, over every seed
    both have), and its share of the damage recovered is

    .. math::
        S = \frac{\bar G}{\bar D}, \qquad
        [S_{\mathrm{low}}, S_{\mathrm{high}}] = \frac{[G_{\mathrm{low}}, G_{\mathrm{high}}]}{\bar D}:

    0 is the reference's accuracy, 1 its clean-label accuracy. The interval is the gain's
    t-interval with the damage held at its mean; the damage's own interval is in ``attrs``
    (when it is narrow next to :math:`\bar D`, as with a damage of many points measured
    within a seed, holding it fixed changes little).

    Parameters
    ----------
    noisy : pandas.DataFrame
        A :func:`watlib.results.seed_table` of runs at the noise rate, ``reference`` among them.
    clean : pandas.DataFrame
        A :func:`watlib.results.seed_table` of clean-label runs, ``reference`` among them.
    runs : sequence of str
        Row labels of ``noisy``.
    reference : str
        The method whose damage is measured (a row of both tables).
    level : float
        Confidence level of the intervals, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per run: ``gain`` (:math:`\bar G`), ``gain_low``, ``gain_high``, ``n`` (the
        seeds of the gain), ``share``, ``share_low`` and ``share_high``. ``attrs["damage"]``:
        ``mean``, ``low``, ``high`` and ``n`` of the damage.

    Raises
    ------
    ValueError
        ``reference`` is not a row of both tables, a run is not a row of ``noisy``, the two
        tables share no seed, or the damage is not positive (the noise did not lower the
        reference's accuracy: no share of it can be read).

    Examples
    --------
    >>> noisy = pd.DataFrame({0: [74.0, 80.0], 1: [75.0, 80.5], 2: [73.0, 79.0]}, index=["CCE", "WAT_C"])
    >>> clean = pd.DataFrame({0: [89.0], 1: [89.5], 2: [88.0]}, index=["CCE"])
    >>> table = damage_recovered(noisy, clean, ["WAT_C"])
    >>> table[["gain", "share", "share_low", "share_high"]].round(3)
            gain  share  share_low  share_high
    WAT_C  5.833  0.393      0.345       0.442
    >>> {k: round(v, 2) for k, v in table.attrs["damage"].items()}
    {'mean': 14.83, 'low': 14.12, 'high': 15.55, 'n': 3}
    """
    level = check_real("level", level, gt=0, lt=1)
    for name, table in (("noisy", noisy), ("clean", clean)):
        if reference not in table.index:
            raise ValueError(f"reference {reference!r} must be a row of {name}; rows: {list(table.index)}")
    runs = list(runs)
    missing = [r for r in runs if r not in noisy.index]
    if missing:
        raise ValueError(f"runs must be rows of noisy, got {missing}; rows: {list(noisy.index)}")
    seeds, clean_seeds = _seeds(noisy), _seeds(clean)
    both = [s for s in seeds if s in clean_seeds]
    if not both:
        raise ValueError(f"noisy and clean must share a seed, got seeds {seeds} and {clean_seeds}")
    pair = pd.DataFrame([clean.loc[reference, both], noisy.loc[reference, both]], index=["clean", "noisy"])
    damage = paired_differences(pair, [("clean", "noisy")], level=level).iloc[0]
    if not damage["mean"] > 0:
        raise ValueError(f"the damage of the noise to {reference!r} must be positive to read a share of it, got "
                         f"{damage['mean']:.4g} points (clean minus noisy, seeds {both})")
    gains = paired_differences(noisy, [(r, reference) for r in runs], level=level)
    out = pd.DataFrame({"gain": gains["mean"].to_numpy(), "gain_low": gains["low"].to_numpy(),
                        "gain_high": gains["high"].to_numpy(), "n": gains["n"].to_numpy()}, index=runs)
    for col, src in (("share", "gain"), ("share_low", "gain_low"), ("share_high", "gain_high")):
        out[col] = out[src] / damage["mean"]
    out = out[list(DAMAGE_COLUMNS)]
    out.attrs.update(level=level, damage={k: float(damage[k]) if k != "n" else int(damage[k])
                                          for k in ("mean", "low", "high", "n")})
    return out
