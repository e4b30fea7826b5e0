"""A PyTorch function as a program of ATen operations: traced once, run on any tensors.

:func:`trace_program` traces a function with ``torch.export`` (non-strict), or with
``torch.fx``'s proxy-tensor tracer (``make_fx``) where export cannot, on fake tensors:
shapes and dtypes only, no values, no data-dependent control flow; it decomposes composite operations (layer and batch norm, softmax,
``addmm``, ...) into the ATen operations that :mod:`jacchain.torch.rules` knows. The
graph becomes a :class:`~jacchain.programs.graph.Program`: numbered values, one
:class:`TorchOp` per operation. :func:`run_program` evaluates it on real tensors, keeping
every value, with the ATen operations themselves: plain PyTorch calls, so the result can be
differentiated by autograd, batched by ``torch.func.vmap`` and compiled by
``torch.compile``.
"""

from __future__ import annotations

import logging
import operator
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import JacChainError, LayerError
from ..programs.graph import Op, Program

__all__ = ["TensorType", "TorchOp", "trace_program", "run_program", "decompositions", "TRACING"]

logger = logging.getLogger(__name__)

TRACING = threading.RLock()
"""Held while tracing: PyTorch's tracers keep global state and cannot run in two threads
at once (threaded Dask workers, a web server's handlers)."""


@dataclass(frozen=True)
class TensorType:
    """The abstract value of a tensor: its shape, dtype (a ``torch.dtype``) and device."""

    shape: tuple[int, ...]
    dtype: Any
    device: Any = None

    @property
    def floating(self) -> bool:
        return bool(self.dtype.is_floating_point)


@dataclass(frozen=True)
class _Operand:
    """Where an operand goes in a call's arguments: ``inputs[index]`` of the op."""

    index: int


@dataclass(frozen=True, eq=False)
class TorchOp:
    """One ATen operation of a traced program.

    Attributes
    ----------
    target : callable
        The ATen overload (``torch.ops.aten.mul.Tensor``).
    name : str
        Its name without the namespace and overload: ``"mul"``.
    overload : str
        ``"Tensor"``, ``"Scalar"``, ``"default"``, ...
    args, kwargs
        The call's arguments with each tensor operand replaced by an ``_Operand``.
    inputs, outputs : tuple of TensorType
        The operands' and the results' abstract values.
    multiple : bool
        The operation returns a tuple or list of tensors.
    """

    target: Any
    name: str
    overload: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    inputs: tuple[TensorType, ...]
    outputs: tuple[TensorType, ...]
    multiple: bool

    def call(self, invals: Sequence[Any]) -> Any:
        """The operation on the operands ``invals`` (a tensor, or a tuple for several)."""
        return self.target(*_filled(self.args, invals), **_filled(self.kwargs, invals))

    def outputs_of(self, invals: Sequence[Any]) -> list[Any]:
        """The operation's results as a list."""
        out = self.call(invals)
        return list(out) if self.multiple else [out]

    def literal(self, position: int, name: str | None = None, default: Any = None) -> Any:
        """A non-tensor argument, by position (or keyword ``name``)."""
        if position < len(self.args):
            return self.args[position]
        return self.kwargs.get(name, default) if name is not None else default


def _filled(template: Any, invals: Sequence[Any]) -> Any:
    if isinstance(template, _Operand):
        return invals[template.index]
    if isinstance(template, tuple):
        return tuple(_filled(item, invals) for item in template)
    if isinstance(template, list):
        return [_filled(item, invals) for item in template]
    if isinstance(template, dict):
        return {key: _filled(value, invals) for key, value in template.items()}
    return template


_DECOMPOSITIONS: dict[Any, Any] = {}


def decompositions() -> dict[Any, Any]:
    """The decomposition table of the tracer: PyTorch's core ATen decompositions, plus the
    composite operations whose parts have structured partials (normalizations, softmax,
    ``addmm``); ``gelu`` and ``var_mean`` are kept whole (they have rules of their own)."""
    import torch
    from torch._decomp import core_aten_decompositions, get_decompositions

    if not _DECOMPOSITIONS:
        aten = torch.ops.aten
        table = dict(core_aten_decompositions())
        table.update(get_decompositions([
            aten.native_layer_norm, aten._softmax, aten._log_softmax, aten.native_batch_norm,
            aten._native_batch_norm_legit_no_training, aten._native_batch_norm_legit,
            aten._native_batch_norm_legit_functional, aten.addmm, aten.native_group_norm,
            aten.linear, aten.matmul, aten.addmv, aten.addbmm, aten.baddbmm,
            aten.logsumexp, aten.softplus, aten.silu, aten.mish, aten.hardswish, aten.elu,
        ]))
        for kept in (aten.gelu.default, aten.var_mean.correction, aten.var_mean.dim,
                     aten.var_mean.default):
            table.pop(kept, None)
        _DECOMPOSITIONS.update(table)
    return _DECOMPOSITIONS


