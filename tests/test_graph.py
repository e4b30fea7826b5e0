import io

import networkx as nx
import numpy as np
import pytest
from hypothesis import given

import jacchain as jc
from jacchain.graphs.graph import graph_layers, graph_spec
from jacchain.graphs.graph_plan import GRAPH_METHODS
from jacchain.testing import computational_graphs, dims_lists, sum_over_paths


def example_graph(**edge_attributes):
    """e = (a + b)(b + 1) at a = 2, b = 1: c = a + b = 3, d = b + 1 = 2."""
    G = nx.DiGraph()
    G.add_nodes_from("abcde", size=1)
    for u, v, value in [("a", "c", 1), ("b", "c", 1), ("b", "d", 1), ("c", "e", 2), ("d", "e", 3)]:
        G.add_edge(u, v, jacobian=np.array([[float(value)]]), **edge_attributes)
    return G


def path_graph(dims, kinds=None, seed=0):
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    for i, d in enumerate(dims):
        G.add_node(f"v{i}", size=d)
    for i in range(len(dims) - 1):
        kind = "dense" if kinds is None else kinds[i]
        if kind == "identity":
            G.add_edge(f"v{i}", f"v{i + 1}", kind=kind)
            continue
        shape = (dims[i + 1], dims[i]) if kind == "dense" else (dims[i],)
        G.add_edge(f"v{i}", f"v{i + 1}", kind=kind, jacobian=rng.standard_normal(shape))
    return G


@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_issue_example_by_every_method(method):
    G = example_graph()
    p = jc.plan_graph(G, method=method)
    np.testing.assert_array_equal(p.evaluate(G), [[2.0, 5.0]])
    assert p.cost == 3 and p.forward_cost == 3 and p.reverse_cost == 3
    assert p.inputs == ["a", "b"] and p.outputs == ["e"] and p.shape == (1, 2)


@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_traced_issue_example_by_every_method(method):
    t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
    p = jc.plan_graph(t.graph, t.inputs, t.outputs, method)
    np.testing.assert_array_equal(p.evaluate(t.graph), [[2.0, 5.0]])


@given(dims_lists(max_layers=8, max_dim=30))
def test_path_graph_reproduces_the_plain_chain(dims):
    G = path_graph(dims)
    assert jc.Chain.from_graph(G) == jc.Chain.from_dims(dims)
    optimum = jc.plan(dims).cost
    assert jc.plan_graph(G, method="chain").cost == optimum
    assert jc.plan_graph(G, method="exact").cost == optimum
    assert jc.plan_graph(G, method="forward").cost == jc.forward_cost(dims)
    assert jc.plan_graph(G, method="reverse").cost == jc.reverse_cost(dims)


def test_path_graph_of_structured_edges_gives_structured_layers():
    G = path_graph([3, 3, 3, 5, 5], ["diagonal", "identity", "dense", "diagonal"])
    chain = jc.Chain.from_graph(G)
    assert [layer.kind for layer in chain.layers] == ["diagonal", "identity", "dense", "diagonal"]
    assert jc.plan_graph(G, method="chain").cost == jc.plan_graph(G, method="exact").cost
    reference = sum_over_paths(G, ["v0"], ["v4"])
    for method in GRAPH_METHODS:
        np.testing.assert_allclose(jc.plan_graph(G, method=method).evaluate(G), reference)


def test_graph_layers_of_the_example():
    layers = graph_layers(graph_spec(example_graph()))
    assert layers.frontiers == ((0, 1), (2, 3), (4,))
    assert layers.chain == jc.Chain([jc.Layer(2, 2, "sparse", nnz=3), jc.Layer(2, 1)])


def test_identity_and_zero_blocks_are_free():
    # x -> y through h (dense), and a skip connection x -> y (identity): the skip passes
    # through the middle frontier with an identity block.
    G = nx.DiGraph()
    G.add_nodes_from([("x", {"size": 4}), ("h", {"size": 2}), ("y", {"size": 4})])
    G.add_edge("x", "h")
    G.add_edge("h", "y")
    G.add_edge("x", "y", kind="identity")
    layers = graph_layers(graph_spec(G))
    assert [tuple(layers.spec.names[v] for v in f) for f in layers.frontiers] == [
        ("x",),
        ("x", "h"),
        ("y",),
    ]
    first, second = layers.chain.layers
    assert (first.kind, first.nnz) == (
        "sparse",
        8,
    )  # the 2x4 dense block; the pass-through is free
    assert (second.kind, second.nnz) == ("sparse", 8)  # the 4x2 dense block; the identity is free


