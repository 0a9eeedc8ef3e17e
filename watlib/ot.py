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
  280 in float64, see :func:`_scaling_limit`); the log domain (log-sum-exp) otherwise.
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
  (n m B at most :data:`SERIAL_WORK`, WAT's sizes) runs entirely on one intra-op thread,
  forward and backward: its loop is a chain of dependent products of tens of microseconds,
  and splitting each across threads costs a synchronisation per product that can wait a
  whole scheduler time slice when another process holds a core (on 2 cores at K = 100,
  B = 256: 27 ms on one thread, 200 ms on two with one core busy). Large float32 products
  go to oneDNN with the kernel packed once per call (:data:`ONEDNN_WORK`), iterates of
  large problems are traced compactly (:data:`COMPACT_ENTRIES`), and iterates that need
  not be kept are updated in place. ``benchmarks/bench_ot.py`` measures all this against
  POT.

Default solver settings, used by every function of watlib that runs Sinkhorn (import them,
do not read them from signatures): :data:`MAX_ITER`, :data:`TOL`; the regularization
default is the paper's :data:`watlib.paper.REG`.
"""

from __future__ import annotations

import contextlib
import math
import sys
import warnings
from functools import partial
from typing import NamedTuple

import torch

from . import paper
from ._checks import check_bool, check_choice, check_int, check_real, check_tensor

__all__ = [
    "sinkhorn", "ot_loss", "SinkhornDiagnostics", "ConvergenceWarning",
    "MAX_ITER", "TOL", "WARN_VIOLATION", "CHECK_EVERY", "GRAD_MODES",
]

#: Default largest number of Sinkhorn iterations (the paper's released code ran a fixed 20).
MAX_ITER = 100
#: Default stopping threshold on the L1 column-marginal violation (a float32-level violation).
TOL = 1e-6
#: Largest column-marginal violation (L1, worst pair of the batch) a run may end with and
#: still be called converged; a call that stops at ``max_iter`` above it warns
#: (:class:`ConvergenceWarning`). The same threshold judges a training run's regularizer.
WARN_VIOLATION = 1e-3
#: Iterations between two convergence checks (each check is one device-host sync).
CHECK_EVERY = 10
#: How far from 1 the sum of a histogram may be (or its dtype's epsilon, when larger).
SUM_TOL = 1e-4
#: Multiply-adds of one kernel product (n m B) up to which a scaling-domain solve runs on one
#: intra-op thread (about 0.1 ms per product on one core; K = 100, B = 256 is 2.6e6).
SERIAL_WORK = 2 ** 24
#: The two ways :func:`ot_loss` differentiates (see its docstring).
GRAD_MODES = ("unrolled", "implicit")
#: Diagonal shift of the implicit system, relative to its O(1) entries; it only acts where
#: the plan splits into blocks whose couplings underflowed to exact zeros.
_GROUND_SHIFT = 8 * torch.finfo(torch.float64).eps


class ConvergenceWarning(UserWarning):
    """Sinkhorn stopped at ``max_iter`` with plans farther than :data:`WARN_VIOLATION` from
    their marginals: the loss and its gradient are those of an unconverged plan."""


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
        pixels, (B, *S).
    converged : bool
        Whether the stopping rule ``max(marginal_violation) <= tol`` was met (at a check
        inside the loop or at the end of the last iteration). Always False with ``tol=0``,
        which asks for a fixed number of iterations: judge those by ``max_violation``.
    max_violation : float
        The largest entry of ``marginal_violation`` (0 for an empty batch); a run is called
        converged in watlib's sense when it is at most :data:`WARN_VIOLATION`.
    """

    iterations: int
    marginal_violation: torch.Tensor
    converged: bool
    max_violation: float


# --------------------------------------------------------------------------- validation


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


def _first(mask):
    """Index (as a tuple) of the first True entry of a boolean tensor."""
    return tuple(int(i) for i in torch.nonzero(mask)[0])


def _reduce(fn, x):
    """``fn(x)`` over all entries, 0 for an empty tensor (a batch of no pairs)."""
    return fn(x) if x.numel() else x.new_zeros(())


def _raise_values(x, name, sum_tol):
    """Slow path: say which entry of ``x`` breaks which rule (``sum_tol`` None: not a histogram)."""
    if not torch.isfinite(x).all():
        idx = _first(~torch.isfinite(x))
        raise ValueError(f"{name} must be finite; found {name}[{idx}] = {x[idx].item()}")
    if (x < 0).any():
        idx = _first(x < 0)
        raise ValueError(f"{name} must be nonnegative; found {name}[{idx}] = {x[idx].item()}")
    if sum_tol is not None:
        row = _first((x.sum(-1) - 1).abs() > sum_tol)
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
        check_tensor(name, x, floating=True)
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
    # histograms stored in half precision cannot sum to 1 closer than their epsilon
    sum_tol = {name: max(SUM_TOL, torch.finfo(x.dtype).eps) for x, name in ((a, "a"), (b, "b"))}
    dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), C.dtype)
    if torch.finfo(dtype).bits < 32:
        dtype = torch.float32
    a, b, C = a.to(dtype), b.to(dtype), C.to(dtype)
    with torch.no_grad(), _autocast_off(C.device):
        stats = torch.stack([
            _reduce(torch.amin, a), _reduce(torch.amax, (a.sum(-1) - 1).abs()),
            _reduce(torch.amin, b), _reduce(torch.amax, (b.sum(-1) - 1).abs()),
            _reduce(torch.amin, C), _reduce(torch.amax, C),
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


def _autocast_off(device):
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


class _Run:
    """What one solve reports to :func:`_diagnose`; the loops and :func:`_solve` fill it in.

    ``iterations``: iterations run; ``violation``: the per-pair violation measured by the
    check that met the stopping rule (None when the loop ran to ``max_iter``); ``final``: a
    closure measuring the violation of the returned plan (one product, no graph).
    """

    __slots__ = ("iterations", "violation", "final")

    def __init__(self):
        self.iterations, self.violation, self.final = 0, None, None


def _violation(deviation, gap, dim):
    """Per pair, the L1 norm of ``deviation`` (column marginal minus b) along ``dim`` minus ``gap``.

    ``gap`` = |sum(a) - sum(b)| per pair: the part of the violation no plan can remove when
    the two sums differ by rounding (they are only checked to 1e-4).
    """
    return deviation.abs().sum(dim) - gap


def _met(violation, tol):
    """The stopping rule: every pair's violation is at most ``tol`` (one device-host sync)."""
    return bool(_reduce(torch.amax, violation) <= tol)


def _checks_now(it, tol):
    return tol > 0 and it > 0 and it % CHECK_EVERY == 0


_PARALLEL = {}


def _threads_settable():
    """Whether torch's intra-op thread count can change at any time: with the OpenMP backend
    (the CPU builds on PyPI) yes; torch's native pool refuses once it has started."""
    if "openmp" not in _PARALLEL:
        _PARALLEL["openmp"] = "parallel backend: OpenMP" in torch.__config__.parallel_info()
    return _PARALLEL["openmp"]


@contextlib.contextmanager
def _serial(on=True):
    """Run the body on one intra-op thread when ``on`` (restoring the count on exit, also
    after an exception); nothing changes when torch already uses one thread.

    Sinkhorn's loop is a chain of small dependent products: splitting each across threads
    costs a synchronisation per product, which on a machine whose other cores are busy can
    wait for a whole scheduler time slice (measured: 200 ms instead of 27 ms at K = 100,
    B = 256, two threads, one core busy).
    """
    prev = torch.get_num_threads() if on and _threads_settable() else 1
    if prev == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


# ---------------------------------------------------------------------- scaling domain
# Histograms and scalings are kept in the layout whose products are fastest:
# * COLUMNS (n, B) against a shared (n, m) kernel, a half-step being one (n, m) x (m, B)
#   ``torch.mm`` (about 3 times faster than (B, n) x (n, m) at K = 10 on CPU);
# * ROWS (B, n) for large float32 CPU problems, whose products go to oneDNN with the
#   kernel packed once per call (1.5 times faster than torch.mm at K = 100, B = 256 on an
#   AVX-512 CPU; see :func:`_onednn_ok`);
# * (B, n, 1) columns against per-pair (B, n, m) kernels (batched ``torch.matmul``).
#: Products of at least this many multiply-adds (n m B) go to oneDNN (float32, CPU, shared
#: kernel): below it the fixed cost of a oneDNN call (about 10 us) outweighs its speed.
ONEDNN_WORK = 2 ** 20
#: Iterates of at least this many entries (n B) are traced compactly, (w, z) per iteration,
#: the reverse pass recomputing u and v: half the memory traffic, two more element-wise
#: operations per iteration (which cost more than the traffic they save on small problems).
COMPACT_ENTRIES = 2 ** 14


class _Ops(NamedTuple):
    """The loop's layout ("cols", "rows" or "pairs") and its two kernel products."""

    left: object  # x (n side) -> K^T x (m side)
    right: object  # y (m side) -> K y (n side)
    layout: str
    compact: bool = False  # trace (w, z) only, recomputing u and v in the reverse pass

    @property
    def dim(self):
        """The axis of the classes."""
        return -1 if self.layout == "rows" else -2

    def to(self, x):
        """(B, 1, n) rows -> the layout (contiguous: element-wise operations on transposed
        views are about 1.5 times slower)."""
        if self.layout == "pairs":
            return x.mT
        x = x[:, 0, :]
        return x.contiguous() if self.layout == "rows" else x.T.contiguous()

    def back(self, x):
        """Inverse of :meth:`to`: the layout -> (B, 1, n) rows."""
        if self.layout == "pairs":
            return x.mT
        return x.unsqueeze(1) if self.layout == "rows" else x.T.unsqueeze(1)

    def per_pair(self, x):
        """A (B,) vector of per-pair values, shaped to broadcast against the layout's vectors."""
        if self.layout == "pairs":
            return x[:, None, None]
        return x[:, None] if self.layout == "rows" else x[None, :]


_ONEDNN = {}


def _onednn_ok():
    """Whether oneDNN's packed float32 linear layer is available here and gives torch.mm's
    products (checked once per process on a small problem; any failure means no)."""
    if "ok" not in _ONEDNN:
        try:
            ops = torch.ops.mkldnn
            x, W = torch.rand(7, 5), torch.rand(3, 5)
            y = ops._linear_pointwise(x, ops._reorder_linear_weight(W, 7), None, "none", [], "")
            _ONEDNN["ok"] = bool(torch.backends.mkldnn.is_available()) and torch.allclose(y, x @ W.T)
        except Exception:  # noqa: BLE001 - any build without these operators
            _ONEDNN["ok"] = False
    return _ONEDNN["ok"] and torch.backends.mkldnn.enabled


def _kernel_ops(K, batch):
    """The products with ``K`` (n, m) or (B, n, m) for a batch of ``batch`` pairs."""
    n, m = K.shape[-2:]
    compact = max(n, m) * batch >= COMPACT_ENTRIES
    if K.dim() == 3:
        KT = K.mT.contiguous()
        return _Ops(partial(torch.matmul, KT), partial(torch.matmul, K), "pairs", compact)
    if (K.device.type == "cpu" and K.dtype == torch.float32 and n * m * batch >= ONEDNN_WORK
            and _onednn_ok()):
        lin, pack = torch.ops.mkldnn._linear_pointwise, torch.ops.mkldnn._reorder_linear_weight
        # linear(x, W) = x W^T: rows u K = linear(u, K^T), rows v K^T = linear(v, K)
        WT, W = pack(K.T.contiguous(), batch), pack(K.contiguous(), batch)
        return _Ops(lambda x: lin(x, WT, None, "none", [], ""), lambda y: lin(y, W, None, "none", [], ""),
                    "rows", compact)
    # torch.mm skips matmul's dispatch (a few us per call); partial calls cost less than lambdas
    return _Ops(partial(torch.mm, K.T.contiguous()), partial(torch.mm, K), "cols", compact)


def _scaling_loop(a, b, ops, max_iter, tol, run, trace=None):
    """Sinkhorn's iterations ``v = b / K^T u``, ``u = a / K v`` from ``u = a``, in ``ops``' layout.

    Returns the last denominators ``w = K^T u`` (the one that made v) and ``z = K v``: the
    plan is ``diag(a / z) K diag(b / w)``. When ``trace`` is a list, the iterates of every
    iteration are appended to it: (u_prev, v, w, z), or (w, z) when ``ops.compact``. ``run``
    gets the iterations and, when a check meets the stopping rule, the violation it measured.
    Iterates that are not traced are overwritten in place (no allocation, a working set
    that stays in cache).
    """
    left, right, dim = ops.left, ops.right, ops.dim
    fresh = trace is not None and not ops.compact  # u and v are traced: new tensors each time
    u, v = a, None
    w = z = None  # set by the first iteration, before any check
    gap = (a.sum(dim) - b.sum(dim)).abs() if tol > 0 else None
    for it in range(max_iter):
        w_next = left(u)
        if gap is not None and _checks_now(it, tol):
            # column marginals of the current plan diag(u) K diag(v): v * K^T u
            violation = _violation(v * w_next - b, gap, dim)
            if _met(violation, tol):
                run.iterations, run.violation = it, violation
                return w, z
        w = w_next
        # after the first iteration every iterate has the full batch: buffers keep their shape
        v = b / w if fresh or v is None else torch.div(b, w, out=v)
        z = right(v)
        if trace is not None:
            trace.append((w, z) if ops.compact else (u, v, w, z))
        u = a / z if fresh or u is a else torch.div(a, z, out=u)
    run.iterations = max_iter
    return w, z


class _UnrolledScaling(torch.autograd.Function):
    """Reverse-mode differentiation of :func:`_scaling_loop`, written out.

    This is backpropagation through the unrolled iterations (the derivative autograd
    would give on the same loop, checked in the tests), without autograd's per-operation
    bookkeeping: per iteration the reverse pass is two products with the kernel and a few
    element-wise operations, and the kernel's gradient is gathered in two products at the
    end. Memory: four (n or m) x B vectors per iteration. Returns the last denominators
    (w, z), from which autograd forms the plan (:func:`sinkhorn`); :class:`_UnrolledLoss`
    also writes out the loss.
    """

    @staticmethod
    def forward(ctx, a, b, K, max_iter, tol, ops, run, serial):
        trace = []
        with _serial(serial):
            w, z = _scaling_loop(a, b, ops, max_iter, tol, run, trace)
        # saved through autograd (not as a plain attribute) so that saved-tensor hooks
        # (offloading, memory accounting) see the iterates
        ctx.save_for_backward(a, b, K, *(x for step in trace for x in step))
        ctx.ops, ctx.serial = ops, serial
        return w, z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_w, grad_z):
        a, b, K, *flat = ctx.saved_tensors
        with _serial(ctx.serial):
            grads = _unrolled_backward(a, b, K, flat, ctx.needs_input_grad[:3], ctx.ops, grad_w, grad_z)
        return grads + (None,) * 5


class _UnrolledLoss(torch.autograd.Function):
    r"""The loss :math:`\langle \mathrm{diag}(U) K \mathrm{diag}(V), C\rangle` of
    :func:`_scaling_loop`'s plan, :math:`U = a / z`, :math:`V = b / w`, with the whole
    reverse pass written out: the loop's (as :class:`_UnrolledScaling`) and the final
    formula's. Forward and backward thus run entirely under the loop's threading
    (:func:`_serial`), and autograd sees one node.

    Inputs: ``a_it``, ``b_it`` the histograms the loop uses (zero masses held constant),
    ``a``, ``b`` those of the final formula, in ``ops``' layout; ``K`` (n, m) or
    (B, n, m) and ``C`` of the same shape. Returns the loss per pair, (B,).
    """

    @staticmethod
    def forward(ctx, a_it, b_it, a, b, K, C, max_iter, tol, ops, run, serial):
        trace = []
        with _serial(serial):
            w, z = _scaling_loop(a_it, b_it, ops, max_iter, tol, run, trace)
            U, V = a / z, b / w
            MV = _times(K * C, V, ops.layout)
            loss = (U * MV).sum(ops.dim).reshape(-1)
        gap = (a.sum(ops.dim) - b.sum(ops.dim)).abs()
        run.final = lambda: _violation(V * ops.left(U) - b, gap, ops.dim)
        ctx.save_for_backward(a_it, b_it, K, a, b, C, U, V, MV, w, z, *(x for step in trace for x in step))
        ctx.ops, ctx.serial = ops, serial
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss):
        a_it, b_it, K, a, b, C, U, V, MV, w, z, *flat = ctx.saved_tensors
        need = ctx.needs_input_grad
        layout = ctx.ops.layout
        with _serial(ctx.serial):
            # the loss per pair as a vector of the layout: (1, B) columns, (B, 1) rows, (B, 1, 1)
            g = ctx.ops.per_pair(grad_loss)
            U_bar = g * MV
            V_bar = g * _times(K * C, U, layout, transpose=True)
            grad_a = (U_bar / z).sum_to_size(a.shape) if need[2] else None
            grad_b = (V_bar / w).sum_to_size(b.shape) if need[3] else None
            grad_K = grad_C = None
            if need[4] or need[5]:  # d<diag(U) M diag(V), 1> / dM, M = K * C
                Ug = U * g
                M_bar = (Ug.T @ V if layout == "rows" else Ug @ V.mT).sum_to_size(K.shape)
                grad_K = M_bar * C if need[4] else None
                grad_C = M_bar * K if need[5] else None
            grad_a_it = grad_b_it = None
            if need[0] or need[1] or need[4]:  # through the loop: U = a / z, V = b / w
                grad_z, grad_w = -U_bar * U / z, -V_bar * V / w
                grad_a_it, grad_b_it, grad_K_loop = _unrolled_backward(
                    a_it, b_it, K, flat, (need[0], need[1], need[4]), ctx.ops, grad_w, grad_z)
                if grad_K_loop is not None:
                    grad_K = grad_K + grad_K_loop
        return (grad_a_it, grad_b_it, grad_a, grad_b, grad_K, grad_C) + (None,) * 5


