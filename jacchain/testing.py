"""Test helpers: hypothesis strategies for chains, brute-force references, random Jacobians.

Import it in your own test suites (it needs ``hypothesis``, part of the ``dev`` extra;
:func:`random_layer_chain` also needs ``scipy``)::

    from jacchain.testing import dims_lists, enumerate_bracketings
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .chains.operations import Operation

if TYPE_CHECKING:
    from .chains.chain import Chain, Layer

__all__ = [
    "profile_examples",
    "dims_lists",
    "layer_chains",
    "memory_limit_boundaries",
    "enumerate_bracketings",
    "exhaustive_optimum",
    "random_jacobians",
    "plain_product",
    "enumerate_plans",
    "exhaustive_generalized_optimum",
    "random_layer_chain",
    "CountingOperator",
    "random_dag",
    "computational_graphs",
    "sum_over_paths",
]


def profile_examples(share: float, minimum: int = 5) -> int:
    """A share of the loaded hypothesis profile's ``max_examples``, at least ``minimum``.

    Use it in ``@settings(max_examples=profile_examples(1 / 2))`` instead of a fixed count,
    so that a thorough profile (more examples) scales every test up, and to size
    deterministic seeded loops the same way.

    Examples
    --------
    >>> from hypothesis import settings
    >>> profile_examples(1 / 2) == max(5, int(settings.default.max_examples / 2))
    True
    """
    from hypothesis import settings

    return max(int(minimum), int(settings.default.max_examples * share))


def _layer_count(draw: Any, min_layers: int, max_layers: int) -> int:
    """Draw k in min_layers..max_layers; a single layer only rarely (about 1 draw in 16).

    Hypothesis favours the choice it would shrink to (drawing 0) far more often than its
    share; were that k = 2, a third of the dense chains drawn would have one bracketing.
    So 0 is mapped to a chain of middle length and the other values around it, and a
    single layer to a value that is not 0.
    """
    from hypothesis import strategies as st

    if max_layers <= 1 or (min_layers <= 1 and draw(st.integers(0, 15)) == 9):
        return max(1, min(min_layers, max_layers))
    low = max(min_layers, 2)
    span = max_layers - low
    return low + (draw(st.integers(0, span)) + span // 2) % (span + 1)


def _bottleneck_sizes(draw: Any, k: int, min_dim: int, max_dim: int) -> list[int]:
    """Sizes d0..dk in min_dim..max_dim, about half the inner ones in the narrowest quarter.

    Narrow sizes between wide ones are bottlenecks, where mixed orders beat both pure
    modes: the interesting cases for an optimal planner. The ends are not narrowed (a
    narrow input or output makes a pure mode optimal). One drawn bit mask says which
    inner sizes are narrow: cheaper to draw than a choice per size, and it shrinks to none.
    """
    from hypothesis import strategies as st

    sizes = [draw(st.integers(min_value=min_dim, max_value=max_dim)) for _ in range(k + 1)]
    if max_dim - min_dim < 3 or k < 2:
        return sizes
    mask = draw(st.integers(min_value=0, max_value=2 ** (k - 1) - 1))
    width = (max_dim - min_dim) // 4 + 1
    inner = [
        min_dim + (size - min_dim) % width if mask >> i & 1 else size
        for i, size in enumerate(sizes[1:-1])
    ]
    return [sizes[0], *inner, sizes[-1]]


def dims_lists(min_layers: int = 1, max_layers: int = 8, min_dim: int = 1, max_dim: int = 64):
    """A hypothesis strategy for ``dims = [d0, ..., dk]`` with ``min_layers <= k <= max_layers``.

    Weighted toward the cases that matter: single layers are rare (about 1 draw in 16
    when allowed), and about half the inner sizes d1..d(k-1) come from the narrowest
    quarter of ``min_dim..max_dim``, so that bottlenecks (where a mixed order is optimal)
    are common.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(dims_lists(max_layers=3))
    ... def test_positive(dims):
    ...     assert min(dims) >= 1 and 2 <= len(dims) <= 4
    >>> test_positive()
    """
    from hypothesis import strategies as st

    @st.composite
    def draw_dims(draw: Any) -> list[int]:
        k = _layer_count(draw, min_layers, max_layers)
        return _bottleneck_sizes(draw, k, min_dim, max_dim)

    return draw_dims()


def layer_chains(
    min_layers: int = 1,
    max_layers: int = 6,
    max_dim: int = 4,
    kinds: Sequence[str] = ("dense", "diagonal", "identity", "sparse", "matrix-free"),
    max_cost: int = 20,
):
    """A hypothesis strategy for structured chains: :class:`~jacchain.Chain` of every kind.

    Weighted toward mixed optima: sizes are drawn with bottlenecks (as in
    :func:`dims_lists`), single layers are rare, and dense and matrix-free layers
    (the kinds that sweeps and products compete over) are drawn twice as often as the
    others. Sparse layers get any ``nnz`` up to their size, matrix-free layers either
    ``edges`` or independent ``jvp_cost``, ``vjp_cost`` and ``tape``, each in
    0..``max_cost``.

    Parameters
    ----------
    min_layers, max_layers : int
        The number of layers k.
    max_dim : int
        Every size is in 1..``max_dim``.
    kinds : sequence of str
        The kinds to draw from.
    max_cost : int
        The largest ``edges``, ``jvp_cost``, ``vjp_cost`` or ``tape`` drawn.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(layer_chains(max_layers=3))
    ... def test_small(chain):
    ...     assert 1 <= len(chain) <= 3 and max(chain.dims) <= 4
    >>> test_small()
    """
    from hypothesis import strategies as st

    from .chains.chain import Chain, Layer

    twice = ("dense", "matrix-free")
    weighted = [kind for kind in kinds for _ in range(2 if kind in twice else 1)]
    costs = st.integers(min_value=0, max_value=max_cost)

    def matrix_free(draw: Any, n_in: int, n_out: int) -> Layer:
        if draw(st.booleans()):
            return Layer(n_in, n_out, "matrix-free", edges=draw(costs))
        jvp, vjp, tape = draw(costs), draw(costs), draw(costs)
        return Layer(n_in, n_out, "matrix-free", jvp_cost=jvp, vjp_cost=vjp, tape=tape)

    @st.composite
    def draw_chain(draw: Any) -> Chain:
        k = _layer_count(draw, min_layers, max_layers)
        sizes = _bottleneck_sizes(draw, k, 1, max_dim)
        n_in = sizes[0]
        layers = []
        for number in range(1, k + 1):
            kind = draw(st.sampled_from(weighted))
            n_out = n_in if kind in ("diagonal", "identity") else sizes[number]
            if kind == "sparse":
                nnz = draw(st.integers(min_value=0, max_value=n_in * n_out))
                layers.append(Layer(n_in, n_out, "sparse", nnz=nnz))
            elif kind == "matrix-free":
                layers.append(matrix_free(draw, n_in, n_out))
            else:
                layers.append(Layer(n_in, n_out, kind))
            n_in = n_out
        return Chain(layers)

    return draw_chain()


def memory_limit_boundaries(chain: Chain) -> list[int | None]:
    """The memory limits at which a plan can change: every tape an adjoint step may record.

    Those are the sums of the tapes of the matrix-free layers over every segment lo..hi;
    the list holds None (no limit), 0, each distinct sum and each such sum minus one.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> chain = Chain([Layer(3, 3, "matrix-free", edges=29),
    ...                Layer(3, 1, "matrix-free", edges=14),
    ...                Layer(1, 2, "matrix-free", edges=7)])
    >>> memory_limit_boundaries(chain)
    [None, 0, 6, 7, 13, 14, 20, 21, 28, 29, 42, 43, 49, 50]
    """
    tapes = [int(layer.tape) if layer.kind == "matrix-free" else 0 for layer in chain.layers]
    sums = {sum(tapes[lo:hi]) for lo in range(len(tapes)) for hi in range(lo + 1, len(tapes) + 1)}
    limits = sums | {total - 1 for total in sums if total > 0} | {0}
    return [None, *sorted(limits)]


def _bracketings(lo: int, hi: int) -> Iterator[list[tuple[int, int, int, int]]]:
    if lo == hi:
        yield []
        return
    for split in range(lo, hi):
        for lower in _bracketings(lo, split):
            for upper in _bracketings(split + 1, hi):
                yield lower + upper + [(int(Operation.PRODUCT), lo, split, hi)]


def enumerate_bracketings(k: int) -> Iterator[np.ndarray]:
    """Every bracketing of a chain of ``k`` layers as a step array (Catalan(k-1) of them).

    Examples
    --------
    >>> sum(1 for _ in enumerate_bracketings(5))
    14
    """
    for rows in _bracketings(1, k):
        yield np.array(rows, dtype=np.int64).reshape(-1, 4)


def exhaustive_optimum(dims: Sequence[int]) -> int:
    """The least cost over every bracketing, by brute force (use for k <= 10 or so).

    Examples
    --------
    >>> exhaustive_optimum([1000, 10, 1000, 10, 1000])
    10200000
    """
    from .chains.chain import Chain
    from .plans.plan import Plan

    chain = Chain.from_dims(dims)
    return min(Plan.from_steps(chain, steps).cost for steps in enumerate_bracketings(len(chain)))


def random_jacobians(
    dims: Sequence[int], seed: int | np.random.Generator = 0, dtype: type = np.float64
) -> list[np.ndarray]:
    """Random J_1, ..., J_k for ``dims``, scaled so that long products stay O(1).

    Examples
    --------
    >>> [J.shape for J in random_jacobians([4, 3, 2])]
    [(3, 4), (2, 3)]
    """
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i])).astype(dtype)
        for i in range(len(dims) - 1)
    ]


def plain_product(jacobians: Sequence[np.ndarray]) -> np.ndarray:
    """J_k ... J_1 multiplied left to right, the reference result.

    Examples
    --------
    >>> plain_product([np.ones((3, 2)), np.ones((1, 3))])
    array([[3., 3.]])
    """
    result = np.asarray(jacobians[-1])
    for matrix in reversed(jacobians[:-1]):
        result = result @ np.asarray(matrix)
    return result


def _segment_is_dense(layers: Sequence[Layer], lo: int, hi: int) -> bool:
    """Whether the product of layers lo..hi is dense (sweeps are allowed over it)."""
    kinds = [layer.kind for layer in layers[lo - 1 : hi]]
    return any(kind in ("dense", "matrix-free") for kind in kinds) or kinds.count("sparse") >= 2


def _segment_tape(layers: Sequence[Layer], lo: int, hi: int) -> int:
    """Memory an adjoint sweep through layers lo..hi records: the tapes of its matrix-free layers."""
    return sum(int(layer.tape) for layer in layers[lo - 1 : hi] if layer.kind == "matrix-free")


def enumerate_plans(chain: Chain, memory_limit: int | None = None) -> Iterator[np.ndarray]:
    """Every valid plan of a (structured, matrix-free) chain as a step array, by brute force.

    Written independently of the solvers, straight from the rules of :mod:`jacchain.chains.cost`:
    one layer is free if explicit, else accumulated by tangent sweeps or (if its tape fits
    ``memory_limit``) by adjoint sweeps; a segment lo..hi is, for every split, the product
    of every plan of lo..split with every plan of split+1..hi, and (only if the segment's
    product is dense) every plan of lo..split carried forward by a tangent step, and every
    plan of split+1..hi carried back by an adjoint step whose swept layers' tapes fit.
    A chain of plain dense layers (``chain.is_dense``) is the classic matrix chain: its
    plans are its bracketings (products only), as :meth:`Plan.from_steps` costs them; a
    sweep through dense layers never costs less than the products it replaces. The number
    of plans grows exponentially: use it for chains of at most 6 layers or so.

    Parameters
    ----------
    chain : Chain or sequence of int
        The chain (dims give a dense chain).
    memory_limit : int, optional
        The largest tape an adjoint sweep may record; None for no limit.

    Yields
    ------
    numpy.ndarray
        Step arrays of rows ``(op, lo, split, hi)`` in execution order, each plan once.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> chain = Chain([Layer(3, 3, "matrix-free", edges=29),
    ...                Layer(3, 1, "matrix-free", edges=14),
    ...                Layer(1, 2, "matrix-free", edges=7)])
    >>> sum(1 for _ in enumerate_plans(chain)), sum(1 for _ in enumerate_plans(chain, 0))
    (52, 7)
    >>> sum(1 for _ in enumerate_plans(Chain.from_dims([2, 3, 4, 5])))
    2
    """
    from .chains.chain import as_chain

    chain = as_chain(chain)
    if memory_limit is not None and (
        isinstance(memory_limit, bool)
        or not isinstance(memory_limit, (int, np.integer))
        or memory_limit < 0
    ):
        raise ValueError(f"memory_limit must be a non-negative int or None, got {memory_limit!r}")
    layers = chain.layers
    memo: dict[tuple[int, int], list[tuple[tuple[int, int, int, int], ...]]] = {}

    def fits(tape: int) -> bool:
        return memory_limit is None or tape <= memory_limit

    def plans(lo: int, hi: int) -> list[tuple[tuple[int, int, int, int], ...]]:
        if (lo, hi) in memo:
            return memo[(lo, hi)]
        found: list[tuple[tuple[int, int, int, int], ...]] = []
        if lo == hi:
            layer = layers[lo - 1]
            if layer.kind != "matrix-free":
                found.append(())
            else:
                found.append(((int(Operation.ACCUMULATE_TANGENT), lo, lo, lo),))
                if fits(_segment_tape(layers, lo, lo)):
                    found.append(((int(Operation.ACCUMULATE_ADJOINT), lo, lo, lo),))
        else:
            dense = not chain.is_dense and _segment_is_dense(layers, lo, hi)
            for split in range(lo, hi):
                lowers, uppers = plans(lo, split), plans(split + 1, hi)
                product = (int(Operation.PRODUCT), lo, split, hi)
                found += [lower + upper + (product,) for lower in lowers for upper in uppers]
                if not dense:
                    continue
                tangent = (int(Operation.TANGENT), lo, split, hi)
                found += [lower + (tangent,) for lower in lowers]
                if fits(_segment_tape(layers, lo, split)):
                    adjoint = (int(Operation.ADJOINT), lo, split, hi)
                    found += [upper + (adjoint,) for upper in uppers]
        memo[(lo, hi)] = found
        return found

    for rows in plans(1, len(layers)):
        yield np.array(rows, dtype=np.int64).reshape(-1, 4)


def exhaustive_generalized_optimum(chain: Chain, memory_limit: int | None = None) -> int:
    """The least cost over :func:`enumerate_plans`, each costed by :meth:`Plan.from_steps`.

    Parameters
    ----------
    chain : Chain or sequence of int
    memory_limit : int, optional
        The largest tape an adjoint sweep may record; None for no limit.

    Returns
    -------
    int
        The optimal cost of the generalized Jacobian chain problem (exact multiply-adds).

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> chain = Chain([Layer(3, 3, "matrix-free", edges=29),
    ...                Layer(3, 1, "matrix-free", edges=14),
    ...                Layer(1, 2, "matrix-free", edges=7)])
    >>> exhaustive_generalized_optimum(chain), exhaustive_generalized_optimum(chain, 0)
    (56, 142)
    """
    from .chains.chain import as_chain
    from .plans.plan import Plan

    chain = as_chain(chain)
    return min(
        Plan.from_steps(chain, steps).cost for steps in enumerate_plans(chain, memory_limit)
    )


class CountingOperator:
    """A matrix-free operator around a dense matrix that counts the directions asked of it.

    It follows the duck-typed protocol of :func:`jacchain.evaluate` (and of
    ``scipy.sparse.linalg.LinearOperator``): ``matmat(V) = J V`` and
    ``rmatmat(U) = J^H U`` (``J^T U`` for real ``J``).

    Parameters
    ----------
    J : array_like
        The 2-D Jacobian of shape ``(n_out, n_in)``.

    Attributes
    ----------
    shape : tuple of int
        ``(n_out, n_in)``.
    tangent_directions : int
        Total number of columns of every ``V`` passed to :meth:`matmat`.
    adjoint_directions : int
        Total number of columns of every ``U`` passed to :meth:`rmatmat`.

    Examples
    --------
    >>> op = CountingOperator(np.arange(6.0).reshape(2, 3))
    >>> op.matmat(np.eye(3)).shape, op.rmatmat(np.ones((2, 1))).ravel().tolist()
    ((2, 3), [3.0, 5.0, 7.0])
    >>> op.tangent_directions, op.adjoint_directions
    (3, 1)
    """

    def __init__(self, J: np.ndarray) -> None:
        self.J = np.asarray(J)
        if self.J.ndim != 2:
            raise ValueError(f"CountingOperator wraps a 2-D matrix, got shape {self.J.shape}")
        self.shape: tuple[int, int] = (int(self.J.shape[0]), int(self.J.shape[1]))
        self.dtype = self.J.dtype
        self.tangent_directions = 0
        self.adjoint_directions = 0

    def matmat(self, V: np.ndarray) -> np.ndarray:
        """``J @ V`` for a 2-D block of ``V.shape[1]`` tangent directions."""
        V = np.asarray(V)
        if V.ndim != 2 or V.shape[0] != self.shape[1]:
            raise ValueError(f"matmat expects shape ({self.shape[1]}, p), got {V.shape}")
        self.tangent_directions += V.shape[1]
        return self.J @ V

    def rmatmat(self, U: np.ndarray) -> np.ndarray:
        """``J^H @ U`` for a 2-D block of ``U.shape[1]`` adjoint directions."""
        U = np.asarray(U)
        if U.ndim != 2 or U.shape[0] != self.shape[0]:
            raise ValueError(f"rmatmat expects shape ({self.shape[0]}, p), got {U.shape}")
        self.adjoint_directions += U.shape[1]
        return self.J.conj().T @ U

    def __repr__(self) -> str:
        return (
            f"CountingOperator(shape={self.shape}, tangent_directions="
            f"{self.tangent_directions}, adjoint_directions={self.adjoint_directions})"
        )


def random_layer_chain(
    rng: int | np.random.Generator,
    max_layers: int = 6,
    max_dim: int = 5,
    kinds: Sequence[str] = ("dense", "diagonal", "identity", "sparse", "matrix-free"),
) -> tuple[Chain, list[Any], list[np.ndarray]]:
    """A random chain of layers of the given kinds, with an operator and a Jacobian per layer.

    Diagonal and identity layers are square; sparse layers declare ``nnz`` at least the
    number of entries they store (sometimes more); matrix-free layers get random
    ``edges``, or random ``jvp_cost``/``vjp_cost``/``tape``, and their operators are
    :class:`CountingOperator` objects. Needs scipy (for the sparse layers).

    Parameters
    ----------
    rng : int or numpy.random.Generator
        A seed or a generator.
    max_layers : int
        The chain has 1 to ``max_layers`` layers.
    max_dim : int
        Every size is in 1..``max_dim``.
    kinds : sequence of str
        The kinds to draw from (each layer's kind uniformly).

    Returns
    -------
    chain : Chain
    operators : list
        One per layer, as :func:`jacchain.evaluate` takes them: 2-D arrays (dense), 1-D
        diagonals (diagonal), None (identity), scipy.sparse CSR matrices (sparse),
        :class:`CountingOperator` (matrix-free).
    jacobians : list of numpy.ndarray
        The dense Jacobians J_1, ..., J_k (see :func:`plain_product`).

    Examples
    --------
    >>> chain, operators, jacobians = random_layer_chain(0)
    >>> len(chain) == len(operators) == len(jacobians)
    True
    >>> all(J.shape == layer.shape for J, layer in zip(jacobians, chain.layers))
    True
    """
    from scipy import sparse

    from .chains.chain import KINDS, Chain, Layer

    kinds = list(kinds)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if not kinds or unknown:
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
    rng = np.random.default_rng(rng)
    k = int(rng.integers(1, max_layers + 1))
    n_in = int(rng.integers(1, max_dim + 1))
    layers: list[Layer] = []
    operators: list[Any] = []
    jacobians: list[np.ndarray] = []
    for _ in range(k):
        kind = kinds[int(rng.integers(len(kinds)))]
        n_out = n_in if kind in ("diagonal", "identity") else int(rng.integers(1, max_dim + 1))
        if kind == "dense":
            J = rng.standard_normal((n_out, n_in))
            layers.append(Layer(n_in, n_out))
            operators.append(J)
        elif kind == "diagonal":
            diagonal = rng.standard_normal(n_in)
            J = np.diag(diagonal)
            layers.append(Layer(n_in, n_out, "diagonal"))
            operators.append(diagonal)
        elif kind == "identity":
            J = np.eye(n_in)
            layers.append(Layer(n_in, n_out, "identity"))
            operators.append(None)
        elif kind == "sparse":
            size = n_in * n_out
            stored = int(rng.integers(0, size + 1))
            flat = rng.choice(size, size=stored, replace=False)
            matrix = sparse.csr_matrix(
                (rng.standard_normal(stored), (flat // n_in, flat % n_in)), shape=(n_out, n_in)
            )
            J = matrix.toarray()
            nnz = int(rng.integers(stored, size + 1)) if rng.random() < 0.3 else stored
            layers.append(Layer(n_in, n_out, "sparse", nnz=nnz))
            operators.append(matrix)
        else:
            J = rng.standard_normal((n_out, n_in))
            limit = 2 * n_in * n_out + 1
            if rng.random() < 0.5:
                layer = Layer(n_in, n_out, "matrix-free", edges=int(rng.integers(0, limit)))
            else:
                layer = Layer(
                    n_in,
                    n_out,
                    "matrix-free",
                    jvp_cost=int(rng.integers(0, limit)),
                    vjp_cost=int(rng.integers(0, limit)),
                    tape=int(rng.integers(0, limit)),
                )
            layers.append(layer)
            operators.append(CountingOperator(J))
        jacobians.append(J)
        n_in = n_out
    return Chain(layers), operators, jacobians


def random_dag(
    rng: int | np.random.Generator = 0,
    n_nodes: int = 8,
    max_size: int = 3,
    edge_probability: float = 0.4,
    kinds: Sequence[str] = ("dense", "diagonal", "identity"),
    output_probability: float = 0.2,
) -> tuple[Any, list[Any], list[Any]]:
    """A random computational graph with random edge Jacobians, and its inputs and outputs.

    Nodes ``0 .. n_nodes-1`` are in topological order with sizes in 1..``max_size``; each
    pair ``i < j`` is an edge with probability ``edge_probability``, of a kind drawn from
    ``kinds`` (diagonal and identity only between equal sizes), with a random ``jacobian``
    (the diagonal of a diagonal edge given either as a 1-D array or as a matrix).

    Returns
    -------
    graph : networkx.DiGraph
    inputs : list
        The sources.
    outputs : list
        The sinks that have predecessors (the sources if none has), and each other
        non-source node with probability ``output_probability``.

    Examples
    --------
    >>> G, inputs, outputs = random_dag(0, n_nodes=6)
    >>> all(G.in_degree(x) == 0 for x in inputs) and len(G) == 6
    True
    """
    import networkx as nx

    rng = np.random.default_rng(rng)
    G = nx.DiGraph()
    sizes = [int(rng.integers(1, max_size + 1)) for _ in range(n_nodes)]
    for node, size in enumerate(sizes):
        G.add_node(node, size=size)
    for j in range(n_nodes):
        for i in range(j):
            if rng.random() >= edge_probability:
                continue
            m, n = sizes[j], sizes[i]
            options = [kind for kind in kinds if kind == "dense" or m == n]
            if not options:
                continue
            kind = options[int(rng.integers(len(options)))]
            if kind == "dense":
                G.add_edge(i, j, kind=kind, jacobian=rng.standard_normal((m, n)))
            elif kind == "diagonal":
                diagonal = rng.standard_normal(n)
                G.add_edge(
                    i, j, kind=kind, jacobian=diagonal if rng.random() < 0.5 else np.diag(diagonal)
                )
            else:
                G.add_edge(i, j, kind=kind, jacobian=np.eye(n))
    inputs = [node for node in G if G.in_degree(node) == 0]
    sinks = [node for node in G if G.out_degree(node) == 0 and G.in_degree(node) > 0]
    outputs = sinks or inputs
    extra = [
        node
        for node in G
        if node not in outputs and G.in_degree(node) > 0 and rng.random() < output_probability
    ]
    return G, inputs, outputs + extra


def sum_over_paths(graph: Any, inputs: Sequence[Any], outputs: Sequence[Any]) -> np.ndarray:
    """The Jacobian of a computational graph as the sum over paths, by brute force.

    Block (output y, input x) is the sum over every path from x to y of the product of the
    edge Jacobians along it (the identity if x is y). Written from the definition,
    independently of jacchain's planners; the number of paths grows exponentially, so use
    it on small graphs.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from("abcde", size=1)
    >>> for u, v, d in [("a", "c", 1), ("b", "c", 1), ("b", "d", 1), ("c", "e", 2), ("d", "e", 3)]:
    ...     G.add_edge(u, v, jacobian=np.array([[d]]))
    >>> sum_over_paths(G, ["a", "b"], ["e"])
    array([[2., 5.]])
    """
    import networkx as nx

    def matrix(u: Any, v: Any) -> np.ndarray:
        data = graph.edges[u, v]
        size = graph.nodes[v]["size"]
        jacobian = data.get("jacobian")
        if jacobian is None:
            return np.eye(size)
        jacobian = np.asarray(jacobian)
        return np.diag(jacobian) if jacobian.ndim == 1 else jacobian

    sizes = {node: graph.nodes[node]["size"] for node in graph}
    blocks = []
    for y in outputs:
        row = []
        for x in inputs:
            block = np.eye(sizes[y]) if x == y else np.zeros((sizes[y], sizes[x]))
            if x != y:
                for path in nx.all_simple_paths(graph, x, y):
                    product = np.eye(sizes[x])
                    for u, v in zip(path[:-1], path[1:], strict=True):
                        product = matrix(u, v) @ product
                    block = block + product
            row.append(block)
        blocks.append(row)
    return np.block(blocks)


def computational_graphs(
    max_nodes: int = 8,
    max_size: int = 3,
    kinds: Sequence[str] = ("dense", "diagonal", "identity"),
):
    """A hypothesis strategy for ``(graph, inputs, outputs)`` drawn with :func:`random_dag`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(computational_graphs(max_nodes=4))
    ... def test_small(drawn):
    ...     graph, inputs, outputs = drawn
    ...     assert 1 <= len(graph) <= 4 and inputs and outputs
    >>> test_small()
    """
    from hypothesis import strategies as st

    return st.builds(
        random_dag,
        st.integers(min_value=0, max_value=2**32 - 1),
        n_nodes=st.integers(min_value=1, max_value=max_nodes),
        max_size=st.just(max_size),
        edge_probability=st.floats(min_value=0.15, max_value=0.8),
        kinds=st.just(tuple(kinds)),
    )
