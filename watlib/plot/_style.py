"""What the figure modules of :mod:`watlib.plot` share: array conversion and display names.

Private: the public names here (:data:`DATASET_LABELS`) are re-exported by :mod:`watlib.plot`.

Figures are sized for the book's page: a new figure is at most :data:`PAGE_WIDTH` inches
wide, so that at Matplotlib's 100 dpi it is shown at (nearly) its own size in the content
column of about 680 px, and an 8 pt label stays 8 pt on the page. A figure twice as wide is
shrunk to half, its text to 4 pt.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["DATASET_LABELS", "PAGE_WIDTH", "as_numpy"]

#: Display names of the datasets, for titles.
DATASET_LABELS = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}

#: Width in inches of the widest figure made here: 680 px at 100 dpi, the book's content column.
PAGE_WIDTH = 6.8


def as_numpy(M) -> np.ndarray:
    """``M`` as a float64 NumPy array (a tensor is detached and copied to the CPU first)."""
    if isinstance(M, torch.Tensor):
        return M.detach().cpu().double().numpy()
    return np.asarray(M, dtype=float)
