import io
import os
from importlib import resources
from pathlib import Path

import pytest

import jacchain as jc

DATA = Path(str(resources.files("jacchain") / "data" / "gdjcpb"))


def test_parse_builds_matrix_free_layers():
    chain = jc.parse_gdjcpb("3\n3 3 29\n1 3 14\n\n2 1 7\n")
    assert chain.dims == (3, 3, 1, 2)
    assert [layer.kind for layer in chain.layers] == ["matrix-free"] * 3
    assert [layer.edges for layer in chain.layers] == [29, 14, 7]
    assert chain.layers[1] == jc.Layer(3, 1, "matrix-free", edges=14)


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("x\n1 1 1\n", "line 1: 'x' is not an integer"),
        ("0\n", "line 1: the chain length q must be >= 1"),
        ("2\n3 3 5\n", "2 factors announced, 1 given"),
        ("1\n3 3 5\n4 4 4\n", "1 factors announced, 2 given"),
        ("1\n3 3\n", "line 2: expected 3 integer"),
        ("1\n3 3 5 6\n", "line 2: expected 3 integer"),
        ("1\n3 3.5 5\n", "line 2: '3.5' is not an integer"),
        ("1\n0 3 5\n", "line 2: sizes must be >= 1"),
        ("1\n3 -3 5\n", "line 2: sizes must be >= 1"),
        ("1\n3 3 -5\n", "line 2: the edge count must be >= 0"),
        ("2\n3 3 5\n\n4 2 6\n", "line 4: this factor takes inputs of size 2"),
    ],
)
def test_malformed_files_name_the_line(text, match):
    with pytest.raises(jc.FileFormatError, match=match):
        jc.parse_gdjcpb(text, "bad.txt")


def test_unreadable_file(tmp_path):
    with pytest.raises(jc.FileFormatError, match="cannot read"):
        jc.read_gdjcpb(tmp_path / "missing")


def test_published_figures_of_p_3_3():
    plan = jc.plan(jc.read_gdjcpb(DATA / "p_3_3.1"))
    assert (plan.cost, plan.forward_cost, plan.reverse_cost, plan.preaccumulation_cost) == (
        56,
        150,
        100,
        123,
    )
    assert plan.mode == "mixed"
    report = str(plan)
    for needle in (
        "optimal cost",
        "56",
        "tangent-mode cost",
        "150",
        "adjoint-mode cost",
        "100",
        "preaccumulation cost",
        "123",
    ):
        assert needle in report


def test_every_instance_reads_and_plans_no_worse_than_the_alternatives():
    for path in sorted(DATA.iterdir()):
        if path.suffix == ".md":
            continue
        chain = jc.read_gdjcpb(path)
        plan = jc.plan(chain)
        assert plan.cost <= min(plan.forward_cost, plan.reverse_cost, plan.preaccumulation_cost)


def test_the_500_factor_instance_plans():
    chain = jc.read_gdjcpb(DATA / "ex_sec_4_p_500_500.1")
    assert len(chain) == 500
    plan = jc.plan(chain)
    assert plan.cost == 149_147_898 < plan.preaccumulation_cost  # experiments/gdjcpb.py times it


def test_memory_limit_zero_forbids_every_adjoint_sweep():
    chain = jc.read_gdjcpb(DATA / "ex_sec_4_p_50_50.1")
    limited = jc.plan(chain, memory_limit=0)
    assert limited.largest_tape == 0
    assert all(
        step.operation in ("product", "tangent", "accumulate-tangent") for step in limited.steps
    )
    assert limited.cost >= jc.plan(chain).cost


def test_the_instances_ship_with_the_package_and_read_by_name(tmp_path, monkeypatch):
    names = jc.gdjcpb_instances()
    assert "p_3_3.1" in names and "README.md" not in names and len(names) == 11
    monkeypatch.chdir(tmp_path)
    assert jc.read_gdjcpb("p_3_3.1") == jc.read_gdjcpb(DATA / "p_3_3.1")
    (tmp_path / "p_3_3.1").write_text("1\n2 2 4\n")  # a file of that name comes first
    assert jc.read_gdjcpb("p_3_3.1").dims == (2, 2)


def test_a_memory_limit_equal_to_a_tape_allows_that_sweep():
    chain = jc.read_gdjcpb("p_3_3.1")  # tapes 29, 14, 7
    assert jc.plan(chain, memory_limit=29).cost == 56
    assert jc.plan(chain, memory_limit=28).cost > 56


@pytest.mark.parametrize(
    "path, match",
    [
        (None, "path must be a str or os.PathLike, got NoneType"),
        (io.StringIO("1\n2 2 4\n"), "got StringIO: pass its path, or its text"),
        (b"p_3_3.1", "got bytes: decode it first"),
        (3, "got int"),
    ],
)
def test_a_path_that_is_not_a_path_is_a_file_format_error(path, match):
    with pytest.raises(jc.FileFormatError, match=match):
        jc.read_gdjcpb(path)


def test_a_directory_is_unreadable(tmp_path):
    with pytest.raises(jc.FileFormatError, match="cannot read"):
        jc.read_gdjcpb(tmp_path)
    with pytest.raises(jc.FileFormatError, match="cannot read"):
        jc.read_gdjcpb(os.fspath(tmp_path))


@pytest.mark.parametrize(
    "text, match",
    [
        ("1\n3 3 " + "9" * 30, r"line 2: matrix-free layer edges must be at most 2\*\*63 - 1"),
        ("1\n" + "9" * 30 + " 3 5", r"line 2: Layer n_out must be a positive int of at most"),
        ("1\n3 3 " + "9" * 5000, "line 2: '9999.*' has too many digits"),
        ("9" * 5000 + "\n", "line 1: '9999.*' has too many digits"),
    ],
)
def test_oversized_numbers_name_the_file_and_line(text, match):
    with pytest.raises(jc.FileFormatError, match=f"big.txt, {match}"):
        jc.parse_gdjcpb(text, "big.txt")


def test_text_that_is_not_a_str():
    with pytest.raises(jc.FileFormatError, match="takes the file's text as a str, got bytes"):
        jc.parse_gdjcpb(b"1\n2 2 4\n")
