"""Newton's method of watlib.ot (``solver="newton"``): agreement with POT and with Sinkhorn,
convergence in tens of steps where Sinkhorn needs thousands, implicit gradients, edge cases."""

import warnings

import numpy as np
import ot as pot
import pytest
import torch

from watlib import ot_loss, sinkhorn
from watlib.ot import ConvergenceWarning, choose_solver

F64 = torch.float64


def wat_pairs(B, K, kind, seed=0):
    """Pairs like WAT's: a prediction and the prediction at a nearby point."""
    g = torch.Generator().manual_seed(seed)
    z = 4 * torch.randn(B, K, generator=g, dtype=F64)
    if kind == "near":
        z2 = z + 0.05 * torch.randn(B, K, generator=g, dtype=F64)
    elif kind == "peaked":
        z = 3 * z
        z2 = z + 0.3 * torch.randn(B, K, generator=g, dtype=F64)
    else:
        z2 = 4 * torch.randn(B, K, generator=g, dtype=F64)
    return z.softmax(-1), z2.softmax(-1)


def zero_one(K):
    return 1 - torch.eye(K, dtype=F64)


def pot_loss(a, b, C, reg):
    """POT's converged log-domain Sinkhorn, pair by pair."""
    out = []
    for ai, bi in zip(a.numpy(), b.numpy()):
        T = pot.sinkhorn(ai, bi, C.numpy(), reg, method="sinkhorn_log", numItermax=100_000, stopThr=1e-12)
        out.append(float((T * C.numpy()).sum()))
    return torch.tensor(out, dtype=F64)


@pytest.mark.parametrize("kind", ["near", "peaked", "far"])
@pytest.mark.parametrize("K", [10, 100])
def test_reaches_1e8_in_at_most_40_steps(kind, K):
    a, b = wat_pairs(64, K, kind)
    loss, diag = ot_loss(a, b, zero_one(K), 0.05, max_iter=40, tol=1e-8, solver="newton", return_diagnostics=True)
    assert diag.converged and diag.iterations <= 40 and diag.max_violation <= 1e-8
    assert torch.isfinite(loss).all()


@pytest.mark.parametrize("K,reg,scale,steps", [(2, 0.05, 1.0, 40), (3, 1e-2, 1.0, 40), (10, 0.05, 1.0, 40),
                                               (10, 1.0, 10.0, 40), (10, 10.0, 1.0, 40), (25, 0.1, 1.0, 40),
                                               (50, 10.0, 100.0, 40), (100, 0.05, 1.0, 40),
                                               # max C / reg = 200 and 1,000: slower, but converged
                                               (50, 0.5, 100.0, 100), (10, 1e-3, 1.0, 400),
                                               (10, 0.1, 100.0, 400)])
def test_agrees_with_pot(K, reg, scale, steps):
    g = torch.Generator().manual_seed(K)
    a, b = wat_pairs(6, K, "peaked", seed=K)
    C = scale * torch.rand(K, K, generator=g, dtype=F64) * (1 - torch.eye(K, dtype=F64))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        loss, diag = ot_loss(a, b, C, reg, max_iter=steps, tol=1e-10, solver="newton", return_diagnostics=True)
    assert diag.converged and diag.max_violation <= 1e-10
    torch.testing.assert_close(loss, pot_loss(a, b, C, reg), rtol=0, atol=1e-7)


def test_agrees_with_converged_sinkhorn_plan():
    a, b = wat_pairs(16, 10, "near")
    C = zero_one(10)
    T_n, dn = sinkhorn(a, b, C, 0.2, max_iter=100, tol=1e-12, solver="newton", return_diagnostics=True)
    T_s = sinkhorn(a, b, C, 0.2, max_iter=200_000, tol=1e-12)
    torch.testing.assert_close(T_n, T_s, rtol=0, atol=1e-10)
    torch.testing.assert_close(T_n.sum(-1), a, rtol=0, atol=1e-13)  # rows exact
    assert dn.max_violation <= 1e-12


