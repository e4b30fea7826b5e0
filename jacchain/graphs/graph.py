"""Computational graphs: validation, default inputs and outputs, and the frontier layering.

A computational graph is a :class:`networkx.DiGraph` whose nodes are variables with a
positive int attribute ``size`` and whose edges ``u -> v`` carry the local partial Jacobian
dv/du as attribute ``jacobian`` (an array of shape ``(size(v), size(u))``) and, optionally,
its structure as ``kind``: ``"dense"`` (the default), ``"diagonal"`` (square; the
``jacobian`` may be given as its 1-D diagonal) or ``"identity"`` (square; the ``jacobian``
may be omitted). A ``jacobian`` is a numeric array_like or a scipy.sparse matrix, and that
of a square edge (any kind) may be given as its 1-D diagonal; integer and bool ones are
computed in float64. For planning only, an edge needs no ``jacobian``. The Jacobian of the
outputs with respect to the inputs is, block by block, the sum over all paths of the
products of the edge Jacobians along the path.

:func:`read_graph` validates a graph once into a :class:`GraphSpec` (the variables that lie
on a path from an input to an output, in topological order, with their sizes and edge
structures). :func:`graph_layers` cuts it into a sequence of frontiers so that the chain
planner applies (see its Notes for the layering heuristic); :func:`chain_from_graph` (also
``jacchain.Chain.from_graph``) returns the resulting :class:`~jacchain.Chain`.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np

from ..chains.chain import HOOKS as CHAIN_HOOKS
from ..chains.chain import Chain, Layer
from ..chains.cost import DENSE, DIAGONAL, IDENTITY
from ..errors import GraphError, NonFiniteError, shown

__all__ = [
    "EDGE_KINDS",
    "GraphSpec",
    "GraphLayers",
    "Block",
    "read_graph",
    "graph_spec",
    "graph_layers",
    "chain_from_graph",
    "layer_operators",
]

EDGE_KINDS = {"identity": IDENTITY, "diagonal": DIAGONAL, "dense": DENSE}
"""The edge kinds and their structure codes (those of :mod:`jacchain.chains.cost`)."""

Value = tuple[int, Any]
"""An edge Jacobian by structure: (IDENTITY, size), (DIAGONAL, 1-D array) or (DENSE, 2-D array)."""

MAX_TOTAL_SIZE = 2**63 - 1
"""The largest size of a variable, and of the sum of the sizes of a graph's variables."""

_NUMERIC_KINDS = "biufc"
_EXACT_KINDS = "biu"
_MAX_PASSES = 20


