"""Tests of watlib.adversarial: divergences, Algorithm 1's direction search, VAT/WAT losses.

References used: closed-form divergences (scipy / numpy), the exact input Hessian of the
divergence (the Fisher form W^T (diag p - p p^T) W for a linear model, autograd Hessians
otherwise), POT's Sinkhorn plan, total variation for the 0-1 cost.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import ot
import pytest
import scipy.special
import torch

from watlib.adversarial import (
    adversarial_perturbation,
    divergence_derivatives,
    frozen_batchnorm,
    kl,
    l2,
    tv,
    vat_loss,
    wasserstein,
    wat_loss,
)
from watlib.ot_settings import TRAIN_OT, OTSettings

F64 = torch.float64
TOY_COST = [[0.0, 5.0, 1.0], [5.0, 0.0, 1.0], [1.0, 1.0, 0.0]]  # Figure 2 of the paper
DIVERGENCES = {"kl": kl, "l2": l2, "tv": tv}


def _histograms(B, K, seed, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(2 * torch.randn(B, K, generator=g, dtype=dtype), dim=1)


def _linear(D, K, seed, dtype=F64):
    torch.manual_seed(seed)
    return torch.nn.Linear(D, K).to(dtype)


def _mlp(D, K, seed, dtype=F64, hidden=8):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(D, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, K)).to(dtype)


def _bn_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(6, 3)
    )


def _cos(u, v):
    return (u @ v).abs().item() / (u.norm() * v.norm()).item()


def _top_eigvec(H):
    evals, evecs = torch.linalg.eigh(H)
    return evals, evecs[:, -1]


class _CountingModel(torch.nn.Module):
    """Wraps a model and counts its forward calls."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x):
        self.calls += 1
        return self.inner(x)


# ----------------------------------------------------------------------------- divergences
@pytest.mark.parametrize("name", ["kl", "l2", "tv"])
def test_divergences_match_closed_forms(name):
    p_hat, p = _histograms(7, 5, 0), _histograms(7, 5, 1)
    a, b = p_hat.numpy(), p.numpy()
    expected = {
        "kl": scipy.special.rel_entr(a, b).sum(axis=1),
        "l2": ((a - b) ** 2).sum(axis=1),
        "tv": 0.5 * np.abs(a - b).sum(axis=1),
    }[name]
    got = DIVERGENCES[name](p_hat, p)
    assert got.shape == (7,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["kl", "l2", "tv"])
def test_divergences_vanish_at_equal_histograms_and_are_positive_elsewhere(name):
    p = _histograms(6, 4, 2)
    assert torch.equal(DIVERGENCES[name](p, p), torch.zeros(6, dtype=F64))
    assert (DIVERGENCES[name](p, _histograms(6, 4, 3)) > 0).all()


def test_kl_handles_zeros_in_p_hat_with_finite_gradient():
    p_hat = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], dtype=F64)
    p = torch.tensor([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]], dtype=F64, requires_grad=True)
    value = kl(p_hat, p)
    expected = scipy.special.rel_entr(p_hat.numpy(), p.detach().numpy()).sum(axis=1)
    np.testing.assert_allclose(value.detach().numpy(), expected, rtol=1e-12)
    value.sum().backward()
    assert torch.isfinite(p.grad).all()
    support = p_hat > 0
    torch.testing.assert_close(p.grad[support], -(p_hat / p.detach())[support])
    assert torch.equal(p.grad[~support], torch.zeros_like(p.grad[~support]))


def test_kl_is_infinite_where_p_misses_the_support_of_p_hat():
    assert kl(torch.tensor([[0.5, 0.5]]), torch.tensor([[1.0, 0.0]])).item() == math.inf


def test_wasserstein_agrees_with_pot_sinkhorn_plan():
    C = torch.tensor(TOY_COST, dtype=F64)
    p_hat, p = _histograms(4, 3, 4), _histograms(4, 3, 5)
    reg = 0.5
    got = wasserstein(C, OTSettings(reg=reg, max_iter=2000, tol=1e-12))(p_hat, p)
    expected = [
        float((ot.sinkhorn(a.numpy(), b.numpy(), C.numpy(), reg, stopThr=1e-13, numItermax=20000) * C.numpy()).sum())
        for a, b in zip(p_hat, p)
    ]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_wasserstein_with_zero_one_cost_and_small_reg_is_total_variation():
    K = 4
    C01 = 1 - torch.eye(K, dtype=F64)
    p_hat, p = _histograms(5, K, 6), _histograms(5, K, 7)
    reg = 0.02
    got = wasserstein(C01, OTSettings(reg=reg, max_iter=5000, tol=1e-12))(p_hat, p)
    # The linear term of the entropic plan approaches TV as reg -> 0 (Peyre & Cuturi, Rem. 2.26).
    torch.testing.assert_close(got, tv(p_hat, p), rtol=0, atol=10 * reg)


def test_wasserstein_follows_the_dtype_of_p_and_prefers_cheap_classes():
    C = torch.tensor(TOY_COST)  # float32
    D = wasserstein(C, OTSettings(reg=0.05))
    p_hat = torch.tensor([[0.98, 0.01, 0.01]], dtype=F64)
    to_orange = torch.tensor([[0.88, 0.11, 0.01]], dtype=F64)
    to_black = torch.tensor([[0.88, 0.01, 0.11]], dtype=F64)
    assert D(p_hat, to_orange).dtype == F64
    assert D(p_hat, to_orange) > D(p_hat, to_black)  # moving mass red -> orange costs 5, red -> black 1
    assert "reg=0.05" in repr(D)


