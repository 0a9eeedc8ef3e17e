"""The segmentation runs of Section 5.2: configuration, patches, training, resume, cache."""

import json

import numpy as np
import pytest
import torch

from watlib.data import write_synthetic_vaihingen
from watlib.ot import ConvergenceWarning
from watlib.train_segmentation import (
    SEGMENTATION_METHODS,
    SEGMENTATION_PRESETS,
    SegmentationConfig,
    make_segmentation_config,
    random_patches,
    run_segmentation,
)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("vaihingen")
    write_synthetic_vaihingen(root, size=(64, 64), seed=3)
    return root


def _config(method="cce", **kw):
    values = dict(epochs=3, patches_per_epoch=16, batch_size=4, lr=1e-3, scene_size=(64, 64))
    values.update(kw)
    return make_segmentation_config(method, preset="smoke", **values)


# ------------------------------------------------------------------------------ configuration
def test_presets_set_valid_configurations_and_auto_picks_cpu_without_cuda():
    for preset in SEGMENTATION_PRESETS:
        for method in SEGMENTATION_METHODS:
            cfg = make_segmentation_config(method, preset=preset)
            assert cfg.preset == preset and cfg.method == method
    if not torch.cuda.is_available():
        assert make_segmentation_config("wat").preset == "cpu"
    paper = make_segmentation_config("wat", preset="paper")
    assert (paper.lr, paper.milestones, paper.epochs, paper.predict_overlap) == (1e-4, (10,), 300, 200)


@pytest.mark.parametrize(("kw", "match"), [
    ({"method": "vat"}, "method must be one of"),
    ({"noise_fraction": 1.5}, r"noise_fraction must be a finite number in \[0, 1\], got 1.5"),
    ({"patch": 30, "depth": 2}, r"patch must be a multiple of 2\*\*depth = 4, got 30"),
    ({"patch": 1024, "depth": 10}, r"depth must be an int in \[1, 8\], got 10"),  # the U-Net's bound, early
    ({"predict_overlap": 32, "patch": 32}, r"predict_overlap must be an int in \[0, 32\), got 32"),
    ({"data": "real"}, r"data must be one of \('synthetic', 'isprs'\), got 'real'"),
    ({"epochs": 0}, "epochs must be an int >= 1, got 0"),
    ({"reg": 0}, "reg must be a finite number > 0, got 0"),
    ({"max_iter": 0}, "max_iter must be an int >= 1, got 0"),
])
def test_bad_configurations_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        SegmentationConfig(**kw)


def test_unknown_overrides_and_presets_are_errors_and_none_overrides_are_ignored():
    with pytest.raises(ValueError, match=r"unknown configuration fields \['widht'\]"):
        make_segmentation_config("cce", preset="cpu", widht=2)
    with pytest.raises(ValueError, match="preset must be"):
        make_segmentation_config("cce", preset="gpu")
    assert make_segmentation_config("cce", preset="cpu", epochs=None) == make_segmentation_config("cce", preset="cpu")


def test_the_key_changes_with_any_field():
    a = make_segmentation_config("wat", preset="cpu")
    assert a.key() == make_segmentation_config("wat", preset="cpu").key()
    assert a.key() != make_segmentation_config("wat", preset="cpu", eps=0.01).key()
    assert a.key() != make_segmentation_config("wat", preset="cpu", seed=1).key()


# ------------------------------------------------------------------------------ patches
def test_patches_keep_inputs_and_labels_aligned_under_every_flip_and_rotation():
    # channel 0 of the image is the label map itself: any misalignment would show
    g = torch.Generator().manual_seed(0)
    labels = [torch.randint(0, 6, (20, 24), generator=g), torch.randint(0, 6, (30, 18), generator=g)]
    images = [torch.stack([lab.double(), torch.rand(lab.shape, generator=g, dtype=torch.float64)]) for lab in labels]
    x, y = random_patches(images, labels, 200, 8, torch.Generator().manual_seed(1))
    assert x.shape == (200, 2, 8, 8) and y.shape == (200, 8, 8) and y.dtype == torch.int64
    assert torch.equal(x[:, 0], y.double())
    # all 8 dihedral transforms occur: the top-left 2x2 corner of a patch of a known
    # pattern takes 8 distinct forms
    pattern = torch.arange(16).view(4, 4)
    x, y = random_patches([pattern[None].double()], [pattern], 400, 4, torch.Generator().manual_seed(2))
    assert len({tuple(p.flatten().tolist()) for p in y}) == 8


def test_patches_are_reproducible_and_reject_small_tiles_and_mismatched_sizes():
    lab = torch.zeros(10, 10, dtype=torch.int64)
    img = torch.zeros(1, 10, 10)
    a = random_patches([img], [lab + 1], 5, 4, torch.Generator().manual_seed(0))
    b = random_patches([img], [lab + 1], 5, 4, torch.Generator().manual_seed(0))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    with pytest.raises(ValueError, match="smaller than patch = 12"):
        random_patches([img], [lab], 1, 12, torch.Generator())
    with pytest.raises(ValueError, match="differ in size"):
        random_patches([torch.zeros(1, 9, 10)], [lab], 1, 4, torch.Generator())


