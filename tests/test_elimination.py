import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given

import jacchain as jc
from jacchain.chains.cost import DENSE, DIAGONAL, IDENTITY
from jacchain.graphs.elimination import (
    ORDERS,
    eliminate,
    elimination_graph,
    elimination_order,
    eliminations,
    exact_order,
    markowitz_eliminations,
    markowitz_order,
    order_cost,
)
from jacchain.graphs.graph import graph_spec, read_graph
from jacchain.testing import computational_graphs, random_dag, sum_over_paths


def linearized(eg):
    G = nx.DiGraph()
    G.add_nodes_from(range(len(eg.sizes)))
    for (u, w), code in eg.edges.items():
        G.add_edge(u, w, code=code)
    return G


def weight(code, size):
    return {IDENTITY: 0, DIAGONAL: 1, DENSE: size}[code]


def path_structure(G, source, target):
    """Structure of the sum over paths source -> target: dense if a path has a dense edge,
    else diagonal if a path has a diagonal edge or there are two paths, else identity."""
    codes = [
        max(G.edges[u, v]["code"] for u, v in zip(path[:-1], path[1:], strict=True))
        for path in nx.all_simple_paths(G, source, target)
    ]
    return max(codes) if len(codes) == 1 else max(*codes, DIAGONAL)


def forward_closed_form(eg):
    """Forward mode: when v is eliminated its predecessors are the inputs that reach it,
    and its successors are its own."""
    G = linearized(eg)
    total = 0
    for v in eg.intermediates:
        sources = nx.ancestors(G, v) & set(eg.inputs)
        inflow = sum(weight(path_structure(G, x, v), eg.sizes[x]) for x in sources)
        outflow = sum(weight(G.edges[v, w]["code"], eg.sizes[w]) for w in G.successors(v))
        total += eg.sizes[v] * inflow * outflow
    return total


def reverse_closed_form(eg):
    G = linearized(eg)
    total = 0
    for v in eg.intermediates:
        sinks = nx.descendants(G, v) & set(eg.outputs)
        outflow = sum(weight(path_structure(G, v, y), eg.sizes[y]) for y in sinks)
        inflow = sum(weight(G.edges[u, v]["code"], eg.sizes[u]) for u in G.predecessors(v))
        total += eg.sizes[v] * inflow * outflow
    return total


def structure_through(G, eliminated, source, target):
    """The edge source -> target once ``eliminated`` are gone: None, or its structure."""
    H = G.subgraph(set(eliminated) | {source, target})
    codes = [
        max(H.edges[u, v]["code"] for u, v in zip(path[:-1], path[1:], strict=True))
        for path in nx.all_simple_paths(H, source, target)
    ]
    if not codes:
        return None
    return codes[0] if len(codes) == 1 else max(*codes, DIAGONAL)


def cost_after(eg, G, eliminated, v):
    """The cost of eliminating v once ``eliminated`` are gone, from the paths alone."""
    alive = [x for x in G if x not in eliminated and x != v]
    flows = []
    for ends in ([(u, v) for u in alive], [(v, w) for w in alive]):
        flow = 0
        for source, target in ends:
            code = structure_through(G, eliminated, source, target)
            if code is not None:
                flow += weight(code, eg.sizes[source if target == v else target])
        flows.append(flow)
    return eg.sizes[v] * flows[0] * flows[1]


def markowitz_by_definition(eg):
    """Greedy by the definition: recompute every cost from the paths at every step."""
    G, eliminated, steps = linearized(eg), [], []
    remaining = list(eg.intermediates)
    while remaining:
        costs = {v: cost_after(eg, G, eliminated, v) for v in remaining}
        v = min(remaining, key=lambda x: (costs[x], x))  # cheapest, then first in order
        steps.append((v, costs[v]))
        eliminated.append(v)
        remaining.remove(v)
    return steps


@given(computational_graphs(max_nodes=7, max_size=4))
def test_markowitz_is_the_greedy_order_by_definition(drawn):
    eg = elimination_graph(graph_spec(*drawn))
    expected = markowitz_by_definition(eg)
    assert [(step.vertex, step.cost) for step in markowitz_eliminations(eg)] == expected
    assert markowitz_order(eg) == tuple(v for v, _cost in expected)


@given(computational_graphs(max_nodes=9, max_size=4, kinds=("dense",)))
def test_dense_forward_and_reverse_costs_are_the_textbook_closed_forms(drawn):
    G, inputs, _outputs = drawn
    outputs = [y for y in G if G.out_degree(y) == 0]  # sinks: no copies, every edge dense
    eg = elimination_graph(graph_spec(G, inputs, outputs))
    L = linearized(eg)
    forward = sum(
        eg.sizes[v]
        * sum(eg.sizes[x] for x in nx.ancestors(L, v) & set(eg.inputs))
        * sum(eg.sizes[w] for w in L.successors(v))
        for v in eg.intermediates
    )
    reverse = sum(
        eg.sizes[v]
        * sum(eg.sizes[u] for u in L.predecessors(v))
        * sum(eg.sizes[y] for y in nx.descendants(L, v) & set(eg.outputs))
        for v in eg.intermediates
    )
    p = jc.plan_graph(G, inputs, outputs, "forward")
    assert (p.forward_cost, p.reverse_cost) == (forward, reverse)
    assert p.cost == forward and jc.plan_graph(G, inputs, outputs, "reverse").cost == reverse


@given(computational_graphs(max_nodes=9, max_size=4))
def test_structured_forward_and_reverse_costs_are_their_closed_forms(drawn):
    G, inputs, outputs = drawn
    eg = elimination_graph(graph_spec(G, inputs, outputs))
    assert order_cost(eg, eg.intermediates) == forward_closed_form(eg)
    assert order_cost(eg, eg.intermediates[::-1]) == reverse_closed_form(eg)


