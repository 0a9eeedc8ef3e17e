"""The run life cycle (watlib.engine): the epoch loop, corrupt files met by a run, early
failures, the per-run lock under real concurrency, and WAT's convergence diagnostics.

Runs use CIFAR-10 files generated in torchvision's real format (``write_fake_cifar``), so
they need no download.
"""

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch

import watlib.train as train_mod
from watlib.engine import run_epoch
from watlib.records import CorruptFileError, read_record
from watlib.ot import WARN_VIOLATION, ConvergenceWarning
from watlib.train import make_config, run

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ files met by a run
def test_a_truncated_record_or_checkpoint_names_the_file_and_the_way_out(tiny, tmp_path):
    config = tiny.config()
    rec = tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    path.write_text(json.dumps(rec)[:100])
    with pytest.raises(CorruptFileError, match=rf"{path.name}.*--force"):
        tiny.run(config, tmp_path)
    assert tiny.run(config, tmp_path, force=True)["complete"]  # --force retrains over it

    part = tiny.run(tiny.config("bootsoft"), tmp_path, stop_after=1)
    assert not part["complete"]
    ckpt = tmp_path / "checkpoints" / f"{tiny.config('bootsoft').name()}.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    with pytest.raises(CorruptFileError, match=rf"{ckpt.name}.*--force"):
        tiny.run(tiny.config("bootsoft"), tmp_path)


def test_run_epoch_weighs_batches_by_their_size():
    values = iter([{"loss": 1.0, "ce": 0.0}, {"loss": 4.0, "ce": 2.0}])
    out = run_epoch(lambda x, y: next(values), [(torch.zeros(3), None), (torch.zeros(1), None)])
    assert out == pytest.approx({"loss": 1.75, "ce": 0.5})


# ------------------------------------------------------------------------------ early failures
def test_bad_configurations_fail_when_built_before_any_data_loads(monkeypatch):
    def no_data(*a, **k):
        raise AssertionError("data were loaded for a bad configuration")

    monkeypatch.setattr(train_mod, "_prepare_data", no_data)
    for kw, match in [({"reg": 0}, "reg must be a finite number > 0, got 0"),
                      ({"eps": -1}, "eps must be a finite number >= 0, got -1"),
                      ({"xi": 0.0}, "xi must be a finite number > 0"),
                      ({"n_power": 0}, "n_power must be an int >= 1, got 0"),
                      ({"train_size": 0}, "train_size must be an int >= 1, got 0"),
                      ({"lr": float("nan")}, "lr must be a finite number > 0, got nan"),
                      ({"max_iter": 0}, "max_iter must be an int >= 1"),
                      ({"tol": -1e-3}, "tol must be a finite number >= 0"),
                      ({"grad": "envelope"}, "grad must be one of"),
                      ({"milestones": (20, 10)}, "milestones must be increasing")]:
        with pytest.raises(ValueError, match=match):
            make_config("fashion_mnist", 0.4, "watc", preset="cpu", **kw)
    with pytest.raises(ValueError, match="device must be"):
        run(make_config("fashion_mnist", 0.4, "cce", preset="smoke"), device="gpu", progress=False)


def test_the_cli_reports_a_bad_value_before_training(tmp_path, capsys):
    from watlib.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--method", "watc", "--reg", "0", "--preset", "smoke", "--results-dir", str(tmp_path)])
    assert exit_.value.code == 2 and "reg must be a finite number > 0" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # no checkpoint, no record, no lock
    missing = tmp_path / "nonexistent"
    with pytest.raises(SystemExit):
        main(["train", "--preset", "smoke", "--data-root", str(missing), "--results-dir", str(tmp_path)])
    assert "--data-root must be an existing folder" in capsys.readouterr().err and not missing.exists()
    with pytest.raises(SystemExit) as exit_:
        main(["table", "--results-dir", str(missing)])
    assert exit_.value.code == 2 and str(missing) in capsys.readouterr().err


def test_a_results_or_checkpoint_dir_that_cannot_be_a_folder_fails_before_the_setup(tmp_path):
    from watlib.engine import run_cached

    a_file = tmp_path / "a_file"
    a_file.write_text("")
    config = make_config("fashion_mnist", 0.4, "cce", preset="smoke")

    def setup(device):
        raise AssertionError("the data loaded")

    for kw, match in [(dict(checkpoint_dir=a_file, results_dir=tmp_path / "r"), "checkpoint_dir must be a folder"),
                      (dict(results_dir=a_file), "results_dir must be a folder"),
                      (dict(results_dir=a_file / "sub"), "results_dir must be a folder"),
                      (dict(results_dir="/proc/watlib-x"), "results_dir must be a folder"),
                      (dict(checkpoint_dir="/proc/watlib-x", results_dir=tmp_path / "r"), "checkpoint_dir must be")]:
        with pytest.raises(ValueError, match=rf"^{match}.*got '.*'"):
            run_cached(config, "fashion_mnist", setup, kind="classification", device="cpu", progress=False, **kw)
    assert not any((tmp_path / "r").rglob("*.*"))  # no lock, no record


