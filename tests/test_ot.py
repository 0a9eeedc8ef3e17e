"""Tests of watlib.ot: values against POT and exact formulas, gradients against finite
differences and autograd, numerical range, shapes and dtypes, and input validation."""

import inspect
import math
import warnings

import numpy as np
import ot
import pytest
import torch

import watlib._sinkhorn as sk
import watlib.ot as wot
from watlib import paper
from watlib._checks import SUM_TOL
from watlib.ot import ConvergenceWarning, SinkhornDiagnostics, ot_loss, sinkhorn

F64 = torch.float64
MODES = ("unrolled", "implicit")
CONVERGED = dict(max_iter=20000, tol=1e-13)  # float64 solves run to round-off
# tests of shapes, finiteness or fixed-iteration derivatives, not of convergence
UNCONVERGED_OK = pytest.mark.filterwarnings("ignore::watlib.ot.ConvergenceWarning")


def histograms(batch, k, seed, dtype=F64, spread=1.0):
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(spread * torch.randn(batch, k, generator=gen, dtype=dtype), dim=-1)


def cost(k, seed, dtype=F64, scale=1.0, m=None):
    gen = torch.Generator().manual_seed(seed)
    C = scale * torch.rand(k, m or k, generator=gen, dtype=dtype)
    return C


def zero_sum(shape, seed):
    """A random direction that keeps the sum of each histogram (tangent to the simplex)."""
    d = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return d - d.mean(-1, keepdim=True)


def centered(g):
    return g - g.mean(-1, keepdim=True)


def pot_plan(a, b, C, reg):
    return ot.sinkhorn(a.numpy(), b.numpy(), C.numpy(), reg, method="sinkhorn_log",
                       numItermax=100000, stopThr=1e-14)


# ------------------------------------------------------------------ values against POT


@pytest.mark.parametrize("k, m, reg", [(3, 3, 0.05), (10, 10, 0.1), (10, 10, 1.0), (25, 25, 0.5), (4, 7, 0.2)])
def test_values_and_plans_match_pot_at_convergence(k, m, reg):
    a, b, C = histograms(4, k, 0), histograms(4, m, 1), cost(k, 2, m=m)
    loss = ot_loss(a, b, C, reg=reg, **CONVERGED)
    T = sinkhorn(a, b, C, reg=reg, **CONVERGED)
    for i in range(a.shape[0]):
        ref = pot_plan(a[i], b[i], C, reg)
        assert abs(loss[i].item() - (ref * C.numpy()).sum()) < 1e-5
        np.testing.assert_allclose(T[i].numpy(), ref, atol=1e-8)
    torch.testing.assert_close(T.sum(-1), a, atol=1e-12, rtol=0)
    torch.testing.assert_close(T.sum(-2), b, atol=1e-10, rtol=0)
    torch.testing.assert_close(loss, (T * C).sum((-2, -1)))


