"""The regularizer's fields, shared by both run configurations: one declaration, one check."""

import dataclasses
import json

import pytest

from watlib import paper
from watlib.audit import migrate_records
from watlib.records import read_record
from watlib.regularizer_fields import RegularizerFields
from watlib.data import write_synthetic_vaihingen
from watlib.train import TrainConfig
from watlib.train_segmentation import SegmentationConfig, make_segmentation_config, run_segmentation
from watlib.ot_settings import TRAIN_OT

NAMES = [f.name for f in dataclasses.fields(RegularizerFields)]


def test_both_configurations_hold_the_same_regularizer_fields():
    for config in (TrainConfig, SegmentationConfig):
        assert issubclass(config, RegularizerFields)
        assert set(NAMES) <= {f.name for f in dataclasses.fields(config)}
    assert "n_power" in NAMES  # the segmentation configuration lacked it


@pytest.mark.parametrize("field, value, match", [
    ("n_power", 0, "n_power must be an int >= 1, got 0"),
    ("eps", -1.0, "eps must be a finite number >= 0, got -1.0"),
    ("xi", 0, "xi must be a finite number > 0, got 0"),
    ("reg", 0, "reg must be a finite number > 0, got 0"),
    ("warmup", -1, "warmup must be an int >= 0, got -1"),
    ("beta", -2, "beta must be a finite number >= 0, got -2"),
])
def test_both_configurations_reject_a_bad_regularizer_field_with_one_message(field, value, match):
    for make in (lambda: TrainConfig(method="watc", epochs=60, **{field: value}),
                 lambda: SegmentationConfig(method="wat", **{field: value})):
        with pytest.raises(ValueError, match=match):
            make()


def test_segmentation_keeps_its_own_defaults():
    cfg = SegmentationConfig()
    assert cfg.beta == paper.BETA["watc"] and cfg.warmup == 0 and cfg.n_power == paper.N_POWER
    assert cfg.ot == TRAIN_OT.replace(reg=paper.REG)
    assert TrainConfig(method="watc").warmup == paper.WARMUP and TrainConfig(method="watc").beta is None


def test_segmentation_passes_n_power_to_its_regularizer(tmp_path, monkeypatch):
    import watlib.train_segmentation as ts

    seen = {}
    real = ts.make_method

    def spy(name, **kw):
        seen.update(kw)
        return real(name, **kw)

    monkeypatch.setattr(ts, "make_method", spy)
    write_synthetic_vaihingen(tmp_path / "data", size=(64, 64), seed=3)
    cfg = make_segmentation_config("wat", preset="smoke", epochs=1, patches_per_epoch=4, batch_size=4,
                                   scene_size=(64, 64), n_power=2)
    run_segmentation(cfg, data_root=tmp_path / "data", results_dir=tmp_path / "results", progress=False)
    assert seen["n_power"] == 2


def test_schema_3_segmentation_records_migrate_with_the_one_power_iteration_they_made(tmp_path):
    cfg = SegmentationConfig(method="cce", epochs=2)
    config = json.loads(json.dumps(dataclasses.asdict(cfg)))
    del config["n_power"]
    old = tmp_path / "vaihingen" / "vaihingen_cce_objects0.333_seed0_0123456789ab.json"
    old.parent.mkdir()
    old.write_text(json.dumps({"schema": 3, "kind": "segmentation", "config": config, "key": "0123456789ab",
                               "complete": True}))
    ((src, dst),) = migrate_records(tmp_path)
    assert src == old and dst.name == f"{cfg.name()}.json"
    new = read_record(dst)
    assert new["schema"] == 4 and new["config"]["n_power"] == 1 and new["key"] == cfg.key()
