"""Structured partial derivatives: a program's edge Jacobians kept in their structure.

The partial ``dv/du`` of an array ``v`` with respect to an array ``u`` is a tensor of shape
``v.shape + u.shape``. Most of its entries are zero, in patterns that the program's
operations fix: an elementwise operation gives a diagonal, a broadcast repeats, a reduction
sums, ``X @ W`` acts as ``W`` on each row of ``X`` (a Kronecker product with an identity),
a transpose permutes. A :class:`Partial` writes such a tensor in einsum notation: every
axis of ``v`` and of ``u`` carries a label; an axis of ``v`` and an axis of ``u`` that share
a label are tied by a Kronecker delta (a diagonal); the nonzero values are one factor array
over some of the labels (none: all ones), times a constant ``scale``::

    P[v-index, u-index] = scale * factor[factor labels] * (deltas of the shared labels)

Composition (the chain rule, ``dw/du = dw/dv @ dv/du``) unifies the labels of ``v`` and is
one ``einsum`` of the two factors, summing the labels of ``v`` that neither ``w`` nor ``u``
keeps; a sum of partials (two paths) keeps the deltas both terms share.

A *selection* partial (slices, pads, concatenations, reversals, reshapes) has a constant
0/1 factor that maps each entry of ``u`` to at most one entry of ``v`` and back (an injective
index map). Composing with it moves entries and multiplies nothing, so it costs nothing.

A *matrix-free* partial (control flow, primitives without a structural rule) has no factor
array: its value is a linear operator, the equation's JVP and VJP at the point (an object
with ``matmat``, ``rmatmat`` and ``dense(forward)``, from the front end:
:class:`jacchain.jax.linear_operator.LinearOperator`,
:class:`jacchain.torch.linear_operator.LinearOperator`). It is applied lazily: composed with
a neighbour, it runs one JVP per column of the partial below it or one VJP per row of the
partial above it, at the multiply-adds one sweep costs (``sweeps``); it is formed as a dense array only where that is
cheaper, or where it must be (a sum of paths, the final Jacobian).

Costs are scalar multiply-adds of these operations, with two conventions for partials that
are constants +-1 (``unit_partials``): ``"free"`` (the default: negations, additions,
copies and other data movement cost nothing) or ``"counted"`` (AlphaGrad's counting of
multiplications: every product of two arithmetic partials counts its scalar products, as
if each were a factor; sums of paths and data movement are free). With sums free, the
counted forward, reverse and Markowitz costs of RobotArm_6DOF, HumanHeartDipole,
PropaneCombustion and g equal AlphaGrad's published counts (``experiments/orders.py``).

Partials are *symbolic* while planning (labels and sizes only, no values) and carry arrays
when executed (JAX arrays from :mod:`jacchain.jax`, PyTorch tensors from
:mod:`jacchain.torch`, numpy arrays in the examples); the same algebra serves all.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Partial", "fresh_labels", "UNIT_PARTIALS"]

UNIT_PARTIALS = ("free", "counted")
"""The counting conventions for partials that are constants +-1."""

_LABELS = itertools.count()


def fresh_labels(count: int) -> tuple[int, ...]:
    """``count`` labels never used before.

    Examples
    --------
    >>> a, b = fresh_labels(2)
    >>> a != b
    True
    """
    return tuple(next(_LABELS) for _ in range(count))


@dataclass(frozen=True, eq=False)
class Partial:
    """A partial derivative dv/du in einsum form (see the module docstring).

    Attributes
    ----------
    out_labels, in_labels : tuple of int
        One label per axis of v and of u. Labels within one side are distinct; a label on
        both sides is a Kronecker delta (the two axes have the same size).
    sizes : dict
        ``{label: size}`` for every label.
    factor_labels : tuple of int or None
        The factor's axes, or None when there is no factor (all ones).
    value : array or None
        The factor, a JAX (or numpy) array with axes ``factor_labels``.
    scale : float
        A constant multiplier.
    arithmetic : bool
        A derivative that multiplies, as opposed to data movement (copies, transposes,
        broadcasts, selections): the ``"counted"`` convention counts only products of
        arithmetic partials.
    symbolic : bool
        Planning: labels and sizes only, no values.
    selection : bool
        The factor is a constant 0/1 index map, injective both ways (each entry of v comes
        from at most one entry of u, and each entry of u goes to at most one of v).
    sweeps : tuple or None
        Matrix-free: the multiply-adds of one JVP and of one VJP (None for a direction the
        equation does not have); the value is then a linear operator.
    reshape : bool
        A selection that is a row-major reshape of one group of axes (deltas on the others):
        composing with it reshapes the neighbour's factor instead of multiplying by the
        identity matrix its factor holds.
    """

    out_labels: tuple[int, ...]
    in_labels: tuple[int, ...]
    sizes: dict[int, int]
    factor_labels: tuple[int, ...] | None = None
    value: Any = None
    scale: float = 1.0
    arithmetic: bool = True
    symbolic: bool = False
    selection: bool = False
    sweeps: tuple[int | None, int | None] | None = None
    reshape: bool = False

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def identity(cls, shape: tuple[int, ...], scale: float = 1.0, arithmetic: bool = False,
                 symbolic: bool = False) -> Partial:
        """``scale`` times the identity on arrays of ``shape``: a delta on every axis.

        Examples
        --------
        >>> Partial.identity((2,), scale=-1.0).to_dense()
        array([[-1., -0.],
               [-0., -1.]])
        """
        labels = fresh_labels(len(shape))
        sizes = dict(zip(labels, shape, strict=True))
        return cls(labels, labels, sizes, None, None, scale, arithmetic, symbolic)

    @classmethod
    def matrix_free(cls, out_shape: tuple[int, ...], in_shape: tuple[int, ...], jvp: int | None,
                    vjp: int | None, value: Any = None,
                    symbolic: bool = False) -> Partial:
        """A matrix-free partial: applied by JVPs (``jvp`` multiply-adds each) or VJPs.

        Examples
        --------
        >>> p = Partial.matrix_free((2,), (3,), jvp=10, vjp=12, symbolic=True)
        >>> p.kind(), p.materialization_cost()
        ('matrix-free', 24)
        """
        if jvp is None and vjp is None:
            raise ValueError("a matrix-free partial needs a JVP or a VJP")
        dense = cls.dense(out_shape, in_shape, value, True, symbolic)
        return replace(dense, sweeps=(jvp, vjp))

    @classmethod
    def dense(cls, out_shape: tuple[int, ...], in_shape: tuple[int, ...], value: Any = None,
              arithmetic: bool = True, symbolic: bool = False) -> Partial:
        """A dense partial: a factor over every axis of v and of u.

        Examples
        --------
        >>> import numpy as np
        >>> Partial.dense((2,), (3,), np.arange(6.0).reshape(2, 3)).to_dense().shape
        (2, 3)
        """
        out_labels, in_labels = fresh_labels(len(out_shape)), fresh_labels(len(in_shape))
        labels = out_labels + in_labels
        sizes = dict(zip(labels, tuple(out_shape) + tuple(in_shape), strict=True))
        return cls(out_labels, in_labels, sizes, labels, value, 1.0, arithmetic, symbolic)

    def with_value(self, value: Any) -> Partial:
        """The same structure, with factor values (execution)."""
        return replace(self, value=value, symbolic=False)

    # --- shapes and names -------------------------------------------------------------------

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The shape of v."""
        return tuple(self.sizes[label] for label in self.out_labels)

    @property
    def in_shape(self) -> tuple[int, ...]:
        """The shape of u."""
        return tuple(self.sizes[label] for label in self.in_labels)

    def entries(self) -> int:
        """Entries of the dense tensor (size of v times size of u)."""
        return math.prod(self.out_shape) * math.prod(self.in_shape)

    def stored(self) -> int:
        """Entries kept: the factor's (1 when there is none)."""
        return _size(self.sizes, self.factor_labels or ())

    def kind(self) -> str:
        """A short name of the structure, for graphs and reports.

        ``"identity"`` (a delta on every axis of equal shapes, no factor), ``"diagonal"``
        (the same with a factor), ``"selection"`` (a constant 0/1 index map),
        ``"matrix-free"`` (a linear operator), ``"dense"``
        (no delta, a factor over every axis), else ``"structured"`` (broadcasts,
        reductions, Kronecker products).

        Examples
        --------
        >>> Partial.identity((3,)).kind(), Partial.dense((2,), (3,)).kind()
        ('identity', 'dense')
        """
        if self.selection:
            return "selection"
        if self.sweeps is not None:
            return "matrix-free"
        outs, ins = set(self.out_labels), set(self.in_labels)
        if outs == ins and len(self.out_labels) == len(self.in_labels):
            return "identity" if self.factor_labels is None else "diagonal"
        if not outs & ins and set(self.factor_labels or ()) == outs | ins:
            return "dense"
        return "structured"

    # --- algebra ----------------------------------------------------------------------------

    def relabeled(self) -> Partial:
        """The same partial with every label fresh (before combining it with another)."""
        labels = list(self.sizes)
        return self._renamed(dict(zip(labels, fresh_labels(len(labels)), strict=True)))

    def _renamed(self, mapping: dict[int, int]) -> Partial:
        def rename(labels: tuple[int, ...] | None) -> tuple[int, ...] | None:
            return None if labels is None else tuple(mapping.get(label, label) for label in labels)

        return replace(
            self,
            out_labels=rename(self.out_labels),
            in_labels=rename(self.in_labels),
            sizes={mapping.get(label, label): size for label, size in self.sizes.items()},
            factor_labels=rename(self.factor_labels),
        )

    def compose(self, lower: Partial, unit_partials: str = "free") -> tuple[Partial, int]:
        """``self @ lower`` (dw/dv times dv/du): the product and its cost in multiply-adds.

        Examples
        --------
        >>> import numpy as np
        >>> diag = Partial.identity((3,), arithmetic=True)
        >>> diag = Partial(diag.out_labels, diag.in_labels, diag.sizes, diag.out_labels,
        ...                np.arange(3.0))
        >>> product, cost = Partial.dense((2,), (3,), np.ones((2, 3))).compose(diag)
        >>> product.to_dense(), cost
        (array([[0., 1., 2.],
               [0., 1., 2.]]), 6)
        """
        if lower.out_shape != self.in_shape:
            raise ValueError(f"cannot compose dw/dv over {self.in_shape} with dv/du over {lower.out_shape}")
        if self.sweeps is not None or lower.sweeps is not None:
            return self._compose_matrix_free(lower, unit_partials)
        reshaped = _through_reshape(self, lower)
        if reshaped is not None:
            return reshaped, 0
        lower = lower.relabeled()
        lower = lower._renamed(dict(zip(lower.out_labels, self.in_labels, strict=True)))
        sizes = {**lower.sizes, **self.sizes}
        kept = set(self.out_labels) | set(lower.in_labels)
        summed = [label for label in self.in_labels if label not in kept]
        factors = [
            (labels, value)
            for labels, value in ((self.factor_labels, self.value), (lower.factor_labels, lower.value))
            if labels is not None
        ]
        in_factors = {label for labels, _ in factors for label in labels}
        scale = self.scale * lower.scale
        scale *= math.prod(sizes[label] for label in summed if label not in in_factors)
        symbolic = self.symbolic or lower.symbolic
        labels, value = None, None
        if factors:
            labels = tuple(label for label in dict.fromkeys(in_factors_order(factors)) if label in kept)
            if not symbolic:
                value = _einsum(factors, labels)
        selection = labels is not None and _injective(self) and _injective(lower)
        product = Partial(self.out_labels, lower.in_labels, sizes, labels, value, scale,
                          self.arithmetic or lower.arithmetic, symbolic, selection)
        return product._pruned(), self._compose_cost(lower, factors, summed, sizes, unit_partials)

    # --- matrix-free partials ----------------------------------------------------------------

    def materialization_cost(self) -> int:
        """Multiply-adds of forming a matrix-free partial as an array (0 for the others)."""
        return 0 if self.sweeps is None else self._cheaper_direction()[1]

    def _cheaper_direction(self) -> tuple[bool, int]:
        """(forward?, cost) of forming the array: one JVP per input entry or one VJP per
        output entry, whichever costs less (forward on ties)."""
        jvp, vjp = self.sweeps
        options = []
        if jvp is not None:
            options.append((jvp * math.prod(self.in_shape), 0, True))
        if vjp is not None:
            options.append((vjp * math.prod(self.out_shape), 1, False))
        cost, _, forward = min(options)
        return forward, cost

    def materialized(self) -> tuple[Partial, int]:
        """The partial with a matrix-free value formed as a dense array, and that cost.

        Examples
        --------
        >>> dense, cost = Partial.matrix_free((2,), (3,), 10, 12, symbolic=True).materialized()
        >>> dense.kind(), cost
        ('dense', 24)
        """
        if self.sweeps is None:
            return self, 0
        forward, cost = self._cheaper_direction()
        value = None if self.symbolic else self.value.dense(forward)
        return replace(self, value=value, sweeps=None), cost

    def _compose_matrix_free(self, lower: Partial, unit_partials: str) -> tuple[Partial, int]:
        """``self @ lower`` where one is matrix-free: the cheapest of applying the upper
        one's JVPs to the lower's columns, the lower one's VJPs to the upper's rows, or
        forming both and composing the arrays."""
        n_in, n_out = math.prod(lower.in_shape), math.prod(self.out_shape)
        options = []
        if self.sweeps is not None and self.sweeps[0] is not None:
            options.append((lower.materialization_cost() + n_in * self.sweeps[0], 0, "jvp"))
        if lower.sweeps is not None and lower.sweeps[1] is not None:
            options.append((self.materialization_cost() + n_out * lower.sweeps[1], 1, "vjp"))
        # costs from the structures alone: arrays are formed only for the option taken
        upper_shape, upper_cost = _symbolic(self).materialized()
        lower_shape, lower_cost = _symbolic(lower).materialized()
        _, arrays_cost = upper_shape.compose(lower_shape, unit_partials)
        options.append((upper_cost + lower_cost + arrays_cost, 2, "arrays"))
        cost, _, how = min(options)
        symbolic = self.symbolic or lower.symbolic
        if how == "arrays":
            product = self.materialized()[0].compose(lower.materialized()[0], unit_partials)[0]
            return product, cost
        value = None
        if not symbolic:
            if how == "jvp":
                columns = lower.to_dense().reshape(lower.out_shape + (n_in,))
                value = self.value.matmat(columns).reshape(self.out_shape + lower.in_shape)
            else:
                rows = self.to_dense().reshape((n_out,) + self.in_shape)
                value = lower.value.rmatmat(rows).reshape(self.out_shape + lower.in_shape)
        product = Partial.dense(self.out_shape, lower.in_shape, value, True, symbolic)
        return product, cost

    def _compose_cost(self, lower: Partial, factors, summed, sizes, unit_partials: str) -> int:
        if unit_partials == "counted":
            if not (self.arithmetic and lower.arithmetic):
                return 0
            labels: set[int] = set()
            for partial in (self, lower):
                labels |= set(partial.factor_labels) if partial.factor_labels is not None else (
                    set(partial.out_labels) | set(partial.in_labels)
                )
            return _size(sizes, labels)
        if self.selection or lower.selection:
            return 0  # an index map moves entries: each result entry is at most one product
        if len(factors) == 2:
            return _size(sizes, set(factors[0][0]) | set(factors[1][0]))
        if len(factors) == 1 and set(summed) & set(factors[0][0]):
            return _size(sizes, factors[0][0])  # a sum over some of the factor's axes
        return 0

    def _pruned(self) -> Partial:
        used = set(self.out_labels) | set(self.in_labels) | set(self.factor_labels or ())
        return replace(self, sizes={label: self.sizes[label] for label in used})

    def add(self, other: Partial, unit_partials: str = "free") -> tuple[Partial, int]:
        """``self + other`` (two paths between the same arrays): the sum and its cost.

        The sum keeps the deltas both terms share; every other axis joins its factor.

        Examples
        --------
        >>> import numpy as np
        >>> total, cost = Partial.identity((2,)).add(Partial.dense((2,), (2,), np.ones((2, 2))))
        >>> total.to_dense(), cost
        (array([[2., 1.],
               [1., 2.]]), 4)
        """
        if other.out_shape != self.out_shape or other.in_shape != self.in_shape:
            raise ValueError("cannot add partials of different shapes")
        if self.sweeps is not None or other.sweeps is not None:
            (first, first_cost), (second, second_cost) = self.materialized(), other.materialized()
            total, cost = first.add(second, unit_partials)
            return total, first_cost + second_cost + cost
        keep = _delta_pairs(self) & _delta_pairs(other)
        out_labels, in_labels, sizes, factor_labels = _join(self, keep)
        symbolic = self.symbolic or other.symbolic
        value = None
        if not symbolic:
            dtype = _dtype(self.value) or _dtype(other.value)
            like = self.value if self.value is not None else other.value
            first = _laid_out(self, out_labels, in_labels, sizes, factor_labels, dtype, like)
            second = _laid_out(other, out_labels, in_labels, sizes, factor_labels, dtype, like)
            value = _scaled(first, self.scale) + _scaled(second, other.scale)
        arithmetic = self.arithmetic or other.arithmetic
        total = Partial(out_labels, in_labels, sizes, factor_labels, value, 1.0, arithmetic, symbolic)
        cost = _size(sizes, factor_labels)
        return total, (0 if unit_partials == "counted" else cost)  # AlphaGrad counts products

    # --- values -----------------------------------------------------------------------------

    def to_dense(self, dtype: Any = None, like: Any = None) -> Any:
        """The tensor itself, of shape ``v.shape + u.shape`` (identities in ``dtype``, in the
        array module of ``like`` when the partial has no value: numpy by default).

        Examples
        --------
        >>> import numpy as np
        >>> Partial.dense((1,), (2,), np.array([[3.0, 4.0]])).to_dense()
        array([[3., 4.]])
        """
        if self.sweeps is not None:
            return self.materialized()[0].to_dense(dtype, like)
        out_labels, in_labels, sizes, _ = _join(self, set())
        dense = _laid_out(self, out_labels, in_labels, sizes, out_labels + in_labels, dtype, like)
        return _scaled(dense, self.scale)


