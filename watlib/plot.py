"""Figures the chapters share.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and returns
that ``Axes``, so chapters can compose panels freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import matplotlib.tri as mtri
import numpy as np
import pandas as pd
import torch
from matplotlib.colors import ListedColormap, Normalize, to_rgba

from .results import METHOD_LABELS, PAPER_TABLE2, plot_learning_curves
from .toy import TOY_CLASSES, TOY_COLORS

__all__ = [
    "plot_matrix",
    "simplex_grid",
    "plot_simplex_loss",
    "plot_decision_boundary",
    "DATASET_LABELS",
    "plot_matrices",
    "plot_samples",
    "plot_curves_by_method",
    "plot_paper_results",
    "run_summary",
    "plot_run_times",
    "plot_label_maps",
    "plot_scene",
    "plot_segmentation_curves",
]


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
    A = _as_numpy(M)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"M must be a square matrix, got shape {A.shape}")
    K = A.shape[0]
    if labels is not None and len(labels) != K:
        raise ValueError(f"labels must have {K} entries (one per row of M), got {len(labels)}")
    if ax is None:
        size = min(3.0 + 0.45 * K, 12.0)
        _, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(A, cmap=cmap, vmin=vmin, vmax=vmax)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if labels is not None:
        fontsize = 9 if K <= 12 else max(3, int(200 / K))
        ax.set_xticks(range(K), labels, rotation=90, fontsize=fontsize)
        ax.set_yticks(range(K), labels, fontsize=fontsize)
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
    """The dtype and device of the model's first floating parameter, else those of ``x``."""
    params = model.parameters() if isinstance(model, torch.nn.Module) else ()
    for t in params:
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


# Corners of the 2-simplex drawn as an equilateral triangle: class 0 bottom left, class 1
# bottom right, class 2 on top.
_CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])


def _lattice(n: int) -> list[tuple[int, int]]:
    """The (i, j) lattice of simplex_grid(n): p = ((n - i - j), i, j) / n, in that order."""
    return [(i, j) for i in range(n + 1) for j in range(n + 1 - i)]


