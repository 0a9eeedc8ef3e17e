"""watlib.testing: the writer of small CIFAR files in the real on-disk format.

The generated files are read back by independent readers: plain ``pickle`` with
``encoding="bytes"`` (the dataset page's ``unpickle``) and with torchvision's
``encoding="latin1"``; test_data.py reads them through torchvision's own classes and
``load_dataset``.
"""

import pickle

import numpy as np
import pytest
import torchvision.datasets as tvd
import torchvision.datasets.utils as tv_utils

import watlib.testing
from watlib.costs import class_names
from watlib.data import cifar100_superclasses, load_dataset, reference_checksums
from watlib.testing import write_fake_cifar

CIFAR = ("cifar10", "cifar100")
N_TRAIN = {"cifar10": 103, "cifar100": 300}
N_TEST = {"cifar10": 41, "cifar100": 100}


@pytest.fixture(scope="module")
def fakes(tmp_path_factory):
    """Generated CIFAR-10 and CIFAR-100 roots and their checksum tables."""
    out = {}
    for seed, name in enumerate(CIFAR):
        root = tmp_path_factory.mktemp(name)
        out[name] = (root, write_fake_cifar(root, name, N_TRAIN[name], N_TEST[name], seed=seed))
    return out


def read_pickle_batches(folder, filenames):
    """Concatenated b'data' and labels of CIFAR batches, read with encoding='bytes'."""
    data, labels = [], []
    for filename in filenames:
        with open(folder / filename, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data.append(batch[b"data"])
        labels.extend(batch[b"labels"] if b"labels" in batch else batch[b"fine_labels"])
    return np.concatenate(data), np.array(labels)


def test_module_exports_the_writer_only():
    assert watlib.testing.__all__ == ["write_fake_cifar"]


def test_fake_cifar10_has_the_real_files_keys_and_batches(fakes):
    root, table = fakes["cifar10"]
    cls = tvd.CIFAR10
    folder = root / cls.base_folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(reference_checksums("cifar10"))
    assert table == {f: tv_utils.calculate_md5(folder / f) for f in reference_checksums("cifar10")}
    sizes = []
    for b, (filename, _) in enumerate(cls.train_list):
        with open(folder / filename, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
        assert batch[b"batch_label"] == f"training batch {b + 1} of {len(cls.train_list)}".encode()
        assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (len(batch[b"labels"]), 3 * 32 * 32)
        assert len(batch[b"filenames"]) == len(batch[b"labels"])
        sizes.append(len(batch[b"labels"]))
    assert sum(sizes) == N_TRAIN["cifar10"] and max(sizes) - min(sizes) <= 1
    with open(folder / cls.meta["filename"], "rb") as f:
        meta = pickle.load(f, encoding="bytes")
    assert meta[b"label_names"] == [n.encode() for n in class_names("cifar10")]
    assert meta[b"num_vis"] == 3 * 32 * 32 and meta[b"num_cases_per_batch"] == max(sizes)
    with open(folder / cls.test_list[0][0], "rb") as f:
        test = pickle.load(f, encoding="latin1")  # torchvision's encoding gives str keys
    assert test["batch_label"] == "testing batch 1 of 1" and len(test["labels"]) == N_TEST["cifar10"]
    labels = np.concatenate([read_pickle_batches(folder, [f])[1] for f, _ in cls.train_list])
    counts = np.bincount(labels, minlength=10)
    assert counts.max() - counts.min() <= 1  # class-balanced


def test_fake_cifar100_has_fine_and_true_coarse_labels(fakes):
    root, _ = fakes["cifar100"]
    folder = root / tvd.CIFAR100.base_folder
    names, coarse = cifar100_superclasses()
    for filename, n, label in [("train", N_TRAIN["cifar100"], b"training"), ("test", N_TEST["cifar100"], b"testing")]:
        with open(folder / filename, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        assert set(batch) == {b"filenames", b"batch_label", b"fine_labels", b"coarse_labels", b"data"}
        assert batch[b"batch_label"] == label + b" batch 1 of 1"
        assert batch[b"data"].shape == (n, 3 * 32 * 32) and batch[b"data"].dtype == np.uint8
        assert batch[b"coarse_labels"] == coarse[batch[b"fine_labels"]].tolist()
    with open(folder / "meta", "rb") as f:
        meta = pickle.load(f, encoding="bytes")
    assert meta[b"fine_label_names"] == [n.encode() for n in class_names("cifar100")]
    assert meta[b"coarse_label_names"] == [n.encode() for n in names]


def test_fake_cifar_is_seeded(tmp_path):
    a = write_fake_cifar(tmp_path / "a", "cifar10", 20, 10, seed=3)
    b = write_fake_cifar(tmp_path / "b", "cifar10", 20, 10, seed=3)
    c = write_fake_cifar(tmp_path / "c", "cifar10", 20, 10, seed=4)
    assert a == b
    assert a["data_batch_1"] != c["data_batch_1"]




@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"root": None}, TypeError, "root must be a str or os.PathLike, got None of type NoneType"),
        ({"name": "fashion_mnist"}, ValueError, r"name must be one of \('cifar10', 'cifar100'\), got 'fashion_mnist'"),
        ({"n_train": 0}, ValueError, "n_train must be an int >= 1, got 0"),
        ({"n_test": True}, TypeError, "n_test must be an int, got True of type bool"),
        ({"seed": -1}, ValueError, "seed must be an int >= 0, got -1"),
        ({"seed": 1.5}, TypeError, "seed must be an int, got 1.5 of type float"),
    ],
)
def test_write_fake_cifar_rejects_bad_arguments(kwargs, error, pattern, tmp_path):
    arguments = {"root": tmp_path, "name": "cifar10", "n_train": 5, "n_test": 5, "seed": 0, **kwargs}
    with pytest.raises(error, match=pattern):
        write_fake_cifar(**arguments)
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("name", CIFAR)
def test_the_generated_files_load_with_their_table(name, fakes):
    root, table = fakes[name]
    for train, n in ((True, N_TRAIN[name]), (False, N_TEST[name])):
        ds = load_dataset(name, root=root, train=train, download=False, checksums=table)
        assert len(ds) == n and ds.classes == class_names(name)
        assert ds.source == str(root / getattr(tvd, {"cifar10": "CIFAR10", "cifar100": "CIFAR100"}[name]).base_folder)