def test_zero_one_cost_tends_to_total_variation():
    a, b = histograms(6, 5, 3), histograms(6, 5, 4)
    C = 1 - torch.eye(5, dtype=F64)
    tv = 0.5 * (a - b).abs().sum(-1)
    errors = [(ot_loss(a, b, C, reg=reg, **CONVERGED) - tv).abs().max().item() for reg in (0.2, 0.1, 0.05)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-6
    exact = [ot.emd2(x.numpy(), y.numpy(), C.numpy()) for x, y in zip(a, b)]
    np.testing.assert_allclose(exact, tv.numpy(), atol=1e-12)


def test_symmetry_and_identity():
    a, b = histograms(5, 6, 5), histograms(5, 6, 6)
    C = cost(6, 7)
    C = (C + C.T) / 2
    C.fill_diagonal_(0)
    torch.testing.assert_close(ot_loss(a, b, C, reg=0.1, **CONVERGED), ot_loss(b, a, C, reg=0.1, **CONVERGED))
    self_loss = [ot_loss(a, a, C, reg=reg, **CONVERGED).max().item() for reg in (0.2, 0.05, 0.01)]
    assert self_loss[0] > self_loss[1] > self_loss[2]
    # every off-diagonal cost is at least min_off, so the off-diagonal mass of the plan,
    # which is of order exp(-min_off / reg), bounds the loss
    min_off = C[~torch.eye(6, dtype=bool)].min().item()
    assert self_loss[2] < 6 * math.exp(-min_off / 0.01) * C.max().item() + 1e-12


def test_stopping_rule():
    a, b, C = histograms(8, 10, 8), histograms(8, 10, 9), cost(10, 10)
    fixed = sinkhorn(a, b, C, reg=0.1, max_iter=60, tol=0)
    unreachable = sinkhorn(a, b, C, reg=0.1, max_iter=60, tol=1e-300)
    torch.testing.assert_close(fixed, unreachable, atol=0, rtol=0)
    early = sinkhorn(a, b, C, reg=0.1, max_iter=1000, tol=1e-4)
    assert (early.sum(-2) - b).abs().sum(-1).max() <= 1e-4
    assert not torch.equal(early, sinkhorn(a, b, C, reg=0.1, max_iter=1000, tol=0))
    # the part of the violation due to sums that differ by rounding does not block stopping
    b_off = b * (1 + 5e-5)
    stopped = sinkhorn(a, b_off, C, reg=0.1, max_iter=5000, tol=1e-8)
    gap = (b_off.sum(-1) - 1).abs()
    assert ((stopped.sum(-2) - b_off).abs().sum(-1) - gap).max() <= 1e-8


# ---------------------------------------------------------------------------- gradients


def directional_fd(fn, x, d, h=1e-5):
    return (fn(x + h * d) - fn(x - h * d)).sum() / (2 * h)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reg", [0.1, 0.5])
def test_gradients_match_finite_differences(mode, reg):
    a, b, C = histograms(3, 5, 11), histograms(3, 5, 12), cost(5, 13)
    x = [t.clone().requires_grad_(True) for t in (a, b, C)]
    ot_loss(*x, reg=reg, grad=mode, **CONVERGED).sum().backward()
    directions = (zero_sum(a.shape, 14), zero_sum(b.shape, 15), torch.randn(C.shape, dtype=F64))
    fns = (
        lambda t: ot_loss(t, b, C, reg=reg, **CONVERGED),
        lambda t: ot_loss(a, t, C, reg=reg, **CONVERGED),
        lambda t: ot_loss(a, b, t, reg=reg, **CONVERGED),
    )
    for fn, point, d, xi in zip(fns, (a, b, C), directions, x):
        fd = directional_fd(fn, point, d)
        assert abs((xi.grad * d).sum().item() - fd.item()) < 1e-7 * max(1.0, abs(fd.item()))


@pytest.mark.parametrize("reg", [0.05, 0.3])
def test_unrolled_and_implicit_agree_at_convergence(reg):
    a, b = histograms(4, 6, 16), histograms(4, 6, 17)
    C = cost(6, 18)
    C.fill_diagonal_(0)
    grads = []
    for mode in MODES:
        x = [t.clone().requires_grad_(True) for t in (a, b, C)]
        ot_loss(*x, reg=reg, grad=mode, **CONVERGED).sum().backward()
        grads.append([centered(x[0].grad), centered(x[1].grad), x[2].grad])
    for g_unrolled, g_implicit in zip(*grads):
        torch.testing.assert_close(g_unrolled, g_implicit, atol=1e-8, rtol=1e-6)
    # the implicit gradients w.r.t. histograms are returned centered
    assert grads[1][0].sum(-1).abs().max() < 1e-12


def reference_unrolled(a, b, C, reg, n):
    """Plain autograd through Sinkhorn's loop (rows, u first = a): the derivative to match."""
    K = torch.exp(-C / reg)
    u = a
    for _ in range(n):
        v = b / (u.unsqueeze(-2) @ K).squeeze(-2)
        u = a / (K @ v.unsqueeze(-1)).squeeze(-1)
    return (u.unsqueeze(-1) * K * C * v.unsqueeze(-2)).sum((-2, -1))


@UNCONVERGED_OK
@pytest.mark.parametrize("shapes", [
    ((4, 5), (4, 5), (5, 5)), ((5,), (4, 5), (5, 5)), ((4, 5), (5,), (4, 5, 5)),
    ((3, 4), (3, 6), (4, 6)), ((4,), (4,), (3, 4, 4)),
])
def test_unrolled_backward_equals_autograd_through_the_loop(shapes):
    gen = torch.Generator().manual_seed(19)
    a = torch.softmax(torch.randn(shapes[0], generator=gen, dtype=F64), -1)
    b = torch.softmax(torch.randn(shapes[1], generator=gen, dtype=F64), -1)
    C = torch.rand(shapes[2], generator=gen, dtype=F64)
    weights = None
    results = []
    for fn in (lambda *t: ot_loss(*t, reg=0.1, max_iter=7, tol=0), lambda *t: reference_unrolled(*t, 0.1, 7)):
        x = [t.clone().requires_grad_(True) for t in (a, b, C)]
        loss = fn(*x)
        weights = torch.arange(1, loss.numel() + 1, dtype=F64).reshape(loss.shape)
        (weights * loss).sum().backward()
        results.append([loss.detach()] + [t.grad for t in x])
    for ours, ref in zip(*results):
        torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-10)


