"""Figures of plans and graph plans (matplotlib's Figure, no pyplot: the Agg canvas)."""

import sys

import networkx as nx
import pytest

import jacchain as jc
from jacchain.chains.chain import Chain, Layer

pytest.importorskip("matplotlib")


def gids(figure, prefix):
    """{gid: artist} of the figure's texts and patches whose gid starts with ``prefix``."""
    return {
        artist.get_gid(): artist
        for axes in figure.axes
        for artist in axes.get_children()
        if (artist.get_gid() or "").startswith(prefix)
    }


def test_plan_figure_draws_every_layer_and_step_and_the_three_costs(tmp_path):
    plan = jc.plan([1000, 10, 1000, 10, 1000])
    figure = plan.plot(tmp_path / "plan.png")
    plan.plot(tmp_path / "plan.svg")
    assert (tmp_path / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "plan.svg").read_bytes()[:1000]
    leaves = gids(figure, "jacchain-leaf-")
    assert {text.get_text() for text in leaves.values()} == {"J1", "J2", "J3", "J4"}
    steps = gids(figure, "jacchain-step-")
    # the report's shares: 100,000, 100,000 and 10,000,000 of 10,200,000
    assert {gid: text.get_text() for gid, text in steps.items()} == {
        "jacchain-step-1": "1.0%", "jacchain-step-2": "1.0%", "jacchain-step-3": "98%"}
    bars = gids(figure, "jacchain-bar-")
    assert {gid: bar.get_height() for gid, bar in bars.items()} == {
        "jacchain-bar-forward": plan.forward_cost, "jacchain-bar-reverse": plan.reverse_cost,
        "jacchain-bar-optimal": plan.cost}
    values = {text.get_text() for text in figure.axes[1].texts}
    assert {"30,000,000", "10,200,000"} <= values
    # the leaves run J4 ... J1 from left to right, and the root sits above them all
    x = {text.get_text(): text.xy[0] for text in leaves.values()}
    assert x["J4"] < x["J3"] < x["J2"] < x["J1"]
    assert steps["jacchain-step-3"].xy[1] > steps["jacchain-step-2"].xy[1] > 0


def test_plan_figure_of_sweeps_and_accumulations_draws_each_layer_once():
    layers = [Layer(100, 50, "matrix-free", edges=900), Layer(50, 50, "diagonal"),
              Layer(50, 2000), Layer(2000, 2000, "matrix-free", edges=5000),
              Layer(2000, 3, "matrix-free", edges=9000), Layer(3, 3, "matrix-free", edges=20)]
    plan = jc.plan(Chain(layers))
    assert {step.operation for step in plan.steps} >= {"adjoint", "accumulate-adjoint"}
    figure = plan.plot()
    assert sorted(text.get_text() for text in gids(figure, "jacchain-leaf-").values()) == [
        f"J{i}" for i in range(1, 7)]
    assert len(gids(figure, "jacchain-step-")) == len(plan.steps)
    assert set(gids(figure, "jacchain-bar-")) == {
        "jacchain-bar-tangent", "jacchain-bar-adjoint", "jacchain-bar-optimal"}


def test_a_long_chain_is_drawn_with_its_cheapest_subtrees_collapsed():
    dims = [(37 * i) % 997 + 1 for i in range(1001)]
    plan = jc.plan(dims)
    figure = plan.plot(max_leaves=30)
    drawn = []
    for gid in gids(figure, "jacchain-leaf-"):
        drawn.append((int(gid.rpartition("-")[2]),) * 2)
    for gid in gids(figure, "jacchain-collapsed-"):
        if not gid.startswith("jacchain-collapsed-share-"):
            first, last = gid.split("-")[2:]
            drawn.append((int(first), int(last)))
    drawn.sort()
    assert 2 <= len(drawn) <= 30 and any(first < last for first, last in drawn)
    # the drawn leaves and collapsed subtrees cover the layers 1..1000 once each
    assert drawn[0][0] == 1 and drawn[-1][1] == 1000
    assert all(a[1] + 1 == b[0] for a, b in zip(drawn, drawn[1:], strict=False))
    with pytest.raises(jc.JacChainError, match="max_leaves must be an int >= 2"):
        plan.plot(max_leaves=1)


