r"""Batched entropic optimal transport between class histograms (Eqs. 4-5 of the paper).

WAT compares, for every sample of a batch, two histograms over the same K classes: the
detached prediction :math:`\hat p_\theta(x)` and the prediction at the adversarial point
:math:`p_\theta(x + r^a)`. This module solves the B entropic problems of a batch at once
with Sinkhorn's algorithm and returns either the optimal plans (:func:`sinkhorn`) or the
linear term :math:`\langle \mathbf{T}^*_\lambda, \mathbf{C}\rangle` the paper uses as its
loss (:func:`ot_loss`), differentiable with respect to both histograms and the cost.

Numerics, in short:

* Scaling domain (two small matrix products per iteration against ONE kernel
  :math:`\exp(-\mathbf{C}/\lambda)` shared by the batch) whenever that kernel and the
  scalings stay representable in the working dtype, i.e. when
  :math:`\max \mathbf{C}/\lambda` is below a limit of the dtype (about 30 in float32 and
  280 in float64, see ``_scaling_limit``); the log domain (log-sum-exp) otherwise.
  Both run the same iteration map, so they agree at every iteration, not only at
  convergence.
* Zero entries in the histograms are exact zeros of the plan; the potentials of such
  entries are the c-transforms of the other side, so values and gradients stay finite.
* Two gradients: backpropagation through the unrolled iterations (the paper's choice) and
  implicit differentiation of the optimality conditions (one small linear system per pair).
* Half-precision inputs are computed in float32 (autocast is switched off inside);
  float64 stays float64. Implicit gradients are always formed in float64.
* Convergence is visible: every call that stops at ``max_iter`` measures how far the
  returned plans are from their column marginals and raises a :class:`ConvergenceWarning`
  when the worst pair is above :data:`WARN_VIOLATION`; ``return_diagnostics=True`` also
  returns the measurement (:class:`SinkhornDiagnostics`).
* Threads and kernels (CPU): a scaling-domain solve whose kernel products are small
  (n m B at most ``SERIAL_WORK``, WAT's sizes) runs entirely on one intra-op thread,
  forward and backward: its loop is a chain of dependent products of tens of microseconds,
  and splitting each across threads costs a synchronisation per product that can wait a
  whole scheduler time slice when another process holds a core (on 2 cores at K = 100,
  B = 256: 27 ms on one thread, 200 ms on two with one core busy). Large float32 products
  go to oneDNN with the kernel packed once per call (``ONEDNN_WORK``), iterates of
  large problems are traced compactly (``COMPACT_ENTRIES``), and iterates that need
  not be kept are updated in place. ``benchmarks/bench_ot.py`` measures all this against
  POT.

Default solver settings, used by every function of watlib that runs Sinkhorn (import them,
do not read them from signatures): :data:`MAX_ITER`, :data:`TOL`; the regularization
default is the paper's :data:`watlib.paper.REG`.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import NamedTuple

import torch

from . import paper
from ._checks import check_bool, check_choice, check_int, check_real, check_tensor, first_index, histogram_sum_tol
from ._newton import newton_potentials
from ._sinkhorn import (
    CHECK_EVERY,
    LogPlan,
    SolveReport,
    UnrolledLoss,
    UnrolledScaling,
    autocast_off,
    column_violation,
    kernel_ops,
    kernel_times,
    log_deviation,
    log_iterations,
    reduce_or_zero,
    scaling_loop,
    serial_threads,
)

__all__ = [
    "sinkhorn", "ot_loss", "SinkhornDiagnostics", "ConvergenceWarning",
    "MAX_ITER", "TOL", "WARN_VIOLATION", "CHECK_EVERY", "GRAD_MODES", "SOLVERS", "choose_solver",
    "check_solver_choice", "resolve_solver",
    "TRAIN_MAX_ITER", "TRAIN_TOL", "TRAIN_GRAD", "TRAIN_SOLVER",
]

#: Default largest number of Sinkhorn iterations (the paper's released code ran a fixed 20).
MAX_ITER = 100
#: Default stopping threshold on the L1 column-marginal violation (a float32-level violation).
TOL = 1e-6
#: Largest column-marginal violation (L1, worst pair of the batch) a run may end with and
#: still be called converged; a call that stops at ``max_iter`` above it warns
#: (:class:`ConvergenceWarning`). The same threshold judges a training run's regularizer.
WARN_VIOLATION = 1e-3
#: The solver settings WAT trains with (:data:`watlib.ot_settings.TRAIN_OT`): Newton's method
#: to a violation of TRAIN_TOL (a float32-level plan, a thousand times below
#: :data:`WARN_VIOLATION`), at most TRAIN_MAX_ITER steps, implicit gradients. On WAT's own
#: pairs (``benchmarks/bench_solvers.py``: a CNN9 after the ``cpu`` warm-up on real
#: Fashion-MNIST) it takes at most 14 steps to 1e-8, and to 1e-6 it is 13x faster than
#: Sinkhorn to 1e-4 with the 0-1 cost. The cap is for small reg: with the 0-1 cost, 256 pairs,
#: K = 10, reaching 1e-6 took 11 steps at reg 0.05, 98-143 at 1e-2 and 321-377 at 1e-3 (epsilon
#: scaling). The first study's records were made with converged Sinkhorn instead
#: (:data:`watlib.ot_settings.STUDY_OT`).
TRAIN_MAX_ITER = 500
#: See :data:`TRAIN_MAX_ITER`.
TRAIN_TOL = 1e-6
#: See :data:`TRAIN_MAX_ITER`.
TRAIN_GRAD = "implicit"
#: See :data:`TRAIN_MAX_ITER`.
TRAIN_SOLVER = "newton"
#: Multiply-adds of one kernel product (n m B) up to which a scaling-domain solve runs on one
#: intra-op thread (about 0.1 ms per product on one core; K = 100, B = 256 is 2.6e6).
SERIAL_WORK = 2 ** 24
#: The two ways :func:`ot_loss` differentiates (see its docstring).
GRAD_MODES = ("unrolled", "implicit")
#: The solvers of :func:`ot_loss` and :func:`sinkhorn`: ``"sinkhorn"`` (Sinkhorn's iterations),
#: ``"newton"`` (a few Sinkhorn iterations, then damped Newton steps on the semi-dual,
#: one batched Cholesky factorisation of the K x K Hessians each, in float64; see
#: ``watlib._newton``) and ``"auto"`` (:func:`choose_solver`).
SOLVERS = ("auto", "sinkhorn", "newton")
#: ``solver="auto"`` takes Newton's method up to this many classes (the larger of n and m; see
#: :func:`choose_solver`).
NEWTON_MAX_CLASSES = 100
#: Diagonal shift of the implicit system, relative to its O(1) entries; it only acts where
#: the plan splits into blocks whose couplings underflowed to exact zeros.
_GROUND_SHIFT = 8 * torch.finfo(torch.float64).eps


class ConvergenceWarning(UserWarning):
    """Sinkhorn stopped at ``max_iter`` with plans farther than :data:`WARN_VIOLATION` from
    their marginals: the loss and its gradient are those of an unconverged plan.

    Examples
    --------
    The converged answer here is 0.5; 100 iterations at :math:`\\lambda = 10^{-3}` are far
    from it, and say so:

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     loss = ot_loss(torch.tensor([0.7, 0.3]), torch.tensor([0.2, 0.8]), 1 - torch.eye(2), reg=1e-3)
    >>> [w.category.__name__ for w in caught]
    ['ConvergenceWarning']
    """


class SinkhornDiagnostics(NamedTuple):
    r"""How a Sinkhorn call ended (returned with ``return_diagnostics=True``).

    Attributes
    ----------
    iterations : int
        Iterations actually run (one v-update and one u-update each): ``max_iter`` unless
        the stopping rule was met earlier.
    marginal_violation : torch.Tensor, shape (B,), or () without a batch dimension
        For each pair, the L1 violation of the column marginals of the RETURNED plan,
        :math:`\|\mathbf{T}^\top\mathbf{1} - \mathbf{b}\|_1 -
        |\textstyle\sum\mathbf{a} - \sum\mathbf{b}|`, clamped at 0: the quantity the
        stopping rule compares with ``tol`` (the row marginals are exact by construction;
        the second term is the part no plan can remove when the sums differ by rounding).
        Detached, in the working dtype. With dense (per-pixel) WAT it has the shape of the
        pixels, ``(B, *S)``.
    converged : bool
        Whether the stopping rule ``max(marginal_violation) <= tol`` was met (at a check
        inside the loop or at the end of the last iteration). Always False with ``tol=0``,
        which asks for a fixed number of iterations: judge those by ``max_violation``.
    max_violation : float
        The largest entry of ``marginal_violation`` (0 for an empty batch); a run is called
        converged in watlib's sense when it is at most :data:`WARN_VIOLATION`.

    Examples
    --------
    >>> a, b = torch.tensor([[0.5, 0.5]]), torch.tensor([[0.9, 0.1]])
    >>> loss, diag = ot_loss(a, b, 1 - torch.eye(2), reg=0.1, return_diagnostics=True)
    >>> diag.converged, diag.iterations <= MAX_ITER, diag.max_violation <= TOL
    (True, True, True)
    """

    iterations: int
    marginal_violation: torch.Tensor
    converged: bool
    max_violation: float


# --------------------------------------------------------------------------- validation


def choose_solver(n, m, tol):
    r"""The solver ``solver="auto"`` takes for ``n x m`` problems stopped at ``tol``.

    Newton's method for :math:`\max(n, m) \le` ``NEWTON_MAX_CLASSES`` (100) with ``tol > 0``;
    Sinkhorn otherwise (``tol=0`` asks for a fixed number of iterations, as the released code's
    20). Measured by ``benchmarks/bench_solvers.py`` (B = 256, reg 0.05, one thread): to the same
    tolerance Newton was as fast or faster on every batch up to K = 100 (1.1x on unrelated pairs
    to 76x; WAT's own pairs at 1e-6: 37x with the 0-1 cost, 3.8x with WAT_C's), with 2.5 to 185
    times fewer kernel launches, what sets GPU time. Above K = 100 nothing is measured and a
    step costs :math:`O(B m^3)` against Sinkhorn's :math:`O(B n m)`: Sinkhorn stays the choice.

    Examples
    --------
    >>> choose_solver(10, 10, 1e-6), choose_solver(100, 100, 1e-6), choose_solver(200, 200, 1e-6)
    ('newton', 'newton', 'sinkhorn')
    >>> choose_solver(10, 10, 0)
    'sinkhorn'
    """
    return "newton" if tol > 0 and max(n, m) <= NEWTON_MAX_CLASSES else "sinkhorn"


def check_solver_choice(solver, grad=None):
    """Check a solver and a gradient mode together, before any work is done.

    ``solver`` and ``grad`` as in :func:`ot_loss`; a ValueError names an unknown one, or
    ``grad="unrolled"`` with ``solver="newton"`` (Newton's steps are not differentiated through).

    Examples
    --------
    >>> check_solver_choice("newton", "implicit")
    >>> check_solver_choice("newton", "unrolled")
    Traceback (most recent call last):
    ...
    ValueError: grad must be 'implicit' with solver='newton', got 'unrolled': Newton's steps are not differentiated through; use solver='sinkhorn' for unrolled gradients
    """
    check_choice("solver", solver, SOLVERS)
    if grad is not None:
        check_choice("grad", grad, GRAD_MODES)
    if solver == "newton" and grad == "unrolled":
        raise ValueError(
            "grad must be 'implicit' with solver='newton', got 'unrolled': Newton's steps are not "
            "differentiated through; use solver='sinkhorn' for unrolled gradients"
        )


def resolve_solver(solver, grad, n, m, tol):
    """The solver and gradient mode that run for ``n x m`` problems stopped at ``tol``.

    ``solver="auto"`` becomes :func:`choose_solver`'s choice (Sinkhorn when ``grad`` is
    ``"unrolled"``), ``grad=None`` the solver's own mode. Both are checked first
    (:func:`check_solver_choice`).

    Examples
    --------
    >>> resolve_solver("auto", None, 10, 10, 1e-6), resolve_solver("sinkhorn", None, 10, 10, 1e-6)
    (('newton', 'implicit'), ('sinkhorn', 'unrolled'))
    """
    check_solver_choice(solver, grad)
    if solver == "auto":
        solver = "sinkhorn" if grad == "unrolled" else choose_solver(n, m, tol)
    if grad is None:
        grad = "implicit" if solver == "newton" else "unrolled"
    return solver, grad


class _Problem(NamedTuple):
    a: torch.Tensor  # (Ba, 1, n), Ba in {1, B}
    b: torch.Tensor  # (Bb, 1, m), Bb in {1, B}
    C: torch.Tensor  # (n, m) shared or (B, n, m)
    batched: bool  # False when a, b and C all come without a batch dimension
    rho: float  # max(C) / reg, what decides between the scaling and the log domain

    @property
    def batch(self):
        """Number of pairs B."""
        return max(self.a.shape[0], self.b.shape[0], self.C.shape[0] if self.C.dim() == 3 else 1)

    @property
    def work(self):
        """Multiply-adds of one kernel product, n m B."""
        n, m = self.C.shape[-2:]
        return n * m * self.batch

    def serial(self, work=None):
        """Whether the scaling-domain solve of this problem runs on one intra-op thread
        (:data:`SERIAL_WORK`); ``work`` replaces that of one kernel product."""
        return self.C.device.type == "cpu" and (self.work if work is None else work) <= SERIAL_WORK

    def scaling_ok(self, dtype=None):
        """Whether the scaling domain is safe in ``dtype`` (default: the working dtype)."""
        n, m = self.C.shape[-2:]
        return self.rho <= _scaling_limit(dtype or self.C.dtype, n, m)


def _raise_values(x, name, sum_tol):
    """Slow path: say which entry of ``x`` breaks which rule (``sum_tol`` None: not a histogram)."""
    if not torch.isfinite(x).all():
        idx = first_index(~torch.isfinite(x))
        raise ValueError(f"{name} must be finite; found {name}[{idx}] = {x[idx].item()}")
    if (x < 0).any():
        idx = first_index(x < 0)
        raise ValueError(f"{name} must be nonnegative; found {name}[{idx}] = {x[idx].item()}")
    if sum_tol is not None:
        row = first_index((x.sum(-1) - 1).abs() > sum_tol)
        where = f"row {row[0]} of {name}" if x.dim() == 2 else name
        raise ValueError(
            f"{name} must sum to 1 along its last axis (tolerance {sum_tol:g}); "
            f"{where} sums to {x.sum(-1)[row].item()!r}"
        )


def _scaling_limit(dtype, n, m):
    r"""Largest :math:`\max \mathbf{C} / \lambda` the scaling domain accepts in ``dtype``.

    Kernel entries go down to :math:`e^{-\rho}` and the scalings up to about
    :math:`n e^{\rho}`; the backward pass squares the denominators. Keeping
    :math:`\rho \le 0.4 \log(1/\text{tiny}) - \log\max(n, m)` keeps all of these normal
    numbers: 32.6 for float32 and 281 for float64 at K = 10.
    """
    return 0.4 * -math.log(torch.finfo(dtype).tiny) - math.log(max(n, m))


def _prepare(a, b, C, reg, max_iter, tol):
    """Check every argument (one device-host sync for the tensor values) and reshape."""
    for x, name in ((a, "a"), (b, "b"), (C, "C")):
        check_tensor(name, x, floating=True, values=True)
    reg = check_real("reg", reg, gt=0)
    check_int("max_iter", max_iter, ge=1)
    check_real("tol", tol, ge=0)
    if a.dim() not in (1, 2) or b.dim() not in (1, 2):
        bad, name = (a, "a") if a.dim() not in (1, 2) else (b, "b")
        raise ValueError(f"{name} must have shape (K,) or (B, K), got {tuple(bad.shape)}")
    n, m = a.shape[-1], b.shape[-1]
    if n == 0 or m == 0:
        raise ValueError(f"a and b must have at least one entry, got shapes {tuple(a.shape)}, {tuple(b.shape)}")
    if C.dim() not in (2, 3) or tuple(C.shape[-2:]) != (n, m):
        raise ValueError(
            f"C must have shape ({n}, {m}) or (B, {n}, {m}) to match a and b, got {tuple(C.shape)}"
        )
    sizes = {name: x.shape[0] for x, name, d in ((a, "a", 2), (b, "b", 2), (C, "C", 3)) if x.dim() == d}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"batch sizes of a, b and C must agree, got {sizes}")
    if len({a.device, b.device, C.device}) > 1:
        raise ValueError(f"a, b and C must be on one device, got {a.device}, {b.device}, {C.device}")
    # histograms stored in half precision cannot sum to 1 closer than K times their epsilon
    sum_tol = {name: histogram_sum_tol(x.dtype, x.shape[-1]) for x, name in ((a, "a"), (b, "b"))}
    dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), C.dtype)
    if torch.finfo(dtype).bits < 32:
        dtype = torch.float32
    check_real(f"reg (in the working dtype {dtype})", reg, ge=torch.finfo(dtype).tiny)  # not 0 there: C / reg = NaN
    a, b, C = a.to(dtype), b.to(dtype), C.to(dtype)
    with torch.no_grad(), autocast_off(C.device):
        stats = torch.stack([
            reduce_or_zero(torch.amin, a), reduce_or_zero(torch.amax, (a.sum(-1) - 1).abs()),
            reduce_or_zero(torch.amin, b), reduce_or_zero(torch.amax, (b.sum(-1) - 1).abs()),
            reduce_or_zero(torch.amin, C), reduce_or_zero(torch.amax, C),
        ]).tolist()
    amin, adev, bmin, bdev, cmin, cmax = stats
    if not (amin >= 0 and adev <= sum_tol["a"]):
        _raise_values(a, "a", sum_tol["a"])
    if not (bmin >= 0 and bdev <= sum_tol["b"]):
        _raise_values(b, "b", sum_tol["b"])
    if not (cmin >= 0 and cmax < math.inf):
        _raise_values(C, "C", None)
    return _Problem(
        a=a.reshape(-1, 1, n), b=b.reshape(-1, 1, m), C=C, batched=bool(sizes), rho=cmax / reg,
    )


# ---------------------------------------------------------------------------- solvers


def _held_at_zero(x):
    """``x`` with no gradient flowing into its zero entries (used inside the iterations)."""
    return torch.where(x > 0, x, 0) if x.requires_grad else x


def _solve_newton(prob, reg, max_iter, tol, want, run):
    """Newton's method on a prepared problem (no graph: its gradient is implicit).

    Solved in float64 whatever the inputs; the plan and the loss come back in the working
    dtype, the potentials (for the implicit backward) in float64.
    """
    a, b, C = (x.detach().double() for x in prob[:3])
    p, q, pi = newton_potentials(a, b, -C / reg, max_iter, tol, run)
    T = a.mT * pi  # rows exact by construction
    if want == "plan":
        return T.to(prob.C.dtype)
    loss = (T * C).sum((-2, -1))
    return (loss.to(prob.C.dtype), p, q) if want == "potentials" else loss.to(prob.C.dtype)


def _solve(prob, reg, max_iter, tol, want, run=None, solver="sinkhorn"):
    """Solve a prepared problem; ``want`` is 'plan', 'loss' or 'potentials'.

    'potentials' also returns the loss: (loss (B,), p (B, 1, n), q (B, 1, m)), the log
    scalings without the log masses (plan ``a_i b_j exp(p_i + q_j - C_ij / reg)``), which
    are finite even at zero masses. Zero masses are held constant inside the iterations
    and enter the plan only through its final formula (see :func:`ot_loss`). ``run``
    (a :class:`SolveReport`) receives the iterations, the violation when the stopping rule was
    met, and a closure measuring the violation of the returned plan.
    """
    run = SolveReport() if run is None else run
    a, b, C = prob.a, prob.b, prob.C
    if solver == "newton":
        return _solve_newton(prob, reg, max_iter, tol, want, run)
    a_it, b_it = _held_at_zero(a), _held_at_zero(b)
    if not prob.scaling_ok():
        # B n m element-wise exponentials per step: heavy enough for intra-op threads (and
        # below 32768 entries torch runs them on one thread anyway)
        L = -C / reg
        p, q = log_iterations(a_it, b_it, L, max_iter, tol, run)

        def final():
            q_new = -torch.logsumexp(p + torch.log(a) + L.mT, dim=-1).unsqueeze(-2)
            return column_violation(log_deviation(b, q, q_new), (a.sum(-1) - b.sum(-1)).abs(), -1)

        run.final = final
        T = LogPlan.apply(a, b, p, q, L)
        if want == "plan":
            return T
        loss = (T * C).sum((-2, -1))
        return (loss, p, q) if want == "potentials" else loss
    K = torch.exp(-C / reg)
    ops = kernel_ops(K, prob.batch)
    A_it, B_it = ops.to(a_it), ops.to(b_it)
    A = A_it if a_it is a else ops.to(a)
    Bc = B_it if b_it is b else ops.to(b)
    graph = torch.is_grad_enabled() and any(x.requires_grad for x in (A_it, B_it, A, Bc, K, C))
    if graph and want == "loss":
        return UnrolledLoss.apply(A_it, B_it, A, Bc, K, C, max_iter, tol, ops, run, prob.serial())
    if graph:
        w, z = UnrolledScaling.apply(A_it, B_it, K, max_iter, tol, ops, run, prob.serial())
    else:
        with torch.no_grad(), serial_threads(prob.serial()):
            w, z = scaling_loop(A_it, B_it, ops, max_iter, tol, run)
    U, V = A / z, Bc / w
    gap = (A.sum(ops.dim) - Bc.sum(ops.dim)).abs()
    run.final = lambda: column_violation(V * ops.left(U) - Bc, gap, ops.dim)  # V * K^T U: column marginals
    if want == "plan":
        return ops.back(U).mT * K * ops.back(V)
    loss = (U * kernel_times(K * C, V, ops.layout)).sum(ops.dim).reshape(-1)
    if want == "potentials":
        return loss, -torch.log(ops.back(z)), -torch.log(ops.back(w))
    return loss


#: Modules whose frames a ConvergenceWarning skips, to point at the code that called them.
_INTERNAL_MODULES = ("watlib.ot", "watlib.adversarial")


def _caller_stacklevel():
    """The ``stacklevel`` of ``warnings.warn``, called by the caller of this function, that
    names the first frame outside :data:`_INTERNAL_MODULES` (the user's call of ot_loss,
    sinkhorn, wat_loss, ...)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__") in _INTERNAL_MODULES:
        frame, level = frame.f_back, level + 1
    return level