def test_gradcheck():
    a, b = histograms(2, 4, 20), histograms(2, 4, 21)
    C = cost(4, 22)
    basis = torch.eye(4, dtype=F64)[:, :3] - torch.eye(4, dtype=F64)[:, 3:]  # zero-sum directions
    z = torch.zeros(2, 3, dtype=F64, requires_grad=True)

    def on_simplex(mode, **kw):
        return lambda z, w, C: ot_loss(a + z @ basis.T, b + w @ basis.T, C, reg=0.2, grad=mode, **kw)

    w = torch.zeros(2, 3, dtype=F64, requires_grad=True)
    Cg = C.clone().requires_grad_(True)
    # unrolled: the exact derivative of a fixed number of iterations
    assert torch.autograd.gradcheck(on_simplex("unrolled", max_iter=15, tol=0), (z, w, Cg))
    # implicit: the derivative of the converged solution
    assert torch.autograd.gradcheck(on_simplex("implicit", **CONVERGED), (z, w, Cg), atol=1e-6)


def test_implicit_gradient_at_zero_mass_is_the_one_sided_derivative():
    a, b, C = histograms(1, 5, 23)[0], histograms(1, 5, 24)[0], cost(5, 25)
    a = torch.cat([a[:4] / a[:4].sum(), a.new_zeros(1)])  # a[4] = 0
    d = torch.zeros(5, dtype=F64)
    d[4], d[0] = 1.0, -1.0  # move mass into the empty entry
    x = a.clone().requires_grad_(True)
    ot_loss(x, b, C, reg=0.2, grad="implicit", **CONVERGED).backward()
    h = 1e-5
    f = [ot_loss(a + s * h * d, b, C, reg=0.2, **CONVERGED).item() for s in (0, 1, 2)]
    one_sided = (-3 * f[0] + 4 * f[1] - f[2]) / (2 * h)  # second-order forward difference
    assert abs((x.grad * d).sum().item() - one_sided) < 1e-6


# ----------------------------------------------------------------------- numerical range


@UNCONVERGED_OK
@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("mode", MODES)
def test_finite_over_the_whole_range_with_zero_entries(dtype, mode):
    k = 10
    for reg in (1e-3, 1e-2, 0.1, 1.0, 10.0):
        for scale in (1.0, 100.0):
            a, b = histograms(6, k, 26, dtype, spread=3.0), histograms(6, k, 27, dtype, spread=3.0)
            a[:, :3] = 0
            b[:, 2:5] = 0
            a[0] = torch.eye(k, dtype=dtype)[4]
            b[1] = torch.eye(k, dtype=dtype)[3]
            b[2] = a[2]
            a, b = a / a.sum(-1, keepdim=True), b / b.sum(-1, keepdim=True)
            C = cost(k, 28, dtype, scale)
            C.fill_diagonal_(0)
            x = [t.clone().requires_grad_(True) for t in (a, b, C)]
            loss = ot_loss(*x, reg=reg, grad=mode)
            loss.sum().backward()
            for t in (loss, *(xi.grad for xi in x)):
                assert torch.isfinite(t).all(), (reg, scale)
            assert loss.dtype == dtype
            if C.max().item() / reg > wot._scaling_limit(F64, k, k):  # both dtypes: log path
                assert not wot._prepare(a, b, C, reg, 1, 0.0).scaling_ok()


def forced(prob, log):
    """The same prepared problem forced into the log domain (rho above every limit) or not."""
    return prob._replace(rho=math.inf if log else 0.0)


def test_log_and_scaling_domains_run_the_same_iterations():
    a, b, C = histograms(4, 6, 29), histograms(4, 6, 30), cost(6, 31)
    a[0, 2] = 0
    a[0] /= a[0].sum()
    for iters in (1, 3, 40):
        grads = []
        for log in (False, True):
            x = [t.clone().requires_grad_(True) for t in (a, b, C)]
            prob = forced(wot._prepare(*x, 0.1, iters, 0.0), log)
            loss = wot._solve(prob, 0.1, iters, 0.0, "loss")
            loss.sum().backward()
            plan = wot._solve(forced(wot._prepare(a, b, C, 0.1, iters, 0.0), log), 0.1, iters, 0.0, "plan")
            grads.append([loss.detach(), plan] + [t.grad for t in x])
        for scaling, logd in zip(*grads):
            torch.testing.assert_close(scaling, logd, atol=1e-12, rtol=1e-9)