@dataclass(frozen=True)
class GraphSpec:
    """A validated computational graph, reduced to what planning needs.

    Attributes
    ----------
    names : tuple
        The variables that matter, in a topological order (ties in the graph's node
        order): every input and output, and every variable on a path from an input to an
        output. Everything below refers to variables by their position in ``names``.
    sizes : tuple of int
        ``sizes[i]`` is the size of variable ``names[i]``.
    edges : tuple of (int, int, int)
        ``(u, v, code)`` for every edge on a path from an input to an output, sorted;
        ``code`` is the edge's structure (``IDENTITY``, ``DIAGONAL`` or ``DENSE``).
    inputs, outputs : tuple of int
        The inputs (column blocks of the Jacobian) and outputs (row blocks), in order.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from(["x", "y"], size=2)
    >>> G.add_edge("x", "y", kind="diagonal")
    >>> spec = graph_spec(G)
    >>> spec.names, spec.sizes, spec.edges, spec.shape
    (('x', 'y'), (2, 2), ((0, 1, 1),), (2, 2))
    """

    names: tuple[Hashable, ...]
    sizes: tuple[int, ...]
    edges: tuple[tuple[int, int, int], ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    @cached_property
    def preds(self) -> tuple[tuple[int, ...], ...]:
        """``preds[v]``: the predecessors of variable ``v``, ascending."""
        found: list[list[int]] = [[] for _ in self.names]
        for u, v, _code in self.edges:
            found[v].append(u)
        return tuple(tuple(sorted(p)) for p in found)

    @cached_property
    def succs(self) -> tuple[tuple[int, ...], ...]:
        """``succs[u]``: the successors of variable ``u``, ascending."""
        found: list[list[int]] = [[] for _ in self.names]
        for u, v, _code in self.edges:
            found[u].append(v)
        return tuple(tuple(sorted(s)) for s in found)

    @cached_property
    def code(self) -> dict[tuple[int, int], int]:
        """The structure code of every edge ``(u, v)``."""
        return {(u, v): code for u, v, code in self.edges}

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the full Jacobian: (sum of output sizes, sum of input sizes)."""
        return (
            sum(self.sizes[o] for o in self.outputs),
            sum(self.sizes[i] for i in self.inputs),
        )

    def label(self, v: int) -> str:
        """The name of variable ``v`` as text."""
        return str(self.names[v])


def _node_text(node: Any) -> str:
    return shown(node)


def _edge_text(u: Any, v: Any) -> str:
    return f"{shown(u)} -> {shown(v)}"


def _check_container(graph: Any) -> None:
    if not isinstance(graph, nx.Graph):
        raise GraphError(f"expected a networkx.DiGraph, got {type(graph).__name__}")
    if not graph.is_directed():
        raise GraphError(
            "the graph is undirected: a computational graph is a networkx.DiGraph whose "
            "edges u -> v point from a variable to the variables computed from it"
        )
    if graph.is_multigraph():
        raise GraphError(
            "the graph is a MultiDiGraph: add parallel edges u -> v into one edge (their "
            "Jacobians sum)"
        )
    if graph.number_of_nodes() == 0:
        raise GraphError("the graph is empty: it needs at least one node")


def _sizes(graph: nx.DiGraph) -> dict[Any, int]:
    sizes = {}
    for node, data in graph.nodes(data=True):
        if "size" not in data:
            raise GraphError(f"node {_node_text(node)} has no 'size' attribute")
        size = data["size"]
        if (
            isinstance(size, (bool, np.bool_))
            or not isinstance(size, numbers.Integral)
            or int(size) <= 0
        ):
            raise GraphError(
                f"node {_node_text(node)} has size {shown(size)}: a size must be a positive int"
            )
        if int(size) > MAX_TOTAL_SIZE:
            raise GraphError(
                f"node {_node_text(node)} has size {shown(int(size))}, beyond the int64 range: "
                "sizes must be at most 2**63 - 1"
            )
        sizes[node] = int(size)
    return sizes


def _check_total_size(names: list[Any], sizes: dict[Any, int]) -> None:
    """Refuse graphs whose relevant variables' sizes sum beyond the int64 range."""
    total = sum(sizes[node] for node in names)
    if total > MAX_TOTAL_SIZE:
        largest = max(names, key=sizes.__getitem__)
        raise GraphError(
            f"the sizes of the graph's variables sum to {total}, beyond the int64 range "
            f"(2**63 - 1) that frontier widths and elimination weights use; the largest is "
            f"node {_node_text(largest)} of size {sizes[largest]}"
        )


def _topological_order(graph: nx.DiGraph) -> list[Any]:
    """The nodes in topological order, ties in the graph's node order; cycles refused.

    When the node order is already topological (as when nodes are added before the
    nodes computed from them), it is the answer, found in O(nodes + edges).
    """
    position = {node: i for i, node in enumerate(graph)}
    if all(position[u] < position[v] for u, v in graph.edges):
        return list(graph)
    _check_acyclic(graph)
    return list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))


def _check_acyclic(graph: nx.DiGraph) -> None:
    if nx.is_directed_acyclic_graph(graph):
        return
    cycle = nx.find_cycle(graph)
    path = " -> ".join(_node_text(u) for u, _v in cycle) + f" -> {_node_text(cycle[0][0])}"
    raise GraphError(f"the graph has a cycle: {path}")


def _is_sparse(value: Any) -> bool:
    return type(value).__module__.startswith("scipy.sparse") and hasattr(value, "toarray")


def _numeric(value: Any, edge: str) -> np.ndarray:
    """``value`` as a numeric array; integer and bool arrays become float64.

    Integers and booleans are promoted before any arithmetic, so that sums and products
    of edge Jacobians neither wrap around nor saturate. A masked array with masked
    entries is refused (its hidden values would be used).
    """
    if np.ma.isMaskedArray(value) and np.ma.getmaskarray(value).any():
        raise GraphError(f"{edge} has a jacobian with masked entries: fill them (numpy.ma.filled)")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RuntimeError) as err:
        raise GraphError(f"{edge} has a jacobian that is not an array: {err}") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise GraphError(
            f"{edge} has a jacobian of dtype {array.dtype}: it must be a numeric array "
            "(bool, int, float or complex)"
        )
    if array.dtype.kind in _EXACT_KINDS:
        array = array.astype(np.float64)
    return array


