"""The main job, ``jacchain demo``: three chains planned, executed, verified and timed."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from ..execution.verify import verify
from ..plans.plan import Plan, plan
from ..plans.report import format_dims
from ..testing import random_jacobians

__all__ = ["DEMO_CHAINS", "run_demo", "time_plan", "graph_demo"]

DEMO_CHAINS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("MLP-like chain, narrow output: reverse mode wins", (784, 512, 512, 256, 10)),
    ("tall chain, narrow input: forward mode wins", (10, 256, 512, 512, 784)),
    (
        "hourglass chain: a mixed order wins by a large factor",
        (1024, 1024, 1024, 4, 1024, 1024, 1024),
    ),
)


def time_plan(chain_plan: Plan, jacobians: Sequence[np.ndarray], repeats: int = 3) -> float:
    """Best-of-``repeats`` wall time in seconds of executing ``chain_plan`` on ``jacobians``.

    Only the products are timed: the input checks are skipped (``check_finite=False``), so
    every strategy is measured on the same work the cost model counts.

    Examples
    --------
    >>> import jacchain as jc
    >>> time_plan(jc.plan([3, 4, 5]), [np.ones((4, 3)), np.ones((5, 4))], repeats=1) >= 0
    True
    """
    best = float("inf")
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        chain_plan.evaluate(jacobians, check_finite=False)
        best = min(best, time.perf_counter() - start)
    return best


def run_demo(out: TextIO | None = None, repeats: int = 3, seed: int = 0) -> list[dict]:
    """Plan, evaluate, verify and time the built-in demo chains; print a side-by-side table.

    Parameters
    ----------
    out : file-like, optional
        Where to print (default: standard output).
    repeats : int
        Each evaluation is timed as the best of this many runs.
    seed : int
        Seed of the random Jacobians.

    Returns
    -------
    list of dict
        One row per chain and strategy: chain, strategy, predicted cost, measured seconds.

    Examples
    --------
    >>> import io
    >>> rows = run_demo(io.StringIO(), repeats=1)
    >>> sorted({row["strategy"] for row in rows})
    ['forward', 'plan', 'reverse']
    """
    out = sys.stdout if out is None else out
    rng = np.random.default_rng(seed)
    rows = []
    print("jacchain demo: plan the cheapest product order, run it, check it, time it", file=out)
    print(
        f"(cost = scalar multiply-adds; time = best of {repeats} runs; ratios are to the plan)",
        file=out,
    )
    for title, dims in DEMO_CHAINS:
        chosen = plan(dims)
        strategies = [
            ("forward", plan(dims, "forward")),
            ("reverse", plan(dims, "reverse")),
            ("plan", chosen),
        ]
        jacobians = random_jacobians(dims, rng)
        check = verify(chosen, jacobians)
        print(
            f"\n{title}\n  dims {format_dims(dims)}; planned order: {chosen.mode}, "
            f"{chosen.expression}",
            file=out,
        )
        print(
            f"  {'strategy':<16} {'predicted cost':>16} {'pred. ratio':>12} "
            f"{'measured time':>14} {'meas. ratio':>12}",
            file=out,
        )
        timings = {name: time_plan(p, jacobians, repeats) for name, p in strategies}
        for name, p in strategies:
            label = f"plan ({p.mode})" if name == "plan" else name
            rows.append(
                {
                    "chain": title,
                    "dims": dims,
                    "strategy": name,
                    "cost": p.cost,
                    "seconds": timings[name],
                }
            )
            print(
                f"  {label:<16} {p.cost:>16,} {p.cost / max(chosen.cost, 1):>11.2f}x "
                f"{1e3 * timings[name]:>11.2f} ms {timings[name] / timings['plan']:>11.2f}x",
                file=out,
            )
        print(
            f"  verified against both pure modes: max relative difference "
            f"{max(check.forward_rel_diff, check.reverse_rel_diff):.1e}",
            file=out,
        )
    graph_demo(out)
    return rows


def graph_demo(out: TextIO | None = None) -> dict[str, np.ndarray]:
    """Trace e = (a + b)(b + 1) at a = 2, b = 1 and compute its Jacobian by every graph method.

    Parameters
    ----------
    out : file-like, optional
        Where to print (default: standard output).

    Returns
    -------
    dict
        The Jacobian by each method of :func:`jacchain.plan_graph`.

    Examples
    --------
    >>> import io
    >>> {method: J.tolist() for method, J in graph_demo(io.StringIO()).items()}["exact"]
    [[2.0, 5.0]]
    """
    from ..graphs.graph_plan import GRAPH_METHODS, plan_graph
    from ..graphs.tracer import Tracer

    out = sys.stdout if out is None else out
    tracer = Tracer()
    a, b = tracer.input(2.0, "a"), tracer.input(1.0, "b")
    c = (a + b).named("c")
    d = (b + 1).named("d")
    e = (c * d).named("e")
    graph = tracer.to_graph([e])
    dense = graph.copy()
    for _u, _v, data in dense.edges(data=True):
        data["kind"] = "dense"
    print(
        "\ncomputational graph: e = (a + b) * (b + 1) at a = 2, b = 1, traced with "
        "jacchain.Tracer\n  b feeds two nodes, so de/db sums two paths: 1*d + 1*c = 1*2 + 1*3 = 5",
        file=out,
    )
    print(
        f"  {'method':<10} {'plan':<30} {'cost':>5} {'all dense':>10}  Jacobian [de/da, de/db]",
        file=out,
    )
    results = {}
    for method in GRAPH_METHODS:
        chosen = plan_graph(graph, ["a", "b"], ["e"], method)
        if chosen.strategy == "chain":
            how = f"graph layers {format_dims(chosen.layers.widths)}"
        else:
            how = f"{chosen.strategy} elimination ({', '.join(map(str, chosen.order))})"
        results[method] = chosen.evaluate(graph)
        dense_cost = plan_graph(dense, ["a", "b"], ["e"], method).cost
        print(
            f"  {method:<10} {how:<30} {chosen.cost:>5} {dense_cost:>10}  {results[method]}",
            file=out,
        )
    print(
        "  (the edges of + are identities and multiplying by one is free;\n"
        "  'all dense' costs every edge as a dense 1x1 block)",
        file=out,
    )
    return results


DASK_DIMS = [3000, 2000, 50, 2000, 3000]
"""The chain ``jacchain demo --dask`` runs on a local Dask cluster."""


def dask_demo(out: TextIO | None = None, seed: int = 0, n_workers: int = 2,
              processes: bool = True) -> dict[str, Any]:
    """One chain planned here and evaluated on a local Dask cluster (extra ``dask``): its
    Jacobians made block by block on the workers, the plan's products as blocked dask
    matmuls, the result checked against numpy's; prints the cluster's dashboard link.

    Parameters
    ----------
    out : file-like, optional
        Where to print (default: standard output).
    seed : int
        Seed of the random Jacobians.
    n_workers : int
        Workers of the local cluster (one thread each).
    processes : bool
        Workers in processes (the default, as on a real cluster) or threads.

    Returns
    -------
    dict
        ``dashboard`` (the link), ``seconds`` (the cluster's run), ``max_error`` (against
        numpy).

    Examples
    --------
    >>> import io
    >>> result = dask_demo(io.StringIO(), processes=False)  # doctest: +SKIP
    >>> result["max_error"] < 1e-9  # doctest: +SKIP
    True

    (Skipped in the doctests, which run without the ``dask`` extra; ``tests/test_dask.py``
    runs it.)
    """
    import dask.array as da
    from distributed import Client, LocalCluster

    out = sys.stdout if out is None else out
    chain_plan = plan(DASK_DIMS)
    print(f"jacchain demo --dask: dims {format_dims(DASK_DIMS)}, plan {chain_plan.expression} "
          f"({chain_plan.cost:,} multiply-adds)", file=out)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes) as cluster, \
            Client(cluster) as client:
        print(f"  a LocalCluster of {n_workers} workers; dashboard: {client.dashboard_link}", file=out)
        state = da.random.RandomState(seed)
        Js = [state.standard_normal((m, n), chunks=1000) / np.sqrt(n)
              for n, m in zip(DASK_DIMS[:-1], DASK_DIMS[1:], strict=True)]
        Js = client.persist(Js)
        start = time.perf_counter()
        J = chain_plan.evaluate(Js).compute()
        seconds = time.perf_counter() - start
        expected = chain_plan.evaluate([block.compute() for block in Js])
        link = client.dashboard_link
    error = float(np.max(np.abs(J - expected)))
    print(f"  the {J.shape[0]} x {J.shape[1]} Jacobian in {seconds:.2f} s on the cluster; "
          f"largest difference from numpy's {error:.1e}", file=out)
    return {"dashboard": link, "seconds": seconds, "max_error": error}
