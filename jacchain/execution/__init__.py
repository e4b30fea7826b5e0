"""Execution: arrays in, arrays out, along a plan.

- :mod:`~jacchain.execution.executor`: the backend-neutral step walker that every front end
  uses (numpy, JAX tracers, torch tensors);
- :mod:`~jacchain.execution.evaluate`: checked numpy operators in, the Jacobian out;
- :mod:`~jacchain.execution.verify`: a plan's result against both pure modes.
"""

from .evaluate import evaluate
from .executor import Linearization, execute, sweeps_needed
from .verify import VerificationReport, verify

__all__ = ["evaluate", "execute", "Linearization", "sweeps_needed", "verify", "VerificationReport"]
