"""Models as chains: ``Sequential`` layers, and their full Jacobian computed along the optimal plan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..chains.chain import Chain
from ..errors import LayerError, ShapeError
from ..plans.plan import Plan
from ..plans.reuse import PlanCache, check_chain_plan, given_plan
from .common import (
    cached_plan,
    check_callables,
    check_dtype,
    check_finite_input,
    check_finite_jacobian,
    check_vector_shape,
    layer_errors,
    layer_name,
)
from .modules import MatrixFreeOperator, Module, check_implemented

__all__ = ["Sequential", "jacobian"]


class Sequential:
    """The model f_k o ... o f_1 of :mod:`jacchain.layers` modules, applied to 1-D vectors.

    Parameters
    ----------
    layers : sequence of jacchain.layers.Module
        In application order. Wrap any other function as
        :class:`jacchain.layers.Function` with its derivative.

    Raises
    ------
    LayerError
        If a layer is not callable, is a plain function rather than a module, or is a
        module that does not implement ``__call__``, ``chain_layer`` and ``operator``.
    ShapeError
        If a layer's input size does not match the previous layer's output size (checked
        here for layers of fixed size, at the call for the others).

    Examples
    --------
    >>> import numpy as np, jacchain as jc
    >>> from jacchain.layers import Dense, Tanh
    >>> model = jc.Sequential([Dense(np.ones((2, 3))), Tanh(), Dense(np.ones((4, 2)))])
    >>> model(np.zeros(3)).tolist(), model.chain(3).dims
    ([0.0, 0.0, 0.0, 0.0], (3, 2, 2, 4))
    """

    def __init__(self, layers: Any) -> None:
        if isinstance(layers, Sequential):
            layers = layers.layers
        layers = check_callables(layers, "callable")
        for number, layer in enumerate(layers, 1):
            if not isinstance(layer, Module):
                raise LayerError(
                    f"layer {number} ({layer_name(layer)}) is not a jacchain.layers module: "
                    "wrap a plain function as jacchain.layers.Function(f, n_in, n_out, "
                    "jacobian=... or jvp=.../vjp=...), or use jacchain.jax / jacchain.torch "
                    "for functions those libraries differentiate"
                )
            check_implemented(layer, number)
        self.layers: tuple[Module, ...] = tuple(layers)
        self.sizes(None)
        self.plans = PlanCache()
        """The plans made for this model, per input size and planning options (numpy's plans
        do not depend on the dtype)."""

    def sizes(self, n_in: int | None) -> list[int | None]:
        """``[d0, d1, ..., dk]`` for inputs of size ``n_in`` (None where not yet known).

        Raises
        ------
        ShapeError
            If a layer cannot take the size the one before it produces.
        """
        sizes = [n_in]
        for number, layer in enumerate(self.layers, 1):
            size = sizes[-1]
            if size is None:
                sizes.append(None if layer.n_in is None else layer.output_size(layer.n_in))
                continue
            if layer.n_in is not None and layer.n_in != size:
                source = (
                    f"x has size {size}"
                    if number == 1
                    else f"layer {number - 1} ({self.layers[number - 2]!r}) produces outputs "
                    f"of size {size}"
                )
                raise ShapeError(
                    f"layer {number} ({layer!r}) takes inputs of size {layer.n_in}, but {source}"
                )
            sizes.append(layer.output_size(size))
        return sizes

    def chain(self, n_in: int) -> Chain:
        """The chain of the model's layers for inputs of size ``n_in``."""
        sizes = self.sizes(n_in)
        return Chain(
            [layer.chain_layer(size) for layer, size in zip(self.layers, sizes, strict=False)]
        )

    def plan(self, n_in: int, method: str = "auto", memory_limit: int | None = None) -> Plan:
        """The plan :func:`jacobian` follows for inputs of size ``n_in``, made once (``plans``).

        Examples
        --------
        >>> from jacchain.layers import Dense, Tanh
        >>> rng = np.random.default_rng(0)
        >>> model = Sequential([Dense(rng.standard_normal((2, 100))), Tanh(),
        ...                     Dense(rng.standard_normal((100, 2)))])
        >>> model.plan(100).expression
        'J3 (J2 J1)'
        """
        def make() -> Plan:
            return cached_plan(self.chain(n_in), method, memory_limit)

        if not (isinstance(method, str) and (memory_limit is None or type(memory_limit) is int)):
            return make()  # unusual arguments: plan() checks them
        return self.plans.get((n_in, method, memory_limit), make, check_chain_plan)

    def forward(self, x: Any) -> list[np.ndarray]:
        """The values ``[x, f_1(x), f_2(f_1(x)), ...]`` of the forward pass (k + 1 arrays)."""
        x = _input(x)
        sizes = self.sizes(x.size)
        values = [x]
        for number, (layer, size) in enumerate(zip(self.layers, sizes[1:], strict=True), 1):
            with layer_errors(number, layer, "its forward pass"):
                y = np.asarray(layer(values[-1]))
            check_dtype(y.dtype.kind in "biuf", y.dtype, number)
            check_vector_shape(y.shape, number, size)
            values.append(y)
        return values

    def __call__(self, x: Any) -> np.ndarray:
        return self.forward(x)[-1]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __repr__(self) -> str:
        return f"Sequential([{', '.join(repr(layer) for layer in self.layers)}])"


