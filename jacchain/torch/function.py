"""``jacchain.torch.jacobian(func, argnums, has_aux)``: any PyTorch function's Jacobian by
vertex elimination, with ``torch.func.jacrev``'s semantics.

The function (or ``nn.Module``, its parameters and buffers lifted to inputs) is traced
into ATen operations on fake tensors (:mod:`jacchain.torch.program`), turned into the same
structured graph as a JAX program (:mod:`jacchain.torch.rules`,
:mod:`jacchain.programs.graph`), and an elimination order is planned on it
(:mod:`jacchain.programs.elimination`). Each call runs the operations on the real tensors,
computes the partials' factors with PyTorch operations and eliminates in the planned order:
plain PyTorch calls throughout, so autograd differentiates the result (in the parameters
too), ``torch.func.vmap`` batches it, ``torch.func.jacrev`` and ``jacfwd`` nest over it and
``torch.compile`` compiles it. Plans are cached per input structure, shape, dtype and
device (:class:`~jacchain.plans.reuse.PlanCache`), and so are the traced executors; a plan
given as ``plan=`` is checked against each new signature's graph instead
(:mod:`jacchain.programs.reuse`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import JacChainError, NonFiniteError, ShapeError, shown
from ..execution.directions import (
    RestrictedColumns,
    check_chunk_size,
    cluster_client,
    distributed_columns,
    split_columns,
)
from ..graphs.graph_plan import GraphPlan
from ..plans.reuse import PlanCache, given_plan
from ..programs.arguments import argument_positions, checked_argnums, leaf_indices
from ..programs.elimination import ProgramPlan, eliminate, plan_program
from ..programs.graph import OutputsView, Program, ProgramGraph, graph_of, program_graph
from ..programs.partials import UNIT_PARTIALS
from ..programs.reuse import PROGRAM_PLANS, check_not_on_cluster, check_program_plan
from .linear_operator import LinearOperator
from .program import TRACING, run_program, trace_program
from .rules import TORCH_RULES
from .tensors import all_finite, concrete

__all__ = ["TorchJacobian"]


@dataclass(frozen=True)
class _Traced:
    """A traced call: the program, its graph and plan, and how leaves map to arguments."""

    program: Program
    graph: ProgramGraph
    plan: ProgramPlan | GraphPlan
    differentiated: tuple[int, ...]  # indices into the flat tensor inputs of the program
    n_out: int
    out_spec: Any
    aux_spec: Any


class TorchJacobian:
    """``(*args) -> Jacobian``: the Jacobian of a PyTorch function along a planned elimination.

    Made by :func:`jacchain.torch.jacobian`; see there. :meth:`plan` returns the plan for
    some arguments without running it, :meth:`graph` the computational graph; ``plans``
    holds the plans made (or the plan given) per input signature.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        argnums: Any = 0,
        has_aux: bool = False,
        chunk_size: int | None = None,
        method: str = "auto",
        order: Sequence[int] | None = None,
        time_limit: float | None = None,
        seed: int = 0,
        client: Any = None,
        plan: ProgramPlan | GraphPlan | None = None,
    ) -> None:
        if not callable(func):
            raise JacChainError(f"jacobian expects a function or an nn.Module, got {type(func).__name__}")
        chunk_size = check_chunk_size(chunk_size)
        given = given_plan(plan, PROGRAM_PLANS, "a PyTorch program", method=(method, "auto"),
                           order=(order, None), time_limit=(time_limit, None), seed=(seed, 0))
        if given is None:
            plan_program({}, [], method, None, "free", None, time_limit, seed)  # checks up front
        self.func = func
        self.argnums = checked_argnums(argnums)
        self.single = isinstance(argnums, numbers.Integral)
        self.has_aux = bool(has_aux)
        self.chunk_size = chunk_size
        self.method = method
        self.order = None if order is None else tuple(order)
        self.time_limit, self.seed = time_limit, seed
        self.client = client
        self.plans = PlanCache(given)
        self._traced: dict[Any, _Traced] = {}
        self._executors: dict[int, Any] = {}

    def __repr__(self) -> str:
        name = getattr(self.func, "__name__", type(self.func).__name__)
        return f"<jacchain.torch jacobian of {name}, argnums={self.argnums}, method {self.method!r}>"

    # --- tracing and planning -------------------------------------------------------------------

    def _state(self) -> tuple[list[str], list[Any]]:
        """A module's parameters and buffers (names and tensors), lifted to inputs."""
        import torch.nn as nn

        if not isinstance(self.func, nn.Module):
            return [], []
        named = list(self.func.named_parameters()) + list(self.func.named_buffers())
        return [name for name, _ in named], [tensor for _, tensor in named]

    def _flatten(self, args: tuple[Any, ...]) -> tuple[list[Any], Any, list[int]]:
        import torch
        import torch.utils._pytree as pytree

        leaves, spec = pytree.tree_flatten(args)
        tensors = [i for i, leaf in enumerate(leaves) if isinstance(leaf, torch.Tensor)]
        return leaves, spec, tensors

    def _key(self, leaves: list[Any], spec: Any, tensors: list[int], state: list[Any]) -> Any:
        described = []
        for i, leaf in enumerate(leaves):
            if i in tensors or hasattr(leaf, "shape"):
                described.append((tuple(leaf.shape), str(leaf.dtype), str(leaf.device)))
            else:
                described.append(("value", repr(leaf)))
        parameters = tuple((tuple(t.shape), str(t.dtype)) for t in state)
        return str(spec), tuple(described), parameters

    def _trace(self, args: tuple[Any, ...]) -> tuple[_Traced, list[Any], list[Any]]:
        import torch

        leaves, spec, tensors = self._flatten(args)
        names, state = self._state()
        wanted = _wanted(self.argnums, args)
        for i in wanted:
            leaf = leaves[i]
            if not isinstance(leaf, torch.Tensor):
                raise ShapeError(
                    f"argument leaf {i} is {type(leaf).__name__} {shown(leaf)}: the differentiated "
                    "arguments must be pytrees of tensors"
                )
            if not leaf.dtype.is_floating_point:
                raise ShapeError(
                    f"input leaf {i} has dtype {leaf.dtype}: jacobian needs floating-point "
                    "inputs for the arguments it differentiates"
                )
        flat_inputs = list(state) + [leaves[i] for i in tensors]
        key = self._key(leaves, spec, tensors, state)
        traced = self._traced.get(key)
        if traced is None:
            signature = _signature(flat_inputs)
            with _outside_transforms():
                traced = self._build(key, leaves, spec, tensors, names, state, wanted,
                                     _examples(signature))
            self._traced[key] = traced
        return traced, flat_inputs, leaves

    def _build(self, key, leaves, spec, tensors, names, state, wanted, examples) -> _Traced:
        import torch
        import torch.utils._pytree as pytree

        specs: dict[str, Any] = {}
        n_state = len(state)

        def flat_function(*inputs: Any) -> list[Any]:
            filled = list(leaves)
            for i, tensor in zip(tensors, inputs[n_state:], strict=True):
                filled[i] = tensor
            arguments = pytree.tree_unflatten(filled, spec)
            if n_state:
                out = torch.func.functional_call(self.func, dict(zip(names, inputs[:n_state], strict=True)),
                                                 tuple(arguments))
            else:
                out = self.func(*arguments)
            aux: Any = None
            if self.has_aux:
                if not isinstance(out, (tuple, list)) or len(out) != 2:
                    raise ShapeError("with has_aux=True the function must return a pair (output, aux)")
                out, aux = out
            out_leaves, specs["out"] = pytree.tree_flatten(out)
            aux_leaves, specs["aux"] = pytree.tree_flatten(aux)
            for index, leaf in enumerate(out_leaves):
                if not isinstance(leaf, torch.Tensor) or not leaf.dtype.is_floating_point:
                    raise ShapeError(
                        f"output leaf {index} is "
                        f"{'a tensor of dtype ' + str(leaf.dtype) if isinstance(leaf, torch.Tensor) else type(leaf).__name__}: "
                        "jacobian needs floating-point tensor outputs"
                    )
            return list(out_leaves) + list(aux_leaves)

        program, _ = trace_program(flat_function, examples)  # export, or make_fx
        _reattach(program, self.func)
        n_out = specs["out"].num_leaves
        differentiated = tuple(n_state + tensors.index(i) for i in wanted)
        view = OutputsView(program, program.outputs[:n_out])
        graph = program_graph(view, [program.inputs[i] for i in differentiated], TORCH_RULES)
        plan = self.plans.get(
            key,
            lambda: plan_program(graph.partials(), graph.intermediates, self.method, self.order,
                                 "free", {c: graph.assembly_cost(c) for c in UNIT_PARTIALS},
                                 self.time_limit, self.seed),
            lambda given: check_program_plan(given, graph),
        )
        return _Traced(program, graph, plan, differentiated, n_out, specs["out"], specs["aux"])

    def plan(self, *args: Any) -> ProgramPlan | GraphPlan:
        """The plan followed for these arguments (tensors, or tensors on the meta device), not run.

        Made once per input signature, or the plan given (``plan=``), checked against it.

        Examples
        --------
        >>> import torch
        >>> jac = TorchJacobian(lambda x: torch.sin(x).sum())
        >>> jac.plan(torch.ones(3)).strategy in ("forward", "reverse", "markowitz")
        True
        """
        return self._trace(args)[0].plan

    def graph(self, *args: Any) -> Any:
        """The program's computational graph for these arguments (a networkx DiGraph)."""
        traced = self._trace(args)[0]
        return graph_of(traced.graph, lambda op: op.eqn.name)

    # --- execution ------------------------------------------------------------------------------

    def __call__(self, *args: Any) -> Any:
        import torch.utils._pytree as pytree

        traced, flat_inputs, _ = self._trace(args)
        readable = all(concrete(t) for t in flat_inputs)
        if readable and not all(all_finite(t) for t in flat_inputs if t.dtype.is_floating_point):
            raise NonFiniteError("an argument (or a parameter) has NaN or infinite entries")
        client = cluster_client(self.chunk_size, self.client)
        if client is not None and self.chunk_size is not None and readable:
            check_not_on_cluster(self.plans)
            return self._on_cluster(traced, args, client)
        results = self._executor(traced, flat_inputs)(*flat_inputs)
        n_blocks = traced.n_out * len(traced.differentiated)
        blocks, aux = results[:n_blocks], results[n_blocks:]
        if readable and not all(all_finite(block) for block in blocks):
            raise NonFiniteError(
                "the Jacobian has NaN or infinite entries at this point (a function that is not "
                "differentiable there, such as sqrt at 0)"
            )
        width = len(traced.differentiated)
        rows = [blocks[i * width:(i + 1) * width] for i in range(traced.n_out)]
        jacobian = pytree.tree_unflatten([self._per_argument(row, args) for row in rows], traced.out_spec)
        if self.has_aux:
            return jacobian, pytree.tree_unflatten(list(aux), traced.aux_spec)
        return jacobian

    def _on_cluster(self, traced: _Traced, args: tuple[Any, ...], client: Any) -> Any:
        """The Jacobian as dask arrays, its columns (the differentiated leaves' entries,
        concatenated) computed in chunks on the cluster's workers
        (:func:`~jacchain.execution.directions.distributed_columns`), in the structure of
        the in-process result; the aux output, if any, computed here."""
        import torch
        import torch.utils._pytree as pytree

        leaves, _ = pytree.tree_flatten(args)
        wanted = _wanted(self.argnums, args)
        in_shapes = [tuple(leaves[i].shape) for i in wanted]
        out_shapes = [tuple(traced.program.avals[ref].shape) if isinstance(ref, int)
                      else tuple(traced.program.constants[ref[1]].shape)
                      for ref in traced.program.outputs[: traced.n_out]]
        block = _TorchColumns(self.func, args, wanted, self.has_aux, self.method, self.time_limit,
                              self.seed)
        dtype = torch.empty(0, dtype=leaves[wanted[0]].dtype).numpy().dtype
        n_in = sum(int(leaves[i].numel()) for i in wanted)
        columns = distributed_columns(block, n_in, out_shapes, (n_in,), dtype, self.chunk_size, client)
        rows = [split_columns(column, shape, in_shapes)
                for column, shape in zip(columns, out_shapes, strict=True)]
        jacobian = pytree.tree_unflatten([self._per_argument(row, args) for row in rows], traced.out_spec)
        if self.has_aux:
            with torch.no_grad():
                return jacobian, self.func(*args)[1]
        return jacobian

    def _executor(self, traced: _Traced, flat_inputs: list[Any]) -> Callable[..., list[Any]]:
        """The plan's computation as one ``torch.fx`` graph of ATen operations, traced once
        per input signature on fake tensors: each call replays the operations alone."""
        from torch.fx.experimental.proxy_tensor import make_fx

        key = id(traced)
        executor = self._executors.get(key)
        if executor is None:
            signature = _signature(flat_inputs)
            compute = _Computation(traced, self.chunk_size)
            with TRACING, _outside_transforms():
                examples = _examples(signature)
                executor = make_fx(compute, tracing_mode="fake", _allow_non_fake_inputs=True)(*examples)
            _simplify(executor)
            self._executors[key] = executor
        return executor

    def _per_argument(self, row: list[Any], args: tuple[Any, ...]) -> Any:
        """One output leaf's blocks, shaped like the differentiated arguments (a tuple of them
        for a tuple ``argnums``)."""
        import torch.utils._pytree as pytree

        positions = argument_positions(self.argnums, len(args))
        parts, start = [], 0
        for p in positions:
            spec = pytree.tree_structure(args[p])
            parts.append(pytree.tree_unflatten(row[start:start + spec.num_leaves], spec))
            start += spec.num_leaves
        return parts[0] if self.single else tuple(parts)


