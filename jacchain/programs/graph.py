"""Traced programs as computational graphs, for any front end.

A front end (:mod:`jacchain.jax`, :mod:`jacchain.torch`) traces a function into a
:class:`Program`: numbered values and the operations between them. :func:`program_graph`
keeps the values on a path from a differentiated input to an output, one vertex each, and
asks the front end's :class:`ProgramRules` for the structured partial of every edge (an
:class:`Edge`: the symbolic :class:`~jacchain.programs.partials.Partial` that planning
needs, and how to compute its factor from the operation's values at execution time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import GraphError
from .partials import Partial

__all__ = ["Edge", "Values", "Op", "Program", "ProgramRules", "ProgramGraph", "program_graph",
           "OutputsView", "graph_of", "registering"]

Values = Callable[[Sequence[Any], Sequence[Any]], Any]
"""``values(invals, outvals)``: the factor of a partial from an operation's primal values."""


@dataclass(frozen=True)
class Edge:
    """One partial of an equation: its structure and how to compute its factor.

    Attributes
    ----------
    partial : Partial
        Symbolic (no values): labels, sizes, factor axes, scale.
    values : callable or None
        ``values(invals, outvals)`` gives the factor (the front end's linear operator for a
        matrix-free partial); None when the partial has none.
    """

    partial: Partial
    values: Values | None = None



@dataclass(frozen=True)
class Op:
    """One operation: the front end's description of it (``eqn``: a JAX equation, a
    ``torch.fx`` node), its operand ids and its output ids.

    An operand id is an int (a value of the program) or ``("const", index)`` for a constant.
    """

    eqn: Any
    inputs: tuple[Any, ...]
    outputs: tuple[int, ...]