def test_costs_beyond_int64_draw_with_exact_labels():
    plan = jc.plan([2**62, 2, 2**62, 3, 2**61, 2**62])
    assert plan.forward_cost > 2**150
    figure = plan.plot()
    bars = gids(figure, "jacchain-bar-")
    assert bars["jacchain-bar-forward"].get_height() == float(plan.forward_cost)
    assert figure.axes[1].get_yscale() == "log"
    mantissa, exponent = next(
        text.get_text() for text in figure.axes[1].texts
        if text.get_position()[0] == bars["jacchain-bar-forward"].get_x() + 0.4
    ).split("e")
    assert abs(float(mantissa) * 10 ** int(exponent) / plan.forward_cost - 1) < 0.01


def diamond():
    G = nx.DiGraph()
    G.add_nodes_from(["x", "y"], size=10)
    G.add_nodes_from(["a", "b", "c"], size=100)
    G.add_edges_from([("x", "a"), ("x", "b"), ("a", "c"), ("b", "c"), ("c", "y"), ("a", "y")])
    return G


def test_graph_plan_figure_labels_the_elimination_order_and_each_step(tmp_path):
    plan = jc.plan_graph(diamond(), method="markowitz")
    figure = plan.plot(tmp_path / "graph.svg")
    assert b"<svg" in (tmp_path / "graph.svg").read_bytes()[:1000]
    order = gids(figure, "jacchain-order-")
    names = gids(figure, "jacchain-node-")
    assert len(order) == len(plan.order) == 3 and len(names) == 5
    for place, name in enumerate(plan.order, start=1):
        assert order[f"jacchain-order-{place}"].get_text() == str(place)
        assert order[f"jacchain-order-{place}"].xy == names[f"jacchain-node-{name}"].xy
    bars = {gid: bar.get_height() for gid, bar in gids(figure, "jacchain-bar-").items()}
    assert [bars[f"jacchain-bar-step-{step.index}"] for step in plan.steps] == [
        step.cost for step in plan.steps]
    assert bars["jacchain-bar-forward"] == plan.forward_cost
    assert bars["jacchain-bar-reverse"] == plan.reverse_cost
    assert bars[f"jacchain-bar-{plan.strategy}"] == plan.cost
    chosen = gids(figure, f"jacchain-bar-{plan.strategy}")[f"jacchain-bar-{plan.strategy}"]
    assert chosen.get_facecolor()[:3] == pytest.approx((0.839, 0.153, 0.157), abs=0.01)


def test_graph_plan_figure_of_graph_layers_shows_the_chain_steps():
    plan = jc.plan_graph(diamond(), method="chain")
    figure = plan.plot(max_labels=0)
    assert not gids(figure, "jacchain-node-") and not gids(figure, "jacchain-order-")
    bars = gids(figure, "jacchain-bar-step-")
    assert len(bars) == len(plan.steps) == len(plan.chain_plan.steps)


def test_cli_plan_writes_the_figure(tmp_path, capsys):
    from jacchain.cli import main

    assert main(["plan", "1000", "10", "1000", "10", "1000", "--plot",
                 str(tmp_path / "plan.svg")]) == 0
    assert b"<svg" in (tmp_path / "plan.svg").read_bytes()[:1000]
    assert main(["plan", "3", "4", "5", "--plot", str(tmp_path / "plan.txt")]) == 2
    assert "its suffix must name an image format" in capsys.readouterr().err
    assert not (tmp_path / "plan.txt").exists()


def test_without_matplotlib_the_error_names_the_plot_extra(monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(jc.MissingExtraError, match=r"Plan.plot\(\) needs matplotlib.*jacchain\[plot\]"):
        jc.plan([3, 4, 5]).plot()
    with pytest.raises(ImportError, match=r"GraphPlan.plot\(\) needs matplotlib"):
        jc.plan_graph(diamond()).plot()


@pytest.mark.parametrize("options, match", [
    ({"path": 123}, "path must be a file name"),
    ({"path": "plan.txt"}, "suffix must name an image format"),
    ({"max_leaves": 1}, "max_leaves must be an int >= 2"),
])
def test_bad_figure_options_are_refused_clearly(options, match):
    with pytest.raises(jc.JacChainError, match=match):
        jc.plan([3, 4, 5, 6]).plot(**options)
