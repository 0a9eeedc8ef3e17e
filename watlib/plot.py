"""Figures the chapters share.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and returns
that ``Axes``, so chapters can compose panels freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["plot_matrix"]


def _as_numpy(M) -> np.ndarray:
    if isinstance(M, torch.Tensor):
        return M.detach().cpu().double().numpy()
    return np.asarray(M, dtype=float)


def plot_matrix(
    M,
    labels: Sequence[str] | None = None,
    ax=None,
    title: str | None = None,
    cmap: str = "viridis",
    annotate: bool | None = None,
    fmt: str = "{:.2f}",
    colorbar: bool = True,
):
    """Draw a square matrix (a ground cost, a transition matrix) as a labelled heat map.

    Parameters
    ----------
    M : array-like or torch.Tensor, shape (K, K)
        The matrix to draw; row ``i`` is drawn at the top as row ``i``.
    labels : sequence of str of length K, optional
        Class names for both axes.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    title : str, optional
    cmap : str
        Matplotlib colour map.
    annotate : bool, optional
        Write each value in its cell. Defaults to True when K <= 12.
    fmt : str
        Format of the annotations.
    colorbar : bool
        Add a colour bar beside the map.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import torch
    >>> ax = plot_matrix(torch.eye(3), labels=["a", "b", "c"])
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['a', 'b', 'c']
    """
    A = _as_numpy(M)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"M must be a square matrix, got shape {A.shape}")
    K = A.shape[0]
    if labels is not None and len(labels) != K:
        raise ValueError(f"labels must have {K} entries (one per row of M), got {len(labels)}")
    if ax is None:
        size = min(3.0 + 0.45 * K, 12.0)
        _, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(A, cmap=cmap)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if labels is not None:
        fontsize = 9 if K <= 12 else max(3, int(200 / K))
        ax.set_xticks(range(K), labels, rotation=90, fontsize=fontsize)
        ax.set_yticks(range(K), labels, fontsize=fontsize)
    if annotate is None:
        annotate = K <= 12
    if annotate:
        lo, hi = np.nanmin(A), np.nanmax(A)
        mid = (lo + hi) / 2
        for i in range(K):
            for j in range(K):
                ax.text(j, i, fmt.format(A[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if A[i, j] < mid else "black")
    if title:
        ax.set_title(title)
    return ax
