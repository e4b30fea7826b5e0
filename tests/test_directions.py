"""Matrix-free sweeps in chunks of directions (in turn here; on a cluster in test_dask.py)."""

import numpy as np
import pytest

import jacchain as jc
from jacchain.errors import MethodError
from jacchain.execution.directions import ChunkedOperator


class Recorded:
    """A dense matrix behind matmat/rmatmat that records how many directions each call got."""

    def __init__(self, matrix):
        self.matrix, self.widths = matrix, []

    def matmat(self, V):
        self.widths.append(V.shape[1])
        return self.matrix @ V

    def rmatmat(self, U):
        self.widths.append(U.shape[1])
        return self.matrix.conj().T @ U


def chain_and_operators(seed=0):
    rng = np.random.default_rng(seed)
    A, M, B = rng.standard_normal((30, 4)), rng.standard_normal((30, 30)), rng.standard_normal((5, 30))
    chain = jc.Chain([jc.Layer(4, 30), jc.Layer(30, 30, "matrix-free", edges=900), jc.Layer(30, 5)])
    return chain, [A, Recorded(M), B], B @ M @ A


@pytest.mark.parametrize("method", ["forward", "reverse"])
@pytest.mark.parametrize("chunk", [1, 3, 7, 100])
def test_chunked_sweeps_equal_whole_ones(method, chunk):
    chain, operators, expected = chain_and_operators()
    J = jc.plan(chain, method).evaluate(operators, chunk_size=chunk)
    np.testing.assert_allclose(J, expected)
    widths = operators[1].widths
    assert widths and max(widths) <= chunk and sum(widths) == (4 if method == "forward" else 5)


def test_no_chunking_by_default_and_bad_chunk_sizes():
    chain, operators, expected = chain_and_operators()
    np.testing.assert_allclose(jc.plan(chain, "forward").evaluate(operators), expected)
    assert operators[1].widths == [4]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(MethodError, match="chunk_size"):
            jc.plan(chain, "forward").evaluate(operators, chunk_size=bad)
    with pytest.raises(MethodError, match="chunk_size"):
        ChunkedOperator(operators[1], 0)