def _edge_array(
    jacobian: Any, ends: tuple[Any, Any], kind: str, expected: tuple[int, int], values: bool
) -> np.ndarray | None:
    """The validated ``jacobian`` of edge ``ends`` = (u, v) of ``kind``, shape ``expected``.

    Returns the 1-D diagonal of a diagonal or identity edge (given as its diagonal or as
    a matrix without off-diagonal entries), the 2-D array of a dense edge (a square one
    may be given by its diagonal), or None for a dense scipy.sparse Jacobian when
    ``values`` is false. A scipy.sparse matrix is read
    through its stored entries and formed densely only for a dense edge whose value is
    wanted, and a 2-D diagonal is checked without n x n temporaries, so validating costs
    no memory beyond the Jacobians given.
    """
    u, v = ends
    edge = f"edge {_edge_text(u, v)}"
    sparse = _is_sparse(jacobian)
    array = _numeric(jacobian.data if sparse else jacobian, edge)
    shape = tuple(jacobian.shape) if sparse else array.shape
    m, n = expected
    if shape != (m, n) and not (m == n and shape == (n,)):
        also = "" if m != n else f" or its diagonal ({n},)"
        raise GraphError(
            f"{edge} has a jacobian of shape {shape}; expected (size({shown(v)}), size({shown(u)})) = "
            f"({m}, {n}){also}"
        )
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        raise NonFiniteError(f"{edge} has a jacobian with NaN or infinite entries")
    if sparse and kind == "dense":
        return _numeric(jacobian.toarray(), edge) if values else None
    if sparse:
        matrix = jacobian.tocsr()
        diagonal, stored = _numeric(matrix.diagonal(), edge), matrix.count_nonzero()
    elif array.ndim == 2 and kind != "dense":
        diagonal, stored = np.diagonal(array).copy(), np.count_nonzero(array)
    elif array.ndim == 1 and kind == "dense":  # a dense edge given by its diagonal
        return np.diag(array) if values else array
    else:
        return array
    if stored != np.count_nonzero(diagonal):
        raise GraphError(f"{edge} is {kind} but its jacobian has off-diagonal entries")
    return diagonal


def _edge_value(u: Any, v: Any, data: dict, m: int, n: int, values: bool) -> tuple[int, Any]:
    """Validate edge u -> v (size(v) = m, size(u) = n); its code and, if asked, its Value."""
    edge = f"edge {_edge_text(u, v)}"
    kind = data.get("kind", "dense")
    if not isinstance(kind, str) or kind not in EDGE_KINDS:
        raise GraphError(
            f"{edge} has kind {shown(kind)}; valid kinds: {', '.join(map(repr, EDGE_KINDS))}"
        )
    code = EDGE_KINDS[kind]
    if code != DENSE and m != n:
        raise GraphError(f"{edge} is {kind} but joins sizes {n} -> {m}: it must be square")
    jacobian = data.get("jacobian")
    if jacobian is None:
        return code, (IDENTITY, n) if code == IDENTITY else None
    array = _edge_array(jacobian, (u, v), kind, (m, n), values)
    if code == IDENTITY and array is not None and not (array == 1).all():
        raise GraphError(f"{edge} is identity but its jacobian is not the identity matrix")
    if not values:
        return code, None
    if code == IDENTITY:
        return code, (IDENTITY, n)
    return code, (code, array)


def _node_list(graph: nx.DiGraph, nodes: Any, what: str) -> list[Any]:
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
        raise GraphError(f"{what} must be a list of nodes, got {type(nodes).__name__} {shown(nodes)}")
    if isinstance(nodes, (set, frozenset)):
        raise GraphError(
            f"{what} must be a list of nodes in order (the Jacobian's blocks follow it), got "
            f"an unordered {type(nodes).__name__}"
        )
    try:
        nodes = list(nodes)
    except TypeError as err:  # e.g. a 0-d numpy array
        raise GraphError(f"{what} must be a list of nodes: {err}") from None
    if not nodes:
        raise GraphError(f"{what} must name at least one node")
    seen = set()
    for node in nodes:
        try:
            present = node in graph
        except TypeError:
            present = False
        if not present:
            raise GraphError(f"{what[:-1]} {_node_text(node)} is not a node of the graph")
        if node in seen:
            raise GraphError(f"{what[:-1]} {_node_text(node)} is listed twice")
        seen.add(node)
    return nodes


