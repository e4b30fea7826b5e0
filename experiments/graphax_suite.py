"""The Graphax / AlphaGrad suite: jacchain's JAX front end against jax.jacfwd and jax.jacrev.

For each task of ``graphax_tasks.py`` (the ten functions of AlphaGrad's benchmark), and for
the Jacobian with respect to every positional input:

- costs: AlphaGrad's published forward / reverse / Markowitz multiplication counts, and
  jacchain's plan (``jacchain.jax.jacobian(fun, argnums=...).plan(*args)``): the graph's
  size and the costs of forward, reverse, Markowitz and the chosen order, in both
  conventions (``unit_partials="counted"``, AlphaGrad's, and ``"free"``);
- times under ``jax.jit`` of ``jax.jacfwd``, ``jax.jacrev`` and jacchain, unbatched and
  under ``jax.vmap`` over ``--batch`` input sets: the minimum of ``--repeats`` calls of
  each, interleaved (one call of each variant per round), after two warm-up calls, each
  call ended by ``block_until_ready``; XLA is pinned to one thread (``XLA_FLAGS``, set
  before JAX is imported); ratio = jacchain's time over the faster pure mode's; the floor
  is a jitted function of the same inputs returning zeros of the Jacobian's leaves (the
  fixed cost of a call, which no method avoids), and "ratio above floor" compares the
  times less that floor ("n/a" when the faster pure mode is within 10% of the floor);
  "primal" is the function itself, jitted: a Jacobian costs at least an evaluation;
- checks: every Jacobian against ``jax.jacrev``'s, leaf by leaf, within ``rtol`` (1e-4 in
  float32, 1e-9 in float64 with ``--x64``) of the leaf's largest magnitude.

Until ``jacchain.jax.jacobian`` takes a function with ``argnums`` and offers ``plan``,
jacchain's columns say "not available" and why; no number is filled in for it. The plan
is read through :func:`plan_summary` (``ProgramPlan``'s ``vertices``, ``edges``, ``strategy``,
``mode`` and ``forward_cost``, ``reverse_cost``, ``markowitz_cost``, ``cost``).

Run:  python experiments/graphax_suite.py [--repeats 30] [--batch 128] [--x64]
                                          [--tasks RoeFlux_1d f ...] [--no-write]
Writes experiments/results/graphax_suite.md and graphax_suite.csv.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from figures import graphax_suite_figure
from tables import RESULTS, markdown_table, with_progress, write_csv

XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
CONVENTIONS = ("counted", "free")
NOT_AVAILABLE = "not available"
RTOL = {"float32": 1e-4, "float64": 1e-9}


def pin_xla_to_one_thread() -> None:
    """Append the one-thread flags to ``XLA_FLAGS``; they only act before JAX starts."""
    if "jax" in sys.modules:
        print("warning: JAX already imported, XLA_FLAGS may not take effect", file=sys.stderr)
    flags = os.environ.get("XLA_FLAGS", "")
    if XLA_ONE_THREAD not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {XLA_ONE_THREAD}".strip()


# ---------------------------------------------------------------------------------------
# Timing and checking.


def interleaved_min_times(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """The fastest of ``repeats`` calls of each callable, in seconds, rounds interleaved.

    Each callable is called twice first (compilation, caches); each call is timed up to
    ``jax.block_until_ready`` of its result.

    Examples
    --------
    >>> times = interleaved_min_times({"a": lambda: 1, "b": lambda: 2}, repeats=3)
    >>> sorted(times), all(t >= 0 for t in times.values())
    (['a', 'b'], True)
    """
    import jax

    for call in calls.values():
        for _ in range(2):
            jax.block_until_ready(call())
    best = dict.fromkeys(calls, math.inf)
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(call())
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def relative_error(result: Any, reference: Any) -> float:
    """Largest ``|result - reference|`` over each leaf's largest ``|reference|``, over leaves.

    Raises ValueError when the two pytrees differ in structure or shapes.

    Examples
    --------
    >>> relative_error({"J": [[1.0, 2.0]]}, {"J": [[1.0, 2.5]]})
    0.2
    """
    import jax
    import numpy as np

    if jax.tree.structure(result) != jax.tree.structure(reference):
        raise ValueError(
            f"structure {jax.tree.structure(result)} != {jax.tree.structure(reference)}"
        )
    worst = 0.0
    for got, want in zip(jax.tree.leaves(result), jax.tree.leaves(reference), strict=True):
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            raise ValueError(f"leaf shape {got.shape} != {want.shape}")
        scale = max(float(np.max(np.abs(want), initial=0.0)), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.max(np.abs(got - want), initial=0.0)) / scale)
    return worst


def check(result: Any, reference: Any, rtol: float) -> str:
    """``"ok (err)"`` when ``result`` matches ``reference`` within ``rtol``, else why not.

    Examples
    --------
    >>> check([1.0, 2.0], [1.0, 2.0 + 1e-7], rtol=1e-4)
    'ok (5.0e-08)'
    >>> check([1.0], [2.0], rtol=1e-4)
    'MISMATCH (relative error 5.0e-01)'
    """
    try:
        error = relative_error(result, reference)
    except ValueError as mismatch:
        return f"MISMATCH ({mismatch})"
    return f"ok ({error:.1e})" if error <= rtol else f"MISMATCH (relative error {error:.1e})"


# ---------------------------------------------------------------------------------------
# jacchain's side: setup and plan, or why not.


PLAN_COSTS = (
    ("forward", "forward_cost"),
    ("reverse", "reverse_cost"),
    ("Markowitz", "markowitz_cost"),
    ("chosen", "cost"),
)
"""Column name and ``ProgramPlan`` attribute of each cost reported per convention."""


def plan_summary(plans: dict[str, Any]) -> dict[str, Any]:
    """The graph's size, the costs per convention and the chosen order of ``plans``.

    ``plans`` maps each convention of :data:`CONVENTIONS` to the ``ProgramPlan`` made with
    that ``unit_partials`` (each convention chooses its own Markowitz and final orders);
    the size, strategy and mode are those of the ``"free"`` plan, the one timed.

    Examples
    --------
    >>> from types import SimpleNamespace as Plan
    >>> p = Plan(vertices=5, edges=7, strategy="reverse", mode="reverse",
    ...          forward_cost=9, reverse_cost=4, markowitz_cost=6, cost=4)
    >>> plan_summary({"counted": p, "free": p})["counted chosen"]
    4
    """
    timed = plans["free"]
    summary: dict[str, Any] = {
        "vertices": timed.vertices,
        "edges": timed.edges,
        "strategy": timed.strategy,
        "mode": timed.mode,
    }
    for convention in CONVENTIONS:
        for column, attribute in PLAN_COSTS:
            summary[f"{convention} {column}"] = getattr(plans[convention], attribute)
    return summary


def jacchain_jacobian(task: Any, args: Sequence[Any]) -> tuple[Any, dict[str, Any], str]:
    """``(jac, plan summary, "")`` for ``task``, or ``(None, {}, why not)``.

    ``jac`` is ``jacchain.jax.jacobian(task.function, argnums=<every input>)`` (method
    "auto", ``unit_partials="free"``: the one timed); the summary adds the plan made with
    ``unit_partials="counted"`` and the planning time of the first ``plan`` call. Any
    exception while building the function or its plans makes jacchain "not available"
    for this task, with the exception's type and message (traceback on stderr).
    """
    import graphax_tasks as gt

    try:
        import jacchain.jax as jcj

        argnums = gt.all_argnums(task)
        jacs = {c: jcj.jacobian(task.function, argnums, unit_partials=c) for c in CONVENTIONS}
        if not all(hasattr(jac, "plan") for jac in jacs.values()):
            return None, {}, f"{NOT_AVAILABLE} (no plan())"
        start = time.perf_counter()
        plans = {"free": jacs["free"].plan(*args)}
        planning_ms = 1e3 * (time.perf_counter() - start)
        plans["counted"] = jacs["counted"].plan(*args)
        return jacs["free"], {**plan_summary(plans), "planning ms": planning_ms}, ""
    except Exception as error:  # record why, never a number
        traceback.print_exc(file=sys.stderr)
        return None, {}, f"{NOT_AVAILABLE} ({type(error).__name__}: {error})"


# ---------------------------------------------------------------------------------------
# One task.


def _jitted(task: Any, jac: Any, batched: bool) -> dict[str, Callable[..., Any]]:
    import graphax_tasks as gt
    import jax

    argnums = gt.all_argnums(task)
    variants = {
        "jacfwd": jax.jacfwd(task.function, argnums=argnums),
        "jacrev": jax.jacrev(task.function, argnums=argnums),
    }
    if jac is not None:
        variants["jacchain"] = jac
    if batched:
        variants = {name: jax.vmap(f) for name, f in variants.items()}
    return {name: jax.jit(f) for name, f in variants.items()}


NOISE = 0.1
"""The ratio above floor is "n/a" when the faster pure mode is within this fraction of the
floor above it: the difference is then within the noise of the measurement."""


def measure(
    task: Any, args: Sequence[Any], jac: Any, repeats: int, rtol: float, batched: bool
) -> dict[str, Any]:
    """Times (us) and checks of one task, unbatched or batched; keys prefixed when batched."""
    import jax

    prefix = "batch " if batched else ""
    functions = _jitted(task, jac, batched)
    row: dict[str, Any] = {}
    reference = functions["jacrev"](*args)
    calls = {}
    for name, function in functions.items():
        try:
            result = function(*args)
        except Exception as error:  # a failure of jacchain's call is reported, not timed
            if name != "jacchain":
                raise
            traceback.print_exc(file=sys.stderr)
            row[f"{prefix}check jacchain"] = f"FAILED ({type(error).__name__}: {error})"
            continue
        if name != "jacrev":
            row[f"{prefix}check {name}"] = check(result, reference, rtol)
        calls[name] = lambda function=function: function(*args)
    floor = _floor(args, reference)
    calls["floor"] = lambda: floor(*args)
    primal = jax.jit(jax.vmap(task.function) if batched else task.function)
    calls["primal"] = lambda: primal(*args)
    times = interleaved_min_times(calls, repeats)
    for name, seconds in times.items():
        row[f"{prefix}{name} us"] = 1e6 * seconds
    if "jacchain" in times:
        best = min(times["jacfwd"], times["jacrev"])
        row[f"{prefix}ratio"] = times["jacchain"] / best
        above = best - times["floor"]
        row[f"{prefix}ratio above floor"] = (
            (times["jacchain"] - times["floor"]) / above
            if above > NOISE * times["floor"]
            else "n/a"
        )
    return row


def _floor(args: Sequence[Any], reference: Any) -> Callable[..., Any]:
    """A jitted function of the same inputs returning the Jacobian's leaves, all zeros, computed:
    the fixed cost of a call (dispatch, buffers) that no way of computing the Jacobian avoids."""
    import jax
    import jax.numpy as jnp

    shapes = jax.tree.map(lambda leaf: (leaf.shape, leaf.dtype), reference)

    def zeros(*xs: Any) -> Any:
        seed = jax.tree.leaves(xs)[0].reshape(-1)[0] * 0
        return jax.tree.map(
            lambda sd: jnp.broadcast_to(seed.astype(sd[1]), sd[0]), shapes,
            is_leaf=lambda x: isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], tuple),
        )

    return jax.jit(zeros)


def task_row(name: str, repeats: int, batch: int, dtype: Any, seed: int) -> dict[str, Any]:
    """Every column of one task's row."""
    import graphax_tasks as gt
    import numpy as np

    task = gt.TASKS[name]
    args = task.inputs(seed=seed, dtype=dtype)
    rtol = RTOL[np.dtype(dtype).name]
    forward, reverse, markowitz = gt.PUBLISHED[name]
    row: dict[str, Any] = {
        "task": name,
        "inputs": gt.input_count(task),
        "outputs": gt.output_count(task),
        "AlphaGrad forward": forward,
        "AlphaGrad reverse": reverse,
        "AlphaGrad Markowitz": markowitz,
    }
    jac, summary, why_not = jacchain_jacobian(task, args)
    row.update(summary)
    row["jacchain"] = why_not or "available"
    row.update(measure(task, args, jac, repeats, rtol, batched=False))
    batched = gt.batched_inputs(task, batch, seed=seed, dtype=dtype)
    row.update(measure(task, batched, jac, repeats, rtol, batched=True))
    return row


