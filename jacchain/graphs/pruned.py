"""Exact vertex elimination past the full subset DP: lower bounds and a pruned DP.

The dynamic program of :func:`jacchain.graphs.elimination.exact_order` visits all 2^m sets of
eliminated vertices. Most of them cannot lie on an optimal order: if the cost of reaching a
set plus a lower bound on the cost of eliminating the rest exceeds the cost of a known
order, the set is dropped. :func:`pruned_exact_order` runs the same recurrence level by
level (sets of 0, 1, 2, ... eliminated vertices), vectorized with numpy, keeping only the
sets that survive that test; it is exact, and its work is the number of survivors.

The lower bounds on what remains (:mod:`jacchain.graphs.cuts`) come from vertex cuts:
when v is eliminated its predecessors cut every path from an input to v, and its
successors every path to an output, and neither can include a vertex already eliminated.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import MethodError
from ..progress import progress_bar
from .cuts import EliminationBounds, elimination_bounds
from .elimination import (
    MAX_EXACT_INTERMEDIATES,
    EliminationGraph,
    LinearizedModel,
    _reach_weights,
    coded_neighbours,
    costs_fit_int64,
    exact_order,
    markowitz_order,
)
from .search import search_order

__all__ = ["pruned_exact_order", "optimal_order", "MAX_PRUNED_INTERMEDIATES",
           "MAX_PRUNED_STATES"]

logger = logging.getLogger(__name__)

MAX_PRUNED_INTERMEDIATES = 62
"""The most intermediates the pruned DP accepts (sets are 64-bit masks)."""

MAX_PRUNED_STATES = 1_000_000
"""The most sets the pruned DP keeps at one level before it gives up."""


class _NoneCheaper(MethodError):
    """No order costs at most the upper bound given to the pruned DP."""


def pruned_exact_order(
    graph: EliminationGraph,
    upper_bound: int,
    max_states: int = MAX_PRUNED_STATES,
    bounds: EliminationBounds | None = None,
    progress: bool | None = None,
) -> tuple[tuple[int, ...], int]:
    """The cheapest elimination order, by the subset DP pruned with the bounds of
    :func:`~jacchain.graphs.cuts.elimination_bounds`.

    Parameters
    ----------
    graph : EliminationGraph
    upper_bound : int
        The cost of a known order (or more): sets that cannot lead below it are dropped.
    max_states : int
        Give up (MethodError) when more sets than this survive at one level.
    bounds : EliminationBounds, optional
        The graph's bounds, if already computed.
    progress : bool or None
        A progress bar over the levels, its text the sets that survive (see
        :func:`jacchain.progress.progress_bar`; by default on a terminal).

    Returns
    -------
    order, cost

    Raises
    ------
    MethodError
        Past :data:`MAX_PRUNED_INTERMEDIATES` intermediates, for costs beyond int64, when
        more than ``max_states`` sets survive at one level, or when no order costs at most
        ``upper_bound``.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> from jacchain.graphs.elimination import elimination_graph
    >>> G = nx.path_graph(5, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 1000, 1: 10, 2: 1000, 3: 10, 4: 1000}, "size")
    >>> pruned_exact_order(elimination_graph(graph_spec(G)), upper_bound=30_000_000)
    ((2, 3, 1), 10200000)
    """
    inner = graph.intermediates
    m = len(inner)
    _check_prunable(graph)
    if m == 0:
        return (), 0
    preds, succs = coded_neighbours(graph)
    vertices = list(range(len(graph.sizes)))
    bounds = elimination_bounds(graph) if bounds is None else bounds
    lower = bounds.single()
    states = np.zeros(1, dtype=np.int64)
    reached = np.zeros(1, dtype=np.int64)  # the cost of reaching each set
    rest = np.array([lower.sum()], dtype=np.int64)  # the plain bound on what remains
    levels: list[tuple[Any, Any]] = []
    with progress_bar(m, "exact elimination", progress, unit="levels") as bar:
        for level in range(m):
            inflow = _reach_weights(graph, vertices, preds, states)
            outflow = _reach_weights(graph, vertices[::-1], succs, states)
            found: list[tuple[Any, ...]] = []
            for j, v in enumerate(inner):
                open_ = np.flatnonzero(((states >> j) & 1) == 0)
                cost = reached[open_] + graph.sizes[v] * inflow[v][open_] * outflow[v][open_]
                remaining = rest[open_] - lower[j]
                keep = cost + remaining <= upper_bound
                found.append((states[open_[keep]] | (1 << j), cost[keep], remaining[keep],
                              open_[keep], np.full(int(keep.sum()), j)))
            sets, costs, remains, parents, moves = (np.concatenate(parts) for parts in zip(*found, strict=True))
            chosen = _cheapest_per_set(sets, costs)
            chosen = chosen[costs[chosen] + bounds.remaining(sets[chosen]) <= upper_bound]
            if not len(chosen):
                raise _NoneCheaper("the upper bound given to the pruned exact DP is below the optimum")
            if len(chosen) > max_states:
                logger.info("exact elimination gives up at level %d of %d: %s sets survive "
                            "(the budget is %s)", level + 1, m, f"{len(chosen):,}",
                            f"{max_states:,}")
                raise MethodError(
                    f"exact elimination gave up: {len(chosen):,} sets of eliminated vertices "
                    f"survive the bounds at one level (the budget is {max_states:,}); use 'search'"
                )
            states, reached, rest = sets[chosen], costs[chosen], remains[chosen]
            levels.append((parents[chosen], moves[chosen]))
            bar.update()
            bar.note(f"{len(chosen):,} sets")
            logger.debug("pruned exact elimination: %s sets after %d of %d levels",
                         f"{len(chosen):,}", level + 1, m)
    chosen, position = [], 0
    for parents, moves in reversed(levels):
        chosen.append(inner[int(moves[position])])
        position = int(parents[position])
    return tuple(reversed(chosen)), int(reached[0])


def _cheapest_per_set(sets: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Positions of one cheapest entry per distinct set, in ascending order of the sets;
    among equal costs the earliest position (deterministic whatever the sort's ties)."""
    if not len(sets):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(sets)
    ordered = sets[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(sets))))
    cheapest = np.minimum.reduceat(costs[order], starts)
    tied = costs[order] == cheapest[group]
    tied_groups = group[tied]
    firsts = np.flatnonzero(np.concatenate(([True], tied_groups[1:] != tied_groups[:-1])))
    return np.minimum.reduceat(order[tied], firsts)


