"""Tests of the watlib.plot package as a whole: one module per subject, every public name
re-exported, every name a chapter imports still there, and tables kept apart from figures
(watlib.results never loads Matplotlib nor watlib.plot)."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import watlib.plot

SUBMODULES = ["simplex", "matrices", "runs", "segmentation"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", SUBMODULES)
def test_each_module_has_a_docstring_an_all_and_a_bounded_length(name):
    mod = importlib.import_module(f"watlib.plot.{name}")
    assert (mod.__doc__ or "").strip(), f"watlib.plot.{name} has no module docstring"
    assert mod.__all__, f"watlib.plot.{name} has no __all__"
    lines = len(inspect.getsource(mod).splitlines())
    assert lines <= 900, f"watlib.plot.{name} has {lines} lines, over 900: split it by subject"


def test_the_package_re_exports_every_public_name_of_its_modules():
    exported = set(watlib.plot.__all__)
    assert len(exported) == len(watlib.plot.__all__), "a name is listed twice in watlib.plot.__all__"
    for name in SUBMODULES:
        mod = importlib.import_module(f"watlib.plot.{name}")
        for public in mod.__all__:
            assert public in exported, f"watlib.plot.{name}.{public} is not re-exported by watlib.plot"
            assert getattr(watlib.plot, public) is getattr(mod, public)
    for public in exported:  # defined in the package, not borrowed from another module
        obj = getattr(watlib.plot, public)
        if callable(obj):
            assert obj.__module__.startswith("watlib.plot."), f"watlib.plot.{public} comes from {obj.__module__}"


def _imported_names(module: str) -> set[tuple[str, str]]:
    """(chapter, name) for every ``from <module> import name`` of the book's chapters."""
    names = set()
    for path in sorted((ROOT / "book").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == module:
                names.update((path.name, alias.name) for alias in node.names)
    return names


@pytest.mark.parametrize("module", ["watlib.plot", "watlib.results"])
def test_every_name_a_chapter_imports_exists(module):
    mod = importlib.import_module(module)
    names = _imported_names(module)
    if module == "watlib.plot":
        assert names, "no chapter imports from watlib.plot: the scan of book/*.py is broken"
    missing = sorted((chapter, name) for chapter, name in names if not hasattr(mod, name))
    assert not missing, f"chapters import names {module} does not have: {missing}"


def test_tables_do_not_draw():
    """results computes tables only: importing it loads neither Matplotlib nor watlib.plot,
    and it has no plotting function left."""
    code = "import sys, watlib.results; print('matplotlib' in sys.modules, 'watlib.plot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]
    import watlib.results

    assert not [n for n in watlib.results.__all__ if n.startswith("plot")]
    assert "run_summary" in watlib.results.__all__ and "run_summary" not in watlib.plot.__all__
