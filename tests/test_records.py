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

import watlib.ot as wot

import watlib.train as train_mod
from watlib.ot_settings import OT_FIELDS, STUDY_OT
from watlib.train import TrainConfig
from watlib import records
from watlib.audit import config_from_record, migrate_records, verify_record
from watlib.records import read_record

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ keys and records
def test_the_key_hashes_the_schema_with_the_configuration(tiny, monkeypatch):
    config = tiny.config()
    key = config.key()
    monkeypatch.setattr(train_mod.TrainConfig, "SCHEMA", train_mod.TrainConfig.SCHEMA + 1)
    assert config.key() != key  # a new schema is a new key: records must be migrated on purpose


def test_a_record_says_what_made_it(tiny, tmp_path):
    rec = tiny.run(tiny.config(), tmp_path)
    prov = rec["provenance"]
    assert rec["schema"] == train_mod.TrainConfig.SCHEMA and rec["kind"] == "classification"
    assert prov["threads"] == torch.get_num_threads() and prov["device"].startswith("cpu")
    assert prov["versions"]["torch"] == torch.__version__ and prov["versions"]["numpy"]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode == 0:  # a git checkout, as in development and CI
        assert prov["commit"] == commit.stdout.strip() and isinstance(prov["dirty"], bool)
    assert all(rec["config"][k] is None for k in OT_FIELDS)  # CCE solves no OT problem
    wat = tiny.run(tiny.config("watc", epochs=1), tmp_path)["config"]
    assert (wat["ot_solver"], wat["max_iter"], wat["tol"], wat["grad"]) == (
        wot.TRAIN_SOLVER, wot.TRAIN_MAX_ITER, wot.TRAIN_TOL, wot.TRAIN_GRAD)


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
def test_migration_brings_old_records_to_the_current_key_and_says_they_predate_provenance(tiny, tmp_path):
    # a CCE run of schema < 4 estimated T from its final model; runs of schema 1 used these solver settings
    config = tiny.config(val_size=0, ot_solver="sinkhorn", max_iter=100, tol=1e-6, grad="unrolled")
    rec = tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    old = dict(rec)
    old["config"] = {k: v for k, v in rec["config"].items()
                     if k not in ("max_iter", "tol", "grad", "cost", "cost_scale", "val_size", "init_epoch")}
    for k in ("schema", "kind", "provenance", "arrays"):
        old.pop(k)
    path.unlink()
    old_path = path.with_name("cifar10_cce_noise0.4_seed0_0123456789ab.json")
    old_path.write_text(json.dumps(old))
    with pytest.warns(UserWarning, match="migrate"):  # not silently orphaned
        tiny.run(config, tmp_path, stop_after=1)
    moved = migrate_records(tmp_path)
    assert moved == [(old_path, path)] and not old_path.exists()
    new = read_record(path)
    assert new["key"] == config.key() and new["config"] == rec["config"] and new["history"] == rec["history"]
    assert new["provenance"]["commit"] is None and "before" in new["provenance"]["note"]
    assert migrate_records(tmp_path) == []  # idempotent
    assert tiny.run(config, tmp_path)["history"] == rec["history"]  # the cache finds it again


def test_schema_2_records_migrate_to_the_methods_own_cost(tiny, tmp_path):
    config = tiny.config("watc", epochs=1, ot="study")  # Sinkhorn, the only solver before schema 5
    rec = tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    old = dict(rec, schema=2, key="0123456789ab")
    old["config"] = {k: v for k, v in rec["config"].items() if k not in ("cost", "cost_scale")}
    path.unlink()
    old_path = path.with_name("cifar10_watc_noise0.4_seed0_0123456789ab.json")
    old_path.write_text(json.dumps(old))
    assert migrate_records(tmp_path) == [(old_path, path)] and not old_path.exists()
    new = read_record(path)
    assert new["schema"] == TrainConfig.SCHEMA and new["key"] == config.key() and new["config"] == rec["config"]
    assert new["config"]["cost"] is None and new["config"]["cost_scale"] is None
    assert new["provenance"] == rec["provenance"]  # schema 2 records had provenance: it stays
    assert {k: v for k, v in new.items() if k not in ("config", "key")} == \
        {k: v for k, v in old.items() if k not in ("config", "key", "schema")} | {"schema": TrainConfig.SCHEMA}
    assert tiny.run(config, tmp_path)["history"] == rec["history"]  # the cache finds it again


