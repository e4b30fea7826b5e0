"""Text reports of a plan: a one-line description and a PathInfo-style table."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import JacChainError, shown
from ..solvers import is_exact

__all__ = ["describe", "report", "format_dims", "step_table", "check_max_rows"]

_MAX_DIMS_SHOWN = 12
_MAX_EXPRESSION_CHARS = 200


def check_max_rows(max_rows: Any) -> int:
    """``max_rows`` as an int >= 1, or a JacChainError naming the argument.

    Examples
    --------
    >>> check_max_rows(20)
    20
    >>> check_max_rows("x")
    Traceback (most recent call last):
    ...
    jacchain.errors.JacChainError: max_rows must be an int >= 1 (step rows shown), got 'x'
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, numbers.Integral) or max_rows < 1:
        raise JacChainError(f"max_rows must be an int >= 1 (step rows shown), got {shown(max_rows)}")
    return int(max_rows)


def format_dims(dims: tuple[int, ...], limit: int = _MAX_DIMS_SHOWN) -> str:
    """``"784 -> 512 -> 10"``, with the middle elided for long chains.

    Examples
    --------
    >>> format_dims((784, 512, 10))
    '784 -> 512 -> 10'
    >>> format_dims(tuple(range(1, 31)), limit=6)
    '1 -> 2 -> 3 -> ... (24 more) ... -> 28 -> 29 -> 30'
    """
    if len(dims) <= limit:
        return " -> ".join(str(d) for d in dims)
    half = limit // 2
    head = " -> ".join(str(d) for d in dims[:half])
    tail = " -> ".join(str(d) for d in dims[-half:])
    return f"{head} -> ... ({len(dims) - 2 * half} more) ... -> {tail}"


def describe(plan: Any) -> str:
    """One line: mode, k, chosen cost against both pure modes, speedup, largest intermediate.

    Examples
    --------
    >>> import jacchain as jc
    >>> describe(jc.plan([3, 4, 5]))
    'forward plan, k=2: 60 multiply-adds vs forward 60 and reverse 60 (1.00x); largest intermediate 15 elements'
    """
    return (
        f"{plan.mode} plan, k={len(plan.chain)}: {plan.cost:,} multiply-adds vs forward "
        f"{plan.forward_cost:,} and reverse {plan.reverse_cost:,} ({plan.speedup:.2f}x); "
        f"largest intermediate {plan.largest_intermediate:,} elements"
    )


def _expression_line(plan: Any) -> str:
    if len(plan.chain) > 4 * _MAX_EXPRESSION_CHARS:
        return "(too long to show; see plan.expression)"
    text = plan.expression
    if len(text) > _MAX_EXPRESSION_CHARS:
        return text[:_MAX_EXPRESSION_CHARS] + " ... (truncated; see plan.expression)"
    return text


