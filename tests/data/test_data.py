"""watlib.data: the classification datasets.

CIFAR cannot be downloaded here, so its files are generated in the real on-disk format
(``watlib.testing.write_fake_cifar``, tested in test_testing.py) and checked against
independent readers (plain ``pickle`` with ``encoding="bytes"``, and
torchvision's own ``CIFAR10``/``CIFAR100`` with their integrity checks pointed at the
generated files). Fashion-MNIST is tested on the real files of the Debian package
``dataset-fashion-mnist`` (skipped where absent) against a numpy parser of the IDX format.
No test touches the network: torchvision's ``download_url`` is replaced for every test.
"""

import gzip
import hashlib
import io
import pickle
import re
import socket
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
import torchvision.datasets.utils as tv_utils

import watlib.data.classification as classification
from watlib.costs import class_names
from watlib.data import (
    DATA_ENV,
    DATASETS,
    DEBIAN_FASHION_MNIST,
    DOWNLOAD_TIMEOUT,
    FASHION_MNIST_CONTENT_MD5,
    ClassificationDataset,
    DatasetChecksumError,
    DatasetNotFoundError,
    cifar100_superclasses,
    load_dataset,
    cache_dir,
    reference_checksums,
    subset,
)
from watlib.testing import write_fake_cifar

from _system import missing_system

