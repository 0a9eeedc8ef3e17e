"""OTSettings: one frozen, validated home for reg and the solver settings of WAT's OT solves."""

import dataclasses

import pytest
import torch

from watlib import ot as wot
from watlib import paper
from watlib.methods import make_method
from watlib.ot_settings import TRAIN_OT, OTSettings
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