def report(plan: Any, max_rows: int = 20) -> str:
    """The multi-line report in the spirit of opt_einsum's PathInfo.

    Parameters
    ----------
    plan : Plan
    max_rows : int
        At most this many step rows: the first and last halves of a longer plan.

    Examples
    --------
    >>> import jacchain as jc
    >>> print(report(jc.plan([1000, 10, 1000, 10, 1000])))  # doctest: +NORMALIZE_WHITESPACE
    jacchain plan (method 'auto', k = 4 layers)
      dims                  1000 -> 10 -> 1000 -> 10 -> 1000
      Jacobian shape        (1000, 1000)
      forward-mode cost     30,000,000
      reverse-mode cost     30,000,000
      optimal cost          10,200,000  (mixed)
      speedup               2.94x over the best pure mode
      largest intermediate  1,000,000 elements
      expression            (J4 (J3 J2)) J1
      costs are scalar multiply-adds; FLOPs are 2x
    ----------------------------------------------------------------------------
     step  operation   left       right      result shape            cost  share
    ----------------------------------------------------------------------------
        1  product     J3         J2         (10, 10)             100,000   1.0%
        2  product     J4         J3..J2     (1000, 10)           100,000   1.0%
        3  product     J4..J2     J1         (1000, 1000)      10,000,000  98.0%
    """
    max_rows = check_max_rows(max_rows)
    k = len(plan.chain)
    structured = not plan.chain.is_dense
    preaccumulation = plan.preaccumulation_cost if structured else None
    values = [plan.forward_cost, plan.reverse_cost, plan.cost]
    if preaccumulation is not None:
        values.append(preaccumulation)
    width = max(len(f"{value:,}") for value in values)
    cost_name = "optimal cost" if _optimal(plan) else "chosen cost"
    forward_name = "tangent-mode cost" if structured else "forward-mode cost"
    reverse_name = "adjoint-mode cost" if structured else "reverse-mode cost"
    lines = [
        f"jacchain plan (method {plan.method!r}, k = {k} layer{'s' if k != 1 else ''})",
        f"  dims                  {format_dims(plan.dims)}",
        f"  Jacobian shape        {plan.shape}",
    ]
    if structured:
        lines.append(f"  layers                {_kind_summary(plan)}")
    lines += [
        f"  {forward_name:<22}{plan.forward_cost:>{width},}",
        f"  {reverse_name:<22}{plan.reverse_cost:>{width},}",
    ]
    if structured:
        shown = (
            f"{preaccumulation:>{width},}"
            if preaccumulation is not None
            else "not computed (longer than the generalized DP's limit, with structured layers)"
        )
        lines.append(f"  preaccumulation cost  {shown}")
    lines += [
        f"  {cost_name:<22}{plan.cost:>{width},}  ({plan.mode})",
        f"  speedup               {plan.speedup:.2f}x over the best pure mode",
        f"  largest intermediate  {plan.largest_intermediate:,} elements",
    ]
    if structured and (plan.largest_tape or plan.memory_limit is not None):
        limit = "none" if plan.memory_limit is None else f"{plan.memory_limit:,}"
        lines.append(f"  largest tape          {plan.largest_tape:,} (memory limit: {limit})")
    lines += [
        f"  expression            {_expression_line(plan)}",
        "  costs are scalar multiply-adds; FLOPs are 2x",
    ]
    steps = plan.steps
    if len(steps) == 0:
        lines.append("  no products to form: the Jacobian is J1 itself")
        return "\n".join(lines)
    columns = [
        ("operation", lambda step: step.operation, "<", 9),
        ("left", lambda step: step.left.label, "<", 9),
        ("right", lambda step: step.right.label, "<", 9),
        ("result shape", lambda step: str(step.shape), "<", 14),
    ]
    lines += step_table(steps, columns, plan.cost, max_rows, min_rule=76)
    return "\n".join(lines)


Column = tuple[str, Callable[[Any], str], str, int]
"""A step-table column: title, cell text of a step, alignment (``"<"`` or ``">"``), least width."""


def step_table(
    steps: Sequence[Any], columns: list[Column], total_cost: int, max_rows: int, min_rule: int
) -> list[str]:
    """The lines of a step table: step number, the given columns, cost and share of the total.

    Every step needs ``.index`` and ``.cost``; a plan of more than ``max_rows`` steps shows
    its first and last halves.

    Examples
    --------
    >>> import jacchain as jc
    >>> p = jc.plan([3, 4, 5])
    >>> print("\\n".join(step_table(p.steps, [], p.cost, 20, min_rule=20)))
    ---------------------------
     step          cost   share
    ---------------------------
        1            60  100.0%
    """
    n = len(steps)
    half = max(max_rows // 2, 1)
    shown = list(range(n)) if n <= max_rows else [*range(half), None, *range(n - half, n)]
    spec = [
        ("step", ">", 4),
        *((t, a, w) for t, _, a, w in columns),
        ("cost", ">", 12),
        ("share", ">", 5),
    ]
    rows: list[list[str] | None] = []
    for position in shown:
        if position is None:
            rows.append(None)
            continue
        step = steps[position]
        share = 100.0 * step.cost / total_cost if total_cost else 0.0
        cells = [get(step) for _, get, _, _ in columns]
        rows.append([str(step.index), *cells, f"{step.cost:,}", f"{share:.1f}%"])
    widths = [
        max(least, len(title), *(len(row[i]) for row in rows if row is not None))
        for i, (title, _, least) in enumerate(spec)
    ]

    def line(cells: list[str]) -> str:
        return " " + "  ".join(
            f"{cell:{align}{width}}"
            for cell, (_, align, _), width in zip(cells, spec, widths, strict=True)
        )

    header = line([title for title, _, _ in spec])
    rule = "-" * max(min_rule, len(header))
    out = [rule, header, rule]
    for row in rows:
        out.append(f"  ... {n - 2 * half:,} steps omitted ..." if row is None else line(row))
    return out


def _optimal(plan: Any) -> bool:
    """Whether the plan is known optimal: its report then says "optimal cost"."""
    return is_exact(plan.method, plan.chain, plan.memory_limit)


def _kind_summary(plan: Any) -> str:
    counts: dict[str, int] = {}
    for layer in plan.chain.layers:
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())