def _diagnose(run, prob, reg, max_iter, tol, want, solver="sinkhorn"):
    """Diagnostics of a finished solve (None unless ``want``), warning when they call for it.

    No work when the stopping rule was met and no diagnostics are asked for; otherwise at
    most one product (the violation of the returned plan, when the loop ran to the end)
    and one device-host sync, without a graph.
    """
    if run.violation is not None and not want:
        return None
    with torch.no_grad():
        violation = run.violation if run.violation is not None else run.final()
        violation = violation.clamp_min(0).reshape(-1)
        worst = float(reduce_or_zero(torch.amax, violation))
    converged = run.violation is not None or (tol > 0 and worst <= tol)
    if not converged and not worst <= WARN_VIOLATION:  # a NaN violation warns too
        if solver == "newton":
            advice = "Raise max_iter or raise reg."
        else:
            advice = ("Raise max_iter, raise reg, or use ot_loss(..., solver='newton'), which converges in "
                      "tens of iterations (or grad='implicit', whose memory does not grow with max_iter).")
        warnings.warn(
            f"{'Newton' if solver == 'newton' else 'Sinkhorn'} stopped at max_iter={max_iter} with a "
            f"column-marginal violation of {worst:.3g} (L1, worst pair of the batch), above WARN_VIOLATION = "
            f"{WARN_VIOLATION:g}: the plans, and the loss and gradients made from them, are not converged "
            f"(reg = {reg:g}, max(C)/reg = {prob.rho:.3g}). {advice}",
            ConvergenceWarning, stacklevel=_caller_stacklevel(),
        )
    if not want:
        return None
    return SinkhornDiagnostics(run.iterations, violation if prob.batched else violation.reshape(()),
                               converged, worst)


