"""max_intermediate: the cheapest bracketing whose intermediates fit a bound, exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jacchain as jc
from jacchain.cli import main
from jacchain.errors import MethodError
from jacchain.solvers.bounded import intermediate_peak, smallest_bound
from jacchain.testing import dims_lists, enumerate_bracketings, plain_product, random_jacobians


def peak(plan):
    """Elements of the largest product of a plan but the last."""
    return max((step.shape[0] * step.shape[1] for step in list(plan.steps)[:-1]), default=0)


def exhaustive(dims, bound):
    """The least cost over every bracketing whose intermediates fit, by enumeration; and the
    least peak any bracketing has."""
    dims = np.asarray(dims)
    best, peaks = None, []
    for steps in enumerate_bracketings(len(dims) - 1):
        peak = intermediate_peak(dims, steps)
        peaks.append(peak)
        if peak <= bound:
            cost = jc.Plan.from_steps(jc.Chain.from_dims(dims.tolist()), steps, "dp").cost
            best = cost if best is None else min(best, cost)
    return best, min(peaks)


@settings(max_examples=60, deadline=None)
@given(dims=dims_lists(min_layers=1, max_layers=6, max_dim=40), share=st.floats(0, 1))
def test_the_bounded_plan_is_the_exhaustive_optimum_within_the_bound(dims, share):
    sizes = sorted({dims[j] * dims[i - 1] for i in range(1, len(dims)) for j in range(i, len(dims))})
    bound = sizes[int(share * (len(sizes) - 1))]
    expected, least = exhaustive(dims, bound)
    assert least == smallest_bound(jc.Chain.from_dims(dims))
    if expected is None:
        with pytest.raises(MethodError, match=f"smallest bound any bracketing meets is {least:,}"):
            jc.plan(dims, max_intermediate=bound)
        return
    plan = jc.plan(dims, max_intermediate=bound)
    assert plan.cost == expected >= jc.plan(dims).cost
    assert peak(plan) <= bound
    unbounded = jc.plan(dims)
    if peak(unbounded) <= bound:
        assert plan.cost == unbounded.cost


def test_a_bound_changes_the_plan_and_the_product_stays_right():
    dims = [10, 100, 2, 10, 1000]
    assert jc.plan(dims).expression == "(J4 J3) (J2 J1)"
    plan = jc.plan(dims, max_intermediate=100)
    assert plan.expression == "J4 (J3 (J2 J1))" and plan.cost == 102_200
    Js = random_jacobians(dims, np.random.default_rng(0))
    np.testing.assert_allclose(plan.evaluate(Js), plain_product(Js))


def test_bad_bounds_and_methods():
    with pytest.raises(MethodError, match="positive int"):
        jc.plan([2, 3, 4], max_intermediate=0)
    with pytest.raises(MethodError, match="'auto' or 'dp'"):
        jc.plan([2, 3, 4], max_intermediate=10, method="approx")
    with pytest.raises(MethodError, match="dense chains"):
        jc.plan(jc.Chain([jc.Layer(3, 3, kind="diagonal"), jc.Layer(3, 3)]), max_intermediate=10)


def test_the_command_line_takes_the_bound(capsys):
    assert main(["plan", "10", "100", "2", "10", "1000", "--max-intermediate", "100"]) == 0
    assert "J4 (J3 (J2 J1))" in capsys.readouterr().out
    assert main(["plan", "1000", "10", "1000", "10", "1000", "--max-intermediate", "100"]) == 2
    assert "smallest bound any bracketing meets is 10,000" in capsys.readouterr().err


def test_evaluating_a_bounded_plan_allocates_within_the_bound():
    """Beyond the result, evaluation allocates no more than the bound's worth of entries
    (tracemalloc sees numpy's allocations); the unbounded optimum allocates more."""
    import tracemalloc

    dims = [100, 1000, 20, 100, 10000]
    bound = 10_000
    Js = random_jacobians(dims, np.random.default_rng(1))
    result_bytes = dims[-1] * dims[0] * 8

    def peak(plan):
        plan.evaluate(Js)  # compile and cache the plan's program first
        tracemalloc.start()
        plan.evaluate(Js)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak - result_bytes

    bounded, unbounded = jc.plan(dims, max_intermediate=bound), jc.plan(dims)
    assert peak(bounded) <= bound * 8 + 64 * 1024 < peak(unbounded)