def _tensor_type(value: Any) -> TensorType:
    return TensorType(tuple(int(d) for d in value.shape), value.dtype, value.device)


def trace_program(function: Callable[..., Any], leaves: Sequence[Any]) -> tuple[Program, str]:
    """Trace ``function(*leaves)`` (tensors in, a flat list of tensors out) into a program:
    with ``torch.fx``'s ``make_fx`` where that gives a graph free of mutations (about five
    times faster), else with ``torch.export`` (non-strict), which functionalizes them.

    Returns the program and the tracer used (``"torch.fx"`` or ``"torch.export"``).

    Raises
    ------
    LayerError
        If neither can trace the function (data-dependent control flow, an operation on
        values that tracing does not have), with PyTorch's message.

    Examples
    --------
    >>> import torch
    >>> program, tracer = trace_program(lambda x: [torch.sin(x) * 2.0], [torch.ones(3)])
    >>> [op.eqn.name for op in program.ops], tracer
    (['sin', 'mul'], 'torch.fx')
    >>> def scaled(x):
    ...     y = x.clone()
    ...     y.mul_(2.0)  # a mutation: make_fx keeps it, export functionalizes it
    ...     return [torch.sin(y)]
    >>> program, tracer = trace_program(scaled, [torch.ones(3)])
    >>> [op.eqn.name for op in program.ops], tracer
    (['clone', 'mul', 'sin'], 'torch.export')
    """

    with TRACING:
        return _traced(function, leaves)


def _traced(function: Callable[..., Any], leaves: Sequence[Any]) -> tuple[Program, str]:
    import torch
    from torch.fx.experimental.proxy_tensor import make_fx

    examples = [torch.empty(tuple(x.shape), dtype=x.dtype, device=x.device) for x in leaves]
    failure: Exception | None = None
    try:
        module = make_fx(function, tracing_mode="fake", decomposition_table=decompositions(),
                         _allow_non_fake_inputs=True)(*examples)
    except JacChainError:
        raise
    except Exception as err:  # PyTorch's own errors while tracing the user's function
        failure = err
        logger.info("make_fx cannot trace %s (%s: %s); tracing it with torch.export instead",
                    _name(function), type(err).__name__, _first_line(err))
    else:
        mutations = _mutations(module.graph)
        if not mutations:
            constants = {node.name: getattr(module, node.target) for node in module.graph.nodes
                         if node.op == "get_attr"}
            return _program_of(module.graph, constants), "torch.fx"
        logger.debug("make_fx kept the mutations %s of %s; functionalizing them with torch.export",
                     mutations, _name(function))
    try:
        with warnings.catch_warnings():  # torch.export's own deprecation notices
            warnings.simplefilter("ignore", FutureWarning)
            exported = torch.export.export(_as_module(function), tuple(examples), strict=False)
            exported = exported.run_decompositions(decompositions())
    except JacChainError:
        raise
    except Exception as err:
        reported = failure if failure is not None else err
        name, first = _name(function), _first_line(reported)
        described = f"{type(reported).__name__} {reported}".lower()
        hint = ""
        if "data" in described and "depend" in described:
            hint = (" (jacchain traces on shapes alone: control flow that depends on values "
                    "cannot be traced)")
        raise LayerError(
            f"tracing {name} with torch.fx and torch.export failed: "
            f"{type(reported).__name__}: {first}{hint}"
        ) from reported
    return _program_of(exported.graph, _lifted(exported)), "torch.export"


def _mutations(graph: Any) -> list[str]:
    """The operations of a traced graph that write into a tensor (``add_``, ``copy_``, ...)."""
    found = []
    for node in graph.nodes:
        schema = getattr(node.target, "_schema", None) if node.op == "call_function" else None
        if schema is not None and schema.is_mutable:
            found.append(str(node.target))
    return found