def asap_width(spec):
    """Sum of the inner frontier widths when every variable is computed as soon as possible."""
    inputs, outputs = set(spec.inputs), set(spec.outputs)
    level = {}
    for v in range(len(spec.names)):
        level[v] = 0 if v in inputs else 1 + max((level[u] for u in spec.preds[v]), default=0)
    depth = max(1, *level.values())
    total = 0
    for i in range(1, depth):
        for v in level:
            last = (
                depth
                if v in outputs
                else max((level[w] for w in spec.succs[v]), default=level[v] + 1) - 1
            )
            if level[v] <= i <= last:
                total += spec.sizes[v]
    return total


@given(computational_graphs(max_nodes=9, max_size=4))
def test_frontiers_are_consistent_and_no_wider_than_asap(drawn):
    G, inputs, outputs = drawn
    spec = graph_spec(G, inputs, outputs)
    layers = graph_layers(spec)
    frontiers = layers.frontiers
    assert frontiers[0] == spec.inputs and frontiers[-1] == spec.outputs
    assert len(layers.chain) == len(frontiers) - 1
    assert layers.widths == tuple(sum(spec.sizes[v] for v in f) for f in frontiers)
    computed = [block.row for blocks in layers.blocks for block in blocks if not block.passing]
    assert set(computed) <= set(range(len(spec.names))) - set(spec.inputs)
    for i, blocks in enumerate(layers.blocks, start=1):
        for block in blocks:
            assert block.row in frontiers[i] and block.col in frontiers[i - 1]
            if not block.passing:
                assert (block.col, block.row) in spec.code
    assert sum(layers.widths[1:-1]) <= asap_width(spec)


@given(computational_graphs(max_nodes=8))
def test_every_method_equals_the_sum_over_paths(drawn):
    G, inputs, outputs = drawn
    reference = sum_over_paths(G, inputs, outputs)
    for method in GRAPH_METHODS:
        p = jc.plan_graph(G, inputs, outputs, method)
        np.testing.assert_allclose(p.evaluate(G), reference, rtol=1e-9, atol=1e-9)


def test_inputs_and_outputs_default_to_sources_and_sinks():
    G = example_graph()
    G.add_node("f", size=2)  # isolated: a source, and a sink without predecessors
    p = jc.plan_graph(G)
    assert p.inputs == ["a", "b", "f"] and p.outputs == ["e"]
    np.testing.assert_array_equal(p.evaluate(G), [[2.0, 5.0, 0.0, 0.0]])


def test_outputs_with_successors_inputs_as_outputs_and_unreachable_blocks():
    G = example_graph()
    G.add_node("k", size=1)  # a constant: no path from any input
    outputs = ["e", "c", "b", "k"]
    reference = sum_over_paths(G, ["a", "b"], outputs)
    np.testing.assert_array_equal(reference, [[2, 5], [1, 1], [0, 1], [0, 0]])
    for method in GRAPH_METHODS:
        p = jc.plan_graph(G, ["a", "b"], outputs, method)
        np.testing.assert_array_equal(p.evaluate(G), reference)


def test_planning_from_kinds_alone():
    G = nx.DiGraph()
    G.add_nodes_from([("x", {"size": 100}), ("h", {"size": 100}), ("y", {"size": 1})])
    G.add_edge("x", "h", kind="diagonal")
    G.add_edge("h", "y")  # no kind, no jacobian: dense
    p = jc.plan_graph(G, method="forward")
    assert p.cost == 100 * 1 * 1  # size(h) * W_P (diagonal: 1) * W_S (dense: size(y))
    with pytest.raises(jc.GraphError, match="'x' -> 'h'.*no 'jacobian'"):
        p.evaluate(G)


def test_report_and_describe():
    G = example_graph()
    p = jc.plan_graph(G)
    text = str(p)
    for needle in ("jacchain graph plan", "forward elimination", "tried", "eliminate", "c "):
        assert needle in text
    assert p.describe().startswith("forward plan (forward elimination), 5 variables: 3")
    assert repr(p).startswith("<jacchain.GraphPlan")
    chain_text = jc.plan_graph(G, method="chain").report()
    assert "frontier widths       2 -> 2 -> 1" in chain_text and "J2" in chain_text
    assert [step.vertex for step in p.steps] == ["c", "d"] and p.order == ("c", "d")
    assert sum(step.cost for step in p.steps) == p.cost


