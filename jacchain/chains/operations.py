"""The operations a plan's steps perform, stored as small ints in a plan's step array."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Operation"]


class Operation(IntEnum):
    """What a step ``(op, lo, split, hi)`` does.

    Examples
    --------
    >>> Operation.TANGENT.label
    'tangent'
    >>> Operation.from_label("accumulate-adjoint")
    <Operation.ACCUMULATE_ADJOINT: 4>
    """

    PRODUCT = 0
    """(J_hi ... J_{split+1}) (J_split ... J_lo): multiply two accumulated Jacobians."""
    TANGENT = 1
    """Carry the d_{lo-1} columns of the accumulated J_split...J_lo forward through layers
    split+1..hi by tangent sweeps (Jacobian-vector products)."""
    ADJOINT = 2
    """Carry the d_hi rows of the accumulated J_hi...J_{split+1} back through layers
    lo..split by adjoint sweeps (vector-Jacobian products)."""
    ACCUMULATE_TANGENT = 3
    """Form the Jacobian of matrix-free layer lo (= split = hi) by d_{lo-1} tangent sweeps."""
    ACCUMULATE_ADJOINT = 4
    """Form the Jacobian of matrix-free layer lo (= split = hi) by d_lo adjoint sweeps."""

    @property
    def label(self) -> str:
        """The name used in reports and JSON."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_label(cls, label: str) -> Operation:
        """The operation named ``label`` (KeyError if none is)."""
        return cls[label.upper().replace("-", "_")]
