"""``Plan.compile(backend)``: a plan as one straight-line function of its layers' operators."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import MethodError, shown
from ..plans.plan import HOOKS as PLAN_HOOKS
from ..plans.plan import Plan
from .executor import Linearization, program_of

__all__ = ["CompiledPlan", "compile_plan", "BACKENDS"]

BACKENDS = ("numpy", "jax", "torch")
"""The array libraries a plan compiles for."""


def _eye_factory(backend: str) -> Callable[[Sequence[Any]], Callable[[int], Any]]:
    """For a backend: from the operators of a call, ``eye(n)`` in their dtype and device."""

    def first_array(operators: Sequence[Any]) -> Any:
        return next((op for op in operators if hasattr(op, "dtype") and op is not None), None)

    if backend == "numpy":
        return lambda operators: np.eye
    if backend == "jax":

        def jax_eye(operators: Sequence[Any]) -> Callable[[int], Any]:
            import jax.numpy as jnp

            like = first_array(operators)
            dtype = None if like is None else like.dtype
            return lambda n: jnp.eye(n, dtype=dtype)

        return jax_eye

    def torch_eye(operators: Sequence[Any]) -> Callable[[int], Any]:
        import torch

        like = first_array(operators)
        if like is None:
            return lambda n: torch.eye(n)
        return lambda n: torch.eye(n, dtype=like.dtype, device=like.device)

    return torch_eye


def _pair(operator: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """A matrix-free operator as ``(tangent, adjoint)``: V -> J V and R -> R J."""
    if isinstance(operator, Linearization):
        return operator.tangent, operator.adjoint
    if isinstance(operator, tuple) and len(operator) == 2:
        return operator
    matmat, rmatmat = operator.matmat, operator.rmatmat

    def adjoint(rows: Any) -> Any:  # scipy's rmatmat is the conjugate transpose J^H U
        return np.conj(rmatmat(np.conj(rows.T))).T

    return matmat, adjoint


class CompiledPlan:
    """A plan compiled into one straight-line function: call it with one operator per layer.

    Made by :meth:`jacchain.Plan.compile`, once per plan and backend. Calling it runs the
    plan's products and nothing else: **no checks** (use :func:`jacchain.evaluate` for
    checked input). Operators, J_1 first: a 2-D array (dense), the 1-D diagonal
    (diagonal), None (identity), a scipy.sparse matrix (sparse; numpy only), and for a
    matrix-free layer an object with ``matmat``/``rmatmat`` (scipy's LinearOperator
    convention), a :class:`~jacchain.execution.executor.Linearization` or a pair
    ``(tangent, adjoint)`` of callables.

    Attributes
    ----------
    plan : Plan
    backend : str
        ``"numpy"``, ``"jax"`` or ``"torch"``: the array library of the operators (it
        decides how identities are made, when a plan needs one).
    source : str
        The generated function's source (longer plans run the same instructions in a loop).

    Examples
    --------
    >>> import numpy as np, jacchain as jc
    >>> p = jc.plan([1000, 10, 1000, 10, 1000])
    >>> f = p.compile()
    >>> print(f.source)
    def run(J, eye):
        J1, J2, J3, J4 = J
        v1 = J3 @ J2
        v2 = J4 @ v1
        v3 = v2 @ J1
        return v3
    >>> Js = [np.ones((10, 1000)), np.ones((1000, 10)), np.ones((10, 1000)), np.ones((1000, 10))]
    >>> f(Js)[0, 0]
    np.float64(100000.0)
    """

    def __init__(self, plan: Plan, backend: str) -> None:
        kinds = tuple(layer.kind for layer in plan.chain.layers)
        if backend != "numpy" and "sparse" in kinds:
            raise MethodError(
                f"a plan with sparse layers (scipy.sparse) compiles for numpy only, not {backend!r}"
            )
        self.plan = plan
        self.backend = backend
        self._program = program_of(plan, kinds)
        self._run = self._program.function()
        self._matrix_free = [i for i, kind in enumerate(kinds) if kind == "matrix-free"]
        self._needs_eye = any("eye(" in ins.template for ins in self._program.instructions)
        self._eye = _eye_factory(backend)

    @property
    def source(self) -> str:
        """The generated function's source."""
        return self._program.source

    def __call__(self, operators: Sequence[Any]) -> Any:
        if self._matrix_free:
            operators = list(operators)
            for index in self._matrix_free:
                operators[index] = _pair(operators[index])
        eye = self._eye(operators) if self._needs_eye else None
        return self._run(operators, eye)

    def __repr__(self) -> str:
        return f"<jacchain.CompiledPlan ({self.backend}) of {self.plan.describe()}>"


def compile_plan(plan: Plan, backend: str = "numpy") -> CompiledPlan:
    """The plan compiled for ``backend``, made once and cached on the plan (``Plan.compile``).

    Raises
    ------
    MethodError
        For an unknown backend, or sparse layers on a backend other than numpy.

    Examples
    --------
    >>> import jacchain as jc
    >>> p = jc.plan([3, 4, 5])
    >>> compile_plan(p) is p.compile("numpy")
    True
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise MethodError(
            f"unknown backend {shown(backend)}; valid backends: {', '.join(map(repr, BACKENDS))}"
        )
    compiled = plan.cache.setdefault("compiled", {})
    if backend not in compiled:
        compiled[backend] = CompiledPlan(plan, backend)
    return compiled[backend]


PLAN_HOOKS.register("compile", compile_plan)
