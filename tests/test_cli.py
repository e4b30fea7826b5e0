import contextlib
import io
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

import jacchain as jc
from jacchain.cli import main


def run(*args):
    """The command in this process (the exit status and both streams, as a subprocess gives
    them); test_python_m_jacchain_runs_the_command checks the real entry point."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            status = exit_.code
    return SimpleNamespace(returncode=status, stdout=stdout.getvalue(), stderr=stderr.getvalue())


def test_python_m_jacchain_runs_the_command():
    out = subprocess.run([sys.executable, "-m", "jacchain", "plan", "3", "x"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.strip() == (
        "jacchain: error: dims must be positive ints, got 'x'")


def test_plan_prints_the_report():
    out = run("plan", "1000", "10", "1000", "10", "1000")
    assert out.returncode == 0, out.stderr
    assert "10,200,000" in out.stdout and "30,000,000" in out.stdout
    assert "(mixed)" in out.stdout


def test_plan_json_round_trips():
    out = run("plan", "784", "512", "512", "10", "1", "--json")
    assert out.returncode == 0
    p = jc.Plan.from_json(out.stdout)
    assert p == jc.plan([784, 512, 512, 10, 1]) and p.mode == "reverse"
    assert json.loads(out.stdout)["cost"] == p.cost


@pytest.mark.parametrize(
    "args, message",
    [
        (["plan", "3", "0", "4"], "dims[1] = 0"),
        (["plan", "3", "x"], "'x'"),
        (["plan", "3", "4.5"], "'4.5'"),
        (["plan", "3"], "at least two"),
        (["plan", "3", "4", "--method", "nope"], "valid methods"),
        (["plan", "3", "-4"], "dims[1] = -4"),
        (["plan", "3", "9" * 5000], "at most 2**63 - 1"),
        (["plan", "3", "4", "--gdjcpb", "x"], "exactly one"),
        (["plan", "--gdjcpb", "no-such-instance"], "cannot read no-such-instance"),
        (["plan", "7", "3"] + ["7", "3"] * 751 + ["--method", "dp"], "at most 1,500 layers"),
    ],
)
def test_errors_are_one_line_without_traceback(args, message):
    out = run(*args)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_nonzero():
    out = run()
    assert out.returncode != 0 and "Traceback" not in out.stderr


def test_demo_runs_and_verifies():
    out = run("demo", "--repeats", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("verified against both pure modes") == 3
    for mode in ("plan (reverse)", "plan (forward)", "plan (mixed)"):
        assert mode in out.stdout


def test_console_script_entry_point():
    from jacchain.cli import main

    assert main(["plan", "3", "4", "5"]) == 0


def test_plan_gdjcpb_report(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "jacchain", "plan", "--gdjcpb", "p_3_3.1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # a shipped instance, by name, from any directory
    )
    assert out.returncode == 0, out.stderr
    for needle in (
        "optimal cost",
        " 56",
        "tangent-mode cost     150",
        "adjoint-mode cost     100",
        "preaccumulation cost  123",
    ):
        assert needle in out.stdout
    limited = run("plan", "--gdjcpb", "p_3_3.1", "--memory-limit", "20")
    assert limited.returncode == 0 and "memory limit: 20" in limited.stdout


def test_plan_needs_exactly_one_of_dims_and_gdjcpb(tmp_path):
    for args in (["plan"], ["plan", "3", "4", "--gdjcpb", "x"]):
        out = run(*args)
        assert out.returncode != 0 and "exactly one" in out.stderr
    bad = tmp_path / "bad.gdjcpb"
    bad.write_text("2\n3 2 5\n4 4 x\n")
    out = run("plan", "--gdjcpb", str(bad))
    assert out.returncode != 0 and "line 3" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["demo", "--seed", "-1"], "--seed: must be at least 0, got -1"),
        (["demo", "--repeats", "0"], "--repeats: must be at least 1"),
        (["demo", "--seed", "x"], "--seed: expected an int"),
        (["plan", "3", "4", "--max-rows", "0"], "--max-rows: must be at least 1"),
        (["plan", "3", "4", "--memory-limit", "-3"], "--memory-limit: must be at least 0"),
    ],
)
def test_bad_options_are_usage_errors_without_traceback(args, message):
    from jacchain.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2


def test_an_internal_error_is_one_line_without_traceback(monkeypatch, capsys):
    from jacchain import cli

    def broken(*args, **kwargs):
        raise TypeError("something deep inside")

    monkeypatch.setattr(sys.modules["jacchain.plans.plan"], "plan", broken)
    assert cli.main(["plan", "3", "4"]) == 1
    err = capsys.readouterr().err
    assert "internal error (TypeError: something deep inside)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
