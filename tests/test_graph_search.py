"""Elimination-order search, user-given orders, and graph plans as JSON."""

import json
import time

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jacchain as jc
from jacchain.errors import MethodError, PlanFormatError
from jacchain.graphs.elimination import (
    LinearizedModel,
    elimination_graph,
    exact_order,
    markowitz_order,
    order_cost,
)
from jacchain.graphs.graph import graph_spec
from jacchain.graphs.search import replay, search_order
from jacchain.testing import profile_examples, random_dag, sum_over_paths


def _elimination(seed, n_nodes=14, max_size=6, p=0.3):
    G, inputs, outputs = random_dag(seed, n_nodes=n_nodes, max_size=max_size, edge_probability=p)
    return G, inputs, outputs, elimination_graph(graph_spec(G, inputs, outputs))


def _seeds(eg):
    return {"forward": eg.intermediates, "reverse": eg.intermediates[::-1],
            "markowitz": markowitz_order(eg)}


@settings(max_examples=profile_examples(8), deadline=None)
@given(st.integers(0, 10**6), st.integers(4, 16), st.integers(0, 3))
def test_the_search_is_never_worse_than_its_seeds_and_its_cost_is_its_orders(seed, n, search_seed):
    _, _, _, eg = _elimination(seed, n_nodes=n)
    seeds = _seeds(eg)
    result = search_order(LinearizedModel(eg), seeds, time_limit=None, iterations=30,
                          seed=search_seed)
    assert sorted(result.order) == sorted(eg.intermediates)
    assert result.cost == order_cost(eg, result.order)
    assert result.cost <= min(order_cost(eg, order) for order in seeds.values())
    assert result.seeds == {name: order_cost(eg, order) for name, order in seeds.items()}


def test_the_search_finds_the_exact_optimum_on_small_graphs():
    found = 0
    for seed in range(24):
        _, _, _, eg = _elimination(seed, n_nodes=12)
        if not 2 <= len(eg.intermediates) <= 10:
            continue
        found += 1
        optimum = exact_order(eg)[1]
        result = search_order(LinearizedModel(eg), _seeds(eg), time_limit=None, iterations=2000)
        assert result.cost == optimum, seed
    assert found >= 12


def test_the_search_is_deterministic_for_a_seed_and_stops_at_its_time_limit():
    _, _, _, eg = _elimination(7, n_nodes=60, p=0.08)
    runs = [search_order(LinearizedModel(eg), _seeds(eg), time_limit=None, iterations=60, seed=s)
            for s in (3, 3, 4)]
    assert runs[0].order == runs[1].order and runs[0].history[-1][1] == runs[1].cost
    start = time.perf_counter()
    timed = search_order(LinearizedModel(eg), _seeds(eg), time_limit=0.3, seed=3)
    assert time.perf_counter() - start < 2.0
    assert timed.cost <= min(timed.seeds.values())
    costs = [cost for _, cost in timed.history]
    assert costs == sorted(costs, reverse=True) and costs[-1] == timed.cost


def test_the_search_reports_its_improvements_when_asked():
    _, _, _, eg = _elimination(11, n_nodes=40, p=0.12)
    seen = []
    result = search_order(LinearizedModel(eg), _seeds(eg), time_limit=None, iterations=200,
                          progress=seen.append)
    assert [r.cost for r in seen] == [cost for _, cost in result.history[1:]]


@pytest.mark.parametrize("bad", [{"time_limit": -1.0}, {"time_limit": None}, {"iterations": "5"},
                                 {"seed": 1.5}, {"time_limit": True}])
def test_bad_search_budgets_are_method_errors(bad):
    _, _, _, eg = _elimination(1)
    options = {"time_limit": 1.0, **bad}
    with pytest.raises(MethodError):
        search_order(LinearizedModel(eg), _seeds(eg), **options)


def test_plan_graph_search_and_auto_use_the_search_beyond_the_exact_limit():
    G, inputs, outputs = random_dag(5, n_nodes=60, max_size=8, edge_probability=0.08)
    searched = jc.plan_graph(G, inputs, outputs, "search", time_limit=0.3, seed=1)
    tried = dict(searched.candidates)
    assert searched.cost <= min(tried["forward"], tried["reverse"], tried["markowitz"])
    assert searched.cost < tried["markowitz"]  # these graphs leave room below Markowitz
    auto = jc.plan_graph(G, inputs, outputs)
    assert "search" in dict(auto.candidates) and auto.cost <= dict(auto.candidates)["markowitz"]
    np.testing.assert_allclose(searched.evaluate(G), sum_over_paths(G, inputs, outputs),
                               rtol=1e-9, atol=1e-9)


