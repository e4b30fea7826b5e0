"""The oracles of tests/oracles.py checked against each other, the literature and by hand.

They must be right for the tests that use them to mean anything: the recursion against
the enumeration of every plan, the textbook recurrence against brute force, the evaluator
against the plain product, the step checker against broken plans, and all of them against
the figures published for Naumann's p_3_3.1 and the README's examples.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import (
    ACCUMULATE_ADJOINT,
    ACCUMULATE_TANGENT,
    ADJOINT,
    PRODUCT,
    TANGENT,
    Spec,
    bracketing_cost,
    bracketings,
    brute_force_cost,
    evaluate_steps,
    forward_mode_cost,
    generalized_optimum,
    generalized_plans,
    multiply_cost,
    plan_cost,
    planned_directions,
    reverse_mode_cost,
    reverse_mode_tape,
    spec_of,
    textbook_dp_cost,
)

import jacchain as jc
from jacchain.chains.operations import Operation
from jacchain.testing import (
    dims_lists,
    layer_chains,
    memory_limit_boundaries,
    plain_product,
    profile_examples,
)

P_3_3_1 = [
    Spec("matrix-free", 3, 3, jvp=29, vjp=29, tape=29),
    Spec("matrix-free", 3, 1, jvp=14, vjp=14, tape=14),
    Spec("matrix-free", 1, 2, jvp=7, vjp=7, tape=7),
]


def random_matrices(spec, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((layer.n_out, layer.n_in)) for layer in spec]


def pure_steps(spec, forward):
    """Forward or reverse mode as a step array, written out from their definitions."""
    k, mf = len(spec), [layer.kind == "matrix-free" for layer in spec]
    if forward:
        rows = [(ACCUMULATE_TANGENT, 1, 1, 1)] if mf[0] else []
        rows += [(TANGENT if mf[j - 1] else PRODUCT, 1, j - 1, j) for j in range(2, k + 1)]
    else:
        rows = [(ACCUMULATE_ADJOINT, k, k, k)] if mf[k - 1] else []
        rows += [(ADJOINT if mf[j - 1] else PRODUCT, j, j, k) for j in range(k - 1, 0, -1)]
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def test_operation_codes_are_the_documented_plan_format():
    # The one thing the oracles share with jacchain: the meaning of a step array's codes.
    codes = (PRODUCT, TANGENT, ADJOINT, ACCUMULATE_TANGENT, ACCUMULATE_ADJOINT)
    assert codes == tuple(int(op) for op in Operation)


# --- the classic matrix chain ------------------------------------------------------------


def test_textbook_and_brute_force_on_known_chains():
    assert textbook_dp_cost([1000, 10, 1000, 10, 1000]) == 10_200_000
    assert brute_force_cost([1000, 10, 1000, 10, 1000]) == 10_200_000
    # CLRS 15.2: dims 30 35 15 5 10 20 25 cost 15,125.
    assert textbook_dp_cost([30, 35, 15, 5, 10, 20, 25]) == 15_125
    assert brute_force_cost([30, 35, 15, 5, 10, 20, 25]) == 15_125
    assert textbook_dp_cost([7, 3]) == brute_force_cost([7, 3]) == 0


@pytest.mark.parametrize("k", range(1, 9))
def test_bracketings_are_catalan_many(k):
    catalan = math.comb(2 * (k - 1), k - 1) // k
    assert sum(1 for _ in bracketings([2] * (k + 1))) == catalan


@settings(max_examples=profile_examples(1 / 2))
@given(dims_lists(max_layers=8, max_dim=30))
def test_textbook_recurrence_equals_brute_force(dims):
    assert textbook_dp_cost(dims) == brute_force_cost(dims)


def test_bracketing_cost_checks_its_steps():
    dims = [2, 3, 4, 5]
    assert bracketing_cost(dims, [[0, 1, 1, 2], [0, 1, 2, 3]]) == 2 * 3 * 4 + 2 * 4 * 5
    assert bracketing_cost(dims, [[0, 2, 2, 3], [0, 1, 1, 3]]) == 3 * 4 * 5 + 2 * 3 * 5
    for broken in (
        [[0, 1, 1, 2]],  # unfinished
        [[0, 1, 1, 3], [0, 1, 2, 3]],  # J3..J2 used before it is formed
        [[0, 1, 1, 2], [0, 1, 1, 2], [0, 1, 2, 3]],  # J1 and J2 used twice
        [[1, 1, 1, 2], [0, 1, 2, 3]],  # not a product
    ):
        with pytest.raises(AssertionError):
            bracketing_cost(dims, broken)


# --- the generalized chain -----------------------------------------------------------------


def test_naumann_p_3_3_1_published_figures():
    assert generalized_optimum(P_3_3_1) == 56
    assert forward_mode_cost(P_3_3_1) == 150
    assert reverse_mode_cost(P_3_3_1) == 100
    assert generalized_optimum(P_3_3_1, sweeps=False) == 123
    assert generalized_optimum(P_3_3_1, memory_limit=0) == 142
    # The optimum needs an adjoint sweep recording exactly 29: allowed at 29, not at 28.
    assert generalized_optimum(P_3_3_1, memory_limit=29) == 56
    assert generalized_optimum(P_3_3_1, memory_limit=28) == 123
    chain = jc.Chain([jc.Layer(3, 3, "matrix-free", edges=29),
                      jc.Layer(3, 1, "matrix-free", edges=14),
                      jc.Layer(1, 2, "matrix-free", edges=7)])  # fmt: skip
    assert spec_of(chain) == P_3_3_1


def test_structured_products_by_hand():
    # The examples of jacchain/cost.py's rules, worked out by hand.
    assert multiply_cost(5, 5, 3, ("diagonal", 0), ("dense", 0)) == 15
    assert multiply_cost(4, 5, 3, ("dense", 0), ("diagonal", 0)) == 20
    assert multiply_cost(4, 5, 3, ("dense", 0), ("dense", 0)) == 60
    assert multiply_cost(5, 5, 5, ("diagonal", 0), ("diagonal", 0)) == 5
    assert multiply_cost(5, 5, 5, ("identity", 0), ("dense", 0)) == 0
    assert multiply_cost(4, 5, 3, ("sparse", 7), ("dense", 0)) == 21
    assert multiply_cost(4, 5, 3, ("dense", 0), ("sparse", 7)) == 28
    assert multiply_cost(4, 5, 3, ("sparse", 7), ("sparse", 2)) == min(21, 8)
    assert multiply_cost(5, 5, 3, ("diagonal", 0), ("sparse", 6)) == 6
    # diag(4) then dense 4 -> 2: 2 * 4; diagonal, sparse (nnz 3), dense 3 -> 2: 3 + 2 * 3.
    assert generalized_optimum([Spec("diagonal", 4, 4), Spec("dense", 4, 2)]) == 8
    chain = [Spec("diagonal", 3, 3), Spec("sparse", 3, 3, nnz=3), Spec("dense", 3, 2)]
    assert generalized_optimum(chain) == 3 + 2 * 3


def test_plan_counts_follow_the_recurrence():
    # All matrix-free: a(1) = 2 and a(n) = sum_s a(s) a(n-s) + a(s) + a(n-s).
    counts = [0, 2]
    for n in range(2, 6):
        counts.append(
            sum(counts[s] * counts[n - s] + counts[s] + counts[n - s] for s in range(1, n))
        )
    for k in range(1, 6):
        spec = [Spec("matrix-free", 2, 2, jvp=1, vjp=1, tape=1)] * k
        assert sum(1 for _ in generalized_plans(spec)) == counts[k]
    # With no tape allowed, no adjoint step or accumulation: b(n) = sum_s b(s) b(n-s) + b(s).
    tangent_only = [0, 1]
    for n in range(2, 6):
        tangent_only.append(
            sum(tangent_only[s] * tangent_only[n - s] + tangent_only[s] for s in range(1, n))
        )
    for k in range(1, 6):
        spec = [Spec("matrix-free", 2, 2, jvp=1, vjp=1, tape=1)] * k
        assert sum(1 for _ in generalized_plans(spec, memory_limit=0)) == tangent_only[k]
    # A diagonal chain has no sweeps: its Catalan(k - 1) bracketings.
    for k in range(1, 7):
        catalan = math.comb(2 * (k - 1), k - 1) // k
        assert sum(1 for _ in generalized_plans([Spec("diagonal", 2, 2)] * k)) == catalan


@settings(max_examples=profile_examples(1 / 2))
@given(layer_chains(max_layers=4, max_dim=3))
def test_recursion_equals_the_least_cost_of_every_enumerated_plan(chain):
    spec = spec_of(chain)
    for limit in memory_limit_boundaries(chain):
        costs = [plan_cost(spec, steps, limit) for steps in generalized_plans(spec, limit)]
        assert min(cost for cost, _ in costs) == generalized_optimum(spec, limit)
        assert all(limit is None or tape <= limit for _, tape in costs)
        no_sweeps = [
            plan_cost(spec, steps)[0]
            for steps in generalized_plans(spec, limit)
            if not any(op in (TANGENT, ADJOINT) for op, *_ in steps)
        ]
        assert min(no_sweeps) == generalized_optimum(spec, limit, sweeps=False)


@settings(max_examples=profile_examples(1 / 2))
@given(layer_chains(max_layers=6, max_dim=5))
def test_pure_mode_formulas_cost_the_pure_mode_plans(chain):
    spec = spec_of(chain)
    forward, reverse = pure_steps(spec, True), pure_steps(spec, False)
    assert plan_cost(spec, forward) == (forward_mode_cost(spec), 0)
    assert plan_cost(spec, reverse) == (reverse_mode_cost(spec), reverse_mode_tape(spec))
    assert generalized_optimum(spec) <= min(forward_mode_cost(spec), reverse_mode_cost(spec))


@settings(max_examples=profile_examples(1 / 2))
@given(dims_lists(max_layers=7, max_dim=20))
def test_on_dense_chains_the_generalized_oracle_is_the_matrix_chain(dims):
    spec = spec_of(dims)
    assert generalized_optimum(spec) == textbook_dp_cost(dims)
    assert generalized_optimum(spec, sweeps=False) == textbook_dp_cost(dims)
    assert forward_mode_cost(spec) == dims[0] * sum(
        a * b for a, b in zip(dims[1:], dims[2:], strict=False)
    )
    assert reverse_mode_cost(spec) == dims[-1] * sum(
        a * b for a, b in zip(dims, dims[1:-1], strict=False)
    )


@settings(max_examples=profile_examples(1 / 3))
@given(layer_chains(max_layers=4, max_dim=3), st.integers(0, 2**32 - 1))
def test_every_enumerated_plan_evaluates_to_the_plain_product(chain, seed):
    spec = spec_of(chain)
    jacobians = random_matrices(spec, seed)
    expected = plain_product(jacobians)
    for steps in generalized_plans(spec):
        np.testing.assert_allclose(evaluate_steps(spec, steps, jacobians), expected, atol=1e-12)


def test_the_step_checker_rejects_broken_plans():
    mf = Spec("matrix-free", 2, 2, jvp=1, vjp=1, tape=5)
    chain = [mf, Spec("diagonal", 2, 2), mf]
    broken = {
        "accumulates an explicit layer": [[3, 2, 2, 2]],
        "multiplies a pending matrix-free layer": [[0, 1, 1, 2]],
        "accumulates twice": [[3, 1, 1, 1], [4, 1, 1, 1]],
        "sweeps through a combined layer": [
            [3, 1, 1, 1],
            [3, 3, 3, 3],
            [0, 2, 2, 3],
            [1, 1, 1, 3],
        ],
        "unfinished": [[3, 1, 1, 1], [1, 1, 1, 2]],
        "out of bounds": [[3, 1, 1, 1], [1, 1, 3, 4]],
        "unknown operation": [[3, 1, 1, 1], [7, 1, 1, 3]],
    }
    for name, steps in broken.items():
        with pytest.raises(AssertionError):
            plan_cost(chain, steps)
            pytest.fail(f"accepted a plan that {name}")
    structured = [Spec("diagonal", 2, 2), Spec("sparse", 2, 2, nnz=1)]
    with pytest.raises(AssertionError):
        plan_cost(structured, [[1, 1, 1, 2]])  # a sweep over a sparse product
    two_tapes = [mf, mf, Spec("dense", 2, 2)]  # an adjoint sweep through J2 J1 records 10
    with pytest.raises(AssertionError):
        plan_cost(two_tapes, [[2, 1, 2, 3]], memory_limit=9)
    assert plan_cost(two_tapes, [[2, 1, 2, 3]], memory_limit=10) == (2 * (1 + 1), 10)


def test_evaluate_and_directions_of_a_hand_plan():
    spec = [Spec("matrix-free", 3, 2, jvp=6, vjp=6, tape=6), Spec("dense", 2, 4)]
    jacobians = random_matrices(spec, 1)
    # Carry J1's three columns forward through J2 after accumulating J1 by adjoints.
    steps = [[ACCUMULATE_ADJOINT, 1, 1, 1], [TANGENT, 1, 1, 2]]
    np.testing.assert_allclose(evaluate_steps(spec, steps, jacobians), plain_product(jacobians))
    assert planned_directions(spec, steps) == ([0, 3], [2, 0])
    assert plan_cost(spec, steps) == (2 * 6 + 3 * 8, 6)
    reverse = [[PRODUCT, 1, 1, 2]]
    with pytest.raises(AssertionError):
        evaluate_steps(spec, reverse, jacobians)  # J1 was never accumulated
