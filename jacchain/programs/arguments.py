"""The ``argnums`` of ``jax.jacobian`` and ``torch.func.jacrev``: which positional arguments
are differentiated, checked once for both front ends."""

from __future__ import annotations

import numbers
from typing import Any

from ..errors import ShapeError, shown

__all__ = ["checked_argnums", "argument_positions", "leaf_indices"]


def checked_argnums(argnums: Any) -> tuple[int, ...]:
    """``argnums`` (an int or a non-empty tuple of ints) as a tuple.

    Examples
    --------
    >>> checked_argnums(1), checked_argnums((0, 2))
    ((1,), (0, 2))
    """
    if isinstance(argnums, bool) or not isinstance(argnums, (numbers.Integral, tuple)):
        raise ShapeError(f"argnums must be an int or a tuple of ints, got {shown(argnums)}")
    values = (argnums,) if isinstance(argnums, numbers.Integral) else argnums
    if not values or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in values):
        raise ShapeError(f"argnums must be an int or a non-empty tuple of ints, got {shown(argnums)}")
    return tuple(int(a) for a in values)


def argument_positions(argnums: tuple[int, ...], count: int) -> tuple[int, ...]:
    """The argument indices of ``argnums`` for a call with ``count`` positional arguments
    (negative ones counted from the end).

    Examples
    --------
    >>> argument_positions((0, -1), 3)
    (0, 2)
    """
    positions = []
    for a in argnums:
        if not -count <= a < count:
            raise ShapeError(
                f"argnums={a} but the function was called with {count} positional argument(s)"
            )
        positions.append(a % count)
    if len(set(positions)) != len(positions):
        raise ShapeError(f"argnums lists an argument twice: {argnums}")
    return tuple(positions)


def leaf_indices(positions: tuple[int, ...], leaf_counts: list[int]) -> list[int]:
    """The flat leaf indices of the arguments at ``positions`` (in that order), for
    arguments with ``leaf_counts`` pytree leaves each.

    Examples
    --------
    >>> leaf_indices((2, 0), [2, 1, 3])
    [3, 4, 5, 0, 1]
    """
    starts = [sum(leaf_counts[:p]) for p in range(len(leaf_counts) + 1)]
    return [i for p in positions for i in range(starts[p], starts[p + 1])]
