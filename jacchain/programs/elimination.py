"""Vertex elimination on a program's graph of structured partials: orders, costs, execution.

Eliminating a vertex ``v`` replaces every path ``u -> v -> w`` by the edge ``u -> w``
carrying ``dw/dv @ dv/du`` (added to the edge already there): the chain rule, one
composition of :class:`~jacchain.programs.partials.Partial` objects per pair. The same
:func:`eliminate` runs on symbolic partials (planning: it returns the cost) and on partials
with values (execution, inside the compiled function): one mechanism for both.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MethodError, shown
from ..graphs.search import DEFAULT_TIME_LIMIT, SEARCH_PATIENCE, check_budget, search_order
from ..plans.display import Column, Displayed, ReportParts, StepTable, render_text
from ..plans.report import check_max_rows
from ..solvers import plan_hint
from .partials import UNIT_PARTIALS, Partial
from .program_plan_json import (
    Structure,
    program_plan_from_json,
    program_plan_to_json,
    program_structure,
)

__all__ = [
    "METHODS",
    "eliminate",
    "elimination_cost",
    "markowitz_order",
    "ProgramPlan",
    "plan_program",
    "elimination_steps",
]

logger = logging.getLogger(__name__)

METHODS = ("auto", "forward", "reverse", "markowitz", "search")

AUTO_PATIENCE = 100
"""``"auto"``'s search stops after this many constructions in a row without improvement (or
after :data:`~jacchain.graphs.search.DEFAULT_TIME_LIMIT` seconds): milliseconds on small
programs, under half a second on the benchmark models of ``experiments/vs_frameworks.py``."""
"""The elimination orders of the JAX front end (``order=`` gives any other)."""

Edges = dict[tuple[int, int], Partial]


def _neighbours(edges: Edges) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    preds: dict[int, set[int]] = {}
    succs: dict[int, set[int]] = {}
    for u, w in edges:
        succs.setdefault(u, set()).add(w)
        preds.setdefault(w, set()).add(u)
    return preds, succs


class _PartialAlgebra:
    """Composition and sum of :class:`Partial` objects under one counting convention."""

    def __init__(self, unit_partials: str) -> None:
        self.unit_partials = unit_partials

    def compose(self, upper: Partial, lower: Partial) -> tuple[Partial, int]:
        return upper.compose(lower, self.unit_partials)

    def add(self, old: Partial, new: Partial) -> tuple[Partial, int]:
        return old.add(new, self.unit_partials)


def _eliminate_one(edges: Edges, preds, succs, v: int, algebra: Any, apply: bool) -> int:
    """Eliminate ``v`` (or, with ``apply`` False, only count what it would cost)."""
    cost = 0
    incoming, outgoing = sorted(preds.get(v, ())), sorted(succs.get(v, ()))
    for u in incoming:
        for w in outgoing:
            product, spent = algebra.compose(edges[(v, w)], edges[(u, v)])
            cost += spent
            old = edges.get((u, w))
            if old is not None:
                product, spent = algebra.add(old, product)
                cost += spent
            if apply:
                edges[(u, w)] = product
                succs.setdefault(u, set()).add(w)
                preds.setdefault(w, set()).add(u)
    if apply:
        for u in incoming:
            del edges[(u, v)]
            succs[u].discard(v)
        for w in outgoing:
            del edges[(v, w)]
            preds[w].discard(v)
        preds.pop(v, None)
        succs.pop(v, None)
    return cost


def eliminate(edges: Edges, order: Sequence[int], unit_partials: str = "free") -> tuple[Edges, int]:
    """Eliminate the vertices in ``order``; the remaining edges and the total cost.

    Examples
    --------
    >>> import numpy as np
    >>> a = Partial.dense((2,), (3,), np.ones((2, 3)))
    >>> b = Partial.dense((1,), (2,), np.ones((1, 2)))
    >>> remaining, cost = eliminate({(0, 1): a, (1, 2): b}, [1])
    >>> remaining[(0, 2)].to_dense(), cost
    (array([[2., 2., 2.]]), 6)
    """
    edges = dict(edges)
    preds, succs = _neighbours(edges)
    total = 0
    for v in order:
        total += _eliminate_one(edges, preds, succs, v, _PartialAlgebra(unit_partials), apply=True)
    for key, partial in edges.items():  # matrix-free partials left are formed as arrays
        if partial.sweeps is not None:
            edges[key], cost = partial.materialized()
            total += cost
    return edges, total


def elimination_cost(edges: Edges, order: Sequence[int], unit_partials: str = "free") -> int:
    """The cost of eliminating ``order`` (symbolic: no values are computed).

    Examples
    --------
    >>> def dense(out, into):
    ...     return Partial.dense((out,), (into,), symbolic=True)
    >>> edges = {(0, 1): dense(1, 8), (1, 2): dense(8, 1), (2, 3): dense(1, 8)}
    >>> elimination_cost(edges, [1, 2]), elimination_cost(edges, [2, 1])
    (128, 16)
    """
    return eliminate(edges, order, unit_partials)[1]


def markowitz_order(edges: Edges, intermediates: Sequence[int], unit_partials: str = "free"):
    """Greedy: always eliminate the vertex that is cheapest to eliminate now.

    Ties go to the vertex first in program order. Costs wait in a heap; after each
    elimination only the neighbours' costs change and are recomputed.

    Examples
    --------
    >>> def dense(out, into):
    ...     return Partial.dense((out,), (into,), symbolic=True)
    >>> edges = {(0, 1): dense(1, 8), (1, 2): dense(8, 1), (2, 3): dense(1, 8)}
    >>> markowitz_order(edges, [1, 2])
    [2, 1]
    """
    edges = dict(edges)
    preds, succs = _neighbours(edges)
    algebra = _PartialAlgebra(unit_partials)
    position = {v: i for i, v in enumerate(intermediates)}
    version = dict.fromkeys(intermediates, 0)
    heap = [
        (_eliminate_one(edges, preds, succs, v, algebra, apply=False), position[v], v, 0)
        for v in intermediates
    ]
    heapq.heapify(heap)
    order = []
    while heap:
        _cost, _pos, v, seen = heapq.heappop(heap)
        if v not in version or seen != version[v]:
            continue
        neighbours = set(preds.get(v, ())) | set(succs.get(v, ()))
        _eliminate_one(edges, preds, succs, v, algebra, apply=True)
        order.append(v)
        del version[v]
        for x in neighbours:
            if x in version:
                version[x] += 1
                cost = _eliminate_one(edges, preds, succs, x, algebra, apply=False)
                heapq.heappush(heap, (cost, position[x], x, version[x]))
    return order


class _CachedAlgebra:
    """The algebra of :class:`_PartialAlgebra` on structure ids: each distinct structure
    (labels up to renaming, sizes, scale, flags) gets an id, and each composition or sum of
    two structures is computed once."""

    def __init__(self, unit_partials: str) -> None:
        self.unit_partials = unit_partials
        self.ids: dict[tuple, int] = {}
        self.partials: list[Partial] = []
        self.products: dict[tuple[int, int], tuple[int, int]] = {}
        self.sums: dict[tuple[int, int], tuple[int, int]] = {}

    def id(self, partial: Partial) -> int:
        mapping: dict[int, int] = {}

        def canonical(labels):
            return None if labels is None else tuple(mapping.setdefault(x, len(mapping)) for x in labels)

        key = (
            canonical(partial.out_labels), canonical(partial.in_labels),
            canonical(partial.factor_labels),
            tuple(partial.sizes[x] for x in sorted(mapping, key=mapping.__getitem__)),
            partial.scale, partial.arithmetic, partial.selection, partial.sweeps,
        )
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = len(self.partials)
            self.partials.append(partial)
        return found

    def compose(self, upper: int, lower: int) -> tuple[int, int]:
        found = self.products.get((upper, lower))
        if found is None:
            product, cost = self.partials[upper].compose(self.partials[lower], self.unit_partials)
            found = self.products[(upper, lower)] = (self.id(product), cost)
        return found

    def add(self, old: int, new: int) -> tuple[int, int]:
        found = self.sums.get((old, new))
        if found is None:
            total, cost = self.partials[old].add(self.partials[new], self.unit_partials)
            found = self.sums[(old, new)] = (self.id(total), cost)
        return found


class ProgramSearchModel:
    """Vertex elimination on a program's structured partials, as a
    :class:`~jacchain.graphs.search.SearchModel` (symbolic, compositions cached by
    structure, so that an order costs a few dictionary lookups per product).

    Examples
    --------
    >>> from jacchain.graphs.search import replay
    >>> def dense(out, into):
    ...     return Partial.dense((out,), (into,), symbolic=True)
    >>> edges = {(0, 1): dense(1, 8), (1, 2): dense(8, 1), (2, 3): dense(1, 8)}
    >>> model = ProgramSearchModel(edges, [1, 2])
    >>> replay(model, [2, 1]), elimination_cost(edges, [2, 1])
    (16, 16)
    """

    def __init__(self, edges: Edges, intermediates: Sequence[int], unit_partials: str = "free"):
        self.algebra = _CachedAlgebra(unit_partials)
        self.edges = {key: self.algebra.id(partial) for key, partial in edges.items()}
        self.intermediates = tuple(intermediates)

    def start(self) -> tuple[dict, dict, dict]:
        edges = dict(self.edges)
        preds, succs = _neighbours(edges)
        return edges, preds, succs

    def copy(self, state: tuple[dict, dict, dict]) -> tuple[dict, dict, dict]:
        edges, preds, succs = state
        return (dict(edges), {v: set(s) for v, s in preds.items()},
                {v: set(s) for v, s in succs.items()})

    def cost(self, state: tuple[dict, dict, dict], v: int) -> int:
        return _eliminate_one(*state, v, self.algebra, apply=False)

    def eliminate(self, state: tuple[dict, dict, dict], v: int) -> int:
        return _eliminate_one(*state, v, self.algebra, apply=True)

    def neighbours(self, state: tuple[dict, dict, dict], v: int) -> list[int]:
        _, preds, succs = state
        return [*preds.get(v, ()), *succs.get(v, ())]


@dataclass(frozen=True)
class EliminationStep:
    """One elimination of a plan: the vertex, its neighbour counts, its cost."""

    index: int
    vertex: int
    predecessors: int
    successors: int
    cost: int


@dataclass(frozen=True, eq=False, repr=False)
class ProgramPlan(Displayed):
    """The plan of a program's Jacobian (JAX or PyTorch): the elimination order and its cost.

    Attributes
    ----------
    method : str
        The method asked for.
    strategy : str
        What produced the order: ``"forward"``, ``"reverse"``, ``"markowitz"``, ``"search"``
        or ``"order"``.
    mode : str
        ``"forward"`` or ``"reverse"`` when the order is program order or its reverse, else
        ``"mixed"``.
    order : tuple of int
        The eliminated vertices, in order (the node names of :func:`jacchain.jax.graph` or
        :func:`jacchain.torch.graph`).
    cost : int
        Multiply-adds of the order under ``unit_partials``: compositions, sums, matrix-free
        sweeps and the partials formed as arrays included.
    forward_cost, reverse_cost, markowitz_cost : int
        The same for the three orders.
    counted : dict
        The four costs (order, forward, reverse, markowitz) in the other convention.
    unit_partials : str
    vertices, edges : int
        The graph's size.
    steps : tuple of EliminationStep
    structure : tuple
        The graph planned for: every edge ``(u, v)`` with its partial's kind and shapes
        (:func:`~jacchain.programs.program_plan_json.program_structure`). A plan given back
        to a front end (``plan=``) must match its program's.
    """

    method: str
    strategy: str
    mode: str
    order: tuple[int, ...]
    cost: int
    forward_cost: int
    reverse_cost: int
    markowitz_cost: int
    counted: dict[str, int]
    unit_partials: str
    vertices: int
    edges: int
    steps: tuple[EliminationStep, ...]
    structure: Structure = ()

    @property
    def expression(self) -> str:
        """The plan in a few words (the order itself is :attr:`order`)."""
        return f"{self.strategy} order, {len(self.order)} eliminations in a graph of {self.vertices}"

    @property
    def speedup(self) -> float:
        """``min(forward_cost, reverse_cost) / cost`` (1.0 when the cost is 0)."""
        return min(self.forward_cost, self.reverse_cost) / self.cost if self.cost else 1.0

    def describe(self) -> str:
        """One line: the order's strategy and cost against both pure modes."""
        return (
            f"{self.strategy} elimination of a program graph of {self.vertices} vertices: "
            f"{self.cost:,} multiply-adds vs forward {self.forward_cost:,} and reverse "
            f"{self.reverse_cost:,} ({self.speedup:.2f}x)"
        )

    def report(self, max_rows: int = 20) -> str:
        """The multi-line report: costs of every order in both conventions, then the steps."""
        return render_text(self._report_parts(max_rows))

    def _report_parts(self, max_rows: int = 20) -> ReportParts:
        max_rows = check_max_rows(max_rows)
        other = "counted" if self.unit_partials == "free" else "free"
        fields = [
            ("graph", f"{self.vertices} vertices, {self.edges} edges"),
            ("unit partials", f"{self.unit_partials} (in parentheses: {other})"),
        ]
        for name, value in (
            ("forward elimination", self.forward_cost),
            ("reverse elimination", self.reverse_cost),
            ("markowitz", self.markowitz_cost),
            ("chosen order", self.cost),
        ):
            key = name.split()[0] if name != "chosen order" else "order"
            fields.append((name, f"{value:>14,}  ({self.counted[key]:,})"))
        fields.append(("speedup", f"{self.speedup:.2f}x over the best pure mode"))
        columns: list[Column] = [
            ("vertex", lambda step: str(step.vertex), ">", 6),
            ("preds", lambda step: str(step.predecessors), ">", 5),
            ("succs", lambda step: str(step.successors), ">", 5),
        ]
        table = StepTable(list(self.steps), columns, self.cost, max_rows, 50) if self.steps else None
        return ReportParts(
            f"jacchain program plan (method {self.method!r}: {self.strategy} elimination)",
            fields, ["costs are scalar multiply-adds; FLOPs are 2x"], table)

    def __repr__(self) -> str:
        return f"<jacchain.ProgramPlan {self.describe()}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProgramPlan):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__dataclass_fields__)

    def __hash__(self) -> int:
        return hash((self.order, self.cost, self.structure))

    def to_json(self, indent: int | None = None) -> str:
        """The plan as JSON: its order, costs and steps, and the structure of its graph.

        Examples
        --------
        >>> edges = {(0, 1): Partial.dense((8,), (1,), symbolic=True),
        ...          (1, 2): Partial.dense((1,), (8,), symbolic=True)}
        >>> plan = plan_program(edges, [1])
        >>> ProgramPlan.from_json(plan.to_json()) == plan
        True
        """
        return program_plan_to_json(self, indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> ProgramPlan:
        """Read a plan written by :meth:`to_json` (checked as far as the text allows; a front
        end given it as ``plan=`` checks it against its program and replays its order).

        Raises
        ------
        PlanFormatError
            If the text is not such a plan (see
            :func:`~jacchain.programs.program_plan_json.program_plan_from_json`).
        """
        fields = program_plan_from_json(text, METHODS)
        fields["steps"] = tuple(EliminationStep(*step) for step in fields["steps"])
        return cls(**fields)


def elimination_steps(
    edges: Edges, order: Sequence[int], unit_partials: str = "free"
) -> tuple[EliminationStep, ...]:
    """Each elimination of ``order``: the vertex, its neighbour counts then, its cost.

    Examples
    --------
    >>> def dense(out, into):
    ...     return Partial.dense((out,), (into,), symbolic=True)
    >>> edges = {(0, 1): dense(1, 8), (1, 2): dense(8, 1), (2, 3): dense(1, 8)}
    >>> [(step.vertex, step.cost) for step in elimination_steps(edges, [2, 1])]
    [(2, 8), (1, 8)]
    """
    edges = dict(edges)
    preds, succs = _neighbours(edges)
    steps = []
    for index, v in enumerate(order, 1):
        n_preds, n_succs = len(preds.get(v, ())), len(succs.get(v, ()))
        cost = _eliminate_one(edges, preds, succs, v, _PartialAlgebra(unit_partials), apply=True)
        steps.append(EliminationStep(index, v, n_preds, n_succs, cost))
    return tuple(steps)


def plan_program(
    edges: Edges,
    intermediates: Sequence[int],
    method: str = "auto",
    order: Sequence[int] | None = None,
    unit_partials: str = "free",
    assembly_cost: dict[str, int] | None = None,
    time_limit: float | None = None,
    seed: int = 0,
) -> ProgramPlan:
    """Choose the elimination order of a program graph and cost it in both conventions.

    Parameters
    ----------
    edges : dict
        ``{(u, v): Partial}``, symbolic.
    intermediates : sequence of int
        The vertices to eliminate, in program order.
    method : str
        ``"auto"`` (the cheapest of forward, reverse, Markowitz and a short search seeded
        with them, stopped after :data:`AUTO_PATIENCE` constructions without improvement),
        ``"forward"``,
        ``"reverse"``, ``"markowitz"`` or ``"search"`` (an anytime search seeded with the
        three, never worse than them: :func:`jacchain.graphs.search.search_order`).
    order : sequence of int, optional
        An order to follow instead (every intermediate once).
    unit_partials : str
        ``"free"`` or ``"counted"``: the convention the order is chosen and reported in.
    assembly_cost : dict, optional
        ``{convention: multiply-adds}`` of forming the edges' partials (sums of repeated
        operands), added to every order's cost.
    time_limit : float, optional
        Seconds of search (``"search"``, ``"auto"``); by default up to 1 s, stopping earlier
        after :data:`~jacchain.graphs.search.SEARCH_PATIENCE` constructions without
        improvement (:data:`AUTO_PATIENCE` for ``"auto"``).
    seed : int
        The search's random seed.

    Returns
    -------
    ProgramPlan

    Examples
    --------
    >>> edges = {(0, 1): Partial.dense((8,), (1,), symbolic=True),
    ...          (1, 2): Partial.dense((1,), (8,), symbolic=True)}
    >>> plan = plan_program(edges, [1])
    >>> plan.cost, plan.forward_cost, plan.order
    (8, 8, (1,))
    """
    if not isinstance(method, str) or method not in METHODS:
        raise MethodError(
            f"unknown method {shown(method)} for a JAX program; valid methods: "
            f"{', '.join(map(repr, METHODS))} (or order=[...])" + plan_hint(method)
        )
    if unit_partials not in UNIT_PARTIALS:
        raise MethodError(
            f"unit_partials must be one of {', '.join(map(repr, UNIT_PARTIALS))}, got "
            f"{shown(unit_partials)}"
        )
    check_budget(1.0 if time_limit is None else time_limit, None, None, seed)
    other = "counted" if unit_partials == "free" else "free"
    orders = {
        "forward": list(intermediates),
        "reverse": list(reversed(intermediates)),
        "markowitz": markowitz_order(edges, intermediates, unit_partials),
    }
    fixed = assembly_cost or {}
    costs = {
        name: elimination_cost(edges, o, unit_partials) + fixed.get(unit_partials, 0)
        for name, o in orders.items()
    }
    if method in ("auto", "search") and order is None and intermediates:
        budget = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
        patience = SEARCH_PATIENCE if time_limit is None else None
        found = search_order(
            ProgramSearchModel(edges, intermediates, unit_partials), orders, time_limit=budget,
            seed=seed, patience=AUTO_PATIENCE if method == "auto" else patience,
        )
        orders["search"] = list(found.order)
        # the search sums its steps; the matrix-free partials no step touches are formed at
        # the end, as for every order: costed the same way as the others
        costs["search"] = elimination_cost(edges, found.order, unit_partials) + fixed.get(unit_partials, 0)
    if order is not None:
        chosen = _checked_order(order, intermediates)
        strategy = "order"
        orders["order"] = chosen
        costs["order"] = elimination_cost(edges, chosen, unit_partials) + fixed.get(unit_partials, 0)
    elif method in ("auto", "search"):
        names = ("forward", "reverse") + (("search",) if "search" in orders else ()) + ("markowitz",)
        strategy = min(names, key=lambda name: costs[name])  # ties: the first named
    else:
        strategy = method
    chosen = orders[strategy]
    counted = {name: elimination_cost(edges, o, other) + fixed.get(other, 0) for name, o in orders.items()}
    counted["order"] = counted[strategy]
    mode = "mixed"
    if chosen == orders["forward"]:
        mode = "forward"
    elif chosen == orders["reverse"]:
        mode = "reverse"
    planned = ProgramPlan(
        method=method,
        strategy=strategy,
        mode=mode,
        order=tuple(chosen),
        cost=costs[strategy],
        forward_cost=costs["forward"],
        reverse_cost=costs["reverse"],
        markowitz_cost=costs["markowitz"],
        counted=counted,
        unit_partials=unit_partials,
        vertices=len({v for edge in edges for v in edge}),
        edges=len(edges),
        steps=elimination_steps(edges, chosen, unit_partials),
        structure=program_structure(edges),
    )
    logger.debug("plan_program chose %s (%s partials; tried %s)", planned.describe(),
                 unit_partials, costs)
    return planned


def _checked_order(order: Any, intermediates: Sequence[int]) -> list[int]:
    try:
        chosen = [int(v) for v in order]
    except (TypeError, ValueError):
        raise MethodError(f"order must be a sequence of vertex ids, got {shown(order)}") from None
    if sorted(chosen) != sorted(intermediates):
        missing = sorted(set(intermediates) - set(chosen))
        extra = sorted(set(chosen) - set(intermediates))
        raise MethodError(
            f"order must list every intermediate vertex once: missing {missing[:5]}, "
            f"not intermediates or repeated {extra[:5] or 'none'}"
        )
    return chosen