def _times(M, x, layout, transpose=False):
    """``M x`` (or ``M^T x``) for the vectors ``x`` of a layout, M (n, m) or (B, n, m)."""
    if layout == "rows":
        return x @ M if transpose else x @ M.T
    return (M.mT if transpose else M) @ x


def _unrolled_backward(a, b, K, flat, need, ops, grad_w, grad_z):
    """Reverse pass of :func:`_scaling_loop` from the adjoints of its outputs w and z.

    ``flat`` holds the traced iterates of every iteration, ``need`` says which of the
    gradients for a, b and K are wanted; returns them (None where not wanted).
    """
    # Adjoints: z = K v -> v_bar = K^T z_bar; v = b / w -> b_bar += v_bar / w and
    # w_bar = -(v_bar / w) v; w = K^T u -> u_bar = K w_bar; u = a / z -> a_bar +=
    # u_bar / z and z_bar = -u_bar u / z. Signs are folded (n_w = -w_bar) so that an
    # iteration costs two products and four element-wise operations (compact traces: six,
    # in place, recomputing v = b / w and u_prev = a / z_prev).
    step = 2 if ops.compact else 4
    trace = [flat[i:i + step] for i in range(0, len(flat), step)]
    last = len(trace) - 1
    need_a, need_b, need_K = need
    left, right = ops.left, ops.right
    grad_a = torch.zeros_like(a) if need_a else None
    grad_b = torch.zeros_like(b) if need_b else None
    # r has b's shape (no reduction needed) unless b is shared by the batch or m != n
    add_b = grad_b.add_ if need_b and b.shape == grad_z.shape else partial(_accumulate, grad_b)
    z_bars, vs, us, n_ws = [], [], [], []
    z_bar = grad_z.contiguous()
    for t in range(last, -1, -1):
        if ops.compact:
            w, z = trace[t]
            z_prev = trace[t - 1][1] if t > 0 else None
            v = b / w if need_K else None
            u_prev = (a / z_prev if t > 0 else a) if need_K else None
        else:
            u_prev, v, w, z = trace[t]
            z_prev = trace[t - 1][3] if t > 0 else None
        r = left(z_bar).div_(w)  # a new tensor: updated in place from here on
        if need_b:
            add_b(r)
        n_w = r.mul_(v) if v is not None else r.mul_(b).div_(w)  # full batch even where w broadcasts
        if t == last:
            n_w.sub_(grad_w)
        n_u = right(n_w)
        if need_K:
            z_bars.append(z_bar), vs.append(v), us.append(u_prev), n_ws.append(n_w)
        if t > 0:  # u_prev = a / z_prev
            rho = n_u.div_(z_prev)
            if need_a:
                _accumulate(grad_a, rho, -1)
            z_bar = rho.mul_(u_prev) if u_prev is not None else rho.mul_(a).div_(z_prev)
        elif need_a:  # u_prev = a
            _accumulate(grad_a, n_u, -1)
    grad_K = None
    if need_K:
        rows = ops.layout == "rows"
        axis = 0 if rows else -1  # the batch axis of the layout

        def cat(xs):  # the first iterate may still have the broadcast batch of a
            shape = torch.broadcast_shapes(*(x.shape for x in xs))
            return torch.cat([x.expand(shape) for x in xs], dim=axis)

        Z, V, U, N = cat(z_bars), cat(vs), cat(us), cat(n_ws)
        grad_K = (Z.T @ V - U.T @ N) if rows else (Z @ V.mT - U @ N.mT)
        grad_K = grad_K.sum_to_size(K.shape)
    return grad_a, grad_b, grad_K


