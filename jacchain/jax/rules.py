"""One structural rule per JAX primitive: the partial of an output with respect to an input.

A rule looks at an equation of a jaxpr (its primitive, parameters and the shapes of its
operands) and returns, for one output and one differentiated operand, an :class:`Edge`:
the :class:`~jacchain.programs.partials.Partial`'s structure (planning needs nothing else) and
a function that computes its factor from the equation's primal values at execution time.
Rules live in a registry keyed by primitive name, in the spirit of JAX's own ``defjvp``
tables; a primitive without a rule becomes a *matrix-free* partial: its Jacobian is formed
by ``jax.jacfwd`` or ``jax.jacrev`` of that one equation, whichever needs fewer sweeps, so
that any function JAX can differentiate is differentiated.

=================================  ==================================================
primitives                         structure of the partial
=================================  ==================================================
elementwise (sin, mul, div, ...)   diagonal over the output's axes (a delta per axis;
                                   size-1 and scalar operands broadcast)
add, sub, neg                      +-1 times the same diagonal structure, no factor
convert_element_type, copy         identity
broadcast_in_dim, squeeze,         data movement: deltas and broadcast axes, no factor
transpose, reshape (size-1 axes)
reduce_sum                         a sum: the reduced axes appear on the input only
reduce_max, reduce_min, ...        a factor over the input's axes, deltas on kept axes
dot_general                        Kronecker: deltas on batch and free axes, the other
                                   operand as the factor
slice, pad, concatenate, rev,      selections: deltas on unchanged axes, a constant
split, other reshapes              0/1 index map on the others (costs nothing)
gather, scatter, dynamic_slice     a constant 0/1 factor over all axes (a selection when
                                   injective) for constant indices; else formed at run time
anything else (scan, while, ...)   matrix-free: a dense factor from jacfwd / jacrev
=================================  ==================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..programs import structures
from ..programs.graph import Edge, Values, registering
from ..programs.partials import Partial, fresh_labels
from ..programs.structures import (
    MAX_SELECTION_ENTRIES,
    Block,
    axis_blocks,
    contraction,
    dropping,
    elementwise_structure,
    permutation,
    relabelled_reshape,
    reshape_blocks,
)

__all__ = ["RULES", "edge_rule", "CONSTANT_PRIMITIVES", "INLINED_PRIMITIVES", "rule_for",
           "sweep_cost"]

Rule = Callable[[Any, int, int], Edge]
"""``rule(eqn, output_index, operand_index) -> Edge``."""

RULES: dict[str, Rule] = {}

INLINED_PRIMITIVES = {
    "jit": "jaxpr",
    "pjit": "jaxpr",
    "closed_call": "call_jaxpr",
    "core_call": "call_jaxpr",
    "custom_jvp_call": "call_jaxpr",
    "custom_vjp_call": "call_jaxpr",
    "custom_vjp_call_jaxpr": "fun_jaxpr",
    "remat": "jaxpr",
    "checkpoint": "jaxpr",
}
"""Call primitives whose sub-jaxpr is inlined (the parameter that holds it)."""

CONSTANT_PRIMITIVES = frozenset(
    {"stop_gradient", "argmax", "argmin", "iota", "eq", "ne", "lt", "le", "gt", "ge",
     "and", "or", "not", "xor", "is_finite", "sign", "floor", "ceil", "round",
     "random_bits", "random_seed", "random_wrap", "random_unwrap", "shift_left",
     "shift_right_logical", "shift_right_arithmetic", "population_count", "clz"}
)
"""Primitives whose outputs carry no derivative (zero partials, or not differentiable)."""


def edge_rule(*names: str) -> Callable[[Rule], Rule]:
    """Register a rule for the primitives ``names`` (a decorator).

    Examples
    --------
    >>> @edge_rule("my_copy")
    ... def my_copy(eqn, output, operand):
    ...     return identity(eqn, output, operand)
    >>> rule_for("my_copy") is my_copy
    True
    >>> del RULES["my_copy"]
    """

    return registering(RULES, names)


def rule_for(name: str) -> Rule:
    """The rule of primitive ``name``; the matrix-free rule when it has none.

    Examples
    --------
    >>> rule_for("sin") is RULES["sin"], rule_for("scan") is matrix_free
    (True, True)
    """
    return RULES.get(name, matrix_free)


def _shape(atom: Any) -> tuple[int, ...]:
    return tuple(atom.aval.shape)


def _bind(eqn: Any, invals: Sequence[Any]) -> Any:
    return eqn.primitive.bind(*invals, **eqn.params)


def _jvp_values(eqn: Any, output: int, operand: int) -> Values:
    """The elementwise derivative by one forward-mode product with a tangent of ones."""
    import jax
    import jax.numpy as jnp

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        def function(x: Any) -> Any:
            args = list(invals)
            args[operand] = x
            out = _bind(eqn, args)
            return out[output] if eqn.primitive.multiple_results else out

        x = invals[operand]
        derivative = jax.jvp(function, (x,), (jnp.ones_like(x),))[1]
        return jnp.broadcast_to(derivative, _shape(eqn.outvars[output]))

    return values


_UNIT_SCALES = {("add", 0): 1.0, ("add", 1): 1.0, ("sub", 0): 1.0, ("sub", 1): -1.0,
                ("neg", 0): -1.0, ("add_any", 0): 1.0, ("add_any", 1): 1.0}


@edge_rule(
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "exp", "exp2", "expm1", "log", "log1p", "logistic", "sqrt", "rsqrt", "cbrt",
    "integer_pow", "square", "abs", "erf", "erfc", "erf_inv", "lgamma", "digamma",
    "mul", "div", "pow", "max", "min", "atan2", "rem", "select_n", "clamp", "nextafter",
    "add", "sub", "neg", "add_any",
)
def elementwise(eqn: Any, output: int, operand: int) -> Edge:
    """Elementwise primitives: a diagonal over the output's axes (broadcast operands repeat)."""
    out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[operand])
    out_labels, in_labels, sizes = elementwise_structure(out_shape, in_shape)
    scale = _UNIT_SCALES.get((eqn.primitive.name, operand))
    if scale is not None:
        return Edge(Partial(out_labels, in_labels, sizes, None, None, scale, True, True))
    constant = _constant_scale(eqn, operand)
    if constant is not None:
        return Edge(Partial(out_labels, in_labels, sizes, None, None, constant, True, True))
    partial = Partial(out_labels, in_labels, sizes, out_labels, None, 1.0, True, True)
    return Edge(partial, _jvp_values(eqn, output, operand))


