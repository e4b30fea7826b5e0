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

from ..chains.cost import DIAGONAL, IDENTITY
from ..chains.operations import Operation
from ..plans.plan import Plan
from .program import Program, dense_rule, product_rule, program, run_template

__all__ = ["Linearization", "execute", "sweeps_needed", "program_of", "dense", "multiply"]


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


def dense(value: tuple[int, Any], eye: Callable[[int], Any]) -> Any:
    """A structured value ``(code, payload)`` as a dense 2-D array (``eye`` for identities).

    Examples
    --------
    >>> import numpy as np
    >>> from jacchain.chains.cost import DIAGONAL
    >>> dense((DIAGONAL, np.array([1.0, 2.0])), np.eye)
    array([[1., 0.],
           [0., 2.]])
    """
    code, payload = value
    if code == IDENTITY:
        return eye(payload)
    size = payload.shape[0] if code == DIAGONAL else payload.shape[1]
    return run_template(dense_rule(code, size), payload, eye=eye)


def multiply(upper: tuple[int, Any], lower: tuple[int, Any]) -> tuple[int, Any]:
    """``upper @ lower`` of two structured values ``(code, payload)``, by the program's rules.

    Examples
    --------
    >>> import numpy as np
    >>> from jacchain.chains.cost import DENSE, DIAGONAL
    >>> multiply((DIAGONAL, np.array([1.0, 2.0])), (DENSE, np.ones((2, 2))))[1]
    array([[1., 1.],
           [2., 2.]])
    """
    (a_code, a), (b_code, b) = upper, lower
    inner = b if b_code == IDENTITY else b.shape[0]
    code, template = product_rule(a_code, b_code, inner)
    if template == "{0}":
        return upper
    if template == "{1}":
        return lower
    return code, run_template(template, a, b)


def program_of(p: Plan, kinds: tuple[str, ...]) -> Program:
    """The plan's :class:`~jacchain.execution.program.Program` for layers of these kinds, built once.

    Examples
    --------
    >>> import jacchain as jc
    >>> p = jc.plan([3, 4, 5])
    >>> program_of(p, ("dense", "dense")) is program_of(p, ("dense", "dense"))
    True
    """
    programs = p.cache.setdefault("programs", {})
    found = programs.get(kinds)
    if found is None:
        found = programs[kinds] = program(p.dims, kinds, p.step_array)
    return found


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
    pushing the identity's columns (or pulling its rows). The walk is recorded once per
    plan (and kinds of layers) as a straight-line program
    (:mod:`jacchain.execution.program`), so a call costs the products and little else;
    :func:`jacchain.evaluate` runs the same program on numpy operators.

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
    kinds = tuple(layer.kind for layer in layers)
    payloads = [
        (layer.tangent, layer.adjoint) if layer.kind == "matrix-free" else layer.matrix
        for layer in layers
    ]
    return program_of(p, kinds).run(payloads, eye)