# ------------------------------------------------------------------------------ concurrency
_RUN_ONE = textwrap.dedent("""
    import json, sys
    from watlib.train import make_config, run
    root, results, sums = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    cfg = make_config("cifar10", 0.4, "cce", preset="smoke", epochs=3, milestones=(2,), batch_size=16,
                      width=0.0625, train_size=96, test_size=40)
    rec = run(cfg, results_dir=results, data_root=root, checksums=sums, progress=False)
    print(json.dumps({"complete": rec["complete"], "wall": rec["wall_time_s"], "name": cfg.name()}))
""")


def test_two_identical_runs_started_together_train_once_and_both_succeed(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    argv = [sys.executable, "-c", _RUN_ONE, str(root), str(tmp_path), json.dumps(checksums)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    a, b = (json.loads(out.strip().splitlines()[-1]) for out, _ in outs)
    assert a["complete"] and b["complete"]
    assert a["wall"] == b["wall"]  # the second loaded the first's record instead of training again
    records = list((tmp_path / "cifar10").glob("*.json"))
    assert [r.name for r in records] == [f"{a['name']}.json"]
    assert read_record(records[0])["complete"]
    assert not list((tmp_path / "checkpoints").glob("*"))  # no checkpoint or temporary file left


# ------------------------------------------------------------------------------ WAT's diagnostics
def test_wat_records_the_convergence_of_its_sinkhorn_every_epoch(tiny, tmp_path):
    config = tiny.config("wat01", warmup=1, reg=0.05, max_iter=3, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="epoch 2"):
        rec = tiny.run(config, tmp_path)
    h = rec["history"]
    assert h["ot_violation_max"][0] is None and h["ot_iterations_mean"][0] is None  # warm-up: no regularizer
    assert h["ot_iterations_max"][1] == 3 and h["ot_iterations_mean"][1] == 3
    assert 0 <= h["ot_violation_mean"][1] <= h["ot_violation_max"][1]
    assert h["ot_violation_max"][1] > WARN_VIOLATION  # 3 iterations at reg 0.05 cannot converge

    converged = tiny.config("wat01", warmup=0, reg=0.5, max_iter=2000, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        h = tiny.run(converged, tmp_path)["history"]
    assert max(h["ot_violation_max"]) <= WARN_VIOLATION


@pytest.mark.parametrize("stop_after", [0, -1])
def test_a_run_asked_to_stop_after_no_epoch_is_an_error_before_any_data_loads(tiny, tmp_path, monkeypatch, stop_after):
    # issue 24: run(cfg, stop_after=0) raised KeyError('test_acc') after the data had loaded
    loaded = []
    monkeypatch.setattr(train_mod, "_prepare_data", lambda *a, **k: loaded.append(1))
    with pytest.raises(ValueError, match=f"stop_after must be an int >= 1, got {stop_after}"):
        tiny.run(tiny.config("cce"), tmp_path, stop_after=stop_after)
    assert not loaded


def test_solve_stats_fold_an_epoch_of_solves_and_keep_a_nan():
    import math

    from watlib.engine import SolveStats
    from watlib.ot import SinkhornDiagnostics

    stats = SolveStats()
    stats.add(SinkhornDiagnostics(4, torch.tensor([1e-7, 3e-7]), True, 3e-7))
    stats.add(SinkhornDiagnostics(8, torch.tensor([2e-7]), True, 2e-7))
    out = stats.pop()
    assert out["ot_violation_mean"] == pytest.approx(2e-7) and out["ot_violation_max"] == pytest.approx(3e-7)
    assert out["ot_iterations_mean"] == 6 and out["ot_iterations_max"] == 8 and stats.pop() is None
    for violations in ([0.0], [float("nan")], [1e-9]):  # Python's max(0.0, nan) is 0.0: the fold keeps the NaN
        stats.add(SinkhornDiagnostics(1, torch.tensor(violations), True, 0.0))
    assert math.isnan(stats.pop()["ot_violation_max"])
