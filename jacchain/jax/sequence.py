"""JAX front end: ``jacobian(layers)`` chooses forward, reverse or mixed mode, and works under jit.

``jacchain.jax.jacobian(layers)`` is a drop-in for ``jax.jacobian`` on a sequence of
JAX-callable layers (each mapping a 1-D array to a 1-D array). At trace time it describes
every layer from its jaxpr at the input's shape (an identity; an elementwise function,
whose Jacobian is diagonal; or anything else, matrix-free), plans the product of their
Jacobians, and computes it along the plan: tangent sweeps by ``jax.linearize`` and adjoint
sweeps by ``jax.vjp``, both ``vmap``-ped over the directions, diagonals by one ``jax.jvp``.
The plan is static Python data, so the whole computation traces into one XLA program.

JAX is imported here only; install it with the ``jax`` extra.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from ..chains.chain import Chain, Layer
from ..errors import JacChainError, ShapeError
from ..execution.executor import Linearization, execute, sweeps_needed
from ..layers.common import (
    FOREIGN_ERRORS,
    best_time,
    cached_plan,
    calibrated_layer,
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
from ..plans.reuse import PlanCache, check_chain_plan, given_plan
from ..progress import check_progress, progress_bar

__all__ = ["jacobian", "JacobianFunction", "layer_kind"]

logger = logging.getLogger(__name__)

_ELEMENTWISE = frozenset(
    [
        "abs",
        "acos",
        "acosh",
        "add",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "cbrt",
        "ceil",
        "clamp",
        "convert_element_type",
        "copy",
        "copy_p",
        "cos",
        "cosh",
        "digamma",
        "div",
        "eq",
        "erf",
        "erf_inv",
        "erfc",
        "exp",
        "exp2",
        "expm1",
        "floor",
        "ge",
        "gt",
        "integer_pow",
        "is_finite",
        "le",
        "lgamma",
        "log",
        "log1p",
        "logistic",
        "lt",
        "max",
        "min",
        "mul",
        "ne",
        "neg",
        "nextafter",
        "not",
        "and",
        "or",
        "pow",
        "reduce_precision",
        "rem",
        "round",
        "rsqrt",
        "select_n",
        "sign",
        "sin",
        "sinh",
        "sqrt",
        "square",
        "stop_gradient",
        "sub",
        "tan",
        "tanh",
        "xor",
    ]
)
"""Primitives that act entry by entry (with scalars or same-shape constants)."""

_CALLS = frozenset(
    ["jit", "pjit", "closed_call", "core_call", "custom_jvp_call", "remat", "checkpoint"]
)
"""Primitives that call a sub-jaxpr, entrywise when it is (custom_vjp is left out: forward
mode, which the diagonal comes from, cannot differentiate it)."""
_SUB_JAXPRS = ("jaxpr", "call_jaxpr")
_CALIBRATION_WORK = 2**22
_REFERENCE_SIZE = 256
_REPEATS = 10


def _inner(jaxpr: Any) -> Any:
    return getattr(jaxpr, "jaxpr", jaxpr)  # ClosedJaxpr -> Jaxpr


def _is_elementwise(jaxpr: Any, dependent: list[bool], size: int) -> list[bool] | None:
    """Which outputs depend on the input, if every input-dependent value is entrywise; else None.

    ``dependent[i]`` says whether invar i depends on the input vector (of ``size``
    entries). An equation is entrywise when it is an elementwise primitive (or a call of a
    jaxpr that is, recursively) whose input-dependent operands all have shape (size,).
    """
    from jax.extend.core import Var

    jaxpr = _inner(jaxpr)
    tracked = {var for var, dep in zip(jaxpr.invars, dependent, strict=True) if dep}

    def depends(atom: Any) -> bool:
        return isinstance(atom, Var) and atom in tracked

    for eqn in jaxpr.eqns:
        inputs = [depends(atom) for atom in eqn.invars]
        if not any(inputs):
            continue
        shapes_ok = all(
            tuple(atom.aval.shape) == (size,)
            for atom, dep in zip(eqn.invars, inputs, strict=True)
            if dep
        ) and all(tuple(var.aval.shape) in ((size,), ()) for var in eqn.outvars)
        if not shapes_ok:
            return None
        name = eqn.primitive.name
        if name in _ELEMENTWISE or name == "broadcast_in_dim":
            outputs = [True] * len(eqn.outvars)
        elif name in _CALLS:
            sub = next((eqn.params[key] for key in _SUB_JAXPRS if key in eqn.params), None)
            if sub is None or len(_inner(sub).invars) != len(eqn.invars):
                return None
            outputs = _is_elementwise(sub, inputs, size)
            if outputs is None:
                return None
        else:
            return None
        for var, dep in zip(eqn.outvars, outputs, strict=True):
            if dep:
                if tuple(var.aval.shape) != (size,):
                    return None
                tracked.add(var)
    return [depends(atom) for atom in jaxpr.outvars]


def layer_kind(closed_jaxpr: Any) -> str:
    """The structure of a layer's Jacobian read from its jaxpr (one 1-D input, one output).

    ``"identity"`` if it returns its input, ``"diagonal"`` if every value computed from the
    input is computed entry by entry (``jnp.tanh``, ``jax.nn.relu``, ``2 * x + 1``, ...),
    else ``"matrix-free"``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> spec = jax.ShapeDtypeStruct((3,), jnp.float32)
    >>> [layer_kind(jax.make_jaxpr(f)(spec)) for f in (lambda x: x, jax.nn.softplus,
    ...                                                jax.nn.softmax)]
    ['identity', 'diagonal', 'matrix-free']
    """
    jaxpr = _inner(closed_jaxpr)
    if len(jaxpr.invars) != 1 or len(jaxpr.outvars) != 1:
        return "matrix-free"
    if jaxpr.outvars[0] is jaxpr.invars[0]:
        return "identity"
    (size,) = jaxpr.invars[0].aval.shape
    if tuple(jaxpr.outvars[0].aval.shape) != (size,):
        return "matrix-free"
    outputs = _is_elementwise(jaxpr, [True], size)
    return "diagonal" if outputs == [True] else "matrix-free"


class JacobianFunction:
    """``x -> J(x)``, the Jacobian of a sequence of layers computed along the optimal plan.

    Made by :func:`jacobian`. Call it on a 1-D array (inside or outside ``jax.jit``);
    :meth:`plan` shows the plan it follows for an input shape; ``plans`` holds the plans
    made (or the plan given) per input shape and dtype.
    """

    def __init__(
        self,
        layers: Sequence[Callable[[Any], Any]],
        method: str = "auto",
        calibrate: bool = False,
        memory_limit: int | None = None,
        progress: bool | None = None,
        plan: Plan | None = None,
    ) -> None:
        self.layers = tuple(check_callables(layers, "JAX-callable function"))
        given = given_plan(plan, (Plan,), "a sequence of layers", method=(method, "auto"),
                           calibrate=(bool(calibrate), False), memory_limit=(memory_limit, None))
        if given is None:
            cached_plan((Layer(1, 1),), method, memory_limit)  # a bad method or limit fails here
        self.plans = PlanCache(given)
        self.method = method
        self.calibrate = bool(calibrate)
        self.progress = check_progress(progress)
        self.memory_limit = memory_limit
        self._chains: dict[tuple[Any, ...], Chain] = {}

    def __repr__(self) -> str:
        names = ", ".join(layer_name(layer) for layer in self.layers)
        return f"<jacchain.jax.JacobianFunction of [{names}], method {self.method!r}>"

    def chain(self, x: Any) -> Chain:
        """The chain of the layers at the shape and dtype of ``x`` (an array or a ShapeDtypeStruct)."""
        import jax

        shape, dtype = tuple(x.shape), _float_dtype(x.dtype)
        key = (shape, str(dtype))
        if key not in self._chains:
            size = check_vector_shape(shape)
            spec = jax.ShapeDtypeStruct(shape, dtype)
            described = []
            enabled = self.progress if self.calibrate else False
            with progress_bar(len(self.layers), "calibration", enabled, unit="layers") as bar:
                for number, layer in enumerate(self.layers, 1):
                    jaxpr, out = _trace(layer, number, spec)
                    n_out = _output_size(number, layer, out)
                    kind = layer_kind(jaxpr)
                    if kind == "matrix-free" and self.calibrate:
                        bar.note(f"layer {number} ({layer_name(layer)})")
                        with layer_errors(number, layer, "its calibration (a JVP and a VJP)"):
                            described.append(_calibrated(layer, spec, n_out, out.dtype))
                        logger.info("calibrated layer %d (%s): %s multiply-adds per tangent, "
                                    "%s per adjoint direction", number, layer_name(layer),
                                    f"{described[-1].jvp_cost:,}", f"{described[-1].vjp_cost:,}")
                    else:
                        described.append(describe(size, n_out, kind))
                    spec, size = out, n_out
                    bar.update()
            self._chains[key] = Chain(described)
        return self._chains[key]

    def plan(self, x: Any) -> Plan:
        """The plan followed at the shape of ``x`` (an array or a ``jax.ShapeDtypeStruct``).

        Examples
        --------
        >>> import jax, jax.numpy as jnp
        >>> W = jnp.ones((2, 100))
        >>> jac = jacobian([lambda x: W @ x, jnp.tanh, lambda x: W.T @ x])
        >>> jac.plan(jax.ShapeDtypeStruct((100,), jnp.float32)).expression
        'tangent[J3](adjoint[J1](J2))'
        """
        signature = (tuple(x.shape), str(_float_dtype(x.dtype)))
        return self.plans.get(
            signature,
            lambda: cached_plan(self.chain(x), self.method, self.memory_limit),
            lambda given: check_chain_plan(given, self.chain(x)),
        )

    def __call__(self, x: Any) -> Any:
        import jax.numpy as jnp

        x = _input(x)
        p = self.plan(x)
        linearized, outputs = [], []
        for number, (layer, described, needs) in enumerate(
            zip(self.layers, p.chain.layers, sweeps_needed(p), strict=True), 1
        ):
            lin, x = _linearize(number, layer, described, needs, x)
            linearized.append(lin)
            outputs.append(x)
        dtype = x.dtype
        J = execute(p, linearized, lambda n: jnp.eye(n, dtype=dtype))
        if _concrete(J):
            matrices = [lin.matrix for lin in linearized]
            layers = self.layers
            check_finite_jacobian(J, _all_finite, jnp.concatenate, layers, matrices, outputs)
        return J


def _concrete(array: Any) -> bool:
    """Whether ``array`` holds values (not a tracer of jit, vmap, grad, ...)."""
    import jax

    return not isinstance(array, jax.core.Tracer)


def _all_finite(array: Any) -> bool:
    """No NaN or inf in ``array``; its sum first (a NaN or inf poisons it, and is cheaper)."""
    import jax.numpy as jnp

    return bool(jnp.isfinite(array.sum())) or bool(jnp.isfinite(array).all())


def _input(x: Any) -> Any:
    """``x`` as a 1-D real JAX array in the dtype JAX computes in; finite when concrete."""
    import jax
    import jax.numpy as jnp

    if not isinstance(x, jax.Array):
        try:
            x = jnp.asarray(x)
        except (TypeError, ValueError) as err:
            raise ShapeError(f"x must be a 1-D array of real numbers: {err}") from None
    real = x.dtype == bool or (
        jnp.issubdtype(x.dtype, jnp.number) and not jnp.issubdtype(x.dtype, jnp.complexfloating)
    )
    check_dtype(real, x.dtype)
    check_vector_shape(tuple(x.shape))
    x = jnp.asarray(x, dtype=_float_dtype(x.dtype))
    if _concrete(x):
        check_finite_input(_all_finite(x))
    return x


def _output_size(number: int, layer: Any, out: Any) -> int:
    """The size of layer ``number``'s output (its shape and dtype), checked: one 1-D float array."""
    import jax
    import jax.numpy as jnp

    if not isinstance(out, jax.ShapeDtypeStruct):
        count = len(out) if isinstance(out, (tuple, list)) else None
        got = f"{count} outputs" if count is not None else f"a {type(out).__name__}"
        raise ShapeError(f"layer {number} ({layer_name(layer)}) must return one 1-D array, got {got}")
    n_out = check_vector_shape(out.shape, number)
    check_dtype(jnp.issubdtype(out.dtype, jnp.floating), out.dtype, number, "floating-point numbers")
    return n_out


