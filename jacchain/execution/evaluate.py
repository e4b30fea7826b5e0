"""Execution: operators in, the plan's products and sweeps carried out with numpy, the Jacobian out.

One operator per layer, by the layer's kind: a 2-D array (dense), a 1-D array holding the
diagonal (diagonal), None (identity), a scipy.sparse matrix (sparse), or any object with
``matmat(V) = J V`` and ``rmatmat(U) = J^T U`` (matrix-free; the
scipy.sparse.linalg.LinearOperator convention, duck-typed). Accumulated segments keep
their structure (identity, diagonal, sparse, dense) as the cost model says; tangent and
adjoint sweeps produce dense blocks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..chains.chain import Chain, Layer
from ..errors import JacChainError, NonFiniteError, OperatorError, ShapeError
from ..plans.plan import HOOKS as PLAN_HOOKS
from ..plans.plan import Plan
from .dask_evaluate import evaluate_dask, is_dask_array
from .directions import ChunkedOperator, check_chunk_size, cluster_client
from .executor import program_of

__all__ = ["evaluate", "check_operators", "check_jacobians"]

_NUMERIC_KINDS = "biufc"


def _as_numeric(layer: int, value: Any, what: str) -> np.ndarray:
    """``value`` as a numeric numpy array; integers and bools become float64."""
    if _is_operator(value):
        raise OperatorError(
            f"J{layer} is declared with explicit entries ({what}) but a "
            f"{type(value).__name__} with matmat/rmatmat was given: declare the layer "
            "'matrix-free' (jc.Layer(n_in, n_out, 'matrix-free', edges=...)) to sweep "
            "through it, or pass its entries"
        )
    try:
        array = np.asarray(value)
    except Exception as err:  # e.g. a torch tensor that requires grad (RuntimeError)
        raise ShapeError(
            f"J{layer} ({type(value).__name__}) cannot be read as a numpy array "
            f"({type(err).__name__}: {err}); pass {what} (a torch tensor that requires "
            "grad: J.detach(), or use jacchain.torch)"
        ) from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise ShapeError(
            f"J{layer} must hold numbers, got dtype {array.dtype} from a "
            f"{type(value).__name__}; pass {what}"
        )
    return _floating(array)


def _floating(array: np.ndarray) -> np.ndarray:
    """Integer and bool arrays as float64 (their products must not wrap or saturate)."""
    return array.astype(np.float64) if array.dtype.kind in "biu" else array


def _is_operator(value: Any) -> bool:
    return callable(getattr(value, "matmat", None)) and callable(getattr(value, "rmatmat", None))


def _check_finite(layer: int, data: np.ndarray, check: bool) -> None:
    if check and data.dtype.kind in "fc" and not np.isfinite(data).all():
        raise NonFiniteError(
            f"J{layer} has NaN or infinite entries (pass check_finite=False to allow them)"
        )


def _is_sparse(value: Any) -> bool:
    return hasattr(value, "tocsr") and hasattr(value, "nnz") and hasattr(value, "shape")


def _check_operator(number: int, layer: Layer, value: Any, check_finite: bool) -> Any:
    expected = (layer.n_out, layer.n_in)
    kind = layer.kind
    if kind == "identity":
        if value is not None:
            raise OperatorError(
                f"J{number} is an identity layer: pass None, got {type(value).__name__}"
            )
        return None
    if kind == "matrix-free":
        if not _is_operator(value):
            raise OperatorError(
                f"J{number} is matrix-free: pass an object with matmat(V) = J V and "
                f"rmatmat(U) = J^T U, got {type(value).__name__}"
            )
        shape = getattr(value, "shape", None)
        if shape is not None and tuple(shape) != expected:
            raise ShapeError(
                f"J{number} must have shape {expected}, its operator has {tuple(shape)}"
            )
        return value
    if kind == "sparse":
        if not _is_sparse(value):
            if isinstance(value, np.ndarray) and value.ndim == 2:
                # Given densely (e.g. an assembled block Jacobian): checked like a dense one.
                return _check_operator(number, Layer(layer.n_in, layer.n_out), value, check_finite)
            raise OperatorError(
                f"J{number} is sparse: pass a scipy.sparse matrix (or a 2-D array), got "
                f"{type(value).__name__}"
            )
        if tuple(value.shape) != expected:
            raise ShapeError(
                f"J{number} must have shape (d{number}, d{number - 1}) = {expected}, got shape {tuple(value.shape)}"
            )
        if value.nnz > layer.nnz:
            raise ShapeError(
                f"J{number} stores {value.nnz} entries but its layer declares nnz={layer.nnz}"
            )
        _check_finite(number, np.asarray(value.data), check_finite)
        matrix = value.tocsr()
        return matrix.astype(np.float64) if matrix.dtype.kind in "biu" else matrix
    if kind == "diagonal":
        array = _as_numeric(number, value, "a 1-D array (the diagonal)")
        if array.shape != (layer.n_in,):
            raise ShapeError(
                f"J{number} is diagonal: pass its diagonal as a 1-D array of length "
                f"{layer.n_in}, got shape {array.shape}"
            )
        _check_finite(number, array, check_finite)
        return array
    if _is_sparse(value):
        if tuple(value.shape) != expected:
            raise ShapeError(
                f"J{number} must have shape (d{number}, d{number - 1}) = {expected}, got a "
                f"sparse matrix of shape {tuple(value.shape)}"
            )
        value = value.toarray()  # a valid Jacobian, multiplied densely as its layer says
    array = _as_numeric(number, value, "a 2-D array")
    if array.ndim != 2 or array.shape != expected:
        raise ShapeError(
            f"J{number} must have shape (d{number}, d{number - 1}) = {expected}, "
            f"got {'ndim ' + str(array.ndim) + ' ' if array.ndim != 2 else ''}"
            f"shape {array.shape}"
        )
    _check_finite(number, array, check_finite)
    return array


def check_operators(chain: Chain, operators: Any, *, check_finite: bool = True) -> list[Any]:
    """Validate one operator per layer (J_1 first) against the layers of ``chain``.

    Parameters
    ----------
    chain : Chain
    operators : sequence
        By layer kind: a 2-D array (or a scipy.sparse matrix, densified) of shape
        ``(d_i, d_{i-1})`` (dense), a 1-D array of the
        diagonal (diagonal), None (identity), a scipy.sparse matrix with at most the
        declared nnz, or a 2-D array (sparse; multiplied densely, its nonzeros are not
        counted), an object with ``matmat``/``rmatmat`` (matrix-free; ``rmatmat`` follows
        scipy's LinearOperator and returns the conjugate transpose product J^H U).
    check_finite : bool
        Reject NaN and infinite entries (default); for matrix-free layers the results of
        their products are checked.

    Returns
    -------
    list
        The operators, arrays converted with :func:`numpy.asarray` (integer and bool
        arrays to float64), sparse ones to CSR.

    Raises
    ------
    ShapeError
        On a wrong number of operators, a non-numeric array, or a wrong ndim or shape.
    OperatorError
        On an operator that does not fit its layer's kind.
    NonFiniteError
        On NaN or infinite entries when ``check_finite`` is true.

    Examples
    --------
    >>> import jacchain as jc
    >>> chain = jc.Chain([jc.Layer(2, 2, "diagonal"), jc.Layer(2, 3)])
    >>> [np.shape(op) for op in check_operators(chain, [np.ones(2), np.ones((3, 2))])]
    [(2,), (3, 2)]
    """
    if isinstance(operators, np.ndarray) or not isinstance(operators, Iterable):
        raise ShapeError(
            f"pass a list with one operator per layer (J_1 first), got {type(operators).__name__}"
        )
    operators = list(operators)
    k = len(chain)
    if len(operators) != k:
        raise ShapeError(f"the chain has {k} layers but {len(operators)} Jacobians were given")
    return [
        _check_operator(number, layer, value, check_finite)
        for number, (layer, value) in enumerate(zip(chain.layers, operators, strict=True), 1)
    ]


def check_jacobians(chain: Chain, jacobians: Any, *, check_finite: bool = True) -> list[Any]:
    """Alias of :func:`check_operators` (for chains of dense layers: 2-D arrays).

    Examples
    --------
    >>> import jacchain as jc
    >>> [J.shape for J in check_jacobians(jc.Chain.from_dims([2, 3]), [np.ones((3, 2))])]
    [(3, 2)]
    """
    return check_operators(chain, jacobians, check_finite=check_finite)


def _checked(
    number: int, result: Any, shape: tuple[int, int], check_finite: bool, method: str
) -> np.ndarray:
    """A product an operator returned, as a numeric array of the expected shape."""
    given = type(result).__name__
    try:
        result = np.asarray(result)
    except Exception as err:
        raise OperatorError(
            f"J{number}'s {method} returned a {given} that is not an array: {err}"
        ) from None
    if result.dtype.kind not in _NUMERIC_KINDS:
        got = given if result.dtype.kind == "O" else f"dtype {result.dtype}"
        raise OperatorError(
            f"J{number}'s {method} must return a numeric array of shape {shape}, got {got}"
        )
    if result.shape != shape:
        raise ShapeError(
            f"J{number}'s {method} returned shape {result.shape}, expected {shape}"
        )
    _check_finite(number, result, check_finite)
    return _floating(result)


def _call(number: int, method: str, function: Any, block: np.ndarray) -> Any:
    """Call an operator's product; its own exceptions are reported as the layer's."""
    try:
        return function(block)
    except Exception as err:
        raise OperatorError(
            f"J{number}'s {method} failed on a block of shape {block.shape}: "
            f"{type(err).__name__}: {err}"
        ) from err


def _payload(number: int, layer: Layer, operator: Any, check: bool) -> tuple[str, Any]:
    """The kind and payload of one checked operator, as a plan's program takes them."""
    if layer.kind == "sparse" and not _is_sparse(operator):
        return "dense", operator
    if layer.kind != "matrix-free":
        return layer.kind, operator

    def tangent(block: np.ndarray) -> np.ndarray:
        result = _call(number, "matmat", operator.matmat, block)
        return _checked(number, result, (layer.n_out, block.shape[1]), check, "matmat")

    def adjoint(rows: np.ndarray) -> np.ndarray:
        # R J = (J^T R^T)^T, and scipy's rmatmat is the conjugate transpose J^H U.
        result = _call(number, "rmatmat", operator.rmatmat, np.conj(rows.T))
        result = _checked(number, result, (layer.n_in, rows.shape[0]), check, "rmatmat")
        return np.conj(result).T

    return "matrix-free", (tangent, adjoint)


_PER_ARRAY = 2000
"""A finiteness scan's fixed cost per array (two numpy calls), in entries scanned: measured
~2 us per array against ~1 ns per entry on this machine."""


class _Layout(NamedTuple):
    """What a call with trusted arrays must look like, prepared once per plan."""

    kinds: tuple[str, ...]
    shapes: tuple[tuple[int, ...] | None, ...]
    scan_result: bool


def _layout(plan: Plan) -> _Layout | None:
    """The trusted layout of a plan whose layers are dense, diagonal or identity; else None."""
    cache = plan.cache
    if "layout" not in cache:
        layers = plan.chain.layers
        kinds = tuple(layer.kind for layer in layers)
        if not set(kinds) <= {"dense", "diagonal", "identity"}:
            cache["layout"] = None
        else:
            shapes = tuple(
                None
                if layer.kind == "identity"
                else (layer.n_in,)
                if layer.kind == "diagonal"
                else layer.shape
                for layer in layers
            )
            arrays = [shape for shape in shapes if shape is not None]
            inputs = sum(int(np.prod(shape)) for shape in arrays) + _PER_ARRAY * len(arrays)
            rows, cols = plan.shape
            cache["layout"] = _Layout(kinds, shapes, rows * cols + _PER_ARRAY < inputs)
    return cache["layout"]


def _trusted(layout: _Layout | None, operators: Any) -> bool:
    """Whether ``operators`` are float or complex arrays of exactly the layout's shapes.

    Then they need no conversion and every check but finiteness is done: O(k) comparisons.
    """
    if layout is None or type(operators) not in (list, tuple):
        return False
    if len(operators) != len(layout.shapes):
        return False
    for operator, shape in zip(operators, layout.shapes, strict=True):
        if shape is None:
            if operator is not None:
                return False
        elif (
            type(operator) is not np.ndarray
            or operator.shape != shape
            or operator.dtype.kind not in "fc"
        ):
            return False
    return True


def _all_finite(array: np.ndarray) -> bool:
    """No NaN or infinity: one sum (NaN and inf reach it), then exactly if the sum is not finite."""
    total = array.sum()
    finite = np.isfinite(total) if array.dtype.kind == "c" else math.isfinite(total)
    return bool(finite) or bool(np.isfinite(array).all())


def _check_trusted_finite(operators: Sequence[Any], result: np.ndarray, scan_result: bool) -> None:
    """Refuse NaN or infinite Jacobians, scanning whichever is smaller: them, or the result.

    A NaN or infinity in any dense or diagonal Jacobian reaches every product it enters
    (0 * NaN is NaN), so a finite result proves finite inputs; a non-finite result is then
    traced back to the Jacobian at fault (an overflow of finite products is let through,
    as the inputs are what is checked).
    """
    if scan_result and _all_finite(result):
        return
    for number, operator in enumerate(operators, 1):
        if operator is not None and not _all_finite(operator):
            _check_finite(number, operator, True)


def evaluate(plan: Plan, operators: Sequence[Any], *, check_finite: bool = True,
             chunk_size: int | None = None, client: Any = None) -> np.ndarray:
    """Compute the full Jacobian J_k ... J_1 by executing the plan's steps.

    Parameters
    ----------
    plan : Plan
        From :func:`jacchain.plan`.
    operators : sequence
        One per layer in application order (J_1 first): for a dense layer its Jacobian,
        a 2-D array of shape ``(d_i, d_{i-1})``; for other kinds see
        :func:`check_operators`. A matrix-free layer is asked for exactly the tangent and
        adjoint directions the plan accounts for, never more.
    check_finite : bool
        By default NaN or infinite entries in the Jacobians (and in what matrix-free
        operators return) are an error (:class:`NonFiniteError`, naming the layer); pass
        False to skip the check and let non-finite values propagate. The check costs one
        pass over the Jacobians, or over the result when that is smaller (a non-finite
        Jacobian reaches it); an overflow of finite products is not an error.
    chunk_size : int, optional
        Matrix-free layers: the most directions one ``matmat`` / ``rmatmat`` call takes
        (:class:`~jacchain.execution.directions.ChunkedOperator`), which bounds what the
        operator allocates per direction.
    client : distributed.Client, optional
        With ``chunk_size``: run the plan on this Dask cluster (by default on the active
        Client, if any, else in turn in this process): the Jacobian comes back as a lazy
        dask array, each matrix-free sweep a block of ``chunk_size`` directions a task, the
        operator sent once to each worker.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        The ``(d_k, d_0)`` Jacobian; a lazy dask array when any Jacobian is a dask array
        (:func:`jacchain.execution.dask_evaluate.evaluate_dask`: each product a blocked
        dask matmul, numpy Jacobians wrapped to match, nothing computed and no finiteness
        scan until the result is computed or stored).

    Raises
    ------
    ShapeError, OperatorError, NonFiniteError
        See :func:`check_operators`; also an OperatorError naming the layer when a
        matrix-free operator's ``matmat`` or ``rmatmat`` fails or returns anything but a
        numeric array of the right shape.

    Notes
    -----
    Speed: the plan is compiled once into a straight-line program (:meth:`Plan.compile`)
    and cached on the plan. When every Jacobian is already a float or complex numpy
    array of its layer's shape (dense, or the 1-D diagonal; None for identities), the
    checks are O(k) comparisons plus the finiteness scan; anything else (lists, integer
    dtypes, sparse or matrix-free layers) takes the full path of :func:`check_operators`.

    Dtypes: integer and boolean Jacobians (and operator results) are converted to float64
    before any product, so that products never wrap around or saturate; floating and
    complex dtypes are kept and combined by numpy's promotion rules.

    Examples
    --------
    >>> import jacchain as jc
    >>> rng = np.random.default_rng(0)
    >>> dims = [4, 2, 5, 3]
    >>> Js = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(3)]
    >>> np.allclose(jc.evaluate(jc.plan(dims), Js), Js[2] @ Js[1] @ Js[0])
    True
    """
    if not isinstance(plan, Plan):
        raise JacChainError(f"evaluate expects a Plan, got {type(plan).__name__}")
    listed = isinstance(operators, (list, tuple))  # anything else: check_operators explains
    chunk_size = check_chunk_size(chunk_size)
    on_cluster = cluster_client(chunk_size, client) is not None
    if listed and (on_cluster or any(is_dask_array(op) for op in operators)):
        # lazy: no finiteness scan, nothing computed; sweeps as blocks on the workers
        return evaluate_dask(plan, operators, chunk_size, client)
    if chunk_size is not None and listed:  # a wrong count is left to check_operators
        kinds = [layer.kind for layer in plan.chain.layers] + [None] * len(operators)
        operators = [ChunkedOperator(op, chunk_size) if kind == "matrix-free" and _is_operator(op)
                     else op for kind, op in zip(kinds, operators, strict=False)]
    layout = _layout(plan)
    if _trusted(layout, operators):
        program = program_of(plan, layout.kinds)
        result = program.run(operators, np.eye)
        if check_finite:
            _check_trusted_finite(operators, result, layout.scan_result)
    else:
        chain = plan.chain
        ops = check_operators(chain, operators, check_finite=check_finite)
        kinds, payloads = zip(
            *(
                _payload(number, layer, op, check_finite)
                for number, (layer, op) in enumerate(zip(chain.layers, ops, strict=True), 1)
            ),
            strict=True,
        )
        program = program_of(plan, kinds)
        result = program.run(list(payloads), np.eye)
    result = np.asarray(result)
    return result.copy() if program.returns_an_input else result


PLAN_HOOKS.register("evaluate", evaluate)
