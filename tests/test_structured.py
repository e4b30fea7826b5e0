"""Structured and matrix-free layers: Naumann's generalized Jacobian chain, against independent oracles."""

import importlib.util
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import (
    evaluate_steps,
    forward_mode_cost,
    generalized_optimum,
    generalized_plans,
    plan_cost,
    planned_directions,
    reverse_mode_cost,
    reverse_mode_tape,
    spec_of,
)

import jacchain as jc
from jacchain import errors
from jacchain.chains.chain import KINDS
from jacchain.chains.cost import layer_table
from jacchain.chains.operations import Operation
from jacchain.chains.steps import forward_steps, reverse_steps
from jacchain.chains.validate import check_steps
from jacchain.solvers.generalized import generalized_steps, generalized_table
from jacchain.testing import (
    CountingOperator,
    dims_lists,
    enumerate_plans,
    exhaustive_generalized_optimum,
    layer_chains,
    memory_limit_boundaries,
    plain_product,
    profile_examples,
    random_layer_chain,
)

GDJCPB = Path(str(resources.files("jacchain") / "data" / "gdjcpb"))  # shipped with jacchain
needs_scipy = pytest.mark.skipif(
    importlib.util.find_spec("scipy") is None, reason="scipy (sparse layers) is not installed"
)
needs_gdjcpb = pytest.mark.skipif(
    not (GDJCPB / "p_3_3.1").is_file(), reason="the gdjcpb data is not installed"
)
METHODS = ("auto", "dp", "forward", "reverse")
seeds = st.integers(min_value=0, max_value=2**32 - 1)


# --- helpers -------------------------------------------------------------------------------


def naumann_chain() -> jc.Chain:
    """The README example p_3_3.1, written out (no file needed)."""
    return jc.Chain(
        [
            jc.Layer(3, 3, "matrix-free", edges=29),
            jc.Layer(3, 1, "matrix-free", edges=14),
            jc.Layer(1, 2, "matrix-free", edges=7),
        ]
    )


def read_instance(path: Path) -> jc.Chain:
    """A gdjcpb file: q, then "m n |E|" per factor in application order (R^n -> R^m)."""
    numbers = [int(token) for token in path.read_text().split()]
    q, rows = numbers[0], numbers[1:]
    assert len(rows) == 3 * q, f"{path.name}: expected {q} factors"
    return jc.Chain(
        [
            jc.Layer(n, m, "matrix-free", edges=edges)
            for m, n, edges in zip(rows[0::3], rows[1::3], rows[2::3], strict=True)
        ]
    )


def reset_counts(operators) -> None:
    for op in operators:
        if isinstance(op, CountingOperator):
            op.tangent_directions = op.adjoint_directions = 0


