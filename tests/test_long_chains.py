"""Plans of very long chains stay cheap to hold, print and serialize."""

import numpy as np
from oracles import bracketing_cost

import jacchain as jc


def test_a_long_plan_is_compact_and_its_report_is_short():
    k = 200_000
    dims = np.random.default_rng(0).integers(1, 10**4, k + 1)
    p = jc.plan(dims)
    assert len(p.steps) == k - 1
    assert p.step_array.nbytes == (k - 1) * 4 * 8
    text = str(p)
    assert len(text.splitlines()) < 40
    assert "steps omitted" in text and "too long to show" in text
    assert p.steps[-1].result == jc.Segment(1, k)
    assert p.cost == bracketing_cost(dims, p.step_array)  # costed and checked independently
    assert "\n" not in p.describe()


def test_auto_is_exact_and_mixed_on_a_long_hourglass():
    dims = [512, 4] * 5000 + [512]
    p = jc.plan(dims)
    assert p.mode == "mixed"
    assert p.cost == bracketing_cost(dims, p.step_array)
    assert p.cost <= jc.plan(dims, "approx").cost
    assert p.cost < min(p.forward_cost, p.reverse_cost)
