"""The chain and its layers: shapes of J_k ... J_1, validated once, stored compactly."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DimensionError, ShapeError

__all__ = ["Layer", "Chain", "as_dims"]

_INT64_MAX = np.iinfo(np.int64).max
_REPR_DIMS = 12


def _dim_error(position: int, value: Any) -> DimensionError:
    return DimensionError(
        f"dims[{position}] = {value!r} is not a positive int: every dimension must be an "
        "int >= 1 (bools, floats and strings are rejected)"
    )


def as_dims(dims: Any) -> np.ndarray:
    """Validate ``dims = [d0, ..., dk]`` and return it as a read-only int64 array.

    Parameters
    ----------
    dims : sequence of int
        At least two positive ints. Numpy integer scalars and integer arrays are accepted;
        bools, floats (even integral ones), strings and None are not.

    Returns
    -------
    numpy.ndarray
        A 1-D, read-only int64 array.

    Raises
    ------
    DimensionError
        If ``dims`` is not a sequence of at least two positive ints that fit in int64.

    Examples
    --------
    >>> as_dims([784, 512, 10]).tolist()
    [784, 512, 10]
    """
    if dims is None or isinstance(dims, (str, bytes)) or not isinstance(dims, Iterable):
        raise DimensionError(
            f"dims must be a sequence of at least two positive ints [d0, d1, ..., dk], "
            f"got {type(dims).__name__} {dims!r}"
        )
    if isinstance(dims, np.ndarray):
        if dims.ndim != 1:
            raise DimensionError(
                f"dims must be one-dimensional, got an array of shape {dims.shape}"
            )
        if dims.dtype.kind in "iu":
            array = dims.astype(np.int64)
            bad = np.flatnonzero(array <= 0)
            if bad.size:
                raise _dim_error(int(bad[0]), dims[bad[0]].item())
            return _finish(array)
        dims = dims.tolist() if dims.dtype.kind != "O" else list(dims)
    values = []
    for position, value in enumerate(dims):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise _dim_error(position, value)
        value = int(value)
        if value <= 0 or value > _INT64_MAX:
            raise _dim_error(position, value)
        values.append(value)
    return _finish(np.array(values, dtype=np.int64))


def _finish(array: np.ndarray) -> np.ndarray:
    if array.size < 2:
        raise DimensionError(
            f"dims must hold at least two entries (d0 and d1 for one layer), got {array.size}"
        )
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Layer:
    """One layer of a chain: a map from R^n_in to R^n_out whose Jacobian has shape (n_out, n_in).

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes (positive ints).
    kind : str
        The structure of the layer's Jacobian. ``"dense"`` is a full matrix.

    Examples
    --------
    >>> Layer(3, 2)
    Layer(n_in=3, n_out=2, kind='dense')
    """

    n_in: int
    n_out: int
    kind: str = "dense"

    def __post_init__(self) -> None:
        for name in ("n_in", "n_out"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                raise DimensionError(f"Layer {name} must be a positive int, got {value!r}")
            if value <= 0 or value > _INT64_MAX:
                raise DimensionError(f"Layer {name} must be a positive int, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.kind != "dense":
            raise DimensionError(f"unknown layer kind {self.kind!r}; valid kinds: 'dense'")

    @property
    def shape(self) -> tuple[int, int]:
        """The shape ``(n_out, n_in)`` of the layer's Jacobian."""
        return (self.n_out, self.n_in)


