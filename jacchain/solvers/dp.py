"""The exact O(k^3) dynamic program for the matrix-chain order, vectorized with numpy."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..chain import Chain
from ..cost import exact_array, fits_int64
from .bracketing import steps_from_splits

__all__ = ["dp_steps", "dp_table"]


def dp_table(dims: np.ndarray) -> tuple[object, np.ndarray]:
    """Optimal cost of the whole chain and the table of optimal splits.

    Parameters
    ----------
    dims : numpy.ndarray
        The validated dims ``[d0, ..., dk]``.

    Returns
    -------
    cost : int
        The optimal number of multiply-adds (an exact Python int).
    lower : numpy.ndarray
        ``lower[n, i]`` is the number of matrices in the input-side operand of the best
        top-level split of the segment of ``n`` matrices that starts at matrix ``i``
        (0-based).

    Notes
    -----
    Level ``n`` (segment length) is solved for every start ``i`` and every split at once:
    the costs of the input-side parts are a block of the table indexed by start, the
    output-side parts a block of a second copy indexed by end, and the split products
    ``d_i d_{i+a} d_{i+n}`` a sliding window over ``dims``. This keeps the O(k^3)
    arithmetic inside numpy. Ties go to the smallest input-side part.

    Exactness: every candidate value is the cost of some bracketing of a sub-chain, which
    is at most ``(k - 1) * max(dims)^3``. When that bound is below 2^62 the table is int64,
    whose arithmetic is then exact; otherwise it is an object array of Python ints (exact
    at any size, and slower).

    Examples
    --------
    >>> cost, lower = dp_table(np.array([1000, 10, 1000, 10, 1000]))
    >>> cost
    10200000
    """
    k = dims.size - 1
    safe = fits_int64(int(dims.max()), max(k - 1, 1))
    dtype = np.int64 if safe else object
    d = exact_array(dims, safe)
    by_start = np.zeros((k + 1, k), dtype=dtype)
    by_end = np.zeros((k + 1, k), dtype=dtype)
    lower = np.zeros((k + 1, k), dtype=np.int64)
    for n in range(2, k + 1):
        width = k - n + 1
        columns = np.arange(width)
        outer = d[:width] * d[n : n + width]
        inner = sliding_window_view(d, width)[1:n]
        candidates = by_start[1:n, :width] + by_end[n - 1 : 0 : -1, n - 1 : k]
        candidates += inner * outer
        best = np.argmin(candidates, axis=0)
        values = candidates[best, columns]
        by_start[n, :width] = values
        by_end[n, n - 1 : k] = values
        lower[n, :width] = best + 1
    return int(by_start[k, 0]) if k >= 1 else 0, lower


def dp_steps(chain: Chain) -> np.ndarray:
    """Steps of an optimal bracketing found by the exact O(k^3) dynamic program.

    Parameters
    ----------
    chain : Chain

    Returns
    -------
    numpy.ndarray
        The step array ``(op, lo, split, hi)`` in execution order.

    Notes
    -----
    The classic matrix-chain recurrence (Godbole 1973; Cormen et al., "Introduction to
    Algorithms", sec. 15.2): ``m[i, j] = min_s m[i, s] + m[s+1, j] + d_{i-1} d_s d_j``.
    O(k^3) time and O(k^2) memory; see :func:`dp_table` for the vectorization and the
    exactness guarantee.

    Examples
    --------
    >>> from jacchain import Chain
    >>> dp_steps(Chain.from_dims([1000, 10, 1000, 10, 1000])).tolist()
    [[0, 2, 2, 3], [0, 2, 3, 4], [0, 1, 1, 4]]
    """
    _, lower = dp_table(chain.dims_array)
    return steps_from_splits(len(chain), lambda lo, hi: lo - 1 + int(lower[hi - lo + 1, lo - 1]))