def test_log_domain_value_and_implicit_gradient_match_pot_with_large_costs():
    a, b = histograms(3, 5, 32), histograms(3, 5, 33)
    C = cost(5, 34, scale=100.0)
    reg = 0.2  # max C / reg = 500: the float64 kernel would underflow, both paths are log
    prob = wot._prepare(a, b, C, reg, 1, 0.0)
    assert not prob.scaling_ok() and not prob.scaling_ok(F64)
    loss = ot_loss(a, b, C, reg=reg, **CONVERGED)
    for i in range(3):
        assert abs(loss[i].item() - (pot_plan(a[i], b[i], C, reg) * C.numpy()).sum()) < 1e-5
    x = b.clone().requires_grad_(True)
    ot_loss(a, x, C, reg=reg, grad="implicit", **CONVERGED).sum().backward()
    d = zero_sum(b.shape, 35)
    fd = directional_fd(lambda t: ot_loss(a, t, C, reg=reg, **CONVERGED), b, d, h=1e-6)
    assert abs((x.grad * d).sum().item() - fd.item()) < 1e-5 * max(1.0, abs(fd.item()))


# ---------------------------------------------------------------------- shapes and dtypes


@UNCONVERGED_OK
def test_broadcasting_and_shapes():
    a, b, C = histograms(4, 5, 36), histograms(4, 5, 37), cost(5, 38)
    per_pair = torch.stack([C * (1 + i) for i in range(4)])
    full = ot_loss(a, b, C)
    assert full.shape == (4,)
    torch.testing.assert_close(ot_loss(a[1], b, C), ot_loss(a[1].expand(4, 5), b, C))
    torch.testing.assert_close(ot_loss(a, b[2], C), ot_loss(a, b[2].expand(4, 5), C))
    torch.testing.assert_close(ot_loss(a, b, per_pair)[1], ot_loss(a[1], b[1], per_pair[1]))
    torch.testing.assert_close(ot_loss(a, b, C.expand(4, 5, 5)), full)
    single = ot_loss(a[0], b[0], C)
    assert single.shape == () and sinkhorn(a[0], b[0], C).shape == (5, 5)
    assert ot_loss(a[0], b[0], per_pair).shape == (4,)
    assert sinkhorn(a, b[0], per_pair).shape == (4, 5, 5)
    assert ot_loss(a[:0], b[:0], C).shape == (0,)


@pytest.mark.parametrize("mode", MODES)
def test_float32_follows_float64(mode):
    a, b, C = histograms(8, 10, 39), histograms(8, 10, 40), cost(10, 41)
    grads = {}
    for dtype in (torch.float32, F64):
        x = b.to(dtype).requires_grad_(True)
        loss = ot_loss(a.to(dtype), x, C.to(dtype), grad=mode, max_iter=300)
        loss.sum().backward()
        assert loss.dtype == x.grad.dtype == dtype
        grads[dtype] = (loss.detach().double(), x.grad.double())
    torch.testing.assert_close(grads[torch.float32][0], grads[F64][0], atol=1e-4, rtol=0)
    torch.testing.assert_close(centered(grads[torch.float32][1]), centered(grads[F64][1]), atol=2e-3, rtol=0)


def test_dtype_promotion_and_autocast():
    a, b, C = histograms(4, 6, 42, torch.float32), histograms(4, 6, 43, torch.float32), cost(6, 44, torch.float32)
    assert ot_loss(a.double(), b, C).dtype == F64
    ref = ot_loss(a, b, C)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = [t.bfloat16() for t in (a, b, C)]
        loss = ot_loss(*low)
        plan = sinkhorn(*low)
    assert loss.dtype == plan.dtype == torch.float32
    assert torch.isfinite(loss).all()
    # bfloat16 inputs carry about 3 significant digits
    torch.testing.assert_close(loss, ref, atol=3e-2, rtol=0)


# ----------------------------------------------------------------------------- validation


def good():
    return histograms(3, 4, 45), histograms(3, 4, 46), cost(4, 47)


def with_entry(x, index, value):
    x = x.clone()
    x[index] = value
    return x


