"""Datasets of the paper.

- :mod:`watlib.data.classification`: Fashion-MNIST, CIFAR-10 and CIFAR-100 read through
  torchvision into in-memory tensors (``load_dataset``, ``subset``), checked against MD5
  tables, and ``write_fake_cifar``, the generator of small CIFAR files in the real format
  for tests and smoke runs.
"""

from . import classification
from .classification import *  # noqa: F401,F403  (the names of classification.__all__)

__all__ = [*classification.__all__]