@settings(max_examples=profile_examples(6), deadline=None)
@given(st.integers(0, 10**6), st.randoms(use_true_random=False))
def test_a_given_order_reproduces_its_cost_and_evaluates_correctly(seed, shuffle):
    G, inputs, outputs, eg = _elimination(seed, n_nodes=10)
    order = list(jc.plan_graph(G, inputs, outputs, "forward").order)
    shuffle.shuffle(order)
    p = jc.plan_graph(G, inputs, outputs, order=order)
    assert p.strategy == "order" and list(p.order) == order
    spec = graph_spec(G, inputs, outputs)
    positions = {spec.names[eg.origin[v]]: v for v in eg.intermediates}
    assert p.cost == order_cost(eg, tuple(positions[name] for name in order))
    np.testing.assert_allclose(p.evaluate(G), sum_over_paths(G, inputs, outputs), rtol=1e-9,
                               atol=1e-9)
    again = jc.plan_graph(G, inputs, outputs, order=p.order)
    assert again == p


@pytest.mark.parametrize("bad", [{"time_limit": -1}, {"time_limit": "1"}, {"seed": "0"},
                                 {"method": "exact", "order": []}])
def test_bad_search_options_are_refused_whatever_the_method(bad):
    with pytest.raises(MethodError):
        jc.plan_graph(_example_graph(), **{"method": "forward", **bad})
    jax = pytest.importorskip("jax")
    from jacchain.jax import jacobian

    if "order" not in bad:
        with pytest.raises(jc.JacChainError):
            jacobian(jax.numpy.sin, **bad)


def test_bad_orders_are_method_errors_that_say_why():
    G, inputs, outputs, eg = _elimination(3, n_nodes=10)
    order = list(jc.plan_graph(G, inputs, outputs, "forward").order)
    assert len(order) >= 2
    for bad, words in [(order[:-1], "every intermediate"), (order + order[:1], "every intermediate"),
                       (order[:-1] + [inputs[0]], "not an intermediate"), ("ab", "sequence"),
                       (order[:-1] + [["unhashable"]], "not an intermediate")]:
        with pytest.raises(MethodError, match=words):
            jc.plan_graph(G, inputs, outputs, order=bad)


def _example_graph():
    G = nx.DiGraph()
    G.add_nodes_from(["a", "b"], size=3)
    G.add_nodes_from(["c", "d"], size=2)
    G.add_node("e", size=4)
    G.add_edges_from([("a", "c"), ("b", "c"), ("b", "d"), ("c", "e"), ("d", "e")], kind="dense")
    return G


@pytest.mark.parametrize("method", ["auto", "chain", "forward", "reverse", "markowitz", "exact",
                                    "search"])
def test_graph_plans_round_trip_through_json(method):
    G, inputs, outputs = random_dag(2, n_nodes=12, max_size=5, edge_probability=0.35)
    p = jc.plan_graph(G, inputs, outputs, method, time_limit=0.2)
    text = p.to_json()
    q = jc.GraphPlan.from_json(text)
    assert q == p and hash(q) == hash(p)
    assert q.cost == p.cost and q.order == p.order and q.strategy == p.strategy
    assert q.report() == p.report()
    np.testing.assert_allclose(q.evaluate(G), p.evaluate(G))
    assert json.loads(q.to_json()) == json.loads(text)


@pytest.mark.parametrize("method", ["forward", "reverse"])
def test_pure_plans_keep_their_mode_through_json_even_where_orders_commute(method):
    t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)  # v1 and v2 are independent
    p = jc.plan_graph(t.graph, t.inputs, t.outputs, method)
    q = jc.GraphPlan.from_json(p.to_json())
    assert q == p and q.mode == method
    document = json.loads(p.to_json())
    document["strategy"] = "reverse" if method == "forward" else "forward"
    with pytest.raises(PlanFormatError):
        jc.GraphPlan.from_json(json.dumps(document))


def test_graph_plans_differ_when_their_orders_do():
    G = _example_graph()
    assert jc.plan_graph(G, method="forward") != jc.plan_graph(G, order=["d", "c"])
    assert jc.plan_graph(G, method="forward") == jc.plan_graph(G, method="forward")


def test_tampered_graph_plan_json_is_refused():
    p = jc.plan_graph(_example_graph(), method="reverse")
    document = json.loads(p.to_json())
    tampered = [
        {**document, "cost": document["cost"] + 1},
        {**document, "order": document["order"][:1]},
        {**document, "sizes": [0] + document["sizes"][1:]},
        {**document, "edges": document["edges"] + [[4, 0, "dense"]]},
        {**document, "version": 2},
        {**document, "strategy": "magic"},
        {**document, "extra": 1},
        {**document, "names": document["names"][::-1]},
    ]
    for bad in tampered:
        with pytest.raises(PlanFormatError):
            jc.GraphPlan.from_json(json.dumps(bad))
    for text in ("", "[]", "{", '{"cost": NaN}', b"\xff"):
        with pytest.raises(PlanFormatError):
            jc.GraphPlan.from_json(text)


