"""Fuzz tests of the numpy, JAX and PyTorch front ends (issue 9).

Random small models built from each front end's supported layer types (sizes 1..6, random
composition, size-1 vectors included) are differentiated with random planning methods
and compared with an independent reference: finite differences (numpy),
``jax.jacrev`` and ``torch.func.jacrev``. Random corruptions of a valid call (a bad x,
a non-callable layer, layers whose sizes do not chain, a layer returning something other
than a vector, a layer that raises, a bad method or memory_limit, ...) must raise a
:class:`jacchain.JacChainError`, never anything else.

Each test runs a fixed share of the hypothesis profile's examples on small shapes.
"""

import functools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import jacchain as jc
from jacchain.errors import JacChainError, MethodError
from jacchain.layers import (
    Dense,
    Function,
    LayerNorm,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)

# Shares of the profile's examples (the counts are those of the "ci" profile's 60), sized
# by the cost of one example: about 5 ms in numpy, 20 ms in PyTorch, 50 ms to trace JAX
# layers and 0.5 s to compile a JAX model.
NUMPY_EXAMPLES = max(5, settings.default.max_examples // 2)  # 30
TORCH_EXAMPLES = max(5, settings.default.max_examples // 3)  # 20
JAX_EXAMPLES = max(3, settings.default.max_examples // 6)  # 10
JIT_EXAMPLES = max(3, settings.default.max_examples // 12)  # 5
SIZES = st.integers(min_value=1, max_value=6)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
METHODS = st.sampled_from(jc.method_names())


def specs(kinds):
    """Model structures: 1 to 4 layers, each a kind and the output size it would pick."""
    return st.lists(st.tuples(st.sampled_from(kinds), SIZES), min_size=1, max_size=4)


def jacobian_along(compute, method, dense):
    """``compute(method)``; where the method plans dense chains only, ``compute("auto")``."""
    try:
        return compute(method)
    except MethodError:
        assert not dense, f"method {method!r} refused a dense chain"
        return compute("auto")


def raising(error):
    def layer(x):
        raise error("a layer that fails")

    return layer


ERRORS = st.sampled_from(
    [RuntimeError, TypeError, ValueError, IndexError, KeyError, ZeroDivisionError,
     NotImplementedError, AttributeError]
)
BAD_METHODS = st.one_of(
    st.text(max_size=6).filter(lambda s: s not in jc.method_names()),
    st.integers(),
    st.none(),
    st.just(["auto"]),
)
BAD_LIMITS = st.one_of(
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.booleans(),
    st.integers(max_value=-1),
    st.just([1]),
)


def bad_points(n, library_array):
    """Values that are not a 1-D vector of finite real numbers, in many shapes and types.

    (A vector of another size than n is a valid input to models whose first layer takes
    any size: the corruptions below prepend a layer of size n to test it.)
    """
    return st.one_of(
        st.sampled_from(
            [
                None,
                "abc",
                b"xyz",
                {"x": 1.0},
                object(),
                3,
                2.5,
                [[1.0], [1.0, 2.0]],  # ragged
                np.float64(1.0),
                np.ones(0),
                np.ones((n, 1)),
                np.ones((1, n)),
                np.ones(n) * 1j,
                np.full(n, np.nan),
                np.array(["a"] * n),
            ]
        ).map(library_array),
        st.integers(min_value=0, max_value=n - 1).map(
            lambda i: library_array(np.where(np.arange(n) == i, np.inf, 1.0))
        ),
    )


NOT_ARRAYS = [
    lambda x: None,
    lambda x: "abc",
    lambda x: {"y": x},
    lambda x: (x, x),
    lambda x: x.sum(),
    lambda x: x * 1j,
]
"""Bodies returning no array of real numbers of the input's dimension."""


NOT_MODELS = st.sampled_from([None, "abc", 3, {}, [], np.ones(3), {"layer": 1.0}])
"""What is passed as a model but is not a sequence of layers (or has none)."""


def bad_outputs(np_like):
    """Layer bodies returning anything but a 1-D vector of real numbers."""
    return st.sampled_from([*NOT_ARRAYS, lambda x: np_like.outer(x, x)])


# --- numpy ----------------------------------------------------------------------------------

NUMPY_KINDS = ["dense", "tanh", "relu", "sigmoid", "softplus", "softmax", "layernorm",
               "jacobian", "jvp+vjp", "jvp", "vjp"]


def sine(rng, n_in, n_out, given):
    """f(x) = sin(A x), a Function given by its Jacobian, its JVP and/or its VJP."""
    A = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    products = {
        "jacobian": lambda x: np.cos(A @ x)[:, None] * A,
        "jvp": lambda x, V: np.cos(A @ x)[:, None] * (A @ V),
        "vjp": lambda x, U: A.T @ (np.cos(A @ x)[:, None] * U),
    }
    return Function(lambda x: np.sin(A @ x), n_in, n_out,
                    **{name: products[name] for name in given.split("+")})


def numpy_model(spec, n_in, rng):
    layers, size = [], n_in
    for kind, n_out in spec:
        if kind == "dense":
            layers.append(Dense(rng.standard_normal((n_out, size)) / np.sqrt(size),
                                rng.standard_normal(n_out)))
        elif kind in ("jacobian", "jvp+vjp", "jvp", "vjp"):
            layers.append(sine(rng, size, n_out, kind))
        elif kind == "layernorm":
            n_out = size
            layers.append(LayerNorm(weight=rng.standard_normal(size)))
        else:
            n_out = size
            layers.append({"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid,
                           "softplus": Softplus, "softmax": Softmax}[kind]())
        size = n_out
    return layers


def finite_differences(f, x, h=1e-6):
    return np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)], axis=1)


@settings(max_examples=NUMPY_EXAMPLES)
@given(specs(NUMPY_KINDS), SIZES, SEEDS, METHODS)
def test_numpy_models_match_finite_differences(spec, n_in, seed, method):
    rng = np.random.default_rng(seed)
    model = jc.Sequential(numpy_model(spec, n_in, rng))
    x = rng.standard_normal(n_in)
    dense = model.chain(n_in).is_dense
    J = jacobian_along(lambda m: jc.jacobian(model, x, m), method, dense)
    assert J.shape == (model(x).size, n_in) and J.dtype == np.float64
    np.testing.assert_allclose(J, finite_differences(model, x), rtol=1e-5, atol=1e-6)


def numpy_corruptions(layers, n_in, x):
    """Calls of ``jc.jacobian(layers, x)``, each corrupted one way."""
    n_out = jc.Sequential(layers).sizes(n_in)[-1]
    return st.one_of(
        bad_points(n_in, lambda v: v).map(lambda bad: lambda: jc.jacobian(layers, bad)),
        NOT_MODELS.map(lambda junk: lambda: jc.jacobian(junk, x)),
        st.just(lambda: jc.jacobian([Dense(np.ones((n_in, n_in))), *layers], np.ones(n_in + 1))),
        st.sampled_from([3, "tanh", None, np.ones(2)]).map(
            lambda thing: lambda: jc.jacobian([*layers, thing], x)),
        st.just(lambda: jc.jacobian([*layers, np.tanh], x)),  # a plain function
        st.just(lambda: jc.jacobian([*layers, Dense(np.ones((2, n_out + 1)))], x)),
        st.one_of(bad_outputs(np), st.just(lambda v: np.concatenate([v, v]))).map(
            lambda body: lambda: jc.jacobian(  # a vector, but not of the declared size
                [*layers, Function(body, n_out, n_out, jacobian=lambda v: np.eye(n_out))], x)),
        ERRORS.map(lambda error: lambda: jc.jacobian(
            [*layers, Function(raising(error), n_out, n_out, jvp=lambda v, V: V)], x)),
        ERRORS.map(lambda error: lambda: jc.jacobian(
            [*layers, Function(np.sin, n_out, n_out, jacobian=raising(error))], x)),
        st.sampled_from(NOT_ARRAYS).map(lambda body: lambda: jc.jacobian(
            [*layers, Function(np.sin, n_out, n_out, jvp=lambda v, V: body(V))], x,
            "forward")),
        st.just(lambda: jc.jacobian([*layers, jc.layers.Module()], x)),
        BAD_METHODS.map(lambda m: lambda: jc.jacobian(layers, x, m)),
        BAD_LIMITS.map(lambda limit: lambda: jc.jacobian(layers, x, memory_limit=limit)),
    )


@settings(max_examples=NUMPY_EXAMPLES)
@given(specs(NUMPY_KINDS), SIZES, SEEDS, st.data())
def test_numpy_bad_input_raises_jacchain_errors_only(spec, n_in, seed, data):
    rng = np.random.default_rng(seed)
    layers = numpy_model(spec, n_in, rng)
    call = data.draw(numpy_corruptions(layers, n_in, rng.standard_normal(n_in)))
    with np.errstate(all="ignore"), pytest.raises(JacChainError):
        call()


# --- JAX ------------------------------------------------------------------------------------

JAX_KINDS = ["dense", "generic", "tanh", "relu", "sigmoid", "softplus", "softmax",
             "layernorm", "identity", "elementwise", "reversal"]


def jax_model(spec, n_in, rng):
    import jax
    import jax.numpy as jnp

    def layer_norm(x):
        centred = x - x.mean()
        return centred / jnp.sqrt(jnp.mean(centred**2) + 1e-5)

    size_preserving = {
        "tanh": jnp.tanh,
        "relu": jax.nn.relu,
        "sigmoid": jax.nn.sigmoid,
        "softplus": jax.nn.softplus,
        "softmax": jax.nn.softmax,
        "layernorm": layer_norm,
        "identity": lambda x: x,
        "elementwise": lambda x: 2 * x + jnp.exp(-(x**2)),
        "reversal": lambda x: jnp.sin(x[::-1]),
    }
    layers, size = [], n_in
    for kind, n_out in spec:
        if kind in size_preserving:
            layers.append(size_preserving[kind])
            continue
        W = jnp.asarray(rng.standard_normal((n_out, size)) / np.sqrt(size))
        b = jnp.asarray(rng.standard_normal(n_out))
        layers.append((lambda x, W=W, b=b: W @ x + b) if kind == "dense" else
                      (lambda x, W=W, b=b: jnp.cos(W @ x + b)))
        size = n_out
    return layers


def compose(layers):
    def f(x):
        for layer in layers:
            x = layer(x)
        return x

    return f


@settings(max_examples=JIT_EXAMPLES)
@given(specs(JAX_KINDS), SIZES, SEEDS, METHODS)
def test_jax_models_match_jacrev(spec, n_in, seed, method):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    import jacchain.jax as jcj

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(seed)
    layers = jax_model(spec, n_in, rng)
    x = jnp.asarray(rng.standard_normal(n_in))

    dense = jcj.jacobian(layers).chain(x).is_dense
    # Jitted: one compilation per model is far cheaper than eager JAX at new shapes.
    J = jacobian_along(lambda m: jax.jit(jcj.jacobian(layers, m))(x), method, dense)
    expected = jax.jit(jax.jacrev(compose(layers)))(x)
    assert J.shape == expected.shape and J.dtype == jnp.float64
    # atol: a width-1 LayerNorm's Jacobian is 0 up to roundoff times 1/sqrt(eps) ~ 300
    np.testing.assert_allclose(J, expected, rtol=1e-10, atol=1e-10)


def jax_corruptions(layers, n_in, x):
    """Calls of ``jacchain.jax.jacobian(layers)(x)``, each corrupted one way."""
    import jax.numpy as jnp

    import jacchain.jax as jcj

    n_out = jcj.jacobian(layers).chain(x).dims[-1]
    return st.one_of(
        bad_points(n_in, lambda v: v).map(lambda bad: lambda: jcj.jacobian(layers)(bad)),
        NOT_MODELS.map(lambda junk: lambda: jcj.jacobian(junk)(x)),
        st.just(lambda: jcj.jacobian([lambda v: jnp.ones((n_in, n_in)) @ v, *layers])(
            jnp.ones(n_in + 1))),
        st.sampled_from([3, "tanh", None, np.ones(2)]).map(
            lambda thing: lambda: jcj.jacobian([*layers, thing])(x)),
        st.just(lambda: jcj.jacobian([*layers, lambda v: jnp.ones((2, n_out + 1)) @ v])(x)),
        bad_outputs(jnp).map(lambda body: lambda: jcj.jacobian([*layers, body])(x)),
        st.just(lambda: jcj.jacobian([*layers, lambda v: jnp.round(v).astype(int)])(x)),
        ERRORS.map(lambda error: lambda: jcj.jacobian([*layers, raising(error)])(x)),
        BAD_METHODS.map(lambda m: lambda: jcj.jacobian(layers, m)(x)),
        BAD_LIMITS.map(lambda limit: lambda: jcj.jacobian(layers, memory_limit=limit)(x)),
    )


@settings(max_examples=JAX_EXAMPLES)
@given(specs(JAX_KINDS), SIZES, SEEDS, st.data())
def test_jax_bad_input_raises_jacchain_errors_only(spec, n_in, seed, data):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(seed)
    layers = jax_model(spec, n_in, rng)
    call = data.draw(jax_corruptions(layers, n_in, jax.numpy.asarray(rng.standard_normal(n_in))))
    with pytest.raises(JacChainError):
        call()


# --- PyTorch --------------------------------------------------------------------------------

TORCH_KINDS = ["linear", "elementwise", "identity", "dropout", "layernorm", "softmax",
               "logsoftmax", "custom", "function"]


def torch_model(spec, n_in, rng):
    """Layers (modules and functions) in float64; "elementwise" picks one of every kind."""
    import torch

    import jacchain.torch as jct

    nn = torch.nn
    torch.manual_seed(int(rng.integers(2**31)))
    layers, size = [], n_in
    for kind, n_out in spec:
        if kind == "linear":
            layers.append(nn.Linear(size, n_out).double())
            size = n_out
        elif kind == "elementwise":
            name = jct.ELEMENTWISE_MODULES[int(rng.integers(len(jct.ELEMENTWISE_MODULES)))]
            layers.append(nn.Threshold(0.1, 2.0) if name == "Threshold" else getattr(nn, name)())
        elif kind == "custom":
            layers.append(Scaled(size))
        elif kind == "function":
            w = torch.tensor(rng.standard_normal(size), requires_grad=True)
            layers.append(lambda v, w=w: torch.cos(v) * (w @ v))
        else:
            layers.append({"identity": nn.Identity, "dropout": lambda: nn.Dropout(0.3).eval(),
                           "layernorm": lambda size=size: nn.LayerNorm(size).double(),
                           "softmax": lambda: nn.Softmax(dim=0),
                           "logsoftmax": lambda: nn.LogSoftmax(dim=0)}[kind]())
    return layers


@functools.cache
def _scaled_class():
    import torch

    class Scaled(torch.nn.Module):
        """A custom module with a parameter: matrix-free."""

        def __init__(self, size):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.linspace(0.5, 1.5, size, dtype=torch.float64))

        def forward(self, x):
            return torch.sin(self.scale * x.flip(0)) * x.sum()

    return Scaled


