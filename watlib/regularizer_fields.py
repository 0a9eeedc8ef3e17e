r"""The fields of the adversarial regularizer that both run configurations share, checked once.

A run of Table 2 (:class:`watlib.train.TrainConfig`) and one of Table 3
(:class:`watlib.train_segmentation.SegmentationConfig`) train the same regularizer of Eq. 7,

.. math::
    \ell(x, y) = \mathrm{CE}(f(x), y) + \beta_t\, R(x), \qquad \beta_t = 0 \text{ for the first
    warm-up epochs},

with :math:`R` VAT's or WAT's (Algorithm 1: a random direction scaled by :math:`\xi`,
``n_power`` power iterations, a perturbation of radius :math:`\epsilon`) and, for WAT, an
entropic OT loss of regularization :math:`\lambda` solved by ``ot_solver`` within ``max_iter``
iterations to ``tol`` with ``grad`` gradients, on a ground cost built from the word vectors
``vectors``. :class:`RegularizerFields` declares these fields, their defaults (the paper's,
:mod:`watlib.paper`, and training's OT settings, :data:`watlib.ot_settings.TRAIN_OT`) and their
checks; each configuration inherits them, changes a default where its experiment differs
(the segmentation runs start the regularizer at once: ``warmup=0``) and calls
:meth:`RegularizerFields.check_regularizer` from its own ``__post_init__``.

References
----------
.. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N. (2019).
   Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936 (Eq. 7, Algorithm 1).
.. [2] Miyato, T., Maeda, S., Ishii, S., Koyama, M. (2018). Virtual Adversarial Training. TPAMI.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import paper
from ._checks import check_int, check_real
from .costs import GLOVE_VECTORS
from .ot_settings import OT_FIELDS, ot_fields

__all__ = ["RegularizerFields"]


@dataclass(frozen=True)
class RegularizerFields:
    """The regularizer's fields of a run configuration (a base of both configurations).

    Attributes
    ----------
    beta : float or None
        Weight :math:`\\beta` of the regularizer; None: the method's ``default_beta`` (the
        paper's, :data:`watlib.paper.BETA`).
    eps, xi, n_power
        Radius of the adversarial perturbation, scale of the random start and number of power
        iterations (Algorithm 1; :data:`watlib.paper.EPS`, :data:`watlib.paper.XI`,
        :data:`watlib.paper.N_POWER`).
    reg : float
        Entropic regularization :math:`\\lambda` of WAT's OT loss (:data:`watlib.paper.REG`).
    warmup : int
        Epochs trained with :math:`\\beta_t = 0` (:data:`watlib.paper.WARMUP`).
    max_iter, tol, grad, ot_solver
        Solver settings of WAT's OT loss (:func:`watlib.ot.ot_loss`); None: training's
        (:data:`watlib.ot_settings.TRAIN_OT`), filled in by :meth:`resolve_ot`.
    vectors : str
        Word vectors of the word-vector costs (:data:`watlib.costs.GLOVE_VECTORS`).

    Examples
    --------
    >>> fields = RegularizerFields(eps=0.01)
    >>> fields.check_regularizer(); fields.resolve_ot(); fields.ot_solver, fields.warmup
    ('newton', 15)
    >>> RegularizerFields(n_power=0).check_regularizer()
    Traceback (most recent call last):
    ...
    ValueError: n_power must be an int >= 1, got 0
    """

    beta: float | None = None
    eps: float = paper.EPS
    xi: float = paper.XI
    n_power: int = paper.N_POWER
    reg: float = paper.REG
    warmup: int = paper.WARMUP
    max_iter: int | None = None
    tol: float | None = None
    grad: str | None = None
    ot_solver: str | None = None
    vectors: str = GLOVE_VECTORS

    def check_regularizer(self) -> None:
        """Check the regularizer's fields and store the real ones as floats (call it from
        ``__post_init__``; the OT solver's settings are checked by :meth:`resolve_ot`)."""
        if self.beta is not None:
            object.__setattr__(self, "beta", check_real("beta", self.beta, ge=0))
        for name, rule in (("eps", dict(ge=0)), ("xi", dict(gt=0)), ("reg", dict(gt=0))):
            object.__setattr__(self, name, check_real(name, getattr(self, name), **rule))
        check_int("n_power", self.n_power, ge=1)
        check_int("warmup", self.warmup, ge=0)
        if not isinstance(self.vectors, str):
            raise TypeError(f"vectors must be a str, got {self.vectors!r}")

    def resolve_ot(self) -> None:
        """Fill the OT solver's settings left None with training's, and check them together
        (:func:`watlib.ot_settings.ot_fields`)."""
        for name, value in ot_fields("train", **{k: getattr(self, k) for k in OT_FIELDS}).items():
            object.__setattr__(self, name, float(value) if name == "tol" else value)
