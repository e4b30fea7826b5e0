"""Vertex elimination on the linearized computational graph: its cost, four orders, execution.

The linearized graph has one vertex per variable and one edge ``u -> w`` per local partial
Jacobian. Eliminating an intermediate vertex ``v`` with current predecessors P and
successors S adds ``J[w, v] @ J[v, u]`` to the edge ``u -> w`` for every u in P and w in S
(creating it if absent) and removes ``v``. Once every intermediate is gone, the edges from
the inputs to the outputs hold the Jacobian's blocks (Griewank and Walther, *Evaluating
Derivatives*, 2nd ed., SIAM 2008, ch. 9-10; Naumann, *The Art of Differentiating Computer
Programs*, SIAM 2012).

The cost, in multiply-adds, follows :mod:`jacchain.chains.cost`: the product
``J[w, v] @ J[v, u]`` costs ``size(w) * size(v) * size(u)`` for dense edges, an identity
edge makes it free, and a diagonal edge costs like a diagonal layer. It factorizes:
eliminating ``v`` costs ``size(v) * W_P * W_S``, where ``W_P`` sums over the predecessors
the weight of their edge into ``v`` (dense: ``size(u)``; diagonal: 1; identity: 0) and
``W_S`` likewise over the successors. With dense edges this is the textbook
``sum_{u in P, w in S} size(w) size(v) size(u)``. A new edge is the product's structure
(identity times X is X, diagonal times diagonal is diagonal, else dense); an edge that
receives a second term is at least diagonal. Additions are not counted.

An output that is also an input, or that has successors, is read through a copy: a new sink
joined to it by an identity edge, so that every output is a sink and every variable that
is not an input or such a sink is eliminated.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..chains.cost import DENSE, DIAGONAL, IDENTITY, INT64_SAFE
from ..errors import GraphError, MethodError, shown
from ..execution.executor import dense as _dense
from ..execution.executor import multiply as _multiply
from ..progress import progress_bar
from .graph import MAX_TOTAL_SIZE, GraphSpec, Value

__all__ = [
    "ORDERS",
    "MAX_EXACT_INTERMEDIATES",
    "LinearizedModel",
    "EliminationGraph",
    "Elimination",
    "elimination_graph",
    "elimination_order",
    "eliminations",
    "order_cost",
    "exact_order",
    "markowitz_order",
    "markowitz_eliminations",
    "eliminate",
    "EXACT_PROGRESS_INTERMEDIATES",
]

logger = logging.getLogger(__name__)

ORDERS = ("forward", "reverse", "markowitz", "exact")
"""The elimination orders by name."""

MAX_EXACT_INTERMEDIATES = 20
"""The most intermediate vertices the exact order accepts (it examines 2**m subsets)."""

EXACT_PROGRESS_INTERMEDIATES = 18
"""From this many intermediates on, the exact DPs show a progress bar by default (on a
terminal): the full DP takes 0.3 s of CPU at 18 (``graph_scale.chorded_path(18, 0)``),
1.7 s at 20 (``experiments/results/graph_scale.md``)."""


@dataclass(frozen=True)
class EliminationGraph:
    """The linearized graph that vertex elimination works on.

    Attributes
    ----------
    spec : GraphSpec
        The graph it was built from.
    sizes : tuple of int
        Vertex sizes: the variables of ``spec`` (same positions), then one copy per output
        that is an input or has successors.
    origin : tuple of int
        The variable each vertex stands for (a copy stands for its output).
    edges : dict
        ``{(u, w): structure code}``.
    inputs, outputs : tuple of int
        The vertices of the inputs (columns) and of the outputs (rows, all sinks).
    intermediates : tuple of int
        The vertices to eliminate, in topological order.
    """

    spec: GraphSpec
    sizes: tuple[int, ...]
    origin: tuple[int, ...]
    edges: dict[tuple[int, int], int]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...]

    def label(self, v: int) -> str:
        """The name of vertex ``v``'s variable, as text."""
        return self.spec.label(self.origin[v])


