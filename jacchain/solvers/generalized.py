"""Naumann's generalized Jacobian chain: products, tangent and adjoint sweeps, in O(k^3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..chains.chain import Chain
from ..chains.cost import (
    DENSE,
    DIAGONAL,
    IDENTITY,
    SPARSE,
    LayerTable,
    exact_array,
    layer_table,
)
from ..chains.operations import Operation
from ..errors import MethodError, shown
from .limits import check_length, generalized_limit

__all__ = [
    "generalized_steps",
    "generalized_table",
    "GeneralizedTable",
    "accumulation_costs",
    "fits_generalized",
    "fill_table",
    "accumulation_steps",
]

_BLOCK = 32768
_INT64_LIMIT = 2**61


def _check_memory_limit(memory_limit: object) -> int | None:
    if memory_limit is None:
        return None
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, np.integer)):
        raise MethodError(f"memory_limit must be a non-negative int or None, got {shown(memory_limit)}")
    if memory_limit < 0:
        raise MethodError(f"memory_limit must be non-negative, got {memory_limit}")
    return int(memory_limit)


@dataclass(frozen=True)
class GeneralizedTable:
    """The filled dynamic program of a generalized chain (see :func:`generalized_table`).

    ``by_start[i, n]`` is the optimal cost of the segment of ``n`` layers starting after
    position ``i`` (layers i+1..i+n), and ``choices[i, n]`` encodes its optimal last step,
    for every segment of at most ``length`` layers (that lies within one window, for
    :func:`fill_table` with bounds).
    """

    table: LayerTable
    memory_limit: int | None
    sweeps: bool
    length: int
    by_start: np.ndarray
    choices: np.ndarray

    @property
    def cost(self) -> int:
        """The optimal cost of the whole chain (a table over all of it only)."""
        return self.segment_cost(1, len(self.table.dims) - 1)

    def segment_cost(self, lo: int, hi: int) -> int:
        """The optimal cost of accumulating layers lo..hi (at most ``length`` of them)."""
        if hi - lo + 1 > self.length:
            raise ValueError(f"the table holds segments of at most {self.length} layers")
        return int(self.by_start[lo - 1, hi - lo + 1])

    def choice(self, lo: int, hi: int) -> tuple[Operation, int]:
        """The optimal last step of segment lo..hi: (operation, split).

        Ties go to products before tangent steps before adjoint steps, and to the
        smallest split within each.
        """
        n = hi - lo + 1
        kind, offset = divmod(int(self.choices[lo - 1, n]), n - 1)
        return _KINDS[kind], lo + offset

    def steps(
        self,
        lo: int,
        hi: int,
        leaves: list[np.ndarray] | None = None,
        cuts: np.ndarray | None = None,
    ) -> np.ndarray:
        """The optimal plan of segment lo..hi as a step array, in execution order.

        A single layer is accumulated by its cheaper allowed sweeps if matrix-free. With
        ``leaves`` and ``cuts`` (used by :func:`~jacchain.solvers.windowed.windowed_steps`)
        the table's layers stand for runs of finer layers: layer u is
        ``cuts[u-1]+1 .. cuts[u]`` of the finer chain, accumulated by the steps
        ``leaves[u-1]``, and every step is written in the finer chain's numbering.
        """
        if leaves is None:
            leaves = [
                accumulation_steps(self.table, self.memory_limit, layer)
                for layer in range(1, len(self.table.dims))
            ]
        if cuts is None:
            cuts = np.arange(len(self.table.dims), dtype=np.int64)
        parts: list[np.ndarray] = []
        stack: list[tuple[int, int, int, int]] = [(lo, hi, -1, 0)]
        while stack:
            lo, hi, op, split = stack.pop()
            if op >= 0:
                row = (op, int(cuts[lo - 1]) + 1, int(cuts[split]), int(cuts[hi]))
                parts.append(np.array([row], dtype=np.int64))
                continue
            if lo == hi:
                parts.append(leaves[lo - 1])
                continue
            operation, split = self.choice(lo, hi)
            stack.append((lo, hi, int(operation), split))
            if operation != Operation.TANGENT:
                stack.append((split + 1, hi, -1, 0))
            if operation != Operation.ADJOINT:
                stack.append((lo, split, -1, 0))
        return np.concatenate([np.zeros((0, 4), dtype=np.int64), *parts]).reshape(-1, 4)


def accumulation_steps(table: LayerTable, memory_limit: int | None, layer: int) -> np.ndarray:
    """How one layer is accumulated on its own: no step if explicit, else its cheaper sweeps.

    A matrix-free layer is accumulated by adjoint sweeps when they are cheaper and their
    tape fits ``memory_limit``, else by tangent sweeps.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> from jacchain.chains.cost import layer_table
    >>> table = layer_table(Chain([Layer(3, 2), Layer(2, 1, "matrix-free", edges=5)]))
    >>> accumulation_steps(table, None, 1).tolist(), accumulation_steps(table, None, 2).tolist()
    ([], [[4, 2, 2, 2]])
    """
    if not table.matrix_free[layer - 1]:
        return np.zeros((0, 4), dtype=np.int64)
    d = table.dims
    tangent = d[layer - 1] * table.tangent[layer - 1]
    adjoint = d[layer] * table.adjoint[layer - 1]
    op = Operation.ACCUMULATE_TANGENT
    if _fits(memory_limit, table.tape[layer - 1]) and adjoint < tangent:
        op = Operation.ACCUMULATE_ADJOINT
    return np.array([[int(op), layer, layer, layer]], dtype=np.int64)


_KINDS = (Operation.PRODUCT, Operation.TANGENT, Operation.ADJOINT)


def _fits(limit: int | None, tape: int) -> bool:
    return limit is None or tape <= limit


def _hankel(values: np.ndarray, k: int, width: int) -> np.ndarray:
    """``H[i, a - 1] = values[i + a]`` for ``a <= width`` and ``i + a <= k`` (a view)."""
    tail = values[1:]
    return sliding_window_view(np.concatenate([tail, tail[:width]]), width)[:k]


def _structure_codes(diagonal, sparse, dense):
    code = np.where(diagonal > 0, DIAGONAL, IDENTITY)
    code = np.where(sparse == 1, SPARSE, code)
    return np.where((dense > 0) | (sparse >= 2), DENSE, code)


def accumulation_costs(table: LayerTable, memory_limit: int | None) -> list[int]:
    """Cost of accumulating each layer on its own: 0 if explicit, else its cheaper allowed sweeps.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> from jacchain.chains.cost import layer_table
    >>> chain = Chain([Layer(3, 2), Layer(2, 1, "matrix-free", edges=5, tape=9)])
    >>> accumulation_costs(layer_table(chain), None), accumulation_costs(layer_table(chain), 8)
    ([0, 5], [0, 10])
    """
    d = table.dims
    costs = []
    for layer in range(len(d) - 1):
        if not table.matrix_free[layer]:
            costs.append(0)
            continue
        tangent = d[layer] * table.tangent[layer]
        adjoint = d[layer + 1] * table.adjoint[layer]
        allowed = _fits(memory_limit, table.tape[layer])
        costs.append(min(tangent, adjoint) if allowed else tangent)
    return costs


def _value_bound(table: LayerTable, accumulate: list[int]) -> int:
    """An upper bound on every value of the DP's tables (for choosing int64 or Python ints)."""
    k, dmax = len(table.dims) - 1, max(table.dims)
    return (
        sum(accumulate)
        + max(k - 1, 1) * dmax**3
        + dmax * (table.prefix_tangent[-1] + table.prefix_adjoint[-1])
    )


