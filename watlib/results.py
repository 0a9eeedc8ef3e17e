r"""Run records and the paper's Tables 2 and 3: reading, summarising, comparing.

:data:`PAPER_TABLE2` holds the numbers published in Table 2 of Damodaran et al. (test
accuracy in %, mean and standard deviation over the last 10 epochs of three runs) and
:data:`PAPER_TABLE3` those of Table 3 (Vaihingen: per-class F1, average F1 and overall
accuracy in %, averaged over 2 runs), both built from :mod:`watlib.paper`, where they are
quoted as printed. Everything else here is computed from run records written by
:func:`watlib.train.run` and :func:`watlib.train_segmentation.run_segmentation`:
:func:`load_records` reads them, :func:`results_table` and :func:`segmentation_table` lay
them out as Tables 2 and 3, :func:`run_summary` gives one row per run; :func:`seed_table` lays
runs out seed by seed, for the paired comparisons of :mod:`watlib.comparisons`, and :func:`solver_diagnostics` says how well the regularizer's OT problems were solved.

Tables only: the figures drawn from them are in :mod:`watlib.plot` (its modules ``runs`` and
``segmentation``), and this module does not import Matplotlib.

Examples
--------
>>> PAPER_TABLE2.query("dataset == 'cifar10' and noise == 0.4 and method == 'watc'")[["mean", "std"]].values.tolist()
[[84.55, 0.78]]
>>> float(PAPER_TABLE3.loc["car", "wat"])
25.78
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np

from ._extras import needs_extra

with needs_extra("plot", "watlib.results (tables of records)"):
    import pandas as pd

from ._checks import check_bool, check_choice, check_path, check_real
from .costs import GROUND_COSTS
from .data.registry import DATASET_NAMES
from .methods import METHOD_LABELS, METHODS, method_class
from .ot_settings import ot_preset_name
from .records import check_record, find_results_dir, read_record
from .paper import TABLE2, TABLE2_METHODS, TABLE3, TABLE3_METHODS, TABLE3_ROWS

__all__ = ["PAPER_TABLE2", "METHOD_LABELS", "load_records", "check_records", "results_table", "run_summary",
           "COST_LABELS", "run_label", "table2_records", "seed_table",
           "solver_diagnostics", "TABLE2_FIELDS", "SEGMENTATION_FIELDS",
           "PAPER_TABLE3", "SEGMENTATION_LABELS", "segmentation_table", "split_by_configuration", "results_report"]



def _paper_table2() -> pd.DataFrame:
    rows = [{"dataset": dataset, "noise": noise, "method": method, "mean": cells[method][0], "std": cells[method][1]}
            for dataset, by_noise in TABLE2.items() for noise, cells in by_noise.items() for method in TABLE2_METHODS]
    return pd.DataFrame(rows, columns=["dataset", "noise", "method", "mean", "std"])


#: Table 2 of the paper as a long DataFrame (dataset, noise, method, mean, std), in %, one
#: row per cell of :data:`watlib.paper.TABLE2`.
PAPER_TABLE2 = _paper_table2()


#: The fields of a run record that Table 2 reads (dotted paths, :func:`watlib.records.check_record`).
TABLE2_FIELDS = ("config.dataset", "config.noise", "config.method", "history.test_acc")
#: The fields of a segmentation record that Table 3 reads.
SEGMENTATION_FIELDS = ("config.method", "test.f1", "test.average_f1", "test.overall_accuracy")


def load_records(results_dir=None, dataset: str | None = None, complete_only: bool = True) -> list[dict]:
    """Read the JSON run records under ``results_dir`` (default :func:`~watlib.records.find_results_dir`).

    Records are the files ``<results_dir>/<dataset>/*.json``, read in the order of their
    paths.

    Parameters
    ----------
    results_dir : str or os.PathLike, optional
        The results folder; it must exist (an existing but empty one gives no records).
    dataset : str, optional
        Only this data set's records (none when it has no subfolder yet); one of
        :data:`watlib.data.registry.DATASET_NAMES`, so that a misspelt name is an error, not
        an empty list.
    complete_only : bool
        Skip records of runs that did not finish.

    Returns
    -------
    list of dict

    Raises
    ------
    FileNotFoundError
        When ``results_dir`` (or the default one) does not exist.
    watlib.records.CorruptFileError
        (a ValueError) When a record cannot be read (a file truncated by an interrupted
        write), naming the file: :func:`watlib.records.read_record`, the one reader of records;
        or lacks a field the tables read (:data:`TABLE2_FIELDS`, :data:`SEGMENTATION_FIELDS`).

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     (Path(tmp) / "cifar10").mkdir()
    ...     run = {"config": {"dataset": "cifar10", "noise": 0.4, "method": "cce"}, "history": {"test_acc": [50.0]}}
    ...     _ = (Path(tmp) / "cifar10" / "a.json").write_text(json.dumps({**run, "complete": True, "key": "a"}))
    ...     _ = (Path(tmp) / "cifar10" / "b.json").write_text(json.dumps({**run, "complete": False, "key": "b"}))
    ...     [r["key"] for r in load_records(tmp)], len(load_records(tmp, complete_only=False))
    (['a'], 2)
    >>> load_records("/nonexistent/results")
    Traceback (most recent call last):
    ...
    FileNotFoundError: results_dir '/nonexistent/results' does not exist (no run records there); ...
    """
    complete_only = check_bool("complete_only", complete_only)
    if dataset is not None:
        check_choice("dataset", dataset, DATASET_NAMES)
    if results_dir is None:
        root, origin = find_results_dir(), "the default results folder (watlib.records.find_results_dir)"
    else:
        root, origin = check_path("results_dir", results_dir), "results_dir"
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise FileNotFoundError(f"{origin} {str(root)!r} {what} (no run records there); pass results_dir "
                                "(--results-dir) or set $WATLIB_RESULTS to the folder holding <dataset>/<run>.json")
    pattern = f"{dataset}/*.json" if dataset else "*/*.json"
    records = [check_record(read_record(path), path, SEGMENTATION_FIELDS if path.parent.name == "vaihingen"
                            else TABLE2_FIELDS) for path in sorted(root.glob(pattern))]  # else CorruptFileError
    return [r for r in records if r.get("complete") or not complete_only]


