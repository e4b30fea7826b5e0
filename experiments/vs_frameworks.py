"""Full Jacobians of real models: jacchain (numpy, JAX, PyTorch) against the frameworks' own modes.

Two tanh MLPs in float32, the same weights in every framework:

- hourglass 1024 -> 32 -> 1024 -> 32 -> 1024, where a mixed order is optimal;
- plain 256 -> 512 -> 512 -> 10, where reverse mode is optimal.

Per framework, the full Jacobian by its pure forward mode, its pure reverse mode and
jacchain's plan: numpy (jacchain's own forward and reverse plans), JAX (``jax.jacfwd`` and
``jax.jacrev`` jitted, against ``jax.jit(jacchain.jax.jacobian(layers))``), PyTorch
(``torch.func.jacfwd`` and ``torch.func.jacrev``, against ``jacchain.torch.jacobian``).
Each time is the fastest of repeated calls after a warm-up (compilation excluded); the
ratio is the faster pure mode's time over jacchain's. Each framework runs in its own
process. For JAX, jacchain is timed twice: with layer costs from shapes (the default)
and calibrated (``calibrate=True``). Prints the table and writes
experiments/results/vs_frameworks.md and vs_frameworks.csv.

Run:  python experiments/vs_frameworks.py [--repeats 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import jacchain as jc
from jacchain.layers import Dense, Tanh

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = {
    "hourglass 1024-32-1024-32-1024": [1024, 32, 1024, 32, 1024],
    "plain MLP 256-512-512-10": [256, 512, 512, 10],
}
"""Dense layers' widths; tanh between consecutive dense layers."""


def weights(dims, rng):
    """One (W, b) per dense layer, float32, scaled to keep tanh out of saturation."""
    return [
        (
            (rng.standard_normal((m, n)) / np.sqrt(n)).astype(np.float32),
            (0.1 * rng.standard_normal(m)).astype(np.float32),
        )
        for n, m in zip(dims[:-1], dims[1:], strict=True)
    ]


def best_time(run, repeats):
    run()  # warm-up: compilation, caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def numpy_runs(params, x):
    layers = []
    for W, b in params:
        layers += [Dense(W, b), Tanh()]
    model = jc.Sequential(layers[:-1])
    runs = {
        method: (lambda m=method: jc.jacobian(model, x, m)) for method in ("forward", "reverse")
    }
    runs["jacchain"] = lambda: jc.jacobian(model, x)
    return runs, {"jacchain": model.plan(x.size)}


def jax_runs(params, x):
    import jax
    import jax.numpy as jnp

    import jacchain.jax as jcj

    layers = []
    for W, b in params:
        W, b = jnp.asarray(W), jnp.asarray(b)
        layers += [lambda v, W=W, b=b: W @ v + b, jnp.tanh]
    layers = layers[:-1]

    def model(v):
        for layer in layers:
            v = layer(v)
        return v

    x = jnp.asarray(x)
    jac, calibrated = jcj.jacobian(layers), jcj.jacobian(layers, calibrate=True)
    whole = jcj.jacobian(model)  # the model as one function: its jaxpr's graph is planned
    functions = {
        "forward": jax.jit(jax.jacfwd(model)),
        "reverse": jax.jit(jax.jacrev(model)),
        "jacchain": jax.jit(jac),
        "jacchain, calibrated": jax.jit(calibrated),
        "jacchain, one function": jax.jit(whole),
    }
    runs = {name: (lambda f=f: f(x).block_until_ready()) for name, f in functions.items()}
    plans = {
        "jacchain": jac.plan(x),
        "jacchain, calibrated": calibrated.plan(x),
        "jacchain, one function": whole.plan(x),
    }
    return runs, plans


def torch_runs(params, x):
    import torch

    import jacchain.torch as jct

    modules = []
    for W, b in params:
        linear = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        modules += [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*modules[:-1])
    x = torch.from_numpy(x)
    runs = {
        "forward": lambda: torch.func.jacfwd(model)(x),
        "reverse": lambda: torch.func.jacrev(model)(x),
        "jacchain": lambda: jct.jacobian(model, x),
    }
    return runs, {"jacchain": jct.plan(model, x)}


def as_numpy(value):
    if hasattr(value, "detach"):
        value = value.detach()
    return np.asarray(value)


FRAMEWORKS = {"numpy": numpy_runs, "JAX": jax_runs, "PyTorch": torch_runs}


def measure(model_name, framework, repeats, seed):
    """The rows of one model in one framework (run alone in its own process)."""
    dims = MODELS[model_name]
    rng = np.random.default_rng(seed)
    params = weights(dims, rng)
    x = rng.standard_normal(dims[0]).astype(np.float32)
    runs, plans = FRAMEWORKS[framework](params, x)
    results = {name: as_numpy(run()) for name, run in runs.items()}
    for name in runs:  # every variant computes the same Jacobian
        np.testing.assert_allclose(results[name], results["reverse"], rtol=2e-3, atol=2e-4)
    times = {name: best_time(run, repeats) for name, run in runs.items()}
    faster = min(times["forward"], times["reverse"])
    return [
        {
            "model": model_name,
            "framework": framework + variant.removeprefix("jacchain"),
            "plan": f"{plan.mode}: {plan.expression}",
            "forward_ms": 1e3 * times["forward"],
            "reverse_ms": 1e3 * times["reverse"],
            "jacchain_ms": 1e3 * times[variant],
            "speedup": faster / times[variant],
            "model_speedup": plan.speedup,
        }
        for variant, plan in plans.items()
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs=2, metavar=("MODEL", "FRAMEWORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        print(json.dumps(measure(*args.only, args.repeats, args.seed)))
        return

    rows = []
    for model_name in MODELS:
        for framework in FRAMEWORKS:
            # One process per framework: the thread pools of numpy, XLA and torch, left
            # spinning by one library, would otherwise slow the next on a small machine.
            command = [sys.executable, __file__, "--repeats", str(args.repeats)]
            command += ["--seed", str(args.seed), "--only", model_name, framework]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                sys.exit(f"{model_name} / {framework} failed:\n{done.stderr}")
            for row in json.loads(done.stdout.splitlines()[-1]):
                rows.append(row)
                print(
                    f"{model_name:32s} {row['framework']:18s} fwd {row['forward_ms']:7.2f} ms  "
                    f"rev {row['reverse_ms']:7.2f} ms  jacchain {row['jacchain_ms']:7.2f} ms  "
                    f"{row['speedup']:5.2f}x  ({row['plan']})",
                    flush=True,
                )
    write(rows, args)


def write(rows, args):
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "vs_frameworks.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Full Jacobians: jacchain against the frameworks' pure modes",
        "",
        f"`python experiments/vs_frameworks.py --repeats {args.repeats} --seed {args.seed}`, "
        f"float32, {platform.machine()} with {_cores()} cores; fastest of {args.repeats} "
        "calls after a warm-up (compilation excluded). Speedup: the faster pure mode's time "
        "over jacchain's; model: the same ratio in the cost model's multiply-adds.",
        "",
        "| model | framework | forward | reverse | jacchain | speedup | model | plan |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['framework']} | {row['forward_ms']:.2f} ms | "
            f"{row['reverse_ms']:.2f} ms | {row['jacchain_ms']:.2f} ms | "
            f"{row['speedup']:.2f}x | {row['model_speedup']:.2f}x | {row['plan']} |"
        )
    (RESULTS / "vs_frameworks.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cores():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