def _float_dtype(dtype: Any) -> Any:
    """``dtype`` as JAX computes in it (float64 is float32 without x64); ints become floats."""
    import jax
    import jax.numpy as jnp

    dtype = jax.dtypes.canonicalize_dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)  # the default float
    return dtype


def _trace(layer: Callable[[Any], Any], number: int, spec: Any) -> tuple[Any, Any]:
    """The layer's jaxpr and its output's shape and dtype, at the input ``spec``."""
    import jax

    try:
        return jax.make_jaxpr(layer, return_shape=True)(spec)
    except JacChainError:
        raise
    except FOREIGN_ERRORS as err:
        what = "x" if number == 1 else f"the output of layer {number - 1}"
        raise ShapeError(
            f"layer {number} ({layer_name(layer)}) cannot take {what}, a vector of shape "
            f"{spec.shape}: {type(err).__name__}: {err}"
        ) from err


def _linearize(
    number: int, layer: Callable[[Any], Any], described: Layer, needs: set[str], x: Any
) -> tuple[Linearization, Any]:
    """Run ``layer`` forward at ``x`` and linearize it as the plan needs; return (lin, output).

    Foreign errors (e.g. forward mode through a ``jax.custom_vjp`` function) become a
    LayerError naming layer ``number``.
    """
    with layer_errors(number, layer, "its linearization"):
        return _linearized(number, layer, described, needs, x)