def test_small_reg_converges_where_sinkhorn_does_not():
    a, b = wat_pairs(8, 10, "near")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _, diag = ot_loss(a, b, zero_one(10), 0.02, max_iter=40, tol=1e-8, solver="newton", return_diagnostics=True)
    assert diag.converged
    with pytest.warns(ConvergenceWarning):
        ot_loss(a, b, zero_one(10), 0.02, max_iter=1000, tol=1e-8, solver="sinkhorn")


def test_zeros_and_one_hot():
    K = 6
    a = torch.tensor([[0.5, 0.5, 0, 0, 0, 0], [1.0, 0, 0, 0, 0, 0]], dtype=F64)
    b = torch.tensor([[0, 0.25, 0.25, 0.5, 0, 0], [0, 0, 0, 0, 0, 1.0]], dtype=F64)
    C = torch.rand(K, K, generator=torch.Generator().manual_seed(1), dtype=F64)
    T, diag = sinkhorn(a, b, C, 0.05, max_iter=100, tol=1e-10, solver="newton", return_diagnostics=True)
    assert diag.converged and torch.isfinite(T).all()
    assert (T[:, a[0] == 0][0] == 0).all()  # zero rows stay exact zeros
    torch.testing.assert_close(T.sum(-2), b, rtol=0, atol=1e-9)
    torch.testing.assert_close(T[1], torch.outer(a[1], b[1]))  # one-hot to one-hot
    ref = pot_loss(a, b, C, 0.05)
    torch.testing.assert_close(ot_loss(a, b, C, 0.05, tol=1e-10, solver="newton"), ref, rtol=0, atol=1e-7)
    bb = b.clone().requires_grad_()
    loss = ot_loss(a, bb, C, 0.05, tol=1e-10, solver="newton")
    (gb,) = torch.autograd.grad(loss.sum(), bb)
    assert torch.isfinite(gb).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_low_precision_inputs_are_solved_in_float64(dtype):
    a, b = wat_pairs(8, 10, "near")
    a, b = a.float().to(dtype), b.float().to(dtype)
    C = zero_one(10).to(dtype)
    loss, diag = ot_loss(a, b, C, 0.05, tol=1e-8, solver="newton", return_diagnostics=True)
    assert loss.dtype == torch.float32  # the working dtype, as with Sinkhorn
    assert diag.converged
    a64, b64 = a.double() / a.double().sum(-1, keepdim=True), b.double() / b.double().sum(-1, keepdim=True)
    ref = ot_loss(a64, b64, C.double(), 0.05, tol=1e-10, solver="newton")
    torch.testing.assert_close(loss.double(), ref, rtol=0, atol=2e-3 if dtype == torch.float16 else 1e-6)


def test_gradients_against_finite_differences_and_implicit_sinkhorn():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(4, 10, generator=g, dtype=F64)
    a, b = z.softmax(-1), (z + 0.1 * torch.randn(4, 10, generator=g, dtype=F64)).softmax(-1)
    C = torch.rand(10, 10, generator=torch.Generator().manual_seed(2), dtype=F64) * (1 - torch.eye(10, dtype=F64))
    reg = 0.1
    aa, bb, CC = (x.clone().requires_grad_() for x in (a, b, C))
    loss = ot_loss(aa, bb, CC, reg, tol=1e-12, solver="newton")
    ga, gb, gC = torch.autograd.grad(loss.sum(), (aa, bb, CC))
    f = lambda a_, b_, C_: ot_loss(a_, b_, C_, reg, tol=1e-13, solver="newton").sum()  # noqa: E731
    h = 1e-6
    g = torch.Generator().manual_seed(4)
    for x, gx, name in ((a, ga, "a"), (b, gb, "b")):
        d = torch.randn(x.shape, generator=g, dtype=F64)
        d = d - d.mean(-1, keepdim=True)  # feasible directions keep the sums
        args = {"a": a, "b": b, "C_": C}
        plus = dict(args, **{name: x + h * d})
        minus = dict(args, **{name: x - h * d})
        fd = (f(plus["a"], plus["b"], C) - f(minus["a"], minus["b"], C)) / (2 * h)
        assert abs(fd - (gx * d).sum()) < 1e-6
    dC = torch.randn(C.shape, generator=g, dtype=F64) * (C > 0)
    fd = (f(a, b, C + h * dC) - f(a, b, C - h * dC)) / (2 * h)
    assert abs(fd - (gC * dC).sum()) < 1e-6
    bs = b.clone().requires_grad_()
    ls = ot_loss(a, bs, C, reg, max_iter=100_000, tol=1e-12, grad="implicit", solver="sinkhorn")
    (gs,) = torch.autograd.grad(ls.sum(), bs)
    torch.testing.assert_close(gb, gs, rtol=0, atol=1e-8)


