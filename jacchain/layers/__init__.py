"""The numpy front end: layers of real functions that know their Jacobians' structure.

Every layer maps a 1-D array to a 1-D array and tells the planner its kind and costs;
:class:`~jacchain.Sequential` composes them and :func:`jacchain.jacobian` computes the
full Jacobian along the optimal plan. :mod:`jacchain.layers.common` holds what the numpy,
JAX and PyTorch front ends share.
The layers and their costs are tabulated in :mod:`jacchain.layers.modules`.
"""

from .modules import (
    Dense,
    Elementwise,
    Function,
    LayerNorm,
    MatrixFreeOperator,
    Module,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    check_implemented,
    missing_methods,
)
from .sequential import Sequential, jacobian

__all__ = [
    "Module",
    "Dense",
    "Elementwise",
    "Tanh",
    "ReLU",
    "Sigmoid",
    "Softplus",
    "Softmax",
    "LayerNorm",
    "Function",
    "MatrixFreeOperator",
    "check_implemented",
    "missing_methods",
    "Sequential",
    "jacobian",
]
