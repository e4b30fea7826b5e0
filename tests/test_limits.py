"""The cubic planners refuse long chains up front; "auto" and "windowed" plan any length."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jacchain as jc
from jacchain.chains.cost import layer_table
from jacchain.chains.validate import check_steps
from jacchain.solvers import is_exact
from jacchain.solvers.generalized import accumulation_costs, generalized_table
from jacchain.solvers.hu_shing import hu_shing_steps
from jacchain.solvers.limits import MAX_DP_LAYERS, MAX_GENERALIZED_LAYERS
from jacchain.solvers.windowed import window_bounds, windowed_steps
from jacchain.testing import plain_product, random_layer_chain


def peak_bytes(run):
    """Peak traced allocation of ``run()`` (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        run()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def long_structured_chain(k, seed=0, max_dim=4):
    rng = np.random.default_rng(seed)
    layers, n = [], int(rng.integers(1, max_dim + 1))
    for _ in range(k):
        kind = rng.choice(["dense", "diagonal", "matrix-free"])
        if kind == "diagonal":
            layers.append(jc.Layer(n, n, "diagonal"))
            continue
        m = int(rng.integers(1, max_dim + 1))
        if kind == "dense":
            layers.append(jc.Layer(n, m))
        else:
            layers.append(jc.Layer(n, m, "matrix-free", edges=int(rng.integers(0, 2 * n * m + 1))))
        n = m
    return jc.Chain(layers)


def test_dp_refuses_a_long_chain_before_allocating():
    dims = [7, 3] * 50001
    with pytest.raises(jc.MethodError, match=r"at most 1,500 layers.*'hu-shing'"):
        jc.plan(dims, method="dp")
    assert peak_bytes(lambda: pytest.raises(jc.MethodError, jc.plan, dims, "dp")) < 50 * 2**20


def test_dp_limit_is_lower_when_costs_need_python_ints():
    dims = [10**7, 3 * 10**7] * 151  # 301 layers whose costs exceed int64
    with pytest.raises(jc.MethodError, match=r"at most 300 layers when its costs exceed int64"):
        jc.plan(dims, method="dp")


def test_auto_plans_the_same_long_dense_chain_exactly():
    p = jc.plan([7, 3] * 50001)
    assert p.cost <= min(p.forward_cost, p.reverse_cost) and is_exact("auto", p.chain)
    assert "optimal cost" in p.report()


def test_the_generalized_dp_refuses_past_its_limit_and_auto_does_not():
    chain = jc.Chain([jc.Layer(3, 3, "matrix-free", edges=5)] * (MAX_GENERALIZED_LAYERS + 1))
    with pytest.raises(jc.MethodError, match=r"at most 500 layers.*'windowed'"):
        jc.plan(chain, method="dp")
    p = jc.plan(chain)
    assert check_steps(len(chain), p.step_array, layer_table(chain)) is None
    assert p.cost <= min(p.forward_cost, p.reverse_cost)
    assert not is_exact("auto", chain) and "chosen cost" in p.report()


def test_a_long_structured_chain_plans_and_evaluates_right():
    chain = long_structured_chain(1200, seed=1)
    p = jc.plan(chain)
    assert p.cost <= min(p.forward_cost, p.reverse_cost)
    rng = np.random.default_rng(2)
    Js = [rng.standard_normal(layer.shape) / 2 for layer in chain.layers]
    for J, layer in zip(Js, chain.layers, strict=True):
        if layer.kind == "diagonal":
            J[...] = np.diag(np.diagonal(J))
    operators = [
        np.diagonal(J).copy()
        if layer.kind == "diagonal"
        else jc.testing.CountingOperator(J)
        if layer.kind == "matrix-free"
        else J
        for J, layer in zip(Js, chain.layers, strict=True)
    ]
    np.testing.assert_allclose(p.evaluate(operators), plain_product(Js), rtol=1e-9, atol=1e-12)


def test_dense_dp_still_plans_at_its_limit_boundary_lengths():
    assert MAX_DP_LAYERS == 1500
    rng = np.random.default_rng(0)
    dims = rng.integers(1, 50, 301).tolist()
    assert jc.plan(dims, "dp").cost == jc.plan(dims, "hu-shing").cost


def test_window_bounds_cut_at_the_narrowest_dims():
    dims = np.array([9, 9, 9, 1, 9, 9, 9, 9, 2, 9, 9])
    assert window_bounds(dims, window=4) == [0, 3, 7, 10]
    bounds = window_bounds(np.arange(1, 102), window=10)
    assert bounds[0] == 0 and bounds[-1] == 100
    assert all(0 < b - a <= 10 for a, b in zip(bounds, bounds[1:], strict=False))


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(st.integers(0, 2**32 - 1), st.integers(1, 5))
def test_windowed_plans_are_valid_never_below_the_optimum_and_exact_in_one_window(seed, window):
    chain, operators, jacobians = random_layer_chain(seed, max_layers=9, max_dim=4)
    steps = windowed_steps(chain, None, window)
    table = None if chain.is_dense else layer_table(chain)
    assert check_steps(len(chain), steps, table) is None
    cost = jc.Plan.from_steps(chain, steps).cost
    optimum = jc.plan(chain, "dp").cost
    assert cost >= optimum
    whole = jc.Plan.from_steps(chain, windowed_steps(chain, None, len(chain))).cost
    assert whole == optimum
    p = jc.plan(chain, "windowed")
    assert p.cost <= min(p.forward_cost, p.reverse_cost)
    np.testing.assert_allclose(
        p.evaluate(operators), plain_product(jacobians), rtol=1e-9, atol=1e-12
    )


def test_inexact_methods_never_lose_to_a_pure_mode():
    p = jc.plan([1, 4, 7, 7, 1], "approx")
    assert (p.mode, p.cost, p.forward_cost, p.reverse_cost) == ("reverse", 81, 84, 81)


def test_a_user_solver_returning_no_plan_is_refused():
    jc.register_solver("broken", lambda chain, memory_limit: np.array([[0, 1, 1, 3]]))
    jc.register_solver("garbage", lambda chain, memory_limit: "not steps")
    try:
        with pytest.raises(jc.MethodError, match="'broken' returned steps that are not a plan"):
            jc.plan([2, 3, 4, 5], "broken")
        with pytest.raises(jc.MethodError, match="'garbage'"):
            jc.plan([2, 3, 4, 5], "garbage")
    finally:
        from jacchain.solvers import SOLVERS

        del SOLVERS["broken"], SOLVERS["garbage"]


def test_preaccumulation_of_long_chains():
    short = jc.Chain(
        [
            jc.Layer(3, 4, "matrix-free", edges=7),
            jc.Layer(4, 2),
            jc.Layer(2, 5, "matrix-free", edges=3),
            jc.Layer(5, 1, "matrix-free", edges=9),
        ]
    )
    table = layer_table(short)
    dense = jc.Chain.from_dims(short.dims)
    formula = sum(accumulation_costs(table, None)) + jc.Plan.from_steps(
        dense, hu_shing_steps(dense)
    ).cost
    assert formula == generalized_table(short, sweeps=False).cost
    mf = jc.Chain([jc.Layer(2, 2, "matrix-free", edges=3)] * (MAX_GENERALIZED_LAYERS + 5))
    assert jc.plan(mf).preaccumulation_cost == 3 * 2 * len(mf) + 2 * 2 * 2 * (len(mf) - 1)
    mixed = long_structured_chain(MAX_GENERALIZED_LAYERS + 5)
    p = jc.plan(mixed)
    assert p.preaccumulation_cost is None and "not computed" in p.report()