def _constant_scale(eqn: Any, operand: int) -> float | None:
    """``x * c`` or ``x / c`` with a literal scalar ``c``: the partial is the constant."""
    from jax.extend.core import Literal

    name = eqn.primitive.name
    if name not in ("mul", "div") or len(eqn.invars) != 2:
        return None
    other = eqn.invars[1 - operand]
    if not isinstance(other, Literal) or _shape(other) != ():
        return None
    value = float(other.val)
    if name == "mul":
        return value
    return 1.0 / value if operand == 0 and value != 0 else None


@edge_rule("convert_element_type", "copy", "copy_p", "reduce_precision", "optimization_barrier")
def identity(eqn: Any, output: int, operand: int) -> Edge:
    """Copies and float-to-float conversions: the identity (data movement)."""
    return Edge(Partial.identity(_shape(eqn.outvars[output]), symbolic=True))


@edge_rule("broadcast_in_dim")
def broadcast_in_dim(eqn: Any, output: int, operand: int) -> Edge:
    """Each operand axis maps to an output axis (a delta, or size 1 broadcast); new axes repeat."""
    out_shape, in_shape = _shape(eqn.outvars[0]), _shape(eqn.invars[0])
    out_labels = list(fresh_labels(len(out_shape)))
    sizes = dict(zip(out_labels, out_shape, strict=True))
    in_labels = []
    for in_axis, out_axis in enumerate(eqn.params["broadcast_dimensions"]):
        if in_shape[in_axis] == out_shape[out_axis]:
            in_labels.append(out_labels[out_axis])
        else:
            (fresh,) = fresh_labels(1)
            sizes[fresh] = in_shape[in_axis]
            in_labels.append(fresh)
    return Edge(Partial(tuple(out_labels), tuple(in_labels), sizes, None, None, 1.0, False, True))


def _dropping(eqn: Any, axes: Sequence[int]):
    """:func:`~jacchain.programs.structures.dropping` for the equation's operand."""
    return dropping(_shape(eqn.invars[0]), axes)


@edge_rule("squeeze")
def squeeze(eqn: Any, output: int, operand: int) -> Edge:
    """Drop size-1 axes: the others are deltas."""
    out_labels, in_labels, sizes = _dropping(eqn, eqn.params["dimensions"])
    return Edge(Partial(out_labels, in_labels, sizes, None, None, 1.0, False, True))


