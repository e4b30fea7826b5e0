"""Hu and Shing's exact O(k log k) matrix-chain order: polygon triangulation by h-arcs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..chains.chain import Chain
from ..chains.steps import steps_from_splits

__all__ = ["hu_shing_steps"]


def hu_shing_steps(chain: Chain) -> np.ndarray:
    """Steps of an optimal bracketing found by Hu and Shing's O(k log k) algorithm.

    Parameters
    ----------
    chain : Chain

    Returns
    -------
    numpy.ndarray
        The step array ``(op, lo, split, hi)`` in execution order: ``k - 1`` rows of an
        exactly optimal bracketing (the same least cost as :func:`~jacchain.solvers.dp.dp_steps`,
        though possibly another bracketing of that cost).

    Notes
    -----
    The chain ``d0, ..., dk`` is the convex polygon with ``k + 1`` vertices of weights
    ``d0, ..., dk``; a bracketing is a triangulation, and a triangle (a, b, c), a < b < c,
    is the step ``lo = a + 1, split = b, hi = c`` of cost ``d_a d_b d_c`` [1]_. Vertices
    are compared by (weight, position counted round the polygon from V1), V1 being the first
    vertex of least weight; in this order every arc has a smaller end. The algorithm [2]_:

    1. One sweep with a stack, from V1 round the polygon and back to V1, finds every
       potential h-arc: an arc whose vertices on the side away from V1 are all larger than
       both its ends. With the arcs at V1 they triangulate the polygon, each potential h-arc
       (u, v) standing on one triangle (u, x, v); they nest into the arc tree, whose root
       is the region fanned from V1.
    2. Bottom-up over the arc tree, the region of an arc (between it and the kept arcs
       below it) is fanned from its smaller end ``V_m``, the smallest vertex of the region:
       that costs ``w_m`` times the sum of ``w_a w_b`` over the region's edges not at
       ``V_m``. The supporting weight of an arc ``h = (u, v)`` is ``S(h) = fan(h) / D(h)``
       with ``D(h)`` the sum of ``w_a w_b`` over the region's edges other than ``h``, minus
       ``w_u w_v``: when the vertex that fans the region above ``h`` weighs ``w <= S(h)``,
       removing ``h`` and fanning from that vertex through ``h``'s region costs no more.
    3. At each arc, every unit below it with ``S >= w_m`` is removed, the largest ``S``
       first, growing the region and its fan. Then, while the arc's ``S`` is at most the
       largest ``S`` left below it, that unit is welded to the arc (numerators add,
       denominators add): no weight above can remove the arc without removing it too. The
       arc's unit goes on the heap. At the root V1 removes every unit with ``S >= w_1``;
       the arcs of the units left, each region fanned from its smaller end, are an optimal
       triangulation, read off without recursion.

    The units of a subtree are kept in a max-heap on ``S``, melded up the tree; with
    pairing heaps (Fredman, Sedgewick, Sleator and Tarjan, 1986) every unit is inserted and
    melded once and deleted at most once, so the algorithm takes O(k log k) time (amortized
    O(log k) per deletion) and O(k) memory. Supporting weights are compared as exact
    fractions by cross-multiplying Python ints, and costs are exact Python ints: no floating
    point anywhere.

    Ties. The correctness proof of [2]_ rests on a lemma (Lemma 1) proved only in the 1981
    technical report [3]_; Schwartz and Weiss [4]_ found a flaw in that proof and repaired
    it. Equal weights are where such arguments need care, so here every comparison of
    vertices (the choice of V1, the sweep's pops, each arc's smaller end) uses the one
    strict order above: that of the weights perturbed by vanishing amounts increasing round
    the polygon from V1, which every subpolygon inherits unchanged. An exact tie between a
    supporting weight and a vertex weight, or between two supporting weights, costs the
    same either way; it is resolved by removing, or welding. The result is checked against
    the O(k^3) dynamic program on chains full of repeated weights.

    References
    ----------
    .. [1] T. C. Hu and M. T. Shing, "Computation of matrix chain products. Part I",
       SIAM J. Comput. 11(2), 362-373, 1982.
    .. [2] T. C. Hu and M. T. Shing, "Computation of matrix chain products. Part II",
       SIAM J. Comput. 13(2), 228-251, 1984.
    .. [3] T. C. Hu and M. T. Shing, "Computation of matrix chain products", Stanford
       University technical report STAN-CS-81-875, 1981.
    .. [4] O. Schwartz and E. Weiss, "Revisiting 'Computation of matrix chain products'",
       SIAM J. Comput. 48(5), 2019.

    Examples
    --------
    >>> from jacchain import Chain
    >>> hu_shing_steps(Chain.from_dims([1000, 10, 1000, 10, 1000])).tolist()
    [[0, 2, 2, 3], [0, 2, 3, 4], [0, 1, 1, 4]]
    """
    dims = chain.dims_array.tolist()
    k = len(dims) - 1
    if k < 2:
        return np.zeros((0, 4), dtype=np.int64)
    _, triangles = _triangulate(dims)
    n = k + 1
    a, b, c = triangles.T
    split = dict(zip((a * n + c).tolist(), b.tolist(), strict=True))
    return steps_from_splits(k, lambda lo, hi: split[(lo - 1) * n + hi])


def _triangulate(dims: Sequence[int]) -> tuple[int, np.ndarray]:
    """The least cost and an optimal triangulation of the polygon with weights ``dims``.

    ``dims`` holds Python ints, at least three. Returns the cost (exact) and an int64 array
    of ``len(dims) - 2`` rows ``(a, b, c)``, ``a < b < c``: the triangles, as vertex indices.
    """
    n = len(dims)
    shift = dims.index(min(dims))  # V1: the first vertex of least weight
    w = list(dims[shift:]) + list(dims[:shift])  # vertex r here is vertex (r + shift) % n

    # Potential h-arcs, numbered in the order the one-sweep makes them (children first).
    # An edge of the sweep's triangles is an arc id >= 0, -1 for an arc at V1 (never an
    # h-arc: V1 fans), or -2 - p for the side (p, p + 1).
    m = max(n - 3, 1)
    arc_u = [0] * m  # ends, u < v (positions from V1)
    arc_v = [0] * m
    arc_low = [0] * m  # the smaller end: the vertex that fans the arc's region
    parent = [-1] * m  # the arc whose triangle has this arc as an edge (-1: V1's region)
    side_owner = [-1] * n  # likewise for the side (p, p + 1)
    # A unit (a kept arc with the arcs welded under it): numerator and denominator of its
    # supporting weight, and the weight products of its region's edges at u and at v.
    num = [0] * m
    den = [0] * m
    edge_u = [0] * m
    edge_v = [0] * m
    welded_to = [-1] * m  # the arc whose unit absorbed this one's
    removed = [False] * m
    # Pairing max-heap of units: first child and next sibling.
    first = [-1] * m
    sibling = [-1] * m

    def pop(r: int) -> int:
        """Delete the maximum ``r`` from its heap; the new root, or -1 if none is left."""
        c = first[r]
        if c < 0:
            return -1
        kids = []
        while c >= 0:
            kids.append(c)
            c = sibling[c]
        paired = []
        for i in range(1, len(kids), 2):
            x, y = kids[i - 1], kids[i]
            if num[x] * den[y] >= num[y] * den[x]:
                sibling[y] = first[x]
                first[x] = y
                paired.append(x)
            else:
                sibling[x] = first[y]
                first[y] = x
                paired.append(y)
        top = kids[-1] if len(kids) % 2 else paired.pop()
        while paired:
            x = paired.pop()
            if num[x] * den[top] >= num[top] * den[x]:
                sibling[top] = first[x]
                first[x] = top
                top = x
            else:
                sibling[x] = first[top]
                first[top] = x
        sibling[top] = -1
        return top

    def meld(x: int, y: int) -> int:
        if x < 0:
            return y
        if y < 0:
            return x
        if num[x] * den[y] >= num[y] * den[x]:
            sibling[y] = first[x]
            first[x] = y
            return x
        sibling[x] = first[y]
        first[y] = x
        return y

    w1 = w[0]
    root_edges = 0  # sum of w_a w_b over V1's region's edges not at V1
    root_children = []
    stack = [0]
    left = [-1]  # left[j]: the edge from stack[j - 1] to stack[j]
    arcs = 0
    for i in range(1, n):
        wi = w[i]
        right = -1 - i  # the edge from the stack top to i: first the side (i - 1, i)
        while len(stack) > 1 and w[stack[-1]] > wi:
            x = stack.pop()
            lower = left.pop()
            u = stack[-1]
            wx = w[x]
            if u == 0:  # triangle (V1, x, i): part of V1's region
                root_edges += wx * wi
                if right >= 0:
                    root_children.append(right)
                right = -1
                continue
            h = arcs
            arcs += 1
            arc_u[h] = u
            arc_v[h] = i
            for e in (lower, right):
                if e >= 0:
                    parent[e] = h
                elif e < -1:
                    side_owner[-2 - e] = h
            wu = w[u]
            low_is_u = wu <= wi
            arc_low[h] = u if low_is_u else i
            wl = wu if low_is_u else wi
            d = wu * wx + wx * wi - wu * wi
            eu = wu * wx
            ev = wx * wi
            heap = meld(lower if lower >= 0 else -1, right if right >= 0 else -1)
            # Remove the units below whose supporting weight is at least w_low.
            while heap >= 0 and num[heap] >= wl * den[heap]:
                g = heap
                heap = pop(g)
                removed[g] = True
                d += den[g]
                if arc_u[g] == u:
                    eu = edge_u[g]
                if arc_v[g] == i:
                    ev = edge_v[g]
            s = wl * (d + wu * wi - (eu if low_is_u else ev))
            # Weld the units below whose supporting weight is at least this arc's.
            while heap >= 0 and s * den[heap] <= num[heap] * d:
                g = heap
                heap = pop(g)
                welded_to[g] = h
                d += den[g]
                s += num[g]
                if arc_u[g] == u:
                    eu = edge_u[g]
                if arc_v[g] == i:
                    ev = edge_v[g]
            num[h] = s
            den[h] = d
            edge_u[h] = eu
            edge_v[h] = ev
            first[h] = heap  # this unit is larger than all that is left below it
            right = h
        stack.append(i)
        left.append(right)
    for j in range(2, len(stack)):
        root_edges += w[stack[j - 1]] * w[stack[j]]
        if left[j] >= 0:
            root_children.append(left[j])
    heap = -1
    for g in root_children:
        heap = meld(heap, g)
    while heap >= 0 and num[heap] >= w1 * den[heap]:
        g = heap
        heap = pop(g)
        removed[g] = True
        root_edges += den[g]

    # Which arcs are kept, and the fanning vertex of the region each arc's triangle is in.
    cost = w1 * root_edges
    fan = [0] * (arcs + 1)  # fan[-1] = 0: V1's region
    kept = [False] * arcs
    for h in range(arcs - 1, -1, -1):
        g = welded_to[h]
        if g >= 0:
            alive = kept[g]
        else:
            alive = not removed[h]
            if alive:
                cost += num[h]
        kept[h] = alive
        fan[h] = arc_low[h] if alive else fan[parent[h]]

    fan_of = np.array(fan, dtype=np.int64)
    sides = np.arange(1, n - 1, dtype=np.int64)
    side_fan = fan_of[np.array(side_owner[1 : n - 1], dtype=np.int64)]
    kept_arcs = np.flatnonzero(np.array(kept, dtype=bool))
    arc_fan = fan_of[np.array(parent[:arcs], dtype=np.int64)[kept_arcs]]
    ends_u = np.array(arc_u[:arcs], dtype=np.int64)[kept_arcs]
    ends_v = np.array(arc_v[:arcs], dtype=np.int64)[kept_arcs]
    apex = np.concatenate([side_fan, arc_fan])
    one = np.concatenate([sides, ends_u])
    two = np.concatenate([sides + 1, ends_v])
    real = (apex != one) & (apex != two)  # an edge at the fanning vertex has no triangle
    triangles = np.stack([apex[real], one[real], two[real]], axis=1)
    triangles = np.sort((triangles + shift) % n, axis=1)
    if len(triangles) != n - 2:  # pragma: no cover - an internal invariant
        raise AssertionError(f"Hu-Shing built {len(triangles)} triangles for {n} vertices")
    return cost, triangles
