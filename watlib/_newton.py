r"""A batched Newton method on the entropic semi-dual: the second solver behind :mod:`watlib.ot`.

Private to watlib: :func:`watlib.ot.ot_loss` and :func:`watlib.ot.sinkhorn` with
``solver="newton"`` are the API. The names below are public so that :mod:`watlib.ot`, the
benchmarks and the tests can import them; they are not part of watlib's API.

The problem of one pair, in the log domain with :math:`L = -C/\lambda`: eliminating the row
potentials (every row marginal exact, as after a Sinkhorn u-update) leaves the smooth, convex
semi-dual in the column log-scalings :math:`\psi`,

.. math::
    F(\psi) = \sum_i a_i \,\ell_i(\psi) - \sum_j b_j \psi_j, \qquad
    \ell_i(\psi) = \log \sum_j e^{L_{ij} + \psi_j},

whose gradient is the column marginal minus :math:`b` and whose Hessian is a Laplacian:

.. math::
    \nabla F = T^\top\mathbf{1} - b, \qquad
    \nabla^2 F = \mathrm{diag}(T^\top\mathbf{1}) - \pi^\top \mathrm{diag}(a)\, \pi,
    \qquad \pi_{ij} = e^{L_{ij} + \psi_j - \ell_i},\ T = \mathrm{diag}(a)\,\pi,

the same matrix, up to a diagonal scaling, as :math:`I - Q^\top\pi` of the implicit gradient
(:func:`watlib.ot._implicit_grads`). Sinkhorn is the block coordinate ascent of this dual: its
rate is set by the second eigenvalue of the chain :math:`Q^\top\pi`, which is within
:math:`e^{-\max C/\lambda}` of 1 when the cost is large against :math:`\lambda` and the
histograms are peaked and close, WAT's regime. Newton's method is affine invariant and does not
see that conditioning: after a few Sinkhorn iterations it converges quadratically.

Numerics:

* everything in float64 and the log domain (no kernel under- or overflow for any
  :math:`\max C/\lambda`);
* the Hessian is scaled symmetrically by :math:`\sqrt{T^\top \mathbf{1}}` (unit diagonal
  scale whatever the masses, down to 1e-300) and formed as a Laplacian: its diagonal is the
  sum of its off-diagonal entries, never :math:`c_j - \sum_i a_i\pi_{ij}^2`, which cancels
  when the plan is nearly diagonal;
* the gauge (a constant moved from the column to the row potentials) is removed explicitly
  by adding the rank-one term :math:`w w^\top`, :math:`w` the scaled null vector, and a shift
  of :data:`SHIFT` covers blocks decoupled by underflow; one batched Cholesky factorisation
  per step;
* columns of zero mass keep :math:`\psi_j = -\infty` (an exact zero of the plan) and take no
  part in the system; rows of zero mass have weight 0 in :math:`F`;
* the step solves the log-marginal equations :math:`\log c = \log b` (right-hand side
  :math:`\log b - \log c`, with :math:`\log c` from a log-sum-exp, exact where :math:`c`
  underflows), is at most :data:`MAX_STEP` long in every coordinate, and is cut by a
  backtracking line search per pair (Armijo on :math:`F`, or a decrease of
  :math:`\|\nabla F\|_2`, whichever holds first: near the optimum the decrease of F is below
  its rounding); the full step is tried on the whole batch and the shorter ones, in one batched
  evaluation, on the pairs that refused it; a pair that refuses them all takes one Sinkhorn
  iteration; each pair stops moving once its own violation is at most ``tol``;
* above :math:`\max C/\lambda` = :data:`SCALING_START` x :data:`SCALING_FACTOR`, epsilon
  scaling: problems of larger reg are solved first, each warm-starting the next [3]_.

The implicit gradient factorises its own system at the converged plan rather than reusing the
last step's Cholesky factor, which belongs to the iterate before that step (its plan is off
by the last step, about ``tol``) and to a differently scaled matrix. Reuse would save only the
batched solve: measured on ``benchmarks/wat_pairs.pt`` (0-1 cost, B = 256, K = 10, one
thread), ``torch.linalg.solve`` takes 0.27 ms of a 1.5 ms backward, against a 10-20 ms forward.

References
----------
.. [1] C. Brauer, C. Clason, D. Lorenz and B. Wirth. A Sinkhorn-Newton method for entropic
   optimal transport. arXiv:1710.06635, 2017.
.. [2] G. Peyré and M. Cuturi. Computational optimal transport. Foundations and Trends in
   Machine Learning 11(5-6), 2019. Section 4.4 (log-domain iterations), Remark 4.17 (dual).
.. [3] B. Schmitzer. Stabilized sparse scaling algorithms for entropy regularized transport
   problems. SIAM Journal on Scientific Computing 41(3), 2019.
"""

