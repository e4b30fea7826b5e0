"""The cost model: scalar multiply-adds, counted exactly.

Multiplying an (a x b) matrix by a (b x c) matrix costs ``a * b * c`` multiply-adds
(FLOPs are twice that). Every total is returned as an exact Python int: sums are formed in
int64 only when a bound proves they cannot overflow, and in Python ints otherwise.

Structured and matrix-free layers (the generalized Jacobian chain of Naumann):

- one sweep through a layer costs, per direction: dense m*n; diagonal n; identity 0;
  sparse nnz; matrix-free its jvp_cost (tangent) or vjp_cost (adjoint);
- accumulating a layer's Jacobian costs 0 if it is explicit, else the cheaper of n_in
  tangent sweeps and n_out adjoint sweeps;
- the product of a segment of layers is the identity if all of them are identities,
  diagonal if all are diagonal or identity, sparse (with that layer's nnz) if exactly one is
  sparse and the others diagonal or identity, and dense otherwise;
- multiplying A (a x b) by B (b x c) costs 0 if either is an identity; b if both are
  diagonal; b*c if A is diagonal and B dense, a*b if B is diagonal and A dense; nnz if one
  is diagonal and the other sparse; nnz_A*c for sparse A times dense B, a*nnz_B for dense A
  times sparse B, the cheaper of the two for sparse times sparse (the result is then
  dense); a*b*c if both are dense;
- a tangent step carrying the d_{lo-1} columns of an accumulated segment through layers
  split+1..hi costs d_{lo-1} times the sum of their tangent costs; an adjoint step carrying
  d_hi rows back through layers lo..split costs d_hi times the sum of their adjoint costs,
  and records the sum of their tapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chain import Chain, as_chain
from .operations import Operation

__all__ = [
    "INT64_SAFE",
    "fits_int64",
    "exact_array",
    "exact_sum",
    "product_cost",
    "forward_cost",
    "reverse_cost",
    "step_costs",
    "step_tapes",
    "LayerTable",
    "layer_table",
    "structured_product_cost",
    "IDENTITY",
    "DIAGONAL",
    "SPARSE",
    "DENSE",
    "STRUCTURE_NAMES",
]

IDENTITY, DIAGONAL, SPARSE, DENSE = 0, 1, 2, 3
"""Structure codes of an accumulated segment, from the cheapest to multiply to the dearest."""

STRUCTURE_NAMES = ("identity", "diagonal", "sparse", "dense")
_KIND_CODE = {
    "identity": IDENTITY,
    "diagonal": DIAGONAL,
    "sparse": SPARSE,
    "dense": DENSE,
    "matrix-free": DENSE,
}

INT64_SAFE = 2**62
"""Values strictly below this bound (and sums of two of them) are exact in int64."""


def fits_int64(largest_dim: int, terms: int, factors: int = 3) -> bool:
    """Whether ``terms`` products of ``factors`` dims (each <= ``largest_dim``) sum exactly in int64.

    Examples
    --------
    >>> fits_int64(1000, 10**6)
    True
    >>> fits_int64(10**7, 2)
    False
    """
    return int(largest_dim) ** factors * max(int(terms), 1) < INT64_SAFE


def exact_array(values: np.ndarray, safe: bool) -> np.ndarray:
    """``values`` as int64 when ``safe``, else as an object array of Python ints.

    Examples
    --------
    >>> exact_array(np.array([2, 3]), safe=False).dtype
    dtype('O')
    """
    return values.astype(np.int64) if safe else values.astype(object)


def exact_sum(values: np.ndarray) -> int:
    """The exact sum of an int64 or object array as a Python int.

    Examples
    --------
    >>> exact_sum(np.array([2**62, 2**62], dtype=object))
    9223372036854775808
    """
    if values.dtype == object:
        return int(sum(values.tolist()))
    return int(values.sum(dtype=np.int64))


def product_cost(rows: int, inner: int, cols: int) -> int:
    """Multiply-adds of an (rows x inner) by (inner x cols) product: ``rows * inner * cols``.

    Examples
    --------
    >>> product_cost(1000, 10, 1000)
    10000000
    """
    return int(rows) * int(inner) * int(cols)


def _pairwise_sum_times(dims: np.ndarray, pairs: slice, scale: int) -> int:
    """``scale * sum(d[i] * d[i+1] for the given consecutive pairs)``, exactly."""
    left = dims[:-1][pairs]
    right = dims[1:][pairs]
    if left.size == 0:
        return 0
    safe = fits_int64(int(dims.max()), left.size, factors=2)
    return scale * exact_sum(exact_array(left, safe) * exact_array(right, safe))


def _pure_mode_cost(chain: Chain, forward: bool) -> int:
    """Forward or reverse mode's cost, computed once per chain (plans of a chain share it)."""
    key = "forward_cost" if forward else "reverse_cost"
    return chain.cached(key, lambda c: _compute_pure_mode_cost(c, forward))


