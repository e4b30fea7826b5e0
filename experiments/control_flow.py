"""Programs with loops: jacchain's matrix-free partials against jax.jacfwd and jax.jacrev.

A ``scan``, ``while_loop`` or ``cond`` has no structural rule: jacchain keeps it matrix-free
(its JVP and VJP at the point, each priced by XLA's cost analysis) and applies it to its
neighbours' rows or columns, or forms it as an array, whichever the plan finds cheaper.
The programs (float32, ``n = --width``):

- ``scan -> loss``: 50 steps of ``tanh(W c)`` on R^n, then a sum of squares (R^n -> R;
  reverse mode wins);
- ``lift -> scan``: R^2 -> R^n by a matrix, then the same scan (forward mode wins);
- ``while -> loss``: a while loop (no reverse mode in JAX), then a sum (jax.jacrev fails;
  jacchain sweeps the loop forward);
- ``cond sandwich``: R^n -> R^4 (a matrix), a ``cond`` on R^4, R^4 -> R^n (a mixed order).

Times: minimum of ``--repeats`` interleaved calls, jitted, XLA on one thread; ratio =
jacchain / the faster pure mode. Every Jacobian is checked against jax.jacfwd.

Run:  python experiments/control_flow.py [--repeats 100] [--width 200] [--no-write]
Writes experiments/results/control_flow.md.
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from graphax_suite import interleaved_min_times, relative_error  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def programs(width: int, seed: int = 0) -> dict[str, tuple[Callable[[Any], Any], Any]]:
    """The four programs and an input for each."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(seed)
    W = jnp.asarray(rng.standard_normal((width, width)) / np.sqrt(width), jnp.float32)
    lift = jnp.asarray(rng.standard_normal((width, 2)), jnp.float32)
    down = jnp.asarray(rng.standard_normal((4, width)) / np.sqrt(width), jnp.float32)
    up = jnp.asarray(rng.standard_normal((width, 4)), jnp.float32)

    def steps(c: Any) -> Any:
        return jax.lax.scan(lambda c, _: (jnp.tanh(W @ c), None), c, None, length=50)[0]

    def scan_loss(x: Any) -> Any:
        return jnp.sum(steps(x) ** 2)

    def lift_scan(x: Any) -> Any:
        return steps(lift @ x)

    def while_loss(x: Any) -> Any:
        def body(carry: Any) -> Any:
            c, i = carry
            return jnp.tanh(W @ c), i + 1

        return jnp.sum(jax.lax.while_loop(lambda carry: carry[1] < 50, body, (x, 0))[0])

    def cond_sandwich(x: Any) -> Any:
        h = down @ x
        h = jax.lax.cond(h[0] > 0, jnp.sin, jnp.cos, h)
        return jnp.tanh(up @ h)

    x = jnp.linspace(-1.0, 1.0, width, dtype=jnp.float32)
    return {
        "scan -> loss": (scan_loss, x),
        "lift -> scan": (lift_scan, jnp.asarray([0.3, -0.2], jnp.float32)),
        "while -> loss": (while_loss, x),
        "cond sandwich": (cond_sandwich, x),
    }


def measure(name: str, function: Callable, x: Any, repeats: int) -> dict[str, Any]:
    import jax

    import jacchain.jax as jcj

    jac = jcj.jacobian(function)
    plan = jac.plan(x)
    calls = {"jacfwd": jax.jit(jax.jacfwd(function)), "jacchain": jax.jit(jac)}
    try:
        jax.jit(jax.jacrev(function))(x)
        calls["jacrev"] = jax.jit(jax.jacrev(function))
    except Exception:  # JAX cannot reverse a while loop
        pass
    reference = calls["jacfwd"](x)
    error = relative_error(calls["jacchain"](x), reference)
    times = interleaved_min_times({k: (lambda f=f: f(x)) for k, f in calls.items()}, repeats)
    best = min(t for k, t in times.items() if k != "jacchain")
    return {
        "program": name,
        "chosen": f"{plan.strategy} ({plan.mode})",
        "forward cost": plan.forward_cost,
        "reverse cost": plan.reverse_cost,
        "chosen cost": plan.cost,
        "jacfwd us": 1e6 * times["jacfwd"],
        "jacrev us": 1e6 * times["jacrev"] if "jacrev" in times else "fails (no reverse mode)",
        "jacchain us": 1e6 * times["jacchain"],
        "ratio": times["jacchain"] / best,
        "error": error,
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, float):
                if column == "error":
                    value = f"{value:.2e}"
                else:
                    value = f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"
            elif isinstance(value, int):
                value = f"{value:,}"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    import jax

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = [measure(name, f, x, args.repeats) for name, (f, x) in programs(args.width).items()]
    text = (
        "# Programs with loops: jacchain's matrix-free partials\n\n"
        f"Measured by `python experiments/control_flow.py {' '.join(sys.argv[1:])}` (JAX"
        f" {jax.__version__}, float32, {platform.machine()} with {os.cpu_count()} cores,"
        f" XLA_FLAGS=`{os.environ.get('XLA_FLAGS', '')}`). Costs: multiply-adds of jacchain's"
        " plan (matrix-free sweeps priced by XLA's cost analysis). Times: minimum of"
        f" {args.repeats} interleaved calls, jitted, in microseconds; ratio = jacchain / the"
        " faster pure mode; error: relative to jax.jacfwd.\n\n" + table(rows)
    )
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "control_flow.md").write_text(text)


if __name__ == "__main__":
    main()
