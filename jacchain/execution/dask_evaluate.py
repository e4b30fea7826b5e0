"""Plans executed on Dask: each product of the plan a blocked ``dask.array`` matmul, the
Jacobian a lazy dask array computed by whatever scheduler is active.

Dask (extra ``dask``) is imported here only, when a Jacobian given to
:meth:`Plan.evaluate` is a dask array. The graph follows the plan step by step: the
product of two accumulated segments is ``right @ left``, which dask splits into block
products and sums over the contracted blocks; a dense chain's Jacobians that arrive as
numpy arrays are wrapped into dask arrays whose blocks match their neighbours' (so that the
contraction needs no rechunking). Nothing is computed here: ``.compute()`` runs it on the
threaded scheduler, or on a ``dask.distributed`` Client's workers when one is active, and
``.to_zarr(...)`` or ``.store(...)`` write it block by block without holding it whole.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..chains.operations import Operation
from ..errors import OperatorError, ShapeError
from ..plans.plan import Plan

__all__ = ["is_dask_array", "evaluate_dask", "DEFAULT_BLOCK"]

logger = logging.getLogger(__name__)

DEFAULT_BLOCK = 2048
"""Rows and columns of the blocks numpy Jacobians are split into next to dask ones, where
their neighbours do not fix them (32 MiB in float64: large enough for BLAS to run at speed,
small enough for a worker to hold several)."""


def is_dask_array(value: Any) -> bool:
    """Whether ``value`` is a dask array (without importing dask).

    Examples
    --------
    >>> is_dask_array(np.ones(2))
    False
    """
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "__dask_graph__")


def _blocks(size: int, neighbour: Any, axis: int) -> Any:
    """Block sizes along one axis: the neighbour's where it has that axis, else even blocks."""
    if neighbour is not None:
        return neighbour.chunks[axis]
    return min(size, DEFAULT_BLOCK)


def evaluate_dask(plan: Plan, operators: Sequence[Any], chunk_size: int | None = None,
                  client: Any = None) -> Any:
    """The plan's Jacobian as a lazy dask array (see the module docstring).

    Parameters
    ----------
    plan : Plan
        A plan of a chain of dense layers, diagonal ones (a 1-D dask or numpy diagonal),
        identities (None) and matrix-free ones (an object with ``matmat`` and
        ``rmatmat``, swept block by block of directions: ``map_blocks`` over chunks of
        ``chunk_size`` columns or rows, the operator sent once to each worker).
    operators : sequence
        One per layer, J_1 first: dask arrays, numpy arrays, operators, mixed.
    chunk_size : int, optional
        Directions per block of a matrix-free sweep (default :data:`DEFAULT_BLOCK`).
    client : distributed.Client, optional
        The cluster the operators are scattered to (default: the active Client, if any).

    Returns
    -------
    dask.array.Array
        The ``(d_k, d_0)`` Jacobian, not computed.

    Raises
    ------
    ShapeError, OperatorError
        For a wrong count or shape, or a sparse layer.

    Examples
    --------
    >>> import dask.array as da
    >>> import jacchain as jc
    >>> rng = np.random.default_rng(0)
    >>> Js = [rng.standard_normal((3, 4)), da.from_array(rng.standard_normal((5, 3)), chunks=2)]
    >>> J = jc.plan([4, 3, 5]).evaluate(Js)
    >>> type(J).__name__, np.allclose(J.compute(), Js[1].compute() @ Js[0])
    ('Array', True)
    """
    import dask.array as da

    chain = plan.chain
    if len(operators) != len(chain):
        raise ShapeError(f"expected {len(chain)} Jacobians (one per layer), got {len(operators)}")
    layers = list(chain.layers)
    given = {i: op for i, op in enumerate(operators, 1) if is_dask_array(op)}
    logger.debug("evaluating a plan of %d layers as a dask graph (%d given as dask arrays)",
                 len(layers), len(given))
    arrays: dict[int, Any] = {}
    for number, (layer, op) in enumerate(zip(layers, operators, strict=True), 1):
        if layer.kind not in ("dense", "diagonal", "identity", "matrix-free"):
            raise OperatorError(
                f"J{number} is {layer.kind}: dask evaluation takes dense, diagonal, identity "
                "and matrix-free layers (evaluate sparse chains with numpy operators)"
            )
        if layer.kind == "matrix-free":
            if not (callable(getattr(op, "matmat", None)) and callable(getattr(op, "rmatmat", None))):
                raise OperatorError(
                    f"J{number} is matrix-free: pass an object with matmat and rmatmat, got "
                    f"{type(op).__name__}"
                )
            arrays[number] = _Swept(_shipped(op, client), layer.n_in, layer.n_out)
            continue
        if layer.kind == "identity":
            arrays[number] = None
            continue
        expected = (layer.n_out, layer.n_in) if layer.kind == "dense" else (layer.n_out,)
        if tuple(getattr(op, "shape", ())) != expected:
            raise ShapeError(
                f"J{number} must have shape {expected} ({layer.kind}), got "
                f"{tuple(getattr(op, 'shape', ()))}"
            )
        if number in given:
            arrays[number] = op
            continue
        before, after = given.get(number - 1), given.get(number + 1)
        value = np.asarray(op)
        if layer.kind == "diagonal":
            chunks = (_blocks(layer.n_out, after, 1 if after is not None and after.ndim == 2 else 0),)
        else:
            rows = _blocks(layer.n_out, after, 1) if after is not None and after.ndim == 2 else min(
                layer.n_out, DEFAULT_BLOCK)
            cols = _blocks(layer.n_in, before, 0) if before is not None else min(
                layer.n_in, DEFAULT_BLOCK)
            chunks = (rows, cols)
        arrays[number] = da.from_array(value, chunks=chunks)
    segments: dict[tuple[int, int], Any] = {(i, i): arrays[i] for i in range(1, len(layers) + 1)}
    block = chunk_size or DEFAULT_BLOCK
    dims = [int(d) for d in chain.dims_array]
    for step in plan.steps:
        upper, lower = step.left, step.right  # J_hi..J_split+1 and J_split..J_lo
        operation = Operation.from_label(step.operation)
        if operation == Operation.PRODUCT:
            product = _product(segments.pop(tuple(upper)), segments.pop(tuple(lower)))
        elif operation == Operation.TANGENT:  # the columns of the lower part, swept forward
            product = _as_array(segments.pop(tuple(lower)), dims[lower.first - 1])
            for k in range(upper.first, upper.last + 1):
                product = _forward(segments.pop((k, k)), product, block)
        elif operation == Operation.ADJOINT:  # the rows of the upper part, swept back
            product = _as_array(segments.pop(tuple(upper)), dims[upper.last])
            for k in range(lower.last, lower.first - 1, -1):
                product = _backward(segments.pop((k, k)), product, block)
        else:  # a matrix-free layer formed by sweeps of the identity
            layer = segments.pop((lower.first, lower.first))
            if operation == Operation.ACCUMULATE_TANGENT:
                product = _forward(layer, da.eye(layer.n_in, chunks=block), block)
            else:
                product = _backward(layer, da.eye(layer.n_out, chunks=block), block)
        segments[(lower.first, upper.last)] = product
    (result,) = segments.values()
    if result is None or result.ndim == 1:  # identities and diagonals only
        n = chain.dims_array[0]
        eye = da.eye(int(n), chunks=min(int(n), DEFAULT_BLOCK))
        result = eye if result is None else result[:, None] * eye
    return result


