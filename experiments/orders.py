"""Elimination orders: jacchain's search against forward, reverse, Markowitz and AlphaGrad.

Two parts:

- **The ten Graphax / AlphaGrad tasks** (``graphax_tasks.py``): each program's graph of
  structured partials (as ``jacchain.jax.graph`` builds it), costed in both conventions
  (``counted``: every product of partials counts, AlphaGrad's; ``free``: products with
  +-1 partials are free). Per convention: forward, reverse, Markowitz and the search
  (``method="search"``, ``--time-limit`` seconds, seed 0), the search's reduction below the
  best of the three, and AlphaGrad's published counts and reduction.
- **Random DAGs** of 20 to 500 vertices (``graph_scale.random_dag``: sizes 1-10, three
  dense edges per vertex, inputs the sources and outputs the sinks), planned with
  ``jc.plan_graph``: forward, reverse, Markowitz, search (``--dag-time-limit`` seconds) and,
  within the exact limit (20 intermediates), the optimum and the search's gap to it.

With ``--timings``, a third part runs the orders: each task's Jacobian jitted, unbatched
and under ``jax.vmap`` over 128 inputs, by jacchain's ``"auto"`` order and by the searched
order (free convention, which jacchain executes by), against ``jax.jacrev`` (float32, XLA on
one thread, minimum of 150 interleaved calls): fewer multiply-adds do not always mean less
time.

Planning times are wall-clock seconds on this machine. Writes
experiments/results/orders.md and orders.csv.

Run:  python experiments/orders.py [--time-limit 10] [--dag-time-limit 1] [--seeds 5]
                                   [--tasks RoeFlux_1d ...] [--timings] [--exact-sizes 30 ...]
                                   [--no-write]
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402
import csv  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import graph_methods_figure  # noqa: E402
from tables import with_progress  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

ALPHAGRAD = {
    "RoeFlux_1d": (620, 364, 407, 320),
    "RoeFlux_3d": (1556, 979, 956, 811),
    "RobotArm_6DOF": (397, 301, 288, 231),
    "HumanHeartDipole": (240, 172, 194, 148),
    "PropaneCombustion": (151, 90, 111, 88),
    "g": (632, 566, 451, 417),
    "BlackScholes_Jacobian": (545, 572, 350, 312),
    "f": (17728, 9333, 12257, 6374),
    "Encoder": (135956, 4688, 51896, 4656),
    "Perceptron": (11012, 392, 4796, 389),
}
"""Published forward / reverse / Markowitz / AlphaGrad multiplication counts (Lohoff and
Neftci, 2024; AlphaGrad's convention, ``counted``). AlphaGrad's RoeFlux_3d best of the
three is 938 in its results table, 956 in its Markowitz column; the table's 938 is used
for its reduction."""


def task_graph(name: str) -> Any:
    """The program graph of task ``name`` (``jacchain.jax.graph``'s), traced at seed 0's
    float32 inputs."""
    import graphax_tasks as gt
    import numpy as np

    from jacchain.jax.program import program_graph, trace_program

    task = gt.TASKS[name]
    program, _, _ = trace_program(task.function, *task.inputs(seed=0, dtype=np.float32))
    return program_graph(program, program.inputs)


def scalar_bounds(graph: Any, order: Any, counted: int) -> tuple[int | str, int | str, float | str]:
    """For a graph of scalars whose partials all multiply: a lower bound on the counted cost
    of every vertex order, the optimum (the pruned exact DP, within its 62 intermediates,
    else "") and the DP's seconds; ("", "", "") for other graphs.

    There, each product of two partials counts one multiplication and sums are free, which
    is the linearized graph's cost with unit sizes and dense edges, so the cut bounds of
    :mod:`jacchain.graphs.cuts` and the exact DP hold for every order (checked here on
    ``order``, whose ``counted`` cost the planner found).
    """
    import networkx as nx

    from jacchain.graphs.cuts import elimination_bounds
    from jacchain.graphs.elimination import elimination_graph, order_cost
    from jacchain.graphs.graph import graph_spec
    from jacchain.graphs.pruned import MAX_PRUNED_INTERMEDIATES, optimal_order

    edges = graph.partials()
    if any(graph.shapes[v] != () for v in graph.shapes) or not all(
            p.arithmetic for p in edges.values()):
        return "", "", ""
    G = nx.DiGraph()
    G.add_nodes_from(graph.shapes, size=1)
    G.add_edges_from(edges, kind="dense")
    spec = graph_spec(G, list(graph.inputs), [o for o in graph.outputs if o is not None])
    linearized = elimination_graph(spec)
    index = {name: i for i, name in enumerate(spec.names)}
    assert order_cost(linearized, tuple(index[v] for v in order)) == counted
    bound = elimination_bounds(linearized).lower_bound()
    if len(linearized.intermediates) > MAX_PRUNED_INTERMEDIATES:
        return bound, "", ""
    start = time.perf_counter()
    optimum = optimal_order(linearized)[1]
    return bound, optimum, time.perf_counter() - start


def task_rows(names: list[str], time_limit: float) -> list[dict[str, Any]]:
    from jacchain.programs.elimination import plan_program

    rows = []
    for name in with_progress(names, "orders: tasks"):
        graph = task_graph(name)
        edges, inner = graph.partials(), graph.intermediates
        row: dict[str, Any] = {"task": name, "vertices": len(graph.shapes), "edges": len(edges),
                               "intermediates": len(inner)}
        for convention in ("counted", "free"):
            assembly = {c: graph.assembly_cost(c) for c in ("counted", "free")}
            start = time.perf_counter()
            plan = plan_program(edges, inner, "search", unit_partials=convention,
                                assembly_cost=assembly, time_limit=time_limit, seed=0)
            seconds = time.perf_counter() - start
            best = min(plan.forward_cost, plan.reverse_cost, plan.markowitz_cost)
            row.update({
                f"{convention} forward": plan.forward_cost,
                f"{convention} reverse": plan.reverse_cost,
                f"{convention} Markowitz": plan.markowitz_cost,
                f"{convention} search": plan.cost,
                f"{convention} reduction": 1 - plan.cost / best if best else 0.0,
                f"{convention} seconds": seconds,
            })
            if convention == "counted":
                bound, optimum, exact_seconds = scalar_bounds(graph, plan.order, plan.cost)
        forward, reverse, markowitz, alphagrad = ALPHAGRAD[name]
        best = min(forward, reverse, markowitz, 938 if name == "RoeFlux_3d" else markowitz)
        row.update({"AlphaGrad": alphagrad, "AlphaGrad reduction": 1 - alphagrad / best})
        same = (row["counted forward"], row["counted reverse"], row["counted Markowitz"]) == (
            forward, reverse, markowitz)
        ours = min(row["counted forward"], row["counted reverse"], row["counted Markowitz"])
        target = alphagrad if same else ours * (1 - row["AlphaGrad reduction"])
        row.update({
            "same baseline": same,
            "counted target": target if same else f"{target:.1f}",
            "counted lower bound": bound,
            "counted exact": optimum,
            "exact seconds": exact_seconds,
            "counted target met": row["counted search"] <= target,
            "provably unreachable": bound != "" and bound > target,
        })
        rows.append(row)
        print(f"{name}: counted {row['counted search']:,} ({row['counted reduction']:.1%} below "
              f"the best of three; AlphaGrad {row['AlphaGrad reduction']:.1%})", flush=True)
    return rows


def random_dags(sizes: list[int], seeds: int):
    """``(vertices, seed, graph, intermediates)`` for ``graph_scale.random_dag(n, 3 n, seed)``."""
    import graph_scale as gsc

    from jacchain.graphs.elimination import elimination_graph
    from jacchain.graphs.graph import graph_spec

    for n in sizes:
        for seed in range(seeds):
            G = gsc.random_dag(n, 3 * n, seed)
            yield n, seed, G, len(elimination_graph(graph_spec(G)).intermediates)


def dag_rows(sizes: list[int], seeds: int, time_limit: float) -> list[dict[str, Any]]:
    import jacchain as jc
    from jacchain.graphs.elimination import MAX_EXACT_INTERMEDIATES

    rows = []
    for n, seed, G, m in with_progress(random_dags(sizes, seeds), "orders: random DAGs",
                                       len(sizes) * seeds):
        start = time.perf_counter()
        searched = jc.plan_graph(G, method="search", time_limit=time_limit, seed=0)
        seconds = time.perf_counter() - start
        tried = dict(searched.candidates)
        best = min(tried["forward"], tried["reverse"], tried["markowitz"])
        row = {"vertices": n, "seed": seed, "intermediates": m,
               "forward": tried["forward"], "reverse": tried["reverse"],
               "Markowitz": tried["markowitz"], "search": searched.cost,
               "below Markowitz": 1 - searched.cost / tried["markowitz"],
               "below best of three": 1 - searched.cost / best,
               "search seconds": seconds, "exact": "", "gap to exact": ""}
        if m <= MAX_EXACT_INTERMEDIATES:
            exact = jc.plan_graph(G, method="exact").cost
            row.update({"exact": exact, "gap to exact": searched.cost / exact - 1})
        rows.append(row)
        if seed == seeds - 1:
            done = [r for r in rows if r["vertices"] == n]
            print(f"{n} vertices: {statistics.mean(r['below Markowitz'] for r in done):.1%} "
                  "below Markowitz on average", flush=True)
    return rows


def timing_rows(names: list[str], time_limit: float, repeats: int = 150) -> list[dict[str, Any]]:
    """Times (us) of each task's Jacobian by the "auto" and the searched order, and jacrev."""
    import graphax_tasks as gt
    import jax
    import numpy as np
    from graphax_suite import interleaved_min_times

    import jacchain.jax as jcj

    rows = []
    for name in with_progress(names, "orders: timings"):
        task = gt.TASKS[name]
        argnums = gt.all_argnums(task)
        row: dict[str, Any] = {"task": name}
        single = task.inputs(seed=0, dtype=np.float32)
        orders = {}
        for method in ("auto", "search"):
            plan = jcj.jacobian(task.function, argnums, method=method,
                                time_limit=time_limit).plan(*single)
            row[f"{method} cost"], orders[method] = plan.cost, plan.order
        for batched in (False, True):
            args = gt.batched_inputs(task, 128, seed=0, dtype=np.float32) if batched else single
            calls = {}
            for method in ("auto", "search", "jacrev"):
                if method == "jacrev":
                    f = jax.jacrev(task.function, argnums)
                else:  # the planned order itself: the same program under jax.vmap
                    f = jcj.jacobian(task.function, argnums, order=orders[method])
                f = jax.jit(jax.vmap(f) if batched else f)
                calls[method] = lambda f=f, args=args: f(*args)
            times = interleaved_min_times(calls, repeats)
            prefix = "batch " if batched else ""
            for method, seconds in times.items():
                row[f"{prefix}{method} us"] = 1e6 * seconds
            row[f"{prefix}search / auto"] = times["search"] / times["auto"]
        rows.append(row)
        print(f"{name}: search / auto {row['search / auto']:.2f} unbatched, "
              f"{row['batch search / auto']:.2f} at batch 128", flush=True)
    return rows


def exact_rows(sizes: list[int], seeds: int) -> list[dict[str, Any]]:
    """``method="exact"`` past the full DP's 20 intermediates: the pruned DP's time or
    where it gives up, against 1 s of search."""
    import jacchain as jc
    from jacchain.errors import MethodError

    rows = []
    for n, seed, G, m in with_progress(random_dags(sizes, seeds), "orders: exact",
                                       len(sizes) * seeds):
        start = time.perf_counter()
        try:
            exact: Any = jc.plan_graph(G, method="exact").cost
        except MethodError:
            exact = "gave up"
        seconds = time.perf_counter() - start
        searched = jc.plan_graph(G, method="search", time_limit=1.0, seed=0).cost
        rows.append({"vertices": n, "seed": seed, "intermediates": m, "exact": exact,
                     "exact seconds": seconds, "search (1 s)": searched})
        print(f"exact, {n} vertices, seed {seed}: {m} intermediates, {exact} in "
              f"{seconds:.1f} s", flush=True)
    return rows


def _cell(value: Any, column: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if "reduction" in column or "below" in column or "gap" in column:
            return f"{value:.1%}"
        if column.endswith(" us"):
            return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c], c) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def summary(dags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n in sorted({r["vertices"] for r in dags}):
        group = [r for r in dags if r["vertices"] == n]
        gaps = [r["gap to exact"] for r in group if r["gap to exact"] != ""]
        out.append({
            "vertices": n,
            "graphs": len(group),
            "mean intermediates": statistics.mean(r["intermediates"] for r in group),
            "mean below Markowitz": statistics.mean(r["below Markowitz"] for r in group),
            "mean below best of three": statistics.mean(r["below best of three"] for r in group),
            "worst below best of three": min(r["below best of three"] for r in group),
            "mean search seconds": statistics.mean(r["search seconds"] for r in group),
            "exact solved": len(gaps),
            "mean gap to exact": statistics.mean(gaps) if gaps else "",
            "worst gap to exact": max(gaps) if gaps else "",
        })
    return out


def main(argv: list[str] | None = None) -> None:
    import graphax_tasks as gt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0, help="search seconds per task")
    parser.add_argument("--dag-time-limit", type=float, default=1.0, help="per random DAG")
    parser.add_argument("--seeds", type=int, default=5, help="random DAGs per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100, 200, 500])
    parser.add_argument("--tasks", nargs="+", default=list(gt.TASKS))
    parser.add_argument("--timings", action="store_true", help="also time the orders")
    parser.add_argument("--exact-sizes", type=int, nargs="*", default=[],
                        help="random DAG sizes for the exact method past 20 intermediates")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    tasks = task_rows(args.tasks, args.time_limit)
    timings = timing_rows(args.tasks, args.time_limit) if args.timings else []
    dags = dag_rows(args.sizes, args.seeds, args.dag_time_limit)
    exacts = exact_rows(args.exact_sizes, args.seeds) if args.exact_sizes else []
    task_columns = ["task", "vertices", "intermediates",
                    *[f"counted {k}" for k in ("forward", "reverse", "Markowitz", "search",
                                               "reduction")],
                    "AlphaGrad", "AlphaGrad reduction", "same baseline", "counted target",
                    "counted lower bound", "counted exact", "exact seconds", "counted target met",
                    "provably unreachable",
                    "counted seconds",
                    *[f"free {k}" for k in ("forward", "reverse", "Markowitz", "search",
                                            "reduction", "seconds")]]
    dag_columns = ["vertices", "seed", "intermediates", "forward", "reverse", "Markowitz",
                   "search", "below Markowitz", "below best of three", "search seconds", "exact",
                   "gap to exact"]
    summary_rows = summary(dags)
    text = (
        "# Elimination orders: search against forward, reverse, Markowitz and AlphaGrad\n\n"
        f"Measured by `python experiments/orders.py {' '.join(sys.argv[1:])}` "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}). "
        "Costs are multiply-adds; reductions are below the best of forward, reverse and "
        "Markowitz; seconds are wall-clock planning time of the search (seeds included).\n\n"
        f"## The ten tasks (search: {args.time_limit:g} s, seed 0)\n\n"
        "`counted` is AlphaGrad's convention (multiplications, +-1 partials included, sums "
        "free). `same baseline`: jacchain's forward / reverse / Markowitz counts equal "
        "AlphaGrad's (the same graph); the `counted target` is then AlphaGrad's count, "
        "elsewhere the best of jacchain's three cut by AlphaGrad's reduction. `counted lower "
        "bound`: for graphs of scalars whose partials all multiply, a bound on every vertex "
        "order (the cut bounds of `jacchain/graphs/cuts.py` on the graph with unit sizes, "
        "whose cost is then the counted cost); `counted exact`: the optimum over vertex orders "
        "there (`method=\"exact\"`'s DP, up to 62 intermediates), found in `exact seconds`; "
        "`provably unreachable`: the bound exceeds the target.\n\n"
        + table(tasks, task_columns)
        + f"\n## Random DAGs (search: {args.dag_time_limit:g} s, seed 0)\n\n"
        + table(summary_rows, list(summary_rows[0]))
        + "\n### Every graph\n\n"
        + table(dags, dag_columns)
    )
    if exacts:
        text += (
            "\n## Exact past 20 intermediates (the pruned DP)\n\n"
            + table(exacts, list(exacts[0]))
        )
    if timings:
        text += (
            f"\n## Running the orders (free convention, search {args.time_limit:g} s)\n\n"
            "Times in microseconds, jitted, float32, XLA on one thread, minimum of 150"
            " interleaved calls; batch: `jax.vmap` over 128 inputs.\n\n"
            + table(timings, list(timings[0]))
        )
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "orders.md").write_text(text)
        with open(RESULTS / "orders.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=task_columns)
            writer.writeheader()
            writer.writerows({c: row[c] for c in task_columns} for row in tasks)
        graph_methods_figure()


if __name__ == "__main__":
    main()
