"""Program plans as JSON: the order, its costs, and the structure of the graph it was made for.

A :class:`~jacchain.programs.elimination.ProgramPlan` holds the structure of its program's
graph (:func:`program_structure`: every edge with the kind and shapes of its partial), so
that a plan read back can be checked against the program it is given to
(:mod:`jacchain.programs.reuse`), where its order is also replayed and its cost compared.
The reader here checks what it can without the program: the fields and their types, the
steps against the order, the order against the graph's vertices.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import PlanFormatError
from ..plans.serialization import check_header, load_json
from .partials import UNIT_PARTIALS, Partial

__all__ = ["program_structure", "program_plan_to_json", "program_plan_from_json", "FORMAT",
           "VERSION"]

FORMAT = "jacchain.program_plan"
VERSION = 1
STRATEGIES = ("forward", "reverse", "markowitz", "search", "order")
_MODES = ("forward", "reverse", "mixed")
_COSTS = ("cost", "forward_cost", "reverse_cost", "markowitz_cost", "vertices", "edges")
_FIELDS = frozenset({"format", "version", "method", "strategy", "mode", "unit_partials", "order",
                     "counted", "steps", "structure", *_COSTS})

Structure = tuple[tuple[int, int, str, tuple[int, ...], tuple[int, ...]], ...]
"""``((u, v, kind, out_shape, in_shape), ...)``: every edge of a program graph, sorted."""


def program_structure(edges: Mapping[tuple[int, int], Partial]) -> Structure:
    """The structure of a program graph: each edge ``(u, v)`` with its partial's kind and shapes.

    Examples
    --------
    >>> program_structure({(0, 1): Partial.dense((2,), (3,), symbolic=True)})
    ((0, 1, 'dense', (2,), (3,)),)
    """
    return tuple(sorted((u, v, partial.kind(), partial.out_shape, partial.in_shape)
                        for (u, v), partial in edges.items()))


def _fail(message: str) -> PlanFormatError:
    return PlanFormatError(f"not a valid jacchain program plan: {message}")


def program_plan_to_json(plan: Any, indent: int | None = None) -> str:
    """The plan as JSON text (see the module docstring).

    Examples
    --------
    >>> from jacchain.programs.elimination import plan_program
    >>> plan = plan_program({(0, 1): Partial.dense((2,), (3,), symbolic=True)}, [])
    >>> print(program_plan_to_json(plan))  # doctest: +ELLIPSIS
    {"format": "jacchain.program_plan", "version": 1, "method": "auto", "strategy": "forward", ...}
    """
    document = {
        "format": FORMAT,
        "version": VERSION,
        "method": plan.method,
        "strategy": plan.strategy,
        "mode": plan.mode,
        "unit_partials": plan.unit_partials,
        "order": list(plan.order),
        **{name: getattr(plan, name) for name in _COSTS},
        "counted": dict(plan.counted),
        "steps": [[s.index, s.vertex, s.predecessors, s.successors, s.cost] for s in plan.steps],
        "structure": [[u, v, kind, list(out), list(into)] for u, v, kind, out, into in plan.structure],
    }
    return json.dumps(document, indent=indent)


def _is_int(value: Any, least: int = 0) -> bool:
    return type(value) is int and value >= least


def _ints(value: Any, what: str, least: int = 0) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(_is_int(x, least) for x in value):
        raise _fail(f"{what} must be a list of ints >= {least}, got {value!r:.80}")
    return tuple(value)


def _choice(document: dict, key: str, choices: tuple[str, ...]) -> str:
    value = document.get(key)
    if value not in choices:
        raise _fail(f"{key!r} must be one of {', '.join(choices)}, got {value!r:.40}")
    return value


def _structure(value: Any) -> Structure:
    if not isinstance(value, list):
        raise _fail("'structure' must be a list of edges")
    edges = []
    for edge in value:
        if not (isinstance(edge, list) and len(edge) == 5 and _is_int(edge[0]) and _is_int(edge[1])
                and isinstance(edge[2], str)):
            raise _fail(f"an edge of 'structure' must be [u, v, kind, out_shape, in_shape], "
                        f"got {edge!r:.80}")
        edges.append((edge[0], edge[1], edge[2], _ints(edge[3], "a shape", 1),
                      _ints(edge[4], "a shape", 1)))
    if edges != sorted(edges) or len({edge[:2] for edge in edges}) != len(edges):
        raise _fail("the edges of 'structure' must be sorted and distinct")
    return tuple(edges)


def program_plan_from_json(text: str | bytes, methods: tuple[str, ...]) -> dict[str, Any]:
    """Read the fields of a program plan from JSON text, checked as far as the text allows.

    Returns the keyword arguments of the plan (``ProgramPlan.from_json`` passes them to the
    class; steps as ``(index, vertex, predecessors, successors, cost)`` tuples); ``methods``
    are the methods a plan may name.

    Raises
    ------
    PlanFormatError
        On malformed JSON, an unknown field, a wrong format tag or version, a field of the
        wrong type, an order with repeats or of vertices not in the graph, steps that do not
        follow the order, or counts that disagree with the graph's structure.

    Examples
    --------
    >>> program_plan_from_json('{"format": "jacchain.plan", "version": 1}', ("auto",))
    Traceback (most recent call last):
    ...
    jacchain.errors.PlanFormatError: not a valid jacchain program plan: 'format' must be 'jacchain.program_plan', got 'jacchain.plan'
    """
    document = load_json(text, _fail)
    check_header(document, _FIELDS, FORMAT, VERSION, _fail, "program plan")
    fields: dict[str, Any] = {
        "method": _choice(document, "method", methods),
        "strategy": _choice(document, "strategy", STRATEGIES),
        "mode": _choice(document, "mode", _MODES),
        "unit_partials": _choice(document, "unit_partials", UNIT_PARTIALS),
        "order": _ints(document.get("order"), "'order'"),
        "structure": _structure(document.get("structure")),
    }
    for name in _COSTS:
        if not _is_int(document.get(name)):
            raise _fail(f"{name!r} must be an int >= 0, got {document.get(name)!r:.40}")
        fields[name] = document[name]
    counted = document.get("counted")
    if not (isinstance(counted, dict) and {"order", "forward", "reverse", "markowitz"} <= set(counted)
            and all(_is_int(cost) for cost in counted.values())):
        raise _fail("'counted' must map order, forward, reverse, markowitz (and search) to ints")
    fields["counted"] = counted
    steps = document.get("steps")
    if not isinstance(steps, list):
        raise _fail("'steps' must be a list")
    fields["steps"] = tuple(_ints(step, "a step") for step in steps)
    order, structure = fields["order"], fields["structure"]
    vertices = {v for edge in structure for v in edge[:2]}
    if len(set(order)) != len(order) or not set(order) <= vertices:
        raise _fail("'order' must name vertices of the graph's structure, each once")
    if (fields["vertices"], fields["edges"]) != (len(vertices), len(structure)):
        raise _fail(f"'vertices' and 'edges' must count the structure's: {len(vertices)} and "
                    f"{len(structure)}")
    expected = [(index, v) for index, v in enumerate(order, 1)]
    if [tuple(step[:2]) for step in fields["steps"]] != expected or any(
        len(step) != 5 for step in fields["steps"]
    ):
        raise _fail("'steps' must be [index, vertex, predecessors, successors, cost] per "
                    "vertex of 'order', in order")
    return fields
