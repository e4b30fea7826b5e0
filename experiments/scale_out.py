"""Beyond one process: a chain of large dense Jacobians, and many directions of an expensive
matrix-free function, run with numpy, on Dask's threaded scheduler and on a LocalCluster.

Case 1, chain: six dense Jacobians of width 6,000 to 8,000 around a bottleneck of 100
(dims 7000 6000 8000 100 7000 6000 8000), float64, evaluated along jacchain's plan
(a) with numpy, (b) as dask arrays on the threaded scheduler, (c) as dask arrays on
``LocalCluster(n_workers=2, threads_per_worker=1)``. The Jacobians are made where they are
used (numpy: in the process; dask: block by block, by ``dask.array.random``, persisted
before the clock starts), the result is computed into the driver, and each variant runs in
its own process, so that its peak resident memory is its own (``ru_maxrss``; for the
cluster, the driver's). The results are checked equal.

Case 2, directions: a matrix-free function R^4096 -> R^512 (a dense map, then 40 steps of
a nonlinear recurrence whose linearization each direction runs through, keeping its state
at every step, as an adjoint tape would: memory grows with the directions a call takes),
its full Jacobian by 4,096 tangent directions: (a) all at once, (b) in chunks of
``--chunk`` directions in the process, (c) in those chunks as tasks on the LocalCluster
(``Plan.evaluate(..., chunk_size=, client=)``). Peak memory of the driver per variant, and
the measured cost of one direction.

Prints the tables and writes experiments/results/scale_out.md.

Case 3, front ends: the Jacobian of a function R^2048 -> R^64 by ``jacchain.jax.jacobian``
and ``jacchain.torch.jacobian`` in chunks of columns on the LocalCluster (``chunk_size=``,
``client=``): the time a chunk costs, tracing and planning on the worker included.

Run:  python experiments/scale_out.py [--chunk 256] [--repeats 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
from figures import scale_out_figure
from tables import RESULTS, markdown_table, with_progress

import jacchain as jc

DIMS = [7000, 6000, 8000, 100, 7000, 6000, 8000]
SEED = 0
BLOCK = 2000
N_IN, N_OUT, STEPS = 4096, 512, 40


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _cluster():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    return cluster, Client(cluster)


def _lazy_jacobians(block: int = BLOCK):
    import dask.array as da

    state = da.random.RandomState(SEED)
    return [state.standard_normal((m, n), chunks=block) / np.sqrt(n)
            for n, m in zip(DIMS[:-1], DIMS[1:], strict=True)]


def _stored(lazy):
    """Write ``lazy`` block row by block row from the workers (no gather); read a corner back."""
    import tempfile

    import dask.array as da

    with tempfile.TemporaryDirectory() as folder:
        da.to_npy_stack(folder, lazy, axis=0)
        return np.asarray(da.from_npy_stack(folder)[:64, :64])


def chain_case(variant: str, repeats: int, block: int = BLOCK) -> dict:
    """One variant of case 1, in this process."""
    import dask

    plan = jc.plan(DIMS)
    client = cluster = None
    if variant == "numpy":
        with dask.config.set(scheduler="threads"):
            Js = [J.compute() for J in _lazy_jacobians(block)]  # the numbers of the dask runs
        run = lambda: plan.evaluate(Js)  # noqa: E731
    else:
        if variant.startswith("cluster"):
            cluster, client = _cluster()
        else:
            dask.config.set(scheduler="threads")
        Js = [J.persist() for J in _lazy_jacobians(block)]
        if client is not None:
            from distributed import wait

            wait(Js)
        run = lambda: plan.evaluate(Js).compute()  # noqa: E731
        if variant == "cluster, stored by the workers":
            run = lambda: _stored(plan.evaluate(Js))  # noqa: E731
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    checksum = float(np.einsum("ij,ij->", result[:64, :64], result[:64, :64]))
    row = {"variant": variant, "seconds": min(times), "peak_mb": _peak_mb(),
           "checksum": checksum, "plan": plan.expression, "multiply_adds": plan.cost}
    if client is not None:
        client.close()
        cluster.close()
    return row


class Recurrence:
    """d/dx of x -> h_40, h_0 = W x, h_{t+1} = tanh(A h_t + b): matmat runs each direction
    through the 40 linearized steps, keeping every step's tangent (memory ~ directions)."""

    def __init__(self, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)
        self.W = rng.standard_normal((N_OUT, N_IN)) / np.sqrt(N_IN)
        self.A = rng.standard_normal((N_OUT, N_OUT)) / np.sqrt(N_OUT)
        x = rng.standard_normal(N_IN)
        h, self.slopes = self.W @ x, []
        for _ in range(STEPS):
            h = np.tanh(self.A @ h + 0.1)
            self.slopes.append(1.0 - h * h)

    def matmat(self, V: np.ndarray) -> np.ndarray:
        tangents = [self.W @ V]
        for slope in self.slopes:
            tangents.append(slope[:, None] * (self.A @ tangents[-1]))
        return tangents[-1]

    def rmatmat(self, U: np.ndarray) -> np.ndarray:
        for slope in reversed(self.slopes):
            U = self.A.T @ (slope[:, None] * U)
        return self.W.T @ U


