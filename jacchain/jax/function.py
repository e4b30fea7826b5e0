"""``jacchain.jax.jacobian(fun, argnums, has_aux)``: any JAX program's Jacobian by vertex elimination.

The function is traced into a structured computational graph
(:mod:`jacchain.jax.program`), an elimination order is planned on it
(:mod:`jacchain.programs.elimination`), and the eliminations are carried out as JAX
operations inside one jitted function: structured partials stay structured (diagonals as
vectors, Kronecker factors as factors, permutations as transposes). Plans are cached per
input structure, shape and dtype (:class:`~jacchain.plans.reuse.PlanCache`), so no planning
happens per call; a plan given as ``plan=`` is checked against each new signature's graph
instead (:mod:`jacchain.programs.reuse`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..errors import JacChainError, LayerError, NonFiniteError, ShapeError, shown
from ..execution.directions import (
    RestrictedColumns,
    check_chunk_size,
    cluster_client,
    distributed_columns,
    split_columns,
)
from ..graphs.graph_plan import GraphPlan
from ..layers.common import check_finite_input
from ..plans.reuse import PlanCache, given_plan
from ..programs.arguments import argument_positions, checked_argnums, leaf_indices
from ..programs.elimination import ProgramPlan, eliminate, plan_program
from ..programs.graph import OutputsView, ProgramGraph, graph_of
from ..programs.partials import UNIT_PARTIALS
from ..programs.reuse import PROGRAM_PLANS, check_not_on_cluster, check_program_plan
from .linear_operator import LinearOperator
from .program import program_graph, run_program, trace_program

__all__ = ["ProgramJacobian", "program_graph_of"]


def _array_like(leaf: Any) -> bool:
    """Arrays, numbers, tracers and ``jax.ShapeDtypeStruct`` (for plans)."""
    import numpy as np

    if isinstance(leaf, (numbers.Number, np.ndarray, np.generic)) or hasattr(leaf, "aval"):
        return True
    return hasattr(leaf, "shape") and hasattr(leaf, "dtype")


class ProgramJacobian:
    """``(*args) -> Jacobian``: the Jacobian of a JAX program along a planned elimination.

    Made by :func:`jacchain.jax.jacobian`; see there. :meth:`plan` returns the plan for some
    arguments without running it, :meth:`graph` the computational graph; ``plans`` holds
    the plans made (or the plan given) per input signature.

    Non-finite values follow the project's rule: with concrete arguments, NaN or infinite
    argument leaves raise :class:`~jacchain.NonFiniteError` before anything runs, and so
    does a Jacobian that comes out non-finite; under ``jax.jit``, ``jax.vmap`` or
    ``jax.grad`` the values are tracers, nothing is checked and NaN propagates, as in
    ``jax.jacobian``.
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        argnums: Any = 0,
        has_aux: bool = False,
        method: str = "auto",
        order: Sequence[int] | None = None,
        unit_partials: str = "free",
        time_limit: float | None = None,
        seed: int = 0,
        chunk_size: int | None = None,
        client: Any = None,
        plan: ProgramPlan | GraphPlan | None = None,
    ) -> None:
        if not callable(fun):
            raise JacChainError(f"jacobian expects a function, got {type(fun).__name__}")
        given = given_plan(plan, PROGRAM_PLANS, "a JAX program", method=(method, "auto"),
                           order=(order, None), unit_partials=(unit_partials, "free"),
                           time_limit=(time_limit, None), seed=(seed, 0))
        if unit_partials not in UNIT_PARTIALS:
            raise JacChainError(
                f"unit_partials must be one of {UNIT_PARTIALS}, got {shown(unit_partials)}"
            )
        if given is None:
            plan_program({}, [], method, None, unit_partials, None, time_limit, seed)  # checks up front
        self.fun = fun
        self.argnums = checked_argnums(argnums)
        self.single = isinstance(argnums, numbers.Integral)
        self.has_aux = bool(has_aux)
        self.method = method
        self.order = None if order is None else tuple(order)
        self.unit_partials = unit_partials
        self.time_limit, self.seed = time_limit, seed
        self.chunk_size = check_chunk_size(chunk_size)
        self.client = client
        self.plans = PlanCache(given)
        self._jitted: Any = None

    def __repr__(self) -> str:
        name = getattr(self.fun, "__name__", type(self.fun).__name__)
        return f"<jacchain.jax jacobian of {name}, argnums={self.argnums}, method {self.method!r}>"

    # --- tracing and planning -----------------------------------------------------------------

    def _trace(self, args: tuple[Any, ...]):
        import jax
        import numpy as np

        positions = argument_positions(self.argnums, len(args))
        for index, leaf in enumerate(jax.tree.leaves(args)):
            if not _array_like(leaf):
                raise ShapeError(
                    f"argument leaf {index} is {type(leaf).__name__} {shown(leaf)}: the arguments "
                    "of a JAX program must be pytrees of arrays or numbers"
                )
        try:
            program, in_tree, out_tree = trace_program(self.fun, *args)
        except JacChainError:
            raise
        except Exception as err:  # the function's own errors, or JAX's while tracing it
            name = getattr(self.fun, "__name__", type(self.fun).__name__)
            raise LayerError(
                f"tracing {name} failed: {type(err).__name__}: {str(err).splitlines()[0][:300]}"
            ) from err
        leaves = _wanted(positions, args)
        for i in leaves:
            aval = program.avals[program.inputs[i]]
            if not np.issubdtype(aval.dtype, np.floating):
                raise ShapeError(
                    f"input leaf {i} has dtype {aval.dtype}: jacobian needs floating-point "
                    "inputs for the arguments it differentiates"
                )
        outputs = program.outputs
        n_out = out_tree.num_leaves
        if self.has_aux:
            children = out_tree.children()
            if out_tree.num_nodes == 1 or len(children) != 2:
                raise ShapeError("with has_aux=True the function must return a pair (output, aux)")
            n_out = children[0].num_leaves
        for index, ref in enumerate(outputs[:n_out]):
            aval = program.avals[ref] if isinstance(ref, int) else None
            constant = None if aval is not None else program.constants[ref[1]]
            dtype = aval.dtype if aval is not None else getattr(constant, "dtype", None)
            dtype = dtype if dtype is not None else np.result_type(constant)
            if not np.issubdtype(dtype, np.floating):
                raise ShapeError(
                    f"output leaf {index} has dtype {dtype}: jacobian needs floating-point outputs"
                )
        graph = program_graph(OutputsView(program, outputs[:n_out]), [program.inputs[i] for i in leaves])
        return program, graph, in_tree, out_tree, leaves, positions, n_out

    def _plan(self, graph: ProgramGraph, key: Any) -> ProgramPlan | GraphPlan:
        def make() -> ProgramPlan:
            return plan_program(
                graph.partials(),
                graph.intermediates,
                self.method,
                self.order,
                self.unit_partials,
                {convention: graph.assembly_cost(convention) for convention in UNIT_PARTIALS},
                self.time_limit,
                self.seed,
            )

        return self.plans.get(key, make, lambda given: check_program_plan(given, graph))

    @staticmethod
    def _key(args: tuple[Any, ...]) -> Any:
        import jax

        leaves, tree = jax.tree.flatten(args)
        return tree, tuple((tuple(getattr(x, "shape", ())), str(getattr(x, "dtype", type(x)))) for x in leaves)

    def plan(self, *args: Any) -> ProgramPlan | GraphPlan:
        """The plan followed for these arguments (arrays or ``jax.ShapeDtypeStruct``), not run.

        Made once per input signature, or the plan given (``plan=``), checked against it.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> jac = jacobian_of(lambda x: jnp.sum(jnp.sin(x) ** 2))
        >>> jac.plan(jnp.ones(3)).strategy in ("forward", "reverse", "markowitz")
        True
        """
        _, graph, *_ = self._trace(args)
        return self._plan(graph, self._key(args))

    def graph(self, *args: Any) -> Any:
        """The program's computational graph for these arguments (a networkx DiGraph)."""
        return program_graph_of(self._trace(args)[1])

    # --- execution -----------------------------------------------------------------------------

    def __call__(self, *args: Any) -> Any:
        import jax

        leaves = jax.tree.leaves(args)
        if any(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in leaves):
            raise ShapeError("a jax.ShapeDtypeStruct has no values: use .plan(*args) to plan")
        if not all(_array_like(leaf) for leaf in leaves):
            return self._compute(*args)  # _trace names the leaf that is not an array
        concrete = not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)
        if concrete:
            check_finite_input(all(_all_finite(leaf) for leaf in leaves))
        client = cluster_client(self.chunk_size, self.client)
        if client is not None and self.chunk_size is not None and concrete:
            check_not_on_cluster(self.plans)
            return self._on_cluster(args, client)
        if self._jitted is None:
            self._jitted = jax.jit(self._compute)
        result = self._jitted(*args)
        if concrete:
            jacobian = result[0] if self.has_aux else result
            if not all(_all_finite(block) for block in jax.tree.leaves(jacobian)):
                raise NonFiniteError(
                    "the Jacobian has NaN or infinite entries at this point (a function that "
                    "is not differentiable there, such as sqrt at 0)"
                )
        return result

    def _on_cluster(self, args: tuple[Any, ...], client: Any) -> Any:
        """The Jacobian as dask arrays, its columns (the differentiated leaves' entries,
        concatenated) computed in chunks on the cluster's workers
        (:func:`~jacchain.execution.directions.distributed_columns`), in
        ``jax.jacobian``'s structure; the aux output, if any, computed here."""
        import jax
        import numpy as np

        positions = argument_positions(self.argnums, len(args))
        leaves = jax.tree.leaves(args)
        wanted = _wanted(positions, args)
        in_shapes = [tuple(np.shape(leaves[i])) for i in wanted]
        out = jax.eval_shape(self.fun, *args)
        out = out[0] if self.has_aux else out
        out_leaves, out_tree = jax.tree.flatten(out)
        out_shapes = [tuple(o.shape) for o in out_leaves]
        block = _JaxColumns(self.fun, args, wanted, self.has_aux, self.method, self.time_limit,
                            self.seed)
        n_in = sum(int(np.prod(shape, dtype=np.int64)) for shape in in_shapes)
        dtype = np.result_type(*[leaves[i] for i in wanted])
        columns = distributed_columns(block, n_in, out_shapes, (n_in,), dtype, self.chunk_size, client)
        diff_args = tuple(args[p] for p in positions)
        diff_tree = jax.tree.structure(diff_args[0] if self.single else diff_args)
        rows = [diff_tree.unflatten(split_columns(column, shape, in_shapes))
                for column, shape in zip(columns, out_shapes, strict=True)]
        jacobian = out_tree.unflatten(rows)
        if self.has_aux:
            return jacobian, self.fun(*args)[1]
        return jacobian

    def _compute(self, *args: Any) -> Any:
        import jax
        import jax.numpy as jnp

        program, graph, in_tree, out_tree, leaves, positions, n_out = self._trace(args)
        plan = self._plan(graph, self._key(args))
        flat = jax.tree.leaves(args)
        values = run_program(program, flat, _reversible_matrix_free(graph))
        def adapt(op_index: int, output: int, operand: int, factor: Any) -> Any:
            vjp = values.get(("pullback", op_index))
            if not isinstance(factor, LinearOperator):
                return factor
            if vjp is not None:
                outvals = [values[ref] for ref in program.ops[op_index].outputs]
                factor = replace(factor, pullback=_operand_vjp(vjp, output, operand, outvals))
            return replace(factor, chunk_size=self.chunk_size) if self.chunk_size else factor

        edges = graph.valued_partials(values, adapt)
        final, _ = eliminate(edges, plan.order, self.unit_partials)
        in_leaves = [flat[i] for i in leaves]
        blocks = []
        for out_ref, out_vertex in zip(program.outputs[:n_out], graph.outputs, strict=True):
            out_shape = tuple(program.avals[out_ref].shape) if isinstance(out_ref, int) else tuple(
                jnp.shape(values[out_ref])
            )
            row = []
            for x, leaf in zip(graph.inputs, in_leaves, strict=True):
                dtype = jnp.result_type(leaf)
                shape = out_shape + tuple(jnp.shape(leaf))
                partial = None if out_vertex is None else final.get((x, out_vertex))
                if partial is None:
                    row.append(jnp.zeros(shape, dtype))
                else:
                    row.append(jnp.reshape(partial.to_dense(dtype), shape).astype(dtype))
            blocks.append(row)
        diff_args = tuple(args[p] for p in positions)
        diff_tree = jax.tree.structure(diff_args[0] if self.single else diff_args)
        jac_leaves = [diff_tree.unflatten(row) for row in blocks]
        if self.has_aux:
            out_part, aux_part = out_tree.children()
            jacobian = out_part.unflatten(jac_leaves)
            aux_values = [values[ref] for ref in program.outputs[n_out:]]
            return jacobian, aux_part.unflatten(aux_values)
        return out_tree.unflatten(jac_leaves)


