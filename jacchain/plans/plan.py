"""The plan: an immutable record of which products to form, in which order, at what cost."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np

from ..chains.chain import Chain, as_chain
from ..chains.cost import (
    DENSE,
    exact_array,
    exact_sum,
    fits_int64,
    forward_cost,
    layer_table,
    reverse_cost,
    step_costs,
    step_tapes,
)
from ..chains.hooks import Hooks
from ..chains.operations import Operation
from ..chains.steps import forward_steps, reverse_steps, segment_label
from ..chains.validate import check_steps
from ..errors import MethodError, PlanFormatError
from ..solvers import BUILTIN_METHODS, PURE_METHODS, get_solver
from ..solvers.bounded import bounded_steps, check_max_intermediate, intermediate_peak
from ..solvers.generalized import (
    _check_memory_limit,
    accumulation_costs,
    fits_generalized,
    generalized_table,
)
from ..solvers.hu_shing import hu_shing_steps
from .display import Displayed, ReportParts
from .figure import plan_figure
from .report import describe, report_parts
from .report import report as plan_report
from .serialization import plan_from_json, plan_to_json

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Plan", "Step", "Segment", "plan", "HOOKS"]

logger = logging.getLogger(__name__)

HOOKS = Hooks("jacchain.Plan")
"""Implementations from higher floors: ``"evaluate"`` and ``"compile"`` (registered by
jacchain.execution)."""


class Segment(NamedTuple):
    """The consecutive layers ``first..last``; their product is J_last ... J_first.

    Examples
    --------
    >>> Segment(2, 4).label
    'J4..J2'
    """

    first: int
    last: int

    @property
    def label(self) -> str:
        """``"J3"`` for one layer, ``"J5..J3"`` for the product J5 J4 J3."""
        return segment_label(self.first, self.last)


@dataclass(frozen=True)
class Step:
    """One step of a plan.

    Attributes
    ----------
    index : int
        Position in execution order, from 1.
    operation : str
        ``"product"``: multiply the accumulated Jacobians of ``left`` and ``right``;
        ``"tangent"``: carry the columns of the accumulated ``right`` forward through the
        layers of ``left`` by tangent sweeps; ``"adjoint"``: carry the rows of the
        accumulated ``left`` back through the layers of ``right`` by adjoint sweeps;
        ``"accumulate-tangent"`` / ``"accumulate-adjoint"``: form the Jacobian of one
        matrix-free layer (``left == right``) by tangent or adjoint sweeps.
    left, right : Segment
        The output-side part (layers split+1..hi) and the input-side part (lo..split).
    shape : tuple of int
        Shape of the result, ``(d_hi, d_{lo-1})``.
    cost : int
        Multiply-adds of this step.
    tape : int
        Memory the step records (adjoint sweeps through matrix-free layers), else 0.

    Examples
    --------
    >>> import jacchain as jc
    >>> step = jc.plan([1000, 10, 1000, 10, 1000]).steps[0]
    >>> step.operation, step.left.label, step.right.label, step.shape, step.cost
    ('product', 'J3', 'J2', (10, 10), 100000)
    """

    index: int
    operation: str
    left: Segment
    right: Segment
    shape: tuple[int, int]
    cost: int
    tape: int = 0

    @property
    def result(self) -> Segment:
        """The segment this step produces."""
        return Segment(self.right.first, self.left.last)

    @property
    def is_sweep(self) -> bool:
        """True for tangent, adjoint and accumulation steps (products of matrices are not)."""
        return self.operation != "product"


class StepSequence(Sequence[Step]):
    """A read-only, lazily materialized view of a plan's steps (cheap for millions of steps)."""

    __slots__ = ("_dims", "_steps", "_costs", "_tapes")

    def __init__(
        self, dims: np.ndarray, steps: np.ndarray, costs: np.ndarray, tapes: list[int] | None
    ) -> None:
        self._dims, self._steps, self._costs, self._tapes = dims, steps, costs, tapes

    def __len__(self) -> int:
        return len(self._steps)

    @overload
    def __getitem__(self, index: int) -> Step: ...

    @overload
    def __getitem__(self, index: slice) -> list[Step]: ...

    def __getitem__(self, index: int | slice) -> Step | list[Step]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"step index {index} out of range for a plan of {n} steps")
        index %= n
        op, lo, split, hi = (int(v) for v in self._steps[index])
        accumulation = lo == hi
        return Step(
            index=index + 1,
            operation=Operation(op).label,
            left=Segment(hi, hi) if accumulation else Segment(split + 1, hi),
            right=Segment(lo, lo) if accumulation else Segment(lo, split),
            shape=(int(self._dims[hi]), int(self._dims[lo - 1])),
            cost=int(self._costs[index]),
            tape=0 if self._tapes is None else self._tapes[index],
        )

    def __iter__(self) -> Iterator[Step]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<{len(self)} steps>"