@edge_rule("transpose")
def transpose(eqn: Any, output: int, operand: int) -> Edge:
    """A permutation of the axes: every axis a delta, in another order."""
    return Edge(permutation(_shape(eqn.invars[0]), eqn.params["permutation"]))


@edge_rule("reshape")
def reshape(eqn: Any, output: int, operand: int) -> Edge:
    """Inserting or removing size-1 axes relabels; any other reshape is a 0/1 factor."""
    out_shape, in_shape = _shape(eqn.outvars[0]), _shape(eqn.invars[0])
    relabelled = relabelled_reshape(out_shape, in_shape)
    if eqn.params.get("dimensions") is None and relabelled is not None:
        return Edge(relabelled)
    if eqn.params.get("dimensions") is None:
        return index_map(eqn, output, operand, reshape_blocks(out_shape, in_shape))
    return linear_structure(eqn, output, operand)


@edge_rule("reduce_sum")
def reduce_sum(eqn: Any, output: int, operand: int) -> Edge:
    """A sum: kept axes are deltas, reduced axes belong to the operand only."""
    out_labels, in_labels, sizes = _dropping(eqn, eqn.params["axes"])
    return Edge(Partial(out_labels, in_labels, sizes, None, None, 1.0, True, True))


@edge_rule("reduce_max", "reduce_min", "reduce_prod", "argsort_values", "cummax_values")
def reduction(eqn: Any, output: int, operand: int) -> Edge:
    """Other reductions: a factor over the operand's axes (deltas on the kept axes)."""
    import jax
    import jax.numpy as jnp

    out_labels, in_labels, sizes = _dropping(eqn, eqn.params["axes"])

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        # each operand entry reaches one output entry: one reverse product with ones gives
        # every partial at once
        out, pullback = jax.vjp(lambda x: _bind(eqn, [x]), invals[0])
        return pullback(jnp.ones_like(out))[0]

    partial = Partial(out_labels, in_labels, sizes, in_labels, None, 1.0, True, True)
    return Edge(partial, values)


@edge_rule("dot_general")
def dot_general(eqn: Any, output: int, operand: int) -> Edge:
    """A Kronecker structure: deltas on batch and free axes, the other operand as the factor."""
    contract, batch = eqn.params["dimension_numbers"]
    partial = contraction(_shape(eqn.invars[0]), _shape(eqn.invars[1]), contract, batch, operand)
    other = 1 - operand

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        return invals[other]

    return Edge(partial, values)


def index_map(eqn: Any, output: int, operand: int, blocks: Sequence[Block]) -> Edge:
    """A selection partial: deltas on unchanged axes, a constant 0/1 factor on the others.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> eqn = jax.make_jaxpr(lambda x: x[1:3])(jnp.ones(4)).eqns[0]
    >>> edge = rule_for(eqn.primitive.name)(eqn, 0, 0)
    >>> edge.partial.kind(), edge.values([], []).tolist()
    ('selection', [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    """
    out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[operand])
    mapped = structures.index_map(out_shape, in_shape, blocks, eqn.outvars[output].aval.dtype)
    if mapped is None:
        return linear_structure(eqn, output, operand)
    partial, constant = mapped
    if constant is None:
        return Edge(partial)
    return Edge(partial, lambda invals, outvals: constant)