def elimination_graph(spec: GraphSpec) -> EliminationGraph:
    """The linearized graph of ``spec``, with copies for outputs that are not sinks.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.DiGraph([("x", "h"), ("h", "y")])
    >>> nx.set_node_attributes(G, 2, "size")
    >>> eg = elimination_graph(graph_spec(G, outputs=["h", "y"]))
    >>> eg.intermediates, eg.outputs, eg.edges[(1, 3)]
    ((1,), (3, 2), 0)
    """
    sizes = list(spec.sizes)
    origin = list(range(len(sizes)))
    edges = dict(spec.code)
    inputs = set(spec.inputs)
    outputs = []
    for o in spec.outputs:
        if o in inputs or spec.succs[o]:
            copy = len(sizes)
            sizes.append(spec.sizes[o])
            origin.append(o)
            edges[(o, copy)] = IDENTITY
            outputs.append(copy)
        else:
            outputs.append(o)
    kept = inputs | set(outputs)
    return EliminationGraph(
        spec=spec,
        sizes=tuple(sizes),
        origin=tuple(origin),
        edges=edges,
        inputs=spec.inputs,
        outputs=tuple(outputs),
        intermediates=tuple(v for v in range(len(spec.sizes)) if v not in kept),
    )


class _Linearized:
    """The current graph during an elimination: edge structures and, optionally, values.

    Vertices are list positions; ``preds[v]`` and ``succs[v]`` map neighbours to edge
    codes. ``inflow[v]`` and ``outflow[v]`` (the W_P and W_S of the module docstring) are
    kept up to date edge by edge, so that :meth:`cost` is O(1); an elimination writes
    only the edges whose structure changes. ``light[u]`` counts the edges out of u that
    are not dense: when it is 0 and the edge into v is dense, the fill-in out of u is
    the set difference of two key views (C speed), the common case on dense graphs.
    """

    def __init__(self, graph: EliminationGraph, values: dict[tuple[int, int], Value] | None):
        n = len(graph.sizes)
        self.sizes = graph.sizes
        self.weights = [(0, 1, size, size) for size in graph.sizes]  # by structure code
        self.preds: list[dict[int, int]] = [{} for _ in range(n)]
        self.succs: list[dict[int, int]] = [{} for _ in range(n)]
        self.inflow = [0] * n
        self.outflow = [0] * n
        self.light = [0] * n
        for (u, w), code in graph.edges.items():
            self.preds[w][u] = code
            self.succs[u][w] = code
            self.inflow[w] += self.weights[u][code]
            self.outflow[u] += self.weights[w][code]
            self.light[u] += code != DENSE
        self.values = None if values is None else dict(values)

    def cost(self, v: int) -> int:
        return self.sizes[v] * self.inflow[v] * self.outflow[v]

    def copy(self) -> _Linearized:
        """An independent copy of the structure (values are not copied)."""
        twin = object.__new__(_Linearized)
        twin.sizes, twin.weights, twin.values = self.sizes, self.weights, None
        twin.preds = [dict(edges) for edges in self.preds]
        twin.succs = [dict(edges) for edges in self.succs]
        twin.inflow, twin.outflow, twin.light = list(self.inflow), list(self.outflow), list(self.light)
        return twin

    def eliminate(self, v: int) -> int:
        cost = self.cost(v)
        preds, succs = self.preds[v], self.succs[v]
        self.preds[v], self.succs[v] = {}, {}
        mine = self.weights[v]
        for w, upper in succs.items():
            del self.preds[w][v]
            self.inflow[w] -= mine[upper]
        heads = set(succs)
        for u, lower in preds.items():
            del self.succs[u][v]
            self.outflow[u] -= mine[lower]
            self.light[u] -= lower != DENSE
            if lower == DENSE:
                self._fill_dense(u, succs, heads)
            else:
                self._fill(u, lower, succs, succs)
        if self.values is not None:
            _eliminate_values(self.values, v, preds, succs)
        return cost

    def _fill(self, u: int, lower: int, succs: dict[int, int], targets: Iterable[int]) -> None:
        """Add the products of the edge into v (``lower``) and v's edges to ``targets``."""
        fill, theirs, weights, inflow = self.succs[u], self.weights[u], self.weights, self.inflow
        out = light = 0
        for w in targets:
            old = fill.get(w)
            if old == DENSE:
                continue
            upper = succs[w]
            code = lower if lower > upper else upper
            if old is not None:
                code = max(old, code, DIAGONAL)
                if code == old:
                    continue
                out -= weights[w][old]
                inflow[w] -= theirs[old]
                light -= 1
            fill[w] = self.preds[w][u] = code
            out += weights[w][code]
            inflow[w] += theirs[code]
            light += code != DENSE
        self.outflow[u] += out
        self.light[u] += light

    def _fill_dense(self, u: int, succs: dict[int, int], heads: set[int]) -> None:
        """:meth:`_fill` when the edge into v is dense: every product is dense.

        ``heads`` is the set of v's successors; set operations with a dict look up the
        smaller side in the larger, so the time is O(min(|S|, edges out of u)).
        """
        fill = self.succs[u]
        if self.light[u]:
            self._fill(u, DENSE, succs, fill.keys() & heads)
        size, sizes, inflow = self.sizes[u], self.sizes, self.inflow
        out = 0
        for w in heads.difference(fill):
            fill[w] = self.preds[w][u] = DENSE
            out += sizes[w]
            inflow[w] += size
        self.outflow[u] += out


