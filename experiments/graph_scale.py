"""How long does ``jacchain.plan_graph`` take on large graphs? Path graphs, random DAGs, deep nets.

Times ``jc.plan_graph(G, method=...)`` (validation, layering or elimination ordering, the
costs of forward and reverse mode, and the GraphPlan with its steps; the report is timed
separately as ``str(plan)``) on

- ``path``: ``0 -> 1 -> ... -> n-1`` for n = 2,000 / 6,000 / 10,000 nodes, under ``"auto"``
  and ``"chain"``;
- ``DAG, pairs``: random DAGs of n = 1,000 / 5,000 nodes and 3n edges, each edge a pair
  ``u < v`` drawn uniformly among all pairs (draw u and v uniformly in 0..n-1, reject
  ``u == v`` and repeats, orient from the smaller to the larger);
- ``DAG, v first``: the same sizes, each edge drawn as v uniform in 1..n-1, then u uniform
  in 0..v-1 (rejecting repeats): early nodes become hubs with many successors;
- ``path + chords``: for ``"exact"``, whose time grows as 2^m with the m intermediates:
  m + 2 nodes, edges ``j-1 -> j`` and ``u -> j`` for u uniform in 0..j-1, input 0 and
  output m + 1, for m = 12 / 16 / 20 (16 is the most ``"auto"`` tries exactly, 20 the
  most ``"exact"`` accepts), under ``"exact"`` and ``"auto"``;
- ``residual net``: ``experiments/graphs.py``'s residual network (width 64, bottleneck 16,
  scalar output) of 100 / 200 / 1,000 blocks: 4 nodes and 401 to 4,001 graph layers per
  100 blocks, all structured (sparse), so that the chain planner sees a long structured
  chain.

The random DAGs run under ``"auto"`` and each method separately (``"exact"`` refuses more
than 20 intermediates and is not run). Node sizes are uniform in 1..10
(``numpy.random.default_rng(seed)``, drawn before the edges), nodes are the ints 0..n-1,
every edge is dense and carries ``kind`` only (planning needs no Jacobian values); inputs
and outputs are the default sources and sinks. BLAS threads are pinned to one before numpy
is imported. Each case runs ``--repeats`` times, the cases interleaved (round r runs every
case once), and the minimum wall time and the minimum CPU time (``time.process_time``: the
machine may be shared) are kept; a case slower than ``--slow`` seconds runs once.

``--before CSV`` merges the seconds and costs of an earlier run (of the code before a
change, say) into the table, matched by graph, nodes and method, and ``--note`` adds a
sentence on it to the header; ``--skip TEXT`` leaves out the graphs whose name contains
TEXT (repeatable); ``--out STEM`` writes STEM.md and STEM.csv instead of
experiments/results/graph_scale.{md,csv}.

Run:  python experiments/graph_scale.py [--repeats 3] [--seed 0] [--slow 20]
          [--before OLD.csv --note TEXT] [--skip TEXT] [--out STEM]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from graphs import residual_network  # noqa: E402
from tables import RESULTS, markdown_table, with_progress, write_csv  # noqa: E402

import jacchain as jc  # noqa: E402

PATH_NODES = (2_000, 6_000, 10_000)
DAG_NODES = (1_000, 5_000)
RESIDUAL_BLOCKS = (100, 200, 1_000)
EXACT_INTERMEDIATES = (12, 16, 20)
EDGES_PER_NODE = 3
MAX_SIZE = 10
DAG_METHODS = ("auto", "chain", "forward", "reverse", "markowitz")
COLUMNS = [
    "graph",
    "nodes",
    "edges",
    "method",
    "strategy",
    "seconds",
    "cpu seconds",
    "report seconds",
    "cost",
]
BEFORE_COLUMNS = ["before seconds", "before cpu seconds", "speedup", "same result"]


def sized_graph(n: int, rng: np.random.Generator) -> nx.DiGraph:
    """Nodes 0..n-1 with sizes uniform in 1..10, no edges yet."""
    G = nx.DiGraph()
    for i, size in enumerate(rng.integers(1, MAX_SIZE + 1, size=n).tolist()):
        G.add_node(i, size=size)
    return G


def path_graph(n: int, seed: int) -> nx.DiGraph:
    """A path of ``n`` nodes, dense edges (kinds only)."""
    G = sized_graph(n, np.random.default_rng(seed))
    G.add_edges_from(((i, i + 1) for i in range(n - 1)), kind="dense")
    return G


def random_dag(n: int, n_edges: int, seed: int, v_first: bool = False) -> nx.DiGraph:
    """``n`` nodes and ``n_edges`` distinct dense edges u -> v with u < v.

    By default every pair u < v is equally likely (u and v drawn independently and
    uniformly in 0..n-1, ``u == v`` rejected, the pair oriented from the smaller); with
    ``v_first``, v is drawn uniformly in 1..n-1 and then u uniformly in 0..v-1. Repeated
    pairs are drawn again.
    """
    rng = np.random.default_rng(seed)
    G = sized_graph(n, rng)
    edges: set[tuple[int, int]] = set()
    while len(edges) < n_edges:
        if v_first:
            v = int(rng.integers(1, n))
            edges.add((int(rng.integers(0, v)), v))
            continue
        u, v = (int(x) for x in rng.integers(0, n, size=2))
        if u != v:
            edges.add((min(u, v), max(u, v)))
    G.add_edges_from(sorted(edges), kind="dense")
    return G


def chorded_path(m: int, seed: int) -> nx.DiGraph:
    """A path of m + 2 nodes plus one random chord into each node: m intermediates."""
    rng = np.random.default_rng(seed)
    G = sized_graph(m + 2, rng)
    for j in range(1, m + 2):
        G.add_edge(j - 1, j, kind="dense")
        G.add_edge(int(rng.integers(0, j)), j, kind="dense")
    return G


def digest(order: tuple | None) -> str:
    """A short fingerprint of an elimination order (empty for the chain strategy)."""
    return "" if order is None else hashlib.sha1(repr(order).encode()).hexdigest()[:12]


def run_case(graph: nx.DiGraph, method: str) -> dict:
    """Plan once and render the report once; their times and the plan's result."""
    start, cpu = time.perf_counter(), time.process_time()
    p = jc.plan_graph(graph, method=method)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    str(p)
    report = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu seconds": cpu_seconds,
        "report seconds": report,
        "strategy": p.strategy,
        "cost": p.cost,
        "forward cost": p.forward_cost,
        "reverse cost": p.reverse_cost,
        "order digest": digest(p.order),
    }