def _check_prunable(graph: EliminationGraph) -> None:
    m = len(graph.intermediates)
    if m > MAX_PRUNED_INTERMEDIATES:
        raise MethodError(
            f"the pruned exact DP keeps sets of eliminated vertices as 64-bit masks and accepts "
            f"at most {MAX_PRUNED_INTERMEDIATES} intermediates; this graph has {m}: use 'search'"
        )
    if not costs_fit_int64(graph):
        raise MethodError("the pruned exact DP sums costs in int64, and these sizes could pass it")


def optimal_order(
    graph: EliminationGraph, progress: bool | None = None
) -> tuple[tuple[int, ...], int]:
    """The cheapest elimination order: the full subset DP up to
    :data:`~jacchain.graphs.elimination.MAX_EXACT_INTERMEDIATES` intermediates, the pruned
    DP beyond, bounded above by a deterministic search (2,000 constructions): the search's
    order is returned when the lower bound meets it, or when the DP finds no strictly
    cheaper order (which spares it the many sets on orders that only tie).

    ``progress`` shows progress bars (see :func:`jacchain.progress.progress_bar`): by
    default (None) on a terminal for the DPs near their limit
    (:data:`~jacchain.graphs.elimination.EXACT_PROGRESS_INTERMEDIATES` intermediates and
    more).

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> from jacchain.graphs.elimination import elimination_graph
    >>> G = nx.path_graph(5, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 1000, 1: 10, 2: 1000, 3: 10, 4: 1000}, "size")
    >>> optimal_order(elimination_graph(graph_spec(G)))
    ((2, 3, 1), 10200000)
    """
    if len(graph.intermediates) <= MAX_EXACT_INTERMEDIATES:
        return exact_order(graph, progress=progress)
    _check_prunable(graph)
    seeds = {"forward": graph.intermediates, "reverse": graph.intermediates[::-1],
             "markowitz": markowitz_order(graph)}
    known = search_order(LinearizedModel(graph), seeds, time_limit=None, iterations=2000,
                         progress=progress)
    bounds = elimination_bounds(graph)
    if bounds.lower_bound() >= known.cost:  # the bound meets the known order: it is optimal
        logger.debug("exact elimination: the lower bound meets the searched order's cost %s",
                     f"{known.cost:,}")
        return tuple(known.order), known.cost
    try:  # only a strictly cheaper order could improve on the known one
        return pruned_exact_order(graph, known.cost - 1, bounds=bounds, progress=progress)
    except _NoneCheaper:
        logger.debug("exact elimination: no order cheaper than the searched one, %s",
                     f"{known.cost:,}")
        return tuple(known.order), known.cost