def _eliminate_values(
    values: dict[tuple[int, int], Value], v: int, preds: dict[int, int], succs: dict[int, int]
) -> None:
    """Add ``J[w, v] @ J[v, u]`` to every edge u -> w and drop v's edges, on the values."""
    for u in preds:
        lower = values.pop((u, v))
        for w in succs:
            term = _multiply(values[(v, w)], lower)
            old = values.get((u, w))
            values[(u, w)] = term if old is None else _add(old, term)
    for w in succs:
        del values[(v, w)]


def _add(a: Value, b: Value) -> Value:
    """a + b by structure: the sum of identities or diagonals is diagonal, else dense."""
    (a_code, a_load), (b_code, b_load) = a, b
    if a_code != DENSE and b_code != DENSE:
        a_diag = np.ones(a_load) if a_code == IDENTITY else a_load
        b_diag = np.ones(b_load) if b_code == IDENTITY else b_load
        return (DIAGONAL, a_diag + b_diag)
    return (DENSE, _dense(a, np.eye) + _dense(b, np.eye))


class Elimination(NamedTuple):
    """One elimination: the vertex, its current predecessor and successor counts, its cost."""

    vertex: int
    predecessors: int
    successors: int
    cost: int


def eliminations(graph: EliminationGraph, order: tuple[int, ...]) -> list[Elimination]:
    """Carry out ``order`` on the structure of ``graph``: one :class:`Elimination` per vertex.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.DiGraph([("x", "h"), ("h", "y")])
    >>> nx.set_node_attributes(G, {"x": 3, "h": 4, "y": 5}, "size")
    >>> eliminations(elimination_graph(graph_spec(G)), (1,))
    [Elimination(vertex=1, predecessors=1, successors=1, cost=60)]
    """
    state = _Linearized(graph, None)
    return [_step(state, v) for v in order]


def _step(state: _Linearized, v: int) -> Elimination:
    """Eliminate ``v`` from ``state``; the :class:`Elimination` it was."""
    n_preds, n_succs = len(state.preds[v]), len(state.succs[v])
    return Elimination(v, n_preds, n_succs, state.eliminate(v))


def order_cost(graph: EliminationGraph, order: tuple[int, ...]) -> int:
    """The total multiply-adds of eliminating the vertices in ``order``.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.path_graph(4, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 10, 1: 1, 2: 10, 3: 1}, "size")
    >>> eg = elimination_graph(graph_spec(G))
    >>> order_cost(eg, (1, 2)), order_cost(eg, (2, 1))
    (200, 20)
    """
    return sum(step.cost for step in eliminations(graph, order))


def markowitz_order(graph: EliminationGraph) -> tuple[int, ...]:
    """Greedy order: always eliminate the vertex that is cheapest to eliminate now.

    Ties go to the vertex first in topological order. The costs wait in a heap with lazy
    invalidation: after each elimination only the neighbours' costs change, are
    recomputed in O(1) each and pushed anew, and outdated entries are skipped when
    popped. Time O((m + F) log m + sum over eliminations of |P| |S|) for m intermediates
    and F cost changes, on top of the fill-in.

    References
    ----------
    H. M. Markowitz, "The elimination form of the inverse and its application to linear
    programming", Management Science 3(3), 1957. Griewank and Walther, *Evaluating
    Derivatives*, 2nd ed., SIAM 2008, sec. 9.2 (Markowitz-type heuristics for vertex
    elimination).

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.path_graph(4, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 10, 1: 1, 2: 10, 3: 1}, "size")
    >>> markowitz_order(elimination_graph(graph_spec(G)))
    (2, 1)
    """
    return tuple(step.vertex for step in markowitz_eliminations(graph))