@pytest.mark.parametrize("fn", [ot_loss, sinkhorn])
def test_bad_values_raise_value_error_naming_the_argument(fn):
    a, b, C = good()
    cases = [
        ((with_entry(a, (0, 1), -0.1), b, C), r"a must be nonnegative.*-0\.1"),
        ((a, with_entry(b, (2, 0), -1e-3), C), r"b must be nonnegative"),
        ((a * 1.01, b, C), r"a must sum to 1.*row 0"),
        ((a, b[0] * 0.5, C), r"b must sum to 1"),
        ((with_entry(a, (1, 2), math.nan), b, C), r"a must be finite.*nan"),
        ((a, with_entry(b, (0, 3), math.inf), C), r"b must be finite.*inf"),
        ((a, b, with_entry(C, (1, 1), math.nan)), r"C must be finite"),
        ((a, b, with_entry(C, (0, 2), -math.inf)), r"C must be finite"),
        ((a, b, with_entry(C, (0, 2), -0.5)), r"C must be nonnegative.*-0\.5"),
        ((a, b, C[:3]), r"C must have shape \(4, 4\)"),
        ((a, b, torch.ones(4, 5, dtype=F64)), r"C must have shape"),
        ((a, b, torch.ones(2, 4, 4, dtype=F64)), r"batch sizes of a, b and C must agree"),
        ((a, b[:2], C), r"batch sizes"),
        ((a[None], b, C), r"a must have shape"),
        ((a[:, :0], b, C), r"at least one entry"),
    ]
    for args, match in cases:
        with pytest.raises(ValueError, match=match):
            fn(*args)
    for kwargs, match in [
        (dict(reg=0.0), r"reg must be a finite number > 0, got 0\.0"),
        (dict(reg=-1.0), r"reg"),
        (dict(reg=math.inf), r"reg"),
        (dict(max_iter=0), r"max_iter must be an int >= 1, got 0"),
        (dict(tol=-1e-3), r"tol must be a finite number >= 0, got -0\.001"),
        (dict(tol=math.nan), r"tol"),
    ]:
        with pytest.raises(ValueError, match=match):
            fn(a, b, C, **kwargs)


def test_bad_types_and_grad_mode():
    a, b, C = good()
    with pytest.raises(ValueError, match=r"grad must be one of .*'autodiff'"):
        ot_loss(a, b, C, grad="autodiff")
    for args, match in [
        ((a.numpy(), b, C), r"a must be a torch.Tensor.*ndarray"),
        ((a, b.tolist(), C), r"b must be a torch.Tensor"),
        ((a, b, torch.ones(4, 4, dtype=torch.long)), r"C must have a floating-point dtype"),
    ]:
        with pytest.raises(TypeError, match=match):
            ot_loss(*args)
    for kwargs, match in [(dict(reg="0.1"), "reg must be a real number"), (dict(max_iter=10.0), "max_iter must be an int"),
                          (dict(tol=True), "tol must be a real number"),
                          (dict(return_diagnostics=1), "return_diagnostics must be a bool, got 1")]:
        with pytest.raises(TypeError, match=match):
            sinkhorn(a, b, C, **kwargs)
        with pytest.raises(TypeError, match=match):
            ot_loss(a, b, C, **kwargs)
    with pytest.raises(TypeError, match=r"grad must be one of \('unrolled', 'implicit'\), got 3 of type"):
        ot_loss(a, b, C, grad=3)
    with pytest.raises(TypeError, match=r"solver must be one of \('auto', 'sinkhorn', 'newton'\), got None of type"):
        ot_loss(a, b, C, solver=None)


def test_half_precision_histograms_use_their_own_rounding_tolerance():
    third = torch.full((3,), 1 / 3, dtype=torch.bfloat16)  # 1/3 rounds to 0.33398 in bfloat16
    assert (third.double().sum() - 1).abs() > SUM_TOL
    C = 1 - torch.eye(3)
    assert ot_loss(third, third, C).item() < 1e-6
    with pytest.raises(ValueError, match=r"a must sum to 1"):
        ot_loss((third * 1.05), third, C)


# ------------------------------------------------------------ convergence and diagnostics


def column_violation(T, a, b):
    """What SinkhornDiagnostics.marginal_violation promises, recomputed from a plan."""
    gap = (a.sum(-1) - b.sum(-1)).abs()
    return ((T.sum(-2) - b).abs().sum(-1) - gap).clamp_min(0)


