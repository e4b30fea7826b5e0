"""Fuzzing the graph entry points: plan_graph, GraphPlan.evaluate, jc.trace and jc.Tracer.

Two properties. Odd but valid input (odd node names, sizes as numpy ints, edge Jacobians as
lists, scipy.sparse, integer, bool, complex or float32 arrays, nodes inserted out of order,
inputs and outputs as tuples, generators or dicts, inputs that are also outputs, isolated
nodes, graph attributes) plans and evaluates, by every method, to the sum over paths of
``jacchain.testing.sum_over_paths`` (which shares no code with the planners). Garbage
anywhere raises a :class:`jacchain.JacChainError` and nothing else.
"""

import contextlib
import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jacchain as jc
from jacchain.graphs.graph_plan import GRAPH_METHODS
from jacchain.graphs.tracer import Tracer
from jacchain.testing import computational_graphs, sum_over_paths

fuzz = settings(  # examples: the loaded profile's (60 in "ci", 1000 in "thorough")
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

NAMES = st.one_of(
    st.integers(-3, 30),
    st.text(max_size=3),
    st.tuples(st.integers(0, 2), st.text(max_size=1)),
    st.floats(-2, 2, allow_nan=False, width=16),
    st.binary(max_size=2),
    st.frozensets(st.integers(0, 2), max_size=2),
)
"""Hashable node names of mixed types that do not sort against each other (no NaN, no None)."""

GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.complex_numbers(),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.lists(st.integers(-3, 3), max_size=3),
    st.lists(st.lists(st.floats(-2, 2), max_size=3), max_size=3),
    hnp.arrays(
        st.sampled_from(["i1", "u1", "i8", "f2", "f4", "f8", "c8", "?", "U2", "M8[s]"]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    ),
    st.sets(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(0, 3), max_size=2),
    st.sampled_from(
        [np.int64(3), np.uint64(2**64 - 1), float("nan"), slice(2), object(), nx.DiGraph(), ...]
    ),
)
"""Anything at all, to put where something specific belongs."""


def close(actual, expected, loose=False):
    """Equal up to rounding (float32 arithmetic when ``loose``) relative to the largest entry."""
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    tolerance = 1e-4 if loose else 1e-9
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance * scale)


def rebuild(graph, order, node_data, edge_data):
    """A new DiGraph: nodes inserted in ``order``, with new node and edge attributes."""
    G = nx.DiGraph()
    G.add_nodes_from((node, node_data(node)) for node in order)
    G.add_edges_from((u, v, edge_data(u, v, data)) for u, v, data in graph.edges(data=True))
    return G


DTYPES = {
    # dtype -> (values as that dtype, the same values in float or complex for the reference)
    "float64": lambda J: (J, J),
    "float32": lambda J: (J.astype(np.float32), J.astype(np.float32).astype(float)),
    "int16": lambda J: (np.rint(4 * J).astype(np.int16), np.rint(4 * J)),
    "uint8": lambda J: (np.rint(4 * np.abs(J)).astype(np.uint8), np.rint(4 * np.abs(J))),
    "bool": lambda J: (J > 0, (J > 0).astype(float)),
    "complex": lambda J: (J * (1 + 2j), J * (1 + 2j)),
}

CONTAINERS = {
    "list": list,
    "tuple": tuple,
    "generator": lambda nodes: (node for node in nodes),
    "dict": dict.fromkeys,
    "iterator": iter,
}


def encode(J, how):
    """An edge Jacobian (an ndarray) as a list, scipy.sparse matrix, masked array, or as is."""
    if how == "list":
        return J.tolist()
    if how == "sparse" and J.ndim == 2:
        return scipy.sparse.csr_matrix(J)
    if how == "masked":
        return np.ma.masked_array(J)
    return J


