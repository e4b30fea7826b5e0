"""A small tracer: write numpy-style code on scalars and vectors, get its computational graph.

In the spirit of micrograd, every value of type :class:`Var` records the operation that
made it: its node in a :class:`networkx.DiGraph` holds ``size``, the primal ``value`` and
the operation's name ``op``, and an edge from each operand holds the local partial
Jacobian as ``jacobian`` (a 2-D array of shape ``(size(result), size(operand))``, or for
an elementwise operation its 1-D diagonal, so that memory stays linear in the sizes)
with its ``kind`` (``"identity"``, ``"diagonal"`` or ``"dense"``) -- the graph that
:func:`jacchain.plan_graph` plans. Recorded: ``+``, ``-``, ``*``, ``/``, ``**``, unary
``-``, the elementwise functions :func:`exp`, :func:`log`, :func:`sin`, :func:`cos`,
:func:`tanh` and :func:`sqrt`, :meth:`Var.sum`, and products ``A @ x`` and ``x @ A`` with
constant matrices; numpy's ufuncs of the same operations (``np.exp(x)``, ``A @ x`` with an
ndarray ``A``, ``np.sum(x)``) are recorded alike. Values are scalars or 1-D vectors; a
scalar combines with a vector by broadcasting. Constants (numbers, numpy arrays) are not
nodes. Anything else done with a Var (indexing, comparisons, other numpy functions) is a
:class:`~jacchain.GraphError`, and a NaN or infinite input, constant, value or local
derivative a :class:`~jacchain.NonFiniteError` naming the operation.

Examples
--------
>>> import jacchain as jc
>>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
>>> t.inputs, t.outputs, t.value
(['a', 'b'], ['v3'], array([6.]))
>>> jc.plan_graph(t.graph, t.inputs, t.outputs).evaluate(t.graph)
array([[2., 5.]])
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from ..errors import GraphError, NonFiniteError, shown

if TYPE_CHECKING:
    from .graph_plan import GraphPlan

__all__ = ["Tracer", "Var", "Traced", "trace", "exp", "log", "sin", "cos", "tanh", "sqrt"]


def _as_array(value: Any, what: str) -> np.ndarray:
    """``value`` (a number or 1-D array_like of numbers) as a finite float or complex array."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Number, np.ndarray, np.generic, list, tuple)
    ):
        raise GraphError(
            f"cannot trace {what} of type {type(value).__name__}: use numbers or arrays"
        )
    try:
        array = np.asarray(value)
        array = array if array.dtype.kind == "c" else np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise GraphError(f"cannot trace {what}: it is not an array of numbers ({err})") from None
    if array.ndim > 1:
        raise GraphError(
            f"{what} has shape {array.shape}: the tracer handles scalars and 1-D vectors"
        )
    if array.size == 0:
        raise GraphError(f"{what} is empty: it needs at least one entry")
    _check_finite(array, what)
    return array


def _check_finite(array: np.ndarray, what: str) -> None:
    if not np.isfinite(array).all():
        raise NonFiniteError(f"{what} has NaN or infinite entries")