def _through_reshape(upper: Partial, lower: Partial) -> Partial | None:
    """``upper @ lower`` where one of them is a reshape (:attr:`Partial.reshape`) and the
    other's factor spans the reshaped axes without deltas on them: the other's factor,
    reshaped (moves no entry, costs nothing); None otherwise."""
    if lower.reshape and not upper.reshape:
        return _reshaped_side(upper, lower, above=False)
    if upper.reshape and not lower.reshape:
        return _reshaped_side(lower, upper, above=True)
    return None


def _reshaped_side(other: Partial, reshape: Partial, above: bool) -> Partial | None:
    """``other`` with its axes on the reshape's near side replaced by the far side's.

    ``above=False``: ``other @ reshape`` (the reshape feeds ``other``'s input); ``above=True``:
    ``reshape @ other`` (the reshape takes ``other``'s output)."""
    near = reshape.out_labels if not above else reshape.in_labels  # the shared vertex
    far = reshape.in_labels if not above else reshape.out_labels
    mine = other.in_labels if not above else other.out_labels  # the shared vertex, in other
    kept = other.out_labels if not above else other.in_labels
    if other.factor_labels is None or len(mine) != len(near):
        return None
    group = [p for p, label in enumerate(near) if label not in far]
    moved = [mine[p] for p in group]
    factor = list(other.factor_labels)
    if not moved or any(label in kept for label in moved) or not set(moved) <= set(factor):
        return None
    along = {label: mine[p] for p, label in enumerate(near) if label in far}
    fresh = iter(fresh_labels(len(far)))
    new_side, new_group, sizes = [], [], dict(other.sizes)
    for label in far:
        if label in along:
            new_side.append(along[label])
        else:
            made = next(fresh)
            sizes[made] = reshape.sizes[label]
            new_side.append(made)
            new_group.append(made)
    # the factor with the moved axes together, in the near side's order, then reshaped
    first = min(factor.index(label) for label in moved)
    rest = [label for label in factor if label not in moved]
    order = rest[:first] + moved + rest[first:]
    value = other.value
    if value is not None:
        xp = _namespace(value)
        value = xp.asarray(value)
        permutation = [factor.index(label) for label in order]
        if permutation != list(range(len(permutation))):
            value = xp.transpose(value, permutation)
        shape = ([other.sizes[label] for label in rest[:first]]
                 + [sizes[label] for label in new_group]
                 + [other.sizes[label] for label in rest[first:]])
        value = xp.reshape(value, tuple(shape))
    factor_labels = tuple(rest[:first] + new_group + rest[first:])
    for label in moved:
        del sizes[label]
    out_labels, in_labels = (kept, tuple(new_side)) if not above else (tuple(new_side), kept)
    return replace(other, out_labels=tuple(out_labels), in_labels=tuple(in_labels), sizes=sizes,
                   factor_labels=factor_labels, value=value, reshape=False)


