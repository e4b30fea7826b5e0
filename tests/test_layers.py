"""The numpy layer library, Sequential models and their Jacobians along the optimal plan."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jacchain as jc
from jacchain.errors import LayerError, MethodError, NonFiniteError, ShapeError
from jacchain.layers import (
    Dense,
    Function,
    LayerNorm,
    MatrixFreeOperator,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from jacchain.testing import profile_examples

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def finite_differences(f, x, h=1e-6):
    """Central differences, column by column."""
    return np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)], axis=1)


def sine_layers(rng, n_in, n_out):
    """f(x) = sin(A x) as a Function given by its Jacobian, by JVP and VJP, by one of them."""
    A = rng.standard_normal((n_out, n_in))

    def f(x):
        return np.sin(A @ x)

    def jacobian(x):
        return np.cos(A @ x)[:, None] * A

    def jvp(x, V):
        return np.cos(A @ x)[:, None] * (A @ V)

    def vjp(x, U):
        return A.T @ (np.cos(A @ x)[:, None] * U)

    return [
        Function(f, n_in, n_out, jacobian=jacobian),
        Function(f, n_in, n_out, jvp=jvp, vjp=vjp),
        Function(f, n_in, n_out, jvp=jvp),
        Function(f, n_in, n_out, vjp=vjp, vjp_cost=3 * n_in * n_out),
    ]


def every_layer(rng, n):
    """One layer of every type (the Functions mapping n -> n), for checks layer by layer."""
    return [
        Dense(rng.standard_normal((n, n)), rng.standard_normal(n)),
        Tanh(),
        ReLU(),
        Sigmoid(),
        Softplus(),
        Softmax(),
        LayerNorm(),
        LayerNorm(weight=rng.standard_normal(n), bias=rng.standard_normal(n)),
        *sine_layers(rng, n, n),
    ]


SIZE_PRESERVING = {
    "tanh": Tanh,
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "softplus": Softplus,
    "softmax": Softmax,
}


def random_model(rng):
    """A model holding every layer type once, in random order, with random widths."""
    size = int(rng.integers(1, 7))
    n_in, layers = size, []
    kinds = ["dense", "tanh", "relu", "sigmoid", "softplus", "softmax", "layernorm", "sine"]
    for kind in rng.permutation(kinds):
        if kind in ("dense", "sine"):
            n_out = int(rng.integers(1, 7))
            if kind == "dense":
                layers.append(
                    Dense(rng.standard_normal((n_out, size)), rng.standard_normal(n_out))
                )
            else:
                layers.append(sine_layers(rng, size, n_out)[int(rng.integers(4))])
            size = n_out
        elif kind == "layernorm":
            layers.append(LayerNorm(weight=rng.standard_normal(size)))
        else:
            layers.append(SIZE_PRESERVING[kind]())
    return jc.Sequential(layers), n_in


@pytest.mark.parametrize("index", range(12))
def test_each_layer_jacobian_matches_finite_differences(index):
    rng = np.random.default_rng(index)
    layer = every_layer(rng, 5)[index]
    x = rng.standard_normal(5)
    np.testing.assert_allclose(layer.jacobian(x), finite_differences(layer, x), atol=1e-7)


@pytest.mark.parametrize("index", range(12))
def test_matrix_free_products_match_the_jacobian(index):
    rng = np.random.default_rng(index)
    layer = every_layer(rng, 4)[index]
    x = rng.standard_normal(4)
    op = layer.operator(x, layer(x))
    if not isinstance(op, MatrixFreeOperator):
        return
    J = finite_differences(layer, x)
    V = rng.standard_normal((4, 3))
    np.testing.assert_allclose(op.matmat(V), J @ V, atol=1e-7)
    np.testing.assert_allclose(op.rmatmat(V), J.T @ V, atol=1e-7)


@settings(max_examples=profile_examples(2 / 3))
@given(seeds)
def test_random_models_of_every_layer_type(seed):
    rng = np.random.default_rng(seed)
    model, n_in = random_model(rng)
    x = rng.standard_normal(n_in)
    values = model.forward(x)
    expected = np.eye(n_in)
    for layer, point in zip(model, values, strict=False):
        expected = layer.jacobian(point) @ expected
    for method in ("auto", "forward", "reverse"):
        J, p = jc.jacobian(model, x, method, return_plan=True)
        assert J.shape == (values[-1].size, n_in)
        np.testing.assert_allclose(J, expected, rtol=1e-9, atol=1e-12)
        assert p.method == method
    np.testing.assert_allclose(J, finite_differences(model, x), atol=1e-6)


def hourglass(rng, dims=(12, 2, 12, 2, 12)):
    layers = []
    for n, m in zip(dims[:-1], dims[1:], strict=True):
        layers += [Dense(rng.standard_normal((m, n)) / np.sqrt(n)), Tanh()]
    return jc.Sequential(layers[:-1])


def test_a_model_whose_optimal_plan_is_mixed():
    rng = np.random.default_rng(0)
    model = hourglass(rng)
    x = rng.standard_normal(12)
    J, p = jc.jacobian(model, x, return_plan=True)
    assert p.mode == "mixed" and p.cost < min(p.forward_cost, p.reverse_cost)
    np.testing.assert_allclose(J, jc.jacobian(model, x, "forward"), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J, jc.jacobian(model, x, "reverse"), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J, finite_differences(model, x), atol=1e-7)


def test_structured_layers_are_described_to_the_planner():
    model = jc.Sequential(
        [Dense(np.ones((3, 4))), Tanh(), Softmax(), LayerNorm(), Dense(np.ones((2, 3)))]
    )
    chain = model.chain(4)
    assert [layer.kind for layer in chain.layers] == [
        "dense",
        "diagonal",
        "matrix-free",
        "matrix-free",
        "dense",
    ]
    assert chain.layers[2].jvp_cost == 6 and chain.layers[3].vjp_cost == 12
    assert chain.dims == (4, 3, 3, 3, 3, 2)
    plan = model.plan(4)
    assert plan is model.plan(4)  # remembered


def test_the_forward_pass_runs_once():
    calls = {"f": 0, "vjp": 0}
    A = np.arange(12.0).reshape(3, 4) / 10

    def f(x):
        calls["f"] += 1
        return np.tanh(A @ x)

    def vjp(x, U):
        calls["vjp"] += 1
        return A.T @ ((1 - np.tanh(A @ x) ** 2)[:, None] * U)

    model = jc.Sequential([Tanh(), Function(f, 4, 3, vjp=vjp, jvp_cost=10**6), Tanh()])
    x = np.linspace(-1, 1, 4)
    J = jc.jacobian(model, x, "reverse")
    assert calls == {"f": 1, "vjp": 1}  # one forward pass, one block of adjoint directions
    np.testing.assert_allclose(J, finite_differences(model, x), atol=1e-8)


def test_sequential_basics():
    layers = [Dense(np.eye(3)), Tanh()]
    model = jc.Sequential(layers)
    assert len(model) == 2 and list(model) == layers and model[1] is layers[1]
    assert jc.Sequential(model).layers == model.layers
    assert repr(model) == "Sequential([Dense(3 -> 3), Tanh()])"
    np.testing.assert_allclose(model([0.0, 1.0, 2.0]), np.tanh([0.0, 1.0, 2.0]))
    assert jc.Sequential([Tanh(), Softmax()]).sizes(None) == [None, None, None]
    J = jc.jacobian([Tanh()], np.zeros(2))  # a plain list works too
    np.testing.assert_array_equal(J, np.eye(2))


def test_integer_input_and_single_layers():
    np.testing.assert_array_equal(
        jc.jacobian([Dense(np.ones((2, 3)))], [1, 2, 3]), np.ones((2, 3))
    )
    np.testing.assert_allclose(
        jc.jacobian([Softmax()], np.zeros(2)), [[0.25, -0.25], [-0.25, 0.25]]
    )


# --- bad input -----------------------------------------------------------------------------


def test_wrong_x_shape():
    model = jc.Sequential([Dense(np.ones((2, 3))), Tanh()])
    with pytest.raises(ShapeError, match=r"x must be a 1-D vector, got shape \(3, 1\)"):
        jc.jacobian(model, np.ones((3, 1)))
    with pytest.raises(ShapeError, match="takes inputs of size 3, but x has size 4"):
        jc.jacobian(model, np.ones(4))
    with pytest.raises(ShapeError, match="real numbers"):
        jc.jacobian(model, ["a", "b", "c"])


def test_mismatched_layers():
    with pytest.raises(
        ShapeError, match=r"layer 3 \(Dense\(5 -> 2\)\) takes inputs of size 5, but layer 2"
    ):
        jc.Sequential([Dense(np.ones((4, 3))), Tanh(), Dense(np.ones((2, 5)))])
    model = jc.Sequential([Tanh(), Dense(np.ones((2, 5)))])  # known only at the call
    with pytest.raises(ShapeError, match="layer 2 .* takes inputs of size 5, but layer 1"):
        jc.jacobian(model, np.ones(4))
    with pytest.raises(ShapeError, match="LayerNorm's weight and bias differ"):
        LayerNorm(weight=np.ones(3), bias=np.ones(4))


def test_non_callables_and_plain_functions():
    with pytest.raises(LayerError, match=r"layer 2 is an int \(3\), not a callable"):
        jc.Sequential([Tanh(), 3])
    with pytest.raises(LayerError, match="layer 1 .*tanh.* is not a jacchain.layers module"):
        jc.Sequential([np.tanh])
    with pytest.raises(LayerError, match="at least one layer"):
        jc.Sequential([])
    with pytest.raises(LayerError, match="sequence of layers"):
        jc.jacobian(3, np.ones(2))


def test_bad_function_layers():
    with pytest.raises(LayerError, match="needs its derivative"):
        Function(np.sin, 2, 2)
    with pytest.raises(LayerError, match="jvp must be callable"):
        Function(np.sin, 2, 2, jvp=3)
    wrong_size = jc.Sequential([Function(lambda x: x[:1], 2, 2, jacobian=lambda x: np.eye(2))])
    with pytest.raises(ShapeError, match=r"layer 1's output must have size 2, got shape \(1,\)"):
        jc.jacobian(wrong_size, np.ones(2))
    wrong_jacobian = jc.Sequential([Function(np.sin, 2, 2, jacobian=lambda x: np.eye(3))])
    with pytest.raises(ShapeError, match="jacobian returned shape"):
        jc.jacobian(wrong_jacobian, np.ones(2))


def test_bad_dense_and_method():
    with pytest.raises(ShapeError, match="2-D real matrix"):
        Dense(np.ones(3))
    with pytest.raises(ShapeError, match=r"b must have shape \(2,\)"):
        Dense(np.ones((2, 3)), b=np.ones(3))
    with pytest.raises(MethodError):
        jc.jacobian([Tanh()], np.ones(2), method="sideways")


class NoOperator(jc.layers.Module):
    def __call__(self, x):
        return x

    def chain_layer(self, n_in):
        return jc.Layer(n_in, n_in, "diagonal")


class Half(jc.layers.Elementwise):
    def function(self, x):
        return x / 2


def test_modules_that_do_not_implement_their_methods():
    with pytest.raises(LayerError, match=r"layer 1 \(Module\) does not implement __call__, chain_layer, operator"):
        jc.jacobian(jc.Sequential([jc.layers.Module()]), np.ones(2))
    with pytest.raises(LayerError, match=r"layer 2 \(NoOperator\) does not implement operator"):
        jc.Sequential([Tanh(), NoOperator()])
    with pytest.raises(LayerError, match=r"layer 1 \(Half\) does not implement derivative"):
        jc.Sequential([Half()])
    with pytest.raises(LayerError, match=r"\(NoOperator\) does not implement operator"):
        NoOperator().jacobian(np.ones(2))  # called directly: the same error


def test_non_finite_values_are_refused():
    model = jc.Sequential([Dense(np.ones((2, 3)))])  # its Jacobian does not depend on x
    with pytest.raises(NonFiniteError, match="x has NaN or infinite entries"):
        jc.jacobian(model, [1.0, np.inf, 0.0])
    sqrt = Function(np.sqrt, 2, 2, jacobian=lambda x: np.diag(0.5 / np.sqrt(x)))
    with np.errstate(divide="ignore"), pytest.raises(NonFiniteError, match=r"layer 2 \(Function\(sqrt, 2 -> 2\)\)'s Jacobian"):
        jc.jacobian([Tanh(), sqrt], np.zeros(2))
    log = Function(np.log, 2, 2, jvp=lambda x, V: V / x[:, None])
    with np.errstate(invalid="ignore"), pytest.raises(NonFiniteError, match=r"layer 1 \(Function\(log, 2 -> 2\)\) returned NaN"):
        jc.jacobian([log], -np.ones(2))
    huge = Dense(np.full((2, 2), 1e200))
    with np.errstate(over="ignore"), pytest.raises(NonFiniteError, match="a product along the plan overflowed"):
        jc.jacobian([huge, Dense(np.full((2, 2), 1e200)), Tanh(), Dense(np.ones((1, 2)))], np.zeros(2), "forward")


def test_integer_inputs_and_weights_are_promoted_to_float64():
    J = jc.jacobian([Dense(np.ones((2, 3), dtype=int))], np.array([1, 2, 3]))
    assert J.dtype == np.float64
    assert Dense([[True, False]]).W.dtype == np.float64
    J32 = jc.jacobian([Dense(np.ones((2, 2), np.float32)), Tanh()], np.ones(2, np.float32))
    assert J32.dtype == np.float32  # floating dtypes are kept


def test_misbehaving_layers_raise_errors_naming_them():
    crash = Function(lambda x: np.ones((4, 4)) @ x, 3, 4, jacobian=lambda x: np.ones((4, 3)))
    with pytest.raises(LayerError, match=r"layer 1 \(Function\(<lambda>, 3 -> 4\)\) failed in its forward pass: ValueError"):
        jc.jacobian([crash], np.ones(3))
    strings = Function(np.sin, 2, 2, jvp=lambda x, V: np.full(V.shape, "a"), vjp=lambda x, U: U)
    with pytest.raises(ShapeError, match="jvp must hold real numbers"):
        jc.jacobian([strings], np.ones(2), "forward")
    wrong = Function(np.sin, 2, 2, jvp=lambda x, V: V, vjp=lambda x, U: U[:1])
    with pytest.raises(ShapeError, match=r"vjp returned shape \(1, 2\), expected \(2, 2\)"):
        jc.jacobian([wrong], np.ones(2), "reverse")
    complex_out = Function(lambda x: x * 1j, 2, 2, jacobian=lambda x: np.eye(2))
    with pytest.raises(ShapeError, match="layer 1's output must hold real numbers, got dtype complex128"):
        jc.jacobian([complex_out], np.ones(2))
    with pytest.raises(ShapeError, match="x must hold real numbers"):
        jc.jacobian([Tanh()], np.ones(2, complex))