# ----------------------------------------------------------------------------- Algorithm 1 vs Eq. 2
def test_divergence_derivatives_match_fisher_form_for_a_linear_model():
    model = _linear(5, 3, 0)
    x = torch.randn(4, 5, dtype=F64)
    W = model.weight.detach()
    for name in ["kl", "l2"]:
        g, H = divergence_derivatives(model, x, name)
        assert g.shape == (4, 5) and H.shape == (4, 5, 5)
        assert g.abs().max() < 1e-12
        for i in range(4):
            p = torch.softmax(model(x[i : i + 1]), dim=1)[0].detach()
            J = (torch.diag(p) - torch.outer(p, p)) @ W  # d softmax / d r
            expected = W.T @ (torch.diag(p) - torch.outer(p, p)) @ W if name == "kl" else 2 * J.T @ J
            torch.testing.assert_close(H[i], expected)


@pytest.mark.parametrize("make_model", [_linear, _mlp], ids=["linear", "mlp"])
def test_power_iteration_finds_top_hessian_eigenvector_kl(make_model):
    D, n_power = 6, 40
    model = make_model(D, 3, 1)
    x = torch.randn(5, D, dtype=F64, generator=torch.Generator().manual_seed(1))
    _, H = divergence_derivatives(model, x, "kl")
    torch.manual_seed(0)
    r = adversarial_perturbation(model, x, "kl", xi=1e-6, eps=1.0, n_power=n_power)
    for i in range(5):
        evals, v = _top_eigvec(H[i])
        assert evals[-2] / evals[-1] < 0.9  # a gap: 0.9 ** n_power leaves < 2% of the rest
        assert _cos(r[i], v) > 0.99


def test_one_power_iteration_is_exact_when_the_hessian_has_rank_one():
    # Two classes: H = J^T F J with J of rank one, so a single iteration from any start lands on it.
    model = _mlp(5, 2, 2)
    x = torch.randn(6, 5, dtype=F64, generator=torch.Generator().manual_seed(2))
    _, H = divergence_derivatives(model, x, "kl")
    torch.manual_seed(0)
    r = adversarial_perturbation(model, x, "kl", n_power=1, eps=1.0)
    for i in range(6):
        evals, v = _top_eigvec(H[i])
        assert evals[-2].abs() < 1e-10 * evals[-1]
        assert _cos(r[i], v) > 0.99


def _torch_wasserstein(C, reg, n_iter=500):
    """Reference OT divergence for Hessians: log-domain Sinkhorn in plain torch operations,
    which autograd differentiates twice (POT's autodiff and watlib's solver differentiate once)."""

    def divergence(p_hat, p):
        f, g = torch.zeros_like(p_hat), torch.zeros_like(p)
        for _ in range(n_iter):
            f = reg * (torch.log(p_hat) - torch.logsumexp((g[:, None, :] - C) / reg, dim=2))
            g = reg * (torch.log(p) - torch.logsumexp((f[:, :, None] - C) / reg, dim=1))
        return (torch.exp((f[:, :, None] + g[:, None, :] - C) / reg) * C).sum(dim=(1, 2))

    return divergence


def test_torch_reference_wasserstein_agrees_with_pot():
    C, reg = 1 - torch.eye(3, dtype=F64), 1.0
    p_hat, p = _histograms(3, 3, 8), _histograms(3, 3, 9)
    expected = [float((ot.sinkhorn(a.numpy(), b.numpy(), C.numpy(), reg, stopThr=1e-14) * C.numpy()).sum())
                for a, b in zip(p_hat, p)]
    np.testing.assert_allclose(_torch_wasserstein(C, reg)(p_hat, p).numpy(), expected, rtol=1e-9)


