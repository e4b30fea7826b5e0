"""How often is forward, reverse or a mixed order optimal, and how much does optimal save?

Over a few thousand random chains drawn from several shape distributions, plan each chain
optimally and record which mode won and the ratio best-pure-mode cost / optimal cost.
Prints a table and writes experiments/results/savings.md, savings.csv (the summary),
savings_chains.csv (every chain) and savings.png (their distributions).

Run:  python experiments/savings.py [--chains-per-kind 1000] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from figures import savings_figure
from tables import RESULTS, markdown_table, with_progress, write_csv

import jacchain as jc


def _layers(rng):
    return int(rng.integers(3, 13))


def uniform(rng):
    return rng.integers(1, 1001, _layers(rng) + 1)


def log_uniform(rng):
    return np.rint(10 ** rng.uniform(0, 4, _layers(rng) + 1)).astype(int)


def bottleneck(rng):
    dims = rng.integers(256, 1025, _layers(rng) + 1)
    narrow = rng.random(dims.size) < 0.3
    dims[narrow] = rng.integers(1, 17, narrow.sum())
    return dims


def narrow_output(rng):
    dims = rng.integers(16, 2049, _layers(rng) + 1)
    dims[-1] = rng.integers(1, 11)
    return dims


def narrow_input(rng):
    return narrow_output(rng)[::-1]


def monotone_funnel(rng):
    return np.sort(rng.integers(1, 2049, _layers(rng) + 1))[::-1]


KINDS = {
    "uniform [1, 1000]": uniform,
    "log-uniform [1, 10^4]": log_uniform,
    "bottleneck (30% narrow)": bottleneck,
    "narrow output (MLP-like)": narrow_output,
    "narrow input": narrow_input,
    "monotone funnel (decreasing)": monotone_funnel,
}


def run(chains_per_kind: int, seed: int) -> tuple[list[dict], list[dict]]:
    """The summary row of each distribution, and one row per chain."""
    rng = np.random.default_rng(seed)
    rows, chains = [], []
    for kind, draw in with_progress(KINDS.items(), "savings: distributions"):
        modes = {"forward": 0, "reverse": 0, "mixed": 0}
        ratios = []
        for _ in range(chains_per_kind):
            p = jc.plan(draw(rng))
            modes[p.mode] += 1
            ratios.append(p.speedup)
            chains.append({"distribution": kind, "layers": len(p.chain), "mode": p.mode,
                            "best pure / optimal": p.speedup,
                            "dims": " ".join(map(str, p.dims))})
        ratios = np.array(ratios)
        n = chains_per_kind
        rows.append(
            {
                "distribution": kind,
                "chains": n,
                "forward optimal %": 100 * modes["forward"] / n,
                "reverse optimal %": 100 * modes["reverse"] / n,
                "mixed optimal %": 100 * modes["mixed"] / n,
                "median best-pure/optimal": float(np.median(ratios)),
                "p90": float(np.percentile(ratios, 90)),
                "p99": float(np.percentile(ratios, 99)),
                "max": float(ratios.max()),
            }
        )
    return rows, chains


def savings_cell(value, column: str) -> str:
    if column.endswith("%"):
        return f"{value:.1f}"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains-per-kind", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, chains = run(args.chains_per_kind, args.seed)
    text = markdown_table(rows, cell=savings_cell)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    command = f"python experiments/savings.py --chains-per-kind {args.chains_per_kind} --seed {args.seed}"
    (RESULTS / "savings.md").write_text(
        "# Which mode is optimal, and what optimal saves\n\n"
        f"Measured by `{command}` (jacchain {jc.__version__}). Chains of 3 to 12 layers; "
        "ratio = min(forward cost, reverse cost) / optimal cost (1.00 = a pure mode is "
        "optimal).\n\n" + text + "\n"
    )
    write_csv("savings.csv", rows)
    write_csv("savings_chains.csv", chains)
    print(f"\nwrote {RESULTS / 'savings.md'}, savings.csv, savings_chains.csv and "
          f"{savings_figure().name}")


if __name__ == "__main__":
    main()