@dataclass
class Program:
    """A traced program flattened into numbered values and operations.

    Attributes
    ----------
    ops : list of Op
    inputs : list of int
        The ids of the function's input leaves, in order.
    outputs : list
        The ids (or constant references) of the output leaves, in order.
    constants : list
        Literals, closed-over values and other constants; ``("const", i)`` refers to ``constants[i]``.
    avals : dict
        ``{id: abstract value}`` (shape and dtype) of every value.
    """

    ops: list[Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    constants: list[Any] = field(default_factory=list)
    avals: dict[int, Any] = field(default_factory=dict)
    count: int = 0

    def new_value(self, aval: Any) -> int:
        self.count += 1
        self.avals[self.count] = aval
        return self.count

    def constant(self, value: Any) -> tuple[str, int]:
        self.constants.append(value)
        return ("const", len(self.constants) - 1)


def registering(table: dict[str, Any], names: Sequence[str]) -> Callable[[Any], Any]:
    """A decorator that enters its function into ``table`` under each of ``names`` (the
    front ends' rule registries).

    Examples
    --------
    >>> table = {}
    >>> @registering(table, ["a", "b"])
    ... def rule(): ...
    >>> sorted(table)
    ['a', 'b']
    """

    def register(rule: Any) -> Any:
        for name in names:
            table[name] = rule
        return rule

    return register


class ProgramRules(Protocol):
    """What a front end tells :func:`program_graph` about its operations."""

    def constant(self, op: Op) -> bool:
        """Whether the operation's outputs carry no derivative (comparisons, integer ops)."""
        ...

    def differentiable(self, aval: Any) -> bool:
        """Whether a value of this abstract type (shape and dtype) can be differentiated."""
        ...

    def edge(self, program: Program, op: Op, output: int, operand: int) -> Edge:
        """The partial of the op's output ``output`` with respect to its operand ``operand``."""
        ...


@dataclass
class ProgramGraph:
    """The computational graph of a program for the chosen inputs.

    Attributes
    ----------
    program : Program
    inputs : list of int
        The differentiated input leaves (vertex ids), in order.
    outputs : list
        One vertex id per output leaf (a copy vertex where the output is an input or has
        successors), or None for an output that does not depend on the inputs.
    shapes : dict
        ``{vertex: shape}``.
    edges : dict
        ``{(u, v): [(op index, output index, operand index, Edge), ...]}``: the partials whose
        sum is dv/du (an operand used twice gives two).
    copies : dict
        ``{copy vertex: output vertex}``.
    """

    program: Program
    inputs: list[int]
    outputs: list[int | None]
    shapes: dict[int, tuple[int, ...]]
    edges: dict[tuple[int, int], list[tuple[int, int, int, Edge]]]
    copies: dict[int, int]

    @property
    def intermediates(self) -> list[int]:
        """The vertices to eliminate, in the program's (topological) order."""
        kept = set(self.inputs) | {o for o in self.outputs if o is not None}
        ordered = [v for op in self.program.ops for v in op.outputs if v in self.shapes]
        return [v for v in ordered if v not in kept]

    def partials(self) -> dict[tuple[int, int], Partial]:
        """The symbolic partial of every edge (sums of repeated operands formed)."""
        result = {}
        for key, terms in self.edges.items():
            partial = terms[0][3].partial
            for term in terms[1:]:
                partial = partial.add(term[3].partial)[0]
            result[key] = partial
        return result

    def valued_partials(self, values: dict[Any, Any],
                        adapt: Callable[[int, int, int, Any], Any] | None = None) -> dict[tuple[int, int], Partial]:
        """Every edge's partial with its factor computed from the program's ``values`` (those
        of :func:`run_program`-style evaluation: ``{id: array}``), repeated operands summed.

        ``adapt(op_index, output, operand, factor)``, when given, may replace a factor (the
        front ends hand matrix-free operators their own VJP or a chunk size).
        """
        edges = {}
        for key, terms in self.edges.items():
            partial = None
            for op_index, output, operand, edge in terms:
                if op_index < 0 or edge.values is None:
                    term = edge.partial.with_value(None)
                else:
                    op = self.program.ops[op_index]
                    factor = edge.values([values[ref] for ref in op.inputs],
                                         [values[ref] for ref in op.outputs])
                    if adapt is not None:
                        factor = adapt(op_index, output, operand, factor)
                    term = edge.partial.with_value(factor)
                partial = term if partial is None else partial.add(term)[0]
            edges[key] = partial
        return edges

    def assembly_cost(self, unit_partials: str = "free") -> int:
        """Multiply-adds of summing the partials of an operand used more than once (paid by
        every order; matrix-free terms are formed as arrays to be summed)."""
        total = 0
        for terms in self.edges.values():
            partial = terms[0][3].partial
            for term in terms[1:]:
                partial, cost = partial.add(term[3].partial, unit_partials)
                total += cost
        return total

    def size(self) -> tuple[int, int, int]:
        """(vertices, edges, scalar entries of all vertices)."""
        return len(self.shapes), len(self.edges), sum(math.prod(s) for s in self.shapes.values())


def program_graph(program: Program, differentiated: Sequence[int], rules: ProgramRules) -> ProgramGraph:
    """The graph of the values on a path from the ``differentiated`` inputs to the outputs,
    each edge with the structured partial that the front end's ``rules`` give it.

    Raises
    ------
    GraphError
        If a differentiated input is not a floating-point array.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from jacchain.jax.program import JAX_RULES, trace_program
    >>> program, _, _ = trace_program(lambda x, y: jnp.sum(jnp.sin(x) * y), jnp.ones(3), 2.0)
    >>> graph = program_graph(program, program.inputs[:1], JAX_RULES)
    >>> [program.ops[i].eqn.primitive.name for i in sorted({t[0] for ts in graph.edges.values() for t in ts})]
    ['sin', 'mul', 'reduce_sum']
    """
    for ref in differentiated:
        if not rules.differentiable(program.avals[ref]):
            raise GraphError(
                f"input leaf {program.inputs.index(ref)} has dtype {program.avals[ref].dtype}: "
                "only floating-point inputs can be differentiated"
            )
    active = set(differentiated)
    for op in program.ops:
        if rules.constant(op):
            continue
        if any(isinstance(ref, int) and ref in active for ref in op.inputs):
            active.update(ref for ref in op.outputs if rules.differentiable(program.avals[ref]))
    useful = {ref for ref in program.outputs if isinstance(ref, int) and ref in active}
    for op in reversed(program.ops):
        if any(ref in useful for ref in op.outputs) and not rules.constant(op):
            useful.update(ref for ref in op.inputs if isinstance(ref, int) and ref in active)
    keep = active & useful
    shapes = {ref: tuple(program.avals[ref].shape) for ref in keep}
    edges: dict[tuple[int, int], list[tuple[int, int, int, Edge]]] = {}
    successors: dict[int, int] = {}
    for index, op in enumerate(program.ops):
        if rules.constant(op):
            continue
        for j, out in enumerate(op.outputs):
            if out not in keep:
                continue
            for k, ref in enumerate(op.inputs):
                if isinstance(ref, int) and ref in keep:
                    edges.setdefault((ref, out), []).append((index, j, k, rules.edge(program, op, j, k)))
                    successors[ref] = successors.get(ref, 0) + 1
    outputs: list[int | None] = []
    copies: dict[int, int] = {}
    inputs = list(differentiated)
    repeated = {ref for ref in program.outputs if program.outputs.count(ref) > 1}
    for ref in program.outputs:
        if not isinstance(ref, int) or ref not in keep:
            outputs.append(None)
            continue
        # an output is read through a copy when it must stay a sink: it is an input, it has
        # successors, or it is returned more than once
        if ref in inputs or successors.get(ref) or ref in repeated:
            copy = program.new_value(program.avals[ref])
            shapes[copy] = shapes[ref]
            copies[copy] = ref
            edges[(ref, copy)] = [(-1, 0, 0, Edge(Partial.identity(shapes[ref], symbolic=True)))]
            outputs.append(copy)
        else:
            outputs.append(ref)
    for ref in inputs:
        shapes.setdefault(ref, tuple(program.avals[ref].shape))
    return ProgramGraph(program, inputs, outputs, shapes, edges, copies)


class OutputsView:
    """A view of a program whose outputs are some of its own (the differentiated ones, an
    auxiliary output left out); everything else, new values included, is the program's."""

    def __init__(self, program: Program, outputs: list[Any]) -> None:
        self._program = program
        self.outputs = outputs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._program, name)


