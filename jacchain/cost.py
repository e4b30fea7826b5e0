"""The cost model: scalar multiply-adds, counted exactly.

Multiplying an (a x b) matrix by a (b x c) matrix costs ``a * b * c`` multiply-adds
(FLOPs are twice that). Every total is returned as an exact Python int: sums are formed in
int64 only when a bound proves they cannot overflow, and in Python ints otherwise.
"""

from __future__ import annotations

import numpy as np

from .chain import Chain, as_chain

__all__ = [
    "INT64_SAFE",
    "fits_int64",
    "exact_array",
    "exact_sum",
    "product_cost",
    "forward_cost",
    "reverse_cost",
    "step_costs",
]

INT64_SAFE = 2**62
"""Values strictly below this bound (and sums of two of them) are exact in int64."""


def fits_int64(largest_dim: int, terms: int, factors: int = 3) -> bool:
    """Whether ``terms`` products of ``factors`` dims (each <= ``largest_dim``) sum exactly in int64.

    Examples
    --------
    >>> fits_int64(1000, 10**6)
    True
    >>> fits_int64(10**7, 2)
    False
    """
    return int(largest_dim) ** factors * max(int(terms), 1) < INT64_SAFE


def exact_array(values: np.ndarray, safe: bool) -> np.ndarray:
    """``values`` as int64 when ``safe``, else as an object array of Python ints."""
    return values.astype(np.int64) if safe else values.astype(object)


def exact_sum(values: np.ndarray) -> int:
    """The exact sum of an int64 or object array as a Python int."""
    if values.dtype == object:
        return int(sum(values.tolist()))
    return int(values.sum(dtype=np.int64))


def product_cost(rows: int, inner: int, cols: int) -> int:
    """Multiply-adds of an (rows x inner) by (inner x cols) product: ``rows * inner * cols``.

    Examples
    --------
    >>> product_cost(1000, 10, 1000)
    10000000
    """
    return int(rows) * int(inner) * int(cols)


def _pairwise_sum_times(dims: np.ndarray, pairs: slice, scale: int) -> int:
    """``scale * sum(d[i] * d[i+1] for the given consecutive pairs)``, exactly."""
    left = dims[:-1][pairs]
    right = dims[1:][pairs]
    if left.size == 0:
        return 0
    safe = fits_int64(int(dims.max()), left.size, factors=2)
    return scale * exact_sum(exact_array(left, safe) * exact_array(right, safe))


def forward_cost(chain_or_dims: Chain | object) -> int:
    """Cost of forward mode, J_k (... (J_3 (J_2 J_1))): ``d0 * sum_{i=2..k} d_i d_{i-1}``.

    Parameters
    ----------
    chain_or_dims : Chain or sequence of int

    Returns
    -------
    int
        Exact multiply-adds; 0 for a single layer.

    Examples
    --------
    >>> forward_cost([1000, 10, 1000, 10, 1000])
    30000000
    """
    dims = as_chain(chain_or_dims).dims_array
    return _pairwise_sum_times(dims, slice(1, None), int(dims[0]))


def reverse_cost(chain_or_dims: Chain | object) -> int:
    """Cost of reverse mode, ((J_k J_{k-1}) J_{k-2}) ...: ``d_k * sum_{i=1..k-1} d_i d_{i-1}``.

    Parameters
    ----------
    chain_or_dims : Chain or sequence of int

    Returns
    -------
    int
        Exact multiply-adds; 0 for a single layer.

    Examples
    --------
    >>> reverse_cost([784, 512, 512, 10, 1])
    668672
    """
    dims = as_chain(chain_or_dims).dims_array
    return _pairwise_sum_times(dims, slice(None, -1), int(dims[-1]))


def step_costs(chain: Chain, steps: np.ndarray) -> np.ndarray:
    """Cost of each product step ``(op, lo, split, hi)``: ``d_hi * d_split * d_{lo-1}``.

    Returns an int64 array when the values provably fit, else an object array of ints.
    """
    dims = chain.dims_array
    if len(steps) == 0:
        return np.zeros(0, dtype=np.int64)
    safe = fits_int64(int(dims.max()), len(steps))
    rows = exact_array(dims[steps[:, 3]], safe)
    inner = exact_array(dims[steps[:, 2]], safe)
    cols = exact_array(dims[steps[:, 1] - 1], safe)
    return rows * inner * cols
