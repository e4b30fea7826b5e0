"""Figures of a graph plan: the graph with its elimination order, and the cost of each step.

Drawing needs the ``plot`` extra (matplotlib), imported only when a figure is drawn, and
uses matplotlib's object-oriented API (no pyplot). The shared helpers live in
:mod:`jacchain.plans.figure`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..chains.cost import DIAGONAL, IDENTITY, SPARSE
from ..plans.figure import (
    OPERATION_COLORS,
    check_int_option,
    cost_bars,
    cost_title,
    new_figure,
    save_figure,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["graph_plan_figure", "graph_positions", "ROLE_STYLES"]

ROLE_STYLES = {
    "input": ("tab:blue", "s"),
    "output": ("tab:red", "D"),
    "eliminated": ("tab:orange", "o"),
    "intermediate": ("tab:gray", "o"),
}
"""The color and marker of each kind of node: inputs, outputs, eliminated intermediates, and
intermediates that no elimination names (a plan by graph layers)."""

_EDGE_STYLES = {IDENTITY: ":", DIAGONAL: "--", SPARSE: "-."}
"""Line styles of the edges by structure; dense edges are solid."""

_MAX_ARROWS = 200
"""Edges are drawn as arrows up to this many, beyond as plain lines (the layout runs left to
right, inputs first)."""

_MAX_STEP_NAMES = 24
"""The step bars are named by their vertex up to this many steps."""

_MAX_STEP_VALUES = 12
"""The step bars carry their cost up to this many steps."""


def graph_positions(spec: Any) -> list[tuple[float, float]]:
    """A left-to-right layered layout of a graph spec: x the longest path from a source.

    Within each layer, nodes are ordered by the mean height of their predecessors (one
    barycenter pass), which keeps most edges from crossing.

    Parameters
    ----------
    spec : GraphSpec

    Returns
    -------
    list of (float, float)
        The position of each variable, by its position in ``spec.names``.

    Examples
    --------
    >>> import networkx as nx
    >>> from jacchain.graphs.graph import graph_spec
    >>> G = nx.DiGraph([("x", "a"), ("x", "b"), ("a", "y"), ("b", "y")])
    >>> nx.set_node_attributes(G, 1, "size")
    >>> graph_positions(graph_spec(G))
    [(0.0, 0.0), (1.0, -0.5), (1.0, 0.5), (2.0, 0.0)]
    """
    layer: list[int] = []
    for preds in spec.preds:  # names are in topological order
        layer.append(1 + max(layer[u] for u in preds) if preds else 0)
    height: list[float] = [0.0] * len(layer)
    members: dict[int, list[int]] = {}
    for v, at in enumerate(layer):
        members.setdefault(at, []).append(v)
    for at in sorted(members):
        nodes = members[at]
        if at:
            nodes.sort(key=lambda v: sum(height[u] for u in spec.preds[v]) / len(spec.preds[v]))
        for i, v in enumerate(nodes):
            height[v] = i - (len(nodes) - 1) / 2
    return [(float(x), y) for x, y in zip(layer, height, strict=True)]


def graph_plan_figure(
    plan: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    max_labels: int = 60,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a graph plan: the graph and its elimination order, each step's cost, the totals.

    Top, the graph, inputs on the left: inputs, outputs and intermediates are told apart
    by color and marker, each eliminated vertex carries its place in the elimination
    order, and edges are solid (dense), dashed (diagonal) or dotted (identity). Bottom
    left, the cost of each step in order (eliminations, or the products of a plan by
    graph layers); bottom right, the cost of forward and reverse elimination and of every
    strategy tried, this plan's in red.

    Parameters
    ----------
    plan : GraphPlan
    path : str or path-like, optional
        Save the figure there too, in the format its suffix names.
    max_labels : int
        Write the nodes' names when the graph has at most this many (at least 0); the
        elimination order is written on every eliminated node up to that many as well.
    figsize : (float, float), optional
        Width and height in inches (default: larger for larger graphs).
    title : str, optional
        The figure's title (default: a one-line summary of the plan).

    Returns
    -------
    matplotlib.figure.Figure
        Its texts and bars carry gids: ``"jacchain-order-<n>"`` for the n-th eliminated
        vertex, ``"jacchain-node-<name>"`` for a node's name, ``"jacchain-bar-step-<n>"``
        for step n and ``"jacchain-bar-<strategy>"`` for the totals.

    Raises
    ------
    MissingExtraError, JacChainError
        As :func:`~jacchain.plans.figure.plan_figure` does (no matplotlib; a bad option or
        suffix).

    Examples
    --------
    >>> import jacchain as jc
    >>> t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
    >>> figure = graph_plan_figure(jc.plan_graph(t.graph, t.inputs, t.outputs))
    >>> type(figure).__name__, len(figure.axes)
    ('Figure', 3)
    """
    max_labels = check_int_option(max_labels, "max_labels", 0)
    spec = plan.spec
    positions = graph_positions(spec)
    if figsize is None:
        width = max(x for x, _ in positions) if positions else 0.0
        tall = max((abs(y) for _, y in positions), default=0.0)
        figsize = (min(8.0 + 0.6 * width, 20.0), min(5.5 + 0.8 * tall, 10.0))
    figure = new_figure("GraphPlan.plot()", figsize)
    grid = figure.add_gridspec(2, 2, height_ratios=[3, 2], width_ratios=[2.2, 1])
    graph_axes = figure.add_subplot(grid[0, :])
    _draw_graph(graph_axes, plan, positions, max_labels)
    _draw_steps(figure.add_subplot(grid[1, 0]), plan)
    named = dict(plan.candidates)
    named.setdefault("forward", plan.forward_cost)
    named.setdefault("reverse", plan.reverse_cost)
    names = ["forward", "reverse"] + [name for name in named if name not in ("forward", "reverse")]
    costs = [named[name] for name in names]
    if plan.strategy in named:
        highlight = names.index(plan.strategy)
    else:
        names, costs, highlight = [*names, "this plan"], [*costs, plan.cost], len(names)
    totals = figure.add_subplot(grid[1, 1])
    cost_bars(totals, names, costs, highlight=highlight)
    totals.tick_params(axis="x", labelrotation=30)
    totals.set_title("the Jacobian, by each strategy", fontsize="medium")
    how = "graph layers" if plan.strategy == "chain" else f"{plan.strategy} elimination"
    figure.suptitle(title if title is not None else cost_title(
        f"{plan.mode} plan ({how}) of a graph of {len(spec.names)} variables", plan),
        fontsize="medium")
    return save_figure(figure, path)


