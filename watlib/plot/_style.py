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

from ..data.registry import DATASET_LABELS  # display names for titles: the registry entries' labels

__all__ = ["DATASET_LABELS", "PAGE_WIDTH", "as_numpy", "figure_label"]


#: Width in inches of the widest figure made here: 680 px at 100 dpi, the book's content column.
PAGE_WIDTH = 6.8


#: Table 2's WAT labels as Matplotlib math, so that a figure writes WAT$_C$ and WAT$_{0-1}$ as
#: the prose does (subscripts), not the tables' plain WAT_C and WAT_0-1.
_MATH_LABELS = {"WAT_0-1": r"WAT$_{0\mathrm{-}1}$", "WAT_C": r"WAT$_C$"}


def figure_label(text: str) -> str:
    r"""``text`` with the WAT methods' plain labels written with subscripts, for a figure's text.

    >>> figure_label("WAT_C - WAT_0-1"), figure_label("WAT (features, WAT_C's mean)")
    ('WAT$_C$ - WAT$_{0\\mathrm{-}1}$', "WAT (features, WAT$_C$'s mean)")
    """
    for plain, math in _MATH_LABELS.items():
        text = text.replace(plain, math)
    return text


def as_numpy(M) -> np.ndarray:
    """``M`` as a float64 NumPy array (a tensor is detached and copied to the CPU first)."""
    if isinstance(M, torch.Tensor):
        return M.detach().cpu().double().numpy()
    return np.asarray(M, dtype=float)
