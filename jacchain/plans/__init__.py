"""Plans: the immutable record of an order, its text report and its JSON.

Planning takes shapes in and gives an immutable :class:`Plan` out; it never touches
arrays. Executing a plan is the job of :mod:`jacchain.execution`, which gives
:meth:`Plan.evaluate` and :meth:`Plan.compile` their implementation.
"""

from .plan import Plan, Segment, Step, plan

__all__ = ["Plan", "Segment", "Step", "plan"]