def test_long_reports_are_truncated():
    G = path_graph([2] * 40)
    text = jc.plan_graph(G, method="forward").report(max_rows=6)
    assert "steps omitted" in text and len(text.splitlines()) < 30


def test_demo_shows_the_graph_example():
    from jacchain.cli.demo import graph_demo

    out = io.StringIO()
    graph_demo(out)  # run_demo prints it last; tests/test_cli.py runs the whole demo
    text = out.getvalue()
    assert "e = (a + b) * (b + 1)" in text
    assert text.count("[[2. 5.]]") == len(GRAPH_METHODS)


def cycle():
    G = example_graph()
    G.add_edge("e", "a", jacobian=np.ones((1, 1)))
    return G


def with_node(**attrs):
    G = example_graph()
    G.add_node("c", **attrs)
    return G


def with_edge(**attrs):
    G = example_graph()
    G.add_edge("c", "e", **attrs)
    return G


def square_graph(**attrs):
    G = nx.DiGraph()
    G.add_nodes_from([("x", {"size": 2}), ("y", {"size": 3})])
    G.add_edge("x", "y", **attrs)
    return G


BAD_GRAPHS = [
    (lambda: cycle(), {}, r"cycle: 'a' -> 'c' -> 'e' -> 'a'"),
    (lambda: nx.Graph(example_graph()), {}, "undirected"),
    (lambda: nx.MultiDiGraph(example_graph()), {}, "MultiDiGraph"),
    (lambda: nx.DiGraph(), {}, "empty"),
    (lambda: [("a", "b")], {}, "expected a networkx.DiGraph"),
    (lambda: example_graph(), {"inputs": ["z"]}, "input 'z' is not a node"),
    (lambda: example_graph(), {"outputs": ["z"]}, "output 'z' is not a node"),
    (lambda: example_graph(), {"inputs": ["a", "c"]}, "input 'c' has a predecessor"),
    (lambda: example_graph(), {"inputs": ["a", "a"]}, "listed twice"),
    (lambda: example_graph(), {"inputs": "ab"}, "must be a list of nodes"),
    (lambda: example_graph(), {"inputs": []}, "at least one"),
    (lambda: example_graph(), {"inputs": [["a"]]}, r"\['a'\] is not a node"),
    (lambda: with_node(size=0), {}, "node 'c' has size 0"),
    (lambda: with_node(size=-2), {}, "node 'c' has size -2"),
    (lambda: with_node(size=1.0), {}, "node 'c' has size 1.0"),
    (lambda: with_node(size=True), {}, "node 'c' has size True"),
    (lambda: nx.DiGraph([("a", "b")]), {}, "node 'a' has no 'size'"),
    (
        lambda: with_edge(jacobian=np.ones((2, 1))),
        {},
        r"'c' -> 'e' has a jacobian of shape \(2, 1\)",
    ),
    (lambda: with_edge(jacobian=[["x"]]), {}, "'c' -> 'e'.*dtype"),
    (lambda: with_edge(kind="sparse"), {}, "'c' -> 'e' has kind 'sparse'"),
    (lambda: square_graph(kind="diagonal"), {}, "'x' -> 'y' is diagonal but joins sizes 2 -> 3"),
    (lambda: square_graph(kind="identity"), {}, "'x' -> 'y' is identity but joins"),
    (
        lambda: with_edge(kind="identity", jacobian=[[2.0]]),
        {},
        "'c' -> 'e' is identity but its jacobian is not",
    ),
]


@pytest.mark.parametrize("make, kwargs, message", BAD_GRAPHS)
def test_bad_graphs_are_clear_errors(make, kwargs, message):
    with pytest.raises(jc.GraphError, match=message):
        jc.plan_graph(make(), **kwargs)
    with pytest.raises(jc.JacChainError, match=message):
        jc.Chain.from_graph(make(), **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, complex(0, np.inf)])
def test_non_finite_edge_jacobians_are_non_finite_errors(bad):
    G = with_edge(jacobian=np.array([[bad]]))
    with pytest.raises(jc.NonFiniteError, match="'c' -> 'e' has a jacobian with NaN or inf"):
        jc.plan_graph(G)
    with pytest.raises(jc.NonFiniteError, match="'c' -> 'e'"):
        jc.plan_graph(example_graph()).evaluate(G)


