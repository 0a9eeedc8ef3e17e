"""Sweeps as Ray tasks (watlib.sweep, run_many(executor="ray")) on a real local Ray instance.

One instance (2 CPUs) serves the module. The runs are the tiny ones of conftest.py, on the
generated CIFAR-10 files: the workers read them from the same paths as the driver.
"""

import functools
import os
import sys
from pathlib import Path

import pytest
import ray
import torch

from watlib.__main__ import main
from watlib.sweep import SweepError, SweepRecords, check_executor, run_many, run_sweep
from watlib.train import make_config, run

TINY = dict(epochs=2, milestones=(1,), batch_size=32, width=0.0625, warmup=0, train_size=64, test_size=40)
COMPARED = ("key", "config", "complete", "metric", "noise", "n_train", "n_test", "transition_estimate",
            "transition_used")


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False)
    # the workers cannot import this file: its trainers travel by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def _same_run(a, b):
    """Two records of the same run agree on everything but timing and provenance."""
    for k in COMPARED:
        assert a.get(k) == b.get(k), k
    ha = {k: v for k, v in a["history"].items() if k != "seconds"}
    hb = {k: v for k, v in b["history"].items() if k != "seconds"}
    assert ha == hb


def _sweep(tmp, root, checksums, methods=("cce", "bootsoft"), seeds=(0, 1), **kw):
    return run_many("cifar10", 0.4, list(methods), seeds=list(seeds), preset="smoke", results_dir=tmp,
                    data_root=root, checksums=checksums, **{**TINY, **kw})


