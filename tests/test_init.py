"""The flat public API: every name in ``watlib.__all__`` exists, and every public function of
every module is reachable from the top level and documented with an example."""

import importlib
import inspect

import pytest

import watlib

MODULES = ["paper", "ot", "adversarial", "costs", "toy", "plot", "plot.simplex", "plot.matrices", "plot.runs",
           "plot.segmentation", "models", "noise", "data.registry", "data.classification", "data.vaihingen",
           "data.synthetic", "methods", "regularizer_fields", "engine", "train", "sweep", "results", "segmentation", "train_segmentation", "testing",
           "_checks"]
# Modules whose whole public API is re-exported at the top level.
FLAT = ["ot", "adversarial", "costs", "toy", "models", "noise"]


def test_all_names_resolve():
    for name in watlib.__all__:
        assert hasattr(watlib, name), name


@pytest.mark.parametrize("modname", MODULES)
def test_module_has_all_and_documents_every_public_name(modname):
    mod = importlib.import_module(f"watlib.{modname}")
    assert hasattr(mod, "__all__"), f"watlib.{modname} has no __all__"
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Parameters" in doc or "Examples" in doc, f"watlib.{modname}.{name} is undocumented"
            assert ">>>" in doc, f"watlib.{modname}.{name} has no doctest"


@pytest.mark.parametrize("modname", FLAT)
def test_top_level_re_exports_the_modules_public_names(modname):
    mod = importlib.import_module(f"watlib.{modname}")
    for name in mod.__all__:
        assert name in watlib.__all__ and getattr(watlib, name) is getattr(mod, name), name


def test_import_watlib_does_not_load_matplotlib():
    import subprocess
    import sys

    code = "import sys, watlib; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_module_imports_another_modules_private_names():
    import ast
    from pathlib import Path

    package = Path(watlib.__file__).parent
    offenders = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                offenders += [f"{path.relative_to(package)}: {a.name}" for a in node.names
                              if a.name.startswith("_") and a.name != "__version__"]
    assert not offenders, offenders


def test_no_module_is_longer_than_900_lines():
    from pathlib import Path

    package = Path(watlib.__file__).parent
    long = {str(p.relative_to(package)): n for p in package.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 900}
    assert not long, long


def test_the_costs_of_the_ablation_are_top_level():
    for name in ("word_vector_distance_cost", "feature_cost", "transition_cost", "mean_off_diagonal", "scale_to_mean"):
        assert name in watlib.__all__ and getattr(watlib, name) is getattr(watlib.costs, name)
