"""PyTorch front end: the full Jacobian of a sequential model, in forward, reverse or mixed mode.

``jacchain.torch.jacobian(model, x)`` takes a ``torch.nn.Sequential`` (or a list of
modules and functions), describes each layer by its type (``nn.Linear``: dense, its
Jacobian is the weight; elementwise activations: diagonal, their derivative taken by
forward-mode AD; ``nn.Identity`` and eval-mode dropout: identity; anything else:
matrix-free, costed like a dense matrix of its shape), plans the product, and computes it
along the plan, sweeping through matrix-free layers with ``torch.func.jvp`` and
``torch.func.vjp``, ``vmap``-ped over the directions.

When autograd will differentiate the result (gradients are enabled and a matrix-free
layer's output requires them), that layer is linearized by reverse mode only: PyTorch
does not differentiate every forward-mode rule correctly (``nn.LayerNorm``'s JVP, and
its VJP's JVP, lose the dependence of the saved mean and variance on the input:
pytorch/pytorch#175754 and #196700), while a VJP is differentiated exactly as
``torch.func.jacrev``'s is.

PyTorch is imported here only; install it with the ``torch`` extra.
"""

from __future__ import annotations

from typing import Any

from ..chains.chain import Chain
from ..errors import JacChainError, LayerError, ShapeError
from ..execution.executor import Linearization, execute, sweeps_needed
from ..layers.common import (
    FOREIGN_ERRORS,
    cached_plan,
    check_callables,
    check_dtype,
    check_finite_input,
    check_finite_jacobian,
    check_vector_shape,
    describe,
    guarded,
    layer_errors,
    layer_name,
)
from ..plans.plan import Plan
from ..plans.reuse import check_chain_plan, given_plan
from .tensors import all_finite, concrete, tracked

__all__ = ["jacobian", "plan", "layer_kind", "ELEMENTWISE_MODULES"]

ELEMENTWISE_MODULES = [
    "CELU",
    "ELU",
    "GELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "Mish",
    "ReLU",
    "ReLU6",
    "SELU",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
]
"""The ``torch.nn`` activations whose Jacobian is diagonal (applied entry by entry)."""


def layer_kind(layer: Any) -> str:
    """The structure of a layer's Jacobian, read from its type.

    Examples
    --------
    >>> import torch
    >>> [layer_kind(m) for m in (torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Softmax(0))]
    ['dense', 'diagonal', 'matrix-free']
    """
    import torch.nn as nn

    if isinstance(layer, nn.Linear):
        return "dense"
    if isinstance(layer, nn.Identity) or (
        isinstance(layer, nn.modules.dropout._DropoutNd) and not layer.training
    ):
        return "identity"
    if any(isinstance(layer, getattr(nn, name)) for name in ELEMENTWISE_MODULES):
        return "diagonal"
    return "matrix-free"


def _layers(model: Any) -> list[Any]:
    import torch.nn as nn

    if isinstance(model, nn.Sequential):
        model = list(model)
    elif isinstance(model, nn.Module):
        model = [model]
    layers = check_callables(model, "module or callable")
    for number, layer in enumerate(layers, 1):
        _check_deterministic(number, layer)
    return layers


def _check_deterministic(number: int, layer: Any) -> None:
    """Refuse a layer holding dropout (or RReLU) in training mode: its Jacobian is random."""
    import torch.nn as nn

    if not isinstance(layer, nn.Module):
        return
    for name, module in layer.named_modules():
        if module.training and isinstance(module, (nn.modules.dropout._DropoutNd, nn.RReLU)):
            where = f" (its submodule {name!r}, {type(module).__name__})" if name else ""
            raise LayerError(
                f"layer {number} ({layer_name(layer)}){where} is in training mode: its "
                "Jacobian is random; call model.eval()"
            )


def _out_of_memory() -> tuple[type[BaseException], ...]:
    import torch

    return (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError),)  # torch < 2.5: cuda's


