"""Figures the chapters share, one module per subject.

* ``watlib.plot.simplex``: the toy figures (Figure 2): :func:`simplex_grid`,
  :func:`plot_simplex_loss`, :func:`plot_decision_boundary`;
* ``watlib.plot.matrices``: heat maps and images: :func:`plot_matrix`,
  :func:`plot_matrices`, :func:`plot_samples`;
* ``watlib.plot.runs``: training runs (Table 2): :func:`plot_learning_curves`,
  :func:`plot_curves_by_method`, :func:`plot_results`, :func:`plot_paper_results`,
  :func:`plot_run_times`, :func:`plot_against_paper` (with :func:`caption_against_paper`),
  :func:`plot_paired_differences`;
* ``watlib.plot.segmentation``: Vaihingen (Table 3): :func:`plot_label_maps`,
  :func:`plot_scene`, :func:`plot_segmentation_curves`.

Every name is re-exported here, so ``from watlib.plot import plot_matrix`` works. Every
function draws on a Matplotlib ``Axes`` (or ``Figure``; a new one when none is given) and
returns it, so chapters can compose panels freely. The tables the figures draw from live in
:mod:`watlib.results`, which never imports this package; ``import watlib`` does not import it
either, so Matplotlib is loaded only by ``import watlib.plot``.

Examples
--------
>>> from watlib.plot import plot_matrix
>>> ax = plot_matrix([[0.0, 1.0], [1.0, 0.0]])
>>> ax.images[0].get_array().shape
(2, 2)
"""

from .._extras import needs_extra

with needs_extra("plot", "watlib.plot (figures)"):
    import matplotlib  # noqa: F401  (here, so that a missing one names the extra)
    import pandas  # noqa: F401

from ._style import DATASET_LABELS
from .matrices import plot_matrices, plot_matrix, plot_samples
from .runs import (caption_against_paper, plot_against_paper, plot_curves_by_method, plot_learning_curves,
                   plot_paired_differences, plot_paper_results, plot_results, plot_run_times)
from .segmentation import plot_label_maps, plot_scene, plot_segmentation_curves
from .simplex import plot_decision_boundary, plot_simplex_loss, simplex_grid

__all__ = [
    # simplex: Figure 2
    "simplex_grid",
    "plot_simplex_loss",
    "plot_decision_boundary",
    # matrices and images
    "plot_matrix",
    "plot_matrices",
    "plot_samples",
    # training runs: Table 2
    "DATASET_LABELS",
    "plot_learning_curves",
    "plot_curves_by_method",
    "plot_results",
    "plot_paper_results",
    "plot_run_times",
    "plot_against_paper",
    "caption_against_paper",
    "plot_paired_differences",
    # segmentation: Table 3
    "plot_label_maps",
    "plot_scene",
    "plot_segmentation_curves",
]
