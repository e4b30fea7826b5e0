"""The PyTorch front end (extra ``torch``): Jacobians of PyTorch models along the cheapest plan.

PyTorch is imported by the functions here when they run, never at ``import jacchain``.
"""

from .sequence import ELEMENTWISE_MODULES, jacobian, layer_kind, plan

__all__ = ["jacobian", "plan", "layer_kind", "ELEMENTWISE_MODULES"]