def _draw_graph(axes: Axes, plan: Any, positions: list[tuple[float, float]],
                max_labels: int) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    spec = plan.spec
    if len(spec.edges) <= _MAX_ARROWS:
        for u, v, code in spec.edges:
            skips = positions[v][0] - positions[u][0] > 1  # bent, so as not to hide the path
            axes.annotate("", positions[v], positions[u], arrowprops={
                "arrowstyle": "-|>", "color": "0.45", "linestyle": _EDGE_STYLES.get(code, "-"),
                "shrinkA": 7, "shrinkB": 7, "linewidth": 0.9,
                "connectionstyle": f"arc3,rad={-0.25 if skips else 0}"})
    else:
        axes.add_collection(LineCollection(
            [(positions[u], positions[v]) for u, v, _ in spec.edges], colors="0.6",
            linewidths=0.5, linestyles=[_EDGE_STYLES.get(code, "-") for _, _, code in spec.edges]))
    inputs, outputs = set(spec.inputs), set(spec.outputs)
    place = {name: n for n, name in enumerate(plan.order or (), start=1)}

    def role(v: int) -> str:
        if v in inputs:
            return "input"
        if v in outputs:
            return "output"
        return "eliminated" if spec.names[v] in place else "intermediate"

    roles = [role(v) for v in range(len(spec.names))]
    size = 150 if len(spec.names) <= max_labels else 20
    for name, (color, marker) in ROLE_STYLES.items():
        where = [positions[v] for v in range(len(spec.names)) if roles[v] == name]
        if where:
            axes.scatter([x for x, _ in where], [y for _, y in where], s=size, c=color,
                         marker=marker, edgecolors="black", linewidths=0.5, zorder=3, label=name)
    labelled = len(spec.names) <= max_labels
    for v, name in enumerate(spec.names):
        x, y = positions[v]
        if name in place and labelled:
            axes.annotate(str(place[name]), (x, y), ha="center", va="center", fontsize="x-small",
                          color="white", weight="bold", zorder=4,
                          gid=f"jacchain-order-{place[name]}")
        if labelled:
            axes.annotate(spec.label(v), (x, y), xytext=(0, -9), textcoords="offset points",
                          ha="center", va="top", fontsize="x-small", gid=f"jacchain-node-{name}")
    axes.margins(0.08, 0.15)
    axes.set_axis_off()
    handles, _ = axes.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.45", linestyle=style, label=label) for style, label in
                (("-", "dense edge"), ("--", "diagonal edge"), (":", "identity edge"))]
    axes.legend(handles=handles, loc="upper left", fontsize="x-small", frameon=False,
                bbox_to_anchor=(1.0, 1.0), markerscale=0.6)
    what = ("numbers: the elimination order" if plan.order and labelled else
            f"{len(spec.names)} nodes, unlabelled past max_labels={max_labels}" if plan.order else
            f"planned as a chain of {len(plan.chain_plan.chain)} graph layers"
            if plan.chain_plan is not None else "nothing to eliminate")
    axes.set_title(f"the graph, inputs left ({what})", fontsize="small")


def _draw_steps(axes: Axes, plan: Any) -> None:
    steps = list(plan.steps)
    if not steps:
        axes.text(0.5, 0.5, "no steps: the edges are the Jacobian's blocks", ha="center",
                  va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    eliminations = plan.order is not None
    colors = [ROLE_STYLES["eliminated"][0] if eliminations else OPERATION_COLORS[step.operation]
              for step in steps]
    bars = cost_bars(axes, [f"step-{step.index}" for step in steps],
                     [step.cost for step in steps], values=len(steps) <= _MAX_STEP_VALUES,
                     color=colors)
    if len(steps) <= _MAX_STEP_NAMES:
        axes.set_xticks(range(len(bars)), [
            f"{step.index}\n{str(step.vertex)[:12]}" if eliminations
            else f"{step.index}\n{step.result.label}"
            for step in steps], fontsize="x-small")
    else:
        every = -(-len(steps) // 10)
        axes.set_xticks(range(0, len(steps), every),
                        [str(step.index) for step in steps[::every]])
    axes.set_xlabel("step, in order" + (" (and the vertex eliminated)" if eliminations
                                        and len(steps) <= _MAX_STEP_NAMES else ""))
    axes.set_title("cost of each elimination" if eliminations else
                   "cost of each step of the chain of graph layers", fontsize="medium")