@pytest.mark.parametrize("method, fields", [("cce", dict(val_size=0, init_epoch=None)),
                                             ("d2l", dict(val_size=None, init_epoch=0)),
                                             ("vat", dict(val_size=None, init_epoch=None))])
def test_schema_3_records_migrate_to_the_protocol_they_ran(tiny, tmp_path, method, fields):
    # Before schema 4, CCE estimated T from its final model (val_size=0) and D2L tested its
    # turning point from the first window (init_epoch=0); the other methods get None.
    epochs = 7 if method == "d2l" else 1  # D2L's test needs init_epoch + 5 epochs and one more to matter
    config = tiny.config(method, epochs=epochs, **{k: v for k, v in fields.items() if v is not None})
    rec = tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    old = dict(rec, schema=3, key="0123456789ab")
    old["config"] = {k: v for k, v in rec["config"].items() if k not in ("val_size", "init_epoch")}
    path.unlink()
    old_path = path.with_name(f"cifar10_{method}_noise0.4_seed0_0123456789ab.json")
    old_path.write_text(json.dumps(old))
    assert migrate_records(tmp_path) == [(old_path, path)] and not old_path.exists()
    new = read_record(path)
    assert new["schema"] == TrainConfig.SCHEMA and new["key"] == config.key() and new["config"] == rec["config"]
    assert {k: new["config"][k] for k in fields} == fields
    assert {k: v for k, v in new.items() if k not in ("config", "key")} == \
        {k: v for k, v in old.items() if k not in ("config", "key", "schema")} | {"schema": TrainConfig.SCHEMA}
    assert tiny.run(config, tmp_path)["history"] == rec["history"]  # the cache finds it again


def test_schema_4_records_migrate_to_the_sinkhorn_solver_they_ran(tiny, tmp_path):
    # Before schema 5 the regularizer had one solver, Sinkhorn's iterations.
    config = tiny.config("watc", epochs=1, ot="study")
    assert config.ot_solver == "sinkhorn"
    rec = tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    old = dict(rec, schema=4, key="0123456789ab")
    old["config"] = {k: v for k, v in rec["config"].items() if k != "ot_solver"}
    path.unlink()
    old_path = path.with_name("cifar10_watc_noise0.4_seed0_0123456789ab.json")
    old_path.write_text(json.dumps(old))
    assert migrate_records(tmp_path) == [(old_path, path)] and not old_path.exists()
    new = read_record(path)
    assert new["schema"] == TrainConfig.SCHEMA == 6 and new["key"] == config.key()
    assert new["config"] == rec["config"] and new["config"]["ot_solver"] == "sinkhorn"
    assert tiny.run(config, tmp_path)["history"] == rec["history"]  # the cache finds it again
    newton = tiny.config("watc", epochs=1, ot_solver="newton", grad="implicit", max_iter=100, tol=1e-6)
    assert newton.key() != config.key()


def test_schema_5_records_keep_the_ot_settings_only_where_a_method_solves_ot(tiny, tmp_path):
    # Before schema 6 every configuration carried the solver's settings, those of the study's
    # Sinkhorn; the methods without OT now hold None, WAT's keep theirs.
    moved = {}
    for method in ("cce", "watc"):
        config = tiny.config(method, epochs=1, ot="study")
        rec = tiny.run(config, tmp_path)
        path = tiny.record_path(tmp_path, config)
        old = dict(rec, schema=5, key="0123456789ab")
        old["config"] = dict(rec["config"], **STUDY_OT.config_fields())
        path.unlink()
        old_path = path.with_name(f"cifar10_{method}_noise0.4_seed0_0123456789ab.json")
        old_path.write_text(json.dumps(old))
        moved[method] = (old_path, path, config, rec)
    assert sorted(migrate_records(tmp_path)) == sorted((old, new) for old, new, _, _ in moved.values())
    for method, (old_path, path, config, rec) in moved.items():
        new = read_record(path)
        assert not old_path.exists() and new["schema"] == 6 and new["key"] == config.key()
        assert new["config"] == rec["config"]
        assert tiny.run(config, tmp_path)["history"] == rec["history"]  # the cache finds it again
    assert all(read_record(moved["cce"][1])["config"][k] is None for k in OT_FIELDS)
    assert read_record(moved["watc"][1])["config"]["ot_solver"] == "sinkhorn"
    # a CCE run no longer depends on training's solver default
    assert tiny.config("cce", ot="study").key() == tiny.config("cce", ot="train").key()


