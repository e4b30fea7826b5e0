"""What every front end shares: describing function layers to the planner, checks, errors.

The front ends (numpy's :mod:`jacchain.layers`, :mod:`jacchain.jax`,
:mod:`jacchain.torch`) describe each layer of a model to the planner (:func:`describe`,
:func:`calibrated_layer` from measured times), keep a cache of plans
(:func:`cached_plan`), check their input and their layers' outputs the same way, and
name the layer at fault when one fails (:func:`layer_errors`, :func:`guarded`).
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..chains.chain import Chain, Layer
from ..errors import JacChainError, LayerError, NonFiniteError, ShapeError, shown
from ..plans.plan import Plan, plan

__all__ = [
    "cached_plan",
    "describe",
    "calibrated_layer",
    "best_time",
    "check_callables",
    "check_vector_shape",
    "layer_name",
    "check_dtype",
    "check_finite_input",
    "check_finite_jacobian",
    "layer_errors",
    "guarded",
    "FOREIGN_ERRORS",
]


def cached_plan(
    layers: Chain | Sequence[Layer], method: str = "auto", memory_limit: int | None = None
) -> Plan:
    """:func:`jacchain.plan` for a chain (or its layers), remembered for the next call.

    A model evaluated again at the same shapes is neither re-described nor replanned.

    Examples
    --------
    >>> import jacchain as jc
    >>> layers = (jc.Layer(4, 2), jc.Layer(2, 4))
    >>> cached_plan(layers) is cached_plan(jc.Chain(layers))
    True
    """
    key = tuple(layers.layers if isinstance(layers, Chain) else layers)
    if isinstance(method, str) and (memory_limit is None or type(memory_limit) is int):
        return _remembered_plan(key, method, memory_limit)
    return plan(Chain(key), method, memory_limit)  # unusual arguments: plan() checks them


@functools.lru_cache(maxsize=512)
def _remembered_plan(layers: tuple[Layer, ...], method: str, memory_limit: int | None) -> Plan:
    return plan(Chain(layers), method, memory_limit)


@functools.lru_cache(maxsize=4096)
def describe(
    n_in: int, n_out: int, kind: str, jvp_cost: int | None = None, vjp_cost: int | None = None
) -> Layer:
    """The chain :class:`Layer` of a function layer; matrix-free costs default to ``n_in * n_out``.

    A layer known only as a function is costed like a dense layer of its shape (one
    tangent or adjoint sweep costs ``n_in * n_out`` per direction) unless measured or
    told otherwise.

    Examples
    --------
    >>> describe(3, 2, "matrix-free")
    Layer(n_in=3, n_out=2, kind='matrix-free', jvp_cost=6, vjp_cost=6, tape=6)
    >>> describe(4, 4, "diagonal")
    Layer(n_in=4, n_out=4, kind='diagonal')
    """
    if kind != "matrix-free":
        return Layer(n_in, n_out, kind)
    default = n_in * n_out
    return Layer(
        n_in,
        n_out,
        "matrix-free",
        jvp_cost=default if jvp_cost is None else jvp_cost,
        vjp_cost=default if vjp_cost is None else vjp_cost,
    )


def best_time(run: Callable[[], Any], repeats: int = 5) -> float:
    """The fastest of ``repeats`` timed calls of ``run`` (after one warm-up call), in seconds.

    ``run`` must wait for its result (JAX: ``block_until_ready``).

    Examples
    --------
    >>> best_time(lambda: sum(range(100)), repeats=3) >= 0.0
    True
    """
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def calibrated_layer(
    n_in: int, n_out: int, jvp_seconds: float, vjp_seconds: float, madd_seconds: float
) -> Layer:
    """A matrix-free layer whose costs are measured times converted to multiply-adds.

    Parameters
    ----------
    n_in, n_out : int
        The layer's sizes.
    jvp_seconds, vjp_seconds : float
        Measured time of one tangent (one adjoint) sweep through the layer, per direction.
    madd_seconds : float
        Measured time of one multiply-add of a dense matrix product on the same machine
        and array library: the unit every other cost of the model is counted in.

    Examples
    --------
    >>> calibrated_layer(8, 8, 2e-6, 4e-6, 1e-9)
    Layer(n_in=8, n_out=8, kind='matrix-free', jvp_cost=2000, vjp_cost=4000, tape=4000)
    """

    def units(seconds: float) -> int:
        return max(1, round(seconds / madd_seconds))

    return Layer(
        n_in, n_out, "matrix-free", jvp_cost=units(jvp_seconds), vjp_cost=units(vjp_seconds)
    )


def layer_name(layer: Any) -> str:
    """A short name for messages: a jacchain module's repr, else the function's or class's name.

    Examples
    --------
    >>> import numpy as np
    >>> from jacchain.layers import Dense
    >>> layer_name(np.tanh), layer_name(3), layer_name(Dense(np.ones((2, 3))))
    ('tanh', 'int', 'Dense(3 -> 2)')
    """
    from .modules import Module

    if isinstance(layer, Module):
        return repr(layer)
    name = getattr(layer, "__name__", None)
    return name if isinstance(name, str) else type(layer).__name__


def check_callables(layers: Any, what: str = "callable") -> list[Any]:
    """The layers as a list; a clear :class:`LayerError` if one is not callable or none is given.

    Examples
    --------
    >>> check_callables([abs, 3])
    Traceback (most recent call last):
    ...
    jacchain.errors.LayerError: layer 2 is an int (3), not a callable: every layer must map a 1-D array to a 1-D array
    """
    if callable(layers):
        layers = [layers]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise LayerError(
            f"expected a sequence of layers ({what}s), got {type(layers).__name__} {shown(layers)}"
        )
    layers = list(layers)
    if not layers:
        raise LayerError("a model needs at least one layer")
    for number, layer in enumerate(layers, 1):
        if not callable(layer):
            raise LayerError(
                f"layer {number} is {_article(type(layer).__name__)} ({shown(layer, 40)}), "
                f"not a {what}: "
                "every layer must map a 1-D array to a 1-D array"
            )
    return layers


def _article(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def check_vector_shape(shape: Sequence[int], number: int | None = None, size: int | None = None):
    """Check that an input (``number`` None) or layer ``number``'s output is a 1-D vector.

    Returns its size. Raises :class:`ShapeError` naming what is wrong, and the size
    expected when ``size`` is given.

    Examples
    --------
    >>> check_vector_shape((4,))
    4
    >>> check_vector_shape((2, 2))
    Traceback (most recent call last):
    ...
    jacchain.errors.ShapeError: x must be a 1-D vector, got shape (2, 2)
    """
    shape = tuple(shape)
    what = "x" if number is None else f"layer {number}'s output"
    if len(shape) != 1 or not isinstance(shape[0], numbers.Integral) or shape[0] < 1:
        raise ShapeError(f"{what} must be a 1-D vector, got shape {shape}")
    if size is not None and shape[0] != size:
        raise ShapeError(f"{what} must have size {size}, got shape {shape}")
    return int(shape[0])


def check_dtype(
    ok: bool, dtype: Any, number: int | None = None, expected: str = "real numbers"
) -> None:
    """Check that an input (``number`` None) or layer ``number``'s output holds ``expected``.

    ``ok`` is the front end's verdict on ``dtype`` (its array library tells). Complex
    values are refused everywhere: the Jacobian of a function of complex variables is a
    complex matrix only for holomorphic functions, which jacchain cannot tell apart.

    Examples
    --------
    >>> import numpy as np
    >>> check_dtype(True, np.float64)
    >>> check_dtype(False, np.dtype("complex128"), 2)
    Traceback (most recent call last):
    ...
    jacchain.errors.ShapeError: layer 2's output must hold real numbers, got dtype complex128
    """
    if not ok:
        what = "x" if number is None else f"layer {number}'s output"
        raise ShapeError(f"{what} must hold {expected}, got dtype {dtype}")


def check_finite_input(finite: bool) -> None:
    """Refuse a point ``x`` holding NaN or infinite entries (``finite``: the front end's check).

    Examples
    --------
    >>> check_finite_input(False)
    Traceback (most recent call last):
    ...
    jacchain.errors.NonFiniteError: x has NaN or infinite entries: the Jacobian is not defined there
    """
    if not finite:
        raise NonFiniteError("x has NaN or infinite entries: the Jacobian is not defined there")


def check_finite_jacobian(
    J: Any,
    all_finite: Callable[[Any], bool],
    concatenate: Callable[[list[Any]], Any],
    layers: Sequence[Any],
    matrices: Sequence[Any],
    outputs: Sequence[Any],
) -> Any:
    """Return ``J``, or raise :class:`NonFiniteError` naming the first layer at fault.

    A layer that returns NaN or infinite values at a finite input is at fault even when
    its derivative is finite (``log`` at -1): the function is not defined there.

    Parameters
    ----------
    J : array
        The computed Jacobian.
    all_finite : callable
        ``all_finite(array) -> bool`` in the front end's array library.
    concatenate : callable
        Joins 1-D arrays into one (checked at once: one call instead of one per layer).
    layers : sequence
        The model's layers (for their names).
    matrices : sequence
        Each layer's explicit Jacobian (a matrix or a diagonal), or None where it has none.
    outputs : sequence
        Each layer's output in the forward pass, a 1-D array.

    Examples
    --------
    >>> import numpy as np
    >>> finite = lambda a: bool(np.isfinite(a).all())
    >>> J = np.array([[np.inf]])
    >>> check_finite_jacobian(J, finite, np.concatenate, [np.exp], [J[0]], [np.array([np.inf])])
    Traceback (most recent call last):
    ...
    jacchain.errors.NonFiniteError: layer 1 (exp)'s Jacobian at its input has NaN or infinite entries
    """
    if all_finite(J) and all_finite(concatenate(list(outputs))):
        return J
    for number, (layer, matrix, y) in enumerate(zip(layers, matrices, outputs, strict=True), 1):
        name = f"layer {number} ({layer_name(layer)})"
        if matrix is not None and not all_finite(matrix):
            raise NonFiniteError(f"{name}'s Jacobian at its input has NaN or infinite entries")
        if not all_finite(y):
            raise NonFiniteError(
                f"{name} returned NaN or infinite values: neither it nor its Jacobian is "
                "defined there"
            )
    raise NonFiniteError(
        "the Jacobian has NaN or infinite entries: a matrix-free layer's products are not "
        "finite, or a product along the plan overflowed"
    )


FOREIGN_ERRORS = (
    RuntimeError,
    TypeError,
    ValueError,
    ArithmeticError,
    LookupError,
    AttributeError,
    AssertionError,
)
"""What array libraries and layers raise when a layer cannot run or be differentiated
(NotImplementedError is a RuntimeError, IndexError a LookupError); jacchain's front ends
turn them into its own errors, naming the layer."""


@contextlib.contextmanager
def layer_errors(
    number: int, layer: Any, action: str, keep: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Turn a foreign error raised by ``layer`` while doing ``action`` into a :class:`LayerError`.

    The :data:`FOREIGN_ERRORS` (an array library's complaints, a layer's own
    NotImplementedError, ...) become a LayerError naming the layer and keeping the
    original message (and the original error as its ``__cause__``); jacchain's own errors
    and errors of the types in ``keep`` (e.g. running out of memory) pass unchanged.

    Examples
    --------
    >>> with layer_errors(2, abs, "its tangent sweep"):
    ...     raise RuntimeError("no forward-mode rule")
    Traceback (most recent call last):
    ...
    jacchain.errors.LayerError: layer 2 (abs) failed in its tangent sweep: RuntimeError: no forward-mode rule
    """
    try:
        yield
    except (JacChainError, *keep):
        raise
    except FOREIGN_ERRORS as err:
        raise LayerError(
            f"layer {number} ({layer_name(layer)}) failed in {action}: {type(err).__name__}: {err}"
        ) from err


def guarded(
    number: int,
    layer: Any,
    action: str,
    function: Callable[[Any], Any],
    keep: tuple[type[BaseException], ...] = (),
) -> Callable[[Any], Any]:
    """``function`` with its foreign errors turned into a LayerError (see :func:`layer_errors`).

    Examples
    --------
    >>> guarded(1, abs, "its adjoint sweep", lambda rows: 2 * rows)(3)
    6
    """

    def run(block: Any) -> Any:
        with layer_errors(number, layer, action, keep):
            return function(block)

    return run