class Var:
    """A traced value: a scalar or 1-D vector that records the operations applied to it.

    Create inputs with :meth:`Tracer.input` (or let :func:`trace` do it); combine them with
    ``+ - * / **``, unary ``-``, ``@`` with constant matrices, :meth:`sum` and the
    functions of this module.

    Attributes
    ----------
    tracer : Tracer
        The tracer that records it.
    node : hashable
        Its node in the tracer's graph.
    value : numpy.ndarray
        Its value (0-d for a scalar, 1-D for a vector).

    Examples
    --------
    >>> t = Tracer()
    >>> x = t.input([1.0, 2.0], "x")
    >>> y = (x * x).sum()
    >>> y.value, y.size
    (array(5.), 1)
    """

    __slots__ = ("tracer", "node", "value")

    def __init__(self, tracer: Tracer, node: Hashable, value: np.ndarray) -> None:
        self.tracer, self.node, self.value = tracer, node, value

    @property
    def size(self) -> int:
        """Number of entries of the value."""
        return int(self.value.size)

    def named(self, name: Hashable) -> Var:
        """Rename this variable's node to ``name`` and return it (for readable graphs).

        Examples
        --------
        >>> t = Tracer()
        >>> (t.input(1.0) + 1).named("y").node
        'y'
        """
        self.tracer._rename(self, name)
        return self

    def __repr__(self) -> str:
        return f"Var({shown(self.node)}, value={shown(self.value)})"

    def __add__(self, other: Any) -> Var:
        return _binary("add", self, other, lambda x, y: x + y, _add_partials, (True, True))

    def __radd__(self, other: Any) -> Var:
        return _binary("add", other, self, lambda x, y: x + y, _add_partials, (True, True))

    def __sub__(self, other: Any) -> Var:
        return _binary("sub", self, other, lambda x, y: x - y, _sub_partials, (True, False))

    def __rsub__(self, other: Any) -> Var:
        return _binary("sub", other, self, lambda x, y: x - y, _sub_partials, (True, False))

    def __mul__(self, other: Any) -> Var:
        return _binary("mul", self, other, lambda x, y: x * y, lambda x, y: (y, x))

    def __rmul__(self, other: Any) -> Var:
        return _binary("mul", other, self, lambda x, y: x * y, lambda x, y: (y, x))

    def __truediv__(self, other: Any) -> Var:
        return _binary("div", self, other, lambda x, y: x / y, lambda x, y: (1 / y, -x / y**2))

    def __rtruediv__(self, other: Any) -> Var:
        return _binary("div", other, self, lambda x, y: x / y, lambda x, y: (1 / y, -x / y**2))

    def __pow__(self, other: Any) -> Var:
        return _binary("pow", self, other, np.power, _power_partials)

    def __rpow__(self, other: Any) -> Var:
        return _binary("pow", other, self, np.power, _power_partials)

    def __neg__(self) -> Var:
        return _unary("neg", self, lambda x: -x, lambda x: -np.ones_like(x))

    def __pos__(self) -> Var:
        return self

    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None, **options: Any) -> Var:
        """The sum of the entries, a scalar (also as ``numpy.sum(x)``).

        Raises
        ------
        GraphError
            For an ``axis``, ``dtype``, ``out`` or other option (none is recorded).

        Examples
        --------
        >>> Tracer().input([1.0, 2.0, 3.0]).sum().value
        array(6.)
        """
        given = [key for key, v in (("axis", axis), ("dtype", dtype), ("out", out)) if v is not None]
        given += sorted(options)
        if given:
            raise GraphError(f"the tracer records sum() of all entries only, without {given}")
        return self.tracer._record(
            "sum", self.value.sum(), [(self, np.ones((1, self.size)), "dense")]
        )

    def __matmul__(self, matrix: Any) -> Var:
        """``x @ A`` for a constant matrix A of shape (size(x), m)."""
        return _linear(self, _matrix(matrix, self, transpose=True))

    def __rmatmul__(self, matrix: Any) -> Var:
        """``A @ x`` for a constant matrix A of shape (m, size(x))."""
        return _linear(self, _matrix(matrix, self, transpose=False))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Var:
        """numpy's ufuncs on a Var: those the tracer records (``np.exp(x)``, ``A @ x``, ...).

        ``ndarray + Var`` and the like land here too, and are recorded as ``Var``
        operations; any other ufunc, method or option is a :class:`GraphError`.
        """
        name = getattr(ufunc, "__name__", repr(ufunc))
        if method != "__call__" or kwargs or name not in _UFUNCS:
            raise GraphError(
                f"the tracer does not record numpy.{name}"
                + (f".{method}" if method != "__call__" else "")
                + (f" with {sorted(kwargs)}" if kwargs else "")
                + f"; it records {', '.join(sorted(_UFUNCS))}"
            )
        operation = _UFUNCS[name]
        if isinstance(operation, tuple):  # a binary operator: call the Var's own method
            left, right = inputs
            if isinstance(left, Var):
                return getattr(left, operation[0])(right)
            return getattr(right, operation[1])(left)
        return operation(*inputs)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise GraphError(
            f"{shown(self.node)} is a traced Var, not an array: use the operations of "
            "jacchain.graphs.tracer (or its .value for the number)"
        )

    def _unsupported(self, *args: Any) -> Any:
        raise GraphError(
            f"the tracer cannot record this use of {shown(self.node)}: it records "
            "+ - * / ** @, unary -, .sum() and exp, log, sin, cos, tanh, sqrt on whole "
            "values (no indexing, comparison, iteration or conversion to a number)"
        )

    __getitem__ = __setitem__ = __iter__ = __len__ = __contains__ = __bool__ = _unsupported
    __lt__ = __le__ = __gt__ = __ge__ = _unsupported
    __float__ = __int__ = __index__ = __complex__ = _unsupported
    __abs__ = __invert__ = __round__ = __trunc__ = __floor__ = __ceil__ = _unsupported
    __mod__ = __rmod__ = __floordiv__ = __rfloordiv__ = __divmod__ = __rdivmod__ = _unsupported
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _unsupported
    __lshift__ = __rlshift__ = __rshift__ = __rrshift__ = _unsupported


