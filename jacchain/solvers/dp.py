"""The exact O(k^3) dynamic program for the matrix-chain order, vectorized with numpy."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..chains.chain import Chain
from ..chains.cost import exact_array, fits_int64
from ..chains.steps import steps_from_splits
from .limits import check_length, dp_limit

__all__ = ["dp_steps", "dp_table", "DPTable"]


_BLOCK = 32768
"""Candidates per numpy call: small enough for the working set to stay in cache
(32768 was fastest of 16384, 32768 and 65536 at k = 300 and k = 1000 on this machine)."""


class DPTable(NamedTuple):
    """The filled tables of the dynamic program (see :func:`dp_table`)."""

    cost: int
    dims: np.ndarray
    by_start: np.ndarray
    by_end: np.ndarray

    def split(self, lo: int, hi: int) -> int:
        """The optimal split of segment ``lo..hi`` (layers, 1-based): ties to the smallest."""
        k = self.dims.size - 1
        start, n = lo - 1, hi - lo + 1
        d = self.dims
        candidates = (
            self.by_start[start, 1:n]
            + self.by_end[start + n - 1, k - n + 1 : k]
            + d[start] * d[start + 1 : start + n] * d[start + n]
        )
        return lo - 1 + int(np.argmin(candidates)) + 1


def dp_table(dims: np.ndarray) -> DPTable:
    """Fill the dynamic program's tables of optimal sub-chain costs.

    Parameters
    ----------
    dims : numpy.ndarray
        The validated dims ``[d0, ..., dk]``.

    Returns
    -------
    DPTable
        ``.cost`` is the optimal number of multiply-adds (an exact Python int);
        ``.split(lo, hi)`` recovers the optimal split of any segment in O(hi - lo).

    Raises
    ------
    MethodError
        If the chain is longer than the DP's limit (see Notes), before any work.

    Notes
    -----
    Level ``n`` (segment length) is solved for every start ``i`` and every split at once:
    the costs of the input-side parts are a block of one table indexed by (start, length),
    the output-side parts a block of a second copy indexed by (end, k - length), and the
    split products ``d_i d_{i+a} d_{i+n}`` a Hankel view of ``dims``; the minimum is taken
    along the contiguous last axis. Rows are processed in blocks of about 32k candidates
    so that the working set stays in cache. Only minima are stored; the k - 1 splits of
    the optimal bracketing are recovered afterwards, one segment at a time. This keeps the
    O(k^3) arithmetic inside numpy.

    Limits: at most :data:`~jacchain.solvers.limits.MAX_DP_LAYERS` layers (1,500) with
    int64 tables, :data:`~jacchain.solvers.limits.MAX_DP_LAYERS_PYTHON_INTS` (300) with
    Python ints; longer chains raise MethodError up front (use Hu-Shing).

    Exactness: every candidate value is the cost of some bracketing of a sub-chain, which
    is at most ``(k - 1) * max(dims)^3``. When that bound is below 2^62 the tables are
    int64, whose arithmetic is then exact; otherwise they are object arrays of Python ints
    (exact at any size, and slower).

    Examples
    --------
    >>> table = dp_table(np.array([1000, 10, 1000, 10, 1000]))
    >>> table.cost, table.split(1, 4)
    (10200000, 1)
    """
    k = dims.size - 1
    safe = fits_int64(int(dims.max()), max(k - 1, 1))
    check_length("dp", k, dp_limit(safe), safe, "use 'hu-shing' or 'auto' (exact, O(k log k))")
    dtype = np.int64 if safe else object
    d = exact_array(dims, safe)
    by_start = np.zeros((k, k + 1), dtype=dtype)
    by_end = np.zeros((k, k + 1), dtype=dtype)
    candidates_buffer = np.zeros(_BLOCK + k, dtype=dtype)
    products_buffer = np.zeros(_BLOCK + k, dtype=dtype)
    # inner[i, a - 1] = d[i + a]: one Hankel view, read only where i + a <= k.
    inner = sliding_window_view(np.concatenate([d[1:], d[1:]]), k)[:k]
    for n in range(2, k + 1):
        width = k - n + 1
        rows_per_block = max(1, _BLOCK // (n - 1))
        outer = d[:width] * d[n : n + width]
        for first in range(0, width, rows_per_block):
            last = min(width, first + rows_per_block)
            rows = last - first
            candidates = candidates_buffer[: rows * (n - 1)].reshape(rows, n - 1)
            products = products_buffer[: rows * (n - 1)].reshape(rows, n - 1)
            np.add(
                by_start[first:last, 1:n],
                by_end[first + n - 1 : last + n - 1, k - n + 1 : k],
                out=candidates,
            )
            np.multiply(inner[first:last, : n - 1], outer[first:last, None], out=products)
            candidates += products
            np.minimum.reduce(candidates, axis=1, out=by_start[first:last, n])
            by_end[first + n - 1 : last + n - 1, k - n] = by_start[first:last, n]
    return DPTable(int(by_start[0, k]), d, by_start, by_end)


def dp_steps(chain: Chain) -> np.ndarray:
    """Steps of an optimal bracketing found by the exact O(k^3) dynamic program.

    Parameters
    ----------
    chain : Chain

    Returns
    -------
    numpy.ndarray
        The step array ``(op, lo, split, hi)`` in execution order.

    Raises
    ------
    MethodError
        For more than 1,500 layers (300 when costs exceed int64): see :func:`dp_table`.

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
    return steps_from_splits(len(chain), dp_table(chain.dims_array).split)