# ---------------------------------------------------------------------------------------
# Tables.

COST_COLUMNS = [
    "task",
    "inputs",
    "outputs",
    "AlphaGrad forward",
    "AlphaGrad reverse",
    "AlphaGrad Markowitz",
    "vertices",
    "edges",
    *[f"{c} {k}" for c in CONVENTIONS for k in ("forward", "reverse", "Markowitz", "chosen")],
    "strategy",
    "mode",
    "planning ms",
]
TIME_COLUMNS = [
    "task",
    "floor us",
    "primal us",
    "jacfwd us",
    "jacrev us",
    "jacchain us",
    "ratio",
    "ratio above floor",
    "batch floor us",
    "batch primal us",
    "batch jacfwd us",
    "batch jacrev us",
    "batch jacchain us",
    "batch ratio",
    "batch ratio above floor",
]
CHECK_COLUMNS = [
    "task",
    "check jacfwd",
    "check jacchain",
    "batch check jacfwd",
    "batch check jacchain",
    "jacchain",
]


JACCHAIN_COLUMNS = frozenset(
    ["vertices", "edges", "strategy", "mode", "planning ms"]
    + ["check jacchain", "batch check jacchain"]
    + [f"{c} {k}" for c in CONVENTIONS for k in ("forward", "reverse", "Markowitz", "chosen")]
    + [f"{b}{k}" for b in ("", "batch ") for k in ("jacchain us", "ratio", "ratio above floor")]
)
"""The columns only jacchain fills: "not available" where it did not."""