def _reached(adjacency: Any, sources: list[Any]) -> set[Any]:
    """The sources and every node reachable from them: one traversal, O(nodes + edges)."""
    seen = set(sources)
    stack = list(seen)
    while stack:
        for node in adjacency[stack.pop()]:
            if node not in seen:
                seen.add(node)
                stack.append(node)
    return seen


def _default_outputs(graph: nx.DiGraph) -> list[Any]:
    sinks = [node for node in graph if graph.out_degree(node) == 0]
    computed = [node for node in sinks if graph.in_degree(node) > 0]
    return computed or sinks


def read_graph(
    graph: Any, inputs: Any = None, outputs: Any = None, values: bool = False
) -> tuple[GraphSpec, dict[tuple[int, int], Value] | None]:
    """Validate a computational graph; its :class:`GraphSpec` and, if asked, its edge Jacobians.

    Parameters
    ----------
    graph : networkx.DiGraph
        Nodes with ``size``; edges with ``jacobian`` and/or ``kind`` (module docstring).
    inputs, outputs : list of nodes, optional
        The Jacobian's column blocks and row blocks, in order. Default: the sources (nodes
        without predecessors) and the sinks that have predecessors (all sinks if no sink
        has one), each in the graph's node order. An isolated node is a source and a sink.
    values : bool
        Also return the edge Jacobians of the relevant edges, as
        ``{(u, v): (structure code, array)}`` keyed by positions in ``spec.names``.

    Returns
    -------
    spec : GraphSpec
    values : dict or None

    Raises
    ------
    GraphError
        For anything but a non-empty acyclic DiGraph; a node without a positive int
        ``size``, or of a size beyond int64 (also when the sizes of the variables that
        matter sum beyond it); an edge with an unknown ``kind``, a non-square identity or
        diagonal, or a ``jacobian`` of the wrong shape or dtype, with masked entries, or
        not of its kind; inputs or outputs that are not a list (a set has no order), not
        nodes of the graph, listed twice or none; an input with predecessors; and (with
        ``values``) a non-identity edge without a ``jacobian``. The message names the node
        or edge.
    NonFiniteError
        For an edge ``jacobian`` with NaN or infinite entries (named).

    Notes
    -----
    Edge Jacobians of integer or bool dtype are promoted to float64 (so no product or
    sum wraps around or saturates); floating and complex dtypes are kept; a
    scipy.sparse matrix is densified. Time O((nodes + edges) log nodes), O(nodes +
    edges) when the graph's node order is already topological.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", size=2)
    >>> G.add_node("y", size=1)
    >>> G.add_edge("x", "y", jacobian=[[1.0, 2.0]])
    >>> spec, values = read_graph(G, values=True)
    >>> spec.inputs, spec.outputs, values[(0, 1)][1].tolist()
    ((0,), (1,), [[1.0, 2.0]])
    """
    _check_container(graph)
    sizes = _sizes(graph)
    topological = _topological_order(graph)
    codes: dict[tuple[Any, Any], int] = {}
    found: dict[tuple[Any, Any], Value | None] = {}
    for u, v, data in graph.edges(data=True):
        codes[(u, v)], found[(u, v)] = _edge_value(u, v, data, sizes[v], sizes[u], values)
    if inputs is None:
        inputs = [node for node in graph if graph.in_degree(node) == 0]
    inputs = _node_list(graph, inputs, "inputs")
    outputs = _node_list(graph, _default_outputs(graph) if outputs is None else outputs, "outputs")
    for node in inputs:
        for pred in graph.predecessors(node):
            raise GraphError(
                f"input {_node_text(node)} has a predecessor ({_node_text(pred)}): inputs are "
                "independent variables, with no edges into them"
            )
    inner = _reached(graph.succ, inputs) & _reached(graph.pred, outputs)
    keep = inner | set(inputs) | set(outputs)
    order = [node for node in topological if node in keep]
    _check_total_size(order, sizes)
    index = {node: i for i, node in enumerate(order)}
    edges = sorted(
        (index[u], index[v], code) for (u, v), code in codes.items() if u in inner and v in inner
    )
    spec = GraphSpec(
        names=tuple(order),
        sizes=tuple(sizes[node] for node in order),
        edges=tuple(edges),
        inputs=tuple(index[node] for node in inputs),
        outputs=tuple(index[node] for node in outputs),
    )
    if not values:
        return spec, None
    result: dict[tuple[int, int], Value] = {}
    for u, v, _code in spec.edges:
        value = found[(order[u], order[v])]
        if value is None:
            raise GraphError(
                f"edge {_edge_text(order[u], order[v])} has no 'jacobian': a graph planned "
                "from kinds alone cannot be evaluated"
            )
        result[(u, v)] = value
    return spec, result