class _TorchColumns(RestrictedColumns):
    """Columns ``start:stop`` of the Jacobian, by jacchain.torch on a worker."""

    def __call__(self, start: int, stop: int) -> list[Any]:
        import torch
        import torch.utils._pytree as pytree

        leaves, spec = pytree.tree_flatten(self.args)
        parts = [leaves[i].detach().reshape(-1) for i in self.wanted]
        flat = torch.cat(parts)
        sizes = [part.numel() for part in parts]

        def restricted(chunk: Any) -> Any:
            pieces = torch.split(torch.cat([flat[:start], chunk, flat[stop:]]), sizes)
            filled = list(leaves)
            for i, piece in zip(self.wanted, pieces, strict=True):
                filled[i] = piece.reshape(leaves[i].shape)
            out = self.function(*pytree.tree_unflatten(filled, spec))
            return out[0] if self.has_aux else out

        jacobian = TorchJacobian(restricted, method=self.method, time_limit=self.time_limit,
                                 seed=self.seed)
        with torch.no_grad():
            blocks = jacobian(flat[start:stop].clone())
        return [leaf.detach().cpu().numpy() for leaf in pytree.tree_leaves(blocks)]


class _Computation:
    """The Jacobian blocks (each output leaf by each differentiated input, row by row) and
    the auxiliary outputs of a traced call, from the flat inputs: the program run, the
    partials' factors, the planned eliminations."""

    def __init__(self, traced: _Traced, chunk_size: int | None) -> None:
        self.traced = traced
        self.chunk_size = chunk_size

    def _adapt(self, op_index: int, output: int, operand: int, factor: Any) -> Any:
        if self.chunk_size is not None and isinstance(factor, LinearOperator):
            return replace(factor, chunk_size=self.chunk_size)
        return factor

    def __call__(self, *flat_inputs: Any) -> list[Any]:
        import torch

        traced = self.traced
        program, graph = traced.program, traced.graph
        values = run_program(program, flat_inputs)
        final, _ = eliminate(graph.valued_partials(values, self._adapt), traced.plan.order, "free")
        inputs = [flat_inputs[i] for i in traced.differentiated]
        blocks = []
        for out_ref, out_vertex in zip(program.outputs[: traced.n_out], graph.outputs, strict=True):
            out_shape = tuple(values[out_ref].shape)
            for x, leaf in zip(graph.inputs, inputs, strict=True):
                shape = out_shape + tuple(leaf.shape)
                partial = None if out_vertex is None else final.get((x, out_vertex))
                if partial is None:
                    blocks.append(torch.zeros(shape, dtype=leaf.dtype, device=leaf.device))
                else:
                    block = partial.to_dense(leaf.dtype, like=leaf)
                    blocks.append(torch.as_tensor(block, dtype=leaf.dtype, device=leaf.device).reshape(shape))
        return blocks + [values[ref] for ref in program.outputs[traced.n_out:]]