def _accumulate(acc, x, alpha=1):
    """``acc += alpha * x`` in place, summing the batch of ``x`` where ``acc`` broadcasts."""
    acc.add_(x if x.shape == acc.shape else x.sum_to_size(acc.shape), alpha=alpha)


# -------------------------------------------------------------------------- log domain


def _signed_exp(x, g):
    """``g * exp(x)`` formed as ``sign(g) exp(x + log|g|)``: 0 where g is 0, even if exp(x) overflows."""
    return g.sign() * torch.exp(x + g.abs().log())


class _CTransform(torch.autograd.Function):
    r"""Half a log-domain Sinkhorn step, :math:`h_i = -\log \sum_j w_j \exp(g_j + L_{ij})`.

    ``g`` (B, 1, m) potential of the other side (without :math:`\log w`), ``L`` (.., n, m)
    the scaled negative cost, ``w`` (., 1, m) the histogram of the other side; returns
    ``h`` (B, 1, n). The weights enter as :math:`w_j`, not :math:`\log w_j`, so zero
    masses get finite gradients; only vectors are saved for backward (the (B, n, m)
    weights are recomputed), so unrolling costs O(B (n + m)) memory per iteration.
    """

    @staticmethod
    def forward(ctx, g, L, w):
        h = -torch.logsumexp(g + torch.log(w) + L, dim=-1).unsqueeze(-2)
        ctx.save_for_backward(g, L, w, h)
        return h

    @staticmethod
    def backward(ctx, grad_h):
        g, L, w, h = ctx.saved_tensors
        A = g + L + h.mT  # log of the weights e_ij, without w_j
        go = grad_h.mT
        grad_g = grad_L = grad_w = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            P = _signed_exp(A + torch.log(w), go)  # go_i * pi_ij, pi the conditional plan
            grad_g = (-P.sum(-2, keepdim=True)).sum_to_size(g.shape)
            grad_L = (-P).sum_to_size(L.shape)
        if ctx.needs_input_grad[2]:
            grad_w = (-_signed_exp(A, go).sum(-2, keepdim=True)).sum_to_size(w.shape)
        return grad_g, grad_L, grad_w


