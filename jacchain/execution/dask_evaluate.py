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

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..chains.operations import Operation
from ..errors import OperatorError, ShapeError
from ..plans.plan import Plan

__all__ = ["is_dask_array", "evaluate_dask", "DEFAULT_BLOCK"]

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


def evaluate_dask(plan: Plan, operators: Sequence[Any]) -> Any:
    """The plan's Jacobian as a lazy dask array (see the module docstring).

    Parameters
    ----------
    plan : Plan
        A plan of a chain of dense layers (and diagonal or identity ones: a 1-D dask or
        numpy diagonal, None for an identity).
    operators : sequence
        One per layer, J_1 first: dask arrays, numpy arrays, or both mixed.

    Returns
    -------
    dask.array.Array
        The ``(d_k, d_0)`` Jacobian, not computed.

    Raises
    ------
    ShapeError, OperatorError
        For a wrong count or shape, or a layer kind or plan step dask does not run here
        (matrix-free and sparse layers, sweeps).

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
    arrays: dict[int, Any] = {}
    for number, (layer, op) in enumerate(zip(layers, operators, strict=True), 1):
        if layer.kind not in ("dense", "diagonal", "identity"):
            raise OperatorError(
                f"J{number} is {layer.kind}: dask evaluation takes dense, diagonal and identity "
                "layers (evaluate matrix-free and sparse chains with numpy operators)"
            )
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
    for step in plan.steps:
        if step.operation != Operation.PRODUCT.label:
            raise OperatorError(
                f"the plan's step {step.operation!r} is not a product: dask evaluation runs "
                "plans of products only (dense, diagonal and identity chains)"
            )
        lower, upper = sorted((step.left, step.right))  # J_hi..J_split+1 times J_split..J_lo
        product = _product(segments.pop(tuple(upper)), segments.pop(tuple(lower)))
        segments[(lower.first, upper.last)] = product
    (result,) = segments.values()
    if result is None or result.ndim == 1:  # identities and diagonals only
        n = chain.dims_array[0]
        eye = da.eye(int(n), chunks=min(int(n), DEFAULT_BLOCK))
        result = eye if result is None else result[:, None] * eye
    return result


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
