import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jacchain as jc
from jacchain.graphs.graph_plan import GRAPH_METHODS
from jacchain.graphs.tracer import Tracer, cos, exp, log, sin, sqrt, tanh
from jacchain.testing import sum_over_paths


def finite_differences(f, values, h=1e-6):
    """Central differences of the traced function, column by column of the flattened inputs."""
    values = [np.asarray(v, dtype=float) for v in values]
    columns = []
    for i, value in enumerate(values):
        for j in range(value.size):
            step = np.zeros(value.size)
            step[j] = h
            up = [
                v if k != i else (v.ravel() + step).reshape(v.shape) for k, v in enumerate(values)
            ]
            down = [
                v if k != i else (v.ravel() - step).reshape(v.shape) for k, v in enumerate(values)
            ]
            columns.append((jc.trace(f, *up).value - jc.trace(f, *down).value) / (2 * h))
    return np.stack(columns, axis=1)


def test_issue_example_graph():
    t = jc.trace(lambda a, b: (a + b) * (b + 1), a=2.0, b=1.0)
    G = t.graph
    assert t.inputs == ["a", "b"] and t.outputs == ["v3"] and float(t.value[0]) == 6.0
    assert set(G.edges) == {("a", "v1"), ("b", "v1"), ("b", "v2"), ("v1", "v3"), ("v2", "v3")}
    assert G.edges["a", "v1"]["kind"] == "identity" and G.edges["v1", "v3"]["kind"] == "diagonal"
    np.testing.assert_array_equal(G.edges["v1", "v3"]["jacobian"], [2.0])  # de/dc = d
    np.testing.assert_array_equal(G.edges["v2", "v3"]["jacobian"], [3.0])  # de/dd = c
    assert {G.nodes[n]["size"] for n in G} == {1}
    assert G.nodes["v1"]["op"] == "add" and float(G.nodes["v1"]["value"]) == 3.0
    np.testing.assert_array_equal(sum_over_paths(G, t.inputs, t.outputs), [[2.0, 5.0]])


def test_named_nodes_and_tracer_api():
    tracer = Tracer()
    a, b = tracer.input(2.0, "a"), tracer.input(1.0, "b")
    e = ((a + b).named("c") * (b + 1).named("d")).named("e")
    G = tracer.to_graph([e])
    assert sorted(G.nodes) == ["a", "b", "c", "d", "e"] and tracer.inputs == ["a", "b"]
    p = jc.plan_graph(G, ["a", "b"], ["e"])
    np.testing.assert_array_equal(p.evaluate(G), [[2.0, 5.0]])
    with pytest.raises(jc.GraphError, match="'c' is already a node"):
        (a * 2).named("c")
    with pytest.raises(jc.GraphError, match="'a' is already a node"):
        tracer.input(1.0, "a")


def test_kinds_follow_the_operation_not_the_values():
    t = jc.trace(lambda x, y: (x * y, x - y, x + 2.0), np.ones(3), np.ones(3))
    G = t.graph
    assert G.edges["x0", "v1"]["kind"] == "diagonal"  # times y = 1, still diagonal
    assert G.edges["x1", "v2"]["kind"] == "diagonal"  # -1
    assert G.edges["x0", "v2"]["kind"] == "identity"
    assert G.edges["x0", "v3"]["kind"] == "identity"


def test_broadcasting_a_scalar_gives_a_dense_column():
    t = jc.trace(lambda s, v: s * v, 2.0, [1.0, 3.0])
    G = t.graph
    assert G.edges["x0", "v1"]["kind"] == "dense"
    np.testing.assert_array_equal(G.edges["x0", "v1"]["jacobian"], [[1.0], [3.0]])
    np.testing.assert_array_equal(t.plan().evaluate(G), [[1.0, 2.0, 0.0], [3.0, 0.0, 2.0]])


def test_the_same_operand_twice_sums_the_partials():
    t = jc.trace(lambda x: (x * x, x + x), [1.0, 2.0])
    G = t.graph
    np.testing.assert_array_equal(G.edges["x0", "v1"]["jacobian"], [2.0, 4.0])  # the diagonal
    assert G.edges["x0", "v2"]["kind"] == "diagonal"
    np.testing.assert_array_equal(G.edges["x0", "v2"]["jacobian"], [2.0, 2.0])


