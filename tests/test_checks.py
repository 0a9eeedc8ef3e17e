"""The shared validators (watlib._checks): one rule, one tolerance, one message, wherever a
value of their kind is checked."""

import numpy as np
import pytest
import torch

from watlib._checks import ROW_SUM_ATOL, check_row_stochastic
from watlib.costs import transition_cost
from watlib.methods import make_method
from watlib.noise import corrupt_labels


@pytest.mark.parametrize("bad, message", [
    ([[0.5, 0.5 + 2 * ROW_SUM_ATOL], [0.0, 1.0]], r"must be row-stochastic \(each row sums to 1 within 1e-06"),
    ([[1.1, -0.1], [0.0, 1.0]], r"must be non-negative, got \w+\[0, 1\] = -0.1"),
    ([[float("nan"), 1.0], [0.0, 1.0]], r"must be finite, got \w+\[0, 0\] = nan"),
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], r"must be a \w[\w ,()>=-]*matrix.*got shape \(2, 3\)"),
])
def test_every_check_of_a_transition_matrix_is_the_same_rule(bad, message):
    calls = {"T": lambda: corrupt_labels([0, 1], bad, seed=0),
             "transition": lambda: make_method("forward", transition=torch.tensor(bad)),
             "T ": lambda: transition_cost(bad)}
    for name, call in calls.items():
        with pytest.raises(ValueError, match=f"{name.strip()} {message}"):
            call()


def test_a_row_off_by_less_than_the_tolerance_passes_everywhere():
    T = np.array([[0.5, 0.5 + ROW_SUM_ATOL / 2], [0.25, 0.75]])
    assert check_row_stochastic("T", T).dtype == np.float64
    assert len(corrupt_labels([0, 1], T, seed=0)) == 2
    make_method("forward", transition=torch.tensor(T))
    assert transition_cost(T).shape == (2, 2)


def test_a_tensor_and_a_list_give_the_same_matrix_and_bad_types_a_type_error():
    T = [[0.6, 0.4], [0.0, 1.0]]
    np.testing.assert_array_equal(check_row_stochastic("T", torch.tensor(T, dtype=torch.float64)), check_row_stochastic("T", T))
    with pytest.raises(TypeError, match="T must hold real numbers, got dtype bool"):
        check_row_stochastic("T", [[True, False], [False, True]])
    with pytest.raises(ValueError, match="K >= 2"):
        check_row_stochastic("T", [[1.0]], min_size=2)


def test_ot_and_the_divergences_share_one_histogram_tolerance():
    # A half-precision histogram of K entries cannot sum to 1 closer than about K epsilons: the OT
    # marginals and the divergences' predictions accept and reject the same ones.
    from watlib._checks import histogram_sum_tol
    from watlib.adversarial import kl
    from watlib.ot import ot_loss

    K = 10
    tol = histogram_sum_tol(torch.float16, K)
    assert tol == K * torch.finfo(torch.float16).eps
    near = torch.full((1, K), 0.1, dtype=torch.float16)
    near[0, 0] += 0.003  # off by 3e-3: more than one epsilon, less than K
    far = torch.full((1, K), 0.1, dtype=torch.float16)
    far[0, 0] += 0.03
    C = (1 - torch.eye(K)).to(torch.float16)
    for p, ok in ((near, True), (far, False)):
        err = float((p.double().sum() - 1).abs())
        assert (err <= tol) is ok
        for check in (lambda: ot_loss(p, p, C, reg=0.5), lambda: kl(p, p)):
            if ok:
                check()
            else:
                with pytest.raises(ValueError, match="sum to 1"):
                    check()
