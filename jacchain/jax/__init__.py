"""The JAX front end (extra ``jax``): Jacobians of JAX functions along the cheapest plan.

JAX is imported by the functions here when they run, never at ``import jacchain``.
"""

from .sequence import JacobianFunction, jacobian, layer_kind

__all__ = ["jacobian", "JacobianFunction", "layer_kind"]