def test_a_sweep_on_ray_writes_the_records_of_the_local_runs_and_resumes(fake_cifar, tmp_path, capsys):
    root, checksums = fake_cifar
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the thread count of the Ray tasks (cpus_per_run=1)
    try:
        local = _sweep(tmp_path / "local", root, checksums, progress=False)
    finally:
        torch.set_num_threads(threads)
    swept = _sweep(tmp_path / "ray", root, checksums, executor="ray", workers=2, progress=True)
    assert isinstance(swept, SweepRecords) and len(swept) == 4
    assert [(r["config"]["method"], r["config"]["seed"]) for r in swept] == [
        ("cce", 0), ("cce", 1), ("bootsoft", 0), ("bootsoft", 1)]
    assert len(swept.trained) == 4 and swept.loaded == [] and swept.failed == {}
    assert "sweep: 4 run(s) trained, 0 loaded, 0 failed" in capsys.readouterr().out
    for a, b in zip(local, swept):
        _same_run(a, b)
        assert b["provenance"]["threads"] == 1
        path = tmp_path / "ray" / "cifar10" / f"{make_config('cifar10', 0.4, b['config']['method'], preset='smoke', seed=b['config']['seed'], **TINY).name()}.json"
        assert path.exists()
    written = sorted(p.name for p in (tmp_path / "ray" / "cifar10").glob("*.json"))
    assert written == sorted(p.name for p in (tmp_path / "local" / "cifar10").glob("*.json"))
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "ray" / "cifar10").glob("*.json")}

    again = _sweep(tmp_path / "ray", root, checksums, executor="ray", workers=2, progress=False)
    assert again.trained == [] and len(again.loaded) == 4 and list(again) == list(swept)
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # the command line loads them too (and would train nothing)
    argv = ["train", "--dataset", "cifar10", "--noise", "0.4", "--method", "cce", "bootsoft", "--seeds", "0", "1",
            "--preset", "smoke", "--epochs", "2", "--milestones", "1", "--batch-size", "32", "--width", "0.0625",
            "--warmup", "0", "--train-size", "64", "--test-size", "40", "--results-dir", str(tmp_path / "ray"),
            "--executor", "ray", "--workers", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("cifar10_") == 4 and "sweep: 0 run(s) trained, 4 loaded, 0 failed" in out


def _dies_once(config, marker, **kwargs):
    """A trainer whose first attempt trains one epoch (and checkpoints it), then kills its worker."""
    marker = Path(marker)
    if not marker.exists():
        run(config, stop_after=1, **kwargs)
        marker.write_text("died after epoch 1\n")
        os._exit(1)
    checkpoint = Path(kwargs["checkpoint_dir"]) / f"{config.name()}.pt"
    with open(marker, "a") as fh:
        fh.write(f"retried; checkpoint found: {checkpoint.exists()}\n")
    return run(config, **kwargs)


@pytest.mark.filterwarnings("ignore::watlib.ot.ConvergenceWarning")  # watc at a few steps: not the point
def test_a_worker_that_dies_is_retried_and_resumes_from_its_checkpoint(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    config = make_config("cifar10", 0.4, "watc", preset="smoke", seed=0, **{**TINY, "epochs": 3})
    marker = tmp_path / "marker"
    records = run_sweep([config], results_dir=tmp_path / "ray", checkpoint_dir=tmp_path / "checkpoints",
                        data_root=root, checksums=checksums, progress=False,
                        trainer=functools.partial(_dies_once, marker=str(marker)))
    assert marker.read_text() == "died after epoch 1\nretried; checkpoint found: True\n"
    assert records.trained == [config.name()] and records[0]["complete"]
    assert (tmp_path / "ray" / "cifar10" / f"{config.name()}.json").exists()
    assert not (tmp_path / "checkpoints" / f"{config.name()}.pt").exists()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        whole = run(config, results_dir=tmp_path / "local", data_root=root, checksums=checksums, progress=False)
    finally:
        torch.set_num_threads(threads)
    _same_run(whole, records[0])


def _fails_for_bootsoft(config, **kwargs):
    if config.method == "bootsoft":
        raise ValueError("bootsoft is broken on purpose")
    return run(config, **kwargs)


def test_a_failed_run_stops_no_other_and_forward_gets_its_cce_run(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    configs = [make_config("cifar10", 0.4, m, preset="smoke", seed=0, **TINY) for m in ("forward", "bootsoft")]
    with pytest.raises(SweepError, match="bootsoft is broken on purpose") as caught:
        run_sweep(configs, results_dir=tmp_path, data_root=root, checksums=checksums, progress=False,
                  trainer=_fails_for_bootsoft)
    records = caught.value.records
    assert list(caught.value.failures) == [configs[1].name()]
    assert records[1] is None and records[0]["complete"]
    cce = make_config("cifar10", 0.4, "cce", preset="smoke", seed=0, **TINY)
    assert records.trained == [cce.name(), configs[0].name()]  # the CCE reference first, written too
    written = run(cce, results_dir=tmp_path, progress=False)  # loaded: it was written by the sweep
    assert records[0]["transition_used"] == written["transition_estimate"]
    assert (tmp_path / "cifar10" / f"{configs[0].name()}.json").exists()
    assert not (tmp_path / "cifar10" / f"{configs[1].name()}.json").exists()


def test_a_wat_run_with_the_features_cost_gets_its_cce_run(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    config = make_config("cifar10", 0.4, "wat01", preset="smoke", seed=0, cost="features", **{**TINY, "epochs": 1})
    records = run_sweep([config], results_dir=tmp_path, data_root=root, checksums=checksums, progress=False)
    cce = make_config("cifar10", 0.4, "cce", preset="smoke", seed=0, **{**TINY, "epochs": 1})
    assert records.trained == [cce.name(), config.name()]  # the CCE reference first, written too
    written = run(cce, results_dir=tmp_path, progress=False)
    from watlib.costs import feature_cost

    expected = feature_cost(written["class_centroids"], torch.arange(10), 10)
    torch.testing.assert_close(torch.tensor(records[0]["ground_cost"]), expected)


def test_bad_settings_fail_before_anything_runs(tmp_path):
    for kwargs, err, match in [
        (dict(executor="dask"), ValueError, r"executor must be one of \('local', 'ray'\), got 'dask'"),
        (dict(executor="ray", workers=0), ValueError, "workers must be an int >= 1, got 0"),
        (dict(executor="ray", cpus_per_run=0), ValueError, "cpus_per_run must be an int >= 1, got 0"),
        (dict(executor="ray", cpus_per_run=1.5), TypeError, "cpus_per_run must be an int"),
        (dict(executor="local", address="auto"), ValueError, "address must be None with executor='local'"),
        (dict(executor="ray", address=6379), TypeError, "address must be None or a str"),
        (dict(executor="ray", noise=1.5), ValueError, r"noise must be a finite number in \[0, 1\], got 1.5"),
    ]:
        kwargs = {"noise": 0.4, **kwargs}
        with pytest.raises(err, match=match):
            run_many("cifar10", kwargs.pop("noise"), ["cce"], results_dir=tmp_path, **kwargs)
    with pytest.raises(TypeError, match=r"configs\[0\] must be a TrainConfig"):
        run_sweep(["cce"], results_dir=tmp_path)
    check_executor("ray", address="auto")
    assert not any(tmp_path.iterdir())
    for argv in (["train", "--executor", "ray", "--workers", "0"], ["train", "--address", "auto"],
                 ["train", "--executor", "ray", "--cpus-per-run", "0"], ["train", "--noise", "0.2", "2"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2


def test_several_noise_rates_come_in_the_order_methods_seeds_noise(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    recs = run_many("cifar10", [0.2, 0.4], ["cce"], seeds=[0], preset="smoke", results_dir=tmp_path,
                    data_root=root, checksums=checksums, progress=False, **{**TINY, "epochs": 1})
    assert [r["config"]["noise"] for r in recs] == [0.2, 0.4]


def test_run_many_wants_sequences_of_methods_and_seeds_not_a_bare_str(tmp_path):
    # a str was taken letter by letter: "method must be one of ... got 'c'"
    with pytest.raises(TypeError, match=r"^methods must be a sequence of method names \(a list or tuple\), not a str, "
                                        r"got 'cce'"):
        run_many("cifar10", 0.4, "cce", results_dir=tmp_path)
    with pytest.raises(TypeError, match="^seeds must be a sequence of ints"):
        run_many("cifar10", 0.4, ["cce"], seeds=0, results_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def _dies_then_fails(config, marker, **kwargs):
    """A trainer that leaves a file in its temporary folder, then kills its worker; its retry fails."""
    marker, folder = Path(marker), Path(kwargs["results_dir"])
    (folder / "partial.txt").write_text("what a killed run leaves")
    with open(marker, "a") as fh:
        fh.write(f"{folder}\n")
    if len(marker.read_text().splitlines()) == 1:
        os._exit(1)
    raise ValueError("the retry fails on purpose")


def test_a_killed_or_failed_worker_leaves_no_temporary_folder(tmp_path):
    import tempfile

    config = make_config("cifar10", 0.4, "cce", preset="smoke", seed=0, **TINY)
    marker = tmp_path / "marker"
    with pytest.raises(SweepError, match="the retry fails on purpose"):
        run_sweep([config], results_dir=tmp_path / "ray", progress=False, max_retries=1,
                  trainer=functools.partial(_dies_then_fails, marker=str(marker)))
    tries = [Path(p) for p in marker.read_text().splitlines()]
    assert len(tries) == 2 and tries[0] == tries[1]  # one folder per task, named by the driver, the retry's too
    assert tries[0].parent == Path(tempfile.gettempdir()) and tries[0].name.startswith("watlib-sweep-")
    assert not tries[0].exists()  # the killed try's file went with the folder
    alone = tmp_path / "alone"  # killed with no retry left: the driver removes the folder
    with pytest.raises(SweepError):
        run_sweep([config], results_dir=tmp_path / "ray", progress=False, max_retries=0,
                  trainer=functools.partial(_dies_then_fails, marker=str(alone)))
    (killed,) = [Path(p) for p in alone.read_text().splitlines()]
    assert killed != tries[0] and not killed.exists()
