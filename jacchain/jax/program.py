"""A JAX program as a computational graph: its jaxpr flattened, its partials structured.

:func:`trace_program` turns a function into a :class:`Program`: the equations of its jaxpr
(``jax.make_jaxpr``) in order, with call primitives (``jit``, ``custom_jvp_call``,
``custom_vjp_call``, ``remat``, ...) inlined and every value numbered. :func:`program_graph`
then keeps the values that lie on a path from a differentiated input to an output (one
vertex each; constants are folded away) and gives every edge its structured partial from
:mod:`jacchain.jax.rules` (the generic part lives in :mod:`jacchain.programs.graph`).
:func:`run_program` evaluates the same equations on arrays,
keeping every value, so that the partials' factors can be computed from them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..programs.graph import Edge, Op, Program, ProgramGraph
from ..programs.graph import program_graph as _program_graph
from .rules import CONSTANT_PRIMITIVES, INLINED_PRIMITIVES, rule_for

__all__ = ["JAX_RULES", "trace_program", "program_graph", "run_program"]


def _sub_jaxpr(eqn: Any) -> tuple[Any, Sequence[Any]] | None:
    key = INLINED_PRIMITIVES.get(eqn.primitive.name)
    if key is None or key not in eqn.params:
        return None
    sub = eqn.params[key]
    jaxpr = getattr(sub, "jaxpr", sub)
    consts = getattr(sub, "consts", ())
    if len(jaxpr.invars) != len(eqn.invars):
        return None
    return jaxpr, consts


def _inline(program: Program, jaxpr: Any, consts: Sequence[Any], args: Sequence[Any]) -> list[Any]:
    from jax.extend.core import Literal

    env: dict[Any, Any] = {}
    for var, value in zip(jaxpr.constvars, consts, strict=True):
        env[var] = program.constant(value)
    for var, ref in zip(jaxpr.invars, args, strict=True):
        env[var] = ref

    def read(atom: Any) -> Any:
        if isinstance(atom, Literal):
            return program.constant(atom.val)
        return env[atom]

    for eqn in jaxpr.eqns:
        inputs = [read(atom) for atom in eqn.invars]
        folded = _folded(program, eqn, inputs)
        if folded is not None:
            for var, ref in zip(eqn.outvars, folded, strict=True):
                env[var] = ref
            continue
        sub = _sub_jaxpr(eqn)
        if sub is not None:
            outs = _inline(program, sub[0], sub[1], inputs)
        else:
            outs = [program.new_value(var.aval) for var in eqn.outvars]
            program.ops.append(Op(eqn, tuple(inputs), tuple(outs)))
        for var, ref in zip(eqn.outvars, outs, strict=True):
            env[var] = ref
    return [read(atom) for atom in jaxpr.outvars]


FOLDED_ENTRIES = 2**16
"""The largest output (entries) of an equation on constants that tracing evaluates."""


def _folded(program: Program, eqn: Any, inputs: Sequence[Any]) -> list[Any] | None:
    """Constant folding: an equation whose operands are all constants is evaluated now (when
    its outputs are small and it has no effects); its outputs become constants."""
    import jax

    if not all(isinstance(ref, tuple) for ref in inputs) or eqn.effects:
        return None
    if sum(math.prod(var.aval.shape) for var in eqn.outvars) > FOLDED_ENTRIES:
        return None
    try:
        with jax.ensure_compile_time_eval():
            out = eqn.primitive.bind(*(program.constants[ref[1]] for ref in inputs), **eqn.params)
    except Exception:  # leave it to run time
        return None
    outs = out if eqn.primitive.multiple_results else [out]
    return [program.constant(value) for value in outs]


def constant_operands(program: Program, op: Op) -> Any:
    """``op``'s equation with its constant operands as literals (the rules read their values)."""
    from jax.extend.core import Literal

    invars = [
        Literal(program.constants[ref[1]], atom.aval) if isinstance(ref, tuple) else atom
        for atom, ref in zip(op.eqn.invars, op.inputs, strict=True)
    ]
    return op.eqn.replace(invars=invars)


def trace_program(function: Any, *args: Any) -> tuple[Program, Any, Any]:
    """Trace ``function(*args)`` into a :class:`Program`.

    Returns the program, the input tree definition and the output tree definition (the
    leaves of ``args`` are the program's inputs, in order).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> program, _, _ = trace_program(lambda x: jnp.sin(x) * 2.0, jnp.ones(3))
    >>> [op.eqn.primitive.name for op in program.ops]
    ['sin', 'mul']
    """
    import jax

    flat, in_tree = jax.tree.flatten(args)
    closed, out_shape = jax.make_jaxpr(
        lambda *leaves: function(*jax.tree.unflatten(in_tree, leaves)), return_shape=True
    )(*flat)
    out_tree = jax.tree.structure(out_shape)
    program = Program()
    program.inputs = [program.new_value(var.aval) for var in closed.jaxpr.invars]
    program.outputs = _inline(program, closed.jaxpr, closed.consts, program.inputs)
    return program, in_tree, out_tree


