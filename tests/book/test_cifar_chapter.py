"""The CIFAR chapter (book/cifar.ipynb) as a batch job and as a page.

A batch run that cannot run says so: ``papermill book/cifar.ipynb out.ipynb -p noise 0.4`` on
a machine without CIFAR must exit non-zero with the loader's message (what is missing, where
it looked, how to get it) rather than exit 0 having trained nothing. With ``paper_only`` the
chapter renders the paper's numbers without the data and shows a run's outputs on generated
files, which is how its stored outputs (the page of the book) were made: they must say so and
hold no path of the machine that made them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torchvision.datasets as tvd

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "book" / "cifar.ipynb"
MACHINE_PATH = re.compile(r"/(root|home|tmp|Users|work)/|" + re.escape(str(ROOT)))


def _papermill(out, env, *parameters):
    """``python -m papermill book/cifar.ipynb out -p ...`` as a user's batch job runs it."""
    args = [sys.executable, "-m", "papermill", str(CHAPTER), str(out), "--cwd", str(ROOT / "book")]
    for name, value in parameters:
        args += ["-p", name, value]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def no_cifar_env(tmp_path):
    """The environment of a machine without CIFAR, where no download is even attempted.

    ``$WATLIB_DATA`` names a folder that does not exist (watlib never creates nor downloads
    into it) and the user cache is an empty folder: the loader searches both, finds nothing
    and raises, with or without a network.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("SMOKE_TEST", "WATLIB_PAPER_ONLY")}
    env["WATLIB_DATA"] = str(tmp_path / "no such folder")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    return env


def test_without_the_data_a_batch_run_fails_with_the_loaders_message(tmp_path, no_cifar_env):
    done = _papermill(tmp_path / "out.ipynb", no_cifar_env, ("noise", "0.4"))
    printed = done.stdout + done.stderr
    assert done.returncode != 0, f"papermill exited 0 without CIFAR:\n{printed[-3000:]}"
    assert "DatasetNotFoundError: cifar10: no complete copy found. Searched, in order:" in printed
    # where it looked, what was missing there, why nothing was downloaded, how to get the files
    for folder in (Path(no_cifar_env["WATLIB_DATA"]), Path(no_cifar_env["XDG_CACHE_HOME"]) / "watlib"):
        assert f"{folder / 'cifar-10-batches-py'} (all files missing)" in printed
    assert "Nothing was downloaded" in printed
    assert tvd.CIFAR10.url in printed and tvd.CIFAR10.tgz_md5 in printed and "WATLIB_DATA=R" in printed
    # it stopped at the data, before any run: nothing was trained nor written
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert [e.ename for e in errors] == ["DatasetNotFoundError"]
    assert "load_dataset(" in next(c.source for c in executed.cells if c.get("outputs") and
                                   any(o.output_type == "error" for o in c.outputs))


def _stored_text(nb):
    """Every text the stored outputs show: streams, tracebacks, text/plain, text/html."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                yield cell, out.text
            elif out.output_type == "error":
                yield cell, "\n".join(out.traceback)
            else:
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in out.get("data", {}):
                        yield cell, out.data[mime]


def test_the_stored_outputs_are_the_paper_only_page_with_no_machine_path():
    nb = nbformat.read(CHAPTER, as_version=4)
    text = list(_stored_text(nb))
    outputs = "\n".join(t for _, t in text)
    # made with paper_only: the generated files are announced, and no run is set beside the paper's
    assert "files read below are GENERATED RANDOM IMAGES, not CIFAR" in outputs, "not made with paper_only"
    assert "No run on CIFAR here" in outputs and "days (WAT_C) on this CPU" in outputs
    for cell, t in text:
        assert not MACHINE_PATH.search(t), f"a path of the machine in a stored output: {MACHINE_PATH.search(t)[0]!r}"
        for needle in ("Traceback", "URLError", "urlopen", "http://", "https://"):
            assert needle not in t, f"{needle!r} in a stored output of:\n{cell.source}"
    # the page says why it shows only the paper's numbers, and the parameters cell shows the switch
    intro = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert ":::{admonition} CIFAR is not available where this book was built" in intro
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "paper_only = False" in params.source


def test_the_results_tables_have_one_row_per_method():
    """Table 2 with methods as rows: a few columns, all visible at the page's width."""
    nb = nbformat.read(CHAPTER, as_version=4)
    tables = [o.data["text/html"] for c in nb.cells for o in c.get("outputs", [])
              if "text/html" in o.get("data", {}) and "<table" in o.data["text/html"]]
    assert tables, "no table in the stored outputs"
    for html in tables:
        first_row = html[html.index("<tbody>"):].split("</tr>")[0]
        assert first_row.count("<td") <= 5, f"a wide table: {first_row.count('<td')} columns"
        assert "WAT_C" in html and "WAT_0-1" in html