def _symbolic(partial: Partial) -> Partial:
    return replace(partial, value=None, symbolic=True)


def _injective(partial: Partial) -> bool:
    """Each entry of u reaches at most one entry of v and back: a selection, or deltas only."""
    if partial.selection:
        return True
    if partial.factor_labels is not None:
        return False
    unshared = set(partial.out_labels) ^ set(partial.in_labels)
    return all(partial.sizes[label] == 1 for label in unshared)


def _scaled(value: Any, scale: float) -> Any:
    if scale == 1.0:
        return value
    return -value if scale == -1.0 else scale * value


def in_factors_order(factors) -> list[int]:
    """The labels of the factors, in order of first appearance."""
    return [label for labels, _ in factors for label in labels]


def _delta_pairs(partial: Partial) -> set[tuple[int, int]]:
    """The positions (v axis, u axis) tied by a delta."""
    positions = {label: index for index, label in enumerate(partial.out_labels)}
    return {
        (positions[label], index)
        for index, label in enumerate(partial.in_labels)
        if label in positions
    }


def _join(partial: Partial, keep: set[tuple[int, int]]):
    """Fresh labels for v and u where only the deltas in ``keep`` tie axes; the factor covers all."""
    out_labels = list(fresh_labels(len(partial.out_labels)))
    in_labels = list(fresh_labels(len(partial.in_labels)))
    for out_index, in_index in keep:
        in_labels[in_index] = out_labels[out_index]
    sizes = dict(zip(out_labels + in_labels, partial.out_shape + partial.in_shape, strict=True))
    factor_labels = tuple(dict.fromkeys(out_labels + in_labels))
    return tuple(out_labels), tuple(in_labels), sizes, factor_labels