def test_power_iteration_finds_top_hessian_eigenvector_wasserstein_when_gradient_vanishes():
    # 0-1 cost and a uniform prediction: by symmetry the OT gradient at r = 0 is constant over
    # classes, killed by the softmax Jacobian, so Eq. 2 holds; reg = 1 keeps D smooth at scale xi.
    D = 5
    model = _linear(D, 3, 3)
    x = torch.randn(2, D, dtype=F64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        model.bias.copy_(-model.weight @ x[0])  # logits(x[0]) = 0 -> uniform p_hat
    x = x[:1]
    C01, reg = 1 - torch.eye(3, dtype=F64), 1.0
    g, H = divergence_derivatives(model, x, _torch_wasserstein(C01, reg))
    evals, v = _top_eigvec(H[0])
    assert g.norm() < 1e-9 * evals[-1]
    assert evals[-2] / evals[-1] < 0.9
    torch.manual_seed(0)
    r = adversarial_perturbation(model, x, wasserstein(C01, OTSettings(reg=reg, max_iter=500, tol=1e-14)), eps=1.0, n_power=40)
    assert _cos(r[0], v) > 0.99


@pytest.mark.parametrize("grad", ["unrolled", "implicit"])
def test_wasserstein_direction_follows_the_gradient_at_zero_when_it_does_not_vanish(grad):
    # With the toy cost, reg = 0.05 and a non-uniform p_hat, grad_r OT at r = 0 is not zero:
    # d = grad(xi d)/xi ~ g/xi + H d is dominated by g, so one iteration returns g's direction.
    model = _mlp(4, 3, 4)
    x = torch.randn(3, 4, dtype=F64, generator=torch.Generator().manual_seed(4))
    div = wasserstein(torch.tensor(TOY_COST, dtype=F64), OTSettings(reg=0.05, grad=grad))
    g, none = divergence_derivatives(model, x, div, hessian=False)
    assert none is None and (g.norm(dim=1) > 0).all()
    for seed in range(3):
        torch.manual_seed(seed)
        r = adversarial_perturbation(model, x, div, eps=1.0, n_power=1)
        for i in range(3):
            assert _cos(r[i], g[i]) > 0.99


def test_one_iteration_is_algorithm_1_written_out():
    # r = xi d/|d| from the seeded draw, d <- grad_r D(p_hat, p(x + r)) / xi, r_adv = eps d/|d|.
    model = _mlp(3, 3, 10)
    x = torch.randn(4, 3, dtype=F64, generator=torch.Generator().manual_seed(10))
    xi, eps = 1e-3, 0.7
    for div in ["kl", wasserstein(torch.tensor(TOY_COST, dtype=F64), OTSettings(reg=0.1))]:
        torch.manual_seed(0)
        d = torch.randn_like(x)
        r = (xi * d / d.norm(dim=1, keepdim=True)).requires_grad_()
        p_hat = torch.softmax(model(x), dim=1).detach()
        D = kl if div == "kl" else div
        (grad,) = torch.autograd.grad(D(p_hat, torch.softmax(model(x + r), dim=1)).sum(), r)
        expected = eps * grad / grad.norm(dim=1, keepdim=True)
        torch.manual_seed(0)
        torch.testing.assert_close(adversarial_perturbation(model, x, div, xi=xi, eps=eps), expected)


# ----------------------------------------------------------------------------- r_adv and passes
def test_r_adv_has_norm_eps_shape_dtype_and_is_detached():
    torch.manual_seed(0)
    # float64: in float32, x + xi d with xi = 1e-6 may round back to x for some samples (their
    # gradient then vanishes and r_adv is 0, see test_zero_gradient_gives_zero_perturbation_not_nan)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(12, 4)).to(F64)
    x = torch.randn(5, 2, 4, 4, dtype=F64, requires_grad=True)
    eps = 0.3
    r = adversarial_perturbation(model, x, "kl", eps=eps, n_power=2)
    assert r.shape == x.shape and r.dtype == x.dtype and not r.requires_grad
    torch.testing.assert_close(r.flatten(1).norm(dim=1), torch.full((5,), eps, dtype=F64))
    assert x.grad is None
    assert torch.equal(adversarial_perturbation(model, x, "kl", eps=0.0), torch.zeros_like(x))


def test_r_adv_is_deterministic_under_manual_seed():
    model = _mlp(3, 3, 5, dtype=torch.float32)
    x = torch.randn(4, 3)
    outs = []
    for seed in [7, 7, 8]:
        torch.manual_seed(seed)
        outs.append(adversarial_perturbation(model, x, "l2", n_power=1, eps=0.1))
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], outs[2])


@pytest.mark.parametrize("n_power", [1, 3])
def test_passing_logits_saves_exactly_one_forward_and_gives_the_same_result(n_power):
    model = _CountingModel(_mlp(3, 3, 6, dtype=torch.float32))
    x = torch.randn(4, 3)
    for fn, extra in [(adversarial_perturbation, 0), (vat_loss, 1)]:
        model.calls = 0
        torch.manual_seed(0)
        without = fn(model, x, "kl", n_power=n_power, eps=0.1)
        assert model.calls == 1 + n_power + extra
        logits = model(x)
        model.calls = 0
        torch.manual_seed(0)
        with_logits = fn(model, x, "kl", n_power=n_power, eps=0.1, logits=logits)
        assert model.calls == n_power + extra
        torch.testing.assert_close(with_logits, without)


def test_works_under_no_grad_and_leaves_the_grad_mode_alone():
    model = _mlp(3, 3, 11, dtype=torch.float32)
    x = torch.randn(4, 3)
    torch.manual_seed(0)
    expected = vat_loss(model, x, "kl", eps=0.1)
    with torch.no_grad():
        torch.manual_seed(0)
        value = vat_loss(model, x, "kl", eps=0.1)
        assert not torch.is_grad_enabled() and not value.requires_grad
    torch.testing.assert_close(value, expected.detach())


def test_zero_gradient_gives_zero_perturbation_not_nan():
    model = torch.nn.Linear(3, 3)
    with torch.no_grad():
        model.weight.zero_()  # the prediction does not depend on x: the gradient is exactly 0
    r = adversarial_perturbation(model, torch.randn(4, 3), "kl", eps=0.1)
    assert torch.equal(r, torch.zeros(4, 3))


