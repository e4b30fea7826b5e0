"""The chain and its layers: shapes of J_k ... J_1, validated once, stored compactly."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DimensionError, LayerError, ShapeError, shown
from .hooks import Hooks

__all__ = ["Layer", "Chain", "as_dims", "as_chain", "KINDS", "HOOKS"]

HOOKS = Hooks("jacchain.Chain")
"""Implementations from higher floors: ``"from_graph"`` (registered by jacchain.graphs)."""

_INT64_MAX = np.iinfo(np.int64).max
_REPR_DIMS = 12


def _dim_error(position: int, value: Any) -> DimensionError:
    integer = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if integer and int(value) > _INT64_MAX:
        return DimensionError(
            f"dims[{position}] = {shown(value)} is too large: a dimension must be at most "
            "2**63 - 1"
        )
    return DimensionError(
        f"dims[{position}] = {shown(value)} is not a positive int: every dimension must be an "
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
        If ``dims`` is not an ordered sequence (a dict or a set is refused) of at least two
        positive ints that fit in int64.

    Examples
    --------
    >>> as_dims([784, 512, 10]).tolist()
    [784, 512, 10]
    """
    if dims is None or isinstance(dims, (str, bytes)) or not isinstance(dims, Iterable):
        raise DimensionError(
            f"dims must be a sequence of at least two positive ints [d0, d1, ..., dk], "
            f"got {type(dims).__name__} {shown(dims)}"
        )
    if isinstance(dims, (Mapping, Set)):
        raise DimensionError(
            f"dims must be an ordered sequence [d0, d1, ..., dk], got a {type(dims).__name__} "
            "(a mapping's keys or a set's order are not the order of the layers)"
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


KINDS = ("dense", "diagonal", "identity", "sparse", "matrix-free")
"""The layer kinds, from the most general explicit Jacobian to one given only by products."""

EXPLICIT_KINDS = ("dense", "diagonal", "identity", "sparse")
_PARAMETERS = ("nnz", "edges", "jvp_cost", "vjp_cost", "tape")


def _check_count(owner: str, name: str, value: Any, *, positive: bool) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise LayerError(f"{owner} {name} must be an int, got {shown(value)}")
    value = int(value)
    if value > _INT64_MAX:
        raise LayerError(f"{owner} {name} must be at most 2**63 - 1, got {shown(value)}")
    if value < (1 if positive else 0):
        raise LayerError(
            f"{owner} {name} must be {'>= 1' if positive else '>= 0'}, got {shown(value)}"
        )
    return value


@dataclass(frozen=True)
class Layer:
    """One layer of a chain: a map from R^n_in to R^n_out whose Jacobian has shape (n_out, n_in).

    Parameters
    ----------
    n_in, n_out : int
        Input and output sizes (positive ints).
    kind : str
        The structure of the layer's Jacobian:

        - ``"dense"``: a full matrix;
        - ``"diagonal"``: square, given by its diagonal (elementwise functions);
        - ``"identity"``: square, the identity (pass-throughs);
        - ``"sparse"``: with ``nnz`` stored entries;
        - ``"matrix-free"``: only Jacobian-vector and vector-Jacobian products; one
          tangent (or adjoint) sweep costs ``jvp_cost`` (or ``vjp_cost``) per direction,
          both ``edges`` by default, and an adjoint sweep records ``tape`` (default
          ``edges``, else ``vjp_cost``) units of memory.
    nnz, edges, jvp_cost, vjp_cost, tape : int, optional
        The parameters of sparse and matrix-free layers (see ``kind``).

    Raises
    ------
    DimensionError
        If a size is not a positive int.
    LayerError
        For an unknown kind, a non-square diagonal or identity, a missing or invalid
        ``nnz``/``edges``, or a parameter given to a kind that has no use for it.

    Examples
    --------
    >>> Layer(3, 2)
    Layer(n_in=3, n_out=2, kind='dense')
    >>> Layer(5, 5, "diagonal").tangent_cost
    5
    >>> Layer(3, 3, "matrix-free", edges=29).accumulation_cost
    87
    """

    n_in: int
    n_out: int
    kind: str = "dense"
    nnz: int | None = None
    edges: int | None = None
    jvp_cost: int | None = None
    vjp_cost: int | None = None
    tape: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_in", "n_out"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                raise DimensionError(f"Layer {name} must be a positive int, got {shown(value)}")
            if value <= 0 or value > _INT64_MAX:
                raise DimensionError(
                    f"Layer {name} must be a positive int of at most 2**63 - 1, got {shown(value)}"
                )
            object.__setattr__(self, name, int(value))
        if self.kind not in KINDS:
            raise LayerError(
                f"unknown layer kind {shown(self.kind)}; valid kinds: {', '.join(map(repr, KINDS))}"
            )
        given = {name for name in _PARAMETERS if getattr(self, name) is not None}
        allowed = {"sparse": {"nnz"}, "matrix-free": set(_PARAMETERS) - {"nnz"}}.get(
            self.kind, set()
        )
        if given - allowed:
            raise LayerError(f"a {self.kind} layer takes no {', '.join(sorted(given - allowed))}")
        if self.kind in ("diagonal", "identity") and self.n_in != self.n_out:
            raise LayerError(f"a {self.kind} layer must be square, got {self.n_out}x{self.n_in}")
        if self.kind == "sparse":
            if self.nnz is None:
                raise LayerError("a sparse layer needs nnz= (its number of stored entries)")
            nnz = _check_count("sparse layer", "nnz", self.nnz, positive=False)
            if nnz > self.n_in * self.n_out:
                raise LayerError(
                    f"nnz={shown(nnz)} exceeds the {self.n_out}x{self.n_in} = "
                    f"{self.n_in * self.n_out} entries of the layer"
                )
            object.__setattr__(self, "nnz", nnz)
        if self.kind == "matrix-free":
            self._resolve_matrix_free()

    def _resolve_matrix_free(self) -> None:
        owner = "matrix-free layer"
        values = {
            name: _check_count(owner, name, getattr(self, name), positive=False)
            for name in ("edges", "jvp_cost", "vjp_cost", "tape")
            if getattr(self, name) is not None
        }
        edges = values.get("edges")
        if edges is None and ("jvp_cost" not in values or "vjp_cost" not in values):
            raise LayerError("a matrix-free layer needs edges=E, or both jvp_cost= and vjp_cost=")
        for name in ("jvp_cost", "vjp_cost"):
            object.__setattr__(self, name, values.get(name, edges))
        object.__setattr__(
            self, "tape", values.get("tape", edges if edges is not None else self.vjp_cost)
        )
        if edges is not None:
            object.__setattr__(self, "edges", edges)

    def __repr__(self) -> str:
        extras = "".join(
            f", {name}={getattr(self, name)}"
            for name in _PARAMETERS
            if getattr(self, name) is not None
        )
        return f"Layer(n_in={self.n_in}, n_out={self.n_out}, kind={self.kind!r}{extras})"

    @property
    def shape(self) -> tuple[int, int]:
        """The shape ``(n_out, n_in)`` of the layer's Jacobian."""
        return (self.n_out, self.n_in)

    @property
    def is_explicit(self) -> bool:
        """True unless the layer is matrix-free."""
        return self.kind != "matrix-free"

    @property
    def tangent_cost(self) -> int:
        """Multiply-adds of one tangent sweep (J v) through the layer, per direction."""
        return self._sweep_cost(self.jvp_cost)

    @property
    def adjoint_cost(self) -> int:
        """Multiply-adds of one adjoint sweep (J^T u) through the layer, per direction."""
        return self._sweep_cost(self.vjp_cost)

    def _sweep_cost(self, matrix_free_cost: int | None) -> int:
        if self.kind == "dense":
            return self.n_in * self.n_out
        if self.kind == "diagonal":
            return self.n_in
        if self.kind == "identity":
            return 0
        if self.kind == "sparse":
            return int(self.nnz)
        return int(matrix_free_cost)

    @property
    def accumulation_cost(self) -> int:
        """Cost of forming the Jacobian: 0 if explicit, else the cheaper sweep direction."""
        if self.is_explicit:
            return 0
        return min(self.n_in * self.tangent_cost, self.n_out * self.adjoint_cost)

    @property
    def tape_size(self) -> int:
        """Memory an adjoint sweep through the layer records (0 for explicit layers)."""
        return 0 if self.is_explicit else int(self.tape)


class Chain:
    """The layers of a composition F = f_k o ... o f_1, i.e. of the product J_k ... J_1.

    Layer i (numbered 1..k in application order) maps R^{d_{i-1}} to R^{d_i}; its
    Jacobian J_i has shape ``(d_i, d_{i-1})`` and the full Jacobian has shape ``(d_k, d_0)``.
    A chain is immutable. A chain of dense layers stores only its dims, as one int64 array,
    so chains of millions of layers are cheap to hold.

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
    >>> Chain([Layer(4, 4, "diagonal"), Layer(4, 2)]).is_dense
    False
    """

    __slots__ = ("_dims", "_dims_tuple", "_layers", "_cache")

    def __init__(self, layers: Sequence[Layer]) -> None:
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
            raise DimensionError(f"Chain expects a sequence of Layer, got {type(layers).__name__}")
        layers = tuple(layers)
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
        dense = all(layer == Layer(layer.n_in, layer.n_out) for layer in layers)
        self._set(
            as_dims([layers[0].n_in] + [layer.n_out for layer in layers]),
            None if dense else layers,
        )

    def _set(self, dims: np.ndarray, layers: tuple[Layer, ...] | None) -> None:
        object.__setattr__(self, "_dims", dims)
        object.__setattr__(self, "_dims_tuple", None)
        object.__setattr__(self, "_layers", layers)
        object.__setattr__(self, "_cache", {})

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
        chain._set(as_dims(dims), None)
        return chain

    @classmethod
    def from_graph(cls, graph: Any, inputs: Any = None, outputs: Any = None) -> Chain:
        """The chain of graph layers of a computational graph (a ``networkx.DiGraph``).

        The graph is cut into frontiers (the variables alive between consecutive levels)
        and each layer is the block-structured Jacobian between two frontiers; see
        :func:`jacchain.graphs.graph.graph_layers` for the layering and the layer kinds.

        Parameters
        ----------
        graph : networkx.DiGraph
            Nodes with ``size``; edges with ``jacobian`` and/or ``kind``.
        inputs, outputs : list of nodes, optional
            Default: the sources and the sinks.

        Returns
        -------
        Chain

        Raises
        ------
        GraphError
            For an invalid graph, inputs or outputs.

        Examples
        --------
        >>> import networkx as nx
        >>> G = nx.DiGraph([("x", "h"), ("h", "y")])
        >>> nx.set_node_attributes(G, {"x": 784, "h": 512, "y": 10}, "size")
        >>> Chain.from_graph(G)
        Chain.from_dims([784, 512, 10])
        """
        return HOOKS("from_graph")(graph, inputs, outputs)

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
    def is_dense(self) -> bool:
        """True when every layer is a plain dense Jacobian (the classic matrix chain)."""
        return self._layers is None

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers in application order (built on demand for dense chains)."""
        if self._layers is not None:
            return self._layers
        dims = self.dims
        return tuple(Layer(dims[i], dims[i + 1]) for i in range(len(dims) - 1))

    @property
    def shape(self) -> tuple[int, int]:
        """The shape ``(d_k, d_0)`` of the full Jacobian."""
        return (int(self._dims[-1]), int(self._dims[0]))

    def cached(self, key: str, compute: Any) -> Any:
        """``compute(self)``, computed once per chain (for derived cost tables)."""
        if key not in self._cache:
            self._cache[key] = compute(self)
        return self._cache[key]

    def __len__(self) -> int:
        return int(self._dims.size) - 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Chain):
            return NotImplemented
        return bool(np.array_equal(self._dims, other._dims)) and self._layers == other._layers

    def __hash__(self) -> int:
        return hash((self._dims.tobytes(), self._layers))

    def __repr__(self) -> str:
        if self._layers is not None:
            if len(self._layers) <= _REPR_DIMS:
                return f"Chain({list(self._layers)!r})"
            shown = ", ".join(repr(layer) for layer in self._layers[:3])
            return f"Chain([{shown}, ... ({len(self._layers) - 3} more)])"
        dims = self._dims
        if dims.size <= _REPR_DIMS:
            shown = ", ".join(str(d) for d in dims.tolist())
        else:
            head = ", ".join(str(d) for d in dims[:5].tolist())
            tail = ", ".join(str(d) for d in dims[-5:].tolist())
            shown = f"{head}, ... ({dims.size - 10} more), {tail}"
        return f"Chain.from_dims([{shown}])"


def as_chain(chain_or_dims: Any) -> Chain:
    """Return ``chain_or_dims`` as a :class:`Chain` (dims are validated).

    Examples
    --------
    >>> as_chain([3, 4, 5]) == Chain.from_dims([3, 4, 5])
    True
    """
    if isinstance(chain_or_dims, Chain):
        return chain_or_dims
    return Chain.from_dims(chain_or_dims)