def _laid_out(partial: Partial, out_labels, in_labels, sizes, factor_labels, dtype=None,
              like: Any = None) -> Any:
    """The values of ``partial`` (without its scale) over ``factor_labels`` of a joined structure.

    Each axis of ``partial`` maps by position to the target's; a delta of ``partial`` that the
    target does not keep becomes an identity matrix between its two target labels. Arrays
    made from nothing (identities, ones) take the array module of ``like`` when ``partial``
    has no value.
    """
    xp = _namespace(partial.value if partial.value is not None else like)
    dtype = _dtype(partial.value) or dtype
    target = {}
    for label, mapped in zip(partial.out_labels + partial.in_labels, out_labels + in_labels,
                             strict=True):
        target.setdefault(label, mapped)
    factors = []
    if partial.factor_labels is not None:
        factors.append((tuple(target[label] for label in partial.factor_labels), partial.value))
    positions = {label: index for index, label in enumerate(partial.out_labels)}
    for index, label in enumerate(partial.in_labels):
        if label in positions:
            a, b = out_labels[positions[label]], in_labels[index]
            if a != b:
                factors.append(((a, b), xp.eye(sizes[a], dtype=dtype)))
    present = list(dict.fromkeys(in_factors_order(factors)))
    if factors:
        value = _einsum(factors, tuple(present))
    else:
        value = xp.ones((), dtype=dtype)
    return _broadcast_to_labels(value, present, factor_labels, sizes, xp)