def test_defaults_are_the_module_constants_and_the_papers_reg():
    for fn in (sinkhorn, ot_loss):
        params = inspect.signature(fn).parameters
        assert params["reg"].default == paper.REG
        assert params["max_iter"].default == wot.MAX_ITER
        assert params["tol"].default == wot.TOL
        assert params["return_diagnostics"].default is False
    assert 0 < wot.TOL < wot.WARN_VIOLATION


@pytest.mark.parametrize("fn", ["ot_loss", "sinkhorn"])
@pytest.mark.parametrize("tol", [wot.TOL, 0.0])
def test_a_run_that_does_not_converge_warns_with_what_to_do(fn, tol):
    # reg = 1e-3 against a 0-1 cost: 100 iterations leave the plan near diag(a), loss 0,
    # while the converged answer is the total variation 0.5
    a, b, C = torch.tensor([0.7, 0.3]), torch.tensor([0.2, 0.8]), 1 - torch.eye(2)
    with pytest.warns(ConvergenceWarning) as record:
        out = getattr(wot, fn)(a, b, C, reg=1e-3, tol=tol)
    message = str(record[0].message)
    for fragment in ("max_iter=100", "violation of 1", "WARN_VIOLATION = 0.001", "reg = 0.001",
                     "max(C)/reg = 1e+03", "Raise max_iter, raise reg", "grad='implicit'"):
        assert fragment in message, fragment
    assert record[0].filename == __file__  # points at the caller
    if fn == "ot_loss":
        assert out.item() < 1e-6  # what was silently returned before
        assert abs(ot_loss(a.double(), b.double(), C.double(), reg=1e-3, max_iter=100000, tol=1e-9).item()
                   - 0.5) < 1e-3


def test_a_converged_run_does_not_warn():
    a, b, C = histograms(16, 10, 50), histograms(16, 10, 51), cost(10, 52)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (torch.float32, F64):
            x = [t.to(dtype) for t in (a, b, C)]
            loss, diag = ot_loss(*x, reg=0.5, return_diagnostics=True)
            assert diag.converged and diag.iterations < wot.MAX_ITER
            assert diag.max_violation <= wot.TOL
            sinkhorn(*x, reg=0.5)
            ot_loss(*x, reg=0.5, grad="implicit").sum()
        # a fixed number of iterations that happens to leave a converged plan is no warning
        _, diag = ot_loss(a, b, C, reg=0.5, max_iter=60, tol=0, return_diagnostics=True)
        assert not diag.converged and diag.iterations == 60 and diag.max_violation < wot.WARN_VIOLATION


@pytest.mark.parametrize("log", [False, True])
def test_diagnostics_describe_the_returned_plan(log):
    a, b = histograms(6, 5, 53), histograms(6, 5, 54)
    C = cost(5, 55, scale=100.0 if log else 1.0)  # max C / reg = 500: log domain
    reg = 0.2
    assert wot._prepare(a, b, C, reg, 1, 0.0).scaling_ok() is not log
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for tol, max_iter in ((0.0, 7), (1e-6, 7), (1e-4, 5000), (0.0, 60)):
            T, diag = sinkhorn(a, b, C, reg=reg, max_iter=max_iter, tol=tol, return_diagnostics=True)
            loss, diag_loss = ot_loss(a, b, C, reg=reg, max_iter=max_iter, tol=tol, return_diagnostics=True)
            _, diag_implicit = ot_loss(a, b, C, reg=reg, max_iter=max_iter, tol=tol, grad="implicit",
                                       return_diagnostics=True)
            assert isinstance(diag, SinkhornDiagnostics)
            assert diag.marginal_violation.shape == (6,)
            torch.testing.assert_close(diag.marginal_violation, column_violation(T, a, b), atol=1e-12, rtol=1e-9)
            assert diag.max_violation == diag.marginal_violation.max().item()
            for other in (diag_loss, diag_implicit):
                assert other.iterations == diag.iterations and other.converged == diag.converged
                torch.testing.assert_close(other.marginal_violation, diag.marginal_violation)
            torch.testing.assert_close(loss, (T * C).sum((-2, -1)))
            if tol == 0:
                assert diag.iterations == max_iter and not diag.converged
            elif max_iter == 5000:  # stopped by the rule, at a check
                assert diag.converged and diag.iterations < max_iter
                assert diag.iterations % wot.CHECK_EVERY == 0 and diag.max_violation <= tol
            else:
                assert diag.iterations == max_iter and diag.converged == (diag.max_violation <= tol)