def simplex_grid(n: int, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    r"""The regular barycentric grid of the 2-simplex (three-class histograms).

    .. math::
        \Big\{ \tfrac{1}{n} (n - i - j,\ i,\ j) \ :\ i, j \in \mathbb{N},\ i + j \le n \Big\}
        \subset \Delta_3 = \{ p \in \mathbb{R}^3_{\ge 0} : p_1 + p_2 + p_3 = 1 \}

    ordered by ``i`` then ``j``; it contains the three corners, the edges and
    :math:`(n + 1)(n + 2) / 2` points in all.

    Parameters
    ----------
    n : int
        Subdivisions of each edge (>= 1).
    dtype : torch.dtype
        Floating dtype of the result.
    device : torch.device or str, optional

    Returns
    -------
    torch.Tensor, shape ((n + 1)(n + 2) / 2, 3)
        One histogram per row: non-negative, rows summing to 1.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Figure 2, top row: losses on the simplex of class
       probabilities).

    Examples
    --------
    >>> simplex_grid(2)
    tensor([[1.0000, 0.0000, 0.0000],
            [0.5000, 0.0000, 0.5000],
            [0.0000, 0.0000, 1.0000],
            [0.5000, 0.5000, 0.0000],
            [0.0000, 0.5000, 0.5000],
            [0.0000, 1.0000, 0.0000]], dtype=torch.float64)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer, got {n!r} of type {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    ij = torch.tensor(_lattice(int(n)), dtype=torch.float64)
    grid = torch.cat([(n - ij.sum(1, keepdim=True)), ij], dim=1) / n
    return grid.to(dtype=dtype, device=device)


def _simplex_triangles(n: int) -> np.ndarray:
    """Indices into simplex_grid(n) of the n**2 small triangles that tile the simplex."""
    index = {ij: k for k, ij in enumerate(_lattice(n))}
    tris = []
    for (i, j), k in index.items():
        if i + j < n:
            tris.append((k, index[i + 1, j], index[i, j + 1]))
        if i + j < n - 1:
            tris.append((index[i + 1, j], index[i + 1, j + 1], index[i, j + 1]))
    return np.asarray(tris)


def _check_histogram(name: str, p) -> torch.Tensor:
    """``p`` as a float64 CPU tensor of shape (3,), checked to be a histogram."""
    try:
        t = p.detach().cpu().to(torch.float64) if isinstance(p, torch.Tensor) else torch.as_tensor(
            np.asarray(p, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a histogram of 3 real numbers, got {p!r}") from err
    if t.shape != (3,):
        raise ValueError(f"{name} must be a histogram of shape (3,), got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or abs(float(t.sum()) - 1.0) > 1e-6:
        raise ValueError(f"{name} must be non-negative with entries summing to 1 (within 1e-6), "
                         f"got {t.tolist()}")
    return t


def plot_simplex_loss(
    divergence,
    p0,
    ax=None,
    n: int = 90,
    title: str | None = None,
    cmap: str = "Blues",
    class_names: Sequence[str] | None = None,
    colors: Sequence | None = None,
    norm=None,
    contours: int = 6,
    colorbar: bool = True,
):
    r"""Map a divergence :math:`D(p_0, p)` over the simplex of three-class histograms.

    For every :math:`p` of :func:`simplex_grid` ``(n)`` the value

    .. math::
        v(p) = D(p_0, p), \qquad p \in \Delta_3,

    is computed in float64 and drawn on the triangle with corners the three classes (class
    0 bottom left, 1 bottom right, 2 on top), interpolated linearly over the
    :math:`n^2` small triangles (a ``matplotlib.tri`` triangulation): white is zero, darker
    is bigger. :math:`p_0` (the reference prediction, the paper's green x) is marked by a
    green x and ``contours`` iso-lines show the shape of the level sets. This is the top
    row of Figure 2 of the paper. Values of :math:`+\infty` (KL where :math:`p` has a
    zero that :math:`p_0` has not, on the edges) are drawn in the darkest colour.

    Parameters
    ----------
    divergence : callable ``(p_hat, p) -> Tensor (B,)``
        For instance :func:`watlib.adversarial.kl`, ``l2``, ``tv`` or
        ``wasserstein(C, reg)``; it receives ``p_hat`` = :math:`p_0` repeated and ``p`` =
        the grid, both float64 of shape (B, 3).
    p0 : array-like or torch.Tensor, shape (3,)
        The reference histogram (non-negative, sums to 1).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    n : int
        Grid subdivisions per edge (>= 2).
    title : str, optional
    cmap : str
        Matplotlib colour map, light for small values (``"Greys"``, ``"Blues"``, ...).
    class_names, colors : sequences of 3, optional
        Corner labels and their colours; the toy's :data:`watlib.toy.TOY_CLASSES` and
        :data:`watlib.toy.TOY_COLORS` when omitted.
    norm : matplotlib.colors.Normalize, optional
        Colour scale, e.g. ``PowerNorm(0.5)`` for a square-root scale; linear when omitted.
        Limits left unset run from 0 to the largest finite value.
    contours : int
        Number of iso-lines (>= 0).
    colorbar : bool
        Add a colour bar beside the triangle.

    Returns
    -------
    matplotlib.axes.Axes
        Holding the triangulated map (``ax.collections[0]``, whose array is :math:`v` on
        the grid, with :math:`+\infty` replaced by the top of the colour scale), the
        iso-lines, the triangle's outline, the green x (a ``Line2D`` with ``label="p0"``)
        and the three corner labels.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Figure 2, top row).

    Examples
    --------
    >>> import torch
    >>> def l2(p_hat, p):
    ...     return ((p_hat - p) ** 2).sum(1)
    >>> ax = plot_simplex_loss(l2, [0.6, 0.2, 0.2], n=20)
    >>> values = ax.collections[0].get_array()
    >>> len(values), float(values.min()) >= 0
    (231, True)
    >>> [t.get_text() for t in ax.texts]
    ['red', 'orange', 'black']
    """
    if not callable(divergence):
        raise TypeError(f"divergence must be a callable (p_hat, p) -> (B,), got {divergence!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if isinstance(contours, bool) or not isinstance(contours, (int, np.integer)) or contours < 0:
        raise ValueError(f"contours must be an integer >= 0, got {contours!r}")
    if norm is not None and not isinstance(norm, Normalize):
        raise TypeError(f"norm must be a matplotlib.colors.Normalize, got {norm!r}")
    p0 = _check_histogram("p0", p0)
    rgba, names = _class_style(3, colors, class_names)
    grid = simplex_grid(int(n))
    with torch.no_grad():
        values = divergence(p0.expand_as(grid), grid)
    if not isinstance(values, torch.Tensor) or values.shape != (grid.shape[0],):
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f"divergence must return a tensor of shape (B,) = ({grid.shape[0]},), got {shape}")
    v = _as_numpy(values)
    if np.isnan(v).any() or (v == -np.inf).any():
        bad = int(np.flatnonzero(np.isnan(v) | (v == -np.inf))[0])
        raise ValueError(f"divergence must not return NaN or -inf, got {v[bad]} at p = {grid[bad].tolist()}")
    finite = np.isfinite(v)
    top = float(v[finite].max()) if finite.any() else 1.0
    if norm is None:
        norm = Normalize()
    if norm.vmin is None:
        norm.vmin = 0.0
    if norm.vmax is None:
        norm.vmax = top if top > norm.vmin else norm.vmin + 1.0
    shown = np.where(finite, v, max(top, norm.vmax))

    xy = _as_numpy(grid) @ _CORNERS
    tri = mtri.Triangulation(xy[:, 0], xy[:, 1], _simplex_triangles(int(n)))
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    mesh = ax.tripcolor(tri, shown, shading="gouraud", cmap=cmap, norm=norm)
    if contours and float(np.ptp(shown)) > 0:
        # evenly spaced in the colour scale, so a square-root scale gets square-root levels
        levels = np.unique(norm.inverse(np.linspace(0.0, 1.0, contours + 2)[1:-1]))
        ax.tricontour(tri, shown, levels=levels, colors="0.25", linewidths=0.5, alpha=0.6)
    ax.plot(*_CORNERS[[0, 1, 2, 0]].T, color="0.3", linewidth=0.8)
    x0, y0 = _as_numpy(p0) @ _CORNERS
    ax.plot([x0], [y0], marker="x", color="#2ca02c", markersize=9, markeredgewidth=2.2, linestyle="none",
            label="p0")
    offsets = [(0.0, -0.03, "top"), (0.0, -0.03, "top"), (0.0, 0.03, "bottom")]
    for (cx, cy), (dx, dy, va), name, c in zip(_CORNERS, offsets, names, rgba):
        ax.text(cx + dx, cy + dy, name, color=c, ha="center", va=va, fontsize=9, fontweight="bold")
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.14, _CORNERS[2, 1] + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    if colorbar:
        bar = ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.02, shrink=0.8)
        bar.ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------- noisy-label experiments
#: Display names of the datasets, for titles.
DATASET_LABELS = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


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
        \mathrm{colour}\big(M^{(m)}_{ij}\big) = \mathrm{cmap}\left(
        \frac{M^{(m)}_{ij} - v_{\min}}{v_{\max} - v_{\min}}\right), \qquad
        v_{\min} = \min_{m,i,j} M^{(m)}_{ij}, \quad v_{\max} = \max_{m,i,j} M^{(m)}_{ij}

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
        An empty figure to draw in; a new one is made when omitted.
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
    mats = [_as_numpy(M) for M in matrices]
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
    lo = min(float(A.min()) for A in mats) if vmin is None else vmin
    hi = max(float(A.max()) for A in mats) if vmax is None else vmax
    if not lo < hi:
        raise ValueError(f"vmin must be below vmax, got vmin={lo!r} and vmax={hi!r}")
    if fig is None:
        size = min(3.0 + 0.45 * mats[0].shape[0], 7.0)
        fig = plt.figure(figsize=(size * len(mats) + 1.0, size * 0.9))
    axes = np.atleast_1d(fig.subplots(1, len(mats)))
    for m, (ax, A) in enumerate(zip(axes, mats)):
        plot_matrix(A, labels=labels, ax=ax, title=None if titles is None else titles[m], cmap=cmap,
                    annotate=annotate, fmt=fmt, colorbar=False, vmin=lo, vmax=hi)
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
    where it is the true class and in red where the noise flipped it. The pixels are
    recovered from the scaled inputs through the dataset's per-channel shift and scale
    (:class:`watlib.data.ClassificationDataset`),

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
        An empty figure to draw in; a new one is made when omitted.

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
    from .data import ClassificationDataset

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
    n_per_class = _check_count(n_per_class, "n_per_class", 1)
    seed = _check_count(seed, "seed", 0)
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
    if fig is None:
        fig = plt.figure(figsize=(1.1 * n_per_class + 1.4, 1.2 * len(rows) + 0.6))
    axes = np.asarray(fig.subplots(len(rows), n_per_class, squeeze=False,
                                   gridspec_kw={"top": 1 - 0.7 / fig.get_figheight(), "hspace": 0.35}))
    for r, c in enumerate(rows):
        for j in range(n_per_class):
            ax, k = axes[r, j], r * n_per_class + j
            label = int(noisy[index[r, j]])
            img = pixels[k, :, :, 0] if pixels.shape[-1] == 1 else pixels[k]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            flipped = label != c
            ax.set_title(dataset.classes[label], fontsize=7, color="#d62728" if flipped else "black",
                         fontweight="bold" if flipped else "normal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[r, 0].set_ylabel(dataset.classes[c], fontsize=8, rotation=0, ha="right", va="center")
    name = DATASET_LABELS.get(dataset.name, dataset.name)
    fig.suptitle(f"{name}: rows are the true classes; above each image its training label, red where flipped",
                 fontsize=9)
    return axes


def _check_records(records) -> list[dict]:
    """``records`` as a non-empty list of run records with a method and test accuracies."""
    if isinstance(records, dict) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of run records (dicts), got {type(records).__name__}")
    if len(records) == 0:
        raise ValueError("records must hold at least one run record, got none")
    for i, r in enumerate(records):
        try:
            method, acc = r["config"]["method"], r["history"]["test_acc"]
        except (KeyError, TypeError) as err:
            raise ValueError(f"records[{i}] must be a run record with config.method and history.test_acc, "
                             f"missing {err}") from err
        if method not in METHOD_LABELS:
            raise ValueError(f"records[{i}] has method {method!r}, not one of {tuple(METHOD_LABELS)}")
        if len(acc) == 0 or not np.isfinite(np.asarray(acc, dtype=float)).all():
            raise ValueError(f"records[{i}] must hold at least one finite test accuracy, got {acc!r}")
    return list(records)


def _one_setting(records: list[dict]) -> tuple[str | None, float | None]:
    """The (dataset, noise) all records share, or a ValueError naming the mix."""
    settings = {(r["config"].get("dataset"), r["config"].get("noise")) for r in records}
    if len(settings) > 1:
        raise ValueError(f"records must share one dataset and noise rate, got {sorted(settings, key=str)}")
    return settings.pop()


def _mean_curve(records: list[dict]) -> np.ndarray:
    """Test accuracy per epoch averaged over records (truncated to the shortest)."""
    curves = [np.asarray(r["history"]["test_acc"], dtype=float) for r in records]
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


def plot_curves_by_method(records, ncols: int = 5, paper: bool = True, fig=None):
    r"""Clean test accuracy against epochs, one panel per method, peak and last 10 epochs marked.

    Each panel is :func:`watlib.results.plot_learning_curves` of one method's runs (the
    mean over seeds, a band from the lowest to the highest seed). On the mean curve
    :math:`\bar a_e`, :math:`e = 1, \dots, E`, it marks the peak and the paper's metric,
    the mean of the last 10 epochs (shaded):

    .. math::
        a^\star = \max_e \bar a_e, \qquad e^\star = \operatorname*{argmax}_e \bar a_e,
        \qquad \bar a_{\mathrm{last}} = \frac{1}{10} \sum_{e = E - 9}^{E} \bar a_e,

    so that :math:`a^\star - \bar a_{\mathrm{last}}` shows what a network lost by fitting
    the flipped labels after its peak (the memorisation of Zhang et al. 2017). With
    ``paper``, the published number of Table 2 for the records' dataset and noise rate is
    drawn dashed; it comes from the paper's full-scale setting.

    Parameters
    ----------
    records : sequence of dict
        Run records (:func:`watlib.train.run`) of one dataset and noise rate.
    ncols : int
        Panels per row (>= 1).
    paper : bool
        Draw the paper's number where Table 2 has one.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw in; a new one is made when omitted.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (M,)
        One panel per method present, in the order of :data:`watlib.methods.METHODS`,
        titled with the method's label; line 0 of each is the mean curve.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2: the mean over the last 10 epochs).
    .. [2] Zhang, C., Bengio, S., Hardt, M., Recht, B., Vinyals, O. (2017). Understanding
       Deep Learning Requires Rethinking Generalization. ICLR.

    Examples
    --------
    >>> recs = [{"config": {"dataset": "fashion_mnist", "noise": 0.4, "method": m, "seed": s},
    ...          "history": {"test_acc": [60.0, 80.0, 70.0]}} for m in ("watc", "cce") for s in (0, 1)]
    >>> axes = plot_curves_by_method(recs)
    >>> [ax.get_title() for ax in axes]
    ['CCE', 'WAT_C']
    >>> axes[0].lines[0].get_ydata().tolist()
    [60.0, 80.0, 70.0]
    """
    records = _check_records(records)
    ncols = _check_count(ncols, "ncols", 1)
    dataset, noise = _one_setting(records)
    published = PAPER_TABLE2[(PAPER_TABLE2["dataset"] == dataset) & (PAPER_TABLE2["noise"] == noise)]
    published = published.set_index("method")["mean"] if paper else published.iloc[:0]
    by_method: dict = {}
    for r in records:
        by_method.setdefault(r["config"]["method"], []).append(r)
    methods = [m for m in METHOD_LABELS if m in by_method]
    nrows = -(-len(methods) // ncols)
    cols = min(ncols, len(methods))
    if fig is None:
        fig = plt.figure(figsize=(2.9 * cols + 0.4, 2.5 * nrows + 0.9))
    grid = np.asarray(fig.subplots(nrows, cols, squeeze=False, sharex=True, sharey=True))
    for ax in grid.flat[len(methods):]:
        ax.remove()
    axes = grid.flat[: len(methods)]
    for ax, method in zip(axes, methods):
        recs = by_method[method]
        plot_learning_curves(recs, ax=ax)
        ax.get_legend().remove()
        ax.set_xlabel("")
        ax.set_ylabel("")
        mean = _mean_curve(recs)
        e = int(mean.argmax())
        last = mean[-10:]
        ax.axvspan(len(mean) - len(last) + 0.5, len(mean) + 0.5, color="0.85", zorder=0)
        ax.hlines(last.mean(), len(mean) - len(last) + 0.5, len(mean) + 0.5, color="k", linewidth=1.5)
        ax.plot([e + 1], [mean[e]], marker="v", color="#d62728", linestyle="none")
        if method in published.index:
            ax.axhline(published[method], color="0.4", linestyle="--", linewidth=1)
        seeds = f"{len(recs)} seed{'s' if len(recs) > 1 else ''}"
        ax.set_title(METHOD_LABELS[method], fontsize=10)
        # bottom centre: mid-training, where curves are near their peak, leaves it free
        ax.text(0.5, 0.04, f"peak {mean[e]:.1f} (epoch {e + 1})\nlast 10: {last.mean():.1f}\n{seeds}",
                transform=ax.transAxes, ha="center", va="bottom", fontsize=7,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
    for ax in grid[:, 0]:
        ax.set_ylabel("clean test acc. (%)")
    for k, ax in enumerate(axes):
        if k + cols >= len(methods):  # no panel below: label the epoch axis here
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel("epoch")
    handles = [
        plt.Line2D([], [], color="C0", label="mean over seeds (band: min to max)"),
        plt.Line2D([], [], color="#d62728", marker="v", linestyle="none", label="peak"),
        plt.Line2D([], [], color="k", linewidth=1.5, label="mean of the last 10 epochs (shaded)"),
    ]
    if len(published):
        handles.append(plt.Line2D([], [], color="0.4", linestyle="--", label="paper, Table 2 (full scale)"))
    # below the panels (the inline backend's tight bounding box takes it in)
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8, frameon=False,
               ncol=len(handles) if cols >= 3 else 2)
    return axes


def plot_paper_results(dataset: str, ax=None, highlight: Sequence[str] = ("cce", "vat", "watc")):
    r"""The paper's Table 2 for one dataset: test accuracy against the noise rate, per method.

    One line per method through the published means :math:`\mu_{m}(p)` at the noise rates
    :math:`p \in \{0, 0.2, 0.4\}`, with error bars of the published standard deviations
    (over the last 10 epochs of three runs); the methods of ``highlight`` are drawn thick,
    the others thin. The drop :math:`\mu_m(0) - \mu_m(p)` is the cost of the noise for
    method :math:`m`. Numbers from :data:`watlib.results.PAPER_TABLE2`, nothing computed.

    Parameters
    ----------
    dataset : {"fashion_mnist", "cifar10", "cifar100"}
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.
    highlight : sequence of str
        Methods (of :data:`watlib.methods.METHODS`) drawn thick.

    Returns
    -------
    matplotlib.axes.Axes
        With one error-bar container per method (``ax.containers``), in the order of
        :data:`watlib.methods.METHODS`, and a legend of the method labels.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2).

    Examples
    --------
    >>> ax = plot_paper_results("cifar10")
    >>> len(ax.containers), ax.containers[-1].lines[0].get_ydata().tolist()
    (10, [91.88, 89.12, 84.55])
    """
    if not isinstance(dataset, str) or dataset not in set(PAPER_TABLE2["dataset"]):
        raise ValueError(f"dataset must be one of {sorted(set(PAPER_TABLE2['dataset']))}, got {dataset!r}")
    if isinstance(highlight, str) or any(m not in METHOD_LABELS for m in highlight):
        raise ValueError(f"highlight must be a sequence of methods of {tuple(METHOD_LABELS)}, got {highlight!r}")
    rows = PAPER_TABLE2[PAPER_TABLE2["dataset"] == dataset].sort_values("noise")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.2))
    markers = "osD^v<>ph*"
    for k, method in enumerate(METHOD_LABELS):
        sub = rows[rows["method"] == method]
        bold = method in highlight
        ax.errorbar(sub["noise"] * 100, sub["mean"], yerr=sub["std"], marker=markers[k % len(markers)],
                    markersize=5 if bold else 3.5, linewidth=2.2 if bold else 0.9, alpha=1.0 if bold else 0.7,
                    capsize=2, label=METHOD_LABELS[method], color=plt.cm.tab10(k % 10))
    ax.set_xticks(sorted(rows["noise"].unique() * 100))
    ax.set_xlabel("label noise rate p (%)")
    ax.set_ylabel("clean test accuracy (%)")
    ax.set_title(f"{DATASET_LABELS.get(dataset, dataset)}: Table 2 of the paper (mean ± std)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return ax


def run_summary(records) -> pd.DataFrame:
    r"""One row per run record: what produced it, how long it took, how its accuracy evolved.

    The columns come from the record (:func:`watlib.train.run`), with the paper's metric and
    the memorisation drop

    .. math::
        \mathrm{drop} = a^\star - \bar a_{\mathrm{last}}, \qquad
        a^\star = \max_e a_e, \qquad \bar a_{\mathrm{last}} = \frac{1}{10}\sum_{e=E-9}^{E} a_e,

    and the time per epoch :math:`t / E` (:math:`t` the wall time of the run, excluding
    earlier interrupted attempts' lost work, as recorded).

    Parameters
    ----------
    records : sequence of dict
        Complete run records.

    Returns
    -------
    pandas.DataFrame, shape (len(records), 15)
        Columns ``method`` (the label of Table 2), ``seed``, ``preset``, ``device``,
        ``epochs``, ``width``, ``train_size``, ``n_train`` (images trained on),
        ``wall_time_min``, ``s_per_epoch``, ``peak``, ``peak_epoch``, ``final``,
        ``last10_mean`` and ``drop`` (accuracies in %), rows in the order of ``records``.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 2: the mean over the last 10 epochs).

    Examples
    --------
    >>> rec = {"config": {"method": "cce", "seed": 0, "preset": "cpu", "epochs": 3, "width": 0.25,
    ...                   "train_size": 4000}, "history": {"test_acc": [70.0, 80.0, 75.0]},
    ...        "device": "cpu: x86_64, 2 threads", "wall_time_s": 90.0, "n_train": 4000}
    >>> run_summary([rec])[["method", "wall_time_min", "s_per_epoch", "peak", "last10_mean", "drop"]]
      method  wall_time_min  s_per_epoch  peak  last10_mean  drop
    0    CCE            1.5         30.0  80.0         75.0   5.0
    """
    records = _check_records(records)
    rows = []
    for i, r in enumerate(records):
        c = r["config"]
        missing = [k for k in ("seed", "preset", "epochs", "width", "train_size") if k not in c]
        missing += [k for k in ("device", "wall_time_s", "n_train") if k not in r]
        if missing:
            raise ValueError(f"records[{i}] must be a complete run record, missing {missing}")
        acc = np.asarray(r["history"]["test_acc"], dtype=float)
        last = float(acc[-10:].mean())
        rows.append({
            "method": METHOD_LABELS[c["method"]], "seed": c["seed"], "preset": c["preset"], "device": r["device"],
            "epochs": len(acc), "width": c["width"], "train_size": c["train_size"], "n_train": r["n_train"],
            "wall_time_min": r["wall_time_s"] / 60, "s_per_epoch": r["wall_time_s"] / len(acc),
            "peak": float(acc.max()), "peak_epoch": int(acc.argmax()) + 1, "final": float(acc[-1]),
            "last10_mean": last, "drop": float(acc.max()) - last,
        })
    return pd.DataFrame(rows)


def plot_run_times(records, ax=None):
    r"""Wall time of each run, one bar per (method, seed), with the machine and preset in the title.

    The bar of run :math:`r` has length :math:`t_r / 60` minutes, :math:`t_r` its recorded
    wall time (:func:`run_summary`); the time per epoch :math:`t_r / E_r` is written at its
    end, and the title names every device and preset that produced the records.

    Parameters
    ----------
    records : sequence of dict
        Complete run records.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        With one bar per record (``ax.patches``), top to bottom in the order of
        ``records``.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936.

    Examples
    --------
    >>> rec = {"config": {"method": "watc", "seed": 0, "preset": "cpu", "epochs": 2, "width": 0.25,
    ...                   "train_size": 4000}, "history": {"test_acc": [70.0, 80.0]},
    ...        "device": "cpu: x86_64, 2 threads", "wall_time_s": 120.0, "n_train": 4000}
    >>> ax = plot_run_times([rec])
    >>> [float(p.get_width()) for p in ax.patches], ax.get_title()
    ([2.0], 'wall time per run: cpu: x86_64, 2 threads; preset cpu')
    """
    table = run_summary(records)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.28 * len(table) + 1.2))
    ys = np.arange(len(table))[::-1]
    colors = [plt.cm.tab10(list(METHOD_LABELS.values()).index(m) % 10) for m in table["method"]]
    ax.barh(ys, table["wall_time_min"], color=colors)
    ax.set_yticks(ys, [f"{m} (seed {s})" for m, s in zip(table["method"], table["seed"])], fontsize=8)
    for y, minutes, per_epoch in zip(ys, table["wall_time_min"], table["s_per_epoch"]):
        ax.text(minutes, y, f" {per_epoch:.0f} s/epoch", va="center", fontsize=7)
    ax.set_xlim(0, table["wall_time_min"].max() * 1.25)
    ax.set_xlabel("wall time (minutes)")
    devices = "; ".join(sorted(table["device"].unique()))
    presets = ", ".join(sorted(table["preset"].unique()))
    ax.set_title(f"wall time per run: {devices}; preset {presets}")
    return ax


# ------------------------------------------------------------------------------ segmentation
def _check_crop(crop, shape):
    if crop is None:
        return None
    if len(crop) != 4:
        raise ValueError(f"crop must be (top, bottom, left, right), got {crop!r}")
    top, bottom, left, right = (int(v) for v in crop)
    if not (0 <= top < bottom <= shape[0] and 0 <= left < right <= shape[1]):
        raise ValueError(f"crop must satisfy 0 <= top < bottom <= {shape[0]} and 0 <= left < right <= {shape[1]}, "
                         f"got {crop!r}")
    return top, bottom, left, right


def _irrg(image) -> np.ndarray:
    """The false-colour picture (near infrared, red, green as R, G, B) of a (5, H, W) tile."""
    return np.clip(np.moveaxis(np.asarray(image)[:3], 0, -1), 0.0, 1.0)


def _legend_handles():
    from matplotlib.patches import Patch

    from .data.vaihingen import VAIHINGEN_CLASSES, VAIHINGEN_COLORS

    return [Patch(facecolor=VAIHINGEN_COLORS[k] / 255, edgecolor="0.4", label=name)
            for k, name in enumerate(VAIHINGEN_CLASSES)]


def plot_label_maps(maps, crop=None, image=None, ncols: int | None = None, fig=None):
    """Label maps side by side in the ISPRS colours, and an optional close-up row.

    The paper's Figures 3 (clean against corrupted ground truth) and 4 (predicted maps with a
    close-up) are both drawn by this function.

    Parameters
    ----------
    maps : dict of str to array_like, each (H, W) int
        Title to label map (classes in [0, 6), :data:`watlib.data.VAIHINGEN_CLASSES`); all
        of one size.
    crop : (top, bottom, left, right), optional
        A window drawn in orange on the full maps and shown enlarged in a second row.
    image : array_like, shape (5, H, W), optional
        The tile's inputs; its false-colour picture (IRRG) is drawn first.
    ncols : int, optional
        Panels per row (default: all in one row).
    fig : matplotlib.figure.Figure, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.zeros((8, 8), int); clean[2:5, 2:6] = 4
    >>> noisy = clean.copy(); noisy[2:5, 2:6] = 0
    >>> fig = plot_label_maps({"clean": clean, "corrupted": noisy}, crop=(1, 6, 1, 7))
    >>> len(fig.axes)
    4
    """
    from matplotlib.patches import Rectangle

    from .data.vaihingen import labels_to_colors

    if not isinstance(maps, dict) or not maps:
        raise ValueError(f"maps must be a non-empty dict of title -> label map, got {type(maps).__name__}")
    arrays = {title: np.asarray(m) for title, m in maps.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"maps must all be 2-D of one shape, got shapes {sorted(shapes)}")
    shape = next(iter(shapes))
    crop = _check_crop(crop, shape)
    panels = [(title, labels_to_colors(a)) for title, a in arrays.items()]
    if image is not None:
        picture = _irrg(image)
        if picture.shape[:2] != shape:
            raise ValueError(f"image must have the maps' size {shape}, got {picture.shape[:2]}")
        panels.insert(0, ("image (IRRG)", picture))
    ncols = len(panels) if ncols is None else int(ncols)
    nrows = -(-len(panels) // ncols) * (2 if crop else 1)
    fig = fig or plt.figure(figsize=(3.2 * ncols, 3.3 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()

    def framed(ax):  # a thin frame: impervious surfaces are white, like the page
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor("0.6")

    for i, (title, picture) in enumerate(panels):
        r, c = divmod(i, ncols)
        ax = axes[r * (2 if crop else 1), c] if crop else axes[r, c]
        ax.imshow(picture, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        framed(ax)
        if crop:
            top, bottom, left, right = crop
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                   edgecolor="orange", linewidth=1.5))
            close = axes[r * 2 + 1, c]
            close.imshow(picture[top:bottom, left:right], interpolation="nearest")
            close.set_title(f"{title}: close-up", fontsize=8)
            framed(close)
            for spine in close.spines.values():
                spine.set_edgecolor("orange")
    fig.legend(handles=_legend_handles(), loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.12 if nrows == 1 else 0.07, wspace=0.05, hspace=0.2)
    return fig


def plot_scene(tile, crop=None, fig=None):
    """A Vaihingen tile's five inputs and its ground truth: IRRG, DSM, nDSM, labels.

    Parameters
    ----------
    tile : watlib.data.VaihingenTile
        With ``image`` (5, H, W) and ``labels`` (H, W).
    crop : (top, bottom, left, right), optional
        Show only this window.
    fig : matplotlib.figure.Figure, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from watlib.data import VaihingenTile
    >>> tile = VaihingenTile(1, np.random.rand(5, 6, 6).astype(np.float32), np.zeros((6, 6), np.int64), {}, (0.0, 10.0))
    >>> [ax.get_title() for ax in plot_scene(tile).axes[:4]]
    ['IRRG (near infrared, red, green)', 'DSM (m)', 'nDSM (scaled)', 'ground truth']
    """
    from .data.vaihingen import labels_to_colors

    image, labels = np.asarray(tile.image), np.asarray(tile.labels)
    crop = _check_crop(crop, labels.shape)
    window = (slice(None), slice(None)) if crop is None else (slice(crop[0], crop[1]), slice(crop[2], crop[3]))
    lo, hi = tile.dsm_range
    fig = fig or plt.figure(figsize=(13, 3.8))
    axes = fig.subplots(1, 4)
    axes[0].imshow(_irrg(image)[window], interpolation="nearest")
    axes[0].set_title("IRRG (near infrared, red, green)")
    dsm = axes[1].imshow(lo + image[3][window] * (hi - lo), cmap="terrain")
    fig.colorbar(dsm, ax=axes[1], fraction=0.046, pad=0.02)
    axes[1].set_title("DSM (m)")
    nd = axes[2].imshow(image[4][window], cmap="magma", vmin=0, vmax=1)
    fig.colorbar(nd, ax=axes[2], fraction=0.046, pad=0.02)
    axes[2].set_title("nDSM (scaled)")
    axes[3].imshow(labels_to_colors(labels[window]), interpolation="nearest")
    axes[3].set_title("ground truth")
    for ax in axes:
        ax.set_axis_off()
    fig.legend(handles=_legend_handles(), loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.14, wspace=0.15)
    return fig


def plot_segmentation_curves(records, fig=None):
    """Validation overall accuracy and average F1 against epochs, one line per method.

    Parameters
    ----------
    records : sequence of dict
        Records of :func:`watlib.train_segmentation.run_segmentation` (seeds are averaged).
    fig : matplotlib.figure.Figure, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> recs = [{"config": {"method": m}, "history": {"val_oa": [50.0, 60.0], "val_avg_f1": [40.0, None]}}
    ...         for m in ("cce", "wat")]
    >>> [ax.get_ylabel() for ax in plot_segmentation_curves(recs).axes]
    ['validation overall accuracy (%)', 'validation average F1 (%)']
    """
    from .results import SEGMENTATION_LABELS

    records = list(records)
    if not records:
        raise ValueError("records must hold at least one segmentation run record")
    fig = fig or plt.figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    for key, ax, label in (("val_oa", axes[0], "validation overall accuracy (%)"),
                           ("val_avg_f1", axes[1], "validation average F1 (%)")):
        by_method: dict = {}
        for r in records:
            values = [np.nan if v is None else float(v) for v in r["history"][key]]
            by_method.setdefault(r["config"]["method"], []).append(np.asarray(values))
        for method in [m for m in SEGMENTATION_LABELS if m in by_method]:
            curves = by_method[method]
            n = min(len(c) for c in curves)
            mean = np.stack([c[:n] for c in curves]).mean(axis=0)
            ax.plot(np.arange(1, n + 1), mean, marker=".", label=f"{SEGMENTATION_LABELS[method]} ({len(curves)})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
