r"""The paper's image-classification datasets, read through torchvision, held as tensors.

Fashion-MNIST [1]_, CIFAR-10 and CIFAR-100 [2]_ are read from torchvision's own files
(the gzipped IDX files of ``FashionMNIST``, the pickled batches of ``CIFAR10`` and
``CIFAR100``) by torchvision's own code (its IDX readers; the ``CIFAR10``/``CIFAR100``
classes), after the files have been found and their MD5 checked, and are returned in
memory as a :class:`ClassificationDataset`: a ``float32`` tensor ``x`` of shape
``(N, C, H, W)``, an ``int64`` tensor ``y`` of shape ``(N,)`` and the class names,
ready for random minibatches ``x[idx], y[idx]``.

Input scaling (Section 5.1 of [3]_): Fashion-MNIST is scaled to :math:`[-1, 1]`; CIFAR is
divided by 255 and then mean-subtracted with the per-channel mean of its *training* split,
computed from the data (the test split is shifted by the training mean too).

Where the files are looked for (``$WATLIB_DATA``, the Debian package's folder, watlib's cache),
what is downloaded and how checksums are checked: :func:`load_dataset`. A data root named by
the caller is never created. For tests and smoke runs, :func:`watlib.testing.write_fake_cifar`
writes small CIFAR files in the on-disk format of the real ones and returns their checksum
table, which :func:`load_dataset` accepts in place of the real one (``checksums=``). A data
set registered with its own ``loader`` (:func:`watlib.data.registry.register_dataset`) is
read by that loader, and what it returns is checked against its entry.

References
----------
.. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset for
   Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
.. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
   Technical report, University of Toronto.
.. [3] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N. (2019).
   Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import re
import socket
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from urllib.error import HTTPError, URLError

import torch

from .._checks import check_bool, check_choice, check_int, check_path
from .._extras import needs_extra
from .registry import CLASSIFICATION_DATASETS, dataset_info

__all__ = [
    "DATASETS",
    "DATA_ENV",
    "DEBIAN_FASHION_MNIST",
    "DOWNLOAD_TIMEOUT",
    "FASHION_MNIST_CONTENT_MD5",
    "ClassificationDataset",
    "DatasetNotFoundError",
    "DatasetChecksumError",
    "cache_dir",
    "load_dataset",
    "reference_checksums",
    "subset",
    "cifar100_superclasses",
]

#: Names accepted by :func:`load_dataset`: the classification data sets of the registry.
DATASETS = CLASSIFICATION_DATASETS

#: Environment variable naming a torchvision-style data root, searched first.
DATA_ENV = "WATLIB_DATA"

#: Folder of the Debian package ``dataset-fashion-mnist`` (the four original gz files).
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

#: Seconds a download may wait on one network operation before it fails
#: (``socket.setdefaulttimeout`` for the duration of the download only).
DOWNLOAD_TIMEOUT = 60.0

#: MD5 of the *uncompressed* IDX files of Zalando's Fashion-MNIST release. torchvision's
#: table holds the MD5 of the gz files; the Debian package ``dataset-fashion-mnist``
#: (0.0~git20200523) ships the same data recompressed (other gzip headers, other gz MD5),
#: so a gz file is also accepted when its decompressed content has the MD5 listed here.
#: torchvision has no such table; these are the values public loaders list for the
#: uncompressed originals, and the Debian files decompress to exactly them.
FASHION_MNIST_CONTENT_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

_MD5 = re.compile(r"[0-9a-f]{32}")


class DatasetNotFoundError(FileNotFoundError):
    """No complete copy of a dataset was found, and none could be downloaded.

    The message lists every folder searched (and the files missing from each), the reason
    a download did not happen or failed (saying so plainly when the machine cannot reach the
    download server: offline, torchvision's download cannot work), and how to get the files:
    the URL torchvision downloads from, the Debian package for Fashion-MNIST, ``root=`` and
    ``$WATLIB_DATA``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     try:
    ...         load_dataset("cifar10", root=empty, download=False)
    ...     except DatasetNotFoundError as err:
    ...         print(str(err).splitlines()[0])
    cifar10: no complete copy found. Searched, in order:
    """


class DatasetChecksumError(RuntimeError):
    """A dataset file's MD5 differs from its checksum table: the file is not used.

    The message names the file, the expected and the actual MD5 and where the expected one
    came from (torchvision's table of the real files, or the ``checksums`` argument).

    Examples
    --------
    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = write_fake_cifar(root, "cifar10", n_train=10, n_test=5, seed=0)
    ...     try:  # generated files checked against the real CIFAR-10 table
    ...         load_dataset("cifar10", root=root, download=False)
    ...     except DatasetChecksumError as err:
    ...         print("data_batch_1" in str(err), "c99cafc152244af753f735de768cd75f" in str(err))
    True True
    """


def _torchvision():
    """``torchvision.datasets`` with its IDX readers and MD5 (imported here: the core needs no torchvision)."""
    with needs_extra("data", "reading the classification data sets"):
        import torchvision.datasets.mnist
        import torchvision.datasets.utils
    return torchvision.datasets


def _torchvision_class(name):
    """torchvision's dataset class for ``name``."""
    return getattr(_torchvision(), dataset_info(name).torchvision_class)


def reference_checksums(name):
    r"""MD5 checksums of the real files of a dataset, read from torchvision's own tables.

    For each file :math:`f` that :func:`load_dataset` reads,

    .. math::
        \mathrm{reference\_checksums}(\mathrm{name})[f] = \mathrm{MD5}(f_{\mathrm{real}}),

    taken from ``FashionMNIST.resources`` (the four ``.gz`` files) or from
    ``CIFAR10``/``CIFAR100``'s ``train_list``, ``test_list`` and ``meta`` (the files inside
    ``cifar-10-batches-py`` / ``cifar-100-python``). These are the defaults of
    ``load_dataset(..., checksums=None)``.

    Parameters
    ----------
    name : str
        ``"fashion_mnist"``, ``"cifar10"`` or ``"cifar100"``.

    Returns
    -------
    checksums : dict of str to str, length F (4, 7 or 3 files)
        File name (relative to the dataset's folder) to its 32-character lowercase hex MD5,
        training files first, then test files, then the meta file. A new dict on each call.

    References
    ----------
    .. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset
       for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
    .. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.

    Examples
    --------
    >>> reference_checksums("cifar100")
    {'train': '16019d7e3df5f24257cddd939b257f8d', 'test': 'f0ef6b0ae62326f3e7ffdfab6717acfc', 'meta': '7973b15100ade9c7d40fb424638fde48'}
    >>> list(reference_checksums("fashion_mnist"))[0]
    'train-images-idx3-ubyte.gz'
    """
    check_choice("name", name, DATASETS)
    cls = _torchvision_class(name)
    if name == "fashion_mnist":
        return {filename: md5 for filename, md5 in cls.resources}
    table = {filename: md5 for filename, md5 in cls.train_list + cls.test_list}
    table[cls.meta["filename"]] = cls.meta["md5"]
    return table


def cifar100_superclasses():
    r"""CIFAR-100's 20 superclasses and the superclass of each of its 100 classes.

    .. math::
        \begin{aligned}&\mathrm{coarse}[k] = s \iff \text{class } k \text{ belongs to superclass } s,\\
        &k = 0, \dots, 99, \quad s = 0, \dots, 19,\end{aligned}

    with the fine labels of ``dataset_info("cifar100").classes`` and the coarse labels of the
    ``coarse_label_names`` in CIFAR-100's meta file (both alphabetical), from the table
    :data:`watlib.data.registry.CIFAR100_SUPERCLASSES`. Each superclass holds exactly five
    classes (Krizhevsky 2009, Appendix D). Note that the consecutive blocks of five *fine
    indices* are not superclasses: the fine labels are alphabetical.

    Returns
    -------
    names : list of str, length 20
        Superclass names, index order.
    coarse : torch.Tensor, shape (100,), int64
        Superclass index of each fine label.

    References
    ----------
    .. [1] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.

    Examples
    --------
    >>> names, coarse = cifar100_superclasses()
    >>> fine = dataset_info("cifar100").classes
    >>> fine[0], names[coarse[0]]
    ('apple', 'fruit_and_vegetables')
    >>> [f for f, c in zip(fine, coarse.tolist()) if names[c] == "people"]
    ['baby', 'boy', 'girl', 'man', 'woman']
    """
    info = dataset_info("cifar100")
    names = list(info.superclasses)  # coarse-label order
    of = {fine: s for s, members in enumerate(info.superclasses.values()) for fine in members}
    coarse = torch.tensor([of[fine] for fine in info.classes], dtype=torch.int64)
    return names, coarse


@dataclasses.dataclass(repr=False, eq=False)
class ClassificationDataset(torch.utils.data.Dataset):
    r"""An image-classification split held in memory as tensors.

    Sample :math:`i` is the pair ``(x[i], y[i])``; the inputs are the pixels
    :math:`p \in \{0, \dots, 255\}` mapped per channel :math:`c` by

    .. math::
        x_{i,c,h,w} = \frac{p_{i,c,h,w} / 255 - \mathrm{shift}_c}{\mathrm{scale}_c},

    so that ``(x * scale[:, None, None] + shift[:, None, None]) * 255`` gives the pixels
    back. :func:`load_dataset` uses shift 0.5, scale 0.5 for Fashion-MNIST (range
    :math:`[-1, 1]`) and shift = training mean, scale 1 for CIFAR.

    Indexing with an int, a slice or an index tensor returns ``(x[index], y[index])``, so
    the object works both as a ``torch.utils.data.Dataset`` and for direct minibatches.
    The fields are checked on construction (types, shapes, devices, labels in
    ``[0, K)``, finite inputs, positive scales).

    Parameters
    ----------
    x : torch.Tensor, shape (N, C, H, W), floating
        Scaled inputs.
    y : torch.Tensor, shape (N,), int64
        Labels in ``[0, K)``, on the device of ``x``.
    classes : list of str, length K
        Class names in label order (those of :func:`~watlib.data.registry.dataset_info`).
    name : str
        Dataset name, e.g. ``"cifar10"``.
    train : bool
        True for the training split.
    shift : torch.Tensor, shape (C,), optional
        Per-channel shift of the formula above, in units of pixel/255; zeros when omitted.
    scale : torch.Tensor, shape (C,), optional
        Per-channel scale (> 0); ones when omitted.
    indices : torch.Tensor, shape (N,), int64, optional
        Position of each sample in the full split it came from (kept through
        :func:`subset`); ``arange(N)`` when omitted.
    source : str, optional
        Folder the files were read from.

    Attributes
    ----------
    num_classes : int
        K, the number of classes.

    References
    ----------
    .. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset
       for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
    .. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.

    Examples
    --------
    >>> x = torch.zeros(4, 1, 2, 2)
    >>> ds = ClassificationDataset(x, torch.tensor([0, 1, 1, 0]), ["a", "b"], "toy", True)
    >>> len(ds), ds.num_classes, ds[1:3][1]
    (4, 2, tensor([1, 1]))
    >>> ds
    ClassificationDataset(name='toy', train=True, x=float32[4, 1, 2, 2] on cpu, K=2)
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: list
    name: str
    train: bool
    shift: torch.Tensor | None = None
    scale: torch.Tensor | None = None
    indices: torch.Tensor | None = None
    source: str | None = None

    def __post_init__(self):
        x, y = self.x, self.y
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a floating-point torch.Tensor, got {_describe(x)}")
        if x.ndim != 4:
            raise ValueError(f"x must have shape (N, C, H, W), got shape {tuple(x.shape)}")
        if not isinstance(y, torch.Tensor) or y.dtype != torch.int64:
            raise TypeError(f"y must be an int64 torch.Tensor, got {_describe(y)}")
        if y.shape != (len(x),):
            raise ValueError(f"y must have shape (N,) = ({len(x)},) like x, got shape {tuple(y.shape)}")
        if y.device != x.device:
            raise ValueError(f"y must be on the device of x ({x.device}), got {y.device}")
        if not isinstance(self.classes, (list, tuple)) or not all(isinstance(c, str) for c in self.classes):
            raise TypeError(f"classes must be a list of str, got {self.classes!r}")
        if len(self.classes) < 1:
            raise ValueError("classes must name at least one class, got an empty list")
        self.classes = list(self.classes)
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__} {self.name!r}")
        check_bool("train", self.train)
        K = len(self.classes)
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= K):
            bad = y[(y < 0) | (y >= K)][0].item()
            raise ValueError(f"y must hold labels in [0, K) = [0, {K}) (K = len(classes)), got {bad}")
        # a NaN or an infinity anywhere makes the sum non-finite; a finite sum settles it fast
        if not bool(torch.isfinite(x.sum())) and not bool(torch.isfinite(x).all()):
            raise ValueError("x must be finite, got a NaN or an infinite value")
        C = x.shape[1]
        self.shift = self._channel_vector(self.shift, "shift", 0.0)
        self.scale = self._channel_vector(self.scale, "scale", 1.0)
        if not bool((self.scale > 0).all()) or not bool(torch.isfinite(self.shift).all()):
            raise ValueError(
                f"scale must be > 0 and shift finite (one value per channel, C = {C}), "
                f"got scale {self.scale.tolist()} and shift {self.shift.tolist()}"
            )
        if self.indices is None:
            self.indices = torch.arange(len(x), device=x.device)
        if not isinstance(self.indices, torch.Tensor) or self.indices.dtype != torch.int64:
            raise TypeError(f"indices must be an int64 torch.Tensor, got {_describe(self.indices)}")
        if self.indices.shape != (len(x),) or self.indices.device != x.device:
            raise ValueError(
                f"indices must have shape (N,) = ({len(x)},) on {x.device}, "
                f"got shape {tuple(self.indices.shape)} on {self.indices.device}"
            )
        if self.source is not None and not isinstance(self.source, str):
            raise TypeError(f"source must be a str or None, got {type(self.source).__name__} {self.source!r}")

    def _channel_vector(self, value, argname, default):
        """``value`` as a (C,) floating tensor on the device of x; ``default`` everywhere if None."""
        C = self.x.shape[1]
        if value is None:
            return torch.full((C,), default, dtype=self.x.dtype, device=self.x.device)
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise TypeError(f"{argname} must be a floating-point torch.Tensor, got {_describe(value)}")
        if value.shape != (C,) or value.device != self.x.device:
            raise ValueError(
                f"{argname} must have shape (C,) = ({C},) on {self.x.device}, "
                f"got shape {tuple(value.shape)} on {value.device}"
            )
        return value

    @property
    def num_classes(self):
        return len(self.classes)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def __repr__(self):
        dtype = str(self.x.dtype).removeprefix("torch.")
        shape = ", ".join(str(s) for s in self.x.shape)
        return (
            f"ClassificationDataset(name={self.name!r}, train={self.train}, "
            f"x={dtype}[{shape}] on {self.x.device}, K={self.num_classes})"
        )

    def to(self, device):
        """A copy with every tensor moved to ``device`` (``torch.device`` or str).

        Examples
        --------
        >>> ds = ClassificationDataset(torch.zeros(2, 1, 1, 1), torch.tensor([0, 1]), ["a", "b"], "toy", False)
        >>> ds.to("cpu").x.device
        device(type='cpu')
        """
        return dataclasses.replace(
            self,
            x=self.x.to(device),
            y=self.y.to(device),
            shift=self.shift.to(device),
            scale=self.scale.to(device),
            indices=self.indices.to(device),
        )


def _describe(value):
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"


def _checksum_table(name, checksums):
    """The table to verify against, and a phrase saying where it came from."""
    reference = reference_checksums(name)
    if checksums is None:
        cls = _torchvision_class(name)
        return reference, f"torchvision.datasets.{cls.__name__}'s table of the real files"
    if not isinstance(checksums, Mapping):
        raise TypeError(f"checksums must be a mapping of file name to MD5 or None, got {type(checksums).__name__}")
    if set(checksums) != set(reference):
        raise ValueError(f"checksums must have exactly the files of {name} as keys, {sorted(reference)}; "
                         f"got {sorted(map(str, checksums))}")
    for filename, md5 in checksums.items():
        if not isinstance(md5, str) or not _MD5.fullmatch(md5):
            raise ValueError(f"checksums[{filename!r}] must be an MD5 as 32 lowercase hex digits, got {md5!r}")
    return {filename: checksums[filename] for filename in reference}, "the checksums argument"


def cache_dir():
    r"""watlib's user cache folder: ``$XDG_CACHE_HOME/watlib``, else ``~/.cache/watlib``.

    .. math::
        \mathrm{cache\_dir}() = (\$\mathrm{XDG\_CACHE\_HOME} \text{ or } \sim/.\mathrm{cache})
        \,/\, \mathrm{watlib}

    A torchvision root, searched last by :func:`load_dataset` and where it downloads when no
    ``root`` nor ``$WATLIB_DATA`` is given; the synthetic Vaihingen scenes of
    :func:`~watlib.data.synthetic.synthetic_vaihingen_root` live under it too. Read from the
    environment on each call; the folder is not created here.

    Returns
    -------
    folder : pathlib.Path

    References
    ----------
    .. [1] XDG Base Directory Specification, freedesktop.org (``$XDG_CACHE_HOME``).

    Examples
    --------
    >>> cache_dir().name
    'watlib'
    """
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "watlib"


def _dataset_dirs(name, torchvision_root):
    """Folders that would hold the files directly, for a torchvision-style root."""
    root = Path(torchvision_root)
    if name == "fashion_mnist":
        # torchvision's layout, then the files directly in root (as in the Debian package)
        return [root / "FashionMNIST" / "raw", root]
    return [root / _torchvision_class(name).base_folder]


def _search_plan(name, root):
    """(folders to search in order, torchvision root that a download goes to)."""
    if root is not None:
        return _dataset_dirs(name, root), root
    env = os.environ.get(DATA_ENV)
    roots = [Path(env).expanduser()] if env else []
    dirs = [d for r in roots for d in _dataset_dirs(name, r)]
    if name == "fashion_mnist":
        dirs.append(DEBIAN_FASHION_MNIST)
    cache = cache_dir()
    dirs.extend(_dataset_dirs(name, cache))
    return dirs, roots[0] if roots else cache


def _find(dirs, filenames):
    """First folder holding every file, and a report line for each folder searched."""
    report = []
    for folder in dirs:
        missing = [f for f in filenames if not (folder / f).is_file()]
        if not missing:
            return folder, report
        what = "all files missing" if len(missing) == len(filenames) else "missing " + ", ".join(missing)
        report.append(f"  {folder} ({what})")
    return None, report


def _how_to_get(name, download_root):
    cls = _torchvision_class(name)
    if name == "fashion_mnist":
        urls = ", ".join(f"{cls.mirrors[0]}{filename}" for filename, _ in cls.resources)
        return (
            f"To get it: install the Debian package dataset-fashion-mnist (it puts the four files "
            f"in {DEBIAN_FASHION_MNIST}); or download {urls} into a folder R and pass root=R or "
            f"set {DATA_ENV}=R; or call with download=True where the network allows "
            f"(torchvision downloads into {Path(download_root) / 'FashionMNIST' / 'raw'})."
        )
    return (
        f"To get it: download {cls.url} (MD5 {cls.tgz_md5}) and extract it into a folder R, so "
        f"that R/{cls.base_folder}/ holds the files, then pass root=R or set {DATA_ENV}=R; or "
        f"call with download=True where the network allows (torchvision downloads and extracts "
        f"into {download_root})."
    )


def _download(name, download_root, train):
    """Let torchvision's class download the files into ``download_root``, with a timeout."""
    cls = _torchvision_class(name)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        cls(str(download_root), train=train, download=True)
    finally:
        socket.setdefaulttimeout(previous)


def _locate(name, root, train, download, filenames):
    """The folder holding every file of the dataset, downloading it first if allowed."""
    dirs, download_root = _search_plan(name, root)
    folder, report = _find(dirs, filenames)
    if folder is not None:
        return folder
    if download and download_root != cache_dir() and not Path(download_root).is_dir():
        # a data root named by the caller is never created (only watlib's own cache is)
        why = (f"Nothing was downloaded: ${DATA_ENV} names {download_root}, which is not an existing "
               f"folder, and watlib never creates a data root; create it to download into it.")
    elif download:
        try:
            _download(name, download_root, train)
        except (URLError, OSError, RuntimeError) as err:
            why = f"Downloading into {download_root} failed: {type(err).__name__}: {err}"
            if _unreachable(err):
                why += (f"\nThe download server cannot be reached from this machine (no network, or a proxy "
                        f"in the way), so download=True cannot work here: get the files on a machine with "
                        f"network access and copy them onto this one, as below.")
            raise DatasetNotFoundError(_not_found(name, report, why, download_root)) from err
        folder, report = _find(dirs, filenames)
        if folder is not None:
            return folder
        why = f"torchvision's download into {download_root} did not produce the files."
    else:
        why = "download=False, so nothing was downloaded."
    raise DatasetNotFoundError(_not_found(name, report, why, download_root))


def _unreachable(err):
    """Whether a failed download never reached the server (offline, DNS, proxy, timeout)."""
    if isinstance(err, HTTPError):  # the server answered (404, 503, ...)
        return False
    if isinstance(err, RuntimeError):
        # torchvision's Fashion-MNIST tries each mirror and reports their URLErrors as text
        text = str(err)
        return "<urlopen error" in text and "HTTP Error" not in text
    return isinstance(err, (URLError, ConnectionError, TimeoutError, socket.gaierror))


def _missing_root(name, argname, root):
    """The message of a data root that does not exist (it is not created)."""
    what = "is not a folder" if root.exists() else "does not exist"
    return (
        f"{name}: {argname} {root} {what}; watlib never creates a data root. Pass the folder that "
        f"holds the files (a torchvision root), create it first to download into it, or pass "
        f"root=None to search ${DATA_ENV}, the Debian package folder and the cache ({cache_dir()})."
    )


def _not_found(name, report, why, download_root):
    return "\n".join(
        [f"{name}: no complete copy found. Searched, in order:", *report, why, _how_to_get(name, download_root)]
    )


def _md5(path):
    return _torchvision().utils.calculate_md5(path)


def _mismatch(path, actual, expected, source, detail=""):
    return DatasetChecksumError(
        f"{path}: MD5 is {actual}, expected {expected} (from {source}).{detail} The file is "
        f"corrupted or not the right one; it was not used. Replace it (delete it and load "
        f"again with download=True, or copy a good one)."
    )


def _verify(folder, table, source):
    """Check the MD5 of every file of ``table`` in ``folder``; raise on the first mismatch."""
    for filename, expected in table.items():
        actual = _md5(folder / filename)
        if actual != expected:
            raise _mismatch(folder / filename, actual, expected, source)


def _gunzip(src, dst):
    """Decompress ``src`` into ``dst``; (MD5 of the content, None) or (None, why it failed)."""
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(src, "rb") as f, open(dst, "wb") as out:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as err:
        return None, f"cannot be decompressed ({type(err).__name__}: {err})"
    return digest.hexdigest(), None


def _read_fashion_mnist(folder, table, source, train):
    """uint8 pixels (N, 1, 28, 28) and labels of one split, checked, then read by torchvision.

    The split's two gz files are decompressed into a temporary folder (nothing is written
    next to the originals); each is accepted when its own MD5 matches ``table`` or the MD5
    of its content matches :data:`FASHION_MNIST_CONTENT_MD5`, then read by torchvision's
    IDX readers (``torchvision.datasets.mnist.read_image_file`` / ``read_label_file``).
    """
    mnist = _torchvision().mnist
    prefix = "train" if train else "t10k"  # torchvision's file names, as in MNIST._load_data
    with tempfile.TemporaryDirectory(prefix="watlib-fashion-mnist-") as tmp:
        read = {}
        for kind, reader in (("images-idx3", mnist.read_image_file), ("labels-idx1", mnist.read_label_file)):
            content = f"{prefix}-{kind}-ubyte"
            path, expected = folder / f"{content}.gz", table[f"{content}.gz"]
            actual = _md5(path)
            content_md5, broken = _gunzip(path, Path(tmp) / content)
            reference = FASHION_MNIST_CONTENT_MD5[content]
            if actual != expected and content_md5 != reference:
                found = broken or f"has MD5 {content_md5}"
                detail = f" Its decompressed content {found}, not the original's {reference}."
                raise _mismatch(path, actual, expected, source, detail)
            read[kind] = reader(str(Path(tmp) / content))
    classes = list(_torchvision_class("fashion_mnist").classes)
    return read["images-idx3"].unsqueeze(1), read["labels-idx1"], classes


def _read_cifar(name, folder, train):
    """uint8 pixels (N, 3, 32, 32) and labels of a verified folder, read by torchvision.

    A subclass of ``CIFAR10``/``CIFAR100`` whose integrity checks are the one already made
    against the checksum table reads the pickles with torchvision's own code.
    """
    cls = _torchvision_class(name)
    reader = type(
        cls.__name__, (cls,), {"meta": {**cls.meta, "md5": None}, "_check_integrity": lambda self: True}  # _verify checked
    )
    split = reader(str(folder.parent), train=train, download=False)
    # torchvision keeps HWC for PIL; the files hold CHW planes, which is what we return
    pixels = torch.from_numpy(split.data).permute(0, 3, 1, 2).contiguous()
    return pixels, torch.tensor(split.targets, dtype=torch.int64), list(split.classes)


def _from_loader(info, root, train):
    """The split its registry entry's ``loader`` reads, checked against the entry."""
    x, y = info.loader(root, train)
    size = info.image_size or ("H", "W")
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != info.in_channels or (
            info.image_size is not None and tuple(x.shape[2:]) != tuple(size)):
        raise ValueError(f"the loader of {info.name!r} must return inputs (N, {info.in_channels}, {size[0]}, {size[1]}), "
                         f"got {getattr(x, 'shape', type(x))}")
    return ClassificationDataset(x=x, y=y, classes=list(info.classes), name=info.name, train=train,
                                 source=None if root is None else str(root))


def _channel_mean(pixels):
    """Exact per-channel mean of uint8 pixels (N, C, H, W), divided by 255, in float64."""
    n = pixels.shape[0] * pixels.shape[2] * pixels.shape[3]
    return pixels.sum(dim=(0, 2, 3), dtype=torch.int64).to(torch.float64) / (255 * n)


def load_dataset(name, root=None, train=True, download=True, checksums=None):
    r"""Load a split of Fashion-MNIST, CIFAR-10 or CIFAR-100 as scaled in-memory tensors.

    The files are found (see below) and checked against their MD5, then read by
    torchvision (its IDX readers, its ``CIFAR10``/``CIFAR100`` classes) and scaled
    as in Section 5.1 of [3]_:

    .. math::
        \begin{aligned}
        x^{\mathrm{FMNIST}}_{i} &= \frac{p_i}{127.5} - 1 \in [-1, 1],\\
        x^{\mathrm{CIFAR}}_{i,c} &= \frac{p_{i,c}}{255} - \mu_c, \quad
        \mu_c = \frac{1}{N_{\mathrm{tr}} H W} \sum_{j \in \mathrm{train}} \sum_{h, w}
        \frac{p_{j,c,h,w}}{255},
        \end{aligned}

    with :math:`p \in \{0, \dots, 255\}` the pixels. CIFAR is divided by 255 first, as in
    the authors' released code (``ToTensor`` then ``Normalize(mean, std=1)``), so that it
    lives on a scale comparable with Fashion-MNIST's; the mean :math:`\mu` is computed
    exactly from the training files (integer sums), and the *test* split is shifted by the
    *training* mean. The values subtracted and divided are kept in the result's ``shift``
    and ``scale``.

    Search order. With ``root`` given, only ``root`` is searched: a torchvision root
    (``root/FashionMNIST/raw/*.gz``, ``root/cifar-10-batches-py/``,
    ``root/cifar-100-python/``) or, for Fashion-MNIST, a folder holding the four gz files
    directly. With ``root=None``: ``$WATLIB_DATA`` (a torchvision root), then
    :data:`DEBIAN_FASHION_MNIST` for Fashion-MNIST, then ``$XDG_CACHE_HOME/watlib``
    (``~/.cache/watlib``). The first folder holding every file is used, even if one of them
    is corrupted (which then raises: a corrupted copy is never skipped over silently nor
    overwritten). When none is complete and ``download`` is true, torchvision's class
    downloads the files into ``root``, else ``$WATLIB_DATA``, else the cache; a network
    operation that waits more than :data:`DOWNLOAD_TIMEOUT` seconds fails. A ``root`` or
    ``$WATLIB_DATA`` that is not an existing folder is never created: ``root`` raises
    :class:`DatasetNotFoundError` at once, ``$WATLIB_DATA`` is not downloaded into. Only the
    cache (:func:`cache_dir`) is created for a download.

    Checksums. The MD5 of every file of the dataset is compared with ``checksums``, which
    defaults to torchvision's table of the real files (:func:`reference_checksums`). Files
    generated by :func:`watlib.testing.write_fake_cifar` cannot match it; pass the table that
    function returns to read them through this same code path. CIFAR files are unpickled only
    after their checksum matched. Every CIFAR file is checked; for Fashion-MNIST, the two files
    of the split, which are decompressed to be checked. A Fashion-MNIST gz file whose own MD5
    differs is still accepted when its decompressed content has the MD5 of the original
    (:data:`FASHION_MNIST_CONTENT_MD5`): the Debian package recompressed the files, which
    changes their gz MD5 but not the data; a broken gz stream is rejected.

    Parameters
    ----------
    name : str
        ``"fashion_mnist"``, ``"cifar10"``, ``"cifar100"`` or another registered classification
        data set (read by its entry's ``loader``, which gets ``root`` and ``train``).
    root : str or os.PathLike, optional
        An existing folder to search (and download into); see above.
    train : bool, default True
        Training split (60000 or 50000 images) or test split (10000 images).
    download : bool, default True
        Let torchvision download the files when no complete copy is found.
    checksums : mapping of str to str, optional
        MD5 (32 lowercase hex digits) of every file, keyed as in
        :func:`reference_checksums`; that table when omitted.

    Returns
    -------
    dataset : ClassificationDataset
        ``x``: float32 tensor of shape (N, C, H, W) on the CPU: (N, 1, 28, 28) for Fashion-MNIST,
        (N, 3, 32, 32) for CIFAR; ``y``: int64 tensor of shape (N,); ``classes``: the K names of
        :func:`~watlib.data.registry.dataset_info`; ``shift``, ``scale``: shape (C,), float32;
        ``source``: the folder read.

    Raises
    ------
    DatasetNotFoundError
        ``root`` is not an existing folder (the message names it; it is not created), or
        no complete copy was found and none could be downloaded (the message lists every
        folder searched and how to get the files).
    DatasetChecksumError
        A file's MD5 differs from the table (the message names the file and both MD5s).

    References
    ----------
    .. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset
       for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
    .. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.
    .. [3] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936.

    Examples
    --------
    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as root:
    ...     table = write_fake_cifar(root, "cifar10", n_train=50, n_test=20, seed=0)
    ...     train = load_dataset("cifar10", root, train=True, checksums=table)
    ...     test = load_dataset("cifar10", root, train=False, checksums=table)
    >>> train
    ClassificationDataset(name='cifar10', train=True, x=float32[50, 3, 32, 32] on cpu, K=10)
    >>> bool(train.x.mean(dim=(0, 2, 3)).abs().max() < 1e-6)  # training mean removed
    True
    >>> torch.equal(test.shift, train.shift)  # the test split uses the training mean
    True
    """
    check_choice("name", name, DATASETS)
    if root is not None:
        root = check_path("root", root)
    check_bool("train", train)
    check_bool("download", download)
    info = dataset_info(name)
    if info.loader is not None:
        if checksums is not None:
            raise ValueError(f"checksums apply to the data sets torchvision reads; {name!r} has its own loader")
        return _from_loader(info, root, train)
    table, source = _checksum_table(name, checksums)
    if root is not None and not root.is_dir():
        raise DatasetNotFoundError(_missing_root(name, "root", root))
    folder = _locate(name, root, train, download, list(table))
    if name == "fashion_mnist":
        pixels, y, classes = _read_fashion_mnist(folder, table, source, train)
        shift = torch.full((1,), 0.5, dtype=torch.float64)
        scale = torch.full((1,), 0.5, dtype=torch.float64)
    else:
        _verify(folder, table, source)
        train_pixels, y, classes = _read_cifar(name, folder, True)
        shift = _channel_mean(train_pixels)
        scale = torch.ones(3, dtype=torch.float64)
        pixels = train_pixels
        if not train:
            del train_pixels
            pixels, y, classes = _read_cifar(name, folder, False)
    if classes != list(info.classes):
        raise ValueError(f"the class names read from {folder} must be those of watlib.data.dataset_info({name!r})"
                         f".classes, {list(info.classes)}; got {classes}")
    shift, scale = shift.to(torch.float32), scale.to(torch.float32)
    x = pixels.to(torch.float32).div_(255).sub_(shift.view(1, -1, 1, 1)).div_(scale.view(1, -1, 1, 1))
    return ClassificationDataset(
        x=x, y=y, classes=classes, name=name, train=train, shift=shift, scale=scale, source=str(folder)
    )


def subset(dataset, n, seed, stratified=True):
    r"""A deterministic random subset of ``n`` samples, balanced over the classes.

    With ``stratified=True`` class :math:`k` contributes

    .. math::
        n_k = \left\lfloor \frac{n}{K} \right\rfloor + \mathbb{1}[k \in E], \qquad
        |E| = n - K \left\lfloor \frac{n}{K} \right\rfloor,

    samples drawn uniformly without replacement among its members, the set :math:`E` of
    classes that get one more being drawn too; with ``stratified=False``, ``n`` samples are
    drawn uniformly from the whole split. All draws come from a CPU ``torch.Generator``
    seeded with ``seed``, in an order that does not depend on ``n``, so the result is the
    same on every device and subsets of one seed are nested: the subset of size
    :math:`n_1 \leq n_2` is contained in that of size :math:`n_2`. The samples keep their
    order in ``dataset``; ``indices`` still points into the full split. The scaling is not
    recomputed (a CIFAR subset keeps the full training mean).

    Parameters
    ----------
    dataset : ClassificationDataset
        Of N samples and K classes.
    n : int
        Size of the subset, 1 <= n <= N. With ``stratified``, every class must hold at
        least :math:`n_k` samples.
    seed : int
        Seed, >= 0.
    stratified : bool, default True
        Balance the classes as above.

    Returns
    -------
    subset : ClassificationDataset
        ``n`` samples: ``x`` of shape (n, C, H, W), ``y`` of shape (n,), on the device of
        ``dataset``.

    References
    ----------
    .. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset
       for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
    .. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.

    Examples
    --------
    >>> y = torch.arange(12) % 3
    >>> ds = ClassificationDataset(torch.zeros(12, 1, 1, 1), y, ["a", "b", "c"], "toy", True)
    >>> small = subset(ds, 6, seed=0)
    >>> torch.bincount(small.y).tolist()
    [2, 2, 2]
    >>> torch.equal(small.x, ds.x[small.indices])
    True
    """
    if not isinstance(dataset, ClassificationDataset):
        raise TypeError(f"dataset must be a ClassificationDataset, got {type(dataset).__name__}")
    n = check_int("n", n, ge=1)
    if n > len(dataset):
        raise ValueError(f"n must be <= len(dataset) = {len(dataset)}, got {n}")
    seed = check_int("seed", seed, ge=0)
    check_bool("stratified", stratified)
    generator = torch.Generator().manual_seed(seed)
    y = dataset.y.cpu()
    if stratified:
        K = dataset.num_classes
        base, extra = divmod(n, K)
        counts = torch.full((K,), base, dtype=torch.int64)
        counts[torch.randperm(K, generator=generator)[:extra]] += 1
        chosen = []
        for k in range(K):
            members = torch.nonzero(y == k).flatten()
            order = torch.randperm(len(members), generator=generator)
            if len(members) < counts[k]:
                raise ValueError(
                    f"n = {n} stratified over K = {K} classes needs {int(counts[k])} samples of "
                    f"class {k} ({dataset.classes[k]!r}), but the dataset holds {len(members)}"
                )
            chosen.append(members[order[: counts[k]]])
        idx = torch.cat(chosen)
    else:
        idx = torch.randperm(len(y), generator=generator)[:n]
    idx = torch.sort(idx).values.to(dataset.y.device)
    return dataclasses.replace(dataset, x=dataset.x[idx], y=dataset.y[idx], indices=dataset.indices[idx])
