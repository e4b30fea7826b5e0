"""Random JAX programs drawn as data: a hypothesis strategy over a grammar of jnp ops.

A :class:`Program` is plain data: the shapes of its inputs, a list of :class:`Op` (an op
name, the indices of its operands in the pool of values computed so far, and its
parameters), which values it returns and in what structure (one array, a tuple or a
dict), and a seed for its arguments. Hypothesis draws and shrinks that data;
:meth:`Program.function` builds the Python function from it and
:meth:`Program.arguments` its arguments (uniform in [-1, 1], seeded: exact ties between
entries have probability 0).

The grammar: elementwise unary ops (sin, cos, tanh, exp, log, sqrt, square, abs), binary
ops with broadcasting (+ - * /, scalars with arrays included, and ``v * c + d`` with Python
constants), reductions (sum, mean, max over an axis or all), dot, matmul and einsum,
transpose, reshape, squeeze, expand_dims, slicing, integer and array indexing,
concatenate and stack, where with a constant mask, flip, broadcast_to, cumsum, sort,
``lax.cond`` on a data-dependent predicate, ``lax.fori_loop`` and ``lax.scan``, and
constant arrays. Every value has at most two axes.

Values stay in safe domains by construction, whatever the arguments in [-1, 1]: every value
carries an interval bounding its entries, computed alongside from the op (never from the
data); an op that needs a domain shifts its operand into it by a constant c, 0 when the
interval is already inside (``log(v + c)`` and ``sqrt(v + c)`` with every ``v + c >= 0.5``;
``abs(v + c)`` and ``a / (b + c)`` with every ``b + c`` at least 0.25 away from 0);
``max`` and ``sort`` add a constant ramp along their axis, so that copies of one
value (a broadcast, a stack of a value with itself) never tie; and a value whose bound
passes 3 is scaled back into [-1, 1] by a constant factor. So every program is smooth at
its arguments and its Jacobian finite and moderate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

pytest.importorskip("jax")  # the module's doctests need JAX, like the tests that use it

Shape = tuple[int, ...]
Bound = tuple[float, float]
Drawn = tuple[tuple[int, ...], tuple[Any, ...]] | None
"""What an op's draw rule returns: (operand indices, parameters), or None if it does not apply."""

UNARY = ("sin", "cos", "tanh", "exp", "log", "sqrt", "square", "abs")
BINARY = ("add", "sub", "mul", "div")
EINSUM_SPECS = (
    "ij,jk->ik",
    "ij,j->i",
    "i,ij->j",
    "i,i->",
    "i,j->ij",
    "ij,ij->i",
    "ij,kj->ik",
    "ij,ik->jk",
    "ij,i->ij",
)
LIMIT = 3.0
"""A value whose bound passes this is scaled back into [-1, 1]."""
RAMP = 0.01
"""The step of the constant ramp that max and sort add along their axis."""
STRUCTURES = ("array", "tuple", "dict")


@dataclass(frozen=True)
class Op:
    """One step of a program: ``name(*pool[args], *params)``, appended to the pool."""

    name: str
    args: tuple[int, ...] = ()
    params: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        operands = [f"v{i}" for i in self.args] + [repr(p) for p in self.params]
        return f"{self.name}({', '.join(operands)})"