def _name(function: Callable[..., Any]) -> str:
    return getattr(function, "__name__", type(function).__name__)


def _first_line(err: Exception) -> str:
    """The first line of an error's message, at most 300 characters."""
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else ""


def _as_module(function: Callable[..., Any]) -> Any:
    """A function as an ``nn.Module`` (what ``torch.export`` takes)."""
    import torch

    class AsModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.function = function

        def forward(self, *inputs: Any) -> Any:
            return self.function(*inputs)

    return AsModule()


def _lifted(exported: Any) -> dict[str, Any]:
    """The placeholders of an exported program that are not user inputs (lifted constants,
    parameters, buffers), by node name, with their tensors."""
    from torch.export.graph_signature import InputKind

    values = {}
    for spec in exported.graph_signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            continue
        source = exported.constants if spec.kind == InputKind.CONSTANT_TENSOR else exported.state_dict
        values[spec.arg.name] = source[spec.target]
    return values


def _program_of(graph: Any, constants: dict[str, Any]) -> Program:
    """A program from a graph of ATen operations; ``constants``: the tensors of the
    placeholders and attributes that are not inputs, by node name."""
    import torch
    from torch.fx.node import Node

    program = Program()
    env: dict[Any, Any] = {}
    for node in graph.nodes:
        if node.name in constants:
            env[node] = program.constant(constants[node.name])
        elif node.op == "placeholder":
            ref = program.new_value(_tensor_type(node.meta["val"]))
            program.inputs.append(ref)
            env[node] = ref
        elif node.op == "call_function" and node.target is operator.getitem:
            env[node] = env[node.args[0]][node.args[1]]
        elif node.op == "call_function":
            args, kwargs, inputs = _templated(node, env)
            value = node.meta.get("val")
            multiple = isinstance(value, (tuple, list))
            results = list(value) if multiple else [value]
            outs = tuple(
                program.new_value(_tensor_type(r) if isinstance(r, torch.Tensor)
                                  else TensorType((), torch.int64))
                for r in results
            )
            name, overload = _names(node.target)
            eqn = TorchOp(node.target, name, overload, args, kwargs,
                          tuple(program.avals[r] if isinstance(r, int) else _constant_type(program, r)
                                for r in inputs),
                          tuple(program.avals[r] for r in outs), multiple)
            program.ops.append(Op(eqn, tuple(inputs), outs))
            env[node] = list(outs) if multiple else outs[0]
        elif node.op == "output":
            returned = node.args[0]
            returned = returned if isinstance(returned, (tuple, list)) else [returned]
            program.outputs = [env[n] if isinstance(n, Node) else program.constant(n)
                               for n in returned]
    return program


def _templated(node: Any, env: dict[Any, Any]) -> tuple[Any, Any, list[Any]]:
    """A node's arguments with each tensor operand replaced by an ``_Operand``, and the
    operands' ids in order (an operand used twice appears twice)."""
    from torch.fx.node import map_arg

    inputs: list[Any] = []

    def operand(arg: Any) -> _Operand:
        inputs.append(env[arg])
        return _Operand(len(inputs) - 1)

    return map_arg(node.args, operand), map_arg(node.kwargs, operand), inputs


def _names(target: Any) -> tuple[str, str]:
    packet = getattr(target, "overloadpacket", None)
    if packet is not None:
        return packet.__name__, target._overloadname
    return getattr(target, "__name__", str(target)), "default"


def _constant_type(program: Program, ref: tuple[str, int]) -> TensorType:
    value = program.constants[ref[1]]
    return _tensor_type(value)


def run_program(program: Program, leaves: Sequence[Any]) -> dict[Any, Any]:
    """Evaluate every operation on the input tensors; the values of all ids (and constants).

    Examples
    --------
    >>> import torch
    >>> program, _ = trace_program(lambda x: [torch.sin(x) * 2.0], [torch.zeros(2)])
    >>> run_program(program, [torch.zeros(2)])[program.outputs[0]].tolist()
    [0.0, 0.0]
    """
    values: dict[Any, Any] = dict(zip(program.inputs, leaves, strict=True))
    for index, constant in enumerate(program.constants):
        values[("const", index)] = constant
    for op in program.ops:
        outs = op.eqn.outputs_of([values[ref] for ref in op.inputs])
        for ref, value in zip(op.outputs, outs, strict=True):
            values[ref] = value
    return values