from __future__ import annotations

import torch

__all__ = ["NEWTON_WARM_START", "SHIFT", "ARMIJO", "MAX_BACKTRACK", "MAX_STEP", "SHRINK", "LOG_DIRECT", "CANDIDATE_BUDGET", "SCALING_START", "SCALING_FACTOR",
           "SCALING_TOL", "SCALING_STEPS", "newton_potentials"]

#: Sinkhorn iterations (scaling domain, from v = b) run before the first Newton step: each costs
#: about a tenth of a step, and 30 of them save WAT's pairs 3 to 5 steps (measured, K = 10 and 100).
NEWTON_WARM_START = 30
#: Diagonal shift of the scaled, gauge-fixed Hessian (whose eigenvalues lie in (0, 1]); it only
#: acts on blocks of the plan that decoupled by underflow.
SHIFT = 1e-13
#: Sufficient-decrease constant of the line search.
ARMIJO = 1e-4
#: Largest number of step halvings in one line search; a pair whose search fails takes one
#: Sinkhorn iteration instead.
MAX_BACKTRACK = 5
#: Largest max C / reg solved directly; above it, reg is scaled down to the one asked for from a
#: problem with max C / reg at most SCALING_START * SCALING_FACTOR.
SCALING_START = 50.0
#: Ratio between the reg of two successive problems of epsilon scaling.
SCALING_FACTOR = 4.0
#: Violation to which every problem but the last is solved ...
SCALING_TOL = 1e-6
#: ... in at most this many steps.
SCALING_STEPS = 30
#: Most entries (candidates x pairs x rows x columns) of one batched line-search evaluation.
CANDIDATE_BUDGET = 2**22
#: Largest change of a log-scaling in one Newton step (a longer one is cut to it).
MAX_STEP = 5.0
#: Smallest column marginal whose log is taken directly (below it, a log-sum-exp).
LOG_DIRECT = 1e-280
#: Once at most this share of a batch's pairs is still moving, only those take further steps.
SHRINK = 0.5


def _logsumexp(x, dim):
    """log-sum-exp along ``dim`` in four kernels (torch.logsumexp adds a pass for infinite
    maxima). A slice that is all -inf gives -inf: its maximum is clamped to the most negative
    float, so that no inf - inf arises; +inf does not occur here."""
    top = x.amax(dim, keepdim=True).clamp_min(torch.finfo(x.dtype).min)
    return (top + (x - top).exp().sum(dim, keepdim=True).log()).squeeze(dim)


class _State:
    """The semi-dual at psi, for every pair: row log-normalizers, conditionals, gradient."""

    __slots__ = ("psi", "ell", "pi", "c", "g", "F", "norm")

    def __init__(self, psi, L, a, b, support):
        X = L + psi.unsqueeze(-2)  # (B, n, m); -inf in zero-mass columns
        # the row log-normalizers and the conditionals from one pass of exp
        top = X.amax(-1, keepdim=True)
        E = (X - top).exp()
        total = E.sum(-1, keepdim=True)
        ell = (top + total.log()).squeeze(-1)  # (B, n)
        self.psi, self.ell = psi, ell
        self.pi = E / total
        self.c = (a.unsqueeze(-1) * self.pi).sum(-2)  # column marginal (B, m)
        self.g = self.c - b
        bpsi = torch.where(support, b * psi, 0).sum(-1)
        self.F = (a * ell).sum(-1) - bpsi  # zero-mass rows: a_i ell_i = 0 (ell finite)
        self.norm = self.g.square().sum(-1).sqrt()

    def rows(self, index):
        """The state of the pairs ``index`` only."""
        part = _State.__new__(_State)
        for name in _State.__slots__:
            setattr(part, name, getattr(self, name).index_select(0, index))
        return part

    def with_rows(self, index, part):
        """This state with the pairs ``index`` replaced by those of ``part`` (a new object)."""
        out = _State.__new__(_State)
        for name in _State.__slots__:
            setattr(out, name, getattr(self, name).index_copy(0, index, getattr(part, name)))
        return out


