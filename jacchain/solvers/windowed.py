"""Long structured chains: the generalized DP within windows, then over the windows themselves."""

from __future__ import annotations

import numpy as np

from ..chains.chain import Chain
from ..chains.cost import LayerTable, layer_table
from .generalized import (
    _INT64_LIMIT,
    _check_memory_limit,
    _structure_codes,
    _value_bound,
    accumulation_costs,
    accumulation_steps,
    fill_table,
)
from .limits import generalized_limit

__all__ = ["WINDOW", "window_bounds", "windowed_steps"]

WINDOW = 32
"""The most layers (or windows) in one window."""


def window_bounds(dims: np.ndarray, window: int = WINDOW) -> list[int]:
    """Cut points ``0 = b_0 < b_1 < ... < b_m = k``: windows of at most ``window`` layers.

    Each cut after the first half of a window falls on the narrowest dim there (the latest
    of equal ones), so the Jacobians formed across windows are as small as they can be.

    Examples
    --------
    >>> window_bounds(np.array([5, 9, 1, 9, 9, 2, 9, 3, 4, 5]), window=4)
    [0, 2, 5, 9]
    """
    k = int(dims.size) - 1
    bounds = [0]
    while k - bounds[-1] > window:
        start = bounds[-1]
        lo, hi = start + max(1, window // 2), start + window
        candidates = dims[lo : hi + 1]
        bounds.append(lo + int(candidates.size - 1 - np.argmin(candidates[::-1])))
    bounds.append(k)
    return bounds


def _merged(table: LayerTable, bounds: list[int]) -> LayerTable:
    """The table of the windows: each window one layer, swept through as a whole."""

    def at_cuts(prefix: list[int]) -> list[int]:
        return [prefix[b] for b in bounds]

    def per_window(prefix: list[int]) -> list[int]:
        cut = at_cuts(prefix)
        return [b - a for a, b in zip(cut[:-1], cut[1:], strict=True)]

    counts = [
        np.diff(np.array(at_cuts(p), dtype=np.int64))
        for p in (table.prefix_diagonal, table.prefix_sparse, table.prefix_dense)
    ]
    return LayerTable(
        dims=tuple(table.dims[b] for b in bounds),
        kind_code=_structure_codes(*counts).astype(np.int8),
        matrix_free=np.ones(len(bounds) - 1, dtype=bool),
        tangent=per_window(table.prefix_tangent),
        adjoint=per_window(table.prefix_adjoint),
        tape=per_window(table.prefix_tape),
        nnz=per_window(table.prefix_nnz),
        prefix_tangent=at_cuts(table.prefix_tangent),
        prefix_adjoint=at_cuts(table.prefix_adjoint),
        prefix_tape=at_cuts(table.prefix_tape),
        prefix_nnz=at_cuts(table.prefix_nnz),
        prefix_diagonal=at_cuts(table.prefix_diagonal),
        prefix_sparse=at_cuts(table.prefix_sparse),
        prefix_dense=at_cuts(table.prefix_dense),
    )


def windowed_steps(chain: Chain, memory_limit: int | None = None, window: int = WINDOW):
    """Steps of a plan for a chain of any length: exact within windows, then over windows.

    Parameters
    ----------
    chain : Chain
        Any chain, of any length.
    memory_limit : int, optional
        The largest tape an adjoint sweep may record.
    window : int
        The most layers in one window.

    Returns
    -------
    numpy.ndarray
        The step array ``(op, lo, split, hi)`` in execution order.

    Notes
    -----
    The chain is cut into windows of at most ``window`` layers, at narrow dims
    (:func:`window_bounds`), and Naumann's generalized DP is solved within every window at
    once (:func:`~jacchain.solvers.generalized.fill_table`): O(k window^2) time. Then each
    window becomes one layer of a shorter chain: accumulating it costs its window's
    optimum, and a tangent or adjoint sweep through it costs the sum of its layers' sweep
    costs. That chain is planned the same way, exactly by the generalized DP once it is
    within the DP's limit, else by windows again. The plan is optimal among the plans in
    which every window is either accumulated by its own optimal plan or swept through
    whole; it is not optimal in general. 100,000 layers plan in seconds.
    :func:`jacchain.plan` keeps forward or reverse mode when they are cheaper, and
    ``"auto"`` uses this planner for structured chains longer than the generalized DP's
    limit.

    Examples
    --------
    >>> import jacchain as jc
    >>> chain = jc.Chain([jc.Layer(4, 4, "matrix-free", edges=9), jc.Layer(4, 1),
    ...                   jc.Layer(1, 4, "matrix-free", edges=4), jc.Layer(4, 4, "diagonal"),
    ...                   jc.Layer(4, 3)])
    >>> steps = windowed_steps(chain, window=2)
    >>> jc.Plan.from_steps(chain, steps).cost, jc.plan(chain, "dp").cost
    (41, 41)
    """
    memory_limit = _check_memory_limit(memory_limit)
    table = layer_table(chain)
    k = len(chain)
    accumulate = accumulation_costs(table, memory_limit)
    leaves = [accumulation_steps(table, memory_limit, layer) for layer in range(1, k + 1)]
    cuts = np.arange(k + 1, dtype=np.int64)
    while True:
        units = len(table.dims) - 1
        safe = _value_bound(table, accumulate) < _INT64_LIMIT
        if units <= generalized_limit(safe):
            return fill_table(table, accumulate, memory_limit).steps(1, units, leaves, cuts)
        bounds = window_bounds(np.array(table.dims, dtype=object), window)
        solved = fill_table(table, accumulate, memory_limit, bounds=bounds)
        pairs = list(zip(bounds[:-1], bounds[1:], strict=True))
        leaves = [solved.steps(first + 1, last, leaves, cuts) for first, last in pairs]
        accumulate = [solved.segment_cost(first + 1, last) for first, last in pairs]
        table, cuts = _merged(table, bounds), cuts[bounds]