def test_saturated_predictions_give_finite_perturbations_and_losses():
    # Logit gaps near 103: in float32 the small probability is a subnormal ~1e-45 at the clean
    # point and underflows to 0 at a perturbed one. KL in probability space then takes log(0)
    # (its gradient is NaN, and the search says so); the named "kl" is evaluated from
    # log_softmax and stays finite.
    model = torch.nn.Linear(1, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[50.0], [-50.0]]))
        model.bias.zero_()
    x = torch.tensor([[1.03], [-1.03], [1.031], [-1.031]])
    with pytest.raises(ValueError, match="non-finite gradient"):
        torch.manual_seed(0)
        adversarial_perturbation(model, x, lambda a, b: kl(a, b), xi=0.1, eps=0.5)
    for div in ["kl", kl, "l2", "tv"]:
        torch.manual_seed(0)
        r = adversarial_perturbation(model, x, div, xi=0.1, eps=0.5)
        norms = r.norm(dim=1)
        assert torch.isfinite(r).all() and ((norms == 0) | torch.isclose(norms, torch.tensor(0.5))).all()
        loss = vat_loss(model, x, div, xi=0.1, eps=0.5)
        assert torch.isfinite(loss)
        assert all(torch.isfinite(g).all() for g in torch.autograd.grad(loss, list(model.parameters())))


def test_direction_search_is_float32_under_autocast():
    model = _CountingModel(_mlp(3, 3, 7, dtype=torch.float32))
    x = torch.randn(6, 3)
    torch.manual_seed(0)
    plain = adversarial_perturbation(model, x, "kl")
    torch.manual_seed(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = adversarial_perturbation(model, x, "kl")
        half_logits = model(x)
        assert half_logits.dtype == torch.bfloat16
        model.calls = 0
        torch.manual_seed(0)
        # bfloat16 logits cannot be the reference of a 1e-6 finite difference: recomputed in float32
        from_half = adversarial_perturbation(model, x, "kl", logits=half_logits)
    assert model.calls == 2
    assert torch.equal(mixed, plain) and torch.equal(from_half, plain)


# ----------------------------------------------------------------------------- model state
def _bn_state(model):
    return [
        (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm1d)
    ]


@pytest.mark.filterwarnings("ignore::watlib.ot.ConvergenceWarning")
@pytest.mark.parametrize("call", ["perturbation", "vat", "wat"])
def test_batchnorm_running_statistics_are_untouched(call):
    model = _bn_model().train()
    x = torch.randn(8, 4)
    model(x)  # non-trivial running statistics
    before = _bn_state(model)
    C = torch.tensor(TOY_COST)
    {
        "perturbation": lambda: adversarial_perturbation(model, x, "kl", eps=0.5),
        "vat": lambda: vat_loss(model, x, "kl", eps=0.5),
        "wat": lambda: wat_loss(model, x, C, eps=0.5),
    }[call]()
    for (m0, v0, n0), (m1, v1, n1) in zip(before, _bn_state(model)):
        assert torch.equal(m0, m1) and torch.equal(v0, v1) and torch.equal(n0, n1)
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))


def test_frozen_batchnorm_normalises_with_batch_statistics_and_restores_on_exception():
    bn = torch.nn.BatchNorm1d(3).train()
    x = torch.randn(10, 3) * 4 + 2
    with frozen_batchnorm(bn):
        inside = bn(x)
    expected = torch.nn.functional.batch_norm(x, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)
    torch.testing.assert_close(inside, expected)
    assert int(bn.num_batches_tracked) == 0
    with pytest.raises(RuntimeError, match="boom"):
        with frozen_batchnorm(bn):
            raise RuntimeError("boom")
    assert bn.track_running_stats
    bn(x)
    assert int(bn.num_batches_tracked) == 1


@pytest.mark.parametrize("mode", ["train", "eval", "mixed"])
def test_model_modes_are_preserved(mode):
    model = _bn_model()
    model.train(mode == "train")
    if mode == "mixed":
        model[1].eval()
        model[3].train()
    modes = [m.training for m in model.modules()]
    x = torch.randn(8, 4)
    adversarial_perturbation(model, x, "kl")
    vat_loss(model, x, "tv")
    assert [m.training for m in model.modules()] == modes


def test_no_parameter_gradient_is_created_or_changed():
    model = _bn_model().train()
    x = torch.randn(8, 4)
    adversarial_perturbation(model, x, "kl", n_power=2)
    assert all(p.grad is None for p in model.parameters())
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    before = [p.grad.clone() for p in model.parameters()]
    vat_loss(model, x, "kl", n_power=2)
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), before))


def test_vat_loss_gradient_reaches_parameters_through_the_perturbed_prediction_only():
    model = _mlp(3, 3, 8)
    x = torch.randn(5, 3, dtype=F64)
    torch.manual_seed(0)
    loss = vat_loss(model, x, "kl", eps=0.2)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    torch.manual_seed(0)
    r = adversarial_perturbation(model, x, "kl", eps=0.2)
    p_hat = torch.softmax(model(x), dim=1).detach()
    reference = kl(p_hat, torch.softmax(model(x + r), dim=1)).mean()
    torch.testing.assert_close(loss, reference)
    for g, g_ref in zip(grads, torch.autograd.grad(reference, list(model.parameters()))):
        torch.testing.assert_close(g, g_ref)
    assert all(g.abs().sum() > 0 for g in grads)
    loss2 = vat_loss(model, x, "kl", eps=0.2)
    loss2.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.filterwarnings("ignore::watlib.ot.ConvergenceWarning")
