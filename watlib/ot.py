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
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import NamedTuple

import torch

__all__ = ["sinkhorn", "ot_loss"]

#: Iterations between two convergence checks (each check is one device-host sync).
CHECK_EVERY = 10
#: How far from 1 the sum of a histogram may be (or its dtype's epsilon, when larger).
SUM_TOL = 1e-4
_GRAD_MODES = ("unrolled", "implicit")
#: Diagonal shift of the implicit system, relative to its O(1) entries; it only acts where
#: the plan splits into blocks whose couplings underflowed to exact zeros.
_GROUND_SHIFT = 8 * torch.finfo(torch.float64).eps


# --------------------------------------------------------------------------- validation


class _Problem(NamedTuple):
    a: torch.Tensor  # (Ba, 1, n), Ba in {1, B}
    b: torch.Tensor  # (Bb, 1, m), Bb in {1, B}
    C: torch.Tensor  # (n, m) shared or (B, n, m)
    batched: bool  # False when a, b and C all come without a batch dimension
    rho: float  # max(C) / reg, what decides between the scaling and the log domain

    def scaling_ok(self, dtype=None):
        """Whether the scaling domain is safe in ``dtype`` (default: the working dtype)."""
        n, m = self.C.shape[-2:]
        return self.rho <= _scaling_limit(dtype or self.C.dtype, n, m)


def _check_real(x, name, low, *, integer=False, strict=False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(x, bool) or not isinstance(x, kind):
        want = "an int" if integer else "a real number"
        raise TypeError(f"{name} must be {want}, got {x!r} of type {type(x).__name__}")
    bad = not math.isfinite(x) or (x <= low if strict else x < low)
    if bad:
        rule = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"{name} must be finite and {rule}, got {x!r}")


def _check_tensor(x, name):
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; "
            "convert NumPy arrays with torch.as_tensor"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}")


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
        _check_tensor(x, name)
    _check_real(reg, "reg", 0, strict=True)
    _check_real(max_iter, "max_iter", 1, integer=True)
    _check_real(tol, "tol", 0)
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


def _converged(violation, gap, tol, dim):
    """True when, for every pair, the L1 marginal violation minus ``gap`` is at most ``tol``.

    ``gap`` = |sum(a) - sum(b)| per pair: the part of the violation no plan can remove when
    the two sums differ by rounding (they are only checked to 1e-4).
    """
    return bool(_reduce(torch.amax, violation.abs().sum(dim) - gap) <= tol)


def _checks_now(it, tol):
    return tol > 0 and it > 0 and it % CHECK_EVERY == 0


# ---------------------------------------------------------------------- scaling domain
# The scaling domain keeps histograms and scalings as COLUMNS: (n, B) against a shared
# (n, m) kernel, so that a half-step is one (n, m) x (m, B) product (about 3 times faster
# than (B, n) x (n, m) at K = 10 on CPU), or (B, n, 1) against per-pair (B, n, m) kernels.


def _to_cols(x, shared):
    """(B, 1, n) rows -> (n, B) columns (shared kernel) or (B, n, 1) (per-pair kernels).

    Contiguous: element-wise operations on transposed views are about 1.5 times slower.
    """
    return x[:, 0, :].T.contiguous() if shared else x.mT


def _to_rows(x, shared):
    """Inverse of :func:`_to_cols`."""
    return x.T.unsqueeze(1) if shared else x.mT


def _scaling_loop(a, b, K, KT, max_iter, tol, trace=None):
    """Sinkhorn's iterations ``v = b / K^T u``, ``u = a / K v`` from ``u = a``, in columns.

    ``a`` (n, Ba) or (Ba, n, 1), ``b`` likewise with m, ``K`` (n, m) or (B, n, m) and
    ``KT`` its contiguous transpose. Returns the last denominators ``w = K^T u`` (the one
    that made v) and ``z = K v``: the plan is ``diag(a / z) K diag(b / w)``. When ``trace``
    is a list, the iterates (u_prev, v, w, z) of every iteration are appended to it.
    """
    mm = _matmul_for(K)
    u = a
    gap = (a.sum(-2) - b.sum(-2)).abs() if tol > 0 else None
    for it in range(max_iter):
        w_next = mm(KT, u)
        if gap is not None and _checks_now(it, tol) and _converged(v * w_next - b, gap, tol, -2):
            break
        w = w_next
        v = b / w
        z = mm(K, v)
        if trace is not None:
            trace.append((u, v, w, z))
        u = a / z
    return w, z


def _matmul_for(K):
    """``torch.mm`` for a shared kernel (skips ``matmul``'s dispatch, a few us per call in a
    loop of tiny products), ``torch.matmul`` for per-pair kernels (it broadcasts a batch of 1)."""
    return torch.mm if K.dim() == 2 else torch.matmul