@dataclass(frozen=True)
class Program:
    """A random JAX program as data; see the module docstring.

    Examples
    --------
    >>> p = Program(inputs=((2,), ()), ops=(Op("sin", (0,)), Op("mul", (2, 1))),
    ...             outputs=(3, 0), structure="tuple", seed=0)
    >>> print(p)
    def program(v0: (2,), v1: ()):
        v2 = sin(v0)               # (2,)
        v3 = mul(v2, v1)           # (2,)
        return (v3, v0)
    >>> [tuple(y.shape) for y in p.function()(*p.arguments())]
    [(2,), (2,)]
    """

    inputs: tuple[Shape, ...]
    ops: tuple[Op, ...]
    outputs: tuple[int, ...]
    structure: str
    seed: int

    @property
    def shapes(self) -> list[Shape]:
        """The shape of every value of the pool: the inputs', then each op's."""
        shapes = list(self.inputs)
        for op in self.ops:
            shapes.append(OPS[op.name].shape([shapes[i] for i in op.args], op.params))
        return shapes

    def output_shapes(self) -> Any:
        """The outputs' shapes, in the output structure."""
        shapes = self.shapes
        return self._structured([shapes[i] for i in self.outputs])

    def function(self) -> Callable[..., Any]:
        """The program as a Python function of ``len(self.inputs)`` arrays (JAX-traceable)."""
        shapes = self.shapes

        def program(*args: Any) -> Any:
            values, bounds = list(args), [(-1.0, 1.0)] * len(args)
            for op, shape in zip(self.ops, shapes[len(args) :], strict=True):
                value, bound = apply_op(op, values, bounds)
                assert tuple(value.shape) == shape, f"{op}: shape {value.shape}, rule {shape}"
                values.append(value)
                bounds.append(bound)
            return self._structured([values[i] for i in self.outputs])

        return program

    def arguments(self) -> tuple[Any, ...]:
        """The program's arguments: float arrays of the input shapes, uniform in [-1, 1]."""
        import jax.numpy as jnp

        rng = np.random.default_rng(self.seed)
        return tuple(jnp.asarray(rng.uniform(-1.0, 1.0, shape)) for shape in self.inputs)

    def _structured(self, items: list[Any]) -> Any:
        if self.structure == "array":
            return items[0]
        if self.structure == "tuple":
            return tuple(items)
        return {f"y{k}": item for k, item in enumerate(items)}

    def __str__(self) -> str:
        shapes = self.shapes
        n = len(self.inputs)
        head = ", ".join(f"v{i}: {shape}" for i, shape in enumerate(self.inputs))
        lines = [f"def program({head}):"]
        for number, op in enumerate(self.ops, n):
            lines.append(f"    {f'v{number} = {op!r}':<26} # {shapes[number]}")
        returned = self._structured([f"v{i}" for i in self.outputs])
        lines.append(f"    return {returned!r}".replace("'", ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(seed={self.seed}):\n{self}"


# --- intervals ------------------------------------------------------------------------------


def product_bound(a: Bound, b: Bound) -> Bound:
    """The interval of x * y for x in ``a`` and y in ``b``.

    Examples
    --------
    >>> product_bound((-1.0, 2.0), (3.0, 4.0))
    (-4.0, 8.0)
    """
    corners = [x * y for x in a for y in b]
    return min(corners), max(corners)


def union(*bounds: Bound) -> Bound:
    """The smallest interval holding every one of ``bounds``.

    Examples
    --------
    >>> union((-1.0, 0.5), (0.0, 2.0))
    (-1.0, 2.0)
    """
    return min(b[0] for b in bounds), max(b[1] for b in bounds)


def magnitude(bound: Bound) -> float:
    """The largest absolute value in ``bound``.

    Examples
    --------
    >>> magnitude((-3.0, 2.0))
    3.0
    """
    return max(abs(bound[0]), abs(bound[1]))


def shift_into(bound: Bound, floor: float) -> float:
    """The constant c >= 0 such that every v + c is at least ``floor`` (0 if already so).

    Examples
    --------
    >>> shift_into((-1.0, 1.0), 0.5), shift_into((2.0, 3.0), 0.5)
    (1.5, 0.0)
    """
    return 0.0 if bound[0] >= floor else floor - bound[0]


def away_from_zero(bound: Bound) -> float:
    """The constant c such that every v + c is at least 0.25 away from 0, c = 0 if already so.

    Examples
    --------
    >>> away_from_zero((-1.0, 1.0)), away_from_zero((-2.0, -0.5))
    (2.0, 0.0)
    """
    if bound[0] >= 0.25 or bound[1] <= -0.25:
        return 0.0
    return 1.0 - bound[0]


def reciprocal(bound: Bound) -> Bound:
    """The interval of 1 / v for v in ``bound``, an interval that excludes 0.

    Examples
    --------
    >>> reciprocal((2.0, 4.0)), reciprocal((-2.0, -1.0))
    ((0.25, 0.5), (-1.0, -0.5))
    """
    return 1.0 / bound[1], 1.0 / bound[0]


# --- the ops: how each is drawn, its shape rule and what it computes -------------------------


@dataclass(frozen=True)
class OpKind:
    """An op of the grammar: ``draw(draw, shapes) -> (args, params) | None`` picks operands
    and parameters from the pool's shapes (None: it applies to none of them), ``shape``
    gives the result's shape from the operands' shapes and the parameters, ``compute``
    returns (value, bound) from the operands' values and bounds and the parameters."""

    draw: Callable[[Any, Sequence[Shape]], Drawn]
    shape: Callable[[list[Shape], tuple[Any, ...]], Shape]
    compute: Callable[[list[Any], list[Bound], tuple[Any, ...]], tuple[Any, Bound]]


def apply_op(op: Op, values: list[Any], bounds: list[Bound]) -> tuple[Any, Bound]:
    """``op`` on the pool: its value and bound, scaled back into [-1, 1] past :data:`LIMIT`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> value, bound = apply_op(Op("exp", (0,)), [jnp.ones(2)], [(0.0, 2.0)])
    >>> bound                                   # e**2 > 3: scaled by 1 / e**2
    (0.1353352832366127, 1.0)
    """
    kind = OPS[op.name]
    value, bound = kind.compute(
        [values[i] for i in op.args], [bounds[i] for i in op.args], op.params
    )
    size = magnitude(bound)
    if size > LIMIT:
        return value * (1.0 / size), (bound[0] / size, bound[1] / size)
    return value, bound


def _pick(draw: Any, shapes: Sequence[Shape], fits: Callable[[Shape], bool] | None = None) -> int | None:
    """A pool index whose shape ``fits`` (the latest first, for shrinking), or None."""
    candidates = [i for i in reversed(range(len(shapes))) if fits is None or fits(shapes[i])]
    return draw(st.sampled_from(candidates)) if candidates else None


def _any(shape: Shape) -> bool:
    return True


def _axes(draw: Any, shape: Shape, whole: bool = True) -> int | None:
    """An axis of ``shape``, or None (all axes) when ``whole``."""
    choices = ((None,) if whole else ()) + tuple(range(len(shape)))
    return draw(st.sampled_from(choices))


def _one_operand(fits: Callable[[Shape], bool] = _any) -> Callable[[Any, Sequence[Shape]], Drawn]:
    def draw_rule(draw: Any, shapes: Sequence[Shape]) -> Drawn:
        i = _pick(draw, shapes, fits)
        return None if i is None else ((i,), ())

    return draw_rule


def _with_axis(fits: Callable[[Shape], bool], whole: bool) -> Callable[[Any, Sequence[Shape]], Drawn]:
    def draw_rule(draw: Any, shapes: Sequence[Shape]) -> Drawn:
        i = _pick(draw, shapes, fits)
        return None if i is None else ((i,), (_axes(draw, shapes[i], whole),))

    return draw_rule


def _same(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    return shapes[0]


def _drop_axis(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    (axis,) = params[:1]
    shape = shapes[0]
    return () if axis is None else shape[:axis] + shape[axis + 1 :]


def _has_axes(shape: Shape) -> bool:
    return len(shape) >= 1


# unary: sin cos tanh exp log sqrt square abs


def _square_bound(bound: Bound) -> Bound:
    lo, hi = bound
    if lo >= 0:
        return lo * lo, hi * hi
    if hi <= 0:
        return hi * hi, lo * lo
    return 0.0, max(lo * lo, hi * hi)


def unary_bound(name: str, bound: Bound) -> Bound:
    """The interval of unary op ``name``'s result (after its domain shift, if any).

    Examples
    --------
    >>> unary_bound("log", (-1.0, 1.0))          # log(v + 1.5)
    (-0.6931471805599453, 0.9162907318741551)
    """
    lo, hi = bound
    if name in ("sin", "cos"):
        return -1.0, 1.0
    if name in ("tanh", "exp"):
        f = getattr(math, name)
        return f(lo), f(hi)
    if name in ("log", "sqrt"):
        c = shift_into(bound, 0.5)
        f = getattr(math, name)
        return f(lo + c), f(hi + c)
    if name == "square":
        return _square_bound(bound)
    c = away_from_zero(bound)  # abs
    return (lo + c, hi + c) if lo + c > 0 else (-(hi + c), -(lo + c))


def unary_value(name: str, v: Any, bound: Bound) -> Any:
    """Unary op ``name`` on ``v`` (with entries in ``bound``), shifted into its domain.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> round(float(unary_value("sqrt", jnp.asarray(-1.0), (-1.0, 1.0))), 6)  # sqrt(-1 + 1.5)
    0.707107
    """
    import jax.numpy as jnp

    if name in ("log", "sqrt"):
        c = shift_into(bound, 0.5)
        return getattr(jnp, name)(v + c if c else v)
    if name == "abs":
        c = away_from_zero(bound)
        return jnp.abs(v + c if c else v)
    return getattr(jnp, name)(v)


def _unary(name: str) -> OpKind:
    def compute(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
        return unary_value(name, values[0], bounds[0]), unary_bound(name, bounds[0])

    return OpKind(_one_operand(), _same, compute)


# binary: add sub mul div, and scale (v * c + d with Python constants)


def _broadcastable(a: Shape, b: Shape) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _draw_pair(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes)
    j = _pick(draw, shapes, lambda s: _broadcastable(shapes[i], s))
    return (i, j), ()


def _broadcast(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    return tuple(np.broadcast_shapes(*shapes))


def _denominator(b: Any, bound: Bound) -> tuple[Any, Bound]:
    c = away_from_zero(bound)
    return (b + c if c else b), (bound[0] + c, bound[1] + c)


def _binary(name: str) -> OpKind:
    def compute(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
        (a, b), (ba, bb) = values, bounds
        if name == "add":
            return a + b, (ba[0] + bb[0], ba[1] + bb[1])
        if name == "sub":
            return a - b, (ba[0] - bb[1], ba[1] - bb[0])
        if name == "mul":
            return a * b, product_bound(ba, bb)
        d, bd = _denominator(b, bb)
        return a / d, product_bound(ba, reciprocal(bd))

    return OpKind(_draw_pair, _broadcast, compute)


def _draw_scale(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes)
    c = draw(st.sampled_from((2.0, -1.0, 0.5, -1.5)))
    d = draw(st.sampled_from((0.0, 1.0, -0.5)))
    return (i,), (c, d)


def _scale(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    c, d = params
    lo, hi = sorted((bounds[0][0] * c, bounds[0][1] * c))
    return values[0] * c + d, (lo + d, hi + d)


# constants


def _draw_constant(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    shape = draw(st.sampled_from(sorted({(), *shapes})))
    return (), (shape, draw(st.integers(0, 2**16)))


def _constant(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    import jax.numpy as jnp

    shape, seed = params
    return jnp.asarray(np.random.default_rng(seed).uniform(-1.0, 1.0, shape)), (-1.0, 1.0)


# reductions: sum, mean, max (over an axis or all)


def _count(shape: Shape, axis: int | None) -> int:
    return math.prod(shape) if axis is None else shape[axis]


def _ramp(shape: Shape, axis: int | None) -> tuple[Any, float]:
    """A constant of ``shape`` rising by :data:`RAMP` along ``axis`` (all entries if None)."""
    n = _count(shape, axis)
    steps = np.arange(n, dtype=float) * RAMP
    if axis is None:
        return steps.reshape(shape), RAMP * max(n - 1, 0)
    return steps.reshape([n if d == axis else 1 for d in range(len(shape))]), RAMP * (n - 1)


def _reduction(name: str) -> OpKind:
    def compute(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
        import jax.numpy as jnp

        (v,), (bound,), (axis,) = values, bounds, params
        if name == "max":
            ramp, rise = _ramp(tuple(v.shape), axis)
            return jnp.max(v + ramp, axis=axis), (bound[0], bound[1] + rise)
        n = _count(tuple(v.shape), axis) if name == "sum" else 1
        return getattr(jnp, name)(v, axis=axis), (n * bound[0], n * bound[1])

    return OpKind(_with_axis(_any, whole=True), _drop_axis, compute)


# products: dot, matmul, einsum


def _fits(function: Callable[..., Any], *shapes: Shape) -> Shape | None:
    """``function``'s result shape on zeros of ``shapes`` (numpy's rules), None if refused."""
    try:
        return tuple(function(*(np.zeros(s) for s in shapes)).shape)
    except ValueError:
        return None


def _draw_product(fits: Callable[[Shape, Shape], bool]) -> Callable[[Any, Sequence[Shape]], Drawn]:
    def draw_rule(draw: Any, shapes: Sequence[Shape]) -> Drawn:
        i = _pick(draw, shapes, lambda a: any(fits(a, b) for b in shapes))
        if i is None:
            return None
        return (i, _pick(draw, shapes, lambda b: fits(shapes[i], b))), ()

    return draw_rule


def _inner(a: Shape, b: Shape) -> int:
    """The length of the sum behind each entry of dot(a, b) (1 if either is a scalar)."""
    return a[-1] if a and b else 1


def _contraction(name: str) -> OpKind:
    """``numpy.<name>``-shaped products: ``dot`` (scalars included) or ``matmul``."""
    reference = getattr(np, name)

    def fits(a: Shape, b: Shape) -> bool:
        return (name == "dot" or (bool(a) and bool(b))) and _fits(reference, a, b) is not None

    def shape(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
        return _fits(reference, *shapes)

    def compute(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
        (a, b), (ba, bb) = values, bounds
        n = _inner(tuple(a.shape), tuple(b.shape))
        lo, hi = product_bound(ba, bb)
        return _jnp(name)(a, b), (n * lo, n * hi)

    return OpKind(_draw_product(fits), shape, compute)


def _einsum_fits(spec: str, a: Shape, b: Shape) -> bool:
    inputs = spec.split("->")[0].split(",")
    return [len(a), len(b)] == [len(s) for s in inputs] and _fits(
        lambda x, y: np.einsum(spec, x, y), a, b
    ) is not None


def _draw_einsum(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    usable = [
        (spec, i, j)
        for spec in EINSUM_SPECS
        for i in reversed(range(len(shapes)))
        for j in reversed(range(len(shapes)))
        if _einsum_fits(spec, shapes[i], shapes[j])
    ]
    if not usable:
        return None
    spec, i, j = draw(st.sampled_from(usable))
    return (i, j), (spec,)


def _einsum_shape(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    return _fits(lambda x, y: np.einsum(params[0], x, y), *shapes)


def _einsum(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    import jax.numpy as jnp

    (spec,), (a, b) = params, values
    inputs, output = spec.split("->")
    sizes = dict(zip(inputs.replace(",", ""), (*a.shape, *b.shape), strict=True))
    n = math.prod(size for letter, size in sizes.items() if letter not in output)
    lo, hi = product_bound(*bounds)
    return jnp.einsum(spec, a, b), (n * lo, n * hi)


# shape changes: transpose, reshape, squeeze, expand_dims, flip, broadcast_to


def _reshapes(shape: Shape) -> list[Shape]:
    size = math.prod(shape)
    targets = {(size,), (1, size), (size, 1), tuple(reversed(shape))}
    if size == 1:
        targets.add(())
    return sorted(t for t in targets if len(t) <= 2)


def _draw_reshape(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes)
    return (i,), (draw(st.sampled_from(_reshapes(shapes[i]))),)


def _draw_expand(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes, lambda s: len(s) <= 1)
    return None if i is None else ((i,), (draw(st.integers(0, len(shapes[i]))),))


def _expanded(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    (axis,) = params
    return shapes[0][:axis] + (1,) + shapes[0][axis:]


def _draw_broadcast(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes, lambda s: len(s) <= 1)
    return None if i is None else ((i,), ((draw(st.integers(1, 3)), *shapes[i]),))


def _unchanged_bound(function: Callable[..., Any]) -> Callable[..., tuple[Any, Bound]]:
    """A compute rule for ops that move entries without changing them: ``function(v, *params)``."""

    def compute(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
        return function(values[0], *params), bounds[0]

    return compute


def _jnp(name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        import jax.numpy as jnp

        return getattr(jnp, name)(*args, **kwargs)

    return call


# slicing and indexing


def _draw_slice(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes, _has_axes)
    if i is None:
        return None
    axis = _axes(draw, shapes[i], whole=False)
    n = shapes[i][axis]
    start = draw(st.integers(0, n - 1))
    stop = draw(st.integers(start + 1, n))
    return (i,), (axis, start, stop, draw(st.sampled_from((1, 2))))


def _sliced(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    axis, start, stop, step = params
    shape = shapes[0]
    return shape[:axis] + (len(range(start, stop, step)),) + shape[axis + 1 :]


def _slice(v: Any, axis: int, start: int, stop: int, step: int) -> Any:
    return v[(slice(None),) * axis + (slice(start, stop, step),)]


def _draw_index(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes, _has_axes)
    if i is None:
        return None
    axis = _axes(draw, shapes[i], whole=False)
    n = shapes[i][axis]
    return (i,), (axis, draw(st.integers(-n, n - 1)))


def _index(v: Any, axis: int, index: int) -> Any:
    return v[(slice(None),) * axis + (index,)]


def _draw_take(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes, _has_axes)
    if i is None:
        return None
    n = shapes[i][0]
    return (i,), (tuple(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))),)


def _taken(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    return (len(params[0]),) + shapes[0][1:]


def _take(v: Any, indices: tuple[int, ...]) -> Any:
    import jax.numpy as jnp

    return v[jnp.asarray(indices)]


# joining: concatenate, stack, where


def _draw_concatenate(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes, _has_axes)
    if i is None:
        return None
    axis = _axes(draw, shapes[i], whole=False)
    a = shapes[i]

    def fits(b: Shape) -> bool:
        return len(b) == len(a) and all(x == y for d, (x, y) in enumerate(zip(a, b, strict=True)) if d != axis)

    return (i, _pick(draw, shapes, fits)), (axis,)


def _concatenated(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    (axis,), (a, b) = params, shapes
    return a[:axis] + (a[axis] + b[axis],) + a[axis + 1 :]


def _draw_stack(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes, lambda s: len(s) <= 1)
    if i is None:
        return None
    j = _pick(draw, shapes, lambda s: s == shapes[i])
    return (i, j), (draw(st.integers(0, len(shapes[i]))),)


def _stacked(shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
    (axis,) = params
    return shapes[0][:axis] + (2,) + shapes[0][axis:]


def _joined(function: Callable[..., Any]) -> Callable[..., tuple[Any, Bound]]:
    def compute(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
        return function(values, *params), union(*bounds)

    return compute


def _draw_where(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    (i, j), _ = _draw_pair(draw, shapes)
    return (i, j), (draw(st.integers(0, 2**16)),)


def _where(values: list[Any], seed: int) -> Any:
    import jax.numpy as jnp

    shape = np.broadcast_shapes(*(tuple(v.shape) for v in values))
    mask = np.random.default_rng(seed).random(shape) < 0.5
    return jnp.where(jnp.asarray(mask), *values)


# cumulative and order: cumsum, sort


def _cumsum(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    import jax.numpy as jnp

    (v,), ((lo, hi),), (axis,) = values, bounds, params
    n = v.shape[axis]
    return jnp.cumsum(v, axis=axis), (min(lo, n * lo), max(hi, n * hi))


def _sort(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    import jax.numpy as jnp

    (v,), ((lo, hi),), (axis,) = values, bounds, params
    ramp, rise = _ramp(tuple(v.shape), axis)
    return jnp.sort(v + ramp, axis=axis), (lo, hi + rise)


# control flow: cond, fori_loop, scan


def _draw_cond(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    i = _pick(draw, shapes)
    threshold = draw(st.sampled_from((0.0, 0.5, -0.5)))
    return (i,), (threshold, draw(st.sampled_from(UNARY)), draw(st.sampled_from(UNARY)))


def _cond(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    import jax
    import jax.numpy as jnp

    (v,), (bound,), (threshold, if_true, if_false) = values, bounds, params
    value = jax.lax.cond(
        jnp.sum(v) > threshold,
        lambda u: unary_value(if_true, u, bound),
        lambda u: unary_value(if_false, u, bound),
        v,
    )
    return value, union(unary_bound(if_true, bound), unary_bound(if_false, bound))


def _draw_loop(draw: Any, shapes: Sequence[Shape]) -> Drawn:
    return (_pick(draw, shapes),), (draw(st.integers(1, 3)),)


def _fori_loop(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    """``trips`` times c -> 0.9 sin(c) + 0.1 c: |c| stays within max(|v|, 1)."""
    import jax
    import jax.numpy as jnp

    (v,), (bound,), (trips,) = values, bounds, params
    value = jax.lax.fori_loop(0, trips, lambda i, c: 0.9 * jnp.sin(c) + 0.1 * c, v)
    size = max(magnitude(bound), 1.0)
    return value, (-size, size)


def _scan(values: list[Any], bounds: list[Bound], params: tuple[Any, ...]) -> tuple[Any, Bound]:
    """Over axis 0: carry -> 0.5 carry + sin(x), y = carry * x: |carry| <= 2, |y| <= 2 |x|."""
    import jax
    import jax.numpy as jnp

    (v,), (bound,) = values, bounds

    def step(carry: Any, x: Any) -> tuple[Any, Any]:
        carry = 0.5 * carry + jnp.sin(x)
        return carry, carry * x

    _, ys = jax.lax.scan(step, jnp.zeros(v.shape[1:], v.dtype), v)
    size = 2.0 * magnitude(bound)
    return ys, (-size, size)


OPS: dict[str, OpKind] = {
    **{name: _unary(name) for name in UNARY},
    **{name: _binary(name) for name in BINARY},
    "scale": OpKind(_draw_scale, _same, _scale),
    "constant": OpKind(_draw_constant, lambda shapes, params: params[0], _constant),
    **{name: _reduction(name) for name in ("sum", "mean", "max")},
    "dot": _contraction("dot"),
    "matmul": _contraction("matmul"),
    "einsum": OpKind(_draw_einsum, _einsum_shape, _einsum),
    "transpose": OpKind(
        _one_operand(), lambda shapes, params: shapes[0][::-1], _unchanged_bound(_jnp("transpose"))
    ),
    "reshape": OpKind(
        _draw_reshape, lambda shapes, params: params[0], _unchanged_bound(_jnp("reshape"))
    ),
    "squeeze": OpKind(
        _one_operand(lambda s: 1 in s),
        lambda shapes, params: tuple(d for d in shapes[0] if d != 1),
        _unchanged_bound(_jnp("squeeze")),
    ),
    "expand_dims": OpKind(_draw_expand, _expanded, _unchanged_bound(_jnp("expand_dims"))),
    "slice": OpKind(_draw_slice, _sliced, _unchanged_bound(_slice)),
    "index": OpKind(_draw_index, lambda shapes, params: _drop_axis(shapes, params), _unchanged_bound(_index)),
    "take": OpKind(_draw_take, _taken, _unchanged_bound(_take)),
    "concatenate": OpKind(
        _draw_concatenate, _concatenated, _joined(lambda vs, axis: _jnp("concatenate")(vs, axis))
    ),
    "stack": OpKind(_draw_stack, _stacked, _joined(lambda vs, axis: _jnp("stack")(vs, axis))),
    "where": OpKind(_draw_where, _broadcast, _joined(_where)),
    "flip": OpKind(_with_axis(_has_axes, whole=True), _same, _unchanged_bound(_jnp("flip"))),
    "broadcast_to": OpKind(
        _draw_broadcast, lambda shapes, params: params[0], _unchanged_bound(_jnp("broadcast_to"))
    ),
    "cumsum": OpKind(_with_axis(_has_axes, whole=False), _same, _cumsum),
    "sort": OpKind(_with_axis(_has_axes, whole=False), _same, _sort),
    "cond": OpKind(_draw_cond, _same, _cond),
    "fori_loop": OpKind(_draw_loop, _same, _fori_loop),
    "scan": OpKind(_one_operand(_has_axes), _same, _scan),
}
"""The grammar, by op name. The first names are the ones hypothesis shrinks towards."""

# --- the strategies -------------------------------------------------------------------------


@st.composite
def shapes(draw: Any, max_dim: int = 3) -> Shape:
    """A scalar, vector or matrix shape with sides in 1..``max_dim``.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(shapes())
    ... def check(shape):
    ...     assert len(shape) <= 2 and all(1 <= d <= 3 for d in shape)
    >>> check()
    """
    rank = draw(st.sampled_from((1, 0, 2)))
    return tuple(draw(st.integers(1, max_dim)) for _ in range(rank))


def draw_op(draw: Any, pool: Sequence[Shape], names: Sequence[str] = tuple(OPS)) -> Op:
    """One op on the pool's ``shapes``: its name from ``names``; an op that applies to none
    of the values becomes ``sin`` of one of them.

    Examples
    --------
    >>> from hypothesis import given, strategies as st
    >>> @given(st.data())
    ... def check(data):
    ...     op = draw_op(data.draw, [(2, 3), ()])
    ...     assert all(0 <= i < 2 for i in op.args)
    >>> check()
    """
    name = draw(st.sampled_from(list(names)))
    drawn = OPS[name].draw(draw, pool)
    if drawn is None:
        return Op("sin", (_pick(draw, pool),))
    args, params = drawn
    return Op(name, args, params)


@st.composite
def programs(
    draw: Any,
    max_inputs: int = 3,
    max_ops: int = 6,
    max_dim: int = 3,
    names: Sequence[str] = tuple(OPS),
) -> Program:
    """Random programs: 1..``max_inputs`` inputs, 1..``max_ops`` ops drawn from ``names``,
    returning the last value, alone or with up to two others in a tuple or a dict.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(programs(max_ops=3))
    ... def check(program):
    ...     assert len(program.ops) <= 3 and program.outputs[0] == len(program.shapes) - 1
    >>> check()
    """
    inputs = tuple(draw(shapes(max_dim)) for _ in range(draw(st.integers(1, max_inputs))))
    pool = list(inputs)
    ops = []
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw_op(draw, pool, names)
        ops.append(op)
        pool.append(OPS[op.name].shape([pool[i] for i in op.args], op.params))
    structure = draw(st.sampled_from(STRUCTURES))
    extra = [] if structure == "array" else draw(
        st.lists(st.integers(0, len(pool) - 1), max_size=2)
    )
    outputs = (len(pool) - 1, *extra)
    seed = draw(st.integers(0, 2**32 - 1))
    return Program(inputs, tuple(ops), outputs, structure, seed)


def argnums(n_inputs: int) -> st.SearchStrategy[int | tuple[int, ...]]:
    """``argnums`` for a function of ``n_inputs`` positional arguments, as ``jax.jacobian``
    takes them: an int (negative ones included) or a tuple of distinct ints in any order.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(argnums(2))
    ... def check(a):
    ...     assert a in (-2, -1, 0, 1) or set(a) <= {0, 1}
    >>> check()
    """
    single = st.integers(-n_inputs, n_inputs - 1)
    several = st.lists(st.integers(0, n_inputs - 1), min_size=1, max_size=n_inputs, unique=True)
    return st.one_of(single, several.map(tuple))


COVERING_INPUTS: tuple[Shape, ...] = ((2, 3), (3,), (), (3, 1))
"""Inputs on which every op of the grammar applies (a size-1 axis for squeeze, matrices
for einsum, vectors for stack and expand_dims)."""


@st.composite
def covering_programs(draw: Any) -> Program:
    """Programs on :data:`COVERING_INPUTS` that use every op of :data:`OPS` once, in a random
    order, returning a dict of the last value and two others.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3)
    ... @given(covering_programs())
    ... def check(program):
    ...     assert sorted(op.name for op in program.ops) == sorted(OPS)
    >>> check()
    """
    pool = list(COVERING_INPUTS)
    ops = []
    for name in draw(st.permutations(list(OPS))):
        drawn = OPS[name].draw(draw, pool)
        assert drawn is not None, f"{name} applies to none of {pool}"
        ops.append(Op(name, *drawn))
        pool.append(OPS[name].shape([pool[i] for i in drawn[0]], drawn[1]))
    others = draw(st.lists(st.integers(0, len(pool) - 2), min_size=2, max_size=2))
    seed = draw(st.integers(0, 2**32 - 1))
    return Program(COVERING_INPUTS, tuple(ops), (len(pool) - 1, *others), "dict", seed)
