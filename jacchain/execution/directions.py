"""A matrix-free layer's sweeps in chunks of directions: in turn in one process, or as tasks
on a Dask cluster.

A tangent sweep ``J V`` over m directions is m independent products; so is an adjoint one.
:class:`ChunkedOperator` wraps a matrix-free operator (``matmat`` / ``rmatmat``) and applies
it to at most ``chunk_size`` directions at a time, so that what the operator allocates per
direction (a simulation's state, a tape) is bounded by the chunk, not by m. On a Dask
cluster the same chunks are tasks of a dask graph
(:func:`jacchain.execution.dask_evaluate.evaluate_dask`); the front ends' Jacobians are
assembled there from column blocks (:func:`distributed_columns`).
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MethodError, shown

__all__ = ["ChunkedOperator", "check_chunk_size", "active_client", "cluster_client",
           "distributed_columns", "split_columns", "RestrictedColumns"]

logger = logging.getLogger(__name__)


def check_chunk_size(chunk_size: Any) -> int | None:
    """``chunk_size`` checked: None, or a positive int.

    Examples
    --------
    >>> check_chunk_size(64), check_chunk_size(None)
    (64, None)
    """
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise MethodError(f"chunk_size must be a positive int or None, got {shown(chunk_size)}")
    return int(chunk_size)


def active_client() -> Any:
    """The ``dask.distributed`` Client in use, or None (also when distributed is absent).

    Examples
    --------
    >>> active_client() is None  # no cluster started here
    True
    """
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # no client
        return None


def cluster_client(chunk_size: int | None, client: Any = None) -> Any:
    """The Dask Client chunks of directions run on: ``client`` when given, else the active
    one when chunks are asked for (``chunk_size``), else None (run in this process).

    Examples
    --------
    >>> cluster_client(None), cluster_client(8)  # no cluster here
    (None, None)
    """
    if client is not None:
        return client
    return active_client() if chunk_size is not None else None


def _apply(operator: Any, name: str, block: np.ndarray) -> np.ndarray:
    return np.asarray(getattr(operator, name)(block))


class ChunkedOperator:
    """``operator``'s ``matmat`` and ``rmatmat``, at most ``chunk_size`` directions a call.

    Parameters
    ----------
    operator : object with ``matmat`` and ``rmatmat``
        A matrix-free layer (scipy's LinearOperator convention).
    chunk_size : int
        The most directions (columns) one call takes.

    Examples
    --------
    >>> class Doubling:
    ...     calls = []
    ...     def matmat(self, V):
    ...         self.calls.append(V.shape[1])
    ...         return 2 * V
    ...     def rmatmat(self, U):
    ...         return 2 * U
    >>> op = Doubling()
    >>> float(ChunkedOperator(op, 4).matmat(np.ones((3, 10))).sum()), op.calls
    (60.0, [4, 4, 2])
    """

    def __init__(self, operator: Any, chunk_size: int) -> None:
        self.operator = operator
        self.chunk_size = check_chunk_size(chunk_size)

    def matmat(self, V: Any) -> np.ndarray:
        """``J V``, ``chunk_size`` columns of ``V`` at a time."""
        return self._chunked("matmat", np.asarray(V))

    def rmatmat(self, U: Any) -> np.ndarray:
        """``J^H U``, ``chunk_size`` columns of ``U`` at a time."""
        return self._chunked("rmatmat", np.asarray(U))

    def _chunked(self, name: str, block: np.ndarray) -> np.ndarray:
        width = block.shape[1]
        starts = range(0, width, self.chunk_size)
        out = None
        for start in starts:
            part = _apply(self.operator, name, block[:, start:start + self.chunk_size])
            if out is None:
                out = np.empty((part.shape[0], width), dtype=part.dtype)
            out[:, start:start + self.chunk_size] = part
        return out if out is not None else np.asarray(getattr(self.operator, name)(block))


def distributed_columns(block: Any, n_in: int, out_shapes: list[tuple[int, ...]], in_shape: tuple[int, ...],
                        dtype: Any, chunk_size: int, client: Any) -> list[Any]:
    """A Jacobian assembled as dask arrays from column blocks computed on a cluster.

    ``block(start, stop)`` returns, for each output leaf, the Jacobian's columns
    ``start:stop`` of the flattened input (an array of shape ``out_shape + (stop - start,)``).
    It is sent once to every worker; each chunk of ``chunk_size`` columns is one task; the
    result, one lazy dask array per output leaf of shape ``out_shape + in_shape``, is
    assembled from the tasks' futures without gathering them.

    Examples
    --------
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(processes=False) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     J = distributed_columns(lambda a, b: [np.eye(4)[:, a:b]], 4, [(4,)], (4,), float,
    ...                             2, client)[0].compute()
    """
    import dask
    import dask.array as da

    remote = client.scatter(block, broadcast=True, hash=False)
    starts = list(range(0, n_in, chunk_size))
    logger.info("%d Jacobian columns in %d tasks of at most %d on %s", n_in, len(starts),
                chunk_size, client)
    futures = [client.submit(_columns, remote, start, min(start + chunk_size, n_in), pure=False)
               for start in starts]
    leaves = []
    for index, out_shape in enumerate(out_shapes):
        parts = [
            da.from_delayed(dask.delayed(_leaf)(future, index),
                            shape=tuple(out_shape) + (min(start + chunk_size, n_in) - start,),
                            dtype=dtype)
            for start, future in zip(starts, futures, strict=True)
        ]
        whole = da.concatenate(parts, axis=len(out_shape)) if parts else da.zeros(
            tuple(out_shape) + (0,), dtype=dtype)
        leaves.append(whole.reshape(tuple(out_shape) + tuple(in_shape)))
    return leaves


@dataclass(frozen=True)
class RestrictedColumns:
    """What a worker needs to compute columns ``start:stop`` of a front end's Jacobian: the
    function, its arguments, the flat indices of the differentiated leaves and how to plan.
    The front ends subclass it with ``__call__(start, stop)``, which restricts the function
    to those entries of the differentiated leaves (concatenated) and differentiates that."""

    function: Any
    args: tuple[Any, ...]
    wanted: list[int]
    has_aux: bool
    method: str
    time_limit: float | None
    seed: int


def _columns(block: Any, start: int, stop: int) -> list[Any]:
    return [np.asarray(part) for part in block(start, stop)]


def _leaf(parts: list[Any], index: int) -> Any:
    return parts[index]


def split_columns(columns: Any, out_shape: tuple[int, ...],
                  in_shapes: list[tuple[int, ...]]) -> list[Any]:
    """The blocks of one output leaf's columns (``out_shape + (n,)``, the inputs' entries
    concatenated) for each input leaf, shaped ``out_shape + in_shape``.

    Examples
    --------
    >>> [b.shape for b in split_columns(np.zeros((2, 7)), (2,), [(3,), (2, 2)])]
    [(2, 3), (2, 2, 2)]
    """
    blocks, start = [], 0
    for in_shape in in_shapes:
        size = int(np.prod(in_shape, dtype=np.int64))
        blocks.append(columns[..., start:start + size].reshape(tuple(out_shape) + tuple(in_shape)))
        start += size
    return blocks
