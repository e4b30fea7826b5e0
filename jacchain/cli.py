"""The command line: ``jacchain plan DIMS...`` and ``jacchain demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import DimensionError, JacChainError
from .solvers import method_names

__all__ = ["main", "build_parser"]


def _parse_dim(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DimensionError(f"dims must be positive ints, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jacchain`` command.

    Examples
    --------
    >>> build_parser().parse_args(["plan", "3", "4", "5"]).dims
    ['3', '4', '5']
    """
    parser = argparse.ArgumentParser(
        prog="jacchain",
        description="Plan the cheapest order to multiply a chain of Jacobians "
        "(forward, reverse or mixed mode).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    plan_parser = commands.add_parser(
        "plan",
        help="plan a chain given its dims d0 d1 ... dk and print the report",
        description="Plan the chain J_k ... J_1 where J_i has shape (d_i, d_{i-1}).",
    )
    plan_parser.add_argument("dims", nargs="*", help="the dims d0 d1 ... dk (positive ints)")
    plan_parser.add_argument(
        "--gdjcpb",
        metavar="FILE",
        help="plan a generalized Jacobian chain instance (Naumann's format) instead of dims",
    )
    plan_parser.add_argument(
        "--memory-limit",
        type=int,
        default=None,
        metavar="N",
        help="largest tape an adjoint sweep may record (matrix-free layers)",
    )
    plan_parser.add_argument(
        "--method", default="auto", help=f"planning method ({', '.join(method_names())})"
    )
    plan_parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan_parser.add_argument(
        "--max-rows", type=int, default=20, help="step rows shown in the report (default 20)"
    )
    demo_parser = commands.add_parser(
        "demo",
        help="plan, run, verify and time three illustrative chains and a computational graph",
    )
    demo_parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best of)")
    demo_parser.add_argument("--seed", type=int, default=0, help="seed of the random Jacobians")
    return parser


def _run(args: argparse.Namespace) -> None:
    from .plan import plan

    if args.command == "plan":
        if bool(args.dims) == bool(args.gdjcpb):
            raise DimensionError("give either dims d0 d1 ... dk or --gdjcpb FILE (exactly one)")
        if args.gdjcpb:
            from .gdjcpb import read_gdjcpb

            chain = read_gdjcpb(args.gdjcpb)
        else:
            chain = [_parse_dim(text) for text in args.dims]
        result = plan(chain, method=args.method, memory_limit=args.memory_limit)
        print(result.to_json(indent=2) if args.json else result.report(max_rows=args.max_rows))
    elif args.command == "demo":
        from .demo import run_demo

        run_demo(repeats=args.repeats, seed=args.seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jacchain`` command; returns the exit status.

    Errors are printed as one line on standard error (no traceback) with status 2.

    Examples
    --------
    >>> main(["plan", "1000", "10", "1000", "10", "1000", "--json"])  # doctest: +ELLIPSIS
    {
      "format": "jacchain.plan",
    ...
    0
    """
    args = build_parser().parse_args(argv)
    try:
        _run(args)
    except JacChainError as err:
        print(f"jacchain: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()
        return 1
    except OSError as err:
        print(f"jacchain: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("jacchain: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
