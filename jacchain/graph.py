"""Computational graphs: validation, default inputs and outputs, and the frontier layering.

A computational graph is a :class:`networkx.DiGraph` whose nodes are variables with a
positive int attribute ``size`` and whose edges ``u -> v`` carry the local partial Jacobian
dv/du as attribute ``jacobian`` (an array of shape ``(size(v), size(u))``) and, optionally,
its structure as ``kind``: ``"dense"`` (the default), ``"diagonal"`` (square; the
``jacobian`` may be given as its 1-D diagonal) or ``"identity"`` (square; the ``jacobian``
may be omitted). For planning only, an edge needs no ``jacobian``. The Jacobian of the
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

from .chain import Chain, Layer
from .cost import DENSE, DIAGONAL, IDENTITY
from .errors import GraphError

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
"""The edge kinds and their structure codes (those of :mod:`jacchain.cost`)."""

Value = tuple[int, Any]
"""An edge Jacobian by structure: (IDENTITY, size), (DIAGONAL, 1-D array) or (DENSE, 2-D array)."""

_NUMERIC_KINDS = "biufc"
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
    return repr(node)


def _edge_text(u: Any, v: Any) -> str:
    return f"{u!r} -> {v!r}"


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
                f"node {_node_text(node)} has size {size!r}: a size must be a positive int"
            )
        sizes[node] = int(size)
    return sizes


def _check_acyclic(graph: nx.DiGraph) -> None:
    if nx.is_directed_acyclic_graph(graph):
        return
    cycle = nx.find_cycle(graph)
    path = " -> ".join(_node_text(u) for u, _v in cycle) + f" -> {_node_text(cycle[0][0])}"
    raise GraphError(f"the graph has a cycle: {path}")


def _edge_value(u: Any, v: Any, data: dict, m: int, n: int, values: bool) -> tuple[int, Any]:
    """Validate edge u -> v (size(v) = m, size(u) = n); its code and, if asked, its Value."""
    edge = f"edge {_edge_text(u, v)}"
    kind = data.get("kind", "dense")
    if not isinstance(kind, str) or kind not in EDGE_KINDS:
        raise GraphError(
            f"{edge} has kind {kind!r}; valid kinds: {', '.join(map(repr, EDGE_KINDS))}"
        )
    code = EDGE_KINDS[kind]
    if code != DENSE and m != n:
        raise GraphError(f"{edge} is {kind} but joins sizes {n} -> {m}: it must be square")
    jacobian = data.get("jacobian")
    if jacobian is None:
        return code, (IDENTITY, n) if code == IDENTITY else None
    try:
        array = np.asarray(jacobian)
    except (TypeError, ValueError) as err:
        raise GraphError(f"{edge} has a jacobian that is not an array: {err}") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise GraphError(f"{edge} has a jacobian of dtype {array.dtype}: it must hold numbers")
    expected = f"({m}, {n})" + (f" or its diagonal ({n},)" if code == DIAGONAL else "")
    if array.shape != (m, n) and not (code == DIAGONAL and array.shape == (n,)):
        raise GraphError(
            f"{edge} has a jacobian of shape {array.shape}; expected (size({v!r}), "
            f"size({u!r})) = {expected}"
        )
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        raise GraphError(f"{edge} has a jacobian with NaN or infinite entries")
    if code == DIAGONAL and array.ndim == 2:
        diagonal = np.diagonal(array).copy()
        if np.count_nonzero(array - np.diag(diagonal)):
            raise GraphError(f"{edge} is diagonal but its jacobian has off-diagonal entries")
        array = diagonal
    if code == IDENTITY and not np.array_equal(array, np.eye(n)):
        raise GraphError(f"{edge} is identity but its jacobian is not the identity matrix")
    if not values:
        return code, None
    if code == IDENTITY:
        return code, (IDENTITY, n)
    return code, (code, array)


def _node_list(graph: nx.DiGraph, nodes: Any, what: str) -> list[Any]:
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
        raise GraphError(f"{what} must be a list of nodes, got {type(nodes).__name__} {nodes!r}")
    nodes = list(nodes)
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
        ``size``; an edge with an unknown ``kind``, a non-square identity or diagonal, or a
        ``jacobian`` of the wrong shape or dtype, with NaN or infinite entries, or not of
        its kind; inputs or outputs that are not nodes of the graph, listed twice or none;
        an input with predecessors; and (with ``values``) a non-identity edge without a
        ``jacobian``. The message names the node or edge.

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
    _check_acyclic(graph)
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
    active = set(inputs).union(*(nx.descendants(graph, x) for x in inputs))
    useful = set(outputs).union(*(nx.ancestors(graph, y) for y in outputs))
    inner = active & useful
    keep = inner | set(inputs) | set(outputs)
    position = {node: i for i, node in enumerate(graph)}
    order = [
        node
        for node in nx.lexicographical_topological_sort(graph, key=position.__getitem__)
        if node in keep
    ]
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


def _alive(spec: GraphSpec, levels: list[int], depth: int, outputs: set[int], x: int) -> int:
    """How many of the inner frontiers 1..depth-1 hold variable x."""
    last = _last(spec, levels, depth, outputs, x)
    return max(0, min(last, depth - 1) - max(levels[x], 1) + 1)


def _narrow(spec: GraphSpec, start: list[int], depth: int) -> tuple[list[int], int]:
    """Local search from ``start``: move variables between levels while frontiers narrow."""
    levels = list(start)
    outputs = set(spec.outputs)
    inputs = set(spec.inputs)

    def local(v: int) -> int:
        return sum(
            spec.sizes[x] * _alive(spec, levels, depth, outputs, x) for x in (v, *spec.preds[v])
        )

    for _ in range(_MAX_PASSES):
        changed = False
        for v in range(len(levels)):
            if v in inputs:
                continue
            lo = 1 + max((levels[u] for u in spec.preds[v]), default=0)
            hi = min((levels[w] for w in spec.succs[v]), default=depth + 1) - 1
            current = levels[v]
            best, best_width = current, local(v)
            for level in range(lo, hi + 1):
                levels[v] = level
                width = local(v)
                if width < best_width:
                    best, best_width = level, width
            levels[v] = best
            changed |= best != current
        if not changed:
            break
    total = sum(
        spec.sizes[x] * _alive(spec, levels, depth, outputs, x) for x in range(len(levels))
    )
    return levels, total


def _layer(
    spec: GraphSpec, before: tuple[int, ...], after: tuple[int, ...], blocks: list[Block]
) -> Layer:
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
        return Layer(n, m, "identity")
    if aligned and codes == {DIAGONAL}:
        return Layer(n, m, "diagonal")
    if nnz == m * n:
        return Layer(n, m)
    return Layer(n, m, "sparse", nnz=nnz)


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
        model of :mod:`jacchain.cost` charges only for them.

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
    it is narrower. Each pass costs O(sum over variables of slack times degree). On a path
    graph there is no freedom, and the layers are the path's edges: the chain is the plain
    chain of the path.

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
    outputs = set(spec.outputs)
    frontiers: list[tuple[int, ...]] = [spec.inputs]
    for i in range(1, depth):
        frontiers.append(
            tuple(
                x
                for x in range(len(levels))
                if levels[x] <= i <= _last(spec, levels, depth, outputs, x)
            )
        )
    frontiers.append(spec.outputs)
    all_blocks: list[tuple[Block, ...]] = []
    layers: list[Layer] = []
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
        chain=Chain(layers),
    )


def chain_from_graph(graph: Any, inputs: Any = None, outputs: Any = None) -> Chain:
    """The chain of graph layers of a computational graph (``jacchain.Chain.from_graph``).

    Parameters
    ----------
    graph : networkx.DiGraph
        A computational graph (see :mod:`jacchain.graph`).
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


def layer_operators(layers: GraphLayers, values: dict[tuple[int, int], Value]) -> list[Any]:
    """One operator per graph layer, as :func:`jacchain.evaluate` takes them.

    ``None`` for an identity layer, the 1-D diagonal for a diagonal layer, else the
    layer's Jacobian assembled densely from its blocks (a 2-D array).

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graph import read_graph
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