def _input(x: Any) -> np.ndarray:
    """``x`` as a 1-D array of real numbers, integers and booleans promoted to float64."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ShapeError(f"x must be a 1-D array of real numbers: {err}") from None
    check_dtype(array.dtype.kind in "biuf", array.dtype)
    check_vector_shape(array.shape)
    return array.astype(np.float64) if array.dtype.kind in "biu" else array


def _all_finite(array: np.ndarray) -> bool:
    """No NaN or inf in ``array``; one product with ones first (a NaN or inf poisons it)."""
    if array.ndim == 2 and array.dtype.kind == "f":
        sums = np.ones(array.shape[0], array.dtype) @ array
        return bool(np.isfinite(sums).all() or np.isfinite(array).all())  # sums may overflow
    return bool(np.isfinite(array).all())


def _operator(number: int, layer: Module, x: np.ndarray, y: np.ndarray) -> Any:
    """Layer ``number``'s operator at ``x``; a matrix-free one's products guarded (LayerError)."""
    with layer_errors(number, layer, "its linearization"):
        op = layer.operator(x, y)
    if not (callable(getattr(op, "matmat", None)) and callable(getattr(op, "rmatmat", None))):
        return op

    def guarded(product: str) -> Any:
        def run(block: np.ndarray) -> Any:
            with layer_errors(number, layer, f"its {product}"):
                return getattr(op, product)(block)

        return run

    shape = getattr(op, "shape", (y.size, x.size))
    return MatrixFreeOperator(shape, guarded("matmat"), guarded("rmatmat"))


def jacobian(
    model: Sequential | Any,
    x: Any,
    method: str = "auto",
    return_plan: bool = False,
    memory_limit: int | None = None,
    *,
    plan: Plan | None = None,
) -> np.ndarray | tuple[np.ndarray, Plan]:
    """The full Jacobian of ``model`` at ``x``, computed along the optimal plan.

    Parameters
    ----------
    model : Sequential or sequence of jacchain.layers.Module
    x : array_like, 1-D
        The point.
    method : str
        A planning method of :func:`jacchain.plan`: ``"auto"`` (optimal), ``"forward"``,
        ``"reverse"``, ...
    return_plan : bool
        Also return the plan followed.
    memory_limit : int, optional
        The largest tape an adjoint sweep may record (see :func:`jacchain.plan`).
    plan : Plan, optional
        Follow this plan instead of planning, for example one saved with ``p.to_json()``
        and read back with :meth:`jacchain.Plan.from_json`: its dims and layer kinds must
        be the model's at ``x`` (its costs may differ). Not with ``method`` or
        ``memory_limit``.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, Plan)
        The ``(d_k, d_0)`` Jacobian (and the plan).

    Raises
    ------
    ShapeError
        If ``x`` is not a 1-D vector of real numbers of a size the model takes, or a layer
        returns anything but a 1-D vector of real numbers of its size, or a derivative of
        the wrong shape.
    LayerError
        If a layer is not a :mod:`jacchain.layers` module (or does not implement one), or
        raises while it is evaluated or differentiated (the message names the layer).
    NonFiniteError
        If ``x`` or the Jacobian holds NaN or infinite entries (the message names the
        first layer at fault).
    MethodError
        For an unknown method or a bad ``memory_limit``, or either given with ``plan``.
    PlanFormatError
        If ``plan`` is not a Plan, or is a plan for other dims or layer kinds.

    Notes
    -----
    The plan comes from the layers' shapes and structures alone (and is cached for the
    next call at the same size, in ``model.plans`` for a :class:`Sequential`). The forward pass runs once; each layer then gives the
    plan its Jacobian at its stored input (a matrix, a diagonal) or products bound to it
    (matrix-free layers), and :func:`jacchain.evaluate` executes the plan. Integer and
    boolean ``x`` is promoted to float64; floating dtypes are kept.

    Examples
    --------
    >>> import numpy as np, jacchain as jc
    >>> from jacchain.layers import Dense, Tanh
    >>> rng = np.random.default_rng(0)
    >>> W1, W2 = rng.standard_normal((3, 5)), rng.standard_normal((4, 3))
    >>> model = jc.Sequential([Dense(W1), Tanh(), Dense(W2)])
    >>> x = rng.standard_normal(5)
    >>> J, p = jc.jacobian(model, x, return_plan=True)
    >>> np.allclose(J, W2 @ np.diag(1 - np.tanh(W1 @ x) ** 2) @ W1), p.expression
    (True, '(J3 J2) J1')

    A plan saved as JSON is followed again, without planning, where it fits:

    >>> saved = jc.Plan.from_json(p.to_json())
    >>> np.array_equal(jc.jacobian(model, x, plan=saved), J)
    True
    >>> jc.jacobian([Dense(W1), Tanh()], x, plan=saved)
    Traceback (most recent call last):
    ...
    jacchain.errors.PlanFormatError: the plan given (plan=) is for dims 5 -> 3 -> 3 -> 4, but the model at this input has dims 5 -> 3 -> 3
    """
    given = given_plan(plan, (Plan,), "a numpy model", method=(method, "auto"),
                       memory_limit=(memory_limit, None))
    model = model if isinstance(model, Sequential) else Sequential(model)
    x = _input(x)
    check_finite_input(_all_finite(x))
    values = model.forward(x)
    n_in = values[0].size
    if given is None:
        p = model.plan(n_in, method, memory_limit)
    else:
        p = check_chain_plan(given, model.chain(n_in))
    operators = [
        _operator(number, layer, values[number - 1], values[number])
        for number, layer in enumerate(model.layers, 1)
    ]
    J = p.evaluate(operators, check_finite=False)  # checked below, naming the layer at fault
    matrices = [op if isinstance(op, np.ndarray) else None for op in operators]
    check_finite_jacobian(J, _all_finite, np.concatenate, model.layers, matrices, values[1:])
    return (J, p) if return_plan else J