# ------------------------------------------------------------------------------ runs
def test_a_smoke_run_lowers_the_loss_and_writes_a_complete_record(scenes, tmp_path):
    cfg = _config("cce", epochs=4, patches_per_epoch=32)
    rec = run_segmentation(cfg, data_root=scenes, results_dir=tmp_path, progress=False)
    loss = rec["history"]["train_loss"]
    assert rec["complete"] and len(loss) == 4 and loss[-1] < loss[0]
    test = rec["test"]
    cm = np.array(test["confusion_matrix"])
    assert cm.shape == (6, 6) and cm.sum() == 17 * 64 * 64  # every pixel of the 17 test tiles
    assert test["overall_accuracy"] == pytest.approx(100 * np.trace(cm) / cm.sum())
    assert "clutter" not in test["average_over"] and 0 <= test["average_f1"] <= 100
    assert rec["prediction"].shape == (64, 64) and rec["display_area"] == 12
    assert 0 < rec["noise"]["flipped"] < rec["noise"]["components"]
    assert "synthetic" not in rec["data"]  # data_root given: the loader does not know what it reads
    saved = json.loads((tmp_path / "vaihingen" / f"{cfg.name()}.json").read_text())
    assert saved["test"] == test and saved["key"] == cfg.key()


def test_cached_records_are_loaded_not_retrained(scenes, tmp_path):
    cfg = _config("bootsoft", epochs=1)
    first = run_segmentation(cfg, data_root=scenes, results_dir=tmp_path, progress=False)
    second = run_segmentation(cfg, data_root=scenes, results_dir=tmp_path, progress=False)
    assert second["wall_time_s"] == first["wall_time_s"]
    np.testing.assert_array_equal(second["prediction"], first["prediction"])


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(scenes, tmp_path):
    cfg = _config("wat", epochs=3)
    whole = run_segmentation(cfg, data_root=scenes, results_dir=tmp_path / "a", progress=False)
    part = run_segmentation(cfg, data_root=scenes, results_dir=tmp_path / "b", progress=False, stop_after=1)
    assert not part["complete"] and part["test"] is None
    resumed = run_segmentation(cfg, data_root=scenes, results_dir=tmp_path / "b", progress=False)
    assert resumed["history"]["train_loss"] == whole["history"]["train_loss"]
    assert resumed["test"] == whole["test"]
    assert not list((tmp_path / "b" / "checkpoints").glob("*.pt"))  # removed on completion


def test_clean_reference_trains_on_the_clean_truth_and_the_others_on_the_corrupted(scenes, tmp_path):
    clean = run_segmentation(_config("cce_clean", epochs=1), data_root=scenes, results_dir=tmp_path, progress=False)
    noisy = run_segmentation(_config("cce", epochs=1), data_root=scenes, results_dir=tmp_path, progress=False)
    assert clean["noise"]["applied"] is False and noisy["noise"]["applied"] is True
    assert clean["history"]["train_loss"] != noisy["history"]["train_loss"]


def test_isprs_data_needs_a_root():
    with pytest.raises(ValueError, match="data='isprs' needs data_root"):
        run_segmentation(_config("cce", data="isprs"), results_dir=None, progress=False)


def test_noise_fraction_defaults_to_the_papers_third():
    assert make_segmentation_config("cce", preset="cpu").noise_fraction == 1 / 3
    assert make_segmentation_config("cce", preset="cpu", noise_fraction=None).noise_fraction == 1 / 3
    assert make_segmentation_config("cce", preset="cpu", noise_fraction=0.2).noise_fraction == 0.2


def test_cli_segments_and_prints_table_3_and_table_2_ignores_segmentation_records(scenes, tmp_path, capsys):
    from watlib.__main__ import main

    argv = ["segment", "--method", "cce", "wat", "--preset", "smoke", "--epochs", "1", "--data-root", str(scenes),
            "--results-dir", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "vaihingen_cce_objects0.333_seed0_" in out and "vaihingen_wat_objects0.333_seed0_" in out
    assert f"data: ISPRS Vaihingen read from {scenes}" in out
    assert main(["table", "--dataset", "vaihingen", "--results-dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "CCE (noisy)" in table and "WAT" in table and "ours (smoke, isprs)" in table and "25.78" in table
    assert "other runs" not in table
    # WAT with another Sinkhorn budget, same seed: a table of its own, never averaged into WAT's cells
    with pytest.warns(ConvergenceWarning, match="max_iter=7"):  # 7 iterations do not converge, and it says so
        assert main(argv[:2] + ["wat"] + argv[4:] + ["--ot-solver", "sinkhorn", "--max-iter", "7", "--ot-grad",
                                                     "unrolled"]) == 0
    capsys.readouterr()
    assert main(["table", "--dataset", "vaihingen", "--results-dir", str(tmp_path)]) == 0
    first, other = capsys.readouterr().out.split("\nother runs: ")
    assert first == table and other.startswith("grad='unrolled', max_iter=7, ot_solver='sinkhorn'\n")
    assert "CCE" not in other and "WAT " in other and "[2]" not in first + other
    assert main(["table", "--results-dir", str(tmp_path)]) == 0  # Table 2 of nothing: no crash on Table 3 records
    with pytest.raises(SystemExit):
        main(["segment", "--method", "vat"])


def test_run_segmentation_wants_a_segmentation_config():
    with pytest.raises(TypeError, match=r"^config must be a SegmentationConfig \(make_segmentation_config\), got "
                                        r"\{'method': 'wat'\} of type dict"):
        run_segmentation({"method": "wat"})
