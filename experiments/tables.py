"""Shared by the experiment scripts: markdown tables and CSV files under experiments/results/."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from jacchain.progress import tracked

T = TypeVar("T")

RESULTS = Path(__file__).resolve().parent / "results"


def default_cell(value: Any, column: str = "") -> str:
    """Floats to 3 significant digits, ints with thousands separators, the rest as text."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def markdown_table(
    rows: Sequence[dict],
    columns: Sequence[str] | None = None,
    cell: Callable[[Any, str], str] = default_cell,
) -> str:
    """A markdown table of ``rows`` (dicts) over ``columns`` (default: the first row's keys)."""
    columns = list(columns if columns is not None else rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(cell(row.get(c, ""), c) for c in columns) + " |")
    return "\n".join(lines)


def write_csv(name: str, rows: Sequence[dict], columns: Sequence[str] | None = None) -> Path:
    """Write ``rows`` to experiments/results/``name`` (extra keys ignored); return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    with open(path, "w", newline="") as handle:
        fields = list(columns if columns is not None else rows[0])
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def with_progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """``items``, counted by a progress bar on standard error when it is a terminal and tqdm
    is installed (jacchain's bar, kept on screen when done); the experiments' main loops."""
    return tracked(items, desc, total=total, leave=True)