def cases(seed: int) -> list[tuple[str, nx.DiGraph, str]]:
    """Every (graph name, graph, method) to time."""
    found = []
    for n in PATH_NODES:
        found += [("path", path_graph(n, seed), method) for method in ("auto", "chain")]
    for name, v_first in (("DAG, pairs", False), ("DAG, v first", True)):
        for n in DAG_NODES:
            G = random_dag(n, EDGES_PER_NODE * n, seed, v_first)
            found += [(name, G, method) for method in DAG_METHODS]
    for m in EXACT_INTERMEDIATES:
        found += [("path + chords", chorded_path(m, seed), method) for method in ("exact", "auto")]
    for blocks in RESIDUAL_BLOCKS:
        G = residual_network(blocks, 64, 16, 1)
        found += [("residual net", G, method) for method in ("auto", "chain")]
    return found


def measure(
    todo: list, repeats: int, slow: float, log: Callable[[str], None] = print
) -> list[dict]:
    """Min over ``repeats`` interleaved rounds of every case (a slow case runs once)."""
    rows: list[dict | None] = [None] * len(todo)
    for round_ in with_progress(range(repeats), "graph_scale: rounds"):
        for i, (name, graph, method) in enumerate(todo):
            row = rows[i]
            if row is not None and row["seconds"] > slow:
                continue
            result = run_case(graph, method)
            if row is None:
                row = rows[i] = {
                    "graph": name,
                    "nodes": graph.number_of_nodes(),
                    "edges": graph.number_of_edges(),
                    "method": method,
                    **result,
                }
            elif (result["cost"], result["order digest"]) != (row["cost"], row["order digest"]):
                raise RuntimeError(f"{name} {method}: the plan changed between runs")
            for key in ("seconds", "cpu seconds", "report seconds"):
                row[key] = min(row[key], result[key])
            log(
                f"round {round_ + 1}: {name} n={row['nodes']} {method}: "
                f"{result['seconds']:.3f} s (cpu {result['cpu seconds']:.3f} s, report "
                f"{result['report seconds']:.3f} s), cost {row['cost']:,} by {row['strategy']}"
            )
    return [row for row in rows if row is not None]


def merge_before(rows: list[dict], path: str) -> None:
    """Add the seconds and results of an earlier run (a CSV of this script) to ``rows``."""
    with open(path, newline="") as handle:
        earlier = {(r["graph"], r["nodes"], r["method"]): r for r in csv.DictReader(handle)}
    for row in rows:
        old = earlier.get((row["graph"], str(row["nodes"]), row["method"]))
        if old is None:
            row.update(dict.fromkeys(BEFORE_COLUMNS, "not run"))
            continue
        same = [old[key] == str(row[key]) for key in ("cost", "strategy", "order digest")]
        row["before seconds"] = float(old["seconds"])
        row["before cpu seconds"] = float(old["cpu seconds"])
        row["speedup"] = f"{float(old['seconds']) / row['seconds']:.1f}x"
        row["same result"] = "yes" if all(same) else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=20.0, help="seconds; run such cases once")
    parser.add_argument("--before", help="CSV of an earlier run to compare with")
    parser.add_argument("--note", default="", help="a sentence on the earlier run")
    parser.add_argument("--skip", action="append", default=[], help="leave out these graphs")
    parser.add_argument("--out", help="output path stem (default experiments/results/graph_scale)")
    args = parser.parse_args()
    todo = [case for case in cases(args.seed) if not any(s in case[0] for s in args.skip)]
    rows = measure(todo, args.repeats, args.slow)
    columns = list(COLUMNS)
    if args.before:
        merge_before(rows, args.before)
        columns[7:7] = BEFORE_COLUMNS
    stem = Path(args.out) if args.out else RESULTS / "graph_scale"
    extra = ["forward cost", "reverse cost", "order digest"]
    write_csv(str(stem.with_suffix(".csv")), rows, columns + extra)  # absolute: kept by /
    header = (
        "# plan_graph on large graphs\n\n"
        f"`python experiments/graph_scale.py --repeats {args.repeats} --seed {args.seed} "
        f"--slow {args.slow:g}"
        f"{' --before ' + args.before if args.before else ''}`: minimum of {args.repeats} "
        f"interleaved runs (cases slower than {args.slow:g} s run once), one BLAS thread. "
        "Sizes 1..10; random DAGs have 3 edges per node, u < v (see the script for both "
        "generators); residual nets are experiments/graphs.py's (width 64, bottleneck "
        "16). `cpu seconds` is process time (the machine may be shared); `same result` "
        "compares cost, strategy and elimination order with the earlier run. "
        f"{args.note}\n\n"
    )
    stem.with_suffix(".md").write_text(header + markdown_table(rows, columns) + "\n")
    print(markdown_table(rows, columns))


if __name__ == "__main__":
    main()