@edge_rule("slice")
def slice_rule(eqn: Any, output: int, operand: int) -> Edge:
    """A slice: entry ``start + j * stride`` of each axis becomes entry ``j``."""
    import numpy as np

    out_shape, in_shape = _shape(eqn.outvars[0]), _shape(eqn.invars[0])
    strides = eqn.params.get("strides") or (1,) * len(in_shape)
    targets = {}
    for axis, (start, stride) in enumerate(zip(eqn.params["start_indices"], strides, strict=True)):
        position = np.arange(in_shape[axis]) - start
        targets[axis] = np.where(position % stride == 0, position // stride, -1)
    return index_map(eqn, output, operand, axis_blocks(out_shape, in_shape, targets))


@edge_rule("rev")
def rev(eqn: Any, output: int, operand: int) -> Edge:
    """A reversal of some axes: a permutation."""
    import numpy as np

    shape = _shape(eqn.invars[0])
    targets = {axis: np.arange(shape[axis])[::-1] for axis in eqn.params["dimensions"]}
    return index_map(eqn, output, operand, axis_blocks(shape, shape, targets))


@edge_rule("pad")
def pad(eqn: Any, output: int, operand: int) -> Edge:
    """Padding (edges may be negative, interior padding spreads): an embedding of the operand.

    The padding value's partial (a 0/1 mask over the padded entries) is a plain 0/1 factor."""
    import numpy as np

    if operand != 0:
        return linear_structure(eqn, output, operand)
    out_shape, in_shape = _shape(eqn.outvars[0]), _shape(eqn.invars[0])
    targets = {
        axis: low + np.arange(in_shape[axis]) * (interior + 1)
        for axis, (low, _high, interior) in enumerate(eqn.params["padding_config"])
    }
    return index_map(eqn, output, operand, axis_blocks(out_shape, in_shape, targets))


@edge_rule("concatenate")
def concatenate(eqn: Any, output: int, operand: int) -> Edge:
    """Each operand lands in its own range of the concatenated axis."""
    import numpy as np

    axis = eqn.params["dimension"]
    out_shape, in_shape = _shape(eqn.outvars[0]), _shape(eqn.invars[operand])
    offset = sum(_shape(atom)[axis] for atom in eqn.invars[:operand])
    targets = {axis: offset + np.arange(in_shape[axis])}
    return index_map(eqn, output, operand, axis_blocks(out_shape, in_shape, targets))


@edge_rule("split")
def split(eqn: Any, output: int, operand: int) -> Edge:
    """Each output takes its own range of the split axis."""
    import numpy as np

    axis = eqn.params["axis"]
    out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[0])
    offset = sum(eqn.params["sizes"][:output])
    targets = {axis: np.arange(in_shape[axis]) - offset}
    return index_map(eqn, output, operand, axis_blocks(out_shape, in_shape, targets))


@edge_rule("dynamic_slice", "dynamic_update_slice", "gather", "scatter", "scatter-add",
           "scatter_add")
def linear_structure(eqn: Any, output: int, operand: int) -> Edge:
    """Data movement linear in the operand (selections, embeddings, scatters).

    With constant indices (literals, or folded constants) the partial is a constant 0/1
    array, computed once while planning; a selection (free to compose with) when it is
    injective both ways. With indices computed at run time it is a 0/1 array formed at run
    time; matrix-free when too large.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> eqn = jax.make_jaxpr(lambda x: jax.lax.dynamic_slice(x, (1,), (2,)))(jnp.ones(4)).eqns[0]
    >>> edge = rule_for(eqn.primitive.name)(eqn, 0, 0)
    >>> edge.partial.kind(), edge.values([], []).tolist()
    ('selection', [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    """
    import numpy as np
    from jax.extend.core import Literal

    out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[operand])
    n_out, n_in = math.prod(out_shape), math.prod(in_shape)
    others = [atom for index, atom in enumerate(eqn.invars) if index != operand]
    indices_known = all(isinstance(atom, Literal) for atom in others if _is_integer(atom))
    if indices_known and eqn.primitive.name in ("gather", "dynamic_slice") and operand == 0:
        edge = _taken(eqn, output)
        if edge is not None:
            return edge
    if indices_known and n_out * n_in <= MAX_SELECTION_ENTRIES:
        constant = _constant_jacobian(eqn, output, operand)
        if constant is not None:
            matrix = constant.reshape(n_out, n_in)
            injective = bool(
                np.isin(matrix, (0, 1)).all()
                and (matrix.size == 0 or (matrix.sum(0).max() <= 1 and matrix.sum(1).max() <= 1))
            )
            partial = Partial.dense(out_shape, in_shape, arithmetic=False, symbolic=True)
            partial = replace(partial, selection=injective)
            return Edge(partial, lambda invals, outvals: constant)
    if all(isinstance(atom, Literal) or _is_integer(atom) for atom in others) and n_out * n_in <= 2**24:
        partial = Partial.dense(out_shape, in_shape, arithmetic=False, symbolic=True)
        return Edge(partial, _dense_values(eqn, output, operand))
    return matrix_free(eqn, output, operand)