@st.composite
def odd_graphs(draw):
    """(odd graph, reference graph, inputs, outputs): the same Jacobian, oddly given."""
    graph, inputs, outputs = draw(computational_graphs(max_nodes=6, max_size=3))
    n = len(graph)
    names, seen = [], set()
    for i in range(n + 2):
        drawn = draw(NAMES)
        names.append(drawn if drawn not in seen else ("node", i))  # unique, as networkx sees it
        seen.add(names[-1])
    name = dict(zip(range(n), names, strict=False))
    isolated = names[n : n + draw(st.integers(0, 2))]
    dtype = draw(st.sampled_from(sorted(DTYPES)))
    reference_values, odd_values = {}, {}
    for u, v, data in graph.edges(data=True):
        J = np.asarray(data["jacobian"], dtype=float)
        if data["kind"] == "identity":
            odd, exact = J.astype(np.bool_) if dtype == "bool" else J, J
        else:
            odd, exact = DTYPES[dtype](J)
        how = draw(st.sampled_from(["array", "list", "sparse", "masked"]))
        odd_values[(name[u], name[v])] = encode(odd, how)
        reference_values[(name[u], name[v])] = exact
    size_type = draw(st.sampled_from([int, np.int64, np.int32, np.uint16]))
    order = draw(st.permutations([name[i] for i in range(n)] + isolated))
    sizes = {name[i]: graph.nodes[i]["size"] for i in range(n)}
    sizes.update({node: draw(st.integers(1, 3)) for node in isolated})

    def odd_edge(u, v, data):
        kept = {"kind": data["kind"]}
        if draw(st.booleans()) or data["kind"] != "identity":  # identities may omit it
            kept["jacobian"] = odd_values[(u, v)]
        return kept

    relabeled = nx.relabel_nodes(graph, name)
    odd_graph = rebuild(
        relabeled, order, lambda node: {"size": size_type(sizes[node]), "op": object()}, odd_edge
    )
    odd_graph.graph.update(size="junk", jacobian=1.0, kind="sparse")
    reference = rebuild(
        relabeled,
        order,
        lambda node: {"size": sizes[node]},
        lambda u, v, data: {"jacobian": reference_values[(u, v)]},
    )
    inputs = [name[x] for x in inputs]
    outputs = [name[y] for y in outputs]
    if draw(st.booleans()) and inputs[0] not in outputs:
        outputs.append(inputs[0])  # an input that is also an output
    if draw(st.booleans()):
        inputs, outputs = None, None  # the defaults: sources and sinks, isolated ones too
    container = draw(st.sampled_from(sorted(CONTAINERS)))
    return odd_graph, reference, inputs, outputs, CONTAINERS[container], dtype == "float32"


@fuzz
@given(odd_graphs())
def test_odd_but_valid_graphs_give_the_sum_over_paths_by_every_method(drawn):
    odd, reference, inputs, outputs, container, loose = drawn

    def given_as(nodes):
        return None if nodes is None else container(nodes)

    for method in GRAPH_METHODS:
        p = jc.plan_graph(odd, given_as(inputs), given_as(outputs), method)
        expected = sum_over_paths(reference, p.inputs, p.outputs)
        close(p.evaluate(odd), expected, loose)
        assert type(p.cost) is int and str(p) and p.describe() and repr(p)
        pure = {"forward": p.forward_cost, "reverse": p.reverse_cost}
        if method in pure:
            assert p.cost == pure[method]
        elif method in ("auto", "exact"):
            assert p.cost <= min(pure.values())
    if inputs is None:
        sources = [node for node in odd if odd.in_degree(node) == 0]
        assert p.inputs == sources


def small_graph():
    G = nx.DiGraph()
    G.add_nodes_from([("a", {"size": 2}), ("b", {"size": 3}), ("c", {"size": 1})])
    G.add_nodes_from([("d", {"size": 3})])
    G.add_edge("a", "b", jacobian=np.arange(6.0).reshape(3, 2))
    G.add_edge("b", "c", jacobian=np.ones((1, 3)))
    G.add_edge("a", "d", jacobian=np.ones((3, 2)))
    G.add_edge("d", "c", jacobian=np.full((1, 3), 2.0))
    return G


def spoil(where, garbage):
    """small_graph() and the arguments of plan_graph, with ``garbage`` put ``where``."""
    G = small_graph()
    args = {"inputs": None, "outputs": None, "method": "auto"}
    if where == "size":
        G.nodes["b"]["size"] = garbage
    elif where == "jacobian":
        G.edges["b", "c"]["jacobian"] = garbage
    elif where == "kind":
        G.edges["b", "c"]["kind"] = garbage
    elif where == "name":
        try:
            G = nx.relabel_nodes(G, {"b": garbage})
        except (TypeError, ValueError):  # not hashable, or None: networkx refuses it
            assume(False)
    elif where == "graph":
        G = garbage
    elif where in ("inputs", "outputs", "method"):
        args[where] = garbage
    elif where == "input list":
        args["inputs"] = ["a", garbage]
    elif where == "output list":
        args["outputs"] = [garbage, "c"]
    return G, args