@given(computational_graphs(max_nodes=9, max_size=4))
def test_exact_is_optimal_and_never_worse_than_the_others(drawn):
    G, inputs, outputs = drawn
    eg = elimination_graph(graph_spec(G, inputs, outputs))
    order, cost = exact_order(eg)
    assert sorted(order) == sorted(eg.intermediates)
    assert order_cost(eg, order) == cost
    assert cost <= order_cost(eg, markowitz_order(eg))
    assert cost <= min(order_cost(eg, eg.intermediates), order_cost(eg, eg.intermediates[::-1]))
    if len(eg.intermediates) <= 6:
        assert cost == min(order_cost(eg, p) for p in itertools.permutations(eg.intermediates))
    plans = {m: jc.plan_graph(G, inputs, outputs, m) for m in ("exact", "markowitz", "auto")}
    assert plans["exact"].cost <= plans["markowitz"].cost
    assert plans["auto"].cost <= min(plans["auto"].forward_cost, plans["auto"].reverse_cost)
    assert plans["auto"].cost == min(cost for _name, cost in plans["auto"].candidates)


@given(computational_graphs(max_nodes=8))
def test_each_order_computes_the_jacobian_by_its_own_eliminations(drawn):
    G, inputs, outputs = drawn
    spec, values = read_graph(G, inputs, outputs, values=True)
    eg = elimination_graph(spec)
    reference = sum_over_paths(G, inputs, outputs)
    for method in ORDERS:
        J = eliminate(eg, elimination_order(eg, method), values)
        np.testing.assert_allclose(J, reference, rtol=1e-9, atol=1e-9)


def test_eliminations_record_neighbours_and_costs():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("h", "z")])
    nx.set_node_attributes(G, {"x": 3, "h": 4, "y": 5, "z": 2}, "size")
    (step,) = eliminations(elimination_graph(graph_spec(G)), (1,))
    assert (step.predecessors, step.successors, step.cost) == (1, 2, 4 * 3 * (5 + 2))


def test_structure_rules():
    # x -(diagonal)-> h -(identity)-> y: free; a second path makes the fill-in diagonal.
    G = nx.DiGraph()
    G.add_nodes_from(["x", "h", "g", "y"], size=5)
    G.add_edge("x", "h", kind="diagonal")
    G.add_edge("h", "y", kind="identity")
    G.add_edge("x", "g", kind="identity")
    G.add_edge("g", "y", kind="diagonal")
    eg = elimination_graph(graph_spec(G))
    steps = eliminations(eg, eg.intermediates)
    assert [s.cost for s in steps] == [0, 0]
    G.add_edge("y", "out", kind="dense")
    G.nodes["out"]["size"] = 3
    eg = elimination_graph(graph_spec(G))
    # y is eliminated last: its predecessor x reaches it by two paths (diagonal, weight 1)
    # and its successor is dense (weight 3): 5 * 1 * 3.
    assert order_cost(eg, eg.intermediates) == 15


def test_markowitz_breaks_ties_in_topological_order():
    G = nx.path_graph(5, create_using=nx.DiGraph)
    nx.set_node_attributes(G, 2, "size")
    assert markowitz_order(elimination_graph(graph_spec(G))) == (1, 2, 3)


def test_exact_prunes_past_twenty_and_refuses_large_graphs_clearly():
    G = nx.path_graph(23, create_using=nx.DiGraph)  # 21 intermediates: the pruned DP
    nx.set_node_attributes(G, 1, "size")
    assert jc.plan_graph(G, method="exact").cost == 21  # each elimination 1 x 1 x 1
    assert jc.plan_graph(G).strategy != "exact"  # auto runs it only up to 16
    G = nx.path_graph(65, create_using=nx.DiGraph)
    nx.set_node_attributes(G, 1, "size")
    with pytest.raises(jc.MethodError, match="at most 62 intermediates; this graph has 63"):
        jc.plan_graph(G, method="exact")
    G = nx.path_graph(6, create_using=nx.DiGraph)
    nx.set_node_attributes(G, 1, "size")
    eg = elimination_graph(graph_spec(G))
    with pytest.raises(jc.JacChainError, match="at most 3"):
        exact_order(eg, max_intermediates=3)


def test_exact_costs_stay_exact_beyond_int64():
    G = nx.path_graph(5, create_using=nx.DiGraph)
    nx.set_node_attributes(G, {0: 10**7, 1: 10**6, 2: 10**7, 3: 10**6, 4: 10**7}, "size")
    dims = [10**7, 10**6, 10**7, 10**6, 10**7]
    assert exact_order(elimination_graph(graph_spec(G)))[1] == jc.plan(dims).cost


def test_elimination_order_validation():
    G, inputs, outputs = random_dag(3, n_nodes=7)
    spec, values = read_graph(G, inputs, outputs, values=True)
    eg = elimination_graph(spec)
    with pytest.raises(jc.MethodError, match="valid orders"):
        elimination_order(eg, "sideways")
    with pytest.raises(jc.GraphError, match="every intermediate"):
        eliminate(eg, eg.intermediates[1:], values)


def test_exact_handles_twenty_intermediates():
    G = nx.DiGraph()
    rng = np.random.default_rng(0)
    n = 22
    G.add_nodes_from((i, {"size": int(rng.integers(1, 5))}) for i in range(n))
    for j in range(1, n):
        G.add_edge(j - 1, j)
        G.add_edge(int(rng.integers(j)), j)
    eg = elimination_graph(graph_spec(G, [0], [n - 1]))
    assert len(eg.intermediates) == 20
    order, cost = exact_order(eg)
    assert order_cost(eg, order) == cost <= order_cost(eg, markowitz_order(eg))
