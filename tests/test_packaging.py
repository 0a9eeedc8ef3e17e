"""watlib as a researcher installs it: the wheel, its core dependencies, its extras.

The package is built from a copy of its sources (no file is written into the checkout), checked
with twine, and installed without its dependencies into a fresh virtual environment that sees
only torch, NumPy, SciPy and tqdm (and what they need) of this test environment's packages:
nothing downloads. There the core must work and every optional feature must say which extra it
needs.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ("torch", "numpy", "scipy", "tqdm")


def _requirements(dist: str, seen: set) -> None:
    """``dist`` and the distributions it requires (no extras), installed ones only."""
    key = re.sub(r"[-_.]+", "-", dist).lower()
    if key in seen:
        return
    try:
        found = md.distribution(dist)
    except md.PackageNotFoundError:
        return
    seen.add(key)
    for req in found.requires or []:
        if "extra ==" not in req:
            _requirements(re.split(r"[\s;\[<>=!~(]", req, maxsplit=1)[0], seen)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "watlib", src / "watlib", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # byte-compile as users do
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout + done.stderr


def test_the_sdist_and_the_wheel_build_without_a_warning_and_pass_twine(built):
    out, log = built
    assert not re.search(r"warning|deprecat", log, flags=re.IGNORECASE), \
        [line for line in log.splitlines() if re.search("warn|deprecat", line, re.I)]
    (wheel,) = out.glob("*.whl")
    assert len(list(out.glob("*.tar.gz"))) == 1
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, out.iterdir())],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"watlib", f"{wheel.name.split('-py3')[0]}.dist-info"}
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    core = [line.split(": ", 1)[1] for line in meta.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert sorted(re.split(r"[<>=]", r)[0] for r in core) == sorted(CORE)
    assert "==" not in " ".join(core)  # ranges: our pins live in constraints.txt
    assert "License-Expression: MIT" in meta
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", meta, flags=re.M))
    assert extras == {"vectors", "data", "vaihingen", "sweep", "plot", "all", "book", "test"}


def test_the_wheel_works_with_the_core_alone_and_names_each_missing_extra(built, tmp_path):
    out, _ = built
    (wheel,) = out.glob("*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # torch, NumPy, SciPy, tqdm and what they require, from this environment, and nothing else
    seen: set = set()
    for dist in CORE:
        _requirements(dist, seen)
    shared = tmp_path / "shared"
    shared.mkdir()
    for key in seen:
        for f in md.distribution(key).files or []:
            top = Path(str(f)).parts[0]
            if top.endswith(".dist-info") or top in ("..", "bin", "__pycache__"):
                continue
            source = Path(md.distribution(key).locate_file(top))
            if source.exists() and not (shared / top).exists():
                (shared / top).symlink_to(source)
    site = next((env_dir / "lib").glob("python*/site-packages"))
    (site / "core_from_test_env.pth").write_text(f"{shared}\n")
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    script = textwrap.dedent("""
        import importlib.util, torch
        for absent in ("pandas", "matplotlib", "torchvision", "ray", "rasterio", "gensim", "sklearn", "ot"):
            assert importlib.util.find_spec(absent) is None, absent  # the core only
        import watlib
        from watlib import CNN9, corrupt_labels, ot_loss, transition_matrix, vat_loss, wat_loss, zero_one_cost
        C = zero_one_cost(3)
        a = torch.tensor([[0.7, 0.2, 0.1]]); b = torch.tensor([[0.1, 0.3, 0.6]])
        assert float(ot_loss(a, b, C, reg=0.1)) > 0
        torch.manual_seed(0)
        model = CNN9(1, 3, width=0.0625); x = torch.randn(4, 1, 28, 28)
        assert float(wat_loss(model, x, C, eps=0.01)) >= 0 and float(vat_loss(model, x, eps=0.01)) >= 0
        y = corrupt_labels(torch.tensor([0, 1, 2, 1]), transition_matrix("symmetric", 0.2, num_classes=3), seed=0)
        assert len(y) == 4
        from watlib._extras import MissingExtraError
        def extra_of(call):
            try:
                call()
            except MissingExtraError as err:
                return str(err).split("watlib[")[1].split("]")[0]
            raise AssertionError("no MissingExtraError")
        from watlib.costs import class_names, word_vector_cost
        from watlib.data import load_dataset, write_synthetic_vaihingen
        print(sorted({
            "tables": extra_of(lambda: watlib.results),
            "figures": extra_of(lambda: __import__("watlib.plot")),
            "segmentation": extra_of(lambda: __import__("watlib.segmentation")),
            "glove": extra_of(lambda: word_vector_cost(class_names("fashion_mnist"))),
            "data": extra_of(lambda: load_dataset("fashion_mnist")),
            "tile": extra_of(lambda: write_synthetic_vaihingen("scenes", size=(64, 64))),
            "ray": extra_of(lambda: watlib.run_many("cifar10", [0.4], ["cce"], seeds=[0], preset="smoke",
                                                    executor="ray")),
        }.items()))
    """)
    run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == str(sorted({"tables": "plot", "figures": "plot", "segmentation": "vaihingen",
                                             "glove": "vectors", "data": "data", "tile": "vaihingen",
                                             "ray": "sweep"}.items()))


def test_our_pins_live_in_constraints_txt_and_environment_yml_follows_them():
    import yaml

    import watlib

    pins = dict(re.findall(r"^([a-z]+)==([\w.]+)", (ROOT / "constraints.txt").read_text(), flags=re.M))
    assert pins == {"torch": "2.14.1", "torchvision": "0.29.1"}
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_part = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert {f"{k}=={v}" for k, v in pins.items()} <= set(pip_part)
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == watlib.__version__ == md.version("watlib")
    assert citation["license"] == "MIT" and citation["references"][0]["title"].startswith("Wasserstein Adversarial")


def test_a_missing_extra_is_named_with_its_package_and_the_pip_command():
    from watlib._extras import EXTRAS, MissingExtraError, needs_extra

    with pytest.raises(MissingExtraError, match=r"^segmentation metrics needs the package 'scikit-learn', which is "
                                                r"not installed: pip install 'watlib\[vaihingen\]'$"):
        with needs_extra("vaihingen", "segmentation metrics"):
            raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")
    assert issubclass(MissingExtraError, ImportError) and "all" in EXTRAS
    with pytest.raises(ValueError, match="extra must be one of"):
        with needs_extra("gpu", "x"):
            pass
