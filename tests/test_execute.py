"""The step walker shared by the JAX and PyTorch front ends, run here on numpy arrays."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import evaluate_steps, planned_directions, spec_of

import jacchain as jc
from jacchain.errors import LayerError, ShapeError
from jacchain.execution.executor import Linearization, execute, sweeps_needed
from jacchain.layers.common import (
    cached_plan,
    calibrated_layer,
    check_callables,
    check_vector_shape,
    describe,
)
from jacchain.testing import plain_product, profile_examples

seeds = st.integers(min_value=0, max_value=2**32 - 1)
KINDS = ("dense", "diagonal", "identity", "sparse", "matrix-free")
PLANS = [("auto", None), ("dp", None), ("forward", None), ("reverse", None), ("auto", 0)]


class Counted:
    """A matrix-free layer's J V and R J that count the directions asked of them."""

    def __init__(self, A):
        self.A, self.tangent_directions, self.adjoint_directions = A, 0, 0

    def tangent(self, V):
        self.tangent_directions += V.shape[1]
        return self.A @ V

    def adjoint(self, R):
        self.adjoint_directions += R.shape[0]
        return R @ self.A


def random_layer(rng, kind, size):
    """(layer, operator for evaluate, linearization for execute, dense Jacobian, counter)."""
    from scipy import sparse

    n_out = int(rng.integers(1, 6)) if kind in ("dense", "sparse", "matrix-free") else size
    if kind == "dense":
        J = rng.standard_normal((n_out, size))
        return jc.Layer(size, n_out), J, Linearization("dense", size, J), J, None
    if kind == "diagonal":
        d = rng.standard_normal(size)
        layer = jc.Layer(size, size, "diagonal")
        return layer, d, Linearization("diagonal", size, d), np.diag(d), None
    if kind == "identity":
        layer = jc.Layer(size, size, "identity")
        return layer, None, Linearization("identity", size), np.eye(size), None
    if kind == "sparse":
        nnz = int(rng.integers(0, size * n_out + 1))
        flat = rng.choice(size * n_out, size=nnz, replace=False)
        S = sparse.csr_matrix(
            (rng.standard_normal(nnz), (flat // size, flat % size)), shape=(n_out, size)
        )
        layer = jc.Layer(size, n_out, "sparse", nnz=nnz)
        return layer, S, Linearization("sparse", size, S), S.toarray(), None
    A = rng.standard_normal((n_out, size))
    counter = Counted(A)
    operator = jc.layers.MatrixFreeOperator(A.shape, A.__matmul__, A.T.__matmul__)
    linearization = Linearization(
        "matrix-free", size, tangent=counter.tangent, adjoint=counter.adjoint
    )
    layer = describe(size, n_out, kind, *rng.integers(1, 50, 2).tolist())
    return layer, operator, linearization, A, counter


def random_problem(seed):
    """A random chain of every kind: operators for evaluate, linearizations for execute,
    the dense Jacobians and the counters of the matrix-free layers."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 6))
    drawn = []
    for _ in range(int(rng.integers(1, 7))):
        drawn.append(random_layer(rng, KINDS[int(rng.integers(len(KINDS)))], size))
        size = drawn[-1][0].n_out
    layers, operators, linearized, jacobians, counters = map(list, zip(*drawn, strict=True))
    return jc.Chain(layers), operators, linearized, jacobians, counters


def only_needed(p, linearized):
    """The linearizations as the front ends build them: only the products the plan asks for."""
    return [
        replace(
            lin,
            tangent=lin.tangent if "tangent" in need else None,
            adjoint=lin.adjoint if "adjoint" in need else None,
        )
        for lin, need in zip(linearized, sweeps_needed(p), strict=True)
    ]


@settings(max_examples=profile_examples(4 / 3))
@given(seeds)
def test_execute_and_evaluate_equal_the_independent_evaluator(seed):
    chain, operators, linearized, jacobians, counters = random_problem(seed)
    spec, expected = spec_of(chain), plain_product(jacobians)
    for method, limit in PLANS:
        p = jc.plan(chain, method, limit)
        independent = evaluate_steps(spec, p.step_array, jacobians)
        np.testing.assert_allclose(independent, expected, rtol=1e-10, atol=1e-10)
        for counter in filter(None, counters):
            counter.tangent_directions = counter.adjoint_directions = 0
        result = execute(p, only_needed(p, linearized), np.eye)
        np.testing.assert_allclose(result, independent, rtol=1e-10, atol=1e-10)
        tangent, adjoint = planned_directions(spec, p.step_array)
        for number, counter in enumerate(counters, 1):
            if counter is not None:
                seen = (counter.tangent_directions, counter.adjoint_directions)
                assert seen == (tangent[number - 1], adjoint[number - 1]), (method, number)
        np.testing.assert_allclose(p.evaluate(operators), independent, rtol=1e-10, atol=1e-10)


def test_sweeps_needed_by_the_pure_modes():
    mf = jc.Layer(3, 3, "matrix-free", edges=9)
    chain = jc.Chain([mf, jc.Layer(3, 3, "diagonal"), mf])
    assert sweeps_needed(jc.plan(chain, "forward")) == [{"tangent"}, set(), {"tangent"}]
    assert sweeps_needed(jc.plan(chain, "reverse")) == [{"adjoint"}, set(), {"adjoint"}]
    assert sweeps_needed(jc.plan([2, 3, 4])) == [set(), set()]


def test_single_explicit_layers_come_back_dense():
    for lin, expected in (
        (Linearization("identity", 2), np.eye(2)),
        (Linearization("diagonal", 2, np.array([2.0, 3.0])), np.diag([2.0, 3.0])),
    ):
        chain = jc.Chain([jc.Layer(2, 2, lin.kind)])
        np.testing.assert_array_equal(execute(jc.plan(chain), [lin], np.eye), expected)


def test_cached_plans_and_descriptions():
    layers = [describe(4, 2, "dense"), describe(2, 4, "matrix-free")]
    assert cached_plan(layers) is cached_plan(jc.Chain(layers))
    assert cached_plan(layers, "forward") is not cached_plan(layers)
    assert describe(4, 2, "matrix-free", 3, 5).jvp_cost == 3
    with pytest.raises(jc.MethodError):
        cached_plan(layers, ["auto"])


def test_calibrated_costs_are_positive_multiply_adds():
    layer = calibrated_layer(4, 2, 0.0, 3e-9, 1e-9)
    assert (layer.jvp_cost, layer.vjp_cost) == (1, 3)


def test_input_checks():
    assert check_callables(abs) == [abs]
    with pytest.raises(LayerError, match=r"layer 1 is a str \('abs'\), not a callable"):
        check_callables(["abs"])
    with pytest.raises(ShapeError, match="layer 2's output must be a 1-D vector"):
        check_vector_shape((), 2)
    with pytest.raises(ShapeError, match="x must have size 3"):
        check_vector_shape((4,), size=3)
