"""Exact vertex elimination past the full subset DP: lower bounds and a pruned DP.

The dynamic program of :func:`jacchain.graphs.elimination.exact_order` visits all 2^m sets of
eliminated vertices. Most of them cannot lie on an optimal order: if the cost of reaching a
set plus a lower bound on the cost of eliminating the rest exceeds the cost of a known
order, the set is dropped. :func:`pruned_exact_order` runs the same recurrence level by
level (sets of 0, 1, 2, ... eliminated vertices), vectorized with numpy, keeping only the
sets that survive that test; it is exact, and its work is the number of survivors.

The lower bound (:func:`cut_bounds`) holds for any order: when v is eliminated its
predecessors are vertices not yet eliminated through which every path from an input to v
passes (a vertex cut), each weighing at least the least weight of its out-edges' kinds;
likewise its successors cut every path to an output. So eliminating v costs at least
``size(v)`` times the two minimum weighted cuts, found by max-flow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..chains.cost import DENSE, DIAGONAL, IDENTITY
from ..errors import MethodError
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

__all__ = ["cut_bounds", "pruned_exact_order", "optimal_order", "MAX_PRUNED_INTERMEDIATES",
           "MAX_PRUNED_STATES"]

MAX_PRUNED_INTERMEDIATES = 62
"""The most intermediates the pruned DP accepts (sets are 64-bit masks)."""

MAX_PRUNED_STATES = 1_000_000
"""The most sets the pruned DP keeps at one level before it gives up."""


def _weight(code: int, size: int) -> int:
    return {IDENTITY: 0, DIAGONAL: 1, DENSE: size}[code]


def _least_weights(graph: EliminationGraph, backwards: bool) -> list[int]:
    """The least weight each vertex can have as a predecessor (``backwards``: by the kinds
    of its out-edges) or as a successor (by the kinds of its in-edges) of another."""
    least: list[int | None] = [None] * len(graph.sizes)
    for (u, w), code in graph.edges.items():
        x = u if backwards else w
        weight = _weight(code, graph.sizes[x])
        least[x] = weight if least[x] is None else min(least[x], weight)
    return [weight or 0 for weight in least]


def _min_cut(graph: EliminationGraph, v: int, backwards: bool, least: list[int]) -> int:
    """The least total weight of vertices (other than v) that meet every path between the
    inputs and v (``backwards``) or between v and the outputs."""
    import networkx as nx

    n = len(graph.sizes)
    ends = set(graph.inputs if backwards else graph.outputs)
    flow = nx.DiGraph()
    for (u, w) in graph.edges:
        a, b = (u, w) if backwards else (w, u)  # flow runs from the ends towards v
        flow.add_edge(("out", b) if b != v else "sink", ("in", a), capacity=float("inf"))
    for x in range(n):
        if x != v and ("in", x) in flow:
            flow.add_edge(("in", x), ("out", x), capacity=least[x])
    for x in ends:
        if ("out", x) in flow:
            flow.add_edge(("out", x), "source", capacity=float("inf"))
    if "source" not in flow or "sink" not in flow:
        return 0
    # edges were laid from v outwards: the flow goes from the sink label back to the source
    return int(nx.maximum_flow_value(flow, "sink", "source"))


def cut_bounds(graph: EliminationGraph) -> dict[int, int]:
    """A lower bound on the cost of eliminating each intermediate, whatever the order.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> from jacchain.graphs.elimination import elimination_graph, order_cost
    >>> G = nx.path_graph(4, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 10, 1: 1, 2: 10, 3: 1}, "size")
    >>> eg = elimination_graph(graph_spec(G))
    >>> cut_bounds(eg), order_cost(eg, (2, 1))
    ({1: 10, 2: 10}, 20)
    """
    before, after = _least_weights(graph, True), _least_weights(graph, False)
    return {
        v: graph.sizes[v] * _min_cut(graph, v, True, before) * _min_cut(graph, v, False, after)
        for v in graph.intermediates
    }


def pruned_exact_order(
    graph: EliminationGraph, upper_bound: int, max_states: int = MAX_PRUNED_STATES
) -> tuple[tuple[int, ...], int]:
    """The cheapest elimination order, by the subset DP pruned with :func:`cut_bounds`.

    Parameters
    ----------
    graph : EliminationGraph
    upper_bound : int
        The cost of a known order (or more): sets that cannot lead below it are dropped.
    max_states : int
        Give up (MethodError) when more sets than this survive at one level.

    Returns
    -------
    order, cost

    Raises
    ------
    MethodError
        Past :data:`MAX_PRUNED_INTERMEDIATES` intermediates, for costs beyond int64, or
        when more than ``max_states`` sets survive at one level.

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
    bounds = cut_bounds(graph)
    lower = np.array([bounds[v] for v in inner], dtype=np.int64)
    states = np.zeros(1, dtype=np.int64)
    reached = np.zeros(1, dtype=np.int64)  # the cost of reaching each set
    rest = np.array([lower.sum()], dtype=np.int64)  # the bound on what remains
    levels: list[tuple[Any, Any]] = []
    for _level in range(m):
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
        if not len(sets):
            raise MethodError("the upper bound given to the pruned exact DP is below the optimum")
        order = np.lexsort((costs, sets))
        sets, costs, remains, parents, moves = (a[order] for a in (sets, costs, remains, parents, moves))
        first = np.ones(len(sets), dtype=bool)
        first[1:] = sets[1:] != sets[:-1]
        if int(first.sum()) > max_states:
            raise MethodError(
                f"exact elimination gave up: {int(first.sum()):,} sets of eliminated vertices "
                f"survive the bounds at one level (the budget is {max_states:,}); use 'search'"
            )
        states, reached, rest = sets[first], costs[first], remains[first]
        levels.append((parents[first], moves[first]))
    chosen, position = [], 0
    for parents, moves in reversed(levels):
        chosen.append(inner[int(moves[position])])
        position = int(parents[position])
    return tuple(reversed(chosen)), int(reached[0])


def _check_prunable(graph: EliminationGraph) -> None:
    m = len(graph.intermediates)
    if m > MAX_PRUNED_INTERMEDIATES:
        raise MethodError(
            f"the pruned exact DP keeps sets of eliminated vertices as 64-bit masks and accepts "
            f"at most {MAX_PRUNED_INTERMEDIATES} intermediates; this graph has {m}: use 'search'"
        )
    if not costs_fit_int64(graph):
        raise MethodError("the pruned exact DP sums costs in int64, and these sizes could pass it")


def optimal_order(graph: EliminationGraph) -> tuple[tuple[int, ...], int]:
    """The cheapest elimination order: the full subset DP up to
    :data:`~jacchain.graphs.elimination.MAX_EXACT_INTERMEDIATES` intermediates, the pruned
    DP beyond, bounded above by a short deterministic search (300 constructions).

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
        return exact_order(graph)
    _check_prunable(graph)
    seeds = {"forward": graph.intermediates, "reverse": graph.intermediates[::-1],
             "markowitz": markowitz_order(graph)}
    known = search_order(LinearizedModel(graph), seeds, time_limit=None, iterations=300)
    return pruned_exact_order(graph, known.cost)
