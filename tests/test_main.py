"""The command line (watlib/__main__.py): a bad value is one line under the subcommand's usage
and exit status 2, before any data loads, never a traceback."""

import json

import pytest
import torch

from watlib.__main__ import main

SMOKE = ["--preset", "smoke", "--train-size", "20", "--test-size", "20", "--no-progress"]


def _fails(argv, capsys, usage, *messages):
    """main(argv) exits 2 with ``usage`` and every one of ``messages`` on stderr, no traceback."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert f"usage: python -m watlib {usage}" in err and "Traceback" not in err, err
    for message in messages:
        assert message in err, err
    return err


def test_a_bad_device_is_a_configuration_error_of_the_subcommand(tmp_path, capsys):
    train = ["train", *SMOKE, "--results-dir", str(tmp_path)]
    _fails([*train, "--device", "bogus"], capsys, "train", "--device must be a torch device such as 'cpu'",
           "got 'bogus'")
    if not torch.cuda.is_available():
        _fails([*train, "--device", "cuda"], capsys, "train", "--device 'cuda' was asked for but CUDA is not available")
    _fails(["segment", *SMOKE[:2], "--device", "bogus"], capsys, "segment", "--device must be a torch device")
    # configuration errors print the subcommand's usage, not the top level's
    err = _fails(["train", "--preset", "smoke", "--reg", "0"], capsys, "train", "reg must be a finite number > 0")
    assert "{train,segment" not in err


def test_a_results_or_checkpoint_dir_that_is_a_file_fails_before_training(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    results = tmp_path / "results"
    _fails(["train", *SMOKE, "--results-dir", str(results), "--checkpoint-dir", str(a_file)], capsys, "train",
           f"--checkpoint-dir must be a folder (or a path where one can be created), got '{a_file}', which is a file")
    _fails(["train", *SMOKE, "--results-dir", str(a_file)], capsys, "train", "--results-dir must be a folder")
    _fails(["train", *SMOKE, "--results-dir", "/proc/watlib-x"], capsys, "train",
           "--results-dir must be a folder (or a path where one can be created), got '/proc/watlib-x'")
    assert not any(results.rglob("*.json")) and not any(results.rglob("*.pt"))  # nothing trained


def test_verify_names_a_file_that_is_not_a_record(tmp_path, capsys):
    missing, folder = tmp_path / "missing.json", tmp_path / "folder"
    folder.mkdir()
    not_a_record, no_config = tmp_path / "list.json", tmp_path / "no_config.json"
    not_a_record.write_text("[1, 2]")
    no_config.write_text(json.dumps({"history": {}}))
    _fails(["verify", str(missing)], capsys, "verify", f"got '{missing}' (no such file)")
    _fails(["verify", str(folder)], capsys, "verify", f"got '{folder}' (a folder)")
    _fails(["verify", str(not_a_record)], capsys, "verify", str(not_a_record), "not an object")
    _fails(["verify", str(no_config)], capsys, "verify", f"{no_config} is not a watlib run record: it has no 'config'")


def test_table_and_train_name_a_record_missing_a_field(tiny, tmp_path, capsys):
    config = tiny.config("cce", epochs=1)
    tiny.run(config, tmp_path)
    path = tiny.record_path(tmp_path, config)
    record = json.loads(path.read_text())
    del record["metric"], record["config"]["dataset"]
    path.write_text(json.dumps(record))
    _fails(["table", "--results-dir", str(tmp_path)], capsys, "table",
           f"{path} is not a watlib run record: it has no 'config.dataset'")
    record["config"]["dataset"] = "cifar10"
    path.write_text(json.dumps(record))
    _fails(["train", "--dataset", "cifar10", *SMOKE[:2], "--epochs", "1", "--batch-size", "32", "--width", "0.0625",
            "--warmup", "0", "--milestones", "1", "--train-size", "64", "--test-size", "40", "--results-dir",
            str(tmp_path)], capsys, "train", f"{path} is not a watlib run record: it has no 'metric.last10_mean'")


def test_verify_says_which_files_differ_and_a_match_plainly():
    from watlib.__main__ import _verify_lines

    report = {"record": "r.json", "epochs": [{"epoch": 1, "test_acc": (50.0, 50.0)}], "mismatches": [],
              "match": True, "exact_expected": False, "record_commit": "0123456789abcdef",
              "differences": {"source": ("aaaa", "bbbb")}, "changed_files": ["watlib/ot.py"]}
    lines = _verify_lines(report)
    assert lines[-1] == "match: 0 value(s) differ"  # plainly: the values are the record's
    assert not any("not expected to match bit for bit" in line for line in lines)
    assert lines[2] == ("  provenance differs: source 'aaaa' (record) vs 'bbbb' (now); the files of watlib/ that "
                        "differ from the record's commit 0123456789ab: watlib/ot.py")
    assert "git cannot tell which files differ" in _verify_lines({**report, "changed_files": None})[2]
    assert "no file of watlib/ differs" in _verify_lines({**report, "changed_files": []})[2]
    mismatch = {**report, "match": False, "mismatches": [(1, "test_acc", 50.0, 51.0)]}
    assert _verify_lines(mismatch)[-1].startswith("MISMATCH: 1 value(s) differ, where the provenance differs")