def test_wat_loss_is_vat_loss_with_the_wasserstein_divergence():
    model = _mlp(3, 3, 9, dtype=torch.float32)
    x = torch.randn(5, 3)
    C = torch.tensor(TOY_COST)
    torch.manual_seed(0)
    a = wat_loss(model, x, C, OTSettings(reg=0.1), eps=0.3)
    torch.manual_seed(0)
    b = vat_loss(model, x, wasserstein(C, OTSettings(reg=0.1)), eps=0.3)
    assert torch.equal(a, b)


# ----------------------------------------------------------------------------- dense (per-pixel) outputs
def _pixelwise(linear):
    """The 1x1 convolution that applies ``linear`` at every pixel: (B, D, H, W) -> (B, K, H, W)."""
    conv = torch.nn.Conv2d(linear.in_features, linear.out_features, 1).to(linear.weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(linear.weight[:, :, None, None])
        conv.bias.copy_(linear.bias)
    return conv


@pytest.mark.parametrize("divergence", ["kl", "tv", "wat"])
def test_dense_logits_with_one_pixel_give_the_per_sample_regularizer(divergence):
    # A 1x1 convolution on (B, D, 1, 1) inputs is the linear model on (B, D): same direction
    # search (same random start), same value.
    linear = _linear(4, 3, 5)
    conv = _pixelwise(linear)
    x = torch.randn(6, 4, dtype=F64)
    div = wasserstein(torch.tensor(TOY_COST, dtype=F64), OTSettings(reg=0.1)) if divergence == "wat" else divergence
    torch.manual_seed(1)
    flat = vat_loss(linear, x, div, eps=0.5)
    torch.manual_seed(1)
    dense = vat_loss(conv, x[:, :, None, None], div, eps=0.5)
    torch.testing.assert_close(dense, flat)


def test_dense_regularizer_is_the_mean_over_pixels_of_the_per_pixel_divergence():
    # With eps = 0 the perturbed prediction is the clean one, so the regularizer is the mean,
    # over samples and pixels, of the OT loss between each pixel's histogram and itself.
    conv = _pixelwise(_linear(2, 3, 2))
    x = torch.randn(2, 2, 3, 4, dtype=F64)
    C = torch.tensor(TOY_COST, dtype=F64)
    value = wat_loss(conv, x, C, OTSettings(reg=0.2), eps=0.0)
    p = torch.softmax(conv(x), dim=1).movedim(1, -1).reshape(-1, 3).detach()
    expected = wasserstein(C, OTSettings(reg=0.2))(p, p).mean()
    torch.testing.assert_close(value, expected)
    assert value > 0  # entropic OT between a histogram and itself is not 0


@pytest.mark.filterwarnings("ignore::watlib.ot.ConvergenceWarning")
def test_dense_regularizer_trains_the_weights_and_rejects_shape_changes():
    conv = _pixelwise(_linear(2, 3, 3))
    x = torch.randn(2, 2, 5, 5, dtype=F64)
    wat_loss(conv, x, torch.tensor(TOY_COST, dtype=F64), OTSettings(reg=0.1), eps=0.3).backward()
    assert conv.weight.grad is not None and bool(conv.weight.grad.abs().sum() > 0)

    class Cropping(torch.nn.Module):  # a model whose output size depends on the input's values
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            out = conv(x)
            return out if self.calls == 1 else out[..., 1:]

    with pytest.raises(ValueError, match="clean one"):
        vat_loss(Cropping(), x, "kl", eps=0.3)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_dropout_acts_as_the_model_mode_says_in_every_pass(mode):
    model = _bn_model().train(mode == "train")
    dropout, seen = model[3], []
    dropout.register_forward_hook(lambda m, inp, out: seen.append(not torch.equal(inp[0], out)))
    vat_loss(model, torch.randn(16, 4), "kl", n_power=2)
    assert len(seen) == 4  # clean, two power iterations, perturbed
    assert all(seen) if mode == "train" else not any(seen)


# ----------------------------------------------------------------------------- bad input
def test_bad_histograms_raise_naming_the_argument():
    good = _histograms(2, 3, 0)
    with pytest.raises(TypeError, match="p_hat"):
        kl(good.numpy(), good)
    with pytest.raises(TypeError, match="p must have a floating-point dtype, got torch.int64"):
        l2(good, torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"p_hat must have shape \(B, K\)"):
        tv(good[0], good[0])
    with pytest.raises(ValueError, match="same shape"):
        kl(good, good[:1])
    with pytest.raises(ValueError, match="p must be non-negative"):
        kl(good, good * torch.tensor([1.0, -1.0, 1.0], dtype=F64))
    with pytest.raises(ValueError, match="p_hat must be non-negative and not NaN"):
        l2(torch.full_like(good, math.nan), good)
    with pytest.raises(ValueError, match="row of p must sum to 1"):
        tv(good, good * 2)


def test_bad_wasserstein_arguments_raise():
    C = torch.tensor(TOY_COST)
    with pytest.raises(TypeError, match="C must be a torch.Tensor"):
        wasserstein(TOY_COST)
    with pytest.raises(ValueError, match="C must be a square"):
        wasserstein(C[:2])
    with pytest.raises(ValueError, match="reg must be a finite number > 0, got 0"):
        wasserstein(C, OTSettings(reg=0))
    with pytest.raises(TypeError, match="reg must be a real number"):
        wasserstein(C, OTSettings(reg="0.1"))
    with pytest.raises(ValueError, match=r"p must have shape \(B, 3\)"):
        wasserstein(C)(_histograms(2, 4, 0), _histograms(2, 4, 1))


def _constant_model(shape):
    return lambda x: torch.zeros(shape)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"xi": 0.0}, ValueError, "xi must be a finite number > 0, got 0.0"),
        ({"xi": -1e-6}, ValueError, "xi must be"),
        ({"xi": math.inf}, ValueError, "xi must be"),
        ({"xi": "1e-6"}, TypeError, "xi must be a real number"),
        ({"eps": -0.1}, ValueError, "eps must be a finite number >= 0, got -0.1"),
        ({"eps": math.nan}, ValueError, "eps must be"),
        ({"eps": True}, TypeError, "eps must be a real number"),
        ({"n_power": 0}, ValueError, "n_power must be an int >= 1, got 0"),
        ({"n_power": 1.5}, TypeError, "n_power must be an int, got 1.5 of type float"),
        ({"n_power": True}, TypeError, "n_power must be an int, got True of type bool"),
        ({"divergence": "js"}, ValueError, r"divergence must be one of \['kl', 'l2', 'tv'\].*'js'"),
        ({"divergence": 3}, TypeError, "divergence must be one of .* or a callable"),
        ({"divergence": lambda a, b: a.sum()}, ValueError, r"divergence must return a tensor of shape \(B,\)"),
        ({"divergence": lambda a, b: (b * math.nan).sum(1)}, ValueError, "non-finite gradient"),
        ({"logits": torch.zeros(3, 3)}, ValueError, r"logits must have shape \(B, K\) or, for dense predictions, \(B, K, \*S\) with B = x.shape\[0\] = 4"),
        ({"logits": torch.full((4, 3), math.nan)}, ValueError, "logits must be finite"),
        ({"logits": [[0.0]]}, TypeError, "logits must be a torch.Tensor"),
        ({"x": torch.randn(3)}, ValueError, "x must have a batch dimension"),
        ({"x": torch.ones(4, 3, dtype=torch.int64)}, TypeError, "x must have a floating-point dtype, got torch.int64"),
        ({"x": np.zeros((4, 3))}, TypeError, "x must be a torch.Tensor"),
        ({"x": torch.full((4, 3), math.nan)}, ValueError, r"model\(x\) must be finite"),
        ({"model": _constant_model((4,))}, ValueError, r"model\(x\) must have shape \(B, K\)"),
        ({"model": _constant_model((5, 3))}, ValueError, r"model\(x\) must have shape"),
        ({"model": "linear"}, TypeError, "model must be callable"),
        ({"model": torch.nn.Linear(3, 3).half()}, TypeError, "model parameter weight has dtype torch.float16"),
    ],
)
@pytest.mark.parametrize("fn", [adversarial_perturbation, vat_loss])
def test_bad_arguments_raise_naming_the_argument(fn, kwargs, error, match):
    args = {"model": torch.nn.Linear(3, 3), "x": torch.randn(4, 3), **kwargs}
    model, x = args.pop("model"), args.pop("x")
    with pytest.raises(error, match=match):
        fn(model, x, **args)