class _Swept:
    """A matrix-free layer in a dask graph: its operator (a Delayed, or a Future on a
    cluster, so that it is shipped once) and its sizes."""

    def __init__(self, operator: Any, n_in: int, n_out: int) -> None:
        self.operator, self.n_in, self.n_out = operator, n_in, n_out


def _shipped(operator: Any, client: Any) -> Any:
    """``operator`` as one node of the graph: scattered to every worker of ``client`` (or
    of the active Client), else a Delayed."""
    import dask

    from .directions import active_client

    client = client or active_client()
    if client is not None:
        logger.debug("scattering a matrix-free operator to every worker of %s", client)
        return client.scatter(operator, broadcast=True, hash=False)
    return dask.delayed(operator, pure=True)


def _as_array(value: Any, size: int) -> Any:
    """An accumulated segment as a 2-D dask array (an identity or a diagonal formed)."""
    import dask.array as da

    if value is None:
        return da.eye(size, chunks=min(size, DEFAULT_BLOCK))
    if value.ndim == 1:
        return value[:, None] * da.eye(size, chunks=min(size, DEFAULT_BLOCK))
    return value


def _forward(layer: Any, columns: Any, block: int) -> Any:
    """``J columns`` for one layer of any kind; a matrix-free one by blocks of columns."""
    if not isinstance(layer, _Swept):
        return _product(layer, columns)
    columns = columns.rechunk((columns.shape[0], block))
    return columns.map_blocks(_columns_through_operator, layer.operator, dtype=columns.dtype,
                              chunks=((layer.n_out,), columns.chunks[1]),
                              meta=np.empty((0, 0), dtype=columns.dtype))


def _backward(layer: Any, rows: Any, block: int) -> Any:
    """``rows J`` for one layer of any kind; a matrix-free one by blocks of rows."""
    if not isinstance(layer, _Swept):
        return _product(rows, layer)
    rows = rows.rechunk((block, rows.shape[1]))
    return rows.map_blocks(_rows_through_operator, layer.operator, dtype=rows.dtype,
                           chunks=(rows.chunks[0], (layer.n_in,)),
                           meta=np.empty((0, 0), dtype=rows.dtype))


def _columns_through_operator(columns: np.ndarray, operator: Any) -> np.ndarray:
    """One block of a tangent sweep, on a worker: ``J columns``."""
    return np.asarray(operator.matmat(np.asarray(columns)))


def _rows_through_operator(rows: np.ndarray, operator: Any) -> np.ndarray:
    """One block of an adjoint sweep, on a worker: ``rows J = (J^H rows^H)^H`` (rmatmat is
    the conjugate transpose's product, scipy's convention)."""
    return np.conj(np.asarray(operator.rmatmat(np.conj(np.asarray(rows).T)))).T


def _product(upper: Any, lower: Any) -> Any:
    """``upper @ lower`` where either may be None (identity) or 1-D (a diagonal)."""
    if upper is None:
        return lower
    if lower is None:
        return upper
    if upper.ndim == 1 and lower.ndim == 1:
        return upper * lower
    if upper.ndim == 1:
        return upper[:, None] * lower
    if lower.ndim == 1:
        return upper * lower[None, :]
    return upper @ lower