def markowitz_eliminations(graph: EliminationGraph) -> list[Elimination]:
    """The eliminations of :func:`markowitz_order`, with their costs, in one pass.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.path_graph(4, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 10, 1: 1, 2: 10, 3: 1}, "size")
    >>> [(step.vertex, step.cost) for step in markowitz_eliminations(elimination_graph(graph_spec(G)))]
    [(2, 10), (1, 10)]
    """
    state = _Linearized(graph, None)
    pending = {v: state.cost(v) for v in graph.intermediates}
    heap = [(cost, v) for v, cost in pending.items()]
    heapq.heapify(heap)
    steps = []
    while heap:
        cost, v = heapq.heappop(heap)
        if pending.get(v) != cost:
            continue  # eliminated already, or its cost has changed since this entry
        del pending[v]
        neighbours = [*state.preds[v], *state.succs[v]]
        steps.append(_step(state, v))
        for x in neighbours:
            if x in pending and state.cost(x) != pending[x]:
                pending[x] = state.cost(x)
                heapq.heappush(heap, (pending[x], x))
    return steps


class LinearizedModel:
    """The cost model of vertex elimination on a linearized graph, for
    :func:`jacchain.graphs.search.search_order`.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> from jacchain.graphs.search import search_order
    >>> G = nx.path_graph(5, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 1000, 1: 10, 2: 1000, 3: 10, 4: 1000}, "size")
    >>> eg = elimination_graph(graph_spec(G))
    >>> search_order(LinearizedModel(eg), {"forward": eg.intermediates}, iterations=20).cost
    10200000
    """

    def __init__(self, graph: EliminationGraph) -> None:
        self.graph = graph
        self.intermediates = graph.intermediates

    def start(self) -> _Linearized:
        return _Linearized(self.graph, None)

    def copy(self, state: _Linearized) -> _Linearized:
        return state.copy()

    def cost(self, state: _Linearized, v: int) -> int:
        return state.cost(v)

    def eliminate(self, state: _Linearized, v: int) -> int:
        return state.eliminate(v)

    def neighbours(self, state: _Linearized, v: int) -> list[int]:
        return [*state.preds[v], *state.succs[v]]


Masks = tuple[Any, Any, Any]
"""A reached set as (identity, diagonal, dense) bit masks over the vertices; None is empty."""


def _or(*masks: Any) -> Any:
    present = [mask for mask in masks if mask is not None]
    if not present:
        return None
    result = present[0]
    for mask in present[1:]:
        result = result | mask
    return result