def filled(rows: Sequence[dict], columns: Sequence[str]) -> list[dict]:
    """``rows`` restricted to ``columns``; a missing jacchain entry reads "not available".

    Examples
    --------
    >>> filled([{"task": "f", "jacfwd us": 3.0}], ["task", "jacfwd us", "jacchain us", "inputs"])
    [{'task': 'f', 'jacfwd us': 3.0, 'jacchain us': 'not available', 'inputs': ''}]
    """
    return [
        {c: row.get(c, NOT_AVAILABLE if c in JACCHAIN_COLUMNS else "") for c in columns}
        for row in rows
    ]


def unavailable_note(rows: Sequence[dict]) -> str:
    """A sentence on the tasks jacchain could not plan or run (empty when there are none).

    Examples
    --------
    >>> unavailable_note([{"task": "f", "jacchain": "available"}])
    ''
    >>> unavailable_note([{"task": "f", "jacchain": "not available (TypeError: no)"}])
    '"not available": jacchain could not plan or run f; the reason is in the last table.\\n\\n'
    """
    missing = [row["task"] for row in rows if row.get("jacchain") != "available"]
    if not missing:
        return ""
    return (
        f'"{NOT_AVAILABLE}": jacchain could not plan or run {", ".join(missing)}; the reason'
        " is in the last table.\n\n"
    )


