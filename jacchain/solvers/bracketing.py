"""Bracketings as step arrays: the pure modes, and steps rebuilt from a table of splits.

A step array has one row ``(op, lo, split, hi)`` per step, in execution order: the step
combines segment ``lo..split`` (the input side, already computed) with segment
``split+1..hi`` into segment ``lo..hi``. Layers are numbered 1..k.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

import numpy as np

__all__ = [
    "Operation",
    "STEP_COLUMNS",
    "forward_steps",
    "reverse_steps",
    "steps_from_splits",
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
    rows = []
    stack = [(1, k, False)]
    while stack:
        lo, hi, expanded = stack.pop()
        if lo == hi:
            continue
        s = split(lo, hi)
        if not lo <= s < hi:
            raise ValueError(f"split({lo}, {hi}) = {s} is outside {lo}..{hi - 1}")
        if expanded:
            rows.append((Operation.PRODUCT, lo, s, hi))
            continue
        stack.append((lo, hi, True))
        stack.append((s + 1, hi, False))
        stack.append((lo, s, False))
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


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
