"""Reusing plans in the front ends: one plan per input signature, or a plan given by the user.

Every front end (:func:`jacchain.jacobian`, :mod:`jacchain.jax`, :mod:`jacchain.torch`)
keeps its plans in a :class:`PlanCache`: the first call at an input signature (shapes,
dtypes, the structure of the arguments) plans, later calls at that signature reuse the
plan. A plan given with ``plan=`` (for example one read back from JSON) replaces planning:
:func:`given_plan` checks the argument, and at each new signature the cache checks that
the plan fits (for a chain, :func:`check_chain_plan`) instead of planning.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

from ..chains.chain import Chain
from ..errors import MethodError, PlanFormatError, shown
from .plan import Plan
from .report import format_dims

__all__ = ["PlanCache", "given_plan", "check_chain_plan"]

P = TypeVar("P")


class PlanCache:
    """The plans of one front-end function, one per input signature.

    Parameters
    ----------
    given : plan, optional
        A plan to follow instead of planning (``plan=``): at each new signature it is
        checked, not made.

    Examples
    --------
    >>> import jacchain as jc
    >>> cache = PlanCache()
    >>> p = cache.get((3,), lambda: jc.plan([3, 4, 5]), check_chain_plan)
    >>> cache.get((3,), lambda: 1 / 0, check_chain_plan) is p, len(cache), (3,) in cache
    (True, 1, True)
    """

    def __init__(self, given: Any = None) -> None:
        self.given = given
        self._plans: dict[Hashable, Any] = {}

    def get(self, signature: Hashable, make: Callable[[], P], check: Callable[[Any], Any]) -> P:
        """The plan for ``signature``: made by ``make()`` the first time, then remembered.

        With a given plan, the first time calls ``check(given)`` instead (it raises if the
        plan does not fit this signature; nothing is remembered then) and remembers the
        given plan.
        """
        try:
            return self._plans[signature]
        except KeyError:
            pass
        if self.given is None:
            found = make()
        else:
            check(self.given)
            found = self.given
        self._plans[signature] = found
        return found

    def __len__(self) -> int:
        return len(self._plans)

    def __contains__(self, signature: object) -> bool:
        return signature in self._plans

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._plans)

    def __repr__(self) -> str:
        source = "given" if self.given is not None else "planned"
        return f"<jacchain PlanCache: {len(self)} signatures, {source}>"


def given_plan(plan: Any, accepted: tuple[type, ...], form: str, **options: tuple[Any, Any]) -> Any:
    """Check a front end's ``plan=`` argument: None, or a plan of an ``accepted`` type.

    Parameters
    ----------
    plan : object
        The argument.
    accepted : tuple of type
        The plan classes this front end follows.
    form : str
        The front end, for messages (``"the sequence form"``).
    **options : (value, default)
        The planning options given with it: each must keep its default, as a given plan
        replaces planning.

    Returns
    -------
    The plan, or None.

    Raises
    ------
    PlanFormatError
        If ``plan`` is not one of the ``accepted`` plans (JSON text included: read it first).
    MethodError
        If a planning option is given too.

    Examples
    --------
    >>> import jacchain as jc
    >>> given_plan(jc.plan([3, 4]), (jc.Plan,), "numpy", method=("forward", "auto"))
    Traceback (most recent call last):
    ...
    jacchain.errors.MethodError: give either plan= or method= ('forward'), not both: a given plan replaces planning
    """
    if plan is None:
        return None
    names = " or ".join(f"a jacchain {kind.__name__}" for kind in accepted)
    if not isinstance(plan, accepted):
        hint = (
            ": read plan JSON first, e.g. with jacchain.Plan.from_json(text)"
            if isinstance(plan, (str, bytes))
            else ""
        )
        raise PlanFormatError(
            f"plan= takes {names} for {form}, got {type(plan).__name__} {shown(plan, 40)}{hint}"
        )
    for name, (value, default) in options.items():
        if not (value is default or (type(value) is type(default) and value == default)):
            raise MethodError(
                f"give either plan= or {name}= ({shown(value, 40)}), not both: a given plan "
                "replaces planning"
            )
    return plan


def check_chain_plan(plan: Plan, chain: Chain) -> Plan:
    """Check that a chain ``plan`` fits ``chain``: the same dims and the same layer kinds.

    A plan's costs may differ from the chain's (a plan of measured costs, made with
    ``calibrate=True``, fits the same layers described from their shapes); its dims and
    kinds may not, since they decide which products it computes.

    Raises
    ------
    PlanFormatError
        Naming the dims (or the layer) of both.

    Examples
    --------
    >>> import jacchain as jc
    >>> check_chain_plan(jc.plan([3, 4, 5]), jc.Chain.from_dims([3, 4, 6]))
    Traceback (most recent call last):
    ...
    jacchain.errors.PlanFormatError: the plan given (plan=) is for dims 3 -> 4 -> 5, but the model at this input has dims 3 -> 4 -> 6
    """
    if not isinstance(plan, Plan):
        raise PlanFormatError(f"expected a jacchain Plan, got {type(plan).__name__}")
    if tuple(plan.dims) != tuple(chain.dims):
        raise PlanFormatError(
            f"the plan given (plan=) is for dims {format_dims(plan.dims)}, but the model at "
            f"this input has dims {format_dims(chain.dims)}"
        )
    for number, (planned, layer) in enumerate(zip(plan.chain.layers, chain.layers, strict=True), 1):
        if planned.kind != layer.kind:
            raise PlanFormatError(
                f"the plan given (plan=) takes layer {number} as {planned.kind}, but the "
                f"model's layer {number} is {layer.kind}"
            )
    return plan