def Scaled(size):  # noqa: N802 - built lazily so that the module imports without torch
    return _scaled_class()(size)


def parameters(layers):
    """The modules' parameters and the tensors the "function" layers capture as defaults."""
    torch = pytest.importorskip("torch")
    leaves = []
    for layer in layers:
        if isinstance(layer, torch.nn.Module):
            leaves += list(layer.parameters())
        elif hasattr(layer, "__defaults__") and layer.__defaults__:
            leaves += [t for t in layer.__defaults__ if isinstance(t, torch.Tensor)]
    return leaves


@settings(max_examples=TORCH_EXAMPLES)
@given(specs(TORCH_KINDS), SIZES, SEEDS, METHODS, st.booleans())
@example([("layernorm", 1), ("custom", 1), ("layernorm", 1)], 2, 2, "approx", False)
def test_torch_models_and_their_gradients_match_jacrev(spec, n_in, seed, method, grad):
    torch = pytest.importorskip("torch")
    import jacchain.torch as jct

    rng = np.random.default_rng(seed)
    layers = torch_model(spec, n_in, rng)
    x = torch.tensor(rng.standard_normal(n_in), requires_grad=grad)

    def model(v):
        for layer in layers:
            v = layer(v)
        return v

    with torch.set_grad_enabled(grad):
        dense = jct.plan(layers, x).chain.is_dense
        J = jacobian_along(lambda m: jct.jacobian(layers, x, m), method, dense)
        expected = torch.func.jacrev(model)(x)
    assert J.shape == expected.shape and J.dtype == torch.float64
    # atol: a width-1 LayerNorm's Jacobian is 0 up to roundoff times 1/sqrt(eps) ~ 300
    # (found: [layernorm, custom, layernorm] of width 1 gave 1.8e-12 against 0)
    torch.testing.assert_close(J, expected, rtol=1e-10, atol=1e-10)
    if not grad or any(isinstance(layer, torch.nn.Hardsigmoid) for layer in layers):
        return  # PyTorch cannot differentiate hardsigmoid's derivative (nor can jacrev)
    leaves = [x, *parameters(layers)]
    R = torch.tensor(rng.standard_normal(tuple(J.shape)))

    def gradients(jacobian):  # zeros where the Jacobian does not depend on a leaf
        loss = (jacobian * R).sum()
        found = [None] * len(leaves)
        if loss.requires_grad:
            found = torch.autograd.grad(loss, leaves, allow_unused=True)
        return [torch.zeros_like(t) if g is None else g for g, t in zip(found, leaves, strict=True)]

    for ours, theirs in zip(gradients(J), gradients(expected), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-11)


