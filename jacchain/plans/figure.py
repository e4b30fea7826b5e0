"""Figures of a plan: its bracketing tree, where the cost goes, and the pure modes beside it.

Drawing needs the ``plot`` extra (matplotlib), imported only when a figure is drawn. The
figures are built with matplotlib's object-oriented API (``matplotlib.figure.Figure``,
never pyplot), so they draw without a display and leave the user's backend alone; in a
notebook, a returned Figure shows itself.

The helpers here (:func:`new_figure`, :func:`save_figure`, :func:`cost_bars`,
:func:`format_cost`) are shared with the figures of graph plans
(:mod:`jacchain.graphs.figure`). Costs are exact Python ints, which may exceed the range of
a float: they are drawn on a log scale, and past about 1e300 as their log10.
"""

from __future__ import annotations

import heapq
import math
import numbers
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..chains.operations import Operation
from ..errors import JacChainError, optional_import, shown
from ..solvers import is_exact

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plan_figure",
    "new_figure",
    "save_figure",
    "cost_bars",
    "format_cost",
    "ratio_text",
    "cost_title",
    "check_int_option",
    "OPERATION_COLORS",
]

OPERATION_COLORS = {
    "product": "tab:blue",
    "tangent": "tab:green",
    "adjoint": "tab:orange",
    "accumulate-tangent": "tab:olive",
    "accumulate-adjoint": "tab:brown",
}
"""The color of each step operation in the figures."""

_PLAIN_DIGITS = 10**8
"""Costs below this are written out with thousands separators, larger ones as ``1.02e12``."""

_FLOAT_BITS = 1000
"""Ints of more bits than this are drawn as their log10 (a float holds up to about 2**1024)."""

_OUTLINED_BARS = 60
"""Bars are outlined up to this many (beyond, outlines would hide them)."""
_LEVEL_LABELS = 3
"""Beyond this many bars, the cost written above each bar is turned upright."""

_LOG_SPREAD = 100
"""Bars go on a log scale when the largest positive cost exceeds the smallest this many times."""


def check_int_option(value: Any, name: str, least: int) -> int:
    """``value`` as an int of at least ``least``, or a JacChainError naming the option.

    Examples
    --------
    >>> check_int_option(40, "max_leaves", 2)
    40
    >>> check_int_option(1, "max_leaves", 2)
    Traceback (most recent call last):
    ...
    jacchain.errors.JacChainError: max_leaves must be an int >= 2, got 1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise JacChainError(f"{name} must be an int >= {least}, got {shown(value)}")
    return int(value)


def format_cost(cost: int) -> str:
    """A cost for a label: ``"30,000,000"`` below 1e8, else ``"1.02e12"`` (any size of int).

    Examples
    --------
    >>> format_cost(30_000_000), format_cost(10**12 + 2 * 10**10), format_cost(10**5000)
    ('30,000,000', '1.02e12', '1.00e5000')
    """
    cost = int(cost)
    if abs(cost) < _PLAIN_DIGITS:
        return f"{cost:,}"
    sign = "-" if cost < 0 else ""
    cost = abs(cost)
    exponent = int(math.log10(cost))
    if 10**exponent > cost:  # log10 rounded up across a power of ten
        exponent -= 1
    mantissa = f"{cost / 10**exponent:.2f}"  # int / int: correctly rounded at any size
    if mantissa == "10.00":
        exponent, mantissa = exponent + 1, "1.00"
    return f"{sign}{mantissa}e{exponent}"


def ratio_text(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as ``"2.94x"``, for exact ints of any size.

    Examples
    --------
    >>> ratio_text(30, 10), ratio_text(10**400, 1), ratio_text(5, 0)
    ('3.00x', '1.00e400x', '1.00x')
    """
    if denominator == 0:
        return "1.00x"
    try:
        return f"{numerator / denominator:.2f}x"
    except OverflowError:
        return f"{format_cost(numerator // denominator)}x"