def test_node_names_that_json_cannot_hold_are_named_in_the_error():
    G = nx.relabel_nodes(_example_graph(), {"c": ("c", 1)})
    with pytest.raises(PlanFormatError, match="strings or ints"):
        jc.plan_graph(G).to_json()


def test_the_program_search_model_costs_orders_as_the_program_elimination_does():
    jnp = pytest.importorskip("jax.numpy")
    from jacchain.jax.program import program_graph, trace_program
    from jacchain.programs.elimination import ProgramSearchModel, elimination_cost

    def f(x, y):
        h = jnp.sin(x) * y
        return jnp.tanh(h @ h.T).sum(axis=0) + jnp.cos(y).sum()

    program, _, _ = trace_program(f, jnp.ones((3, 2)), jnp.ones((3, 2)))
    graph = program_graph(program, program.inputs)
    edges, inner = graph.partials(), graph.intermediates
    rng = np.random.default_rng(0)
    for convention in ("free", "counted"):
        model = ProgramSearchModel(edges, inner, convention)
        for _ in range(5):
            order = list(rng.permutation(inner))
            assert replay(model, order) == elimination_cost(edges, order, convention)


def test_auto_searches_only_up_to_its_limit(monkeypatch):
    from jacchain.graphs import graph_plan

    G, inputs, outputs = random_dag(5, n_nodes=60, max_size=8, edge_probability=0.08)
    monkeypatch.setattr(graph_plan, "AUTO_SEARCH_INTERMEDIATES", 20)
    assert "search" not in dict(jc.plan_graph(G, inputs, outputs).candidates)


