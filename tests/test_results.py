"""The paper's Tables 2 and 3 as built from watlib.paper, load_records, results_table,
run_summary and segmentation_table on synthetic records."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from watlib import paper
from watlib.comparisons import paired_differences
from watlib.records import CorruptFileError
from watlib.methods import METHODS
from watlib.results import (
    METHOD_LABELS,
    PAPER_TABLE2,
    PAPER_TABLE3,
    SEGMENTATION_LABELS,
    load_records,
    results_table,
    run_label,
    run_summary,
    seed_table,
    segmentation_table,
    solver_diagnostics,
    table2_records,
)
from _fake_records import run_record, sweep

# The two "Avg., rank" rows printed under Table 2 of the paper.
PRINTED_RANK = [7.0, 6.3, 5.6, 3.7, 7.3, 6.7, 6.3, 3.2, 6.3, 2.4]
PRINTED_RANK_NOISE_ONLY = [7.8, 7.5, 6.2, 5.0, 8.8, 5.0, 6.5, 1.8, 5.2, 1.2]


def _ranks(table):
    wide = table.pivot_table(index=["dataset", "noise"], columns="method", values="mean")
    return wide.rank(axis=1, ascending=False, method="average")[list(METHODS)]


def test_paper_table_has_every_cell():
    assert len(PAPER_TABLE2) == 3 * 3 * len(METHODS)
    assert set(PAPER_TABLE2["method"]) == set(METHODS)
    assert PAPER_TABLE2["mean"].between(40, 96).all() and PAPER_TABLE2["std"].between(0, 1).all()


def test_transcription_reproduces_the_papers_average_ranks():
    """The ranks recomputed from our transcription agree with the two rank rows the paper
    prints (to the paper's rounding: it mixes rounding and truncation)."""
    ranks = _ranks(PAPER_TABLE2)
    np.testing.assert_allclose(ranks.mean().to_numpy(), PRINTED_RANK, atol=0.1 + 1e-9)
    noisy = ranks[ranks.index.get_level_values("noise") > 0]
    np.testing.assert_allclose(noisy.mean().round(1).to_numpy(), PRINTED_RANK_NOISE_ONLY)


def _record(method, seed, accs, dataset="fashion_mnist", noise=0.4):
    return {"config": {"dataset": dataset, "noise": noise, "method": method, "seed": seed, "preset": "cpu"},
            "history": {"test_acc": list(accs)}, "complete": True}


def test_results_table_averages_the_last_ten_epochs_over_seeds():
    recs = [_record("cce", 0, [50.0] * 5 + [70.0] * 10), _record("cce", 1, [60.0] * 20),
            _record("watc", 0, np.linspace(70, 80, 12))]
    table = results_table(recs)
    num = table.attrs["numeric"].set_index(["method", "source"])
    assert num.loc[("cce", "ours (cpu)"), "mean"] == pytest.approx(65.0)
    assert num.loc[("cce", "ours (cpu)"), "std"] == pytest.approx(5.0)  # pooled 70s and 60s
    assert num.loc[("cce", "ours (cpu)"), "n"] == 2
    assert num.loc[("watc", "ours (cpu)"), "mean"] == pytest.approx(np.linspace(70, 80, 12)[-10:].mean())
    ours, theirs = ("fashion_mnist", 0.4, "ours (cpu)"), ("fashion_mnist", 0.4, "paper")
    assert table.loc[METHOD_LABELS["watc"], theirs] == "90.41 ± 0.02"
    assert table.loc["CCE", ours] == "65.00 ± 5.00 [2]"
    assert table.loc["WAT_C", ours].startswith("75.")
    assert table.loc["VAT", ours] == "" and table.loc["VAT", theirs] == "89.74 ± 0.10"  # no run of ours
    unpooled = results_table(recs, paper=False, pooled=False)
    numeric = unpooled.attrs["numeric"].set_index("method")
    assert numeric.loc["cce", "std"] == pytest.approx(np.std([70.0, 60.0], ddof=1))  # over seeds, as seed_table
    assert np.isnan(numeric.loc["watc", "std"])  # one seed: no spread
    assert unpooled.loc["CCE", ours] == "65.00 ± 7.07 [2]" and unpooled.loc["WAT_C", ours].endswith(" [1]")
    assert "±" not in unpooled.loc["WAT_C", ours]
    without = results_table(recs, paper=False)
    assert list(without.columns) == [ours] and list(without.index) == ["CCE", "WAT_C"]


def test_results_table_has_the_methods_as_rows_in_table_2s_order_and_ours_before_the_papers():
    """One row per method, so that one setting is two columns wide (the page's column holds
    it); several settings are side by side, each with ours first."""
    recs = [_record(m, 0, [60.0 + i] * 10) for i, m in enumerate(reversed(METHODS))]
    recs += [_record("watc", 0, [50.0] * 10, dataset="cifar10", noise=0.2)]
    table = results_table(recs)
    assert list(table.index) == [METHOD_LABELS[m] for m in paper.TABLE2_METHODS]
    assert table.index.name == "method" and table.columns.names == ["dataset", "noise", "source"]
    assert list(table.columns) == [("cifar10", 0.2, "ours (cpu)"), ("cifar10", 0.2, "paper"),
                                   ("fashion_mnist", 0.4, "ours (cpu)"), ("fashion_mnist", 0.4, "paper")]
    assert table.loc["CCE", ("cifar10", 0.2, "ours (cpu)")] == ""
    assert table.loc["CCE", ("cifar10", 0.2, "paper")] == "{:.2f} ± {:.2f}".format(*paper.TABLE2["cifar10"][0.2]["cce"])
    # every cell of the long numeric table is in the wide one, and nothing else
    num = table.attrs["numeric"]
    assert len(num) == (table != "").to_numpy().sum() == 11 + 2 * len(METHODS)


def test_results_table_refuses_to_average_two_configurations_of_one_seed():
    """A WAT run with another Sinkhorn budget at the same seed is not a second seed."""
    converged, budget = _record("watc", 0, [80.0] * 10), _record("watc", 0, [82.0] * 10)
    budget["config"].update(max_iter=100, grad="unrolled")
    with pytest.raises(ValueError, match=r"WAT_C \(fashion_mnist, noise 0.4, preset cpu\) hold two runs with "
                                         r"seed 0.*grad=None/'unrolled', max_iter=None/100"):
        results_table([converged, budget])
    assert results_table([converged, _record("watc", 1, [82.0] * 10)], paper=False).attrs["numeric"]["n"].tolist() == [2]


def test_results_table_refuses_to_pool_two_solver_settings_over_seeds():
    """A Newton run of seed 3 beside the study's Sinkhorn runs of seeds 0-2 is not a fourth seed."""
    study = [_record("watc", s, [80.0] * 10) for s in range(3)]
    for r in study:
        r["config"].update(ot_solver="sinkhorn", max_iter=50_000, tol=1e-4)
    newton = _record("watc", 3, [81.0] * 10)
    newton["config"].update(ot_solver="newton", max_iter=100, tol=1e-6)
    with pytest.raises(ValueError, match=r"WAT_C .* hold runs of two configurations \(max_iter=50000/100, "
                                         r"ot_solver='sinkhorn'/'newton', tol=0.0001/1e-06\)"):
        results_table(study + [newton])
    assert results_table(study, paper=False).attrs["numeric"]["n"].tolist() == [3]


def test_results_table_of_nothing_is_empty():
    table = results_table([])
    assert table.empty and isinstance(table, pd.DataFrame)


def test_paper_table2_is_built_from_watlib_paper_cell_by_cell():
    assert list(PAPER_TABLE2.columns) == ["dataset", "noise", "method", "mean", "std"]
    assert list(PAPER_TABLE2["dataset"].unique()) == ["fashion_mnist", "cifar10", "cifar100"]
    for row in PAPER_TABLE2.itertuples():
        assert (row.mean, row.std) == paper.TABLE2[row.dataset][row.noise][row.method]
    # one row per cell, methods in Table 2's column order within each (dataset, noise)
    assert len(PAPER_TABLE2) == sum(len(cells) for by_noise in paper.TABLE2.values() for cells in by_noise.values())
    assert list(PAPER_TABLE2["method"][: len(METHODS)]) == list(paper.TABLE2_METHODS) == list(METHOD_LABELS)


# ------------------------------------------------------------------------------ load_records
def _write(folder, name, record):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(record))