def _compute_pure_mode_cost(chain: Chain, forward: bool) -> int:
    """Forward or reverse mode's cost: a closed form when dense, else its steps' costs."""
    if not chain.is_dense:
        from .steps import forward_steps, reverse_steps

        pure_steps = forward_steps if forward else reverse_steps
        return exact_sum(step_costs(chain, pure_steps(len(chain), layer_table(chain).matrix_free)))
    dims = chain.dims_array
    if forward:
        return _pairwise_sum_times(dims, slice(1, None), int(dims[0]))
    return _pairwise_sum_times(dims, slice(None, -1), int(dims[-1]))


def forward_cost(chain_or_dims: Chain | object) -> int:
    """Cost of forward mode, J_k (... (J_3 (J_2 J_1))): ``d0 * sum_{i=2..k} d_i d_{i-1}``.

    For structured chains: accumulate from the input side one layer at a time, an explicit
    layer by a product, a matrix-free one by d0 tangent sweeps (a matrix-free first layer
    is accumulated by d0 tangent sweeps; an explicit first layer is free).

    Parameters
    ----------
    chain_or_dims : Chain or sequence of int

    Returns
    -------
    int
        Exact multiply-adds; 0 for a single layer.

    Examples
    --------
    >>> forward_cost([1000, 10, 1000, 10, 1000])
    30000000
    """
    return _pure_mode_cost(as_chain(chain_or_dims), forward=True)


def reverse_cost(chain_or_dims: Chain | object) -> int:
    """Cost of reverse mode, ((J_k J_{k-1}) J_{k-2}) ...: ``d_k * sum_{i=1..k-1} d_i d_{i-1}``.

    For structured chains: accumulate from the output side one layer at a time, an
    explicit layer by a product, a matrix-free one by d_k adjoint sweeps.

    Parameters
    ----------
    chain_or_dims : Chain or sequence of int

    Returns
    -------
    int
        Exact multiply-adds; 0 for a single layer.

    Examples
    --------
    >>> reverse_cost([784, 512, 512, 10, 1])
    668672
    """
    return _pure_mode_cost(as_chain(chain_or_dims), forward=False)


@dataclass(frozen=True)
class LayerTable:
    """Per-layer costs of a chain with prefix sums, for O(1) queries on segments lo..hi.

    Every list is indexed by layer number minus one; every ``prefix_*`` list has k + 1
    entries, ``prefix_x[i]`` being the sum of ``x`` over layers 1..i. All entries are
    Python ints.
    """

    dims: tuple[int, ...]
    kind_code: np.ndarray
    matrix_free: np.ndarray
    tangent: list[int]
    adjoint: list[int]
    tape: list[int]
    nnz: list[int]
    prefix_tangent: list[int]
    prefix_adjoint: list[int]
    prefix_tape: list[int]
    prefix_nnz: list[int]
    prefix_diagonal: list[int]
    prefix_sparse: list[int]
    prefix_dense: list[int]

    def structure(self, lo: int, hi: int) -> tuple[int, int]:
        """Structure code of the product of layers lo..hi, and its nnz if sparse."""
        dense = self.prefix_dense[hi] - self.prefix_dense[lo - 1]
        sparse = self.prefix_sparse[hi] - self.prefix_sparse[lo - 1]
        if dense or sparse >= 2:
            return DENSE, 0
        if sparse == 1:
            return SPARSE, self.prefix_nnz[hi] - self.prefix_nnz[lo - 1]
        if self.prefix_diagonal[hi] - self.prefix_diagonal[lo - 1]:
            return DIAGONAL, 0
        return IDENTITY, 0

    def tangent_sum(self, lo: int, hi: int) -> int:
        """Per-direction cost of one tangent sweep through layers lo..hi."""
        return self.prefix_tangent[hi] - self.prefix_tangent[lo - 1]

    def adjoint_sum(self, lo: int, hi: int) -> int:
        """Per-direction cost of one adjoint sweep through layers lo..hi."""
        return self.prefix_adjoint[hi] - self.prefix_adjoint[lo - 1]

    def tape_sum(self, lo: int, hi: int) -> int:
        """Memory an adjoint sweep through layers lo..hi records."""
        return self.prefix_tape[hi] - self.prefix_tape[lo - 1]