class Chain:
    """The shapes of a composition F = f_k o ... o f_1, i.e. of the product J_k ... J_1.

    Layer i (numbered 1..k in application order) maps R^{d_{i-1}} to R^{d_i}; its
    Jacobian J_i has shape ``(d_i, d_{i-1})`` and the full Jacobian has shape ``(d_k, d_0)``.
    A chain is immutable and stores its dims as one int64 array, so chains of millions of
    layers are cheap to hold.

    Parameters
    ----------
    layers : sequence of Layer
        The layers in application order; consecutive shapes must match.

    Raises
    ------
    ShapeError
        If layer i+1's input size differs from layer i's output size.
    DimensionError
        If there are no layers, or an entry is not a Layer.

    Examples
    --------
    >>> chain = Chain([Layer(784, 512), Layer(512, 10)])
    >>> chain.dims, len(chain)
    ((784, 512, 10), 2)
    >>> Chain.from_dims([784, 512, 10]) == chain
    True
    """

    __slots__ = ("_dims", "_dims_tuple")

    def __init__(self, layers: Sequence[Layer]) -> None:
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
            raise DimensionError(f"Chain expects a sequence of Layer, got {type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise DimensionError("a chain needs at least one layer")
        for position, layer in enumerate(layers, start=1):
            if not isinstance(layer, Layer):
                raise DimensionError(f"layer {position} is {type(layer).__name__}, not a Layer")
            if position > 1 and layer.n_in != layers[position - 2].n_out:
                raise ShapeError(
                    f"layer {position} takes inputs of size {layer.n_in} but layer "
                    f"{position - 1} produces outputs of size {layers[position - 2].n_out}"
                )
        self._set_dims(as_dims([layers[0].n_in] + [layer.n_out for layer in layers]))

    def _set_dims(self, dims: np.ndarray) -> None:
        object.__setattr__(self, "_dims", dims)
        object.__setattr__(self, "_dims_tuple", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Chain is immutable")

    @classmethod
    def from_dims(cls, dims: Any) -> Chain:
        """Build a chain of dense layers from ``dims = [d0, d1, ..., dk]``.

        Parameters
        ----------
        dims : sequence of int
            At least two positive ints.

        Returns
        -------
        Chain

        Raises
        ------
        DimensionError
            If ``dims`` is not a sequence of at least two positive ints.

        Examples
        --------
        >>> Chain.from_dims([1000, 10, 1000, 10, 1000])
        Chain.from_dims([1000, 10, 1000, 10, 1000])
        """
        chain = object.__new__(cls)
        chain._set_dims(as_dims(dims))
        return chain

    @property
    def dims(self) -> tuple[int, ...]:
        """The dims ``(d0, ..., dk)`` as a tuple of Python ints."""
        if self._dims_tuple is None:
            object.__setattr__(self, "_dims_tuple", tuple(self._dims.tolist()))
        return self._dims_tuple

    @property
    def dims_array(self) -> np.ndarray:
        """The dims as a read-only int64 array (no copy)."""
        return self._dims

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers in application order (built on demand)."""
        dims = self.dims
        return tuple(Layer(dims[i], dims[i + 1]) for i in range(len(dims) - 1))

    @property
    def shape(self) -> tuple[int, int]:
        """The shape ``(d_k, d_0)`` of the full Jacobian."""
        return (int(self._dims[-1]), int(self._dims[0]))

    def __len__(self) -> int:
        return int(self._dims.size) - 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Chain):
            return NotImplemented
        return bool(np.array_equal(self._dims, other._dims))

    def __hash__(self) -> int:
        return hash(self._dims.tobytes())

    def __repr__(self) -> str:
        dims = self._dims
        if dims.size <= _REPR_DIMS:
            shown = ", ".join(str(d) for d in dims.tolist())
        else:
            head = ", ".join(str(d) for d in dims[:5].tolist())
            tail = ", ".join(str(d) for d in dims[-5:].tolist())
            shown = f"{head}, ... ({dims.size - 10} more), {tail}"
        return f"Chain.from_dims([{shown}])"


def as_chain(chain_or_dims: Any) -> Chain:
    """Return ``chain_or_dims`` as a :class:`Chain` (dims are validated)."""
    if isinstance(chain_or_dims, Chain):
        return chain_or_dims
    return Chain.from_dims(chain_or_dims)