def test_verify_matches_a_record_it_made_and_catches_an_edited_history(tiny, fake_cifar, tmp_path):
    root, checksums = fake_cifar
    config = tiny.config("watc", warmup=1)
    tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    report = verify_record(path, epochs=2, data_root=root, checksums=checksums)
    assert report["match"] and report["exact_expected"] and not report["mismatches"]
    assert [row["epoch"] for row in report["epochs"]] == [1, 2] and "test_acc" in report["epochs"][0]

    edited = read_record(path)
    edited["history"]["test_acc"][1] += 0.5
    path.write_text(json.dumps(edited))
    report = verify_record(path, epochs=2, data_root=root, checksums=checksums)
    assert not report["match"]
    assert [(e, q) for e, q, _, _ in report["mismatches"]] == [(2, "test_acc")]


def test_config_from_record_rebuilds_the_configuration(tiny):
    config = tiny.config("vat")
    record = {"kind": "classification", "config": json.loads(json.dumps(dataclasses.asdict(config)))}
    assert config_from_record(record) == config
    record["config"]["flavour"] = 1
    with pytest.raises(ValueError, match="flavour"):
        config_from_record(record)


def test_a_file_that_is_not_a_record_is_named_before_anything_runs(tmp_path):
    missing, folder = tmp_path / "missing.json", tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(ValueError, match=r"^a run record must be an existing JSON file, got '.*missing.json' "
                                         r"\(no such file\)"):
        read_record(missing)
    with pytest.raises(ValueError, match=r"\(a folder\)"):
        verify_record(folder)
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(records.CorruptFileError, match=r"empty.json is not a watlib run record: it has no 'config' "
                                                       r"\(its fields: \[\]\)"):
        verify_record(tmp_path / "empty.json")
    with pytest.raises(records.CorruptFileError, match="^the record is not a watlib run record: it has no 'config'"):
        config_from_record({"foo": 1})
    (tmp_path / "bad.json").write_text(json.dumps({"config": {"dataset": "cifar10"}, "history": {}}))
    with pytest.raises(ValueError, match=r"bad.json: the record.s configuration lacks the fields \[.*\] of TrainConfig"):
        verify_record(tmp_path / "bad.json")


def test_verify_names_the_files_that_differ_from_the_records_commit(tiny, tmp_path, monkeypatch):
    config = tiny.config("cce", epochs=1)
    tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    made = read_record(path)
    made["provenance"]["source"] = "not this code"
    path.write_text(json.dumps(made))
    asked = []
    monkeypatch.setattr("watlib.audit.source_changes", lambda commit: asked.append(commit) or ["watlib/ot.py"])
    report = verify_record(path, epochs=1, data_root=tiny.root, checksums=tiny.checksums)
    assert report["match"] and not report["exact_expected"] and report["changed_files"] == ["watlib/ot.py"]
    assert asked == [made["provenance"]["commit"]] and report["record_commit"] == made["provenance"]["commit"]
    head = made["provenance"]["commit"]
    if head is not None:  # in a git checkout: the real answer is a list of the package's files
        changed = records.source_changes(head)
        assert changed is not None and all(p.startswith("watlib/") and p.endswith(".py") for p in changed)
    assert records.source_changes("0" * 40) is None and records.source_changes(None) is None
