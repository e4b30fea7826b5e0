"""The experiments' figures, drawn from the tables they write to experiments/results/.

Each experiment calls its figure function right after writing its table; running this
file redraws every figure from the CSV (or markdown) tables already there (no timing is
re-run):

- savings.png: how much optimal saves over the best pure mode, per chain (savings.py);
- planner_speed.png: planning time against k, log-log, against numpy and opt_einsum
  (planner_speed.py);
- vs_frameworks.png: speedups over the frameworks' pure modes (vs_frameworks.py);
- graph_methods.png: the graph methods against each other and AlphaGrad (orders.py,
  graphs.py);
- scale_out.png: a chain on Dask, directions in chunks, the front ends' columns on a
  cluster: time and the driver's peak memory (scale_out.py, from its markdown tables);
- graphax_suite.png: jacchain's time over JAX's faster pure mode per Graphax task
  (graphax_suite.py);
- gdjcpb.png: tangent, adjoint and preaccumulation over the optimum per GDJCPB instance
  (gdjcpb.py);
- evaluate_overhead.png: a compiled plan, jc.evaluate and multi_dot over the bare
  products (evaluate_overhead.py);
- planner_limits.png: planning time against layers for the exact DPs and windowed
  (planner_limits.py).

Needs the ``plot`` extra (matplotlib); uses jacchain's figure helpers (no pyplot).

Run:  python experiments/figures.py
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

from tables import RESULTS

from jacchain.plans.figure import OPERATION_COLORS, new_figure, save_figure

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
METHOD_COLORS = {label: color for label, (_, _, color) in GRAPH_METHODS.items()}


def read_tables(name: str) -> list[list[dict[str, str]]]:
    """The tables of experiments/results/``name``: CSV sections separated by blank lines,
    or, for a ``.md`` file, its markdown tables in order (the text between them skipped)."""
    with open(RESULTS / name, newline="") as handle:
        sections = handle.read().strip().split("\n\n")
    if name.endswith(".md"):
        return [_markdown_rows(section) for section in sections if section.startswith("|")]
    return [list(csv.DictReader(section.splitlines())) for section in sections]


def number(cell: str) -> float | None:
    """A table cell as a float (thousands separators allowed); None when empty or not a
    number."""
    try:
        return float(cell.replace(",", ""))
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
        for label, (column, _, _) in GRAPH_METHODS.items() if column is not None},
        METHOD_COLORS, clip=1.6)
    top.set_ylabel("cost / best of forward,\nreverse and Markowitz")
    top.set_title("The ten Graphax tasks (counted convention; search 10 s; AlphaGrad: its "
                  "reduction below its own best of three; orders.py)", fontsize="medium")
    _grouped(bottom, [row["graph"] for row in graphs], {
        label: [_over_cheapest(row, column) for row in graphs]
        for label, (_, column, _) in GRAPH_METHODS.items() if column is not None},
        METHOD_COLORS)
    bottom.set_yscale("log")
    bottom.set_ylabel("cost / cheapest method\n(log scale)")
    bottom.set_title("Structured graphs (exact: up to 20 intermediates; graphs.py)",
                     fontsize="medium")
    figure.suptitle("Jacobians of computational graphs: vertex elimination orders and graph "
                    "layers (lower is cheaper)", fontsize="medium")
    return _save(figure, "graph_methods.png")


def scale_out_figure() -> Path:
    """scale_out.png: a chain on Dask against numpy (time and the driver's peak memory),
    directions in chunks (seconds and peak memory against the chunk) and the front ends'
    columns on the cluster (seconds a chunk), from scale_out.md's three tables."""
    import numpy as np

    chain, directions, front = read_tables("scale_out.md")
    figure = new_figure("experiments/figures.py", (15, 8.5))
    panels = figure.subplot_mosaic([["time", "memory", "front"], ["seconds", "growth", "front"]])
    variants = [row["variant"].replace(", ", ",\n") for row in chain][::-1]
    for key, column, text, xlabel in (
            ("time", "time vs numpy", "{:.2f}x", "time / numpy's time (x)"),
            ("memory", "peak_mb", "{:,.0f} MB", "driver's peak resident memory (MB)")):
        values = [number(row[column]) for row in chain][::-1]
        bars = panels[key].barh(variants, values, color="tab:blue")
        panels[key].bar_label(bars, [text.format(v) for v in values], fontsize="small",
                              padding=3)
        panels[key].set_xlabel(xlabel)
        panels[key].margins(x=0.25)
    panels["time"].axvline(1.0, color="0.3", linewidth=0.8, linestyle="--")
    panels["time"].set_title("Case 1: a chain of six dense Jacobians into the driver",
                             fontsize="medium", loc="left")
    panels["memory"].tick_params(labelleft=False)
    local = sorted((row for row in directions if row["variant"] != "cluster"),
                   key=lambda row: number(row["chunk"]))
    cluster = [row for row in directions if row["variant"] == "cluster"]
    chunks = np.array([number(row["chunk"]) for row in local])
    total = f"{chunks.max():,.0f} directions"  # the last: all at once
    for key, column, ylabel in (("seconds", "seconds", f"seconds for all {total}"),
                                ("growth", "peak_mb", "driver's peak resident memory (MB)")):
        axes = panels[key]
        values = np.array([number(row[column]) for row in local])
        axes.plot(chunks, values, "o-", color="tab:blue", label="in the process, in chunks "
                  "(the last point: all at once)")
        axes.plot([number(row["chunk"]) for row in cluster],
                  [number(row[column]) for row in cluster], "D", color="tab:red",
                  markersize=8, label="on the LocalCluster, in chunks")
        for chunk, value in zip(chunks, values, strict=True):
            axes.annotate(f"{chunk:,.0f}", (chunk, value), xytext=(0, 7),
                          textcoords="offset points", ha="center", fontsize="small")
        axes.set_xlabel("chunk (directions at a time)")
        axes.set_ylabel(ylabel)
        axes.set_xlim(-150, 4400)
        axes.margins(y=0.15)
        axes.grid(True, alpha=0.3)
    slope, intercept = np.polyfit(chunks, [number(row["peak_mb"]) for row in local], 1)
    line = np.array([0.0, chunks.max()])
    panels["growth"].plot(line, intercept + slope * line, ":", color="0.4",
                          label=f"least squares: {intercept:.0f} MB + {1000 * slope:.0f} kB "
                          "a direction")
    panels["growth"].set_ylim(bottom=0)
    panels["growth"].legend(fontsize="small", loc="lower right")
    panels["seconds"].legend(fontsize="small", loc="lower right")
    panels["seconds"].set_title(f"Case 2: {total} of a matrix-free function",
                                fontsize="medium", loc="left")
    panels["seconds"].set_ylim(bottom=0)
    frameworks = list(dict.fromkeys(row["framework"] for row in front))
    sizes = list(dict.fromkeys(row["chunk"] for row in front))
    cell = {(row["framework"], row["chunk"]): row for row in front}
    labels = {size: f"chunks of {size} columns ({cell[frameworks[0], size]['chunks']} tasks)"
              for size in sizes}
    _grouped(panels["front"], frameworks,
             {labels[size]: [number(cell[name, size]["seconds a chunk"]) for name in frameworks]
              for size in sizes},
             dict(zip(labels.values(), ("tab:cyan", "tab:blue"), strict=False)), baseline=None)
    for bars in panels["front"].containers:
        panels["front"].bar_label(bars, fmt="%.3f s", fontsize="small")
    panels["front"].legend(fontsize="small", loc="upper right")
    panels["front"].set_ylabel("seconds a chunk (trace, plan and run on a worker)")
    panels["front"].set_title("Case 3: the front ends' Jacobians on the cluster,\n"
                              "a task a chunk of columns", fontsize="medium", loc="left")
    figure.suptitle("Beyond one process: a chain on Dask, directions in chunks (LocalCluster "
                    "of 2 workers; scale_out.py)", fontsize="medium")
    return _save(figure, "scale_out.png")


def graphax_suite_figure() -> Path:
    """graphax_suite.png: jacchain's time over the faster of jax.jacfwd and jax.jacrev on
    each Graphax task, unbatched and under jax.vmap (from graphax_suite.csv)."""
    rows = read_tables("graphax_suite.csv")[0]
    series = {"one input set": [number(row["ratio"]) for row in rows]}
    if any(number(row.get("batch ratio", "")) is not None for row in rows):
        series["a batch of input sets (jax.vmap)"] = [number(row["batch ratio"]) for row in rows]
    figure = new_figure("experiments/figures.py", (12, 5))
    axes = figure.add_subplot()
    _grouped(axes, [row["task"] for row in rows], series,
             dict(zip(series, ("tab:blue", "tab:orange"), strict=False)))
    for bars in axes.containers:
        axes.bar_label(bars, fmt="%.2f", fontsize="x-small")
    axes.set_ylabel("jacchain's time / the faster of\njax.jacfwd's and jax.jacrev's (x)")
    axes.set_title("The Graphax tasks, jitted: jacchain's Jacobian against JAX's pure modes "
                   "(below 1: jacchain is faster; graphax_suite.py)", fontsize="medium")
    return _save(figure, "graphax_suite.png")


def gdjcpb_figure() -> Path:
    """gdjcpb.png: the costs of homogeneous tangent and adjoint mode and of preaccumulation
    over the optimal cost, per GDJCPB instance (from gdjcpb.csv); log scale when they
    spread over more than a factor of ten."""
    rows = read_tables("gdjcpb.csv")[0]
    modes = {  # gdjcpb.csv column: (label, its color's key in OPERATION_COLORS)
        "tangent": ("tangent: forward mode throughout", "tangent"),
        "adjoint": ("adjoint: reverse mode throughout", "adjoint"),
        "preaccumulation": ("preaccumulation: every factor, then their best product order",
                            "accumulate-tangent")}
    series = {label: [number(row[mode]) / number(row["optimal"]) for row in rows]
              for mode, (label, _) in modes.items()}
    figure = new_figure("experiments/figures.py", (13, 5.5))
    axes = figure.add_subplot()
    _grouped(axes, [f"{row['instance']}, {row['layers']} layers" for row in rows], series,
             {label: OPERATION_COLORS[color] for label, color in modes.values()})
    axes.tick_params(axis="x", labelrotation=35)
    spread = max(max(values) for values in series.values())
    if spread > 10:
        axes.set_yscale("log")
        axes.set_ylim(0.8, 2 * spread)
        axes.yaxis.set_major_formatter("{x:g}x")
    axes.set_ylabel("cost / optimal cost (x" + (", log scale)" if spread > 10 else ")"))
    axes.set_title("Naumann's generalized Jacobian chain instances: what each single strategy "
                   "costs over the optimum (multiply-adds; gdjcpb.py)", fontsize="medium")
    return _save(figure, "gdjcpb.png")


def evaluate_overhead_figure() -> Path:
    """evaluate_overhead.png: the time of a compiled plan, of jc.evaluate and of
    numpy.linalg.multi_dot over the hand-written products, per chain, against the
    products' time (from evaluate_overhead.csv)."""
    rows = read_tables("evaluate_overhead.csv")[0]
    runners = {"compiled": ("a compiled plan", "tab:blue", "o"),
               "evaluate": ("jc.evaluate(plan, ...)", "tab:orange", "s"),
               "multi_dot": ("numpy.linalg.multi_dot", "tab:red", "^")}
    figure = new_figure("experiments/figures.py", (8.5, 5.5))
    axes = figure.add_subplot()
    hand = [number(row["by hand us"]) for row in rows]
    for name, (label, color, marker) in runners.items():
        axes.plot(hand, [number(row[f"{name} / hand"]) for row in rows], marker, color=color,
                  markerfacecolor="none", label=label)
    axes.axhline(1.0, color="0.3", linewidth=0.8, linestyle="--")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter("{x:g}x")
    axes.yaxis.set_minor_formatter("{x:g}x")
    axes.set_xlabel("the hand-written products' time (microseconds, log scale)")
    axes.set_ylabel("time / the hand-written products' time (log scale)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", title=f"one point a chain ({len(rows)} chains)",
                title_fontsize="small")
    axes.set_title("Executing a plan: overhead over its bare products, float64, one BLAS "
                   "thread (evaluate_overhead.py)", fontsize="medium")
    return _save(figure, "evaluate_overhead.png")


def planner_limits_figure() -> Path:
    """planner_limits.png: planning time against layers, log-log: the exact DPs up to (and
    once past) their limits, the windowed planner beyond them (from planner_limits.csv; the
    refusals, which plan nothing, left out)."""
    rows = [row for row in read_tables("planner_limits.csv")[0]
            if "refused" not in row["method"]]
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        method = "windowed" if "windowed" in row["method"] else (
            "generalized DP" if row["case"].startswith("structured") else "DP")
        tables = ", Python-int tables" if "Python" in row["note"] else ""
        series.setdefault(f"{method}: {row['case']}{tables}", []).append(
            (number(row["layers"]), number(row["seconds"])))
    figure = new_figure("experiments/figures.py", (8.5, 5.5))
    axes = figure.add_subplot()
    for label, points in series.items():
        axes.plot(*zip(*sorted(points), strict=True), "s" if "Python" in label else "o-",
                  markersize=7, label=label)
    for row in rows:
        if "past its limit" in row["method"]:
            axes.annotate(row["method"], (number(row["layers"]), number(row["seconds"])),
                          xytext=(8, -4), textcoords="offset points", fontsize="small")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("layers k (log scale)")
    axes.set_ylabel("planning time (seconds, log scale)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    axes.set_title("Planning time: the exact O(k^3) DPs, and windowed past their limits "
                   "(planner_limits.py)", fontsize="medium")
    return _save(figure, "planner_limits.png")


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
             colors: dict[str, str], clip: float | None = None,
             baseline: float | None = 1.0) -> None:
    """Bars of each series side by side in each group, in its color from ``colors``;
    missing values left out; bars above ``clip`` cut there, their value written on them;
    a dashed line at ``baseline`` (none when None)."""
    width = 0.85 / len(series)
    for i, (label, values) in enumerate(series.items()):
        where = [(g + (i - (len(series) - 1) / 2) * width, value)
                 for g, value in enumerate(values) if value is not None]
        axes.bar([x for x, _ in where], [v for _, v in where], width,
                 color=colors[label], label=label)
        for x, value in where:
            if clip is not None and value > clip:
                axes.annotate(f"{value:.1f}x", (x, clip), xytext=(0, -3),
                              textcoords="offset points", ha="center", va="top", rotation=90,
                              color="white", fontsize="small")
    if baseline is not None:
        axes.axhline(baseline, color="0.3", linewidth=0.8, linestyle="--")
    axes.set_xticks(range(len(groups)), [group.replace(", ", "\n") for group in groups],
                    fontsize="small", rotation=15, ha="right")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if clip is not None:
        axes.set_ylim(0, clip)
    else:
        axes.margins(y=0.15)


def _markdown_rows(table: str) -> list[dict[str, str]]:
    """The rows of a markdown table (its header, a rule, then ``| a | b |`` lines) as dicts."""
    header, _, *lines = ([cell.strip() for cell in line.strip().strip("|").split("|")]
                         for line in table.splitlines())
    return [dict(zip(header, cells, strict=True)) for cells in lines]


FIGURES: dict[str, Callable[[], Path]] = {
    "savings": savings_figure,
    "planner_speed": planner_speed_figure,
    "vs_frameworks": vs_frameworks_figure,
    "graph_methods": graph_methods_figure,
    "scale_out": scale_out_figure,
    "graphax_suite": graphax_suite_figure,
    "gdjcpb": gdjcpb_figure,
    "evaluate_overhead": evaluate_overhead_figure,
    "planner_limits": planner_limits_figure,
}


def main() -> None:
    for name, draw in FIGURES.items():
        try:
            print(f"wrote {draw()}")
        except FileNotFoundError as err:
            print(f"{name}: skipped, its table is missing ({err.filename})", file=sys.stderr)


if __name__ == "__main__":
    main()