def _taken(eqn: Any, output: int) -> Edge | None:
    """A gather or dynamic slice with constant indices as deltas on the axes it leaves alone
    and a constant 0/1 factor on the others, found by running it on the entries' own
    positions; None when the map does not factor so (then all axes form the factor)."""
    import jax
    import numpy as np
    from jax.extend.core import Literal

    out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[0])
    n_in = math.prod(in_shape)
    dtype = eqn.invars[0].aval.dtype
    if not 0 < n_in < 2**24 or not np.issubdtype(dtype, np.floating) or np.finfo(dtype).nmant < 23:
        return None
    try:
        with jax.ensure_compile_time_eval():
            positions = np.arange(1, n_in + 1, dtype=dtype).reshape(in_shape)
            invals = [positions] + [atom.val for atom in eqn.invars[1:] if isinstance(atom, Literal)]
            if len(invals) != len(eqn.invars):
                return None
            out = _bind(eqn, invals)
            source = np.asarray(out[output] if eqn.primitive.multiple_results else out)
    except Exception:  # not evaluable while planning
        return None
    source = np.where(np.isfinite(source) & (source >= 1), source, 0).astype(np.int64) - 1
    found = source >= 0
    where = np.unravel_index(np.maximum(source, 0), in_shape)
    out_labels = list(fresh_labels(len(out_shape)))
    in_labels = list(fresh_labels(len(in_shape)))
    matched: dict[int, int] = {}
    for o, size in enumerate(out_shape):
        along = np.arange(size).reshape([-1 if a == o else 1 for a in range(len(out_shape))])
        for i, in_size in enumerate(in_shape):
            if i not in matched.values() and in_size == size and np.all(~found | (where[i] == along)):
                matched[o] = i
                in_labels[i] = out_labels[o]
                break
    if len(matched) == len(out_shape) and not found.all():
        return None
    rest_out = [o for o in range(len(out_shape)) if o not in matched]
    rest_in = [i for i in range(len(in_shape)) if i not in matched.values()]
    # the map on the other axes must not depend on the matched ones: compare with its slice
    first = tuple(0 if o in matched else slice(None) for o in range(len(out_shape)))
    for values in [found] + [where[i] for i in rest_in]:
        if not np.array_equal(values, np.broadcast_to(np.expand_dims(values[first], list(matched)),
                                                      values.shape)):
            return None
    rest_out_shape = tuple(out_shape[o] for o in rest_out)
    rest_in_shape = tuple(in_shape[i] for i in rest_in)
    entries = math.prod(rest_out_shape) * math.prod(rest_in_shape)
    if entries > MAX_SELECTION_ENTRIES:
        return None
    factor = np.zeros((math.prod(rest_out_shape), math.prod(rest_in_shape)), dtype=dtype)
    rows = np.flatnonzero(found[first].reshape(-1))
    if rest_in:
        columns = np.ravel_multi_index([where[i][first].reshape(-1)[rows] for i in rest_in],
                                       rest_in_shape)
    else:
        columns = np.zeros(len(rows), dtype=np.int64)
    factor[rows, columns] = 1.0
    injective = bool(factor.size == 0 or (factor.sum(0).max() <= 1 and factor.sum(1).max() <= 1))
    constant = factor.reshape(rest_out_shape + rest_in_shape)
    sizes = dict(zip(out_labels, out_shape, strict=True))
    sizes.update(zip(in_labels, in_shape, strict=True))
    factor_labels = tuple(out_labels[o] for o in rest_out) + tuple(in_labels[i] for i in rest_in)
    partial = Partial(tuple(out_labels), tuple(in_labels), sizes, factor_labels or None, None, 1.0,
                      False, True, injective and bool(factor_labels))
    if not factor_labels:
        return Edge(partial)
    return Edge(partial, lambda invals, outvals: constant)


