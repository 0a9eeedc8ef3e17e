"""Figures the chapters share.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and returns
that ``Axes``, so chapters can compose panels freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap, to_rgba

from .toy import TOY_CLASSES, TOY_COLORS

__all__ = ["plot_matrix", "plot_decision_boundary"]


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


def _class_style(K: int, colors, class_names):
    """Colours and legend names of K classes (the toy's for K <= 3 unless given)."""
    if colors is None:
        colors = TOY_COLORS[:K] if K <= len(TOY_COLORS) else [plt.cm.tab10(k % 10) for k in range(K)]
    if class_names is None:
        class_names = TOY_CLASSES[:K] if K <= len(TOY_CLASSES) else [f"class {k}" for k in range(K)]
    for name, seq in (("colors", colors), ("class_names", class_names)):
        if isinstance(seq, str) or len(seq) < K:
            raise ValueError(f"{name} must be a sequence of at least K={K} entries (one per class), got {seq!r}")
    try:
        rgba = [to_rgba(c) for c in colors[:K]]
    except ValueError as err:
        raise ValueError(f"colors must hold Matplotlib colours, got {list(colors)!r}: {err}") from err
    return rgba, [str(c) for c in class_names[:K]]


def _model_dtype_device(model, x: torch.Tensor):
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype, t.device
    return x.dtype, x.device


def plot_decision_boundary(
    model,
    x,
    y,
    ax=None,
    resolution: int = 200,
    colors: Sequence | None = None,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
    highlight=None,
    margin: float = 0.1,
    legend: bool = True,
):
    r"""Draw the predicted class regions of a 2-D classifier and the labelled points on top.

    Each pixel of a ``resolution`` x ``resolution`` grid covering the points (plus a
    ``margin`` fraction of their range on every side) is coloured by the predicted class

    .. math::
        \hat y(\mathbf{u}) = \operatorname*{argmax}_k f_\theta(\mathbf{u})_k ,

    in a light tint of the class colour; the points are drawn in the full colour of their
    label ``y`` (pass the noisy labels to see what the classifier was trained on). This is
    the bottom row of Figure 2 of the paper.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (M, 2) inputs to (M, K) logits; evaluated under ``torch.no_grad()`` in the
        dtype and on the device of its parameters (call ``model.eval()`` beforehand if it
        has dropout or batch norm).
    x : torch.Tensor or array-like, shape (N, 2)
        The points.
    y : torch.Tensor or array-like, shape (N,)
        Their integer labels in ``[0, K)``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    resolution : int
        Grid points per axis (>= 2).
    colors : sequence of K Matplotlib colours, optional
        Class colours; :data:`watlib.toy.TOY_COLORS` when K <= 3, else ``tab10``.
    title : str, optional
    class_names : sequence of K str, optional
        Legend entries; :data:`watlib.toy.TOY_CLASSES` when K <= 3, else ``class k``.
    highlight : bool array-like, shape (N,), optional
        Points to circle (for instance the mislabelled ones, ``y_noisy != y_clean``).
    margin : float
        Padding of the grid around the points, as a fraction (>= 0) of their range.
    legend : bool
        Add a legend of the classes below the axes (turn off in grids of panels and use
        one figure legend).

    Returns
    -------
    matplotlib.axes.Axes
        With one image (the regions, ``ax.images[0]``, whose array holds the predicted
        classes) and one scatter collection per class present in ``y`` (plus one for
        ``highlight``).

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Figure 2, bottom row).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Linear(2, 3)
    >>> x, y = torch.randn(30, 2), torch.arange(30) % 3
    >>> ax = plot_decision_boundary(model, x, y, resolution=50)
    >>> ax.images[0].get_array().shape, len(ax.collections)
    ((50, 50), 3)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['red', 'orange', 'black']
    """
    if not callable(model):
        raise TypeError(f"model must be a callable torch.nn.Module, got {type(model).__name__}")
    X = torch.as_tensor(x)
    Y = torch.as_tensor(y)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"x must have shape (N, 2) with N >= 1, got {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("x must be finite, got NaN or inf entries")
    if Y.shape != (X.shape[0],) or Y.is_floating_point() or Y.dtype == torch.bool:
        raise ValueError(f"y must be integer labels of shape ({X.shape[0]},), got dtype {Y.dtype} and shape {tuple(Y.shape)}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < np.inf:
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    mask = None
    if highlight is not None:
        mask = np.asarray(torch.as_tensor(highlight).cpu())
        if mask.dtype != bool or mask.shape != (X.shape[0],):
            raise ValueError(f"highlight must be a boolean mask of shape ({X.shape[0]},), got dtype {mask.dtype} "
                             f"and shape {mask.shape}")

    pts = _as_numpy(X)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-12)
    lo, hi = lo - pad, hi + pad
    u = np.linspace(lo[0], hi[0], resolution)
    v = np.linspace(lo[1], hi[1], resolution)
    grid = np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)
    dtype, device = _model_dtype_device(model, X)
    with torch.no_grad():
        logits = model(torch.as_tensor(grid, dtype=dtype, device=device))
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != grid.shape[0]:
        raise ValueError(f"model must map (M, 2) inputs to (M, K) logits, got {getattr(logits, 'shape', logits)!r}")
    labels = Y.cpu().long().numpy()
    K = logits.shape[1]
    if labels.min() < 0 or labels.max() >= K:
        raise ValueError(f"y must hold labels in [0, K) with K={K} model outputs, got range "
                         f"[{labels.min()}, {labels.max()}]")
    rgba, names = _class_style(K, colors, class_names)
    pred = logits.argmax(dim=1).cpu().numpy().reshape(resolution, resolution)

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5 * (hi[1] - lo[1]) / (hi[0] - lo[0]) + 0.5))
    tints = ListedColormap([(*c[:3], 0.3) for c in rgba])
    ax.imshow(pred, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap=tints, vmin=-0.5,
              vmax=K - 0.5, interpolation="nearest", aspect="equal")
    for k in range(K):
        sel = labels == k
        if sel.any():
            ax.scatter(pts[sel, 0], pts[sel, 1], s=6, color=rgba[k], label=names[k], linewidths=0)
    if mask is not None and mask.any():
        ax.scatter(pts[mask, 0], pts[mask, 1], s=25, facecolors="none", edgecolors="#2ca02c",
                   linewidths=0.6, label="highlighted")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=K + 1, fontsize=8, markerscale=2,
                  frameon=False)
    if title:
        ax.set_title(title)
    return ax
