"""Lower bounds on vertex elimination costs from vertex cuts, for the exact pruned DP.

When an intermediate v is eliminated, its predecessors are vertices not yet eliminated
through which every path from an input to v passes (a vertex cut), and its successors cut
every path from v to an output. Eliminating v therefore costs at least ``size(v)`` times
the least weights of two such cuts, found by max-flow with vertex capacities
(:func:`cut_bounds`).

:class:`EliminationBounds` sharpens this for the pruned DP in two ways:

- **Eliminated vertices cannot be cut.** Once u is eliminated it is never a neighbour
  again, so v's cuts must avoid it: the least cut with u's capacity infinite bounds v for
  every set containing u. Each cut bound watches up to :data:`MOST_WATCHED` intermediates,
  chosen greedily among the vertices of the least cuts nearest the ends and nearest v
  (those whose being uncuttable raises the cut most), and keeps the least cut for every
  combination of them eliminated (:class:`WatchedCuts`).
- **Neighbours in either order.** For an edge u -> v between intermediates, either u goes
  first (v is then one of u's successors, and u is gone when v goes) or v goes first (u is
  then one of v's predecessors, and v is gone when u goes). The lesser of the two
  scenarios' bounds bounds the pair's cost together (:class:`PairCuts`, combined with the
  watched bounds of the current set); a matching of such pairs (the largest total gain at
  the start, networkx's ``max_weight_matching``) adds their gains without counting a
  vertex twice.

The bounds are checked against the true cost of the rest, for every set, on random graphs
in the tests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from ..chains.cost import DENSE, DIAGONAL, IDENTITY
from .elimination import EliminationGraph, _weigh

__all__ = ["cut_bounds", "WatchedCuts", "PairCuts", "EliminationBounds", "elimination_bounds",
           "MOST_WATCHED"]


MOST_WATCHED = 4
"""The most intermediates whose elimination each cut bound watches (it keeps 2^this cuts)."""


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


class _CutNetwork:
    """Minimum weighted vertex cuts between the ends (the inputs, ``backwards``, or the
    outputs) and one vertex, by Edmonds-Karp on the vertex-split flow network."""

    def __init__(self, graph: EliminationGraph, backwards: bool) -> None:
        n = len(graph.sizes)
        self.towards: list[list[int]] = [[] for _ in range(n)]  # flow runs from the ends to v
        self.away: list[list[int]] = [[] for _ in range(n)]
        for (u, w) in sorted(graph.edges):
            a, b = (u, w) if backwards else (w, u)
            self.towards[a].append(b)
            self.away[b].append(a)
        self.ends = set(graph.inputs if backwards else graph.outputs)
        self.least = _least_weights(graph, backwards)

    def cut(self, v: int, infinite: Iterable[int] = (), free: int | None = None) -> tuple[int, set[int]]:
        """The least cut's weight, with the vertices ``infinite`` uncuttable and vertex
        ``free`` cut for nothing, and the vertices of the least cuts nearest the ends and
        nearest v."""
        region, queue = {v}, deque([v])  # the vertices with a path to v
        while queue:
            for a in self.away[queue.popleft()]:
                if a not in region:
                    region.add(a)
                    queue.append(a)
        region.discard(v)
        weights = {x: self.least[x] for x in region}
        unbounded = sum(weights.values()) + 1
        for x in infinite:
            if x in weights:
                weights[x] = unbounded
        if free is not None and free in weights:
            weights[free] = 0
        source, sink = -1, 2 * v  # vertex x splits into 2x (in) and 2x + 1 (out)
        heads: list[int] = []
        caps: list[int] = []
        edges: dict[int, list[int]] = {}

        def add(a: int, b: int, capacity: int) -> None:
            edges.setdefault(a, []).append(len(heads))
            heads.append(b)
            caps.append(capacity)
            edges.setdefault(b, []).append(len(heads))
            heads.append(a)
            caps.append(0)

        for x in sorted(region):
            add(2 * x, 2 * x + 1, weights[x])
            for b in self.towards[x]:
                if b in region or b == v:
                    add(2 * x + 1, 2 * b, unbounded)
            if x in self.ends:
                add(source, 2 * x, unbounded)
        total = 0
        while True:
            through = {source: -1}
            queue = deque([source])
            while queue and sink not in through:
                a = queue.popleft()
                for e in edges.get(a, ()):
                    if caps[e] > 0 and heads[e] not in through:
                        through[heads[e]] = e
                        queue.append(heads[e])
            if sink not in through:
                break
            path, node = [], sink
            while node != source:
                path.append(through[node])
                node = heads[through[node] ^ 1]
            pushed = min(caps[e] for e in path)
            for e in path:
                caps[e] -= pushed
                caps[e ^ 1] += pushed
            total += pushed
        reaching, queue = {sink}, deque([sink])  # the nodes with a residual path to the sink
        while queue:
            b = queue.popleft()
            for e in edges.get(b, ()):
                if caps[e ^ 1] > 0 and heads[e] not in reaching:
                    reaching.add(heads[e])
                    queue.append(heads[e])
        nearest = {x for x in region if (2 * x in through) != (2 * x + 1 in through)}
        farthest = {x for x in region if (2 * x in reaching) != (2 * x + 1 in reaching)}
        return min(total, unbounded), nearest | farthest


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
    before, after = _CutNetwork(graph, True), _CutNetwork(graph, False)
    return {v: graph.sizes[v] * before.cut(v)[0] * after.cut(v)[0] for v in graph.intermediates}


@dataclass(frozen=True)
class WatchedCuts:
    """One side's cut bound of one intermediate as a function of which intermediates, among
    a few watched ones, are already eliminated.

    Attributes
    ----------
    watched : tuple of int
        Positions of intermediates (bit ``t`` of a combination is ``watched[t]``).
    weights : tuple of int
        The least cut avoiding the eliminated watched vertices, for each combination
        (``weights[0]`` is the plain cut).
    """

    watched: tuple[int, ...]
    weights: tuple[int, ...]

    def at(self, states: np.ndarray) -> np.ndarray:
        """The bound for each set of eliminated intermediates (bit masks).

        Examples
        --------
        >>> import numpy as np
        >>> cuts = WatchedCuts(watched=(2,), weights=(3, 5))  # 5 once intermediate 2 is gone
        >>> cuts.at(np.array([0b000, 0b100, 0b011])).tolist()
        [3, 5, 3]
        """
        code = np.zeros(len(states), dtype=np.int64)
        for t, p in enumerate(self.watched):
            code |= ((states >> p) & 1) << t
        return np.asarray(self.weights, dtype=np.int64)[code]


@dataclass(frozen=True)
class PairCuts:
    """Cut weights of two intermediates joined by an edge ``first -> second``, in the two
    orders they can go in.

    Attributes
    ----------
    first, second : int
        Positions of the two intermediates.
    first_then : int
        first's least successor cut that includes second (first goes first).
    second_after : int
        second's least predecessor cut once first is gone.
    second_then : int
        second's least predecessor cut that includes first (second goes first).
    first_after : int
        first's least successor cut once second is gone.
    """

    first: int
    second: int
    first_then: int
    second_after: int
    second_then: int
    first_after: int

    def gain(self, first_size: Any, second_size: Any, first_before: Any, first_after: Any,
             second_before: Any, second_after: Any) -> Any:
        """How much the lesser of the two orders' bounds exceeds the two single bounds, given
        each vertex's current predecessor and successor cut bounds (numbers or arrays).

        Examples
        --------
        >>> pair = PairCuts(0, 1, first_then=3, second_after=2, second_then=2, first_after=1)
        >>> int(pair.gain(1, 1, 1, 1, 1, 1))  # min(1*1*3 + 1*2*1, 1*2*1 + 1*1*1) - 2
        1
        """
        first_first = (first_size * first_before * np.maximum(first_after, self.first_then)
                       + second_size * np.maximum(second_before, self.second_after) * second_after)
        second_first = (second_size * np.maximum(second_before, self.second_then) * second_after
                        + first_size * first_before * np.maximum(first_after, self.first_after))
        return (np.minimum(first_first, second_first) - first_size * first_before * first_after
                - second_size * second_before * second_after)


@dataclass(frozen=True)
class EliminationBounds:
    """Lower bounds on the cost of eliminating what remains after a set of eliminations.

    Positions ``j`` index ``intermediates`` (bit ``j`` of a set's mask).

    Attributes
    ----------
    sizes : numpy.ndarray
        The intermediates' sizes.
    before, after : tuple of WatchedCuts
        Per intermediate: its predecessor and successor cut bounds.
    pairs : tuple of PairCuts
        Matched pairs of adjacent intermediates, whose two eliminations are bounded
        together.
    """

    sizes: np.ndarray
    before: tuple[WatchedCuts, ...]
    after: tuple[WatchedCuts, ...]
    pairs: tuple[PairCuts, ...]

    def single(self) -> np.ndarray:
        """The bound on each intermediate's elimination whatever the order.

        Examples
        --------
        >>> import numpy as np
        >>> bounds = EliminationBounds(np.array([2]), (WatchedCuts((), (3,)),),
        ...                            (WatchedCuts((), (4,)),), ())
        >>> bounds.single().tolist()
        [24]
        """
        cuts = [[b.weights[0], a.weights[0]] for b, a in zip(self.before, self.after, strict=True)]
        return self.sizes * np.array(cuts, dtype=np.int64).reshape(-1, 2).prod(axis=1)

    def remaining(self, states: np.ndarray) -> np.ndarray:
        """For each set of eliminated intermediates (bit masks), a lower bound on the cost
        of eliminating all the others.

        Examples
        --------
        >>> import numpy as np
        >>> bounds = EliminationBounds(np.array([2, 1]), (WatchedCuts((), (3,)),) * 2,
        ...                            (WatchedCuts((), (4,)), WatchedCuts((0,), (1, 6))), ())
        >>> bounds.remaining(np.array([0b00, 0b01, 0b11])).tolist()  # 2*3*4 + 1*3*(1 or 6)
        [27, 18, 0]
        """
        states = np.asarray(states, dtype=np.int64)
        single = self.single()
        weights = np.zeros(64, dtype=np.int64)
        weights[: len(single)] = single
        # the plain bounds of the vertices still there, by byte tables over the masks
        total = int(single.sum()) - _weigh(states.astype(np.uint64)[None, :], weights)
        paired = {j for pair in self.pairs for j in (pair.first, pair.second)}
        cuts: dict[int, tuple[Any, Any]] = {}
        for j, size in enumerate(self.sizes):
            before: Any = self.before[j].weights[0]
            after: Any = self.after[j].weights[0]
            if self.before[j].watched or self.after[j].watched:
                before, after = self.before[j].at(states), self.after[j].at(states)
                alive = (states >> j) & 1 == 0
                total += np.where(alive, size * before * after - single[j], 0)
            if j in paired:
                cuts[j] = (before, after)
        for pair in self.pairs:
            i, j = pair.first, pair.second
            gain = pair.gain(self.sizes[i], self.sizes[j], *cuts[i], *cuts[j])
            if np.ndim(gain) == 0 and gain <= 0:
                continue
            both = ((states >> i) & 1 == 0) & ((states >> j) & 1 == 0)
            total += np.where(both, np.maximum(gain, 0), 0)
        return total

    def lower_bound(self) -> int:
        """The bound on the cost of a whole order (any number of intermediates).

        Examples
        --------
        >>> import numpy as np
        >>> bounds = EliminationBounds(np.array([2]), (WatchedCuts((), (3,)),),
        ...                            (WatchedCuts((), (4,)),), ())
        >>> bounds.lower_bound()
        24
        """
        total = int(self.single().sum())
        for pair in self.pairs:
            i, j = pair.first, pair.second
            total += max(int(pair.gain(self.sizes[i], self.sizes[j],
                                       self.before[i].weights[0], self.after[i].weights[0],
                                       self.before[j].weights[0], self.after[j].weights[0])), 0)
        return total


def _watched_cuts(network: _CutNetwork, v: int, position: dict[int, int]) -> WatchedCuts:
    """v's cut bound watching up to :data:`MOST_WATCHED` intermediates, chosen greedily
    among the vertices of the least cuts nearest the ends and nearest v: each time the one
    whose being uncuttable (with those already chosen) raises the cut most."""
    found: dict[frozenset[int], tuple[int, set[int]]] = {}

    def cut(uncuttable: Iterable[int]) -> tuple[int, set[int]]:  # each max-flow once
        key = frozenset(uncuttable)
        if key not in found:
            found[key] = network.cut(v, infinite=key)
        return found[key]

    watched: list[int] = []
    while len(watched) < MOST_WATCHED:
        fresh = sorted((u for u in cut(watched)[1] if u in position and u not in watched),
                       key=position.get)
        if not fresh:
            break
        watched.append(max(fresh, key=lambda u: cut([*watched, u])[0]))
    weights = tuple(
        cut([u for t, u in enumerate(watched) if (code >> t) & 1])[0]
        for code in range(1 << len(watched))
    )
    return WatchedCuts(tuple(position[u] for u in watched), weights)


def elimination_bounds(graph: EliminationGraph) -> EliminationBounds:
    """The cut bounds of every intermediate, sharpened as :class:`EliminationBounds` says.

    Examples
    --------
    >>> import networkx as nx
    >>> import numpy as np
    >>> from jacchain.graphs.graph import graph_spec
    >>> from jacchain.graphs.elimination import elimination_graph, exact_order
    >>> G = nx.DiGraph([(0, 1), (1, 2), (0, 2), (2, 3)])
    >>> nx.set_node_attributes(G, {0: 3, 1: 2, 2: 4, 3: 1}, "size")
    >>> eg = elimination_graph(graph_spec(G))
    >>> bounds = elimination_bounds(eg)
    >>> int(bounds.remaining(np.array([0]))[0]) <= exact_order(eg)[1]
    True
    """
    inner = graph.intermediates
    position = {v: j for j, v in enumerate(inner)}
    before_net, after_net = _CutNetwork(graph, True), _CutNetwork(graph, False)
    before = tuple(_watched_cuts(before_net, v, position) for v in inner)
    after = tuple(_watched_cuts(after_net, v, position) for v in inner)
    sizes = np.array([graph.sizes[v] for v in inner], dtype=np.int64)
    gains = nx.Graph()
    for (u, v) in sorted(graph.edges):
        if u not in position or v not in position:
            continue
        i, j = position[u], position[v]
        pair = PairCuts(i, j, after_net.least[v] + after_net.cut(u, free=v)[0],
                        before_net.cut(v, infinite=[u])[0],
                        before_net.least[u] + before_net.cut(v, free=u)[0],
                        after_net.cut(u, infinite=[v])[0])
        gain = int(pair.gain(sizes[i], sizes[j], before[i].weights[0], after[i].weights[0],
                             before[j].weights[0], after[j].weights[0]))
        if gain > 0:
            gains.add_edge(i, j, weight=gain, pair=pair)
    pairs = tuple(sorted((gains[i][j]["pair"] for i, j in nx.max_weight_matching(gains)),
                         key=lambda pair: (pair.first, pair.second)))
    return EliminationBounds(sizes, before, after, pairs)
