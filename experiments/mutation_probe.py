"""Mutation probe: plant one small bug at a time and see whether the test suite catches it.

For each mutant: copy jacchain/, tests/ and pyproject.toml into a fresh temporary directory,
replace one exact piece of text in one module (it must occur exactly once, or the mutant is
reported as not applied), and run the core test files there with pytest (``-x``: the first
failure kills the mutant), the copy first on the import path. The working tree is never
touched. First the unmutated copy must pass, or the probe stops. Writes
experiments/results/mutation_probe.md and mutation_probe.csv (mutant, file, description,
killed, the first failing test, seconds).

Run:  python experiments/mutation_probe.py [--only NAME ...] [--seed 0] [--timeout 900] [--check]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from tables import RESULTS, markdown_table, write_csv

ROOT = Path(__file__).resolve().parents[1]
LOGS: Path | None = None  # --logs DIR: keep each pytest run's output there
CORE_TESTS = [
    "tests/test_oracles.py",
    "tests/test_plan.py",
    "tests/test_solvers.py",
    "tests/test_cost.py",
    "tests/test_approx.py",
    "tests/test_structured.py",
    "tests/test_execute.py",
    "tests/test_hu_shing.py",
    "tests/test_long_chains.py",
    "tests/test_evaluate.py",
    "tests/test_verify.py",
    "tests/test_serialization.py",
    "tests/test_chain.py",
]
"""Run for every mutant (after the files most relevant to its module, which come first)."""

RELEVANT = {
    "solvers/dp.py": ["tests/test_solvers.py", "tests/test_hu_shing.py"],
    "solvers/hu_shing.py": ["tests/test_hu_shing.py", "tests/test_solvers.py"],
    "solvers/approx.py": ["tests/test_approx.py"],
    "solvers/generalized.py": ["tests/test_structured.py"],
    "chains/steps.py": ["tests/test_solvers.py", "tests/test_structured.py"],
    "chains/validate.py": ["tests/test_solvers.py", "tests/test_structured.py"],
    "chains/cost.py": ["tests/test_cost.py", "tests/test_structured.py"],
    "plans/plan.py": ["tests/test_plan.py", "tests/test_approx.py"],
    "execution/program.py": ["tests/test_execute.py", "tests/test_structured.py", "tests/test_compiled.py"],
}


class Mutant(NamedTuple):
    name: str
    file: str  # relative to jacchain/
    old: str
    new: str
    description: str
    equivalent: str = ""  # why the change cannot alter any result, when we believe so


MUTANTS = [
    # --- the two bugs issue 9 names ---
    Mutant(
        "hu-shing-weld-once",
        "solvers/hu_shing.py",
        "            while heap >= 0 and s * den[heap] <= num[heap] * d:",
        "            if heap >= 0 and s * den[heap] <= num[heap] * d:",
        "Hu-Shing welds at most one unit to an arc instead of all it must (issue 9)",
    ),
    Mutant(
        "generalized-memory-limit-strict",
        "solvers/generalized.py",
        "fits = h_tape[rows, : n - 1] - prefix_tape[rows, None] <= memory_limit",
        "fits = h_tape[rows, : n - 1] - prefix_tape[rows, None] < memory_limit",
        "generalized DP: an adjoint sweep's tape compared with < memory_limit, not <= (issue 9)",
    ),
    # --- solvers/dp.py ---
    Mutant(
        "dp-split-off-by-one",
        "solvers/dp.py",
        "        return lo - 1 + int(np.argmin(candidates)) + 1",
        "        return lo - 1 + int(np.argmin(candidates))",
        "DP: the recovered split is one layer too early",
    ),
    Mutant(
        "dp-upper-part-shifted",
        "solvers/dp.py",
        "                by_end[first + n - 1 : last + n - 1, k - n + 1 : k],\n                out=",
        "                by_end[first + n - 1 : last + n - 1, k - n : k - 1],\n                out=",
        "DP: the output-side parts of each split read one length off",
    ),
    Mutant(
        "dp-int64-bound-too-loose",
        "solvers/dp.py",
        "    safe = fits_int64(int(dims.max()), max(k - 1, 1))",
        "    safe = fits_int64(int(dims.max()), max(k - 1, 1), factors=2)",
        "DP: int64 tables chosen where costs overflow int64 (bound on d^2, not d^3)",
    ),
    # --- solvers/hu_shing.py ---
    Mutant(
        "hu-shing-root-removes-once",
        "solvers/hu_shing.py",
        "    while heap >= 0 and num[heap] >= w1 * den[heap]:",
        "    if heap >= 0 and num[heap] >= w1 * den[heap]:",
        "Hu-Shing: V1 removes at most one unit instead of all with S >= w1",
    ),
    Mutant(
        "hu-shing-v1-is-largest",
        "solvers/hu_shing.py",
        "    shift = dims.index(min(dims))",
        "    shift = dims.index(max(dims))",
        "Hu-Shing: the polygon is rooted at a largest vertex instead of a smallest",
    ),
    Mutant(
        "hu-shing-meld-min-heap",
        "solvers/hu_shing.py",
        "        if num[x] * den[y] >= num[y] * den[x]:\n            sibling[y] = first[x]\n"
        "            first[x] = y\n            return x",
        "        if num[x] * den[y] <= num[y] * den[x]:\n            sibling[y] = first[x]\n"
        "            first[x] = y\n            return x",
        "Hu-Shing: meld keeps the smaller supporting weight on top (heap order broken)",
    ),
    Mutant(
        "hu-shing-remove-strict",
        "solvers/hu_shing.py",
        "            while heap >= 0 and num[heap] >= wl * den[heap]:",
        "            while heap >= 0 and num[heap] > wl * den[heap]:",
        "Hu-Shing: a unit whose S equals the arc's smaller weight is kept, not removed (a tie)",
        "equivalent: an exact tie between S and the arc's smaller weight costs the same removed or kept (see hu_shing_steps, Ties); no cost changed on 58,570 chains (every dims in 1..3^8, 1..4^7, 1..5^6, and 20,000 seeded chains of 3-60 layers)",
    ),
    # --- solvers/approx.py ---
    Mutant(
        "approx-from-largest-vertex",
        "solvers/approx.py",
        "    start = min(range(count), key=weights.__getitem__)",
        "    start = max(range(count), key=weights.__getitem__)",
        "approx: the walk starts from a largest vertex instead of a smallest",
    ),
    Mutant(
        "approx-cut-test-strict",
        "solvers/approx.py",
        "            if (wc + wb) * w1 * wt <= (wt + w1) * wb * wc:",
        "            if (wc + wb) * w1 * wt < (wt + w1) * wb * wc:",
        "approx: on an exact tie of Chin's test the top vertex is cut off (a tie)",
    ),
    Mutant(
        "approx-fan-misses-a-triangle",
        "solvers/approx.py",
        "for i in range(1, len(stack) - 1))",
        "for i in range(2, len(stack) - 1))",
        "approx: the final fan from V1 leaves out its first triangle",
    ),
    # --- solvers/generalized.py ---
    Mutant(
        "generalized-fits-strict",
        "solvers/generalized.py",
        "    return limit is None or tape <= limit",
        "    return limit is None or tape < limit",
        "generalized: _fits (accumulations, step recovery) compares tape < limit",
    ),
    Mutant(
        "generalized-one-sparse-is-dense",
        "solvers/generalized.py",
        "                    | (counts[1][ends] - counts[1][rows] >= 2)",
        "                    | (counts[1][ends] - counts[1][rows] >= 1)",
        "generalized: a segment with one sparse layer counted as dense (sweeps allowed over it)",
        "equivalent: a sweep through diagonal, identity and one sparse layer costs d times their nnz and sizes, never less than the structured products it replaces, and products win ties; no plan changed on 24,000 random structured chains",
    ),
    Mutant(
        "generalized-one-dense-is-structured",
        "solvers/generalized.py",
        "                    (counts[2][ends] - counts[2][rows] > 0)",
        "                    (counts[2][ends] - counts[2][rows] > 1)",
        "generalized: a segment with one dense or matrix-free layer not counted as dense",
    ),
    Mutant(
        "generalized-tangent-rows",
        "solvers/generalized.py",
        "tangent = lower + cols * (prefix_t[ends, None] - h_t[rows, : n - 1])",
        "tangent = lower + out_rows * (prefix_t[ends, None] - h_t[rows, : n - 1])",
        "generalized: a tangent step costed with d_hi directions instead of d_{lo-1}",
    ),
    Mutant(
        "generalized-diag-times-dense",
        "solvers/generalized.py",
        "        zero + inner * cols,\n        zero + up_nnz,",
        "        zero + rows * inner,\n        zero + up_nnz,",
        "generalized: diagonal x dense costed rows*inner instead of inner*cols",
    ),
    Mutant(
        "generalized-accumulate-adjoint-on-ties",
        "solvers/generalized.py",
        "    if _fits(memory_limit, table.tape[layer - 1]) and adjoint < tangent:",
        "    if _fits(memory_limit, table.tape[layer - 1]) and adjoint <= tangent:",
        "generalized: a layer accumulated by adjoints on a cost tie (same cost, a tape)",
    ),
    # --- chains/steps.py, chains/validate.py ---
    Mutant(
        "bracketing-forward-tangent-index",
        "chains/steps.py",
        "            op = Operation.TANGENT if mf[layer - 1] else Operation.PRODUCT",
        "            op = Operation.TANGENT if mf[layer - 2] else Operation.PRODUCT",
        "forward mode: a layer swept by tangents when the one before it is matrix-free",
    ),
    Mutant(
        "bracketing-bounds-accept-split-eq-hi",
        "chains/validate.py",
        "        if not 1 <= lo <= split < hi <= k:",
        "        if not 1 <= lo <= split <= hi <= k:",
        "check_steps: a step with split == hi passes the bounds check",
    ),
    Mutant(
        "bracketing-triangle-split",
        "chains/steps.py",
        "        split_of[(a + 1, c)] = x + y + z - a - c",
        "        split_of[(a + 1, c)] = a + 1",
        "steps_from_triangles: every segment split after its first layer",
    ),
    # --- chains/cost.py ---
    Mutant(
        "cost-diag-times-dense",
        "chains/cost.py",
        "        return {DIAGONAL: inner, SPARSE: b_nnz, DENSE: inner * cols}[b_code]",
        "        return {DIAGONAL: inner, SPARSE: b_nnz, DENSE: rows * cols}[b_code]",
        "cost: diagonal x dense costed rows*cols instead of inner*cols",
        "equivalent: a diagonal upper factor is square, so rows == inner",
    ),
    Mutant(
        "cost-diag-times-sparse-as-dense",
        "chains/cost.py",
        "        return {DIAGONAL: inner, SPARSE: b_nnz, DENSE: inner * cols}[b_code]",
        "        return {DIAGONAL: inner, SPARSE: inner * cols, DENSE: inner * cols}[b_code]",
        "cost: diagonal x sparse costed like diagonal x dense",
    ),
    Mutant(
        "cost-sparse-sparse-max",
        "chains/cost.py",
        "return min(a_nnz * cols, rows * b_nnz) if b_code == SPARSE else a_nnz * cols",
        "return max(a_nnz * cols, rows * b_nnz) if b_code == SPARSE else a_nnz * cols",
        "cost: sparse x sparse costed the dearer way",
    ),
    Mutant(
        "cost-two-sparse-are-sparse",
        "chains/cost.py",
        "        if dense or sparse >= 2:",
        "        if dense or sparse >= 3:",
        "cost: the product of two sparse layers counted as sparse, not dense",
    ),
    Mutant(
        "cost-accumulate-adjoint-directions",
        "chains/cost.py",
        "            cost = d[hi] * table.adjoint[lo - 1]",
        "            cost = d[lo - 1] * table.adjoint[lo - 1]",
        "cost: adjoint accumulation costed with n_in directions instead of n_out",
    ),
    Mutant(
        "cost-reverse-closed-form",
        "chains/cost.py",
        "    return _pairwise_sum_times(dims, slice(None, -1), int(dims[-1]))",
        "    return _pairwise_sum_times(dims, slice(1, None), int(dims[-1]))",
        "cost: reverse mode's closed form sums the wrong pairs",
    ),
    Mutant(
        "cost-adjoint-tape-side",
        "chains/cost.py",
        "            tapes.append(table.tape_sum(lo, split))",
        "            tapes.append(table.tape_sum(split + 1, hi))",
        "cost: an adjoint step's tape summed over the wrong side of the split",
    ),
    # --- plan.py ---
    Mutant(
        "plan-tie-rule-reverse-first",
        "plans/plan.py",
        "    if candidate.forward_cost == best:\n        steps = forward_steps(k, matrix_free)\n"
        "    elif reverse_cost == best:\n        steps = reverse_steps(k, matrix_free)",
        "    if reverse_cost == best:\n        steps = reverse_steps(k, matrix_free)\n"
        "    elif candidate.forward_cost == best:\n        steps = forward_steps(k, matrix_free)",
        "plan: ties between forward and reverse go to reverse",
    ),
    Mutant(
        "plan-fits-strict",
        "plans/plan.py",
        "    return limit is None or candidate.largest_tape <= limit",
        "    return limit is None or candidate.largest_tape < limit",
        "plan: a plan whose tape equals memory_limit is refused",
    ),
    # --- execute.py ---
    Mutant(
        "execute-diag-times-dense-axis",
        "execution/program.py",
        '        return DENSE, "{0}[:, None] * {1}"',
        '        return DENSE, "{0}[None, :] * {1}"',
        "execute: diagonal x dense scales columns instead of rows",
    ),
    Mutant(
        "execute-right-identity-drops",
        "execution/program.py",
        '    if lower == IDENTITY:\n        return upper, "{0}"',
        '    if lower == IDENTITY:\n        return lower, "{1}"',
        "execute: a product with an identity on the right returns the identity",
    ),
    Mutant(
        "execute-tangent-order",
        "execution/program.py",
        "            for number in range(split + 1, hi + 1):\n                block = walk.through(",
        "            for number in range(hi, split, -1):\n                block = walk.through(",
        "execute: a tangent step applies its layers last first",
    ),
    Mutant(
        "execute-sparse-order",
        "execution/program.py",
        "    if a.nnz * b.shape[1] <= a.shape[0] * b.nnz:",
        "    if a.nnz * b.shape[1] > a.shape[0] * b.nnz:",
        "execute: sparse x sparse formed the other (dearer) way round",
        "equivalent: the same product formed in the other order (a performance bug only); results agree to rounding",
    ),
]


def copy_tree(target: Path) -> None:
    """Copy the package, the tests and the pytest configuration (no caches) into target."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(ROOT / "jacchain", target / "jacchain", ignore=ignore)
    shutil.copytree(ROOT / "tests", target / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")


def apply(target: Path, mutant: Mutant) -> str | None:
    """Apply the mutant in the copy; why it could not be applied, or None."""
    path = target / "jacchain" / mutant.file
    text = path.read_text()
    count = text.count(mutant.old)
    if count != 1:
        return f"text found {count} times"
    if mutant.old == mutant.new:
        return "no change"
    path.write_text(text.replace(mutant.old, mutant.new))
    return None


def run_tests(target: Path, files: list[str], seed: int, timeout: float) -> tuple[str, str, float]:
    """Run pytest in the copy: ('passed' | 'failed' | 'timeout', first failure, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(target), HYPOTHESIS_PROFILE="ci")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += [f"--hypothesis-seed={seed}", *files]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=target, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout", f"over {timeout:.0f} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    output = done.stdout + done.stderr
    if LOGS is not None:
        LOGS.mkdir(parents=True, exist_ok=True)
        (LOGS / f"{target.name}.log").write_text(output)
    if done.returncode == 0:
        return "passed", "", seconds
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return "failed", failed.group(1) if failed else f"exit {done.returncode}", seconds


def check_import(target: Path) -> None:
    """The copy, not the working tree, is what the tests import."""
    env = dict(os.environ, PYTHONPATH=str(target))
    code = "import jacchain; print(jacchain.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", code], cwd=target, env=env, capture_output=True, text=True
    ).stdout.strip()
    if not where.startswith(str(target)):
        raise SystemExit(f"the copy is not imported first: jacchain comes from {where}")


def test_files(mutant: Mutant) -> list[str]:
    relevant = RELEVANT.get(mutant.file, [])
    return relevant + [name for name in CORE_TESTS if name not in relevant]


def probe(mutant: Mutant | None, seed: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="jacchain-mutant-") as tmp:
        target = Path(tmp)
        copy_tree(target)
        check_import(target)
        if mutant is None:
            status, by, seconds = run_tests(target, CORE_TESTS, seed, timeout)
            return {"status": status, "by": by, "seconds": seconds}
        problem = apply(target, mutant)
        if problem is not None:
            return {"status": "not applied", "by": problem, "seconds": 0.0}
        status, by, seconds = run_tests(target, test_files(mutant), seed, timeout)
    return {"status": status, "by": by, "seconds": seconds}


def percent(part: list, whole: list) -> str:
    return f"{100 * len(part) / max(len(whole), 1):.0f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="names of the mutants to run (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutant")
    parser.add_argument("--check", action="store_true", help="only check that each applies")
    parser.add_argument("--logs", type=Path, help="keep each run's pytest output in this folder")
    args = parser.parse_args()
    global LOGS
    LOGS = args.logs
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.check:
        for mutant in mutants:
            count = (ROOT / "jacchain" / mutant.file).read_text().count(mutant.old)
            print(f"{mutant.name:40s} {'ok' if count == 1 else f'found {count} times'}")
        return
    baseline = probe(None, args.seed, args.timeout)
    print(f"baseline (no mutant): {baseline['status']} in {baseline['seconds']:.0f} s", flush=True)
    if baseline["status"] != "passed":
        raise SystemExit(f"the unmutated tests do not pass ({baseline['by']}): fix that first")
    rows = []
    for mutant in mutants:
        result = probe(mutant, args.seed, args.timeout)
        killed = {"failed": "yes", "timeout": "yes (timeout)", "passed": "NO"}.get(
            result["status"], result["status"]
        )
        rows.append(
            {
                "mutant": mutant.name,
                "file": f"jacchain/{mutant.file}",
                "description": mutant.description,
                "killed": killed,
                "first failing test": result["by"].replace("tests/", ""),
                "seconds": round(result["seconds"], 1),
                "note": mutant.equivalent,
            }
        )
        line = f"{mutant.name:40s} {killed:14s} {result['seconds']:6.1f} s  {result['by']}"
        print(line, flush=True)
    applied = [row for row in rows if row["killed"] != "not applied"]
    killed = [row for row in applied if row["killed"].startswith("yes")]
    real = [row for row in applied if not row["note"]]
    real_killed = [row for row in real if row["killed"].startswith("yes")]
    summary = (
        f"{len(killed)} of {len(applied)} mutants killed ({percent(killed, applied)}); "
        f"{len(real_killed)} of the {len(real)} not believed equivalent "
        f"({percent(real_killed, real)}); hypothesis seed {args.seed}, profile ci; "
        f"the unmutated run took {baseline['seconds']:.0f} s"
    )
    print(summary)
    write_csv("mutation_probe.csv", rows)
    text = (
        "# Mutation probe\n\n"
        "One planted bug at a time in a temporary copy of jacchain/, the core test files run "
        "against it with pytest -x (`python experiments/mutation_probe.py`).\n\n"
        f"{summary}.\n\n{markdown_table(rows)}\n"
    )
    (RESULTS / "mutation_probe.md").write_text(text)


if __name__ == "__main__":
    main()