def _log_column_marginal(s, L, la):
    """log of the column marginal, exact where it underflows (a column pushed far down): log c
    where every entry of c is a normal float, else a log-sum-exp over the rows."""
    if bool(((s.c >= LOG_DIRECT) | s.psi.isneginf()).all()):  # psi = -inf: a zero-mass column
        return s.c.log()  # a sum of positive terms: log c has the relative accuracy of c
    return _logsumexp((la - s.ell).unsqueeze(-1) + L + s.psi.unsqueeze(-2), -2)


def _newton_direction(s, logc, a, b, support):
    """The Newton step of the log-marginal equations for every pair (gauge fixed, zero-mass
    columns held at 0)."""
    W = a.unsqueeze(-1) * s.pi  # the plan T (B, n, m)
    S = s.pi.mT @ W  # sum_i a_i pi_ij pi_ik (B, m, m), entries >= 0
    root = torch.where(support, s.c.clamp_min(torch.finfo(s.c.dtype).tiny).sqrt(), 1.0)
    S.diagonal(dim1=-2, dim2=-1).zero_()
    # the Laplacian's diagonal as the sum of the off-diagonal couplings (no cancellation)
    coupling = S.sum(-1) / root.square()
    H = -S / (root.unsqueeze(-1) * root.unsqueeze(-2))
    H.diagonal(dim1=-2, dim2=-1).copy_(torch.where(support, coupling, 1.0) + SHIFT)
    w = torch.where(support, root, 0.0)
    w = w / w.square().sum(-1, keepdim=True).sqrt()
    H = H + w.unsqueeze(-1) * w.unsqueeze(-2)
    # Newton on the log-marginal equations log c = log b: the right-hand side c (log b - log c)
    # equals -g to first order at the optimum, and gives Sinkhorn's step log(b / c) where the
    # Hessian is nearly diagonal (a column decoupled from the others), where -g / c would
    # extrapolate an exponential linearly
    rhs = torch.where(support, root * (torch.log(b) - logc), 0.0)
    factor, info = torch.linalg.cholesky_ex(H)
    # two triangular solves (cholesky_solve would add a copy and a host check of its own)
    y = torch.linalg.solve_triangular(factor, rhs.unsqueeze(-1), upper=False)
    d = torch.linalg.solve_triangular(factor.mT, y, upper=True).squeeze(-1) / root
    # a failed factorisation (not expected: the matrix is positive definite) falls back on
    # Sinkhorn's step log(b / c)
    d = torch.where((info == 0).unsqueeze(-1), d, rhs / root)
    # a column of mass near the smallest double divides by its root: the length is capped by the
    # caller, the direction must stay finite
    big = torch.finfo(d.dtype).max / 4
    return torch.where(support, d.nan_to_num(nan=0.0, posinf=big, neginf=-big), 0.0)


