"""What does executing a plan cost beyond its products? Compiled plans, evaluate, by hand.

For each chain, four ways to compute the same Jacobian J_k ... J_1 (float64), timed
interleaved in one run:

- ``compiled``: the plan's compiled callable, ``p.compile()(Js)`` (no checks);
- ``evaluate``: ``p.evaluate(Js)`` with its default checks (shapes, dtypes, finiteness);
- ``by hand``: the plan's products written out as one Python expression of ``@``, the bare
  products in the plan's order (the reference: ratios are times over its time);
- ``multi_dot``: ``numpy.linalg.multi_dot`` (its own order and its own overhead).

Chains: 20 drawn from the shape distributions of experiments/savings.py (two from each of
the six kinds, then the rest cycling through them), keeping only chains whose largest
matrix has at most 4 million entries and whose plan costs at most 4e8 multiply-adds (so
that a run takes minutes, not hours); and 10 tiny chains (3-8 layers, dims in [1, 16]).
Each time is the minimum over ``--repeats`` rounds after a warm-up, every round calling the
four candidates one after another; BLAS is pinned to one thread. Writes
experiments/results/evaluate_overhead.md and .csv.

Run:  python experiments/evaluate_overhead.py [--repeats 200] [--seed 0]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from figures import evaluate_overhead_figure  # noqa: E402
from savings import KINDS  # noqa: E402
from tables import RESULTS, markdown_table, write_csv  # noqa: E402

import jacchain as jc  # noqa: E402

MAX_ENTRIES = 4_000_000
MAX_COST = 400_000_000


def by_hand(p: jc.Plan):
    """The plan's products as one Python expression of ``@`` over J1..Jk, compiled to a lambda."""
    k = len(p.chain)
    expression = {(i, i): f"J[{i - 1}]" for i in range(1, k + 1)}
    for _op, lo, split, hi in p.step_array.tolist():
        expression[(lo, hi)] = f"({expression[(split + 1, hi)]} @ {expression[(lo, split)]})"
    return eval(f"lambda J: {expression[(1, k)]}")  # noqa: S307


def largest_matrix(p: jc.Plan) -> int:
    dims = p.dims
    inputs = max(a * b for a, b in zip(dims[:-1], dims[1:], strict=True))
    return max(inputs, p.largest_intermediate)


def draw_chains(rng: np.random.Generator, count: int) -> list[tuple[str, list[int]]]:
    kinds = list(KINDS.items())
    chains: list[tuple[str, list[int]]] = []
    attempts = 0
    while len(chains) < count:
        name, draw = kinds[len(chains) % len(kinds)]
        dims = [int(d) for d in draw(rng)]
        attempts += 1
        p = jc.plan(dims)
        if largest_matrix(p) <= MAX_ENTRIES and p.cost <= MAX_COST:
            chains.append((name, dims))
    print(f"drew {count} chains in {attempts} attempts")
    return chains


def tiny_chains(rng: np.random.Generator, count: int) -> list[tuple[str, list[int]]]:
    return [
        ("tiny (dims <= 16)", rng.integers(1, 17, int(rng.integers(4, 10))).tolist())
        for _ in range(count)
    ]


def measure(name: str, dims: list[int], repeats: int, rng: np.random.Generator) -> dict:
    p = jc.plan(dims)
    Js = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(len(dims) - 1)]
    compiled, hand = p.compile(), by_hand(p)
    candidates = {
        "compiled": lambda: compiled(Js),
        "evaluate": lambda: p.evaluate(Js),
        "by hand": lambda: hand(Js),
        "multi_dot": (lambda: np.linalg.multi_dot(Js[::-1])) if len(Js) > 1 else (lambda: Js[0]),
    }
    reference = hand(Js)
    for label, run in candidates.items():
        result = run()
        scale = np.abs(reference).max() or 1.0
        assert np.allclose(result, reference, rtol=1e-9, atol=1e-9 * scale), label
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(repeats):
        for label, run in candidates.items():
            start = time.perf_counter()
            run()
            best[label] = min(best[label], time.perf_counter() - start)
    return {
        "chain": name,
        "k": len(dims) - 1,
        "dims": " ".join(map(str, dims)),
        "plan": p.mode,
        "cost": p.cost,
        "by hand us": best["by hand"] * 1e6,
        "compiled us": best["compiled"] * 1e6,
        "evaluate us": best["evaluate"] * 1e6,
        "multi_dot us": best["multi_dot"] * 1e6,
        "compiled / hand": best["compiled"] / best["by hand"],
        "evaluate / hand": best["evaluate"] / best["by hand"],
        "multi_dot / hand": best["multi_dot"] / best["by hand"],
    }


def summary(rows: list[dict], label: str) -> dict:
    out = {"chains": label, "count": len(rows)}
    for column in ("compiled / hand", "evaluate / hand", "multi_dot / hand"):
        values = np.array([row[column] for row in rows])
        out[f"{column} median"] = float(np.median(values)) if values.size else float("nan")
        out[f"{column} worst"] = float(values.max()) if values.size else float("nan")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    chains = draw_chains(rng, 20) + tiny_chains(rng, 10)
    rows = []
    for name, dims in chains:
        rows.append(measure(name, dims, args.repeats, rng))
        row = rows[-1]
        print(
            f"{row['chain']:30s} k={row['k']:2d} hand {row['by hand us']:10.1f} us  "
            f"compiled {row['compiled / hand']:.3f}  evaluate {row['evaluate / hand']:.3f}  "
            f"multi_dot {row['multi_dot / hand']:.3f}",
            flush=True,
        )
    big = [r for r in rows if r["chain"] != "tiny (dims <= 16)" and r["by hand us"] >= 100]
    small = [r for r in rows if r["chain"] != "tiny (dims <= 16)" and r["by hand us"] < 100]
    tiny = [r for r in rows if r["chain"] == "tiny (dims <= 16)"]
    summaries = [
        summary(big, "savings.py chains, products >= 100 us"),
        summary(small, "savings.py chains, products < 100 us"),
        summary(tiny, "tiny chains (dims <= 16)"),
    ]
    columns = [
        "chain",
        "k",
        "plan",
        "cost",
        "by hand us",
        "compiled / hand",
        "evaluate / hand",
        "multi_dot / hand",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "evaluate_overhead.md").write_text(
        "# Executing a plan: overhead over its bare products\n\n"
        f"Measured by `python experiments/evaluate_overhead.py --repeats {args.repeats} "
        f"--seed {args.seed}` (jacchain {jc.__version__}) on this 2-core machine, one BLAS "
        "thread, float64; each time the minimum over the rounds, the four candidates "
        "interleaved. Ratios are times over the hand-written products' time.\n\n"
        + markdown_table(summaries)
        + "\n\n"
        + markdown_table(rows, columns)
        + "\n"
    )
    write_csv("evaluate_overhead.csv", rows)
    print(markdown_table(summaries))
    print(f"\nwrote {RESULTS / 'evaluate_overhead.md'}, evaluate_overhead.csv and "
          f"{evaluate_overhead_figure().name}")


if __name__ == "__main__":
    main()