def test_unrolled_newton_is_refused():
    a, b = wat_pairs(2, 4, "near")
    with pytest.raises(ValueError, match="grad must be 'implicit' with solver='newton'"):
        ot_loss(a, b, zero_one(4), solver="newton", grad="unrolled")
    with pytest.raises(ValueError, match="solver must be one of"):
        ot_loss(a, b, zero_one(4), solver="lbfgs")
    with pytest.raises(ValueError, match="without a gradient"):
        sinkhorn(a, b.clone().requires_grad_(), zero_one(4), solver="newton")


def test_unconverged_newton_warns():
    a, b = wat_pairs(8, 10, "peaked")
    with pytest.warns(ConvergenceWarning, match="Newton stopped at max_iter=1"):
        ot_loss(a, b, zero_one(10), 1e-3, max_iter=1, tol=1e-8, solver="newton")


def test_auto_rule():
    assert choose_solver(10, 10, 1e-4) == "newton"
    assert choose_solver(100, 100, 1e-4) == "newton"
    assert choose_solver(101, 10, 1e-4) == "sinkhorn"
    assert choose_solver(10, 10, 0) == "sinkhorn"
    a, b = wat_pairs(4, 10, "near")
    _, diag = ot_loss(a, b, zero_one(10), 0.05, tol=1e-8, solver="auto", return_diagnostics=True)
    assert diag.iterations <= 40  # Newton steps, not Sinkhorn iterations
    # an explicit unrolled gradient keeps Sinkhorn
    _, diag = ot_loss(a, b, zero_one(10), 0.5, tol=1e-8, solver="auto", grad="unrolled", return_diagnostics=True)
    assert diag.iterations % 10 == 0


def test_empty_batch_and_shared_histogram():
    C = zero_one(3)
    assert ot_loss(torch.zeros(0, 3, dtype=F64), torch.zeros(0, 3, dtype=F64), C, solver="newton").shape == (0,)
    a = torch.full((3,), 1 / 3, dtype=F64)
    b = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], dtype=F64)
    out = ot_loss(a, b, C, 0.1, tol=1e-10, solver="newton")
    ref = ot_loss(a.expand(2, 3), b, C, 0.1, tol=1e-10, solver="newton")
    torch.testing.assert_close(out, ref)
    assert ot_loss(a, b[0], C, 0.1, solver="newton").shape == ()


def test_dropping_converged_pairs_changes_nothing(monkeypatch):
    """Once most pairs have converged the rest continue alone (SHRINK); every pair ends where it
    would have had the whole batch kept stepping."""
    import watlib._newton as newton

    a, b = wat_pairs(64, 10, "peaked")
    a[:8], b[:8] = wat_pairs(8, 10, "far", seed=1)  # pairs that converge early
    C = zero_one(10)
    kept = ot_loss(a, b, C, 0.05, max_iter=60, tol=1e-10, solver="newton")
    monkeypatch.setattr(newton, "SHRINK", 0.0)
    full = ot_loss(a, b, C, 0.05, max_iter=60, tol=1e-10, solver="newton")
    torch.testing.assert_close(kept, full, rtol=0, atol=1e-12)


def test_log_column_marginal_paths_agree(monkeypatch):
    """log c taken directly and by a log-sum-exp over the rows (the path for underflowed
    columns) give the same solve."""
    import watlib._newton as newton

    a, b = wat_pairs(32, 10, "near")
    direct = ot_loss(a, b, zero_one(10), 0.05, max_iter=60, tol=1e-10, solver="newton")
    monkeypatch.setattr(newton, "LOG_DIRECT", float("inf"))  # always the log-sum-exp
    lse = ot_loss(a, b, zero_one(10), 0.05, max_iter=60, tol=1e-10, solver="newton")
    torch.testing.assert_close(direct, lse, rtol=0, atol=1e-10)
