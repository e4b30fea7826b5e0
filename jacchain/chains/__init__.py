"""The model of a chain: its layers, the step arrays that describe plans, and the cost model.

The lowest floor: it knows nothing of solvers, plans, execution, graphs or front ends.

- :mod:`~jacchain.chains.chain`: :class:`Layer` (kinds and their sweep costs) and :class:`Chain`;
- :mod:`~jacchain.chains.operations`: what a step does (product, tangent, adjoint, accumulate);
- :mod:`~jacchain.chains.steps`: bracketings as step arrays (the pure modes among them);
- :mod:`~jacchain.chains.cost`: the cost model, stated once, with exact integer costs;
- :mod:`~jacchain.chains.validate`: whether a step array is a plan of a chain;
- :mod:`~jacchain.chains.gdjcpb`: Naumann's instance files.
"""

from .chain import KINDS, Chain, Layer, as_chain, as_dims
from .cost import forward_cost, reverse_cost
from .gdjcpb import gdjcpb_instances, parse_gdjcpb, read_gdjcpb
from .operations import Operation

__all__ = [
    "KINDS",
    "Chain",
    "Layer",
    "as_chain",
    "as_dims",
    "forward_cost",
    "reverse_cost",
    "Operation",
    "read_gdjcpb",
    "parse_gdjcpb",
    "gdjcpb_instances",
]