def directions_case(variant: str, chunk: int, repeats: int) -> dict:
    """One variant of case 2, in this process."""
    operator = Recurrence()
    chain = jc.Chain([jc.Layer(N_IN, N_OUT, "matrix-free", edges=N_OUT * N_IN + STEPS * N_OUT ** 2)])
    plan = jc.plan(chain, "forward")
    client = cluster = None
    if variant == "cluster":
        cluster, client = _cluster()
    size = None if variant == "all at once" else chunk
    # on the cluster the Jacobian comes back lazy: computed into the driver here
    run = lambda: np.asarray(plan.evaluate([operator], chunk_size=size, client=client))  # noqa: E731
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    one = np.eye(N_IN)[:, :1]
    start = time.perf_counter()
    for _ in range(20):
        operator.matmat(one)
    per_direction = (time.perf_counter() - start) / 20
    row = {"variant": variant, "chunk": size or N_IN, "seconds": min(times), "peak_mb": _peak_mb(),
           "checksum": float(np.abs(result).sum()), "one_direction_ms": 1e3 * per_direction}
    if client is not None:
        client.close()
        cluster.close()
    return row


FRONT_N, FRONT_M = 2048, 64


def front_end_case(framework: str, chunk: int, repeats: int) -> dict:
    """Case 3, in this process: the Jacobian of x -> tanh(A sin(x)), R^2048 -> R^64, by a
    front end on the LocalCluster in chunks of columns (each chunk traced and planned on its
    worker), against the framework's own reverse mode in the driver."""
    A = np.random.default_rng(SEED).standard_normal((FRONT_M, FRONT_N)) / np.sqrt(FRONT_N)
    if framework == "JAX":
        import jax
        import jax.numpy as jnp

        import jacchain.jax as front

        weights = jnp.asarray(A, jnp.float32)
        function, x = (lambda v: jnp.tanh(weights @ jnp.sin(v))), jnp.linspace(0.0, 1.0, FRONT_N)
        expected = np.asarray(jax.jacrev(function)(x))
    else:
        import torch

        import jacchain.torch as front

        weights = torch.tensor(A, dtype=torch.float32)
        function, x = (lambda v: torch.tanh(weights @ torch.sin(v))), torch.linspace(0.0, 1.0, FRONT_N)
        expected = torch.func.jacrev(function)(x).numpy()
    cluster, client = _cluster()
    jacobian = front.jacobian(function, chunk_size=chunk, client=client)
    np.asarray(front.jacobian(function, chunk_size=FRONT_N, client=client)(x).compute())  # warm-up
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = np.asarray(jacobian(x).compute())
        times.append(time.perf_counter() - start)
    client.close()
    cluster.close()
    chunks = -(-FRONT_N // chunk)
    return {"framework": framework, "chunk": chunk, "chunks": chunks, "seconds": min(times),
            "seconds a chunk": min(times) / chunks,
            "equal": bool(np.allclose(result, expected, rtol=1e-4, atol=1e-6))}


def _noop(x):
    return x


def task_overhead(count: int = 2000) -> dict:
    """Seconds per trivial task on the LocalCluster (submit, run, gather), the best of 3."""
    from distributed import wait

    cluster, client = _cluster()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        futures = client.map(_noop, range(count), pure=False)
        wait(futures)
        client.gather(futures)
        best = min(best, (time.perf_counter() - start) / count)
        del futures
    client.close()
    cluster.close()
    return {"variant": "trivial tasks", "ms_per_task": 1e3 * best, "tasks": count}


def _in_child(args: list[str]) -> dict:
    command = [sys.executable, __file__, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=256, help="directions per chunk (case 2)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant (fastest kept)")
    parser.add_argument("--block", type=int, default=BLOCK, help="dask block size (case 1)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of case 1, its variants interleaved (fastest kept)")
    parser.add_argument("--only", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        case, variant = args.only
        if case == "overhead":
            row = task_overhead()
        elif case == "front":
            row = front_end_case(variant, args.chunk, args.repeats)
        else:
            row = (chain_case(variant, args.repeats, args.block) if case == "chain"
                   else directions_case(variant, args.chunk, args.repeats))
        print(json.dumps(row))
        return
    variants = ("numpy", "threads", "cluster", "cluster, stored by the workers")
    best: dict[str, dict] = {}
    rounds = with_progress(range(args.rounds), "scale_out: rounds of the chain case")
    for _ in rounds:  # the variants interleaved, round after round
        for variant in variants:
            row = _in_child(["--only", "chain", variant, "--repeats", str(args.repeats),
                             "--block", str(args.block)])
            if variant not in best or row["seconds"] < best[variant]["seconds"]:
                best[variant] = row
    chain_rows = [best[v] for v in variants]
    base = chain_rows[0]
    for row in chain_rows:
        row["time vs numpy"] = row["seconds"] / base["seconds"]
        row["equal to numpy"] = bool(np.isclose(row["checksum"], base["checksum"], rtol=1e-9))
        print(row, flush=True)
    direction_rows = []
    runs = [("all at once", args.chunk)] + [("in chunks", c) for c in (args.chunk // 4, args.chunk,
                                                                        4 * args.chunk)]
    for variant, chunk in with_progress(runs + [("cluster", args.chunk)], "scale_out: directions"):
        row = _in_child(["--only", "directions", variant, "--chunk", str(chunk),
                         "--repeats", str(args.repeats)])
        direction_rows.append(row)
        print(row, flush=True)
    first = direction_rows[0]
    for row in direction_rows:
        row["equal"] = bool(np.isclose(row["checksum"], first["checksum"], rtol=1e-9))
    overhead = _in_child(["--only", "overhead", "-"])
    print(overhead, flush=True)
    front_rows = [_in_child(["--only", "front", framework, "--chunk", str(chunk),
                             "--repeats", str(args.repeats)])
                  for framework in ("JAX", "PyTorch") for chunk in (args.chunk, 4 * args.chunk)]
    for row in front_rows:
        print(row, flush=True)
    write(chain_rows, direction_rows, overhead, front_rows, args)


def write(chain_rows, direction_rows, overhead, front_rows, args):
    RESULTS.mkdir(exist_ok=True)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    plan = chain_rows[0]
    lines = [
        "# Beyond one process: chains on Dask, directions in chunks",
        "",
        f"`python experiments/scale_out.py --chunk {args.chunk} --repeats {args.repeats} "
        f"--block {args.block} --rounds {args.rounds}` "
        f"({platform.machine()}, {cores} cores; fastest of {args.repeats} runs; case 1: "
        f"{args.rounds} rounds of its variants in turn, the fastest kept; peak: the "
        "driver process's maximum resident memory, each variant in its own process).",
        "",
        f"## Case 1: a chain of six dense Jacobians, dims {' '.join(map(str, DIMS))}",
        "",
        f"Plan `{plan['plan']}`, {plan['multiply_adds']:,} multiply-adds, float64; "
        f"dask blocks of {args.block} x {args.block}; the cluster is `LocalCluster(n_workers=2, "
        "threads_per_worker=1)`; the Jacobian is computed into the driver, or, in the last row, "
        "written to disk by the workers block row by block row (`dask.array.to_npy_stack`).",
        "",
        markdown_table(chain_rows, ["variant", "seconds", "time vs numpy", "peak_mb",
                                    "equal to numpy"]),
        "",
        f"## Case 2: 4,096 directions of a matrix-free function R^{N_IN} -> R^{N_OUT}",
        "",
        f"{STEPS} linearized recurrence steps a direction, every step's tangent kept "
        f"({STEPS + 1} x {N_OUT} x 8 bytes = {(STEPS + 1) * N_OUT * 8 / 1024:.0f} kB a "
        "direction); the cluster runs chunks of "
        f"{args.chunk} directions.",
        "",
        markdown_table(direction_rows, ["variant", "chunk", "seconds", "peak_mb",
                                        "one_direction_ms", "equal"]),
        "",
        "## Overhead of a task",
        "",
        f"{overhead['tasks']:,} trivial tasks mapped over the LocalCluster, submitted, run and "
        f"gathered: {overhead['ms_per_task']:.2f} ms a task (best of 3).",
        "",
        "## Case 3: the front ends' columns on the cluster",
        "",
        f"x -> tanh(A sin(x)), R^{FRONT_N} -> R^{FRONT_M}, by `jacchain.jax.jacobian` and "
        "`jacchain.torch.jacobian` with `chunk_size=` and the LocalCluster's client: each chunk "
        "of columns is a task that traces, plans and runs the function restricted to its "
        "columns on a worker; the Jacobian is computed into the driver (after a warm-up run); "
        "checked equal to `jax.jacrev` / `torch.func.jacrev`.",
        "",
        markdown_table(front_rows, ["framework", "chunk", "chunks", "seconds",
                                    "seconds a chunk", "equal"]),
    ]
    (RESULTS / "scale_out.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {RESULTS / 'scale_out.md'} and {scale_out_figure().name}")


if __name__ == "__main__":
    main()