def _fmt(mean, std):
    if np.isnan(mean):
        return ""
    return f"{mean:.2f}" if np.isnan(std) else f"{mean:.2f} ± {std:.2f}"


def _one_run_per_seed(cell: str, records: Sequence[dict]) -> None:
    """Raise when the records of one table cell are not the seeds of one configuration: two
    that share a seed, or two whose configurations differ in anything but the seed (another
    solver setting, say); their mean would be a mean over settings."""
    seen: dict = {}
    for r in records:
        seed = r["config"].get("seed")
        if seed in seen:
            raise ValueError(
                f"the records of {cell} hold two runs with seed {seed}, which differ in their configuration "
                f"({_config_difference(seen[seed]['config'], r['config'])}): a cell is the mean over seeds of one "
                "configuration, so select the records of one configuration first")
        if seen:
            first = next(iter(seen.values()))["config"]
            if {k: v for k, v in first.items() if k != "seed"} != {k: v for k, v in r["config"].items() if k != "seed"}:
                difference = _config_difference({k: v for k, v in first.items() if k != "seed"},
                                                {k: v for k, v in r["config"].items() if k != "seed"})
                raise ValueError(
                    f"the records of {cell} hold runs of two configurations ({difference}): a cell is the mean over "
                    "seeds of one configuration, so select the records of one configuration first")
        seen[seed] = r


def _config_difference(a: dict, b: dict) -> str:
    """``key=a_value/b_value`` for every configuration field two records disagree on."""
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return ", ".join(f"{k}={a.get(k)!r}/{b.get(k)!r}" for k in keys) or "no field"


def split_by_configuration(records, ignore: Sequence[str] = ("method", "seed")) -> list[tuple[dict, list[dict]]]:
    """Group records by their configuration, apart from the fields in ``ignore``.

    What a table may pool: records that differ only in their method (its rows) and their
    seed (the spread of a cell). Records with another setting of any other field (another
    Sinkhorn budget, noise level or preset) form a group of their own.

    Parameters
    ----------
    records : iterable of dict
        Run records (their ``config`` is read).
    ignore : sequence of str
        The configuration fields a group may vary in.

    Returns
    -------
    list of (dict, list of dict)
        One entry per configuration, the largest group first (ties in the order their
        first record comes): the fields in which the group's configuration differs from the
        first group's, with the group's values (empty for the first group), and its records.

    Examples
    --------
    >>> recs = [{"config": {"method": m, "seed": s, "max_iter": 50_000}} for m in ("cce", "wat") for s in (0, 1)]
    >>> recs.append({"config": {"method": "wat", "seed": 0, "max_iter": 100}})
    >>> [(differs, len(runs)) for differs, runs in split_by_configuration(recs)]
    [({}, 4), ({'max_iter': 100}, 1)]
    """
    groups: dict[str, list[dict]] = {}
    for r in records:
        rest = {k: v for k, v in r["config"].items() if k not in ignore}
        groups.setdefault(json.dumps(rest, sort_keys=True, default=str), []).append(r)
    ordered = sorted(groups.values(), key=len, reverse=True)
    if not ordered:
        return []
    first = ordered[0][0]["config"]
    return [({k: v for k, v in sorted(runs[0]["config"].items()) if k not in ignore and v != first.get(k)}, runs)
            for runs in ordered]