def header(args: argparse.Namespace, dtype_name: str) -> str:
    import jax

    import jacchain

    return (
        "# Graphax / AlphaGrad suite: jacchain against jax.jacfwd and jax.jacrev\n\n"
        f"Measured by `python experiments/graphax_suite.py {' '.join(sys.argv[1:])}`"
        f" (jacchain {jacchain.__version__}, JAX {jax.__version__}, {dtype_name},"
        f" {platform.machine()} with {os.cpu_count()} cores, XLA_FLAGS="
        f"`{os.environ.get('XLA_FLAGS', '')}`). Tasks: `experiments/graphax_tasks.py`"
        " (reimplementations of the Graphax examples; see each task's docstring for where"
        " it departs from the original). Jacobians with respect to every positional input."
        f" Times: minimum of {args.repeats} interleaved calls after two warm-up calls, jitted,"
        f" in microseconds; batch = `jax.vmap` over {args.batch} input sets; ratio = jacchain"
        " / the faster of jacfwd and jacrev; floor = a jitted function of the same inputs"
        " returning zeros of the Jacobian's leaves (the fixed cost of a call); primal = the"
        " function itself, jitted; ratio above floor = (jacchain - floor) / (faster pure"
        " mode - floor), n/a when that mode is within 10% of the floor. Checks: against jax.jacrev, relative to each"
        f" leaf's largest entry (rtol {RTOL[dtype_name]:g}). AlphaGrad's counts are the"
        " published ones, on Graphax's graphs of the original functions; jacchain's costs are"
        " multiply-adds on its own graph of these reimplementations (`counted`: every product"
        " of partials counts, AlphaGrad's convention; `free`: products with +-1 partials are"
        " free).\n\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per variant")
    parser.add_argument("--batch", type=int, default=128, help="input sets under jax.vmap")
    parser.add_argument("--x64", action="store_true", help="float64 instead of float32")
    parser.add_argument("--tasks", nargs="+", help="task names (default: all ten)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the example inputs")
    parser.add_argument("--no-write", action="store_true", help="print only, write no files")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.batch < 1:
        parser.error("--repeats and --batch must be at least 1")

    pin_xla_to_one_thread()
    import jax

    jax.config.update("jax_enable_x64", args.x64)
    import graphax_tasks as gt
    import jax.numpy as jnp

    names = args.tasks or list(gt.TASKS)
    unknown = [name for name in names if name not in gt.TASKS]
    if unknown:
        parser.error(f"unknown tasks {unknown}; known: {list(gt.TASKS)}")
    dtype = jnp.float64 if args.x64 else jnp.float32
    dtype_name = "float64" if args.x64 else "float32"
    rows = []
    for name in with_progress(names, "graphax_suite: tasks"):
        rows.append(task_row(name, args.repeats, args.batch, dtype, args.seed))
    tables = [
        ("Costs", markdown_table(filled(rows, COST_COLUMNS))),
        ("Times", markdown_table(filled(rows, TIME_COLUMNS))),
        ("Checks", markdown_table(filled(rows, CHECK_COLUMNS))),
    ]
    body = "\n\n".join(f"## {title}\n\n{table}" for title, table in tables)
    text = header(args, dtype_name) + unavailable_note(rows) + body
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "graphax_suite.md").write_text(text + "\n")
        columns = list(dict.fromkeys(COST_COLUMNS + TIME_COLUMNS + CHECK_COLUMNS))
        write_csv("graphax_suite.csv", filled(rows, columns), columns)
        print(f"\nwrote {RESULTS / 'graphax_suite.md'}, graphax_suite.csv and "
              f"{graphax_suite_figure().name}", file=sys.stderr)


if __name__ == "__main__":
    main()