def graph_spec(graph: Any, inputs: Any = None, outputs: Any = None) -> GraphSpec:
    """Validate a computational graph into a :class:`GraphSpec` (see :func:`read_graph`).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("a", "c"), ("b", "c")])
    >>> nx.set_node_attributes(G, 1, "size")
    >>> [graph_spec(G).names[i] for i in graph_spec(G).inputs]
    ['a', 'b']
    """
    return read_graph(graph, inputs, outputs)[0]


@dataclass(frozen=True)
class Block:
    """One nonzero block of a graph layer: rows of variable ``row``, columns of ``col``.

    ``passing`` marks a variable carried unchanged to the next frontier (an identity block
    with ``row == col``); otherwise the block is the edge Jacobian ``col -> row`` with
    structure ``code``.
    """

    row: int
    col: int
    code: int
    passing: bool


@dataclass(frozen=True)
class GraphLayers:
    """A computational graph cut into frontiers, and the chain of layers between them.

    Attributes
    ----------
    spec : GraphSpec
    levels : tuple of int
        The level of each variable: 0 for inputs; a variable is computed in the layer of
        its level, from variables of lower levels.
    frontiers : tuple of tuple of int
        Frontier i (i = 0..k) holds the variables alive between layers i and i + 1: the
        inputs (i = 0), the outputs (i = k), else the variables of level <= i still needed
        by a later level or as an output. Variables appear in topological order.
    blocks : tuple of tuple of Block
        The nonzero blocks of each layer (layer i maps frontier i-1 to frontier i).
    chain : Chain
        One :class:`~jacchain.Layer` per graph layer (see :func:`graph_layers`).
    """

    spec: GraphSpec
    levels: tuple[int, ...]
    frontiers: tuple[tuple[int, ...], ...]
    blocks: tuple[tuple[Block, ...], ...]
    chain: Chain

    @property
    def widths(self) -> tuple[int, ...]:
        """The total size of each frontier (the chain's dims)."""
        return self.chain.dims


def _asap_alap(spec: GraphSpec) -> tuple[list[int], list[int], int]:
    inputs = set(spec.inputs)
    n = len(spec.names)
    asap = [0] * n
    for v in range(n):
        if v not in inputs:
            asap[v] = 1 + max((asap[u] for u in spec.preds[v]), default=0)
    depth = max(1, *asap)
    alap = [depth] * n
    for v in reversed(range(n)):
        if v in inputs:
            alap[v] = 0
        elif spec.succs[v]:
            alap[v] = min(alap[w] for w in spec.succs[v]) - 1
    return asap, alap, depth


def _last(spec: GraphSpec, levels: list[int], depth: int, outputs: set[int], x: int) -> int:
    """The last frontier that holds variable x (its level if nothing uses it later)."""
    if x in outputs:
        return depth
    if spec.succs[x]:
        return max(levels[w] for w in spec.succs[x]) - 1
    return levels[x]


def _span(level: int, last: int, depth: int) -> int:
    """How many of the inner frontiers 1..depth-1 lie in [level, last]."""
    return max(0, min(last, depth - 1) - max(level, 1) + 1)


def _alive(spec: GraphSpec, levels: list[int], depth: int, outputs: set[int], x: int) -> int:
    """How many of the inner frontiers 1..depth-1 hold variable x."""
    return _span(levels[x], _last(spec, levels, depth, outputs, x), depth)


