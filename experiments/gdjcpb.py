"""Naumann's generalized Jacobian chain instances: optimum vs tangent, adjoint, preaccumulation.

Reads every instance shipped in jacchain/data/gdjcpb (or in --data DIR), plans it, and tabulates the
optimal cost, the homogeneous tangent and adjoint costs, the preaccumulation cost, the
ratio best pure mode / optimal, and the planning time; then sweeps the memory limit for one
instance. Writes experiments/results/gdjcpb.md and gdjcpb.csv.

Run:  python experiments/gdjcpb.py [--data DIR] [--sweep ex_sec_4_p_50_50.1]
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

from figures import gdjcpb_figure
from tables import RESULTS, markdown_table, write_csv

import jacchain as jc

DEFAULT_DATA = Path(str(resources.files("jacchain") / "data" / "gdjcpb"))


def instance_row(path: Path) -> dict:
    chain = jc.read_gdjcpb(path)
    start = time.perf_counter()
    plan = jc.plan(chain)
    seconds = time.perf_counter() - start
    best_pure = min(plan.forward_cost, plan.reverse_cost)
    return {
        "instance": path.name,
        "layers": len(chain),
        "optimal": plan.cost,
        "tangent": plan.forward_cost,
        "adjoint": plan.reverse_cost,
        "preaccumulation": plan.preaccumulation_cost,
        "best pure / optimal": best_pure / plan.cost,
        "preaccumulation / optimal": plan.preaccumulation_cost / plan.cost,
        "largest tape": plan.largest_tape,
        "planning s": seconds,
    }


def sweep_rows(path: Path, points: int = 8) -> list[dict]:
    chain = jc.read_gdjcpb(path)
    unlimited = jc.plan(chain)
    tapes = sorted({layer.tape for layer in chain.layers})
    limits = sorted({0, *tapes[:: max(1, len(tapes) // points)], unlimited.largest_tape})
    rows = []
    for limit in limits:
        plan = jc.plan(chain, memory_limit=limit)
        rows.append(
            {
                "memory limit": limit,
                "optimal": plan.cost,
                "largest tape": plan.largest_tape,
                "cost / unlimited optimum": plan.cost / unlimited.cost,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sweep", default="ex_sec_4_p_50_50.1")
    args = parser.parse_args()
    paths = sorted(p for p in args.data.iterdir() if p.is_file() and p.suffix != ".md")
    rows = [instance_row(path) for path in paths]
    rows.sort(key=lambda row: (row["layers"], row["instance"]))
    table = markdown_table(rows)
    sweep = markdown_table(sweep_rows(args.data / args.sweep))
    print(table)
    print(f"\nmemory-limit sweep for {args.sweep}\n{sweep}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gdjcpb.md").write_text(
        "# Generalized Jacobian chain instances (Naumann's GDJCPB)\n\n"
        f"Measured by `python experiments/gdjcpb.py` (jacchain {jc.__version__}) on a 2-core "
        "machine. Costs in multiply-adds; tangent/adjoint = homogeneous forward/reverse mode; "
        "preaccumulation = every factor accumulated on its own, then multiplied in the "
        "optimal order; planning s = wall time of `jc.plan` (generalized O(k^3) DP).\n\n"
        + table
        + f"\n\n## Memory-limit sweep: {args.sweep}\n\n"
        "An adjoint sweep may not record more tape than the limit (limit 0: tangent only).\n\n"
        + sweep
        + "\n"
    )
    write_csv("gdjcpb.csv", rows)
    print(f"\nwrote {RESULTS / 'gdjcpb.md'}, gdjcpb.csv and {gdjcpb_figure().name}")


if __name__ == "__main__":
    main()
