"""One structural rule per ATen operation: the partial of an output with respect to an operand.

The PyTorch counterpart of :mod:`jacchain.jax.rules`, on the operations of a program
traced by :mod:`jacchain.torch.program` (composites already decomposed). A rule looks at
the operation (its name, non-tensor arguments and operand shapes) and returns an
:class:`~jacchain.programs.graph.Edge`: the symbolic partial, and how to compute its factor
from the operation's values with PyTorch operations.

=================================  ==================================================
operations                         structure of the partial
=================================  ==================================================
add, sub, rsub, neg, mul/div by    +-1 or a constant times a diagonal (broadcast
a number                           operands repeat), no factor
mul, div, tanh, exp, relu, gelu,   a diagonal with a factor: the derivative, from its
erf, sigmoid, where, ... (every    formula, or from one ``torch.func.jvp`` with a
elementwise operation)             tangent of ones
clone, alias, float conversions    identity
view, reshape, (un)squeeze,        deltas (size-1 axes relabelled), a constant 0/1
permute, transpose, expand         index map for other reshapes, broadcasts
sum, mean                          a sum (the reduced axes on the operand only)
amax, var_mean, prod, ...          a factor over the operand's axes
mm, bmm, mv, dot                   Kronecker: the other operand as the factor
select, slice, cat, split, pad,    selections: a constant 0/1 index map (free to
flip, roll                         compose with)
convolution, pooling, anything     matrix-free: JVPs and VJPs of the operation, priced
else                               by PyTorch's FLOP counter
=================================  ==================================================

Some operations have no forward-mode rule in PyTorch, or one whose derivative is wrong;
they are listed in :data:`NO_FORWARD_RULE`. Their partials never take a tangent sweep:
elementwise derivatives come from a VJP with ones, and matrix-free partials offer VJPs
only, so the planner routes the adjoint sweep through them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..programs import structures
from ..programs.graph import Edge, Op, Program, Values, registering
from ..programs.partials import Partial, fresh_labels
from ..programs.structures import (
    axis_blocks,
    contraction,
    elementwise_structure,
    permutation,
    placement,
    relabelled_reshape,
    reshape_blocks,
)
from .linear_operator import LinearOperator
from .program import TensorType, TorchOp

__all__ = ["RULES", "TORCH_RULES", "NO_FORWARD_RULE", "CONSTANT_OPERATIONS", "torch_rule",
           "rule_for", "sweep_cost"]

Rule = Callable[[TorchOp, int, int], Edge]
"""``rule(op, output_index, operand_index) -> Edge``."""

RULES: dict[str, Rule] = {}

CONSTANT_OPERATIONS = frozenset({
    "detach", "sign", "floor", "ceil", "round", "trunc", "zeros_like", "ones_like",
    "full_like", "empty_like", "rand_like", "randn_like", "randint_like", "bernoulli",
    "argmax", "argmin", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and",
    "logical_or", "isnan", "isinf", "isfinite", "sort_indices", "scalar_tensor",
})
"""Operations whose outputs carry no derivative."""

NO_FORWARD_RULE = frozenset({
    "_native_multi_head_attention", "_transformer_encoder_layer_fwd",
    "native_layer_norm", "_fused_rms_norm", "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_cudnn_attention", "embedding_bag", "_embedding_bag",
})
"""Operations whose forward-mode derivative PyTorch lacks or gets wrong (the fused attention
kernels have none; ``native_layer_norm``'s is not correctly differentiable in the
parameters). Tracing decomposes most of them; one that stays is swept in reverse only."""


def torch_rule(*names: str) -> Callable[[Rule], Rule]:
    """Register a rule for the ATen operations ``names`` (a decorator).

    Examples
    --------
    >>> @torch_rule("my_copy")
    ... def my_copy(op, output, operand):
    ...     return identity(op, output, operand)
    >>> rule_for("my_copy") is my_copy
    True
    >>> del RULES["my_copy"]
    """

    return registering(RULES, names)


def rule_for(name: str) -> Rule:
    """The rule of ATen operation ``name``; the matrix-free rule when it has none.

    Examples
    --------
    >>> rule_for("tanh") is RULES["tanh"], rule_for("convolution") is matrix_free
    (True, True)
    """
    return RULES.get(name, matrix_free)


class _TorchRules:
    """:class:`~jacchain.programs.graph.ProgramRules` for traced ATen operations."""

    def constant(self, op: Op) -> bool:
        eqn = op.eqn
        return eqn.name in CONSTANT_OPERATIONS or (
            eqn.name == "div" and eqn.kwargs.get("rounding_mode") is not None
        )

    def differentiable(self, aval: TensorType) -> bool:
        return aval.floating

    def edge(self, program: Program, op: Op, output: int, operand: int) -> Edge:
        return rule_for(op.eqn.name)(op.eqn, output, operand)


TORCH_RULES = _TorchRules()
"""The rules of this module, for :func:`jacchain.programs.graph.program_graph`."""


def _shapes(op: TorchOp, output: int, operand: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return op.outputs[output].shape, op.inputs[operand].shape


# --- elementwise -------------------------------------------------------------------------------


def _unit(op: TorchOp, output: int, operand: int, scale: float, arithmetic: bool = True) -> Edge:
    out_labels, in_labels, sizes = elementwise_structure(*_shapes(op, output, operand))
    return Edge(Partial(out_labels, in_labels, sizes, None, None, scale, arithmetic, True))


def _diagonal(op: TorchOp, output: int, operand: int, values: Values) -> Edge:
    out_shape, in_shape = _shapes(op, output, operand)
    out_labels, in_labels, sizes = elementwise_structure(out_shape, in_shape)

    def broadcast(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        return values(invals, outvals).expand(out_shape)

    return Edge(Partial(out_labels, in_labels, sizes, out_labels, None, 1.0, True, True), broadcast)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@torch_rule("add", "sub", "rsub")
def add(op: TorchOp, output: int, operand: int) -> Edge:
    """Sums and differences: +-1 (times ``alpha`` on the second term)."""
    alpha = _number(op.kwargs.get("alpha", 1)) or 1.0
    signs = {"add": (1.0, alpha), "sub": (1.0, -alpha), "rsub": (-alpha, 1.0)}[op.name]
    return _unit(op, output, operand, signs[operand] if op.overload == "Tensor" else signs[0])


@torch_rule("neg")
def neg(op: TorchOp, output: int, operand: int) -> Edge:
    """Negation: -1."""
    return _unit(op, output, operand, -1.0)


@torch_rule("mul", "div")
def mul(op: TorchOp, output: int, operand: int) -> Edge:
    """Products and quotients: the other factor (or a constant number) on a diagonal."""
    other = op.args[1 - operand] if len(op.args) > 1 else None
    if op.overload == "Scalar" or _number(other) is not None:
        number = _number(other)
        if number is not None and (op.name == "mul" or number != 0.0):
            return _unit(op, output, operand, number if op.name == "mul" else 1.0 / number)
    if op.name == "mul":
        return _diagonal(op, output, operand, lambda invals, outvals: invals[1 - operand])
    if operand == 0:
        return _diagonal(op, output, operand, lambda invals, outvals: 1.0 / invals[1])
    return _diagonal(op, output, operand, lambda invals, outvals: -outvals[0] / invals[1])


_DERIVATIVES: dict[str, Callable[[Any, Any, TorchOp], Any]] = {
    "tanh": lambda x, y, op: 1.0 - y * y,
    "sigmoid": lambda x, y, op: y * (1.0 - y),
    "exp": lambda x, y, op: y,
    "log": lambda x, y, op: 1.0 / x,
    "sqrt": lambda x, y, op: 0.5 / y,
    "rsqrt": lambda x, y, op: -0.5 * y * y * y,
    "reciprocal": lambda x, y, op: -y * y,
    "sin": lambda x, y, op: x.cos(),
    "cos": lambda x, y, op: -x.sin(),
    "erf": lambda x, y, op: (2.0 / math.sqrt(math.pi)) * (-x * x).exp(),
    "relu": lambda x, y, op: (x > 0).to(x.dtype),
    "abs": lambda x, y, op: x.sign(),
    "expm1": lambda x, y, op: y + 1.0,
    "log1p": lambda x, y, op: 1.0 / (1.0 + x),
}
"""Derivatives of one-operand elementwise operations from their operand and result."""


@torch_rule(*_DERIVATIVES)
def elementwise_formula(op: TorchOp, output: int, operand: int) -> Edge:
    """One-operand elementwise operations with a derivative formula."""
    derivative = _DERIVATIVES[op.name]
    return _diagonal(op, output, operand,
                     lambda invals, outvals: derivative(invals[0], outvals[0], op))


@torch_rule("pow")
def power(op: TorchOp, output: int, operand: int) -> Edge:
    """``x ** p`` for a number ``p``: ``p x ** (p - 1)``; other powers by a JVP."""
    exponent = _number(op.args[1]) if len(op.args) > 1 else None
    if op.overload != "Tensor_Scalar" or exponent is None:
        return elementwise(op, output, operand)
    if exponent == 1.0:
        return _unit(op, output, operand, 1.0)
    return _diagonal(op, output, operand,
                     lambda invals, outvals: exponent * invals[0] ** (exponent - 1.0))


@torch_rule("gelu")
def gelu(op: TorchOp, output: int, operand: int) -> Edge:
    """GELU: ``Phi(x) + x phi(x)`` (the tanh approximation by a JVP)."""
    if op.kwargs.get("approximate", "none") != "none":
        return elementwise(op, output, operand)

    def derivative(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        x = invals[0]
        cdf = 0.5 * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf())
        return cdf + x * (-0.5 * x * x).exp() * (1.0 / math.sqrt(2.0 * math.pi))

    return _diagonal(op, output, operand, derivative)


@torch_rule("where")
def where(op: TorchOp, output: int, operand: int) -> Edge:
    """``where(c, x, y)``: the mask on ``x``'s diagonal, its complement on ``y``'s."""
    chosen = operand == 1

    def mask(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        condition = invals[0]
        return (condition if chosen else ~condition).to(outvals[0].dtype)

    return _diagonal(op, output, operand, mask)


@torch_rule(
    "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "log2",
    "log10", "erfc", "erfinv", "lgamma", "digamma", "maximum", "minimum", "fmax", "fmin",
    "clamp", "clamp_min", "clamp_max", "hardtanh", "leaky_relu", "elu", "celu", "selu",
    "softplus", "silu", "mish", "hardsigmoid", "hardswish", "logit", "atan2", "remainder",
    "fmod", "xlogy", "copysign", "threshold", "rrelu_with_noise", "sgn", "square",
    "special_erfcx", "sinc", "frac", "lerp", "addcmul", "addcdiv", "hypot", "logaddexp",
)
def elementwise(op: TorchOp, output: int, operand: int) -> Edge:
    """Any elementwise operation: the diagonal from one forward-mode product with a tangent
    of ones (a reverse-mode one with ones for operations in :data:`NO_FORWARD_RULE`)."""
    import torch
    import torch.func as tf

    def derivative(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        function = _single_operand(op, output, operand, invals)
        x = invals[operand]
        if op.name in NO_FORWARD_RULE:  # a diagonal: the VJP of ones gives it too
            out, pullback = tf.vjp(function, x)
            return pullback(torch.ones_like(out))[0]
        return tf.jvp(function, (x,), (torch.ones_like(x),))[1]

    return _diagonal(op, output, operand, derivative)


@torch_rule("clone", "alias", "_to_copy", "contiguous", "lift_fresh_copy", "positive",
            "_conj", "resolve_conj", "resolve_neg", "dropout")
def identity(op: TorchOp, output: int, operand: int) -> Edge:
    """Copies and float-to-float conversions: the identity (data movement); eval-mode dropout."""
    if op.name == "dropout" and op.literal(2, "train", False):
        return matrix_free(op, output, operand)
    return _unit(op, output, operand, 1.0, arithmetic=False)


# --- data movement -----------------------------------------------------------------------------


@torch_rule("expand", "expand_copy", "broadcast_to")
def expand(op: TorchOp, output: int, operand: int) -> Edge:
    """A broadcast: deltas on the axes kept, the new and size-1 axes repeat."""
    return _unit(op, output, operand, 1.0, arithmetic=False)


@torch_rule("view", "_unsafe_view", "reshape", "view_copy", "unsqueeze", "squeeze", "flatten",
            "unflatten", "view_as")
def reshape(op: TorchOp, output: int, operand: int) -> Edge:
    """Reshapes: size-1 axes relabel; any other reshape is a constant 0/1 index map."""
    out_shape, in_shape = _shapes(op, output, operand)
    relabelled = relabelled_reshape(out_shape, in_shape)
    if relabelled is not None:
        return Edge(relabelled)
    return _index_map(op, output, operand, reshape_blocks(out_shape, in_shape))


@torch_rule("permute", "t", "transpose", "permute_copy", "numpy_T", "swapaxes")
def transpose(op: TorchOp, output: int, operand: int) -> Edge:
    """Permutations of the axes."""
    in_shape = op.inputs[operand].shape
    rank = len(in_shape)
    if op.name == "permute" or op.name == "permute_copy":
        order = [axis % rank for axis in op.args[1]]
    elif rank < 2:
        order = list(range(rank))
    else:
        first, second = (op.args[1], op.args[2]) if op.name != "t" else (0, 1)
        order = list(range(rank))
        order[first % rank], order[second % rank] = order[second % rank], order[first % rank]
    return Edge(permutation(in_shape, order))


def _index_map(op: TorchOp, output: int, operand: int, blocks: Sequence[structures.Block]) -> Edge:
    out_shape, in_shape = _shapes(op, output, operand)
    mapped = structures.index_map(out_shape, in_shape, blocks)
    if mapped is None:
        return matrix_free(op, output, operand)
    partial, constant = mapped
    if constant is None:
        return Edge(partial)
    import torch

    out = op.outputs[output]  # made once, here: a constant of the traced computation
    factor = torch.as_tensor(constant, dtype=out.dtype, device=out.device)
    return Edge(partial, lambda invals, outvals: factor)


def _targets(size: int, start: int, step: int = 1) -> Any:
    import numpy as np

    position = np.arange(size) - start
    return np.where(position % step == 0, position // step, -1)


@torch_rule("slice", "slice_copy")
def slice_rule(op: TorchOp, output: int, operand: int) -> Edge:
    """``x[start:end:step]`` along one axis."""
    out_shape, in_shape = _shapes(op, output, operand)
    axis = op.literal(1, "dim", 0) % max(1, len(in_shape))
    start = op.literal(2, "start", 0)
    start = 0 if start is None else start
    start = start + in_shape[axis] if start < 0 else min(start, in_shape[axis])
    step = op.literal(4, "step", 1)
    targets = {axis: _targets(in_shape[axis], start, step)}
    return _index_map(op, output, operand, axis_blocks(out_shape, in_shape, targets))


@torch_rule("select", "select_copy")
def select(op: TorchOp, output: int, operand: int) -> Edge:
    """``x[..., index, ...]``: one entry of an axis, the axis dropped."""
    in_shape = op.inputs[operand].shape
    axis = op.literal(1, "dim", 0) % len(in_shape)
    return select_like(op, output, operand, axis, op.literal(2, "index", 0) % in_shape[axis])


@torch_rule("cat", "concat")
def cat(op: TorchOp, output: int, operand: int) -> Edge:
    """Each operand lands in its own range of the concatenated axis."""
    import numpy as np

    out_shape, in_shape = _shapes(op, output, operand)
    axis = op.literal(1, "dim", 0) % len(out_shape)
    offset = sum(t.shape[axis] for t in op.inputs[:operand] if len(t.shape) == len(out_shape))
    targets = {axis: offset + np.arange(in_shape[axis])}
    return _index_map(op, output, operand, axis_blocks(out_shape, in_shape, targets))


@torch_rule("split_with_sizes", "split", "unbind", "chunk", "split_with_sizes_copy")
def split(op: TorchOp, output: int, operand: int) -> Edge:
    """Each output takes its own range of the split axis."""
    import numpy as np

    out_shape, in_shape = _shapes(op, output, operand)
    if op.name == "unbind":
        return select_like(op, output, operand, op.literal(1, "dim", 0), output)
    axis = op.literal(2, "dim", 0) % len(in_shape)
    offset = sum(t.shape[axis] for t in op.outputs[:output])
    targets = {axis: np.arange(in_shape[axis]) - offset}
    return _index_map(op, output, operand, axis_blocks(out_shape, in_shape, targets))


def select_like(op: TorchOp, output: int, operand: int, axis: int, index: int) -> Edge:
    """An output that is entry ``index`` of the operand's axis ``axis`` (the axis dropped)."""
    out_shape, in_shape = _shapes(op, output, operand)
    axis %= len(in_shape)
    kept = [a for a in range(len(in_shape)) if a != axis]
    blocks: list[structures.Block] = [([o], [i], None) for o, i in enumerate(kept)]
    blocks.append(([], [axis], placement(1, [0 if i == index else -1 for i in range(in_shape[axis])])))
    return _index_map(op, output, operand, blocks)


