"""A linear-time approximate order: Chin's algorithm as analysed by Hu and Shing (<= 1.155x)."""

from __future__ import annotations

import numpy as np

from ..chains.chain import Chain
from ..chains.steps import steps_from_triangles

__all__ = ["approx_steps", "approx_triangles", "APPROX_BOUND"]

APPROX_BOUND = 2 / 3**0.5
"""Worst-case ratio approximate cost / optimal cost: 2/sqrt(3) = 1.1547... (Hu & Shing 1981)."""


def approx_triangles(dims: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangles (vertex triples) of the near-optimal partition of the chain's polygon.

    Parameters
    ----------
    dims : numpy.ndarray
        ``[d0, ..., dk]``: the weights of polygon vertices 0..k.

    Returns
    -------
    list of tuple of int
        ``k - 1`` triangles.

    Examples
    --------
    >>> sorted(tuple(sorted(t)) for t in approx_triangles(np.array([1000, 10, 1000, 10, 1000])))
    [(0, 1, 4), (1, 2, 3), (1, 3, 4)]
    """
    weights = dims.tolist()
    count = len(weights)
    if count < 3:
        return []
    start = min(range(count), key=weights.__getitem__)
    w1 = weights[start]
    order = [(start + offset) % count for offset in range(count)]
    triangles = []
    stack = [order[0], order[1]]
    for current in order[2:]:
        wc = weights[current]
        while len(stack) >= 2:
            top, below = stack[-1], stack[-2]
            wt, wb = weights[top], weights[below]
            # Cut the top vertex off (arc below--current) when the quadrilateral
            # (V1, below, top, current) is cheaper that way: 1/wb + 1/wc > 1/w1 + 1/wt.
            if (wc + wb) * w1 * wt <= (wt + w1) * wb * wc:
                break
            triangles.append((below, top, current))
            stack.pop()
        stack.append(current)
    anchor = stack[0]
    triangles.extend((anchor, stack[i], stack[i + 1]) for i in range(1, len(stack) - 1))
    return triangles


def approx_steps(chain: Chain) -> np.ndarray:
    """Steps of a near-optimal bracketing in O(k) time, within 2/sqrt(3) of the optimum.

    Parameters
    ----------
    chain : Chain

    Returns
    -------
    numpy.ndarray
        The step array ``(op, lo, split, hi)`` in execution order.

    Notes
    -----
    The chain ``d0, ..., dk`` is a convex polygon with vertex weights ``d_i`` (every
    bracketing is a triangulation; a triangle costs the product of its weights). Let
    ``V1`` be a vertex of smallest weight. Walking round the polygon from ``V1`` with a
    stack, the top vertex ``Vt`` (between ``Vb`` below it and the current vertex ``Vc``) is
    cut off by the arc ``Vb--Vc`` whenever ``1/w_b + 1/w_c > 1/w_1 + 1/w_t`` -- the test
    of which diagonal of the quadrilateral ``V1 Vb Vt Vc`` is cheaper, Chin's sufficient
    condition -- and what remains is fanned out from ``V1``. The test is done in exact
    integer arithmetic. Each vertex is pushed and popped at most once: O(k) time and space.

    Bound: Hu and Shing proved that the cost is at most ``2/sqrt(3) = 1.1547...`` times the
    optimum (the worst case is a pentagon), sharpening Chin's own 25% bound.

    References
    ----------
    F. Y. Chin, "An O(n) algorithm for determining a near-optimal computation order of
    matrix chain products", Comm. ACM 21(7), 1978.
    T. C. Hu and M. T. Shing, "An O(n) algorithm to find a near-optimum partition of a
    convex polygon", J. Algorithms 2(2), 1981.

    Examples
    --------
    >>> import jacchain as jc
    >>> p = jc.plan([1000, 10, 1000, 10, 1000], method="approx")
    >>> p.cost, p.cost <= APPROX_BOUND * jc.plan([1000, 10, 1000, 10, 1000]).cost
    (10200000, True)
    """
    return steps_from_triangles(len(chain), approx_triangles(chain.dims_array))