class _LogPlan(torch.autograd.Function):
    r"""The plan :math:`T_{ij} = a_i b_j \exp(p_i + q_j + L_{ij})` from log-domain potentials.

    Formed as one exponential of a sum of logs (no overflow of the factors), with
    gradients that stay finite at zero masses. ``a`` (., 1, n), ``b`` (., 1, m),
    ``p`` (B, 1, n), ``q`` (B, 1, m), ``L`` (.., n, m); returns (B, n, m).
    """

    @staticmethod
    def forward(ctx, a, b, p, q, L):
        E = p.mT + q + L
        T = torch.exp(E + torch.log(a).mT + torch.log(b))
        ctx.save_for_backward(a, b, p, q, L, T)
        return T

    @staticmethod
    def backward(ctx, G):
        a, b, p, q, L, T = ctx.saved_tensors
        GT = G * T
        grads = [None] * 5
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            E = p.mT + q + L
            if ctx.needs_input_grad[0]:
                grads[0] = _signed_exp(E + torch.log(b), G).sum(-1).unsqueeze(-2).sum_to_size(a.shape)
            if ctx.needs_input_grad[1]:
                grads[1] = _signed_exp(E + torch.log(a).mT, G).sum(-2, keepdim=True).sum_to_size(b.shape)
        grads[2] = GT.sum(-1).unsqueeze(-2).sum_to_size(p.shape)
        grads[3] = GT.sum(-2, keepdim=True).sum_to_size(q.shape)
        grads[4] = GT.sum_to_size(L.shape)
        return tuple(grads)


