"""Whether a step array is a plan of a chain: every operand ready, every sweep allowed."""

from __future__ import annotations

import numpy as np

from .cost import DENSE, LayerTable
from .operations import Operation
from .steps import segment_label

__all__ = ["check_steps"]


def check_steps(k: int, steps: np.ndarray, table: LayerTable | None = None) -> str | None:
    """Why ``steps`` is not a complete plan for a chain of ``k`` layers, or None if it is.

    Without ``table`` (a dense chain) every step must be a product. With the chain's
    :class:`~jacchain.chains.cost.LayerTable`, tangent and adjoint steps may sweep through layers
    that have not been combined yet, over segments whose product is dense, and each
    matrix-free layer used as an operand must first be accumulated.

    Examples
    --------
    >>> from jacchain.chains.steps import forward_steps
    >>> check_steps(3, forward_steps(3)) is None
    True
    >>> check_steps(3, np.array([[0, 1, 1, 3], [0, 1, 2, 3]]))
    'step 1 (product 1..1..3) needs J3..J2 accumulated, which it is not at that point'
    """
    steps = np.asarray(steps)
    if steps.ndim != 2 or steps.shape[1] != 4:
        return f"steps must be rows of 4 entries, got shape {steps.shape}"
    matrix_free = table.matrix_free.tolist() if table is not None else [False] * k
    end_of = {layer: layer for layer in range(1, k + 1)}
    ready = {layer: not matrix_free[layer - 1] for layer in range(1, k + 1)}
    valid_ops = {int(op) for op in Operation} if table is not None else {int(Operation.PRODUCT)}

    def needs(index: int, what: str, lo: int, hi: int) -> str | None:
        if end_of.get(lo) == hi and ready[lo]:
            return None
        return f"{what} needs {segment_label(lo, hi)} accumulated, which it is not at that point"

    def singletons(lo: int, hi: int) -> bool:
        return all(end_of.get(layer) == layer for layer in range(lo, hi + 1))

    for index, (op, lo, split, hi) in enumerate(steps.tolist(), start=1):
        if op not in valid_ops:
            return f"step {index} has an operation code {op} not allowed for this chain"
        name = f"step {index} ({Operation(op).label} {lo}..{split}..{hi})"
        if op in (Operation.ACCUMULATE_TANGENT, Operation.ACCUMULATE_ADJOINT):
            if not (1 <= lo <= k and lo == split == hi):
                return f"{name} must name one layer in 1..{k} (lo = split = hi)"
            if not matrix_free[lo - 1] or ready.get(lo) or end_of.get(lo) != lo:
                return f"{name} accumulates a layer that is not a pending matrix-free layer"
            ready[lo] = True
            continue
        if not 1 <= lo <= split < hi <= k:
            return f"{name} has bounds outside 1 <= lo <= split < hi <= {k}"
        if op == Operation.PRODUCT:
            problem = needs(index, name, lo, split) or needs(index, name, split + 1, hi)
        elif op == Operation.TANGENT:
            problem = needs(index, name, lo, split)
            if problem is None and not singletons(split + 1, hi):
                problem = f"{name} sweeps through layers already combined"
        else:
            problem = needs(index, name, split + 1, hi)
            if problem is None and not singletons(lo, split):
                problem = f"{name} sweeps through layers already combined"
        if problem is None and op != Operation.PRODUCT and table.structure(lo, hi)[0] != DENSE:
            problem = f"{name} sweeps over a segment whose product is structured, not dense"
        if problem is not None:
            return problem
        if op == Operation.PRODUCT:
            del end_of[split + 1]
        elif op == Operation.TANGENT:
            for layer in range(split + 1, hi + 1):
                del end_of[layer]
        else:
            for layer in range(lo + 1, split + 2):
                del end_of[layer]
        end_of[lo] = hi
        ready[lo] = True
    if end_of != {1: k} or not ready[1]:
        pending = sorted(end_of)
        return f"the steps leave the chain unfinished: segments start at layers {pending[:10]}"
    return None