def _forward(number: int, layer: Any, x: Any, call: Any = None) -> Any:
    """``call(x)`` (default ``layer(x)``), with a clear error when the layer cannot take ``x``."""
    import torch.nn as nn

    if isinstance(layer, nn.Linear) and layer.in_features != x.shape[0]:
        source = "x has" if number == 1 else f"layer {number - 1} produces outputs of"
        raise ShapeError(
            f"layer {number} ({layer!r}) takes inputs of size {layer.in_features}, but "
            f"{source} size {x.shape[0]}"
        )
    try:
        return (layer if call is None else call)(x)
    except (JacChainError, *_out_of_memory()):
        raise
    except FOREIGN_ERRORS as err:
        what = "x" if number == 1 else f"the output of layer {number - 1}"
        raise ShapeError(
            f"layer {number} ({layer_name(layer)}) cannot take {what}, a vector of shape "
            f"{tuple(x.shape)}: {type(err).__name__}: {err}"
        ) from err


def _diagonal(number: int, layer: Any, x: Any) -> tuple[Any, Any]:
    """An elementwise layer's output and derivative at ``x``, by forward mode (tangent ones).

    Autograd differentiates these derivatives correctly for every module of
    :data:`ELEMENTWISE_MODULES` but ``nn.Hardsigmoid``, whose second derivative PyTorch
    does not implement (tests/test_torch.py checks them all against torch.func.jacrev).
    """
    import torch
    import torch.autograd.forward_ad as forward_ad
    import torch.func as tf

    if torch._C._functorch.is_functorch_wrapped_tensor(x):  # under vmap, grad, ...
        return _forward(number, layer, x, lambda v: tf.jvp(layer, (v,), (torch.ones_like(v),)))
    with forward_ad.dual_level():  # a third of torch.func.jvp's overhead
        dual = _forward(number, layer, forward_ad.make_dual(x, torch.ones_like(x)))
        return forward_ad.unpack_dual(dual)


def _matrix_free(
    number: int, layer: Any, x: Any, n_out: int, needs: set[str], reverse_only: bool
) -> Linearization:
    """Products of a matrix-free layer at ``x``, for the directions the plan needs.

    ``reverse_only``: tangents too come from VJPs (the Jacobian formed from ``n_out`` of
    them, once), so that autograd can differentiate them.
    """
    import torch
    import torch.func as tf

    keep = _out_of_memory()
    tangent, adjoint = None, None
    if "adjoint" in needs or (reverse_only and "tangent" in needs):
        with layer_errors(number, layer, "its adjoint sweep", keep):
            y, pullback = tf.vjp(layer, x)
        adjoint = guarded(
            number, layer, "its adjoint sweep", tf.vmap(lambda row: pullback(row)[0]), keep
        )
    if "tangent" in needs and reverse_only:
        formed: list[Any] = []

        def tangent(columns: Any) -> Any:
            if not formed:
                formed.append(adjoint(torch.eye(n_out, dtype=y.dtype, device=y.device)))
            return formed[0] @ columns

    elif "tangent" in needs:

        def push(direction: Any) -> Any:
            return tf.jvp(layer, (x,), (direction,))[1]

        tangent = guarded(
            number, layer, "its tangent sweep", tf.vmap(push, in_dims=1, out_dims=1), keep
        )
    return Linearization("matrix-free", x.shape[0], tangent=tangent, adjoint=adjoint)


