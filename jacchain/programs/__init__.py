"""Traced programs, for every front end: structured partials, program graphs, elimination.

The backend-neutral half of the JAX and PyTorch front ends: a traced function becomes a
:class:`~jacchain.programs.graph.ProgramGraph` whose edges carry structured
:class:`~jacchain.programs.partials.Partial` derivatives; :func:`plan_program` chooses the
elimination order and :func:`eliminate` carries it out on the partials' values, whatever
array module holds them.
"""

from .elimination import METHODS, ProgramPlan, eliminate, plan_program
from .graph import Edge, Op, Program, ProgramGraph, program_graph
from .partials import UNIT_PARTIALS, Partial

__all__ = ["METHODS", "ProgramPlan", "eliminate", "plan_program", "Edge", "Op", "Program",
           "ProgramGraph", "program_graph", "UNIT_PARTIALS", "Partial"]
