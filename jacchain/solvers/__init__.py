"""Planning methods by name: each solver is a pure function from a Chain to a step array."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..chains.chain import Chain
from ..chains.cost import layer_table
from ..chains.steps import forward_steps, reverse_steps
from ..errors import MethodError, shown
from .approx import approx_steps
from .dp import dp_steps
from .generalized import fits_generalized, generalized_steps, require_dense
from .hu_shing import hu_shing_steps
from .windowed import windowed_steps

__all__ = [
    "Solver",
    "SOLVERS",
    "PURE_METHODS",
    "BUILTIN_METHODS",
    "AUTO_NOTE",
    "register_solver",
    "get_solver",
    "method_names",
    "plan_hint",
    "is_exact",
    "forward_steps",
    "reverse_steps",
]

Solver = Callable[[Chain, "int | None"], np.ndarray]
"""The solver protocol: ``solver(chain, memory_limit) -> steps``, an int array of rows
``(op, lo, split, hi)`` in execution order. ``memory_limit`` is None or the largest tape an
adjoint step may record (it only matters for chains with matrix-free layers)."""

SOLVERS: dict[str, Solver] = {}

AUTO_NOTE = (
    "'auto' plans dense chains with Hu-Shing's exact O(k log k) algorithm at every size: "
    "measured side by side (experiments/planner_speed.py) it is faster than the vectorized "
    "O(k^3) DP from k = 2 up, and both are exact, so no size threshold is needed. Chains "
    "with structured or matrix-free layers are planned exactly by the generalized O(k^3) DP "
    "up to its limit (500 layers; 200 when costs exceed int64), and beyond it by "
    "'windowed' (the exact DP within windows of 32 layers, then over the windows), which is "
    "not optimal in general but finishes in seconds at 100,000 layers."
)

PURE_METHODS = frozenset({"forward", "reverse"})
"""Methods whose bracketing is returned as asked; every other method's plan is replaced by a
pure mode whenever that pure mode costs no more (see :func:`jacchain.plan`)."""


def register_solver(name: str, solver: Solver) -> None:
    """Make ``solver`` available as ``jc.plan(chain, method=name)``.

    Examples
    --------
    >>> from jacchain.solvers import register_solver, forward_steps
    >>> register_solver("my-forward", lambda chain, memory_limit: forward_steps(len(chain)))
    >>> import jacchain as jc
    >>> jc.plan([3, 4, 5, 6], method="my-forward").mode
    'forward'
    >>> del SOLVERS["my-forward"]
    """
    if not isinstance(name, str) or not name:
        raise MethodError(f"a solver name must be a non-empty string, got {shown(name)}")
    if not callable(solver):
        raise MethodError(f"solver {shown(name)} is not callable")
    SOLVERS[name] = solver


def method_names() -> list[str]:
    """The valid method names, sorted.

    Examples
    --------
    >>> "dp" in method_names()
    True
    """
    return sorted(SOLVERS)


def get_solver(name: object) -> Solver:
    """The solver registered as ``name``; a MethodError listing the valid names otherwise.

    Examples
    --------
    >>> get_solver("dp") is SOLVERS["dp"]
    True
    """
    if not isinstance(name, str) or name not in SOLVERS:
        raise MethodError(
            f"unknown method {shown(name)}; valid methods: {', '.join(repr(m) for m in method_names())}"
            + plan_hint(name)
        )
    return SOLVERS[name]


def plan_hint(method: object) -> str:
    """The end of an unknown-method message when the method given is a plan: where plans go.

    Examples
    --------
    >>> import jacchain as jc
    >>> plan_hint(jc.plan([2, 3])), plan_hint("dq")
    ('; a plan to follow is given as plan=, not method=', '')
    """
    if callable(getattr(method, "to_json", None)) and hasattr(method, "cost"):
        return "; a plan to follow is given as plan=, not method="
    return ""


def _matrix_free(chain: Chain) -> np.ndarray | None:
    return None if chain.is_dense else layer_table(chain).matrix_free


def _dense_only(name: str, solver: Callable[[Chain], np.ndarray]) -> Solver:
    def run(chain: Chain, memory_limit: int | None = None) -> np.ndarray:
        require_dense(name, chain)
        return solver(chain)

    run.__doc__ = solver.__doc__
    return run


def _exact(dense_solver: Callable[[Chain], np.ndarray]) -> Solver:
    def run(chain: Chain, memory_limit: int | None = None) -> np.ndarray:
        if chain.is_dense:
            return dense_solver(chain)
        return generalized_steps(chain, memory_limit)

    run.__doc__ = dense_solver.__doc__
    return run


def _auto(chain: Chain, memory_limit: int | None = None) -> np.ndarray:
    """Hu-Shing for dense chains; the generalized DP within its limit, else 'windowed'."""
    if chain.is_dense:
        return hu_shing_steps(chain)
    if fits_generalized(chain, memory_limit):
        return generalized_steps(chain, memory_limit)
    return windowed_steps(chain, memory_limit)


def is_exact(method: str, chain: Chain, memory_limit: int | None = None) -> bool:
    """Whether ``method`` plans ``chain`` optimally (reports say "optimal cost" only then).

    Examples
    --------
    >>> from jacchain import Chain, Layer
    >>> is_exact("auto", Chain.from_dims([3, 4, 5])), is_exact("approx", Chain.from_dims([3, 4]))
    (True, False)
    >>> is_exact("auto", Chain([Layer(2, 2, "diagonal")] * 501))
    False
    """
    if method in ("dp", "hu-shing"):
        return True
    if method == "auto":
        return chain.is_dense or fits_generalized(chain, memory_limit)
    return False


register_solver("auto", _auto)
register_solver("dp", _exact(dp_steps))
register_solver("hu-shing", _dense_only("hu-shing", hu_shing_steps))
register_solver("approx", _dense_only("approx", approx_steps))
register_solver("windowed", windowed_steps)
register_solver(
    "forward", lambda chain, memory_limit=None: forward_steps(len(chain), _matrix_free(chain))
)
register_solver(
    "reverse", lambda chain, memory_limit=None: reverse_steps(len(chain), _matrix_free(chain))
)

BUILTIN_METHODS = frozenset(SOLVERS)
"""The methods jacchain ships; the steps of any other registered solver are checked."""