class _JaxColumns(RestrictedColumns):
    """Columns ``start:stop`` of the Jacobian, by jacchain.jax on a worker."""

    def __call__(self, start: int, stop: int) -> list[Any]:
        import jax
        import jax.numpy as jnp
        import numpy as np

        leaves, tree = jax.tree.flatten(self.args)
        parts = [jnp.ravel(jnp.asarray(leaves[i])) for i in self.wanted]
        flat = jnp.concatenate(parts)
        bounds = np.cumsum([part.size for part in parts])[:-1].tolist()

        def restricted(chunk: Any) -> Any:
            pieces = jnp.split(jnp.concatenate([flat[:start], chunk, flat[stop:]]), bounds)
            filled = list(leaves)
            for i, piece in zip(self.wanted, pieces, strict=True):
                filled[i] = piece.reshape(np.shape(leaves[i]))
            out = self.function(*tree.unflatten(filled))
            return out[0] if self.has_aux else out

        jacobian = ProgramJacobian(restricted, method=self.method, time_limit=self.time_limit,
                                   seed=self.seed)
        return [np.asarray(leaf) for leaf in jax.tree.leaves(jacobian(flat[start:stop]))]


def _wanted(positions: tuple[int, ...], args: tuple[Any, ...]) -> list[int]:
    """The flat leaf indices of the differentiated arguments, in ``positions`` order."""
    import jax

    return leaf_indices(positions, [jax.tree.structure(arg).num_leaves for arg in args])


