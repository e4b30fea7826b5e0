"""Structures of partials that depend on shapes alone, shared by the front ends' rules.

Elementwise operations, reductions, permutations, reshapes and index maps (slices, pads,
concatenations, reversals) have partials whose structure the operands' shapes fix: a
JAX equation and an ATen operation of the same kind get the same
:class:`~jacchain.programs.partials.Partial` from the functions here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .partials import Partial, fresh_labels

__all__ = ["MAX_SELECTION_ENTRIES", "Block", "elementwise_structure", "dropping", "permutation",
           "relabelled_reshape", "reshape_blocks", "index_map", "placement", "axis_blocks",
           "contraction"]

MAX_SELECTION_ENTRIES = 2**22
"""The largest constant factor of an index map (beyond it the partial is formed otherwise)."""

Block = tuple[list[int], list[int], Any]
"""``(out_axes, in_axes, matrix)``: a group of axes of v fed by a group of axes of u through
a 0/1 matrix (rows: the out axes' entries, row-major; columns: the in axes'), or ``None`` for
one axis to one axis unchanged (a delta)."""


def elementwise_structure(out_shape: tuple[int, ...], in_shape: tuple[int, ...]):
    """Labels of an elementwise partial: ``(out_labels, in_labels, sizes)``.

    The operand's axes align with the output's trailing axes (numpy broadcasting); an axis
    of equal size is a delta, a size-1 axis broadcast against the output a fresh label.

    Examples
    --------
    >>> out, inp, sizes = elementwise_structure((2, 3), (3,))
    >>> inp == out[1:], [sizes[label] for label in out]
    (True, [2, 3])
    """
    out_labels = fresh_labels(len(out_shape))
    sizes = dict(zip(out_labels, out_shape, strict=True))
    in_labels = []
    aligned = out_labels[len(out_shape) - len(in_shape):]
    for label, in_size in zip(aligned, in_shape, strict=True):
        if in_size == sizes[label]:
            in_labels.append(label)
        else:  # a size-1 axis broadcast against the output
            (fresh,) = fresh_labels(1)
            sizes[fresh] = in_size
            in_labels.append(fresh)
    return out_labels, tuple(in_labels), sizes


def dropping(in_shape: tuple[int, ...], axes: Sequence[int]):
    """Labels of an operation that drops ``axes`` of its operand and keeps the others as
    deltas: ``(out_labels, in_labels, sizes)`` (a sum over the dropped axes).

    Examples
    --------
    >>> out, inp, _ = dropping((2, 3), [0])
    >>> out == inp[1:]
    True
    """
    dropped = {axis % len(in_shape) for axis in axes} if in_shape else set()
    in_labels = fresh_labels(len(in_shape))
    sizes = dict(zip(in_labels, in_shape, strict=True))
    out_labels = tuple(label for axis, label in enumerate(in_labels) if axis not in dropped)
    return out_labels, in_labels, sizes


def permutation(in_shape: tuple[int, ...], order: Sequence[int], arithmetic: bool = False) -> Partial:
    """The partial of a transpose: output axis ``a`` is operand axis ``order[a]``.

    Examples
    --------
    >>> permutation((2, 3), (1, 0)).out_shape
    (3, 2)
    """
    in_labels = fresh_labels(len(in_shape))
    sizes = dict(zip(in_labels, in_shape, strict=True))
    out_labels = tuple(in_labels[axis] for axis in order)
    return Partial(out_labels, in_labels, sizes, None, None, 1.0, arithmetic, True)


def relabelled_reshape(out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> Partial | None:
    """A reshape that only inserts or removes size-1 axes, as deltas; None for another one.

    Examples
    --------
    >>> p = relabelled_reshape((1, 3), (3,))
    >>> p.factor_labels, p.out_labels[1] == p.in_labels[0], relabelled_reshape((6,), (2, 3))
    (None, True, None)
    """
    if [d for d in out_shape if d != 1] != [d for d in in_shape if d != 1]:
        return None
    out_labels = list(fresh_labels(len(out_shape)))
    sizes = dict(zip(out_labels, out_shape, strict=True))
    big = iter(label for label, size in zip(out_labels, out_shape, strict=True) if size != 1)
    in_labels = []
    for size in in_shape:
        if size != 1:
            in_labels.append(next(big))
        else:
            (fresh,) = fresh_labels(1)
            sizes[fresh] = 1
            in_labels.append(fresh)
    return Partial(tuple(out_labels), tuple(in_labels), sizes, None, None, 1.0, False, True)


def reshape_blocks(out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> list[Block]:
    """The smallest groups of axes that a row-major reshape maps onto each other.

    Examples
    --------
    >>> [(o, i, m is None) for o, i, m in reshape_blocks((6, 4), (2, 3, 4))]
    [([0], [0, 1], False), ([1], [2], True)]
    """
    import numpy as np

    if math.prod(out_shape) == 0:  # nothing to map
        return [(list(range(len(out_shape))), list(range(len(in_shape))), np.zeros((0, 0)))]
    blocks: list[Block] = []
    o = i = 0
    while o < len(out_shape) or i < len(in_shape):
        out_axes, in_axes = [o], [i]
        out_size = out_shape[o] if o < len(out_shape) else 1
        in_size = in_shape[i] if i < len(in_shape) else 1
        o, i = o + 1, i + 1
        while out_size != in_size or (o < len(out_shape) and out_shape[o] == 1 and in_size > 1):
            if out_size < in_size or (out_size == in_size and o < len(out_shape)):
                out_size *= out_shape[o]
                out_axes.append(o)
                o += 1
            else:
                in_size *= in_shape[i]
                in_axes.append(i)
                i += 1
        out_axes = [a for a in out_axes if a < len(out_shape)]
        in_axes = [a for a in in_axes if a < len(in_shape)]
        if len(out_axes) == 1 and len(in_axes) == 1:
            blocks.append((out_axes, in_axes, None))
        else:
            blocks.append((out_axes, in_axes, np.eye(out_size)))
    return blocks


def index_map(out_shape: tuple[int, ...], in_shape: tuple[int, ...], blocks: Sequence[Block],
              dtype: Any = None) -> tuple[Partial, Any] | None:
    """A selection partial: deltas on unchanged axes, a constant 0/1 factor on the others.

    Returns the symbolic partial and its constant factor (a numpy array, None when there
    is none), or None when the factor would pass :data:`MAX_SELECTION_ENTRIES`.

    Examples
    --------
    >>> partial, factor = index_map((2,), (4,), axis_blocks((2,), (4,), {0: [-1, 0, 1, -1]}))
    >>> partial.kind(), factor.tolist()
    ('selection', [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    """
    import numpy as np

    out_labels, in_labels = list(fresh_labels(len(out_shape))), list(fresh_labels(len(in_shape)))
    factor_labels: list[int] = []
    matrices = []
    for out_axes, in_axes, matrix in blocks:
        if matrix is None:
            in_labels[in_axes[0]] = out_labels[out_axes[0]]
            continue
        factor_labels += [out_labels[a] for a in out_axes] + [in_labels[a] for a in in_axes]
        matrices.append(matrix.reshape([out_shape[a] for a in out_axes] + [in_shape[a] for a in in_axes]))
    sizes = dict(zip(out_labels, out_shape, strict=True))
    sizes.update(zip(in_labels, in_shape, strict=True))
    if not matrices:
        return Partial(tuple(out_labels), tuple(in_labels), sizes, None, None, 1.0, False, True), None
    if math.prod(sizes[label] for label in factor_labels) > MAX_SELECTION_ENTRIES:
        return None
    constant = matrices[0]
    for matrix in matrices[1:]:
        constant = np.multiply.outer(constant, matrix)
    if dtype is not None:
        constant = constant.astype(dtype)
    reshape = len(matrices) == 1 and blocks_are_reshape(blocks)
    partial = Partial(tuple(out_labels), tuple(in_labels), sizes, tuple(factor_labels), None, 1.0,
                      False, True, True, reshape=reshape)
    return partial, constant


def blocks_are_reshape(blocks: Sequence[Block]) -> bool:
    """Whether every moving block maps its axes onto each other as a row-major reshape (its
    matrix the identity of the grouped entries), as :func:`reshape_blocks` gives them."""
    import numpy as np

    for _, _, matrix in blocks:
        if matrix is None:
            continue
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.array_equal(
                matrix, np.eye(matrix.shape[0])):
            return False
    return True


def placement(out_size: int, targets: Any) -> Any:
    """The 0/1 matrix sending entry ``i`` of an axis to ``targets[i]`` (dropped when outside).

    Examples
    --------
    >>> placement(2, [1, 0, 5]).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    import numpy as np

    targets = np.asarray(targets)
    matrix = np.zeros((out_size, len(targets)))
    kept = (targets >= 0) & (targets < out_size)
    matrix[targets[kept], np.flatnonzero(kept)] = 1.0
    return matrix


def axis_blocks(out_shape, in_shape, targets: dict[int, Any]) -> list[Block]:
    """Blocks of an operation that keeps the rank: axis ``a`` moves by ``targets[a]``
    (operand entry ``i`` to output entry ``targets[a][i]``; other axes unchanged).

    Examples
    --------
    >>> [m is None for _, _, m in axis_blocks((2, 3), (2, 5), {1: [0, 1, 2, -1, -1]})]
    [True, False]
    """
    blocks: list[Block] = []
    for axis, in_size in enumerate(in_shape):
        moved = targets.get(axis)
        if moved is None or (out_shape[axis] == in_size and list(moved) == list(range(in_size))):
            blocks.append(([axis], [axis], None))
        else:
            blocks.append(([axis], [axis], placement(out_shape[axis], moved)))
    return blocks


def contraction(lhs_shape: tuple[int, ...], rhs_shape: tuple[int, ...],
                contract: tuple[Sequence[int], Sequence[int]], batch: tuple[Sequence[int], Sequence[int]],
                operand: int) -> Partial:
    """The partial of a tensor contraction (``dot_general``, ``mm``, ``bmm``) with respect to
    operand ``operand`` (0: left, 1: right): a Kronecker structure, deltas on the batch and
    free axes, the other operand as the factor (its value is that operand). The output's
    axes are the batch axes, then the left's free axes, then the right's.

    Examples
    --------
    >>> p = contraction((2, 3), (3, 4), ([1], [0]), ([], []), 0)  # d(A @ B)/dA
    >>> p.out_shape, p.in_shape, [p.sizes[label] for label in p.factor_labels]
    ((2, 4), (2, 3), [3, 4])
    """
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = contract, batch
    lhs_labels = list(fresh_labels(len(lhs_shape)))
    rhs_labels = list(fresh_labels(len(rhs_shape)))
    for a, b in zip(lhs_contract, rhs_contract, strict=True):
        rhs_labels[b] = lhs_labels[a]
    for a, b in zip(lhs_batch, rhs_batch, strict=True):
        rhs_labels[b] = lhs_labels[a]
    sizes = dict(zip(lhs_labels, lhs_shape, strict=True))
    sizes.update(zip(rhs_labels, rhs_shape, strict=True))
    lhs_free = [lhs_labels[i] for i in range(len(lhs_shape)) if i not in (*lhs_contract, *lhs_batch)]
    rhs_free = [rhs_labels[i] for i in range(len(rhs_shape)) if i not in (*rhs_contract, *rhs_batch)]
    out_labels = tuple([lhs_labels[i] for i in lhs_batch] + lhs_free + rhs_free)
    in_labels = tuple(lhs_labels if operand == 0 else rhs_labels)
    factor = tuple(rhs_labels if operand == 0 else lhs_labels)
    return Partial(out_labels, in_labels, sizes, factor, None, 1.0, True, True)
