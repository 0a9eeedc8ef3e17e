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
* a backtracking line search per pair (Armijo on :math:`F`, or a decrease of
  :math:`\|\nabla F\|_2`, whichever holds first: near the optimum the decrease of F is below
  its rounding), and each pair stops moving once its own violation is at most ``tol``.

References
----------
.. [1] C. Brauer, C. Clason, D. Lorenz and B. Wirth. A Sinkhorn-Newton method for entropic
   optimal transport. arXiv:1710.06635, 2017.
.. [2] G. Peyré and M. Cuturi. Computational optimal transport. Foundations and Trends in
   Machine Learning 11(5-6), 2019. Section 4.4 (log-domain iterations), Remark 4.17 (dual).
"""

from __future__ import annotations

import torch

__all__ = ["NEWTON_WARM_START", "SHIFT", "ARMIJO", "MAX_BACKTRACK", "MAX_STEP", "newton_potentials"]

#: Log-domain Sinkhorn iterations run before the first Newton step (from psi = log b).
NEWTON_WARM_START = 3
#: Diagonal shift of the scaled, gauge-fixed Hessian (whose eigenvalues lie in (0, 1]); it only
#: acts on blocks of the plan that decoupled by underflow.
SHIFT = 1e-13
#: Sufficient-decrease constant of the line search.
ARMIJO = 1e-4
#: Largest number of step halvings in one line search; a pair whose search fails takes one
#: Sinkhorn iteration instead.
MAX_BACKTRACK = 8
#: Largest change of a log-scaling in one Newton step (the step is shortened to it).
MAX_STEP = 30.0


class _State:
    """The semi-dual at psi, for every pair: row log-normalizers, conditionals, gradient."""

    __slots__ = ("psi", "ell", "pi", "c", "g", "F", "norm")

    def __init__(self, psi, L, a, b, support):
        X = L + psi.unsqueeze(-2)  # (B, n, m); -inf in zero-mass columns
        ell = torch.logsumexp(X, -1)  # (B, n)
        self.psi, self.ell = psi, ell
        self.pi = torch.exp(X - ell.unsqueeze(-1))
        self.c = (a.unsqueeze(-1) * self.pi).sum(-2)  # column marginal (B, m)
        self.g = self.c - b
        bpsi = torch.where(support, b * psi, 0).sum(-1)
        self.F = (a * ell).sum(-1) - bpsi  # zero-mass rows: a_i ell_i = 0 (ell finite)
        self.norm = self.g.square().sum(-1).sqrt()


def _newton_direction(s, a, b, support):
    """-H^{-1} g for every pair (gauge fixed, zero-mass columns held at 0)."""
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
    rhs = torch.where(support, root * (torch.log(b) - torch.log(s.c)), 0.0)
    factor, info = torch.linalg.cholesky_ex(H)
    d = torch.cholesky_solve(rhs.unsqueeze(-1), factor).squeeze(-1) / root
    # a failed factorisation (not expected: the matrix is positive definite) falls back on
    # Sinkhorn's step log(b / c)
    d = torch.where((info == 0).unsqueeze(-1), d, rhs / root)
    return torch.where(support, d, 0.0)


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
        Log-domain Sinkhorn iterations before the first step.

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
        psi = lb.clone()
        for _ in range(warm_start):
            ell = torch.logsumexp(L + psi.unsqueeze(-2), -1)
            psi = lb - torch.logsumexp((la - ell).unsqueeze(-1) + L, -2)
        state = _State(psi, L, a2, b2, support)
        steps, met = 0, None
        while True:
            violation = state.g.abs().sum(-1) - gap
            active = violation > tol
            if tol > 0 and not bool(active.any()):
                met = violation
                break
            if steps >= max_iter:
                break
            d = _newton_direction(state, a2, b2, support)
            # damping: no scaling moves by more than a factor e**MAX_STEP in one step (far from the
            # optimum a column of tiny mass asks for a step of b_j / c_j, not log(b_j / c_j))
            big = d.abs().amax(-1, keepdim=True)
            d = torch.where(active.unsqueeze(-1), d * (MAX_STEP / big.clamp_min(MAX_STEP)), 0.0)
            slope = (state.g * d).sum(-1).clamp_max(0)  # < 0 for active pairs
            t = torch.ones_like(gap)
            accepted = ~active
            new = state
            for _ in range(MAX_BACKTRACK):
                trial = _State(state.psi + t.unsqueeze(-1) * d, L, a2, b2, support)
                ok = (trial.F <= state.F + ARMIJO * t * slope) | (trial.norm <= (1 - ARMIJO * t) * state.norm)
                ok = ok & ~accepted
                new = trial if new is state else _merge(new, trial, ok)
                accepted = accepted | ok
                if bool(accepted.all()):
                    break
                t = torch.where(accepted, t, 0.5 * t)
            if not bool(accepted.all()):
                # where Newton's model failed, one Sinkhorn iteration (it never increases F)
                step = torch.where(support, lb - torch.log(state.c), 0.0)
                sk = _State(state.psi + step, L, a2, b2, support)
                new = _merge(new, sk, ~accepted)
            state = new
            steps += 1
        run.iterations = steps
        run.violation = met
        run.final = lambda v=violation: v  # measured on the final state at the last check
        p = -state.ell
        q_support = state.psi - lb
        # zero-mass columns: the c-transform of the rows, as the Sinkhorn paths return
        q_ct = -torch.logsumexp((la + p).unsqueeze(-1) + L, -2)
        q = torch.where(support, q_support, q_ct)
    return p.unsqueeze(-2), q.unsqueeze(-2), state.pi


def _merge(x, y, take_y):
    """A _State whose pairs come from ``y`` where ``take_y`` and from ``x`` elsewhere."""
    out = _State.__new__(_State)
    for name in _State.__slots__:
        vx, vy = getattr(x, name), getattr(y, name)
        mask = take_y.reshape(-1, *([1] * (vx.dim() - 1)))
        setattr(out, name, torch.where(mask, vy, vx))
    return out
