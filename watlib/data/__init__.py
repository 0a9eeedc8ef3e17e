"""Datasets of the paper.

The package re-exports the public names of its four modules (``from watlib.data import
load_dataset``); each is documented once, on the page of the module that defines it:

- :mod:`watlib.data.registry`: what is known of each data set without reading a file: class
  names in label order, K, input channels, image size, schedule
  (:func:`~watlib.data.registry.dataset_info`), and CIFAR-100's superclasses
  (:data:`~watlib.data.registry.CIFAR100_SUPERCLASSES`). :mod:`watlib.costs` and
  :mod:`watlib.noise` read it.
- :mod:`watlib.data.classification`: Fashion-MNIST, CIFAR-10 and CIFAR-100 read through
  torchvision into in-memory tensors (:func:`~watlib.data.classification.load_dataset`,
  :func:`~watlib.data.classification.subset`), checked against MD5 tables
  (:func:`~watlib.data.classification.reference_checksums`);
  :func:`~watlib.data.classification.cache_dir`, watlib's user cache.
- :mod:`watlib.data.vaihingen`: the ISPRS Vaihingen tiles of the segmentation experiment
  read with rasterio (:func:`~watlib.data.vaihingen.read_vaihingen_tile`,
  :func:`~watlib.data.vaihingen.load_vaihingen`, the paper's 11/5/17 split
  :data:`~watlib.data.vaihingen.VAIHINGEN_SPLIT`, the colour code
  :func:`~watlib.data.vaihingen.colors_to_labels`).
- :mod:`watlib.data.synthetic`: synthetic scenes in the ISPRS layout
  (:func:`~watlib.data.synthetic.write_synthetic_vaihingen`,
  :func:`~watlib.data.synthetic.synthetic_vaihingen_root`), read by the same reader.

Small CIFAR files in the real format, for tests, are written by
:func:`watlib.testing.write_fake_cifar`. A data root that does not exist is never created.
"""

from . import classification, registry, synthetic, vaihingen
from .classification import *  # noqa: F401,F403  (the names of classification.__all__)
from .registry import *  # noqa: F401,F403  (the names of registry.__all__)
from .synthetic import *  # noqa: F401,F403  (the names of synthetic.__all__)
from .vaihingen import *  # noqa: F401,F403  (the names of vaihingen.__all__)

__all__ = [*registry.__all__, *classification.__all__, *vaihingen.__all__, *synthetic.__all__]
