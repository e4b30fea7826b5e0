"""jacchain: Jacobians of composed functions at the least possible cost.

The Jacobian of F = f_k o ... o f_1 is the product J_k ... J_1. jacchain plans the cheapest
order to multiply it (forward, reverse or mixed mode), reports what every alternative would
cost, executes the plan and verifies it against both pure modes.
"""

from . import layers
from .chain import Chain, Layer
from .cost import forward_cost, reverse_cost
from .errors import (
    DimensionError,
    FileFormatError,
    GraphError,
    JacChainError,
    LayerError,
    MethodError,
    NonFiniteError,
    OperatorError,
    PlanFormatError,
    ShapeError,
    VerificationError,
)
from .evaluate import evaluate
from .gdjcpb import gdjcpb_instances, parse_gdjcpb, read_gdjcpb
from .graph_plan import GraphPlan, plan_graph
from .plan import Plan, Segment, Step, plan
from .sequential import Sequential, jacobian
from .solvers import method_names, register_solver
from .tracer import Traced, Tracer, trace
from .verify import VerificationReport, verify

__version__ = "0.1.0"

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