def newton_potentials(a, b, L, max_iter, tol, run, warm_start=NEWTON_WARM_START):
    r"""Solve every pair of a batch by Newton's method; float64 potentials of the plan.

    Parameters
    ----------
    a : torch.Tensor, shape (Ba, 1, n), float64
        Row histograms, Ba in {1, B}.
    b : torch.Tensor, shape (Bb, 1, m), float64
        Column histograms, Bb in {1, B}.
    L : torch.Tensor, shape (n, m) or (B, n, m), float64
        :math:`-C / \lambda`.
    max_iter : int
        Largest number of Newton steps (each: one Cholesky factorisation of B m x m matrices).
    tol : float
        A pair stops moving once its L1 column-marginal violation (minus the gap between the
        two sums) is at most ``tol``; the solve stops when every pair has. 0 runs ``max_iter``
        steps.
    run : watlib._sinkhorn.SolveReport
        Receives the steps run, the violation when the rule was met, and a closure returning
        the final violation.
    warm_start : int
        Sinkhorn iterations (scaling domain) before the first step.

    Returns
    -------
    p : torch.Tensor, shape (B, 1, n)
        Row log-scalings without the log masses: :math:`u_i = a_i e^{p_i}`.
    q : torch.Tensor, shape (B, 1, m)
        Column log-scalings without the log masses (c-transforms where :math:`b_j = 0`), so that
        the plan is :math:`a_i b_j e^{p_i + q_j + L_{ij}}` with exact row marginals.
    """
    sizes = [a.shape[0], b.shape[0]] + ([L.shape[0]] if L.dim() == 3 else [])
    batch = 0 if 0 in sizes else max(sizes)
    a2, b2 = a[:, 0, :].expand(batch, -1), b[:, 0, :].expand(batch, -1)
    with torch.no_grad():
        support = b2 > 0
        lb = torch.log(b2)  # -inf at zero masses: those columns stay exact zeros
        la = torch.log(a2)
        gap = (a2.sum(-1) - b2.sum(-1)).abs()
        # far from the optimum, where max C / reg is large, the Hessian of a weakly coupled pair
        # underflows and Newton's model says nothing: solve a sequence of problems whose reg
        # falls geometrically to the one asked for, each from the last one's dual potentials
        # (epsilon scaling), so that each starts where its model holds
        rho = float(L.amax() - L.amin()) if L.numel() else 0.0
        scales = [1.0]
        while rho * scales[0] > SCALING_START * SCALING_FACTOR:
            scales.insert(0, scales[0] / SCALING_FACTOR)
        L_k = L * scales[0]
        psi = _scaling_warm_start(a2, b2, lb, L_k, warm_start)
        steps = 0
        for k, scale in enumerate(scales):
            if k:  # the same dual potentials reg * log v under the smaller reg
                psi = torch.where(support, lb + (state.psi - lb) * (scale / scales[k - 1]), state.psi)
                L_k = L * scale
            state = _State(psi, L_k, a2, b2, support)
            last = k == len(scales) - 1
            state, done, met, violation = _newton_steps(
                state, L_k, la, lb, a2, b2, support, gap, tol if last else max(tol, SCALING_TOL),
                max_iter - steps if last else min(SCALING_STEPS, max_iter - steps))
            steps += done
        run.iterations = steps
        run.violation = met
        run.final = lambda v=violation: v  # measured on the final state at the last check
        p = -state.ell
        q_support = state.psi - lb
        # zero-mass columns: the c-transform of the rows, as the Sinkhorn paths return
        q_ct = -_logsumexp((la + p).unsqueeze(-1) + L, -2)
        q = torch.where(support, q_support, q_ct)
    return p.unsqueeze(-2), q.unsqueeze(-2), state.pi


def _scaling_warm_start(a, b, lb, L, iterations):
    r"""``iterations`` Sinkhorn iterations in the scaling domain, from v = b; the column
    log-scalings psi = log v (-inf where b is 0).

    The kernel is :math:`e^{L - \max L}`, whose entries are at least :math:`e^{-200}` here
    (epsilon scaling keeps :math:`\max L - \min L` at most SCALING_START x SCALING_FACTOR), so
    nothing underflows; an iteration is two matrix products and two divisions, a tenth of a
    log-domain one."""
    K = (L - L.amax()).exp()
    v = b
    for _ in range(iterations):
        if K.dim() == 2:
            u = a / (v @ K.mT)
            v = b / (u @ K)
        else:
            u = a / (K @ v.unsqueeze(-1)).squeeze(-1)
            v = b / (u.unsqueeze(-2) @ K).squeeze(-2)
    psi = v.log()
    # a pair whose scalings left the floating-point range (a v_j that overflowed, or underflowed
    # where b_j > 0) starts from log b instead
    ok = (psi.isfinite() | (b == 0)).all(-1, keepdim=True)
    return torch.where(ok, psi, lb)


def _newton_steps(state, L, la, lb, a, b, support, gap, tol, max_iter):
    """Damped Newton steps from ``state`` until every pair's violation is at most ``tol`` (0: run
    ``max_iter`` steps); the state, the steps run, the violation when the rule was met (else None)
    and the violation at the last check.

    Once at most :data:`SHRINK` of the pairs are still moving, the steps continue on those pairs
    alone (the converged ones would only be carried along at full cost)."""
    steps = 0
    while True:
        violation = state.g.abs().sum(-1) - gap
        active = ~(violation <= tol)  # a NaN is never converged
        moving = int(active.sum()) if tol > 0 else len(active)
        if not moving:
            return state, steps, violation, violation
        if steps >= max_iter:
            return state, steps, None, violation
        if moving <= SHRINK * len(active):
            return _steps_on(active.nonzero().squeeze(-1), state, violation, steps, L, la, lb, a, b, support,
                             gap, tol, max_iter)
        logc = _log_column_marginal(state, L, la)
        d = _newton_direction(state, logc, a, b, support)
        # damping: no log-scaling moves by more than MAX_STEP in one step. Newton's model of a
        # weakly coupled direction is linear where the marginal is exponential, and asks for far
        # too long a step there; the coordinates that ask for less keep their step
        d = torch.where(active.unsqueeze(-1), d.clamp(-MAX_STEP, MAX_STEP), 0.0)
        state = _line_search(state, d, logc, active, L, a, b, lb, support)
        steps += 1


