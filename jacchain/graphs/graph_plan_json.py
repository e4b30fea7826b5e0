"""Graph plans as JSON: the graph's structure, the order (or the chain plan), the costs.

The reader rebuilds the graph from the document, validates it as :func:`plan_graph` would,
replays the stored order (or reads the stored chain plan) and checks every stored cost
against the replay, so a document that does not describe a plan is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..chains.cost import DENSE, DIAGONAL, IDENTITY
from ..errors import JacChainError, PlanFormatError
from ..plans.serialization import check_header, load_json

__all__ = ["graph_plan_to_json", "graph_plan_from_json", "FORMAT", "VERSION"]

FORMAT = "jacchain.graph_plan"
VERSION = 1
KINDS = {IDENTITY: "identity", DIAGONAL: "diagonal", DENSE: "dense"}
_CODES = {name: code for code, name in KINDS.items()}
_FIELDS = frozenset({
    "format", "version", "method", "strategy", "names", "sizes", "edges", "inputs", "outputs",
    "order", "chain_plan", "candidates", "cost", "forward_cost", "reverse_cost", "mode",
})
_CHECKED = ("cost", "forward_cost", "reverse_cost", "mode")


def _fail(message: str) -> PlanFormatError:
    return PlanFormatError(f"not a valid jacchain graph plan: {message}")


def _name(node: Any) -> Any:
    if isinstance(node, bool) or not isinstance(node, str | int):
        raise PlanFormatError(
            f"a graph plan is written as JSON only when its node names are strings or ints; "
            f"this graph has the node {node!r} ({type(node).__name__})"
        )
    return node


def graph_plan_to_json(plan: Any, indent: int | None = None) -> str:
    """The plan as JSON text (see the module docstring).

    Examples
    --------
    >>> import jacchain as jc
    >>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
    >>> print(graph_plan_to_json(jc.plan_graph(t.graph, t.inputs, t.outputs)))
    ... # doctest: +ELLIPSIS
    {"format": "jacchain.graph_plan", "version": 1, "method": "auto", "strategy": "forward", ...}
    """
    spec = plan.spec
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "method": plan.method,
        "strategy": plan.strategy,
        "names": [_name(node) for node in spec.names],
        "sizes": list(spec.sizes),
        "edges": [[u, v, KINDS[code]] for u, v, code in spec.edges],
        "inputs": list(spec.inputs),
        "outputs": list(spec.outputs),
        "order": None if plan.order is None else [_name(node) for node in plan.order],
        "candidates": [[name, cost] for name, cost in plan.candidates],
    }
    if plan.chain_plan is not None:
        document["chain_plan"] = json.loads(plan.chain_plan.to_json())
    document.update({field: getattr(plan, field) for field in _CHECKED})
    return json.dumps(document, indent=indent)


def _ints(document: dict, key: str) -> list[int]:
    value = document.get(key)
    if not isinstance(value, list) or any(isinstance(x, bool) or not isinstance(x, int) for x in value):
        raise _fail(f"{key!r} must be a list of ints, got {value!r:.80}")
    return value


def _graph(document: dict) -> tuple[Any, list[Any], list[Any]]:
    """The networkx graph, inputs and outputs the document describes."""
    import networkx as nx

    names, sizes = document.get("names"), _ints(document, "sizes")
    if not isinstance(names, list) or len(names) != len(sizes):
        raise _fail("'names' must be a list as long as 'sizes'")
    for node in names:
        if isinstance(node, bool) or not isinstance(node, str | int):
            raise _fail(f"node names must be strings or ints, got {node!r:.80}")
    if len(set(names)) != len(names):
        raise _fail("node names repeat")
    G = nx.DiGraph()
    for node, size in zip(names, sizes, strict=True):
        G.add_node(node, size=size)
    edges = document.get("edges")
    if not isinstance(edges, list):
        raise _fail("'edges' must be a list")
    for edge in edges:
        if not (isinstance(edge, list) and len(edge) == 3 and edge[2] in _CODES
                and all(type(x) is int and 0 <= x < len(names) for x in edge[:2])):
            raise _fail(f"an edge must be [u, v, kind] with node positions and a kind in "
                        f"{sorted(_CODES)}, got {edge!r:.80}")
        G.add_edge(names[edge[0]], names[edge[1]], kind=edge[2])
    blocks = []
    for key in ("inputs", "outputs"):
        positions = _ints(document, key)
        if any(not 0 <= x < len(names) for x in positions):
            raise _fail(f"{key!r} must hold node positions")
        blocks.append([names[x] for x in positions])
    return G, blocks[0], blocks[1]


def graph_plan_from_json(
    text: str | bytes,
    plan_graph: Callable[..., Any],
    chain_plan: Callable[[Any, Any], Any],
    methods: tuple[str, ...],
    strategies: tuple[str, ...],
) -> Any:
    """Read a graph plan from JSON text, replaying and checking it.

    ``plan_graph(graph, inputs, outputs, method, order=...)`` and ``chain_plan(spec_plan,
    stored_plan)`` build the plan (``GraphPlan.from_json`` passes them; this module does
    not know the GraphPlan class); ``methods`` and ``strategies`` are the names a plan
    may give.

    Raises
    ------
    PlanFormatError
        On malformed JSON, an unknown field, a wrong format tag or version, a graph that
        is not valid, an order that is not every intermediate once, or a stored cost or
        mode that disagrees with the replay.

    Examples
    --------
    >>> import jacchain as jc
    >>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
    >>> text = jc.plan_graph(t.graph, t.inputs, t.outputs, "reverse").to_json()
    >>> jc.GraphPlan.from_json(text).order  # GraphPlan.from_json calls this function
    ('v2', 'v1')
    """
    document = load_json(text, _fail)
    check_header(document, _FIELDS, FORMAT, VERSION, _fail, "graph plan")
    method, strategy = document.get("method"), document.get("strategy")
    if method not in methods or strategy not in strategies:
        raise _fail(f"'method' must be one of {', '.join(methods)} and 'strategy' one of "
                    f"{', '.join(strategies)}; got {method!r:.40} and {strategy!r:.40}")
    graph, inputs, outputs = _graph(document)
    order = document.get("order")
    try:
        if strategy == "chain":
            if order is not None or not isinstance(document.get("chain_plan"), dict):
                raise _fail("a chain plan has 'chain_plan' and no 'order'")
            plan = plan_graph(graph, inputs, outputs, "chain")
            plan = chain_plan(plan, json.dumps(document["chain_plan"]))
        else:
            if not isinstance(order, list):
                raise _fail("an elimination plan has an 'order' list")
            plan = plan_graph(graph, inputs, outputs, order=order)
    except PlanFormatError:
        raise
    except JacChainError as err:
        raise _fail(str(err)) from None
    candidates = document.get("candidates")
    if not isinstance(candidates, list) or not all(
        isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and type(c[1]) is int
        for c in candidates
    ):
        raise _fail("'candidates' must be a list of [name, int cost] pairs")
    plan = plan._relabeled(method, strategy, tuple((name, cost) for name, cost in candidates))
    if list(plan.spec.names) != document["names"] or [list(e) for e in plan.spec.edges] != [
        [u, v, _CODES[kind]] for u, v, kind in document["edges"]
    ]:
        raise _fail("the graph is not in the form plan_graph gives it (names in topological "
                    "order, only variables on input-output paths)")
    for field in _CHECKED:
        stored, expected = document.get(field), getattr(plan, field)
        if type(stored) is not type(expected) or stored != expected:
            raise _fail(f"stored {field} {stored!r:.80} disagrees with the replay, which gives "
                        f"{expected!r}")
    return plan