def torch_corruptions(layers, n_in, x):
    """Calls of ``jacchain.torch.jacobian(layers, x)``, each corrupted one way."""
    import torch

    import jacchain.torch as jct

    nn = torch.nn
    n_out = jct.plan(layers, x).chain.dims[-1]

    def as_tensor(value):  # numeric arrays and scalars become tensors of their shape
        numeric = isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "fc"
        return torch.tensor(value) if numeric else value

    return st.one_of(
        bad_points(n_in, as_tensor).map(lambda bad: lambda: jct.jacobian(layers, bad)),
        NOT_MODELS.map(lambda junk: lambda: jct.jacobian(junk, x)),
        st.just(lambda: jct.jacobian([nn.Linear(n_in, n_in).double(), *layers],
                                     torch.ones(n_in + 1, dtype=torch.float64))),
        st.just(lambda: jct.jacobian(layers, x.detach().numpy())),  # not a tensor
        st.just(lambda: jct.jacobian(layers, x.tolist())),
        st.sampled_from([3, "tanh", None, np.ones(2)]).map(
            lambda thing: lambda: jct.jacobian([*layers, thing], x)),
        st.just(lambda: jct.jacobian([*layers, nn.Linear(n_out + 1, 2).double()], x)),
        bad_outputs(torch).map(lambda body: lambda: jct.jacobian([*layers, body], x)),
        st.just(lambda: jct.jacobian([*layers, lambda v: v.long()], x)),
        st.just(lambda: jct.jacobian([*layers, lambda v: v.detach().numpy()], x)),
        ERRORS.map(lambda error: lambda: jct.jacobian([*layers, raising(error)], x)),
        st.just(lambda: jct.jacobian([*layers, nn.Dropout(0.5)], x)),  # training mode
        BAD_METHODS.map(lambda m: lambda: jct.jacobian(layers, x, m)),
        BAD_LIMITS.map(lambda limit: lambda: jct.jacobian(layers, x, memory_limit=limit)),
    )


@settings(max_examples=TORCH_EXAMPLES)
@given(specs(TORCH_KINDS), SIZES, SEEDS, st.data())
def test_torch_bad_input_raises_jacchain_errors_only(spec, n_in, seed, data):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    layers = torch_model(spec, n_in, rng)
    call = data.draw(torch_corruptions(layers, n_in, torch.tensor(rng.standard_normal(n_in))))
    with pytest.raises(JacChainError):
        call()
