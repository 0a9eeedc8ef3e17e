"""benchmarks/gpu_check.py, the script a lent GPU runs, run here on the CPU at its tiny size.

Its numbers mean nothing on a CPU; what is checked is that every section runs and reports what
the GPU run must report (a failure there would waste a scarce device lease).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_every_section_on_the_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--tiny",
                           "--out", str(out)], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["tiny"] and report["device"] == "cpu"
    assert [row["batch"] for row in report["solvers"]] == ["K=10 0-1 near", "K=10 0-1 peaked", "K=10 0-1 far",
                                                          "K=100 0-1 near"]
    for row in report["solvers"]:
        assert row["newton 1e-6"]["violation"] <= 1e-6 and row["sinkhorn 1e-4"]["violation"] <= 1e-4
        assert row["newton 1e-6"]["iterations"] < row["sinkhorn 1e-4"]["iterations"]
        assert row["sinkhorn / newton"] > 0
    steps = report["steps"]
    for arm in ("cce", "vat", "wat01 sinkhorn", "wat01 newton", "watc sinkhorn", "watc newton"):
        assert steps[arm] > 0, arm
    epochs = report["epochs"]
    if os.environ.get("CI") == "true":  # CI installs the real data: the section must not be skipped there
        assert "skipped" not in epochs
    if "skipped" not in epochs:
        assert len(epochs["test_acc"]) == 2 and len(epochs["ot_iterations_mean"]) == 2
        assert max(epochs["ot_violation_max"]) <= 1e-3
    assert report["chapter"]["returncode"] == 0
    assert "[epochs]" in done.stdout and "done in" in done.stdout
