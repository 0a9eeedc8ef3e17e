r"""Sinkhorn's iterations and their reverse passes: the numerical kernels behind :mod:`watlib.ot`.

Private to watlib: :func:`watlib.ot.sinkhorn` and :func:`watlib.ot.ot_loss` are the API;
this module holds the loops they dispatch to, in the scaling domain (a kernel
:math:`e^{-C/\lambda}` shared by the batch, with the reverse pass of the unrolled iterations
written out) and in the log domain (c-transforms by log-sum-exp), and the threading and
layout choices of their small products. The names below are public so that
:mod:`watlib.ot` and the tests can import them; they are not part of watlib's API.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import NamedTuple

import torch

__all__ = [
    "CHECK_EVERY",
    "COMPACT_ENTRIES",
    "LogPlan",
    "ONEDNN_WORK",
    "SolveReport",
    "UnrolledLoss",
    "UnrolledScaling",
    "autocast_off",
    "column_violation",
    "kernel_ops",
    "kernel_times",
    "log_deviation",
    "log_iterations",
    "onednn_ok",
    "reduce_or_zero",
    "scaling_loop",
    "serial_threads",
    "unrolled_backward",
]

#: Iterations between two convergence checks (each check is one device-host sync).
CHECK_EVERY = 10


def reduce_or_zero(fn, x):
    """``fn(x)`` over all entries, 0 for an empty tensor (a batch of no pairs)."""
    return fn(x) if x.numel() else x.new_zeros(())


def autocast_off(device):
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


class SolveReport:
    """What one solve reports to :func:`_diagnose`; the loops and :func:`_solve` fill it in.

    ``iterations``: iterations run; ``violation``: the per-pair violation measured by the
    check that met the stopping rule (None when the loop ran to ``max_iter``); ``final``: a
    closure measuring the violation of the returned plan (one product, no graph).
    """

    __slots__ = ("iterations", "violation", "final")

    def __init__(self):
        self.iterations, self.violation, self.final = 0, None, None


def column_violation(deviation, gap, dim):
    """Per pair, the L1 norm of ``deviation`` (column marginal minus b) along ``dim`` minus ``gap``.

    ``gap`` = |sum(a) - sum(b)| per pair: the part of the violation no plan can remove when
    the two sums differ by rounding (they are only checked to 1e-4).
    """
    return deviation.abs().sum(dim) - gap


def _met(violation, tol):
    """The stopping rule: every pair's violation is at most ``tol`` (one device-host sync)."""
    return bool(reduce_or_zero(torch.amax, violation) <= tol)


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
def serial_threads(on=True):
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
#   AVX-512 CPU; see :func:`onednn_ok`);
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


def onednn_ok():
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


def kernel_ops(K, batch):
    """The products with ``K`` (n, m) or (B, n, m) for a batch of ``batch`` pairs."""
    n, m = K.shape[-2:]
    compact = max(n, m) * batch >= COMPACT_ENTRIES
    if K.dim() == 3:
        KT = K.mT.contiguous()
        return _Ops(partial(torch.matmul, KT), partial(torch.matmul, K), "pairs", compact)
    if (K.device.type == "cpu" and K.dtype == torch.float32 and n * m * batch >= ONEDNN_WORK
            and onednn_ok()):
        lin, pack = torch.ops.mkldnn._linear_pointwise, torch.ops.mkldnn._reorder_linear_weight
        # linear(x, W) = x W^T: rows u K = linear(u, K^T), rows v K^T = linear(v, K)
        WT, W = pack(K.T.contiguous(), batch), pack(K.contiguous(), batch)
        return _Ops(lambda x: lin(x, WT, None, "none", [], ""), lambda y: lin(y, W, None, "none", [], ""),
                    "rows", compact)
    # torch.mm skips matmul's dispatch (a few us per call); partial calls cost less than lambdas
    return _Ops(partial(torch.mm, K.T.contiguous()), partial(torch.mm, K), "cols", compact)


def scaling_loop(a, b, ops, max_iter, tol, run, trace=None):
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
            violation = column_violation(v * w_next - b, gap, dim)
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


