"""The training entry point: presets, records, the cache, checkpoint resume and the CLI.

Runs use CIFAR-10 files generated in torchvision's real format (``write_fake_cifar``) so
they need no download; one test uses the real Fashion-MNIST files when the Debian package
is installed.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import watlib.train as train_mod
import watlib.sweep as sweep_mod
from watlib.__main__ import main
from watlib.records import find_results_dir
from watlib.ot_settings import RELEASED_OT, STUDY_OT, TRAIN_OT
from watlib.train import PRESETS, TrainConfig, estimate_transition, make_config, run

from _system import missing_system

FMNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _tiny(method="cce", **kw):
    base = dict(preset="paper", epochs=3, milestones=(2,), batch_size=32,
                width=0.0625, warmup=1)
    base.update(kw)
    preset = base.pop("preset")
    return make_config("cifar10", 0.4, method, preset=preset, seed=0, **base)


def test_presets_follow_the_paper_and_auto_picks_by_device():
    paper = make_config("fashion_mnist", preset="paper")
    assert (paper.epochs, paper.milestones, paper.width, paper.batch_size, paper.warmup) == (60, (20, 40), 1.0, 256, 15)
    assert make_config("cifar100", preset="paper").milestones == (80, 120)
    auto = make_config("fashion_mnist", preset="auto")
    assert auto.preset == ("paper" if torch.cuda.is_available() else "cpu")
    cpu = make_config("fashion_mnist", preset="cpu", epochs=7)
    assert cpu.epochs == 7 and cpu.width == PRESETS["cpu"]["width"]
    with pytest.raises(ValueError, match="preset"):
        make_config(preset="gpu")
    with pytest.raises(ValueError, match=r"unknown configuration fields \['widht'\]"):
        make_config(widht=2)
    with pytest.raises(ValueError, match=r"noise must be a finite number in \[0, 1\], got 1.5"):
        make_config(noise=1.5)
    with pytest.raises(ValueError, match="method"):
        TrainConfig(method="sgd")


def test_config_key_is_stable_and_sensitive():
    a, b = _tiny(), _tiny()
    assert a.key() == b.key() and len(a.key()) == 12
    assert dataclasses.replace(a, seed=1).key() != a.key()
    assert dataclasses.replace(a, eps=0.01).key() != a.key()
    assert a.name().startswith("cifar10_cce_noise0.4_seed0_")


def test_run_writes_a_complete_record_and_loads_it_from_the_cache(fake_cifar, tmp_path, monkeypatch):
    root, checksums = fake_cifar
    cfg = _tiny()
    rec = run(cfg, results_dir=tmp_path, data_root=root, checksums=checksums, progress=False)
    assert rec["complete"] and rec["key"] == cfg.key()
    assert rec["history"]["epoch"] == [1, 2, 3] and len(rec["history"]["test_acc"]) == 3
    assert rec["history"]["lr"] == pytest.approx([1e-3, 1e-3, 1e-4])
    assert rec["metric"]["last10_mean"] == pytest.approx(sum(rec["history"]["test_acc"]) / 3)
    assert 0.05 < rec["noise"]["realised_rate"] < 0.4  # 5 source classes of 10 flip at 40%: 0.2 expected
    T_hat = torch.tensor(rec["transition_estimate"])
    assert T_hat.shape == (10, 10) and torch.allclose(T_hat.sum(1), torch.ones(10, dtype=T_hat.dtype))
    assert rec["versions"]["torch"] == torch.__version__ and rec["device"].startswith("cpu")
    assert rec["provenance"]["threads"] == torch.get_num_threads()
    path = tmp_path / "cifar10" / f"{cfg.name()}.json"
    assert json.loads(path.read_text()) == rec
    assert not (tmp_path / "checkpoints" / f"{cfg.name()}.pt").exists()

    def no_training(*a, **k):
        raise AssertionError("a cached run was retrained")

    monkeypatch.setattr(train_mod, "_prepare_data", no_training)
    assert run(cfg, results_dir=tmp_path, data_root=root, checksums=checksums) == rec


def test_an_interrupted_run_resumes_to_the_same_result(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    cfg = _tiny("watc")  # exercises the adversarial passes' randomness too
    whole = run(cfg, results_dir=tmp_path / "a", data_root=root, checksums=checksums, progress=False)
    part = run(cfg, results_dir=tmp_path / "b", data_root=root, checksums=checksums, progress=False, stop_after=2)
    assert not part["complete"] and len(part["history"]["epoch"]) == 2
    assert (tmp_path / "b" / "checkpoints" / f"{cfg.name()}.pt").exists()
    resumed = run(cfg, results_dir=tmp_path / "b", data_root=root, checksums=checksums, progress=False)
    assert resumed["complete"]
    for k in ("train_loss", "test_acc"):
        assert resumed["history"][k] == whole["history"][k]


@pytest.mark.parametrize("method", ["cce", "coteaching"])
def test_the_networks_of_a_stopped_run_are_those_it_evaluated(fake_cifar, tmp_path, method):
    root, checksums = fake_cifar
    cfg = _tiny(method)
    part = run(cfg, results_dir=tmp_path, checkpoint_dir=tmp_path / "ck", data_root=root, checksums=checksums,
               progress=False, stop_after=2)
    models, epochs = train_mod.checkpoint_models(cfg, tmp_path / "ck")
    assert epochs == 2 and len(models) == (2 if method == "coteaching" else 1)
    assert all(m.training for m in models)
    # the first network is the one evaluated (Co-teaching's predictor): its test accuracy is epoch 2's
    *_, x_test, y_test, _, _ = train_mod._prepare_data(cfg, root, checksums)
    probs = train_mod._predict(models[0], x_test, torch.device("cpu"))
    assert float((probs.argmax(dim=1) == y_test).double().mean() * 100) == part["history"]["test_acc"][-1]
    other = dataclasses.replace(cfg, epochs=4)
    with pytest.raises(FileNotFoundError, match=f"no checkpoint of the run {other.name()}"):
        train_mod.checkpoint_models(other, tmp_path / "ck")  # none
    (tmp_path / "ck" / f"{cfg.name()}.pt").rename(tmp_path / "ck" / f"{other.name()}.pt")
    with pytest.raises(FileNotFoundError, match=f"no checkpoint of the run {other.name()}"):
        train_mod.checkpoint_models(other, tmp_path / "ck")  # another run's, under its name
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train_mod.checkpoint_models(dataclasses.asdict(cfg), tmp_path / "ck")


@pytest.mark.parametrize("method", ["forward", "coteaching", "d2l", "unhinged"])
def test_methods_with_extra_machinery_run_end_to_end(fake_cifar, tmp_path, method):
    root, checksums = fake_cifar
    # D2L's turning-point test needs init_epoch + its window of 5 epochs, and one more to use it
    kw = dict(epochs=7, init_epoch=0) if method == "d2l" else {}
    rec = run(_tiny(method, **kw), results_dir=tmp_path, data_root=root, checksums=checksums, progress=False)
    assert rec["complete"] and all(0 <= a <= 100 for a in rec["history"]["test_acc"])
    if method == "forward":  # the CE reference run was trained and cached on the way, and its T used
        (cce,) = (tmp_path / "cifar10").glob("cifar10_cce_*.json")
        assert rec["transition_used"] == json.loads(cce.read_text())["transition_estimate"]
    if method == "d2l":
        assert len(rec["history"]["lid"]) == 7


def test_smoke_run_on_real_fashion_mnist(tmp_path):
    if not FMNIST.exists():
        missing_system("Debian package dataset-fashion-mnist not installed")
    rec = run(make_config("fashion_mnist", 0.4, "cce", preset="smoke", epochs=1), results_dir=tmp_path, progress=False)
    assert rec["n_train"] == PRESETS["smoke"]["train_size"] and rec["n_test"] == PRESETS["smoke"]["test_size"]
    assert rec["complete"]


def test_find_results_dir_finds_the_project_root(tmp_path, monkeypatch):
    monkeypatch.delenv("WATLIB_RESULTS", raising=False)
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "book").mkdir()
    assert find_results_dir(tmp_path / "book") == tmp_path / "results"
    monkeypatch.setenv("WATLIB_RESULTS", str(tmp_path / "elsewhere"))
    assert find_results_dir(tmp_path / "book") == tmp_path / "elsewhere"


def test_cli_trains_and_prints_the_table(fake_cifar, tmp_path, capsys, monkeypatch):
    root, checksums = fake_cifar
    monkeypatch.setattr(train_mod, "_prepare_data",
                        lambda config, data_root, cs, _orig=train_mod._prepare_data: _orig(config, data_root, checksums))
    argv = ["train", "--dataset", "cifar10", "--noise", "0.4", "--method", "cce", "bootsoft", "--preset", "smoke",
            "--epochs", "2", "--train-size", "60", "--test-size", "20", "--batch-size", "30", "--milestones", "1",
            "--data-root", str(root), "--results-dir", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "cifar10_cce_noise0.4_seed0_" in out and "cifar10_bootsoft_noise0.4_seed0_" in out
    assert main(["table", "--dataset", "cifar10", "--results-dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "CCE" in table and "Bootsoft" in table and "paper" in table and "76.23 ± 0.15" in table
    with pytest.raises(SystemExit):
        main(["train", "--method", "sgd"])


def test_coteaching_forgets_the_share_of_noisy_labels_not_the_noise_parameter(fake_cifar, tmp_path, monkeypatch):
    # Han et al.: forget rate = noise rate, the fraction of noisy labels. CIFAR-10's noise at
    # p = 0.4 flips 5 of 10 classes, so about 20% of a balanced training set, not 40%.
    from watlib import methods

    seen = {}

    def spy(name, **kw):
        seen["noise"] = kw["noise"]
        return methods.make_method(name, **kw)

    monkeypatch.setattr(train_mod, "make_method", spy)
    root, checksums = fake_cifar
    run(_tiny("coteaching"), results_dir=tmp_path, data_root=root, checksums=checksums, progress=False)
    x, y_clean, _, _, _, T, _ = train_mod._prepare_data(_tiny("coteaching"), root, checksums)
    assert seen["noise"] == pytest.approx(float(((1 - np.diag(T)) * np.bincount(y_clean.numpy(), minlength=10)).sum() / len(y_clean)))
    assert 0.15 < seen["noise"] < 0.25


def test_expected_flip_rate_weighs_classes_by_their_share():
    T = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert train_mod.expected_flip_rate(T, [0, 0, 0, 1]) == pytest.approx(0.125)
    with pytest.raises(ValueError, match="non-empty"):
        train_mod.expected_flip_rate(T, [])
    with pytest.raises(ValueError, match=r"classes in \[0, 2\)"):
        train_mod.expected_flip_rate(T, [0, 3])


def test_the_transition_matrix_of_the_corrections_comes_from_the_cce_run(fake_cifar, tmp_path):
    root, checksums = fake_cifar
    cfg = _tiny("backward")
    T = estimate_transition(cfg, results_dir=tmp_path, data_root=root, checksums=checksums, progress=False)
    cce = run(dataclasses.replace(cfg, method="cce"), results_dir=tmp_path, data_root=root, checksums=checksums)
    assert torch.equal(T, torch.tensor(cce["transition_estimate"], dtype=torch.float64))


# ------------------------------------------------------------------------------ the ground cost as a setting
def test_cost_settings_are_checked_and_change_the_key():
    base = _tiny("wat01")
    assert base.cost is None and base.cost_scale is None and TrainConfig.SCHEMA >= 3
    keys = {base.key(), _tiny("wat01", cost="word_distance").key(), _tiny("wat01", cost_scale=2).key(),
            _tiny("wat01", cost="word_distance", cost_scale="match_watc").key(), _tiny("watc").key()}
    assert len(keys) == 5
    assert _tiny("wat01", cost_scale=2).cost_scale == 2.0 and isinstance(_tiny("wat01", cost_scale=2).cost_scale, float)
    with pytest.raises(ValueError, match=r"cost applies to the methods \('wat01', 'watc'\) only, got cost='oracle' "
                                         r"for method 'vat'"):
        _tiny("vat", cost="oracle")
    with pytest.raises(ValueError, match="cost_scale applies to the methods"):
        _tiny("cce", cost_scale=2.0)
    with pytest.raises(ValueError, match=r"cost must be one of \('zero_one'"):
        _tiny("wat01", cost="euclid")
    with pytest.raises(ValueError, match="cost_scale must be None, a number > 0 or 'match_watc', got 'double'"):
        _tiny("wat01", cost_scale="double")
    with pytest.raises(ValueError, match="cost_scale must be a finite number > 0, got 0"):
        _tiny("wat01", cost_scale=0)
    with pytest.raises(TypeError, match="cost_scale must be a real number"):
        TrainConfig(method="wat01", cost_scale=True)


def test_a_grid_gives_the_cost_to_its_wat_methods_only():
    configs = train_mod.grid_configs("cifar10", [0.4], ["cce", "wat01", "watc"], [0], preset="smoke",
                                     cost="oracle", cost_scale="match_watc")
    assert [(c.method, c.cost, c.cost_scale) for c in configs] == [
        ("cce", None, None), ("wat01", "oracle", "match_watc"), ("watc", "oracle", "match_watc")]
    assert train_mod.reference_config(configs[1]) is None
    assert train_mod.reference_config(dataclasses.replace(configs[1], cost="features")).key() == configs[0].key()


def test_the_default_costs_are_todays_and_are_recorded(tiny, tmp_path):
    from watlib.costs import class_names, word_vector_cost, zero_one_cost

    wat01 = tiny.run(tiny.config("wat01", epochs=1), tmp_path)
    watc = tiny.run(tiny.config("watc", epochs=1), tmp_path)
    assert torch.equal(torch.tensor(wat01["ground_cost"]), zero_one_cost(10))
    assert torch.equal(torch.tensor(watc["ground_cost"]), word_vector_cost(class_names("cifar10")))
    assert "ground_cost" not in tiny.run(tiny.config("vat", epochs=1), tmp_path)


def test_a_wat_run_with_another_cost_records_it(tiny, tmp_path):
    from watlib.costs import class_names, mean_off_diagonal, scale_to_mean, word_vector_cost, word_vector_distance_cost

    rec = tiny.run(tiny.config("wat01", cost="word_distance", cost_scale="match_watc"), tmp_path)
    C = torch.tensor(rec["ground_cost"])
    names = class_names("cifar10")  # the fake CIFAR-10 has CIFAR-10's class names
    expected = scale_to_mean(word_vector_distance_cost(names), mean_off_diagonal(word_vector_cost(names)))
    torch.testing.assert_close(C, expected)
    assert mean_off_diagonal(C) == pytest.approx(mean_off_diagonal(word_vector_cost(names)), rel=1e-5)
    assert rec["complete"] and rec["config"]["cost"] == "word_distance"


def test_the_oracle_cost_is_that_of_the_runs_true_noise(tiny, tmp_path):
    from watlib.costs import transition_cost

    rec = tiny.run(tiny.config("watc", epochs=1, cost="oracle", cost_scale=2.0), tmp_path)
    expected = 2.0 * transition_cost(rec["noise"]["transition"], dtype=torch.float32)
    torch.testing.assert_close(torch.tensor(rec["ground_cost"]), expected)


def test_the_features_cost_comes_from_the_centroids_of_the_cce_run(tiny, tmp_path):
    from watlib.costs import feature_cost

    config = tiny.config("wat01", epochs=1, cost="features")
    rec = tiny.run(config, tmp_path)
    cce = json.loads(tiny.record_path(tmp_path, train_mod.reference_config(config)).read_text())
    centroids = torch.tensor(cce["class_centroids"])
    assert cce["complete"] and centroids.shape == (10, 8)  # CNN9 at width 1/16: 8 features
    torch.testing.assert_close(torch.tensor(rec["ground_cost"]), feature_cost(centroids, torch.arange(10), 10))

    # A CCE record made before the centroids were recorded: a clear error, not a silent fallback.
    del cce["class_centroids"]
    tiny.record_path(tmp_path, train_mod.reference_config(config)).write_text(json.dumps(cce))
    with pytest.raises(ValueError, match="class centroids of the CCE run .* force=True"):
        tiny.run(config, tmp_path, force=True)


def test_cli_passes_the_cost_to_the_wat_runs(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(sweep_mod, "run", lambda config, **kw: seen.append(config) or {
        "metric": {"last10_mean": 0, "last10_std": 0, "peak": 0, "peak_epoch": 1}, "wall_time_s": 0, "device": "cpu"})
    argv = ["train", "--dataset", "cifar10", "--method", "cce", "wat01", "--preset", "smoke", "--cost", "oracle",
            "--cost-scale", "match_watc", "--no-progress"]
    assert main(argv) == 0
    assert [(c.method, c.cost, c.cost_scale) for c in seen] == [("cce", None, None), ("wat01", "oracle", "match_watc")]
    seen.clear()
    assert main(argv[:-3] + ["--cost-scale", "0.5", "--no-progress"]) == 0 and seen[1].cost_scale == 0.5
    for bad in (["--cost-scale", "double"], ["--cost", "euclid"], ["--cost-scale", "-1"]):
        with pytest.raises(SystemExit):
            main(["train", "--method", "wat01", "--preset", "smoke", *bad])
    with pytest.raises(SystemExit):
        main(["train", "--method", "cce", "--preset", "smoke", "--cost", "oracle"])
    assert "applies to the methods" in capsys.readouterr().err


def test_cce_selects_the_model_of_its_transition_estimate_on_a_noisy_validation_split(tiny, tmp_path):
    config = tiny.config("cce", epochs=4, milestones=(3,))
    rec = tiny.run(config, tmp_path / "a")
    val_loss = rec["history"]["val_loss"]
    assert len(val_loss) == 4 and all(np.isfinite(val_loss))
    assert rec["transition_estimate_epoch"] == int(np.argmin(val_loss)) + 1
    assert rec["n_val"] == 7 and rec["n_train"] == 64  # a tenth of 71 images, beside the 64 of the subset
    T_hat, T = np.array(rec["transition_estimate"]), np.array(rec["noise"]["transition"])
    assert np.allclose(T_hat.sum(1), 1)
    assert rec["transition_error"] == pytest.approx({"max_abs": np.abs(T_hat - T).max(),
                                                     "frobenius": np.linalg.norm(T_hat - T)})

    # the validation images are unused training images, class-balanced; the training subset is unchanged
    x_train, y_clean, y_noisy, *_, val = train_mod._prepare_data(config, tiny.root, tiny.checksums)
    x_val, y_val, val_indices, train_indices = val
    assert not set(val_indices.tolist()) & set(train_indices.tolist()) and len(set(val_indices.tolist())) == 7
    plain = train_mod._prepare_data(dataclasses.replace(config, val_size=0), tiny.root, tiny.checksums)
    assert plain[-1] is None and torch.equal(plain[0], x_train) and torch.equal(plain[2], y_noisy)

    # stopped and resumed: the same best model, from the checkpointed state
    part = tiny.run(config, tmp_path / "b", stop_after=2)
    assert not part["complete"] and len(part["history"]["val_loss"]) == 2
    resumed = tiny.run(config, tmp_path / "b")
    assert resumed["history"]["val_loss"] == val_loss
    assert resumed["transition_estimate_epoch"] == rec["transition_estimate_epoch"]
    assert resumed["transition_estimate"] == rec["transition_estimate"]


def test_without_a_validation_split_the_estimate_is_the_final_models(tiny, tmp_path):
    rec = tiny.run(tiny.config("cce", val_size=0), tmp_path)
    assert "val_loss" not in rec["history"] and "n_val" not in rec
    assert rec["transition_estimate_epoch"] == 2


def test_forward_records_the_transition_it_used_and_its_error(tiny, tmp_path):
    config = tiny.config("forward", val_size=8)
    rec = tiny.run(config, tmp_path)
    cce = tiny.run(train_mod.reference_config(config), tmp_path)  # cached by the forward run
    assert cce["config"]["val_size"] == 8 and cce["n_val"] == 8
    assert rec["transition_used"] == cce["transition_estimate"]
    assert rec["transition_error"] == cce["transition_error"]
    assert rec["transition_error"]["max_abs"] == pytest.approx(
        np.abs(np.array(rec["transition_used"]) - np.array(rec["noise"]["transition"])).max())


def test_val_size_and_init_epoch_are_checked_and_apply_to_their_methods():
    with pytest.raises(ValueError, match="val_size applies to the methods .* got val_size=10 for method 'vat'"):
        TrainConfig(method="vat", val_size=10)
    with pytest.raises(ValueError, match="init_epoch applies to the methods \\('d2l',\\) only"):
        TrainConfig(method="cce", init_epoch=3)
    with pytest.raises(ValueError, match="val_size must be an int >= 0, got -1"):
        TrainConfig(method="cce", val_size=-1)
    assert TrainConfig(method="d2l", init_epoch=5).key() != TrainConfig(method="d2l").key()
    configs = train_mod.grid_configs("fashion_mnist", [0.4], ["cce", "d2l", "vat"], [0], preset="cpu",
                                     val_size=100, init_epoch=2)
    assert [(c.val_size, c.init_epoch) for c in configs] == [(100, None), (None, 2), (None, None)]


def test_the_ot_solver_is_a_checked_setting_that_the_cli_passes(monkeypatch):
    assert make_config("fashion_mnist", 0.4, "watc", preset="cpu").ot == TRAIN_OT
    assert make_config("fashion_mnist", 0.4, "watc", preset="cpu", ot="study").ot_solver == "sinkhorn"
    sinkhorn = make_config("fashion_mnist", 0.4, "watc", preset="cpu", ot_solver="sinkhorn")
    assert sinkhorn.key() != make_config("fashion_mnist", 0.4, "watc", preset="cpu").key()
    assert sinkhorn.max_iter == STUDY_OT.max_iter  # Sinkhorn by name gets its own cap, not Newton's 100
    assert make_config("fashion_mnist", 0.4, "cce", preset="cpu", ot="released").ot is None  # no OT in CCE
    with pytest.raises(ValueError, match="max_iter applies to the methods"):
        TrainConfig(method="vat", max_iter=20)
    with pytest.raises(ValueError, match="ot must be one of"):
        make_config("fashion_mnist", 0.4, "cce", preset="cpu", ot="fast")
    with pytest.raises(ValueError, match="grad must be 'implicit' with solver='newton'"):
        make_config("fashion_mnist", 0.4, "watc", preset="cpu", ot_solver="newton", grad="unrolled")
    with pytest.raises(ValueError, match="solver"):
        make_config("fashion_mnist", 0.4, "watc", preset="cpu", ot_solver="lbfgs")
    seen = []
    monkeypatch.setattr(sweep_mod, "run", lambda config, **kw: seen.append(config) or {
        "metric": {"last10_mean": 0, "last10_std": 0, "peak": 0, "peak_epoch": 1}, "wall_time_s": 0, "device": "cpu"})
    # the released code's solver, an arm of the next study
    assert main(["train", "--dataset", "cifar10", "--method", "wat01", "--preset", "smoke", "--ot-solver", "sinkhorn",
                 "--max-iter", "20", "--tol", "0", "--ot-grad", "unrolled", "--no-progress"]) == 0
    assert [(c.ot_solver, c.max_iter, c.tol, c.grad) for c in seen] == [("sinkhorn", 20, 0.0, "unrolled")]
    seen.clear()
    assert main(["train", "--dataset", "cifar10", "--method", "cce", "wat01", "--preset", "smoke", "--ot", "released",
                 "--no-progress"]) == 0  # the same, by name, over a grid with a method that solves no OT
    assert [c.ot for c in seen] == [None, RELEASED_OT]
    seen.clear()
    assert main(["train", "--dataset", "cifar10", "--method", "wat01", "--preset", "smoke", "--ot-solver", "newton",
                 "--tol", "1e-6", "--max-iter", "100", "--ot-grad", "implicit", "--no-progress"]) == 0
    assert seen[0].ot_solver == "newton"
    with pytest.raises(SystemExit):
        main(["train", "--method", "wat01", "--preset", "smoke", "--ot-solver", "lbfgs"])


@pytest.mark.parametrize("method, kw", [("watc", dict(epochs=1)), ("vat", dict(warmup=5, epochs=2)),
                                        ("d2l", dict(init_epoch=100, epochs=2)), ("wat01", dict(warmup=10**6)),
                                        ("d2l", dict(preset="smoke"))])
def test_a_method_whose_own_loss_would_never_start_is_an_error_when_configured(method, kw):
    # Such a run trains plain cross-entropy and would be recorded under the regularized name.
    kw = dict(preset="cpu", **kw) if "preset" not in kw else kw
    with pytest.raises(ValueError, match=rf"method '{method}' trains plain cross-entropy for its first \d+ epochs"):
        make_config("fashion_mnist", 0.4, method, **kw)
    assert make_config("fashion_mnist", 0.4, "cce", **{k: v for k, v in kw.items() if k in ("epochs", "preset")})


def test_the_last_epoch_may_be_the_first_regularized_one():
    assert make_config("fashion_mnist", 0.4, "watc", preset="cpu", epochs=13).warmup == 12
    assert make_config("fashion_mnist", 0.4, "d2l", preset="cpu", epochs=12).epochs == 12  # init 5 + window 5 + 1


def test_run_wants_a_train_config_and_a_results_dir_that_can_be_a_folder(tmp_path):
    with pytest.raises(TypeError, match=r"^config must be a TrainConfig \(watlib.train.make_config\), got "
                                        r"\{'method': 'cce'\} of type dict"):
        run({"method": "cce"})
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    config = make_config("cifar10", 0.4, "cce", preset="smoke")
    for results_dir in (a_file, a_file / "sub", "/proc/watlib-x"):  # FileExistsError / NotADirectoryError before
        with pytest.raises(ValueError, match=r"^results_dir must be a folder \(or a path where one can be created\)"):
            run(config, results_dir=results_dir, device="cpu", data_root=tmp_path / "nothing", progress=False)


def test_a_grid_wants_sequences_not_a_bare_str_or_number():
    grid = dict(dataset="cifar10", noises=[0.4], methods=["cce"], seeds=[0], preset="smoke")
    for field, value, error, match in [
        ("methods", "cce", TypeError, r"^methods must be a sequence of method names \(a list or tuple\), not a str, "
                                      r"got 'cce'; write \['cce'\]"),
        ("seeds", 0, TypeError, r"^seeds must be a sequence of ints \(a list or tuple\), got 0 of type int"),
        ("seeds", "01", TypeError, "^seeds must be a sequence of ints"),
        ("noises", 0.4, TypeError, "^noises must be a sequence of noise rates"),
        ("methods", [], ValueError, r"^methods must hold at least one of its method names, got \[\]"),
    ]:
        with pytest.raises(error, match=match):
            train_mod.grid_configs(**{**grid, field: value})
    assert [c.method for c in train_mod.grid_configs(**{**grid, "methods": ("cce", "vat")})] == ["cce", "vat"]


@pytest.mark.parametrize("kw, error, match", [
    (dict(seed=2**64), ValueError, r"^seed must be an int in \[0, 2\*\*63\), got 18446744073709551616"),
    (dict(noise_variant="bogus"), ValueError, r"^noise_variant must be one of \('paper', 'released'\), got 'bogus'"),
    (dict(method="forward", val_size=10**9), ValueError, r"^val_size must be <= 56000 \(the 60000 training images "
                                                           r"less the train_size 4000\), got 1000000000"),
    (dict(train_size=10**9), ValueError, r"^train_size must be <= 60000 \(the training images of fashion_mnist\)"),
    (dict(test_size=10**9), ValueError, r"^test_size must be <= 10000 \(the test images of fashion_mnist\)"),
    (dict(train_size=59000), ValueError, r"^train_size 59000 leaves 1000 of the 60000 training images for the noisy "
                                          r"validation split, which needs 6556"),
])
def test_sizes_seeds_and_variants_are_checked_when_the_config_is_built(kw, error, match):
    # Each was an error only after the data had loaded (or an overflow inside subset()).
    kw = {"method": "cce", **kw}
    with pytest.raises(error, match=match):
        make_config("fashion_mnist", 0.4, preset="cpu", **kw)


def test_a_subset_as_large_as_the_data_set_is_fine_for_the_methods_without_a_split():
    assert make_config("fashion_mnist", 0.4, "vat", preset="cpu", train_size=60000, test_size=10000).train_size == 60000
    assert make_config("fashion_mnist", 0.4, "cce", preset="cpu", train_size=54000).train_size == 54000


def test_the_cli_reports_a_config_error_with_the_train_usage_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--method", "cce", "--preset", "cpu", "--seed", str(2**64)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage: python -m watlib train" in err and "seed must be an int in [0, 2**63)" in err
    assert "Traceback" not in err
