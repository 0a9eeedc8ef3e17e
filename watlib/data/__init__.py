"""Datasets of the paper.

- :mod:`watlib.data.classification`: Fashion-MNIST, CIFAR-10 and CIFAR-100 read through
  torchvision into in-memory tensors (``load_dataset``, ``subset``), checked against MD5
  tables, and ``write_fake_cifar``, the generator of small CIFAR files in the real format
  for tests and smoke runs.
- :mod:`watlib.data.vaihingen`: the ISPRS Vaihingen tiles of the segmentation experiment
  read with rasterio (``read_vaihingen_tile``, ``load_vaihingen``, the paper's 11/5/17
  split ``VAIHINGEN_SPLIT``, the colour code ``colors_to_labels``), and
  ``write_synthetic_vaihingen``, the writer of synthetic scenes in the ISPRS layout.
"""

from . import classification, vaihingen
from .classification import *  # noqa: F401,F403  (the names of classification.__all__)
from .vaihingen import *  # noqa: F401,F403  (the names of vaihingen.__all__)

__all__ = [*classification.__all__, *vaihingen.__all__]