class _Uses:
    """The levels, and for every variable the latest level among its successors.

    ``top[u]`` is that level (-1 for none) and ``count[u]`` how many successors hold it;
    :meth:`move` keeps both up to date in O(predecessors), rescanning a variable's
    successors only when the one successor at its top level moves down.
    """

    def __init__(self, spec: GraphSpec, levels: list[int]) -> None:
        self.spec, self.levels = spec, levels
        self.top = [-1] * len(levels)
        self.count = [0] * len(levels)
        for u in range(len(levels)):
            self._rescan(u)

    def _rescan(self, u: int) -> None:
        top, count = -1, 0
        for w in self.spec.succs[u]:
            level = self.levels[w]
            if level > top:
                top, count = level, 1
            elif level == top:
                count += 1
        self.top[u], self.count[u] = top, count

    def other(self, u: int, v: int) -> int:
        """The latest level among the successors of u other than v (-1 if none)."""
        if self.levels[v] < self.top[u] or self.count[u] > 1:
            return self.top[u]
        return max((self.levels[w] for w in self.spec.succs[u] if w != v), default=-1)

    def move(self, v: int, level: int) -> None:
        """Put variable v at ``level`` (a level other than its current one)."""
        old, self.levels[v] = self.levels[v], level
        for u in self.spec.preds[v]:
            top = self.top[u]
            if level > top:
                self.top[u], self.count[u] = level, 1
            elif level == top:
                self.count[u] += 1
            elif old == top:
                self.count[u] -= 1
                if self.count[u] == 0:
                    self._rescan(u)


def _best_level(
    spec: GraphSpec, uses: _Uses, depth: int, outputs: set[int], v: int, lo: int, hi: int
) -> int:
    """The level in [lo, hi] that minimizes the lifetimes of v and its predecessors.

    The width counted is the local search's objective, v's lifetime and its
    predecessors', each times its size; the current level is kept unless another is
    strictly narrower, and then the lowest of the narrowest wins. Only what depends on
    the level is computed: a predecessor u that is an output, or is used at level ``hi``
    or later by another successor, keeps its lifetime. Any other u, last used by its
    other successors at level ``other`` < ``hi``, lives from ``max(level(u), 1)`` to
    ``max(L, other) - 1`` when v is at level L, which adds ``size(u) * max(L, other)``
    plus a constant; scanning L upwards over the predecessors sorted by ``other`` gives
    every width in O(p log p + hi - lo) for p predecessors.
    """
    sizes, levels = spec.sizes, uses.levels
    moving = []
    for u in spec.preds[v]:
        if u not in outputs:
            other = uses.other(u, v)
            if other < hi:
                moving.append((other, sizes[u]))
    moving.sort()
    # v's lifetime at level L >= 1: from L to its last use ``end`` (L itself when v has
    # no later use), within the inner frontiers 1..depth-1
    own = depth if v in outputs else uses.top[v] - 1 if spec.succs[v] else None
    end = None if own is None else min(own, depth - 1)
    size_v, count = sizes[v], len(moving)
    below, above, i = 0, sum(other * size for other, size in moving), 0
    widths = []
    for level in range(lo, hi + 1):
        while i < count and moving[i][0] < level:
            other, size = moving[i]
            below, above, i = below + size, above - other * size, i + 1
        if end is None:
            lifetime = 1 if level < depth else 0
        else:
            lifetime = end - level + 1 if end >= level else 0
        widths.append(size_v * lifetime + level * below + above)
    best, best_width = levels[v], widths[levels[v] - lo]
    for level, width in enumerate(widths, start=lo):
        if width < best_width:
            best, best_width = level, width
    return best


def _narrow(spec: GraphSpec, start: list[int], depth: int) -> tuple[list[int], int]:
    """Local search from ``start``: move variables between levels while frontiers narrow."""
    uses = _Uses(spec, list(start))
    levels = uses.levels
    outputs = set(spec.outputs)
    inputs = set(spec.inputs)
    for _ in range(_MAX_PASSES):
        changed = False
        for v in range(len(levels)):
            if v in inputs:
                continue
            lo = 1 + max(map(levels.__getitem__, spec.preds[v]), default=0)
            hi = min(map(levels.__getitem__, spec.succs[v]), default=depth + 1) - 1
            if lo >= hi:
                continue
            best = _best_level(spec, uses, depth, outputs, v, lo, hi)
            if best != levels[v]:
                uses.move(v, best)
                changed = True
        if not changed:
            break
    total = sum(
        spec.sizes[x] * _alive(spec, levels, depth, outputs, x) for x in range(len(levels))
    )
    return levels, total