PLACES = ["size", "jacobian", "kind", "name", "graph", "inputs", "outputs", "method"]


@fuzz
@given(st.sampled_from([*PLACES, "input list", "output list"]), GARBAGE)
def test_garbage_anywhere_is_a_jacchain_error_or_a_right_answer(where, garbage):
    G, args = spoil(where, garbage)
    try:
        p = jc.plan_graph(G, args["inputs"], args["outputs"], args["method"])
        J = p.evaluate(G)
        str(p)
    except jc.JacChainError as err:
        event(f"{where}: {type(err).__name__}")
        return
    event(f"{where}: planned")
    assert J.shape == p.shape and np.isfinite(J).all()
    if where not in ("jacobian", "graph"):
        close(J, sum_over_paths(G, p.inputs, p.outputs))


def changes():
    """Ways to alter the planned graph: each either changes nothing or is refused."""

    def resize(G):
        G.nodes["d"]["size"] = 2
        G.edges["a", "d"]["jacobian"] = np.ones((2, 2))
        G.edges["d", "c"]["jacobian"] = np.ones((1, 2))

    def rekind(G):
        G.edges["b", "c"]["kind"] = "dense"

    def drop(G):
        G.remove_edge("a", "d")

    def add(G):
        G.add_node("e", size=1)
        G.add_edge("a", "e", jacobian=np.ones((1, 2)))
        G.add_edge("e", "c", jacobian=np.ones((1, 1)))

    def revalue(G):
        G.edges["a", "b"]["jacobian"] = np.ones((3, 2))

    def reorder(G):
        H = nx.DiGraph()
        H.add_nodes_from(reversed(list(G.nodes(data=True))))
        H.add_edges_from(G.edges(data=True))
        G.clear()
        G.update(H)

    return [resize, rekind, drop, add, revalue, reorder]


@pytest.mark.parametrize("method", GRAPH_METHODS)
@pytest.mark.parametrize("change", changes(), ids=lambda change: change.__name__)
def test_evaluate_on_another_graph_is_refused_or_right(method, change):
    p = jc.plan_graph(small_graph(), method=method)
    G = small_graph()
    change(G)
    try:
        J = p.evaluate(G)
    except jc.GraphError as err:
        assert "differs from the one planned" in str(err)
        return
    np.testing.assert_allclose(J, sum_over_paths(G, p.inputs, p.outputs))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_float16_overflow_is_a_non_finite_error_by_every_method():
    G = nx.DiGraph()
    G.add_nodes_from(["x", "h", "y"], size=2)
    G.add_edge("x", "h", jacobian=np.full((2, 2), 300.0, dtype=np.float16))
    G.add_edge("h", "y", jacobian=np.full((2, 2), 300.0, dtype=np.float16))
    for method in ("forward", "reverse", "markowitz", "exact"):
        with pytest.raises(jc.NonFiniteError, match="overflow"):
            jc.plan_graph(G, method=method).evaluate(G)
    close(jc.plan_graph(G, method="chain").evaluate(G), sum_over_paths(G, ["x"], ["y"]))


@pytest.mark.parametrize("nodes", [{"a"}, frozenset({"a"})])
def test_unordered_inputs_are_refused(nodes):
    with pytest.raises(jc.GraphError, match="in order"):
        jc.plan_graph(small_graph(), inputs=nodes)


def test_masked_entries_are_refused():
    G = small_graph()
    G.edges["b", "c"]["jacobian"] = np.ma.masked_array(np.ones((1, 3)), mask=[[0, 1, 0]])
    with pytest.raises(jc.GraphError, match="'b' -> 'c' has a jacobian with masked entries"):
        jc.plan_graph(G)


# ---- the tracer ----

NUMBERS = st.one_of(
    st.floats(0.25, 2),
    st.integers(1, 3),
    st.lists(st.floats(-2, 2), min_size=2, max_size=2),
    st.complex_numbers(min_magnitude=0.25, max_magnitude=2),
)
"""Operands that combine with scalars and 2-vectors, mostly inside every function's domain."""
OPERANDS = st.one_of(NUMBERS, GARBAGE)
UNARY = ["neg", "exp", "log", "sin", "cos", "tanh", "sqrt", "sum", "np.exp", "np.sin", "np.sum"]
BINARY = ["+", "-", "*", "/", "**", "@", "np.add", "np.multiply", "np.power"]
MISUSE = ["index", "compare", "bool", "float", "np.maximum", "np.dot", "abs", "len", "iter"]