def run_program(program: Program, inputs: Sequence[Any], pullbacks: Sequence[int] = ()) -> dict[Any, Any]:
    """Evaluate every equation on the input leaves; the values of all ids (and constants).

    The equations of ``pullbacks`` (op indices) are run by ``jax.vjp``: their VJP, kept under
    the key ``("pullback", index)``, reuses this forward pass (see :func:`forward_and_vjp`).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> program, _, _ = trace_program(lambda x: jnp.sin(x) * 2.0, jnp.zeros(2))
    >>> values = run_program(program, [jnp.zeros(2)])
    >>> values[program.outputs[0]].tolist()
    [0.0, 0.0]
    """
    values: dict[Any, Any] = dict(zip(program.inputs, inputs, strict=True))
    for index, constant in enumerate(program.constants):
        values[("const", index)] = constant
    wanted = set(pullbacks)
    for index, op in enumerate(program.ops):
        invals = [values[ref] for ref in op.inputs]
        linearized = forward_and_vjp(op.eqn, invals) if index in wanted else None
        if linearized is not None:
            outs, values[("pullback", index)] = linearized
        else:
            out = op.eqn.primitive.bind(*invals, **op.eqn.params)
            outs = out if op.eqn.primitive.multiple_results else [out]
        for ref, value in zip(op.outputs, outs, strict=True):
            values[ref] = value
    return values


def forward_and_vjp(eqn: Any, invals: Sequence[Any]) -> tuple[list[Any], Callable] | None:
    """An equation's outputs and its VJP from one forward pass; None without a VJP.

    The VJP maps the cotangent of output ``o`` to that of operand ``a``:
    ``vjp(cotangent, o, a)``. Integer operands are held fixed; equations with integer
    outputs, or that JAX cannot reverse (a while loop), give None.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> eqn = jax.make_jaxpr(jnp.sin)(0.0).eqns[0]
    >>> outs, vjp = forward_and_vjp(eqn, [jnp.asarray(0.0)])
    >>> float(outs[0]), float(vjp(jnp.asarray(1.0), 0, 0))
    (0.0, 1.0)
    """
    import jax
    import jax.numpy as jnp

    if not all(_differentiable(var.aval) for var in eqn.outvars):
        return None
    floats = [i for i, atom in enumerate(eqn.invars) if _differentiable(atom.aval)]

    def function(*xs: Any) -> tuple[Any, ...]:
        args = list(invals)
        for i, x in zip(floats, xs, strict=True):
            args[i] = x
        out = eqn.primitive.bind(*args, **eqn.params)
        return tuple(out) if eqn.primitive.multiple_results else (out,)

    try:
        outs, pullback = jax.vjp(function, *(invals[i] for i in floats))
    except Exception:  # no reverse mode for this equation (a while loop)
        return None

    def vjp(cotangent: Any, output: int, operand: int) -> Any:
        cotangents = tuple(
            cotangent if j == output else jnp.zeros(var.aval.shape, var.aval.dtype)
            for j, var in enumerate(eqn.outvars)
        )
        return pullback(cotangents)[floats.index(operand)]

    return list(outs), vjp


def _differentiable(aval: Any) -> bool:
    import numpy as np

    return np.issubdtype(aval.dtype, np.floating)


class _JaxRules:
    """:class:`~jacchain.programs.graph.ProgramRules` for jaxpr equations."""

    def constant(self, op: Op) -> bool:
        return op.eqn.primitive.name in CONSTANT_PRIMITIVES

    def differentiable(self, aval: Any) -> bool:
        return _differentiable(aval)

    def edge(self, program: Program, op: Op, output: int, operand: int) -> Edge:
        return rule_for(op.eqn.primitive.name)(constant_operands(program, op), output, operand)


JAX_RULES = _JaxRules()
"""The structural rules of :mod:`jacchain.jax.rules`, for :func:`program_graph`."""


def program_graph(program: Program, differentiated: Sequence[int]) -> ProgramGraph:
    """The graph of a traced JAX program for the ``differentiated`` inputs
    (:func:`jacchain.programs.graph.program_graph` with the JAX rules).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> program, _, _ = trace_program(lambda x: jnp.sum(jnp.sin(x)), jnp.ones(3))
    >>> sorted(program_graph(program, program.inputs).shapes.values())
    [(), (3,), (3,)]
    """
    return _program_graph(program, differentiated, JAX_RULES)

