"""The derivative of one ATen operation at a point, applied by ``torch.func.jvp`` and
``torch.func.vjp``: the value of a matrix-free :class:`~jacchain.programs.partials.Partial`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["LinearOperator"]


@dataclass(frozen=True, eq=False)
class LinearOperator:
    """``J`` of ``function`` at ``point``, applied to columns (JVPs) or rows (VJPs).

    ``chunk_size`` bounds how many directions one batched sweep takes (``torch.func.vmap``'s
    ``chunk_size``): memory grows with it, the number of sweeps does not change.

    Examples
    --------
    >>> import torch
    >>> op = LinearOperator(torch.sin, torch.zeros(2))
    >>> op.matmat(torch.ones(2, 3)).shape, op.rmatmat(torch.ones(4, 2)).shape
    (torch.Size([2, 3]), torch.Size([4, 2]))
    """

    function: Callable[[Any], Any]
    point: Any
    chunk_size: int | None = None

    def matmat(self, columns: Any) -> Any:
        """``J @ columns``: ``columns`` of shape ``u.shape + (k,)`` give ``v.shape + (k,)``."""
        import torch
        import torch.func as tf

        columns = torch.as_tensor(columns, dtype=self.point.dtype, device=self.point.device)

        def one(tangent: Any) -> Any:
            return tf.jvp(self.function, (self.point,), (tangent,))[1]

        if columns.shape[-1] == 1:  # one sweep: no batching
            return one(columns[..., 0])[..., None]
        return tf.vmap(one, in_dims=-1, out_dims=-1, chunk_size=self.chunk_size)(columns)

    def rmatmat(self, rows: Any) -> Any:
        """``rows @ J``: ``rows`` of shape ``(k,) + v.shape`` give ``(k,) + u.shape``."""
        import torch
        import torch.func as tf

        out, pullback = tf.vjp(self.function, self.point)
        return self._pulled(pullback, torch.as_tensor(rows, dtype=out.dtype, device=out.device))

    def _pulled(self, pullback: Callable[[Any], Any], rows: Any) -> Any:
        import torch.func as tf

        def one(row: Any) -> Any:
            return pullback(row)[0]

        if rows.shape[0] == 1:  # one sweep: no batching
            return one(rows[0])[None]
        return tf.vmap(one, chunk_size=self.chunk_size)(rows)

    def dense(self, forward: bool) -> Any:
        """The Jacobian as a tensor of shape ``v.shape + u.shape``, by JVPs (``forward``)
        of the identity's columns or VJPs of its rows."""
        import torch

        n_in = self.point.numel()
        if forward:
            eye = torch.eye(n_in, dtype=self.point.dtype, device=self.point.device)
            columns = eye.reshape(tuple(self.point.shape) + (n_in,))
            out = self.matmat(columns)
            return out.reshape(tuple(out.shape[:-1]) + tuple(self.point.shape))
        import torch.func as tf

        out, pullback = tf.vjp(self.function, self.point)
        out_shape, n_out = tuple(out.shape), out.numel()
        eye = torch.eye(n_out, dtype=out.dtype, device=out.device)
        rows = self._pulled(pullback, eye.reshape((n_out,) + out_shape))
        return rows.reshape(out_shape + tuple(self.point.shape))
