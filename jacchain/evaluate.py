"""Execution: arrays in, the plan's products carried out with numpy, the Jacobian out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import JacChainError, NonFiniteError, ShapeError

if TYPE_CHECKING:
    from .chain import Chain
    from .plan import Plan

__all__ = ["evaluate", "check_jacobians"]

_NUMERIC_KINDS = "biufc"


def check_jacobians(
    chain: Chain, jacobians: Any, *, check_finite: bool = True
) -> list[np.ndarray]:
    """Validate one Jacobian per layer (J_1 first) against ``chain`` and return them as arrays.

    Parameters
    ----------
    chain : Chain
    jacobians : sequence of array_like
        ``jacobians[i - 1]`` is J_i, of shape ``(d_i, d_{i-1})``.
    check_finite : bool
        Reject NaN and infinite entries (default). Switch off only when the inputs are
        known to be finite, or NaN propagation is wanted.

    Returns
    -------
    list of numpy.ndarray

    Raises
    ------
    ShapeError
        On a wrong number of Jacobians, a non-numeric array, or a wrong ndim or shape.
    NonFiniteError
        On NaN or infinite entries when ``check_finite`` is true.

    Examples
    --------
    >>> import jacchain as jc
    >>> [J.shape for J in check_jacobians(jc.Chain.from_dims([2, 3]), [np.ones((3, 2))])]
    [(3, 2)]
    """
    if isinstance(jacobians, np.ndarray) or not isinstance(jacobians, Iterable):
        raise ShapeError(
            "jacobians must be a list with one 2-D array per layer (J_1 first), got "
            f"{type(jacobians).__name__}"
        )
    jacobians = list(jacobians)
    k = len(chain)
    if len(jacobians) != k:
        raise ShapeError(f"the chain has {k} layers but {len(jacobians)} Jacobians were given")
    dims = chain.dims
    arrays = []
    for layer, value in enumerate(jacobians, start=1):
        expected = (dims[layer], dims[layer - 1])
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise ShapeError(f"J{layer} is not an array: {err}") from None
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise ShapeError(f"J{layer} must hold numbers, got dtype {array.dtype}")
        if array.ndim != 2 or array.shape != expected:
            raise ShapeError(
                f"J{layer} must have shape (d{layer}, d{layer - 1}) = {expected}, "
                f"got {'ndim ' + str(array.ndim) + ' ' if array.ndim != 2 else ''}"
                f"shape {array.shape}"
            )
        if check_finite and array.dtype.kind in "fc" and not np.isfinite(array).all():
            raise NonFiniteError(
                f"J{layer} has NaN or infinite entries (pass check_finite=False to allow them)"
            )
        arrays.append(array)
    return arrays


def evaluate(plan: Plan, jacobians: Sequence[Any], *, check_finite: bool = True) -> np.ndarray:
    """Compute the full Jacobian J_k ... J_1 by executing the plan's steps with numpy.

    Parameters
    ----------
    plan : Plan
        From :func:`jacchain.plan`.
    jacobians : sequence of array_like
        One per layer in application order (J_1 first), J_i of shape ``(d_i, d_{i-1})``.
    check_finite : bool
        By default NaN or infinite entries are an error (:class:`NonFiniteError`); pass
        False to skip the check (and let non-finite values propagate).

    Returns
    -------
    numpy.ndarray
        The ``(d_k, d_0)`` Jacobian.

    Raises
    ------
    ShapeError, NonFiniteError
        See :func:`check_jacobians`.

    Examples
    --------
    >>> import jacchain as jc
    >>> rng = np.random.default_rng(0)
    >>> dims = [4, 2, 5, 3]
    >>> Js = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(3)]
    >>> np.allclose(jc.evaluate(jc.plan(dims), Js), Js[2] @ Js[1] @ Js[0])
    True
    """
    from .plan import Plan

    if not isinstance(plan, Plan):
        raise JacChainError(f"evaluate expects a Plan, got {type(plan).__name__}")
    matrices = check_jacobians(plan.chain, jacobians, check_finite=check_finite)
    segments = dict(enumerate(matrices, start=1))
    for _, lo, split, _hi in plan.step_array.tolist():
        upper = segments.pop(split + 1)
        segments[lo] = upper @ segments[lo]
    result = segments[1]
    return result.copy() if len(plan.chain) == 1 else result
