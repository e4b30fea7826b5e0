"""The planners' limits: how long the cubic planners take at their limits, how fast they refuse,
and what "windowed" (what "auto" uses past the generalized DP's limit) costs and finds.

Rows:
- ``dp`` on a dense chain (dims uniform in [1, 1000]: int64 tables) at 750 and 1,500 layers
  (its limit), and with dims in [10^7, 10^8) (costs beyond int64: Python-int tables) at 300
  layers (that limit);
- the generalized DP (``dp`` on a structured chain: a random mix of dense, diagonal and
  matrix-free layers, sizes in [1, 100)) at 250 and 500 layers (its limit), and with
  sizes in [10^6, 10^7) at 200 layers (its Python-int limit);
- the refusals: ``dp`` on 100,001 dense layers and on 100,000 structured layers, with the
  peak memory traced while refusing;
- ``windowed`` on 1,000 structured layers, against the exact optimum (the generalized DP's
  tables filled directly, past its limit: ``fill_table``),
  and ``auto`` (hence ``windowed``) on 10,000 and 100,000 structured layers, with the cost
  found against the best pure mode.

Each time is the best of ``--repeats`` runs (one run for the multi-second cases); BLAS is
pinned to one thread. Writes experiments/results/planner_limits.md and .csv.

Run:  python experiments/planner_limits.py [--repeats 3]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
from figures import planner_limits_figure  # noqa: E402
from tables import RESULTS, markdown_table, write_csv  # noqa: E402

import jacchain as jc  # noqa: E402
from jacchain.chains.cost import layer_table  # noqa: E402
from jacchain.solvers.generalized import accumulation_costs, fill_table  # noqa: E402


def dense_dims(k: int, low: int, high: int, seed: int = 0) -> list[int]:
    return np.random.default_rng(seed).integers(low, high, k + 1).tolist()


def structured_chain(k: int, low: int, high: int, seed: int = 0) -> jc.Chain:
    rng = np.random.default_rng(seed)
    layers, n = [], int(rng.integers(low, high))
    for _ in range(k):
        kind = rng.choice(["dense", "diagonal", "matrix-free"])
        if kind == "diagonal":
            layers.append(jc.Layer(n, n, "diagonal"))
            continue
        m = int(rng.integers(low, high))
        if kind == "dense":
            layers.append(jc.Layer(n, m))
        else:
            edges = int(rng.integers(1, n * m + 1))
            layers.append(jc.Layer(n, m, "matrix-free", edges=edges))
        n = m
    return jc.Chain(layers)


def timed(run, repeats: int):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def refusal(chain_or_dims) -> tuple[float, int, str]:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        jc.plan(chain_or_dims, method="dp")
        message = "(planned!)"
    except jc.MethodError as err:
        message = str(err)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []

    def add(case, layers, method, seconds, plan=None, note=""):
        row = {"case": case, "layers": layers, "method": method, "seconds": seconds}
        if plan is not None:
            row.update(
                cost=plan.cost,
                best_pure=min(plan.forward_cost, plan.reverse_cost),
                speedup=plan.speedup,
            )
        row["note"] = note
        rows.append(row)
        print({key: value for key, value in row.items() if key != "note"}, note[:80], flush=True)

    for k, repeats in ((750, args.repeats), (1500, 1)):
        seconds, p = timed(lambda k=k: jc.plan(dense_dims(k, 1, 1000), "dp"), repeats)
        add("dense, dims in [1, 1000)", k, "dp", seconds, p, "int64 tables")
    seconds, p = timed(lambda: jc.plan(dense_dims(300, 10**7, 10**8), "dp"), 1)
    add("dense, dims in [1e7, 1e8)", 300, "dp", seconds, p, "Python-int tables")
    for k, repeats in ((250, args.repeats), (500, 1)):
        chain = structured_chain(k, 1, 100)
        seconds, p = timed(lambda chain=chain: jc.plan(chain, "dp"), repeats)
        add("structured, sizes in [1, 100)", k, "dp (generalized)", seconds, p, "int64 tables")
    chain = structured_chain(200, 10**6, 10**7)
    seconds, p = timed(lambda: jc.plan(chain, "dp"), 1)
    add("structured, sizes in [1e6, 1e7)", 200, "dp (generalized)", seconds, p, "Python ints")

    seconds, peak, message = refusal([7, 3] * 50001)
    add("dense [7, 3] * 50001", 100_001, "dp (refused)", seconds, note=f"peak {peak / 2**20:.1f} MiB: {message}")
    long = jc.Chain([jc.Layer(7, 3), jc.Layer(3, 7, "matrix-free", edges=21)] * 50_000)
    seconds, peak, message = refusal(long)
    add("structured 100,000", 100_000, "dp (refused)", seconds, note=f"peak {peak / 2**20:.1f} MiB: {message}")

    chain = structured_chain(1000, 1, 100, seed=1)
    table = layer_table(chain)
    start = time.perf_counter()
    exact = fill_table(table, accumulation_costs(table, None))
    add("structured, sizes in [1, 100)", 1000, "exact DP past its limit", time.perf_counter() - start)
    seconds, p = timed(lambda: jc.plan(chain, "windowed"), args.repeats)
    add(
        "structured, sizes in [1, 100)",
        1000,
        "windowed",
        seconds,
        p,
        f"exact optimum {exact.cost:,}: windowed / optimum = {p.cost / exact.cost:.4f}",
    )
    for k in (10_000, 100_000):
        chain = structured_chain(k, 1, 100, seed=2)
        seconds, p = timed(lambda chain=chain: jc.plan(chain), 1)
        add("structured, sizes in [1, 100)", k, "auto (windowed)", seconds, p)

    columns = ["case", "layers", "method", "seconds", "cost", "best_pure", "speedup", "note"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "planner_limits.md").write_text(
        "# Planner limits\n\n"
        f"Measured by `python experiments/planner_limits.py --repeats {args.repeats}` "
        f"(jacchain {jc.__version__}) on this 2-core machine, BLAS pinned to one thread; "
        "costs in multiply-adds, speedup = best pure mode / cost.\n\n"
        + markdown_table(rows, columns)
        + "\n"
    )
    write_csv("planner_limits.csv", rows, columns)
    print(f"\nwrote {RESULTS / 'planner_limits.md'}, planner_limits.csv and "
          f"{planner_limits_figure().name}")


if __name__ == "__main__":
    main()