def graph_of(graph: ProgramGraph, primitive_of: Callable[[Op], str]) -> Any:
    """A :class:`ProgramGraph` as a networkx DiGraph in jacchain's graph conventions.

    Nodes are the vertex ids, with ``size``, ``shape``, ``role`` (``"input"``,
    ``"intermediate"`` or ``"output"``) and ``primitive`` (the name ``primitive_of`` gives
    the operation that made them);
    edges carry ``kind`` (``"identity"``, ``"diagonal"``, ``"dense"``, or, for the other
    structures, ``"dense"`` as the nearest kind :func:`jacchain.plan_graph` understands),
    ``structure`` (the partial's own kind) and ``partial`` (the symbolic
    :class:`~jacchain.programs.partials.Partial`).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from jacchain.jax.program import program_graph, trace_program
    >>> program, _, _ = trace_program(lambda x: jnp.sum(jnp.sin(x)), jnp.ones(3))
    >>> G = graph_of(program_graph(program, program.inputs), lambda op: op.eqn.primitive.name)
    >>> sorted(G.nodes[v]["primitive"] for v in G if G.nodes[v]["role"] != "input")
    ['reduce_sum', 'sin']
    """
    import math

    import networkx as nx

    G = nx.DiGraph()
    producers = {}
    for op in graph.program.ops:
        for ref in op.outputs:
            producers[ref] = primitive_of(op)
    outputs = {v for v in graph.outputs if v is not None}
    for v, shape in graph.shapes.items():
        role = "input" if v in graph.inputs else "output" if v in outputs else "intermediate"
        G.add_node(
            v,
            size=max(1, math.prod(shape)),
            shape=shape,
            role=role,
            primitive=producers.get(v, "copy" if v in graph.copies else None),
        )
    for (u, v), partial in graph.partials().items():
        structure = partial.kind()
        kind = structure if structure in ("identity", "diagonal") and partial.scale == 1.0 else "dense"
        if structure == "diagonal" or (structure == "identity" and partial.scale != 1.0):
            kind = "diagonal"
        G.add_edge(u, v, kind=kind, structure=structure, partial=partial)
    return G
