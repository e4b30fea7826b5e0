"""One structural rule per JAX primitive: the partial of an output with respect to an input.

A rule looks at an equation of a jaxpr (its primitive, parameters and the shapes of its
operands) and returns, for one output and one differentiated operand, an :class:`Edge`:
the :class:`~jacchain.jax.partials.Partial`'s structure (planning needs nothing else) and
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
slice, pad, concatenate, rev,      a constant 0/1 factor (data movement)
other reshapes
anything else (scan, while, ...)   matrix-free: a dense factor from jacfwd / jacrev
=================================  ==================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .partials import Partial, fresh_labels

__all__ = ["Edge", "RULES", "edge_rule", "CONSTANT_PRIMITIVES", "INLINED_PRIMITIVES", "rule_for"]

Values = Callable[[Sequence[Any], Sequence[Any]], Any]
"""``value(invals, outvals)``: the factor of a partial from an equation's primal values."""


@dataclass(frozen=True)
class Edge:
    """One partial of an equation: its structure and how to compute its factor.

    Attributes
    ----------
    partial : Partial
        Symbolic (no values): labels, sizes, factor axes, scale.
    values : callable or None
        ``values(invals, outvals)`` gives the factor; None when the partial has none.
    creation_cost : int
        Multiply-adds spent forming the partial (matrix-free equations).
    """

    partial: Partial
    values: Values | None = None
    creation_cost: int = 0


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

    def register(rule: Rule) -> Rule:
        for name in names:
            RULES[name] = rule
        return rule

    return register


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


def _elementwise_structure(out_shape: tuple[int, ...], in_shape: tuple[int, ...]):
    """Labels of an elementwise partial: deltas where the operand is not broadcast."""
    out_labels = fresh_labels(len(out_shape))
    sizes = dict(zip(out_labels, out_shape, strict=True))
    if not in_shape:
        return out_labels, (), sizes
    in_labels = []
    for label, out_size, in_size in zip(out_labels, out_shape, in_shape, strict=True):
        if in_size == out_size:
            in_labels.append(label)
        else:  # a size-1 axis broadcast against the output
            (fresh,) = fresh_labels(1)
            sizes[fresh] = in_size
            in_labels.append(fresh)
    return out_labels, tuple(in_labels), sizes


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
    out_labels, in_labels, sizes = _elementwise_structure(out_shape, in_shape)
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


@edge_rule("squeeze")
def squeeze(eqn: Any, output: int, operand: int) -> Edge:
    """Drop size-1 axes: the others are deltas."""
    in_shape = _shape(eqn.invars[0])
    dropped = {axis % len(in_shape) for axis in eqn.params["dimensions"]}
    in_labels = fresh_labels(len(in_shape))
    sizes = dict(zip(in_labels, in_shape, strict=True))
    out_labels = tuple(label for axis, label in enumerate(in_labels) if axis not in dropped)
    return Edge(Partial(out_labels, in_labels, sizes, None, None, 1.0, False, True))


@edge_rule("transpose")
def transpose(eqn: Any, output: int, operand: int) -> Edge:
    """A permutation of the axes: every axis a delta, in another order."""
    in_shape = _shape(eqn.invars[0])
    in_labels = fresh_labels(len(in_shape))
    sizes = dict(zip(in_labels, in_shape, strict=True))
    out_labels = tuple(in_labels[axis] for axis in eqn.params["permutation"])
    return Edge(Partial(out_labels, in_labels, sizes, None, None, 1.0, False, True))


@edge_rule("reshape")
def reshape(eqn: Any, output: int, operand: int) -> Edge:
    """Inserting or removing size-1 axes relabels; any other reshape is a 0/1 factor."""
    out_shape, in_shape = _shape(eqn.outvars[0]), _shape(eqn.invars[0])
    if eqn.params.get("dimensions") is None and [d for d in out_shape if d != 1] == [
        d for d in in_shape if d != 1
    ]:
        out_labels = list(fresh_labels(len(out_shape)))
        sizes = dict(zip(out_labels, out_shape, strict=True))
        big = iter(label for label, size in zip(out_labels, out_shape, strict=True) if size != 1)
        in_labels = []
        for size in in_shape:
            if size != 1:
                in_labels.append(next(big))
            else:
                (fresh,) = fresh_labels(1)
                sizes[fresh] = 1
                in_labels.append(fresh)
        return Edge(Partial(tuple(out_labels), tuple(in_labels), sizes, None, None, 1.0, False, True))
    return linear_structure(eqn, output, operand)


