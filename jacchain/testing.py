"""Test helpers: hypothesis strategies for chains, brute-force references, random Jacobians.

Import it in your own test suites (it needs ``hypothesis``, part of the ``dev`` extra)::

    from jacchain.testing import dims_lists, enumerate_bracketings
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .solvers.bracketing import Operation

__all__ = [
    "dims_lists",
    "enumerate_bracketings",
    "exhaustive_optimum",
    "random_jacobians",
    "plain_product",
]


def dims_lists(min_layers: int = 1, max_layers: int = 8, min_dim: int = 1, max_dim: int = 64):
    """A hypothesis strategy for ``dims = [d0, ..., dk]`` with ``min_layers <= k <= max_layers``.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(dims_lists(max_layers=3))
    ... def test_positive(dims):
    ...     assert min(dims) >= 1 and 2 <= len(dims) <= 4
    >>> test_positive()
    """
    from hypothesis import strategies as st

    return st.lists(
        st.integers(min_value=min_dim, max_value=max_dim),
        min_size=min_layers + 1,
        max_size=max_layers + 1,
    )


def _bracketings(lo: int, hi: int) -> Iterator[list[tuple[int, int, int, int]]]:
    if lo == hi:
        yield []
        return
    for split in range(lo, hi):
        for lower in _bracketings(lo, split):
            for upper in _bracketings(split + 1, hi):
                yield lower + upper + [(int(Operation.PRODUCT), lo, split, hi)]


def enumerate_bracketings(k: int) -> Iterator[np.ndarray]:
    """Every bracketing of a chain of ``k`` layers as a step array (Catalan(k-1) of them).

    Examples
    --------
    >>> sum(1 for _ in enumerate_bracketings(5))
    14
    """
    for rows in _bracketings(1, k):
        yield np.array(rows, dtype=np.int64).reshape(-1, 4)


def exhaustive_optimum(dims: Sequence[int]) -> int:
    """The least cost over every bracketing, by brute force (use for k <= 10 or so).

    Examples
    --------
    >>> exhaustive_optimum([1000, 10, 1000, 10, 1000])
    10200000
    """
    from .chain import Chain
    from .plan import Plan

    chain = Chain.from_dims(dims)
    return min(Plan.from_steps(chain, steps).cost for steps in enumerate_bracketings(len(chain)))


def random_jacobians(
    dims: Sequence[int], seed: int | np.random.Generator = 0, dtype: type = np.float64
) -> list[np.ndarray]:
    """Random J_1, ..., J_k for ``dims``, scaled so that long products stay O(1).

    Examples
    --------
    >>> [J.shape for J in random_jacobians([4, 3, 2])]
    [(3, 4), (2, 3)]
    """
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i])).astype(dtype)
        for i in range(len(dims) - 1)
    ]


def plain_product(jacobians: Sequence[np.ndarray]) -> np.ndarray:
    """J_k ... J_1 multiplied left to right, the reference result.

    Examples
    --------
    >>> plain_product([np.ones((3, 2)), np.ones((1, 3))])
    array([[3., 3.]])
    """
    result = np.asarray(jacobians[-1])
    for matrix in reversed(jacobians[:-1]):
        result = result @ np.asarray(matrix)
    return result