def _linearized(
    number: int, layer: Callable[[Any], Any], described: Layer, needs: set[str], x: Any
) -> tuple[Linearization, Any]:
    import jax
    import jax.numpy as jnp

    size = described.n_in
    if described.kind == "identity":
        return Linearization("identity", size), layer(x)
    if described.kind == "diagonal":
        y, diagonal = jax.jvp(layer, (x,), (jnp.ones_like(x),))
        return Linearization("diagonal", size, diagonal), y
    y, tangent, adjoint = None, None, None
    if "adjoint" in needs:
        y, pullback = jax.vjp(layer, x)
        out_dtype = y.dtype
        pull_rows = jax.vmap(lambda row: pullback(row)[0])
        adjoint = guarded(
            number, layer, "its adjoint sweep", lambda rows: pull_rows(rows.astype(out_dtype))
        )
    if "tangent" in needs:
        y, pushforward = jax.linearize(layer, x)
        push_columns = jax.vmap(pushforward, in_axes=1, out_axes=1)
        tangent = guarded(
            number, layer, "its tangent sweep", lambda columns: push_columns(columns.astype(x.dtype))
        )
    if y is None:
        y = layer(x)
    return Linearization("matrix-free", size, tangent=tangent, adjoint=adjoint), y


def _per_direction(run: Callable[..., Any], *arrays: Any, work: int) -> float:
    """Seconds per direction of ``run(*arrays, block)``, blocks of directions on the last axis.

    The median slope from m to 4m directions over paired timings, so that fixed costs
    (dispatch, the forward pass) cancel, and so does a busy moment of the machine; m is
    chosen for about ``_CALIBRATION_WORK`` multiply-adds at ``work`` per direction, so
    that the difference stands above the timer's noise. Every array is an argument: XLA
    treats constants captured in a closure differently from data.
    """
    import jax.numpy as jnp
    import numpy as np

    m = min(max(_CALIBRATION_WORK // max(work, 1), 16), 1024)
    rng = np.random.default_rng(0)  # data made by numpy: no compilation per shape

    def normal(shape: tuple[int, ...], dtype: Any) -> Any:
        return jnp.asarray(rng.standard_normal(shape), dtype=dtype)

    data = [normal(shape, dtype) for shape, dtype in arrays[:-1]]
    last_shape, last_dtype = arrays[-1]
    blocks = [normal((*last_shape[:-1], d), last_dtype) for d in (m, 4 * m)]
    calls = [lambda block=block: run(*data, block).block_until_ready() for block in blocks]
    slopes = [best_time(calls[1], 1) - best_time(calls[0], 1) for _ in range(_REPEATS)]
    return max(float(np.median(slopes)), 0.0) / (3 * m)


@functools.lru_cache(maxsize=8)
def _madd_seconds(dtype: str) -> float:
    """Measured seconds of one multiply-add in a dense matrix product: the unit of cost."""
    import jax

    n = _REFERENCE_SIZE
    with jax.ensure_compile_time_eval():
        seconds = _per_direction(
            jax.jit(lambda a, b: a @ b), ((n, n), dtype), ((n, 1), dtype), work=n * n
        )
    return max(seconds / (n * n), 1e-15)


def _calibrated(layer: Callable[[Any], Any], spec: Any, n_out: int, out_dtype: Any) -> Layer:
    """Measure a tangent and an adjoint sweep through ``layer``, per direction, in multiply-adds.

    Tangents take the input's dtype, cotangents the output's (they differ when a layer casts).
    """
    import jax

    @jax.jit
    def push(x: Any, columns: Any) -> Any:
        return jax.vmap(jax.linearize(layer, x)[1], in_axes=1, out_axes=1)(columns)

    @jax.jit
    def pull(x: Any, rows: Any) -> Any:
        pullback = jax.vjp(layer, x)[1]
        return jax.vmap(lambda row: pullback(row)[0], in_axes=1, out_axes=1)(rows)

    n_in, dtype = spec.shape[0], spec.dtype
    with jax.ensure_compile_time_eval():  # concrete timings, even while tracing under jit
        jvp = _per_direction(push, ((n_in,), dtype), ((n_in, 1), dtype), work=n_in * n_out)
        vjp = _per_direction(pull, ((n_in,), dtype), ((n_out, 1), out_dtype), work=n_in * n_out)
    return calibrated_layer(n_in, n_out, jvp, vjp, _madd_seconds(str(dtype)))


def jacobian(
    layers: Sequence[Callable[[Any], Any]] | Callable[[Any], Any],
    method: str = "auto",
    *,
    calibrate: bool = False,
    memory_limit: int | None = None,
    progress: bool | None = None,
    plan: Plan | None = None,
) -> JacobianFunction:
    """A function ``x -> J``: the Jacobian of ``layers[-1] o ... o layers[0]`` along the optimal plan.

    A drop-in for ``jax.jacobian(f)`` where ``f`` is a sequence of layers: for 1-D ``x``
    it returns the same ``(n_out, n_in)`` array, computed in forward, reverse or mixed
    mode, whichever the plan finds cheapest. It works under ``jax.jit``.

    Parameters
    ----------
    layers : sequence of callables
        JAX-traceable functions, each mapping a 1-D array to a 1-D array, in application
        order.
    method : str
        A planning method of :func:`jacchain.plan`: ``"auto"`` (optimal), ``"forward"``
        (what ``jax.jacfwd`` does), ``"reverse"`` (``jax.jacrev``), ...
    calibrate : bool
        Cost matrix-free layers by measuring one JVP and one VJP per layer (once per input
        shape, in units of a measured dense multiply-add) instead of from their shapes.
    memory_limit : int, optional
        The largest tape an adjoint sweep may record (see :func:`jacchain.plan`).
    progress : bool or None
        A progress bar over the layers while they are calibrated (tqdm, the extra
        ``progress``): None (default) shows it when standard error is a terminal, True
        always, False never.
    plan : Plan, optional
        Follow this plan instead of planning (for example one saved with ``p.to_json()``
        and read back with :meth:`jacchain.Plan.from_json`): at each new input shape its
        dims and layer kinds are checked against the layers', and nothing is planned or
        calibrated. Not with ``method``, ``calibrate`` or ``memory_limit``.

    Returns
    -------
    JacobianFunction
        Call it on ``x``; ``.plan(x)`` shows the plan.

    Raises
    ------
    LayerError
        If a layer is not callable; at the call, if a layer fails while it is
        differentiated (e.g. forward mode through a ``jax.custom_vjp`` function; the
        message names the layer and keeps JAX's).
    MethodError
        For an unknown method, a bad ``memory_limit`` or ``progress``, or a planning option
        given with ``plan``.
    PlanFormatError
        If ``plan`` is not a Plan; at the call, if it does not fit the layers at ``x``.
    MissingExtraError
        At the first calibration, if ``progress`` is True and tqdm is not installed.
    ShapeError
        At the call: if ``x`` is not a 1-D array of real numbers, a layer cannot take its
        input (e.g. a size mismatch with the layer before), or returns anything but one
        1-D array of floating-point numbers.
    NonFiniteError
        At a call with concrete values: if ``x`` or the computed Jacobian holds NaN or
        infinite entries (the message names the first layer at fault).

    Notes
    -----
    Layer costs, unless calibrated, come from shapes: an identity is free, an elementwise
    function (read from its jaxpr) costs n per direction, and any other layer costs
    ``n_in * n_out`` per direction, like a dense matrix of its shape. Products of the
    Jacobians of consecutive elementwise layers stay diagonal.

    ``x`` may be any array-like of real numbers; integers and booleans are converted to
    JAX's default float dtype (float64 with ``jax_enable_x64``, else float32), and
    complex values are refused. NaN and infinite values are refused when the call sees
    concrete values. Under ``jax.jit``, ``jax.vmap`` or ``jax.grad`` the values are
    tracers and cannot be checked: NaN propagates into the Jacobian, as in
    ``jax.jacobian``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> W1, W2 = jnp.ones((3, 4)), jnp.ones((2, 3))
    >>> layers = [lambda x: W1 @ x, jnp.tanh, lambda x: W2 @ x]
    >>> J = jax.jit(jacobian(layers))(jnp.zeros(4))
    >>> J.shape, bool(jnp.allclose(J, jax.jacrev(lambda x: W2 @ jnp.tanh(W1 @ x))(jnp.zeros(4))))
    ((2, 4), True)

    A plan saved as JSON is followed again without planning:

    >>> import jacchain as jc
    >>> saved = jacobian(layers).plan(jnp.zeros(4)).to_json()
    >>> again = jacobian(layers, plan=jc.Plan.from_json(saved))
    >>> bool(jnp.allclose(again(jnp.zeros(4)), J))
    True
    """
    return JacobianFunction(layers, method, calibrate, memory_limit, progress, plan)