@dataclass(frozen=True, eq=False, repr=False)
class Plan(Displayed):
    """An immutable plan for computing the Jacobian J_k ... J_1 of a chain.

    Build plans with :func:`jacchain.plan`; read them, print them, evaluate them.

    Conventions: ``dims = [d0, ..., dk]``; layer i maps R^{d_{i-1}} to R^{d_i} and its
    Jacobian J_i has shape ``(d_i, d_{i-1})``; layers are numbered 1..k in application
    order; the full Jacobian has shape ``(d_k, d_0)``. Costs count scalar multiply-adds:
    an (a x b) by (b x c) product costs a*b*c; FLOPs are twice that. Every cost is an
    exact Python int.

    Attributes
    ----------
    chain : Chain
        The chain planned for.
    method : str
        The method that produced the plan.
    cost, forward_cost, reverse_cost : int
        Multiply-adds of this plan, of forward mode J_k(...(J_2 J_1)) and of reverse mode
        ((J_k J_{k-1})...)J_1.
    mode : str
        ``"forward"``, ``"reverse"`` or ``"mixed"`` (a chain of 1 or 2 layers is forward).
    largest_intermediate : int
        Elements of the largest matrix any step produces (the result included); 0 when
        no product is formed.
    memory_limit : int or None
        The largest tape an adjoint step was allowed to record.
    largest_tape : int
        The largest tape any step of this plan records (0 without matrix-free layers).

    Notes
    -----
    For chains with structured or matrix-free layers, forward mode accumulates from the
    input side one layer at a time (explicit layers by products, matrix-free ones by d0
    tangent sweeps), reverse mode symmetrically from the output side with d_k adjoint
    sweeps, and :attr:`preaccumulation_cost` is the cost of accumulating every layer on
    its own and then multiplying in the optimal order. The cost model is stated in
    :mod:`jacchain.chains.cost`.

    Examples
    --------
    >>> import jacchain as jc
    >>> p = jc.plan([1000, 10, 1000, 10, 1000])
    >>> p.mode, p.cost, p.forward_cost, p.reverse_cost
    ('mixed', 10200000, 30000000, 30000000)
    >>> p.expression
    '(J4 (J3 J2)) J1'
    """

    chain: Chain
    method: str
    cost: int
    forward_cost: int
    reverse_cost: int
    mode: str
    largest_intermediate: int
    memory_limit: int | None
    largest_tape: int
    _steps: np.ndarray
    _costs: np.ndarray
    _tapes: list[int] | None

    @classmethod
    def from_steps(
        cls,
        chain: Chain,
        steps: np.ndarray,
        method: str = "custom",
        memory_limit: int | None = None,
        check: bool = True,
    ) -> Plan:
        """Build a plan from a step array (rows ``(op, lo, split, hi)`` in execution order).

        Parameters
        ----------
        chain : Chain
        steps : array_like of int
            The steps, ``k - 1`` products for a dense chain (see :class:`Step`).
        method : str
            The name recorded as the plan's method.
        memory_limit : int, optional
            The memory limit recorded with the plan.
        check : bool
            Check that the steps form a plan of the chain (O(k); the solvers' own plans
            skip it).

        Raises
        ------
        PlanFormatError
            If ``chain`` is not a Chain, or the steps do not form a plan of it.

        Examples
        --------
        >>> import jacchain as jc
        >>> from jacchain.solvers import forward_steps
        >>> Plan.from_steps(jc.Chain.from_dims([2, 3, 4]), forward_steps(2)).cost
        24
        >>> Plan.from_steps(jc.Chain.from_dims([2, 3, 4]), [[0, 1, 2, 2]])
        Traceback (most recent call last):
        ...
        jacchain.errors.PlanFormatError: the steps are not a plan of this chain: step 1 (product 1..2..2) has bounds outside 1 <= lo <= split < hi <= 2
        """
        if check:
            steps = _checked_steps(chain, steps)
        steps = np.ascontiguousarray(steps, dtype=np.int64).reshape(-1, 4)
        steps.setflags(write=False)
        costs = step_costs(chain, steps)
        costs.setflags(write=False)
        tapes = None if chain.is_dense else step_tapes(chain, steps)
        return cls(
            chain=chain,
            method=method,
            cost=exact_sum(costs),
            forward_cost=forward_cost(chain),
            reverse_cost=reverse_cost(chain),
            mode=_mode_of(chain, steps),
            largest_intermediate=_largest_result(chain.dims_array, steps),
            memory_limit=memory_limit,
            largest_tape=max(tapes, default=0) if tapes else 0,
            _steps=steps,
            _costs=costs,
            _tapes=tapes,
        )

    @cached_property
    def preaccumulation_cost(self) -> int | None:
        """Accumulate every layer on its own, then multiply in the optimal order.

        For a dense chain this is the optimal bracketing's cost. It is computed exactly for
        chains within the generalized DP's limit (500 layers), and at any length when
        every layer is dense or matrix-free (the accumulated chain is then a dense chain,
        ordered by Hu-Shing); otherwise (a longer chain with identity, diagonal or sparse
        layers) it is None.

        Examples
        --------
        >>> import jacchain as jc
        >>> jc.plan([1000, 10, 1000, 10, 1000], "forward").preaccumulation_cost
        10200000
        """
        chain = self.chain
        if not chain.is_dense and fits_generalized(chain, self.memory_limit):
            return generalized_table(chain, self.memory_limit, sweeps=False).cost
        table = layer_table(chain)
        if not chain.is_dense and np.any(table.kind_code < DENSE):
            return None
        dense = Chain.from_dims(chain.dims_array)
        accumulated = 0 if chain.is_dense else sum(accumulation_costs(table, self.memory_limit))
        return accumulated + exact_sum(step_costs(dense, hu_shing_steps(dense)))

    @cached_property
    def cache(self) -> dict[str, Any]:
        """Derived data prepared once per plan by the floors above (compiled programs).

        The plan itself never changes; what is prepared from it is kept here, so that a
        plan evaluated again is not prepared again.
        """
        return {}

    @property
    def dims(self) -> tuple[int, ...]:
        """The chain's dims ``(d0, ..., dk)``."""
        return self.chain.dims

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(d_k, d_0)`` of the full Jacobian."""
        return self.chain.shape

    @property
    def speedup(self) -> float:
        """``min(forward_cost, reverse_cost) / cost``; 1.0 when the cost is 0."""
        if self.cost == 0:
            return 1.0
        return min(self.forward_cost, self.reverse_cost) / self.cost

    @property
    def steps(self) -> StepSequence:
        """The steps in execution order (a lazy read-only sequence of :class:`Step`)."""
        return StepSequence(self.chain.dims_array, self._steps, self._costs, self._tapes)

    @property
    def step_array(self) -> np.ndarray:
        """The steps as a read-only int64 array of rows ``(op, lo, split, hi)``."""
        return self._steps

    @cached_property
    def expression(self) -> str:
        """The bracketing as text, e.g. ``"(J4 J3) (J2 J1)"``."""
        return _expression(len(self.chain), self._steps)

    def describe(self) -> str:
        """A one-line summary of the plan.

        Examples
        --------
        >>> import jacchain as jc
        >>> jc.plan([1000, 10, 1000, 10, 1000]).describe()
        'mixed plan, k=4: 10,200,000 multiply-adds vs forward 30,000,000 and reverse 30,000,000 (2.94x); largest intermediate 1,000,000 elements'
        """
        return describe(self)

    def report(self, max_rows: int = 20) -> str:
        """The multi-line report: dims, the three costs, speedup, mode and a table of steps.

        Parameters
        ----------
        max_rows : int
            Show at most this many step rows (the first and last halves) of a long plan.

        Examples
        --------
        >>> import jacchain as jc
        >>> print(jc.plan([3, 4, 5]).report())  # doctest: +ELLIPSIS
        jacchain plan (method 'auto', k = 2 layers)
        ...
        """
        return plan_report(self, max_rows=max_rows)

    def _report_parts(self, max_rows: int = 20) -> ReportParts:
        return report_parts(self, max_rows)

    def __repr__(self) -> str:
        return f"<jacchain.Plan {self.describe()}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return (
            self.chain == other.chain
            and self.method == other.method
            and np.array_equal(self._steps, other._steps)
        )

    def __hash__(self) -> int:
        return hash((self.chain, self.method, self._steps.tobytes()))

    def evaluate(self, jacobians: Sequence[Any], *, check_finite: bool = True,
                 chunk_size: int | None = None, client: Any = None) -> np.ndarray:
        """Compute J_k ... J_1 by executing this plan; see :func:`jacchain.evaluate`
        (``chunk_size`` and ``client``: matrix-free sweeps in chunks of directions, in turn
        or on a Dask cluster; dask arrays as Jacobians: a lazy dask array).

        Examples
        --------
        >>> import numpy as np, jacchain as jc
        >>> p = jc.plan([2, 3, 1])
        >>> p.evaluate([np.ones((3, 2)), np.ones((1, 3))])
        array([[3., 3.]])
        """
        return HOOKS("evaluate")(self, jacobians, check_finite=check_finite,
                                 chunk_size=chunk_size, client=client)

    def compile(self, backend: str = "numpy") -> Any:
        """This plan as one straight-line function of the layers' operators, made once.

        Parameters
        ----------
        backend : str
            ``"numpy"`` (default), ``"jax"`` or ``"torch"``: the array library of the
            operators.

        Returns
        -------
        jacchain.execution.compiled.CompiledPlan
            Call it with one operator per layer (J_1 first) for the Jacobian: the plan's
            products and nothing else, no checks (:meth:`evaluate` checks its input and
            runs the same compiled function). Cached on the plan.

        Raises
        ------
        MethodError
            For an unknown backend, or sparse layers on a backend other than numpy.

        Examples
        --------
        >>> import numpy as np, jacchain as jc
        >>> p = jc.plan([2, 3, 1])
        >>> f = p.compile()
        >>> f([np.ones((3, 2)), np.ones((1, 3))]), f is p.compile()
        (array([[3., 3.]]), True)
        """
        return HOOKS("compile")(self, backend)

    def plot(self, path: str | os.PathLike[str] | None = None, **options: Any) -> Figure:
        """Draw the bracketing tree, each step's share of the cost, and the pure modes' costs.

        Needs the ``plot`` extra (matplotlib); draws without pyplot, so no backend is
        touched. See :func:`jacchain.plans.figure.plan_figure` for the figure and its
        options (``max_leaves``, ``figsize``, ``title``).

        Parameters
        ----------
        path : str or path-like, optional
            Also save the figure there, in the format its suffix names (``.png``, ``.svg``,
            ``.pdf``, ...).

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import jacchain as jc
        >>> figure = jc.plan([1000, 10, 1000, 10, 1000]).plot()
        >>> type(figure).__name__
        'Figure'
        """
        return plan_figure(self, path, **options)

    def to_json(self, indent: int | None = None) -> str:
        """Serialize the plan as JSON text; :meth:`from_json` reads it back exactly.

        Examples
        --------
        >>> import jacchain as jc
        >>> p = jc.plan([3, 4, 5])
        >>> jc.Plan.from_json(p.to_json()) == p
        True
        """
        return plan_to_json(self, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Plan:
        """Read a plan written by :meth:`to_json`, checking it against its own dims.

        Raises
        ------
        PlanFormatError
            If the text is not valid JSON of a plan, or the steps, costs or mode do not
            match the dims.

        Examples
        --------
        >>> Plan.from_json('{"format": "jacchain.plan", "version": 1, "method": "dp", '
        ...                '"dims": [2, 3, 4], "steps": [["product", 1, 1, 2]]}').cost
        24
        """
        return plan_from_json(text, partial(cls.from_steps, check=False))


def _checked_steps(chain: Any, steps: Any) -> np.ndarray:
    """``steps`` as an int64 step array, if it is a plan of ``chain``; else PlanFormatError."""
    if not isinstance(chain, Chain):
        raise PlanFormatError(f"a plan needs a jacchain.Chain, got {type(chain).__name__}")
    try:
        array = np.asarray(steps)
        if array.dtype.kind not in "iu" and array.size:
            raise TypeError(f"dtype {array.dtype}")
        array = array.astype(np.int64).reshape(-1, 4) if array.size else np.zeros((0, 4), int)
    except (TypeError, ValueError, OverflowError) as err:
        raise PlanFormatError(f"steps must be an int array of rows (op, lo, split, hi): {err}") from None
    table = None if chain.is_dense else layer_table(chain)
    problem = check_steps(len(chain), array, table)
    if problem is not None:
        raise PlanFormatError(f"the steps are not a plan of this chain: {problem}")
    return array


def _mode_of(chain: Chain, steps: np.ndarray) -> str:
    k = len(chain)
    matrix_free = None if chain.is_dense else layer_table(chain).matrix_free
    if np.array_equal(steps, forward_steps(k, matrix_free)):
        return "forward"
    if np.array_equal(steps, reverse_steps(k, matrix_free)):
        return "reverse"
    if k <= 2 and chain.is_dense:
        return "forward"
    return "mixed"


def _largest_result(dims: np.ndarray, steps: np.ndarray) -> int:
    if len(steps) == 0:
        return 0
    safe = fits_int64(int(dims.max()), 1, factors=2)
    sizes = exact_array(dims[steps[:, 3]], safe) * exact_array(dims[steps[:, 1] - 1], safe)
    return int(sizes.max())


def _sweep_layers(first: int, last: int) -> str:
    if last - first >= 3:
        return f"J{last}..J{first}"
    return " ".join(f"J{layer}" for layer in range(last, first - 1, -1))


def _expression(k: int, steps: np.ndarray) -> str:
    """The plan as text in O(k): an iterative walk of its tree of steps.

    Products are juxtaposed, ``tangent[J4 J3](X)`` carries X forward through J3 then J4,
    ``adjoint[J2 J1](X)`` carries X back through J2 then J1, and ``acc(J2)`` is the
    accumulated Jacobian of a matrix-free layer.
    """
    made = {(lo, hi): (op, split) for op, lo, split, hi in steps.tolist()}
    tokens: list[str] = []
    work: list[tuple[int, int, bool] | str] = [(1, k, False)]
    while work:
        item = work.pop()
        if isinstance(item, str):
            tokens.append(item)
            continue
        lo, hi, wrap = item
        op, split = made.get((lo, hi), (-1, 0))
        if op in (Operation.ACCUMULATE_TANGENT, Operation.ACCUMULATE_ADJOINT):
            tokens.append(f"acc(J{lo})")
        elif op < 0:
            tokens.append(f"J{lo}")
        elif op == Operation.TANGENT:
            tokens.append(f"tangent[{_sweep_layers(split + 1, hi)}](")
            work += [")", (lo, split, False)]
        elif op == Operation.ADJOINT:
            tokens.append(f"adjoint[{_sweep_layers(lo, split)}](")
            work += [")", (split + 1, hi, False)]
        else:
            if wrap:
                tokens.append("(")
            work += [")" if wrap else "", (lo, split, True), " ", (split + 1, hi, True)]
    return "".join(tokens)


def plan(
    chain_or_dims: Chain | Sequence[int],
    method: str = "auto",
    memory_limit: int | None = None,
    max_intermediate: int | None = None,
) -> Plan:
    """Plan the cheapest order to multiply the Jacobians of a chain.

    Parameters
    ----------
    chain_or_dims : Chain or sequence of int
        A :class:`Chain` (of any layer kinds), or ``dims = [d0, d1, ..., dk]``.
    method : str
        ``"auto"`` (optimal: Hu-Shing for dense chains, measured fastest of the exact
        methods at every size; the generalized DP for structured chains within its limit,
        ``"windowed"`` beyond it), ``"dp"`` (exact O(k^3) dynamic programming, vectorized;
        for structured and matrix-free chains Naumann's generalized DP), ``"hu-shing"``
        (exact, O(k log k), dense chains), ``"approx"`` (O(k), at most 2/sqrt(3) = 1.155
        times the optimum, dense chains), ``"windowed"`` (any chain of any length: the
        generalized DP within windows of 32 layers, then over the windows; not optimal in
        general), ``"forward"``, ``"reverse"``; see :func:`jacchain.method_names` for
        every registered name.
    memory_limit : int, optional
        The largest tape an adjoint sweep may record (the sum of the ``tape`` of the
        matrix-free layers it sweeps). None: no limit.
    max_intermediate : int, optional
        Dense chains: the most elements any product but the final Jacobian may have. The
        plan is then the cheapest bracketing within that bound, found exactly by the
        matrix-chain DP restricted to the segments that fit (``"auto"`` and ``"dp"``;
        up to 300 layers), the pure modes preferred on ties as always.

    Returns
    -------
    Plan

    Raises
    ------
    DimensionError
        If ``dims`` is not a sequence of at least two positive ints.
    MethodError
        If ``method`` is unknown (the message lists the valid names), a dense-only method
        is asked to plan a structured chain, an O(k^3) method a chain longer than its
        limit (see Notes), ``memory_limit`` is not a non-negative int, the plan asked for
        records more tape than ``memory_limit``, a solver registered with
        :func:`jacchain.register_solver` returns steps that are not a plan, or no
        bracketing keeps the intermediates within ``max_intermediate`` (the message gives
        the smallest bound that one does).

    Notes
    -----
    Tie rule: unless the method is ``"forward"`` or ``"reverse"``, the plan is the
    cheapest of forward mode, reverse mode (if it fits the memory limit) and the method's
    own plan, ties going to forward, then reverse, then the method's plan. For exact
    methods this means: forward if forward is optimal, else reverse if reverse is optimal,
    else mixed; an inexact method (``"approx"``, ``"windowed"``) is never worse than
    either pure mode. A dense chain of one or two layers is forward mode; one dense layer
    costs 0.

    Limits: the exact O(k^3) planners refuse long chains up front with a MethodError
    (``"dp"``: 1,500 dense layers, 300 when costs exceed int64; the generalized DP behind
    ``"auto"`` and ``"dp"`` for structured chains: 500 layers, 200 when costs exceed
    int64; see :mod:`jacchain.solvers.limits`). ``"auto"`` never refuses for length: it
    plans dense chains of any length exactly with Hu-Shing, and structured chains past the
    generalized DP's limit with ``"windowed"`` (not optimal in general).

    Examples
    --------
    >>> import jacchain as jc
    >>> jc.plan([784, 512, 512, 10, 1]).mode
    'reverse'
    >>> jc.plan([1, 512, 512, 784]).mode
    'forward'
    >>> jc.plan([1000, 10, 1000, 10, 1000]).cost
    10200000
    >>> jc.plan([10, 100, 2, 10, 1000], max_intermediate=100).expression
    'J4 (J3 (J2 J1))'
    """
    solver = get_solver(method)
    chain = as_chain(chain_or_dims)
    memory_limit = _check_memory_limit(memory_limit)
    bound = check_max_intermediate(max_intermediate)
    if bound is not None:
        return _chosen(_bounded_plan(chain, method, bound))
    k = len(chain)
    matrix_free = None if chain.is_dense else layer_table(chain).matrix_free
    steps = _solved_steps(method, solver, chain, memory_limit)
    candidate = Plan.from_steps(chain, steps, method, memory_limit, check=False)
    _check_fits(candidate)
    if method in PURE_METHODS:
        return _chosen(candidate)
    reverse_fits = not np.any(matrix_free) or memory_limit is None or _fits(
        Plan.from_steps(chain, reverse_steps(k, matrix_free), method, memory_limit, check=False)
    )
    reverse_cost = candidate.reverse_cost if reverse_fits else None
    best = min(c for c in (candidate.forward_cost, reverse_cost, candidate.cost) if c is not None)
    if candidate.forward_cost == best:
        steps = forward_steps(k, matrix_free)
    elif reverse_cost == best:
        steps = reverse_steps(k, matrix_free)
    else:
        return _chosen(candidate)
    return _chosen(Plan.from_steps(chain, steps, method, memory_limit, check=False))


def _chosen(p: Plan) -> Plan:
    """``p``, logged (DEBUG) as the plan chosen."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("plan chose a %s (method %r)", p.describe(), p.method)
    return p


def _bounded_plan(chain: Chain, method: str, bound: int) -> Plan:
    """The cheapest plan whose intermediates fit ``bound`` (forward, then reverse, on ties)."""
    if method not in ("auto", "dp"):
        raise MethodError(
            f"max_intermediate is planned by the exact DP: method must be 'auto' or 'dp', got {method!r}"
        )
    dims, k = chain.dims_array, len(chain)
    best = Plan.from_steps(chain, bounded_steps(chain, bound), method, check=False)
    for pure in (forward_steps(k, None), reverse_steps(k, None)):
        if intermediate_peak(dims, pure) <= bound:
            candidate = Plan.from_steps(chain, pure, method, check=False)
            if candidate.cost == best.cost:
                return candidate
    return best


def _solved_steps(method: str, solver: Any, chain: Chain, memory_limit: int | None) -> np.ndarray:
    """The solver's steps; those of a solver registered by the user are checked first."""
    steps = solver(chain, memory_limit)
    if method in BUILTIN_METHODS:
        return steps
    try:
        return _checked_steps(chain, steps)
    except PlanFormatError as err:
        raise MethodError(f"solver {method!r} returned steps that are not a plan: {err}") from None


def _fits(candidate: Plan) -> bool:
    limit = candidate.memory_limit
    return limit is None or candidate.largest_tape <= limit


def _check_fits(candidate: Plan) -> None:
    if not _fits(candidate):
        raise MethodError(
            f"the {candidate.method!r} plan records a tape of {candidate.largest_tape:,}, "
            f"more than memory_limit={candidate.memory_limit:,}"
        )