def _log_iterations(a, b, L, max_iter, tol, run):
    """The same map as :func:`_scaling_loop` on rows: p = log(u / a), q = log(v / b)."""
    LT = L.mT.contiguous()
    p, q = torch.zeros_like(a), None  # q is set by the first iteration, before any check
    gap = (a.sum(-1) - b.sum(-1)).abs()
    for it in range(max_iter):
        q_new = _CTransform.apply(p, LT, a)
        if _checks_now(it, tol):
            with torch.no_grad():  # column marginal of the current plan is b exp(q - q_new)
                violation = _violation(_log_deviation(b, q, q_new), gap, -1)
                if _met(violation, tol):
                    run.iterations, run.violation = it, violation
                    return p, q
        q = q_new
        p = _CTransform.apply(q, L, b)
    run.iterations = max_iter
    return p, q


def _log_deviation(b, q, q_new):
    """Column marginal minus b of the log-domain plan (p, q), whose next q is ``q_new``."""
    return torch.where(b > 0, b * torch.expm1(q - q_new), 0)


# ---------------------------------------------------------------------------- solvers


def _held_at_zero(x):
    """``x`` with no gradient flowing into its zero entries (used inside the iterations)."""
    return torch.where(x > 0, x, 0) if x.requires_grad else x


def _solve(prob, reg, max_iter, tol, want, run=None):
    """Run Sinkhorn on a prepared problem; ``want`` is 'plan', 'loss' or 'potentials'.

    'potentials' also returns the loss: (loss (B,), p (B, 1, n), q (B, 1, m)), the log
    scalings without the log masses (plan ``a_i b_j exp(p_i + q_j - C_ij / reg)``), which
    are finite even at zero masses. Zero masses are held constant inside the iterations
    and enter the plan only through its final formula (see :func:`ot_loss`). ``run``
    (a :class:`_Run`) receives the iterations, the violation when the stopping rule was
    met, and a closure measuring the violation of the returned plan.
    """
    run = _Run() if run is None else run
    a, b, C = prob.a, prob.b, prob.C
    a_it, b_it = _held_at_zero(a), _held_at_zero(b)
    if not prob.scaling_ok():
        # B n m element-wise exponentials per step: heavy enough for intra-op threads (and
        # below 32768 entries torch runs them on one thread anyway)
        L = -C / reg
        p, q = _log_iterations(a_it, b_it, L, max_iter, tol, run)

        def final():
            q_new = -torch.logsumexp(p + torch.log(a) + L.mT, dim=-1).unsqueeze(-2)
            return _violation(_log_deviation(b, q, q_new), (a.sum(-1) - b.sum(-1)).abs(), -1)

        run.final = final
        T = _LogPlan.apply(a, b, p, q, L)
        if want == "plan":
            return T
        loss = (T * C).sum((-2, -1))
        return (loss, p, q) if want == "potentials" else loss
    K = torch.exp(-C / reg)
    ops = _kernel_ops(K, prob.batch)
    A_it, B_it = ops.to(a_it), ops.to(b_it)
    A = A_it if a_it is a else ops.to(a)
    Bc = B_it if b_it is b else ops.to(b)
    graph = torch.is_grad_enabled() and any(x.requires_grad for x in (A_it, B_it, A, Bc, K, C))
    if graph and want == "loss":
        return _UnrolledLoss.apply(A_it, B_it, A, Bc, K, C, max_iter, tol, ops, run, prob.serial())
    if graph:
        w, z = _UnrolledScaling.apply(A_it, B_it, K, max_iter, tol, ops, run, prob.serial())
    else:
        with torch.no_grad(), _serial(prob.serial()):
            w, z = _scaling_loop(A_it, B_it, ops, max_iter, tol, run)
    U, V = A / z, Bc / w
    gap = (A.sum(ops.dim) - Bc.sum(ops.dim)).abs()
    run.final = lambda: _violation(V * ops.left(U) - Bc, gap, ops.dim)  # V * K^T U: column marginals
    if want == "plan":
        return ops.back(U).mT * K * ops.back(V)
    loss = (U * _times(K * C, V, ops.layout)).sum(ops.dim).reshape(-1)
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


