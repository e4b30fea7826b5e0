"""The derivative of one JAX equation at a point, applied by ``jax.jvp`` and ``jax.vjp``: the
value of a matrix-free :class:`~jacchain.programs.partials.Partial`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LinearOperator"]


@dataclass(frozen=True, eq=False)
class LinearOperator:
    """The derivative of ``function`` at ``point``, applied through ``jax.jvp`` and ``jax.vjp``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> op = LinearOperator(jnp.sin, jnp.zeros(2))
    >>> op.matmat(jnp.ones((2, 3))).shape, op.rmatmat(jnp.ones((4, 2))).shape
    ((2, 3), (4, 2))
    """

    function: Any
    point: Any
    pullback: Any = None
    """Optional: the VJP at ``point`` from the program's own forward pass (no recomputation)."""
    chunk_size: int | None = None
    """Optional: the most directions one batched sweep takes (``jax.lax.map``'s batches);
    memory grows with it, the number of sweeps does not change."""

    def _batched(self, one: Any, leading: Any) -> Any:
        """``one`` over the leading axis of ``leading``: vmapped, or in chunks."""
        import jax

        if self.chunk_size is None or leading.shape[0] <= self.chunk_size:
            return jax.vmap(one)(leading)
        return jax.lax.map(one, leading, batch_size=self.chunk_size)

    def matmat(self, columns: Any) -> Any:
        """``J @ columns``: ``columns`` of shape ``u.shape + (k,)`` give ``v.shape + (k,)``."""
        import jax

        columns = columns.astype(self.point.dtype)

        def one(tangent: Any) -> Any:
            return jax.jvp(self.function, (self.point,), (tangent,))[1]

        if columns.shape[-1] == 1:  # one sweep: no batching
            return one(columns[..., 0])[..., None]
        import jax.numpy as jnp

        return jnp.moveaxis(self._batched(one, jnp.moveaxis(columns, -1, 0)), 0, -1)

    def rmatmat(self, rows: Any) -> Any:
        """``rows @ J``: ``rows`` of shape ``(k,) + v.shape`` give ``(k,) + u.shape``."""
        import jax

        if self.pullback is not None:
            one = self.pullback
        else:
            out, pullback = jax.vjp(self.function, self.point)
            rows = rows.astype(out.dtype)

            def one(row: Any) -> Any:
                return pullback(row)[0]

        if rows.shape[0] == 1:  # one sweep: no batching
            return one(rows[0])[None]
        return self._batched(one, rows)

    def dense(self, forward: bool) -> Any:
        """The Jacobian as an array, by ``jax.jacfwd`` (``forward``) or ``jax.jacrev``."""
        import jax

        return (jax.jacfwd if forward else jax.jacrev)(self.function)(self.point)