def fits_generalized(chain: Chain, memory_limit: int | None = None) -> bool:
    """Whether the generalized DP accepts ``chain`` (its length is within the limit).

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> fits_generalized(Chain([Layer(2, 2, "diagonal")] * 500)), fits_generalized(
    ...     Chain([Layer(2, 2, "diagonal")] * 501))
    (True, False)
    """
    table = layer_table(chain)
    safe = _value_bound(table, accumulation_costs(table, memory_limit)) < _INT64_LIMIT
    return len(chain) <= generalized_limit(safe)


def generalized_table(
    chain: Chain, memory_limit: int | None = None, sweeps: bool = True
) -> GeneralizedTable:
    """Fill the dynamic program of the generalized Jacobian chain problem.

    Parameters
    ----------
    chain : Chain
        Any chain; structured and matrix-free layers are costed by the rules of
        :mod:`jacchain.chains.cost`.
    memory_limit : int, optional
        Adjoint sweeps whose layers' tapes sum to more than this are not allowed.
    sweeps : bool
        With False only products of accumulated layers are considered (the optimal
        preaccumulation plan).

    Returns
    -------
    GeneralizedTable
        ``.cost`` is the optimal cost (an exact Python int).

    Notes
    -----
    For a segment i..j the candidates are, for every split s: the product of the optimal
    accumulations of i..s and s+1..j; the accumulation of i..s carried forward through
    layers s+1..j by d_{i-1} tangent sweeps; and the accumulation of s+1..j carried back
    through layers i..s by d_j adjoint sweeps. A single matrix-free layer is accumulated
    by the cheaper of its n_in tangent and n_out adjoint sweeps. Sweeps are only
    considered where the segment's product is dense. Each level (segment length) is
    computed for all starts and splits at once with numpy, as in :func:`dp_table`: O(k^3)
    time and O(k^2) memory. Exactness: all values are bounded by the sum of all
    accumulation costs, (k-1) max(d)^3 and max(d) times the sums of all sweep costs; when
    that bound is below 2^61 the tables are int64, else Python ints.

    Limits: at most :data:`~jacchain.solvers.limits.MAX_GENERALIZED_LAYERS` layers (500)
    with int64 tables, :data:`~jacchain.solvers.limits.MAX_GENERALIZED_LAYERS_PYTHON_INTS`
    (200) with Python ints; longer chains raise MethodError before any work.

    References
    ----------
    U. Naumann, "Optimization of generalized dense Jacobian chain products without memory
    constraints", arXiv:2003.05755, 2020.
    U. Naumann, "Matrix-free Jacobian chaining", arXiv:2406.11862, 2024.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> chain = Chain([Layer(3, 3, "matrix-free", edges=29),
    ...                Layer(3, 1, "matrix-free", edges=14),
    ...                Layer(1, 2, "matrix-free", edges=7)])
    >>> generalized_table(chain).cost, generalized_table(chain, sweeps=False).cost
    (56, 123)
    """
    memory_limit = _check_memory_limit(memory_limit)
    table = layer_table(chain)
    k = len(chain)
    accumulate = accumulation_costs(table, memory_limit)
    bound = _value_bound(table, accumulate)
    safe = bound < _INT64_LIMIT
    check_length(
        "generalized DP",
        k,
        generalized_limit(safe),
        safe,
        "use 'windowed' (the exact DP within windows, then over the windows; what 'auto' "
        "uses past this limit) or 'forward' / 'reverse'",
    )
    return fill_table(table, accumulate, memory_limit, sweeps)