def _size(sizes: dict[int, int], labels) -> int:
    return math.prod(sizes[label] for label in labels)


def _dtype(value: Any) -> Any:
    return getattr(value, "dtype", None)


def _namespace(value: Any):
    """The array module of ``value``: numpy for numpy arrays (and for no value at all),
    a thin adapter for PyTorch tensors, else jax.numpy."""
    module = type(value).__module__
    if value is None or module.startswith("numpy"):
        import numpy

        return numpy
    if module.startswith("torch"):
        return _TorchNamespace(value.device, value.dtype)
    import jax.numpy as jnp

    return jnp


class _TorchNamespace:
    """The few array functions the algebra uses, for PyTorch tensors on one device (numpy
    operands, such as constant index maps, are converted)."""

    def __init__(self, device: Any, dtype: Any) -> None:
        self.device, self.dtype = device, dtype

    def _tensor(self, value: Any) -> Any:
        import torch

        if isinstance(value, torch.Tensor):
            return value
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    def asarray(self, value: Any) -> Any:
        return self._tensor(value)

    def einsum(self, spec: str, *operands: Any) -> Any:
        import torch

        return torch.einsum(spec, *(self._tensor(x) for x in operands))

    def transpose(self, value: Any, order: Any) -> Any:
        return self._tensor(value).permute(*order)

    def reshape(self, value: Any, shape: Any) -> Any:
        return self._tensor(value).reshape(shape)

    def broadcast_to(self, value: Any, shape: Any) -> Any:
        return self._tensor(value).expand(shape)

    def eye(self, size: int, dtype: Any = None) -> Any:
        import torch

        return torch.eye(size, dtype=dtype, device=self.device)

    def ones(self, shape: Any, dtype: Any = None) -> Any:
        import torch

        return torch.ones(shape, dtype=dtype, device=self.device)