def test_the_jax_front_end_searches_programs_in_both_conventions():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    from jacchain.jax import jacobian

    def f(x, y):
        a = jnp.sin(x) * y
        b = jnp.exp(a) / (1.0 + y * y)
        c = a * b - jnp.cos(b) * x
        return jnp.stack([c * a, b + c, jnp.tanh(a * c)])

    args = (jnp.asarray(0.3), jnp.asarray(-1.2))
    for convention in ("free", "counted"):
        jac = jacobian(f, (0, 1), method="search", unit_partials=convention, time_limit=0.2,
                       seed=1)
        plan = jac.plan(*args)
        assert plan.cost <= min(plan.forward_cost, plan.reverse_cost, plan.markowitz_cost)
        assert plan.strategy in ("forward", "reverse", "search", "markowitz")
        expected = jax.jacrev(f, (0, 1))(*args)
        for got, want in zip(jac(*args), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def _costs_to_go(eg):
    """For every set of eliminated intermediates (bit masks), the least cost of the rest."""
    from jacchain.graphs.elimination import _reach_weights, coded_neighbours

    preds, succs = coded_neighbours(eg)
    vertices = list(range(len(eg.sizes)))
    inflow = _reach_weights(eg, vertices, preds)
    outflow = _reach_weights(eg, vertices[::-1], succs)
    m = len(eg.intermediates)
    states = np.arange(1 << m)
    rest = np.full(1 << m, np.iinfo(np.int64).max, dtype=np.int64)
    rest[-1] = 0
    for state in range(len(states) - 2, -1, -1):  # supersets have larger masks
        rest[state] = min(
            eg.sizes[v] * inflow[v][state] * outflow[v][state] + rest[state | (1 << j)]
            for j, v in enumerate(eg.intermediates) if not (state >> j) & 1
        )
    return states, rest


def test_the_set_dependent_bounds_never_exceed_the_cost_of_what_remains():
    from jacchain.graphs.cuts import elimination_bounds

    checked = sharper = 0
    for seed in range(40):
        _, _, _, eg = _elimination(seed, n_nodes=7 + seed % 6, max_size=5, p=0.4)
        if not 2 <= len(eg.intermediates) <= 9:
            continue
        checked += 1
        states, rest = _costs_to_go(eg)
        bounds = elimination_bounds(eg)
        remaining = bounds.remaining(states)
        assert (remaining <= rest).all(), seed
        plain = [int(bounds.single()[[j for j in range(len(eg.intermediates)) if not (s >> j) & 1]]
                     .sum()) for s in states]
        assert (remaining >= plain).all()
        sharper += int((remaining > plain).sum())
    assert checked >= 20 and sharper > 0


def test_the_pruned_exact_dp_equals_the_full_one_and_its_bounds_hold():
    from jacchain.graphs.cuts import cut_bounds
    from jacchain.graphs.pruned import pruned_exact_order

    checked = 0
    for seed in range(60):
        _, _, _, eg = _elimination(seed, n_nodes=8 + seed % 7, max_size=5, p=0.35)
        if not 1 <= len(eg.intermediates) <= 12:
            continue
        checked += 1
        order, optimum = exact_order(eg)
        bounds = cut_bounds(eg)
        assert sum(bounds.values()) <= optimum
        upper = min(order_cost(eg, o) for o in _seeds(eg).values())
        found, cost = pruned_exact_order(eg, upper)
        assert cost == optimum == order_cost(eg, found)
    assert checked >= 30


def test_exact_plans_past_twenty_intermediates_and_gives_up_clearly():
    from jacchain.graphs.pruned import optimal_order, pruned_exact_order

    rng = np.random.default_rng(0)  # a path of 24 nodes with a random chord into each
    G = nx.DiGraph()
    G.add_nodes_from((j, {"size": int(rng.integers(1, 11))}) for j in range(24))
    for j in range(1, 24):
        G.add_edge(j - 1, j, kind="dense")
        G.add_edge(int(rng.integers(0, j)), j, kind="dense")
    eg = elimination_graph(graph_spec(G))
    assert len(eg.intermediates) == 22
    p = jc.plan_graph(G, method="exact")  # the tie rule may name a pure mode of equal cost
    assert p.strategy in ("exact", "forward", "reverse")
    assert p.cost == optimal_order(eg)[1] <= jc.plan_graph(G, method="search", time_limit=0.2).cost
    with pytest.raises(MethodError, match="gave up"):
        pruned_exact_order(eg, p.forward_cost, max_states=5)
    with pytest.raises(MethodError, match="below the optimum"):
        pruned_exact_order(eg, p.cost - 1)


def test_the_pruned_path_of_optimal_order_equals_the_full_dp(monkeypatch):
    """Through the search, the bound check and the strictly-cheaper DP (forced below 20)."""
    import jacchain.graphs.pruned as pruned

    monkeypatch.setattr(pruned, "MAX_EXACT_INTERMEDIATES", 0)
    checked = 0
    for seed in range(30):
        _, _, _, eg = _elimination(seed, n_nodes=8 + seed % 6, max_size=5, p=0.35)
        if not 2 <= len(eg.intermediates) <= 10:
            continue
        checked += 1
        order, cost = pruned.optimal_order(eg)
        assert cost == exact_order(eg)[1] == order_cost(eg, order), seed
    assert checked >= 15


def test_a_graph_plan_s_lower_bound_never_exceeds_the_optimum():
    met = 0
    for seed in range(25):
        G, inputs, outputs, eg = _elimination(seed, n_nodes=8 + seed % 5, max_size=5, p=0.35)
        if not 1 <= len(eg.intermediates) <= 10:
            continue
        p = jc.plan_graph(G, inputs, outputs, method="exact")
        assert 0 <= p.lower_bound() <= exact_order(eg)[1]
        met += p.lower_bound() == exact_order(eg)[1]
    assert met >= 1


def test_a_program_search_costs_its_order_as_the_other_strategies_are_costed():
    """A matrix-free partial that no elimination touches is formed at the end, whatever the
    order: the searched order's cost includes it, as forward's and reverse's do."""
    import random

    from jacchain.programs.elimination import elimination_cost, plan_program
    from jacchain.programs.partials import Partial

    searched = 0
    for seed in range(20):
        rng = random.Random(seed)
        n = 14
        sizes = [rng.randint(1, 9) for _ in range(n)]
        edges = {(u, v): Partial.dense((sizes[v],), (sizes[u],), symbolic=True)
                 for v in range(1, n) for u in rng.sample(range(v), min(v, rng.randint(1, 3)))}
        edges[(n - 1, n)] = Partial.dense((7,), (sizes[n - 1],), symbolic=True)
        # a second input, straight to the output: formed as an array after every order
        edges[(n + 1, n)] = Partial.matrix_free((7,), (5,), jvp=40, vjp=30, symbolic=True)
        p = plan_program(edges, list(range(1, n)), "search", time_limit=0.05, seed=0)
        assert p.cost == elimination_cost(edges, list(p.order))
        assert p.cost == sum(step.cost for step in p.steps) + 5 * 40  # 5 JVPs of 40 (< 7 VJPs of 30)
        assert p.cost <= min(p.forward_cost, p.reverse_cost, p.markowitz_cost)
        searched += p.strategy == "search"
    assert searched >= 10