def jacobian(
    model: Any,
    x: Any,
    method: str = "auto",
    return_plan: bool = False,
    memory_limit: int | None = None,
    *,
    plan: Plan | None = None,
) -> Any:
    """The full Jacobian of a sequential model at ``x``, computed along the optimal plan.

    Parameters
    ----------
    model : torch.nn.Sequential, torch.nn.Module, or sequence of modules and callables
        The layers in application order, each mapping a 1-D tensor to a 1-D tensor.
    x : torch.Tensor, 1-D
        The point (integer and boolean tensors are converted to the default float dtype;
        complex tensors are refused).
    method : str
        A planning method of :func:`jacchain.plan`: ``"auto"`` (optimal), ``"forward"``
        (what ``torch.func.jacfwd`` does), ``"reverse"`` (``torch.func.jacrev``), ...
    return_plan : bool
        Also return the plan followed.
    memory_limit : int, optional
        The largest tape an adjoint sweep may record (see :func:`jacchain.plan`).
    plan : Plan, optional
        Follow this plan instead of planning (for example one read back with
        :meth:`jacchain.Plan.from_json`), once its dims and layer kinds are checked against
        the model's at ``x``. Not with ``method`` or ``memory_limit``.

    Returns
    -------
    torch.Tensor or (torch.Tensor, Plan)
        The ``(n_out, n_in)`` Jacobian (and the plan).

    Raises
    ------
    LayerError
        If a layer is not callable, holds dropout (or RReLU) in training mode, or fails
        while it is differentiated (the message names the layer and keeps PyTorch's).
    ShapeError
        If ``x`` is not a 1-D real tensor, a layer cannot take its input (e.g. an
        ``nn.Linear`` whose ``in_features`` differ from the previous layer's output size),
        or a layer returns anything but a 1-D tensor of floating-point numbers.
    NonFiniteError
        If ``x`` or the computed Jacobian holds NaN or infinite entries (the message names
        the first layer at fault).
    MethodError
        For an unknown method or a bad ``memory_limit``, or either given with ``plan``.
    PlanFormatError
        If ``plan`` is not a Plan, or does not fit the model at ``x``.

    Notes
    -----
    The forward pass runs once, recording each layer's input; an ``nn.Linear`` gives its
    weight, an activation its derivative (computed in that pass by forward-mode AD with a
    tangent of ones), and a matrix-free layer its products (``torch.func.jvp`` /
    ``torch.func.vjp``, vmapped) for the directions the plan sweeps. The plan is cached
    by the layers' shapes and kinds.

    The Jacobian stays differentiable with respect to the model's parameters and to
    ``x``. Where autograd will need that (gradients enabled and the layer's output
    requiring grad), a matrix-free layer is linearized by reverse mode only: it is
    described to the planner as offering VJPs only, and a tangent sweep through it
    multiplies its Jacobian, formed from ``n_out`` VJPs, because PyTorch's forward-mode
    rules are not all correctly differentiable (``nn.LayerNorm``'s is not). Under
    ``torch.no_grad()`` (or for layers no gradient flows through) forward mode is used
    freely, so the plan may differ (:func:`plan` tells). Activations' forward-mode
    derivatives are differentiated correctly for every type of
    :data:`ELEMENTWISE_MODULES` except ``nn.Hardsigmoid``, whose second derivative
    PyTorch does not implement: ``backward()`` through its Jacobian fails, as through
    ``torch.func.jacrev``'s.

    NaN and infinite values are refused when they can be read. Under ``torch.func``
    transforms (``vmap``, ``grad``, ...) values are abstract and are not checked: NaN
    propagates into the Jacobian, as in ``torch.func.jacrev``. ``torch.compile`` cannot
    trace this function: dynamo traces into the planner, which is numpy code.

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = torch.nn.Sequential(torch.nn.Linear(100, 2), torch.nn.Tanh(),
    ...                             torch.nn.Linear(2, 100))
    >>> x = torch.randn(100)
    >>> J, p = jacobian(model, x, return_plan=True)
    >>> J.shape, p.expression, torch.allclose(J, torch.func.jacrev(model)(x))
    (torch.Size([100, 100]), 'J3 (J2 J1)', True)
    >>> import jacchain as jc
    >>> torch.equal(jacobian(model, x, plan=jc.Plan.from_json(p.to_json())), J)
    True
    """
    import torch

    given = given_plan(plan, (Plan,), "a sequential model", method=(method, "auto"),
                       memory_limit=(memory_limit, None))
    layers = _layers(model)
    p, linearized, inputs, outputs = _forward_pass(layers, x, method, memory_limit, given)
    chain = p.chain.layers
    for number, needs in enumerate(sweeps_needed(p)):
        if linearized[number] is None:
            reverse_only = tracked(outputs[number])
            linearized[number] = _matrix_free(
                number + 1, layers[number], inputs[number], chain[number].n_out, needs,
                reverse_only,
            )
    y = outputs[-1]
    J = execute(p, linearized, lambda n: torch.eye(n, dtype=y.dtype, device=y.device))
    if concrete(J):
        matrices = [lin.matrix for lin in linearized]
        check_finite_jacobian(J, all_finite, torch.cat, layers, matrices, outputs)
    return (J, p) if return_plan else J