def _rowmat(x, M):
    """Row vectors times matrices: x (B, n) @ M (n, m) or (B, n, m) -> (B, m)."""
    return (x.unsqueeze(-2) @ M).squeeze(-2)


def _adjoint_system_kernel(a, b, C, p, q, reg):
    """Pieces of the implicit system from the scalings u, v and the kernel K = exp(-C/reg).

    Conditionals are never formed: pi = diag(1/Kv) K diag(v) and Q = diag(u) K diag(1/K^T u)
    are applied through products with K (shared by the batch when C is), so the cost is
    one (B, n, m) pass and batched products. For a kernel representable in float64.
    """
    K = torch.exp(-C / reg)
    u, v = a * torch.exp(p), b * torch.exp(q)
    s_a, s_b = _rowmat(v, K.mT), _rowmat(u, K)  # K v and K^T u
    c_a, c_b = _rowmat(v, (K * C).mT) / s_a, _rowmat(u, K * C) / s_b
    # the system row-scaled by K^T u: diag(K^T u) Q^T pi = K^T diag(u / K v) K diag(v)
    M = (K.mT @ ((u / s_a).unsqueeze(-1) * K)) * v.unsqueeze(-2)
    rhs = s_b * c_b - _rowmat(u * c_a, K)

    def apply_pi(beta):
        return _rowmat(v * beta, K.mT) / s_a

    def grad_C(go, alpha, beta):  # sum over the batch of go * T * (1 + (alpha + beta - C) / reg)
        U = go.unsqueeze(-1) * u
        if C.dim() == 2:
            return K * ((1 - C / reg) * (U.T @ v) + ((U * alpha).T @ v + U.T @ (v * beta)) / reg)
        T = U.unsqueeze(-1) * K * v.unsqueeze(-2)
        return T * (1 + (alpha.unsqueeze(-1) + beta.unsqueeze(-2) - C) / reg)

    return c_a, c_b, M, rhs, v * s_b, apply_pi, grad_C