def test_bad_arguments_of_wat_loss_and_divergence_derivatives_raise():
    model, x = torch.nn.Linear(3, 3), torch.randn(4, 3)
    with pytest.raises(ValueError, match="reg must be"):
        wat_loss(model, x, torch.tensor(TOY_COST), OTSettings(reg=-1.0))
    with pytest.raises(ValueError, match="C must be a square"):
        wat_loss(model, x, torch.ones(3, 2))
    with pytest.raises(ValueError, match=r"x must have shape \(B, D\)"):
        divergence_derivatives(model, torch.randn(4, 1, 3))
    with pytest.raises(TypeError, match="hessian must be a bool"):
        divergence_derivatives(model, x, hessian=1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        with frozen_batchnorm(copy.deepcopy):
            pass


# ----------------------------------------------------------------------------- solver settings and diagnostics
def test_defaults_come_from_the_paper_and_watlib_ot():
    import inspect

    from watlib import ot as wot
    from watlib import paper

    for fn in (adversarial_perturbation, vat_loss, wat_loss):
        params = inspect.signature(fn).parameters
        assert (params["xi"].default, params["eps"].default, params["n_power"].default) == (
            paper.XI, paper.EPS, paper.N_POWER)
    for fn in (wat_loss, wasserstein):
        assert inspect.signature(fn).parameters["ot"].default == OTSettings()
    assert (OTSettings().reg, OTSettings().max_iter, OTSettings().tol, OTSettings().grad, OTSettings().solver) == (
        paper.REG, wot.MAX_ITER, wot.TOL, None, "sinkhorn")
    assert (TRAIN_OT.max_iter, TRAIN_OT.tol, TRAIN_OT.grad, TRAIN_OT.solver) == (
        wot.TRAIN_MAX_ITER, wot.TRAIN_TOL, wot.TRAIN_GRAD, wot.TRAIN_SOLVER)
    assert repr(wasserstein(torch.tensor(TOY_COST))) == (
        f"wasserstein(C of shape (3, 3), OTSettings(reg={paper.REG}, solver='sinkhorn', max_iter={wot.MAX_ITER}, "
        f"tol={wot.TOL}, grad='unrolled'))")


def test_bad_solver_settings_are_refused_when_the_settings_are_made():
    C = torch.tensor(TOY_COST)
    for kwargs, error, match in [
        ({"max_iter": 0}, ValueError, "max_iter must be an int >= 1, got 0"),
        ({"max_iter": 10.0}, TypeError, "max_iter must be an int, got 10.0"),
        ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0, got -1.0"),
        ({"grad": "autodiff"}, ValueError, r"grad must be one of \('unrolled', 'implicit'\), got 'autodiff'"),
    ]:
        with pytest.raises(error, match=match):
            OTSettings(**kwargs)
        with pytest.raises(error, match=match):
            OTSettings().replace(**kwargs)
    for bad in (0.05, {"reg": 0.05}, None):
        with pytest.raises(TypeError, match="ot must be a watlib.OTSettings"):
            wasserstein(C, bad)
        with pytest.raises(TypeError, match="ot must be a watlib.OTSettings"):
            wat_loss(torch.nn.Linear(3, 3), torch.randn(4, 3), C, bad)
    with pytest.raises(ValueError, match=r"C must be finite and nonnegative; found C\[\(0, 1\)\] = -1.0"):
        wasserstein(torch.tensor([[0.0, -1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"C must be finite and nonnegative; found C\[\(1, 1\)\] = nan"):
        wasserstein(torch.tensor([[0.0, 1.0], [1.0, math.nan]]))
    with pytest.raises(TypeError, match="return_diagnostics must be a bool"):
        wat_loss(torch.nn.Linear(3, 3), torch.randn(4, 3), C, return_diagnostics="yes")


def test_wat_loss_passes_its_solver_settings_to_both_ot_solves(monkeypatch):
    import watlib.adversarial as adv

    calls = []

    def spy(*args, **kwargs):
        calls.append({k: kwargs[k] for k in ("reg", "max_iter", "tol", "grad")})
        return ot_loss(*args, **kwargs)

    from watlib.ot import ot_loss

    monkeypatch.setattr(adv, "ot_loss", spy)
    model = _mlp(3, 3, 12, dtype=F64)
    x = torch.randn(5, 3, dtype=F64)
    wat_loss(model, x, torch.tensor(TOY_COST, dtype=F64), OTSettings(reg=0.5, max_iter=321, tol=1e-9, grad="implicit"), n_power=2)
    assert calls == [{"reg": 0.5, "max_iter": 321, "tol": 1e-9, "grad": "implicit"}] * 3  # 2 searches, 1 final


@pytest.mark.filterwarnings("ignore::watlib.ot.ConvergenceWarning")
@pytest.mark.parametrize("dense", [False, True])
def test_wat_loss_returns_the_diagnostics_of_the_final_ot_solve(dense):
    linear = _linear(4, 3, 13)
    model = _pixelwise(linear) if dense else linear
    x = torch.randn(6, 4, 2, 3, dtype=F64) if dense else torch.randn(6, 4, dtype=F64)
    C = torch.tensor(TOY_COST, dtype=F64)
    settings = OTSettings(reg=0.5, max_iter=40, tol=0.0)
    torch.manual_seed(3)
    value, diag = wat_loss(model, x, C, settings, eps=0.3, return_diagnostics=True)
    # the same computation written out: same seed, same direction, then one OT solve
    torch.manual_seed(3)
    r = adversarial_perturbation(model, x, wasserstein(C, settings), eps=0.3)
    p_hat = torch.softmax(model(x), dim=1).detach()
    p = torch.softmax(model(x + r), dim=1)
    if dense:
        p_hat, p = (t.movedim(1, -1).reshape(-1, 3) for t in (p_hat, p))
    from watlib.ot import ot_loss

    loss, ref = ot_loss(p_hat, p, C, return_diagnostics=True, **settings.keywords())
    torch.testing.assert_close(value, loss.mean())
    assert diag.iterations == ref.iterations == 40 and not diag.converged
    expected_shape = (6, 2, 3) if dense else (6,)
    assert diag.marginal_violation.shape == expected_shape
    torch.testing.assert_close(diag.marginal_violation.reshape(-1), ref.marginal_violation)
    assert diag.max_violation == ref.max_violation
    assert wat_loss(model, x, C, settings, eps=0.3).shape == ()  # without diagnostics: the value alone


def test_wat_loss_warns_at_the_callers_line_when_sinkhorn_does_not_converge():
    import warnings

    from watlib.ot import ConvergenceWarning

    model, x, C = _linear(3, 3, 14), torch.randn(5, 3, dtype=F64), torch.tensor(TOY_COST, dtype=F64)
    with torch.no_grad():
        model.weight.mul_(20)  # confident predictions: far from the uniform plan of the first iterations
    with pytest.warns(ConvergenceWarning, match="max_iter=3 ") as record:
        wat_loss(model, x, C, OTSettings(reg=0.01, max_iter=3, tol=0.0))
    assert {w.filename for w in record} == {__file__}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, diag = wat_loss(model, x, C, OTSettings(reg=0.5, max_iter=2000), return_diagnostics=True)
    assert diag.converged and diag.max_violation <= 1e-6


# ----------------------------------------------------------------------------- input against the model
@pytest.mark.filterwarnings("ignore::watlib.ot.ConvergenceWarning")
@pytest.mark.parametrize("fn", ["perturbation", "vat", "wat"])
def test_input_dtype_must_match_the_model_and_is_checked_before_any_pass(fn):
    call = {
        "perturbation": lambda m, x, **kw: adversarial_perturbation(m, x, "kl", **kw),
        "vat": lambda m, x, **kw: vat_loss(m, x, "kl", **kw),
        "wat": lambda m, x, **kw: wat_loss(m, x, torch.tensor(TOY_COST).to(x.dtype), **kw),
    }[fn]
    model = _CountingModel(_linear(3, 3, 15, dtype=torch.float32))
    with pytest.raises(TypeError, match=r"^x has dtype torch.float64 but _CountingModel's parameters are torch.float32; "
                                        r"convert x with x.float\(\) or the model with .double\(\)$"):
        call(model, torch.randn(4, 3, dtype=F64))
    model64 = _CountingModel(_linear(3, 3, 15, dtype=F64))
    with pytest.raises(TypeError, match=r"^x has dtype torch.float32 but _CountingModel's parameters are torch.float64; "
                                        r"convert x with x.double\(\) or the model with .float\(\)$"):
        call(model64, torch.randn(4, 3))
    with pytest.raises(TypeError, match=r"^x has dtype torch.bfloat16 .* or run under torch.autocast for mixed precision$"):
        call(model, torch.randn(4, 3, dtype=torch.bfloat16))
    assert model.calls == model64.calls == 0
    with torch.autocast("cpu", dtype=torch.bfloat16):  # mixed precision: half x, float32 parameters
        call(model, torch.randn(4, 3).bfloat16())
    assert model.calls > 0


def test_input_features_must_match_the_models_first_layer_and_are_checked_before_any_pass():
    linear = _CountingModel(torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)))
    with pytest.raises(ValueError, match=r"x has shape \(4, 5\), 5 features per sample, but the model's first "
                                         r"layer \(inner.0: Linear\(in_features=3, .*\)\) expects in_features = 3"):
        vat_loss(linear, torch.randn(4, 5))
    conv = _CountingModel(torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.Flatten(), torch.nn.Linear(16, 3)))
    with pytest.raises(ValueError, match=r"x has shape \(4, 3, 4, 4\), 3 channels, but the model's first layer "
                                         r"\(inner.0: Conv2d\(2, 4, .*\)\) expects in_channels = 2"):
        wat_loss(conv, torch.randn(4, 3, 4, 4), torch.tensor(TOY_COST))
    with pytest.raises(ValueError, match=r"expects in_features = 3"):
        adversarial_perturbation(torch.nn.Linear(3, 3), torch.randn(4, 2))
    assert linear.calls == conv.calls == 0
    # a model that flattens its input first, and one applied to the last dimension, are fine
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    assert vat_loss(flat, torch.randn(4, 3, 2, 2)).shape == ()
    assert vat_loss(torch.nn.Linear(3, 3), torch.randn(4, 3)).shape == ()


def test_cost_must_have_the_models_number_of_classes_before_the_search():
    model = _CountingModel(_linear(3, 4, 16, dtype=torch.float32))  # 4 classes
    x = torch.randn(5, 3)
    with pytest.raises(ValueError, match=r"model\(x\) has 4 classes \(shape \(5, 4\)\) but C has shape \(3, 3\)"):
        wat_loss(model, x, torch.tensor(TOY_COST))
    assert model.calls == 1  # the clean forward only
    logits = model(x)
    model.calls = 0
    with pytest.raises(ValueError, match=r"logits has 4 classes"):
        wat_loss(model, x, torch.tensor(TOY_COST), logits=logits)
    assert model.calls == 0


def test_wasserstein_resolves_its_solver_when_built():
    C = torch.tensor(TOY_COST)
    assert (wasserstein(C, OTSettings(solver="newton")).ot.grad,
            wasserstein(C, OTSettings(solver="auto", tol=1e-6)).ot.solver) == ("implicit", "newton")
    assert wasserstein(C, OTSettings(solver="auto", grad="unrolled")).ot.solver == "sinkhorn"
    with pytest.raises(ValueError, match="grad must be 'implicit' with solver='newton'"):
        wasserstein(C, OTSettings(solver="newton", grad="unrolled"))
    with pytest.raises(ValueError, match="solver"):
        wasserstein(C, OTSettings(solver="lbfgs"))


def test_wat_loss_with_newton_agrees_with_converged_sinkhorn():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 3).double()
    x = torch.randn(6, 2, dtype=torch.float64)
    C = torch.tensor(TOY_COST, dtype=torch.float64)
    values, grads = [], []
    for settings in (dict(solver="newton", tol=1e-10, max_iter=100),
                     dict(solver="sinkhorn", grad="implicit", tol=1e-12, max_iter=200_000)):
        torch.manual_seed(1)  # the same random start of the direction search
        model.zero_grad()
        value, diag = wat_loss(model, x, C, OTSettings(reg=0.5, **settings), eps=0.1, return_diagnostics=True)
        value.backward()
        assert diag.converged
        values.append(value.detach())
        grads.append(model.weight.grad.clone())
    torch.testing.assert_close(values[0], values[1], rtol=0, atol=1e-9)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-7)
