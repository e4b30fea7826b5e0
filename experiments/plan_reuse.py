"""Planning once, following many times: what a saved plan (``plan=``) saves per front end.

For each case, the time to plan (``.plan(x)`` on a fresh jacobian function: tracing,
structure, calibration where asked, the planner) against the time to read the same plan
back from JSON and have a fresh function check it against the model (``plan=``), the
two interleaved, the fastest of ``--repeats`` each. The plan followed is the one saved (checked);
calibrated plans can differ from run to run, as their timings do.

Cases: (1) JAX, 8 layers of width 256 (dense maps and softmax), ``calibrate=True``, which
times a JVP and a VJP per matrix-free layer; (2) the same as one JAX function
(``jacchain.jax.jacobian(f)``: trace, structured graph, elimination order); (3) a PyTorch
residual MLP as one function (tracing, then the order).

Also the two PyTorch tracers on that MLP, interleaved: ``make_fx`` (what jacchain uses
first) against non-strict ``torch.export`` with the same decompositions (its fallback).

Run:  python experiments/plan_reuse.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from tables import RESULTS, markdown_table, write_csv

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def jax_layers_case() -> tuple[str, Callable[[], Any], Callable[[str], Any]]:
    import jax
    import jax.numpy as jnp

    import jacchain as jc
    import jacchain.jax

    Ws = [jnp.ones((256, 256)) / 256 for _ in range(8)]
    layers = [jax.nn.softmax if i % 2 else (lambda x, W=W: W @ x) for i, W in enumerate(Ws)]
    x = jnp.ones(256)
    plan = lambda: jacchain.jax.jacobian(layers, calibrate=True, progress=False).plan(x)  # noqa: E731
    follow = lambda text: jacchain.jax.jacobian(layers, plan=jc.Plan.from_json(text)).plan(x)  # noqa: E731
    return "JAX, 8 layers of width 256, calibrate=True", plan, follow


def jax_function_case() -> tuple[str, Callable[[], Any], Callable[[str], Any]]:
    import jax
    import jax.numpy as jnp

    import jacchain.jax
    from jacchain.programs import ProgramPlan

    Ws = [jnp.ones((256, 256)) / 256 for _ in range(8)]

    def f(x):
        for i, W in enumerate(Ws):
            x = jax.nn.softmax(x) if i % 2 else W @ x
        return x

    x = jnp.ones(256)
    plan = lambda: jacchain.jax.jacobian(f).plan(x)  # noqa: E731
    follow = lambda text: jacchain.jax.jacobian(f, plan=ProgramPlan.from_json(text)).plan(x)  # noqa: E731
    return "JAX, the same as one function", plan, follow


def residual_mlp() -> Callable[[Any], Any]:
    """x -> the residual MLP of 4 blocks (LayerNorm, 256 -> 32, GELU, 32 -> 256), seeded."""
    import torch

    torch.manual_seed(0)
    blocks = torch.nn.ModuleList(
        torch.nn.Sequential(torch.nn.LayerNorm(256), torch.nn.Linear(256, 32), torch.nn.GELU(),
                            torch.nn.Linear(32, 256)) for _ in range(4))

    def f(x):
        for block in blocks:
            x = x + block(x)
        return x

    return f


def torch_function_case() -> tuple[str, Callable[[], Any], Callable[[str], Any]]:
    import torch

    import jacchain.torch
    from jacchain.programs import ProgramPlan

    torch.set_num_threads(1)
    f = residual_mlp()
    x = torch.randn(256)
    plan = lambda: jacchain.torch.jacobian(f).plan(x)  # noqa: E731
    follow = lambda text: jacchain.torch.jacobian(f, plan=ProgramPlan.from_json(text)).plan(x)  # noqa: E731
    return "PyTorch, residual MLP (4 blocks, 256/32) as one function", plan, follow


def torch_tracers(repeats: int) -> list[dict]:
    """Seconds to trace the residual MLP with make_fx and with torch.export (both decomposed)."""
    import warnings

    import torch
    from torch.fx.experimental.proxy_tensor import make_fx

    from jacchain.torch.program import _as_module, decompositions

    mlp = residual_mlp()

    def f(x):
        return [mlp(x)]

    x = torch.randn(256)

    def by_make_fx():
        return make_fx(f, tracing_mode="fake", decomposition_table=decompositions(),
                       _allow_non_fake_inputs=True)(x).graph

    def by_export():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            exported = torch.export.export(_as_module(f), (x,), strict=False)
            return exported.run_decompositions(decompositions()).graph

    tracers = {"make_fx": by_make_fx, "torch.export (non-strict)": by_export}
    times: dict[str, list[float]] = {name: [] for name in tracers}
    for trace in tracers.values():
        trace()  # warm-up
    for _ in range(repeats):  # interleaved
        for name, trace in tracers.items():
            start = time.perf_counter()
            trace()
            times[name].append(time.perf_counter() - start)
    fastest = min(min(t) for t in times.values())
    return [{"tracer": name, "seconds": min(t), "vs make_fx": min(t) / fastest}
            for name, t in times.items()]


def measure(case: Callable[[], tuple[str, Callable[[], Any], Callable[[str], Any]]],
            repeats: int) -> dict:
    name, plan, follow = case()
    text = plan().to_json()  # warm-up: imports, first traces
    follow(text)
    planned, followed = [], []
    for _ in range(repeats):  # interleaved
        start = time.perf_counter()
        made = plan()
        planned.append(time.perf_counter() - start)
        start = time.perf_counter()
        kept = follow(text)
        followed.append(time.perf_counter() - start)
        assert kept.to_json() == text, "the followed plan is not the saved one"
    return {"case": name, "plan s": min(planned), "saved plan s": min(followed),
            "ratio": min(planned) / min(followed), "cost": made.cost}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each (fastest kept)")
    args = parser.parse_args(argv)
    rows = []
    for case in (jax_layers_case, jax_function_case, torch_function_case):
        rows.append(measure(case, args.repeats))
        print(rows[-1], flush=True)
    tracers = torch_tracers(max(args.repeats, 5))
    print(tracers, flush=True)
    RESULTS.mkdir(exist_ok=True)
    write_csv("plan_reuse.csv", rows)
    text = "\n".join([
        "# Planning once, following many times",
        "",
        f"`python experiments/plan_reuse.py --repeats {args.repeats}` ({platform.machine()}, "
        f"{os.cpu_count()} cores; fastest of {args.repeats} interleaved runs each; a fresh "
        "jacobian function each time, so nothing is cached between runs).",
        "",
        "plan s: `.plan(x)` planned from scratch; saved plan s: the same plan read back from "
        "JSON and checked against the model (`plan=`); cost in multiply-adds.",
        "",
        markdown_table(rows, ["case", "plan s", "saved plan s", "ratio", "cost"]),
        "",
        "## PyTorch's tracers",
        "",
        f"The residual MLP above traced on fake tensors and decomposed to core ATen, fastest of "
        f"{max(args.repeats, 5)} interleaved runs each:",
        "",
        markdown_table(tracers, ["tracer", "seconds", "vs make_fx"]),
    ])
    (RESULTS / "plan_reuse.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