def apply(op, x, other, swap):
    """One traced operation: x is a Var, other a Var or a constant (first when ``swap``)."""
    unary = {
        "neg": lambda: -x,
        "exp": lambda: jc.tracer.exp(x),
        "log": lambda: jc.tracer.log(x),
        "sin": lambda: jc.tracer.sin(x),
        "cos": lambda: jc.tracer.cos(x),
        "tanh": lambda: jc.tracer.tanh(x),
        "sqrt": lambda: jc.tracer.sqrt(x),
        "sum": lambda: x.sum(),
        "np.exp": lambda: np.exp(x),
        "np.sin": lambda: np.sin(x),
        "np.sum": lambda: np.sum(x),
        "index": lambda: x[0],
        "compare": lambda: x < other,
        "bool": lambda: bool(x),
        "float": lambda: float(x),
        "np.maximum": lambda: np.maximum(x, other),
        "np.dot": lambda: np.dot(other, x),
        "abs": lambda: abs(x),
        "len": lambda: len(x),
        "iter": lambda: list(x),
    }
    binary = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "**": lambda a, b: a**b,
        "@": lambda a, b: a @ b,
        "np.add": np.add,
        "np.multiply": np.multiply,
        "np.power": np.power,
    }
    if op in unary:
        return unary[op]()
    if op == "@" and isinstance(other, tuple) and other[:1] == ("matrix",):
        rows, entry = other[1:]  # a constant matrix that fits x
        return np.full((rows, x.size), entry) @ x if swap else x @ np.full((x.size, rows), entry)
    return binary[op](other, x) if swap else binary[op](x, other)


@st.composite
def programs(draw):
    """Inputs and steps (op, operand index, other operand or constant, swap the operands).

    One program in four is hostile: its inputs, constants and operations may be anything.
    """
    hostile = draw(st.integers(0, 3)) == 0
    operands = OPERANDS if hostile else NUMBERS
    inputs = draw(st.lists(operands, min_size=1, max_size=3))
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(UNARY + BINARY + (MISUSE if hostile else [])))
        matrices = st.tuples(st.just("matrix"), st.integers(1, 3), st.floats(-1, 1))
        other = draw(
            st.one_of(st.integers(0, 6).map(lambda i: ("var", i)), operands, matrices)
        )
        steps.append((op, draw(st.integers(0, 6)), other, draw(st.booleans())))
    outputs = draw(st.lists(st.integers(0, 8), min_size=1, max_size=2))
    return inputs, steps, outputs


def run(steps, outputs):
    def f(*xs):
        values = list(xs)
        for op, i, other, swap in steps:
            if isinstance(other, tuple) and other[:1] == ("var",):  # another traced value
                other = values[other[1] % len(values)]
            values.append(apply(op, values[i % len(values)], other, swap))
        return [values[j % len(values)] for j in outputs]

    return f


@fuzz
@given(programs())
def test_tracing_anything_is_a_jacchain_error_or_the_sum_over_paths(program):
    inputs, steps, outputs = program
    try:
        t = jc.trace(run(steps, outputs), *inputs)
    except jc.JacChainError as err:
        event(f"refused: {type(err).__name__} {str(err)[:40]}")
        return
    event(f"traced {len(t.graph)} nodes")
    expected = sum_over_paths(t.graph, t.inputs, t.outputs)
    for method in GRAPH_METHODS:
        try:
            J = jc.plan_graph(t.graph, t.inputs, t.outputs, method).evaluate(t.graph)
        except jc.NonFiniteError:  # finite local derivatives whose products overflow
            assert not np.isfinite(expected).all()
            continue
        close(J, expected)