def check_evaluation(plan: jc.Plan, operators, jacobians) -> None:
    """The plan's result is the independent evaluator's and the plain product, and
    matrix-free layers see exactly the directions the steps ask for (counted by the oracle).
    """
    reset_counts(operators)
    result = plan.evaluate(operators)
    spec = spec_of(plan.chain)
    reference = plain_product(jacobians)
    assert result.shape == plan.shape
    scale = max(1.0, float(np.abs(reference).max(initial=0.0)))
    independent = evaluate_steps(spec, plan.step_array, jacobians)
    np.testing.assert_allclose(result, independent, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(result, reference, rtol=1e-9, atol=1e-9 * scale)
    tangent, adjoint = planned_directions(spec, plan.step_array)
    for number, (layer, op) in enumerate(zip(plan.chain.layers, operators, strict=True), 1):
        if layer.kind == "matrix-free":
            seen = (op.tangent_directions, op.adjoint_directions)
            assert seen == (tangent[number - 1], adjoint[number - 1]), f"layer {number}"


def random_operators(chain: jc.Chain, rng: np.random.Generator):
    """Operators and dense Jacobians for a given chain (sparse layers store exactly nnz)."""
    from scipy import sparse

    operators, jacobians = [], []
    for layer in chain.layers:
        m, n = layer.shape
        if layer.kind == "identity":
            operators.append(None)
            jacobians.append(np.eye(n))
        elif layer.kind == "diagonal":
            operators.append(rng.standard_normal(n))
            jacobians.append(np.diag(operators[-1]))
        elif layer.kind == "sparse":
            flat = rng.choice(m * n, size=layer.nnz, replace=False)
            values = rng.standard_normal(layer.nnz)
            operators.append(sparse.csr_matrix((values, (flat // n, flat % n)), shape=(m, n)))
            jacobians.append(operators[-1].toarray())
        else:
            jacobians.append(rng.standard_normal((m, n)))
            operators.append(
                jacobians[-1] if layer.kind == "dense" else CountingOperator(jacobians[-1])
            )
    return operators, jacobians


# --- layers and chains ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((3, 3, "banded"), {}),
        ((3, 3, None), {}),
        ((3, 3, "Dense"), {}),
        ((3, 2, "diagonal"), {}),
        ((2, 3, "identity"), {}),
        ((3, 2, "sparse"), {}),
        ((3, 2, "sparse"), {"nnz": 7}),
        ((3, 2, "sparse"), {"nnz": -1}),
        ((3, 2, "sparse"), {"nnz": True}),
        ((3, 2, "sparse"), {"nnz": 2.0}),
        ((3, 2, "sparse"), {"nnz": "2"}),
        ((3, 2, "matrix-free"), {}),
        ((3, 2, "matrix-free"), {"jvp_cost": 4}),
        ((3, 2, "matrix-free"), {"vjp_cost": 4, "tape": 1}),
        ((3, 2, "matrix-free"), {"edges": -1}),
        ((3, 2, "matrix-free"), {"edges": True}),
        ((3, 2, "matrix-free"), {"edges": 2.0}),
        ((3, 2, "matrix-free"), {"edges": 5, "jvp_cost": -1}),
        ((3, 2, "matrix-free"), {"edges": 5, "vjp_cost": 1.5}),
        ((3, 2, "matrix-free"), {"edges": 5, "tape": -3}),
        ((3, 2, "matrix-free"), {"edges": 5, "tape": False}),
        ((3, 2, "matrix-free"), {"edges": 5, "nnz": 2}),
        ((3, 2), {"nnz": 2}),
        ((3, 2, "dense"), {"edges": 5}),
        ((3, 2, "dense"), {"tape": 0}),
        ((3, 3, "diagonal"), {"nnz": 3}),
        ((3, 3, "identity"), {"jvp_cost": 1}),
        ((3, 2, "sparse"), {"nnz": 2, "edges": 2}),
        ((3, 2, "sparse"), {"nnz": 2, "vjp_cost": 2}),
    ],
)
def test_invalid_layers_raise_layer_error(args, kwargs):
    with pytest.raises(jc.LayerError):
        jc.Layer(*args, **kwargs)


@pytest.mark.parametrize("size", [0, -2, True, 2.0, "3", None])
@pytest.mark.parametrize("kind", ["dense", "diagonal", "matrix-free"])
def test_invalid_layer_sizes_raise_dimension_error(size, kind):
    extra = {"edges": 1} if kind == "matrix-free" else {}
    with pytest.raises(jc.DimensionError):
        jc.Layer(size, size, kind, **extra)
    with pytest.raises(jc.DimensionError):
        jc.Layer(2, size, "dense")


def test_layer_errors_are_jacchain_errors():
    assert issubclass(jc.LayerError, jc.JacChainError)
    assert issubclass(jc.OperatorError, jc.ShapeError)


def test_layer_and_operator_errors_are_exported():
    assert jc.LayerError is errors.LayerError
    assert jc.OperatorError is errors.OperatorError


def test_valid_layers_resolve_their_parameters():
    assert jc.Layer(3, 2, "sparse", nnz=0).tangent_cost == 0
    assert jc.Layer(3, 2, "sparse", nnz=6).nnz == 6
    assert type(jc.Layer(np.int64(3), np.int32(2), "sparse", nnz=np.int64(4)).nnz) is int
    assert jc.Layer(3, 3, "identity").tangent_cost == jc.Layer(3, 3, "identity").adjoint_cost == 0
    assert jc.Layer(4, 4, "diagonal").adjoint_cost == 4
    assert jc.Layer(3, 2).tangent_cost == 6
    mf = jc.Layer(3, 2, "matrix-free", edges=7)
    assert (mf.jvp_cost, mf.vjp_cost, mf.tape, mf.tape_size) == (7, 7, 7, 7)
    assert mf.accumulation_cost == min(3 * 7, 2 * 7)
    costs = jc.Layer(3, 2, "matrix-free", jvp_cost=4, vjp_cost=9)
    assert (costs.edges, costs.tape, costs.tangent_cost, costs.adjoint_cost) == (None, 9, 4, 9)
    assert costs.accumulation_cost == min(3 * 4, 2 * 9)
    overridden = jc.Layer(3, 2, "matrix-free", edges=5, vjp_cost=1, tape=0)
    assert (overridden.jvp_cost, overridden.vjp_cost, overridden.tape) == (5, 1, 0)
    assert jc.Layer(3, 2, "matrix-free", edges=0).accumulation_cost == 0
    for kind in ("dense", "diagonal", "identity"):
        layer = jc.Layer(2, 2, kind)
        assert layer.is_explicit and layer.accumulation_cost == 0 and layer.tape_size == 0


def test_chains_of_mismatched_layers_raise_shape_error():
    with pytest.raises(jc.ShapeError):
        jc.Chain([jc.Layer(2, 3), jc.Layer(4, 2)])
    with pytest.raises(jc.ShapeError):
        jc.Chain([jc.Layer(3, 3, "diagonal"), jc.Layer(2, 2, "identity")])
    with pytest.raises(jc.ShapeError):
        jc.Chain([jc.Layer(2, 3, "matrix-free", edges=1), jc.Layer(2, 3, "sparse", nnz=1)])
    with pytest.raises(jc.DimensionError):
        jc.Chain([])
    with pytest.raises(jc.DimensionError):
        jc.Chain([jc.Layer(2, 3), (3, 4)])


def test_a_chain_of_dense_layers_is_the_dense_chain_of_its_dims():
    chain = jc.Chain([jc.Layer(4, 3), jc.Layer(3, 5, "dense")])
    assert chain.is_dense and chain == jc.Chain.from_dims([4, 3, 5])
    structured = jc.Chain([jc.Layer(4, 4, "diagonal"), jc.Layer(4, 5)])
    assert not structured.is_dense and structured.dims == (4, 4, 5)
    assert structured.layers[0].kind == "diagonal"


# --- the helpers themselves ----------------------------------------------------------------


def test_enumerate_plans_counts_follow_the_recurrence():
    # All matrix-free: a(1) = 2 and a(n) = sum_s a(s) a(n-s) + a(s) + a(n-s).
    counts = [0, 2]
    for n in range(2, 6):
        counts.append(
            sum(counts[s] * counts[n - s] + counts[s] + counts[n - s] for s in range(1, n))
        )
    for k in range(1, 6):
        chain = jc.Chain([jc.Layer(2, 2, "matrix-free", edges=1)] * k)
        assert sum(1 for _ in enumerate_plans(chain)) == counts[k]
    # A dense chain has its Catalan(k - 1) bracketings; a diagonal one as well (no sweeps).
    for k in range(1, 7):
        catalan = math.comb(2 * (k - 1), k - 1) // k
        assert sum(1 for _ in enumerate_plans(jc.Chain.from_dims([2] * (k + 1)))) == catalan
        diagonal = jc.Chain([jc.Layer(2, 2, "diagonal")] * k)
        assert sum(1 for _ in enumerate_plans(diagonal)) == catalan


@settings(max_examples=profile_examples(1 / 3))
@given(layer_chains(max_layers=4, max_dim=3), st.data())
def test_the_public_enumeration_helpers_agree_with_the_oracles(chain, data):
    limit = data.draw(st.sampled_from(memory_limit_boundaries(chain)))
    spec = spec_of(chain)
    listed = {steps.tobytes() for steps in enumerate_plans(chain, limit)}
    expected = {
        np.array(steps, dtype=np.int64).reshape(-1, 4).tobytes()
        for steps in generalized_plans(spec, limit)
    }
    assert listed == expected
    assert exhaustive_generalized_optimum(chain, limit) == generalized_optimum(spec, limit)


@needs_scipy
@settings(max_examples=profile_examples(1 / 3))
@given(layer_chains(max_layers=4, max_dim=3), seeds, st.data())
def test_every_plan_is_costed_checked_and_evaluated_like_the_oracle(chain, seed, data):
    limit = data.draw(st.sampled_from(memory_limit_boundaries(chain)))
    spec, table = spec_of(chain), layer_table(chain)
    operators, jacobians = random_operators(chain, np.random.default_rng(seed))
    for steps in generalized_plans(spec, limit):
        steps = np.array(steps, dtype=np.int64).reshape(-1, 4)
        assert check_steps(len(chain), steps, table) is None
        plan = jc.Plan.from_steps(chain, steps)
        assert (plan.cost, plan.largest_tape) == plan_cost(spec, steps, limit)
        check_evaluation(plan, operators, jacobians)


def test_counting_operator_counts_directions():
    J = np.arange(6.0).reshape(2, 3)
    op = CountingOperator(J)
    assert op.shape == (2, 3)
    np.testing.assert_array_equal(op.matmat(np.eye(3)), J)
    np.testing.assert_array_equal(op.rmatmat(np.eye(2)[:, :1]), J.T[:, :1])
    op.matmat(np.ones((3, 4)))
    assert (op.tangent_directions, op.adjoint_directions) == (7, 1)
    with pytest.raises(ValueError):
        op.matmat(np.ones(3))
    with pytest.raises(ValueError):
        op.rmatmat(np.ones((3, 1)))


@needs_scipy
@pytest.mark.parametrize("kinds", [(kind,) for kind in KINDS] + [KINDS])
def test_random_layer_chain_builds_consistent_chains(kinds):
    for seed in range(10):
        chain, operators, jacobians = random_layer_chain(
            seed, max_layers=5, max_dim=4, kinds=kinds
        )
        assert 1 <= len(chain) <= 5 and max(chain.dims) <= 4
        assert {layer.kind for layer in chain.layers} <= set(kinds)
        for layer, op, J in zip(chain.layers, operators, jacobians, strict=True):
            assert J.shape == layer.shape
            if layer.kind == "sparse":
                assert op.nnz <= layer.nnz
                np.testing.assert_array_equal(op.toarray(), J)
            elif layer.kind == "matrix-free":
                assert isinstance(op, CountingOperator)
                np.testing.assert_array_equal(op.J, J)
        np.testing.assert_allclose(jc.plan(chain).evaluate(operators), plain_product(jacobians))


# --- optimality by brute force -------------------------------------------------------------


def expected_mode(plan: jc.Plan, optimum: int, reverse_fits: bool) -> str:
    """The tie rule: forward if forward is optimal, else reverse if optimal (and allowed)."""
    if plan.forward_cost == optimum:
        return "forward"
    if plan.reverse_cost == optimum and reverse_fits:
        return "reverse"
    return "mixed"


@settings(max_examples=profile_examples(2 / 3))
@given(layer_chains())
def test_generalized_dp_equals_the_oracle_at_every_memory_boundary(chain):
    # Every limit at which a plan can change: each tape an adjoint step may record, each
    # minus one, 0 and None; so a limit compared with < instead of <= cannot go unseen.
    spec, table, k = spec_of(chain), layer_table(chain), len(chain)
    forward, reverse = forward_mode_cost(spec), reverse_mode_cost(spec)
    for limit in memory_limit_boundaries(chain):
        where = f"memory_limit={limit}"
        optimum = generalized_optimum(spec, limit)
        plan = jc.plan(chain, memory_limit=limit)
        assert plan.cost == optimum, where
        assert (plan.forward_cost, plan.reverse_cost) == (forward, reverse), where
        assert plan_cost(spec, plan.step_array, limit) == (plan.cost, plan.largest_tape), where
        assert check_steps(k, plan.step_array, table) is None, where
        assert plan.memory_limit == limit
        assert sum(step.cost for step in plan.steps) == plan.cost
        assert plan.largest_tape == max((step.tape for step in plan.steps), default=0)
        reverse_fits = limit is None or reverse_mode_tape(spec) <= limit
        assert plan.mode == expected_mode(plan, optimum, reverse_fits), where
        assert jc.plan(chain, "dp", limit).cost == optimum, where
        # The solver's own steps, before the tie rule, and its preaccumulation plan.
        assert plan_cost(spec, generalized_steps(chain, limit), limit)[0] == optimum, where
        preaccumulation = generalized_optimum(spec, limit, sweeps=False)
        assert plan.preaccumulation_cost == preaccumulation, where
        steps = generalized_steps(chain, limit, sweeps=False)
        assert not set(steps[:, 0].tolist()) & {Operation.TANGENT, Operation.ADJOINT}
        assert plan_cost(spec, steps, limit)[0] == preaccumulation, where


@settings(max_examples=profile_examples(1 / 2))
@given(layer_chains(min_layers=2, max_layers=8, max_dim=6))
def test_pure_modes_are_valid_plans_with_their_reported_costs(chain):
    spec, k, table = spec_of(chain), len(chain), layer_table(chain)
    forward, reverse = jc.plan(chain, "forward"), jc.plan(chain, "reverse")
    assert forward.mode == "forward"
    # A plan that is both pure modes (no steps, or one product) is called forward.
    same = np.array_equal(forward.step_array, reverse.step_array)
    assert reverse.mode == ("forward" if same else "reverse")
    assert check_steps(k, forward.step_array, table) is None
    assert check_steps(k, reverse.step_array, table) is None
    np.testing.assert_array_equal(forward.step_array, forward_steps(k, table.matrix_free))
    np.testing.assert_array_equal(reverse.step_array, reverse_steps(k, table.matrix_free))
    # Costs by the formulas written out in tests/oracles.py, and by costing the steps.
    assert forward.cost == forward.forward_cost == jc.forward_cost(chain) == forward_mode_cost(spec)
    assert reverse.cost == reverse.reverse_cost == jc.reverse_cost(chain) == reverse_mode_cost(spec)
    assert plan_cost(spec, forward.step_array) == (forward.cost, 0)
    assert plan_cost(spec, reverse.step_array) == (reverse.cost, reverse_mode_tape(spec))
    assert reverse.largest_tape == reverse_mode_tape(spec)
    assert not any(step.operation.endswith("adjoint") for step in forward.steps)
    assert not any(step.operation.endswith("tangent") for step in reverse.steps)
    optimal = jc.plan(chain)
    assert optimal.cost <= min(forward.cost, reverse.cost, optimal.preaccumulation_cost)
    assert optimal.mode == expected_mode(optimal, optimal.cost, True)


def test_check_steps_rejects_invalid_structured_plans():
    chain = naumann_chain()
    table = layer_table(chain)
    bad = {
        "already combined": [
            [3, 2, 2, 2],
            [3, 3, 3, 3],
            [0, 2, 2, 3],
            [3, 1, 1, 1],
            [1, 1, 1, 3],
        ],
        "needs J1 accumulated": [[0, 1, 1, 2], [3, 3, 3, 3], [0, 1, 2, 3]],
        "not a pending matrix-free layer": [[3, 1, 1, 1], [4, 1, 1, 1], [1, 1, 1, 3]],
        "unfinished": [[3, 1, 1, 1], [1, 1, 1, 2]],
        "must name one layer": [[3, 1, 2, 3]],
    }
    for reason, steps in bad.items():
        assert reason in check_steps(3, np.array(steps), table)
    explicit = jc.Chain([jc.Layer(2, 2, "diagonal"), jc.Layer(2, 2, "sparse", nnz=1)])
    structured_sweep = np.array([[1, 1, 1, 2]])  # sweeps over a sparse (not dense) product
    assert "structured, not dense" in check_steps(2, structured_sweep, layer_table(explicit))
    accumulate_explicit = np.array([[3, 1, 1, 1], [0, 1, 1, 2]])
    assert "not a pending" in check_steps(2, accumulate_explicit, layer_table(explicit))


def test_check_steps_explains_accumulating_an_absorbed_layer():
    chain = jc.Chain([jc.Layer(2, 2, "matrix-free", edges=1)] * 2)
    steps = np.array([[3, 1, 1, 1], [1, 1, 1, 2], [3, 2, 2, 2]])
    assert isinstance(check_steps(2, steps, layer_table(chain)), str)


def test_from_json_rejects_accumulating_an_absorbed_layer():
    import json

    chain = jc.Chain([jc.Layer(2, 2, "matrix-free", edges=1)] * 2)
    record = json.loads(jc.plan(chain, "forward").to_json())
    record["steps"].append(["accumulate-tangent", 2, 2, 2])
    with pytest.raises(jc.PlanFormatError):
        jc.Plan.from_json(json.dumps(record))


def test_memory_limit_zero_forbids_every_adjoint_sweep():
    chain = naumann_chain()
    plan = jc.plan(chain, memory_limit=0)
    assert plan.largest_tape == 0
    assert not any("adjoint" in step.operation for step in plan.steps)
    assert plan.cost == generalized_optimum(spec_of(chain), 0) == 142
    # A tape of 0 fits any limit, so a zero-tape layer may still be swept in adjoint mode.
    free_tape = jc.Chain(
        [
            jc.Layer(3, 3, "matrix-free", edges=29, tape=0),
            jc.Layer(3, 1, "matrix-free", edges=14, tape=0),
        ]
    )
    plan = jc.plan(free_tape, memory_limit=0)
    assert plan.cost == jc.plan(free_tape).cost == 14 + 29
    assert plan.mode == "reverse" and plan.largest_tape == 0


def test_a_tie_between_accumulation_directions_goes_to_tangents_which_record_no_tape():
    # n_in * jvp = 3 * 4 = 12 = n_out * vjp = 2 * 6: adjoints are not cheaper, so tangents.
    tie = jc.Layer(3, 2, "matrix-free", jvp_cost=4, vjp_cost=6, tape=5)
    cheaper_adjoint = jc.Layer(3, 2, "matrix-free", jvp_cost=4, vjp_cost=5, tape=5)
    assert generalized_steps(jc.Chain([tie])).tolist() == [[3, 1, 1, 1]]
    assert generalized_steps(jc.Chain([cheaper_adjoint])).tolist() == [[4, 1, 1, 1]]
    assert jc.plan(jc.Chain([tie]), "dp").largest_tape == 0


def test_structured_examples_by_hand():
    # diag(4) then dense 4 -> 2: free diagonal, one (2x4)(4x4 diagonal) product costs 2*4.
    assert jc.plan(jc.Chain([jc.Layer(4, 4, "diagonal"), jc.Layer(4, 2)])).cost == 8
    # identities cost nothing; diagonal times diagonal costs n.
    chain = jc.Chain(
        [jc.Layer(5, 5, "identity"), jc.Layer(5, 5, "diagonal"), jc.Layer(5, 5, "diagonal")]
    )
    assert jc.plan(chain).cost == 5
    assert jc.plan(jc.Chain([jc.Layer(5, 5, "identity")] * 3)).cost == 0
    # sparse (nnz 3) after a diagonal: nnz multiply-adds, then dense 2x3 times sparse: 2*3.
    chain = jc.Chain([jc.Layer(3, 3, "diagonal"), jc.Layer(3, 3, "sparse", nnz=3), jc.Layer(3, 2)])
    assert jc.plan(chain).cost == generalized_optimum(spec_of(chain)) == 3 + 2 * 3
    # One matrix-free layer alone: accumulated by its cheaper direction.
    single = jc.Chain([jc.Layer(5, 2, "matrix-free", edges=10)])
    assert jc.plan(single).cost == 20
    assert jc.plan(single, memory_limit=9).cost == 50
    assert [s.operation for s in jc.plan(single, memory_limit=9).steps] == ["accumulate-tangent"]


# --- dense chains built from layers --------------------------------------------------------


@given(dims_lists(max_layers=8, max_dim=40))
def test_dense_layers_plan_exactly_like_dims(dims):
    chain = jc.Chain([jc.Layer(dims[i], dims[i + 1]) for i in range(len(dims) - 1)])
    assert chain.is_dense
    for method in ("auto", "dp", "forward", "reverse", "hu-shing", "approx"):
        for limit in (None, 0):
            a, b = jc.plan(chain, method, limit), jc.plan(dims, method)
            assert (a.cost, a.forward_cost, a.reverse_cost, a.mode) == (
                b.cost,
                b.forward_cost,
                b.reverse_cost,
                b.mode,
            )
            np.testing.assert_array_equal(a.step_array, b.step_array)
            assert a.largest_tape == 0
    dp = jc.plan(dims, "dp")
    assert generalized_table(chain).cost == dp.cost
    assert generalized_table(chain, sweeps=False).cost == dp.cost
    assert jc.plan(chain).preaccumulation_cost == dp.cost
    # Sweeps through dense layers never beat products, and products win ties.
    steps = generalized_steps(chain)
    assert set(steps[:, 0].tolist()) <= {int(Operation.PRODUCT)}
    assert check_steps(len(chain), steps) is None
    assert jc.Plan.from_steps(chain, steps).cost == dp.cost


# --- the published figures -----------------------------------------------------------------


@needs_gdjcpb
def test_naumann_p_3_3_1_figures():
    chain = read_instance(GDJCPB / "p_3_3.1")
    assert chain == naumann_chain()
    plan = jc.plan(chain)
    assert (plan.cost, plan.forward_cost, plan.reverse_cost) == (56, 150, 100)
    assert plan.preaccumulation_cost == 123
    assert plan.mode == "mixed"
    assert jc.plan(chain, "dp").cost == generalized_optimum(spec_of(chain)) == 56
    assert jc.plan(chain, "forward").cost == 150
    assert jc.plan(chain, "reverse").cost == 100
    assert sum(layer.accumulation_cost for layer in chain.layers) == 108


def test_naumann_p_3_3_1_at_its_memory_boundaries():
    # The optimum's adjoint sweep records 29: allowed at memory_limit=29 (cost 56), not at 28.
    chain = naumann_chain()
    assert jc.plan(chain, memory_limit=29).cost == 56
    assert jc.plan(chain, memory_limit=28).cost == 123
    for limit in memory_limit_boundaries(chain):
        for method in ("auto", "dp"):
            plan = jc.plan(chain, method, limit)
            assert plan.cost == generalized_optimum(spec_of(chain), limit), (method, limit)


@needs_gdjcpb
@pytest.mark.parametrize(
    "name",
    ["p_3_3.1"]
    + [f"ex_sec_3_p2.{i}" for i in range(1, 6)]
    + ["ex_sec_4_p_10_10.1", "ex_sec_4_p_50_50.1"],
)
def test_gdjcpb_instances_match_the_oracle(name):
    path = GDJCPB / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the shared data")
    chain = read_instance(path)
    spec, table = spec_of(chain), layer_table(chain)
    tapes = sorted({layer.tape for layer in chain.layers})
    for limit in (None, 0, tapes[len(tapes) // 2], tapes[len(tapes) // 2] - 1):
        plan = jc.plan(chain, memory_limit=limit)
        assert plan.cost == generalized_optimum(spec, limit)
        # Pure modes: d0 (or dk) directions through every layer.
        assert plan.forward_cost == chain.dims[0] * sum(x.jvp for x in spec)
        assert plan.reverse_cost == chain.dims[-1] * sum(x.vjp for x in spec)
        assert plan_cost(spec, plan.step_array, limit) == (plan.cost, plan.largest_tape)
        assert check_steps(len(chain), plan.step_array, table) is None


# --- evaluation ----------------------------------------------------------------------------


@needs_scipy
@given(seeds)
def test_plans_evaluate_to_the_product_and_ask_exactly_for_their_directions(seed):
    chain, operators, jacobians = random_layer_chain(seed)
    tapes = [layer.tape_size for layer in chain.layers]
    for limit in dict.fromkeys([None, 0, max(tapes), sum(tapes) // 2]):
        for method in METHODS:
            try:
                plan = jc.plan(chain, method, limit)
            except jc.MethodError:
                assert method == "reverse"
                assert jc.plan(chain, "reverse").largest_tape > limit
                continue
            check_evaluation(plan, operators, jacobians)
    reset_counts(operators)
    report = jc.verify(jc.plan(chain), operators)
    assert report.passed
    np.testing.assert_allclose(report.result, plain_product(jacobians), rtol=1e-9, atol=1e-9)


@needs_scipy
@pytest.mark.parametrize(
    "kinds", [("matrix-free",), ("matrix-free", "identity"), ("diagonal", "sparse"), ("sparse",)]
)
def test_evaluation_on_chains_of_few_kinds(kinds):
    for seed in range(15):
        chain, operators, jacobians = random_layer_chain(seed, kinds=kinds)
        for method in METHODS:
            check_evaluation(jc.plan(chain, method), operators, jacobians)
        reset_counts(operators)
        assert jc.verify(jc.plan(chain, memory_limit=0), operators).passed


def test_naumann_example_asks_each_layer_for_its_planned_directions():
    chain = naumann_chain()
    rng = np.random.default_rng(7)
    jacobians = [rng.standard_normal(layer.shape) for layer in chain.layers]
    operators = [CountingOperator(J) for J in jacobians]
    plan = jc.plan(chain)
    check_evaluation(plan, operators, jacobians)
    # acc-adjoint J2 (1 direction), adjoint through J1 (d2 = 1), acc-tangent J3 (d2 = 1).
    assert [(op.tangent_directions, op.adjoint_directions) for op in operators] == [
        (0, 1),
        (0, 1),
        (1, 0),
    ]


def test_complex_matrix_free_layers_evaluate_in_adjoint_mode():
    J = np.array([[1j, 2.0, 0.0]])
    single = jc.Chain([jc.Layer(3, 1, "matrix-free", edges=1)])  # accumulated by 1 adjoint
    assert jc.plan(single).steps[0].operation == "accumulate-adjoint"
    np.testing.assert_allclose(jc.plan(single).evaluate([CountingOperator(J)]), J)
    J1, J2 = np.array([[1j, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0]])
    chain = jc.Chain([jc.Layer(2, 2, "matrix-free", edges=1), jc.Layer(2, 1)])
    for method in METHODS:
        result = jc.plan(chain, method).evaluate([CountingOperator(J1), J2])
        np.testing.assert_allclose(result, J2 @ J1)


# --- bad operators -------------------------------------------------------------------------


class OnlyMatmat:
    shape = (2, 2)

    def matmat(self, V):
        return V


def structured_chain() -> jc.Chain:
    return jc.Chain(
        [
            jc.Layer(2, 2, "diagonal"),
            jc.Layer(2, 2, "identity"),
            jc.Layer(2, 3, "sparse", nnz=2),
            jc.Layer(3, 2, "matrix-free", edges=4),
            jc.Layer(2, 2),
        ]
    )


def good_operators():
    from scipy import sparse

    return [
        np.array([1.0, 2.0]),
        None,
        sparse.csr_matrix(([1.0, 2.0], ([0, 2], [1, 0])), shape=(3, 2)),
        CountingOperator(np.ones((2, 3))),
        np.eye(2),
    ]


@needs_scipy
def test_good_operators_evaluate():
    plan = jc.plan(structured_chain())
    operators = good_operators()
    expected = np.eye(2) @ np.ones((2, 3)) @ operators[2].toarray() @ np.diag([1.0, 2.0])
    np.testing.assert_allclose(plan.evaluate(operators), expected)


@needs_scipy
@pytest.mark.parametrize(
    ("position", "replacement", "error"),
    [
        (0, np.eye(2), jc.ShapeError),
        (0, np.ones(3), jc.ShapeError),
        (0, np.array(["a", "b"]), jc.ShapeError),
        (0, np.array([1.0, np.nan]), jc.NonFiniteError),
        (0, np.array([1.0, np.inf]), jc.NonFiniteError),
        (1, np.eye(2), jc.OperatorError),
        (1, np.ones(2), jc.OperatorError),
        (2, np.ones(6), jc.OperatorError),
        (2, "a list", jc.OperatorError),
        (2, np.ones((2, 3)), jc.ShapeError),
        (2, "sparse-shape", jc.ShapeError),
        (2, "too-many-entries", jc.ShapeError),
        (2, "nan-entry", jc.NonFiniteError),
        (3, np.ones((2, 3)), jc.OperatorError),
        (3, OnlyMatmat(), jc.OperatorError),
        (3, None, jc.OperatorError),
        (3, CountingOperator(np.ones((3, 2))), jc.ShapeError),
        (4, np.eye(3), jc.ShapeError),
        (4, np.ones(2), jc.ShapeError),
        (4, np.array([[1.0, np.nan], [0.0, 1.0]]), jc.NonFiniteError),
    ],
)
def test_bad_operators_raise_the_right_errors(position, replacement, error):
    from scipy import sparse

    if isinstance(replacement, str):
        replacement = {
            "sparse-shape": lambda: sparse.csr_matrix(np.ones((2, 3))),
            "too-many-entries": lambda: sparse.csr_matrix(np.ones((3, 2))),
            "nan-entry": lambda: sparse.csr_matrix(([np.nan], ([0], [0])), shape=(3, 2)),
            "a list": lambda: [[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]],
        }[replacement]()
    operators = good_operators()
    operators[position] = replacement
    for method in METHODS:
        with pytest.raises(error):
            jc.plan(structured_chain(), method).evaluate(operators)
    # Nothing was asked of the matrix-free layer before the operators were checked.
    if position != 3:
        assert operators[3].tangent_directions == operators[3].adjoint_directions == 0


@needs_scipy
def test_a_sparse_layer_also_takes_its_jacobian_as_a_2d_array():
    operators = good_operators()
    expected = jc.plan(structured_chain()).evaluate(operators)
    operators[2] = operators[2].toarray()
    for method in METHODS:
        np.testing.assert_allclose(
            jc.plan(structured_chain(), method).evaluate(operators), expected
        )


@needs_scipy
def test_wrong_operator_count_and_non_finite_opt_out():
    plan = jc.plan(structured_chain())
    with pytest.raises(jc.ShapeError):
        plan.evaluate(good_operators()[:-1])
    operators = good_operators()
    operators[0] = np.array([np.nan, 1.0])
    assert np.isnan(plan.evaluate(operators, check_finite=False)).any()


class Misbehaving(CountingOperator):
    """Returns results of the wrong shape, or NaN."""

    def __init__(self, J, mode):
        super().__init__(J)
        self.mode = mode

    def matmat(self, V):
        result = super().matmat(V)
        return result[:-1] if self.mode == "shape" else result * np.nan

    def rmatmat(self, U):
        result = super().rmatmat(U)
        return result[:-1] if self.mode == "shape" else result * np.nan


@needs_scipy
@pytest.mark.parametrize(("mode", "error"), [("shape", jc.ShapeError), ("nan", jc.NonFiniteError)])
def test_matrix_free_results_are_checked(mode, error):
    operators = good_operators()
    operators[3] = Misbehaving(np.ones((2, 3)), mode)
    for method in METHODS:
        with pytest.raises(error):
            jc.plan(structured_chain(), method).evaluate(operators)


# --- method errors -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["hu-shing", "approx"])
def test_dense_only_methods_refuse_structured_chains(method):
    for chain in (structured_chain(), naumann_chain(), jc.Chain([jc.Layer(3, 3, "identity")])):
        with pytest.raises(jc.MethodError):
            jc.plan(chain, method)


@pytest.mark.parametrize("limit", [-1, 1.5, 2.0, True, "3", [3]])
@pytest.mark.parametrize("method", METHODS)
def test_invalid_memory_limits_raise_method_error(limit, method):
    with pytest.raises(jc.MethodError):
        jc.plan(naumann_chain(), method, memory_limit=limit)
    with pytest.raises(jc.MethodError):
        jc.plan([3, 4, 5], method, memory_limit=limit)


def test_numpy_integer_memory_limits_are_accepted():
    assert jc.plan(naumann_chain(), memory_limit=np.int64(0)).memory_limit == 0


def test_reverse_mode_beyond_the_memory_limit_is_a_method_error():
    chain = naumann_chain()
    tape = jc.plan(chain, "reverse").largest_tape
    assert tape == 29
    with pytest.raises(jc.MethodError):
        jc.plan(chain, "reverse", memory_limit=tape - 1)
    assert jc.plan(chain, "reverse", memory_limit=tape).cost == 100
    # The optimal plan under the same limit is still found (and may differ).
    limited = jc.plan(chain, memory_limit=tape - 1)
    assert limited.largest_tape <= tape - 1
    assert limited.cost == generalized_optimum(spec_of(chain), tape - 1)
