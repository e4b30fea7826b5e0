"""Compiled plans: the same numbers as the plain product, the cheap checks, every backend."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jacchain as jc
from jacchain.execution.program import MAX_SOURCE_STEPS, program
from jacchain.testing import plain_product, profile_examples, random_layer_chain

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=profile_examples(1))
@given(seeds, st.sampled_from(["auto", "forward", "reverse", "windowed"]))
def test_compiled_plans_equal_evaluate_and_the_plain_product(seed, method):
    chain, operators, jacobians = random_layer_chain(seed, max_layers=7, max_dim=5)
    p = jc.plan(chain, method)
    evaluated = p.evaluate(operators)
    compiled = p.compile()(operators)
    np.testing.assert_array_equal(compiled, evaluated)
    np.testing.assert_allclose(compiled, plain_product(jacobians), rtol=1e-10, atol=1e-12)


def test_outer_products_are_broadcasts_with_identical_results():
    rng = np.random.default_rng(0)
    J1, J2 = rng.standard_normal((1, 7)), rng.standard_normal((5, 1))
    p = jc.plan([7, 1, 5])
    assert "v1 = J2 * J1" in p.compile().source
    np.testing.assert_array_equal(p.evaluate([J1, J2]), J2 @ J1)
    dims = [6, 1, 4, 1, 3]
    Js = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(4)]
    for method in ("auto", "forward", "reverse"):
        q = jc.plan(dims, method)
        by_matmul = program(dims, ["dense"] * 4, q.step_array)
        source = by_matmul.source.replace(" * ", " @ ")
        namespace = {}
        exec(source, namespace)
        np.testing.assert_array_equal(q.evaluate(Js), namespace["run"](Js, np.eye))


def test_long_programs_run_as_a_loop_with_the_same_result():
    k = MAX_SOURCE_STEPS + 50
    dims = [2, 3] * (k // 2) + [2]
    p = jc.plan(dims)
    assert len(p.compile()._program.instructions) > MAX_SOURCE_STEPS
    rng = np.random.default_rng(1)
    Js = [rng.standard_normal((dims[i + 1], dims[i])) / 2 for i in range(len(dims) - 1)]
    np.testing.assert_allclose(p.evaluate(Js), plain_product(Js), rtol=1e-9, atol=1e-300)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("dims", [[50, 2, 50, 2], [2, 50, 50, 2]], ids=["inputs", "result"])
def test_a_non_finite_jacobian_is_named_whichever_is_scanned(dims, position):
    rng = np.random.default_rng(2)
    Js = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(3)]
    Js[position][0, 0] = np.nan if position != 1 else np.inf
    with pytest.raises(jc.NonFiniteError, match=f"J{position + 1} has NaN or infinite"):
        jc.plan(dims).evaluate(Js)
    jc.plan(dims).evaluate(Js, check_finite=False)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_an_overflow_of_finite_products_is_not_an_error():
    J = np.full((2, 2), 1e300)
    result = jc.plan([2, 2, 2]).evaluate([J, J])
    assert np.isinf(result).all()


def test_a_single_layer_is_returned_as_a_copy():
    J = np.ones((3, 2))
    result = jc.plan([2, 3]).evaluate([J])
    assert result is not J and np.array_equal(result, J)
    result[0, 0] = 5.0
    assert J[0, 0] == 1.0


def test_anything_but_trusted_arrays_takes_the_checked_path():
    p = jc.plan([2, 3, 4])
    lists = [[[1, 2], [3, 4], [5, 6]], np.ones((4, 3), dtype=np.float32)]
    np.testing.assert_array_equal(p.evaluate(lists), np.ones((4, 3)) @ np.array(lists[0], float))
    with pytest.raises(jc.ShapeError, match="J2 must have shape"):
        p.evaluate([np.ones((3, 2)), np.ones((3, 4))])


def test_compiled_callables_are_cached_and_refuse_unknown_backends():
    p = jc.plan([3, 4, 5])
    assert p.compile() is p.compile("numpy")
    with pytest.raises(jc.MethodError, match="unknown backend 'cupy'"):
        p.compile("cupy")
    sparse = jc.plan(jc.Chain([jc.Layer(3, 3, "sparse", nnz=3), jc.Layer(3, 2)]))
    with pytest.raises(jc.MethodError, match="compiles for numpy only"):
        sparse.compile("jax")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_run_the_same_program(backend):
    library = pytest.importorskip(backend)
    chain = jc.Chain([jc.Layer(3, 3, "identity"), jc.Layer(3, 3, "diagonal"), jc.Layer(3, 2)])
    rng = np.random.default_rng(3)
    d, W = rng.standard_normal(3), rng.standard_normal((2, 3))
    expected = W @ np.diag(d)
    for method in ("auto", "forward", "reverse"):
        p = jc.plan(chain, method)
        if backend == "jax":
            ops = [None, library.numpy.asarray(d), library.numpy.asarray(W)]
        else:
            ops = [None, library.as_tensor(d), library.as_tensor(W)]
        result = p.compile(backend)(ops)
        np.testing.assert_allclose(np.asarray(result), expected, rtol=1e-6)
    identity_only = jc.plan(jc.Chain([jc.Layer(2, 2, "identity")]))
    eye = identity_only.compile(backend)([None])
    np.testing.assert_array_equal(np.asarray(eye), np.eye(2))


def test_matrix_free_operators_in_every_form():
    chain = jc.Chain([jc.Layer(3, 4, "matrix-free", edges=12), jc.Layer(4, 2)])
    rng = np.random.default_rng(4)
    A, W = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    forms = [
        jc.testing.CountingOperator(A),
        (lambda V: A @ V, lambda R: R @ A),
        jc.execution.Linearization("matrix-free", 3, tangent=lambda V: A @ V, adjoint=lambda R: R @ A),
    ]
    for method in ("forward", "reverse"):
        p = jc.plan(chain, method)
        for form in forms:
            np.testing.assert_allclose(p.compile()([form, W]), W @ A, rtol=1e-12)