def test_diagonal_jacobian_with_off_diagonal_entries():
    G = nx.DiGraph()
    G.add_nodes_from(["x", "y"], size=2)
    G.add_edge("x", "y", kind="diagonal", jacobian=np.ones((2, 2)))
    with pytest.raises(jc.GraphError, match="'x' -> 'y' is diagonal but its jacobian"):
        jc.plan_graph(G)


def test_unknown_method():
    with pytest.raises(jc.MethodError, match="valid methods"):
        jc.plan_graph(example_graph(), method="dp")


def test_evaluate_checks_the_graph_is_the_one_planned():
    G = example_graph()
    p = jc.plan_graph(G)
    H = example_graph()
    H.nodes["d"]["size"] = 2
    H.edges["b", "d"]["jacobian"] = np.ones((2, 1))
    H.edges["d", "e"]["jacobian"] = np.ones((1, 2))
    with pytest.raises(jc.GraphError, match="node 'd' has size 2, planned 1"):
        p.evaluate(H)
    H = example_graph()
    H.remove_edge("b", "d")
    H.add_edge("a", "d", jacobian=np.ones((1, 1)))
    with pytest.raises(jc.GraphError, match="edge 'a' -> 'd' is new"):
        p.evaluate(H)
    H = example_graph(kind="diagonal")
    with pytest.raises(jc.GraphError, match="changed its kind"):
        p.evaluate(H)


def integer_graph(dtype, value, kind="dense"):
    """x (3) -> h (4) -> y (2) whose edge Jacobians are filled with ``value`` of ``dtype``."""
    G = nx.DiGraph()
    G.add_nodes_from([("x", {"size": 3}), ("h", {"size": 4}), ("y", {"size": 2})])
    G.add_edge("x", "h", jacobian=np.full((4, 3), value, dtype=dtype))
    G.add_edge("h", "y", jacobian=np.full((2, 4), value, dtype=dtype))
    return G


@pytest.mark.parametrize(
    "dtype, value, entry",
    [
        (np.int8, 100, 40_000.0),  # 4 * 100 * 100: wraps around in int8
        (np.int64, 2**40, 4.0 * 2**80),  # overflows int64
        (np.uint8, 200, 160_000.0),
        (np.bool_, True, 4.0),  # saturates at True in bool
    ],
)
@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_integer_and_bool_edges_are_promoted_to_float64(dtype, value, entry, method):
    G = integer_graph(dtype, value)
    J = jc.plan_graph(G, method=method).evaluate(G)
    assert J.dtype == np.float64
    np.testing.assert_array_equal(J, np.full((2, 3), entry))
    np.testing.assert_array_equal(J, sum_over_paths(G, ["x"], ["y"]))


@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_integer_diagonal_edges_are_promoted(method):
    G = nx.DiGraph()
    G.add_nodes_from(["a", "b", "c"], size=3)
    G.add_edge("a", "b", kind="diagonal", jacobian=np.full(3, 100, dtype=np.int8))
    G.add_edge("b", "c", kind="diagonal", jacobian=np.full((3, 3), 100, dtype=np.int8) * np.eye(3, dtype=np.int8))
    G.add_edge("a", "c", kind="diagonal", jacobian=np.array([True, False, True]))
    expected = np.diag([10_001.0, 10_000.0, 10_001.0])
    np.testing.assert_array_equal(jc.plan_graph(G, method=method).evaluate(G), expected)
    np.testing.assert_array_equal(sum_over_paths(G, ["a"], ["c"]), expected)


def path_of(sizes):
    G = nx.DiGraph()
    for i, size in enumerate(sizes):
        G.add_node(i, size=size)
    G.add_edges_from((i, i + 1) for i in range(len(sizes) - 1))
    return G


@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_sizes_beyond_int64_are_graph_errors_naming_the_node(method):
    with pytest.raises(jc.GraphError, match="node 1 has size 1180591620717411303424, beyond"):
        jc.plan_graph(path_of([2, 2**70, 3]), method=method)
    with pytest.raises(jc.GraphError, match="sum to 9223372036854775812, beyond.*node 1 of size"):
        jc.plan_graph(path_of([2, 2**63 - 1, 3]), method=method)


