"""Computational graphs: the graph model, graph layers, vertex elimination, graph plans, the tracer.

Above chains, plans and execution: a graph becomes either a chain of graph layers (planned
by :func:`jacchain.plan`) or an elimination order, and :func:`plan_graph` returns a
:class:`GraphPlan` that evaluates itself on the graph's edge Jacobians.
"""

from .graph import chain_from_graph
from .graph_plan import GraphPlan, plan_graph
from .tracer import Traced, Tracer, trace

__all__ = ["chain_from_graph", "GraphPlan", "plan_graph", "Traced", "Tracer", "trace"]