@fuzz
@given(GARBAGE, st.one_of(NAMES, GARBAGE))
def test_tracer_api_with_garbage_is_a_jacchain_error(value, name):
    t = Tracer()
    x = t.input([1.0, 2.0], "x")
    calls = [
        lambda: t.input(value),
        lambda: t.input(1.0, name),
        lambda: x.named(name),
        lambda: t.to_graph(value),
        lambda: jc.trace(value, 1.0),
        lambda: jc.trace(lambda v: v * value, 1.0),
        lambda: x @ value,
        lambda: value @ x,
        lambda: x.sum(value),
    ]
    for call in calls:
        with contextlib.suppress(jc.JacChainError):
            call()


def test_trace_takes_a_keyword_named_f():
    t = jc.trace(lambda f: f * 2.0, f=3.0)
    assert t.inputs == ["f"] and float(t.value[0]) == 6.0


@pytest.mark.parametrize(
    "f, message",
    [
        (lambda x: jc.tracer.log(x - 1.0), r"value of log\('v1'\)"),
        (lambda x: 1.0 / (x - 1.0), r"value of div\('v1'\)"),
        (lambda x: jc.tracer.sqrt(x - 1.0), r"derivative of sqrt\('v1'\) with respect to 'v1'"),
        (lambda x: (x * 1e200) * 1e200, r"value of mul\('v1'\)"),
    ],
)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_non_finite_values_and_derivatives_name_the_operation(f, message):
    with pytest.raises(jc.NonFiniteError, match=message):
        jc.trace(f, 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, [1.0, -np.inf]])
def test_non_finite_inputs_and_constants_are_non_finite_errors(bad):
    with pytest.raises(jc.NonFiniteError, match="an input has NaN"):
        jc.trace(lambda x: x, bad)
    with pytest.raises(jc.NonFiniteError, match="operand of mul has NaN"):
        jc.trace(lambda x: x * bad, 1.0)


def test_numpy_ufuncs_are_recorded_like_the_tracer_functions():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])

    def f(x):
        return np.sum(np.exp(A @ x) + np.sin(x).sum() * np.ones(3))

    t = jc.trace(f, [0.1, 0.2])
    x = np.array([0.1, 0.2])
    expected = np.exp(A @ x) @ A + 3 * np.cos(x)
    for method in GRAPH_METHODS:
        close(jc.plan_graph(t.graph, t.inputs, t.outputs, method).evaluate(t.graph)[0], expected)


@pytest.mark.parametrize(
    "use",
    [
        lambda x: x[0],
        lambda x: x > 0,
        lambda x: bool(x),
        lambda x: float(x),
        lambda x: abs(x),
        lambda x: list(x),
        lambda x: np.maximum(x, 0.0),
        lambda x: np.dot(np.ones(2), x),
        lambda x: np.add.reduce(x),
        lambda x: np.exp(x, out=np.zeros(2)),
        lambda x: np.sum(x, axis=0),
        lambda x: x % 2,
    ],
)
def test_unrecorded_uses_of_a_var_are_graph_errors(use):
    with pytest.raises(jc.GraphError, match="tracer"):
        jc.trace(use, [1.0, 2.0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda t: t.input(10**400), "not an array of numbers"),
        (lambda t: t.input(["a"]), "not an array of numbers"),
        (lambda t: t.input([1.0, [2.0]]), "not an array of numbers"),
        (lambda t: t.input(1.0) @ "ab", "a str is not a matrix"),
        (lambda t: t.input(1.0).named(None), "cannot be None"),
        (lambda t: t.to_graph(3), "a Var or a list of Vars"),
        (lambda t: t.to_graph([]), "at least one output"),
        (lambda t: jc.trace(3, 1.0), "needs a function"),
    ],
)
def test_tracer_misuse_names_what_is_wrong(call, message):
    with pytest.raises(jc.GraphError, match=message):
        call(Tracer())


def test_long_path_graph_plans_to_the_chain_optimum():
    """10,000 nodes (the quadratic-time regression): right cost; the time is in experiments/."""
    rng = np.random.default_rng(5)
    dims = rng.integers(1, 11, size=10_000).tolist()
    G = nx.DiGraph()
    G.add_nodes_from((i, {"size": d}) for i, d in enumerate(dims))
    G.add_edges_from(((i, i + 1) for i in range(len(dims) - 1)), kind="dense")
    optimum = jc.plan(dims).cost
    assert jc.plan_graph(G, method="chain").cost == optimum
    p = jc.plan_graph(G, method="auto")
    assert p.cost == optimum and p.forward_cost == sum(
        dims[0] * a * b for a, b in itertools.pairwise(dims[1:])
    )
