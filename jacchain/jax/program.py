"""A JAX program as a computational graph: its jaxpr flattened, its partials structured.

:func:`trace_program` turns a function into a :class:`Program`: the equations of its jaxpr
(``jax.make_jaxpr``) in order, with call primitives (``jit``, ``custom_jvp_call``,
``custom_vjp_call``, ``remat``, ...) inlined and every value numbered. :func:`program_graph`
then keeps the values that lie on a path from a differentiated input to an output (one
vertex each; constants are folded away) and gives every edge its structured partial from
:mod:`jacchain.jax.rules`. :func:`run_program` evaluates the same equations on arrays,
keeping every value, so that the partials' factors can be computed from them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import GraphError
from .partials import Partial
from .rules import CONSTANT_PRIMITIVES, INLINED_PRIMITIVES, Edge, rule_for

__all__ = ["Op", "Program", "ProgramGraph", "trace_program", "program_graph", "run_program"]


@dataclass(frozen=True)
class Op:
    """One equation: its primitive and parameters (``eqn``), operand ids and output ids.

    An operand id is an int (a value of the program) or ``("const", index)`` for a constant.
    """

    eqn: Any
    inputs: tuple[Any, ...]
    outputs: tuple[int, ...]


@dataclass
class Program:
    """A jaxpr flattened into numbered values and equations.

    Attributes
    ----------
    ops : list of Op
    inputs : list of int
        The ids of the function's input leaves, in order.
    outputs : list
        The ids (or constant references) of the output leaves, in order.
    constants : list
        Literal and closed-over values; ``("const", i)`` refers to ``constants[i]``.
    avals : dict
        ``{id: abstract value}`` (shape and dtype) of every value.
    """

    ops: list[Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    constants: list[Any] = field(default_factory=list)
    avals: dict[int, Any] = field(default_factory=dict)
    count: int = 0

    def new_value(self, aval: Any) -> int:
        self.count += 1
        self.avals[self.count] = aval
        return self.count

    def constant(self, value: Any) -> tuple[str, int]:
        self.constants.append(value)
        return ("const", len(self.constants) - 1)


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


@dataclass
class ProgramGraph:
    """The computational graph of a program for the chosen inputs.

    Attributes
    ----------
    program : Program
    inputs : list of int
        The differentiated input leaves (vertex ids), in order.
    outputs : list
        One vertex id per output leaf (a copy vertex where the output is an input or has
        successors), or None for an output that does not depend on the inputs.
    shapes : dict
        ``{vertex: shape}``.
    edges : dict
        ``{(u, v): [(op index, output index, operand index, Edge), ...]}``: the partials whose
        sum is dv/du (an operand used twice gives two).
    copies : dict
        ``{copy vertex: output vertex}``.
    """

    program: Program
    inputs: list[int]
    outputs: list[int | None]
    shapes: dict[int, tuple[int, ...]]
    edges: dict[tuple[int, int], list[tuple[int, int, int, Edge]]]
    copies: dict[int, int]

    @property
    def intermediates(self) -> list[int]:
        """The vertices to eliminate, in the program's (topological) order."""
        kept = set(self.inputs) | {o for o in self.outputs if o is not None}
        ordered = [v for op in self.program.ops for v in op.outputs if v in self.shapes]
        return [v for v in ordered if v not in kept]

    def partials(self) -> dict[tuple[int, int], Partial]:
        """The symbolic partial of every edge (sums of repeated operands formed)."""
        result = {}
        for key, terms in self.edges.items():
            partial = terms[0][3].partial
            for term in terms[1:]:
                partial = partial.add(term[3].partial)[0]
            result[key] = partial
        return result

    def assembly_cost(self, unit_partials: str = "free") -> int:
        """Multiply-adds of summing the partials of an operand used more than once (paid by
        every order; matrix-free terms are formed as arrays to be summed)."""
        total = 0
        for terms in self.edges.values():
            partial = terms[0][3].partial
            for term in terms[1:]:
                partial, cost = partial.add(term[3].partial, unit_partials)
                total += cost
        return total

    def size(self) -> tuple[int, int, int]:
        """(vertices, edges, scalar entries of all vertices)."""
        return len(self.shapes), len(self.edges), sum(math.prod(s) for s in self.shapes.values())


def program_graph(program: Program, differentiated: Sequence[int]) -> ProgramGraph:
    """The graph of the values on a path from the ``differentiated`` inputs to the outputs.

    Raises
    ------
    GraphError
        If a differentiated input is not a floating-point array.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> program, _, _ = trace_program(lambda x, y: jnp.sum(jnp.sin(x) * y), jnp.ones(3), 2.0)
    >>> graph = program_graph(program, program.inputs[:1])
    >>> [program.ops[i].eqn.primitive.name for i in sorted({t[0] for ts in graph.edges.values() for t in ts})]
    ['sin', 'mul', 'reduce_sum']
    """
    for ref in differentiated:
        if not _differentiable(program.avals[ref]):
            raise GraphError(
                f"input leaf {program.inputs.index(ref)} has dtype {program.avals[ref].dtype}: "
                "only floating-point inputs can be differentiated"
            )
    active = set(differentiated)
    for op in program.ops:
        if op.eqn.primitive.name in CONSTANT_PRIMITIVES:
            continue
        if any(isinstance(ref, int) and ref in active for ref in op.inputs):
            active.update(ref for ref in op.outputs if _differentiable(program.avals[ref]))
    useful = {ref for ref in program.outputs if isinstance(ref, int) and ref in active}
    for op in reversed(program.ops):
        if any(ref in useful for ref in op.outputs) and op.eqn.primitive.name not in CONSTANT_PRIMITIVES:
            useful.update(ref for ref in op.inputs if isinstance(ref, int) and ref in active)
    keep = active & useful
    shapes = {ref: tuple(program.avals[ref].shape) for ref in keep}
    edges: dict[tuple[int, int], list[tuple[int, int, int, Edge]]] = {}
    successors: dict[int, int] = {}
    for index, op in enumerate(program.ops):
        if op.eqn.primitive.name in CONSTANT_PRIMITIVES:
            continue
        rule = rule_for(op.eqn.primitive.name)
        eqn = constant_operands(program, op)
        for j, out in enumerate(op.outputs):
            if out not in keep:
                continue
            for k, ref in enumerate(op.inputs):
                if isinstance(ref, int) and ref in keep:
                    edges.setdefault((ref, out), []).append((index, j, k, rule(eqn, j, k)))
                    successors[ref] = successors.get(ref, 0) + 1
    outputs: list[int | None] = []
    copies: dict[int, int] = {}
    inputs = list(differentiated)
    repeated = {ref for ref in program.outputs if program.outputs.count(ref) > 1}
    for ref in program.outputs:
        if not isinstance(ref, int) or ref not in keep:
            outputs.append(None)
            continue
        # an output is read through a copy when it must stay a sink: it is an input, it has
        # successors, or it is returned more than once
        if ref in inputs or successors.get(ref) or ref in repeated:
            copy = program.new_value(program.avals[ref])
            shapes[copy] = shapes[ref]
            copies[copy] = ref
            edges[(ref, copy)] = [(-1, 0, 0, Edge(Partial.identity(shapes[ref], symbolic=True)))]
            outputs.append(copy)
        else:
            outputs.append(ref)
    for ref in inputs:
        shapes.setdefault(ref, tuple(program.avals[ref].shape))
    return ProgramGraph(program, inputs, outputs, shapes, edges, copies)