def results_table(records: Iterable[dict], paper: bool = True, pooled: bool = True) -> pd.DataFrame:
    r"""Table 2 from run records, one row per method: ours beside the paper's, per (dataset, noise).

    Each of our cells is the mean ± standard deviation over seeds of the last-10-epoch mean
    test accuracy (the paper averages over "the last 10 epochs of three runs"; with
    ``pooled`` the standard deviation is that of the pooled last-10 accuracies of all seeds,
    as the paper's wording suggests, otherwise the sample standard deviation (``ddof=1``) of
    the per-seed means, as in :func:`seed_table`, and no ± for a single seed, which has no
    spread), followed by the number of seeds in brackets. With ``paper`` the published numbers of the same
    (dataset, noise) stand in the column after ours.

    The paper prints Table 2 with the methods as columns; here they are the rows, so that
    one setting (a chapter's) is a narrow table of two columns, ours and the paper's, which
    fits a page (and a terminal) with the WAT rows in view.

    Parameters
    ----------
    records : iterable of dict
        Run records (:func:`load_records`).
    paper : bool
        Add the paper's published numbers (:data:`PAPER_TABLE2`) for every (dataset, noise)
        of ``records``.
    pooled : bool
        How the standard deviation is computed (see above).

    Returns
    -------
    pandas.DataFrame
        Index ``method``: the labels of Table 2 (:data:`watlib.methods.METHOD_LABELS`), in its order, every
        method that has a cell; columns a MultiIndex (dataset, noise, source) with source
        "ours (<preset>)" before "paper"; cells "mean ± std [n]" strings for ours, "mean ±
        std" for the paper's, "" where a method has no cell. The numeric values are in
        ``df.attrs["numeric"]`` (long format: dataset, noise, method, source, mean, std, n).

    Examples
    --------
    >>> rec = {"config": {"dataset": "fashion_mnist", "noise": 0.4, "method": "cce", "seed": 0,
    ...                   "preset": "cpu"},
    ...        "history": {"test_acc": [70.0, 72.0]}, "complete": True}
    >>> table = results_table([rec])
    >>> table.shape, list(table.columns)
    ((10, 2), [('fashion_mnist', 0.4, 'ours (cpu)'), ('fashion_mnist', 0.4, 'paper')])
    >>> table.loc["CCE", ("fashion_mnist", 0.4, "ours (cpu)")]
    '71.00 ± 1.00 [1]'
    >>> table.loc["CCE", ("fashion_mnist", 0.4, "paper")], table.loc["WAT_C", ("fashion_mnist", 0.4, "ours (cpu)")]
    ('78.85 ± 0.56', '')
    >>> results_table([rec], pooled=False).loc["CCE", ("fashion_mnist", 0.4, "ours (cpu)")]
    '71.00 [1]'
    """
    rows = []
    groups: dict = {}
    for i, r in enumerate(records):
        c = check_record(r, f"records[{i}]", TABLE2_FIELDS)["config"]
        if c.get("cost") is not None or c.get("cost_scale") is not None:
            raise ValueError(
                f"records[{i}] is a {METHOD_LABELS[c['method']]} run with cost={c.get('cost')!r}, "
                f"cost_scale={c.get('cost_scale')!r} (the ground-cost study), not a run of Table 2, whose WAT "
                "methods keep their own costs: pass table2_records(records), and seed_table for the study")
        groups.setdefault((c["dataset"], float(c["noise"]), c["method"], c.get("preset", "?")), []).append(r)
    for (dataset, noise, method, preset), recs in groups.items():
        _one_run_per_seed(f"{METHOD_LABELS[method]} ({dataset}, noise {noise:g}, preset {preset})", recs)
        lasts = [np.asarray(r["history"]["test_acc"][-10:], dtype=float) for r in recs]
        per_seed = np.array([x.mean() for x in lasts])
        if pooled:
            std = float(np.concatenate(lasts).std())
        else:
            std = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan")
        n = len(recs)
        source = f"ours ({preset})"
        rows.append({"dataset": dataset, "noise": noise, "method": method, "source": source,
                     "mean": float(per_seed.mean()), "std": std, "n": n})
    if paper:
        keys = {(r["dataset"], r["noise"]) for r in rows}
        for row in PAPER_TABLE2.itertuples():
            if (row.dataset, row.noise) in keys:
                rows.append({"dataset": row.dataset, "noise": row.noise, "method": row.method,
                             "source": "paper", "mean": row.mean, "std": row.std, "n": 3})
    long = pd.DataFrame(rows, columns=["dataset", "noise", "method", "source", "mean", "std", "n"])
    names = ["dataset", "noise", "source"]
    if long.empty:
        table = pd.DataFrame(index=pd.Index([], name="method"), columns=pd.MultiIndex.from_tuples([], names=names))
    else:
        long["cell"] = [_fmt(m, s) + ("" if src == "paper" else f" [{n}]")
                        for m, s, n, src in zip(long["mean"], long["std"], long["n"], long["source"])]
        table = long.pivot_table(index="method", columns=names, values="cell", aggfunc="first", fill_value="")
        columns = sorted(table.columns, key=lambda c: (c[0], c[1], c[2] == "paper", c[2]))
        methods = [m for m in METHODS if m in table.index]
        table = table.reindex(index=methods, columns=pd.MultiIndex.from_tuples(columns, names=names))
        table.index = pd.Index([METHOD_LABELS[m] for m in methods], name="method")
    table.attrs["numeric"] = long.drop(columns="cell", errors="ignore")
    return table