def test_load_records_reads_every_dataset_folder_in_path_order(tmp_path):
    run = run_record("cce", 0, [50.0])  # the fields tables read (TABLE2_FIELDS)
    _write(tmp_path / "cifar10", "b.json", {**run, "key": "b", "complete": True})
    _write(tmp_path / "cifar10", "a.json", {**run, "key": "a", "complete": True})
    _write(tmp_path / "fashion_mnist", "c.json", {**run, "key": "c", "complete": False})
    assert [r["key"] for r in load_records(tmp_path)] == ["a", "b"]
    assert [r["key"] for r in load_records(str(tmp_path), complete_only=False)] == ["a", "b", "c"]
    assert [r["key"] for r in load_records(tmp_path, dataset="fashion_mnist", complete_only=False)] == ["c"]


def test_load_records_rejects_a_data_set_it_does_not_know_instead_of_returning_nothing(tmp_path):
    # issue 24: load_records(dir, dataset="bogus") returned [] without a word
    (tmp_path / "fashion_mnist").mkdir()
    with pytest.raises(ValueError, match=r"dataset must be one of \('fashion_mnist', .*'vaihingen'\), got 'bogus'"):
        load_records(tmp_path, dataset="bogus")
    assert load_records(tmp_path, dataset="cifar100") == []  # a known one without records yet


