"""watlib.data.registry: the facts of each data set, checked against their sources.

Class names against torchvision's own lists (where torchvision holds them without files) and
the ISPRS order; schedules against watlib.paper (referred to, not copied); the CIFAR-100
superclass table against its definition (20 superclasses of 5 classes partitioning the 100);
and the module's promise to import nothing heavy and read no file.
"""

import ast
import dataclasses
from pathlib import Path

import pytest
from torchvision.datasets import FashionMNIST

import watlib.costs
import watlib.data
import watlib.noise
from watlib import paper
from watlib.costs import class_names
from watlib.data.registry import CIFAR100_SUPERCLASSES, DATASET_INFO, DATASET_NAMES, DatasetInfo, dataset_info

EXPECTED = {  # name: (K, C, image size, task)
    "fashion_mnist": (10, 1, (28, 28), "classification"),
    "cifar10": (10, 3, (32, 32), "classification"),
    "cifar100": (100, 3, (32, 32), "classification"),
    "vaihingen": (6, 5, None, "segmentation"),
}


def test_the_four_data_sets_of_the_paper_in_its_order():
    assert DATASET_NAMES == ("fashion_mnist", "cifar10", "cifar100", "vaihingen") == tuple(DATASET_INFO)
    for name, (K, C, size, task) in EXPECTED.items():
        info = dataset_info(name)
        assert isinstance(info, DatasetInfo) and info.name == name
        assert (info.num_classes, info.in_channels, info.image_size, info.task) == (K, C, size, task)
        assert len(set(info.classes)) == K and isinstance(info.classes, tuple)
        assert dataset_info(name) is info


def test_class_names_are_torchvisions_and_the_isprs_order():
    assert list(dataset_info("fashion_mnist").classes) == list(FashionMNIST.classes)
    assert list(dataset_info("cifar100").classes) == sorted(dataset_info("cifar100").classes)
    assert dataset_info("vaihingen").classes == (
        "impervious surfaces", "building", "low vegetation", "tree", "car", "clutter"
    )
    for name in DATASET_NAMES:  # costs reads the registry
        assert class_names(name) == list(dataset_info(name).classes)


def test_schedules_are_the_papers():
    for name in ("fashion_mnist", "cifar10", "cifar100"):
        assert dataset_info(name).schedule is paper.SCHEDULES[name]
    schedule = dataset_info("vaihingen").schedule
    assert schedule.epochs == paper.SEGMENTATION["epochs"]
    assert schedule.milestones == tuple(paper.SEGMENTATION["milestones"])
    assert [dataset_info(n).schedule.epochs for n in DATASET_NAMES] == [60, 120, 150, 300]


def test_cifar100_superclasses_partition_the_classes_in_fives():
    fine = dataset_info("cifar100").classes
    assert dataset_info("cifar100").superclasses is CIFAR100_SUPERCLASSES
    assert list(CIFAR100_SUPERCLASSES) == sorted(CIFAR100_SUPERCLASSES) and len(CIFAR100_SUPERCLASSES) == 20
    members = [f for group in CIFAR100_SUPERCLASSES.values() for f in group]
    assert sorted(members) == sorted(fine) and len(members) == 100
    assert all(len(group) == 5 for group in CIFAR100_SUPERCLASSES.values())
    assert all(dataset_info(n).superclasses is None for n in DATASET_NAMES if n != "cifar100")
    names, coarse = watlib.data.cifar100_superclasses()  # the tensor form agrees
    assert names == list(CIFAR100_SUPERCLASSES)
    assert all(fine[k] in CIFAR100_SUPERCLASSES[names[s]] for k, s in enumerate(coarse.tolist()))


def test_infos_are_frozen_and_read_only():
    info = dataset_info("cifar10")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.in_channels = 1
    with pytest.raises(TypeError):
        DATASET_INFO["mnist"] = info
    with pytest.raises(TypeError):
        CIFAR100_SUPERCLASSES["people"] = ()
    assert hash(dataset_info("cifar100")) == hash(dataset_info("cifar100"))


@pytest.mark.parametrize(
    "name, error, match",
    [
        ("mnist", ValueError,
         r"name must be one of \('fashion_mnist', 'cifar10', 'cifar100', 'vaihingen'\), got 'mnist'"),
        (10, TypeError, r"name must be one of \(.*\), got 10 of type int"),
    ],
)
def test_unknown_names_list_the_known_ones(name, error, match):
    with pytest.raises(error, match=match):
        dataset_info(name)


def test_the_registry_is_public_in_watlib_data():
    assert {"DatasetInfo", "dataset_info", "DATASET_NAMES", "DATASET_INFO"} <= set(watlib.data.__all__)


def _imports(path):
    """The modules a source file imports, as written (relative ones with their dots)."""
    tree = ast.parse(Path(path).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_the_registry_module_reads_no_file_and_imports_nothing_heavy():
    """Its own imports are the standard library, watlib.paper, watlib._checks and watlib._registry."""
    assert _imports(watlib.data.registry.__file__) == {
        "__future__", "dataclasses", "types", "collections.abc", ".._checks", ".._registry", "..paper"
    }
    text = Path(watlib.data.registry.__file__).read_text()
    assert "open(" not in text and "read_text" not in text


def test_costs_and_noise_read_the_registry_and_data_never_imports_costs():
    package = Path(watlib.data.__file__).parent
    for path in package.glob("*.py"):
        assert not any("costs" in name for name in _imports(path)), path
    for module in (watlib.costs, watlib.noise):
        assert ".data.registry" in _imports(module.__file__)