def _layer(
    spec: GraphSpec, before: tuple[int, ...], after: tuple[int, ...], blocks: list[Block]
) -> tuple[int, int, str, int]:
    """The layer between two frontiers as ``(n_in, n_out, kind, nnz)``."""
    n = sum(spec.sizes[x] for x in before)
    m = sum(spec.sizes[x] for x in after)
    nnz = 0
    for block in blocks:
        if block.code == DENSE:
            nnz += spec.sizes[block.row] * spec.sizes[block.col]
        elif block.code == DIAGONAL:
            nnz += spec.sizes[block.row]
    position = {x: j for j, x in enumerate(before)}
    aligned = (
        len(before) == len(after)
        and len(blocks) == len(after)
        and all(
            block.row == after[j]
            and position.get(block.col) == j
            and spec.sizes[block.col] == spec.sizes[block.row]
            for j, block in enumerate(blocks)
        )
    )
    codes = {block.code for block in blocks}
    if aligned and codes == {IDENTITY}:
        return n, m, "identity", nnz
    if aligned and codes == {DIAGONAL}:
        return n, m, "diagonal", nnz
    return n, m, "dense" if nnz == m * n else "sparse", nnz


def _chain(layers: list[tuple[int, int, str, int]]) -> Chain:
    """The chain of layers given as ``(n_in, n_out, kind, nnz)``.

    All dense (as on a path graph), it is built from its dims alone.
    """
    if all(kind == "dense" for _n, _m, kind, _nnz in layers):
        return Chain.from_dims([layers[0][0]] + [m for _n, m, _kind, _nnz in layers])
    return Chain(
        [Layer(n, m, kind, nnz=nnz if kind == "sparse" else None) for n, m, kind, nnz in layers]
    )


def _inner_frontiers(spec: GraphSpec, levels: list[int], depth: int) -> list[tuple[int, ...]]:
    """Frontiers 1..depth-1: each variable joins those from its level to its last use.

    A sweep over the variables' lifetimes in topological order, so each frontier comes
    out in topological order: time O(variables + edges + the frontiers' total length).
    """
    outputs = set(spec.outputs)
    inner: list[list[int]] = [[] for _ in range(depth + 1)]
    for x in range(len(levels)):
        last = min(_last(spec, levels, depth, outputs, x), depth - 1)
        for i in range(max(levels[x], 1), last + 1):
            inner[i].append(x)
    return [tuple(frontier) for frontier in inner[1:depth]]


def graph_layers(spec: GraphSpec) -> GraphLayers:
    """Cut a computational graph into frontiers: a chain of block-structured layers.

    Parameters
    ----------
    spec : GraphSpec
        From :func:`graph_spec`.

    Returns
    -------
    GraphLayers
        The levels, frontiers, nonzero blocks and the :class:`~jacchain.Chain`. Each
        layer is explicit: ``"identity"`` when it carries its frontier unchanged,
        ``"diagonal"`` when every variable is a diagonal function of the one in the same
        position, ``"dense"`` when its nonzero blocks fill it, else ``"sparse"`` with
        ``nnz`` the entries of its nonzero non-identity blocks (dense block m*n, diagonal
        block n, identity and pass-through blocks 0, zero blocks 0), so that the cost
        model of :mod:`jacchain.chains.cost` charges only for them.

    Notes
    -----
    The layering heuristic. The number of layers is the length of the longest path from
    an input (the least possible). Each variable's level can move between its earliest
    level (one more than its latest predecessor) and its latest (one less than its
    earliest successor). A variable occupies every frontier from its level until its last
    use, so the sum of the frontier widths is the sum over variables of size times
    lifetime. Starting once from the as-soon-as-possible levels and once from the
    as-late-as-possible levels, a local search moves one variable at a time to the level
    that minimizes the lifetimes it affects (its own and its predecessors'), in passes
    until nothing moves; the narrower of the two results is kept. In effect a variable is
    computed late when it is wider than the inputs whose last use it is, and early when
    it is narrower. The search makes at most 20 passes; a pass costs O(edges + sum over
    variables of (slack + p log p)) for p predecessors (see ``_best_level``), and the
    frontiers are then built by one sweep over the lifetimes, in O(variables + the
    frontiers' total length). On a path graph there is no freedom, and the layers are
    the path's edges: the chain is the plain chain of the path (10,000 nodes are layered
    and planned in about 0.5 s, ``experiments/results/graph_scale.md``).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from([("a", {"size": 1}), ("b", {"size": 1}), ("c", {"size": 1}),
    ...                   ("d", {"size": 1}), ("e", {"size": 1})])
    >>> G.add_edges_from([("a", "c"), ("b", "c"), ("b", "d"), ("c", "e"), ("d", "e")])
    >>> layers = graph_layers(graph_spec(G))
    >>> layers.frontiers, layers.chain
    (((0, 1), (2, 3), (4,)), Chain([Layer(n_in=2, n_out=2, kind='sparse', nnz=3), Layer(n_in=2, n_out=1, kind='dense')]))
    """
    asap, alap, depth = _asap_alap(spec)
    early, early_width = _narrow(spec, asap, depth)
    late, late_width = _narrow(spec, alap, depth)
    levels = early if early_width <= late_width else late
    frontiers = [spec.inputs, *_inner_frontiers(spec, levels, depth), spec.outputs]
    all_blocks: list[tuple[Block, ...]] = []
    layers: list[tuple[int, int, str, int]] = []
    for i in range(1, depth + 1):
        blocks: list[Block] = []
        for v in frontiers[i]:
            if levels[v] == i:
                blocks += [Block(v, u, spec.code[(u, v)], False) for u in spec.preds[v]]
            else:
                blocks.append(Block(v, v, IDENTITY, True))
        all_blocks.append(tuple(blocks))
        layers.append(_layer(spec, frontiers[i - 1], frontiers[i], blocks))
    return GraphLayers(
        spec=spec,
        levels=tuple(levels),
        frontiers=tuple(frontiers),
        blocks=tuple(all_blocks),
        chain=_chain(layers),
    )