def _add_partials(x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    return 1.0, 1.0


def _sub_partials(x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    return 1.0, -1.0


def _power_partials(x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    """d(x**y)/dx = y x**(y-1) and d(x**y)/dy = x**y log(x).

    log(x) is taken as 0 where x == 0 (0**y is 0 for every y > 0); for complex values it
    is the principal logarithm; for real x < 0, where x**y is real only at integer y, the
    derivative in y does not exist and is NaN (a :class:`NonFiniteError` when y is traced).
    """
    dtype = np.result_type(x, y, float)
    base = np.asarray(x, dtype=dtype)
    nonzero = np.where(base == 0, 1, base)
    with np.errstate(divide="ignore", invalid="ignore"):
        if dtype.kind == "c":
            log_x = np.log(nonzero)
        else:
            log_x = np.where(base >= 0, np.log(np.abs(nonzero)), np.nan)
    return y * np.power(x, y - 1), np.power(x, y) * log_x


def _matrix(matrix: Any, x: Var, transpose: bool) -> np.ndarray:
    if isinstance(matrix, Var):
        raise GraphError("the tracer multiplies a Var only by constant matrices")
    what = f"the matrix multiplying {shown(x.node)}"
    if isinstance(matrix, (bool, np.bool_, str, bytes)) or not isinstance(
        matrix, (np.ndarray, list, tuple)
    ):
        raise GraphError(f"cannot trace {what}: a {type(matrix).__name__} is not a matrix")
    try:
        array = np.asarray(matrix)
        array = array if array.dtype.kind == "c" else np.asarray(matrix, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise GraphError(f"cannot trace {what}: it is not an array of numbers ({err})") from None
    shape = array.shape
    array = array.T if transpose else array
    if array.ndim != 2 or array.shape[1] != x.size:
        raise GraphError(
            f"cannot multiply {shown(x.node)} of size {x.size} by a matrix of shape {shape}"
        )
    _check_finite(array, what)
    return array


def _linear(x: Var, matrix: np.ndarray) -> Var:
    return x.tracer._record("matmul", matrix @ x.value.reshape(-1), [(x, matrix, "dense")])


def _partial(
    operand: Var, derivative: Any, shape: tuple[int, ...], unit: bool = False
) -> tuple[np.ndarray, str]:
    """The Jacobian of an elementwise result of ``shape`` with respect to ``operand``.

    Its kind follows the operation, not the values (so that a plan fits any point):
    ``unit`` marks a derivative that is 1 by construction (addition).
    """
    d = np.broadcast_to(np.asarray(derivative, dtype=np.result_type(derivative, float)), shape)
    d = d.reshape(-1)
    if operand.size == d.size:
        return d, "identity" if unit else "diagonal"  # the diagonal, never n x n
    return d.reshape(-1, 1), "dense"


_UFUNCS: dict[str, Any] = {
    "add": ("__add__", "__radd__"),
    "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"),
    "true_divide": ("__truediv__", "__rtruediv__"),
    "divide": ("__truediv__", "__rtruediv__"),
    "power": ("__pow__", "__rpow__"),
    "matmul": ("__matmul__", "__rmatmul__"),
    "negative": lambda x: -x,
    "positive": lambda x: x,
    "exp": lambda x: exp(x),
    "log": lambda x: log(x),
    "sin": lambda x: sin(x),
    "cos": lambda x: cos(x),
    "tanh": lambda x: tanh(x),
    "sqrt": lambda x: sqrt(x),
}
"""numpy's ufuncs that a Var records: binary ones by its operator methods, unary ones."""


def _tracer_of(*operands: Any) -> Tracer:
    tracers = {id(x.tracer): x.tracer for x in operands if isinstance(x, Var)}
    if len(tracers) > 1:
        raise GraphError("cannot combine variables recorded by two different tracers")
    return next(iter(tracers.values()))


def _binary(
    op: str,
    left: Any,
    right: Any,
    forward: Callable[[Any, Any], Any],
    partials: Callable[[Any, Any], tuple[Any, Any]],
    unit: tuple[bool, bool] = (False, False),
) -> Var:
    tracer = _tracer_of(left, right)
    x = left.value if isinstance(left, Var) else _as_array(left, f"the left operand of {op}")
    y = right.value if isinstance(right, Var) else _as_array(right, f"the right operand of {op}")
    if x.ndim and y.ndim and x.shape != y.shape and x.size != 1 and y.size != 1:
        raise GraphError(f"cannot {op} values of shapes {x.shape} and {y.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.asarray(forward(x, y))
        d_left, d_right = partials(x, y)
    parents = []
    for operand, derivative, is_unit in ((left, d_left, unit[0]), (right, d_right, unit[1])):
        if isinstance(operand, Var):
            parents.append((operand, *_partial(operand, derivative, value.shape, is_unit)))
    return tracer._record(op, value, parents)


def _unary(op: str, x: Var, forward: Callable, derivative: Callable) -> Var:
    if not isinstance(x, Var):
        return forward(_as_array(x, f"the argument of {op}"))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.asarray(forward(x.value))
        d = derivative(x.value)
    return x.tracer._record(op, value, [(x, *_partial(x, d, value.shape))])


def exp(x: Var | Any) -> Var | np.ndarray:
    """Elementwise exp (of a Var: recorded; of a constant: numpy's).

    Examples
    --------
    >>> float(exp(Tracer().input(0.0)).value)
    1.0
    """
    return _unary("exp", x, np.exp, np.exp)


def log(x: Var | Any) -> Var | np.ndarray:
    """Elementwise natural logarithm.

    Examples
    --------
    >>> float(log(Tracer().input(1.0)).value)
    0.0
    """
    return _unary("log", x, np.log, lambda v: 1 / v)


def sin(x: Var | Any) -> Var | np.ndarray:
    """Elementwise sine.

    Examples
    --------
    >>> float(sin(Tracer().input(0.0)).value)
    0.0
    """
    return _unary("sin", x, np.sin, np.cos)


def cos(x: Var | Any) -> Var | np.ndarray:
    """Elementwise cosine.

    Examples
    --------
    >>> float(cos(Tracer().input(0.0)).value)
    1.0
    """
    return _unary("cos", x, np.cos, lambda v: -np.sin(v))


def tanh(x: Var | Any) -> Var | np.ndarray:
    """Elementwise hyperbolic tangent.

    Examples
    --------
    >>> float(tanh(Tracer().input(0.0)).value)
    0.0
    """
    return _unary("tanh", x, np.tanh, lambda v: 1 - np.tanh(v) ** 2)


def sqrt(x: Var | Any) -> Var | np.ndarray:
    """Elementwise square root.

    Examples
    --------
    >>> float(sqrt(Tracer().input(4.0)).value)
    2.0
    """
    return _unary("sqrt", x, np.sqrt, lambda v: 0.5 / np.sqrt(v))


class Tracer:
    """Records the operations on its :class:`Var` values as a computational graph.

    Examples
    --------
    >>> t = Tracer()
    >>> a, b = t.input(2.0, "a"), t.input(1.0, "b")
    >>> e = ((a + b) * (b + 1)).named("e")
    >>> G = t.to_graph([e])
    >>> sorted(G.nodes), G.nodes["e"]["value"], G.edges["v2", "e"]["jacobian"]
    (['a', 'b', 'e', 'v1', 'v2'], array(6.), array([3.]))
    """

    def __init__(self) -> None:
        self._graph = nx.DiGraph()
        self._count = 0
        self._inputs: list[Var] = []

    def input(self, value: Any, name: Hashable | None = None) -> Var:
        """A new independent variable with the given value (a scalar or a 1-D vector).

        Parameters
        ----------
        value : number or array_like
        name : hashable, optional
            Its node's name; default ``"x0"``, ``"x1"``, ...

        Raises
        ------
        GraphError
            If the value is not a number or 1-D array, or the name is taken.

        Examples
        --------
        >>> Tracer().input([1.0, 2.0]).node
        'x0'
        """
        array = _as_array(value, "an input").copy()
        if name is None:
            name = f"x{len(self._inputs)}"
        self._add_node(name, array, "input")
        var = Var(self, name, array)
        self._inputs.append(var)
        return var

    def _add_node(self, name: Hashable, value: np.ndarray, op: str) -> None:
        self._check_name(name)
        self._graph.add_node(name, size=int(value.size), value=value, op=op)

    def _check_name(self, name: Any) -> None:
        """A new node's name must be hashable, not None, and not taken."""
        try:
            hash(name)
        except TypeError:
            raise GraphError(f"a node name must be hashable, got {shown(name)}") from None
        taken = name in self._graph
        if name is None:
            raise GraphError("a node name cannot be None")
        if taken:
            raise GraphError(f"the name {shown(name)} is already a node of the traced graph")

    def _record(self, op: str, value: Any, parents: Sequence[tuple[Var, np.ndarray, str]]) -> Var:
        value = np.asarray(value)
        operands = ", ".join(repr(parent.node) for parent, _jacobian, _kind in parents)
        _check_finite(value, f"the value of {op}({operands})")
        for parent, jacobian, _kind in parents:
            _check_finite(
                jacobian, f"the derivative of {op}({operands}) with respect to {shown(parent.node)}"
            )
        self._count += 1
        name = f"v{self._count}"
        while name in self._graph:
            self._count += 1
            name = f"v{self._count}"
        self._add_node(name, value, op)
        for parent, jacobian, kind in parents:
            if parent.tracer is not self:
                raise GraphError("cannot combine variables recorded by two different tracers")
            if self._graph.has_edge(parent.node, name):  # the same operand twice: x * x
                edge = self._graph.edges[parent.node, name]
                jacobian = edge["jacobian"] + jacobian
                kind = "dense" if "dense" in (kind, edge["kind"]) else "diagonal"
            self._graph.add_edge(parent.node, name, jacobian=jacobian, kind=kind)
        return Var(self, name, value)

    def _rename(self, var: Var, name: Hashable) -> None:
        try:
            same = name in {var.node}  # hash and ==, as the graph compares names
        except TypeError:
            raise GraphError(f"a node name must be hashable, got {shown(name)}") from None
        if same:
            return
        self._check_name(name)
        nx.relabel_nodes(self._graph, {var.node: name}, copy=False)
        var.node = name

    @property
    def inputs(self) -> list[Hashable]:
        """The input nodes, in the order they were created."""
        return [x.node for x in self._inputs]

    def to_graph(self, outputs: Var | Sequence[Var]) -> nx.DiGraph:
        """The computational graph of ``outputs``: every input and every ancestor of an output.

        Returns a new :class:`networkx.DiGraph` (nodes: ``size``, ``value``, ``op``; edges:
        ``jacobian``, ``kind``).

        Raises
        ------
        GraphError
            If an output is not a Var of this tracer.

        Examples
        --------
        >>> t = Tracer()
        >>> x = t.input(3.0)
        >>> _unused = x * 2
        >>> sorted(t.to_graph(x + 1).nodes)
        ['v2', 'x0']
        """
        if isinstance(outputs, Var):
            outputs = [outputs]
        elif isinstance(outputs, (list, tuple)):
            outputs = list(outputs)
        else:
            raise GraphError(f"outputs must be a Var or a list of Vars, got {shown(outputs)}")
        if not outputs:
            raise GraphError("to_graph needs at least one output")
        for y in outputs:
            if not isinstance(y, Var) or y.tracer is not self:
                raise GraphError(f"an output must be a Var of this tracer, got {shown(y)}")
        keep = {x.node for x in self._inputs}
        for y in outputs:
            keep |= {y.node} | nx.ancestors(self._graph, y.node)
        return self._graph.subgraph([node for node in self._graph if node in keep]).copy()


@dataclass(frozen=True)
class Traced:
    """A traced computation: its graph, input and output nodes, and output values.

    Attributes
    ----------
    graph : networkx.DiGraph
    inputs, outputs : list
        The nodes of the inputs and outputs, in order (pass them to
        :func:`jacchain.plan_graph`).
    values : tuple of numpy.ndarray
        The value of each output.
    """

    graph: nx.DiGraph
    inputs: list[Hashable]
    outputs: list[Hashable]
    values: tuple[np.ndarray, ...]

    @property
    def value(self) -> np.ndarray:
        """All output values, flattened and concatenated (rows of the Jacobian)."""
        return np.concatenate([np.ravel(v) for v in self.values])

    def plan(self, method: str = "auto") -> GraphPlan:
        """``jacchain.plan_graph(self.graph, self.inputs, self.outputs, method)``.

        Examples
        --------
        >>> t = trace(lambda x: exp(x) * x, 0.0)
        >>> t.plan().evaluate(t.graph)
        array([[1.]])
        """
        from .graph_plan import plan_graph

        return plan_graph(self.graph, self.inputs, self.outputs, method)


def trace(f: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Traced:
    """Run ``f`` on traced inputs and return its computational graph.

    Parameters
    ----------
    f : callable
        Takes :class:`Var` arguments and returns a Var or a sequence of Vars, built with
        the operations of :mod:`jacchain.graphs.tracer`.
    *args, **kwargs : number or array_like
        The input values (scalars or 1-D vectors); positional inputs are named ``"x0"``,
        ``"x1"``, ..., keyword inputs by their keyword.

    Returns
    -------
    Traced

    Raises
    ------
    GraphError
        If ``f`` is not callable, an input is not a number or 1-D array of numbers, ``f``
        uses a Var in a way the tracer does not record (indexing, comparisons, numpy
        functions other than the recorded ufuncs, ...), or returns something other than
        Vars of this trace, or the same Var twice.
    NonFiniteError
        If an input, a constant, a recorded value or a local derivative has NaN or
        infinite entries (``log(0)``, ``1 / 0``, ``sqrt(0)``'s derivative, an overflow):
        the error names the operation and its operands.

    Examples
    --------
    >>> t = trace(lambda x, y: (x * y, x + y), 3.0, [1.0, 2.0])
    >>> t.inputs, t.outputs, t.value
    (['x0', 'x1'], ['v1', 'v2'], array([3., 6., 4., 5.]))
    """
    if not callable(f):
        raise GraphError(f"trace needs a function to trace, got {type(f).__name__} {shown(f)}")
    tracer = Tracer()
    positional = [tracer.input(value, f"x{i}") for i, value in enumerate(args)]
    named = {key: tracer.input(value, key) for key, value in kwargs.items()}
    result = f(*positional, **named)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not outputs:
        raise GraphError("the traced function returned no outputs")
    for y in outputs:
        if not isinstance(y, Var) or y.tracer is not tracer:
            raise GraphError(
                f"the traced function must return Vars computed from its inputs, got {shown(y)}"
            )
    nodes = [y.node for y in outputs]
    if len(set(nodes)) != len(nodes):
        raise GraphError("the traced function returned the same Var twice")
    return Traced(
        graph=tracer.to_graph(outputs),
        inputs=tracer.inputs,
        outputs=nodes,
        values=tuple(y.value for y in outputs),
    )