def test_numpy_operands_defer_to_var():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    t = jc.trace(lambda x: (np.ones(2) + x, A @ x, x @ A.T, 2.0**x, 3.0 / x, 1.0 - x), [1.0, 2.0])
    assert all(isinstance(t.graph.nodes[y]["value"], np.ndarray) for y in t.outputs)
    np.testing.assert_allclose(t.values[1], A @ [1.0, 2.0])
    J = t.plan().evaluate(t.graph)
    np.testing.assert_allclose(
        J,
        finite_differences(
            lambda x: (np.ones(2) + x, A @ x, x @ A.T, 2.0**x, 3.0 / x, 1.0 - x), [[1.0, 2.0]]
        ),
        atol=1e-6,
    )


@pytest.mark.parametrize("function", [exp, log, sin, cos, tanh, sqrt])
def test_elementwise_functions_match_finite_differences(function):
    def f(x):
        return function(x) * x

    x = [0.5, 1.5, 2.0]
    J = jc.trace(f, x).plan().evaluate(jc.trace(f, x).graph)
    np.testing.assert_allclose(J, finite_differences(f, [x]), atol=1e-6)
    np.testing.assert_allclose(function(np.array(x)), jc.trace(function, x).value)


def test_sum_and_power():
    def f(x, y):
        return ((x**3).sum() + x.sum() ** y) / y

    J = jc.trace(f, [1.0, 2.0], 1.5).plan("exact").evaluate(jc.trace(f, [1.0, 2.0], 1.5).graph)
    np.testing.assert_allclose(J, finite_differences(f, [[1.0, 2.0], 1.5]), atol=1e-5)


OPERATIONS = [
    "add",
    "sub",
    "mul",
    "div",
    "exp",
    "sin",
    "tanh",
    "neg",
    "square",
    "scale",
    "sum",
    "matmul",
]


@st.composite
def programs(draw):
    """A random straight-line program on a pool of scalars and vectors of one length."""
    n = draw(st.integers(min_value=1, max_value=3))
    n_inputs = draw(st.integers(min_value=1, max_value=3))
    inputs = [
        draw(st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n))
        if draw(st.booleans())
        else draw(st.floats(-1.0, 1.0))
        for _ in range(n_inputs)
    ]
    steps = draw(
        st.lists(
            st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 50), st.integers(0, 50)),
            min_size=1,
            max_size=10,
        )
    )
    n_outputs = draw(st.integers(min_value=1, max_value=3))
    return inputs, steps, n_outputs


def run_program(steps, n_outputs):
    matrix = np.array([[0.5, -1.0, 0.25], [1.0, 0.5, -0.75], [0.3, 0.2, 1.0]])

    def f(*xs):
        pool = list(xs)
        for op, i, j in steps:
            x, y = pool[i % len(pool)], pool[j % len(pool)]
            if op == "add":
                z = x + y
            elif op == "sub":
                z = x - y
            elif op == "mul":
                z = x * y
            elif op == "div":
                z = x / (2.0 + tanh(y))
            elif op == "exp":
                z = exp(0.5 * x)
            elif op == "sin":
                z = sin(x)
            elif op == "tanh":
                z = tanh(x)
            elif op == "neg":
                z = -x
            elif op == "square":
                z = x**2
            elif op == "scale":
                z = 3.0 * x
            elif op == "sum":
                z = x.sum()
            else:
                z = matrix[: x.size, : x.size] @ x if x.value.ndim else x * 0.5
            pool.append(z)
        computed = pool[len(xs) :]
        return tuple(computed[-n_outputs:])

    return f


