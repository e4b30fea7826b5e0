"""Independent oracles: plain Python, slow, obviously correct, exact at any size.

Nothing here imports jacchain. The cost model is written out again from the README and the
docstring of ``jacchain/cost.py``, so that a test comparing jacchain with an oracle compares
two separate implementations, never the library with itself:

- :func:`textbook_dp_cost`: the O(k^3) matrix-chain recurrence over Python ints;
- :func:`bracketings` / :func:`brute_force_cost`: every bracketing, costed a*b*c;
- :func:`bracketing_cost`: checks that a step array is a bracketing and costs it;
- :func:`generalized_optimum`: Naumann's generalized chain (structured layers, tangent and
  adjoint sweeps, memory limit), by recursion over segments;
- :func:`generalized_plans` / :func:`plan_cost`: every generalized plan, and the cost and
  tape of any step array, checked step by step;
- :func:`forward_mode_cost` / :func:`reverse_mode_cost`: the pure modes, layer by layer;
- :func:`evaluate_steps`: runs a step array on dense matrices;
- :func:`planned_directions`: the sweep directions a step array asks of each layer.

A chain is a list of :class:`Spec` (see :func:`spec_of`); a step array has rows
``(op, lo, split, hi)`` with the op codes below (the documented plan format).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

PRODUCT, TANGENT, ADJOINT, ACCUMULATE_TANGENT, ACCUMULATE_ADJOINT = 0, 1, 2, 3, 4
SWEEPS = (TANGENT, ADJOINT)
ACCUMULATIONS = (ACCUMULATE_TANGENT, ACCUMULATE_ADJOINT)


class Spec(NamedTuple):
    """One layer as plain data: ``jvp``, ``vjp`` and ``tape`` matter for matrix-free layers."""

    kind: str
    n_in: int
    n_out: int
    nnz: int = 0
    jvp: int = 0
    vjp: int = 0
    tape: int = 0


def spec_of(chain_or_dims: Any) -> list[Spec]:
    """Plain layer specs from dims (dense layers) or from a chain's layers' own fields."""
    if not hasattr(chain_or_dims, "layers"):
        dims = [int(d) for d in chain_or_dims]
        return [Spec("dense", n, m) for n, m in zip(dims[:-1], dims[1:], strict=True)]
    specs = []
    for layer in chain_or_dims.layers:
        kind, n_in, n_out = layer.kind, int(layer.n_in), int(layer.n_out)
        if kind == "sparse":
            specs.append(Spec(kind, n_in, n_out, nnz=int(layer.nnz)))
        elif kind == "matrix-free":
            jvp, vjp, tape = int(layer.jvp_cost), int(layer.vjp_cost), int(layer.tape)
            specs.append(Spec(kind, n_in, n_out, jvp=jvp, vjp=vjp, tape=tape))
        else:
            specs.append(Spec(kind, n_in, n_out))
    return specs


def dims_of(spec: Sequence[Spec]) -> list[int]:
    """``[d0, ..., dk]``."""
    return [spec[0].n_in] + [layer.n_out for layer in spec]


# --- the classic matrix chain ------------------------------------------------------------


def textbook_dp_cost(dims: Sequence[int]) -> int:
    """The O(k^3) matrix-chain recurrence over Python ints (no numpy)."""
    dims = [int(d) for d in dims]
    k = len(dims) - 1
    best = [[0] * (k + 1) for _ in range(k + 1)]
    for length in range(2, k + 1):
        for lo in range(1, k - length + 2):
            hi = lo + length - 1
            best[lo][hi] = min(
                best[lo][s] + best[s + 1][hi] + dims[lo - 1] * dims[s] * dims[hi]
                for s in range(lo, hi)
            )
    return best[1][k]


def bracketings(dims: Sequence[int], lo: int = 1, hi: int | None = None) -> Iterator[int]:
    """The cost of every bracketing of layers lo..hi, by plain recursion (Catalan many)."""
    dims = [int(d) for d in dims]
    hi = len(dims) - 1 if hi is None else hi
    if lo == hi:
        yield 0
        return
    for s in range(lo, hi):
        for lower in bracketings(dims, lo, s):
            for upper in bracketings(dims, s + 1, hi):
                yield lower + upper + dims[lo - 1] * dims[s] * dims[hi]


def brute_force_cost(dims: Sequence[int]) -> int:
    """The least cost over every bracketing (use for k <= 9 or so)."""
    return min(bracketings(dims))


def bracketing_cost(dims: Sequence[int], steps: Any) -> int:
    """The cost of a step array of products, after checking it is a complete bracketing."""
    dims = [int(d) for d in dims]
    k = len(dims) - 1
    end_of = {layer: layer for layer in range(1, k + 1)}
    cost = 0
    for op, lo, split, hi in np.asarray(steps).reshape(-1, 4).tolist():
        assert op == PRODUCT, f"step ({op}, {lo}, {split}, {hi}) is not a product"
        assert end_of.get(lo) == split and end_of.get(split + 1) == hi, (
            f"step ({lo}, {split}, {hi}) multiplies segments that do not exist"
        )
        del end_of[split + 1]
        end_of[lo] = hi
        cost += dims[lo - 1] * dims[split] * dims[hi]
    assert end_of == {1: k}, f"the steps leave segments {sorted(end_of)}"
    return cost


# --- the generalized chain: the cost model, written out again ------------------------------


def structure(spec: Sequence[Spec], lo: int, hi: int) -> tuple[str, int]:
    """Structure of the product of layers lo..hi, and its nnz when sparse.

    Identity if all are identities; diagonal if all are diagonal or identity; sparse (with
    that layer's nnz) if exactly one is sparse and the others diagonal or identity; dense
    otherwise (matrix-free layers count as dense).
    """
    kinds = [layer.kind for layer in spec[lo - 1 : hi]]
    if "dense" in kinds or "matrix-free" in kinds or kinds.count("sparse") >= 2:
        return ("dense", 0)
    if "sparse" in kinds:
        return ("sparse", spec[lo - 1 + kinds.index("sparse")].nnz)
    return ("diagonal", 0) if "diagonal" in kinds else ("identity", 0)


def multiply_cost(
    rows: int, inner: int, cols: int, upper: tuple[str, int], lower: tuple[str, int]
) -> int:
    """Upper (rows x inner) times lower (inner x cols), each a (structure, nnz) pair."""
    (a, a_nnz), (b, b_nnz) = upper, lower
    if a == "identity" or b == "identity":
        return 0
    if a == "diagonal" and b == "diagonal":
        return inner
    if a == "diagonal":
        return b_nnz if b == "sparse" else inner * cols
    if b == "diagonal":
        return a_nnz if a == "sparse" else rows * inner
    if a == "sparse" and b == "sparse":
        return min(a_nnz * cols, rows * b_nnz)
    if a == "sparse":
        return a_nnz * cols
    if b == "sparse":
        return rows * b_nnz
    return rows * inner * cols


def sweep_cost(layer: Spec, tangent: bool) -> int:
    """Multiply-adds of one direction through one layer."""
    if layer.kind == "dense":
        return layer.n_in * layer.n_out
    if layer.kind == "diagonal":
        return layer.n_in
    if layer.kind == "identity":
        return 0
    if layer.kind == "sparse":
        return layer.nnz
    return layer.jvp if tangent else layer.vjp


def tape(spec: Sequence[Spec], lo: int, hi: int) -> int:
    """Memory an adjoint sweep through layers lo..hi records: its matrix-free layers' tapes."""
    return sum(layer.tape for layer in spec[lo - 1 : hi] if layer.kind == "matrix-free")


def sweeps_allowed(spec: Sequence[Spec], lo: int, hi: int) -> bool:
    """Whether tangent and adjoint steps may end segment lo..hi: where its product is dense,
    and never in a chain of plain dense layers (its plans are its bracketings; a sweep
    through dense layers costs exactly as much as the products it replaces).
    """
    plain = all(layer.kind == "dense" for layer in spec)
    return not plain and structure(spec, lo, hi)[0] == "dense"


def _fits(memory_limit: int | None, recorded: int) -> bool:
    return memory_limit is None or recorded <= memory_limit


class CostModel:
    """The cost of every operation on one chain, each segment's structure and sums tabled.

    Tables over all segments lo..hi (plain dicts, filled by the definitions above) keep the
    oracles fast enough for chains of 50 layers without changing what they compute.
    """

    def __init__(self, spec: Sequence[Spec]) -> None:
        self.spec = tuple(spec)
        self.d = dims_of(spec)
        k = len(spec)
        segments = [(lo, hi) for lo in range(1, k + 1) for hi in range(lo, k + 1)]
        self.structure = {(lo, hi): structure(spec, lo, hi) for lo, hi in segments}
        self.tape = {(lo, hi): tape(spec, lo, hi) for lo, hi in segments}
        self.tangent_sum = {
            (lo, hi): sum(sweep_cost(x, True) for x in spec[lo - 1 : hi]) for lo, hi in segments
        }
        self.adjoint_sum = {
            (lo, hi): sum(sweep_cost(x, False) for x in spec[lo - 1 : hi]) for lo, hi in segments
        }

    def product(self, lo: int, split: int, hi: int) -> int:
        """(J_hi ... J_{split+1}) times (J_split ... J_lo), by structure."""
        upper, lower = self.structure[(split + 1, hi)], self.structure[(lo, split)]
        return multiply_cost(self.d[hi], self.d[split], self.d[lo - 1], upper, lower)

    def tangent(self, lo: int, split: int, hi: int) -> int:
        """d_{lo-1} columns carried forward through layers split+1..hi."""
        return self.d[lo - 1] * self.tangent_sum[(split + 1, hi)]

    def adjoint(self, lo: int, split: int, hi: int) -> int:
        """d_hi rows carried back through layers lo..split."""
        return self.d[hi] * self.adjoint_sum[(lo, split)]

    def accumulation(self, layer: int, op: int) -> int:
        """d_{lo-1} tangent or d_lo adjoint sweeps through one matrix-free layer."""
        x = self.spec[layer - 1]
        return x.n_in * x.jvp if op == ACCUMULATE_TANGENT else x.n_out * x.vjp


def generalized_optimum(
    spec: Sequence[Spec], memory_limit: int | None = None, sweeps: bool = True
) -> int:
    """The least cost of Naumann's generalized Jacobian chain, by recursion over segments.

    A plan of segment lo..hi ends in one of: the product of plans of lo..s and s+1..hi;
    (only where :func:`sweeps_allowed`) a plan of lo..s carried forward through
    layers s+1..hi by tangent sweeps, or a plan of s+1..hi carried back through layers
    lo..s by adjoint sweeps whose tape fits ``memory_limit``. A single layer is free if
    explicit, else accumulated by tangent sweeps or (if its tape fits) adjoint sweeps.
    With ``sweeps=False`` only accumulations and products (the preaccumulation optimum).
    """
    spec, model = tuple(spec), CostModel(spec)

    @functools.cache
    def best(lo: int, hi: int) -> int:
        if lo == hi:
            if spec[lo - 1].kind != "matrix-free":
                return 0
            options = [model.accumulation(lo, ACCUMULATE_TANGENT)]
            if _fits(memory_limit, model.tape[(lo, lo)]):
                options.append(model.accumulation(lo, ACCUMULATE_ADJOINT))
            return min(options)
        dense = sweeps and sweeps_allowed(spec, lo, hi)
        options = []
        for s in range(lo, hi):
            options.append(best(lo, s) + best(s + 1, hi) + model.product(lo, s, hi))
            if dense:
                options.append(best(lo, s) + model.tangent(lo, s, hi))
                if _fits(memory_limit, model.tape[(lo, s)]):
                    options.append(best(s + 1, hi) + model.adjoint(lo, s, hi))
        return min(options)

    return best(1, len(spec))


def generalized_plans(
    spec: Sequence[Spec], memory_limit: int | None = None
) -> Iterator[tuple[tuple[int, int, int, int], ...]]:
    """Every generalized plan of the chain, as a tuple of steps in execution order.

    The same choices as :func:`generalized_optimum`, enumerated instead of minimized:
    exponentially many, so use it on chains of at most 5 layers.
    """
    spec = tuple(spec)

    def plans(lo: int, hi: int) -> Iterator[tuple[tuple[int, int, int, int], ...]]:
        if lo == hi:
            if spec[lo - 1].kind != "matrix-free":
                yield ()
                return
            yield ((ACCUMULATE_TANGENT, lo, lo, lo),)
            if _fits(memory_limit, tape(spec, lo, lo)):
                yield ((ACCUMULATE_ADJOINT, lo, lo, lo),)
            return
        dense = sweeps_allowed(spec, lo, hi)
        for s in range(lo, hi):
            for lower in plans(lo, s):
                for upper in plans(s + 1, hi):
                    yield lower + upper + ((PRODUCT, lo, s, hi),)
            if not dense:
                continue
            for lower in plans(lo, s):
                yield lower + ((TANGENT, lo, s, hi),)
            if _fits(memory_limit, tape(spec, lo, s)):
                for upper in plans(s + 1, hi):
                    yield upper + ((ADJOINT, lo, s, hi),)

    yield from plans(1, len(spec))


def _walk(spec: Sequence[Spec], steps: Any) -> Iterator[tuple[int, int, int, int]]:
    """Yield each step after checking it is allowed at that point; then check completion.

    A segment is available once formed: an explicit layer from the start, a matrix-free
    layer once accumulated. Products need both operands available; a tangent (adjoint)
    step needs its input-side (output-side) operand available, sweeps through layers not
    yet combined with others, and is allowed only where :func:`sweeps_allowed`.
    """
    k = len(spec)
    end_of = {j: j for j in range(1, k + 1) if spec[j - 1].kind != "matrix-free"}
    single = set(range(1, k + 1))  # layers not yet combined with another
    for row in np.asarray(steps, dtype=np.int64).reshape(-1, 4).tolist():
        op, lo, split, hi = row
        if op in ACCUMULATIONS:
            assert lo == split == hi and spec[lo - 1].kind == "matrix-free", f"bad {row}"
            assert lo in single and lo not in end_of, f"{row}: layer {lo} is not pending"
            end_of[lo] = lo
            yield op, lo, split, hi
            continue
        assert 1 <= lo <= split < hi <= k, f"{row}: bounds outside 1..{k}"
        if op == PRODUCT:
            assert end_of.get(lo) == split and end_of.get(split + 1) == hi, f"{row}: operands"
        else:
            assert op in SWEEPS, f"{row}: unknown operation"
            if op == TANGENT:
                kept, swept = (lo, split), range(split + 1, hi + 1)
            else:
                kept, swept = (split + 1, hi), range(lo, split + 1)
            assert end_of.get(kept[0]) == kept[1], f"{row}: operand not available"
            assert all(j in single for j in swept), f"{row}: sweeps through combined layers"
            assert sweeps_allowed(spec, lo, hi), f"{row}: a sweep over a structured product"
        for j in range(lo, hi + 1):
            end_of.pop(j, None)
            single.discard(j)
        end_of[lo] = hi
        yield op, lo, split, hi
    assert end_of == {1: k}, f"the plan is unfinished: segments {sorted(end_of.items())}"


def plan_cost(
    spec: Sequence[Spec], steps: Any, memory_limit: int | None = None
) -> tuple[int, int]:
    """``(cost, largest tape)`` of a step array, checked step by step (AssertionError if invalid)."""
    model, cost, largest = CostModel(spec), 0, 0
    for op, lo, split, hi in _walk(spec, steps):
        recorded = 0
        if op == PRODUCT:
            cost += model.product(lo, split, hi)
        elif op == TANGENT:
            cost += model.tangent(lo, split, hi)
        elif op == ADJOINT:
            cost += model.adjoint(lo, split, hi)
            recorded = model.tape[(lo, split)]
        else:
            cost += model.accumulation(lo, op)
            recorded = model.tape[(lo, lo)] if op == ACCUMULATE_ADJOINT else 0
        assert _fits(memory_limit, recorded), f"step {(op, lo, split, hi)} records {recorded}"
        largest = max(largest, recorded)
    return cost, largest


def forward_mode_cost(spec: Sequence[Spec]) -> int:
    """Accumulate from the input side one layer at a time.

    A matrix-free first layer costs d0 tangent sweeps; each later layer is a tangent step
    (d0 sweeps) if matrix-free, else the product of the layer with the accumulated
    J_{j-1}...J_1, by structure.
    """
    d, k = dims_of(spec), len(spec)
    cost = d[0] * spec[0].jvp if spec[0].kind == "matrix-free" else 0
    for j in range(2, k + 1):
        if spec[j - 1].kind == "matrix-free":
            cost += d[0] * spec[j - 1].jvp
        else:
            cost += multiply_cost(
                d[j], d[j - 1], d[0], structure(spec, j, j), structure(spec, 1, j - 1)
            )
    return cost


def reverse_mode_cost(spec: Sequence[Spec]) -> int:
    """Accumulate from the output side one layer at a time, with d_k adjoint sweeps."""
    d, k = dims_of(spec), len(spec)
    cost = d[k] * spec[k - 1].vjp if spec[k - 1].kind == "matrix-free" else 0
    for j in range(k - 1, 0, -1):
        if spec[j - 1].kind == "matrix-free":
            cost += d[k] * spec[j - 1].vjp
        else:
            cost += multiply_cost(
                d[k], d[j], d[j - 1], structure(spec, j + 1, k), structure(spec, j, j)
            )
    return cost


def reverse_mode_tape(spec: Sequence[Spec]) -> int:
    """The largest tape reverse mode records: one matrix-free layer at a time."""
    return max((tape(spec, j, j) for j in range(1, len(spec) + 1)), default=0)


# --- running a plan ----------------------------------------------------------------------


def evaluate_steps(spec: Sequence[Spec], steps: Any, jacobians: Sequence[Any]) -> np.ndarray:
    """J_k ... J_1 computed by following the steps on dense matrices, checked as it goes.

    ``jacobians`` are the dense J_1, ..., J_k. A product multiplies two formed segments, a
    tangent step pushes the columns of the formed input-side segment through each swept
    layer, an adjoint step pulls the rows of the formed output-side segment back through
    each swept layer, an accumulation forms a layer's matrix by pushing identity columns
    (or pulling identity rows) through it.
    """
    J = [np.asarray(matrix) for matrix in jacobians]
    k = len(J)
    assert len(spec) == k and all(J[j].shape == (x.n_out, x.n_in) for j, x in enumerate(spec))
    formed = {(j, j): J[j - 1] for j in range(1, k + 1) if spec[j - 1].kind != "matrix-free"}
    for op, lo, split, hi in _walk(spec, steps):
        if op == ACCUMULATE_TANGENT:
            formed[(lo, lo)] = J[lo - 1] @ np.eye(J[lo - 1].shape[1])
            continue
        if op == ACCUMULATE_ADJOINT:
            formed[(lo, lo)] = np.eye(J[lo - 1].shape[0]) @ J[lo - 1]
            continue
        if op == PRODUCT:
            result = formed[(split + 1, hi)] @ formed[(lo, split)]
        elif op == TANGENT:
            result = formed[(lo, split)]
            for j in range(split + 1, hi + 1):
                result = J[j - 1] @ result
        else:
            result = formed[(split + 1, hi)]
            for j in range(split, lo - 1, -1):
                result = result @ J[j - 1]
        formed = {key: value for key, value in formed.items() if not lo <= key[0] <= hi}
        formed[(lo, hi)] = result
    return formed[(1, k)]


def planned_directions(spec: Sequence[Spec], steps: Any) -> tuple[list[int], list[int]]:
    """Tangent and adjoint directions each layer is asked for by the steps (J_1 first)."""
    d = dims_of(spec)
    tangent, adjoint = [0] * len(spec), [0] * len(spec)
    for op, lo, split, hi in _walk(spec, steps):
        if op == TANGENT:
            for j in range(split + 1, hi + 1):
                tangent[j - 1] += d[lo - 1]
        elif op == ADJOINT:
            for j in range(lo, split + 1):
                adjoint[j - 1] += d[hi]
        elif op == ACCUMULATE_TANGENT:
            tangent[lo - 1] += d[lo - 1]
        elif op == ACCUMULATE_ADJOINT:
            adjoint[lo - 1] += d[lo]
    return tangent, adjoint