def _letters(labels) -> dict[int, str]:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    unique = list(dict.fromkeys(labels))
    if len(unique) > len(alphabet):
        raise ValueError(f"too many axes in one product ({len(unique)})")
    return dict(zip(unique, alphabet, strict=False))


def _einsum(factors, result_labels) -> Any:
    """einsum of ``(labels, value)`` factors into ``result_labels``.

    Without a summed label the product is elementwise: broadcast multiplications, which
    XLA fuses, instead of a ``dot_general``.
    """
    if len(factors) == 1 and tuple(factors[0][0]) == tuple(result_labels):
        return factors[0][1]
    if set(in_factors_order(factors)) == set(result_labels):
        xp = _namespace(next((v for _, v in factors if not _is_eye_numpy(v)), factors[0][1]))
        sizes = {}
        for labels, value in factors:
            sizes.update(zip(labels, value.shape, strict=True))
        product = None
        for labels, value in factors:
            term = _aligned(value, labels, result_labels, xp)
            product = term if product is None else product * term
        return xp.broadcast_to(product, tuple(sizes[label] for label in result_labels))
    letters = _letters(in_factors_order(factors) + list(result_labels))
    spec = ",".join("".join(letters[label] for label in labels) for labels, _ in factors)
    spec += "->" + "".join(letters[label] for label in result_labels)
    xp = _namespace(next((value for _, value in factors if not _is_eye_numpy(value)), factors[0][1]))
    return xp.einsum(spec, *(value for _, value in factors))


def _is_eye_numpy(value: Any) -> bool:
    return type(value).__module__.startswith("numpy")


def _aligned(value, labels, target, xp):
    """``value`` (axes ``labels``) transposed to ``target``'s order, size-1 axes for the rest."""
    value = xp.asarray(value)
    labels = list(labels)
    order = sorted(range(len(labels)), key=lambda axis: target.index(labels[axis]))
    if order != list(range(len(order))):
        value = xp.transpose(value, order)
        labels = [labels[axis] for axis in order]
    if len(labels) == len(target):
        return value
    shape = [1] * len(target)
    for label, size in zip(labels, value.shape, strict=True):
        shape[list(target).index(label)] = size
    return xp.reshape(value, tuple(shape))


def _broadcast_to_labels(value, labels, target, sizes, xp):
    """``value`` (axes ``labels``) broadcast and transposed to axes ``target``."""
    labels = list(labels)
    missing = [label for label in target if label not in labels]
    if missing:
        value = xp.reshape(value, tuple(value.shape) + (1,) * len(missing))
        labels = labels + missing
    order = [labels.index(label) for label in target]
    if order != list(range(len(order))):
        value = xp.transpose(value, order)
    return xp.broadcast_to(value, tuple(sizes[label] for label in target))