def _diagnose(run, prob, reg, max_iter, tol, want):
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
        worst = float(_reduce(torch.amax, violation))
    converged = run.violation is not None or (tol > 0 and worst <= tol)
    if not converged and worst > WARN_VIOLATION:
        warnings.warn(
            f"Sinkhorn stopped at max_iter={max_iter} with a column-marginal violation of "
            f"{worst:.3g} (L1, worst pair of the batch), above WARN_VIOLATION = {WARN_VIOLATION:g}: "
            f"the plans, and the loss and gradients made from them, are not converged "
            f"(reg = {reg:g}, max(C)/reg = {prob.rho:.3g}). Raise max_iter, raise reg, or use "
            f"ot_loss(..., grad='implicit'), whose memory does not grow with max_iter.",
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
    # M is Q^T pi with rows scaled by some s > 0 (its row sums); A = diag(s) - M as a Laplacian
    scale = M.sum(-1)
    A = -M
    diag = A.diagonal(dim1=-2, dim2=-1)
    diag.zero_()
    diag.copy_(_GROUND_SHIFT * scale - A.sum(-1))
    ground = mass_b.argmax(-1, keepdim=True)
    diag.scatter_add_(-1, ground, scale.gather(-1, ground))
    beta = torch.linalg.solve(A, rhs)
    alpha = c_a - apply_pi(beta)
    center = lambda x: go.unsqueeze(-1) * (x - x.mean(-1, keepdim=True))  # noqa: E731
    return center(alpha), center(beta), grad_C(go, alpha, beta)


class _ImplicitLoss(torch.autograd.Function):
    """Sinkhorn without a graph; backward by implicit differentiation of the optimum."""

    @staticmethod
    def forward(ctx, a, b, C, reg, max_iter, tol, rho, run):
        prob = _Problem(a, b, C, True, rho)
        loss, p, q = _solve(prob, reg, max_iter, tol, "potentials", run)
        ctx.save_for_backward(a, b, C, p, q)
        # the backward's operations are (B, n, m) and (B, n, n) tensors and B n n m products
        ctx.reg, ctx.kernel = reg, prob.scaling_ok(torch.float64)
        ctx.serial = prob.serial(prob.work * max(C.shape[-2:]))
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        a, b, C, p, q = ctx.saved_tensors
        rows = [x[:, 0, :].double() for x in (a, b, p, q)]
        with _serial(ctx.serial):
            ga, gb, gC = _implicit_grads(*rows[:2], C.double(), *rows[2:], ctx.reg, ctx.kernel,
                                         grad_loss.double())
        out = [g.unsqueeze(-2).sum_to_size(x.shape).to(x.dtype) if need else None
               for g, x, need in zip((ga, gb), (a, b), ctx.needs_input_grad)]
        out.append(gC.sum_to_size(C.shape).to(C.dtype) if ctx.needs_input_grad[2] else None)
        return (*out, None, None, None, None, None)


# ------------------------------------------------------------------------- public API


def sinkhorn(a, b, C, reg=paper.REG, max_iter=MAX_ITER, tol=TOL, return_diagnostics=False):
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
        If a, b or C has a non-finite or negative entry, a histogram does not sum to 1,
        shapes or batch sizes disagree, reg <= 0, max_iter < 1 or tol < 0.

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
    prob = _prepare(a, b, C, reg, max_iter, tol)
    run = _Run()
    with _autocast_off(prob.C.device), _serial(prob.scaling_ok() and prob.serial()):
        T = _solve(prob, reg, max_iter, tol, "plan", run)
        diagnostics = _diagnose(run, prob, reg, max_iter, tol, return_diagnostics)
    T = T if prob.batched else T.squeeze(0)
    return (T, diagnostics) if return_diagnostics else T


def ot_loss(a, b, C, reg=paper.REG, max_iter=MAX_ITER, tol=TOL, grad="unrolled", return_diagnostics=False):
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
    grad : {"unrolled", "implicit"}, optional
        How gradients are computed.
    return_diagnostics : bool, optional
        Also return how the iterations ended.

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
    check_choice("grad", grad, GRAD_MODES)
    return_diagnostics = check_bool("return_diagnostics", return_diagnostics)
    prob = _prepare(a, b, C, reg, max_iter, tol)
    run = _Run()
    with _autocast_off(prob.C.device), _serial(prob.scaling_ok() and prob.serial()):
        if grad == "implicit":
            loss = _ImplicitLoss.apply(*prob[:3], reg, max_iter, tol, prob.rho, run)
        else:
            loss = _solve(prob, reg, max_iter, tol, "loss", run)
        diagnostics = _diagnose(run, prob, reg, max_iter, tol, return_diagnostics)
    loss = loss if prob.batched else loss.reshape(())
    return (loss, diagnostics) if return_diagnostics else loss