def _adjoint_system_dense(a, b, C, p, q, reg):
    """The same pieces from the log potentials, with dense (B, n, m) conditionals.

    For costs so large against reg that the kernel underflows even in float64.
    """
    L = -C / reg
    phi, psi = torch.log(a) + p, torch.log(b) + q
    X = psi.unsqueeze(-2) + L
    lse_rows = torch.logsumexp(X, dim=-1)
    pi = torch.exp(X - lse_rows.unsqueeze(-1))
    Y = phi.unsqueeze(-1) + L
    Q = torch.exp(Y - torch.logsumexp(Y, dim=-2, keepdim=True))
    T = pi * torch.exp(phi + lse_rows).unsqueeze(-1)
    c_a, c_b = (pi * C).sum(-1), (Q * C).sum(-2)
    rhs = c_b - _rowmat(c_a, Q)

    def apply_pi(beta):
        return _rowmat(beta, pi.mT)

    def grad_C(go, alpha, beta):
        G = go[:, None, None] * T * (1 + (alpha.unsqueeze(-1) + beta.unsqueeze(-2) - C) / reg)
        return G.sum_to_size(C.shape)

    return c_a, c_b, Q.mT @ pi, rhs, T.sum(-2), apply_pi, grad_C


def _implicit_grads(a, b, C, p, q, reg, kernel, go):
    r"""Gradients of :math:`\langle T^*, C\rangle` at the optimum by implicit differentiation.

    Everything in float64; ``a`` (Ba, n), ``b`` (Bb, m), ``p`` (B, n), ``q`` (B, m),
    ``go`` (B,) the incoming gradient. With :math:`\pi = \mathrm{diag}(1/a) T` and
    :math:`Q = T\,\mathrm{diag}(1/b)` the row and column conditionals of the plan,
    differentiating :math:`T = \exp((f \oplus g - C)/\lambda)` under the marginal
    constraints gives adjoint potentials with

    .. math::
        \alpha = c_a - \pi\beta, \qquad (I - Q^\top\pi)\,\beta = c_b - Q^\top c_a,
        \qquad c_a = (\pi \odot C)\mathbf{1},\ c_b = (Q \odot C)^\top\mathbf{1},

    and :math:`\partial_a = \alpha`, :math:`\partial_b = \beta`,
    :math:`\partial_C = T \odot (1 + (\alpha \oplus \beta - C)/\lambda)`.
    :math:`Q^\top\pi` is a Markov chain on the columns: :math:`I - Q^\top\pi` is
    formed as a Laplacian whose diagonal is the sum of the off-diagonal entries (no
    cancellation when the plan is nearly diagonal), and its null space, the gauge
    :math:`(\alpha + c, \beta - c)`, is removed by grounding the column of largest mass
    (a tiny diagonal shift covers blocks decoupled by underflow). Rows or columns of zero
    mass need no special case: their conditionals are c-transforms, their adjoints the
    one-sided derivatives. Returns centered gradients for a and b, (B, n) and (B, m), and
    the gradient for C, summed over the batch when C is shared.
    """
    system = _adjoint_system_kernel if kernel else _adjoint_system_dense
    c_a, c_b, M, rhs, mass_b, apply_pi, grad_C = system(a, b, C, p, q, reg)
    # M is Q^T pi with rows scaled by some s > 0 (its row sums), which can span many orders of
    # magnitude (s = K^T u follows the scalings, e^{+-20} apart when C/reg is large): divide each
    # row and its right-hand side by s, so that A = I - Q^T pi with every row of order 1 (LU
    # pivots on a row scaled by 1e-11 next to one scaled by 1e6 end in an exact zero)
    scale = M.sum(-1)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    A = -(M / scale.unsqueeze(-1))
    rhs = rhs / scale
    diag = A.diagonal(dim1=-2, dim2=-1)
    diag.zero_()
    diag.copy_(_GROUND_SHIFT - A.sum(-1))
    ground = mass_b.argmax(-1, keepdim=True)
    diag.scatter_add_(-1, ground, torch.ones_like(ground, dtype=A.dtype))
    beta = torch.linalg.solve(A, rhs)
    alpha = c_a - apply_pi(beta)
    center = lambda x: go.unsqueeze(-1) * (x - x.mean(-1, keepdim=True))  # noqa: E731
    return center(alpha), center(beta), grad_C(go, alpha, beta)


