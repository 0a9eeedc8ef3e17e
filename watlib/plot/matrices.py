r"""Matrices and images: heat maps of ground costs and transition matrices, dataset samples.

* :func:`plot_matrix`: one square matrix (a ground cost :math:`C`, a noise transition matrix
  :math:`T`, a transport plan) as a labelled heat map;
* :func:`plot_matrices`: several of one size side by side on one colour scale (a
  transition matrix beside its realised counterpart);
* :func:`plot_samples`: images of a dataset, one row per true class, titled with their
  (possibly flipped) training labels.

Each function draws on Matplotlib (a new figure when none is given) and returns its ``Axes``.

Examples
--------
>>> import numpy as np
>>> ax = plot_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]), labels=["cat", "dog"], title="C")
>>> ax.get_title(), len(ax.texts)
('C', 4)
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from .._checks import check_bool, check_int, check_real
from ._style import DATASET_LABELS, PAGE_WIDTH, as_numpy, figure_label

__all__ = ["plot_matrix", "plot_matrices", "plot_samples"]


def plot_matrix(
    M,
    labels: Sequence[str] | None = None,
    ax=None,
    title: str | None = None,
    cmap: str = "viridis",
    annotate: bool | None = None,
    fmt: str = "{:.2f}",
    colorbar: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Draw a square matrix (a ground cost, a transition matrix) as a labelled heat map.

    Parameters
    ----------
    M : array-like or torch.Tensor, shape (K, K)
        The matrix to draw; row ``i`` is drawn at the top as row ``i``.
    labels : sequence of str of length K, optional
        Class names for both axes.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure, at most the book's column wide (6.8 in), is made when
        omitted. Annotations are 8 pt: give each cell about 0.3 in (K = 10 in a 4.5 in wide
        panel) so that they stay legible where the figure is shown.
    title : str, optional
    cmap : str
        Matplotlib colour map.
    annotate : bool, optional
        Write each value in its cell. Defaults to True when K <= 12.
    fmt : str
        Format of the annotations.
    colorbar : bool
        Add a colour bar beside the map.
    vmin, vmax : float, optional
        Limits of the colour scale (default: the smallest and largest entry of ``M``); set
        them to compare several maps on one scale.

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
    A = as_numpy(M)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"M must be a square matrix, got shape {A.shape}")
    K = A.shape[0]
    if labels is not None and len(labels) != K:
        raise ValueError(f"labels must have {K} entries (one per row of M), got {len(labels)}")
    colorbar = check_bool("colorbar", colorbar)
    vmin = None if vmin is None else check_real("vmin", vmin)
    vmax = None if vmax is None else check_real("vmax", vmax)
    if ax is None:
        size = min(2.4 + 0.42 * K, PAGE_WIDTH)  # 6.6 in for K = 10: the page shows it at its size
        _, ax = plt.subplots(figsize=(size, size * 0.85), layout="constrained")
    im = ax.imshow(A, cmap=cmap, vmin=vmin, vmax=vmax)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if labels is not None:
        fontsize = 9 if K <= 12 else max(3, int(200 / K))
        ax.set_xticks(range(K), labels, rotation=90, fontsize=fontsize)
        ax.set_yticks(range(K), labels, fontsize=fontsize)
    else:  # rows and columns are indices: whole numbers on the axes, never 2.5
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    if annotate is None:
        annotate = K <= 12
    if annotate:
        # white text on dark cells, black on light ones, whatever the colour map
        rgb = im.cmap(im.norm(A))[..., :3]
        dark = rgb @ np.array([0.299, 0.587, 0.114]) < 0.5
        for i in range(K):
            for j in range(K):
                ax.text(j, i, fmt.format(A[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if dark[i, j] else "black")
    if title:
        ax.set_title(title)
    return ax


def plot_matrices(
    matrices,
    labels: Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
    fig=None,
    cmap: str = "Blues",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool | None = None,
    fmt: str = "{:.2f}",
):
    r"""Draw square matrices of one size side by side, on one colour scale, with one colour bar.

    Each panel is :func:`plot_matrix`; the colour of entry :math:`(i, j)` of matrix
    :math:`M^{(m)}` is the same function of its value in every panel,

    .. math::
        \begin{aligned}
        \mathrm{colour}\big(M^{(m)}_{ij}\big) &= \mathrm{cmap}\left(
        \frac{M^{(m)}_{ij} - v_{\min}}{v_{\max} - v_{\min}}\right),\\
        v_{\min} &= \min_{m,i,j} M^{(m)}_{ij}, \quad v_{\max} = \max_{m,i,j} M^{(m)}_{ij}
        \end{aligned}

    (unless ``vmin``/``vmax`` are given), so that a noise transition matrix and its realised
    counterpart (:func:`watlib.noise.noise_report`), or two variants of a mapping, can be
    compared cell by cell.

    Parameters
    ----------
    matrices : sequence of array-like or torch.Tensor, each of shape (K, K)
        At least one; all of the same shape, finite.
    labels : sequence of K str, optional
        Class names for both axes of every panel.
    titles : sequence of str, optional
        One per matrix.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw in, its panels in one row; a new one is made when omitted,
        at most the book's column wide (6.8 in), with as many panels per row as fit at a
        legible size: annotated maps need about 0.3 in per cell for their 8 pt values, so
        two annotated 10 x 10 matrices are drawn one above the other.
    cmap : str
        Matplotlib colour map.
    vmin, vmax : float, optional
        Limits of the shared colour scale.
    annotate : bool, optional
        Write each value in its cell (default: when K <= 12).
    fmt : str
        Format of the annotations.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (len(matrices),)
        One panel per matrix, in order; the figure holds one more Axes, the colour bar.

    References
    ----------
    .. [1] Patrini, G., Rozza, A., Krishna Menon, A., Nock, R., Qu, L. (2017). Making Deep
       Neural Networks Robust to Label Noise: a Loss Correction Approach. CVPR (the
       row-stochastic transition matrix drawn here).

    Examples
    --------
    >>> import numpy as np
    >>> axes = plot_matrices([np.eye(2), np.full((2, 2), 0.5)], labels=["a", "b"], titles=["I", "J/2"])
    >>> [ax.get_title() for ax in axes], axes[1].images[0].get_clim()
    (['I', 'J/2'], (0.0, 1.0))
    """
    if isinstance(matrices, (np.ndarray, torch.Tensor)) or not isinstance(matrices, Sequence):
        raise TypeError(f"matrices must be a list or tuple of (K, K) matrices, got {type(matrices).__name__}")
    if len(matrices) == 0:
        raise ValueError("matrices must hold at least one matrix, got an empty sequence")
    mats = [as_numpy(M) for M in matrices]
    shapes = [A.shape for A in mats]
    if len(set(shapes)) > 1:
        raise ValueError(f"matrices must all have the same shape, got shapes {shapes}")
    for m, A in enumerate(mats):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"matrices[{m}] must be a square matrix, got shape {A.shape}")
        if not np.isfinite(A).all():
            raise ValueError(f"matrices[{m}] must be finite, got a NaN or an infinite entry")
    if titles is not None and (isinstance(titles, str) or len(titles) != len(mats)):
        raise ValueError(f"titles must hold one str per matrix ({len(mats)}), got {titles!r}")
    vmin = None if vmin is None else check_real("vmin", vmin)
    vmax = None if vmax is None else check_real("vmax", vmax)
    lo = min(float(A.min()) for A in mats) if vmin is None else vmin
    hi = max(float(A.max()) for A in mats) if vmax is None else vmax
    if not lo < hi:
        raise ValueError(f"vmin must be below vmax, got vmin={lo!r} and vmax={hi!r}")
    K = mats[0].shape[0]
    if fig is None:
        written = K <= 12 if annotate is None else bool(annotate)
        # one panel with its labels: 0.32 in per annotated cell, else two panels a row at most 3 in
        size = min(2.0 + 0.32 * K, PAGE_WIDTH - 0.8) if written else min(2.0 + 0.2 * K, (PAGE_WIDTH - 0.8) / 2)
        ncols = max(1, min(len(mats), int((PAGE_WIDTH - 0.8) // size)))
        nrows = -(-len(mats) // ncols)
        fig = plt.figure(figsize=(min(PAGE_WIDTH, size * ncols + 0.8), size * 0.95 * nrows + 0.2),
                         layout="constrained")
        grid = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).flatten())
        for extra in grid[len(mats):]:
            extra.remove()
        axes = grid[: len(mats)]
        wrap = max(20, int(size * 72 / 5.5))  # characters of a 10 pt title across one panel
    else:
        axes, wrap = np.atleast_1d(fig.subplots(1, len(mats))), None
    for m, (ax, A) in enumerate(zip(axes, mats)):
        title = None if titles is None else figure_label(titles[m])
        plot_matrix(A, labels=labels, ax=ax, title=title, cmap=cmap, annotate=annotate, fmt=fmt, colorbar=False,
                    vmin=lo, vmax=hi)
        if title and wrap:
            ax.set_title(textwrap.fill(title, wrap), fontsize=10)
    fig.colorbar(axes[0].images[0], ax=list(axes), fraction=0.046 / len(axes) ** 0.5, pad=0.02)
    return axes


def _pixels(dataset, index: torch.Tensor) -> np.ndarray:
    """Images ``index`` of ``dataset`` as uint8 pixels, shape (n, H, W, C)."""
    x = dataset.x[index.to(dataset.x.device)].detach().cpu().double()
    shift = dataset.shift.detach().cpu().double().view(1, -1, 1, 1)
    scale = dataset.scale.detach().cpu().double().view(1, -1, 1, 1)
    p = ((x * scale + shift) * 255).round()
    if len(p) and (float(p.min()) < 0 or float(p.max()) > 255):
        raise ValueError(
            "dataset.x must map back to pixels in [0, 255] through (x * scale + shift) * 255 (its "
            f"shift and scale), got values in [{float(p.min())}, {float(p.max())}]"
        )
    return p.to(torch.uint8).permute(0, 2, 3, 1).numpy()


def plot_samples(dataset, y_noisy, n_per_class: int = 4, seed: int = 0, classes: Sequence[int] | None = None,
                 fig=None):
    r"""Images of a dataset, one row per true class, each titled with its training label.

    Row :math:`r` shows ``n_per_class`` images of true class :math:`c_r`, drawn uniformly
    without replacement; above each image is the label it carries in ``y_noisy``, in black
    where it is the true class and in red italics where the noise flipped it. The pixels are
    recovered from the scaled inputs through the dataset's per-channel shift and scale
    (:class:`watlib.data.ClassificationDataset <watlib.data.classification.ClassificationDataset>`),

    .. math::
        p_{c,h,w} = 255 \, \big( x_{c,h,w} \, \mathrm{scale}_c + \mathrm{shift}_c \big),

    rounded to integers in :math:`[0, 255]`: grey levels for one channel (Fashion-MNIST,
    scaled to :math:`[-1, 1]`), colours for three (CIFAR, mean-subtracted).

    Parameters
    ----------
    dataset : watlib.data.ClassificationDataset
        N images ``x`` of shape (N, C, H, W) with C = 1 or 3, true labels ``y`` of shape
        (N,), K class names, ``shift`` and ``scale`` of shape (C,).
    y_noisy : torch.Tensor or array-like of int, shape (N,)
        The training labels, in [0, K) (e.g. :func:`watlib.noise.corrupt_labels` of
        ``dataset.y``).
    n_per_class : int
        Images per row (>= 1); every class shown must hold at least that many.
    seed : int
        Seed (>= 0) of the draw (a CPU ``torch.Generator``): the same seed shows the same
        images, on every device.
    classes : sequence of int, optional
        The true classes to show, one row each, in this order; by default every class
        when K <= 10, else the labels 0 to 9.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw in; a new one, at most the book's column wide (6.8 in), is
        made when omitted.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (len(classes), n_per_class)
        Axes ``[r, j]`` holds one image (``ax.images[0]``, its pixels as an (H, W) or
        (H, W, 3) uint8 array); its title is the name of its training label, red where it
        differs from the true class; the first Axes of a row has the true class as y label.

    References
    ----------
    .. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset
       for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
    .. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.

    Examples
    --------
    >>> import torch
    >>> from watlib.data import ClassificationDataset
    >>> x = torch.rand(6, 1, 4, 4) * 2 - 1  # in [-1, 1], like Fashion-MNIST
    >>> ds = ClassificationDataset(x, torch.tensor([0, 0, 1, 1, 2, 2]), ["a", "b", "c"], "toy", True,
    ...                            shift=torch.tensor([0.5]), scale=torch.tensor([0.5]))
    >>> axes = plot_samples(ds, torch.tensor([0, 1, 1, 1, 2, 2]), n_per_class=2)
    >>> axes.shape, axes[0, 0].get_ylabel(), axes[2, 1].get_title()
    ((3, 2), 'a', 'c')
    >>> sorted(ax.get_title() for ax in axes[0])  # one "a" sample carries the label "b"
    ['a', 'b']
    """
    from ..data import ClassificationDataset

    if not isinstance(dataset, ClassificationDataset):
        raise TypeError(f"dataset must be a watlib.data.ClassificationDataset, got {type(dataset).__name__}")
    if dataset.x.shape[1] not in (1, 3):
        raise ValueError(f"dataset must have 1 or 3 channels to be drawn, got {dataset.x.shape[1]}")
    K, N = dataset.num_classes, len(dataset)
    noisy = torch.as_tensor(y_noisy).detach().cpu()
    if noisy.is_floating_point() or noisy.dtype == torch.bool or noisy.shape != (N,):
        raise ValueError(f"y_noisy must hold integer labels of shape (N,) = ({N},), got dtype {noisy.dtype} "
                         f"and shape {tuple(noisy.shape)}")
    if N and (int(noisy.min()) < 0 or int(noisy.max()) >= K):
        raise ValueError(f"y_noisy must lie in [0, K) = [0, {K}), got range [{int(noisy.min())}, {int(noisy.max())}]")
    n_per_class = check_int("n_per_class", n_per_class, ge=1)
    seed = check_int("seed", seed, ge=0)
    rows = list(range(min(K, 10))) if classes is None else list(classes)
    if not rows or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < K for c in rows):
        raise ValueError(f"classes must be a non-empty sequence of labels in [0, K) = [0, {K}), got {classes!r}")
    y = dataset.y.detach().cpu()
    generator = torch.Generator().manual_seed(seed)
    picks = []
    for c in rows:
        members = torch.nonzero(y == c).flatten()
        if len(members) < n_per_class:
            raise ValueError(f"n_per_class = {n_per_class} needs that many images of class {c} "
                             f"({dataset.classes[c]!r}), but the dataset holds {len(members)}")
        picks.append(members[torch.randperm(len(members), generator=generator)[:n_per_class]])
    index = torch.stack(picks)
    pixels = _pixels(dataset, index.flatten())
    if fig is None:  # at most the book's column wide, so that the 8 pt labels are 8 pt on the page
        side = min(1.1, (PAGE_WIDTH - 1.0) / n_per_class)
        fig = plt.figure(figsize=(side * n_per_class + 1.0, (side + 0.25) * len(rows) + 0.7))
    axes = np.asarray(fig.subplots(len(rows), n_per_class, squeeze=False,
                                   gridspec_kw={"top": 1 - 0.8 / fig.get_figheight(), "hspace": 0.35}))
    for r, c in enumerate(rows):
        for j in range(n_per_class):
            ax, k = axes[r, j], r * n_per_class + j
            label = int(noisy[index[r, j]])
            img = pixels[k, :, :, 0] if pixels.shape[-1] == 1 else pixels[k]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            flipped = label != c
            ax.set_title(dataset.classes[label], fontsize=8, color="#d62728" if flipped else "black",
                         fontstyle="italic" if flipped else "normal")  # bold ran into its neighbours
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[r, 0].set_ylabel(dataset.classes[c], fontsize=8, rotation=0, ha="right", va="center")
    name = DATASET_LABELS.get(dataset.name, dataset.name)
    fig.suptitle(f"{name}: rows are the true classes;\nabove each image its training label, red where flipped",
                 fontsize=9)
    return axes