def check_records(records) -> list[dict]:
    """``records`` as a non-empty list of classification run records, or an error naming the bad one.

    Parameters
    ----------
    records : sequence of dict
        Run records (:func:`watlib.train.run`): each with ``config.method`` one of the methods
        of Table 2 and a non-empty, finite ``history.test_acc``.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> check_records([{"config": {"method": "cce"}, "history": {"test_acc": [50.0]}}])[0]["config"]
    {'method': 'cce'}
    >>> check_records([{"config": {"method": "cce"}, "history": {}}])
    Traceback (most recent call last):
    ...
    ValueError: records[0] must be a run record with config.method and history.test_acc, missing 'test_acc'
    """
    if isinstance(records, dict) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of run records (dicts), got {type(records).__name__}")
    if len(records) == 0:
        raise ValueError("records must hold at least one run record, got none")
    for i, r in enumerate(records):
        try:
            method, acc = r["config"]["method"], r["history"]["test_acc"]
        except (KeyError, TypeError) as err:
            raise ValueError(f"records[{i}] must be a run record with config.method and history.test_acc, "
                             f"missing {err}") from err
        if method not in METHOD_LABELS:
            raise ValueError(f"records[{i}] has method {method!r}, not one of {tuple(METHOD_LABELS)}")
        if len(acc) == 0 or not np.isfinite(np.asarray(acc, dtype=float)).all():
            raise ValueError(f"records[{i}] must hold at least one finite test accuracy, got {acc!r}")
    return list(records)