def fill_table(
    table: LayerTable,
    accumulate: list[int],
    memory_limit: int | None = None,
    sweeps: bool = True,
    bounds: list[int] | None = None,
) -> GeneralizedTable:
    """Fill the generalized DP of a table of layers; within windows only, given ``bounds``.

    Parameters
    ----------
    table : LayerTable
        The layers' costs (:func:`jacchain.chains.cost.layer_table`).
    accumulate : list of int
        The cost of accumulating each layer on its own (:func:`accumulation_costs`).
    memory_limit : int, optional
        Largest tape an adjoint sweep may record.
    sweeps : bool
        With False, only accumulations and products.
    bounds : list of int, optional
        Cut points ``0 = b_0 < b_1 < ... < b_m = k``: then only segments within a window
        ``b_{j-1}+1 .. b_j`` are solved (the others cost "infinity").

    Returns
    -------
    GeneralizedTable

    Notes
    -----
    Level n (segment length) is solved for every start and split at once, as in
    :func:`jacchain.solvers.dp.dp_table`. With windows the levels stop at the longest
    window's length L: O(k L^2) time and O(k L) memory, with no limit on k. No limit is
    checked here (:func:`generalized_table` checks it).

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> from jacchain.chains.cost import layer_table
    >>> chain = Chain([Layer(3, 3, "matrix-free", edges=29),
    ...                Layer(3, 1, "matrix-free", edges=14),
    ...                Layer(1, 2, "matrix-free", edges=7)])
    >>> t = layer_table(chain)
    >>> windows = fill_table(t, accumulation_costs(t, None), bounds=[0, 2, 3])
    >>> windows.segment_cost(1, 2), windows.steps(1, 2).tolist()
    (43, [[4, 2, 2, 2], [2, 1, 1, 2]])
    """
    k = len(table.dims) - 1
    window = None
    length = k
    if bounds is not None:
        cuts = np.asarray(bounds, dtype=np.int64)
        window = np.repeat(np.arange(cuts.size - 1), np.diff(cuts))
        length = int(np.diff(cuts).max())
    return _fill(table, memory_limit, sweeps, accumulate, length, window)


