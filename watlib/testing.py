r"""Writers of small files in the real formats of the data sets, for tests and docs.

Nothing here is data: the files hold random content, laid out and encoded exactly as the real
files are, so that the readers of :mod:`watlib.data` read them through their real code path
(the same parsing, the same checksum verification, given the table the writer returns).

- :func:`write_fake_cifar`: CIFAR-10 / CIFAR-100 batches in torchvision's on-disk format
  (Python 2 pickles), and their MD5 table for ``load_dataset(..., checksums=...)``.

The synthetic Vaihingen scenes are not here: they are a documented data source of the book,
with their own module, :mod:`watlib.data.synthetic`.

References
----------
.. [1] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
   Technical report, University of Toronto.

Examples
--------
>>> import tempfile
>>> from watlib.data import load_dataset
>>> with tempfile.TemporaryDirectory() as root:
...     table = write_fake_cifar(root, "cifar10", n_train=20, n_test=10, seed=0)
...     train = load_dataset("cifar10", root, checksums=table)
>>> train
ClassificationDataset(name='cifar10', train=True, x=float32[20, 3, 32, 32] on cpu, K=10)
"""

from __future__ import annotations

import pickle
import struct

import numpy as np

from ._checks import check_choice, check_int, check_path
from ._extras import needs_extra
from .data.classification import cifar100_superclasses, reference_checksums
from .data.registry import dataset_info

__all__ = ["write_fake_cifar"]

_CIFAR = ("cifar10", "cifar100")