def run_summary(records) -> pd.DataFrame:
    r"""One row per run record: what produced it, how long it took, how its accuracy evolved.

    The columns come from the record (:func:`watlib.train.run`), with the paper's metric and
    the memorisation drop

    .. math::
        \mathrm{drop} = a^\star - \bar a_{\mathrm{last}}, \qquad
        a^\star = \max_e a_e, \qquad \bar a_{\mathrm{last}} = \frac{1}{10}\sum_{e=E-9}^{E} a_e,

    and the time per epoch :math:`t / E` (:math:`t` the wall time of the run, excluding
    earlier interrupted attempts' lost work, as recorded).

    Parameters
    ----------
    records : sequence of dict
        Complete run records.

    Returns
    -------
    pandas.DataFrame, shape (len(records), 15)
        Columns ``method`` (the label of Table 2), ``seed``, ``preset``, ``device``,
        ``epochs``, ``width``, ``train_size``, ``n_train`` (images trained on),
        ``wall_time_min``, ``s_per_epoch``, ``peak``, ``peak_epoch``, ``final``,
        ``last10_mean`` and ``drop`` (accuracies in %), rows in the order of ``records``.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2: the mean over the last 10 epochs).

    Examples
    --------
    >>> rec = {"config": {"method": "cce", "seed": 0, "preset": "cpu", "epochs": 3, "width": 0.25,
    ...                   "train_size": 4000}, "history": {"test_acc": [70.0, 80.0, 75.0]},
    ...        "device": "cpu: x86_64, 2 threads", "wall_time_s": 90.0, "n_train": 4000}
    >>> run_summary([rec])[["method", "wall_time_min", "s_per_epoch", "peak", "last10_mean", "drop"]]
      method  wall_time_min  s_per_epoch  peak  last10_mean  drop
    0    CCE            1.5         30.0  80.0         75.0   5.0
    """
    records = check_records(records)
    rows = []
    for i, r in enumerate(records):
        c = r["config"]
        missing = [k for k in ("seed", "preset", "epochs", "width", "train_size") if k not in c]
        missing += [k for k in ("device", "wall_time_s", "n_train") if k not in r]
        if missing:
            raise ValueError(f"records[{i}] must be a complete run record, missing {missing}")
        acc = np.asarray(r["history"]["test_acc"], dtype=float)
        last = float(acc[-10:].mean())
        rows.append({
            "method": METHOD_LABELS[c["method"]], "seed": c["seed"], "preset": c["preset"], "device": r["device"],
            "epochs": len(acc), "width": c["width"], "train_size": c["train_size"], "n_train": r["n_train"],
            "wall_time_min": r["wall_time_s"] / 60, "s_per_epoch": r["wall_time_s"] / len(acc),
            "peak": float(acc.max()), "peak_epoch": int(acc.argmax()) + 1, "final": float(acc[-1]),
            "last10_mean": last, "drop": float(acc.max()) - last,
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ seeds and pairs
#: How a WAT run's ground cost is named in the tables of the cost study (``TrainConfig.cost``):
#: the labels of :data:`watlib.costs.GROUND_COSTS` (live).
COST_LABELS = GROUND_COSTS.attribute("label")


def table2_records(records) -> list[dict]:
    """The records of Table 2's runs: those whose WAT methods keep their own cost (``cost`` and
    ``cost_scale`` None) and solve their OT problems to a tolerance, leaving out the runs of
    the ground-cost study and those of a fixed number of solver iterations (the released
    code's, labelled apart by :func:`run_label`; compare them with :func:`seed_table`).

    Parameters
    ----------
    records : sequence of dict

    Returns
    -------
    list of dict

    Examples
    --------
    >>> recs = [{"config": {"method": "watc"}}, {"config": {"method": "wat01", "cost": "oracle", "cost_scale": 2.0}},
    ...         {"config": {"method": "watc", "ot_solver": "sinkhorn", "max_iter": 20, "tol": 0, "grad": "unrolled"}}]
    >>> [r["config"]["method"] for r in table2_records(recs)]
    ['watc']
    """
    return [r for r in records if r["config"].get("cost") is None and r["config"].get("cost_scale") is None
            and not _solver_label(r["config"])]


def run_label(config: dict) -> str:
    """The name of a run in a table: Table 2's label of its method, or for a WAT run given
    another cost or scale (:class:`watlib.train.TrainConfig`'s ``cost`` and ``cost_scale``),
    ``WAT (cost, size)``. A WAT run whose OT solver stops after a fixed number of iterations
    (``tol=0``) says so, e.g. ``WAT_C (released solver)``
    (:func:`watlib.ot_settings.ot_preset_name`): its loss is not the converged one.

    Parameters
    ----------
    config : dict
        A record's ``config``.

    Returns
    -------
    str

    Examples
    --------
    >>> run_label({"method": "watc"})
    'WAT_C'
    >>> run_label({"method": "wat01", "cost": "word_distance", "cost_scale": "match_watc"})
    "WAT (word distance, WAT_C's mean)"
    >>> run_label({"method": "watc", "cost": None, "cost_scale": 2.0})
    'WAT (word vectors, x2)'
    >>> run_label({"method": "wat01", "ot_solver": "sinkhorn", "max_iter": 20, "tol": 0, "grad": "unrolled"})
    'WAT_0-1 (released solver)'
    """
    method, cost, scale = config["method"], config.get("cost"), config.get("cost_scale")
    solver = _solver_label(config)
    if cost is None and scale is None:
        return METHOD_LABELS[method] + (f" ({solver})" if solver else "")
    if cost is None:
        cost = method_class(method).default_cost
    size = "" if scale is None else (", WAT_C's mean" if scale == "match_watc" else f", x{scale:g}")
    return f"WAT ({COST_LABELS[cost]}{size}{', ' + solver if solver else ''})"


def _solver_label(config: dict) -> str:
    """'' for a run without OT or with a converged solve, else a few words naming its solver.

    A label names the regularizer, not the solver: solves run to a tolerance (training's
    Newton to 1e-6, the first study's Sinkhorn to 1e-4) approximate one loss, while a fixed
    number of iterations with no tolerance (the released code's 20) is a loss of its own.
    """
    name = ot_preset_name(config)
    if name is None or config.get("tol"):
        return ""
    if name == "released":
        return "released solver"
    return f"{config.get('ot_solver')}, {config.get('max_iter')} iterations"


def seed_table(records, metric: str = "last10_mean") -> pd.DataFrame:
    r"""One row per run (:func:`run_label`), one column per seed: what each seed gave.

    Each cell is one run's ``metric`` (a column of :func:`run_summary`; by default its test
    accuracy averaged over its last 10 epochs, the paper's number); the last columns are the
    mean over seeds, the standard deviation over seeds (``ddof=1``: the spread a rerun with
    a new seed would show, which the last-10-epoch spread of one run does not) and the
    number of seeds.

    Parameters
    ----------
    records : sequence of dict
        Complete run records, at most one per run label and seed.
    metric : str
        A numeric column of :func:`run_summary`.

    Returns
    -------
    pandas.DataFrame
        Index: run labels in the order they first appear; columns: the seeds, then
        ``mean``, ``std`` and ``n``.

    Examples
    --------
    >>> recs = [{"config": {"method": m, "seed": s, "preset": "cpu", "epochs": 2, "width": 0.25,
    ...                     "train_size": 4000}, "history": {"test_acc": [50.0, acc]},
    ...          "device": "cpu", "wall_time_s": 60.0, "n_train": 4000}
    ...         for m, s, acc in [("cce", 0, 70.0), ("cce", 1, 72.0), ("watc", 0, 80.0), ("watc", 1, 83.0)]]
    >>> seed_table(recs, metric="final")
               0     1  mean       std  n
    CCE     70.0  72.0  71.0  1.414214  2
    WAT_C   80.0  83.0  81.5  2.121320  2
    """
    records = check_records(records)
    summary = run_summary(records)
    if metric not in summary.columns or not pd.api.types.is_numeric_dtype(summary[metric]):
        raise ValueError(f"metric must be a numeric column of run_summary, got {metric!r}")
    summary.insert(0, "run", [run_label(r["config"]) for r in records])
    duplicated = summary.duplicated(["run", "seed"])
    if duplicated.any():
        first = summary[duplicated].iloc[0]
        raise ValueError(f"records must hold one run per label and seed, got two of {first['run']!r} seed {first['seed']}")
    table = summary.pivot(index="run", columns="seed", values=metric)
    table = table.loc[list(dict.fromkeys(summary["run"]))]
    table.columns = list(table.columns)
    table.index.name = None
    values = table.to_numpy(dtype=float)
    table["mean"] = np.nanmean(values, axis=1)
    table["std"] = pd.DataFrame(values).std(axis=1, ddof=1).to_numpy()
    table["n"] = np.isfinite(values).sum(axis=1)
    return table


def solver_diagnostics(records) -> pd.DataFrame:
    r"""How well the regularizer's OT problems were solved, per run label: the worst epoch of its runs.

    A WAT run's history holds, per epoch with :math:`\beta > 0`, the largest column-marginal
    violation :math:`\max_{b} \lVert P_b^\top \mathbf{1} - q_b \rVert_\infty` its Sinkhorn
    solves left (``ot_violation_max``) and the most and mean iterations they took
    (``ot_iterations_max``, ``ot_iterations_mean``; the VAT and WAT methods of
    :func:`watlib.methods.make_method`).
    Over all the runs of a label (:func:`run_label`, seeds pooled) this gives the largest
    violation of any epoch, the most iterations of any epoch, the mean of the per-epoch mean
    iterations, and the number of (run, epoch) pairs measured. Runs without diagnostics
    (methods other than WAT, or epochs of the warm-up) are left out.

    Parameters
    ----------
    records : sequence of dict
        Complete run records of any methods; those of WAT (and VAT, whose regularizer
        solves no OT problem, has none) are the ones read.

    Returns
    -------
    pandas.DataFrame
        Index: the run labels that have diagnostics, in the order they first appear;
        columns ``worst_violation``, ``most_iterations``, ``mean_iterations``, ``epochs`` and
        ``runs``. Empty (with these columns) when no record has diagnostics.

    References
    ----------
    .. [1] Cuturi, M. (2013). Sinkhorn Distances: Lightspeed Computation of Optimal
       Transport. NeurIPS (the iterations whose convergence is measured).

    Examples
    --------
    >>> hist = {"test_acc": [70.0, 71.0], "ot_violation_max": [None, 8e-5],
    ...         "ot_iterations_max": [None, 900], "ot_iterations_mean": [None, 400.0]}
    >>> rec = {"config": {"method": "watc", "seed": 0}, "history": hist}
    >>> solver_diagnostics([rec, {"config": {"method": "cce", "seed": 0}, "history": {"test_acc": [70.0]}}])
           worst_violation  most_iterations  mean_iterations  epochs  runs
    WAT_C          0.00008              900            400.0       1     1
    """
    records = check_records(records)
    rows: dict[str, dict] = {}
    for r in records:
        h = r["history"]
        worst = [v for v in h.get("ot_violation_max") or [] if v is not None]
        if not worst:
            continue
        most = [v for v in h.get("ot_iterations_max") or [] if v is not None]
        mean = [v for v in h.get("ot_iterations_mean") or [] if v is not None]
        row = rows.setdefault(run_label(r["config"]), dict(worst=[], most=[], mean=[], runs=0))
        row["worst"] += worst
        row["most"] += most
        row["mean"] += mean
        row["runs"] += 1
    columns = ["worst_violation", "most_iterations", "mean_iterations", "epochs", "runs"]
    return pd.DataFrame.from_dict(
        {label: [max(v["worst"]), max(v["most"], default=np.nan), float(np.mean(v["mean"])) if v["mean"] else np.nan,
                 len(v["worst"]), v["runs"]] for label, v in rows.items()},
        orient="index", columns=columns)


# ------------------------------------------------------------------------------ Table 3
#: Column titles of Table 3 (the training labels in brackets, as in its second header row).
SEGMENTATION_LABELS = {"cce_clean": "CCE (clean)", "cce": "CCE (noisy)", "bootsoft": "Bootsoft", "wat": "WAT"}

#: Table 3 of the paper as a DataFrame: index its rows (:data:`watlib.paper.TABLE3_ROWS`: the
#: five classes it reports, clutter is not, then the average F1 and the overall accuracy),
#: columns the methods of :data:`watlib.train_segmentation.SEGMENTATION_METHODS`
#: (:data:`watlib.paper.TABLE3_METHODS`), values in %.
PAPER_TABLE3 = pd.DataFrame(
    [[TABLE3[row][method] for method in TABLE3_METHODS] for row in TABLE3_ROWS],
    index=list(TABLE3_ROWS), columns=list(TABLE3_METHODS),
)


def _segmentation_values(record: dict) -> dict:
    test = record["test"]
    values = {name: test["f1"].get(name) for name in TABLE3_ROWS[:5]}
    values["average F1"] = test["average_f1"]
    values["overall accuracy"] = test["overall_accuracy"]
    return values


def segmentation_table(records: Iterable[dict], paper: bool = True) -> pd.DataFrame:
    r"""Table 3 from segmentation run records, one block of rows per score: ours beside the paper's.

    The scores are the F1 score of the five classes Table 3 reports, the average F1 over them
    and the overall accuracy, all in % on the clean test ground truth. The paper prints them
    as rows with one column per method; here each score is a block of rows, one per method
    (in Table 3's order), and the columns are the sources, ours ("ours (<preset>, <data>)",
    data "synthetic" or "isprs") before the paper's, so that the table stays two or three
    columns wide and our number stands next to the paper's. Our cells are "mean ± std [n]"
    over the n seeds ("value [1]" for a single seed, which has no spread, "n/a" where the
    score is undefined in every run; the standard deviation has ``ddof=1``); the paper's are
    its printed means of 2 runs. Two records of one method and source with the same seed are
    two configurations (two Sinkhorn budgets, say), not two seeds: a ``ValueError`` says so.

    Parameters
    ----------
    records : iterable of dict
        Complete records of :func:`watlib.train_segmentation.run_segmentation`.
    paper : bool
        Add the column of :data:`PAPER_TABLE3` (for the methods of ``records``; all four
        when there are none).

    Returns
    -------
    pandas.DataFrame
        Index a MultiIndex (score, method): scores in the order of
        :data:`watlib.paper.TABLE3_ROWS`, methods labelled as in :data:`SEGMENTATION_LABELS`;
        columns the sources; cells as strings. The numbers are in ``df.attrs["numeric"]``
        (long format: row, method, source, mean, std, n).

    Examples
    --------
    >>> rec = {"config": {"method": "wat", "preset": "cpu", "data": "synthetic"},
    ...        "test": {"f1": {"building": 90.0, "car": 50.0, "impervious surfaces": 80.0,
    ...                        "low vegetation": 70.0, "tree": 85.0},
    ...                 "average_f1": 75.0, "overall_accuracy": 82.0}}
    >>> table = segmentation_table([rec])
    >>> list(table.columns), table.shape
    (['ours (cpu, synthetic)', 'paper'], (7, 2))
    >>> table.loc[("car", "WAT")].tolist()
    ['50.00 [1]', '25.78']
    """
    groups: dict = {}
    for r in records:
        c = r["config"]
        groups.setdefault((c["method"], f"ours ({c.get('preset', '?')}, {c.get('data', '?')})"), []).append(r)
    rows = []
    for (method, source), recs in groups.items():
        _one_run_per_seed(f"{SEGMENTATION_LABELS[method]} ({source})", recs)
        values = [_segmentation_values(r) for r in recs]
        for row in TABLE3_ROWS:
            xs = np.array([v[row] for v in values if v[row] is not None], dtype=float)
            rows.append({"row": row, "method": method, "source": source, "n": len(xs),
                         "mean": float(xs.mean()) if len(xs) else np.nan,
                         "std": float(xs.std(ddof=1)) if len(xs) > 1 else np.nan})
    if paper:
        for method in {m for m, _ in groups} or SEGMENTATION_LABELS:
            for row in TABLE3_ROWS:
                rows.append({"row": row, "method": method, "source": "paper", "n": 2,
                             "mean": float(PAPER_TABLE3.loc[row, method]), "std": np.nan})
    long = pd.DataFrame(rows, columns=["row", "method", "source", "mean", "std", "n"])
    cells = [f"{m:.2f}" if src == "paper" else "n/a" if n == 0 else f"{m:.2f} [1]" if n == 1 else f"{m:.2f} ± {s:.2f} [{n}]"
             for m, s, n, src in zip(long["mean"], long["std"], long["n"], long["source"])]
    long["cell"] = cells
    long["label"] = [SEGMENTATION_LABELS[m] for m in long["method"]]
    table = long.pivot_table(index=["row", "label"], columns="source", values="cell", aggfunc="first", fill_value="")
    labels = [SEGMENTATION_LABELS[m] for m in SEGMENTATION_LABELS if SEGMENTATION_LABELS[m] in set(long["label"])]
    index = pd.MultiIndex.from_tuples([(row, label) for row in TABLE3_ROWS for label in labels], names=["score", "method"])
    columns = sorted(table.columns, key=lambda s: (s == "paper", s))
    table = table.reindex(index=index, columns=pd.Index(columns, name="source"))
    table.attrs["numeric"] = long.drop(columns=["cell", "label"])
    return table


def results_report(results_dir=None, dataset: str | None = None, pooled: bool = True) -> str:
    """The tables of a results folder as text: what ``python -m watlib table`` prints.

    For ``dataset="vaihingen"``, one Table 3 (:func:`segmentation_table`) per configuration,
    the largest first, the others headed by what sets them apart. Otherwise Table 2
    (:func:`results_table` of :func:`table2_records`) for ``dataset`` or every data set of
    Table 2, then, per (data set, noise, preset), the runs Table 2 leaves out (a ground-cost
    study, a fixed-iteration solver) seed by seed (:func:`seed_table`), beside that
    setting's CCE, WAT_0-1 and WAT_C runs.

    Parameters
    ----------
    results_dir : path, optional
        See :func:`load_records`.
    dataset : str, optional
        A data set of Table 2 or ``"vaihingen"``; None: every data set of Table 2.
    pooled : bool
        How Table 2's spread is computed (:func:`results_table`).

    Returns
    -------
    str

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(results_report(tmp, dataset="vaihingen").splitlines()[0].split()[:2])
    ['source', 'paper']
    """
    if dataset == "vaihingen":
        groups = split_by_configuration(load_records(results_dir, dataset="vaihingen")) or [({}, [])]
        parts = []
        for i, (differs, runs) in enumerate(groups):
            head = "\nother runs: " + ", ".join(f"{k}={v!r}" for k, v in differs.items()) + "\n" if i else ""
            parts.append(head + segmentation_table(runs).to_string())
        return "\n".join(parts)
    datasets = [dataset] if dataset else list(dict.fromkeys(PAPER_TABLE2["dataset"]))
    records = [r for d in datasets for r in load_records(results_dir, dataset=d)]
    table2 = table2_records(records)
    parts = [results_table(table2, pooled=pooled).to_string()]
    kept = {id(r) for r in table2}
    apart: dict[tuple, list[dict]] = {}
    for r in records:
        if id(r) not in kept:
            c = r["config"]
            apart.setdefault((c["dataset"], c["noise"], c["preset"]), []).append(r)
    order = [run_label({"method": m}) for m in ("cce", "wat01", "watc")]
    for (name, noise, preset), runs in sorted(apart.items()):
        same = [r for r in table2 if (r["config"]["dataset"], r["config"]["noise"], r["config"]["preset"])
                == (name, noise, preset) and r["config"]["method"] in ("cce", "wat01", "watc")]
        table = seed_table(same + runs)
        table = table.loc[[x for x in order if x in table.index] + [x for x in table.index if x not in order]]
        parts.append(f"\nruns beside Table 2: {name}, noise {noise}, preset {preset} "
                     f"(test accuracy, mean of the last 10 epochs, per seed)\n{table.round(2).to_string()}")
    return "\n".join(parts)