def chain_from_graph(graph: Any, inputs: Any = None, outputs: Any = None) -> Chain:
    """The chain of graph layers of a computational graph (``jacchain.Chain.from_graph``).

    Parameters
    ----------
    graph : networkx.DiGraph
        A computational graph (see :mod:`jacchain.graphs.graph`).
    inputs, outputs : list of nodes, optional
        Default: the sources and the sinks (see :func:`read_graph`).

    Returns
    -------
    Chain
        One layer per pair of consecutive frontiers (see :func:`graph_layers`); on a path
        graph of dense edges, exactly ``Chain.from_dims`` of the path's sizes.

    Raises
    ------
    GraphError
        See :func:`read_graph`.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("x", "h"), ("h", "y")])
    >>> nx.set_node_attributes(G, {"x": 784, "h": 512, "y": 10}, "size")
    >>> chain_from_graph(G)
    Chain.from_dims([784, 512, 10])
    """
    return graph_layers(graph_spec(graph, inputs, outputs)).chain


CHAIN_HOOKS.register("from_graph", chain_from_graph)


def layer_operators(layers: GraphLayers, values: dict[tuple[int, int], Value]) -> list[Any]:
    """One operator per graph layer, as :func:`jacchain.evaluate` takes them.

    ``None`` for an identity layer, the 1-D diagonal for a diagonal layer, else the
    layer's Jacobian assembled densely from its blocks (a 2-D array).

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import read_graph
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from(["a", "b", "c"], size=1)
    >>> G.add_edge("a", "c", jacobian=[[2.0]])
    >>> G.add_edge("b", "c", jacobian=[[3.0]])
    >>> spec, values = read_graph(G, values=True)
    >>> layer_operators(graph_layers(spec), values)
    [array([[2., 3.]])]
    """
    spec = layers.spec
    dtype = np.result_type(
        float, *(payload for code, payload in values.values() if code != IDENTITY)
    )
    operators: list[Any] = []
    for number, layer in enumerate(layers.chain.layers, start=1):
        blocks = layers.blocks[number - 1]
        if layer.kind == "identity":
            operators.append(None)
            continue
        if layer.kind == "diagonal":
            operators.append(
                np.concatenate([values[(block.col, block.row)][1] for block in blocks]).astype(
                    dtype
                )
            )
            continue
        rows = _offsets(spec, layers.frontiers[number])
        cols = _offsets(spec, layers.frontiers[number - 1])
        matrix = np.zeros((layer.n_out, layer.n_in), dtype=dtype)
        for block in blocks:
            r, c = rows[block.row], cols[block.col]
            m, n = spec.sizes[block.row], spec.sizes[block.col]
            if block.passing:
                matrix[r : r + m, c : c + n] = np.eye(m)
                continue
            code, payload = values[(block.col, block.row)]
            if code == IDENTITY:
                matrix[r : r + m, c : c + n] = np.eye(m)
            elif code == DIAGONAL:
                matrix[r : r + m, c : c + n] = np.diag(payload)
            else:
                matrix[r : r + m, c : c + n] = payload
        operators.append(matrix)
    return operators


def _offsets(spec: GraphSpec, frontier: tuple[int, ...]) -> dict[int, int]:
    offsets, position = {}, 0
    for x in frontier:
        offsets[x] = position
        position += spec.sizes[x]
    return offsets
