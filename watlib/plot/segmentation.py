r"""Figures of the segmentation experiment (Section 5.2, ISPRS Vaihingen): maps and curves.

* :func:`plot_label_maps`: label maps side by side in the ISPRS colours, with a close-up
  (the paper's Figures 3 and 4);
* :func:`plot_scene`: a tile's inputs (IRRG, DSM, nDSM) beside its ground truth;
* :func:`plot_segmentation_curves`: validation overall accuracy and average F1 against
  epochs, per method.

Table 3 itself is :func:`watlib.results.segmentation_table`.

References
----------
.. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
   Noise. arXiv:1904.03936 (Section 5.2, Figures 3 and 4).

Examples
--------
>>> import numpy as np
>>> fig = plot_label_maps({"labels": np.arange(36).reshape(6, 6) % 6})
>>> [ax.get_title() for ax in fig.axes]
['labels']
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.layout_engine import ConstrainedLayoutEngine

from .._checks import check_int
from ..results import SEGMENTATION_LABELS
from ._style import PAGE_WIDTH

__all__ = ["plot_label_maps", "plot_scene", "plot_segmentation_curves"]


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

    from ..data.vaihingen import VAIHINGEN_CLASSES, VAIHINGEN_COLORS

    return [Patch(facecolor=VAIHINGEN_COLORS[k] / 255, edgecolor="0.4", label=name)
            for k, name in enumerate(VAIHINGEN_CLASSES)]


def _class_legend(fig, bottom: float):
    """The six ISPRS classes as a legend under the panels, outside every one of them: in the
    margin constrained layout keeps for it, or above ``bottom`` (a fraction of the figure's
    height) that the panels leave free otherwise."""
    kwargs = {"handles": _legend_handles(), "ncol": 3, "fontsize": 8, "frameon": False}
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return fig.legend(loc="outside lower center", **kwargs)
    fig.subplots_adjust(bottom=bottom)
    return fig.legend(loc="lower center", **kwargs)


def plot_label_maps(maps, crop=None, image=None, ncols: int | None = None, fig=None):
    """Label maps side by side in the ISPRS colours, and an optional close-up row.

    The paper's Figures 3 (clean against corrupted ground truth) and 4 (predicted maps with a
    close-up) are both drawn by this function.

    Parameters
    ----------
    maps : dict of str to array_like, each (H, W) int
        Title to label map (classes in [0, 6), :data:`watlib.data.VAIHINGEN_CLASSES <watlib.data.vaihingen.VAIHINGEN_CLASSES>`); all
        of one size.
    crop : (top, bottom, left, right), optional
        A window drawn in orange on the full maps and shown enlarged in a second row.
    image : array_like, shape (5, H, W), optional
        The tile's inputs; its false-colour picture (IRRG) is drawn first.
    ncols : int, optional
        Panels per row (default: up to 3, so that a new figure, 6.8 in wide, shows each
        map at least 2 in wide). With a close-up, each row of maps is followed by the row of
        their close-ups.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw in; a new one, the width of the book's column and laid out
        by Matplotlib's constrained layout, when omitted.

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

    from ..data.vaihingen import labels_to_colors

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
    ncols = min(len(panels), 3) if ncols is None else check_int("ncols", ncols, ge=1)
    groups = -(-len(panels) // ncols)
    nrows = groups * (2 if crop else 1)
    if fig is None:
        side = PAGE_WIDTH / max(ncols, 2)  # two maps are drawn no wider than three would be
        height = groups * (side * shape[0] / shape[1] + 0.3)
        if crop:
            height += groups * (side * (crop[1] - crop[0]) / (crop[3] - crop[2]) + 0.3)
        fig = plt.figure(figsize=(PAGE_WIDTH, height + 0.5), layout="constrained")
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
    _class_legend(fig, bottom=0.12 if nrows == 1 else 0.07)
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
        An empty figure to draw in; a new one, the width of the book's column, when omitted.
        The four panels are a 2 x 2 grid, the DSM and the nDSM each with its colour bar, and
        the class legend under them, laid out by Matplotlib's constrained layout so that no
        label runs into a neighbouring panel.

    Returns
    -------
    matplotlib.figure.Figure
        Its first four Axes are the panels, in the order IRRG, DSM, nDSM, ground truth.

    Examples
    --------
    >>> import numpy as np
    >>> from watlib.data import VaihingenTile
    >>> tile = VaihingenTile(1, np.random.rand(5, 6, 6).astype(np.float32), np.zeros((6, 6), np.int64), {}, (0.0, 10.0))
    >>> [ax.get_title() for ax in plot_scene(tile).axes[:4]]
    ['IRRG (near infrared, red, green)', 'DSM (m)', 'nDSM (scaled)', 'ground truth']
    """
    from ..data.vaihingen import labels_to_colors

    image, labels = np.asarray(tile.image), np.asarray(tile.labels)
    crop = _check_crop(crop, labels.shape)
    window = (slice(None), slice(None)) if crop is None else (slice(crop[0], crop[1]), slice(crop[2], crop[3]))
    lo, hi = tile.dsm_range
    if fig is None:
        h, w = labels[window].shape
        side = (PAGE_WIDTH - 1.2) / 2  # two panels a row, each with room for a colour bar
        fig = plt.figure(figsize=(PAGE_WIDTH, 2 * side * h / w + 1.2), layout="constrained")
    axes = fig.subplots(2, 2).flatten()
    axes[0].imshow(_irrg(image)[window], interpolation="nearest")
    axes[0].set_title("IRRG (near infrared, red, green)", fontsize=9)
    dsm = axes[1].imshow(lo + image[3][window] * (hi - lo), cmap="terrain")
    fig.colorbar(dsm, ax=axes[1], fraction=0.046, pad=0.03).ax.tick_params(labelsize=8)
    axes[1].set_title("DSM (m)", fontsize=9)
    nd = axes[2].imshow(image[4][window], cmap="magma", vmin=0, vmax=1)
    fig.colorbar(nd, ax=axes[2], fraction=0.046, pad=0.03).ax.tick_params(labelsize=8)
    axes[2].set_title("nDSM (scaled)", fontsize=9)
    axes[3].imshow(labels_to_colors(labels[window]), interpolation="nearest")
    axes[3].set_title("ground truth", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    _class_legend(fig, bottom=0.1)
    return fig


def plot_segmentation_curves(records, fig=None):
    """Validation overall accuracy and average F1 against epochs, one line per method.

    Parameters
    ----------
    records : sequence of dict
        Records of :func:`watlib.train_segmentation.run_segmentation` (seeds are averaged).
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw in; a new one, the width of the book's column, when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels side by side; one legend (the methods, their number of seeds in
        brackets) under both, outside the curves.

    Examples
    --------
    >>> recs = [{"config": {"method": m}, "history": {"val_oa": [50.0, 60.0], "val_avg_f1": [40.0, None]}}
    ...         for m in ("cce", "wat")]
    >>> [ax.get_ylabel() for ax in plot_segmentation_curves(recs).axes]
    ['validation overall accuracy (%)', 'validation average F1 (%)']
    """
    records = list(records)
    if not records:
        raise ValueError("records must hold at least one segmentation run record")
    fig = fig or plt.figure(figsize=(PAGE_WIDTH, 3.4), layout="constrained")
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
    handles, labels = axes[0].get_legend_handles_labels()
    kwargs = {"handles": handles, "labels": labels, "ncol": 4, "fontsize": 8, "frameon": False}
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        fig.legend(loc="outside lower center", **kwargs)
    else:
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        fig.legend(loc="lower center", **kwargs)
    return fig