def _input(x: Any) -> Any:
    """``x`` checked (a finite 1-D real tensor), integers converted to the default float dtype."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"x must be a 1-D torch.Tensor, got {type(x).__name__}")
    check_dtype(not x.is_complex(), x.dtype)
    check_vector_shape(tuple(x.shape))
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if concrete(x):
        check_finite_input(all_finite(x))
    return x


def _output(number: int, layer: Any, y: Any) -> int:
    """Check layer ``number``'s output (a 1-D tensor of floats); return its size."""
    import torch

    if not isinstance(y, torch.Tensor):
        raise ShapeError(
            f"layer {number} ({layer_name(layer)}) must return a 1-D tensor, got "
            f"{type(y).__name__}"
        )
    n_out = check_vector_shape(tuple(y.shape), number)
    check_dtype(y.is_floating_point(), y.dtype, number, "floating-point numbers")
    return n_out


def _forward_pass(
    layers: list[Any], x: Any, method: str, memory_limit: int | None, given: Plan | None = None
) -> tuple[Plan, list[Linearization | None], list[Any], list[Any]]:
    """Run the layers once: the plan (or the ``given`` one, checked), the explicit layers
    linearized, their inputs and outputs."""
    x = _input(x)
    linearized: list[Linearization | None] = []
    inputs, outputs, described = [], [], []
    for number, layer in enumerate(layers, 1):
        kind = layer_kind(layer)
        size = x.shape[0]
        if kind == "diagonal":
            y, derivative = _diagonal(number, layer, x)
            linearized.append(Linearization("diagonal", size, derivative))
        else:
            y = _forward(number, layer, x)
            explicit = {"dense": getattr(layer, "weight", None), "identity": None}
            linearized.append(
                Linearization(kind, size, explicit[kind]) if kind in explicit else None
            )
        n_out = _output(number, layer, y)
        if kind == "matrix-free" and tracked(y):  # tangents served by n_out VJPs
            described.append(describe(size, n_out, kind, n_out * size * (n_out + 1)))
        else:
            described.append(describe(size, n_out, kind))
        inputs.append(x)
        outputs.append(y)
        x = y
    if given is not None:
        return check_chain_plan(given, Chain(described)), linearized, inputs, outputs
    return cached_plan(described, method, memory_limit), linearized, inputs, outputs


def plan(model: Any, x: Any, method: str = "auto", memory_limit: int | None = None) -> Plan:
    """The plan :func:`jacobian` follows for ``model`` at ``x`` (it runs the forward pass once).

    It depends on whether autograd will differentiate the Jacobian (see :func:`jacobian`);
    call it as :func:`jacobian` will be called (e.g. under ``torch.no_grad()`` or not).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.Tanh(),
    ...                             torch.nn.Linear(512, 10))
    >>> plan(model, torch.zeros(256)).mode
    'reverse'
    """
    return _forward_pass(_layers(model), x, method, memory_limit)[0]