def test_load_records_of_an_existing_empty_folder_is_empty(tmp_path):
    assert load_records(tmp_path) == []
    assert load_records(tmp_path, dataset="cifar100") == []  # no folder for this dataset yet


def test_load_records_names_a_missing_results_folder(tmp_path):
    missing = tmp_path / "nonexistent"
    message = f"results_dir '{missing}' does not exist (no run records there)"
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        load_records(missing)
    with pytest.raises(FileNotFoundError, match=re.escape(f"results_dir '{missing}' does not exist")):
        load_records(missing, dataset="cifar10")
    (tmp_path / "file").write_text("")
    with pytest.raises(FileNotFoundError, match=re.escape(f"results_dir '{tmp_path / 'file'}' is not a folder")):
        load_records(tmp_path / "file")


def test_load_records_default_folder_must_exist_too(tmp_path, monkeypatch):
    monkeypatch.setenv("WATLIB_RESULTS", str(tmp_path / "gone"))
    message = f"the default results folder (watlib.records.find_results_dir) '{tmp_path / 'gone'}' does not exist"
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        load_records()


@pytest.mark.parametrize("content", [b'{"key": "a", "complete": tr', b"", b"\xff\xfe{"])
def test_load_records_names_a_truncated_record_and_how_to_fix_it(tmp_path, content):
    _write(tmp_path / "cifar10", "a.json", {**run_record("cce", 0, [50.0]), "key": "a", "complete": True})
    bad = tmp_path / "cifar10" / "b.json"
    bad.write_bytes(content)
    with pytest.raises(CorruptFileError, match=re.escape(f"{bad} is not a readable run record")) as info:
        load_records(tmp_path)
    assert "delete it" in str(info.value) and "--force" in str(info.value)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"results_dir": 3}, TypeError, "results_dir must be a str or os.PathLike, got 3 of type int"),
    ({"complete_only": "yes"}, TypeError, "complete_only must be a bool, got 'yes' of type str"),
])
def test_load_records_rejects_bad_arguments(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_records(**{"results_dir": tmp_path, **kwargs})


# ------------------------------------------------------------------------------ Table 3
def test_paper_table3_transcription_is_consistent_with_its_own_average():
    # Table 3's average F1 is the mean of its five class rows (clutter is not reported):
    # a typo in any cell would break this to within the printed rounding.
    classes = PAPER_TABLE3.iloc[:5]
    np.testing.assert_allclose(classes.mean(), PAPER_TABLE3.loc["average F1"], atol=0.006)
    assert list(PAPER_TABLE3.columns) == ["cce_clean", "cce", "bootsoft", "wat"]


def test_paper_table3_is_built_from_watlib_paper_cell_by_cell():
    assert list(PAPER_TABLE3.index) == list(paper.TABLE3_ROWS)
    assert list(PAPER_TABLE3.columns) == list(paper.TABLE3_METHODS) == list(SEGMENTATION_LABELS)
    for row in paper.TABLE3_ROWS:
        for method in paper.TABLE3_METHODS:
            assert PAPER_TABLE3.loc[row, method] == paper.TABLE3[row][method]


def _seg_record(method, seed, f1, oa):
    names = ["building", "car", "impervious surfaces", "low vegetation", "tree"]
    return {"config": {"method": method, "seed": seed, "preset": "cpu", "data": "synthetic"},
            "test": {"f1": dict(zip(names, f1)), "average_f1": float(np.mean(f1)), "overall_accuracy": oa}}


def test_segmentation_table_averages_seeds_and_puts_the_paper_beside_ours():
    recs = [_seg_record("wat", 0, [90, 40, 80, 70, 80], 80.0), _seg_record("wat", 1, [92, 60, 82, 72, 84], 84.0),
            _seg_record("cce", 0, [80, 10, 60, 30, 70], 60.0)]
    table = segmentation_table(recs)
    ours = "ours (cpu, synthetic)"
    assert table.loc[("car", "WAT"), ours] == "50.00 ± 14.14 [2]"  # the spread over seeds, ddof=1
    assert table.loc[("overall accuracy", "WAT"), ours] == "82.00 ± 2.83 [2]"
    assert table.loc[("average F1", "WAT"), "paper"] == "69.66"
    # two columns, ours before the paper's, so the table fits a page's column; a block of
    # rows per score in Table 3's order, the methods we ran in Table 3's order within it
    assert list(table.columns) == [ours, "paper"]
    assert table.index.names == ["score", "method"]
    assert list(table.index) == [(row, m) for row in paper.TABLE3_ROWS for m in ("CCE (noisy)", "WAT")]
    num = table.attrs["numeric"]
    assert set(num["source"]) == {ours, "paper"}
    assert len(num) == table.size == 2 * 2 * len(paper.TABLE3_ROWS)


def test_segmentation_table_refuses_to_average_two_configurations_of_one_seed():
    converged, budget = _seg_record("wat", 0, [90, 0, 80, 70, 80], 80.0), _seg_record("wat", 0, [90, 4, 80, 70, 80], 82.0)
    budget["config"]["max_iter"] = 100
    with pytest.raises(ValueError, match=r"WAT \(ours \(cpu, synthetic\)\) hold two runs with seed 0.*max_iter=None/100"):
        segmentation_table([converged, budget])
    assert segmentation_table([budget]).loc[("car", "WAT"), "ours (cpu, synthetic)"] == "4.00 [1]"


def test_segmentation_table_marks_an_undefined_f1_instead_of_inventing_one():
    rec = _seg_record("cce", 0, [80, 10, 60, 30, 70], 60.0)
    rec["test"]["f1"]["car"] = None  # no car in the truth and none predicted
    table = segmentation_table([rec], paper=False)
    assert table.loc[("car", "CCE (noisy)"), "ours (cpu, synthetic)"] == "n/a"
    assert list(table.columns) == ["ours (cpu, synthetic)"]


# ------------------------------------------------------------------------------ run_summary
def test_run_summary_agrees_with_the_records_and_the_training_summary():
    records = sweep()
    table = run_summary(records)
    assert isinstance(table, pd.DataFrame) and len(table) == len(records)
    for row, r in zip(table.itertuples(), records):
        m = r["metric"]
        assert row.method == METHOD_LABELS[r["config"]["method"]] and row.seed == r["config"]["seed"]
        assert (row.peak, row.peak_epoch, row.final) == (m["peak"], m["peak_epoch"], m["final"])
        assert row.last10_mean == pytest.approx(m["last10_mean"], abs=1e-12)
        assert row.drop == pytest.approx(m["peak"] - m["last10_mean"], abs=1e-12)
        assert row.wall_time_min == r["wall_time_s"] / 60
        assert row.s_per_epoch == r["wall_time_s"] / len(r["history"]["test_acc"])
        assert (row.preset, row.device, row.n_train) == ("cpu", r["device"], 4000)


def test_run_summary_names_missing_fields():
    record = run_record("cce", 0, [1.0, 2.0])
    del record["wall_time_s"], record["config"]["width"]
    with pytest.raises(ValueError, match=r"records\[0\] must be a complete run record, missing \['width', 'wall_time_s'\]"):
        run_summary([record])


@pytest.mark.parametrize("records, exc, match", [
    ([], ValueError, "at least one run record"),
    ({"config": {}}, TypeError, "records must be a list"),
    ([run_record("sgd", 0, [1.0])], ValueError, r"records\[0\] has method 'sgd'"),
    ([{**run_record("cce", 0, [1.0]), "history": {"test_acc": [1.0, float("inf")]}}], ValueError,
     r"records\[0\] must hold at least one finite test accuracy"),
])
def test_run_summary_rejects_what_is_not_a_list_of_run_records(records, exc, match):
    with pytest.raises(exc, match=match):
        run_summary(records)


# ------------------------------------------------------------------------------ seeds and pairs
def _study_records():
    """WAT_0-1, WAT_C and two study costs over seeds 0-2: accuracies chosen so that each comparison's
    per-seed differences are known."""
    acc = {("wat01", None): [70.0, 71.0, 72.0], ("watc", None): [75.0, 74.0, 77.0],
           ("wat01", "zero_one"): [73.0, 73.0, 73.0], ("wat01", "word_distance"): [72.0, 74.0, 71.0]}
    records = []
    for (method, cost), values in acc.items():
        for seed, a in enumerate(values):
            rec = run_record(method, seed, [50.0] * 10 + [a] * 10)
            rec["config"].update(cost=cost, cost_scale=None if cost is None else "match_watc")
            records.append(rec)
    return records


def test_run_labels_name_the_cost_and_its_size():
    assert run_label({"method": "wat01"}) == "WAT_0-1"
    assert run_label({"method": "wat01", "cost": None, "cost_scale": None}) == "WAT_0-1"
    assert run_label({"method": "wat01", "cost": "features", "cost_scale": "match_watc"}) == \
        "WAT (features, WAT_C's mean)"
    assert run_label({"method": "wat01", "cost": None, "cost_scale": 0.5}) == "WAT (0-1, x0.5)"
    assert run_label({"method": "watc", "cost": "oracle", "cost_scale": None}) == "WAT (oracle)"


def test_run_labels_set_apart_a_fixed_number_of_iterations_not_a_converged_solver():
    from watlib.ot_settings import OT_PRESETS

    def config(preset, **kw):
        return {"method": "watc", **OT_PRESETS[preset].config_fields(), **kw}
    assert run_label(config("train")) == run_label(config("study")) == "WAT_C"  # both solve to a tolerance
    assert run_label(config("released")) == "WAT_C (released solver)"
    assert run_label(config("released", cost="zero_one", cost_scale="match_watc")) == \
        "WAT (0-1, WAT_C's mean, released solver)"
    assert run_label(config("released", max_iter=5)) == "WAT_C (sinkhorn, 5 iterations)"
    assert run_label({"method": "cce", "ot_solver": None, "max_iter": None, "tol": None, "grad": None}) == "CCE"


def test_the_seed_table_gives_each_seed_and_the_spread_over_seeds():
    table = seed_table(_study_records())
    assert list(table.index) == ["WAT_0-1", "WAT_C", "WAT (0-1, WAT_C's mean)", "WAT (word distance, WAT_C's mean)"]
    assert list(table.columns) == [0, 1, 2, "mean", "std", "n"]
    np.testing.assert_allclose(table.loc["WAT_C", [0, 1, 2]].astype(float), [75.0, 74.0, 77.0])
    assert table.loc["WAT_C", "mean"] == pytest.approx(226 / 3)
    assert table.loc["WAT_C", "std"] == pytest.approx(np.std([75, 74, 77], ddof=1))
    assert (table["n"] == 3).all()


def test_the_seed_table_refuses_two_runs_of_one_label_and_seed_and_an_unknown_metric():
    records = _study_records()
    with pytest.raises(ValueError, match="one run per label and seed, got two of 'WAT_C' seed 0"):
        seed_table(records + [records[3]])
    with pytest.raises(ValueError, match="metric must be a numeric column of run_summary, got 'method'"):
        seed_table(records, metric="method")


def test_paired_differences_are_taken_seed_by_seed():
    table = seed_table(_study_records())
    pairs = paired_differences(table, [("WAT_C", "WAT_0-1"), ("WAT (word distance, WAT_C's mean)",
                                                              "WAT (0-1, WAT_C's mean)")])
    first = pairs.loc["WAT_C - WAT_0-1"]
    np.testing.assert_allclose(first[[0, 1, 2]].astype(float), [5.0, 3.0, 5.0])
    assert first["mean"] == pytest.approx(13 / 3) and first["same_sign"] and first["n"] == 3
    second = pairs.iloc[1]
    np.testing.assert_allclose(second[[0, 1, 2]].astype(float), [-1.0, 1.0, -2.0])
    assert not second["same_sign"]  # the sign changes between seeds: not resolved
    with pytest.raises(ValueError, match=r"not rows of table: \['VAT'\]"):
        paired_differences(table, [("VAT", "WAT_C")])
    with pytest.raises(ValueError, match="pairs of row labels"):
        paired_differences(table, ["WAT_C"])


def test_table_2_refuses_the_runs_of_the_cost_study():
    records = _study_records()
    with pytest.raises(ValueError, match="cost='zero_one'.*not a run of Table 2.*table2_records"):
        results_table(records)
    kept = table2_records(records)
    assert len(kept) == 6 and {r["config"]["method"] for r in kept} == {"wat01", "watc"}
    assert results_table(kept).loc["WAT_C", ("fashion_mnist", 0.4, "ours (cpu)")].endswith("[3]")


def _with_diagnostics(record, violations, iterations_max, iterations_mean):
    warm = [None] * (len(record["history"]["test_acc"]) - len(violations))
    record["history"].update(ot_violation_max=warm + violations, ot_iterations_max=warm + iterations_max,
                             ot_iterations_mean=warm + iterations_mean)
    return record


def test_solver_diagnostics_take_the_worst_epoch_over_seeds_per_label():
    records = [
        _with_diagnostics(run_record("watc", 0, [70.0] * 4), [2e-5, 9e-5], [300, 800], [100.0, 200.0]),
        _with_diagnostics(run_record("watc", 1, [70.0] * 4), [5e-5, 1e-5], [1200, 400], [300.0, 400.0]),
        _with_diagnostics(run_record("wat01", 0, [70.0] * 4), [1e-4, 3e-4], [9000, 50000], [5000.0, 7000.0]),
        run_record("cce", 0, [70.0] * 4),  # no regularizer: no row
    ]
    records[2]["config"].update(cost="zero_one", cost_scale="match_watc")
    table = solver_diagnostics(records)
    assert list(table.index) == ["WAT_C", "WAT (0-1, WAT_C's mean)"]
    assert table.loc["WAT_C"].tolist() == pytest.approx([9e-5, 1200, 250.0, 4, 2])
    assert table.loc["WAT (0-1, WAT_C's mean)"].tolist() == pytest.approx([3e-4, 50000, 6000.0, 2, 1])


def test_solver_diagnostics_of_runs_without_any_is_an_empty_table():
    table = solver_diagnostics([run_record("cce", 0, [70.0])])
    assert table.empty and list(table.columns) == ["worst_violation", "most_iterations", "mean_iterations",
                                                   "epochs", "runs"]
    with pytest.raises(TypeError, match="records must be a list"):
        solver_diagnostics(run_record("cce", 0, [70.0]))


def _write_study(records, root):
    folder = root / "fashion_mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(records):
        (folder / f"record_{i}.json").write_text(json.dumps(r))


def test_cli_table_prints_table_2_over_seeds_then_the_cost_study_seed_by_seed(tmp_path, capsys):
    from watlib.__main__ import main

    records = [run_record(m, s, [70.0 + s + (m == "watc")] * 10) for m in ("cce", "wat01", "watc") for s in (0, 1)]
    study = [run_record("wat01", s, [72.0 - s] * 10) for s in (0, 1)]
    for r in study:
        r["config"].update(cost="word_distance", cost_scale="match_watc")
    _write_study(records + study, tmp_path)
    assert main(["table", "--dataset", "fashion_mnist", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    table2, study_table = out.split("runs beside Table 2: fashion_mnist, noise 0.4, preset cpu")
    assert "70.50 ± 0.71 [2]" in table2 and "71.50 ± 0.71 [2]" in table2  # std over seeds, ddof=1
    assert "word distance" not in table2
    rows = [line.split() for line in study_table.strip().splitlines()[2:]]
    assert [r[0] for r in rows] == ["CCE", "WAT_0-1", "WAT_C", "WAT"]
    assert rows[-1][-5:] == ["72.0", "71.0", "71.5", "0.71", "2"]
    assert main(["table", "--dataset", "fashion_mnist", "--spread", "pooled", "--results-dir", str(tmp_path)]) == 0
    assert "70.50 ± 0.50 [2]" in capsys.readouterr().out  # the pooled last-10 accuracies


def test_cli_table_shows_the_released_solver_arm_beside_table_2_not_in_it(tmp_path, capsys):
    from watlib.__main__ import main
    from watlib.ot_settings import RELEASED_OT, TRAIN_OT

    records = [run_record(m, s, [70.0 + s] * 10) for m in ("cce", "watc") for s in (0, 1)]
    released = [run_record("watc", s, [60.0 + s] * 10) for s in (0, 1)]
    for r in records[2:]:
        r["config"].update(TRAIN_OT.config_fields())
    for r in released:
        r["config"].update(RELEASED_OT.config_fields())
    _write_study(records + released, tmp_path)
    assert main(["table", "--dataset", "fashion_mnist", "--results-dir", str(tmp_path)]) == 0
    table2, beside = capsys.readouterr().out.split("runs beside Table 2: fashion_mnist, noise 0.4, preset cpu")
    assert "60.50" not in table2 and "70.50 ± 0.71 [2]" in table2  # one WAT_C cell: training's solver
    assert "WAT_C (released solver)" in beside and "60.5" in beside


def test_a_record_missing_a_field_is_named_not_a_key_error(tmp_path):
    with pytest.raises(CorruptFileError, match=r"^records\[0\] is not a watlib run record: it has no 'config.dataset' "
                                               r"\(its fields: \['foo'\]\)"):
        results_table([{"foo": 1}])
    good = run_record("cce", 0, [70.0] * 3)
    bad = json.loads(json.dumps(good))
    del bad["history"]["test_acc"]
    with pytest.raises(CorruptFileError, match=r"^records\[1\] .* it has no 'history.test_acc'"):
        results_table([good, bad])
    (tmp_path / "fashion_mnist").mkdir()
    path = tmp_path / "fashion_mnist" / "run.json"
    del bad["config"]["dataset"]
    path.write_text(json.dumps({**bad, "complete": True}))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))} is not a watlib run record: it has no "
                                         r"'config.dataset'"):
        load_records(tmp_path)
    (tmp_path / "vaihingen").mkdir()
    (tmp_path / "vaihingen" / "seg.json").write_text(json.dumps({"config": {"method": "wat"}, "complete": True}))
    with pytest.raises(ValueError, match="seg.json is not a watlib run record: it has no 'test.f1'"):
        load_records(tmp_path, dataset="vaihingen")
