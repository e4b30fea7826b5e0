"""Notebook and IPython display of plans, graph plans and verification reports."""

import html
import re

import networkx as nx
import numpy as np
import pytest

import jacchain as jc
from jacchain.plans.display import ReportParts, render_html, render_text


class Printer:
    """Stands in for IPython's pretty printer: collects what ``_repr_pretty_`` writes."""

    def __init__(self) -> None:
        self.written = []

    def text(self, value: str) -> None:
        self.written.append(value)


def pretty(obj, cycle=False) -> str:
    printer = Printer()
    obj._repr_pretty_(printer, cycle)
    return "".join(printer.written)


def cells(fragment: str) -> list[str]:
    """The text of every table cell and heading of an HTML fragment, unescaped."""
    return [html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", fragment)]


def graph_plan() -> jc.GraphPlan:
    G = nx.DiGraph()
    G.add_edges_from([("x", "a"), ("a", "b"), ("a", "c"), ("b", "y"), ("c", "y")])
    nx.set_node_attributes(G, {"x": 50, "a": 3, "b": 40, "c": 2, "y": 60}, "size")
    return jc.plan_graph(G, ["x"], ["y"], method="markowitz")


def test_plan_html_holds_the_reports_fields_and_every_step():
    p = jc.plan([1000, 10, 1000, 10, 1000])
    shown = cells(p._repr_html_())
    for label, value in p._report_parts().fields:
        assert label in shown and value.strip() in shown
    assert "(J4 (J3 J2)) J1" in shown
    for step in p.steps:
        assert f"{step.cost:,}" in shown and step.left.label in shown
    assert p._repr_html_().count("<tr>") == len(p._report_parts().fields) + 1 + len(p.steps)


def test_pretty_is_the_text_report_and_cycles_fall_back_to_the_repr():
    p = jc.plan([3, 4, 5, 6])
    assert pretty(p) == str(p) == p.report()
    assert pretty(p, cycle=True) == repr(p)


def test_long_plans_show_a_bounded_table_with_the_gap_counted():
    k = 2000
    p = jc.plan(np.random.default_rng(0).integers(1, 100, k + 1).tolist())
    fragment = p._repr_html_()
    assert f"... {k - 1 - 20:,} steps omitted ..." in fragment
    assert fragment.count("<tr>") == len(p._report_parts().fields) + 1 + 20 + 1
    assert len(fragment) < 20_000


def test_huge_costs_are_shown_exactly():
    p = jc.plan([2**62, 2**62, 1, 2**62, 2**62])  # costs beyond int64
    assert f"{p.cost:,}" in " ".join(cells(p._repr_html_()))


def test_graph_plan_display():
    p = graph_plan()
    fragment = p._repr_html_()
    shown = cells(fragment)
    assert "markowitz elimination" in html.unescape(fragment)
    assert f"{p.forward_cost:,}" in shown and f"{p.reverse_cost:,}" in shown
    assert [s for s in shown if s in {"a", "b", "c"}] == [str(v) for v in p.order]
    assert pretty(p) == str(p) == p.report()


def test_graph_plan_of_graph_layers_shows_the_chain_plan_inside():
    G = nx.path_graph(4, create_using=nx.DiGraph)
    nx.set_node_attributes(G, {0: 30, 1: 2, 2: 30, 3: 2}, "size")
    p = jc.plan_graph(G, method="chain")
    assert p.chain_plan is not None
    fragment = html.unescape(p._repr_html_())
    assert "chain of graph layers:" in fragment and p.chain_plan.expression in fragment
    assert pretty(p) == p.report()


def test_verification_report_display():
    rng = np.random.default_rng(1)
    Js = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    report = jc.verify(jc.plan([3, 4, 2]), Js)
    shown = cells(report._repr_html_())
    assert f"max abs diff {report.forward_abs_diff:.3e}, relative {report.forward_rel_diff:.3e}" in shown
    assert "(2, 3)" in shown
    assert "passed" in pretty(report)
    assert repr(report).startswith("<jacchain.VerificationReport verification passed")
    assert "array" not in repr(report)


def test_text_and_html_escape_nothing_away():
    p = graph_plan()
    parts = p._report_parts()
    assert render_text(parts) == p.report()
    fragment = render_html(ReportParts("<b>&", [("x<y", "a&b")]))
    assert "<b>&" not in fragment and "&lt;b&gt;&amp;" in fragment and cells(fragment) == ["x<y", "a&b"]


@pytest.mark.parametrize("max_rows", [0, "x"])
def test_bad_max_rows(max_rows):
    with pytest.raises(jc.JacChainError, match="max_rows"):
        jc.plan([2, 3, 4]).report(max_rows=max_rows)


def test_the_docs_show_the_html_a_notebook_shows():
    """docs/getting-started.md embeds a plan's notebook view: it must be what _repr_html_ gives."""
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"
    embedded = [line for line in page.read_text(encoding="utf-8").splitlines()
                if line.startswith('<div class="jacchain-report">')]
    assert embedded == [jc.plan([1000, 10, 1000, 10, 1000])._repr_html_()]
