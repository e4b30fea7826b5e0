"""Text reports of a plan: a one-line description and a PathInfo-style table."""

from __future__ import annotations

import numbers
from typing import Any

from ..errors import JacChainError, shown
from ..solvers import is_exact
from .display import Column, ReportParts, StepTable, render_text

__all__ = ["describe", "report", "report_parts", "format_dims", "check_max_rows"]

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
    return render_text(report_parts(plan, max_rows))


def report_parts(plan: Any, max_rows: int = 20) -> ReportParts:
    """The parts of :func:`report`: the fields, notes and step table of a plan.

    Examples
    --------
    >>> import jacchain as jc
    >>> parts = report_parts(jc.plan([1000, 10, 1000, 10, 1000]))
    >>> dict(parts.fields)["expression"], len(parts.table.steps)
    ('(J4 (J3 J2)) J1', 3)
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
    fields = [("dims", format_dims(plan.dims)), ("Jacobian shape", str(plan.shape))]
    if structured:
        fields.append(("layers", _kind_summary(plan)))
    fields += [(forward_name, f"{plan.forward_cost:>{width},}"),
               (reverse_name, f"{plan.reverse_cost:>{width},}")]
    if structured:
        fields.append(("preaccumulation cost", (
            f"{preaccumulation:>{width},}" if preaccumulation is not None
            else "not computed (longer than the generalized DP's limit, with structured layers)"
        )))
    fields += [
        (cost_name, f"{plan.cost:>{width},}  ({plan.mode})"),
        ("speedup", f"{plan.speedup:.2f}x over the best pure mode"),
        ("largest intermediate", f"{plan.largest_intermediate:,} elements"),
    ]
    if structured and (plan.largest_tape or plan.memory_limit is not None):
        limit = "none" if plan.memory_limit is None else f"{plan.memory_limit:,}"
        fields.append(("largest tape", f"{plan.largest_tape:,} (memory limit: {limit})"))
    fields.append(("expression", _expression_line(plan)))
    notes = ["costs are scalar multiply-adds; FLOPs are 2x"]
    title = f"jacchain plan (method {plan.method!r}, k = {k} layer{'s' if k != 1 else ''})"
    if len(plan.steps) == 0:
        notes.append("no products to form: the Jacobian is J1 itself")
        return ReportParts(title, fields, notes)
    columns: list[Column] = [
        ("operation", lambda step: step.operation, "<", 9),
        ("left", lambda step: step.left.label, "<", 9),
        ("right", lambda step: step.right.label, "<", 9),
        ("result shape", lambda step: str(step.shape), "<", 14),
    ]
    return ReportParts(title, fields, notes,
                       StepTable(plan.steps, columns, plan.cost, max_rows, min_rule=76))


def _optimal(plan: Any) -> bool:
    """Whether the plan is known optimal: its report then says "optimal cost"."""
    return is_exact(plan.method, plan.chain, plan.memory_limit)


def _kind_summary(plan: Any) -> str:
    counts: dict[str, int] = {}
    for layer in plan.chain.layers:
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())
