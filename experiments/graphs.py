"""Graph layers against vertex elimination: what each method costs on DAGs.

Plans the Jacobian of structured computational graphs (residual networks, a wide-and-deep
net, diamond lattices) and of random DAGs with every method of ``jacchain.plan_graph``:
graph layers planned as a chain ("chain"), and vertex elimination in forward, reverse,
Markowitz and exact (optimal; at most 20 intermediates) order. Costs are multiply-adds
under jacchain's cost model (identity edges free, diagonal edges counted by their size).
Prints the tables and writes experiments/results/graphs.md and graphs.csv.

Run:  python experiments/graphs.py [--random 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import networkx as nx
import numpy as np
from figures import graph_methods_figure

import jacchain as jc
from jacchain.graphs.elimination import MAX_EXACT_INTERMEDIATES, elimination_graph
from jacchain.graphs.graph import graph_spec
from jacchain.testing import random_dag

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("chain", "forward", "reverse", "markowitz", "exact")


def residual_network(blocks: int, width: int, bottleneck: int, n_out: int) -> nx.DiGraph:
    """x -> [z + W2 act(W1 z)] * blocks -> W_out z: bottleneck residual blocks, identity skips."""
    G = nx.DiGraph()
    G.add_node("x", size=width)
    z = "x"
    for i in range(1, blocks + 1):
        G.add_node(f"h{i}", size=bottleneck)
        G.add_node(f"a{i}", size=bottleneck)
        G.add_node(f"o{i}", size=width)
        G.add_node(f"z{i}", size=width)
        G.add_edge(z, f"h{i}", kind="dense")
        G.add_edge(f"h{i}", f"a{i}", kind="diagonal")
        G.add_edge(f"a{i}", f"o{i}", kind="dense")
        G.add_edge(z, f"z{i}", kind="identity")
        G.add_edge(f"o{i}", f"z{i}", kind="identity")
        z = f"z{i}"
    G.add_node("y", size=n_out)
    G.add_edge(z, "y", kind="dense")
    return G


def wide_and_deep(n_in: int, depth: int, hidden: int, n_out: int) -> nx.DiGraph:
    """y = W_wide x + deep(x): a linear model beside an MLP of ``depth`` hidden layers."""
    G = nx.DiGraph()
    G.add_node("x", size=n_in)
    G.add_node("wide", size=n_out)
    G.add_edge("x", "wide", kind="dense")
    previous = "x"
    for i in range(1, depth + 1):
        G.add_node(f"h{i}", size=hidden)
        G.add_node(f"a{i}", size=hidden)
        G.add_edge(previous, f"h{i}", kind="dense")
        G.add_edge(f"h{i}", f"a{i}", kind="diagonal")
        previous = f"a{i}"
    G.add_node("deep", size=n_out)
    G.add_edge(previous, "deep", kind="dense")
    G.add_node("y", size=n_out)
    G.add_edge("wide", "y", kind="identity")
    G.add_edge("deep", "y", kind="identity")
    return G


def diamond_lattice(rows: int, cols: int, sizes: tuple[int, ...]) -> nx.DiGraph:
    """A rows x cols grid from (0, 0) to the far corner, every edge dense; sizes cycle by diagonal."""
    G = nx.DiGraph()
    for i in range(rows):
        for j in range(cols):
            G.add_node((i, j), size=sizes[(i + j) % len(sizes)])
    for i in range(rows):
        for j in range(cols):
            if i + 1 < rows:
                G.add_edge((i, j), (i + 1, j), kind="dense")
            if j + 1 < cols:
                G.add_edge((i, j), (i, j + 1), kind="dense")
    return G


STRUCTURED = [
    ("residual net, 4 blocks, 256/64, scalar loss", lambda: residual_network(4, 256, 64, 1)),
    ("residual net, 4 blocks, 256/64, 256 outputs", lambda: residual_network(4, 256, 64, 256)),
    ("residual net, 12 blocks, 256/64, scalar loss", lambda: residual_network(12, 256, 64, 1)),
    ("wide-and-deep, 1000 in, 5 x 256, 1 out", lambda: wide_and_deep(1000, 5, 256, 1)),
    ("wide-and-deep, 1000 in, 5 x 256, 100 out", lambda: wide_and_deep(1000, 5, 256, 100)),
    ("diamond lattice 4 x 5, sizes 100/10", lambda: diamond_lattice(4, 5, (100, 10))),
    ("diamond lattice 4 x 5, sizes 10/100/1000", lambda: diamond_lattice(4, 5, (10, 100, 1000))),
    ("diamond lattice 8 x 8, sizes 100/10", lambda: diamond_lattice(8, 8, (100, 10))),
]


def costs_of(graph: nx.DiGraph) -> dict:
    """Plan ``graph`` by every method: costs, the number of intermediates, planning times."""
    eg = elimination_graph(graph_spec(graph))
    row = {"variables": len(eg.spec.names), "intermediates": len(eg.intermediates)}
    for method in METHODS:
        if method == "exact" and len(eg.intermediates) > MAX_EXACT_INTERMEDIATES:
            row[method] = None
            continue
        start = time.perf_counter()
        row[method] = jc.plan_graph(graph, method=method).cost
        row[f"{method} seconds"] = time.perf_counter() - start
    known = {m: row[m] for m in METHODS if row[m] is not None}
    row["best"] = min(known.values())
    row["winners"] = ", ".join(m for m in METHODS if known.get(m) == row["best"])
    row["pure / best"] = min(row["forward"], row["reverse"]) / max(row["best"], 1)
    return row


def fmt(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def random_rows(count: int, seed: int) -> list[dict]:
    """Summaries over random DAGs of three sizes: each method's cost relative to the best."""
    rng = np.random.default_rng(seed)
    families = [
        ("12 nodes, sizes 1-64", 12, 0.35),
        ("18 nodes, sizes 1-64", 18, 0.25),
        ("40 nodes, sizes 1-64 (no exact)", 40, 0.15),
    ]
    rows = []
    for name, n_nodes, p in families:
        ratios = {m: [] for m in METHODS}
        wins = dict.fromkeys(METHODS, 0)
        drawn = 0
        while drawn < count:
            G, inputs, outputs = random_dag(rng, n_nodes=n_nodes, max_size=64, edge_probability=p)
            for _u, _v, data in G.edges(data=True):
                del data["jacobian"]  # planning only
            eg = elimination_graph(graph_spec(G, inputs, outputs))
            if not eg.intermediates or (
                n_nodes < 40 and len(eg.intermediates) > MAX_EXACT_INTERMEDIATES
            ):
                continue
            drawn += 1
            costs = {}
            for method in METHODS:
                if method == "exact" and n_nodes >= 40:
                    continue
                costs[method] = jc.plan_graph(G, inputs, outputs, method).cost
            best = min(costs.values())
            for method, cost in costs.items():
                ratios[method].append(cost / best if best else 1.0)
                wins[method] += cost == best
        rows.append(
            {
                "family": name,
                "graphs": count,
                **{
                    f"{m} mean": (float(np.mean(ratios[m])) if ratios[m] else None)
                    for m in METHODS
                },
                **{f"{m} best": (wins[m] / count if ratios[m] else None) for m in METHODS},
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=100, help="random DAGs per family")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    structured = []
    for name, build in STRUCTURED:
        row = {"graph": name, **costs_of(build())}
        structured.append(row)
        print(
            f"{name:<46} {row['intermediates']:>3} to eliminate  "
            + "  ".join(f"{m} {fmt(row[m])}" for m in METHODS)
        )
    random = random_rows(args.random, args.seed)
    for row in random:
        print(row)

    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "graphs.csv", "w", newline="") as handle:
        fields = ["graph", "variables", "intermediates", *METHODS, "best", "winners"]
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(structured)
        handle.write("\n")
        fields = ["family", "graphs", *(f"{m} mean" for m in METHODS)]
        fields += [f"{m} best" for m in METHODS]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(random)

    lines = [
        "# Graph layers against vertex elimination",
        "",
        f"`python experiments/graphs.py --random {args.random} --seed {args.seed}`. Costs in "
        "multiply-adds (identity edges free, diagonal edges counted by their size); "
        "'—': exact elimination skipped (more than 20 intermediates); "
        "'pure / best' is min(forward, reverse) over the cheapest method.",
        "",
        "| graph | variables | to eliminate | chain | forward | reverse | markowitz | exact "
        "| cheapest | pure / best |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in structured:
        lines.append(
            f"| {row['graph']} | {row['variables']} | {row['intermediates']} | "
            + " | ".join(fmt(row[m]) for m in METHODS)
            + f" | {row['winners']} | {row['pure / best']:.2f}× |"
        )
    lines += [
        "",
        f"Random DAGs ({args.random} per family; edge kinds dense, diagonal, identity drawn "
        "uniformly, diagonal and identity only between equal sizes; inputs the sources, "
        "outputs the sinks and each other node with probability 0.2): mean cost over the "
        "cheapest method, and how often each method is the cheapest.",
        "",
        "| family | "
        + " | ".join(f"{m} mean" for m in METHODS)
        + " | "
        + " | ".join(f"{m} cheapest" for m in METHODS)
        + " |",
        "|---|" + "---|" * (2 * len(METHODS)),
    ]
    for row in random:
        means = " | ".join(
            "—" if row[f"{m} mean"] is None else f"{row[f'{m} mean']:.3f}" for m in METHODS
        )
        best = " | ".join(
            "—" if row[f"{m} best"] is None else f"{100 * row[f'{m} best']:.0f}%" for m in METHODS
        )
        lines.append(f"| {row['family']} | {means} | {best} |")
    (RESULTS / "graphs.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'graphs.md'}, {RESULTS / 'graphs.csv'} and "
          f"{graph_methods_figure()}")


if __name__ == "__main__":
    main()