class _ImplicitLoss(torch.autograd.Function):
    """Sinkhorn without a graph; backward by implicit differentiation of the optimum."""

    @staticmethod
    def forward(ctx, a, b, C, reg, max_iter, tol, rho, run, solver):
        prob = _Problem(a, b, C, True, rho)
        loss, p, q = _solve(prob, reg, max_iter, tol, "potentials", run, solver)
        ctx.save_for_backward(a, b, C, p, q)
        # the backward's operations are (B, n, m) and (B, n, n) tensors and B n n m products
        ctx.reg, ctx.kernel = reg, prob.scaling_ok(torch.float64)
        ctx.serial = prob.serial(prob.work * max(C.shape[-2:]))
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        a, b, C, p, q = ctx.saved_tensors
        rows = [x[:, 0, :].double() for x in (a, b, p, q)]
        with serial_threads(ctx.serial):
            ga, gb, gC = _implicit_grads(*rows[:2], C.double(), *rows[2:], ctx.reg, ctx.kernel,
                                         grad_loss.double())
        out = [g.unsqueeze(-2).sum_to_size(x.shape).to(x.dtype) if need else None
               for g, x, need in zip((ga, gb), (a, b), ctx.needs_input_grad)]
        out.append(gC.sum_to_size(C.shape).to(C.dtype) if ctx.needs_input_grad[2] else None)
        return (*out, None, None, None, None, None, None)


