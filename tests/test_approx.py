import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracles import bracketing_cost, brute_force_cost, textbook_dp_cost

import jacchain as jc
from jacchain.chains.validate import check_steps
from jacchain.solvers.approx import APPROX_BOUND, approx_steps
from jacchain.testing import dims_lists, plain_product, random_jacobians


def within_bound(cost: int, optimum: int) -> bool:
    # cost <= (2 / sqrt(3)) * optimum, checked exactly: 3 cost^2 <= 4 optimum^2.
    return 3 * cost * cost <= 4 * optimum * optimum


def raw_approx_cost(dims):
    """The cost of Chin's bracketing itself, before the tie rule, costed independently."""
    return bracketing_cost(dims, approx_steps(jc.Chain.from_dims(dims)))


@given(dims_lists(max_layers=8, max_dim=12))
def test_approx_within_its_bound_of_the_brute_force_optimum(dims):
    optimum = brute_force_cost(dims)
    approx = jc.plan(dims, "approx")
    assert check_steps(len(dims) - 1, approx.step_array) is None
    assert approx.cost == bracketing_cost(dims, approx.step_array)
    assert optimum <= approx.cost <= min(approx.forward_cost, approx.reverse_cost)
    assert within_bound(approx.cost, optimum)
    assert within_bound(raw_approx_cost(dims), optimum)


@given(dims_lists(min_layers=2, max_layers=300, max_dim=10**6))
def test_approx_within_its_bound_on_long_chains(dims):
    raw = raw_approx_cost(dims)
    optimum = bracketing_cost(dims, jc.plan(dims, "hu-shing").step_array)
    assert optimum <= raw
    assert within_bound(raw, optimum)


@pytest.mark.parametrize(
    "dims",
    [[1, 1, 2, 2, 1], [1, 1, 2, 2, 1, 1], [2, 3, 3, 2, 3], [5, 5, 5, 5, 5, 5], [1, 10**9, 1]],
)
def test_approx_on_small_adversarial_polygons(dims):
    assert within_bound(raw_approx_cost(dims), brute_force_cost(dims))


def test_the_bound_constant():
    assert pytest.approx(4.0) == 3 * APPROX_BOUND**2


@given(dims_lists(max_layers=8, max_dim=10), st.integers(0, 2**31))
def test_approx_plan_evaluates_to_the_plain_product(dims, seed):
    Js = random_jacobians(dims, seed)
    np.testing.assert_allclose(
        jc.plan(dims, "approx").evaluate(Js), plain_product(Js), rtol=1e-10, atol=1e-12
    )


def check_cheapest_of_three(dims):
    """An inexact plan is the cheapest of forward, reverse and its own; ties go to forward."""
    p = jc.plan(dims, "approx")
    own = raw_approx_cost(dims)
    best = min(p.forward_cost, p.reverse_cost, own)
    assert p.cost == best, (dims, p.cost, p.forward_cost, p.reverse_cost, own)
    if p.forward_cost == best:
        assert p.mode == "forward", dims
    elif p.reverse_cost == best:
        assert p.mode == "reverse", dims
    assert within_bound(p.cost, textbook_dp_cost(dims))


def test_approx_returns_the_cheaper_pure_mode_not_just_the_first_one():
    # Chin's bracketing here costs 84, as much as forward mode; reverse mode costs 81 and
    # must win (a plan that stopped at "forward is no worse than mine" would cost 84).
    p = jc.plan([1, 4, 7, 7, 1], "approx")
    assert (p.forward_cost, p.reverse_cost) == (84, 81)
    assert raw_approx_cost([1, 4, 7, 7, 1]) == 84
    assert (p.cost, p.mode) == (81, "reverse")
    check_cheapest_of_three([1, 4, 7, 7, 1])


@given(dims_lists(max_layers=10, max_dim=50))
def test_approx_is_the_cheapest_of_forward_reverse_and_its_own(dims):
    check_cheapest_of_three(dims)


def test_approx_is_the_cheapest_of_three_on_seeded_chains():
    rng = np.random.default_rng(5)
    for _ in range(300):
        check_cheapest_of_three(rng.integers(1, 50, rng.integers(2, 12)).tolist())
