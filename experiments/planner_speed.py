"""How fast do the planners plan? jacchain's dp, hu-shing and approx vs numpy and opt_einsum.

For each chain length k, one random chain (dims uniform in [1, 1000]) is planned by
- jacchain ``plan(dims, "dp")``: the vectorized exact O(k^3) dynamic program, timed as a
  whole ``jc.plan`` call (``dp``) and as the ordering routine alone (``dp_steps``, the
  like-for-like comparison with numpy's routine),
- jacchain ``plan(dims, "hu-shing")``: Hu and Shing's exact O(k log k) algorithm,
- jacchain ``plan(dims, "approx")``: the O(k) approximation (within 2/sqrt(3)),
- numpy's ordering routine behind ``numpy.linalg.multi_dot``
  (``numpy.linalg._linalg._multi_dot_matrix_chain_order``, pure-Python O(k^3)) on
  zero-copy ``np.broadcast_to`` arrays,
- opt_einsum's ``"dp"`` optimizer on the equivalent chain einsum (optional extra ``bench``),

each only where its predicted time (extrapolated from the previous k by its complexity) is
under a minute; numpy's and opt_einsum's routines run in a child process that is stopped
at the one-minute budget. Every time is the best of several runs for fast cases. All ratios come from
this one run. A second table compares dp and hu-shing on short chains, the measurement
behind ``method="auto"``. Writes experiments/results/planner_speed.md and .csv.

Run:  python experiments/planner_speed.py [--max-k 1000000] [--budget 60]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
from functools import partial

import numpy as np
from figures import planner_speed_figure
from tables import RESULTS, default_cell, markdown_table, with_progress, write_csv

import jacchain as jc
from jacchain.solvers.dp import dp_steps

LENGTHS = (10, 100, 300, 1000, 10_000, 100_000, 1_000_000)


def best_time(function, budget: float = 0.5, max_repeats: int = 5) -> tuple[float, object]:
    """Best wall time of ``function()``, repeated while the total stays under ``budget``."""
    start = time.perf_counter()
    result = function()
    best = time.perf_counter() - start
    spent = best
    repeats = 1
    while repeats < max_repeats and spent + best < budget:
        start = time.perf_counter()
        function()
        elapsed = time.perf_counter() - start
        best, spent, repeats = min(best, elapsed), spent + elapsed, repeats + 1
    return best, result


def numpy_order(dims: np.ndarray):
    from numpy.linalg._linalg import _multi_dot_matrix_chain_order

    pairs = zip(dims[:-1], dims[1:], strict=True)
    arrays = [np.broadcast_to(np.empty(1), (int(a), int(b))) for a, b in pairs]

    def order() -> int:
        _, costs = _multi_dot_matrix_chain_order(arrays, return_costs=True)
        return int(costs[0, -1])

    return order


def opt_einsum_order(dims: np.ndarray):
    import opt_einsum as oe

    k = dims.size - 1
    symbol = oe.get_symbol
    equation = ",".join(symbol(i) + symbol(i + 1) for i in range(k)) + "->" + symbol(0) + symbol(k)
    shapes = [(int(a), int(b)) for a, b in zip(dims[:-1], dims[1:], strict=True)]
    return lambda: oe.contract_path(equation, *shapes, shapes=True, optimize="dp") and None


EXTERNAL = ("numpy", "opt_einsum")
"""Routines timed in a child process that is stopped when it runs past the budget."""


def _child(function, queue) -> None:
    seconds, cost = best_time(function)
    queue.put((seconds, cost))


def time_with_limit(function, limit: float) -> tuple[float | None, int | None]:
    """``best_time(function)`` in a forked child; (None, None) if it runs past ``limit``."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(function, queue))
    child.start()
    child.join(limit)
    if child.is_alive():
        child.terminate()
        child.join()
        return None, None
    return queue.get()


def _optional_opt_einsum() -> bool:
    try:
        import opt_einsum  # noqa: F401
    except ImportError:
        return False
    return True


COMPLEXITY = {
    "dp": lambda k: k**3,
    "dp_steps": lambda k: k**3,
    "hu-shing": lambda k: k * math.log(k),
    "approx": lambda k: k,
    "numpy": lambda k: k**3,
    "opt_einsum": lambda k: k**3,
}


