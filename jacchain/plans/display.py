"""Reports as parts, rendered as text (``str``, IPython) or as HTML (notebooks).

A report is a title, labelled fields, notes and a table of steps. Plans, graph plans,
program plans and verification reports each say what their parts are; this module draws
them, so the text and the notebook views cannot disagree.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Column", "StepTable", "ReportParts", "Displayed", "step_table", "render_text",
           "render_html"]

LABEL_WIDTH = 22
"""Width of a field's label in the text rendering."""

Column = tuple[str, Callable[[Any], str], str, int]
"""A step-table column: title, cell text of a step, alignment (``"<"`` or ``">"``), least width."""


@dataclass(frozen=True)
class StepTable:
    """The steps of a plan to tabulate: step number, ``columns``, cost and share of the total.

    Every step needs ``.index`` and ``.cost``; a plan of more than ``max_rows`` steps shows
    its first and last halves.
    """

    steps: Sequence[Any]
    columns: list[Column]
    total_cost: int
    max_rows: int
    min_rule: int = 60

    def cells(self) -> tuple[list[tuple[str, str, int]], list[list[str] | None]]:
        """The column specs ``(title, align, least width)`` and the rows (None: the gap).

        Examples
        --------
        >>> import jacchain as jc
        >>> p = jc.plan([3, 4, 5, 6])
        >>> spec, rows = StepTable(p.steps, [], p.cost, max_rows=20).cells()
        >>> [title for title, _, _ in spec], rows
        (['step', 'cost', 'share'], [['1', '60', '40.0%'], ['2', '90', '60.0%']])
        """
        n, half = len(self.steps), self._half
        shown = list(range(n)) if n <= self.max_rows else [*range(half), None,
                                                           *range(n - half, n)]
        spec = [("step", ">", 4), *((t, a, w) for t, _, a, w in self.columns),
                ("cost", ">", 12), ("share", ">", 5)]
        rows: list[list[str] | None] = []
        for position in shown:
            if position is None:
                rows.append(None)
                continue
            step = self.steps[position]
            share = 100.0 * step.cost / self.total_cost if self.total_cost else 0.0
            cells = [get(step) for _, get, _, _ in self.columns]
            rows.append([str(step.index), *cells, f"{step.cost:,}", f"{share:.1f}%"])
        return spec, rows

    @property
    def _half(self) -> int:
        """Rows shown at each end of a plan longer than ``max_rows``."""
        return max(self.max_rows // 2, 1)

    @property
    def omitted(self) -> int:
        """How many steps the gap row stands for (0 when every step is shown)."""
        n = len(self.steps)
        return n - 2 * self._half if n > self.max_rows else 0


def step_table(
    steps: Sequence[Any], columns: list[Column], total_cost: int, max_rows: int, min_rule: int
) -> list[str]:
    """The text lines of a step table: step number, the given columns, cost and share.

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
    return _text_table(StepTable(steps, columns, total_cost, max_rows, min_rule))


@dataclass(frozen=True)
class ReportParts:
    """What a report says: a title, ``(label, value)`` fields, notes, an optional step table,
    and optional sub-reports (each with a heading) after it."""

    title: str
    fields: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    table: StepTable | None = None
    appendix: list[tuple[str, ReportParts]] = field(default_factory=list)


def render_text(parts: ReportParts) -> str:
    """The report as aligned text lines.

    Examples
    --------
    >>> print(render_text(ReportParts("a report", [("cost", "12"), ("mode", "mixed")],
    ...                               ["costs are multiply-adds"])))
    a report
      cost                  12
      mode                  mixed
      costs are multiply-adds
    """
    lines = [parts.title]
    lines += [f"  {label:<{LABEL_WIDTH}}{value}" for label, value in parts.fields]
    lines += [f"  {note}" for note in parts.notes]
    if parts.table is not None:
        lines += _text_table(parts.table)
    for heading, sub in parts.appendix:
        lines += [heading, render_text(sub)]
    return "\n".join(lines)


def _text_table(table: StepTable) -> list[str]:
    spec, rows = table.cells()
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
    rule = "-" * max(table.min_rule, len(header))
    out = [rule, header, rule]
    for row in rows:
        out.append(f"  ... {table.omitted:,} steps omitted ..." if row is None else line(row))
    return out


_STYLE = (
    "<style>.jacchain-report table{border-collapse:collapse;margin:2px 0 6px 0}"
    ".jacchain-report th,.jacchain-report td{padding:1px 8px;text-align:left}"
    ".jacchain-report td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".jacchain-report .bar{display:inline-block;height:0.7em;background:#4c72b0}</style>"
)


def render_html(parts: ReportParts) -> str:
    """The report as an HTML fragment for a notebook: a table of fields, then the steps.

    Examples
    --------
    >>> text = render_html(ReportParts("a <report>", [("cost", "12")]))
    >>> "<th>cost</th><td>12</td>" in text, "a &lt;report&gt;" in text
    (True, True)
    """
    return f'<div class="jacchain-report">{_STYLE}{_html_body(parts)}</div>'


def _html_body(parts: ReportParts) -> str:
    out = [f"<strong>{html.escape(parts.title)}</strong>", "<table><tbody>"]
    out += [f"<tr><th>{html.escape(label)}</th><td>{html.escape(value.strip())}</td></tr>"
            for label, value in parts.fields]
    out.append("</tbody></table>")
    out += [f"<div><em>{html.escape(note)}</em></div>" for note in parts.notes]
    if parts.table is not None:
        out.append(_html_table(parts.table))
    for heading, sub in parts.appendix:
        out += [f"<div>{html.escape(heading)}</div>", _html_body(sub)]
    return "".join(out)


def _html_table(table: StepTable) -> str:
    spec, rows = table.cells()
    head = "".join(f"<th>{html.escape(title)}</th>" for title, _, _ in spec)
    body = []
    for row in rows:
        if row is None:
            body.append(f'<tr><td colspan="{len(spec) + 1}">... {table.omitted:,} steps '
                        "omitted ...</td></tr>")
            continue
        cells = "".join(
            f'<td class="num">{html.escape(c)}</td>' if align == ">" else f"<td>{html.escape(c)}</td>"
            for c, (_, align, _) in zip(row, spec, strict=True)
        )
        width = min(max(float(row[-1].rstrip("%")), 0.0), 100.0)
        body.append(f'<tr>{cells}<td><span class="bar" style="width:{width:.0f}px"></span>'
                    "</td></tr>")
    return f"<table><thead><tr>{head}<th></th></tr></thead><tbody>{''.join(body)}</tbody></table>"


class Displayed:
    """Mixin: the text report as ``str``, in IPython (``_repr_pretty_``) and as HTML in
    notebooks (``_repr_html_``), all from the class's ``_report_parts(max_rows)``."""

    def _report_parts(self, max_rows: int = 20) -> ReportParts:
        raise NotImplementedError

    def __str__(self) -> str:
        return render_text(self._report_parts())

    def _repr_html_(self) -> str:
        return render_html(self._report_parts())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else render_text(self._report_parts()))
