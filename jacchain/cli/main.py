"""The command line: ``jacchain plan DIMS...`` and ``jacchain demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .._version import __version__
from ..errors import DimensionError, JacChainError, MethodError
from ..solvers import method_names

__all__ = ["main", "build_parser"]


def _parse_dim(text: str) -> int:
    shown = text if len(text) <= 40 else text[:37] + "..."
    if len(text.strip().lstrip("+-")) > 19:
        raise DimensionError(f"dims must be positive ints of at most 2**63 - 1, got {shown!r}")
    try:
        return int(text)
    except ValueError:
        raise DimensionError(f"dims must be positive ints, got {shown!r}") from None


def _count(least: int) -> Callable[[str], int]:
    """An argparse type: an int of at least ``least`` (argparse reports anything else)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int, got {text[:40]!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    parse.__name__ = f"int >= {least}"
    return parse


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
    parser.add_argument("--version", action="version", version=f"jacchain {__version__}")
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
        help="plan a generalized Jacobian chain instance (Naumann's format) instead of dims: "
        "a file, or the name of an instance shipped with jacchain (e.g. p_3_3.1)",
    )
    plan_parser.add_argument(
        "--memory-limit",
        type=_count(0),
        default=None,
        metavar="N",
        help="largest tape an adjoint sweep may record (matrix-free layers)",
    )
    plan_parser.add_argument(
        "--max-intermediate",
        type=_count(1),
        default=None,
        metavar="N",
        help="most elements of any product but the final Jacobian (dense chains; exact DP)",
    )
    plan_parser.add_argument(
        "--method", default="auto", help=f"planning method ({', '.join(method_names())})"
    )
    plan_parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan_parser.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw the plan (its bracketing tree and costs) to FILE, in the format its "
        "suffix names: .png, .svg, .pdf, ... (extra 'plot')",
    )
    plan_parser.add_argument(
        "--max-rows", type=_count(1), default=20, help="step rows shown in the report (default 20)"
    )
    demo_parser = commands.add_parser(
        "demo",
        help="plan, run, verify and time three illustrative chains and a computational graph",
    )
    demo_parser.add_argument(
        "--repeats", type=_count(1), default=3, help="timing repeats (best of; at least 1)"
    )
    demo_parser.add_argument(
        "--seed", type=_count(0), default=0, help="seed of the random Jacobians (>= 0)"
    )
    demo_parser.add_argument(
        "--dask",
        action="store_true",
        help="also run one chain on a local Dask cluster and print its dashboard link "
        "(extra 'dask')",
    )
    return parser


def _run(args: argparse.Namespace) -> None:
    from ..plans.plan import plan

    if args.command == "plan":
        if bool(args.dims) == bool(args.gdjcpb):
            raise DimensionError("give either dims d0 d1 ... dk or --gdjcpb FILE (exactly one)")
        if args.gdjcpb:
            from ..chains.gdjcpb import read_gdjcpb

            chain = read_gdjcpb(args.gdjcpb)
        else:
            chain = [_parse_dim(text) for text in args.dims]
        result = plan(chain, method=args.method, memory_limit=args.memory_limit,
                      max_intermediate=args.max_intermediate)
        if args.plot:  # first: a path it cannot write fails before any output
            result.plot(args.plot)
        print(result.to_json(indent=2) if args.json else result.report(max_rows=args.max_rows))
        if args.plot:
            print(f"jacchain: wrote {args.plot}", file=sys.stderr)
    elif args.command == "demo":
        from .demo import dask_demo, run_demo

        run_demo(repeats=args.repeats, seed=args.seed)
        if args.dask:
            try:
                import distributed  # noqa: F401
            except ImportError:
                raise MethodError(
                    "jacchain demo --dask needs the 'dask' extra: pip install 'jacchain[dask]'"
                ) from None
            dask_demo(seed=args.seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jacchain`` command; returns the exit status.

    Errors are printed as one line on standard error, never a traceback: bad input (a
    :class:`~jacchain.JacChainError`, or a usage error) exits with status 2, an operating
    system error with 1, and anything else (a bug in jacchain) with 1 and a request to
    report it.

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
    except Exception as err:  # never a traceback: one line, and a request to report it
        text = str(err).splitlines()[0][:200] if str(err) else ""
        print(
            f"jacchain: internal error ({type(err).__name__}: {text}); please report it "
            "with the command line that caused it",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