class _UnrolledScaling(torch.autograd.Function):
    """Reverse-mode differentiation of :func:`_scaling_loop`, written out.

    This is backpropagation through the unrolled iterations (the derivative autograd
    would give on the same loop, checked in the tests), without autograd's per-operation
    bookkeeping: per iteration the reverse pass is two products with the kernel and a few
    element-wise operations, and the kernel's gradient is gathered in two products at the
    end. Memory: four (n or m) x B vectors per iteration.
    """

    @staticmethod
    def forward(ctx, a, b, K, max_iter, tol):
        trace = []
        w, z = _scaling_loop(a, b, K, K.mT.contiguous(), max_iter, tol, trace)
        # saved through autograd (not as a plain attribute) so that saved-tensor hooks
        # (offloading, memory accounting) see the iterates
        ctx.save_for_backward(a, b, K, *(x for step in trace for x in step))
        return w, z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_w, grad_z):
        # Adjoints: z = K v -> v_bar = K^T z_bar; v = b / w -> b_bar += v_bar / w and
        # w_bar = -(v_bar / w) v; w = K^T u -> u_bar = K w_bar; u = a / z -> a_bar +=
        # u_bar / z and z_bar = -u_bar u / z. Signs are folded (n_w = -w_bar) so that an
        # iteration costs two products and four element-wise operations.
        a, b, K, *flat = ctx.saved_tensors
        trace = [flat[i:i + 4] for i in range(0, len(flat), 4)]  # (u_prev, v, w, z) per step
        need_a, need_b, need_K = ctx.needs_input_grad[:3]
        KT = K.mT.contiguous()
        mm = _matmul_for(K)
        grad_a = torch.zeros_like(a) if need_a else None
        grad_b = torch.zeros_like(b) if need_b else None
        z_bars, vs, us, n_ws = [], [], [], []
        z_bar = grad_z
        for t in range(len(trace) - 1, -1, -1):
            u_prev, v, w, z = trace[t]
            r = mm(KT, z_bar) / w
            if need_b:
                _accumulate(grad_b, r)
            n_w = r * v  # full batch even where w broadcasts (first iterate)
            if t == len(trace) - 1:
                n_w = n_w - grad_w
            n_u = mm(K, n_w)
            if need_K:
                z_bars.append(z_bar), vs.append(v), us.append(u_prev), n_ws.append(n_w)
            if t > 0:  # u_prev = a / z_prev
                rho = n_u / trace[t - 1][3]
                if need_a:
                    _accumulate(grad_a, rho, -1)
                z_bar = rho * u_prev
            elif need_a:  # u_prev = a
                _accumulate(grad_a, n_u, -1)
        grad_K = None
        if need_K:
            def cat(xs):  # the first iterate may still have the broadcast batch of a
                shape = torch.broadcast_shapes(*(x.shape for x in xs))
                return torch.cat([x.expand(shape) for x in xs], dim=-1)

            grad_K = (cat(z_bars) @ cat(vs).mT - cat(us) @ cat(n_ws).mT).sum_to_size(K.shape)
        return grad_a, grad_b, grad_K, None, None


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


def _log_iterations(a, b, L, max_iter, tol):
    """The same map as :func:`_scaling_loop` on rows: p = log(u / a), q = log(v / b)."""
    LT = L.mT.contiguous()
    p = torch.zeros_like(a)
    gap = (a.sum(-1) - b.sum(-1)).abs()
    for it in range(max_iter):
        q_new = _CTransform.apply(p, LT, a)
        if _checks_now(it, tol):
            with torch.no_grad():  # column marginal of the current plan is b exp(q - q_new)
                if _converged(torch.where(b > 0, b * torch.expm1(q - q_new), 0), gap, tol, -1):
                    break
        q = q_new
        p = _CTransform.apply(q, L, b)
    return p, q


# ---------------------------------------------------------------------------- solvers


def _held_at_zero(x):
    """``x`` with no gradient flowing into its zero entries (used inside the iterations)."""
    return torch.where(x > 0, x, 0) if x.requires_grad else x