def _simplify(module: Any) -> None:
    """Drop the traced graph's operations that change nothing (permutations in order,
    views, expansions and copies to the same shape, dtype and device: bookkeeping of the
    partials' axes) and the ones whose results go unused (forward passes redone inside a
    VJP). The graph is functional, so an unchanged tensor can stand for its copy."""
    import torch

    aten = torch.ops.aten
    trivial = {aten.view.default, aten._unsafe_view.default, aten.reshape.default,
               aten.expand.default, aten.alias.default, aten._to_copy.default,
               aten.permute.default, aten.squeeze.dims, aten.unsqueeze.default}
    graph = module.graph
    outputs = {arg for node in graph.nodes if node.op == "output"
               for arg in torch.utils._pytree.tree_leaves(node.args)}
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target not in trivial or node in outputs:
            continue
        source = node.args[0]
        before, after = getattr(source, "meta", {}).get("val"), node.meta.get("val")
        if not isinstance(before, torch.Tensor) or not isinstance(after, torch.Tensor):
            continue
        if node.target is aten.permute.default and list(node.args[1]) != list(range(before.dim())):
            continue
        if node.target is aten._to_copy.default and set(node.kwargs) - {"dtype", "device"}:
            continue
        same = (tuple(before.shape) == tuple(after.shape) and before.dtype == after.dtype
                and before.device == after.device and before.stride() == after.stride())
        if same:
            node.replace_all_uses_with(source)
            graph.erase_node(node)
    graph.eliminate_dead_code()
    module.recompile()