def _fill(
    table: LayerTable,
    memory_limit: int | None,
    sweeps: bool,
    accumulate: list[int],
    length: int,
    window: np.ndarray | None,
) -> GeneralizedTable:
    """Fill the tables for segments of up to ``length`` layers (within one ``window`` each)."""
    k = len(table.dims) - 1
    bound = _value_bound(table, accumulate)
    safe = bound < _INT64_LIMIT
    dtype = np.int64 if safe else object
    infinity = _INT64_LIMIT if safe else bound + 1

    def exact(values) -> np.ndarray:
        return exact_array(np.array(values, dtype=object), safe)

    d = exact(table.dims)
    prefix_t, prefix_a = exact(table.prefix_tangent), exact(table.prefix_adjoint)
    prefix_nnz = exact(table.prefix_nnz)
    prefix_tape = exact_array(
        np.array(table.prefix_tape, dtype=object), table.prefix_tape[-1] < _INT64_LIMIT
    )
    counts = [
        np.array(getattr(table, name), dtype=np.int64)
        for name in ("prefix_diagonal", "prefix_sparse", "prefix_dense")
    ]
    structured = bool(np.any(table.kind_code < DENSE))
    by_start = np.zeros((k, length + 1), dtype=dtype)
    by_end = np.zeros((k, length + 1), dtype=dtype)
    choices = np.zeros((k, length + 1), dtype=np.int32)
    # by_end[e, length - n]: the segment of n layers ending with layer e + 1 (so that the
    # upper parts of one level's splits are one increasing slice, like the lower parts).
    by_start[:, 1] = by_end[:, length - 1] = exact(accumulate)
    width = max(length - 1, 1)
    h_d, h_t, h_a = _hankel(d, k, width), _hankel(prefix_t, k, width), _hankel(prefix_a, k, width)
    h_nnz, h_tape = _hankel(prefix_nnz, k, width), _hankel(prefix_tape, k, width)
    h_counts = [_hankel(c, k, width) for c in counts]
    for n in range(2, length + 1):
        starts = k - n + 1
        rows_per_block = max(1, _BLOCK // (n - 1))
        for first in range(0, starts, rows_per_block):
            last = min(starts, first + rows_per_block)
            rows = slice(first, last)
            ends = slice(first + n, last + n)
            cols = d[rows, None]
            out_rows = d[ends, None]
            inner = h_d[rows, : n - 1]
            lower = by_start[rows, 1:n]
            upper = by_end[first + n - 1 : last + n - 1, length - n + 1 : length]
            if structured:
                lo_counts = [
                    h[rows, : n - 1] - c[rows, None] for h, c in zip(h_counts, counts, strict=True)
                ]
                up_counts = [
                    c[ends, None] - h[rows, : n - 1] for h, c in zip(h_counts, counts, strict=True)
                ]
                lo_nnz = h_nnz[rows, : n - 1] - prefix_nnz[rows, None]
                up_nnz = prefix_nnz[ends, None] - h_nnz[rows, : n - 1]
                product = _structured_products(
                    _structure_codes(*up_counts),
                    up_nnz,
                    _structure_codes(*lo_counts),
                    lo_nnz,
                    out_rows,
                    inner,
                    cols,
                )
                segment_dense = (
                    (counts[2][ends] - counts[2][rows] > 0)
                    | (counts[1][ends] - counts[1][rows] >= 2)
                )[:, None]
            else:
                product = out_rows * inner * cols
                segment_dense = None
            products = lower + upper + product
            if sweeps:
                tangent = lower + cols * (prefix_t[ends, None] - h_t[rows, : n - 1])
                adjoint = upper + out_rows * (h_a[rows, : n - 1] - prefix_a[rows, None])
                if memory_limit is not None:
                    fits = h_tape[rows, : n - 1] - prefix_tape[rows, None] <= memory_limit
                    adjoint = np.where(fits, adjoint, infinity)
                if segment_dense is not None:
                    tangent = np.where(segment_dense, tangent, infinity)
                    adjoint = np.where(segment_dense, adjoint, infinity)
                values, best = _first_minimum([products, tangent, adjoint])
            else:
                values, best = _first_minimum([products])
            if window is not None:
                values[window[rows] != window[first + n - 1 : last + n - 1]] = infinity
            by_start[rows, n] = values
            by_end[first + n - 1 : last + n - 1, length - n] = values
            choices[rows, n] = best
    return GeneralizedTable(table, memory_limit, sweeps, length, by_start, choices)


def _first_minimum(kinds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Row minima over several candidate blocks, and where the first one is.

    The position is ``kind * width + column`` of the first minimum in kind-major order:
    ties go to the earlier kind, then to the smaller column.
    """
    rows = np.arange(kinds[0].shape[0])
    width = kinds[0].shape[1]
    values, best = None, None
    for number, block in enumerate(kinds):
        column = block.argmin(axis=1)
        value = block[rows, column]
        if values is None:
            values, best = value, column
            continue
        better = value < values
        values = np.where(better, value, values)
        best = np.where(better, number * width + column, best)
    return values, best


def _structured_products(up_code, up_nnz, lo_code, lo_nnz, rows, inner, cols):
    """Vectorized :func:`~jacchain.chains.cost.structured_product_cost` over blocks of splits."""
    dense = rows * inner * cols
    conditions = [
        (up_code == IDENTITY) | (lo_code == IDENTITY),
        (up_code == DIAGONAL) & (lo_code == DIAGONAL),
        (up_code == DIAGONAL) & (lo_code == SPARSE),
        up_code == DIAGONAL,
        (lo_code == DIAGONAL) & (up_code == SPARSE),
        lo_code == DIAGONAL,
        (up_code == SPARSE) & (lo_code == SPARSE),
        up_code == SPARSE,
        lo_code == SPARSE,
    ]
    zero = np.zeros_like(dense)
    choices = [
        zero,
        zero + inner,
        zero + lo_nnz,
        zero + inner * cols,
        zero + up_nnz,
        zero + rows * inner,
        np.minimum(up_nnz * cols, rows * lo_nnz),
        zero + up_nnz * cols,
        zero + rows * lo_nnz,
    ]
    return np.select(conditions, choices, default=dense)


def generalized_steps(chain: Chain, memory_limit: int | None = None, sweeps: bool = True):
    """Steps of an optimal plan of a generalized (structured, matrix-free) chain.

    Parameters
    ----------
    chain : Chain
    memory_limit : int, optional
        Largest tape an adjoint sweep may record.
    sweeps : bool
        With False, only accumulations and products (the preaccumulation plan).

    Returns
    -------
    numpy.ndarray
        The step array ``(op, lo, split, hi)`` in execution order.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> chain = Chain([Layer(3, 3, "matrix-free", edges=29),
    ...                Layer(3, 1, "matrix-free", edges=14),
    ...                Layer(1, 2, "matrix-free", edges=7)])
    >>> generalized_steps(chain).tolist()
    [[4, 2, 2, 2], [2, 1, 1, 2], [3, 3, 3, 3], [0, 1, 2, 3]]
    """
    return generalized_table(chain, memory_limit, sweeps).steps(1, len(chain))


def require_dense(name: str, chain: Chain) -> None:
    """Raise MethodError unless ``chain`` is a plain dense chain (for dense-only solvers)."""
    if not chain.is_dense:
        raise MethodError(
            f"method {shown(name)} plans dense chains only; this chain has structured or "
            "matrix-free layers: use 'auto' or 'dp'"
        )