def _solve(prob, reg, max_iter, tol, want):
    """Run Sinkhorn on a prepared problem; ``want`` is 'plan', 'loss' or 'potentials'.

    'potentials' also returns the loss: (loss (B,), p (B, 1, n), q (B, 1, m)), the log
    scalings without the log masses (plan ``a_i b_j exp(p_i + q_j - C_ij / reg)``), which
    are finite even at zero masses. Zero masses are held constant inside the iterations
    and enter the plan only through its final formula (see :func:`ot_loss`).
    """
    a, b, C = prob.a, prob.b, prob.C
    a_it, b_it = _held_at_zero(a), _held_at_zero(b)
    if not prob.scaling_ok():
        L = -C / reg
        p, q = _log_iterations(a_it, b_it, L, max_iter, tol)
        T = _LogPlan.apply(a, b, p, q, L)
        if want == "plan":
            return T
        loss = (T * C).sum((-2, -1))
        return (loss, p, q) if want == "potentials" else loss
    K = torch.exp(-C / reg)
    shared = C.dim() == 2
    A, Bc = _to_cols(a_it, shared), _to_cols(b_it, shared)
    if torch.is_grad_enabled() and (A.requires_grad or Bc.requires_grad or K.requires_grad):
        w, z = _UnrolledScaling.apply(A, Bc, K, max_iter, tol)
    else:
        with torch.no_grad():
            w, z = _scaling_loop(A, Bc, K, K.mT.contiguous(), max_iter, tol)
    U, V = _to_cols(a, shared) / z, _to_cols(b, shared) / w
    if want == "plan":
        return _to_rows(U, shared).mT * K * _to_rows(V, shared)
    loss = (U * ((K * C) @ V)).sum(-2).reshape(-1)
    if want == "potentials":
        return loss, -torch.log(_to_rows(z, shared)), -torch.log(_to_rows(w, shared))
    return loss


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
    def forward(ctx, a, b, C, reg, max_iter, tol, rho):
        prob = _Problem(a, b, C, True, rho)
        loss, p, q = _solve(prob, reg, max_iter, tol, "potentials")
        ctx.save_for_backward(a, b, C, p, q)
        ctx.reg, ctx.kernel = reg, prob.scaling_ok(torch.float64)
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        a, b, C, p, q = ctx.saved_tensors
        rows = [x[:, 0, :].double() for x in (a, b, p, q)]
        ga, gb, gC = _implicit_grads(*rows[:2], C.double(), *rows[2:], ctx.reg, ctx.kernel,
                                     grad_loss.double())
        out = [g.unsqueeze(-2).sum_to_size(x.shape).to(x.dtype) if need else None
               for g, x, need in zip((ga, gb), (a, b), ctx.needs_input_grad)]
        out.append(gC.sum_to_size(C.shape).to(C.dtype) if ctx.needs_input_grad[2] else None)
        return (*out, None, None, None, None)


# ------------------------------------------------------------------------- public API


def sinkhorn(a, b, C, reg=0.05, max_iter=100, tol=1e-6):
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
    device-host sync and no extra product); ``max_iter`` is a hard cap, so a batch that has
    not converged by then is returned as it is. ``tol=0`` runs exactly ``max_iter``
    iterations without any sync, like the paper's authors, who ran a fixed 20 iterations.
    Defaults: ``max_iter=100``, ``tol=1e-6``, which is a float32-level violation. How far
    from convergence 100 iterations leave a batch depends on the problem: for K = 10
    random predictions and a random cost in [0, 1] at reg 0.05 the worst pair of 256 still
    has an L1 violation near 1e-2 (the loss is off by about 1e-3), while at K = 100 it is
    below 1e-6; the book chapter on Sinkhorn plots these curves. Raise ``max_iter`` when
    accurate values matter more than time.

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

    Returns
    -------
    T : torch.Tensor, shape (B, n, m), or (n, m) when a, b and C have no batch dimension
        Entropic optimal plans, in float64 if any input is float64, float32 otherwise
        (half precision inputs are computed in float32, also under autocast).

    Raises
    ------
    TypeError
        If a, b or C is not a floating-point ``torch.Tensor`` (NumPy arrays are refused:
        convert with ``torch.as_tensor``), or reg, max_iter, tol have the wrong type.
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
    >>> sinkhorn(torch.full((4, 3), 1 / 3), torch.full((3,), 1 / 3), 1 - torch.eye(3)).shape
    torch.Size([4, 3, 3])
    """
    prob = _prepare(a, b, C, reg, max_iter, tol)
    with _autocast_off(prob.C.device):
        T = _solve(prob, reg, max_iter, tol, "plan")
    return T if prob.batched else T.squeeze(0)


def ot_loss(a, b, C, reg=0.05, max_iter=100, tol=1e-6, grad="unrolled"):
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

    Returns
    -------
    loss : torch.Tensor, shape (B,), or shape () when a, b and C have no batch dimension
        :math:`\langle \mathbf{T}^*_\lambda, \mathbf{C}\rangle` per pair, in float64 if
        any input is float64, float32 otherwise (also under autocast).

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
    """
    if grad not in _GRAD_MODES:
        raise ValueError(f"grad must be one of {_GRAD_MODES}, got {grad!r}")
    prob = _prepare(a, b, C, reg, max_iter, tol)
    with _autocast_off(prob.C.device):
        if grad == "implicit":
            loss = _ImplicitLoss.apply(*prob[:3], reg, max_iter, tol, prob.rho)
        else:
            loss = _solve(prob, reg, max_iter, tol, "loss")
    return loss if prob.batched else loss.reshape(())