class UnrolledScaling(torch.autograd.Function):
    """Reverse-mode differentiation of :func:`scaling_loop`, written out.

    This is backpropagation through the unrolled iterations (the derivative autograd
    would give on the same loop, checked in the tests), without autograd's per-operation
    bookkeeping: per iteration the reverse pass is two products with the kernel and a few
    element-wise operations, and the kernel's gradient is gathered in two products at the
    end. Memory: four (n or m) x B vectors per iteration. Returns the last denominators
    (w, z), from which autograd forms the plan (:func:`sinkhorn`); :class:`UnrolledLoss`
    also writes out the loss.
    """

    @staticmethod
    def forward(ctx, a, b, K, max_iter, tol, ops, run, serial):
        trace = []
        with serial_threads(serial):
            w, z = scaling_loop(a, b, ops, max_iter, tol, run, trace)
        # saved through autograd (not as a plain attribute) so that saved-tensor hooks
        # (offloading, memory accounting) see the iterates
        ctx.save_for_backward(a, b, K, *(x for step in trace for x in step))
        ctx.ops, ctx.serial = ops, serial
        return w, z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_w, grad_z):
        a, b, K, *flat = ctx.saved_tensors
        with serial_threads(ctx.serial):
            grads = unrolled_backward(a, b, K, flat, ctx.needs_input_grad[:3], ctx.ops, grad_w, grad_z)
        return grads + (None,) * 5


class UnrolledLoss(torch.autograd.Function):
    r"""The loss :math:`\langle \mathrm{diag}(U) K \mathrm{diag}(V), C\rangle` of
    :func:`scaling_loop`'s plan, :math:`U = a / z`, :math:`V = b / w`, with the whole
    reverse pass written out: the loop's (as :class:`UnrolledScaling`) and the final
    formula's. Forward and backward thus run entirely under the loop's threading
    (:func:`serial_threads`), and autograd sees one node.

    Inputs: ``a_it``, ``b_it`` the histograms the loop uses (zero masses held constant),
    ``a``, ``b`` those of the final formula, in ``ops``' layout; ``K`` (n, m) or
    (B, n, m) and ``C`` of the same shape. Returns the loss per pair, (B,).
    """

    @staticmethod
    def forward(ctx, a_it, b_it, a, b, K, C, max_iter, tol, ops, run, serial):
        trace = []
        with serial_threads(serial):
            w, z = scaling_loop(a_it, b_it, ops, max_iter, tol, run, trace)
            U, V = a / z, b / w
            MV = kernel_times(K * C, V, ops.layout)
            loss = (U * MV).sum(ops.dim).reshape(-1)
        gap = (a.sum(ops.dim) - b.sum(ops.dim)).abs()
        run.final = lambda: column_violation(V * ops.left(U) - b, gap, ops.dim)
        ctx.save_for_backward(a_it, b_it, K, a, b, C, U, V, MV, w, z, *(x for step in trace for x in step))
        ctx.ops, ctx.serial = ops, serial
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss):
        a_it, b_it, K, a, b, C, U, V, MV, w, z, *flat = ctx.saved_tensors
        need = ctx.needs_input_grad
        layout = ctx.ops.layout
        with serial_threads(ctx.serial):
            # the loss per pair as a vector of the layout: (1, B) columns, (B, 1) rows, (B, 1, 1)
            g = ctx.ops.per_pair(grad_loss)
            U_bar = g * MV
            V_bar = g * kernel_times(K * C, U, layout, transpose=True)
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
                grad_a_it, grad_b_it, grad_K_loop = unrolled_backward(
                    a_it, b_it, K, flat, (need[0], need[1], need[4]), ctx.ops, grad_w, grad_z)
                if grad_K_loop is not None:
                    grad_K = grad_K + grad_K_loop
        return (grad_a_it, grad_b_it, grad_a, grad_b, grad_K, grad_C) + (None,) * 5


def kernel_times(M, x, layout, transpose=False):
    """``M x`` (or ``M^T x``) for the vectors ``x`` of a layout, M (n, m) or (B, n, m)."""
    if layout == "rows":
        return x @ M if transpose else x @ M.T
    return (M.mT if transpose else M) @ x


def unrolled_backward(a, b, K, flat, need, ops, grad_w, grad_z):
    """Reverse pass of :func:`scaling_loop` from the adjoints of its outputs w and z.

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


class LogPlan(torch.autograd.Function):
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


def log_iterations(a, b, L, max_iter, tol, run):
    """The same map as :func:`scaling_loop` on rows: p = log(u / a), q = log(v / b)."""
    LT = L.mT.contiguous()
    p, q = torch.zeros_like(a), None  # q is set by the first iteration, before any check
    gap = (a.sum(-1) - b.sum(-1)).abs()
    for it in range(max_iter):
        q_new = _CTransform.apply(p, LT, a)
        if _checks_now(it, tol):
            with torch.no_grad():  # column marginal of the current plan is b exp(q - q_new)
                violation = column_violation(log_deviation(b, q, q_new), gap, -1)
                if _met(violation, tol):
                    run.iterations, run.violation = it, violation
                    return p, q
        q = q_new
        p = _CTransform.apply(q, L, b)
    run.iterations = max_iter
    return p, q


def log_deviation(b, q, q_new):
    """Column marginal minus b of the log-domain plan (p, q), whose next q is ``q_new``."""
    return torch.where(b > 0, b * torch.expm1(q - q_new), 0)
