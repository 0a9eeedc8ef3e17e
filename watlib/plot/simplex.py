r"""The toy figures (Figure 2 of the paper): losses on the simplex and decision boundaries.

* :func:`simplex_grid`: the regular barycentric grid of the 2-simplex :math:`\Delta_3`;
* :func:`plot_simplex_loss`: a divergence :math:`D(p_0, p)` mapped over :math:`\Delta_3`
  (Figure 2, top row; the chapters on the toy and on VAT);
* :func:`plot_decision_boundary`: the class regions of a 2-D classifier with its training
  points (Figure 2, bottom row).

Each function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and returns
that ``Axes``.

References
----------
.. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
   Noise. arXiv:1904.03936 (Figure 2).

Examples
--------
>>> simplex_grid(1).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import matplotlib.tri as mtri
import numpy as np
import torch
from matplotlib.colors import ListedColormap, Normalize, to_rgba

from .._checks import check_bool, check_int, check_real
from ..toy import TOY_CLASSES, TOY_COLORS
from ._style import as_numpy

__all__ = ["simplex_grid", "plot_simplex_loss", "plot_decision_boundary"]


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
    resolution = check_int("resolution", resolution, ge=2)
    margin = check_real("margin", margin, ge=0)
    legend = check_bool("legend", legend)
    mask = None
    if highlight is not None:
        mask = np.asarray(torch.as_tensor(highlight).cpu())
        if mask.dtype != bool or mask.shape != (X.shape[0],):
            raise ValueError(f"highlight must be a boolean mask of shape ({X.shape[0]},), got dtype {mask.dtype} "
                             f"and shape {mask.shape}")

    pts = as_numpy(X)
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
        \begin{aligned}
        &\Big\{ \tfrac{1}{n} (n - i - j,\ i,\ j) \ :\ i, j \in \mathbb{N},\ i + j \le n \Big\}\\
        &\subset \Delta_3 = \{ p \in \mathbb{R}^3_{\ge 0} : p_1 + p_2 + p_3 = 1 \}
        \end{aligned}

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
    n = check_int("n", n, ge=1)
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
        ``wasserstein(C, OTSettings(reg=reg))``; it receives ``p_hat`` = :math:`p_0` repeated and ``p`` =
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
    n = check_int("n", n, ge=2)
    contours = check_int("contours", contours, ge=0)
    colorbar = check_bool("colorbar", colorbar)
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
    v = as_numpy(values)
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

    xy = as_numpy(grid) @ _CORNERS
    tri = mtri.Triangulation(xy[:, 0], xy[:, 1], _simplex_triangles(int(n)))
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    mesh = ax.tripcolor(tri, shown, shading="gouraud", cmap=cmap, norm=norm)
    if contours and float(np.ptp(shown)) > 0:
        # evenly spaced in the colour scale, so a square-root scale gets square-root levels
        levels = np.unique(norm.inverse(np.linspace(0.0, 1.0, contours + 2)[1:-1]))
        ax.tricontour(tri, shown, levels=levels, colors="0.25", linewidths=0.5, alpha=0.6)
    ax.plot(*_CORNERS[[0, 1, 2, 0]].T, color="0.3", linewidth=0.8)
    x0, y0 = as_numpy(p0) @ _CORNERS
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
        bar.ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title)
    return ax
