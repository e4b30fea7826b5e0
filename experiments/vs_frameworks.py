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
and calibrated (``calibrate=True``). The candidates are timed interleaved.

Then three PyTorch models that are not chains (:data:`PROGRAMS`: a residual MLP with
LayerNorm and GELU, a small CNN, a transformer block), traced whole by
``jacchain.torch.jacobian(model)``, against ``torch.func.jacfwd``, ``torch.func.jacrev`` and
``torch.autograd.functional.jacobian(vectorize=True)``, on one thread.

Prints the tables and writes experiments/results/vs_frameworks.md and vs_frameworks.csv.

Run:  python experiments/vs_frameworks.py [--repeats 200] [--seed 0] [--program-repeats 30]
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
from figures import vs_frameworks_figure
from tables import with_progress

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


def best_times(runs, repeats):
    """The fastest of ``repeats`` calls of each run, after a warm-up call of each
    (compilation, caches, plans), the candidates interleaved: each round calls every run
    once, in a rotating order, so that the machine's slow spells fall on all alike. A run
    that raises in its warm-up is left out (its time: None)."""
    failed = {}
    for name, run in runs.items():
        try:
            run()
        except Exception as err:  # a framework that cannot differentiate this model
            failed[name] = None
            print(f"{name} fails: {type(err).__name__}: {str(err).splitlines()[0][:160]}",
                  file=sys.stderr)
    runs = {name: run for name, run in runs.items() if name not in failed}
    names = list(runs)
    best = dict.fromkeys(names, float("inf"))
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.perf_counter()
            runs[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return {**best, **failed}


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

PROGRAMS = ["residual MLP 512, 4 x (LN, 512-32-512, GELU), head 512", "CNN 1x28x28 -> 10",
            "transformer block 16 x 64"]
"""PyTorch models that are not sequential chains: traced whole by ``jacchain.torch.jacobian``."""


def program_model(name, dtype):
    """A PyTorch model of :data:`PROGRAMS` (eval mode, seeded) and an input for it."""
    import torch

    nn = torch.nn
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm, self.down, self.up = nn.LayerNorm(512), nn.Linear(512, 32), nn.Linear(32, 512)

        def forward(self, x):
            return x + self.up(nn.functional.gelu(self.down(self.norm(x))))

    if name == PROGRAMS[0]:
        model, shape = nn.Sequential(*[Block() for _ in range(4)], nn.Linear(512, 512)), (512,)
    elif name == PROGRAMS[1]:
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(0), nn.Linear(16 * 7 * 7, 10))
        shape = (1, 28, 28)
    else:
        model = nn.TransformerEncoderLayer(64, 4, 256, dropout=0.0, batch_first=True)
        shape = (16, 64)
    return model.to(dtype).eval(), torch.randn(shape, dtype=dtype)


