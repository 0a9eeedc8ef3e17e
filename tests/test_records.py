"""Run records (watlib.records): cache keys and schema, provenance, atomic files, migration
to a new schema, rebuilding a configuration, and verify.

Runs use CIFAR-10 files generated in torchvision's real format (``write_fake_cifar``), so
they need no download.
"""

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest
import torch

import watlib.train as train_mod
from watlib import records
from watlib.records import migrate_records, read_record, verify_record
from watlib.testing import write_fake_cifar
from watlib.train import make_config, run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fake_cifar(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    checksums = write_fake_cifar(root, "cifar10", n_train=120, n_test=40, seed=0)
    return root, checksums


def _tiny(method="cce", **kw):
    values = dict(epochs=2, milestones=(1,), batch_size=32, width=0.0625, warmup=0, train_size=64, test_size=40)
    values.update(kw)
    return make_config("cifar10", 0.4, method, preset="smoke", seed=0, **values)


def _run(config, tmp_path, fake_cifar, **kw):
    root, checksums = fake_cifar
    return run(config, results_dir=tmp_path, data_root=root, checksums=checksums, progress=False, **kw)


def _record_path(tmp_path, config):
    return tmp_path / config.dataset / f"{config.name()}.json"


# ------------------------------------------------------------------------------ keys and records
def test_the_key_hashes_the_schema_with_the_configuration(monkeypatch):
    config = _tiny()
    key = config.key()
    monkeypatch.setattr(train_mod.TrainConfig, "SCHEMA", train_mod.TrainConfig.SCHEMA + 1)
    assert config.key() != key  # a new schema is a new key: records must be migrated on purpose


def test_a_record_says_what_made_it(fake_cifar, tmp_path):
    rec = _run(_tiny(), tmp_path, fake_cifar)
    prov = rec["provenance"]
    assert rec["schema"] == train_mod.TrainConfig.SCHEMA and rec["kind"] == "classification"
    assert prov["threads"] == torch.get_num_threads() and prov["device"].startswith("cpu")
    assert prov["versions"]["torch"] == torch.__version__ and prov["versions"]["numpy"]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode == 0:  # a git checkout, as in development and CI
        assert prov["commit"] == commit.stdout.strip() and isinstance(prov["dirty"], bool)
    assert rec["config"]["max_iter"] == 100 and rec["config"]["grad"] == "unrolled"


def test_records_and_checkpoints_are_written_through_temporary_files(tmp_path):
    path = tmp_path / "x" / "r.json"
    records.write_record(path, {"a": 1})
    records.write_record(path, {"a": 2})
    assert read_record(path) == {"a": 2} and [p.name for p in path.parent.iterdir()] == ["r.json"]

    def failing(fh):
        fh.write(b"{partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        records.atomic_write(path, failing)
    assert read_record(path) == {"a": 2} and [p.name for p in path.parent.iterdir()] == ["r.json"]


# ------------------------------------------------------------------------------ migration, verify
def test_migration_brings_old_records_to_the_current_key_and_says_they_predate_provenance(fake_cifar, tmp_path):
    config = _tiny()
    rec = _run(config, tmp_path, fake_cifar)
    path = _record_path(tmp_path, config)
    old = dict(rec)
    old["config"] = {k: v for k, v in rec["config"].items() if k not in ("max_iter", "tol", "grad")}
    for k in ("schema", "kind", "provenance", "arrays"):
        old.pop(k)
    path.unlink()
    old_path = path.with_name("cifar10_cce_noise0.4_seed0_0123456789ab.json")
    old_path.write_text(json.dumps(old))
    with pytest.warns(UserWarning, match="migrate"):  # not silently orphaned
        _run(config, tmp_path, fake_cifar, stop_after=1)
    moved = migrate_records(tmp_path)
    assert moved == [(old_path, path)] and not old_path.exists()
    new = read_record(path)
    assert new["key"] == config.key() and new["config"] == rec["config"] and new["history"] == rec["history"]
    assert new["provenance"]["commit"] is None and "before" in new["provenance"]["note"]
    assert migrate_records(tmp_path) == []  # idempotent
    assert _run(config, tmp_path, fake_cifar)["history"] == rec["history"]  # the cache finds it again


def test_verify_matches_a_record_it_made_and_catches_an_edited_history(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    config = _tiny("watc", warmup=1)
    _run(config, tmp_path, fake_cifar)
    path = _record_path(tmp_path, config)
    report = verify_record(path, epochs=2, data_root=root, checksums=checksums)
    assert report["match"] and report["exact_expected"] and not report["mismatches"]
    assert [row["epoch"] for row in report["epochs"]] == [1, 2] and "test_acc" in report["epochs"][0]

    edited = read_record(path)
    edited["history"]["test_acc"][1] += 0.5
    path.write_text(json.dumps(edited))
    report = verify_record(path, epochs=2, data_root=root, checksums=checksums)
    assert not report["match"]
    assert [(e, q) for e, q, _, _ in report["mismatches"]] == [(2, "test_acc")]


def test_config_from_record_rebuilds_the_configuration():
    config = _tiny("vat")
    record = {"kind": "classification", "config": json.loads(json.dumps(dataclasses.asdict(config)))}
    assert records.config_from_record(record) == config
    record["config"]["flavour"] = 1
    with pytest.raises(ValueError, match="flavour"):
        records.config_from_record(record)