@torch_rule("constant_pad_nd")
def pad(op: TorchOp, output: int, operand: int) -> Edge:
    """Constant padding (negative pads crop): an embedding of the operand."""
    import numpy as np

    out_shape, in_shape = _shapes(op, output, operand)
    widths = list(op.args[1])
    targets = {}
    for pair in range(len(widths) // 2):
        axis = len(in_shape) - 1 - pair
        targets[axis] = widths[2 * pair] + np.arange(in_shape[axis])
    return _index_map(op, output, operand, axis_blocks(out_shape, in_shape, targets))


@torch_rule("flip")
def flip(op: TorchOp, output: int, operand: int) -> Edge:
    """A reversal of some axes: a permutation of entries."""
    import numpy as np

    shape = op.inputs[operand].shape
    targets = {axis % len(shape): np.arange(shape[axis])[::-1] for axis in op.args[1]}
    return _index_map(op, output, operand, axis_blocks(shape, shape, targets))


@torch_rule("roll")
def roll(op: TorchOp, output: int, operand: int) -> Edge:
    """A cyclic shift along some axes (none: the flattened tensor, as a reshape)."""
    import numpy as np

    shape = op.inputs[operand].shape
    shifts = list(op.args[1]) if isinstance(op.args[1], (list, tuple)) else [op.args[1]]
    dims = op.literal(2, "dims", [])
    dims = list(dims) if isinstance(dims, (list, tuple)) else [dims]
    if not dims:
        return matrix_free(op, output, operand)
    targets = {axis % len(shape): (np.arange(shape[axis]) + shift) % shape[axis]
               for shift, axis in zip(shifts, dims, strict=True)}
    return _index_map(op, output, operand, axis_blocks(shape, shape, targets))


# --- reductions --------------------------------------------------------------------------------


def _reduced_axes(op: TorchOp, operand: int) -> list[int]:
    rank = len(op.inputs[operand].shape)
    dims = op.literal(1, "dim", None)
    if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
        return list(range(rank))
    dims = dims if isinstance(dims, (list, tuple)) else [dims]
    return sorted({d % max(1, rank) for d in dims})


def _reduction_labels(op: TorchOp, output: int, operand: int, axes: Sequence[int]):
    """Labels of a reduction over ``axes``: deltas on the others (size-1 axes where kept)."""
    out_shape, in_shape = _shapes(op, output, operand)
    in_labels = fresh_labels(len(in_shape))
    sizes = dict(zip(in_labels, in_shape, strict=True))
    kept = [label for axis, label in enumerate(in_labels) if axis not in axes]
    if len(out_shape) == len(kept):
        return tuple(kept), in_labels, sizes
    out_labels = []
    for axis, label in enumerate(in_labels):  # keepdim: the reduced axes stay, of size 1
        if axis in axes:
            (fresh,) = fresh_labels(1)
            sizes[fresh] = 1
            out_labels.append(fresh)
        else:
            out_labels.append(label)
    return tuple(out_labels), in_labels, sizes


@torch_rule("sum", "mean")
def reduce_sum(op: TorchOp, output: int, operand: int) -> Edge:
    """Sums and means: the reduced axes appear on the operand only (a mean scales by 1/n)."""
    axes = _reduced_axes(op, operand)
    out_labels, in_labels, sizes = _reduction_labels(op, output, operand, axes)
    in_shape = op.inputs[operand].shape
    scale = 1.0 if op.name == "sum" else 1.0 / max(1, math.prod(in_shape[a] for a in axes))
    return Edge(Partial(out_labels, in_labels, sizes, None, None, scale, True, True))


@torch_rule("amax", "amin", "max", "min", "prod", "logsumexp", "norm", "linalg_vector_norm",
            "var", "std")
def reduction(op: TorchOp, output: int, operand: int) -> Edge:
    """Other reductions: a factor over the operand's axes (deltas on the kept axes), the
    gradient of each output entry, from one VJP with ones."""
    import torch
    import torch.func as tf

    if op.name in ("max", "min") and op.overload == "other":  # the elementwise max(x, y)
        return elementwise(op, output, operand)
    axes = _reduced_axes(op, operand)
    out_labels, in_labels, sizes = _reduction_labels(op, output, operand, axes)

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        out, pullback = tf.vjp(_single_operand(op, output, operand, invals), invals[operand])
        return pullback(torch.ones_like(out))[0]

    return Edge(Partial(out_labels, in_labels, sizes, in_labels, None, 1.0, True, True), values)


@torch_rule("var_mean")
def var_mean(op: TorchOp, output: int, operand: int) -> Edge:
    """``(var, mean)``: the mean's partial is a sum scaled by 1/n; the variance's a factor
    ``2 (x - mean) / (n - correction)`` over the operand's axes."""
    axes = _reduced_axes(op, operand)
    out_labels, in_labels, sizes = _reduction_labels(op, output, operand, axes)
    in_shape = op.inputs[operand].shape
    count = math.prod(in_shape[a] for a in axes)
    if output == 1:
        return Edge(Partial(out_labels, in_labels, sizes, None, None, 1.0 / max(1, count), True, True))
    correction = op.kwargs.get("correction", 1)
    correction = 1 if correction is None else correction
    if op.overload == "dim" and not op.literal(2, "unbiased", True):
        correction = 0

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        x = invals[operand]
        mean = x.mean(dim=axes, keepdim=True)
        return (2.0 / max(1, count - correction)) * (x - mean)

    return Edge(Partial(out_labels, in_labels, sizes, in_labels, None, 1.0, True, True), values)


# --- linear algebra ----------------------------------------------------------------------------

_CONTRACTIONS = {
    "mm": (([1], [0]), ([], [])),
    "bmm": (([2], [1]), ([0], [0])),
    "mv": (([1], [0]), ([], [])),
    "dot": (([0], [0]), ([], [])),
    "vdot": (([0], [0]), ([], [])),
}


@torch_rule(*_CONTRACTIONS)
def matmul(op: TorchOp, output: int, operand: int) -> Edge:
    """Matrix products: a Kronecker structure, the other operand as the factor."""
    contract, batch = _CONTRACTIONS[op.name]
    partial = contraction(op.inputs[0].shape, op.inputs[1].shape, contract, batch, operand)
    other = 1 - operand
    return Edge(partial, lambda invals, outvals: invals[other])


# --- matrix-free -------------------------------------------------------------------------------


def _single_operand(op: TorchOp, output: int, operand: int, invals: Sequence[Any]) -> Callable:
    """The operation's ``output`` as a function of its ``operand`` alone (others fixed)."""

    def function(x: Any) -> Any:
        args = list(invals)
        args[operand] = x
        out = op.call(args)
        return out[output] if op.multiple else out

    return function


def matrix_free(op: TorchOp, output: int, operand: int) -> Edge:
    """Any operation: a matrix-free partial, its JVPs and VJPs at the point (VJPs only for
    the operations of :data:`NO_FORWARD_RULE`), each sweep priced by :func:`sweep_cost`."""
    out_shape, in_shape = _shapes(op, output, operand)
    cost = sweep_cost(op, output)
    jvp = None if op.name in NO_FORWARD_RULE else cost

    def values(invals: Sequence[Any], outvals: Sequence[Any]) -> Any:
        return LinearOperator(_single_operand(op, output, operand, invals), invals[operand])

    return Edge(Partial.matrix_free(out_shape, in_shape, jvp, cost, symbolic=True), values)


_SWEEP_COSTS: dict[Any, int] = {}


def sweep_cost(op: TorchOp, output: int) -> int:
    """Multiply-adds of one JVP or VJP of an operation: PyTorch's FLOP count of the
    operation itself, halved (a multiply-add is two FLOPs), at least one per entry of its
    operands and output (operations the counter does not know, such as pooling, are
    priced by their entries).

    Examples
    --------
    >>> import torch
    >>> program, _ = _conv_example()
    >>> sweep_cost(program.ops[0].eqn, 0) >= 8 * 8 * 3 * 9
    True
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    key = (op.name, op.overload, repr(op.args), repr(sorted(op.kwargs.items())), op.inputs, output)
    if key in _SWEEP_COSTS:
        return _SWEEP_COSTS[key]
    entries = sum(math.prod(t.shape) for t in op.inputs) + math.prod(op.outputs[output].shape)
    metas = [torch.empty(t.shape, dtype=t.dtype, device="meta") for t in op.inputs]
    try:
        with FlopCounterMode(display=False) as counter:
            op.call(metas)
        flops = int(counter.get_total_flops())
    except Exception:  # no meta kernel: price by entries
        flops = 0
    cost = max(entries, math.ceil(flops / 2))
    _SWEEP_COSTS[key] = cost
    return cost


def _conv_example() -> Any:
    """A traced 3x3 convolution, for the examples."""
    import torch

    from .program import trace_program

    weight = torch.ones(8, 3, 3, 3)
    return trace_program(lambda x: [torch.nn.functional.conv2d(x, weight, padding=1)],
                         [torch.ones(1, 3, 8, 8)])