@given(programs())
def test_random_programs_every_method_equals_paths_and_finite_differences(program):
    inputs, steps, n_outputs = program
    f = run_program(steps, n_outputs)
    t = jc.trace(f, *inputs)
    reference = sum_over_paths(t.graph, t.inputs, t.outputs)
    np.testing.assert_allclose(reference, finite_differences(f, inputs), atol=1e-5)
    for method in GRAPH_METHODS:
        J = jc.plan_graph(t.graph, t.inputs, t.outputs, method).evaluate(t.graph)
        np.testing.assert_allclose(J, reference, rtol=1e-9, atol=1e-12)


def test_tracer_misuse_is_a_graph_error():
    tracer, other = Tracer(), Tracer()
    x, y = tracer.input(1.0), other.input(1.0)
    with pytest.raises(jc.GraphError, match="two different tracers"):
        x + y
    with pytest.raises(jc.GraphError, match="of type str"):
        x + "a"
    with pytest.raises(jc.GraphError, match="scalars and 1-D"):
        tracer.input(np.ones((2, 2)))
    with pytest.raises(jc.GraphError, match=r"shapes \(2,\) and \(3,\)"):
        tracer.input([1.0, 2.0]) * tracer.input([1.0, 2.0, 3.0])
    with pytest.raises(jc.GraphError, match="constant matrices"):
        x @ x
    with pytest.raises(jc.GraphError, match="matrix of shape"):
        np.ones((2, 3)) @ tracer.input([1.0, 2.0])
    with pytest.raises(jc.GraphError, match="must return Vars"):
        jc.trace(lambda x: 3.0, 1.0)
    with pytest.raises(jc.GraphError, match="same Var twice"):
        jc.trace(lambda x: (x, x), 1.0)
    with pytest.raises(jc.GraphError, match="at least one entry"):
        tracer.input([])
    with pytest.raises(jc.GraphError, match="a Var of this tracer"):
        tracer.to_graph([y])


def test_outputs_can_be_inputs_and_intermediates():
    t = jc.trace(lambda x: (x, x * 2.0, (x * 2.0) * x), 3.0)
    J = t.plan().evaluate(t.graph)
    np.testing.assert_array_equal(J, [[1.0], [2.0], [12.0]])


@pytest.mark.parametrize("x, y", [(-1 + 1j, 0.5), (1 + 1j, 2.0), (-2.0 + 0j, 1.5), (0.5, -1 + 2j)])
def test_complex_powers_use_the_principal_logarithm(x, y):
    t = jc.trace(lambda a, b: a**b, x, y)
    x, y = complex(x), complex(y)
    expected = [[y * x ** (y - 1), x**y * np.log(x)]]
    for method in GRAPH_METHODS:
        J = jc.plan_graph(t.graph, t.inputs, t.outputs, method).evaluate(t.graph)
        np.testing.assert_allclose(J, expected, rtol=1e-12)


def test_real_powers_of_negative_and_zero_bases():
    t = jc.trace(lambda a: a**2.0, -2.0)  # the exponent is a constant: only d/da is needed
    np.testing.assert_array_equal(t.plan().evaluate(t.graph), [[-4.0]])
    t = jc.trace(lambda a, b: a**b, 0.0, 2.0)  # 0**b = 0 near b = 2
    np.testing.assert_array_equal(t.plan().evaluate(t.graph), [[0.0, 0.0]])
    with pytest.raises(jc.NonFiniteError, match=r"derivative of pow\('x0', 'x1'\) with respect to 'x1'"):
        jc.trace(lambda a, b: a**b, -2.0, 2.0)  # (-2)**b is not real near b = 2


def test_long_vectors_are_traced_in_linear_memory():
    """Elementwise edges hold diagonals: 10**6 entries would be 8 TB as matrices."""
    n = 10**6
    t = jc.trace(lambda x: (jc.tracer.sin(x) * x).sum(), np.linspace(0.0, 1.0, n))
    assert t.graph.edges["x0", "v1"]["jacobian"].shape == (n,)
    x = np.linspace(0.0, 1.0, n)
    for method in ("forward", "reverse", "markowitz"):  # "chain" assembles its layers densely
        J = jc.plan_graph(t.graph, t.inputs, t.outputs, method).evaluate(t.graph)
        np.testing.assert_allclose(J[0], np.cos(x) * x + np.sin(x))
