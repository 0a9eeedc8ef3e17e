"""Tests of watlib.toy and watlib.models.mlp: the data of Figure 2, its cost, the MLP and
the seeded training loop with its regularizer hook."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from watlib import toy
from watlib.adversarial import vat_loss, wat_loss
from watlib.costs import cost_from_matrix
from watlib.models import MLP
from watlib.ot_settings import TRAIN_OT, OTSettings
from watlib.toy import TOY_CLASSES, TOY_COLORS, make_toy_data, toy_cost, toy_scores, train_toy_classifier

SMALL = dict(n_per_class=80, n_noisy=10, seed=3)
FAST = dict(epochs=30, hidden=(16, 16), lr=1e-2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The toy is overhead-bound: one thread is several times faster than two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return make_toy_data(**SMALL)


# ----------------------------------------------------------------------------- data
def test_classes_and_colors_line_up():
    assert TOY_CLASSES == ("red", "orange", "black")
    assert len(TOY_COLORS) == len(TOY_CLASSES)


def test_data_shapes_dtypes_and_class_sizes(data):
    x, y_noisy, y_clean = data
    n, m = SMALL["n_per_class"], SMALL["n_noisy"]
    assert x.shape == (3 * n + m, 2) and x.dtype == torch.float32
    assert y_noisy.dtype == y_clean.dtype == torch.int64
    assert torch.bincount(y_clean, minlength=3).tolist() == [n + m, n, n]
    assert torch.bincount(y_noisy, minlength=3).tolist() == [n, n, n + m]
    flipped = y_noisy != y_clean
    assert flipped.sum() == m and flipped[-m:].all()
    assert (y_clean[flipped] == 0).all() and (y_noisy[flipped] == 2).all()


def test_data_is_deterministic_for_a_seed(data):
    again = make_toy_data(**SMALL)
    for a, b in zip(data, again):
        assert torch.equal(a, b)
    other = make_toy_data(**{**SMALL, "seed": SMALL["seed"] + 1})
    assert not torch.equal(data[0], other[0])


def test_data_leaves_global_random_state_alone():
    state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state()
    make_toy_data(**SMALL)
    assert np.array_equal(np.random.get_state()[1], state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_red_and_orange_split_the_box_along_the_wave(data):
    x, _, y_clean = data
    pts = x.double().numpy()
    above = toy._above_wave(pts)
    inside = toy._in_box(pts)
    for k, expected_above in ((0, True), (1, False)):
        sel = y_clean.numpy() == k
        assert inside[sel].all()
        assert (above[sel] == expected_above).all()
    # both close classes really reach the border: each has points within a tenth of the
    # box height of the wave
    gap = np.abs(pts[:, 1] - toy._wave(pts[:, 0]))
    height = toy._BOX[1][1] - toy._BOX[1][0]
    for k in (0, 1):
        assert gap[y_clean.numpy() == k].min() < 0.1 * height


def test_black_is_far_from_red_and_orange(data):
    x, y_noisy, y_clean = data
    black = x[(y_clean == 2)].double()
    close = x[(y_clean < 2)].double()
    assert torch.allclose(black.mean(0), torch.tensor(toy._BLACK_CENTER, dtype=torch.float64),
                          atol=4 * toy._BLACK_STD / math.sqrt(len(black)))
    # the closest black point is farther from the box than the typical spacing inside it
    nearest = torch.cdist(black, close).min()
    spacing = torch.cdist(close, close).fill_diagonal_(float("inf")).min(1).values.median()
    assert nearest > 5 * spacing


def test_noisy_cluster_lies_inside_the_red_region(data):
    x, y_noisy, y_clean = data
    flipped = (y_noisy != y_clean).numpy()
    pts = x.double().numpy()
    assert toy._in_box(pts[flipped]).all() and toy._above_wave(pts[flipped]).all()
    # its clean neighbourhood is red: the 7 nearest correctly labelled points of every
    # mislabelled one are in their majority red
    clean = torch.from_numpy(~flipped)
    d = torch.cdist(x[~clean], x[clean])
    neighbours = y_clean[clean][d.topk(7, largest=False).indices]
    assert ((neighbours == 0).sum(1) >= 4).all()
    # and it is compact: tighter than the red class itself
    assert x[~clean].std(0).max() < x[y_noisy == 0].std(0).min()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_per_class": 0}, ValueError, "n_per_class"),
        ({"n_per_class": 2.5}, TypeError, "n_per_class"),
        ({"n_per_class": True}, TypeError, "n_per_class"),
        ({"n_noisy": -1}, ValueError, "n_noisy"),
        ({"seed": -2}, ValueError, "seed"),
        ({"seed": "0"}, TypeError, "seed"),
    ],
)
def test_make_toy_data_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_toy_data(**kwargs)


def test_no_noisy_cluster():
    x, y_noisy, y_clean = make_toy_data(n_per_class=10, n_noisy=0)
    assert x.shape == (30, 2) and torch.equal(y_noisy, y_clean)


# ----------------------------------------------------------------------------- cost
def test_toy_cost_is_the_papers_cost():
    C = toy_cost()
    assert torch.equal(C, cost_from_matrix([[0, 5, 1], [5, 0, 1], [1, 1, 0]]))
    red, orange, black = (TOY_CLASSES.index(c) for c in ("red", "orange", "black"))
    # the similar classes get the large cost, each of them the small one with black
    assert C[red, orange] > C[red, black] == C[orange, black] > 0
    assert torch.equal(C, C.T) and (torch.diagonal(C) == 0).all()


def test_toy_cost_follows_dtype():
    assert toy_cost(dtype=torch.float64).dtype == torch.float64


# ----------------------------------------------------------------------------- MLP
def test_mlp_shapes_and_layers():
    model = MLP(in_features=4, num_classes=5, hidden=(7, 3))
    assert model(torch.zeros(6, 4)).shape == (6, 5)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 7), (7, 3), (3, 5)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in model.modules()) == 2


def test_mlp_without_hidden_layer_is_affine():
    model = MLP(in_features=2, num_classes=3, hidden=())
    x = torch.randn(4, 2)
    (lin,) = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert torch.allclose(model(x), x @ lin.weight.T + lin.bias)


def test_mlp_activation_is_used():
    model = MLP(hidden=(5,), activation=torch.nn.Tanh).double()
    x = torch.randn(3, 2, dtype=torch.float64)
    first, last = model.net[0], model.net[2]
    assert torch.allclose(model(x), last(torch.tanh(first(x))))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"in_features": 0}, ValueError, "in_features"),
        ({"num_classes": 1}, ValueError, "num_classes"),
        ({"num_classes": 3.0}, TypeError, "num_classes"),
        ({"hidden": (8, 0)}, ValueError, r"hidden\[1\]"),
        ({"hidden": "64"}, TypeError, "hidden"),
        ({"hidden": 64}, TypeError, "hidden"),
        ({"activation": "relu"}, TypeError, "activation"),
        ({"activation": lambda: torch.relu}, TypeError, "activation"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MLP(**kwargs)


def test_mlp_rejects_bad_input():
    model = MLP(in_features=2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        model(torch.zeros(4, 3))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        model(np.zeros((4, 2)))


# ----------------------------------------------------------------------------- training
def _first_layer_weight(model):
    return next(m for m in model.modules() if isinstance(m, torch.nn.Linear)).weight


def test_training_is_deterministic_and_leaves_rng_alone(data):
    x, y_noisy, _ = data
    state = torch.get_rng_state()
    a = train_toy_classifier(x, y_noisy, seed=1, **FAST)
    assert torch.equal(torch.get_rng_state(), state)
    b = train_toy_classifier(x, y_noisy, seed=1, **FAST)
    c = train_toy_classifier(x, y_noisy, seed=2, **FAST)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert a.history == b.history
    assert not torch.equal(_first_layer_weight(a), _first_layer_weight(c))


def test_training_lowers_the_loss_and_fits_the_clean_data():
    x, y_noisy, y_clean = make_toy_data(n_per_class=100, n_noisy=10, seed=0)
    model = train_toy_classifier(x, y_noisy, epochs=300, hidden=(32, 32), lr=1e-2, seed=0)
    loss = model.history["loss"]
    assert len(loss) == 300 and loss[-1] < 0.25 * loss[0]
    assert loss[0] == pytest.approx(math.log(3), rel=0.2)  # a fresh network is nearly uniform
    assert not model.training
    with torch.no_grad():
        pred = model(x).argmax(1)
    kept = y_noisy == y_clean
    assert (pred[kept] == y_clean[kept]).float().mean() > 0.9


def test_history_adds_up_and_model_follows_dtype(data):
    x, y_noisy, _ = data
    beta = 0.5
    model = train_toy_classifier(x.double(), y_noisy, regularizer=lambda m, xb, logits: logits.pow(2).mean(),
                                 beta=beta, **FAST)
    assert all(p.dtype == torch.float64 for p in model.parameters())
    h = model.history
    assert set(h) == {"loss", "ce", "reg"} and all(len(v) == FAST["epochs"] for v in h.values())
    np.testing.assert_allclose(h["loss"], np.add(h["ce"], beta * np.asarray(h["reg"])), rtol=1e-12)


def test_regularizer_gets_the_clean_logits_and_is_called_after_warmup(data):
    x, y_noisy, _ = data
    calls = []

    def spy(model, xb, logits):
        assert logits.requires_grad
        torch.testing.assert_close(logits, model(xb))
        calls.append(xb.shape[0])
        return logits.pow(2).mean()

    epochs, warmup, batch = 6, 2, 64
    train_toy_classifier(x, y_noisy, regularizer=spy, epochs=epochs, warmup=warmup, batch_size=batch,
                         hidden=(8,))
    per_epoch = math.ceil(len(x) / batch)
    assert len(calls) == (epochs - warmup) * per_epoch
    assert sum(calls) == (epochs - warmup) * len(x)
    calls.clear()
    train_toy_classifier(x, y_noisy, regularizer=spy, beta=0.0, epochs=3, hidden=(8,))
    assert calls == []


def test_regularizer_gradient_reaches_the_parameters(data):
    """One full-batch Adam step from the seeded initialisation, redone by hand."""
    x, y_noisy, _ = data
    lr, beta, seed = 1e-3, 3.0, 5

    def reg(model, xb, logits):
        return torch.sigmoid(model(xb + 0.1)).mean() + logits[:, 0].mean()

    trained = train_toy_classifier(x, y_noisy, regularizer=reg, beta=beta, epochs=1, lr=lr,
                                   hidden=(8,), seed=seed)
    plain = train_toy_classifier(x, y_noisy, epochs=1, lr=lr, hidden=(8,), seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        ref = MLP(2, 3, (8,))
    logits = ref(x)
    loss = F.cross_entropy(logits, y_noisy) + beta * reg(ref, x, logits)
    grads = torch.autograd.grad(loss, list(ref.parameters()))
    for p0, g, p1, p_plain in zip(ref.parameters(), grads, trained.parameters(), plain.parameters()):
        # Adam's first step is lr * g / (|g| + eps) with its bias corrections
        expected = p0 - lr * g / (g.abs() + 1e-8)
        torch.testing.assert_close(p1, expected, rtol=0, atol=1e-6)
    assert not all(torch.equal(a, b) for a, b in zip(trained.parameters(), plain.parameters()))


def test_training_with_vat_regularizer(data):
    x, y_noisy, _ = data
    model = train_toy_classifier(
        x, y_noisy, regularizer=functools.partial(vat_loss, divergence="kl", eps=0.2), beta=1.0, **FAST
    )
    assert all(r > 0 and math.isfinite(r) for r in model.history["reg"])


def test_minibatches_are_seeded_and_differ_from_full_batch(data):
    x, y_noisy, _ = data
    a = train_toy_classifier(x, y_noisy, batch_size=50, **FAST)
    b = train_toy_classifier(x, y_noisy, batch_size=50, **FAST)
    full = train_toy_classifier(x, y_noisy, **FAST)
    assert torch.equal(_first_layer_weight(a), _first_layer_weight(b))
    assert not torch.equal(_first_layer_weight(a), _first_layer_weight(full))


def test_progress_bar_goes_to_stderr(data, capsys):
    x, y_noisy, _ = data
    train_toy_classifier(x, y_noisy, epochs=2, hidden=(4,), progress=True)
    assert "training" in capsys.readouterr().err
    train_toy_classifier(x, y_noisy, epochs=2, hidden=(4,))
    assert capsys.readouterr().err == ""


def test_numpy_inputs_are_accepted(data):
    x, y_noisy, _ = data
    a = train_toy_classifier(x.numpy(), y_noisy.numpy(), epochs=3, hidden=(4,))
    b = train_toy_classifier(x, y_noisy, epochs=3, hidden=(4,))
    assert torch.equal(_first_layer_weight(a), _first_layer_weight(b))


X_OK = torch.zeros(4, 2)
Y_OK = torch.tensor([0, 1, 2, 0])


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        (([[0.0, 0.0]], Y_OK), {}, TypeError, "x must be"),
        ((torch.zeros(4, 2, dtype=torch.int64), Y_OK), {}, ValueError, "x must be a non-empty floating"),
        ((torch.zeros(4), Y_OK), {}, ValueError, r"shape \(N, d\)"),
        ((torch.tensor([[0.0, float("nan")]] * 4), Y_OK), {}, ValueError, "x must be finite"),
        ((X_OK, Y_OK.float()), {}, TypeError, "y must hold integer"),
        ((X_OK, Y_OK[:3]), {}, ValueError, r"y must have shape \(N,\)"),
        ((X_OK, torch.tensor([0, -1, 2, 0])), {}, ValueError, "y must hold class indices >= 0"),
        ((X_OK, Y_OK), {"num_classes": 2}, ValueError, "num_classes=2"),
        ((X_OK, Y_OK), {"num_classes": 1}, ValueError, "num_classes"),
        ((X_OK, Y_OK), {"regularizer": "vat"}, TypeError, "regularizer"),
        ((X_OK, Y_OK), {"beta": -1.0}, ValueError, "beta"),
        ((X_OK, Y_OK), {"beta": float("nan")}, ValueError, "beta"),
        ((X_OK, Y_OK), {"beta": True}, TypeError, "beta"),
        ((X_OK, Y_OK), {"epochs": 0}, ValueError, "epochs"),
        ((X_OK, Y_OK), {"epochs": 2.0}, TypeError, "epochs"),
        ((X_OK, Y_OK), {"lr": 0.0}, ValueError, "lr"),
        ((X_OK, Y_OK), {"lr": float("inf")}, ValueError, "lr"),
        ((X_OK, Y_OK), {"seed": -1}, ValueError, "seed"),
        ((X_OK, Y_OK), {"warmup": -1}, ValueError, "warmup"),
        ((X_OK, Y_OK), {"batch_size": 0}, ValueError, "batch_size"),
        ((X_OK, Y_OK), {"progress": 1}, TypeError, "progress"),
        ((X_OK, Y_OK), {"hidden": (4, -1)}, ValueError, "hidden"),
    ],
)
def test_train_rejects_bad_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train_toy_classifier(*args, epochs=kwargs.pop("epochs", 1), **kwargs)


@pytest.mark.parametrize(
    "regularizer, match",
    [
        (lambda m, x, logits: logits.pow(2).mean(1), "scalar"),
        (lambda m, x, logits: 1.0, "scalar"),
        (lambda m, x, logits: logits.sum() * float("nan"), "finite"),
    ],
)
def test_train_rejects_bad_regularizer_values(regularizer, match):
    with pytest.raises(ValueError, match=f"regularizer must return a {match}"):
        train_toy_classifier(X_OK, Y_OK, regularizer=regularizer, epochs=1)


def test_train_stops_on_a_diverging_loss():
    with pytest.raises(ValueError, match="non-finite"):
        train_toy_classifier(X_OK, Y_OK, regularizer=lambda m, x, logits: logits.sum() * 1e38, beta=1e38, epochs=1)


# ----------------------------------------------------------------------------- scores
def test_scores_of_the_oracle_and_of_a_constant_classifier(data):
    x, y_noisy, y_clean = data

    def oracle(u):
        return F.one_hot(y_clean, 3).float()

    def always_red(u):
        return F.one_hot(torch.zeros(len(u), dtype=torch.long), 3).float()

    def always_black(u):
        return F.one_hot(torch.full((len(u),), 2), 3).float()

    assert toy_scores(oracle, x, y_noisy, y_clean) == {"accuracy": 1.0, "red_orange": 1.0, "black": 1.0,
                                                       "noisy_to_red": 1.0, "red_orange_to_black": 0.0}
    n, m = SMALL["n_per_class"], SMALL["n_noisy"]
    scores = toy_scores(always_red, x, y_noisy, y_clean)
    assert scores == pytest.approx({"accuracy": (n + m) / (3 * n + m), "red_orange": 0.5, "black": 0.0,
                                    "noisy_to_red": 1.0, "red_orange_to_black": 0.0})
    scores = toy_scores(always_black, x, y_noisy, y_clean)
    assert scores == pytest.approx({"accuracy": n / (3 * n + m), "red_orange": 0.0, "black": 1.0,
                                    "noisy_to_red": 0.0, "red_orange_to_black": 1.0})


def test_scores_reject_bad_input(data):
    x, y_noisy, y_clean = data
    model = MLP()
    with pytest.raises(ValueError, match="y_noisy must differ from y_clean"):
        toy_scores(model, x, y_clean, y_clean)
    with pytest.raises(ValueError, match="shapes"):
        toy_scores(model, x, y_noisy[:-1], y_clean)
    with pytest.raises(TypeError, match="model must be"):
        toy_scores("mlp", x, y_noisy, y_clean)
    with pytest.raises(TypeError, match="x must be"):
        toy_scores(model, x.tolist(), y_noisy, y_clean)


def test_wat_loss_plugs_in_through_partial(data):
    x, y_noisy, _ = data
    model = train_toy_classifier(
        x, y_noisy, regularizer=functools.partial(wat_loss, C=toy_cost(), ot=OTSettings(reg=0.1, max_iter=20_000, tol=1e-4), eps=0.2),
        beta=1.0,
        epochs=3, hidden=(8,),
    )
    assert all(r > 0 and math.isfinite(r) for r in model.history["reg"])


def test_unconverged_ot_in_training_is_reported_once_not_per_step():
    import warnings
    from functools import partial

    from watlib.adversarial import wat_loss
    from watlib.ot import ConvergenceWarning

    x, y_noisy, _ = make_toy_data(n_per_class=20, n_noisy=2, seed=0)
    reg = partial(wat_loss, C=toy_cost(dtype=x.dtype), ot=OTSettings(reg=0.05, max_iter=2, tol=0.0), eps=0.2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_toy_classifier(x, y_noisy, regularizer=reg, epochs=5, hidden=(8,), seed=0)
    folded = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(folded) == 1 and "train_toy_classifier" in str(folded[0].message)
    # 5 steps; the direction search's OT (between two nearly equal predictions, a kernel close to
    # the identity at C / reg = 100) meets the threshold in 2 iterations, the loss's does not
    assert "unconverged 5 time(s)" in str(folded[0].message)


# ----------------------------------------------------------------------------- converged WAT, several draws
def test_training_records_the_ot_diagnostics_per_epoch():
    x, y_noisy, _ = make_toy_data(n_per_class=20, n_noisy=2, seed=0)
    R = toy.toy_regularizer("wat", eps=0.2, C=toy_cost(dtype=torch.float64), ot=TRAIN_OT.replace(reg=0.1))
    model = train_toy_classifier(x.double(), y_noisy, regularizer=R, epochs=5, warmup=2, hidden=(8,), seed=0)
    h = model.history
    assert set(h) == {"loss", "ce", "reg", "ot_violation_max", "ot_iterations_mean", "ot_iterations_max"}
    assert all(len(v) == 5 for v in h.values())
    assert all(math.isnan(h[k][e]) for k in toy._OT_KEYS for e in range(2))
    from watlib.ot import TRAIN_MAX_ITER, WARN_VIOLATION
    assert all(0 <= v <= WARN_VIOLATION for v in h["ot_violation_max"][2:])
    assert all(1 <= m <= M <= TRAIN_MAX_ITER for m, M in zip(h["ot_iterations_mean"][2:], h["ot_iterations_max"][2:]))
    # the same training without diagnostics has the same loss: returning them changes nothing else
    plain = train_toy_classifier(x.double(), y_noisy, regularizer=lambda m, xb, logits: R(m, xb, logits=logits)[0],
                                 epochs=5, warmup=2, hidden=(8,), seed=0)
    assert plain.history["loss"] == h["loss"] and set(plain.history) == {"loss", "ce", "reg"}


def test_regularizer_returning_a_bad_pair_is_rejected(data):
    x, y_noisy, _ = data
    with pytest.raises(ValueError, match="SinkhornDiagnostics"):
        train_toy_classifier(x, y_noisy, regularizer=lambda m, xb, logits: (logits.mean(), 3), epochs=1, hidden=(4,))


def test_toy_regularizer_builds_each_kind():
    C = toy_cost()
    assert toy.toy_regularizer("cce", eps=0.2) is None
    for kind in ("kl", "l2", "tv"):
        R = toy.toy_regularizer(kind, eps=0.3)
        assert R.func is vat_loss and R.keywords == {"divergence": kind, "eps": 0.3}
    R = toy.toy_regularizer("wat", eps=0.2, C=C, ot=TRAIN_OT.replace(reg=0.05))
    from watlib.ot import TRAIN_GRAD, TRAIN_MAX_ITER, TRAIN_TOL
    assert R.func is wat_loss
    assert R.keywords["ot"] == TRAIN_OT.replace(reg=0.05) and R.keywords["C"] is C
    assert (R.keywords["ot"].max_iter, R.keywords["ot"].tol, R.keywords["ot"].grad) == (
        TRAIN_MAX_ITER, TRAIN_TOL, TRAIN_GRAD)
    assert R.keywords["return_diagnostics"] is True
    assert toy.toy_regularizer("wat", eps=0.2, C=C).keywords["ot"] is TRAIN_OT  # training's by default
    with pytest.raises(TypeError, match="ot must be a watlib.OTSettings"):
        toy.toy_regularizer("wat", eps=0.2, C=C, ot={"reg": 0.05})


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        (("vat",), {"eps": 0.2}, ValueError, "kind"),
        (("wat",), {"eps": 0.2}, ValueError, "needs the ground cost"),
        (("kl",), {"eps": 0.2, "C": torch.ones(3, 3)}, ValueError, "C is the ground cost of WAT only"),
        (("kl",), {"eps": 0.0}, ValueError, "eps"),
    ],
)
def test_toy_regularizer_rejects_bad_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        toy.toy_regularizer(*args, **kwargs)


DRAW_KW = dict(n_per_class=20, n_noisy=3, epochs=6, warmup=3, hidden=(8,))


def test_draws_give_one_row_per_run_and_draw_and_match_single_trainings():
    runs = {"CCE": None, "KL, β=2": {"regularizer": toy.toy_regularizer("kl", eps=0.2), "beta": 2.0}}
    scores, models = toy.train_toy_draws(runs, draws=[2, 0], return_models=True, **DRAW_KW)
    assert list(zip(scores["run"], scores["draw"])) == [("CCE", 2), ("CCE", 0), ("KL, β=2", 2), ("KL, β=2", 0)]
    assert set(models) == {("CCE", 2), ("CCE", 0), ("KL, β=2", 2), ("KL, β=2", 0)}
    assert list(scores.columns) == ["run", "draw", "accuracy", "red_orange", "black", "noisy_to_red",
                                    "red_orange_to_black", "ot_violation_max", "ot_iterations_mean",
                                    "ot_iterations_max", "seconds"]
    # draw d is make_toy_data(seed=d) in float64 and train_toy_classifier(seed=d), with the run's own beta
    x, y_noisy, y_clean = make_toy_data(n_per_class=20, n_noisy=3, seed=2)
    kw = {k: DRAW_KW[k] for k in ("epochs", "warmup", "hidden")}
    alone = train_toy_classifier(x.double(), y_noisy, regularizer=toy.toy_regularizer("kl", eps=0.2), beta=2.0,
                                 seed=2, **kw)
    assert alone.history == models[("KL, β=2", 2)].history
    row = scores[(scores["run"] == "KL, β=2") & (scores["draw"] == 2)].iloc[0]
    assert row[["accuracy", "noisy_to_red"]].tolist() == [toy_scores(alone, x.double(), y_noisy, y_clean)[k]
                                                         for k in ("accuracy", "noisy_to_red")]
    assert scores["ot_violation_max"].isna().all() and (scores["seconds"] > 0).all()
    # two draws differ in data and initialisation
    assert models[("CCE", 0)].history != models[("CCE", 2)].history


def test_draws_summarise_the_ot_diagnostics_of_wat():
    runs = {"WAT": toy.toy_regularizer("wat", eps=0.2, C=toy_cost(dtype=torch.float64), ot=TRAIN_OT.replace(reg=0.1))}
    scores, models = toy.train_toy_draws(runs, draws=1, return_models=True, **DRAW_KW)
    h = models[("WAT", 0)].history
    row = scores.iloc[0]
    assert row["ot_violation_max"] == max(h["ot_violation_max"][3:])
    assert row["ot_iterations_max"] == max(h["ot_iterations_max"][3:])
    assert row["ot_iterations_mean"] == pytest.approx(np.mean(h["ot_iterations_mean"][3:]))


def test_draws_name_the_run_in_convergence_warnings():
    import warnings

    from watlib.ot import ConvergenceWarning

    R = functools.partial(wat_loss, C=toy_cost(dtype=torch.float64), ot=OTSettings(reg=0.05, max_iter=2, tol=0.0), eps=0.2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        toy.train_toy_draws({"short WAT": R}, draws=2, **DRAW_KW)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 2 and messages[0].startswith("short WAT, draw 0: train_toy_classifier")
    assert messages[1].startswith("short WAT, draw 1: ")


@pytest.mark.parametrize(
    "runs, kwargs, exc, match",
    [
        ({}, {}, ValueError, "non-empty mapping"),
        ({"a": None}, {"draws": 0}, ValueError, "draws"),
        ({"a": None}, {"draws": [1, 1]}, ValueError, "distinct"),
        ({"a": None}, {"seed": 3}, ValueError, "seed"),
        ({"a": None}, {"dtype": torch.int64}, TypeError, "dtype"),
        ({"a": "kl"}, {}, TypeError, r"runs\['a'\]"),
        ({"a": {"beta": 1.0}}, {}, ValueError, "regularizer"),
        ({"a": {"regularizer": None, "seed": 1}}, {}, ValueError, "may not set"),
    ],
)
def test_draws_reject_bad_arguments(runs, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        toy.train_toy_draws(runs, **{"n_per_class": 5, "n_noisy": 1, "epochs": 1, **kwargs})


def test_summarize_draws_gives_mean_and_sample_std():
    import pandas as pd

    scores = pd.DataFrame({"run": ["b", "b", "b", "a"], "draw": [0, 1, 2, 0], "x": [1.0, 2.0, 3.0, 0.5],
                           "ot": [np.nan, np.nan, np.nan, 0.25]})
    table = toy.summarize_draws(scores, ["x", "ot"], digits=2)
    assert list(table.index) == ["b", "a"]
    assert table.loc["b", "x"] == "2.00 ± 1.00" and table.loc["a", "x"] == "0.50"
    assert table.loc["b", "ot"] == "–" and table.loc["a", "ot"] == "0.25"
    with pytest.raises(ValueError, match="no column"):
        toy.summarize_draws(scores, ["accuracy"])