TV_CLASS = {"fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100}
CIFAR = ("cifar10", "cifar100")
N_TRAIN = {"cifar10": 103, "cifar100": 300}
N_TEST = {"cifar10": 41, "cifar100": 100}
FMNIST_FILES = [filename for filename, _ in tvd.FashionMNIST.resources]


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every download fails as it does offline; the calls are recorded."""
    calls = []

    def offline(url, root, filename=None, md5=None, max_redirect_hops=3):
        calls.append({"url": url, "root": root, "timeout": socket.getdefaulttimeout()})
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(tv_utils, "download_url", offline)
    return calls


@pytest.fixture
def places(monkeypatch, tmp_path):
    """The search places of root=None, each an empty folder of its own; WATLIB_DATA unset."""
    paths = {"env": tmp_path / "env", "debian": tmp_path / "debian", "cache_home": tmp_path / "xdg"}
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(paths["cache_home"]))
    monkeypatch.setattr(classification, "DEBIAN_FASHION_MNIST", paths["debian"])
    paths["cache"] = paths["cache_home"] / "watlib"
    return paths


@pytest.fixture(scope="module")
def fakes(tmp_path_factory):
    """Generated CIFAR-10 and CIFAR-100 roots and their checksum tables."""
    out = {}
    for seed, name in enumerate(CIFAR):
        root = tmp_path_factory.mktemp(name)
        out[name] = (root, write_fake_cifar(root, name, N_TRAIN[name], N_TEST[name], seed=seed))
    return out


def debian_files():
    missing = [f for f in FMNIST_FILES if not (DEBIAN_FASHION_MNIST / f).is_file()]
    if missing:
        missing_system(
            f"the Debian package dataset-fashion-mnist is not installed: {DEBIAN_FASHION_MNIST} lacks {missing}"
        )
    return {f: DEBIAN_FASHION_MNIST / f for f in FMNIST_FILES}


@pytest.fixture(scope="module")
def fmnist_train():
    debian_files()
    return load_dataset("fashion_mnist", root=DEBIAN_FASHION_MNIST, train=True, download=False)


def link_fmnist(folder, replace=None):
    """A Fashion-MNIST folder of links to the Debian files, with ``replace`` = {file: bytes}."""
    folder.mkdir(parents=True, exist_ok=True)
    for filename, path in debian_files().items():
        if replace and filename in replace:
            (folder / filename).write_bytes(replace[filename])
        else:
            (folder / filename).symlink_to(path)
    return folder


# ----------------------------------------------------------------------------- readers used as references


def read_pickle_batches(folder, filenames):
    """Concatenated b'data' and labels of CIFAR batches, read with encoding='bytes'."""
    data, labels = [], []
    for filename in filenames:
        with open(folder / filename, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data.append(batch[b"data"])
        labels.extend(batch[b"labels"] if b"labels" in batch else batch[b"fine_labels"])
    return np.concatenate(data), np.array(labels)


def cifar_pixels(name, root, train):
    """(N, 3, 32, 32) uint8 pixels and labels of a split, from the row-major RGB planes."""
    cls = TV_CLASS[name]
    files = [f for f, _ in (cls.train_list if train else cls.test_list)]
    data, labels = read_pickle_batches(Path(root) / cls.base_folder, files)
    return data.reshape(-1, 3, 32, 32), labels


def read_idx(path):
    """numpy parser of a gzipped IDX file (big-endian header: magic, then one int per dim)."""
    raw = gzip.decompress(Path(path).read_bytes())
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
    assert raw[2] == 0x08  # unsigned byte data
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def point_torchvision_at(cls, table, monkeypatch):
    """Make torchvision's CIFAR class check its files against ``table`` (generated files)."""
    monkeypatch.setattr(cls, "train_list", [[f, table[f]] for f, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[f, table[f]] for f, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": table[cls.meta["filename"]]})


def pixels_back(ds):
    """Pixels recovered from a dataset through its shift and scale, in float64."""
    shape = (1, -1, 1, 1)
    return (ds.x.double() * ds.scale.double().view(shape) + ds.shift.double().view(shape)) * 255


# ----------------------------------------------------------------------------- tables


@pytest.mark.parametrize("name", DATASETS)
def test_reference_checksums_are_torchvisions_tables(name):
    cls = TV_CLASS[name]
    if name == "fashion_mnist":
        expected = list(cls.resources)
    else:
        expected = [tuple(entry) for entry in cls.train_list + cls.test_list]
        expected.append((cls.meta["filename"], cls.meta["md5"]))
    table = reference_checksums(name)
    assert list(table.items()) == expected
    assert all(re.fullmatch(r"[0-9a-f]{32}", md5) for md5 in table.values())
    table.clear()
    assert reference_checksums(name)  # a new dict on each call


def test_content_table_names_the_decompressed_torchvision_files_and_matches_debian():
    assert set(FASHION_MNIST_CONTENT_MD5) == {Path(f).stem for f in FMNIST_FILES}
    for filename, path in debian_files().items():
        content = gzip.decompress(path.read_bytes())
        assert hashlib.md5(content).hexdigest() == FASHION_MNIST_CONTENT_MD5[Path(filename).stem]


def test_cifar100_superclasses_partition_the_classes_in_fives():
    names, coarse = cifar100_superclasses()
    fine = class_names("cifar100")
    assert coarse.dtype == torch.int64 and coarse.shape == (len(fine),)
    assert names == sorted(names) and len(set(names)) == len(names)
    counts = torch.bincount(coarse, minlength=len(names))
    assert counts.tolist() == [len(fine) // len(names)] * len(names)
    # the blocks of five consecutive (alphabetical) fine labels are not the superclasses
    assert not torch.equal(coarse, torch.arange(len(fine)) // (len(fine) // len(names)))


# ----------------------------------------------------------------------------- generated CIFAR files


@pytest.mark.parametrize("name", CIFAR)
def test_torchvision_reads_the_generated_files_like_load_dataset(name, fakes, monkeypatch):
    """torchvision's own class, its MD5 lists pointed at the generated files, is the reference."""
    root, table = fakes[name]
    cls = TV_CLASS[name]
    point_torchvision_at(cls, table, monkeypatch)
    for train in (True, False):
        reference = cls(str(root), train=train, download=False)
        ds = load_dataset(name, root=root, train=train, download=False, checksums=table)
        hwc = torch.from_numpy(reference.data).permute(0, 3, 1, 2).double()
        assert torch.allclose(pixels_back(ds), hwc, atol=1e-3, rtol=0)
        assert ds.y.tolist() == list(reference.targets)
        assert ds.classes == reference.classes == class_names(name)


# ----------------------------------------------------------------------------- load_dataset on generated CIFAR


@pytest.mark.parametrize("name", CIFAR)
def test_cifar_pixels_layout_and_labels(name, fakes):
    root, table = fakes[name]
    pixels, labels = cifar_pixels(name, root, train=True)
    ds = load_dataset(name, root=root, train=True, download=False, checksums=table)
    assert ds.x.dtype == torch.float32 and ds.x.shape == (N_TRAIN[name], 3, 32, 32) and ds.x.is_contiguous()
    assert ds.y.dtype == torch.int64 and ds.y.tolist() == labels.tolist()
    assert ds.classes == class_names(name) and ds.num_classes == len(class_names(name))
    assert ds.name == name and ds.train is True and len(ds) == N_TRAIN[name]
    assert ds.source == str(root / TV_CLASS[name].base_folder)
    assert torch.equal(ds.indices, torch.arange(N_TRAIN[name]))
    assert torch.equal(ds.scale, torch.ones(3))
    assert torch.equal(pixels_back(ds).round(), torch.from_numpy(pixels).double())
    # the format's definition, element by element: data[i, 1024 c + 32 h + w] = pixel (i, c, h, w)
    data, _ = read_pickle_batches(root / TV_CLASS[name].base_folder, [f for f, _ in TV_CLASS[name].train_list])
    rng = np.random.default_rng(0)
    for i, c, h, w in zip(*(rng.integers(0, n, 20).tolist() for n in (len(data), 3, 32, 32))):
        expected = data[i, 1024 * c + 32 * h + w] / 255 - ds.shift[c].item()
        assert ds.x[i, c, h, w].item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("name", CIFAR)
def test_cifar_is_divided_by_255_and_shifted_by_the_training_mean(name, fakes):
    root, table = fakes[name]
    train_pixels, _ = cifar_pixels(name, root, train=True)
    test_pixels, _ = cifar_pixels(name, root, train=False)
    train_mean = train_pixels.astype(np.float64).mean(axis=(0, 2, 3)) / 255
    test_mean = test_pixels.astype(np.float64).mean(axis=(0, 2, 3)) / 255
    assert np.abs(test_mean - train_mean).max() > 1e-4  # the two means can be told apart

    train = load_dataset(name, root=root, train=True, download=False, checksums=table)
    test = load_dataset(name, root=root, train=False, download=False, checksums=table)
    assert np.allclose(train.shift.double().numpy(), train_mean, rtol=0, atol=1e-7)
    assert torch.equal(test.shift, train.shift)
    assert train.x.double().mean(dim=(0, 2, 3)).abs().max() < 1e-6
    assert np.allclose(test.x.double().mean(dim=(0, 2, 3)).numpy(), test_mean - train_mean, rtol=0, atol=1e-6)
    assert test.train is False and len(test) == N_TEST[name]
    expected = torch.from_numpy(test_pixels).double() / 255 - torch.from_numpy(train_mean).view(1, 3, 1, 1)
    assert torch.allclose(test.x.double(), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", CIFAR)
def test_generated_files_fail_the_real_checksums(name, fakes):
    root, table = fakes[name]
    first = next(iter(reference_checksums(name)))
    folder = root / TV_CLASS[name].base_folder
    with pytest.raises(DatasetChecksumError) as err:
        load_dataset(name, root=root, download=False)
    message = str(err.value)
    assert str(folder / first) in message
    assert reference_checksums(name)[first] in message and table[first] in message
    assert "torchvision" in message


def test_a_corrupted_cifar_file_is_rejected_with_both_md5s(tmp_path):
    table = write_fake_cifar(tmp_path, "cifar10", 30, 10, seed=1)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetChecksumError) as err:
        load_dataset("cifar10", root=tmp_path, train=False, download=False, checksums=table)
    message = str(err.value)
    assert str(path) in message and table["data_batch_3"] in message
    assert tv_utils.calculate_md5(path) in message and "checksums argument" in message


def test_class_names_in_the_meta_file_must_match_costs(tmp_path):
    table = write_fake_cifar(tmp_path, "cifar10", 10, 5, seed=0)
    meta = tmp_path / "cifar-10-batches-py" / "batches.meta"
    wrong = class_names("cifar10")[::-1]
    with open(meta, "wb") as f:
        pickle.dump({"label_names": wrong, "num_cases_per_batch": 2, "num_vis": 3072}, f, protocol=2)
    table["batches.meta"] = tv_utils.calculate_md5(meta)
    with pytest.raises(ValueError, match=r"dataset_info\('cifar10'\)\.classes"):
        load_dataset("cifar10", root=tmp_path, download=False, checksums=table)


# ----------------------------------------------------------------------------- real Fashion-MNIST


def test_real_fashion_mnist_train(fmnist_train):
    ds = fmnist_train
    images = read_idx(DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz")
    labels = read_idx(DEBIAN_FASHION_MNIST / "train-labels-idx1-ubyte.gz")
    assert ds.x.shape == (len(images), 1, 28, 28) == (60000, 1, 28, 28)
    assert ds.x.dtype == torch.float32 and ds.x.is_contiguous()
    assert ds.x.min().item() == -1.0 and ds.x.max().item() == 1.0
    pixels = torch.from_numpy(images).unsqueeze(1)
    back = (ds.x + 1) * 127.5  # x = p / 127.5 - 1, undone in float32
    assert (back - pixels).abs().max().item() < 1e-4
    assert torch.equal(back.round().to(torch.uint8), pixels)
    assert ds.y.dtype == torch.int64 and torch.equal(ds.y, torch.from_numpy(labels.astype(np.int64)))
    assert ds.classes == tvd.FashionMNIST.classes == class_names("fashion_mnist")
    assert torch.bincount(ds.y).tolist() == [len(ds) // 10] * 10
    assert ds.shift.tolist() == [0.5] and ds.scale.tolist() == [0.5]


def test_real_fashion_mnist_test_found_in_the_debian_folder(places, monkeypatch):
    debian_files()
    monkeypatch.setattr(classification, "DEBIAN_FASHION_MNIST", DEBIAN_FASHION_MNIST)
    ds = load_dataset("fashion_mnist", train=False, download=False)
    labels = read_idx(DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz")
    assert ds.source == str(DEBIAN_FASHION_MNIST) and ds.train is False
    assert len(ds) == len(labels) == 10000
    assert torch.equal(ds.y, torch.from_numpy(labels.astype(np.int64)))
    assert ds.x.min().item() == -1.0 and ds.x.max().item() == 1.0
    assert torch.bincount(ds.y).tolist() == [len(ds) // 10] * 10


def flipped(data, at):
    raw = bytearray(data)
    raw[at] ^= 0xFF
    return bytes(raw)


def altered_content(path):
    """A valid gz of the file's content with one byte of the data changed."""
    content = gzip.decompress(path.read_bytes())
    return gzip.compress(flipped(content, len(content) - 1))


@pytest.mark.parametrize("corruption", ["broken gz stream", "valid gz, altered data"])
def test_a_corrupted_fashion_mnist_copy_is_rejected(tmp_path, corruption):
    target = "t10k-labels-idx1-ubyte.gz"
    source = debian_files()[target]
    data = source.read_bytes()
    bad = flipped(data, len(data) // 2) if corruption == "broken gz stream" else altered_content(source)
    folder = link_fmnist(tmp_path / "copy", replace={target: bad})
    with pytest.raises(DatasetChecksumError) as err:
        load_dataset("fashion_mnist", root=folder, train=False, download=False)
    message = str(err.value)
    assert str(folder / target) in message
    assert reference_checksums("fashion_mnist")[target] in message
    assert hashlib.md5(bad).hexdigest() in message
    assert FASHION_MNIST_CONTENT_MD5[Path(target).stem] in message
    if corruption == "broken gz stream":
        assert "cannot be decompressed" in message
    else:
        assert hashlib.md5(gzip.decompress(bad)).hexdigest() in message


def test_recompressed_fashion_mnist_with_the_original_data_is_accepted(tmp_path):
    """What the Debian package did: same data, other gz bytes."""
    target = "t10k-labels-idx1-ubyte.gz"
    source = debian_files()[target]
    recompressed = gzip.compress(gzip.decompress(source.read_bytes()), compresslevel=1, mtime=0)
    assert hashlib.md5(recompressed).hexdigest() != hashlib.md5(source.read_bytes()).hexdigest()
    folder = link_fmnist(tmp_path / "copy", replace={target: recompressed})
    ds = load_dataset("fashion_mnist", root=folder, train=False, download=False)
    assert torch.equal(ds.y, torch.from_numpy(read_idx(source).astype(np.int64)))


def test_fashion_mnist_in_torchvisions_layout_and_an_incomplete_folder(tmp_path):
    link_fmnist(tmp_path / "tv" / "FashionMNIST" / "raw")
    ds = load_dataset("fashion_mnist", root=tmp_path / "tv", train=False, download=False)
    assert ds.source == str(tmp_path / "tv" / "FashionMNIST" / "raw")
    (tmp_path / "tv" / "FashionMNIST" / "raw" / FMNIST_FILES[0]).unlink()
    with pytest.raises(DatasetNotFoundError, match=f"missing {FMNIST_FILES[0]}"):
        load_dataset("fashion_mnist", root=tmp_path / "tv", train=False, download=False)


# ----------------------------------------------------------------------------- search order, errors, downloads


def searched_folders(name, places, with_env):
    """The folders of root=None in the documented order."""
    roots = [places["env"]] if with_env else []
    folders = []
    for root in roots:
        folders += [root / "FashionMNIST" / "raw", root] if name == "fashion_mnist" else [root / TV_CLASS[name].base_folder]
    if name == "fashion_mnist":
        folders.append(places["debian"])
    cache = places["cache"]
    folders += [cache / "FashionMNIST" / "raw", cache] if name == "fashion_mnist" else [cache / TV_CLASS[name].base_folder]
    return folders


def assert_lists_in_order(message, folders):
    positions = [message.index(f"  {folder} (") for folder in folders]
    assert positions == sorted(positions)


@pytest.mark.parametrize("name", DATASETS)
def test_not_found_lists_every_folder_and_how_to_get_the_files(name, places, monkeypatch, no_network):
    monkeypatch.setenv(DATA_ENV, str(places["env"]))
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset(name, download=False)
    message = str(err.value)
    assert_lists_in_order(message, searched_folders(name, places, with_env=True))
    assert "download=False" in message and "root=" in message and DATA_ENV in message
    cls = TV_CLASS[name]
    if name == "fashion_mnist":
        assert "dataset-fashion-mnist" in message
        assert all(f"{cls.mirrors[0]}{f}" in message for f in FMNIST_FILES)
    else:
        assert cls.url in message and cls.tgz_md5 in message
    assert no_network == []
    assert isinstance(err.value, FileNotFoundError)


@pytest.mark.parametrize("name", DATASETS)
def test_offline_download_raises_a_clear_error_without_hanging(name, places, no_network):
    before = socket.getdefaulttimeout()
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset(name, download=True)
    message = str(err.value)
    assert f"Downloading into {places['cache']} failed" in message
    assert "cannot be reached from this machine" in message and "download=True cannot work here" in message
    assert_lists_in_order(message, searched_folders(name, places, with_env=False))
    assert isinstance(err.value.__cause__, (urllib.error.URLError, OSError, RuntimeError))
    assert no_network and all(call["timeout"] == DOWNLOAD_TIMEOUT for call in no_network)
    assert socket.getdefaulttimeout() == before


def test_a_server_that_answers_with_an_error_is_not_called_unreachable(places, monkeypatch):
    def refuse(url, root, filename=None, md5=None, max_redirect_hops=3):
        raise urllib.error.HTTPError(url, 503, "Service Unavailable", None, None)

    monkeypatch.setattr(tv_utils, "download_url", refuse)
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("cifar10", download=True)
    message = str(err.value)
    assert "HTTPError: HTTP Error 503" in message and "cannot be reached" not in message
    assert tvd.CIFAR10.url in message  # how to get the files, still


def test_download_lands_where_the_search_looks(places, monkeypatch, no_network, tmp_path):
    """torchvision's CIFAR download, served from a generated archive, is found afterwards."""
    made = tmp_path / "made"
    table = write_fake_cifar(made, "cifar10", 20, 10, seed=5)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(made / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    cls = tvd.CIFAR10
    point_torchvision_at(cls, table, monkeypatch)

    def serve(url, root, filename=None, md5=None, max_redirect_hops=3):
        no_network.append({"url": url, "root": root, "timeout": socket.getdefaulttimeout()})
        Path(root).mkdir(parents=True, exist_ok=True)  # as torchvision's download_url does
        Path(root, filename).write_bytes(archive.getvalue())

    monkeypatch.setattr(tv_utils, "download_url", serve)
    reference = load_dataset("cifar10", root=made, download=False, checksums=table)
    for env in (None, places["env"]):
        if env is not None:  # a fresh cache too, or the first download would be found there
            env.mkdir()  # a data root named by the caller must exist: it is never created
            monkeypatch.setenv(DATA_ENV, str(env))
            monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another cache"))
        ds = load_dataset("cifar10", download=True, checksums=table)
        expected_root = env or places["cache"]
        assert no_network[-1]["url"] == cls.url and Path(no_network[-1]["root"]) == expected_root
        assert no_network[-1]["timeout"] == DOWNLOAD_TIMEOUT
        assert ds.source == str(expected_root / "cifar-10-batches-py")
        assert torch.equal(ds.x, reference.x) and torch.equal(ds.y, reference.y)
    assert len(no_network) == 2


def test_fashion_mnist_download_lands_where_the_search_looks(places, monkeypatch, no_network):
    files = debian_files()

    def serve(url, root, filename=None, md5=None, max_redirect_hops=3):
        no_network.append({"url": url, "root": root, "timeout": socket.getdefaulttimeout()})
        Path(root, filename).write_bytes(files[filename].read_bytes())

    monkeypatch.setattr(tv_utils, "download_url", serve)
    ds = load_dataset("fashion_mnist", train=False, download=True)
    assert ds.source == str(places["cache"] / "FashionMNIST" / "raw") and len(ds) == 10000
    assert sorted(call["url"] for call in no_network) == sorted(tvd.FashionMNIST.mirrors[0] + f for f in FMNIST_FILES)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("download", [True, False])
def test_a_root_that_does_not_exist_is_named_and_never_created(name, download, tmp_path, no_network):
    root = tmp_path / "nonexistent" / "data"
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"{name}: root {root} does not exist")) as err:
        load_dataset(name, root=root, download=download)
    assert "never creates a data root" in str(err.value)
    assert not root.exists() and not root.parent.exists()
    assert no_network == []  # nothing was downloaded
    afile = tmp_path / "a file"
    afile.write_text("not a folder")
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"root {afile} is not a folder")):
        load_dataset(name, root=afile, download=download)


@pytest.mark.parametrize("name", DATASETS)
def test_an_env_root_that_does_not_exist_is_not_downloaded_into(name, places, monkeypatch, no_network):
    monkeypatch.setenv(DATA_ENV, str(places["env"]))
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset(name, download=True)
    message = str(err.value)
    assert f"${DATA_ENV} names {places['env']}, which is not an existing folder" in message
    assert_lists_in_order(message, searched_folders(name, places, with_env=True))
    assert not places["env"].exists() and no_network == []


def test_cache_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "watlib"
    assert not (tmp_path / "xdg").exists()  # reading the place does not create it
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "watlib"


def test_search_order_env_then_cache_and_root_alone(places, monkeypatch, tmp_path):
    env_table = write_fake_cifar(places["env"], "cifar10", 12, 6, seed=1)
    cache_table = write_fake_cifar(places["cache"], "cifar10", 12, 6, seed=2)
    monkeypatch.setenv(DATA_ENV, str(places["env"]))
    ds = load_dataset("cifar10", download=False, checksums=env_table)
    assert ds.source == str(places["env"] / "cifar-10-batches-py")
    monkeypatch.delenv(DATA_ENV)
    ds = load_dataset("cifar10", download=False, checksums=cache_table)
    assert ds.source == str(places["cache"] / "cifar-10-batches-py")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(DatasetNotFoundError) as err:  # an explicit root is the only place searched
        load_dataset("cifar10", root=elsewhere, download=False, checksums=cache_table)
    assert str(places["cache"]) not in str(err.value)


def test_fashion_mnist_search_order_env_debian_cache(places, monkeypatch):
    """A complete but corrupted copy is never skipped over: the first complete folder is used."""
    source = debian_files()["t10k-labels-idx1-ubyte.gz"]
    bad = {source.name: altered_content(source)}
    link_fmnist(places["debian"])
    link_fmnist(places["cache"] / "FashionMNIST" / "raw", replace=bad)
    ds = load_dataset("fashion_mnist", train=False, download=False)  # Debian before the cache
    assert ds.source == str(places["debian"])
    link_fmnist(places["env"], replace=bad)
    monkeypatch.setenv(DATA_ENV, str(places["env"]))
    with pytest.raises(DatasetChecksumError, match=re.escape(str(places["env"] / source.name))):
        load_dataset("fashion_mnist", train=False, download=False)  # env before Debian


# ----------------------------------------------------------------------------- argument checks


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"name": 3}, TypeError, r"name must be one of \('fashion_mnist', 'cifar10', 'cifar100'\), got 3 of type int"),
        ({"name": "mnist"}, ValueError, "name must be one of .*got 'mnist'"),
        ({"name": "vaihingen"}, ValueError, "name must be one of .*got 'vaihingen'"),
        ({"root": 3}, TypeError, "root must be a str or os.PathLike, got 3 of type int"),
        ({"train": "yes"}, TypeError, "train must be a bool, got 'yes' of type str"),
        ({"download": 1}, TypeError, "download must be a bool, got 1 of type int"),
        ({"checksums": ["a"]}, TypeError, "checksums must be a mapping .* got list"),
        ({"checksums": {"train": "0" * 32}}, ValueError, "checksums must have exactly the files"),
        ({"checksums": {"train": "0" * 32, "test": "0" * 32, "meta": "XYZ"}}, ValueError, r"checksums\['meta'\] .*'XYZ'"),
        ({"checksums": {"train": "A" * 32, "test": "0" * 32, "meta": "0" * 32}}, ValueError, "32 lowercase hex"),
    ],
)
def test_load_dataset_rejects_bad_arguments(kwargs, error, pattern, tmp_path):
    arguments = {"name": "cifar100", "root": tmp_path, "download": False, **kwargs}
    with pytest.raises(error, match=pattern):
        load_dataset(**arguments)


def toy(n=12, K=3, **overrides):
    fields = {"x": torch.zeros(n, 2, 3, 3), "y": torch.arange(n) % K, "classes": [str(k) for k in range(K)],
              "name": "toy", "train": True, **overrides}
    return ClassificationDataset(**fields)


@pytest.mark.parametrize(
    "overrides, error, pattern",
    [
        ({"x": torch.zeros(12, 2, 3, 3, dtype=torch.int64)}, TypeError, "x must be a floating-point torch.Tensor"),
        ({"x": torch.zeros(12, 2, 3)}, ValueError, r"x must have shape \(N, C, H, W\), got shape \(12, 2, 3\)"),
        ({"y": torch.zeros(12)}, TypeError, "y must be an int64 torch.Tensor, got a torch.float32"),
        ({"y": torch.zeros(11, dtype=torch.int64)}, ValueError, r"y must have shape \(N,\) = \(12,\).*\(11,\)"),
        ({"y": torch.full((12,), 3)}, ValueError, r"labels in \[0, K\) = \[0, 3\).*got 3"),
        ({"y": torch.full((12,), -1)}, ValueError, r"labels in \[0, K\) = \[0, 3\).*got -1"),
        ({"classes": "abc"}, TypeError, "classes must be a list of str"),
        ({"classes": []}, ValueError, "classes must name at least one class"),
        ({"name": 5}, TypeError, "name must be a str, got int 5"),
        ({"train": 1}, TypeError, "train must be a bool, got 1 of type int"),
        ({"x": torch.full((12, 2, 3, 3), float("nan"))}, ValueError, "x must be finite"),
        ({"x": torch.full((12, 2, 3, 3), float("inf"))}, ValueError, "x must be finite"),
        ({"shift": torch.zeros(3)}, ValueError, r"shift must have shape \(C,\) = \(2,\).*\(3,\)"),
        ({"shift": torch.zeros(2, dtype=torch.int64)}, TypeError, "shift must be a floating-point"),
        ({"scale": torch.tensor([1.0, 0.0])}, ValueError, r"scale must be > 0.*\[1.0, 0.0\]"),
        ({"indices": torch.arange(12.0)}, TypeError, "indices must be an int64"),
        ({"indices": torch.arange(5)}, ValueError, r"indices must have shape \(N,\) = \(12,\)"),
        ({"source": 3}, TypeError, "source must be a str or None, got int 3"),
    ],
)
def test_classification_dataset_rejects_bad_fields(overrides, error, pattern):
    with pytest.raises(error, match=pattern):
        toy(**overrides)


def test_classification_dataset_indexing_and_dataloader():
    ds = toy(n=10, x=torch.randn(10, 2, 3, 3))
    idx = torch.tensor([7, 2, 2])
    xb, yb = ds[idx]
    assert torch.equal(xb, ds.x[idx]) and torch.equal(yb, ds.y[idx])
    batches = list(torch.utils.data.DataLoader(ds, batch_size=4))
    assert torch.equal(torch.cat([b[0] for b in batches]), ds.x)
    assert torch.equal(torch.cat([b[1] for b in batches]), ds.y)
    moved = ds.to("cpu")
    assert moved.x.device == ds.x.device and torch.equal(moved.x, ds.x) and moved.classes == ds.classes


# ----------------------------------------------------------------------------- subset


def test_stratified_subset_is_balanced_deterministic_and_nested():
    y = torch.from_numpy(np.random.default_rng(0).permutation(np.arange(300) % 10))
    ds = toy(n=300, K=10, y=y, x=torch.randn(300, 1, 2, 2))
    for n in (10, 57, 100):
        small = subset(ds, n, seed=7)
        counts = torch.bincount(small.y, minlength=10)
        assert counts.sum().item() == n and counts.max() - counts.min() <= (0 if n % 10 == 0 else 1)
        assert torch.equal(small.x, ds.x[small.indices]) and torch.equal(small.y, ds.y[small.indices])
        assert torch.equal(small.indices, small.indices.sort().values)
        assert len(set(small.indices.tolist())) == n
    a, b = subset(ds, 57, seed=7), subset(ds, 57, seed=7)
    assert torch.equal(a.indices, b.indices)
    assert not torch.equal(a.indices, subset(ds, 57, seed=8).indices)
    sizes = [13, 40, 41, 200]
    sets = [set(subset(ds, n, seed=3).indices.tolist()) for n in sizes]
    assert all(small <= large for small, large in zip(sets, sets[1:]))
    nested = subset(subset(ds, 100, seed=1), 20, seed=2)  # indices still point into ds
    assert torch.equal(nested.x, ds.x[nested.indices])


def test_plain_subset_and_subset_of_a_loaded_split(fakes):
    root, table = fakes["cifar10"]
    ds = load_dataset("cifar10", root=root, download=False, checksums=table)
    small = subset(ds, 25, seed=0, stratified=False)
    assert len(small) == 25 and torch.equal(small.x, ds.x[small.indices])
    assert torch.equal(small.shift, ds.shift) and small.name == "cifar10" and small.classes == ds.classes
    assert torch.equal(subset(ds, 25, seed=0, stratified=False).indices, small.indices)


@pytest.mark.parametrize(
    "args, kwargs, error, pattern",
    [
        (("not a dataset", 3, 0), {}, TypeError, "dataset must be a ClassificationDataset, got str"),
        ((None, 0, 0), {}, ValueError, "n must be an int >= 1, got 0"),
        ((None, 13, 0), {}, ValueError, r"n must be <= len\(dataset\) = 12, got 13"),
        ((None, True, 0), {}, TypeError, "n must be an int, got True of type bool"),
        ((None, 3, -2), {}, ValueError, "seed must be an int >= 0, got -2"),
        ((None, 3, "0"), {}, TypeError, "seed must be an int, got '0' of type str"),
        ((None, 3, 0), {"stratified": "yes"}, TypeError, "stratified must be a bool, got 'yes' of type str"),
        ((None, 12, 0), {"y": torch.tensor([0] * 10 + [1, 2])}, ValueError, r"needs 4 samples of class 1 \('1'\), but the dataset holds 1"),
    ],
)
def test_subset_rejects_bad_arguments(args, kwargs, error, pattern):
    y = kwargs.pop("y", None)
    ds = toy() if y is None else toy(y=y)
    dataset = ds if args[0] is None else args[0]
    with pytest.raises(error, match=pattern):
        subset(dataset, *args[1:], **kwargs)
