"""The settings of WAT's entropic OT solves, in one frozen, validated object.

The regularization ``reg`` and the solver settings ``solver``, ``max_iter``, ``tol`` and
``grad`` (see :func:`watlib.ot.ot_loss`) travel together from a run's configuration to the
regularizer that solves the OT problems: :func:`watlib.adversarial.wat_loss`,
:func:`watlib.methods.make_method`, :func:`watlib.toy.toy_regularizer` and the configurations
of :mod:`watlib.train` and :mod:`watlib.train_segmentation` take one :class:`OTSettings`,
checked once, when it is made. Two sets of defaults exist, each defined here once:

- ``OTSettings()``: the library's (:data:`watlib.ot.MAX_ITER` Sinkhorn iterations at most,
  :data:`watlib.ot.TOL`, unrolled gradients), those of :func:`watlib.ot.ot_loss`;
- :data:`TRAIN_OT`: training's (:data:`watlib.ot.TRAIN_SOLVER`, run to
  :data:`watlib.ot.TRAIN_TOL`, at most :data:`watlib.ot.TRAIN_MAX_ITER` iterations, implicit
  gradients), what every run of the study used.

The released code's setting, 20 unrolled Sinkhorn iterations with no stopping rule, is
``OTSettings(solver="sinkhorn", max_iter=20, tol=0, grad="unrolled")``.

:func:`watlib.ot.ot_loss` and :func:`watlib.ot.sinkhorn` keep their keyword forms for users:
``ot_loss(a, b, C, **settings.keywords())`` is the solve these settings describe.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import paper
from ._checks import check_int, check_real
from .ot import MAX_ITER, TOL, TRAIN_GRAD, TRAIN_MAX_ITER, TRAIN_SOLVER, TRAIN_TOL, resolve_solver, check_solver_choice

__all__ = ["OTSettings", "TRAIN_OT", "check_ot_settings"]


@dataclass(frozen=True)
class OTSettings:
    """How one entropic OT loss is solved (the keywords of :func:`watlib.ot.ot_loss`).

    Parameters
    ----------
    reg : float
        Entropic regularization :math:`\\lambda > 0` (the paper's :data:`watlib.paper.REG`).
    solver : {"sinkhorn", "newton", "auto"}
        The solver (:data:`watlib.ot.SOLVERS`).
    max_iter : int
        Largest number of iterations (Newton: steps), >= 1.
    tol : float
        Stopping threshold on the L1 column-marginal violation, >= 0; 0 runs exactly
        ``max_iter`` iterations.
    grad : {"unrolled", "implicit"} or None
        How the loss is differentiated; None: the solver's own (unrolled for Sinkhorn,
        implicit for Newton). Newton's steps are not unrolled: ``grad="unrolled"`` with
        ``solver="newton"`` is refused.

    Every field is checked when the object is made (a ValueError or TypeError names the
    field, the rule and the value); the object is frozen, so it stays valid.

    Examples
    --------
    >>> OTSettings()
    OTSettings(reg=0.05, solver='sinkhorn', max_iter=100, tol=1e-06, grad=None)
    >>> released = OTSettings(max_iter=20, tol=0, grad="unrolled")  # the authors' code
    >>> released.keywords()
    {'reg': 0.05, 'max_iter': 20, 'tol': 0.0, 'grad': 'unrolled', 'solver': 'sinkhorn'}
    >>> OTSettings(solver="newton").resolved(10, 10)
    OTSettings(reg=0.05, solver='newton', max_iter=100, tol=1e-06, grad='implicit')
    >>> OTSettings(tol=-1)
    Traceback (most recent call last):
    ...
    ValueError: tol must be a finite number >= 0, got -1
    """

    reg: float = paper.REG
    solver: str = "sinkhorn"
    max_iter: int = MAX_ITER
    tol: float = TOL
    grad: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "reg", check_real("reg", self.reg, gt=0))
        object.__setattr__(self, "max_iter", check_int("max_iter", self.max_iter, ge=1))
        object.__setattr__(self, "tol", check_real("tol", self.tol, ge=0))
        check_solver_choice(self.solver, self.grad)

    def replace(self, **changes) -> OTSettings:
        """A copy with some fields changed (checked like a new object)."""
        return dataclasses.replace(self, **changes)

    def keywords(self) -> dict:
        """The keywords of :func:`watlib.ot.ot_loss` these settings stand for."""
        return dict(reg=self.reg, max_iter=self.max_iter, tol=self.tol, grad=self.grad, solver=self.solver)

    @classmethod
    def of(cls, config) -> OTSettings:
        """The settings a run's configuration carries in its flat fields ``reg``, ``ot_solver``,
        ``max_iter``, ``tol`` and ``grad`` (:class:`watlib.train.TrainConfig`,
        :class:`watlib.train_segmentation.SegmentationConfig`), checked."""
        return cls(reg=config.reg, solver=config.ot_solver, max_iter=config.max_iter, tol=config.tol,
                   grad=config.grad)

    def resolved(self, n: int, m: int) -> OTSettings:
        """The settings that run for ``n x m`` problems: ``solver="auto"`` becomes the solver
        it picks and ``grad=None`` that solver's own mode (:func:`watlib.ot.resolve_solver`)."""
        solver, grad = resolve_solver(self.solver, self.grad, n, m, self.tol)
        return self.replace(solver=solver, grad=grad)


def check_ot_settings(ot) -> OTSettings:
    """``ot`` itself if it is an :class:`OTSettings`, else a TypeError naming what it is.

    Examples
    --------
    >>> check_ot_settings(0.05)
    Traceback (most recent call last):
    ...
    TypeError: ot must be a watlib.OTSettings, got float: 0.05
    """
    if not isinstance(ot, OTSettings):
        raise TypeError(f"ot must be a watlib.OTSettings, got {type(ot).__name__}: {ot!r}")
    return ot


#: Training's settings of WAT's OT loss: the defaults of :class:`watlib.train.TrainConfig`,
#: :class:`watlib.train_segmentation.SegmentationConfig` and :func:`watlib.toy.toy_regularizer`.
TRAIN_OT = OTSettings(solver=TRAIN_SOLVER, max_iter=TRAIN_MAX_ITER, tol=TRAIN_TOL, grad=TRAIN_GRAD)
