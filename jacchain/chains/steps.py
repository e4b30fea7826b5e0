"""Bracketings as step arrays: the pure modes, and steps rebuilt from a table of splits.

A step array has one row ``(op, lo, split, hi)`` per step, in execution order: the step
combines segment ``lo..split`` (the input side, already computed) with segment
``split+1..hi`` into segment ``lo..hi``. Layers are numbered 1..k.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .operations import Operation

__all__ = [
    "STEP_COLUMNS",
    "forward_steps",
    "reverse_steps",
    "steps_from_splits",
    "steps_from_triangles",
    "segment_label",
]

STEP_COLUMNS = ("op", "lo", "split", "hi")


def _empty() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.int64)


def _pure_steps(k: int, matrix_free: np.ndarray | None, forward: bool) -> np.ndarray:
    if matrix_free is None or not np.any(matrix_free):
        if k < 2:
            return _empty()
        steps = np.zeros((k - 1, 4), dtype=np.int64)
        steps[:, 0] = Operation.PRODUCT
        if forward:
            steps[:, 1], steps[:, 2], steps[:, 3] = 1, np.arange(1, k), np.arange(2, k + 1)
        else:
            steps[:, 1], steps[:, 2], steps[:, 3] = (
                np.arange(k - 1, 0, -1),
                np.arange(k - 1, 0, -1),
                k,
            )
        return steps
    mf = np.asarray(matrix_free, dtype=bool)
    rows = []
    if forward:
        if mf[0]:
            rows.append((Operation.ACCUMULATE_TANGENT, 1, 1, 1))
        for layer in range(2, k + 1):
            op = Operation.TANGENT if mf[layer - 1] else Operation.PRODUCT
            rows.append((op, 1, layer - 1, layer))
    else:
        if mf[k - 1]:
            rows.append((Operation.ACCUMULATE_ADJOINT, k, k, k))
        for layer in range(k - 1, 0, -1):
            op = Operation.ADJOINT if mf[layer - 1] else Operation.PRODUCT
            rows.append((op, layer, layer, k))
    return np.array(rows, dtype=np.int64).reshape(-1, 4)


def forward_steps(k: int, matrix_free: np.ndarray | None = None) -> np.ndarray:
    """Steps of forward mode J_k (... (J_3 (J_2 J_1))) for a chain of ``k`` layers.

    With ``matrix_free`` (a boolean per layer), a matrix-free first layer is accumulated by
    tangent sweeps and every later matrix-free layer is a tangent step.

    Examples
    --------
    >>> forward_steps(3).tolist()
    [[0, 1, 1, 2], [0, 1, 2, 3]]
    >>> forward_steps(2, np.array([True, True])).tolist()
    [[3, 1, 1, 1], [1, 1, 1, 2]]
    """
    return _pure_steps(k, matrix_free, forward=True)


def reverse_steps(k: int, matrix_free: np.ndarray | None = None) -> np.ndarray:
    """Steps of reverse mode ((J_k J_{k-1}) J_{k-2}) ... J_1 for a chain of ``k`` layers.

    With ``matrix_free`` (a boolean per layer), a matrix-free last layer is accumulated by
    adjoint sweeps and every earlier matrix-free layer is an adjoint step.

    Examples
    --------
    >>> reverse_steps(3).tolist()
    [[0, 2, 2, 3], [0, 1, 1, 3]]
    >>> reverse_steps(2, np.array([True, True])).tolist()
    [[4, 2, 2, 2], [2, 1, 1, 2]]
    """
    return _pure_steps(k, matrix_free, forward=False)


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