# ------------------------------------------------------------------------- public API


def sinkhorn(a, b, C, reg=paper.REG, max_iter=MAX_ITER, tol=TOL, return_diagnostics=False, solver="sinkhorn"):
    r"""Entropic optimal transport plans of a batch of histogram pairs (Sinkhorn).

    Solves, for every pair of the batch, the entropic problem (Eq. 4 of the paper)

    .. math::
        \mathbf{T}^*_\lambda = \mathop{\arg\min}_{\mathbf{T} \in U(\mathbf{a}, \mathbf{b})}
        \langle \mathbf{T}, \mathbf{C} \rangle_F - \lambda H(\mathbf{T}),
        \qquad H(\mathbf{T}) = -\sum_{ij} T_{ij} \log T_{ij},

        U(\mathbf{a}, \mathbf{b}) = \{\mathbf{T} \ge 0 :
        \mathbf{T}\mathbf{1} = \mathbf{a},\ \mathbf{T}^\top\mathbf{1} = \mathbf{b}\},

    (the Shannon entropy; adding a constant to H, as in :math:`-\sum T(\log T - 1)`, shifts
    the regularized value and leaves the plan unchanged), whose solution is
    :math:`\mathbf{T}^* = \mathrm{diag}(\mathbf{u})\,\mathbf{K}\,
    \mathrm{diag}(\mathbf{v})` with :math:`\mathbf{K} = e^{-\mathbf{C}/\lambda}`, found by
    Sinkhorn's iterations :math:`\mathbf{v} \leftarrow \mathbf{b} \oslash
    \mathbf{K}^\top\mathbf{u}`, :math:`\mathbf{u} \leftarrow \mathbf{a} \oslash
    \mathbf{K}\mathbf{v}` from :math:`\mathbf{u} = \mathbf{a}` [1]_. The iterations run
    in the scaling domain when :math:`\max\mathbf{C}/\lambda` is small enough for the
    dtype, in the log domain (log-sum-exp) otherwise [4]_; both give the same iterates.

    Stopping: one iteration is one v-update and one u-update, so the row marginals of the
    returned plan are exact. Every ``CHECK_EVERY`` (10) iterations the L1 violation of the
    column marginals, :math:`\|\mathbf{T}_b^\top\mathbf{1} - \mathbf{b}_b\|_1` minus
    the part no plan can remove when the two sums differ by rounding,
    :math:`|\sum\mathbf{a}_b - \sum\mathbf{b}_b|`, is computed for every pair, and the
    loop stops when its maximum over the batch is at most ``tol`` (a check costs one
    device-host sync and no extra product); ``max_iter`` is a hard cap. ``tol=0`` runs
    exactly ``max_iter`` iterations without any sync inside the loop, like the paper's
    authors, who ran a fixed 20 iterations. Defaults: :data:`MAX_ITER` = 100 and
    :data:`TOL` = 1e-6, a float32-level violation. How far from convergence 100 iterations
    leave a batch depends on the problem: for K = 10 random predictions and a random cost
    in [0, 1] at reg 0.05 the worst pair of 256 still has an L1 violation near 1e-2 (the
    loss is off by about 1e-3), while at K = 100 it is below 1e-6; the book chapter on
    Sinkhorn plots these curves.

    Convergence is never silent: a call that ends at ``max_iter`` without meeting the
    stopping rule measures the violation of the plan it returns (one more product and one
    sync, without a graph) and raises a :class:`ConvergenceWarning` when the worst pair is
    above :data:`WARN_VIOLATION` (1e-3), also with ``tol=0``. ``return_diagnostics=True``
    returns that measurement as :class:`SinkhornDiagnostics`.

    The plan is differentiable by automatic differentiation through the iterations
    (``grad="unrolled"`` of :func:`ot_loss`, same conventions).

    Parameters
    ----------
    a : torch.Tensor, shape (n,) or (B, n)
        Source histograms (rows): nonnegative, finite, each summing to 1 (within 1e-4).
        A (n,) histogram is shared by the whole batch.
    b : torch.Tensor, shape (m,) or (B, m)
        Target histograms (columns), same rules. In WAT n = m = K classes.
    C : torch.Tensor, shape (n, m) or (B, n, m)
        Ground cost, nonnegative and finite, shared by the batch or one per pair.
    reg : float, optional
        Entropic regularization :math:`\lambda > 0` (the paper uses 0.05).
    max_iter : int, optional
        Largest number of iterations, >= 1.
    tol : float, optional
        Stop when the L1 column-marginal violation is at most ``tol`` (>= 0; 0 disables).
    return_diagnostics : bool, optional
        Also return how the iterations ended.
    solver : {"sinkhorn", "newton", "auto"}, optional
        ``"newton"``: the plans of Newton's method (:func:`ot_loss`), which are not
        differentiable here (a ValueError when an input requires a gradient); ``"auto"``:
        :func:`choose_solver`, Sinkhorn when an input requires a gradient.

    Returns
    -------
    T : torch.Tensor, shape (B, n, m), or (n, m) when a, b and C have no batch dimension
        Entropic optimal plans, in float64 if any input is float64, float32 otherwise
        (half precision inputs are computed in float32, also under autocast).
    diagnostics : SinkhornDiagnostics
        Only with ``return_diagnostics=True``: iterations run, the column-marginal
        violation of each returned plan, whether the stopping rule was met.

    Warns
    -----
    ConvergenceWarning
        When the iterations end at ``max_iter`` without meeting the stopping rule and the
        worst pair's violation is above :data:`WARN_VIOLATION`.

    Raises
    ------
    TypeError
        If a, b or C is not a floating-point ``torch.Tensor`` (NumPy arrays are refused:
        convert with ``torch.as_tensor``), or reg, max_iter, tol, return_diagnostics have
        the wrong type.
    ValueError
        If a, b or C has a non-finite or negative entry or is a ``meta`` tensor, a histogram does not sum to 1, shapes
        or batch sizes disagree, reg is below the working dtype's smallest normal (float32: 1.2e-38), max_iter < 1, tol < 0.

    References
    ----------
    .. [1] M. Cuturi. Sinkhorn distances: lightspeed computation of optimal transport.
       NeurIPS 2013.
    .. [4] G. Peyré and M. Cuturi. Computational optimal transport. Foundations and
       Trends in Machine Learning 11(5-6), 2019. Section 4.4 (log-domain iterations).

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor([0.5, 0.5])
    >>> b = torch.tensor([1.0, 0.0])
    >>> C = 1 - torch.eye(2)
    >>> sinkhorn(a, b, C)
    tensor([[0.5000, 0.0000],
            [0.5000, 0.0000]])
    >>> T, diag = sinkhorn(torch.full((4, 3), 1 / 3), torch.full((3,), 1 / 3), 1 - torch.eye(3),
    ...                    return_diagnostics=True)
    >>> T.shape, diag.iterations, diag.converged, diag.marginal_violation.shape
    (torch.Size([4, 3, 3]), 10, True, torch.Size([4]))
    """
    return_diagnostics = check_bool("return_diagnostics", return_diagnostics)
    check_choice("solver", solver, SOLVERS)
    graph = torch.is_grad_enabled() and any(isinstance(x, torch.Tensor) and x.requires_grad for x in (a, b, C))
    prob = _prepare(a, b, C, reg, max_iter, tol)
    if solver == "auto":
        solver = "sinkhorn" if graph else choose_solver(*prob.C.shape[-2:], tol)
    if solver == "newton" and graph:
        raise ValueError(
            "solver='newton' returns plans without a gradient, but an input requires one: use "
            "ot_loss(..., solver='newton') for the implicit gradient of the loss, or solver='sinkhorn' "
            "to differentiate the plans through the iterations"
        )
    run = SolveReport()
    serial = prob.serial() if solver == "newton" else prob.scaling_ok() and prob.serial()
    with autocast_off(prob.C.device), serial_threads(serial):
        T = _solve(prob, reg, max_iter, tol, "plan", run, solver)
        diagnostics = _diagnose(run, prob, reg, max_iter, tol, return_diagnostics, solver)
    T = T if prob.batched else T.squeeze(0)
    return (T, diagnostics) if return_diagnostics else T


