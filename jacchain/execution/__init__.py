"""Execution: arrays in, arrays out, along a plan.

- :mod:`~jacchain.execution.program`: a plan recorded once as a straight-line program of
  array operations, compiled into one Python function;
- :mod:`~jacchain.execution.executor`: running a plan's program on linearized layers, for
  every front end (numpy, JAX tracers, torch tensors);
- :mod:`~jacchain.execution.compiled`: ``Plan.compile(backend)``, the unchecked callable;
- :mod:`~jacchain.execution.evaluate`: checked numpy operators in, the Jacobian out;
- :mod:`~jacchain.execution.verify`: a plan's result against both pure modes.
"""

from .compiled import CompiledPlan, compile_plan
from .evaluate import evaluate
from .executor import Linearization, execute, sweeps_needed
from .verify import VerificationReport, verify

__all__ = [
    "evaluate",
    "execute",
    "Linearization",
    "sweeps_needed",
    "verify",
    "VerificationReport",
    "CompiledPlan",
    "compile_plan",
]
