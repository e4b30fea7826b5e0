import numpy as np
import pytest
from hypothesis import given
from oracles import bracketing_cost, textbook_dp_cost

import jacchain as jc
from jacchain.chains.steps import forward_steps, reverse_steps
from jacchain.solvers import SOLVERS, register_solver
from jacchain.testing import dims_lists


def test_issue_example_mixed_plan():
    p = jc.plan([1000, 10, 1000, 10, 1000])
    assert (p.cost, p.forward_cost, p.reverse_cost) == (10_200_000, 30_000_000, 30_000_000)
    assert p.mode == "mixed"
    assert p.speedup == pytest.approx(30 / 10.2)
    assert p.dims == (1000, 10, 1000, 10, 1000)
    assert p.shape == (1000, 1000)


def test_steps_name_segments_shapes_and_costs():
    p = jc.plan([1000, 10, 1000, 10, 1000])
    steps = list(p.steps)
    assert [s.index for s in steps] == [1, 2, 3]
    assert sum(s.cost for s in steps) == p.cost
    last = steps[-1]
    assert last.result == jc.Segment(1, 4)
    assert last.shape == (1000, 1000)
    assert all(s.operation == "product" for s in steps)
    for s in steps:
        assert s.left.first == s.right.last + 1
        assert s.shape == (p.dims[s.left.last], p.dims[s.right.first - 1])
        assert s.cost == p.dims[s.left.last] * p.dims[s.right.last] * p.dims[s.right.first - 1]
    assert p.steps[-1] == last
    assert p.steps[0:2] == steps[:2]
    with pytest.raises(IndexError):
        p.steps[3]
    assert p.largest_intermediate == max(a * b for a, b in (s.shape for s in steps))


def test_expression_of_pure_and_mixed_modes():
    assert jc.plan([2, 3, 4, 5], "forward").expression == "J3 (J2 J1)"
    assert jc.plan([2, 3, 4, 5], "reverse").expression == "(J3 J2) J1"
    assert jc.plan([2, 3]).expression == "J1"
    halves = np.array([[0, 1, 1, 2], [0, 3, 3, 4], [0, 1, 2, 4]])
    p = jc.Plan.from_steps(jc.Chain.from_dims([50, 2, 50, 2, 50]), halves)
    assert p.expression == "(J4 J3) (J2 J1)"
    assert p.mode == "mixed"


def test_a_registered_solver_is_subject_to_the_tie_rule():
    halves = np.array([[0, 1, 1, 2], [0, 3, 3, 4], [0, 1, 2, 4]])
    register_solver("halves", lambda chain, memory_limit: halves)
    try:
        assert jc.plan([2, 50, 2, 50, 2], method="halves").expression == "(J4 J3) (J2 J1)"
        # Here forward mode is cheaper than the solver's bracketing, so it replaces it.
        assert jc.plan([50, 2, 50, 2, 50], method="halves").mode == "forward"
    finally:
        del SOLVERS["halves"]


def test_tie_rule_prefers_forward_then_reverse():
    # All-equal dims: every bracketing costs the same, so forward must be chosen.
    p = jc.plan([5, 5, 5, 5, 5])
    assert p.mode == "forward" and np.array_equal(p.step_array, forward_steps(4))
    # Narrow output: reverse is optimal, forward is not.
    p = jc.plan([784, 512, 512, 10, 1])
    assert p.mode == "reverse" and np.array_equal(p.step_array, reverse_steps(4))
    # Narrow input: forward is optimal.
    assert jc.plan([1, 10, 512, 512, 784]).mode == "forward"


@given(dims_lists(max_layers=9, max_dim=30))
def test_tie_rule_holds_on_random_chains(dims):
    optimum = textbook_dp_cost(dims)
    forward = dims[0] * sum(a * b for a, b in zip(dims[1:], dims[2:], strict=False))
    reverse = dims[-1] * sum(a * b for a, b in zip(dims, dims[1:-1], strict=False))
    for method in ("auto", "dp", "hu-shing"):
        p = jc.plan(dims, method)
        assert (p.forward_cost, p.reverse_cost) == (forward, reverse)
        assert p.cost == bracketing_cost(dims, p.step_array) == optimum, method
        if forward == optimum:
            assert p.mode == "forward", method
            assert np.array_equal(p.step_array, forward_steps(len(dims) - 1))
        elif reverse == optimum:
            assert p.mode == "reverse", method
            assert np.array_equal(p.step_array, reverse_steps(len(dims) - 1))
        else:
            assert p.mode == "mixed", method
            assert p.cost < min(forward, reverse)


@given(dims_lists(max_layers=9, max_dim=30))
def test_no_method_but_a_pure_one_costs_more_than_the_cheaper_pure_mode(dims):
    for method in ("auto", "dp", "hu-shing", "approx"):
        p = jc.plan(dims, method)
        assert p.cost == bracketing_cost(dims, p.step_array)
        assert p.cost <= min(p.forward_cost, p.reverse_cost), method
    assert jc.plan(dims, "forward").cost == jc.plan(dims).forward_cost
    assert jc.plan(dims, "reverse").cost == jc.plan(dims).reverse_cost


def test_short_chains():
    one = jc.plan([7, 3])
    assert (one.cost, one.mode, len(one.steps), one.largest_intermediate) == (0, "forward", 0, 0)
    assert one.speedup == 1.0
    two = jc.plan([7, 3, 5])
    assert two.mode == "forward" and two.cost == 105
    assert jc.plan([7, 3, 5], "reverse").mode == "forward"


def test_pure_methods_are_returned_as_asked():
    dims = [1000, 10, 1000, 10, 1000]
    assert jc.plan(dims, "forward").mode == "forward"
    assert jc.plan(dims, "reverse").mode == "reverse"
    assert jc.plan([5, 5, 5, 5], "reverse").mode == "reverse"
    assert jc.plan(dims, "forward").speedup == 1.0


def test_unknown_method_lists_valid_names():
    with pytest.raises(
        jc.MethodError, match="'approx'.*'auto'.*'dp'.*'forward'.*'hu-shing'.*'reverse'"
    ):
        jc.plan([3, 4, 5], method="fastest")


def test_plan_is_immutable_and_hashable():
    p = jc.plan([3, 4, 5, 6])
    with pytest.raises(AttributeError):
        p.cost = 0
    with pytest.raises(ValueError):
        p.step_array[0, 1] = 2
    assert p == jc.plan(jc.Chain.from_dims([3, 4, 5, 6]))
    assert hash(p) == hash(jc.plan([3, 4, 5, 6]))
    assert p != jc.plan([3, 4, 5, 6], "reverse")


def test_report_and_describe():
    p = jc.plan([1000, 10, 1000, 10, 1000])
    text = str(p)
    for needle in (
        "1000 -> 10 -> 1000",
        "30,000,000",
        "10,200,000",
        "(mixed)",
        "2.94x",
        "largest intermediate",
        "step",
        "J4..J2",
        "FLOPs are 2x",
    ):
        assert needle in text
    assert len(text.splitlines()) == 10 + 3 + 3
    line = p.describe()
    assert "\n" not in line and "mixed" in line and "10,200,000" in line
    assert "k=4" in repr(p)


def test_report_of_a_long_chain_is_truncated():
    p = jc.plan([4, 9] * 150 + [4])
    text = p.report(max_rows=10)
    assert "steps omitted" in text
    assert len(text.splitlines()) < 40
    assert "more" in text.splitlines()[1]


def test_report_of_one_layer():
    assert "no products" in str(jc.plan([3, 4]))
