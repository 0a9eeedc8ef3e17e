"""Each method of Table 2 on a tiny batch: values against closed forms, gradients, state."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from watlib.adversarial import vat_loss, wat_loss
from watlib.costs import zero_one_cost
from watlib.methods import METHODS, D2L, estimate_transition_matrix, lid_mle, make_method
from watlib.ot import TRAIN_MAX_ITER, TRAIN_TOL
from watlib.ot_settings import OTSettings

K = 4


def _net():
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, K))


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 1, 2, 3, generator=g), torch.randint(0, K, (16,), generator=g)


class _Ctx:
    def __init__(self, x):
        self.x = x

    def fixed_train_inputs(self, n):
        return self.x[:n]


def _build(name, x, T=None, **kw):
    torch.manual_seed(0)
    cost = zero_one_cost(K) if name in ("wat01", "watc") else None
    # a reference model whose confident predictions give an invertible T
    T = T if T is not None else torch.full((K, K), 0.1) + 0.6 * torch.eye(K)
    transition = T if name in ("forward", "backward") else None
    method = make_method(name, noise=0.4, epochs=10, cost=cost, transition=transition, **kw)
    models = method.build(_net)
    return method, models


@pytest.mark.parametrize("name", METHODS)
def test_every_method_gives_a_finite_loss_whose_gradient_reaches_the_parameters(name, batch):
    x, y = batch
    method, models = _build(name, x, warmup=0)
    loss = method.loss(models, x, y, epoch=3)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    for m in models:
        grads = [p.grad for p in m.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


def test_cce_is_cross_entropy(batch):
    x, y = batch
    method, (model,) = _build("cce", x)
    torch.testing.assert_close(method.loss([model], x, y, 0), F.cross_entropy(model(x), y))


@pytest.mark.parametrize("name", ["forward", "backward"])
def test_corrections_with_identity_T_are_cross_entropy(name, batch):
    x, y = batch
    method, (model,) = _build(name, x, T=torch.eye(K))
    model.eval()
    torch.testing.assert_close(method.loss([model], x, y, 0), F.cross_entropy(model(x), y))


def test_forward_and_backward_match_their_formulas(batch):
    x, y = batch
    T = torch.full((K, K), 0.05) + 0.8 * torch.eye(K)
    fwd, (model,) = _build("forward", x, T=T)
    bwd, _ = _build("backward", x, T=T)
    model.eval()
    p = model(x).softmax(dim=1).double()
    expected_fwd = -torch.log((p @ T.double())[torch.arange(len(y)), y]).mean()
    expected_bwd = -(torch.linalg.inv(T.double())[y] * p.log()).sum(dim=1).mean()
    torch.testing.assert_close(fwd.loss([model], x, y, 0).double(), expected_fwd, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bwd.loss([model], x, y, 0).double(), expected_bwd, rtol=1e-5, atol=1e-6)


def test_backward_rejects_a_singular_estimate(batch):
    x, _ = batch
    with pytest.raises(ValueError, match="singular"):
        _build("backward", x, T=torch.full((K, K), 1.0 / K))


def test_estimate_transition_matrix_recovers_T_from_ideal_probabilities():
    T = torch.tensor([[0.6, 0.4, 0.0], [0.0, 1.0, 0.0], [0.0, 0.3, 0.7]], dtype=torch.float64)
    # perfect examples of each class have noisy-posterior row i of T; the rest are mixtures
    torch.manual_seed(0)
    w = torch.distributions.Dirichlet(torch.ones(3, dtype=torch.float64)).sample((200,))
    probs = torch.cat([w @ T, T])
    torch.testing.assert_close(estimate_transition_matrix(probs, filter_outlier=False), T)
    est = estimate_transition_matrix(probs)  # 97th percentile: close, not exact
    assert torch.allclose(est.sum(dim=1), torch.ones(3, dtype=torch.float64))
    assert (est.diagonal() > 0.5).all()
    with pytest.raises(ValueError, match="probs"):
        estimate_transition_matrix(torch.tensor([[0.5, float("nan")]]))


def test_unhinged_scores_are_batch_normalised_and_loss_is_linear(batch):
    x, y = batch
    method, (model,) = _build("unhinged", x)
    assert isinstance(model[-1], nn.BatchNorm1d)
    f = model(x)
    expected = (1 - F.one_hot(y, K) * f).mean()
    torch.testing.assert_close(method.loss([model], x, y, 0), expected)


def test_bootsoft_interpolates_label_and_prediction(batch):
    x, y = batch
    method, (model,) = _build("bootsoft", x)
    model.eval()
    logp = F.log_softmax(model(x), dim=1)
    target = 0.95 * F.one_hot(y, K) + 0.05 * logp.exp()
    torch.testing.assert_close(method.loss([model], x, y, 0), -(target * logp).sum(1).mean())


@pytest.mark.parametrize("name", ["cce", "bootsoft", "watc"])
def test_dense_losses_are_the_per_pixel_losses_averaged(name):
    # Segmentation (Section 5.2): logits (B, K, H, W), labels (B, H, W). A 1x1 convolution is
    # the linear model at every pixel, so the dense loss equals the flat loss on the B*H*W
    # pixels as samples (for WAT, with eps = 0 the direction search cannot matter).
    torch.manual_seed(0)
    linear = nn.Linear(3, K)
    conv = nn.Conv2d(3, K, 1)
    with torch.no_grad():
        conv.weight.copy_(linear.weight[:, :, None, None])
        conv.bias.copy_(linear.bias)
    x = torch.randn(2, 3, 4, 5)
    y = torch.randint(0, K, (2, 4, 5))
    cost = zero_one_cost(K) if name == "watc" else None
    method = make_method(name, cost=cost, eps=0.0, warmup=0)
    flat_x, flat_y = x.movedim(1, -1).reshape(-1, 3), y.reshape(-1)
    torch.testing.assert_close(method.loss([conv], x, y, 0), method.loss([linear], flat_x, flat_y, 0))


def test_coteaching_keeps_everything_at_first_and_drops_the_forget_rate_later(batch):
    x, y = batch
    method, models = _build("coteaching", x)
    for m in models:
        m.eval()
    assert len(models) == 2 and models[0] is not models[1]
    full = F.cross_entropy(models[0](x), y) + F.cross_entropy(models[1](x), y)
    torch.testing.assert_close(method.loss(models, x, y, epoch=0), full)
    assert method.rate(5) == pytest.approx(0.2) and method.rate(50) == pytest.approx(0.4)
    l1 = F.cross_entropy(models[0](x), y, reduction="none")
    l2 = F.cross_entropy(models[1](x), y, reduction="none")
    keep = round(0.6 * len(y))
    expected = l1[l2.argsort()[:keep]].mean() + l2[l1.argsort()[:keep]].mean()
    torch.testing.assert_close(method.loss(models, x, y, epoch=10), expected)


def test_lid_estimates_the_dimension_of_the_data():
    g = torch.Generator().manual_seed(0)
    for dim in (2, 5):
        z = torch.randn(1000, dim, generator=g) @ torch.randn(dim, 20, generator=g)  # dim-d in 20-d
        assert abs(float(lid_mle(z, k=20).mean()) - dim) < 0.35 * dim
    with pytest.raises(ValueError, match="k = 20"):
        lid_mle(torch.randn(10, 3))


def test_d2l_switches_target_after_the_lid_turning_point(batch):
    x, y = batch
    x = torch.randn(64, 1, 2, 3)
    method, (model,) = _build("d2l", x)
    method.k, method.n_samples, method.batch = 5, 64, 64
    model.eval()
    torch.testing.assert_close(method.loss([model], x[:16], y, 0), F.cross_entropy(model(x[:16]), y))
    model.train()
    for epoch, lid in enumerate([5.0, 5.1, 4.9, 5.0, 5.05, 5.0]):
        method.lids.append(lid)
    method.lids = method.lids[:-1]
    out = method.end_epoch([model], 6, _Ctx(x))
    assert "lid" in out and method.lids[-1] == out["lid"]
    # force a turning point to check the target and alpha
    method.turning_epoch, method.alpha = 6, 0.5
    model.eval()
    logits = model(x[:16])
    target = 0.5 * F.one_hot(y, K) + 0.5 * F.one_hot(logits.argmax(1), K)
    torch.testing.assert_close(method.loss([model], x[:16], y, 7), -(target * logits.log_softmax(1)).sum(1).mean())
    state = method.state_dict()
    fresh = D2L(epochs=10)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state


@pytest.mark.parametrize("name", ["vat", "wat01"])
def test_adversarial_methods_are_cross_entropy_during_warmup_then_add_beta_times_the_regularizer(name, batch):
    x, y = batch
    settings = OTSettings(max_iter=TRAIN_MAX_ITER, tol=TRAIN_TOL)  # converged, as in training
    method, (model,) = _build(name, x, warmup=2, ot=settings)
    model.eval()  # deterministic forward passes
    ce = F.cross_entropy(model(x), y)
    torch.testing.assert_close(method.loss([model], x, y, epoch=1), ce)
    torch.manual_seed(1)
    total = method.loss([model], x, y, epoch=2)
    torch.manual_seed(1)
    logits = model(x)
    if name == "vat":
        reg = vat_loss(model, x, "kl", eps=0.005, logits=logits)
    else:
        reg = wat_loss(model, x, zero_one_cost(K), settings.replace(reg=0.05), eps=0.005, logits=logits)
    torch.testing.assert_close(total, ce + method.beta * reg)
    assert method.beta == (5.0 if name == "vat" else 10.0)


def test_make_method_rejects_bad_names_and_missing_costs():
    with pytest.raises(ValueError, match="method must be one of"):
        make_method("mixup")
    with pytest.raises(ValueError, match="ground cost"):
        make_method("watc")
    with pytest.raises(ValueError, match="transition"):
        make_method("forward")
    with pytest.raises(ValueError, match="row-stochastic"):
        make_method("forward", transition=torch.ones(3, 3))
    with pytest.raises(ValueError, match="reg must be a finite number > 0"):
        make_method("watc", cost=zero_one_cost(3), ot=OTSettings(reg=0.0))
    with pytest.raises(ValueError, match="forget_rate"):
        make_method("coteaching", noise=1.0)
    assert math.isclose(make_method("watc", cost=zero_one_cost(3), beta=2).beta, 2.0)


def test_wat_folds_its_sinkhorn_diagnostics_into_one_report_per_epoch(batch):
    import warnings

    from watlib.ot import WARN_VIOLATION, ConvergenceWarning

    x, y = batch
    method, (model,) = _build("wat01", x, warmup=1, ot=OTSettings(max_iter=2, tol=0.0))
    method.loss([model], x, y, epoch=0)
    assert method.end_epoch([model], 0, None) == dict.fromkeys(
        ("ot_violation_mean", "ot_violation_max", "ot_iterations_mean", "ot_iterations_max"))  # warm-up
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            method.loss([model], x, y, epoch=1)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]  # not once per step
    with pytest.warns(ConvergenceWarning, match="epoch 2"):
        out = method.end_epoch([model], 1, None)
    assert out["ot_iterations_mean"] == out["ot_iterations_max"] == 2
    assert WARN_VIOLATION < out["ot_violation_max"] and 0 < out["ot_violation_mean"] <= out["ot_violation_max"]
    assert make_method("vat").end_epoch([model], 1, None) == {}


def test_wat_trains_with_the_newton_solver(batch):
    x, y = batch
    method, (model,) = _build("wat01", x, warmup=0, ot=OTSettings(solver="newton", tol=1e-6, max_iter=50))
    assert (method.ot.solver, method.ot.grad) == ("newton", None)
    loss = method.loss([model], x, y, epoch=0)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters())
    out = method.end_epoch([model], 0, None)
    assert out["ot_violation_max"] <= 1e-6 and out["ot_iterations_max"] <= 50
    with pytest.raises(ValueError, match="grad must be 'implicit' with solver='newton'"):
        make_method("wat01", cost=zero_one_cost(3), ot=OTSettings(solver="newton", grad="unrolled"))
    with pytest.raises(ValueError, match="solver"):
        make_method("wat01", cost=zero_one_cost(3), ot=OTSettings(solver="bogus"))


def _scripted_d2l(monkeypatch, x, lids, **kw):
    """A D2L whose LID after each epoch is the next value of ``lids``; the epoch of its turn."""
    import watlib.methods as methods_mod

    values = iter(lids)
    monkeypatch.setattr(methods_mod, "lid_mle", lambda f, k: torch.full((f.shape[0],), next(values)))
    method, (model,) = _build("d2l", x, **kw)
    method.k, method.n_samples, method.batch = 5, 64, 64
    for epoch in range(len(lids)):
        method.end_epoch([model], epoch, _Ctx(x))
    return method


@pytest.mark.parametrize("init_epoch, turn", [(0, 6), (3, 8)])
def test_d2l_tests_for_the_turning_point_only_after_init_epoch_plus_window_values(monkeypatch, init_epoch, turn):
    # LID jumps at the 7th value (epoch 6) and again, higher, at the 9th (epoch 8). With
    # init_epoch 3 and a window of 5 the test starts only at the 9th value (> 3 + 5 values).
    x = torch.randn(64, 1, 2, 3)
    lids = [5.0, 5.1, 4.9, 5.0, 5.05, 5.0, 20.0, 20.0, 100.0, 100.0]
    method = _scripted_d2l(monkeypatch, x, lids, init_epoch=init_epoch)
    assert method.init_epoch == init_epoch and method.window == 5
    assert method.turning_epoch == turn and method.alpha < 1
    early = _scripted_d2l(monkeypatch, x, lids[:8], init_epoch=3)
    assert early.turning_epoch is None and early.alpha == 1.0  # the jump at epoch 6 came too early
    with pytest.raises(ValueError, match="init_epoch must be an int >= 0, got -2"):
        make_method("d2l", init_epoch=-2)


def test_a_nan_marginal_violation_is_never_folded_into_a_converged_epoch(batch):
    import warnings

    from watlib.ot import ConvergenceWarning, SinkhornDiagnostics

    x, _ = batch
    method, (model,) = _build("wat01", x, warmup=0)
    for violation in ([0.0, 1e-9], [float("nan"), 1e-9], [1e-9, 0.0]):  # max(0.0, nan) is 0.0 in Python
        method._ot.add(SinkhornDiagnostics(5, torch.tensor(violation), True, 1e-9))
    with pytest.warns(ConvergenceWarning, match="violation up to nan"):
        out = method.end_epoch([model], 0, None)
    assert math.isnan(out["ot_violation_max"])
    method._ot.add(SinkhornDiagnostics(5, torch.tensor([1e-9]), True, 1e-9))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a converged epoch stays silent
        assert method.end_epoch([model], 1, None)["ot_violation_max"] == pytest.approx(1e-9)