def cost_title(what: str, plan: Any) -> str:
    """A figure's title: ``what``, then the plan's cost and its speedup over the pure modes.

    Examples
    --------
    >>> import jacchain as jc
    >>> cost_title("a plan", jc.plan([1000, 10, 1000, 10, 1000]))
    'a plan: 10,200,000 multiply-adds, speedup 2.94x over the best pure mode'
    """
    best_pure = min(plan.forward_cost, plan.reverse_cost)
    return (f"{what}: {format_cost(plan.cost)} multiply-adds, speedup "
            f"{ratio_text(best_pure, plan.cost)} over the best pure mode")


def new_figure(feature: str, figsize: tuple[float, float] | None = None) -> Figure:
    """A new matplotlib Figure (constrained layout), without pyplot.

    Parameters
    ----------
    feature : str
        What draws it, named in the error when matplotlib is missing.
    figsize : (float, float), optional
        Width and height in inches.

    Raises
    ------
    MissingExtraError
        When matplotlib is not installed (extra ``plot``).

    Examples
    --------
    >>> type(new_figure("this example", (4, 3))).__name__
    'Figure'
    """
    figure_module = optional_import("matplotlib.figure", "plot", feature)
    return figure_module.Figure(figsize=figsize, layout="constrained")


def save_figure(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    """Save ``figure`` to ``path`` in the format its suffix names (nothing when None).

    Raises
    ------
    JacChainError
        When ``path`` is not a file name, or its suffix not a format matplotlib writes
        (``.png``, ``.svg``, ``.pdf``, ...).
    OSError
        When the file cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = save_figure(new_figure("this example"), os.path.join(folder, "f.svg"))
    ...     os.listdir(folder)
    ['f.svg']
    >>> save_figure(new_figure("this example"), "figure.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jacchain.errors.JacChainError: cannot save a figure as 'figure.txt': its suffix must name an image format (... .pdf, ... .png, ... .svg, ...)
    """
    if path is None:
        return figure
    if not isinstance(path, (str, os.PathLike)):
        raise JacChainError(f"path must be a file name (str or path-like), got {shown(path)}")
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    formats = figure.canvas.get_supported_filetypes()
    if suffix not in formats:
        names = ", ".join(f".{name}" for name in sorted(formats))
        raise JacChainError(
            f"cannot save a figure as {shown(os.fspath(path))}: its suffix must name an image "
            f"format ({names})"
        )
    figure.savefig(path, format=suffix)
    return figure


def cost_bars(
    axes: Axes,
    names: Sequence[str],
    costs: Sequence[int],
    *,
    highlight: int | None = None,
    values: bool = True,
    color: str | Sequence[str] = "tab:gray",
) -> list[Any]:
    """Draw exact int costs as bars, on a scale that shows them, each bar's gid its name.

    The scale is linear, logarithmic when the positive costs spread over more than
    100x, and log10 of the costs (on a linear axis) when one of them is beyond a float's
    range. Each bar gets the gid ``"jacchain-bar-<name>"``.

    Parameters
    ----------
    axes : matplotlib.axes.Axes
    names : sequence of str
        The bars' names, shown under them.
    costs : sequence of int
        The costs in multiply-adds.
    highlight : int, optional
        The position of the bar to emphasize (the plan's own cost).
    values : bool
        Write each cost above its bar.
    color : str or sequence of str
        The bars' color(s).

    Returns
    -------
    list of matplotlib.patches.Rectangle
        The bars, in order.

    Examples
    --------
    >>> axes = new_figure("this example").add_subplot()
    >>> bars = cost_bars(axes, ["forward", "plan"], [10**6, 10**400], highlight=1)
    >>> [bar.get_gid() for bar in bars], axes.get_ylabel()
    (['jacchain-bar-forward', 'jacchain-bar-plan'], 'log10(multiply-adds)')
    """
    costs = [int(cost) for cost in costs]
    positive = [cost for cost in costs if cost > 0]
    if positive and max(positive).bit_length() > _FLOAT_BITS:
        heights = [math.log10(cost) if cost > 0 else 0.0 for cost in costs]
        label = "log10(multiply-adds)"
    else:
        heights = [float(cost) for cost in costs]
        label = "multiply-adds"
        if positive and max(positive) > _LOG_SPREAD * min(positive):
            axes.set_yscale("log")
            label = "multiply-adds (log scale)"
    colors = [color] * len(costs) if isinstance(color, str) else list(color)
    if highlight is not None:
        colors[highlight] = "tab:red"
    bars = list(axes.bar(range(len(costs)), heights, color=colors, edgecolor="black",
                         linewidth=0.5 if len(costs) <= _OUTLINED_BARS else 0))
    for bar, name in zip(bars, names, strict=True):
        bar.set_gid(f"jacchain-bar-{name}")
    if values:
        upright = len(costs) > _LEVEL_LABELS  # more bars: their labels turned, not overlapping
        for bar, cost in zip(bars, costs, strict=True):
            middle = bar.get_x() + bar.get_width() / 2
            where = ((middle, bar.get_height()), "data") if cost > 0 else ((middle, 0), (
                "data", "axes fraction"))  # a zero on a log scale: at the bottom
            axes.annotate(format_cost(cost), where[0], xycoords=where[1], xytext=(0, 2),
                          textcoords="offset points", ha="center", va="bottom",
                          fontsize="x-small" if upright else "small",
                          rotation=90 if upright else 0)
        axes.margins(y=0.8 if upright else 0.15)
    axes.set_xticks(range(len(costs)), list(names))
    axes.set_ylabel(label)
    return bars


class _Tree:
    """A plan's tree of steps, with the subtrees beyond ``max_leaves`` leaves collapsed.

    Nodes are ``("step", j)`` (the j-th step, from 0), ``("leaf", i)`` (layer i) and
    ``("range", a, b)`` (layers a..b that a tangent or adjoint step sweeps through).
    Nodes are expanded greedily, the costliest subtree first (then the widest), while
    the drawn leaves stay within ``max_leaves``: so the figure shows where the cost goes.
    """

    def __init__(self, plan: Any, max_leaves: int) -> None:
        k = len(plan.chain)
        self.rows = plan.step_array.tolist()
        self.costs = [int(cost) for cost in plan._costs]
        self.made = {(lo, hi): j for j, (_op, lo, _split, hi) in enumerate(self.rows)}
        self.subtree = []
        for j in range(len(self.rows)):
            below = sum(self.subtree[kid[1]] for kid in self.children(("step", j))
                        if kid[0] == "step")
            self.subtree.append(self.costs[j] + below)
        root = ("step", self.made[(1, k)]) if (1, k) in self.made else ("leaf", 1)
        self.expanded: set[tuple[Any, ...]] = set()
        self.frontier = {root}
        heap = [] if root[0] == "leaf" else [self._priority(root)]
        while heap:
            node = heapq.heappop(heap)[-1]
            kids = self.children(node)
            if len(self.frontier) - 1 + len(kids) > max_leaves:
                continue
            self.frontier.remove(node)
            self.frontier.update(kids)
            self.expanded.add(node)
            for kid in kids:
                if kid[0] != "leaf":
                    heapq.heappush(heap, self._priority(kid))

    def _priority(self, node: tuple[Any, ...]) -> tuple[Any, ...]:
        first, last = self.segment(node)
        return (-self.cost(node), first - last, node)

    def segment(self, node: tuple[Any, ...]) -> tuple[int, int]:
        """The layers ``(first, last)`` the node's product spans."""
        if node[0] == "step":
            _op, lo, _split, hi = self.rows[node[1]]
            return lo, hi
        if node[0] == "leaf":
            return node[1], node[1]
        return node[1], node[2]

    def cost(self, node: tuple[Any, ...]) -> int:
        """Multiply-adds of the node's subtree (0 for layers)."""
        return self.subtree[node[1]] if node[0] == "step" else 0

    def children(self, node: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The node's children, output side (higher layers) first."""
        if node[0] == "leaf":
            return []
        if node[0] == "range":
            return [("leaf", layer) for layer in range(node[2], node[1] - 1, -1)]
        op, lo, split, hi = self.rows[node[1]]
        if lo == hi:
            return [("leaf", lo)]
        left, right = self._part(split + 1, hi), self._part(lo, split)
        if op == Operation.TANGENT:
            left = self._swept(split + 1, hi)
        elif op == Operation.ADJOINT:
            right = self._swept(lo, split)
        return [left, right]

    def _part(self, first: int, last: int) -> tuple[Any, ...]:
        if (first, last) in self.made:
            return ("step", self.made[(first, last)])
        return self._swept(first, last)

    @staticmethod
    def _swept(first: int, last: int) -> tuple[Any, ...]:
        return ("leaf", first) if first == last else ("range", first, last)

    def drawn_children(self, node: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The children as drawn: an expanded range of swept layers gives its layers."""
        kids = []
        for kid in self.children(node):
            kids += self.children(kid) if kid[0] == "range" and kid in self.expanded else [kid]
        return kids


def plan_figure(
    plan: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    max_leaves: int = 40,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a plan's bracketing tree and its cost against forward and reverse mode.

    Left, the tree: the layers J_k ... J_1 along the bottom, each step a node above the
    two parts it joins, its marker sized and labelled by its share of the plan's cost,
    its color its operation (product, tangent or adjoint sweep, accumulation). Right, the
    cost of forward mode, of reverse mode and of this plan (red), in multiply-adds.

    Parameters
    ----------
    plan : Plan
    path : str or path-like, optional
        Save the figure there too, in the format its suffix names (``.png``, ``.svg``,
        ``.pdf``, ...).
    max_leaves : int
        Draw at most this many leaves (at least 2). In a longer plan the cheapest
        subtrees are collapsed: each is drawn as a triangle labelled with its layers and
        its share of the cost, and a note under the tree says how many.
    figsize : (float, float), optional
        Width and height in inches (default: wider for more leaves).
    title : str, optional
        The figure's title (default: a one-line summary of the plan).

    Returns
    -------
    matplotlib.figure.Figure
        Its texts and markers carry gids: ``"jacchain-leaf-<i>"`` for layer i,
        ``"jacchain-step-<n>"`` for step n, ``"jacchain-collapsed-<first>-<last>"`` for a
        collapsed subtree and ``"jacchain-bar-<name>"`` for the bars.

    Raises
    ------
    MissingExtraError
        When matplotlib is not installed (extra ``plot``).
    JacChainError
        For a bad option or a path whose suffix names no image format.

    Examples
    --------
    >>> import jacchain as jc
    >>> figure = plan_figure(jc.plan([1000, 10, 1000, 10, 1000]))
    >>> type(figure).__name__, len(figure.axes)
    ('Figure', 2)
    """
    max_leaves = check_int_option(max_leaves, "max_leaves", 2)
    tree = _Tree(plan, max_leaves)
    leaves = sorted(tree.frontier, key=lambda node: -tree.segment(node)[1])
    if figsize is None:
        figsize = (min(4.0 + 0.32 * len(leaves), 24.0) + 3.0, 4.8)
    figure = new_figure("Plan.plot()", figsize)
    grid = figure.add_gridspec(1, 2, width_ratios=[max(3.0, figsize[0] - 3.0), 2.4])
    tree_axes, bar_axes = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
    _draw_tree(tree_axes, plan, tree, leaves)
    structured = not plan.chain.is_dense
    names = ["tangent" if structured else "forward", "adjoint" if structured else "reverse",
             "optimal" if is_exact(plan.method, plan.chain, plan.memory_limit) else "chosen"]
    cost_bars(bar_axes, names, [plan.forward_cost, plan.reverse_cost, plan.cost], highlight=2)
    bar_axes.set_title("cost of the Jacobian", fontsize="medium")
    k = len(plan.chain)
    figure.suptitle(title if title is not None else cost_title(
        f"{plan.mode} plan of {k} layer{'s' if k != 1 else ''} (method {plan.method!r})", plan),
        fontsize="medium")
    return save_figure(figure, path)


def _draw_tree(axes: Axes, plan: Any, tree: _Tree, leaves: list[tuple[Any, ...]]) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    x = {node: float(i) for i, node in enumerate(leaves)}
    y = dict.fromkeys(leaves, 0.0)
    total = plan.cost
    lines, markers = [], []
    for j in sorted(index for kind, index, *_ in tree.expanded if kind == "step"):
        node = ("step", j)
        kids = tree.drawn_children(node)
        xs = [x[kid] for kid in kids]
        x[node], y[node] = (min(xs) + max(xs)) / 2, 1.0 + max(y[kid] for kid in kids)
        lines.append([(min(xs), y[node]), (max(xs), y[node])])
        lines += [[(x[kid], y[kid]), (x[kid], y[node])] for kid in kids]
        markers.append((node, tree.costs[j]))
    for node in leaves:
        if node[0] == "step":  # a collapsed subtree
            markers.append((node, tree.cost(node)))
    axes.add_collection(LineCollection(lines, colors="0.35", linewidths=1.0))
    rotate = len(leaves) > 12
    for node in leaves:
        first, last = tree.segment(node)
        collapsed = node[0] != "leaf"
        text = f"J{first}" if first == last else f"J{last}..J{first}"
        gid = f"jacchain-collapsed-{first}-{last}" if collapsed else f"jacchain-leaf-{first}"
        axes.annotate(text, (x[node], 0.0), xytext=(0, -6), textcoords="offset points",
                      ha="center", va="top", rotation=90 if rotate else 0, gid=gid,
                      fontsize="small", style="italic" if collapsed else "normal")
    for node, cost in markers:
        share = cost / total if total else 0.0
        op = Operation(tree.rows[node[1]][0]).label
        collapsed = node not in tree.expanded
        area = 30 + 400 * share  # points squared
        axes.scatter([x[node]], [y[node]], s=area, marker="^" if collapsed else "o",
                     color=OPERATION_COLORS[op], edgecolors="black", linewidths=0.5, zorder=3)
        first, last = tree.segment(node)
        gid = (f"jacchain-collapsed-share-{first}-{last}" if collapsed
               else f"jacchain-step-{node[1] + 1}")
        axes.annotate(_share_text(share), (x[node], y[node]), xytext=(0, area**0.5 / 2 + 2),
                      textcoords="offset points", ha="center", va="bottom", fontsize="x-small",
                      gid=gid)
    axes.set_xlim(-0.7, len(leaves) - 0.3)
    top = max(y.values())
    axes.set_ylim(-0.2, top * 1.08 + 0.7)  # room for the root's label
    axes.set_axis_off()
    used = sorted({Operation(tree.rows[node[1]][0]).label for node, _ in markers},
                  key=list(OPERATION_COLORS).index)
    handles = [Line2D([], [], marker="o", linestyle="", color=OPERATION_COLORS[op], label=op)
               for op in used]
    note = ("bracketing tree, output side left\nmarker size and label: each step's share of "
            "the plan's cost")
    hidden = [node for node in leaves if node[0] != "leaf"]
    if hidden:
        note += (f"\n{len(leaves)} of {len(plan.chain)} leaves drawn: {len(hidden)} subtrees "
                 "collapsed (\u25b2, labelled with the whole subtree's share); max_leaves= "
                 "draws more")
    if used != ["product"]:
        axes.legend(handles=handles, loc="upper left", fontsize="small", frameon=False,
                    title="step", title_fontsize="small")
    axes.set_title(note, fontsize="small")


def _share_text(share: float) -> str:
    if share == 0:
        return "0%"
    if share < 0.001:
        return "<0.1%"
    return f"{100 * share:.1f}%" if share < 0.1 else f"{100 * share:.0f}%"
