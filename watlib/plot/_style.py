"""What the figure modules of :mod:`watlib.plot` share: array conversion and display names.

Private: the public names here (:data:`DATASET_LABELS`) are re-exported by :mod:`watlib.plot`.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["DATASET_LABELS", "as_numpy"]

#: Display names of the datasets, for titles.
DATASET_LABELS = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


def as_numpy(M) -> np.ndarray:
    """``M`` as a float64 NumPy array (a tensor is detached and copied to the CPU first)."""
    if isinstance(M, torch.Tensor):
        return M.detach().cpu().double().numpy()
    return np.asarray(M, dtype=float)