def ot_loss(a, b, C, reg=paper.REG, max_iter=MAX_ITER, tol=TOL, grad=None, return_diagnostics=False,
            solver="sinkhorn"):
    r"""WAT's optimal transport loss: the linear term of the entropic plan (Eq. 5).

    For every pair of the batch,

    .. math::
        \mathrm{OT}_\mathbf{C}^\lambda(\mathbf{a}, \mathbf{b}) =
        \langle \mathbf{T}^*_\lambda, \mathbf{C} \rangle_F, \qquad
        \mathbf{T}^*_\lambda = \mathop{\arg\min}_{\mathbf{T} \in U(\mathbf{a},
        \mathbf{b})} \langle \mathbf{T}, \mathbf{C} \rangle_F - \lambda H(\mathbf{T}),

    with :math:`\mathbf{T}^*_\lambda` computed by :func:`sinkhorn` (same iterations,
    stopping rule and numerics). This is not the regularized value
    :math:`\langle \mathbf{T}^*_\lambda, \mathbf{C}\rangle - \lambda H(\mathbf{T}^*_\lambda)`:
    the linear term is the better approximation of the exact transport cost, its error
    decaying like :math:`e^{-1/\lambda}` instead of :math:`\lambda` [3]_.

    Gradients with respect to ``a``, ``b`` and ``C``:

    * ``grad="unrolled"``: reverse-mode differentiation through the iterations, as in
      the paper after Genevay et al. [2]_: the derivative of the loss after exactly the
      iterations that ran. In the scaling domain the reverse pass of the loop is written
      out (two kernel products per iteration instead of autograd's bookkeeping; tested
      against autograd on the plain loop); memory grows linearly with the iterations.
    * ``grad="implicit"``: the iterations run without a graph; backward differentiates
      the optimality conditions of the plan (one K x K linear system per pair, batched
      ``torch.linalg.solve`` in float64). Memory does not depend on the iterations; the
      gradient is that of the exact optimum, evaluated at the last iterate, so it is
      accurate once the forward pass has converged.

    Only perturbations of ``a`` and ``b`` that keep their sums are feasible, so their
    gradients matter up to an additive constant per pair: the implicit mode returns them
    centered (zero sum), the unrolled mode returns what the iterations give; the two agree
    after centering, at convergence. Gradients with respect to ``C`` need no such care.

    Zero entries of ``a`` or ``b`` (a softmax that underflowed, a one-hot histogram):
    the implicit mode returns their one-sided derivative. Through unrolled iterations that
    derivative can be as large as :math:`e^{\max\mathbf{C}/\lambda}` (an empty row of the
    plan switches on at once), so the unrolled mode holds zero entries constant inside the
    loop and differentiates them through the final plan formula only, which keeps every
    gradient finite. Tiny but positive entries get the true unrolled derivative, which in
    the log domain (large :math:`\max\mathbf{C}/\lambda`) can be of order 1/entry; prefer
    the implicit mode there.

    Parameters
    ----------
    a : torch.Tensor, shape (n,) or (B, n)
        Source histograms (the detached prediction in WAT); nonnegative, finite, summing
        to 1 within 1e-4. A (n,) histogram is shared by the whole batch.
    b : torch.Tensor, shape (m,) or (B, m)
        Target histograms (the prediction at the adversarial point), same rules.
    C : torch.Tensor, shape (n, m) or (B, n, m)
        Ground cost, nonnegative and finite, shared by the batch or one per pair.
    reg : float, optional
        Entropic regularization :math:`\lambda > 0` (the paper uses 0.05).
    max_iter : int, optional
        Largest number of Sinkhorn iterations (the paper's code: a fixed 20).
    tol : float, optional
        Stopping threshold on the L1 column-marginal violation, checked every 10
        iterations; 0 runs exactly ``max_iter`` iterations.
    grad : {"unrolled", "implicit"} or None, optional
        How gradients are computed; None: ``"implicit"`` with Newton's method (the only one it
        has), ``"unrolled"`` with Sinkhorn.
    return_diagnostics : bool, optional
        Also return how the iterations ended.
    solver : {"sinkhorn", "newton", "auto"}, optional
        ``"sinkhorn"``: Sinkhorn's iterations, checked every 10. ``"newton"``: after
        three log-domain Sinkhorn iterations, damped Newton steps on the semi-dual (one batched
        Cholesky factorisation of B K x K matrices per step, in float64 whatever the inputs),
        every pair stopping when its own violation is at most ``tol``, checked after every
        step; ``max_iter`` counts Newton steps. It converges quadratically where Sinkhorn
        is slowest (peaked, nearby histograms, a cost large against ``reg``: WAT's
        regime). ``"auto"``: :func:`choose_solver` (Sinkhorn with ``grad="unrolled"``).

    Returns
    -------
    loss : torch.Tensor, shape (B,), or shape () when a, b and C have no batch dimension
        :math:`\langle \mathbf{T}^*_\lambda, \mathbf{C}\rangle` per pair, in float64 if
        any input is float64, float32 otherwise (also under autocast).
    diagnostics : SinkhornDiagnostics
        Only with ``return_diagnostics=True``, as in :func:`sinkhorn`.

    Warns
    -----
    ConvergenceWarning
        As :func:`sinkhorn`: the iterations ended at ``max_iter`` with a plan whose worst
        column-marginal violation is above :data:`WARN_VIOLATION`.

    Raises
    ------
    TypeError, ValueError
        As :func:`sinkhorn`, and ValueError when ``grad`` is unknown.

    References
    ----------
    .. [1] M. Cuturi. Sinkhorn distances: lightspeed computation of optimal transport.
       NeurIPS 2013.
    .. [2] A. Genevay, G. Peyré and M. Cuturi. Learning generative models with Sinkhorn
       divergences. AISTATS 2018.
    .. [3] G. Luise, A. Rudi, M. Pontil and C. Ciliberto. Differential properties of
       Sinkhorn approximation for learning with Wasserstein distance. NeurIPS 2018.
    .. [4] G. Peyré and M. Cuturi. Computational optimal transport. Foundations and
       Trends in Machine Learning 11(5-6), 2019.

    Examples
    --------
    With the 0-1 cost the exact transport cost is the total variation
    :math:`\tfrac12\|\mathbf{a} - \mathbf{b}\|_1`:

    >>> import torch
    >>> a = torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64)
    >>> b = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64, requires_grad=True)
    >>> C = 1 - torch.eye(3, dtype=torch.float64)
    >>> loss = ot_loss(a, b, C, reg=0.05)
    >>> round(loss.item(), 6), round(0.5 * (a - b).abs().sum().item(), 6)
    (0.5, 0.5)
    >>> loss.backward()
    >>> b.grad.shape
    torch.Size([3])
    >>> ot_loss(torch.full((8, 3), 1 / 3), b.detach().float(), C.float(), grad="implicit").shape
    torch.Size([8])

    Too few iterations for a small ``reg`` are reported, not hidden:

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     loss, diag = ot_loss(a, b.detach(), C, reg=0.01, max_iter=5, tol=0,
    ...                          return_diagnostics=True)
    >>> diag.iterations, diag.converged, diag.max_violation > WARN_VIOLATION
    (5, False, True)
    >>> caught[0].category.__name__
    'ConvergenceWarning'
    """
    return_diagnostics = check_bool("return_diagnostics", return_diagnostics)
    check_solver_choice(solver, grad)
    prob = _prepare(a, b, C, reg, max_iter, tol)
    solver, grad = resolve_solver(solver, grad, *prob.C.shape[-2:], tol)
    run = SolveReport()
    serial = prob.serial() if solver == "newton" else prob.scaling_ok() and prob.serial()
    with autocast_off(prob.C.device), serial_threads(serial):
        if grad == "implicit":
            loss = _ImplicitLoss.apply(*prob[:3], reg, max_iter, tol, prob.rho, run, solver)
        else:
            loss = _solve(prob, reg, max_iter, tol, "loss", run)
        diagnostics = _diagnose(run, prob, reg, max_iter, tol, return_diagnostics, solver)
    loss = loss if prob.batched else loss.reshape(())
    return (loss, diagnostics) if return_diagnostics else loss