class _Python2Pickler(pickle._Pickler):
    """Pickler writing ``str`` as Python 2 byte strings, as in the original CIFAR files.

    CIFAR's files were pickled by Python 2: their keys, names and array buffers are
    ``str`` objects of Python 2, which Python 3 reads as ``str`` with
    ``encoding="latin1"`` (torchvision) and as ``bytes`` with ``encoding="bytes"`` (the
    dataset page's ``unpickle``, hence ``b'data'``). The pure-Python pickler lets the
    ``str`` opcode be replaced; numpy arrays are reduced with their buffers as such strings.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj):
        data = obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_python2_str

    def reducer_override(self, obj):
        if type(obj) is not np.ndarray:
            return NotImplemented
        function, args, state = obj.__reduce_ex__(2)

        def as_str(value):
            return value.decode("latin1") if isinstance(value, bytes) else value

        return function, tuple(map(as_str, args)), tuple(map(as_str, state))


def _write_pickle(obj, path):
    with open(path, "wb") as f:
        _Python2Pickler(f, protocol=2).dump(obj)


def _fake_split(rng, n, K):
    """Random uint8 images (n, 3072) and class-balanced shuffled labels."""
    data = rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)
    labels = rng.permutation(np.arange(n) % K)
    return data, [int(label) for label in labels]


def _fake_filenames(name, split, n):
    """File names of generated images, e.g. ``fake_cifar10_training_000000.png``."""
    return [f"fake_{name}_{split}_{i:06d}.png" for i in range(n)]


def write_fake_cifar(root, name, n_train, n_test, seed):
    r"""Generate small CIFAR-10 or CIFAR-100 files for tests, in the real on-disk format.

    **A generator of test files**: the images are uniform random noise and the labels are
    class-balanced and shuffled; nothing in them is CIFAR. The files are those that torchvision's
    ``CIFAR10``/``CIFAR100`` read, in the layout and format of the originals (Krizhevsky 2009), so
    that :func:`watlib.data.load_dataset <watlib.data.classification.load_dataset>` reads them
    through its real code path when given the checksum table returned here:

    - CIFAR-10: ``root/cifar-10-batches-py/`` with ``data_batch_1`` ... ``data_batch_5``
      (the training images split as evenly as possible), ``test_batch`` and
      ``batches.meta``; CIFAR-100: ``root/cifar-100-python/`` with ``train``, ``test``
      and ``meta``.
    - Each batch is a protocol-2 pickle of a dict of Python 2 byte strings (``b'data'``
      etc. when read with ``encoding="bytes"``): ``b'data'``, a uint8 array of shape
      (n, 3072) whose row holds the red, green and blue 32 x 32 planes in row-major
      order, so that

      .. math::
          \mathrm{data}[i, 1024 c + 32 h + w] = p_{i,c,h,w};

      ``b'labels'`` (CIFAR-10) or ``b'fine_labels'`` and ``b'coarse_labels'`` (CIFAR-100,
      coarse from
      :func:`watlib.data.cifar100_superclasses <watlib.data.classification.cifar100_superclasses>`),
      lists of ints; ``b'batch_label'`` and ``b'filenames'``. The meta file holds ``b'label_names'``
      (CIFAR-10, with ``b'num_cases_per_batch'`` and ``b'num_vis'``) or ``b'fine_label_names'`` and
      ``b'coarse_label_names'`` (CIFAR-100), from
      :func:`watlib.data.dataset_info <watlib.data.registry.dataset_info>`.

    Parameters
    ----------
    root : str or os.PathLike
        torchvision root to write into (created if needed; existing files are replaced).
    name : str
        ``"cifar10"`` or ``"cifar100"``.
    n_train : int
        Number of training images, >= 1.
    n_test : int
        Number of test images, >= 1.
    seed : int
        Seed of the numpy generator, >= 0: same seed, same bytes.

    Returns
    -------
    checksums : dict of str to str, length F (7 for CIFAR-10, 3 for CIFAR-100)
        MD5 of each written file, keyed as
        :func:`watlib.data.reference_checksums <watlib.data.classification.reference_checksums>`:
        pass it to ``load_dataset(..., checksums=...)``.

    References
    ----------
    .. [1] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.

    Examples
    --------
    >>> import pickle, tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     table = write_fake_cifar(root, "cifar100", n_train=200, n_test=100, seed=0)
    ...     with open(f"{root}/cifar-100-python/train", "rb") as f:
    ...         batch = pickle.load(f, encoding="bytes")
    >>> sorted(table)
    ['meta', 'test', 'train']
    >>> batch[b"data"].shape, batch[b"data"].dtype, len(batch[b"fine_labels"])
    ((200, 3072), dtype('uint8'), 200)
    """
    root = check_path("root", root)
    check_choice("name", name, _CIFAR)
    n_train = check_int("n_train", n_train, ge=1)
    n_test = check_int("n_test", n_test, ge=1)
    seed = check_int("seed", seed, ge=0)
    with needs_extra("data", "write_fake_cifar (CIFAR's on-disk format)"):
        import torchvision.datasets
        from torchvision.datasets.utils import calculate_md5
    cls = getattr(torchvision.datasets, dataset_info(name).torchvision_class)
    folder = root / cls.base_folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = list(dataset_info(name).classes)
    train_data, train_labels = _fake_split(rng, n_train, len(names))
    test_data, test_labels = _fake_split(rng, n_test, len(names))
    if name == "cifar10":
        n_batches = len(cls.train_list)
        bounds = np.linspace(0, n_train, n_batches + 1).round().astype(int)
        for b, (filename, _) in enumerate(cls.train_list):
            lo, hi = bounds[b], bounds[b + 1]
            _write_pickle(
                {
                    "batch_label": f"training batch {b + 1} of {n_batches}",
                    "labels": train_labels[lo:hi],
                    "data": train_data[lo:hi],
                    "filenames": _fake_filenames(name, "training", n_train)[lo:hi],
                },
                folder / filename,
            )
        _write_pickle(
            {
                "batch_label": "testing batch 1 of 1",
                "labels": test_labels,
                "data": test_data,
                "filenames": _fake_filenames(name, "testing", n_test),
            },
            folder / cls.test_list[0][0],
        )
        meta = {"num_cases_per_batch": int(np.diff(bounds).max()), "label_names": names, "num_vis": 3072}
    else:
        coarse_names, coarse = cifar100_superclasses()
        for (filename, _), split, data, labels, n in [
            (cls.train_list[0], "training", train_data, train_labels, n_train),
            (cls.test_list[0], "testing", test_data, test_labels, n_test),
        ]:
            _write_pickle(
                {
                    "filenames": _fake_filenames(name, split, n),
                    "batch_label": f"{split} batch 1 of 1",
                    "fine_labels": labels,
                    "coarse_labels": coarse[labels].tolist(),
                    "data": data,
                },
                folder / filename,
            )
        meta = {"fine_label_names": names, "coarse_label_names": coarse_names}
    _write_pickle(meta, folder / cls.meta["filename"])
    return {filename: calculate_md5(folder / filename) for filename in reference_checksums(name)}