def _all_finite(array: Any) -> bool:
    """No NaN or inf: one sum (they poison it), then exactly if the sum is not finite."""
    import jax.numpy as jnp

    return bool(jnp.isfinite(jnp.sum(array))) or bool(jnp.isfinite(array).all())


def _reversible_matrix_free(graph: ProgramGraph) -> list[int]:
    """The equations with a matrix-free partial that has a VJP (run by ``jax.vjp``)."""
    return sorted({
        op_index
        for terms in graph.edges.values()
        for op_index, _, _, edge in terms
        if op_index >= 0 and edge.partial.sweeps is not None and edge.partial.sweeps[1] is not None
    })


def _operand_vjp(vjp: Callable, output: int, operand: int, outvals: Sequence[Any]) -> Callable:
    """The cotangent of ``operand`` from one of ``output`` (cast to the output's dtype)."""
    dtype = outvals[output].dtype
    return lambda cotangent: vjp(cotangent.astype(dtype), output, operand)


def jacobian_of(fun: Callable[..., Any], argnums: Any = 0, has_aux: bool = False, **options: Any):
    """:class:`ProgramJacobian` of ``fun`` (the program form of :func:`jacchain.jax.jacobian`)."""
    return ProgramJacobian(fun, argnums, has_aux, **options)


def program_graph_of(graph: ProgramGraph) -> Any:
    """A JAX program's :class:`~jacchain.programs.graph.ProgramGraph` as a networkx DiGraph
    (:func:`~jacchain.programs.graph.graph_of`; ``primitive``: the jaxpr primitive)."""
    return graph_of(graph, lambda op: op.eqn.primitive.name)