def run(lengths, budget: float, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    have_opt_einsum = _optional_opt_einsum()
    last: dict[str, tuple[int, float]] = {}
    rows = []
    for k in with_progress(lengths, "planner_speed: lengths"):
        dims = rng.integers(1, 1001, k + 1)
        row: dict = {"k": k}
        chain = jc.Chain.from_dims(dims)
        makers = {
            "dp": partial(partial, jc.plan, chain, "dp"),
            "dp_steps": partial(partial, dp_steps, chain),
            "hu-shing": partial(partial, jc.plan, chain, "hu-shing"),
            "approx": partial(partial, jc.plan, chain, "approx"),
            "numpy": partial(numpy_order, dims),
        }
        if have_opt_einsum:
            makers["opt_einsum"] = partial(opt_einsum_order, dims)
        costs = {}
        for name, make in makers.items():
            if name in last:
                k0, t0 = last[name]
                predicted = t0 * COMPLEXITY[name](k) / COMPLEXITY[name](k0)
                if predicted > budget:
                    row[name] = None
                    continue
            if name in EXTERNAL:
                seconds, cost = time_with_limit(make(), budget)
            else:
                seconds, result = best_time(make())
                cost = getattr(result, "cost", None)
            row[name] = seconds if seconds is not None else f"> {budget:g} (stopped)"
            print(f"  k={k:>9,} {name:<10} {row[name]!s:>10} s", flush=True)
            if seconds is None:
                last[name] = (k, float("inf"))
                continue
            last[name] = (k, seconds)
            if cost is not None:
                costs[name] = cost
        exact = {costs[m] for m in ("dp", "hu-shing", "numpy") if m in costs}
        if len(exact) > 1:
            raise SystemExit(f"exact planners disagree at k={k}: {costs}")
        optimum = costs["hu-shing"]
        row["approx / optimal cost"] = costs["approx"] / optimum if optimum else 1.0
        rows.append(row)
    for previous, row in zip(rows[:-1], rows[1:], strict=True):
        if row["k"] == 10 * previous["k"] and row["hu-shing"] and previous["hu-shing"]:
            row["hu-shing t(k)/t(k/10)"] = row["hu-shing"] / previous["hu-shing"]
    for row in rows:
        if row.get("dp") and row.get("numpy"):
            row["numpy / dp"] = row["numpy"] / row["dp"]
            row["numpy / dp_steps"] = row["numpy"] / row["dp_steps"]
    return rows


def auto_rows(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for k in (2, 4, 8, 16, 32, 64, 128, 256):
        dims = rng.integers(1, 1001, k + 1)
        dp, _ = best_time(partial(jc.plan, dims, "dp"), budget=0.2, max_repeats=50)
        hs, _ = best_time(partial(jc.plan, dims, "hu-shing"), budget=0.2, max_repeats=50)
        rows.append({"k": k, "dp": dp, "hu-shing": hs, "dp / hu-shing": dp / hs})
    return rows


def _cell(value, column: str = "") -> str:
    if value is None:
        return "skipped (> budget)"
    if column == "approx / optimal cost" and isinstance(value, float):
        return f"{value:.5f}"
    return default_cell(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-k", type=int, default=max(LENGTHS))
    parser.add_argument("--budget", type=float, default=60.0, help="skip predicted > this (s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lengths = [k for k in LENGTHS if k <= args.max_k]
    rows = run(lengths, args.budget, args.seed)
    columns = [
        "k",
        "dp",
        "dp_steps",
        "hu-shing",
        "approx",
        "numpy",
        "opt_einsum",
        "numpy / dp",
        "numpy / dp_steps",
        "hu-shing t(k)/t(k/10)",
        "approx / optimal cost",
    ]
    speed = markdown_table(rows, columns, _cell)
    small = auto_rows(args.seed)
    auto = markdown_table(small, ["k", "dp", "hu-shing", "dp / hu-shing"], _cell)
    print("\nplanning time in seconds (best of up to 5 runs)\n" + speed)
    print(
        "\nshort chains: dp vs hu-shing (seconds), the measurement behind method='auto'\n" + auto
    )
    RESULTS.mkdir(exist_ok=True)
    command = f"python experiments/planner_speed.py --max-k {args.max_k} --budget {args.budget:g}"
    (RESULTS / "planner_speed.md").write_text(
        "# Planner speed\n\n"
        f"Measured by `{command}` (jacchain {jc.__version__}, numpy {np.__version__}) on a "
        "2-core machine; random dims in [1, 1000]; seconds, best of up to 5 runs; "
        "'skipped' = predicted over the budget from the previous k and the method's "
        "complexity. jacchain times are whole `jc.plan` calls (plan object included); "
        "numpy's and opt_einsum's are their ordering routines alone.\n\n"
        + speed
        + '\n\n## Short chains (the measurement behind `method="auto"`)\n\n'
        + auto
        + "\n"
    )
    write_csv("planner_speed.csv", rows, columns)
    print(f"\nwrote {RESULTS / 'planner_speed.md'}, planner_speed.csv and "
          f"{planner_speed_figure().name}")


if __name__ == "__main__":
    main()