@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_sizes_near_int64_plan_exactly(method):
    """Costs beyond int64 stay exact Python ints by every method (exact_order included)."""
    big = 2**61
    dims = [2, big, 3, big, 1]
    p = jc.plan_graph(path_of(dims), method=method)
    assert type(p.cost) is int
    assert p.forward_cost == 2 * big * 3 + 2 * 3 * big + 2 * big * 1
    assert p.reverse_cost == 3 * big * 1 + big * 3 * 1 + 2 * big * 1
    if method in ("auto", "exact", "chain"):
        assert p.cost == jc.plan(dims).cost


@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_sparse_identity_and_diagonal_edges_are_never_formed_densely(method):
    """A million-wide identity and diagonal given as scipy.sparse (8 TB if formed densely)."""
    import scipy.sparse

    n = 10**6
    d = np.linspace(1.0, 2.0, n)
    w = np.linspace(-1.0, 1.0, n)
    G = nx.DiGraph()
    G.add_nodes_from([("x", {"size": n}), ("h", {"size": n}), ("z", {"size": n})])
    G.add_node("y", size=1)
    G.add_edge("x", "h", kind="identity", jacobian=scipy.sparse.identity(n, format="csr"))
    G.add_edge("h", "z", kind="diagonal", jacobian=scipy.sparse.diags(d))
    G.add_edge("z", "y", jacobian=w[None, :])
    p = jc.plan_graph(G, method=method)
    np.testing.assert_allclose(p.evaluate(G), (w * d)[None, :])
    H = G.copy()
    H.edges["h", "z"]["jacobian"] = scipy.sparse.diags(d) + scipy.sparse.eye(n, k=1)
    with pytest.raises(jc.GraphError, match="'h' -> 'z' is diagonal but its jacobian has off"):
        jc.plan_graph(H, method=method)


def test_sparse_dense_edges_are_formed_only_to_evaluate():
    import scipy.sparse

    G = integer_graph(np.float64, 0.5)
    G.edges["x", "h"]["jacobian"] = scipy.sparse.csr_matrix(np.full((4, 3), 0.5))
    for method in GRAPH_METHODS:
        np.testing.assert_allclose(jc.plan_graph(G, method=method).evaluate(G), np.ones((2, 3)))
    G.edges["x", "h"]["jacobian"] = scipy.sparse.csr_matrix(np.ones((3, 4)))
    with pytest.raises(jc.GraphError, match=r"'x' -> 'h' has a jacobian of shape \(3, 4\)"):
        jc.plan_graph(G)
    G.edges["x", "h"]["jacobian"] = scipy.sparse.csr_matrix(np.array([[np.inf, 0, 0]] * 4))
    with pytest.raises(jc.NonFiniteError, match="'x' -> 'h'"):
        jc.plan_graph(G)


@pytest.mark.parametrize("method, culprit", [("chain", "layer_operators"), ("forward", "eliminate")])
def test_running_out_of_memory_is_a_graph_error(method, culprit, monkeypatch):
    """The allocation failure itself is simulated: a real one would need terabytes."""
    import jacchain.graphs.graph_plan

    def exhausted(*args):
        raise MemoryError

    G = example_graph()
    p = jc.plan_graph(G, method=method)
    monkeypatch.setattr(jacchain.graphs.graph_plan, culprit, exhausted)
    with pytest.raises(jc.GraphError, match=f"not enough memory to evaluate this {method} plan"):
        p.evaluate(G)


@pytest.mark.parametrize("method", GRAPH_METHODS)
def test_a_square_dense_edge_may_be_given_by_its_diagonal(method):
    G = nx.DiGraph()
    G.add_nodes_from([("x", {"size": 2}), ("h", {"size": 2}), ("y", {"size": 1})])
    G.add_edge("x", "h", kind="dense", jacobian=np.array([2.0, 3.0]))
    G.add_edge("h", "y", jacobian=np.array([[1.0, 1.0]]))
    np.testing.assert_array_equal(jc.plan_graph(G, method=method).evaluate(G), [[2.0, 3.0]])
    G.add_edge("x", "y", jacobian=np.array([1.0, 1.0]))  # 1 x 2: not square, so not a diagonal
    with pytest.raises(jc.GraphError, match=r"'x' -> 'y' has a jacobian of shape \(2,\); expected"):
        jc.plan_graph(G, method=method)