def _wanted(argnums: tuple[int, ...], args: tuple[Any, ...]) -> list[int]:
    """The flat leaf indices of the differentiated arguments, in ``argnums`` order."""
    import torch.utils._pytree as pytree

    return leaf_indices(argument_positions(argnums, len(args)),
                        [pytree.tree_structure(arg).num_leaves for arg in args])


def _reattach(program: Program, func: Any) -> None:
    """Give the program back the tensors it closed over that autograd follows.

    Tracing keeps the tensors a function reads from its closure (a module's parameters
    used inside a lambda, a captured weight) as constants, some as detached aliases; where
    a constant aliases such a tensor that requires grad, the tensor itself is used, so that
    the Jacobian stays differentiable in it, as ``torch.func.jacrev``'s is."""
    import torch

    def key(t: Any) -> tuple[Any, ...]:
        return (t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype, t.device)

    found = {key(t): t for t in _captured_tensors(func) if t.requires_grad}
    for index, constant in enumerate(program.constants):
        if isinstance(constant, torch.Tensor) and not constant.requires_grad:
            original = found.get(key(constant))
            if original is not None:
                program.constants[index] = original


def _captured_tensors(func: Any) -> list[Any]:
    """The tensors a function can reach through its closure, bound instance and defaults:
    tensors, and the parameters and buffers of modules (one level of containers deep)."""
    import torch

    reached: list[Any] = []
    cells = [cell.cell_contents for cell in (getattr(func, "__closure__", None) or ())
             if cell.cell_contents is not None]
    cells += [getattr(func, "__self__", None)] + list(getattr(func, "__defaults__", None) or ())
    for value in cells:
        items = value if isinstance(value, (list, tuple)) else [value]
        if isinstance(value, dict):
            items = list(value.values())
        for item in items:
            if isinstance(item, torch.nn.Module):
                reached += list(item.parameters()) + list(item.buffers())
            elif isinstance(item, torch.Tensor):
                reached.append(item)
    return reached


def _signature(tensors: Sequence[Any]) -> list[tuple[tuple[int, ...], Any, Any]]:
    """The shapes, dtypes and devices of some tensors (read where their transforms are)."""
    return [(tuple(t.shape), t.dtype, t.device) for t in tensors]


def _examples(signature: Sequence[tuple[tuple[int, ...], Any, Any]]) -> list[Any]:
    """Plain tensors of a signature, for tracing (made outside every transform)."""
    import torch

    return [torch.empty(shape, dtype=dtype, device=device) for shape, dtype, device in signature]


def _outside_transforms() -> Any:
    """A context in which tracing sees no enclosing ``torch.func`` transform (tracing runs
    on fresh fake tensors of the arguments' shapes, whatever the caller's tensors are)."""
    from torch._functorch.pyfunctorch import temporarily_clear_interpreter_stack

    return temporarily_clear_interpreter_stack()

