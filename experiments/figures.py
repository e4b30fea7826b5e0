"""The experiments' figures, drawn from the CSV files they write to experiments/results/.

Each experiment calls its figure function right after writing its table; running this
file redraws every figure from the CSV files already there (no timing is re-run):

- savings.png: how much optimal saves over the best pure mode, per chain (savings.py);
- planner_speed.png: planning time against k, log-log, against numpy and opt_einsum
  (planner_speed.py);
- vs_frameworks.png: speedups over the frameworks' pure modes (vs_frameworks.py);
- graph_methods.png: the graph methods against each other and AlphaGrad (orders.py,
  graphs.py).

Needs the ``plot`` extra (matplotlib); uses jacchain's figure helpers (no pyplot).

Run:  python experiments/figures.py
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

from tables import RESULTS

from jacchain.plans.figure import new_figure, save_figure

STOPPED = "(stopped)"
"""How planner_speed.csv marks a run stopped at its time budget: ``"> 60 (stopped)"``."""

SOLVERS = {  # planner_speed.csv column: (label, color, line style)
    "dp": ("jacchain dp, O(k^3) (whole jc.plan call)", "tab:blue", "-"),
    "dp_steps": ("jacchain dp, the ordering routine alone", "tab:blue", ":"),
    "hu-shing": ("jacchain hu-shing, O(k log k)", "tab:green", "-"),
    "approx": ("jacchain approx, O(k), within 2/sqrt(3)", "tab:olive", "--"),
    "numpy": ("numpy: multi_dot's ordering routine", "tab:red", "-"),
    "opt_einsum": ("opt_einsum: contract_path, 'dp'", "tab:purple", "-"),
}

GRAPH_METHODS = {  # label: (orders.csv column, graphs.csv column, color)
    "forward": ("counted forward", "forward", "tab:blue"),
    "reverse": ("counted reverse", "reverse", "tab:orange"),
    "Markowitz": ("counted Markowitz", "markowitz", "tab:green"),
    "search": ("counted search", None, "tab:purple"),
    "exact": ("counted exact", "exact", "black"),
    "graph layers": (None, "chain", "tab:brown"),
    "AlphaGrad": ("AlphaGrad", None, "tab:red"),
}


def read_tables(name: str) -> list[list[dict[str, str]]]:
    """The tables of experiments/results/``name``: CSV sections separated by blank lines."""
    with open(RESULTS / name, newline="") as handle:
        sections = handle.read().strip().split("\n\n")
    return [list(csv.DictReader(section.splitlines())) for section in sections]


def number(cell: str) -> float | None:
    """A CSV cell as a float; None when empty or not a number."""
    try:
        return float(cell)
    except ValueError:
        return None


def savings_figure() -> Path:
    """savings.png: for each distribution of dims, the share of chains that optimal
    ordering makes at least x times cheaper than the best pure mode (from
    savings_chains.csv)."""
    import numpy as np

    chains = read_tables("savings_chains.csv")[0]
    figure = new_figure("experiments/figures.py", (8.5, 5))
    axes = figure.add_subplot()
    kinds = list(dict.fromkeys(row["distribution"] for row in chains))
    for kind in kinds:
        ratios = np.sort([float(row["best pure / optimal"]) for row in chains
                          if row["distribution"] == kind])
        share = 1.0 - np.arange(len(ratios)) / len(ratios)  # chains with a ratio >= x
        mixed = np.mean(ratios > 1.0)
        axes.step(ratios, share, where="post", label=f"{kind}: {100 * mixed:.0f}% save, median "
                  f"{np.median(ratios):.2f}x", linewidth=1.5)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter("{x:g}x")
    axes.set_xlabel("best pure mode's cost / optimal cost (x, log scale)")
    axes.set_ylabel("share of chains saving at least x")
    axes.set_ylim(0, 1.02)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", title="dims drawn from", title_fontsize="small")
    axes.set_title(f"What optimal ordering saves over the best pure mode ({len(chains):,} random "
                   "chains of 3 to 12 layers; savings.py)", fontsize="medium")
    return _save(figure, "savings.png")


def planner_speed_figure() -> Path:
    """planner_speed.png: seconds to plan against k, log-log, for jacchain's solvers and
    numpy's and opt_einsum's ordering routines (from planner_speed.csv); a run stopped at
    the time budget is an open triangle at the budget."""
    rows = read_tables("planner_speed.csv")[0]
    figure = new_figure("experiments/figures.py", (8.5, 5.5))
    axes = figure.add_subplot()
    for column, (label, color, style) in SOLVERS.items():
        points = [(float(row["k"]), number(row[column])) for row in rows]
        points = [(k, seconds) for k, seconds in points if seconds is not None]
        axes.plot([k for k, _ in points], [s for _, s in points], style, color=color,
                  marker="o", markersize=4, label=label)
        stopped = [(float(row["k"]), float(row[column].split()[1])) for row in rows
                   if row[column].endswith(STOPPED)]
        if stopped:
            axes.plot(*zip(*stopped, strict=True), "^", color=color, markerfacecolor="none",
                      markersize=9, label=f"{label}: stopped at the budget")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("layers k")
    axes.set_ylabel("planning time (seconds, best of up to 5)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title("Time to find the optimal order of a chain of k layers (dims in [1, 1000]; "
                   "planner_speed.py)", fontsize="medium")
    return _save(figure, "planner_speed.png")


def vs_frameworks_figure() -> Path:
    """vs_frameworks.png: jacchain's measured speedup over the faster pure mode of each
    framework, beside the speedup its cost model predicts (from vs_frameworks.csv)."""
    rows = read_tables("vs_frameworks.csv")[0]
    models = list(dict.fromkeys(row["model"] for row in rows))
    figure = new_figure("experiments/figures.py", (5 + 3.5 * len(models), 4.8))
    panels = figure.subplots(1, len(models), sharey=True, squeeze=False)[0]
    for axes, model in zip(panels, models, strict=True):
        mine = [row for row in rows if row["model"] == model]
        where = range(len(mine))
        bars = axes.bar(where, [float(row["speedup"]) for row in mine], color="tab:blue",
                        label="measured: faster pure mode's time / jacchain's")
        axes.bar_label(bars, fmt="%.2fx", fontsize="small", label_type="center", color="white")
        axes.plot(where, [float(row["model_speedup"]) for row in mine], "D", color="tab:red",
                  label="cost model: the same ratio in multiply-adds")
        axes.axhline(1.0, color="0.3", linewidth=0.8, linestyle="--")
        axes.set_xticks(where, [row["framework"] for row in mine], rotation=25, ha="right",
                        fontsize="small")
        axes.set_title(model, fontsize="medium")
        axes.margins(y=0.12)
    panels[0].set_ylabel("speedup over the faster pure mode (x)")
    panels[-1].legend(fontsize="small", loc="upper right")
    figure.suptitle("Full Jacobians: jacchain's plan against each framework's own forward "
                    "and reverse mode (vs_frameworks.py)", fontsize="medium")
    return _save(figure, "vs_frameworks.png")


def graph_methods_figure() -> Path:
    """graph_methods.png: the cost of each graph method over the best of forward, reverse
    and Markowitz, on the ten Graphax tasks (orders.csv; AlphaGrad's published reduction
    against its own three) and on structured graphs (graphs.csv)."""
    tasks = read_tables("orders.csv")[0]
    graphs = read_tables("graphs.csv")[0]
    figure = new_figure("experiments/figures.py", (14, 9))
    top, bottom = figure.subplots(2, 1)
    _grouped(top, [row["task"] for row in tasks], {
        label: [_over_best_of_three(row, column) for row in tasks]
        for label, (column, _, _) in GRAPH_METHODS.items() if column is not None}, clip=1.6)
    top.set_ylabel("cost / best of forward,\nreverse and Markowitz")
    top.set_title("The ten Graphax tasks (counted convention; search 10 s; AlphaGrad: its "
                  "reduction below its own best of three; orders.py)", fontsize="medium")
    _grouped(bottom, [row["graph"] for row in graphs], {
        label: [_over_cheapest(row, column) for row in graphs]
        for label, (_, column, _) in GRAPH_METHODS.items() if column is not None})
    bottom.set_yscale("log")
    bottom.set_ylabel("cost / cheapest method\n(log scale)")
    bottom.set_title("Structured graphs (exact: up to 20 intermediates; graphs.py)",
                     fontsize="medium")
    figure.suptitle("Jacobians of computational graphs: vertex elimination orders and graph "
                    "layers (lower is cheaper)", fontsize="medium")
    return _save(figure, "graph_methods.png")


def _save(figure, name: str) -> Path:
    save_figure(figure, RESULTS / name)
    return RESULTS / name


def _over_best_of_three(row: dict[str, str], column: str) -> float | None:
    if column == "AlphaGrad":
        return 1.0 - float(row["AlphaGrad reduction"])
    best = min(float(row[f"counted {name}"]) for name in ("forward", "reverse", "Markowitz"))
    value = number(row[column])
    return None if value is None else value / best


def _over_cheapest(row: dict[str, str], column: str) -> float | None:
    value = number(row[column])
    return None if value is None else value / float(row["best"])


def _grouped(axes, groups: list[str], series: dict[str, list[float | None]],
             clip: float | None = None) -> None:
    """Bars of each series side by side in each group; missing values left out; bars
    above ``clip`` cut there, their value written on them."""
    width = 0.85 / len(series)
    for i, (label, values) in enumerate(series.items()):
        where = [(g + (i - (len(series) - 1) / 2) * width, value)
                 for g, value in enumerate(values) if value is not None]
        axes.bar([x for x, _ in where], [v for _, v in where], width,
                 color=GRAPH_METHODS[label][2], label=label)
        for x, value in where:
            if clip is not None and value > clip:
                axes.annotate(f"{value:.1f}x", (x, clip), xytext=(0, -3),
                              textcoords="offset points", ha="center", va="top", rotation=90,
                              color="white", fontsize="small")
    axes.axhline(1.0, color="0.3", linewidth=0.8, linestyle="--")
    axes.set_xticks(range(len(groups)), [group.replace(", ", "\n") for group in groups],
                    fontsize="small", rotation=15, ha="right")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if clip is not None:
        axes.set_ylim(0, clip)
    else:
        axes.margins(y=0.15)


FIGURES: dict[str, Callable[[], Path]] = {
    "savings": savings_figure,
    "planner_speed": planner_speed_figure,
    "vs_frameworks": vs_frameworks_figure,
    "graph_methods": graph_methods_figure,
}


def main() -> None:
    for name, draw in FIGURES.items():
        try:
            print(f"wrote {draw()}")
        except FileNotFoundError as err:
            print(f"{name}: skipped, its table is missing ({err.filename})", file=sys.stderr)


if __name__ == "__main__":
    main()
