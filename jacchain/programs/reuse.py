"""A saved plan given to a program's front end (``plan=``): checked against the program's graph.

The JAX and PyTorch front ends follow a given plan instead of planning: a
:class:`~jacchain.programs.elimination.ProgramPlan` (what their ``.plan(*args)`` returns,
or one read back with ``ProgramPlan.from_json``) or a :class:`~jacchain.GraphPlan` of the
program's graph (``jacchain.plan_graph(jacchain.jax.graph(f, *args), ...)``). Any order
that eliminates every intermediate vertex once gives the right Jacobian; the checks here
make sure the plan was made for this program at these shapes, so that its order and its
costs mean what they say.
"""

from __future__ import annotations

from typing import Any

from ..errors import MethodError, PlanFormatError
from ..graphs.graph import GraphSpec, graph_spec
from ..graphs.graph_plan import GraphPlan, _difference
from ..plans.reuse import PlanCache
from .elimination import ProgramPlan, elimination_steps
from .graph import ProgramGraph, graph_of
from .program_plan_json import Structure, program_structure

__all__ = ["PROGRAM_PLANS", "check_program_plan", "check_not_on_cluster"]

PROGRAM_PLANS = (ProgramPlan, GraphPlan)
"""The plans a program's front end follows (``plan=``)."""

_MISMATCH = "the plan given (plan=) was made for another program graph"


def check_program_plan(plan: ProgramPlan | GraphPlan, graph: ProgramGraph) -> None:
    """Check that ``plan`` was made for the program ``graph``; raise if not.

    A ProgramPlan must have the graph's structure (every edge, with the kind and shapes of
    its partial), and its order must replay step by step to the costs it states. A
    GraphPlan must describe the same graph (vertices, sizes, edges and their kinds, inputs
    and outputs) and eliminate in an order (not by graph layers).

    Raises
    ------
    PlanFormatError
        Naming the first difference.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from jacchain.jax.program import program_graph, trace_program
    >>> from jacchain.programs.elimination import plan_program
    >>> def graph_at(n):
    ...     program, _, _ = trace_program(lambda x: jnp.sum(jnp.sin(x) ** 2), jnp.ones(n))
    ...     return program_graph(program, program.inputs)
    >>> small = graph_at(3)
    >>> plan = plan_program(small.partials(), small.intermediates)
    >>> check_program_plan(plan, small)
    >>> check_program_plan(plan, graph_at(4))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jacchain.errors.PlanFormatError: the plan given (plan=) was made for another program graph: edge 1 -> 2 is a diagonal partial of shape (3,) by (3,) in the plan, a diagonal partial of shape (4,) by (4,) here
    """
    partials = graph.partials()
    if isinstance(plan, GraphPlan):
        _check_graph_plan(plan, graph)
    else:
        _check_structure(plan.structure, program_structure(partials))
    if plan.order is None or sorted(plan.order) != sorted(graph.intermediates):
        raise PlanFormatError(
            f"{_MISMATCH}: its order does not eliminate this graph's "
            f"{len(graph.intermediates)} intermediate vertices once each"
        )
    if isinstance(plan, ProgramPlan):
        replayed = elimination_steps(partials, plan.order, plan.unit_partials)
        if replayed != plan.steps:
            step = next((a, b) for a, b in zip(replayed, plan.steps, strict=False) if a != b)
            raise PlanFormatError(
                f"{_MISMATCH}: its step {step[1].index} (vertex {step[1].vertex}) costs "
                f"{step[0].cost:,} multiply-adds here, the plan says {step[1].cost:,}"
            )


def _shown(entry: tuple[Any, ...]) -> str:
    kind, out, into = entry
    return f"a {kind} partial of shape {out} by {into}"


def _check_structure(planned: Structure, found: Structure) -> None:
    if planned == found:
        return
    old = {(u, v): rest for u, v, *rest in planned}
    new = {(u, v): rest for u, v, *rest in found}
    for u, v in sorted(old.keys() ^ new.keys()):
        where = "in the plan only" if (u, v) in old else "here only"
        raise PlanFormatError(f"{_MISMATCH}: edge {u} -> {v} is {where}")
    u, v = next(edge for edge in sorted(old) if old[edge] != new[edge])
    raise PlanFormatError(
        f"{_MISMATCH}: edge {u} -> {v} is {_shown(old[u, v])} in the plan, "
        f"{_shown(new[u, v])} here"
    )


def _named(spec: GraphSpec) -> tuple[dict[Any, int], dict[tuple[Any, Any], int], set, set]:
    names = spec.names
    return (
        dict(zip(names, spec.sizes, strict=True)),
        {(names[u], names[v]): code for u, v, code in spec.edges},
        {names[i] for i in spec.inputs},
        {names[i] for i in spec.outputs},
    )


def _check_graph_plan(plan: GraphPlan, graph: ProgramGraph) -> None:
    if plan.order is None:
        raise PlanFormatError(
            f"the plan given (plan=) is a GraphPlan by graph layers (strategy "
            f"{plan.strategy!r}), which has no elimination order: plan the program's graph "
            "with an elimination method (e.g. method='exact'), or give its ProgramPlan"
        )
    outputs = [v for v in graph.outputs if v is not None]
    spec = graph_spec(graph_of(graph, lambda op: None), list(graph.inputs), outputs)
    if plan.spec == spec:
        return
    planned, found = _named(plan.spec), _named(spec)
    if planned[:2] != found[:2]:
        raise PlanFormatError(f"{_MISMATCH}: {_difference(plan.spec, spec)}")
    if planned[2:] != found[2:]:
        raise PlanFormatError(f"{_MISMATCH}: its inputs or outputs are other vertices")


def check_not_on_cluster(plans: PlanCache) -> None:
    """Refuse to send a given plan to a Dask cluster, where each chunk of columns is a
    program of its own (planned on its worker).

    Examples
    --------
    >>> check_not_on_cluster(PlanCache())
    >>> check_not_on_cluster(PlanCache(given="a plan"))
    Traceback (most recent call last):
    ...
    jacchain.errors.MethodError: a given plan (plan=) cannot be followed on a Dask cluster: each chunk of columns there is a program of its own, planned on its worker; leave out plan= or compute in this process (no client)
    """
    if plans.given is not None:
        raise MethodError(
            "a given plan (plan=) cannot be followed on a Dask cluster: each chunk of columns "
            "there is a program of its own, planned on its worker; leave out plan= or compute "
            "in this process (no client)"
        )
