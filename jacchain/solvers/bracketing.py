"""Bracketings as step arrays: the pure modes, and steps rebuilt from a table of splits.

A step array has one row ``(op, lo, split, hi)`` per step, in execution order: the step
combines segment ``lo..split`` (the input side, already computed) with segment
``split+1..hi`` into segment ``lo..hi``. Layers are numbered 1..k.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum

import numpy as np

__all__ = [
    "Operation",
    "STEP_COLUMNS",
    "forward_steps",
    "reverse_steps",
    "steps_from_splits",
    "steps_from_triangles",
    "check_steps",
    "segment_label",
]

STEP_COLUMNS = ("op", "lo", "split", "hi")


class Operation(IntEnum):
    """What a step does; stored in the ``op`` column of a step array."""

    PRODUCT = 0
    """Multiply two accumulated Jacobians: (J_hi ... J_{split+1}) (J_split ... J_lo)."""

    @property
    def label(self) -> str:
        """The lower-case name used in reports and JSON."""
        return self.name.lower()


def _empty() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.int64)


def forward_steps(k: int) -> np.ndarray:
    """Steps of forward mode J_k (... (J_3 (J_2 J_1))) for a chain of ``k`` layers.

    Examples
    --------
    >>> forward_steps(3).tolist()
    [[0, 1, 1, 2], [0, 1, 2, 3]]
    """
    if k < 2:
        return _empty()
    steps = np.zeros((k - 1, 4), dtype=np.int64)
    steps[:, 0] = Operation.PRODUCT
    steps[:, 1] = 1
    steps[:, 2] = np.arange(1, k)
    steps[:, 3] = np.arange(2, k + 1)
    return steps


def reverse_steps(k: int) -> np.ndarray:
    """Steps of reverse mode ((J_k J_{k-1}) J_{k-2}) ... J_1 for a chain of ``k`` layers.

    Examples
    --------
    >>> reverse_steps(3).tolist()
    [[0, 2, 2, 3], [0, 1, 1, 3]]
    """
    if k < 2:
        return _empty()
    steps = np.zeros((k - 1, 4), dtype=np.int64)
    steps[:, 0] = Operation.PRODUCT
    steps[:, 1] = np.arange(k - 1, 0, -1)
    steps[:, 2] = np.arange(k - 1, 0, -1)
    steps[:, 3] = k
    return steps


def steps_from_splits(k: int, split: Callable[[int, int], int]) -> np.ndarray:
    """Product steps of the bracketing in which segment ``lo..hi`` splits after ``split(lo, hi)``.

    The steps come in post-order (input-side operand first), built without recursion so
    that chains of millions of layers work.

    Examples
    --------
    >>> steps_from_splits(4, lambda lo, hi: (lo + hi) // 2).tolist()
    [[0, 1, 1, 2], [0, 3, 3, 4], [0, 1, 2, 4]]
    """
    if k < 2:
        return _empty()
    rows: list[tuple[int, int, int]] = []
    stack = [(1, k, 0)]  # (lo, hi, split once known, else 0)
    push, pop, emit = stack.append, stack.pop, rows.append
    while stack:
        lo, hi, s = pop()
        if s:
            emit((lo, s, hi))
            continue
        s = split(lo, hi)
        if not lo <= s < hi:
            raise ValueError(f"split({lo}, {hi}) = {s} is outside {lo}..{hi - 1}")
        push((lo, hi, s))
        if hi > s + 1:
            push((s + 1, hi, 0))
        if s > lo:
            push((lo, s, 0))
    steps = np.zeros((len(rows), 4), dtype=np.int64)
    steps[:, 0] = Operation.PRODUCT
    steps[:, 1:] = np.array(rows, dtype=np.int64)
    return steps


def check_steps(k: int, steps: np.ndarray) -> str | None:
    """Why ``steps`` is not a complete bracketing of a chain of ``k`` layers, or None if it is.

    Examples
    --------
    >>> check_steps(3, forward_steps(3)) is None
    True
    >>> check_steps(3, np.array([[0, 1, 1, 3], [0, 1, 2, 3]]))
    'step 1 multiplies J3..J2 by J1, but J3..J2 is not available at that point'
    """
    steps = np.asarray(steps)
    if steps.ndim != 2 or steps.shape[1] != 4 or steps.shape[0] != k - 1:
        return f"a chain of {k} layers needs {k - 1} steps of 4 entries, got shape {steps.shape}"
    valid_ops = {int(op) for op in Operation}
    end_of = {layer: layer for layer in range(1, k + 1)}
    for index, (op, lo, split, hi) in enumerate(steps.tolist(), start=1):
        if op not in valid_ops:
            return f"step {index} has an unknown operation code {op}"
        if not 1 <= lo <= split < hi <= k:
            return f"step {index} has bounds lo={lo}, split={split}, hi={hi} outside 1..{k}"
        if end_of.get(lo) != split:
            return (
                f"step {index} multiplies {segment_label(split + 1, hi)} by "
                f"{segment_label(lo, split)}, but {segment_label(lo, split)} is not available "
                "at that point"
            )
        if end_of.get(split + 1) != hi:
            return (
                f"step {index} multiplies {segment_label(split + 1, hi)} by "
                f"{segment_label(lo, split)}, but {segment_label(split + 1, hi)} is not "
                "available at that point"
            )
        end_of[lo] = hi
        del end_of[split + 1]
    return None


def segment_label(first: int, last: int) -> str:
    """Name of the product J_last ... J_first: ``"J3"`` or ``"J5..J3"``.

    Examples
    --------
    >>> segment_label(3, 5)
    'J5..J3'
    """
    return f"J{first}" if first == last else f"J{last}..J{first}"


def steps_from_triangles(k: int, triangles: Iterable[tuple[int, int, int]]) -> np.ndarray:
    """Product steps of a polygon triangulation given as vertex triples.

    The chain ``dims = [d0, ..., dk]`` is the convex polygon with vertices 0..k of weights
    d0..dk; a triangle with vertices ``a < b < c`` is the product of segment ``b+1..c`` by
    segment ``a+1..b``, i.e. the step ``(lo, split, hi) = (a+1, b, c)``.

    Raises
    ------
    ValueError
        If the triangles do not triangulate the polygon (an internal error of a solver).

    Examples
    --------
    >>> steps_from_triangles(3, [(0, 1, 3), (1, 2, 3)]).tolist()
    [[0, 2, 2, 3], [0, 1, 1, 3]]
    """
    split_of: dict[tuple[int, int], int] = {}
    for x, y, z in triangles:
        a, c = min(x, y, z), max(x, y, z)
        split_of[(a + 1, c)] = x + y + z - a - c
    if len(split_of) != k - 1:
        raise ValueError(f"expected {k - 1} triangles, got {len(split_of)} distinct ones")
    try:
        return steps_from_splits(k, lambda lo, hi: split_of[(lo, hi)])
    except KeyError as err:
        raise ValueError(f"the triangles leave segment {err.args[0]} unsplit") from None
