"""OTSettings: one frozen, validated home for reg and the solver settings of WAT's OT solves."""

import dataclasses

import pytest
import torch

from watlib import ot as wot
from watlib import paper
from watlib.methods import make_method
from watlib.ot_settings import RELEASED_OT, TRAIN_OT, OTSettings
from watlib.train import make_config
from watlib.train_segmentation import make_segmentation_config


def test_the_two_default_sets_are_the_library_and_the_training_constants():
    assert OTSettings() == OTSettings(reg=paper.REG, solver="sinkhorn", max_iter=wot.MAX_ITER, tol=wot.TOL, grad=None)
    assert TRAIN_OT == OTSettings(solver=wot.TRAIN_SOLVER, max_iter=wot.TRAIN_MAX_ITER, tol=wot.TRAIN_TOL,
                                  grad=wot.TRAIN_GRAD)
    cfg = make_config("fashion_mnist", 0.4, "watc", preset="cpu")
    assert cfg.ot == TRAIN_OT  # a run's configuration defaults to training's settings
    assert make_segmentation_config("wat", preset="cpu").ot == TRAIN_OT


def test_settings_are_frozen_and_every_change_is_checked_again():
    s = OTSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.tol = 0.0
    assert s.replace(tol=0) == OTSettings(tol=0.0) and s.replace(tol=0).tol == 0.0  # stored as float
    with pytest.raises(ValueError, match="reg must be a finite number > 0, got 0"):
        s.replace(reg=0)
    with pytest.raises(ValueError, match="grad must be 'implicit' with solver='newton', got 'unrolled'"):
        OTSettings(solver="newton").replace(grad="unrolled")
    with pytest.raises(ValueError, match="solver must be one of"):
        OTSettings(solver="lbfgs")
    with pytest.raises(TypeError, match="max_iter must be an int"):
        OTSettings(max_iter=2.5)
    assert hash(s) == hash(OTSettings())  # usable as a key


@pytest.mark.parametrize("solver, grad, expected", [
    ("sinkhorn", None, ("sinkhorn", "unrolled")),
    ("newton", None, ("newton", "implicit")),
    ("auto", None, ("newton", "implicit")),
    ("auto", "unrolled", ("sinkhorn", "unrolled")),
])
def test_resolved_settings_are_what_runs(solver, grad, expected):
    r = OTSettings(solver=solver, grad=grad, tol=1e-6).resolved(10, 10)
    assert (r.solver, r.grad) == expected
    assert (r.reg, r.max_iter, r.tol) == (paper.REG, wot.MAX_ITER, 1e-6)
    assert OTSettings(solver="auto", tol=1e-6).resolved(200, 200).solver == "sinkhorn"  # choose_solver's rule


def test_keywords_give_the_same_solve_as_the_keyword_form_of_ot_loss():
    g = torch.Generator().manual_seed(0)
    a = torch.softmax(torch.randn(4, 5, generator=g, dtype=torch.float64), -1)
    b = torch.softmax(torch.randn(4, 5, generator=g, dtype=torch.float64), -1)
    C = torch.rand(5, 5, generator=g, dtype=torch.float64)
    s = OTSettings(reg=0.1, solver="newton", max_iter=50, tol=1e-9)
    torch.testing.assert_close(wot.ot_loss(a, b, C, **s.keywords()),
                               wot.ot_loss(a, b, C, reg=0.1, solver="newton", max_iter=50, tol=1e-9))


def test_a_configuration_hands_its_settings_to_the_method_and_checks_them_once_made():
    cfg = make_config("fashion_mnist", 0.4, "wat01", preset="cpu", ot_solver="newton", tol=1e-6, max_iter=80,
                      reg=0.1)
    assert cfg.ot == OTSettings(reg=0.1, solver="newton", max_iter=80, tol=1e-6, grad=wot.TRAIN_GRAD)
    method = make_method("wat01", cost=torch.ones(10, 10) - torch.eye(10), ot=cfg.ot)
    assert method.ot is not None and method.ot == cfg.ot
    with pytest.raises(ValueError, match="max_iter must be an int >= 1, got 0"):
        make_config("fashion_mnist", 0.4, "wat01", preset="cpu", max_iter=0)
    with pytest.raises(ValueError, match="reg must be a finite number > 0"):
        make_segmentation_config("wat", preset="cpu", reg=-1.0)
    with pytest.raises(TypeError, match="ot must be a watlib.OTSettings, got dict"):
        make_method("wat01", cost=torch.ones(3, 3), ot={"reg": 0.1})


def _pairs(scale, n=128, K=10):
    g = torch.Generator().manual_seed(3)
    logits = 2 * torch.randn(n, K, generator=g, dtype=torch.float64)
    return logits.softmax(1), (logits + scale * torch.randn(n, K, generator=g, dtype=torch.float64)).softmax(1)


def test_a_solve_against_itself_or_run_to_convergence_keeps_the_whole_loss_and_gradient():
    import warnings

    from watlib.costs import zero_one_cost
    from watlib.ot_settings import SolveShare, share_of_reference_solve

    a, b = _pairs(0.5)
    C = zero_one_cost(10, dtype=torch.float64)
    same = share_of_reference_solve(a, b, C, TRAIN_OT)
    assert isinstance(same, SolveShare)
    assert same.loss == 1.0 and same.gradient == 1.0 and same.cosine == pytest.approx(1.0, abs=1e-12)
    assert same.violation <= TRAIN_OT.tol
    # converged Sinkhorn with implicit gradients: the same optimum, the same gradient
    sinkhorn = OTSettings(solver="sinkhorn", max_iter=50_000, tol=1e-9, grad="implicit")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a converged solve warns of nothing
        far = share_of_reference_solve(a, b, C, sinkhorn)
    assert far.loss == pytest.approx(1.0, abs=1e-6) and far.gradient == pytest.approx(1.0, abs=1e-4)
    assert far.cosine == pytest.approx(1.0, abs=1e-6)


def test_twenty_iterations_keep_less_of_the_0_1_costs_regularizer_than_of_a_smaller_costs():
    import warnings

    from watlib.costs import zero_one_cost
    from watlib.ot_settings import share_of_reference_solve

    a, b = _pairs(0.1)
    C = zero_one_cost(10, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the measured solve's violation is returned, not warned of
        big = share_of_reference_solve(a, b, C, RELEASED_OT)
        small = share_of_reference_solve(a, b, 0.44 * C, RELEASED_OT)
    # exp(-1/0.05) off the diagonal: 20 iterations barely move mass; exp(-0.44/0.05) moves some
    assert big.loss < 0.05 and small.loss > 5 * big.loss and big.violation > small.violation > 1e-3
    assert 0 < big.gradient < small.gradient and -1 <= big.cosine <= 1


def test_the_share_of_a_solve_names_what_it_cannot_read():
    from watlib.costs import zero_one_cost
    from watlib.ot_settings import share_of_reference_solve

    a, _ = _pairs(0.1)
    C = zero_one_cost(10, dtype=torch.float64)
    with pytest.raises(TypeError, match="settings must be a watlib.OTSettings, got str: 'released'"):
        share_of_reference_solve(a, a, C, "released")
    with pytest.raises(TypeError, match="reference must be a watlib.OTSettings"):
        share_of_reference_solve(a, a, C, RELEASED_OT, reference=None)
    with pytest.raises(ValueError, match="must be nonzero to read a share"):  # a cost of zero: no loss at all
        share_of_reference_solve(a, a.flip(0), 0 * C, RELEASED_OT)