def _and(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a & b


def _minus(a: Any, b: Any) -> Any:
    return a if a is None or b is None else a & ~b


def _union(a: Masks, b: Masks) -> Masks:
    """Sum of two reached sets: a vertex reached by both is at least diagonal."""
    (ai, ad, af), (bi, bd, bf) = a, b
    dense = _or(af, bf)
    twice = _and(_or(ai, ad), _or(bi, bd))  # reached by both, by non-dense paths
    identity = _or(_minus(ai, _or(bi, bd, bf)), _minus(bi, _or(ai, ad, af)))
    return (identity, _minus(_or(ad, bd, twice), dense), dense)


def _through(masks: Masks, code: int) -> Masks:
    """A reached set seen through one more edge of structure ``code``."""
    i, d, f = masks
    if code == IDENTITY:
        return masks
    if code == DIAGONAL:
        return (None, _or(i, d), f)
    return (None, None, _or(i, d, f))


def _select(gone: np.ndarray, seen: Any, alone: Any) -> Any:
    """Per state: ``seen`` where the neighbour is eliminated, else ``alone``."""
    if seen is None and alone is None:
        return None
    zero = np.uint64(0)
    return np.where(gone, zero if seen is None else seen, zero if alone is None else alone)


def _weigh(mask: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For every state, the sum of ``weights`` over the vertices in ``mask`` (by byte tables)."""
    words, states = mask.shape
    data = np.ascontiguousarray(mask, dtype="<u8").view(np.uint8).reshape(words, states, 8)
    total = np.zeros(states, dtype=np.int64)
    bits = (np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1
    present = np.bitwise_or.reduce(mask, axis=1).astype("<u8").view(np.uint8).reshape(words, 8)
    for word in range(words):
        for byte in range(8):
            chunk = weights[64 * word + 8 * byte : 64 * word + 8 * byte + 8]
            if not present[word, byte] or not chunk.any():
                continue
            table = bits @ chunk
            total += table[data[word, :, byte]]
    return total


def _reach_weights(
    graph: EliminationGraph,
    vertices: list[int],
    neighbours: dict[int, list[tuple[int, int]]],
    states: np.ndarray | None = None,
) -> dict[int, np.ndarray]:
    """For every state and intermediate v, W = sum of edge weights to v's current neighbours.

    ``vertices`` lists the vertices so that each one's ``neighbours`` (pairs of vertex and
    edge code) come earlier; a neighbour that is eliminated in a state is replaced by the
    vertices it reaches in that state, seen through the edge. ``states`` are bit masks of
    eliminated intermediates (default: all 2^m of them).
    """
    m = len(graph.intermediates)
    bit = {v: j for j, v in enumerate(graph.intermediates)}
    n = len(graph.sizes)
    words = (n + 63) // 64
    if states is None:
        states = np.arange(1 << m, dtype=np.int64)
    sizes = np.zeros(64 * words, dtype=np.int64)
    sizes[:n] = graph.sizes
    ones = np.zeros(64 * words, dtype=np.int64)
    ones[:n] = 1
    uses = {v: 0 for v in graph.intermediates}
    for v in vertices:
        if v not in bit:
            continue
        for x, _code in neighbours[v]:
            if x in uses:
                uses[x] += 1
    reached: dict[int, Masks] = {}
    weights: dict[int, np.ndarray] = {}
    for v in vertices:
        if v not in bit:
            continue
        total: Masks = (None, None, None)
        for x, code in neighbours[v]:
            single = np.zeros((words, 1), dtype=np.uint64)
            single[x // 64, 0] = np.uint64(1) << np.uint64(x % 64)
            masks: list[Any] = [None, None, None]
            masks[{IDENTITY: 0, DIAGONAL: 1, DENSE: 2}[code]] = single
            term: Masks = (masks[0], masks[1], masks[2])
            if x in bit:
                gone = ((states >> bit[x]) & 1).astype(bool)
                seen = _through(reached[x], code)
                term = (
                    _select(gone, seen[0], term[0]),
                    _select(gone, seen[1], term[1]),
                    _select(gone, seen[2], term[2]),
                )
                uses[x] -= 1
                if uses[x] == 0:
                    del reached[x]
            total = _union(total, term)
        reached[v] = total
        weights[v] = np.zeros(len(states), dtype=np.int64)
        for mask, scale in ((total[1], ones), (total[2], sizes)):
            if mask is not None:
                weights[v] = weights[v] + _weigh(np.broadcast_to(mask, (words, len(states))), scale)
        if uses[v] == 0:
            del reached[v]
    return weights


def coded_neighbours(graph: EliminationGraph) -> tuple[dict, dict]:
    """``(preds, succs)``: for every vertex, its neighbours and the edges' structure codes,
    as ``[(vertex, code), ...]`` in ascending order (what the subset DPs propagate)."""
    preds: dict[int, list[tuple[int, int]]] = {v: [] for v in range(len(graph.sizes))}
    succs: dict[int, list[tuple[int, int]]] = {v: [] for v in range(len(graph.sizes))}
    for (u, w), code in sorted(graph.edges.items()):
        preds[w].append((u, code))
        succs[u].append((w, code))
    return preds, succs


def costs_fit_int64(graph: EliminationGraph) -> bool:
    """Whether every order's cost provably fits int64: the eliminations cost at most the
    intermediates' sizes times the squared sum of all sizes."""
    total = sum(graph.sizes)
    return sum(graph.sizes[v] for v in graph.intermediates) * total * total < INT64_SAFE


def exact_order(
    graph: EliminationGraph,
    max_intermediates: int = MAX_EXACT_INTERMEDIATES,
    progress: bool | None = None,
) -> tuple[tuple[int, ...], int]:
    """The cheapest vertex elimination order, by dynamic programming over eliminated sets.

    Parameters
    ----------
    graph : EliminationGraph
    max_intermediates : int
        Refuse graphs with more intermediate vertices than this (default 20).
    progress : bool or None
        A progress bar over the sets examined (see :func:`jacchain.progress.progress_bar`);
        by default only from :data:`EXACT_PROGRESS_INTERMEDIATES` intermediates on.

    Returns
    -------
    order : tuple of int
        An optimal order (among equal ones, the DP keeps the first found).
    cost : int
        Its cost.

    Raises
    ------
    MethodError
        If the graph has more than ``max_intermediates`` intermediate vertices.

    Notes
    -----
    After eliminating a set T of vertices, in any order, the graph has an edge u -> w
    exactly when a path from u to w has all its inner vertices in T, and its value (and
    structure) is the sum over those paths: the remaining graph, and so the cost of
    eliminating v next, depends only on T. Hence best(T + v) = min over v of best(T) +
    cost(v | T), over the 2^m subsets of the m intermediates. The costs cost(v | T) are
    computed for all subsets at once with numpy: each vertex's current predecessors (and
    successors) in every subset are bit masks, propagated in topological (and reverse)
    order. Time O(2^m (m^2 + E * n / 64)) and memory O(2^m m) for E edges and n vertices:
    1.7 s of CPU at m = 20 and 0.06 s at m = 16 (``experiments/results/graph_scale.md``).
    Weights are summed in int64: a vertex's current neighbours never include an output
    and its copy together, so their sizes sum to at most the graph's, which read_graph
    keeps within int64. Costs are int64 when a bound proves they fit, else Python ints.

    References
    ----------
    Griewank and Walther, *Evaluating Derivatives*, 2nd ed., SIAM 2008, ch. 9-10 (vertex
    elimination; optimal accumulation is NP-hard in general, Naumann, Math. Program. 112,
    2008); the subset recurrence is the Held-Karp scheme (J. SIAM 10, 1962).

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.path_graph(5, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, {0: 1000, 1: 10, 2: 1000, 3: 10, 4: 1000}, "size")
    >>> exact_order(elimination_graph(graph_spec(G)))
    ((2, 3, 1), 10200000)
    """
    inner = graph.intermediates
    m = len(inner)
    if m > max_intermediates:
        raise MethodError(
            f"exact elimination examines 2**m orders of eliminated sets and accepts at most "
            f"{max_intermediates} intermediate vertices; this graph has {m}: use 'markowitz' "
            "or 'chain'"
        )
    if m == 0:
        return (), 0
    if sum(graph.spec.sizes) > MAX_TOTAL_SIZE:  # read_graph refuses such graphs already
        raise GraphError("exact elimination sums sizes in int64: these sizes sum beyond it")
    preds, succs = coded_neighbours(graph)
    vertices = list(range(len(graph.sizes)))
    inflow = _reach_weights(graph, vertices, preds)
    outflow = _reach_weights(graph, vertices[::-1], succs)
    exact = costs_fit_int64(graph)
    costs = []
    for v in inner:
        if exact:
            costs.append(graph.sizes[v] * inflow[v] * outflow[v])
        else:
            costs.append(graph.sizes[v] * inflow[v].astype(object) * outflow[v].astype(object))
    del inflow, outflow
    states = np.arange(1 << m, dtype=np.int64)
    count = np.zeros(1 << m, dtype=np.int64)
    for j in range(m):
        count += (states >> j) & 1
    by_count = np.argsort(count, kind="stable")
    starts = np.concatenate(([0], np.cumsum(np.bincount(count, minlength=m + 1))))
    if exact:
        best = np.full(1 << m, np.iinfo(np.int64).max, dtype=np.int64)
        best[0] = 0
    else:
        best = np.full(1 << m, None, dtype=object)
        best[0] = 0
    last = np.full(1 << m, -1, dtype=np.int8)
    enabled = False if progress is None and m < EXACT_PROGRESS_INTERMEDIATES else progress
    with progress_bar((1 << m) - 1, "exact elimination", enabled, unit="sets") as bar:
        for level in range(m):
            current = by_count[starts[level] : starts[level + 1]]
            for j in range(m):
                source = current[((current >> j) & 1) == 0]
                target = source | (1 << j)
                candidate = best[source] + costs[j][source]
                if exact:
                    better = candidate < best[target]
                else:
                    better = np.array(
                        [
                            old is None or new < old
                            for new, old in zip(candidate, best[target], strict=True)
                        ],
                        dtype=bool,
                    )
                best[target[better]] = candidate[better]
                last[target[better]] = j
            bar.update(len(current))
    order = []
    state = (1 << m) - 1
    while state:
        j = int(last[state])
        order.append(inner[j])
        state ^= 1 << j
    logger.debug("exact elimination: %d intermediates, optimal cost %s", m, f"{int(best[-1]):,}")
    return tuple(reversed(order)), int(best[-1])


def elimination_order(graph: EliminationGraph, method: str) -> tuple[int, ...]:
    """The elimination order named ``method``: one of :data:`ORDERS`.

    ``"forward"`` eliminates in topological order (forward mode), ``"reverse"`` in reverse
    topological order (reverse mode), ``"markowitz"`` greedily
    (:func:`markowitz_order`), ``"exact"`` optimally (:func:`exact_order`).

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.path_graph(4, create_using=nx.DiGraph)
    >>> nx.set_node_attributes(G, 2, "size")
    >>> eg = elimination_graph(graph_spec(G))
    >>> elimination_order(eg, "forward"), elimination_order(eg, "reverse")
    ((1, 2), (2, 1))
    """
    if method == "forward":
        return graph.intermediates
    if method == "reverse":
        return graph.intermediates[::-1]
    if method == "markowitz":
        return markowitz_order(graph)
    if method == "exact":
        return exact_order(graph)[0]
    raise MethodError(
        f"unknown elimination order {shown(method)}; valid orders: {', '.join(map(repr, ORDERS))}"
    )


def eliminate(
    graph: EliminationGraph, order: tuple[int, ...], values: dict[tuple[int, int], Value]
) -> np.ndarray:
    """Compute the Jacobian by eliminating the vertices in ``order`` on the edge Jacobians.

    Parameters
    ----------
    graph : EliminationGraph
    order : tuple of int
        Every intermediate vertex, once.
    values : dict
        The edge Jacobians of ``graph.spec``, ``{(u, v): (code, array)}`` (from
        :func:`jacchain.graphs.graph.read_graph` with ``values=True``).

    Returns
    -------
    numpy.ndarray
        Rows: the outputs' blocks in order; columns: the inputs' blocks in order.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import read_graph
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from(["x", "h", "y"], size=1)
    >>> G.add_edge("x", "h", jacobian=[[2.0]])
    >>> G.add_edge("h", "y", jacobian=[[3.0]])
    >>> spec, values = read_graph(G, values=True)
    >>> eliminate(elimination_graph(spec), (1,), values)
    array([[6.]])
    """
    if sorted(order) != sorted(graph.intermediates):
        raise GraphError("an elimination order must list every intermediate vertex once")
    full = dict(values)
    for (u, w), code in graph.edges.items():
        if (u, w) not in full and code == IDENTITY:
            full[(u, w)] = (IDENTITY, graph.sizes[u])
    state = _Linearized(graph, full)
    for v in order:
        state.eliminate(v)
    remaining = state.values
    dtype = np.result_type(float, *(load for code, load in remaining.values() if code != IDENTITY))
    sizes = graph.sizes
    rows = np.cumsum([0] + [sizes[o] for o in graph.outputs])
    cols = np.cumsum([0] + [sizes[x] for x in graph.inputs])
    result = np.zeros((rows[-1], cols[-1]), dtype=dtype)
    for i, o in enumerate(graph.outputs):
        for j, x in enumerate(graph.inputs):
            value = remaining.get((x, o))
            if value is not None:
                result[rows[i] : rows[i + 1], cols[j] : cols[j + 1]] = _dense(
                    value, lambda n: np.eye(n, dtype=dtype)
                )
    return result