def test_diagnostics_shapes_and_no_graph():
    a, b, C = histograms(4, 5, 56), histograms(4, 5, 57), cost(5, 58)
    per_pair = torch.stack([C * (1 + i) / 4 for i in range(4)])
    x = [t.clone().requires_grad_(True) for t in (a, b, C)]
    loss, diag = ot_loss(*x, reg=0.5, return_diagnostics=True)
    assert diag.marginal_violation.grad_fn is None and not diag.marginal_violation.requires_grad
    loss.sum().backward()  # the diagnostics did not disturb the graph
    assert all(t.grad is not None for t in x)
    assert ot_loss(a[0], b[0], C, reg=0.5, return_diagnostics=True)[1].marginal_violation.shape == ()
    assert ot_loss(a[0], b, C, reg=0.5, return_diagnostics=True)[1].marginal_violation.shape == (4,)
    assert sinkhorn(a[0], b[0], per_pair, reg=0.5, return_diagnostics=True)[1].marginal_violation.shape == (4,)
    T, diag = sinkhorn(a, b[0], per_pair, reg=0.5, max_iter=3, tol=0, return_diagnostics=True)
    torch.testing.assert_close(diag.marginal_violation, column_violation(T, a, b[0].expand(4, 5)))
    empty = ot_loss(a[:0], b[:0], C, return_diagnostics=True)[1]
    assert empty.marginal_violation.shape == (0,) and empty.max_violation == 0.0


# --------------------------------------------------------------- layouts and threading


@pytest.fixture
def layout(request, monkeypatch):
    """Force a layout of the scaling loop on small problems: 'cols' (torch.mm, full trace),
    'compact' (torch.mm, (w, z) trace) or 'rows' (oneDNN, compact trace, float32 only)."""
    if request.param != "cols":
        monkeypatch.setattr(sk, "COMPACT_ENTRIES", 0)
    if request.param.startswith("rows"):
        if not sk.onednn_ok():
            pytest.skip("oneDNN's linear layer is not available")
        monkeypatch.setattr(sk, "ONEDNN_WORK", 0)
    return request.param


@pytest.mark.parametrize("layout", ["cols", "compact"], indirect=True)
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5), (5, 5)), ((5,), (4, 5), (5, 5)), ((4, 5), (5,), (5, 5)),
                                    ((4, 5), (5,), (4, 5, 5)), ((3, 4), (3, 6), (4, 6)), ((5,), (5,), (3, 5, 5))])
