"""Layers of real functions, in numpy: each knows its Jacobian's structure and, at a point, the Jacobian.

Every layer maps a 1-D array to a 1-D array and tells the planner two things: its chain
:class:`~jacchain.Layer` (kind and costs, :meth:`Module.chain_layer`) and, at a point of
the forward pass, its operator for :func:`jacchain.evaluate` (:meth:`Module.operator`): a
2-D Jacobian (dense), a 1-D diagonal (elementwise), or an object with ``matmat`` and
``rmatmat`` (matrix-free).

=================  ==============  ===============================================
layer              kind            one sweep, per direction (multiply-adds)
=================  ==============  ===============================================
Dense(W, b)        dense           n_out * n_in
Tanh, ReLU, ...    diagonal        n
Softmax            matrix-free     2 n  (J = diag(s) - s s^T, never formed)
LayerNorm          matrix-free     4 n  (J = diag(g)/sigma (I - 11^T/n - x^ x^T/n))
Function           dense if given  its jacobian; else matrix-free, jvp_cost/vjp_cost
                   a jacobian      (default n_out * n_in)
=================  ==============  ===============================================

Softmax and LayerNorm have dense Jacobians, but ones that cost O(n) to apply and O(n^2)
to form. Declaring them matrix-free with O(n) products tells the planner exactly that:
it sweeps through them cheaply, and when a product is cheaper it pays n sweeps (O(n^2))
to accumulate the Jacobian. Declared "dense", the Jacobian would be counted as free to
form and as costing n^2 per direction to apply, both wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..chains.chain import Layer
from ..errors import LayerError, ShapeError

__all__ = [
    "Module",
    "Dense",
    "Elementwise",
    "Tanh",
    "ReLU",
    "Sigmoid",
    "Softplus",
    "Softmax",
    "LayerNorm",
    "Function",
    "MatrixFreeOperator",
    "check_implemented",
    "missing_methods",
]


def _real_array(value: Any, what: str) -> np.ndarray:
    """``value`` as an array of real numbers, integers and booleans promoted to float64."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ShapeError(f"{what} is not an array of real numbers: {err}") from None
    if array.dtype.kind not in "biuf":
        raise ShapeError(f"{what} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64) if array.dtype.kind in "biu" else array


def _vector(value: Any, what: str) -> np.ndarray:
    array = _real_array(value, what)
    if array.ndim != 1:
        raise ShapeError(f"{what} must be a 1-D vector, got shape {array.shape}")
    return array


def _block(value: Any, what: str, shape: tuple[int, ...]) -> np.ndarray:
    """A derivative a user's callable returned, checked to be real and of ``shape``."""
    array = _real_array(value, what)
    if array.shape != shape:
        raise ShapeError(f"{what} returned shape {array.shape}, expected {shape}")
    return array


def _abstract(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a method every concrete layer must override (see :func:`check_implemented`)."""
    method.__jacchain_abstract__ = True  # type: ignore[attr-defined]
    return method


def missing_methods(layer: Any) -> list[str]:
    """The methods a layer's class should define but does not (inherited abstract ones).

    Examples
    --------
    >>> missing_methods(Module()), missing_methods(Tanh())
    (['__call__', 'chain_layer', 'operator'], [])
    """
    cls = type(layer)
    return [
        name
        for name in dir(cls)
        if getattr(getattr(cls, name, None), "__jacchain_abstract__", False)
    ]


def check_implemented(layer: Any, number: int | None = None) -> None:
    """Raise a :class:`LayerError` naming the class and the methods it does not implement.

    Examples
    --------
    >>> check_implemented(Module(), 2)
    Traceback (most recent call last):
    ...
    jacchain.errors.LayerError: layer 2 (Module) does not implement __call__, chain_layer, operator: a jacchain.layers.Module subclass must define __call__, chain_layer and operator (Elementwise subclasses: function and derivative)
    """
    missing = missing_methods(layer)
    if missing:
        where = "" if number is None else f"layer {number} "
        raise LayerError(
            f"{where}({type(layer).__name__}) does not implement {', '.join(missing)}: a "
            "jacchain.layers.Module subclass must define __call__, chain_layer and operator "
            "(Elementwise subclasses: function and derivative)"
        )


class MatrixFreeOperator:
    """A Jacobian given by its products: ``matmat(V) = J V``, ``rmatmat(U) = J^T U``.

    The operator convention of :func:`jacchain.evaluate` (and of
    ``scipy.sparse.linalg.LinearOperator``), bound to one point of the forward pass.

    Examples
    --------
    >>> op = MatrixFreeOperator((2, 2), lambda V: 2 * V, lambda U: 2 * U)
    >>> op.matmat(np.eye(2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """

    def __init__(
        self,
        shape: tuple[int, int],
        matmat: Callable[[np.ndarray], np.ndarray],
        rmatmat: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.shape = shape
        self.matmat = matmat
        self.rmatmat = rmatmat

    def __repr__(self) -> str:
        return f"<MatrixFreeOperator {self.shape[0]}x{self.shape[1]}>"


class Module:
    """A layer of a model: a function R^n_in -> R^n_out whose Jacobian jacchain can plan with.

    Subclasses implement ``__call__``, :meth:`chain_layer` and :meth:`operator`, set
    ``n_in`` when they take one input size only, and override :meth:`output_size` when
    their output size differs from their input size. A subclass missing one of the three
    is refused with a :class:`~jacchain.LayerError` (:func:`check_implemented`) when a
    :class:`~jacchain.Sequential` is built of it, or when the method is called.
    """

    n_in: int | None = None
    """The input size the layer requires, or None if it takes any size."""

    @_abstract
    def __call__(self, x: np.ndarray) -> np.ndarray:
        check_implemented(self)

    def output_size(self, n_in: int) -> int:
        """The output size for inputs of size ``n_in`` (ShapeError if it takes no such input)."""
        if self.n_in is not None and n_in != self.n_in:
            raise ShapeError(f"{self!r} takes inputs of size {self.n_in}, not {n_in}")
        return n_in

    @_abstract
    def chain_layer(self, n_in: int) -> Layer:
        """The chain :class:`~jacchain.Layer` (kind and costs) for inputs of size ``n_in``."""
        check_implemented(self)

    @_abstract
    def operator(self, x: np.ndarray, y: np.ndarray) -> Any:
        """The Jacobian at ``x`` (with ``y = self(x)``), in the form :func:`jacchain.evaluate` takes."""
        check_implemented(self)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """The Jacobian at ``x`` as a dense ``(n_out, n_in)`` array (for checks and small layers).

        Examples
        --------
        >>> Tanh().jacobian(np.zeros(2)).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        x = _vector(x, "x")
        operator = self.operator(x, self(x))
        if isinstance(operator, MatrixFreeOperator):
            return operator.matmat(np.eye(x.size))
        operator = np.asarray(operator)
        return np.diag(operator) if operator.ndim == 1 else operator.copy()


class Dense(Module):
    """The affine layer ``x -> W x + b``; its Jacobian is ``W``.

    Parameters
    ----------
    W : array_like, shape (n_out, n_in)
    b : array_like, shape (n_out,), optional

    Examples
    --------
    >>> layer = Dense(np.ones((2, 3)), b=[0.0, 1.0])
    >>> layer(np.arange(3.0)).tolist(), layer.chain_layer(3)
    ([3.0, 4.0], Layer(n_in=3, n_out=2, kind='dense'))
    """

    def __init__(self, W: Any, b: Any = None) -> None:
        W = np.asarray(W)
        if W.ndim != 2 or W.dtype.kind not in "biuf" or 0 in W.shape:
            raise ShapeError(
                f"Dense needs a non-empty 2-D real matrix W, got shape {W.shape} of dtype {W.dtype}"
            )
        W = _real_array(W, "Dense's W")  # integers and booleans promoted to float64
        if b is not None:
            b = _vector(b, "Dense's b")
            if b.shape != (W.shape[0],):
                raise ShapeError(f"Dense's b must have shape ({W.shape[0]},), got {b.shape}")
        self.W, self.b = W, b
        self.n_in = W.shape[1]

    def __repr__(self) -> str:
        return f"Dense({self.W.shape[1]} -> {self.W.shape[0]})"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self.W @ x
        return y if self.b is None else y + self.b

    def output_size(self, n_in: int) -> int:
        super().output_size(n_in)
        return self.W.shape[0]

    def chain_layer(self, n_in: int) -> Layer:
        return Layer(n_in, self.output_size(n_in))

    def operator(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.W


class Elementwise(Module):
    """A function applied entry by entry: its Jacobian is the diagonal of its derivative.

    Subclasses define ``function(x)`` and ``derivative(x, y)`` (``y = function(x)``).
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.function(np.asarray(x))

    @_abstract
    def function(self, x: np.ndarray) -> np.ndarray:
        check_implemented(self)

    @_abstract
    def derivative(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        check_implemented(self)

    def chain_layer(self, n_in: int) -> Layer:
        return Layer(n_in, n_in, "diagonal")

    def operator(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.derivative(x, y)


class Tanh(Elementwise):
    """``tanh``, with derivative ``1 - tanh(x)^2``."""

    def function(self, x):
        return np.tanh(x)

    def derivative(self, x, y):
        return 1.0 - y * y


class ReLU(Elementwise):
    """``max(x, 0)``, with derivative 1 where x > 0 and 0 elsewhere (0 at the kink)."""

    def function(self, x):
        return np.maximum(x, 0)

    def derivative(self, x, y):
        return (x > 0).astype(np.result_type(x, np.float32))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -x))


class Sigmoid(Elementwise):
    """The logistic function ``1 / (1 + exp(-x))``, with derivative ``s (1 - s)``."""

    def function(self, x):
        return _sigmoid(x)

    def derivative(self, x, y):
        return y * (1 - y)


class Softplus(Elementwise):
    """``log(1 + exp(x))``, computed stably, with derivative ``sigmoid(x)``."""

    def function(self, x):
        return np.logaddexp(0, x)

    def derivative(self, x, y):
        return _sigmoid(x)


class _LinearTime(Module):
    """A size-preserving matrix-free layer whose JVP and VJP cost ``madds_per_entry * n``."""

    madds_per_entry = 1

    def chain_layer(self, n_in: int) -> Layer:
        self.output_size(n_in)
        cost = self.madds_per_entry * n_in
        return Layer(n_in, n_in, "matrix-free", jvp_cost=cost, vjp_cost=cost, tape=n_in)


class Softmax(_LinearTime):
    """``s = exp(x) / sum(exp(x))``; its Jacobian ``diag(s) - s s^T`` is applied in 2n, never formed.

    Examples
    --------
    >>> Softmax()(np.zeros(4)).tolist()
    [0.25, 0.25, 0.25, 0.25]
    >>> Softmax().chain_layer(4)
    Layer(n_in=4, n_out=4, kind='matrix-free', jvp_cost=8, vjp_cost=8, tape=4)
    """

    madds_per_entry = 2

    def __repr__(self) -> str:
        return "Softmax()"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = np.exp(x - np.max(x))
        return z / z.sum()

    def operator(self, x: np.ndarray, y: np.ndarray) -> MatrixFreeOperator:
        s = y[:, None]

        def product(V: np.ndarray) -> np.ndarray:  # J = J^T
            return s * (V - (y @ V)[None, :])

        return MatrixFreeOperator((y.size, y.size), product, product)


class LayerNorm(_LinearTime):
    """``y = g (x - mean(x)) / sqrt(var(x) + eps) + b``, with O(n) JVP and VJP.

    Parameters
    ----------
    eps : float
        Added to the variance.
    weight, bias : array_like, optional
        The scale ``g`` and shift ``b`` (1-D, of the input's size); they fix the layer's
        size. Without them the layer takes any size (``g = 1``, ``b = 0``).

    Examples
    --------
    >>> np.round(LayerNorm()(np.array([1.0, 3.0])), 3).tolist()
    [-1.0, 1.0]
    >>> LayerNorm().chain_layer(3)
    Layer(n_in=3, n_out=3, kind='matrix-free', jvp_cost=12, vjp_cost=12, tape=3)
    """

    madds_per_entry = 4

    def __init__(self, eps: float = 1e-5, weight: Any = None, bias: Any = None) -> None:
        self.eps = float(eps)
        self.weight = None if weight is None else _vector(weight, "LayerNorm's weight")
        self.bias = None if bias is None else _vector(bias, "LayerNorm's bias")
        sizes = {v.size for v in (self.weight, self.bias) if v is not None}
        if len(sizes) > 1:
            raise ShapeError(f"LayerNorm's weight and bias differ in size: {sorted(sizes)}")
        self.n_in = sizes.pop() if sizes else None

    def __repr__(self) -> str:
        return "LayerNorm()" if self.n_in is None else f"LayerNorm({self.n_in})"

    def _normalized(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        centred = x - x.mean()
        sigma = float(np.sqrt(np.mean(centred * centred) + self.eps))
        return centred / sigma, sigma

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, _ = self._normalized(np.asarray(x))
        if self.weight is not None:
            y = y * self.weight
        return y if self.bias is None else y + self.bias

    def operator(self, x: np.ndarray, y: np.ndarray) -> MatrixFreeOperator:
        xhat, sigma = self._normalized(x)
        n = x.size
        scale = (np.ones(n) if self.weight is None else self.weight)[:, None] / sigma

        def project(V: np.ndarray) -> np.ndarray:  # (I - 1 1^T / n - xhat xhat^T / n) V
            return V - V.mean(axis=0)[None, :] - xhat[:, None] * (xhat @ V)[None, :] / n

        return MatrixFreeOperator(
            (n, n), lambda V: scale * project(V), lambda U: project(scale * U)
        )


class Function(Module):
    """Any other layer: a function ``f`` with its Jacobian, or its JVP and/or VJP.

    Parameters
    ----------
    f : callable
        Maps a 1-D array of size ``n_in`` to one of size ``n_out``.
    n_in, n_out : int
    jvp : callable, optional
        ``jvp(x, V) = J(x) V`` for a block ``V`` of shape ``(n_in, m)`` (m directions).
    vjp : callable, optional
        ``vjp(x, U) = J(x)^T U`` for a block ``U`` of shape ``(n_out, m)``.
    jacobian : callable, optional
        ``jacobian(x)``: the ``(n_out, n_in)`` Jacobian. The layer is then dense.
    jvp_cost, vjp_cost : int, optional
        Multiply-adds of one ``jvp`` (``vjp``) direction; default ``n_in * n_out``.

    Notes
    -----
    With a ``jacobian`` the layer is dense (the Jacobian is given). Otherwise it is
    matrix-free. Given only ``jvp`` (only ``vjp``), the other product is served by the
    Jacobian formed from ``n_in`` JVPs (``n_out`` VJPs) once per point; its per-direction
    cost is then bounded by forming it plus one product, which keeps the planner away from
    it unless a pure mode is asked for.

    Examples
    --------
    >>> A = np.arange(6.0).reshape(2, 3)
    >>> cube = Function(lambda x: A @ x**3, 3, 2, jacobian=lambda x: A * 3 * x**2)
    >>> cube.chain_layer(3)
    Layer(n_in=3, n_out=2, kind='dense')
    >>> square = Function(np.square, 2, 2, jvp=lambda x, V: 2 * x[:, None] * V)
    >>> square.chain_layer(2)
    Layer(n_in=2, n_out=2, kind='matrix-free', jvp_cost=4, vjp_cost=12, tape=12)
    """

    def __init__(
        self,
        f: Callable[[np.ndarray], np.ndarray],
        n_in: int,
        n_out: int,
        jvp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        vjp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        jacobian: Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        jvp_cost: int | None = None,
        vjp_cost: int | None = None,
    ) -> None:
        for name, value in (("f", f), ("jvp", jvp), ("vjp", vjp), ("jacobian", jacobian)):
            if value is not None and not callable(value):
                raise LayerError(f"Function's {name} must be callable, got {type(value).__name__}")
        if f is None:
            raise LayerError("Function needs a callable f")
        if jacobian is None and jvp is None and vjp is None:
            raise LayerError(
                "Function needs its derivative: jacobian=, or jvp= and/or vjp= "
                "(numpy cannot differentiate f by itself)"
            )
        probe = Layer(n_in, n_out)  # validates the sizes
        self.f, self.n_in, self.n_out = f, probe.n_in, probe.n_out
        self.jvp, self.vjp, self._jacobian = jvp, vjp, jacobian
        dense = self.n_in * self.n_out
        jvp_cost = dense if jvp_cost is None else jvp_cost
        vjp_cost = dense if vjp_cost is None else vjp_cost
        if jvp is None:  # served by the Jacobian formed from n_out VJPs
            jvp_cost = self.n_out * vjp_cost + dense
        if vjp is None:
            vjp_cost = self.n_in * jvp_cost + dense
        self._costs = (jvp_cost, vjp_cost)

    def __repr__(self) -> str:
        name = getattr(self.f, "__name__", type(self.f).__name__)
        return f"Function({name}, {self.n_in} -> {self.n_out})"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.f(x))

    def output_size(self, n_in: int) -> int:
        super().output_size(n_in)
        return self.n_out

    def chain_layer(self, n_in: int) -> Layer:
        self.output_size(n_in)
        if self._jacobian is not None:
            return Layer(self.n_in, self.n_out)
        jvp_cost, vjp_cost = self._costs
        return Layer(self.n_in, self.n_out, "matrix-free", jvp_cost=jvp_cost, vjp_cost=vjp_cost)

    def operator(self, x: np.ndarray, y: np.ndarray) -> Any:
        n_in, n_out = self.n_in, self.n_out
        if self._jacobian is not None:
            return _block(self._jacobian(x), f"{self!r}'s jacobian", (n_out, n_in))
        formed: list[np.ndarray] = []  # the Jacobian, if a missing product needs it

        def jvp(V: np.ndarray) -> np.ndarray:
            return _block(self.jvp(x, V), f"{self!r}'s jvp", (n_out, V.shape[1]))

        def vjp(U: np.ndarray) -> np.ndarray:
            return _block(self.vjp(x, U), f"{self!r}'s vjp", (n_in, U.shape[1]))

        def jacobian() -> np.ndarray:
            if not formed:
                formed.append(jvp(np.eye(n_in)) if self.jvp is not None else vjp(np.eye(n_out)).T)
            return formed[0]

        def matmat(V: np.ndarray) -> np.ndarray:
            return jvp(V) if self.jvp is not None else jacobian() @ V

        def rmatmat(U: np.ndarray) -> np.ndarray:
            return vjp(U) if self.vjp is not None else jacobian().T @ U

        return MatrixFreeOperator((n_out, n_in), matmat, rmatmat)