def _steps_on(rows, state, violation, steps, L, la, lb, a, b, support, gap, tol, max_iter):
    """:func:`_newton_steps` on the pairs ``rows`` only; the others keep their state."""
    def sub(x):
        return x.index_select(0, rows)

    part, done, met, part_violation = _newton_steps(
        state.rows(rows), sub(L) if L.dim() == 3 else L, sub(la), sub(lb), sub(a), sub(b), sub(support), sub(gap), tol,
        max_iter - steps)
    violation = violation.index_copy(0, rows, part_violation)
    return state.with_rows(rows, part), steps + done, None if met is None else violation, violation


def _line_search(state, d, logc, active, L, a, b, lb, support):
    """The next state of every pair: the first of the step lengths 1, 1/2, ..., 2**-(MAX_BACKTRACK-1)
    along ``d`` that passes the test (Armijo on F, or a decrease of the gradient's norm), else one
    Sinkhorn iteration (which never increases F); pairs that are not ``active`` keep their point.

    The full step is tried on the whole batch; the shorter ones only on the pairs that refused it,
    all of them in one batched evaluation (in chunks of at most :data:`CANDIDATE_BUDGET` entries),
    so that a step costs two evaluations at most, never one per halving.
    """
    slope = (state.g * d).sum(-1).clamp_max(0)  # < 0 for active pairs
    trial = _State(state.psi + d, L, a, b, support)
    ok = _acceptable(trial, state, 1.0, slope) | ~active
    if bool(ok.all()):
        return trial
    rest = (~ok).nonzero().squeeze(-1)

    def sub(x):  # the pairs that refused the full step
        return x.index_select(0, rest)

    a_r, b_r, lb_r, support_r, L_r = sub(a), sub(b), sub(lb), sub(support), sub(L) if L.dim() == 3 else L
    base = state.rows(rest)
    d_r, slope_r = sub(d), sub(slope)
    sinkhorn_step = torch.where(support_r, lb_r - sub(logc), 0.0)
    # the halvings after the full step, then Sinkhorn's step, which is always accepted
    t_all = 0.5 ** torch.arange(1, MAX_BACKTRACK, dtype=d.dtype, device=d.device)
    n = t_all.numel() + 1
    chunk = max(1, CANDIDATE_BUDGET // max(1, base.pi[0].numel() * rest.numel()))
    new = accepted = None
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        t = t_all[lo:hi].reshape(-1, 1, 1)
        moves = ([t * d_r] if t.numel() else []) + ([sinkhorn_step.unsqueeze(0)] if hi == n else [])
        cand = _State(base.psi + torch.cat(moves), L_r, a_r, b_r, support_r)
        tt = torch.cat([t.reshape(-1), t.new_ones(hi - lo - t.numel())]).unsqueeze(-1)
        ok_c = _acceptable(cand, base, tt, slope_r)
        if hi == n:
            ok_c[-1] = True
        chosen = _pick(cand, ok_c.to(torch.uint8).argmax(0))  # the longest acceptable step
        got = ok_c.any(0)
        if new is None:
            new, accepted = chosen, got
        else:
            new, accepted = _merge(new, chosen, got & ~accepted), accepted | got
        if hi == n or bool(accepted.all()):
            break
    return trial.with_rows(rest, new)


def _acceptable(trial, state, t, slope):
    """Sufficient decrease of F, or of the gradient's norm (near the optimum F's decrease is
    below its rounding)."""
    return (trial.F <= state.F + ARMIJO * t * slope) | (trial.norm <= (1 - ARMIJO * t) * state.norm)


def _pick(x, index):
    """A _State of the candidates ``index`` (B,) out of a batched one, shape (T, B, ...)."""
    out = _State.__new__(_State)
    for name in _State.__slots__:
        v = getattr(x, name)
        i = index.reshape(1, -1, *([1] * (v.dim() - 2))).expand(1, *v.shape[1:])
        setattr(out, name, v.gather(0, i).squeeze(0))
    return out


def _merge(x, y, take_y):
    """A _State whose pairs come from ``y`` where ``take_y`` and from ``x`` elsewhere."""
    out = _State.__new__(_State)
    for name in _State.__slots__:
        vx, vy = getattr(x, name), getattr(y, name)
        mask = take_y.reshape(-1, *([1] * (vx.dim() - 1)))
        setattr(out, name, torch.where(mask, vy, vx))
    return out
