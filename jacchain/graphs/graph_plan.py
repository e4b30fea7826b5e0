"""Plans for computational graphs: graph layers and the chain planner, or vertex elimination.

:func:`plan_graph` plans the Jacobian of a computational graph (see :mod:`jacchain.graphs.graph`)
by one of two mechanisms and returns an immutable :class:`GraphPlan` with the report
fields of a chain :class:`~jacchain.Plan`:

- ``"chain"``: cut the graph into frontiers (:func:`jacchain.graphs.graph.graph_layers`) and plan
  the chain of block-structured layers between them with :func:`jacchain.plan`;
- ``"forward"``, ``"reverse"``, ``"markowitz"``, ``"exact"``: vertex elimination on the
  linearized graph in that order (:mod:`jacchain.graphs.elimination`);
- ``"search"``: an anytime search for a cheaper elimination order, seeded with forward,
  reverse and Markowitz (:mod:`jacchain.graphs.search`);
- ``order=[...]``: an elimination order given by the user;
- ``"auto"``: all of them (``"exact"`` up to :data:`AUTO_EXACT_INTERMEDIATES`
  intermediate vertices, ``"search"`` beyond, briefly), keeping the cheapest.

Costs are scalar multiply-adds under the rules of :mod:`jacchain.chains.cost` (identity blocks
free, diagonal blocks counted by their size); FLOPs are twice that.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..errors import GraphError, MethodError, NonFiniteError, PlanFormatError, shown
from ..plans.display import Column, Displayed, ReportParts, StepTable, render_text
from ..plans.plan import Plan, Step, plan
from ..plans.report import check_max_rows, format_dims, report_parts
from ..progress import check_progress
from .cuts import elimination_bounds
from .elimination import (
    Elimination,
    EliminationGraph,
    LinearizedModel,
    eliminate,
    elimination_graph,
    eliminations,
    markowitz_eliminations,
)
from .figure import graph_plan_figure
from .graph import GraphLayers, GraphSpec, graph_layers, graph_spec, layer_operators, read_graph
from .graph_plan_json import graph_plan_from_json, graph_plan_to_json
from .pruned import optimal_order
from .search import DEFAULT_TIME_LIMIT, SEARCH_PATIENCE, check_budget, search_order

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "GRAPH_METHODS",
    "AUTO_EXACT_INTERMEDIATES",
    "EliminationStep",
    "GraphPlan",
    "plan_graph",
]

logger = logging.getLogger(__name__)

GRAPH_METHODS = ("auto", "chain", "forward", "reverse", "markowitz", "exact", "search")
"""The planning methods of :func:`plan_graph`."""

AUTO_EXACT_INTERMEDIATES = 16
"""``"auto"`` runs the exact elimination order on graphs with at most this many intermediates."""

AUTO_SEARCH_INTERMEDIATES = 1000
"""``"auto"`` searches graphs with more than :data:`AUTO_EXACT_INTERMEDIATES` and at most
this many intermediates (beyond, one greedy pass alone takes a good part of a second)."""

AUTO_PATIENCE = 300
"""``"auto"`` stops its search after this many constructions in a row without improvement
(or after :data:`~jacchain.graphs.search.DEFAULT_TIME_LIMIT` seconds)."""


_PREFERENCE = ("forward", "reverse", "exact", "order", "search", "markowitz", "chain")


class EliminationStep(NamedTuple):
    """One step of an elimination plan: eliminate ``vertex`` (a node of the graph).

    ``predecessors`` and ``successors`` count its neighbours at that moment; the step
    updates ``predecessors * successors`` edges at ``cost`` multiply-adds.
    """

    index: int
    operation: str
    vertex: Hashable
    predecessors: int
    successors: int
    cost: int


@dataclass(frozen=True, eq=False, repr=False)
class GraphPlan(Displayed):
    """An immutable plan for the Jacobian of a computational graph.

    Build it with :func:`plan_graph`; read it, print it, evaluate it.

    Attributes
    ----------
    spec : GraphSpec
        The validated graph planned for.
    method : str
        The method asked for (one of :data:`GRAPH_METHODS`).
    strategy : str
        What produced the plan: ``"chain"``, ``"forward"``, ``"reverse"``,
        ``"markowitz"``, ``"exact"``, ``"search"`` or ``"order"`` (the user's).
    cost : int
        Multiply-adds of this plan.
    forward_cost, reverse_cost : int
        Multiply-adds of vertex elimination in topological order (forward mode) and in
        reverse topological order (reverse mode).
    mode : str
        ``"forward"`` or ``"reverse"`` for an elimination in (reverse) topological order,
        else ``"mixed"``; for the chain strategy, the chain plan's mode.
    steps : sequence
        A tuple of :class:`EliminationStep`, one per eliminated vertex, or for the chain
        strategy the chain plan's steps (its lazy sequence of :class:`~jacchain.Step`).
    order : tuple or None
        The eliminated nodes in order (None for the chain strategy): pass it back as
        ``plan_graph(..., order=plan.order)``, or export it.
    candidates : tuple of (str, int)
        Each strategy tried and its cost.
    chain_plan : Plan or None
        The plan of the graph layers (chain strategy only).
    layers : GraphLayers or None
        The frontiers and graph layers (chain strategy only).

    Examples
    --------
    >>> import jacchain as jc
    >>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
    >>> p = jc.plan_graph(t.graph, t.inputs, t.outputs)
    >>> p.strategy, p.mode, p.cost, p.order
    ('forward', 'forward', 0, ('v1', 'v2'))
    """

    spec: GraphSpec
    method: str
    strategy: str
    cost: int
    forward_cost: int
    reverse_cost: int
    mode: str
    steps: tuple[EliminationStep, ...] | Sequence[Step]
    order: tuple[Hashable, ...] | None
    candidates: tuple[tuple[str, int], ...]
    chain_plan: Plan | None = None
    layers: GraphLayers | None = None
    _elimination: EliminationGraph | None = None
    _vertices: tuple[int, ...] = ()

    @property
    def inputs(self) -> list[Hashable]:
        """The input nodes (the Jacobian's column blocks), in order."""
        return [self.spec.names[x] for x in self.spec.inputs]

    @property
    def outputs(self) -> list[Hashable]:
        """The output nodes (the Jacobian's row blocks), in order."""
        return [self.spec.names[y] for y in self.spec.outputs]

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the full Jacobian."""
        return self.spec.shape

    @property
    def speedup(self) -> float:
        """``min(forward_cost, reverse_cost) / cost``; 1.0 when the cost is 0."""
        if self.cost == 0:
            return 1.0
        return min(self.forward_cost, self.reverse_cost) / self.cost

    def lower_bound(self) -> int:
        """A lower bound on the cost of every vertex elimination order of this graph.

        From vertex cuts (:func:`jacchain.graphs.cuts.elimination_bounds`): when an
        elimination plan's cost meets it, no elimination order is cheaper. Computed on
        demand by max-flows (about 0.6 s for 100 vertices, 18 s for 500); it bounds vertex
        elimination only (a ``"chain"`` plan can cost less).

        Examples
        --------
        >>> import networkx as nx
        >>> import jacchain as jc
        >>> G = nx.path_graph(4, create_using=nx.DiGraph)
        >>> nx.set_node_attributes(G, {0: 10, 1: 1, 2: 10, 3: 1}, "size")
        >>> p = jc.plan_graph(G, method="search", time_limit=0.1)
        >>> p.cost, p.lower_bound()  # the bound meets the search's order: nothing is cheaper
        (20, 20)
        """
        graph = self._elimination if self._elimination is not None else elimination_graph(self.spec)
        return elimination_bounds(graph).lower_bound()

    def describe(self) -> str:
        """A one-line summary of the plan.

        Examples
        --------
        >>> import jacchain as jc
        >>> jc.trace(lambda x: jc.tracer.exp(x) * x, 1.0).plan().describe()
        'forward plan (forward elimination), 3 variables: 1 multiply-adds vs forward 1 and reverse 1 (1.00x)'
        """
        how = "graph layers" if self.strategy == "chain" else f"{self.strategy} elimination"
        return (
            f"{self.mode} plan ({how}), {len(self.spec.names)} variables: {self.cost:,} "
            f"multiply-adds vs forward {self.forward_cost:,} and reverse "
            f"{self.reverse_cost:,} ({self.speedup:.2f}x)"
        )

    def report(self, max_rows: int = 20) -> str:
        """The multi-line report: the graph, the costs of what was tried, and the steps.

        Parameters
        ----------
        max_rows : int
            Show at most this many step rows (the first and last halves).

        Examples
        --------
        >>> import jacchain as jc
        >>> print(jc.trace(lambda x: jc.tracer.exp(x) * x, 1.0).plan().report())
        ... # doctest: +ELLIPSIS
        jacchain graph plan (method 'auto': forward elimination)
          variables             3 (1 to eliminate)
          inputs                x0 (1)
          outputs               v2 (1)
        ...
        """
        return render_text(self._report_parts(max_rows))

    def _report_parts(self, max_rows: int = 20) -> ReportParts:
        return _report_parts(self, max_rows)

    def __repr__(self) -> str:
        return f"<jacchain.GraphPlan {self.describe()}>"

    def _key(self) -> tuple:
        return (self.spec, self.method, self.strategy, self.order, self.cost, self.candidates,
                self.chain_plan)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GraphPlan):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def to_json(self, indent: int | None = None) -> str:
        """The plan as JSON: the graph's structure, the order (or chain plan), the costs.

        Node names must be strings or ints (a PlanFormatError says so otherwise).

        Examples
        --------
        >>> import jacchain as jc
        >>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
        >>> p = jc.plan_graph(t.graph, t.inputs, t.outputs)
        >>> jc.GraphPlan.from_json(p.to_json()) == p
        True
        """
        return graph_plan_to_json(self, indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> GraphPlan:
        """Read a plan written by :meth:`to_json`, replaying its order and checking its costs.

        Raises
        ------
        PlanFormatError
            If the text is not such a plan (see
            :func:`jacchain.graphs.graph_plan_json.graph_plan_from_json`).
        """

        def with_chain_plan(by_layers: GraphPlan, text: str) -> GraphPlan:
            stored = Plan.from_json(text)
            if stored.chain != by_layers.chain_plan.chain:
                raise PlanFormatError(
                    "not a valid jacchain graph plan: its chain plan is for other graph layers"
                )
            return replace(by_layers, chain_plan=stored, cost=stored.cost, mode=stored.mode,
                           steps=stored.steps)

        return graph_plan_from_json(text, plan_graph, with_chain_plan, GRAPH_METHODS, _PREFERENCE)

    def _relabeled(self, method: str, strategy: str,
                  candidates: tuple[tuple[str, int], ...]) -> GraphPlan:
        """The same plan, reported as made by ``method`` and ``strategy`` (JSON reading).

        A forward or reverse strategy must be the (reverse) topological order itself; its
        mode is then the strategy, as :func:`plan_graph` gives it."""
        mode = self.mode
        if strategy in ("forward", "reverse") and self._elimination is not None:
            expected = self._elimination.intermediates
            if self._vertices != (expected if strategy == "forward" else expected[::-1]):
                raise PlanFormatError(
                    f"not a valid jacchain graph plan: its order is not the {strategy} order"
                )
            mode = strategy
        return replace(self, method=method, strategy=strategy, candidates=candidates, mode=mode)

    def plot(self, path: str | os.PathLike[str] | None = None, **options: Any) -> Figure:
        """Draw the graph with its elimination order, the cost of each step, and the totals.

        Needs the ``plot`` extra (matplotlib); draws without pyplot. Saves the figure to
        ``path`` too when given; the figure and the ``options`` (``max_labels``,
        ``figsize``, ``title``) are those of :func:`jacchain.graphs.figure.graph_plan_figure`.
        Returns the matplotlib Figure.

        Examples
        --------
        >>> import jacchain as jc
        >>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
        >>> figure = jc.plan_graph(t.graph, t.inputs, t.outputs).plot()
        >>> type(figure).__name__
        'Figure'
        """
        return graph_plan_figure(self, path, **options)

    def evaluate(self, graph: Any) -> np.ndarray:
        """Compute the Jacobian of ``graph`` by this plan's own products or eliminations.

        Parameters
        ----------
        graph : networkx.DiGraph
            The graph planned for, now with a ``jacobian`` on every non-identity edge.

        Returns
        -------
        numpy.ndarray
            Rows: the outputs' blocks in order; columns: the inputs' blocks in order.

        Raises
        ------
        GraphError
            If the graph is invalid, lacks an edge Jacobian, or differs from the graph
            planned for (other variables, sizes, edges or edge kinds).
        NonFiniteError
            If an edge Jacobian has NaN or infinite entries, or the products of finite
            ones overflow (as float16 edges soon do).

        Notes
        -----
        Memory. Elimination keeps identity and diagonal edges (and their products) as
        vectors and forms dense products only where the plan counts dense work. The chain
        strategy assembles every graph layer as a dense matrix (its width times the
        previous one) before following the chain plan, whose largest intermediate is
        ``chain_plan.largest_intermediate`` entries: on wide graphs (many variables alive
        at once, or long traced vectors) prefer an elimination method. An allocation
        that fails is a :class:`GraphError`; one that the operating system grants lazily
        may still exhaust memory later.

        Examples
        --------
        >>> import jacchain as jc
        >>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
        >>> jc.plan_graph(t.graph, t.inputs, t.outputs, "chain").evaluate(t.graph)
        array([[2., 5.]])
        """
        spec, values = read_graph(graph, self.inputs, self.outputs, values=True)
        if spec != self.spec:
            raise GraphError(
                f"the graph differs from the one planned: {_difference(self.spec, spec)}"
            )
        try:
            if self.chain_plan is not None and self.layers is not None:
                jacobian = self.chain_plan.evaluate(layer_operators(self.layers, values))
            else:
                jacobian = eliminate(self._elimination, self._vertices, values)
        except MemoryError:
            how = (
                "assembles each graph layer as a dense matrix (the widest here is "
                f"{max(self.layers.widths):,} variables wide); elimination keeps diagonal "
                "and identity edges as vectors"
                if self.layers is not None
                else "forms the products of its eliminations, dense where the plan says so"
            )
            raise GraphError(
                f"not enough memory to evaluate this {self.strategy} plan: it {how}"
            ) from None
        if not np.isfinite(jacobian).all():
            raise NonFiniteError(
                "the computed Jacobian has NaN or infinite entries: products of the (finite) "
                "edge Jacobians overflow their dtype"
            )
        return jacobian


def _difference(planned: GraphSpec, given: GraphSpec) -> str:
    """The first difference between two specs, in words (O(nodes + edges))."""
    sizes = dict(zip(planned.names, planned.sizes, strict=True))
    present = set(given.names)
    missing = [name for name in planned.names if name not in present]
    if missing:
        return f"node {shown(missing[0])} is missing"
    extra = [name for name in given.names if name not in sizes]
    if extra:
        return f"node {shown(extra[0])} is new"
    for name, size in zip(given.names, given.sizes, strict=True):
        if size != sizes[name]:
            return f"node {shown(name)} has size {size}, planned {sizes[name]}"
    named = {(planned.names[u], planned.names[v]): c for u, v, c in planned.edges}
    found = {(given.names[u], given.names[v]): c for u, v, c in given.edges}
    for edge in sorted(named.keys() ^ found.keys(), key=repr):
        return f"edge {shown(edge[0])} -> {shown(edge[1])} is {'missing' if edge in named else 'new'}"
    for edge, code in named.items():
        if found[edge] != code:
            return f"edge {shown(edge[0])} -> {shown(edge[1])} changed its kind"
    return "the variables are in another order"


def _is_topological(graph: EliminationGraph, order: tuple[int, ...]) -> bool:
    position = {v: i for i, v in enumerate(order)}
    return all(
        position[u] < position[w] for u, w in graph.edges if u in position and w in position
    )


def _elimination_plan(
    spec: GraphSpec,
    graph: EliminationGraph,
    method: str,
    strategy: str,
    done: list[Elimination],
    pure: tuple[int, int],
    candidates: tuple[tuple[str, int], ...],
) -> GraphPlan:
    order = tuple(step.vertex for step in done)
    if strategy in ("forward", "reverse"):
        mode = strategy
    elif _is_topological(graph, order):
        mode = "forward"
    elif _is_topological(graph, order[::-1]):
        mode = "reverse"
    else:
        mode = "mixed"
    return GraphPlan(
        spec=spec,
        method=method,
        strategy=strategy,
        cost=sum(step.cost for step in done),
        forward_cost=pure[0],
        reverse_cost=pure[1],
        mode=mode,
        steps=tuple(
            EliminationStep(
                i,
                "eliminate",
                spec.names[graph.origin[s.vertex]],
                s.predecessors,
                s.successors,
                s.cost,
            )
            for i, s in enumerate(done, start=1)
        ),
        order=tuple(spec.names[graph.origin[v]] for v in order),
        candidates=candidates,
        _elimination=graph,
        _vertices=order,
    )


def _chain_plan(
    spec: GraphSpec, method: str, pure: tuple[int, int], candidates: tuple[tuple[str, int], ...]
) -> GraphPlan:
    layers = graph_layers(spec)
    chain_plan = plan(layers.chain)
    return GraphPlan(
        spec=spec,
        method=method,
        strategy="chain",
        cost=chain_plan.cost,
        forward_cost=pure[0],
        reverse_cost=pure[1],
        mode=chain_plan.mode,
        steps=chain_plan.steps,
        order=None,
        candidates=candidates,
        chain_plan=chain_plan,
        layers=layers,
    )


def plan_graph(
    graph: Any,
    inputs: Any = None,
    outputs: Any = None,
    method: str = "auto",
    *,
    order: Sequence[Hashable] | None = None,
    time_limit: float | None = None,
    seed: int = 0,
    progress: Any = None,
) -> GraphPlan:
    """Plan the cheapest way to compute the Jacobian of a computational graph.

    Parameters
    ----------
    graph : networkx.DiGraph
        Nodes with a positive int ``size``; edges ``u -> v`` with the local partial
        Jacobian dv/du as ``jacobian`` (shape ``(size(v), size(u))``) and/or its ``kind``
        (``"dense"``, ``"diagonal"``, ``"identity"``); see :mod:`jacchain.graphs.graph`.
    inputs, outputs : list of nodes, optional
        The Jacobian's column and row blocks, in order. Default: the sources and the sinks
        (see :func:`jacchain.graphs.graph.read_graph`).
    method : str
        ``"auto"`` (try everything below, ``"exact"`` up to
        :data:`AUTO_EXACT_INTERMEDIATES` intermediates and a short ``"search"`` beyond, up
        to :data:`AUTO_SEARCH_INTERMEDIATES`; keep the cheapest), ``"chain"`` (graph layers and the chain planner), or a vertex
        elimination order: ``"forward"`` (topological), ``"reverse"``, ``"markowitz"``
        (greedy cheapest vertex first), ``"exact"`` (optimal, dynamic programming over
        eliminated sets: all of them up to 20 intermediates, beyond only those that
        lower bounds cannot rule out, see :mod:`jacchain.graphs.pruned`; it gives up with
        a MethodError when too many survive), ``"search"`` (an anytime search
        seeded with forward, reverse and Markowitz, never worse than them; see
        :func:`jacchain.graphs.search.search_order`).
    order : sequence of nodes, optional
        Eliminate the intermediate nodes in this order instead (every one once; for
        example an order exported from another tool, or a plan's ``order``). The plan's
        strategy is then ``"order"``.
    time_limit : float, optional
        Seconds of search. ``"search"`` runs until it; by default it stops after 1 s or
        :data:`~jacchain.graphs.search.SEARCH_PATIENCE` constructions in a row without improvement, whichever
        comes first. ``"auto"`` searches 1 s at most, and stops after
        :data:`AUTO_PATIENCE` constructions without improvement.
    seed : int
        The search's random seed: the same seed visits the same orders.
    progress : bool or callable, optional
        Progress bars on standard error for the long parts (tqdm, the extra ``progress``):
        True shows them, False never; by default (None) they show on a terminal for a
        search of more than 5 s and for the exact DPs near their limit. A callable
        receives the search's improvements instead (see
        :func:`~jacchain.graphs.search.search_order`).

    Returns
    -------
    GraphPlan

    Raises
    ------
    GraphError
        For an invalid graph, inputs or outputs (the message names the node or edge).
    MethodError
        For an unknown method, ``"exact"`` when its pruned DP gives up (or past 62
        intermediates),
        a bad search budget or seed, a method and an order together, or an ``order`` that
        is not every intermediate once.

    Notes
    -----
    Tie rule: ``"exact"``, ``"search"`` and ``"auto"`` return forward elimination whenever
    it costs no more than the best plan found, else reverse elimination whenever it costs
    no more; ``"auto"`` otherwise prefers exact, then search, then Markowitz, then graph
    layers among equal costs. So ``"auto"`` and ``"search"`` are never worse than forward
    or reverse mode or Markowitz, and ``"exact"`` is never worse than ``"markowitz"``.
    ``"markowitz"`` and ``"chain"`` return what their heuristic finds.

    Limits. Measured with ``python experiments/graph_scale.py`` on a shared 2-core
    machine, one BLAS thread (CPU seconds, ``experiments/results/graph_scale.md``):
    ``"exact"`` examines 2^m sets of m intermediates up to m = 20 (1.7 s at m = 20,
    0.06 s at m = 16, the most ``"auto"`` runs it on); beyond, its time depends on how
    many sets the bounds rule out (seconds to tens of seconds at 22 to 26 on random DAGs;
    ``python experiments/orders.py --exact-sizes ...``). The others take time
    about linear in the graph plus the fill-in (for elimination, the sum over
    eliminated vertices of their predecessors times successors at that moment): random
    DAGs of 5,000 nodes and 15,000 dense edges plan by ``"forward"`` or ``"reverse"`` in
    0.3-0.5 s, by ``"markowitz"`` in 0.4-0.9 s, by ``"chain"`` in 0.6-1.1 s and by
    ``"auto"`` (all four; no search past 1,000 intermediates) in 0.9-1.6 s; a path graph
    of 10,000 nodes by ``"chain"`` or ``"auto"`` in about 0.5 s. The search in ``"auto"``
    adds at most about a second on graphs of 17 to 1,000 intermediates. ``"chain"`` plans the graph layers with
    :func:`jacchain.plan`, so long chains of structured layers take that planner's time
    (a residual network of 401 structured graph layers: 0.65 s).

    Examples
    --------
    >>> import networkx as nx, numpy as np
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from("abcde", size=1)
    >>> for u, v, d in [("a", "c", 1), ("b", "c", 1), ("b", "d", 1), ("c", "e", 2), ("d", "e", 3)]:
    ...     G.add_edge(u, v, jacobian=np.array([[d]]))
    >>> p = plan_graph(G)
    >>> p.cost, p.forward_cost, p.reverse_cost, p.evaluate(G)
    (3, 3, 3, array([[2., 5.]]))
    >>> plan_graph(G, order=["d", "c"]).cost
    3
    """
    if not isinstance(method, str) or method not in GRAPH_METHODS:
        raise MethodError(
            f"unknown graph method {shown(method)}; valid methods: "
            f"{', '.join(map(repr, GRAPH_METHODS))}"
        )
    check_budget(1.0 if time_limit is None else time_limit, None, None, seed)
    dp_progress = None if callable(progress) else check_progress(progress)
    if order is not None and method != "auto":
        raise MethodError(f"give either a method or an order, not both (method {method!r})")
    spec = graph_spec(graph, inputs, outputs)
    eg = elimination_graph(spec)
    done = {
        "forward": eliminations(eg, eg.intermediates),
        "reverse": eliminations(eg, eg.intermediates[::-1]),
    }
    if order is not None:
        done["order"] = eliminations(eg, _user_order(spec, eg, order))
        tried = ["order"]
    elif method == "auto":
        tried = ["forward", "reverse", "markowitz", "chain"]
        if len(eg.intermediates) <= AUTO_EXACT_INTERMEDIATES:
            tried.append("exact")
        elif len(eg.intermediates) <= AUTO_SEARCH_INTERMEDIATES:
            tried.append("search")
    else:
        tried = [method]
    if "exact" in tried:
        done["exact"] = eliminations(eg, optimal_order(eg, dp_progress)[0])
    if "markowitz" in tried or "search" in tried:
        done["markowitz"] = markowitz_eliminations(eg)
    if "search" in tried:
        seeds = {name: tuple(step.vertex for step in done[name])
                 for name in ("forward", "reverse", "markowitz")}
        budget = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
        patience = SEARCH_PATIENCE if time_limit is None else None
        if method == "auto":
            budget, patience = min(budget, DEFAULT_TIME_LIMIT), AUTO_PATIENCE
        found = search_order(LinearizedModel(eg), seeds, time_limit=budget, seed=seed,
                             patience=patience, progress=progress)
        done["search"] = eliminations(eg, found.order)
        if method == "search":
            tried += ["forward", "reverse", "markowitz"]
    costs = {name: sum(step.cost for step in steps) for name, steps in done.items()}
    pure = (costs["forward"], costs["reverse"])
    if "chain" in tried:
        by_layers = _chain_plan(spec, method, pure, ())
        costs["chain"] = by_layers.cost
    candidates = tuple((name, costs[name]) for name in _PREFERENCE if name in costs)
    strategy = "order" if order is not None else method
    if order is None and method in ("auto", "exact", "search"):
        best = min(costs[name] for name in tried)
        strategy = next(name for name in _PREFERENCE if name in costs and costs[name] <= best)
    if strategy == "chain":
        chosen = replace(by_layers, candidates=candidates)
    else:
        chosen = _elimination_plan(spec, eg, method, strategy, done[strategy], pure, candidates)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("plan_graph chose a %s; tried %s", chosen.describe(), dict(candidates))
    return chosen


def _user_order(spec: GraphSpec, graph: EliminationGraph, order: Any) -> tuple[int, ...]:
    """A user's order of node names as vertex positions, checked: every intermediate once."""
    if isinstance(order, str | bytes) or not isinstance(order, Sequence):
        raise MethodError(f"order must be a sequence of nodes, got {shown(order)}")
    where = {spec.names[graph.origin[v]]: v for v in graph.intermediates}
    vertices = []
    for name in order:
        try:
            vertices.append(where[name])
        except (KeyError, TypeError):
            raise MethodError(
                f"order names {shown(name)}, which is not an intermediate node of the graph "
                "(inputs, outputs and nodes off every input-output path are not eliminated)"
            ) from None
    if len(set(vertices)) != len(vertices) or len(vertices) != len(graph.intermediates):
        missing = [spec.names[graph.origin[v]] for v in graph.intermediates if v not in vertices]
        raise MethodError(
            f"order must list every intermediate node once: {len(vertices)} given, "
            f"{len(set(vertices))} distinct, {len(graph.intermediates)} intermediates"
            + (f"; missing {shown(missing[0])}" if missing else "")
        )
    return tuple(vertices)


def _report_parts(p: GraphPlan, max_rows: int) -> ReportParts:
    max_rows = check_max_rows(max_rows)
    spec = p.spec
    n_inner = len(p._elimination.intermediates) if p._elimination is not None else None
    how = "graph layers" if p.strategy == "chain" else f"{p.strategy} elimination"
    values = [p.forward_cost, p.reverse_cost, p.cost, *(cost for _name, cost in p.candidates)]
    width = max(len(f"{value:,}") for value in values)
    cost_name = "optimal cost" if p.strategy == "exact" else "chosen cost"

    def blocks(nodes: list[Hashable]) -> str:
        text = ", ".join(f"{node} ({spec.sizes[spec.names.index(node)]})" for node in nodes[:8])
        return text + (f", ... ({len(nodes) - 8} more)" if len(nodes) > 8 else "")

    variables = f"{len(spec.names)}"
    if n_inner is not None:
        variables += f" ({n_inner} to eliminate)"
    title = f"jacchain graph plan (method {p.method!r}: {how})"
    fields = [
        ("variables", variables),
        ("inputs", blocks(p.inputs)),
        ("outputs", blocks(p.outputs)),
        ("Jacobian shape", str(p.shape)),
        ("forward elimination", f"{p.forward_cost:>{width},}"),
        ("reverse elimination", f"{p.reverse_cost:>{width},}"),
        (cost_name, f"{p.cost:>{width},}  ({p.mode})"),
        ("speedup", f"{p.speedup:.2f}x over the best pure mode"),
    ]
    if len(p.candidates) > 1:
        fields.append(("tried", ", ".join(f"{name} {cost:,}" for name, cost in p.candidates)))
    if p.layers is not None:
        fields.append(("frontier widths", format_dims(p.layers.widths)))
    notes = ["costs are scalar multiply-adds; FLOPs are 2x"]
    if p.chain_plan is not None:
        return ReportParts(title, fields, notes, appendix=[
            ("chain of graph layers:", report_parts(p.chain_plan, max_rows))])
    steps: list[Any] = list(p.steps)
    if not steps:
        notes.append("nothing to eliminate: the edges are the Jacobian's blocks")
        return ReportParts(title, fields, notes)
    columns: list[Column] = [
        ("operation", lambda step: step.operation, "<", 9),
        ("vertex", lambda step: str(step.vertex), "<", 6),
        ("preds", lambda step: str(step.predecessors), ">", 5),
        ("succs", lambda step: str(step.successors), ">", 5),
    ]
    return ReportParts(title, fields, notes, StepTable(steps, columns, p.cost, max_rows, 60))
