import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracles import bracketing_cost, brute_force_cost, textbook_dp_cost

import jacchain as jc
from jacchain.chains.steps import forward_steps, reverse_steps, steps_from_splits
from jacchain.chains.validate import check_steps
from jacchain.solvers import SOLVERS, get_solver, register_solver
from jacchain.solvers.dp import dp_steps, dp_table
from jacchain.testing import dims_lists, enumerate_bracketings, exhaustive_optimum


@given(dims_lists(max_layers=8, max_dim=40))
def test_dp_equals_brute_force_over_every_bracketing(dims):
    best = brute_force_cost(dims)
    for method in ("dp", "auto", "hu-shing"):
        p = jc.plan(dims, method)
        assert p.cost == bracketing_cost(dims, p.step_array) == best, method
    assert exhaustive_optimum(dims) == best  # the public helper agrees


@given(dims_lists(max_layers=25, max_dim=10**5))
def test_optimal_is_no_worse_than_pure_modes(dims):
    p = jc.plan(dims)
    assert p.cost <= p.forward_cost
    assert p.cost <= p.reverse_cost
    assert p.cost == textbook_dp_cost(dims)


@given(dims_lists(min_layers=2, max_layers=10, max_dim=60))
def test_dp_steps_form_a_bracketing_whose_cost_is_the_table_optimum(dims):
    chain = jc.Chain.from_dims(dims)
    steps = dp_steps(chain)
    assert check_steps(len(chain), steps) is None
    cost = dp_table(chain.dims_array).cost
    assert jc.Plan.from_steps(chain, steps).cost == cost
    assert bracketing_cost(dims, steps) == cost == textbook_dp_cost(dims)


@given(
    st.lists(st.integers(min_value=10**6, max_value=10**9), min_size=3, max_size=12),
)
def test_dp_is_exact_when_costs_exceed_int64(dims):
    # (k-1) * max^3 is beyond 2**62 here, so the table falls back to Python ints.
    p = jc.plan(dims, "dp")
    assert p.cost == textbook_dp_cost(dims)
    assert isinstance(p.cost, int)


def test_dp_exactness_where_float64_would_tie():
    # Two bracketings whose costs differ by 1 multiply-add around 1e21: float64 cannot tell
    # them apart, the exact planner must.
    big = 10**7
    dims = [big, big + 1, big, big + 1]
    assert jc.plan(dims).cost == textbook_dp_cost(dims)
    assert jc.plan(dims).cost == brute_force_cost(dims)


def test_pure_bracketings():
    assert forward_steps(1).shape == (0, 4)
    assert reverse_steps(1).shape == (0, 4)
    assert np.array_equal(forward_steps(2), reverse_steps(2))
    for k in range(1, 9):
        assert check_steps(k, forward_steps(k)) is None
        assert check_steps(k, reverse_steps(k)) is None


@pytest.mark.parametrize("k", range(1, 8))
def test_every_enumerated_bracketing_is_valid_and_distinct(k):
    seen = {steps.tobytes() for steps in enumerate_bracketings(k)}
    catalan = [1, 1, 2, 5, 14, 42, 132][k - 1]
    assert len(seen) == catalan
    for steps in enumerate_bracketings(k):
        assert check_steps(k, steps) is None


def test_check_steps_rejects_broken_bracketings():
    assert "unfinished" in check_steps(3, forward_steps(2))
    assert "accumulated" in check_steps(3, np.array([[0, 1, 1, 2], [0, 1, 1, 3]]))
    assert "outside" in check_steps(3, np.array([[0, 1, 1, 2], [0, 1, 3, 3]]))
    assert "not allowed" in check_steps(2, np.array([[9, 1, 1, 2]]))
    assert "not allowed" in check_steps(2, np.array([[1, 1, 1, 2]]))
    assert "rows of 4" in check_steps(2, np.array([1, 1, 2]))


def test_steps_from_splits_handles_a_million_layers_without_recursion():
    steps = steps_from_splits(10**6, lambda lo, hi: hi - 1)
    assert np.array_equal(steps, forward_steps(10**6))


def test_registry_rejects_unknown_and_bad_names():
    with pytest.raises(
        jc.MethodError,
        match="valid methods: 'approx', 'auto', 'dp', 'forward', 'hu-shing', 'reverse'",
    ):
        get_solver("optimal-ish")
    with pytest.raises(jc.MethodError):
        get_solver(None)
    with pytest.raises(jc.MethodError):
        register_solver("", dp_steps)
    with pytest.raises(jc.MethodError):
        register_solver("x", 42)
    assert "x" not in SOLVERS
