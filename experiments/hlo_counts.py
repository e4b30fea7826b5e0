"""What XLA compiles: HLO instructions and flops of jax.jacfwd, jax.jacrev and jacchain per task.

For each task of ``graphax_tasks.py`` (float32, unbatched, or under ``jax.vmap`` with
``--batch``), the compiled program of each method: the number of instructions in its entry
computation (each fusion, dot or copy is one kernel on the CPU), the most common kinds, and
XLA's cost analysis (``flops``). Small programs' times follow the kernels more than the
flops; this is the evidence for that statement in the README.

Run:  python experiments/hlo_counts.py [--tasks RoeFlux_3d f ...] [--batch 128]
Prints a markdown table (no files written).
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402
import collections  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))


def counts(function: Any, args: Any) -> tuple[int, str, float]:
    """(entry instructions, the most common kinds, flops) of ``jax.jit(function)``."""
    import jax

    compiled = jax.jit(function).lower(*args).compile()
    text = compiled.as_text()
    entry = text[text.index("ENTRY"):]
    kinds = collections.Counter(re.findall(r"= \S+ (\w[\w-]*)\(", entry))
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):
        analysis = analysis[0]
    common = ", ".join(f"{kind} {n}" for kind, n in kinds.most_common(4))
    return sum(kinds.values()), common, float(analysis.get("flops", float("nan")))


def main(argv: list[str] | None = None) -> None:
    import graphax_tasks as gt
    import jax
    import numpy as np

    import jacchain.jax as jcj

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(gt.TASKS))
    parser.add_argument("--batch", type=int, default=0, help="vmap over this many inputs")
    args = parser.parse_args(argv)
    print("| task | method | HLO instructions | most common | flops |")
    print("|---|---|---|---|---|")
    for name in args.tasks:
        task = gt.TASKS[name]
        argnums = gt.all_argnums(task)
        inputs = (gt.batched_inputs(task, args.batch, seed=0, dtype=np.float32) if args.batch
                  else task.inputs(seed=0, dtype=np.float32))
        methods = {"jacfwd": jax.jacfwd(task.function, argnums),
                   "jacrev": jax.jacrev(task.function, argnums),
                   "jacchain": jcj.jacobian(task.function, argnums)}
        for method, function in methods.items():
            function = jax.vmap(function) if args.batch else function
            total, common, flops = counts(function, inputs)
            print(f"| {name} | {method} | {total} | {common} | {flops:,.0f} |")


if __name__ == "__main__":
    main()
