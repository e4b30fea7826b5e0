import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jacchain as jc
from jacchain.solvers.approx import APPROX_BOUND, approx_steps
from jacchain.solvers.bracketing import check_steps
from jacchain.testing import dims_lists, exhaustive_optimum, plain_product, random_jacobians


def within_bound(cost: int, optimum: int) -> bool:
    # cost <= (2 / sqrt(3)) * optimum, checked exactly: 3 cost^2 <= 4 optimum^2.
    return 3 * cost * cost <= 4 * optimum * optimum


@given(dims_lists(max_layers=8, max_dim=12))
def test_approx_within_its_bound_of_exhaustive_optimum(dims):
    approx = jc.plan(dims, "approx")
    assert within_bound(approx.cost, exhaustive_optimum(dims))
    assert check_steps(len(dims) - 1, approx.step_array) is None


@given(dims_lists(min_layers=2, max_layers=300, max_dim=10**6))
def test_approx_within_its_bound_on_long_chains(dims):
    chain = jc.Chain.from_dims(dims)
    raw = jc.Plan.from_steps(chain, approx_steps(chain)).cost
    optimum = jc.plan(chain, "hu-shing").cost
    assert optimum <= raw
    assert within_bound(raw, optimum)


@pytest.mark.parametrize(
    "dims",
    [[1, 1, 2, 2, 1], [1, 1, 2, 2, 1, 1], [2, 3, 3, 2, 3], [5, 5, 5, 5, 5, 5], [1, 10**9, 1]],
)
def test_approx_on_small_adversarial_polygons(dims):
    chain = jc.Chain.from_dims(dims)
    raw = jc.Plan.from_steps(chain, approx_steps(chain)).cost
    assert within_bound(raw, exhaustive_optimum(dims))


def test_the_bound_constant():
    assert pytest.approx(4.0) == 3 * APPROX_BOUND**2


@given(dims_lists(max_layers=8, max_dim=10), st.integers(0, 2**31))
def test_approx_plan_evaluates_to_the_plain_product(dims, seed):
    Js = random_jacobians(dims, seed)
    np.testing.assert_allclose(
        jc.plan(dims, "approx").evaluate(Js), plain_product(Js), rtol=1e-10, atol=1e-12
    )


def test_approx_is_never_worse_than_pure_modes_after_the_tie_rule():
    rng = np.random.default_rng(5)
    for _ in range(200):
        dims = rng.integers(1, 50, rng.integers(2, 12))
        p = jc.plan(dims, "approx")
        assert p.cost <= min(p.forward_cost, p.reverse_cost)
