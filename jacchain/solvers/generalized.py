"""Naumann's generalized Jacobian chain: products, tangent and adjoint sweeps, in O(k^3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..chain import Chain
from ..cost import (
    DENSE,
    DIAGONAL,
    IDENTITY,
    SPARSE,
    LayerTable,
    exact_array,
    layer_table,
    structured_product_cost,
)
from ..errors import MethodError
from ..operations import Operation

__all__ = ["generalized_steps", "generalized_table", "GeneralizedTable"]

_BLOCK = 32768
_INT64_LIMIT = 2**61


def _check_memory_limit(memory_limit: object) -> int | None:
    if memory_limit is None:
        return None
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, np.integer)):
        raise MethodError(f"memory_limit must be a non-negative int or None, got {memory_limit!r}")
    if memory_limit < 0:
        raise MethodError(f"memory_limit must be non-negative, got {memory_limit}")
    return int(memory_limit)


@dataclass(frozen=True)
class GeneralizedTable:
    """The filled dynamic program of a generalized chain (see :func:`generalized_table`)."""

    cost: int
    chain: Chain
    table: LayerTable
    memory_limit: int | None
    sweeps: bool
    by_start: np.ndarray
    by_end: np.ndarray

    def accumulation(self, layer: int) -> Operation:
        """How matrix-free ``layer`` is accumulated: the cheaper allowed sweep direction."""
        d, t = self.table.dims, self.table
        tangent = d[layer - 1] * t.tangent[layer - 1]
        adjoint = d[layer] * t.adjoint[layer - 1]
        if _fits(self.memory_limit, t.tape[layer - 1]) and adjoint < tangent:
            return Operation.ACCUMULATE_ADJOINT
        return Operation.ACCUMULATE_TANGENT

    def choice(self, lo: int, hi: int) -> tuple[Operation, int]:
        """The optimal last step of segment lo..hi: (operation, split).

        Ties go to products before tangent steps before adjoint steps, and to the
        smallest split within each.
        """
        k = len(self.chain)
        i, n = lo - 1, hi - lo + 1
        d, t = self.table.dims, self.table
        options = []
        for a in range(1, n):
            split = i + a
            lower, upper = int(self.by_start[i, a]), int(self.by_end[i + n - 1, k - n + a])
            options.append(
                (
                    lower + upper + _product(d, t, lo, split, hi),
                    0,
                    split,
                )
            )
        if self.sweeps and t.structure(lo, hi)[0] == DENSE:
            for a in range(1, n):
                split = i + a
                lower = int(self.by_start[i, a])
                options.append((lower + d[lo - 1] * t.tangent_sum(split + 1, hi), 1, split))
            for a in range(1, n):
                split = i + a
                if not _fits(self.memory_limit, t.tape_sum(lo, split)):
                    continue
                upper = int(self.by_end[i + n - 1, k - n + a])
                options.append((upper + d[hi] * t.adjoint_sum(lo, split), 2, split))
        cost, kind, split = min(options)
        operation = (Operation.PRODUCT, Operation.TANGENT, Operation.ADJOINT)[kind]
        return operation, split


def _fits(limit: int | None, tape: int) -> bool:
    return limit is None or tape <= limit


def _product(d: tuple[int, ...], t: LayerTable, lo: int, split: int, hi: int) -> int:
    return structured_product_cost(
        d[hi], d[split], d[lo - 1], t.structure(split + 1, hi), t.structure(lo, split)
    )


def _hankel(values: np.ndarray, k: int) -> np.ndarray:
    """``H[i, a - 1] = values[i + a]`` for ``i + a <= k`` (a view; other entries unused)."""
    tail = values[1:]
    return sliding_window_view(np.concatenate([tail, tail]), k)[:k]


def _structure_codes(diagonal, sparse, dense):
    code = np.where(diagonal > 0, DIAGONAL, IDENTITY)
    code = np.where(sparse == 1, SPARSE, code)
    return np.where((dense > 0) | (sparse >= 2), DENSE, code)


def generalized_table(
    chain: Chain, memory_limit: int | None = None, sweeps: bool = True
) -> GeneralizedTable:
    """Fill the dynamic program of the generalized Jacobian chain problem.

    Parameters
    ----------
    chain : Chain
        Any chain; structured and matrix-free layers are costed by the rules of
        :mod:`jacchain.cost`.
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
    d_int = table.dims
    dmax = max(d_int)
    accumulate = []
    for layer in range(k):
        if not table.matrix_free[layer]:
            accumulate.append(0)
            continue
        tangent = d_int[layer] * table.tangent[layer]
        adjoint = d_int[layer + 1] * table.adjoint[layer]
        allowed = _fits(memory_limit, table.tape[layer])
        accumulate.append(min(tangent, adjoint) if allowed else tangent)
    bound = (
        sum(accumulate)
        + max(k - 1, 1) * dmax**3
        + dmax * (table.prefix_tangent[-1] + table.prefix_adjoint[-1])
    )
    safe = bound < _INT64_LIMIT
    dtype = np.int64 if safe else object
    infinity = 2**62 if safe else bound + 1

    def exact(values) -> np.ndarray:
        return exact_array(np.array(values, dtype=object), safe)

    d = exact(d_int)
    prefix_t, prefix_a = exact(table.prefix_tangent), exact(table.prefix_adjoint)
    prefix_tape = np.array(table.prefix_tape, dtype=object)
    prefix_nnz = exact(table.prefix_nnz)
    counts = [
        np.array(getattr(table, name), dtype=np.int64)
        for name in ("prefix_diagonal", "prefix_sparse", "prefix_dense")
    ]
    structured = bool(np.any(table.kind_code < DENSE))
    tape_ok = (
        None
        if memory_limit is None
        else (np.subtract.outer(prefix_tape, prefix_tape) <= memory_limit)
    )
    by_start = np.zeros((k, k + 1), dtype=dtype)
    by_end = np.zeros((k, k + 1), dtype=dtype)
    by_start[:, 1] = exact(accumulate)
    by_end[:, k - 1] = by_start[:, 1]
    h_d, h_t, h_a = _hankel(d, k), _hankel(prefix_t, k), _hankel(prefix_a, k)
    h_nnz = _hankel(prefix_nnz, k)
    h_counts = [_hankel(c, k) for c in counts]
    for n in range(2, k + 1):
        width = k - n + 1
        rows_per_block = max(1, _BLOCK // (n - 1))
        for first in range(0, width, rows_per_block):
            last = min(width, first + rows_per_block)
            rows = slice(first, last)
            ends = slice(first + n, last + n)
            cols = d[rows, None]
            out_rows = d[ends, None]
            inner = h_d[rows, : n - 1]
            lower = by_start[rows, 1:n]
            upper = by_end[first + n - 1 : last + n - 1, k - n + 1 : k]
            if structured:
                lo_counts = [
                    h[rows, : n - 1] - c[rows, None] for h, c in zip(h_counts, counts, strict=True)
                ]
                up_counts = [
                    c[ends, None] - h[rows, : n - 1] for h, c in zip(h_counts, counts, strict=True)
                ]
                lo_code = _structure_codes(*lo_counts)
                up_code = _structure_codes(*up_counts)
                lo_nnz = h_nnz[rows, : n - 1] - prefix_nnz[rows, None]
                up_nnz = prefix_nnz[ends, None] - h_nnz[rows, : n - 1]
                product = _structured_products(
                    up_code, up_nnz, lo_code, lo_nnz, out_rows, inner, cols
                )
                segment_dense = (
                    (counts[2][ends] - counts[2][rows] > 0)
                    | (counts[1][ends] - counts[1][rows] >= 2)
                )[:, None]
            else:
                product = out_rows * inner * cols
                segment_dense = None
            best = lower + upper + product
            if sweeps:
                tangent = lower + cols * (prefix_t[ends, None] - h_t[rows, : n - 1])
                adjoint = upper + out_rows * (h_a[rows, : n - 1] - prefix_a[rows, None])
                allowed = segment_dense
                if tape_ok is not None:
                    starts = np.arange(first, last)[:, None]
                    fits = tape_ok[starts + np.arange(1, n)[None, :], starts]
                    adjoint = np.where(fits, adjoint, infinity)
                if allowed is not None:
                    tangent = np.where(allowed, tangent, infinity)
                    adjoint = np.where(allowed, adjoint, infinity)
                best = np.minimum(best, np.minimum(tangent, adjoint))
            values = best.min(axis=1)
            by_start[rows, n] = values
            by_end[first + n - 1 : last + n - 1, k - n] = values
    return GeneralizedTable(
        int(by_start[0, k]), chain, table, memory_limit, sweeps, by_start, by_end
    )


def _structured_products(up_code, up_nnz, lo_code, lo_nnz, rows, inner, cols):
    """Vectorized :func:`~jacchain.cost.structured_product_cost` over blocks of splits."""
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
    result = generalized_table(chain, memory_limit, sweeps)
    k = len(chain)
    matrix_free = result.table.matrix_free
    rows: list[tuple[int, int, int, int]] = []
    stack: list[tuple[int, int, int, int]] = [(1, k, -1, 0)]
    while stack:
        lo, hi, op, split = stack.pop()
        if op >= 0:
            rows.append((op, lo, split, hi))
            continue
        if lo == hi:
            if matrix_free[lo - 1]:
                rows.append((int(result.accumulation(lo)), lo, lo, lo))
            continue
        operation, split = result.choice(lo, hi)
        stack.append((lo, hi, int(operation), split))
        if operation != Operation.TANGENT:
            stack.append((split + 1, hi, -1, 0))
        if operation != Operation.ADJOINT:
            stack.append((lo, split, -1, 0))
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def require_dense(name: str, chain: Chain) -> None:
    """Raise MethodError unless ``chain`` is a plain dense chain (for dense-only solvers)."""
    if not chain.is_dense:
        raise MethodError(
            f"method {name!r} plans dense chains only; this chain has structured or "
            "matrix-free layers: use 'auto' or 'dp'"
        )
