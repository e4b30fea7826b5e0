import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jacchain as jc
from jacchain.testing import dims_lists, plain_product, random_jacobians


@given(dims_lists(max_layers=8, max_dim=12), st.integers(0, 2**31))
def test_evaluation_equals_the_plain_product(dims, seed):
    Js = random_jacobians(dims, seed)
    expected = plain_product(Js)
    for method in ("auto", "forward", "reverse"):
        result = jc.plan(dims, method).evaluate(Js)
        assert result.shape == (dims[-1], dims[0])
        np.testing.assert_allclose(result, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dims", [[1, 5, 1], [1, 1], [5, 1], [1, 7, 3, 1], [4, 1, 1, 4]])
def test_unit_dims_and_single_layers(dims):
    Js = random_jacobians(dims, 3)
    np.testing.assert_allclose(jc.evaluate(jc.plan(dims), Js), plain_product(Js))


def test_single_layer_returns_a_copy():
    J = np.arange(6.0).reshape(3, 2)
    out = jc.plan([2, 3]).evaluate([J])
    out[0, 0] = 99
    assert J[0, 0] == 0


def test_complex_and_integer_inputs():
    dims = [3, 4, 2]
    Js = [np.ones((4, 3), dtype=complex) * 1j, np.arange(8).reshape(2, 4)]
    np.testing.assert_allclose(jc.plan(dims).evaluate(Js), Js[1] @ Js[0])


@pytest.fixture
def p():
    return jc.plan([3, 4, 2])


def test_wrong_number_of_jacobians(p):
    with pytest.raises(jc.ShapeError, match="2 layers but 1 Jacobians"):
        p.evaluate([np.ones((4, 3))])


def test_wrong_shape_names_the_layer(p):
    with pytest.raises(jc.ShapeError, match=r"J2 must have shape \(d2, d1\) = \(2, 4\)"):
        p.evaluate([np.ones((4, 3)), np.ones((4, 2))])


def test_wrong_ndim(p):
    with pytest.raises(jc.ShapeError, match="ndim 1"):
        p.evaluate([np.ones((4, 3)), np.ones(8)])


@pytest.mark.parametrize("bad", [np.ones((2, 4, 3)), None, 5, "ab"])
def test_not_a_list_of_jacobians(p, bad):
    with pytest.raises(jc.ShapeError):
        p.evaluate(bad)


def test_non_numeric_and_ragged(p):
    with pytest.raises(jc.ShapeError, match="hold numbers"):
        p.evaluate([np.full((4, 3), "x"), np.ones((2, 4))])
    with pytest.raises(jc.ShapeError):
        p.evaluate([[[1, 2], [3]], np.ones((2, 4))])


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_are_an_error_by_default(p, value):
    J1 = np.ones((4, 3))
    J1[1, 2] = value
    with pytest.raises(jc.NonFiniteError, match="J1"):
        p.evaluate([J1, np.ones((2, 4))])
    out = p.evaluate([J1, np.ones((2, 4))], check_finite=False)
    assert not np.isfinite(out).all()


def test_evaluate_requires_a_plan():
    with pytest.raises(jc.JacChainError):
        jc.evaluate([3, 4], [np.ones((4, 3))])


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, bool])
def test_integer_and_bool_jacobians_are_computed_in_float64(dtype):
    A = np.full((4, 3), 100).astype(dtype)
    B = np.full((2, 4), 100).astype(dtype)
    expected = B.astype(np.float64) @ A.astype(np.float64)
    for method in ("auto", "forward", "reverse"):
        J = jc.plan([3, 4, 2], method).evaluate([A, B])
        assert J.dtype == np.float64
        np.testing.assert_array_equal(J, expected)


def test_integer_diagonal_sparse_and_operator_results_are_promoted():
    sparse = pytest.importorskip("scipy.sparse")
    chain = jc.Chain(
        [
            jc.Layer(3, 3, "diagonal"),
            jc.Layer(3, 3, "sparse", nnz=9),
            jc.Layer(3, 2, "matrix-free", edges=6),
        ]
    )
    d = np.full(3, 100, dtype=np.int8)
    S = sparse.csr_matrix(np.full((3, 3), 100, dtype=np.int8))
    W = np.full((2, 3), 100, dtype=np.int8)
    op = jc.layers.MatrixFreeOperator(
        (2, 3), lambda V: (W @ V).astype(np.int64), lambda U: (W.T @ U).astype(np.int64)
    )
    expected = W.astype(float) @ np.full((3, 3), 100.0) @ np.diag(d.astype(float))
    for method in ("auto", "forward", "reverse"):
        np.testing.assert_array_equal(jc.plan(chain, method).evaluate([d, S, op]), expected)


def test_a_sparse_matrix_for_a_dense_layer_is_accepted():
    sparse = pytest.importorskip("scipy.sparse")
    A = np.arange(12.0).reshape(4, 3)
    B = np.ones((2, 4))
    np.testing.assert_array_equal(jc.plan([3, 4, 2]).evaluate([sparse.csr_matrix(A), B]), B @ A)
    with pytest.raises(jc.ShapeError, match="sparse matrix of shape"):
        jc.plan([3, 4, 2]).evaluate([sparse.csr_matrix(A.T), B])


def test_an_operator_for_a_dense_layer_says_what_to_declare():
    op = jc.layers.MatrixFreeOperator((4, 3), lambda V: V, lambda U: U)
    with pytest.raises(jc.OperatorError, match="declare the layer 'matrix-free'"):
        jc.plan([3, 4, 2]).evaluate([op, np.ones((2, 4))])


def test_an_array_that_numpy_cannot_read_is_a_shape_error_naming_the_layer():
    class Unreadable:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")

    with pytest.raises(jc.ShapeError, match=r"J2 \(Unreadable\) cannot be read.*detach"):
        jc.plan([3, 4, 2]).evaluate([np.ones((4, 3)), Unreadable()])


class _Broken:
    shape = (4, 3)

    def __init__(self, matmat, rmatmat):
        self.matmat, self.rmatmat = matmat, rmatmat


@pytest.mark.parametrize(
    "method, operator, match",
    [
        ("reverse", _Broken(lambda V: V, lambda U: None), "rmatmat must return a numeric array"),
        ("forward", _Broken(lambda V: None, lambda U: U), "matmat must return a numeric array"),
        ("reverse", _Broken(lambda V: V, lambda U: "text"), "rmatmat must return a numeric array"),
        ("forward", _Broken(lambda V: 1 / 0, lambda U: U), "matmat failed .*ZeroDivisionError"),
        ("reverse", _Broken(lambda V: V, lambda U: [[object()]]), "got ndarray|got list"),
    ],
)
def test_a_matrix_free_operator_that_misbehaves_is_named(method, operator, match):
    chain = jc.Chain([jc.Layer(3, 4, "matrix-free", edges=5), jc.Layer(4, 1)])
    with pytest.raises(jc.OperatorError, match=match):
        jc.plan(chain, method).evaluate([operator, np.ones((1, 4))])
