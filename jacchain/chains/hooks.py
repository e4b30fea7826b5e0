"""Convenience methods whose implementation lives on a higher floor.

``Chain.from_graph`` is implemented by :mod:`jacchain.graphs`, ``Plan.evaluate`` and
``Plan.compile`` by :mod:`jacchain.execution`. The lower floor must not import the higher
one (imports flow one way), so the higher floor registers its implementation here when it
is imported; ``import jacchain`` imports every floor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import JacChainError

__all__ = ["Hooks"]


class Hooks:
    """Named implementations, registered by a higher floor and looked up by a lower one.

    Examples
    --------
    >>> hooks = Hooks("example")
    >>> hooks.register("double", lambda x: 2 * x)
    >>> hooks("double")(21)
    42
    >>> hooks("triple")
    Traceback (most recent call last):
    ...
    jacchain.errors.JacChainError: example: no implementation of 'triple' is registered (import jacchain)
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._functions: dict[str, Callable[..., Any]] = {}

    def register(self, name: str, function: Callable[..., Any]) -> None:
        """Make ``function`` the implementation of ``name``."""
        self._functions[name] = function

    def __call__(self, name: str) -> Callable[..., Any]:
        """The implementation of ``name``."""
        try:
            return self._functions[name]
        except KeyError:
            raise JacChainError(
                f"{self.owner}: no implementation of {name!r} is registered (import jacchain)"
            ) from None