def test_every_layout_differentiates_the_loop_exactly(layout, shapes):
    gen = torch.Generator().manual_seed(59)
    a = torch.softmax(torch.randn(shapes[0], generator=gen, dtype=F64), -1)
    b = torch.softmax(torch.randn(shapes[1], generator=gen, dtype=F64), -1)
    C = torch.rand(shapes[2], generator=gen, dtype=F64)
    results = []
    for fn in (lambda *t: ot_loss(*t, reg=0.1, max_iter=7, tol=0), lambda *t: reference_unrolled(*t, 0.1, 7)):
        x = [t.clone().requires_grad_(True) for t in (a, b, C)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            loss = fn(*x)
        (torch.arange(1, loss.numel() + 1, dtype=F64) * loss).sum().backward()
        results.append([loss.detach()] + [t.grad for t in x])
    for ours, ref in zip(*results):
        torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("layout", ["rows"], indirect=True)
@pytest.mark.parametrize("grad_of", ["b", "all"])
def test_onednn_rows_layout_gives_the_same_float32_loss_and_gradients(layout, grad_of):
    a, b, C = (t.float() for t in (histograms(8, 6, 60), histograms(8, 6, 61), cost(6, 62)))
    prob = wot._prepare(a, b, C, 0.1, 1, 0.0)
    assert sk.kernel_ops(torch.exp(-prob.C / 0.1), 8).layout == "rows"
    results = []
    for fn in (lambda *t: ot_loss(*t, reg=0.1, max_iter=9, tol=0),
               lambda *t: reference_unrolled(*(u.double() for u in t), 0.1, 9)):
        x = [t.clone().requires_grad_(grad_of == "all" or i == 1) for i, t in enumerate((a, b, C))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            loss = fn(*x)
        loss.sum().backward()
        results.append([loss.detach().double()] + [t.grad for t in x if t.requires_grad])
    for ours, ref in zip(*results):
        torch.testing.assert_close(ours.double(), ref.double(), atol=2e-5, rtol=2e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        T, diag = sinkhorn(a, b, C, reg=0.1, max_iter=9, tol=0, return_diagnostics=True)
    torch.testing.assert_close(diag.marginal_violation, column_violation(T, a, b), atol=1e-6, rtol=0)


def test_the_loop_runs_on_one_thread_and_restores_the_count(monkeypatch):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        loop, backward = sk.scaling_loop, sk.unrolled_backward

        def spy(fn):
            def wrapped(*args, **kwargs):
                seen.append(torch.get_num_threads())
                return fn(*args, **kwargs)
            return wrapped

        for module in (sk, wot):  # the loop is called by the no-graph path (ot) and the autograd ones (sk)
            monkeypatch.setattr(module, "scaling_loop", spy(loop))
        monkeypatch.setattr(sk, "unrolled_backward", spy(backward))
        b = histograms(8, 10, 63).float().requires_grad_(True)
        ot_loss(histograms(8, 10, 64).float(), b, cost(10, 65).float(), tol=0).sum().backward()
        assert seen == [1, 1] and torch.get_num_threads() == 2
        # large products keep torch's threads
        monkeypatch.setattr(wot, "SERIAL_WORK", 0)
        seen.clear()
        ot_loss(histograms(8, 10, 63).float(), b, cost(10, 65).float(), tol=0).sum().backward()
        assert seen == [2, 2]
        monkeypatch.setattr(wot, "SERIAL_WORK", 2 ** 24)

        def boom(*args, **kwargs):
            raise RuntimeError("boom")

        for module in (sk, wot):
            monkeypatch.setattr(module, "scaling_loop", boom)
        with pytest.raises(RuntimeError, match="boom"):
            ot_loss(histograms(8, 10, 63), b.detach().double(), cost(10, 65))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)



def test_implicit_gradient_when_the_scalings_span_many_orders_of_magnitude():
    """C/reg = 60 with near-uniform histograms: the scalings are e^{+-20} apart, and so are the
    rows of the implicit system before they are normalised (LU used to stop on an exact zero
    pivot there). The gradient still matches finite differences of the converged loss."""
    K = 10
    C = torch.full((K, K), 2.0, dtype=F64)
    C[0, 3] = C[3, 0] = C[4, 6] = C[6, 4] = 3.0
    C.fill_diagonal_(0)
    gen = torch.Generator().manual_seed(3)
    a = torch.softmax(torch.randn(32, K, generator=gen, dtype=F64), -1)
    b = torch.softmax(torch.randn(32, K, generator=gen, dtype=F64), -1).requires_grad_(True)
    settings = dict(reg=0.05, max_iter=200_000, tol=1e-12)
    ot_loss(a, b, C, grad="implicit", **settings).sum().backward()
    assert torch.isfinite(b.grad).all()
    for seed in range(3):
        d = zero_sum(b.shape, 30 + seed)
        fd = directional_fd(lambda t: ot_loss(a, t, C, **settings), b.detach(), d)
        assert abs((b.grad * d).sum().item() - fd.item()) < 1e-6 * max(1.0, abs(fd.item()))


@pytest.mark.parametrize("solver", ["sinkhorn", "newton"])
def test_a_reg_that_is_zero_in_the_working_dtype_is_refused_not_a_nan(solver):
    # 1e-46 passes reg > 0 as a Python float but is 0 in float32: C / reg was 0 / 0 = NaN
    a, b, C = torch.tensor([0.7, 0.3]), torch.tensor([0.2, 0.8]), 1 - torch.eye(2)
    for reg in (1e-46, 1e-40):
        with pytest.raises(ValueError, match=rf"reg \(in the working dtype torch.float32\) must be .*>= 1.17.*e-38, "
                                             rf"got {reg}"):
            ot_loss(a, b, C, reg=reg, solver=solver)
        with pytest.raises(ValueError, match="reg"):
            sinkhorn(a, b, C, reg=reg, solver=solver)
    with warnings.catch_warnings():  # float64 represents it: unconverged, and says so, but no error
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert torch.isfinite(ot_loss(a.double(), b.double(), C.double(), reg=1e-46, solver=solver))


def test_meta_tensors_are_refused_by_name():
    a, b, C = torch.tensor([0.7, 0.3]), torch.tensor([0.2, 0.8]), 1 - torch.eye(2)
    for args, name in (((a.to("meta"), b, C), "a"), ((a, b, C.to("meta")), "C")):
        with pytest.raises(ValueError, match=rf"^{name} must be a tensor with values, got a meta tensor.*not supported"):
            ot_loss(*args)
    with pytest.raises(ValueError, match="^b must be a tensor with values"):
        sinkhorn(a, b.to("meta"), C)