def _prefix(values: list[int]) -> list[int]:
    sums = [0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums


def _build_layer_table(chain: Chain) -> LayerTable:
    layers = chain.layers
    codes = np.array([_KIND_CODE[layer.kind] for layer in layers], dtype=np.int8)
    tangent = [layer.tangent_cost for layer in layers]
    adjoint = [layer.adjoint_cost for layer in layers]
    tape = [layer.tape_size for layer in layers]
    nnz = [layer.nnz if layer.kind == "sparse" else 0 for layer in layers]
    counts = {code: _prefix([int(c == code) for c in codes.tolist()]) for code in (1, 2, 3)}
    return LayerTable(
        dims=chain.dims,
        kind_code=codes,
        matrix_free=np.array([not layer.is_explicit for layer in layers], dtype=bool),
        tangent=tangent,
        adjoint=adjoint,
        tape=tape,
        nnz=nnz,
        prefix_tangent=_prefix(tangent),
        prefix_adjoint=_prefix(adjoint),
        prefix_tape=_prefix(tape),
        prefix_nnz=_prefix(nnz),
        prefix_diagonal=counts[DIAGONAL],
        prefix_sparse=counts[SPARSE],
        prefix_dense=counts[DENSE],
    )


def layer_table(chain: Chain) -> LayerTable:
    """The chain's :class:`LayerTable`, computed once per chain.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> table = layer_table(Chain([Layer(4, 4, "diagonal"), Layer(4, 2, "sparse", nnz=3)]))
    >>> table.structure(1, 2), table.tangent_sum(1, 2)
    ((2, 3), 7)
    """
    return chain.cached("layer_table", _build_layer_table)


def structured_product_cost(
    rows: int, inner: int, cols: int, upper: tuple[int, int], lower: tuple[int, int]
) -> int:
    """Multiply-adds of (upper: rows x inner) times (lower: inner x cols) by structure.

    ``upper`` and ``lower`` are ``(structure code, nnz)`` pairs; see the module docstring.

    Examples
    --------
    >>> structured_product_cost(5, 5, 3, (DIAGONAL, 0), (DENSE, 0))
    15
    >>> structured_product_cost(4, 5, 3, (DENSE, 0), (DENSE, 0))
    60
    """
    (a_code, a_nnz), (b_code, b_nnz) = upper, lower
    if a_code == IDENTITY or b_code == IDENTITY:
        return 0
    if a_code == DIAGONAL:
        return {DIAGONAL: inner, SPARSE: b_nnz, DENSE: inner * cols}[b_code]
    if b_code == DIAGONAL:
        return {SPARSE: a_nnz, DENSE: rows * inner}[a_code]
    if a_code == SPARSE:
        return min(a_nnz * cols, rows * b_nnz) if b_code == SPARSE else a_nnz * cols
    if b_code == SPARSE:
        return rows * b_nnz
    return rows * inner * cols


def step_costs(chain: Chain, steps: np.ndarray) -> np.ndarray:
    """Cost of each step ``(op, lo, split, hi)`` of a plan for ``chain``.

    For dense chains planned by products the costs ``d_hi * d_split * d_{lo-1}`` are computed
    vectorized: an int64 array when the values provably fit, else an object array of ints.
    For structured chains every operation is costed by the rules of the module docstring.

    Examples
    --------
    >>> from jacchain import Chain
    >>> steps = np.array([[0, 1, 1, 2], [0, 1, 2, 3]])
    >>> step_costs(Chain.from_dims([2, 3, 4, 5]), steps).tolist()
    [24, 40]
    """
    dims = chain.dims_array
    if len(steps) == 0:
        return np.zeros(0, dtype=np.int64)
    if chain.is_dense and not np.any(steps[:, 0] != Operation.PRODUCT):
        safe = fits_int64(int(dims.max()), len(steps))
        rows = exact_array(dims[steps[:, 3]], safe)
        inner = exact_array(dims[steps[:, 2]], safe)
        cols = exact_array(dims[steps[:, 1] - 1], safe)
        return rows * inner * cols
    table = layer_table(chain)
    d = table.dims
    costs = []
    for op, lo, split, hi in steps.tolist():
        if op == Operation.PRODUCT:
            cost = structured_product_cost(
                d[hi],
                d[split],
                d[lo - 1],
                table.structure(split + 1, hi),
                table.structure(lo, split),
            )
        elif op == Operation.TANGENT:
            cost = d[lo - 1] * table.tangent_sum(split + 1, hi)
        elif op == Operation.ADJOINT:
            cost = d[hi] * table.adjoint_sum(lo, split)
        elif op == Operation.ACCUMULATE_TANGENT:
            cost = d[lo - 1] * table.tangent[lo - 1]
        else:
            cost = d[hi] * table.adjoint[lo - 1]
        costs.append(cost)
    return np.array(costs, dtype=object)


def step_tapes(chain: Chain, steps: np.ndarray) -> list[int]:
    """Memory each step records: the tapes of the layers an adjoint step sweeps, else 0.

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> chain = Chain([Layer(2, 2, "matrix-free", edges=4, tape=9)] * 2)
    >>> step_tapes(chain, np.array([[4, 2, 2, 2], [2, 1, 1, 2]]))
    [9, 9]
    """
    if chain.is_dense:
        return [0] * len(steps)
    table = layer_table(chain)
    tapes = []
    for op, lo, split, _hi in steps.tolist():
        if op == Operation.ADJOINT:
            tapes.append(table.tape_sum(lo, split))
        elif op == Operation.ACCUMULATE_ADJOINT:
            tapes.append(table.tape[lo - 1])
        else:
            tapes.append(0)
    return tapes