def measure_program(name, repeats, time_limit):
    """One row: the model's full Jacobian by torch.func.jacfwd, jacrev,
    torch.autograd.functional.jacobian(vectorize=True) and jacchain (auto, search), timed
    interleaved on one thread; jacchain checked against jacrev in float64 first."""
    import torch

    import jacchain.torch as jct

    torch.set_num_threads(1)
    model, x = program_model(name, torch.float64)
    expected = torch.func.jacrev(model)(x)
    for method in ("auto", "forward", "reverse", "search"):
        got = jct.jacobian(model, method=method, time_limit=time_limit)(x)
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-11)
    model, x = program_model(name, torch.float32)
    auto = jct.jacobian(model)
    search = jct.jacobian(model, method="search", time_limit=time_limit)
    start = time.perf_counter()
    plan = search.plan(x)
    planning = time.perf_counter() - start
    compiled_jacrev = torch.compile(torch.func.jacrev(model))
    compiled_auto = torch.compile(jct.jacobian(model))
    with torch.no_grad():
        runs = {
            "jacfwd": lambda: torch.func.jacfwd(model)(x),
            "jacrev": lambda: torch.func.jacrev(model)(x),
            "autograd": lambda: torch.autograd.functional.jacobian(model, x, vectorize=True),
            "auto": lambda: auto(x),
            "search": lambda: search(x),
            "compiled jacrev": lambda: compiled_jacrev(x),
            "compiled auto": lambda: compiled_auto(x),
        }
        times = best_times(runs, repeats)
    faster = min(t for t in (times["jacfwd"], times["jacrev"]) if t is not None)
    auto_plan = auto.plan(x)
    return {
        "model": name,
        "jacfwd_ms": None if times["jacfwd"] is None else 1e3 * times["jacfwd"],
        "jacrev_ms": 1e3 * times["jacrev"],
        "autograd_ms": 1e3 * times["autograd"],
        "auto_ms": 1e3 * times["auto"],
        "search_ms": 1e3 * times["search"],
        "auto_ratio": times["auto"] / faster,
        "search_ratio": times["search"] / faster,
        "compiled_jacrev_ms": _in_ms(times["compiled jacrev"]),
        "compiled_auto_ms": _in_ms(times["compiled auto"]),
        "auto_plan": auto_plan.strategy,
        "forward_cost": plan.forward_cost,
        "reverse_cost": plan.reverse_cost,
        "auto_cost": auto_plan.cost,
        "search_cost": plan.cost,
        "search_seconds": planning,
    }


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
    times = best_times(runs, repeats)
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
    parser.add_argument("--program-repeats", type=int, default=30,
                        help="calls per candidate for the PyTorch programs")
    parser.add_argument("--time-limit", type=float, default=1.0,
                        help="seconds of search for jacchain's 'search' plans")
    parser.add_argument("--programs-only", action="store_true",
                        help="only the PyTorch programs (the chains' table is kept)")
    parser.add_argument("--only", nargs=2, metavar=("MODEL", "FRAMEWORK"), help=argparse.SUPPRESS)
    parser.add_argument("--only-program", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        print(json.dumps(measure(*args.only, args.repeats, args.seed)))
        return
    if args.only_program:
        print(json.dumps(measure_program(args.only_program, args.program_repeats, args.time_limit)))
        return

    rows = [] if not args.programs_only else _read_rows()
    pairs = [(m, f) for m in (MODELS if not args.programs_only else []) for f in FRAMEWORKS]
    for model_name, framework in with_progress(pairs, "vs_frameworks: chains"):
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
    programs = []
    for name in with_progress(PROGRAMS, "vs_frameworks: programs"):  # own process, one thread
        command = [sys.executable, __file__, "--only-program", name, "--program-repeats",
                   str(args.program_repeats), "--time-limit", str(args.time_limit)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            sys.exit(f"{name} failed:\n{done.stderr}")
        row = json.loads(done.stdout.splitlines()[-1])
        programs.append(row)
        print(f"{name:56s} jacfwd {_ms(row['jacfwd_ms'])}  jacrev {_ms(row['jacrev_ms'])}  "
              f"autograd {row['autograd_ms']:7.2f} ms  auto {row['auto_ms']:7.2f} ms  "
              f"search {row['search_ms']:7.2f} ms  compiled jacrev "
              f"{_ms(row['compiled_jacrev_ms'])}  compiled auto {_ms(row['compiled_auto_ms'])}",
              flush=True)
    write(rows, programs, args)


def _in_ms(seconds):
    return None if seconds is None else 1e3 * seconds


def _ms(value):
    return "fails" if value is None else f"{value:.2f} ms"


def _compiled_ratio(row):
    if row["compiled_jacrev_ms"] is None or row["compiled_auto_ms"] is None:
        return "n/a"
    return f"{row['compiled_auto_ms'] / row['compiled_jacrev_ms']:.2f}"


def _read_rows():
    with open(RESULTS / "vs_frameworks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("forward_ms", "reverse_ms", "jacchain_ms", "speedup", "model_speedup"):
            row[key] = float(row[key])
    return rows


def write(rows, programs, args):
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "vs_frameworks.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    vs_frameworks_figure()
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
    lines += [
        "",
        "## Any PyTorch model: traced whole",
        "",
        f"`python experiments/vs_frameworks.py --program-repeats {args.program_repeats} "
        f"--time-limit {args.time_limit}`, float32, one thread (`torch.set_num_threads(1)`); "
        f"fastest of {args.program_repeats} calls of each candidate after a warm-up, the "
        "candidates interleaved. `jacchain.torch.jacobian(model)` (auto: the cheapest of "
        "forward, reverse, Markowitz and a short search) and `method=\"search\"` (planned once, "
        "in the seconds shown); each checked against `torch.func.jacrev` in float64 first. "
        "Ratio: jacchain's time over the faster of jacfwd and jacrev (below 1: faster); "
        "compiled: `torch.compile` (inductor) of `torch.func.jacrev(model)` and of "
        "`jacchain.torch.jacobian(model)`, the ratio between the two (compilation excluded). "
        "Costs: multiply-adds of the elimination orders.",
        "",
        "| model | jacfwd | jacrev | autograd (vectorize) | jacchain auto | ratio | "
        "jacchain search | ratio | compiled jacrev | compiled jacchain auto | ratio | "
        "forward cost | reverse cost | auto cost | search cost | search seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in programs:
        lines.append(
            f"| {row['model']} | {_ms(row['jacfwd_ms'])} | {_ms(row['jacrev_ms'])} | "
            f"{row['autograd_ms']:.2f} ms | {row['auto_ms']:.2f} ms ({row['auto_plan']}) | "
            f"{row['auto_ratio']:.2f} | {row['search_ms']:.2f} ms | {row['search_ratio']:.2f} | "
            f"{_ms(row['compiled_jacrev_ms'])} | {_ms(row['compiled_auto_ms'])} | "
            f"{_compiled_ratio(row)} | "
            f"{row['forward_cost']:,} | {row['reverse_cost']:,} | {row['auto_cost']:,} | "
            f"{row['search_cost']:,} | {row['search_seconds']:.1f} |"
        )
    (RESULTS / "vs_frameworks.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cores():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
