"""PyTorch front end: the full Jacobian of a sequential model, in forward, reverse or mixed mode.

``jacchain.torch.jacobian(model, x)`` takes a ``torch.nn.Sequential`` (or a list of
modules and functions), describes each layer by its type (``nn.Linear``: dense, its
Jacobian is the weight; elementwise activations: diagonal, their derivative taken by
forward-mode AD; ``nn.Identity``: identity; anything else: matrix-free, costed like a
dense matrix of its shape), plans the product, and computes it along the plan, sweeping
through matrix-free layers with ``torch.func.jvp`` and ``torch.func.vjp``, ``vmap``-ped
over the directions.

PyTorch is imported here only; install it with the ``torch`` extra.
"""

from __future__ import annotations

from typing import Any

from .errors import ShapeError
from .execute import (
    Linearization,
    cached_plan,
    check_callables,
    check_vector_shape,
    describe,
    execute,
    layer_name,
    sweeps_needed,
)
from .plan import Plan

__all__ = ["jacobian", "layer_kind", "ELEMENTWISE_MODULES"]

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
    return check_callables(model, "module or callable")


def _forward(number: int, layer: Any, x: Any) -> Any:
    """``layer(x)``, with a clear error when it cannot take ``x``."""
    import torch.nn as nn

    if isinstance(layer, nn.Linear) and layer.in_features != x.shape[0]:
        source = "x has" if number == 1 else f"layer {number - 1} produces outputs of"
        raise ShapeError(
            f"layer {number} ({layer!r}) takes inputs of size {layer.in_features}, but "
            f"{source} size {x.shape[0]}"
        )
    try:
        return layer(x)
    except (RuntimeError, TypeError, ValueError, IndexError) as err:
        what = "x" if number == 1 else f"the output of layer {number - 1}"
        raise ShapeError(
            f"layer {number} ({layer_name(layer)}) cannot take {what}, a vector of shape "
            f"{tuple(x.shape)}: {type(err).__name__}: {err}"
        ) from err


def _matrix_free(layer: Any, x: Any, needs: set[str]) -> Linearization:
    """Products of a matrix-free layer at ``x``, for the directions the plan needs."""
    import torch.func as tf

    tangent, adjoint = None, None
    if "tangent" in needs:

        def push(direction: Any) -> Any:
            return tf.jvp(layer, (x,), (direction,))[1]

        tangent = tf.vmap(push, in_dims=1, out_dims=1)
    if "adjoint" in needs:
        pullback = tf.vjp(layer, x)[1]
        adjoint = tf.vmap(lambda row: pullback(row)[0])
    return Linearization("matrix-free", x.shape[0], tangent=tangent, adjoint=adjoint)


def jacobian(
    model: Any,
    x: Any,
    method: str = "auto",
    return_plan: bool = False,
    memory_limit: int | None = None,
) -> Any:
    """The full Jacobian of a sequential model at ``x``, computed along the optimal plan.

    Parameters
    ----------
    model : torch.nn.Sequential, torch.nn.Module, or sequence of modules and callables
        The layers in application order, each mapping a 1-D tensor to a 1-D tensor.
    x : torch.Tensor, 1-D
        The point (integer tensors are converted to the default float dtype).
    method : str
        A planning method of :func:`jacchain.plan`: ``"auto"`` (optimal), ``"forward"``
        (what ``torch.func.jacfwd`` does), ``"reverse"`` (``torch.func.jacrev``), ...
    return_plan : bool
        Also return the plan followed.
    memory_limit : int, optional
        The largest tape an adjoint sweep may record (see :func:`jacchain.plan`).

    Returns
    -------
    torch.Tensor or (torch.Tensor, Plan)
        The ``(n_out, n_in)`` Jacobian (and the plan).

    Raises
    ------
    LayerError
        If a layer is not callable.
    ShapeError
        If ``x`` is not a 1-D tensor, a layer cannot take its input (e.g. an ``nn.Linear``
        whose ``in_features`` differ from the previous layer's output size), or a layer
        returns anything but a 1-D tensor.

    Notes
    -----
    The forward pass runs once, recording each layer's input; an ``nn.Linear`` gives its
    weight, an activation its derivative (computed in that pass by forward-mode AD with a
    tangent of ones), and a matrix-free layer its products (``torch.func.jvp`` /
    ``torch.func.vjp``, vmapped) for the directions the plan sweeps. The plan is cached
    by the layers' shapes and kinds. The Jacobian stays differentiable with respect to
    the model's parameters.

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
    """
    import torch

    layers = _layers(model)
    p, linearized, inputs, y = _forward_pass(layers, x, method, memory_limit)
    for number, needs in enumerate(sweeps_needed(p)):
        if linearized[number] is None:
            linearized[number] = _matrix_free(layers[number], inputs[number], needs)
    J = execute(p, linearized, lambda n: torch.eye(n, dtype=y.dtype, device=y.device))
    return (J, p) if return_plan else J


def _forward_pass(
    layers: list[Any], x: Any, method: str, memory_limit: int | None
) -> tuple[Plan, list[Linearization | None], list[Any], Any]:
    """Run the layers once: the plan, the explicit layers linearized, each layer's input, the output."""
    import torch
    import torch.autograd.forward_ad as forward_ad

    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"x must be a 1-D torch.Tensor, got {type(x).__name__}")
    check_vector_shape(tuple(x.shape))
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(torch.get_default_dtype())
    linearized: list[Linearization | None] = []
    inputs, described = [], []
    for number, layer in enumerate(layers, 1):
        kind = layer_kind(layer)
        size = x.shape[0]
        if kind == "diagonal":  # one forward-mode derivative: direction ones, result f'(x)
            with forward_ad.dual_level():
                y, derivative = forward_ad.unpack_dual(
                    layer(forward_ad.make_dual(x, torch.ones_like(x)))
                )
            linearized.append(Linearization("diagonal", size, derivative))
        else:
            y = _forward(number, layer, x)
            explicit = {"dense": getattr(layer, "weight", None), "identity": None}
            linearized.append(
                Linearization(kind, size, explicit[kind]) if kind in explicit else None
            )
        if not isinstance(y, torch.Tensor):
            raise ShapeError(
                f"layer {number} ({layer_name(layer)}) must return a 1-D tensor, got "
                f"{type(y).__name__}"
            )
        described.append(describe(size, check_vector_shape(tuple(y.shape), number), kind))
        inputs.append(x)
        x = y
    return cached_plan(described, method, memory_limit), linearized, inputs, x


def plan(model: Any, x: Any, method: str = "auto", memory_limit: int | None = None) -> Plan:
    """The plan :func:`jacobian` follows for ``model`` at ``x`` (it runs the forward pass once).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.Tanh(),
    ...                             torch.nn.Linear(512, 10))
    >>> plan(model, torch.zeros(256)).mode
    'reverse'
    """
    return _forward_pass(_layers(model), x, method, memory_limit)[0]
