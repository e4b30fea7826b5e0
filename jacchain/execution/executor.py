"""The plan executor: a plan's steps carried out on linearized layers, in any array library.

A front end linearizes each layer of a model at the point of its forward pass and hands
the plan one :class:`Linearization` per layer: an explicit Jacobian (a 2-D matrix, a 1-D
diagonal, or nothing for an identity) or the layer's products, ``tangent(V) = J V`` for a
block of columns and ``adjoint(R) = R J`` for a block of rows. :func:`execute` walks the
plan's steps once, for every front end: it needs from the array library only ``@``,
broadcasting and an ``eye``, so the same code runs on numpy arrays, on JAX tracers (under
``jax.jit``, the plan being static Python data) and on torch tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..chains.cost import DENSE, DIAGONAL, IDENTITY, SPARSE
from ..chains.operations import Operation
from ..plans.plan import Plan

__all__ = ["Linearization", "execute", "sweeps_needed"]

_KIND_CODE = {"identity": IDENTITY, "diagonal": DIAGONAL, "sparse": SPARSE, "dense": DENSE}


@dataclass(frozen=True)
class Linearization:
    """One layer, linearized at the point the forward pass reached it.

    Attributes
    ----------
    kind : str
        ``"dense"``, ``"diagonal"``, ``"identity"``, ``"sparse"`` (a scipy.sparse matrix;
        numpy only) or ``"matrix-free"``.
    size : int
        The layer's input size (the size of the identity, for identity layers).
    matrix : array, optional
        The explicit Jacobian: a 2-D ``(n_out, n_in)`` array (dense) or the 1-D diagonal.
    tangent : callable, optional
        Matrix-free layers: ``V (n_in, m) -> J V (n_out, m)``, when the plan sweeps forward.
    adjoint : callable, optional
        Matrix-free layers: ``R (m, n_out) -> R J (m, n_in)``, when the plan sweeps back.
    """

    kind: str
    size: int
    matrix: Any = None
    tangent: Callable[[Any], Any] | None = None
    adjoint: Callable[[Any], Any] | None = None


def sweeps_needed(p: Plan) -> list[set[str]]:
    """For each layer (J_1 first), which products the plan asks of it: ``"tangent"``, ``"adjoint"``.

    A front end linearizes a matrix-free layer only for the directions listed here (a
    reverse-mode plan never builds a forward linearization, and vice versa).

    Examples
    --------
    >>> import jacchain as jc
    >>> mf = jc.Layer(3, 3, "matrix-free", edges=9)
    >>> sweeps_needed(jc.plan(jc.Chain([mf, mf]), "reverse"))
    [{'adjoint'}, {'adjoint'}]
    """
    needs: list[set[str]] = [set() for _ in range(len(p.chain))]
    for op, lo, split, hi in p.step_array.tolist():
        if op == Operation.TANGENT:
            layers, direction = range(split + 1, hi + 1), "tangent"
        elif op == Operation.ADJOINT:
            layers, direction = range(lo, split + 1), "adjoint"
        elif op == Operation.ACCUMULATE_TANGENT:
            layers, direction = (lo,), "tangent"
        elif op == Operation.ACCUMULATE_ADJOINT:
            layers, direction = (lo,), "adjoint"
        else:
            continue
        for number in layers:
            needs[number - 1].add(direction)
    return needs


def _dense(value: tuple[int, Any], eye: Callable[[int], Any]) -> Any:
    code, payload = value
    if code == IDENTITY:
        return eye(payload)
    if code == DIAGONAL:
        return payload[:, None] * eye(payload.shape[0])
    if code == SPARSE:
        return payload.toarray()
    return payload


def _multiply(upper: tuple[int, Any], lower: tuple[int, Any]) -> tuple[int, Any]:
    """upper @ lower by structure (identity, diagonal, sparse, dense), as the cost model counts it.

    Sparse payloads are scipy.sparse matrices (numpy only): diagonal scaling keeps them
    sparse; any other product with them is dense, formed the cheaper way for sparse times
    sparse.
    """
    (a_code, a), (b_code, b) = upper, lower
    if a_code == IDENTITY:
        return lower
    if b_code == IDENTITY:
        return upper
    if a_code == DIAGONAL:
        if b_code == DIAGONAL:
            return (DIAGONAL, a * b)
        if b_code == SPARSE:
            return (SPARSE, b.multiply(a[:, None]).tocsr())
        return (DENSE, a[:, None] * b)
    if b_code == DIAGONAL:
        if a_code == SPARSE:
            return (SPARSE, a.multiply(b[None, :]).tocsr())
        return (DENSE, a * b[None, :])
    if a_code == SPARSE and b_code == SPARSE:
        if a.nnz * b.shape[1] <= a.shape[0] * b.nnz:
            return (DENSE, a @ b.toarray())
        return (DENSE, a.toarray() @ b)
    return (DENSE, _asarray(a @ b))


def _tangent(layer: Linearization, block: Any) -> Any:
    """J @ block (columns) through one layer."""
    if layer.kind == "identity":
        return block
    if layer.kind == "diagonal":
        return layer.matrix[:, None] * block
    if layer.kind in ("dense", "sparse"):
        return _asarray(layer.matrix @ block)
    return layer.tangent(block)


def _adjoint(layer: Linearization, rows: Any) -> Any:
    """rows @ J (rows) through one layer."""
    if layer.kind == "identity":
        return rows
    if layer.kind == "diagonal":
        return rows * layer.matrix[None, :]
    if layer.kind in ("dense", "sparse"):
        return _asarray(rows @ layer.matrix)
    return layer.adjoint(rows)


def _asarray(result: Any) -> Any:
    """A plain array from a product that may be a numpy.matrix (scipy.sparse), else as is."""
    return result.A if hasattr(result, "A") and type(result).__name__ == "matrix" else result


def execute(p: Plan, layers: Sequence[Linearization], eye: Callable[[int], Any]) -> Any:
    """Compute J_k ... J_1 by executing the plan's steps on linearized layers.

    Parameters
    ----------
    p : Plan
        The plan, for the chain the layers describe.
    layers : sequence of Linearization
        One per layer, J_1 first; matrix-free layers carry the products the plan asks for
        (:func:`sweeps_needed`).
    eye : callable
        ``eye(n)``: the n x n identity in the array library, dtype and device of the result.

    Returns
    -------
    array
        The ``(d_k, d_0)`` Jacobian, in the array library of the layers.

    Notes
    -----
    Accumulated segments keep their structure (identity, diagonal, dense) as the cost model
    counts them; a tangent step pushes a block of columns forward through its layers, an
    adjoint step pulls a block of rows back, and a matrix-free layer is accumulated by
    pushing the identity's columns (or pulling its rows). :func:`jacchain.evaluate` runs
    this same walk on numpy operators.

    Examples
    --------
    >>> import numpy as np, jacchain as jc
    >>> W = np.arange(6.0).reshape(3, 2)
    >>> mf = Linearization("matrix-free", 3, tangent=lambda V: 2 * V, adjoint=lambda R: 2 * R)
    >>> layers = [Linearization("dense", 2, W), mf, Linearization("diagonal", 3, np.ones(3))]
    >>> chain = jc.Chain([jc.Layer(2, 3), jc.Layer(3, 3, "matrix-free", edges=3),
    ...                   jc.Layer(3, 3, "diagonal")])
    >>> np.array_equal(execute(jc.plan(chain), layers, np.eye), 2 * W)
    True
    """
    segments = {
        number: (
            _KIND_CODE[layer.kind],
            layer.size if layer.kind == "identity" else layer.matrix,
        )
        for number, layer in enumerate(layers, 1)
        if layer.kind != "matrix-free"
    }
    for op, lo, split, hi in p.step_array.tolist():
        if op == Operation.PRODUCT:
            segments[lo] = _multiply(segments.pop(split + 1), segments[lo])
        elif op == Operation.TANGENT:
            block = _dense(segments[lo], eye)
            for number in range(split + 1, hi + 1):
                block = _tangent(layers[number - 1], block)
                segments.pop(number, None)
            segments[lo] = (DENSE, block)
        elif op == Operation.ADJOINT:
            rows = _dense(segments.pop(split + 1), eye)
            for number in range(split, lo - 1, -1):
                rows = _adjoint(layers[number - 1], rows)
                if number != lo:
                    segments.pop(number, None)
            segments[lo] = (DENSE, rows)
        elif op == Operation.ACCUMULATE_TANGENT:
            layer = layers[lo - 1]
            segments[lo] = (DENSE, layer.tangent(eye(layer.size)))
        else:
            shape = p.chain.layers[lo - 1].shape
            segments[lo] = (DENSE, layers[lo - 1].adjoint(eye(shape[0])))
    return _dense(segments[1], eye)
