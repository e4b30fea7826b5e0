"""The cheapest bracketing whose intermediates all fit a bound: the matrix-chain DP with a
memory constraint (the final Jacobian exempt), as opt_einsum's ``memory_limit`` bounds a
contraction's intermediates."""

from __future__ import annotations

import numpy as np

from ..chains.chain import Chain
from ..chains.cost import fits_int64
from ..chains.steps import steps_from_splits
from ..errors import MethodError
from .limits import MAX_DP_LAYERS_PYTHON_INTS, check_length

__all__ = ["bounded_steps", "smallest_bound", "check_max_intermediate", "intermediate_peak",
           "MAX_BOUNDED_LAYERS"]

MAX_BOUNDED_LAYERS = MAX_DP_LAYERS_PYTHON_INTS
"""Most layers the bounded DP plans (one numpy call per segment: about 1 s at 300)."""


def check_max_intermediate(value: object) -> int | None:
    """``max_intermediate`` checked: None, or a positive int.

    Examples
    --------
    >>> check_max_intermediate(10), check_max_intermediate(None)
    (10, None)
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise MethodError(f"max_intermediate must be a positive int or None, got {value!r}")
    return int(value)


def _sizes(dims: np.ndarray) -> np.ndarray:
    """``sizes[lo, hi]``: elements of the product of layers lo..hi (1-based), as Python ints."""
    d = [int(v) for v in dims]
    k = len(d) - 1
    sizes = np.zeros((k + 2, k + 2), dtype=object)
    for lo in range(1, k + 1):
        for hi in range(lo, k + 1):
            sizes[lo, hi] = d[hi] * d[lo - 1]
    return sizes


def bounded_steps(chain: Chain, max_intermediate: int) -> np.ndarray:
    """Steps of the cheapest bracketing of a dense chain in which every product but the
    final one has at most ``max_intermediate`` elements.

    The recurrence of :func:`jacchain.solvers.dp.dp_steps`,
    ``m[i, j] = min_s m[i, s] + m[s+1, j] + d_{i-1} d_s d_j``, over the segments whose
    product ``d_j x d_{i-1}`` fits the bound (every segment of one layer does: the layers'
    Jacobians are inputs, not intermediates; the whole chain is exempt). Exact, O(k^3).

    Raises
    ------
    MethodError
        If the chain is not dense, longer than the exact DP's limit, or no bracketing fits
        (the message gives the smallest bound that does: :func:`smallest_bound`).

    Examples
    --------
    >>> from jacchain import Chain
    >>> chain = Chain.from_dims([10, 100, 2, 10, 1000])  # optimal: (J4 J3) (J2 J1), 42,000
    >>> bounded_steps(chain, 100).tolist()  # J4 (J3 (J2 J1)): no intermediate over 100
    [[0, 1, 1, 2], [0, 1, 2, 3], [0, 1, 3, 4]]
    """
    if not chain.is_dense:
        raise MethodError("max_intermediate bounds dense chains only (every layer dense)")
    dims = chain.dims_array
    k = dims.size - 1
    safe = fits_int64(int(dims.max()), k)
    check_length("max_intermediate's DP", k, MAX_BOUNDED_LAYERS, safe,
                 "no other planner bounds the intermediates")
    if k < 2:
        return steps_from_splits(k, lambda lo, hi: lo)
    big = np.iinfo(np.int64).max // 4 if safe else float("inf")
    dtype = np.int64 if safe else object
    d = dims.astype(np.int64) if safe else np.array([int(v) for v in dims], dtype=object)
    sizes = _sizes(dims)
    cost = np.full((k + 2, k + 2), big, dtype=dtype)
    split = np.zeros((k + 2, k + 2), dtype=np.int64)
    for lo in range(1, k + 1):
        cost[lo, lo] = 0
    for length in range(2, k + 1):
        for lo in range(1, k - length + 2):
            hi = lo + length - 1
            if (lo, hi) != (1, k) and sizes[lo, hi] > max_intermediate:
                continue
            left, right = cost[lo, lo:hi], cost[lo + 1:hi + 1, hi]
            candidates = left + right + d[lo - 1] * d[lo:hi] * d[hi]
            feasible = (left < big) & (right < big)
            if not feasible.any():
                continue
            candidates = np.where(feasible, candidates, big)
            best = int(np.argmin(candidates))
            cost[lo, hi] = candidates[best]
            split[lo, hi] = lo + best
    if not cost[1, k] < big:
        raise MethodError(
            f"no bracketing keeps every intermediate within max_intermediate={max_intermediate:,} "
            f"elements; the smallest bound any bracketing meets is {smallest_bound(chain):,}"
        )
    return steps_from_splits(k, lambda lo, hi: int(split[lo, hi]))


def smallest_bound(chain: Chain) -> int:
    """The least ``max_intermediate`` any bracketing of a dense chain meets: the bottleneck
    DP ``b[i, j] = min_s max(b[i, s], b[s+1, j], size(i..j))`` (0 for a single layer;
    the final product exempt).

    Examples
    --------
    >>> from jacchain import Chain
    >>> smallest_bound(Chain.from_dims([1000, 10, 1000, 10, 1000]))
    10000
    """
    dims = chain.dims_array
    k = dims.size - 1
    sizes = _sizes(dims)
    bound = [[0] * (k + 2) for _ in range(k + 2)]
    for length in range(2, k + 1):
        for lo in range(1, k - length + 2):
            hi = lo + length - 1
            own = 0 if (lo, hi) == (1, k) else sizes[lo, hi]
            bound[lo][hi] = max(own, min(max(bound[lo][s], bound[s + 1][hi]) for s in range(lo, hi)))
    return bound[1][k]


def intermediate_peak(dims: np.ndarray, steps: np.ndarray) -> int:
    """Elements of the largest product a plan's steps form before the last one (the final
    Jacobian exempt); 0 for fewer than two products.

    Examples
    --------
    >>> import numpy as np
    >>> intermediate_peak(np.array([10, 100, 2, 10, 1000]), bounded_steps(
    ...     Chain.from_dims([10, 100, 2, 10, 1000]), 100))
    100
    """
    return max((int(dims[hi]) * int(dims[lo - 1]) for _, lo, _, hi in steps[:-1]), default=0)
