"""The step walker shared by the JAX and PyTorch front ends, run here on numpy arrays."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jacchain as jc
from jacchain.errors import LayerError, ShapeError
from jacchain.execute import (
    Linearization,
    cached_plan,
    calibrated_layer,
    check_callables,
    check_vector_shape,
    describe,
    execute,
    sweeps_needed,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
KINDS = ("dense", "diagonal", "identity", "matrix-free")


def random_problem(seed):
    """A random chain of every kind, numpy operators for evaluate and linearizations for execute."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 6))
    layers, operators, linearized = [], [], []
    for _ in range(int(rng.integers(1, 7))):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        n_out = int(rng.integers(1, 6)) if kind in ("dense", "matrix-free") else size
        if kind == "dense":
            J = rng.standard_normal((n_out, size))
            operators.append(J)
            linearized.append(Linearization("dense", size, J))
        elif kind == "diagonal":
            d = rng.standard_normal(size)
            operators.append(d)
            linearized.append(Linearization("diagonal", size, d))
        elif kind == "identity":
            operators.append(None)
            linearized.append(Linearization("identity", size))
        else:
            A = rng.standard_normal((n_out, size))
            operators.append(jc.layers.MatrixFreeOperator(A.shape, A.__matmul__, A.T.__matmul__))
            linearized.append(
                Linearization("matrix-free", size, tangent=A.__matmul__, adjoint=A.__rmatmul__)
            )
        layers.append(describe(size, n_out, kind, *rng.integers(1, 50, 2).tolist()))
        size = n_out
    return jc.Chain(layers), operators, linearized


@settings(max_examples=80)
@given(seeds)
def test_execute_agrees_with_evaluate(seed):
    chain, operators, linearized = random_problem(seed)
    for method in ("auto", "forward", "reverse"):
        p = jc.plan(chain, method)
        only_needed = [  # as the front ends build them: only the products the plan asks for
            replace(
                lin,
                tangent=lin.tangent if "tangent" in need else None,
                adjoint=lin.adjoint if "adjoint" in need else None,
            )
            for lin, need in zip(linearized, sweeps_needed(p), strict=True)
        ]
        result = execute(p, only_needed, np.eye)
        np.testing.assert_allclose(result, p.evaluate(operators), rtol=1e-12, atol=1e-12)


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