def _constant_jacobian(eqn: Any, output: int, operand: int) -> Any:
    """The partial of an equation linear in ``operand`` whose indices are literals: a numpy
    array (None when JAX cannot evaluate it now)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.extend.core import Literal

    dtype = eqn.outvars[output].aval.dtype
    try:
        with jax.ensure_compile_time_eval():
            invals = [
                atom.val if isinstance(atom, Literal) else jnp.zeros(atom.aval.shape, atom.aval.dtype)
                for atom in eqn.invars
            ]
            function = _single_operand(eqn, output, operand, invals)
            return np.asarray(jax.jacfwd(function)(invals[operand]), dtype=dtype)
    except Exception:  # not evaluable while planning: formed at run time instead
        return None


def _is_integer(atom: Any) -> bool:
    import numpy as np

    return not np.issubdtype(atom.aval.dtype, np.inexact)


def matrix_free(eqn: Any, output: int, operand: int) -> Edge:
    """Any primitive: a matrix-free partial, the equation's JVP and VJP at the point.

    Each sweep is priced by XLA's cost analysis (:func:`sweep_cost`); the elimination
    applies it to its neighbours' rows or columns, or forms the array where that is cheaper.
    """
    from .linear_operator import LinearOperator

    out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[operand])
    jvp, vjp = sweep_cost(eqn, output, operand, True), sweep_cost(eqn, output, operand, False)
    if jvp is None and vjp is None:  # no cost analysis: one multiply-add per entry and sweep
        jvp = vjp = math.prod(in_shape) * math.prod(out_shape)

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        return LinearOperator(_single_operand(eqn, output, operand, invals), invals[operand])

    return Edge(Partial.matrix_free(out_shape, in_shape, jvp, vjp, symbolic=True), values)


def _dense_values(eqn: Any, output: int, operand: int) -> Values:
    """The partial of a linear equation as an array, by ``jax.jacfwd`` or ``jax.jacrev``
    (whichever needs fewer sweeps)."""
    import jax

    n_out, n_in = math.prod(_shape(eqn.outvars[output])), math.prod(_shape(eqn.invars[operand]))
    jacobian = jax.jacfwd if n_in <= n_out else jax.jacrev

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        return jacobian(_single_operand(eqn, output, operand, invals))(invals[operand])

    return values


def _single_operand(eqn: Any, output: int, operand: int, invals: Sequence[Any]) -> Callable:
    """The equation's ``output`` as a function of its ``operand`` alone (others fixed)."""

    def function(x: Any) -> Any:
        args = list(invals)
        args[operand] = x
        out = _bind(eqn, args)
        return out[output] if eqn.primitive.multiple_results else out

    return function


_SWEEP_COSTS: dict[tuple, int | None] = {}


def sweep_cost(eqn: Any, output: int, operand: int, forward: bool) -> int | None:
    """Multiply-adds of one JVP (``forward``) or VJP of one equation, by XLA's cost analysis.

    XLA counts a multiply-add as two floating-point operations; the figure is its ``flops``
    halved (at least 1). XLA counts a loop's body once: a ``scan``'s cost is multiplied by
    its length; a ``while`` loop's trip count is unknown before it runs, and one iteration is
    counted. None when XLA gives no analysis.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> eqn = jax.make_jaxpr(jnp.cumsum)(jnp.ones(8)).eqns[0]
    >>> sweep_cost(eqn, 0, 0, True) > 0
    True
    """
    import jax
    from jax.extend.core import Literal

    params = tuple(sorted((key, str(value)) for key, value in eqn.params.items()))
    avals = tuple((tuple(a.aval.shape), str(a.aval.dtype)) for a in eqn.invars)
    key = (eqn.primitive.name, params, avals, output, operand, forward)
    if key in _SWEEP_COSTS:
        return _SWEEP_COSTS[key]
    literals = {i: atom.val for i, atom in enumerate(eqn.invars) if isinstance(atom, Literal)}
    free = [i for i in range(len(eqn.invars)) if i not in literals]
    structs = [jax.ShapeDtypeStruct(eqn.invars[i].aval.shape, eqn.invars[i].aval.dtype) for i in free]
    out_aval = eqn.outvars[output].aval
    seed = jax.ShapeDtypeStruct(
        (eqn.invars[operand].aval if forward else out_aval).shape,
        (eqn.invars[operand].aval if forward else out_aval).dtype,
    )

    def sweep(given: Sequence[Any], direction: Any) -> Any:
        invals = [literals.get(i) for i in range(len(eqn.invars))]
        for i, value in zip(free, given, strict=True):
            invals[i] = value
        function = _single_operand(eqn, output, operand, invals)
        if forward:
            return jax.jvp(function, (invals[operand],), (direction,))[1]
        return jax.vjp(function, invals[operand])[1](direction)[0]

    try:
        analysis = jax.jit(sweep).lower(structs, seed).cost_analysis()
        if isinstance(analysis, list | tuple):
            analysis = analysis[0] if analysis else None
        flops = float(analysis["flops"])
    except Exception:  # no analysis on this backend or for this primitive
        cost = None
    else:
        trips = int(eqn.params.get("length", 1)) if eqn.primitive.name == "scan" else 1
        cost = max(1, math.ceil(flops / 2)) * trips
    _SWEEP_COSTS[key] = cost
    return cost