@edge_rule("reduce_sum")
def reduce_sum(eqn: Any, output: int, operand: int) -> Edge:
    """A sum: kept axes are deltas, reduced axes belong to the operand only."""
    in_shape = _shape(eqn.invars[0])
    reduced = {axis % len(in_shape) for axis in eqn.params["axes"]}
    in_labels = fresh_labels(len(in_shape))
    sizes = dict(zip(in_labels, in_shape, strict=True))
    out_labels = tuple(label for axis, label in enumerate(in_labels) if axis not in reduced)
    return Edge(Partial(out_labels, in_labels, sizes, None, None, 1.0, True, True))


@edge_rule("reduce_max", "reduce_min", "reduce_prod", "argsort_values", "cummax_values")
def reduction(eqn: Any, output: int, operand: int) -> Edge:
    """Other reductions: a factor over the operand's axes (deltas on the kept axes)."""
    import jax
    import jax.numpy as jnp

    in_shape = _shape(eqn.invars[0])
    reduced = {axis % len(in_shape) for axis in eqn.params["axes"]}
    in_labels = fresh_labels(len(in_shape))
    sizes = dict(zip(in_labels, in_shape, strict=True))
    out_labels = tuple(label for axis, label in enumerate(in_labels) if axis not in reduced)

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
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = eqn.params["dimension_numbers"]
    lhs_shape, rhs_shape = _shape(eqn.invars[0]), _shape(eqn.invars[1])
    lhs_labels = list(fresh_labels(len(lhs_shape)))
    rhs_labels = list(fresh_labels(len(rhs_shape)))
    for a, b in zip(lhs_contract, rhs_contract, strict=True):
        rhs_labels[b] = lhs_labels[a]
    for a, b in zip(lhs_batch, rhs_batch, strict=True):
        rhs_labels[b] = lhs_labels[a]
    sizes = dict(zip(lhs_labels, lhs_shape, strict=True))
    sizes.update(zip(rhs_labels, rhs_shape, strict=True))
    lhs_free = [lhs_labels[i] for i in range(len(lhs_shape)) if i not in (*lhs_contract, *lhs_batch)]
    rhs_free = [rhs_labels[i] for i in range(len(rhs_shape)) if i not in (*rhs_contract, *rhs_batch)]
    out_labels = tuple([lhs_labels[i] for i in lhs_batch] + lhs_free + rhs_free)
    in_labels = tuple(lhs_labels if operand == 0 else rhs_labels)
    factor = tuple(rhs_labels if operand == 0 else lhs_labels)
    other = 1 - operand

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        return invals[other]

    partial = Partial(out_labels, in_labels, sizes, factor, None, 1.0, True, True)
    return Edge(partial, values)


@edge_rule(
    "slice", "pad", "concatenate", "rev", "dynamic_slice", "dynamic_update_slice", "gather",
    "scatter", "scatter-add", "scatter_add", "split",
)
def linear_structure(eqn: Any, output: int, operand: int) -> Edge:
    """Data movement (selection, embedding, reordering): a constant 0/1 factor when it is linear
    in the operand with constant other operands; matrix-free otherwise."""
    from jax.extend.core import Literal

    others_constant = all(
        isinstance(atom, Literal) or index == operand or _is_integer(atom)
        for index, atom in enumerate(eqn.invars)
    )
    if eqn.primitive.name in ("slice", "pad", "concatenate", "rev", "reshape", "split") or others_constant:
        out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[operand])
        if math.prod(out_shape) * math.prod(in_shape) <= 2**24:
            edge = matrix_free(eqn, output, operand)
            partial = Partial.dense(out_shape, in_shape, arithmetic=False, symbolic=True)
            return Edge(partial, edge.values, 0)
    return matrix_free(eqn, output, operand)


def _is_integer(atom: Any) -> bool:
    import numpy as np

    return not np.issubdtype(atom.aval.dtype, np.inexact)


def matrix_free(eqn: Any, output: int, operand: int) -> Edge:
    """Any primitive: a dense partial formed by jacfwd or jacrev of this equation alone."""
    import jax

    out_shape, in_shape = _shape(eqn.outvars[output]), _shape(eqn.invars[operand])
    n_out, n_in = math.prod(out_shape), math.prod(in_shape)
    forward = n_in <= n_out
    jacobian = jax.jacfwd if forward else jax.jacrev

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        def function(x: Any) -> Any:
            args = list(invals)
            args[operand] = x
            out = _bind(eqn, args)
            return out[output] if eqn.primitive.multiple_results else out

        return jacobian(function)(invals[operand])

    partial = Partial.dense(out_shape, in_shape, symbolic=True)
    creation = min(n_in, n_out) * n_in * n_out
    return Edge(partial, values, creation)
