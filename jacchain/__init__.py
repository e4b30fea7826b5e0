"""jacchain: Jacobians of composed functions at the least possible cost.

The Jacobian of F = f_k o ... o f_1 is the product J_k ... J_1. jacchain plans the cheapest
order to multiply it (forward, reverse or mixed mode), reports what every alternative would
cost, executes the plan and verifies it against both pure modes.

It logs through ``logging.getLogger("jacchain")``, silent unless the application
configures logging; long operations show progress bars (:mod:`jacchain.progress`).
"""

import logging

from . import layers
from ._version import __version__
from .chains import (
    Chain,
    Layer,
    forward_cost,
    gdjcpb_instances,
    parse_gdjcpb,
    read_gdjcpb,
    reverse_cost,
)
from .errors import (
    DimensionError,
    FileFormatError,
    GraphError,
    JacChainError,
    LayerError,
    MethodError,
    MissingExtraError,
    NonFiniteError,
    OperatorError,
    PlanFormatError,
    ShapeError,
    VerificationError,
)
from .execution import VerificationReport, evaluate, verify
from .graphs import GraphPlan, Traced, Tracer, plan_graph, trace
from .graphs import tracer as tracer  # jc.tracer.exp(x) etc.: the tracer's functions
from .layers import Sequential, jacobian
from .plans import Plan, Segment, Step, plan
from .solvers import method_names, register_solver

logging.getLogger(__name__).addHandler(logging.NullHandler())  # silent unless configured

__all__ = [
    "Chain",
    "Layer",
    "Plan",
    "Step",
    "Segment",
    "plan",
    "evaluate",
    "read_gdjcpb",
    "parse_gdjcpb",
    "gdjcpb_instances",
    "verify",
    "VerificationReport",
    "forward_cost",
    "reverse_cost",
    "method_names",
    "register_solver",
    "JacChainError",
    "DimensionError",
    "ShapeError",
    "LayerError",
    "OperatorError",
    "FileFormatError",
    "NonFiniteError",
    "MethodError",
    "PlanFormatError",
    "VerificationError",
    "GraphError",
    "MissingExtraError",
    "plan_graph",
    "GraphPlan",
    "trace",
    "Tracer",
    "Traced",
    "layers",
    "Sequential",
    "jacobian",
    "__version__",
]
