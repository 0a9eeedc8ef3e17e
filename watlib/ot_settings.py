"""The settings of WAT's entropic OT solves, in one frozen, validated object.

The regularization ``reg`` and the solver settings ``solver``, ``max_iter``, ``tol`` and
``grad`` (see :func:`watlib.ot.ot_loss`) travel together from a run's configuration to the
regularizer that solves the OT problems: :func:`watlib.adversarial.wat_loss`,
:func:`watlib.methods.make_method`, :func:`watlib.toy.toy_regularizer` and the configurations
of :mod:`watlib.train` and :mod:`watlib.train_segmentation` take one :class:`OTSettings`,
checked once, when it is made. The named settings, each defined here once:

- ``OTSettings()``: the library's (:data:`watlib.ot.MAX_ITER` Sinkhorn iterations at most,
  :data:`watlib.ot.TOL`, unrolled gradients), those of :func:`watlib.ot.ot_loss`;
- :data:`TRAIN_OT` (``"train"``): training's default (:data:`watlib.ot.TRAIN_SOLVER`, Newton's
  method, run to :data:`watlib.ot.TRAIN_TOL`, at most :data:`watlib.ot.TRAIN_MAX_ITER` steps,
  implicit gradients);
- :data:`STUDY_OT` (``"study"``): the first Fashion-MNIST and Vaihingen study's, converged
  Sinkhorn to a violation of 1e-4 (the records committed in ``results/`` were made with it);
- :data:`RELEASED_OT` (``"released"``): the authors' released code's, 20 unrolled Sinkhorn
  iterations with no stopping rule.

:func:`share_of_reference_solve` measures what one of them gives of another's loss and
gradient on the same problems (how much of the converged regularizer 20 iterations keep).

:data:`OT_PRESETS` names them for the configurations (``make_config(..., ot="study")``), the
command line (``--ot study``) and the chapters' parameters; :func:`ot_fields` turns a name and
the flat overrides into a configuration's fields.

:func:`watlib.ot.ot_loss` and :func:`watlib.ot.sinkhorn` keep their keyword forms for users:
``ot_loss(a, b, C, **settings.keywords())`` is the solve these settings describe.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import torch

from . import paper
from ._checks import check_int, check_real
from .ot import (MAX_ITER, TOL, TRAIN_GRAD, TRAIN_MAX_ITER, TRAIN_SOLVER, TRAIN_TOL, ConvergenceWarning,
                 check_solver_choice, ot_loss, resolve_solver)

__all__ = ["OTSettings", "TRAIN_OT", "STUDY_OT", "RELEASED_OT", "OT_PRESETS", "OT_FIELDS", "check_ot_settings", "ot_fields",
           "ot_preset_name", "SolveShare", "share_of_reference_solve"]


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

    def config_fields(self) -> dict:
        """These settings as the flat fields of a run's configuration (:data:`OT_FIELDS`; ``reg``
        apart)."""
        return dict(ot_solver=self.solver, max_iter=self.max_iter, tol=self.tol, grad=self.grad)

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
#: The first study's settings, with which every record committed in ``results/`` was made:
#: Sinkhorn to a violation of 1e-4, ten times below :data:`watlib.ot.WARN_VIOLATION`, implicit
#: gradients. Measured on real Fashion-MNIST after the ``cpu`` preset's warm-up (12 epochs of
#: cross-entropy, reg 0.05, batches of 256): the 0-1 cost needs 2,800 to 17,000 iterations to
#: reach 1e-4 (100 leave it several percent off its marginals), the costs of mean 0.44 (WAT_C's
#: and the ablation's) 400 to 2,200. Over the study's whole runs
#: (:func:`watlib.results.solver_diagnostics` of their records) the most a batch took was about
#: 33,000 with the 0-1 cost and 5,500 with the others; the cap of 50,000 lies above those.
STUDY_OT = OTSettings(solver="sinkhorn", max_iter=50_000, tol=1e-4, grad="implicit")
#: The released code's settings: a fixed 20 Sinkhorn iterations, differentiated through.
RELEASED_OT = OTSettings(solver="sinkhorn", max_iter=20, tol=0, grad="unrolled")
#: The named settings of :func:`ot_fields` (``--ot`` on the command line).
OT_PRESETS = {"train": TRAIN_OT, "study": STUDY_OT, "released": RELEASED_OT}
#: The flat fields of a run's configuration that hold its OT settings (besides ``reg``).
OT_FIELDS = ("ot_solver", "max_iter", "tol", "grad")
#: The cap a solver gets when it is chosen by name over a preset of another solver without
#: ``max_iter``: Newton's steps as in training, Sinkhorn's iterations as in the study.
_SOLVER_CAPS = {"newton": TRAIN_OT.max_iter, "sinkhorn": STUDY_OT.max_iter, "auto": STUDY_OT.max_iter}


def ot_fields(ot: str = "train", ot_solver: str | None = None, max_iter: int | None = None,
              tol: float | None = None, grad: str | None = None) -> dict:
    """A configuration's OT fields: the named settings ``ot`` with the fields given changed.

    Parameters
    ----------
    ot : {"train", "study", "released"}
        The settings to start from (:data:`OT_PRESETS`).
    ot_solver, max_iter, tol, grad
        Fields to change (None: the preset's). A solver other than the preset's, given
        without ``max_iter``, gets its own cap: Newton :data:`TRAIN_OT`'s steps, Sinkhorn (and
        ``"auto"``) :data:`STUDY_OT`'s iterations, so that ``--ot-solver sinkhorn`` alone is not
        cut off at Newton's cap.

    Returns
    -------
    dict
        ``ot_solver``, ``max_iter``, ``tol`` and ``grad``, checked together.

    Examples
    --------
    >>> ot_fields("study")
    {'ot_solver': 'sinkhorn', 'max_iter': 50000, 'tol': 0.0001, 'grad': 'implicit'}
    >>> ot_fields(ot_solver="sinkhorn")["max_iter"]  # training's Newton default, Sinkhorn by name
    50000
    >>> ot_fields("trian")
    Traceback (most recent call last):
    ...
    ValueError: ot must be one of ['train', 'study', 'released'], got 'trian'
    """
    if not isinstance(ot, str) or ot not in OT_PRESETS:
        raise ValueError(f"ot must be one of {list(OT_PRESETS)}, got {ot!r}")
    base = OT_PRESETS[ot]
    changes = {k: v for k, v in dict(solver=ot_solver, max_iter=max_iter, tol=tol, grad=grad).items() if v is not None}
    if changes.get("solver", base.solver) != base.solver and "max_iter" not in changes:
        changes["max_iter"] = _SOLVER_CAPS.get(changes["solver"], base.max_iter)
    return base.replace(**changes).config_fields()


def ot_preset_name(config) -> str | None:
    """The name in :data:`OT_PRESETS` of the OT settings a run's configuration holds.

    Parameters
    ----------
    config : mapping
        A record's ``config`` (its :data:`OT_FIELDS`; ``reg`` is not part of a preset).

    Returns
    -------
    str or None
        ``"train"``, ``"study"`` or ``"released"``; None for a run without OT settings (a
        method that solves no OT problem holds None in every OT field); ``"custom"`` for
        settings that are none of the presets.

    Examples
    --------
    >>> ot_preset_name({"ot_solver": "sinkhorn", "max_iter": 20, "tol": 0, "grad": "unrolled"})
    'released'
    >>> ot_preset_name({"ot_solver": None, "max_iter": None, "tol": None, "grad": None}) is None
    True
    >>> ot_preset_name({"ot_solver": "sinkhorn", "max_iter": 300, "tol": 1e-4, "grad": "implicit"})
    'custom'
    """
    fields = {k: config.get(k) for k in OT_FIELDS}
    if all(v is None for v in fields.values()):
        return None
    for name, settings in OT_PRESETS.items():
        if settings.config_fields() == fields:
            return name
    return "custom"


class SolveShare(NamedTuple):
    """What a solve gives of a reference solve's loss and gradient (:func:`share_of_reference_solve`).

    Attributes
    ----------
    loss : float
        The batch-mean loss, as a share of the reference's.
    gradient : float
        The norm of the gradient of the batch-mean loss with respect to ``b``, as a share of
        the reference's (both centered per pair).
    cosine : float
        The cosine between the two gradients (1: the same direction).
    violation : float
        The largest L1 marginal violation the solve left (the reference's is at most its
        ``tol``). The solve's :class:`~watlib.ot.ConvergenceWarning` is not raised: this
        reports it.
    """

    loss: float
    gradient: float
    cosine: float
    violation: float


def share_of_reference_solve(a, b, C, settings: OTSettings, reference: OTSettings = TRAIN_OT) -> SolveShare:
    r"""How much of a reference solve's OT loss and gradient a solve with ``settings`` gives.

    Both solve the same batch of problems :math:`\mathrm{OT}_\mathbf{C}^\lambda(\mathbf{a}_i,
    \mathbf{b}_i)` (:func:`watlib.ot.ot_loss`, each with its own ``reg``). With
    :math:`L = \frac1B \sum_i \mathrm{OT}(\mathbf{a}_i, \mathbf{b}_i)` and :math:`g = \nabla_\mathbf{b} L`
    centered per pair (only sum-preserving changes of :math:`\mathbf{b}` are feasible, and the
    unrolled and implicit gradients differ by a constant per pair),

    .. math::
        \text{loss} = \frac{L}{L_\text{ref}}, \qquad
        \text{gradient} = \frac{\|g\|}{\|g_\text{ref}\|}, \qquad
        \text{cosine} = \frac{\langle g, g_\text{ref}\rangle}{\|g\|\,\|g_\text{ref}\|}.

    In WAT the gradient with respect to :math:`\mathbf{b}`, the prediction at the adversarial
    point, is what reaches the network: a solve that keeps a share :math:`s` of the gradient
    acts as a regularizer about :math:`s` times weaker, in the direction the cosine says.

    Parameters
    ----------
    a, b : torch.Tensor, shape (B, n)
        Source and target histograms (as :func:`watlib.ot.ot_loss` takes them).
    C : torch.Tensor, shape (n, n)
        The ground cost.
    settings : OTSettings
        The solve measured, e.g. :data:`RELEASED_OT`.
    reference : OTSettings
        The solve it is measured against (default :data:`TRAIN_OT`, converged).

    Returns
    -------
    SolveShare

    Raises
    ------
    TypeError
        ``settings`` or ``reference`` is not an :class:`OTSettings`.
    ValueError
        The reference's loss or gradient is zero (a cost of zeros): no share of it can be
        read.

    Examples
    --------
    >>> from watlib.costs import zero_one_cost
    >>> g = torch.Generator().manual_seed(0)
    >>> logits = torch.randn(64, 10, generator=g, dtype=torch.float64)
    >>> a = logits.softmax(1)
    >>> b = (logits + torch.randn(64, 10, generator=g, dtype=torch.float64)).softmax(1)
    >>> C = zero_one_cost(10, dtype=torch.float64)
    >>> share = share_of_reference_solve(a, b, C, RELEASED_OT)
    >>> 0 < share.loss < 1 and share.violation > 0.1  # 20 iterations: far from the marginals
    True
    >>> share_of_reference_solve(a, b, C, TRAIN_OT).loss  # the reference against itself
    1.0
    """
    for name, value in (("settings", settings), ("reference", reference)):
        if not isinstance(value, OTSettings):
            raise TypeError(f"{name} must be a watlib.OTSettings, got {type(value).__name__}: {value!r}")
    out = []
    for s in (settings, reference):
        x = b.detach().clone().requires_grad_(True)
        with warnings.catch_warnings():  # the measured solve's violation is returned, not warned of
            if s is settings:
                warnings.simplefilter("ignore", ConvergenceWarning)
            loss, diag = ot_loss(a.detach(), x, C, return_diagnostics=True, **s.keywords())
        loss = loss.mean()
        (grad,) = torch.autograd.grad(loss, x)
        out.append((loss.item(), grad - grad.mean(dim=-1, keepdim=True), float(diag.max_violation)))
    (loss, g, violation), (loss_ref, g_ref, _) = out
    norm, norm_ref = float(g.norm()), float(g_ref.norm())
    if loss_ref == 0 or norm_ref == 0:
        raise ValueError(f"the reference solve's loss ({loss_ref:.3g}) and gradient ({norm_ref:.3g}) must be nonzero to "
                         "read a share of them")
    cosine = float((g * g_ref).sum()) / (norm * norm_ref) if norm > 0 else 0.0
    return SolveShare(loss / loss_ref, norm / norm_ref, cosine, violation)
