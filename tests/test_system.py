"""The set-up step of `make test` and what tests do when a Debian package is missing."""

import subprocess
from pathlib import Path

import pytest

from _system import missing_system

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_package_skips_outside_ci_and_fails_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing"):
        missing_system("chromium is missing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is missing .CI=true"):
        missing_system("chromium is missing")


def test_make_test_and_make_book_run_the_system_step_first_and_ci_only_make_test():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("book", "test", "unit", "nbval"):
        assert f"\n{target}: system $(STAMP)\n" in makefile
    assert "bash tools/system_deps.sh" in makefile
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "make test" and not any("apt-get" in line for line in ci)


def test_the_system_step_passes_where_the_packages_are_installed():
    if not (Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists()
            and Path("/usr/bin/chromium").exists()):
        missing_system("dataset-fashion-mnist or chromium not installed")
    done = subprocess.run(["bash", str(ROOT / "tools" / "system_deps.sh")], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
