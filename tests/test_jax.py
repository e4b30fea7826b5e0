"""The JAX front end against jax.jacfwd and jax.jacrev, in float64."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

from test_frontend_fuzz import JAX_KINDS, compose, jax_model  # noqa: E402  (tests/ is on the path)

import jacchain.jax as jcj  # noqa: E402
from jacchain.errors import LayerError, MethodError, NonFiniteError, ShapeError  # noqa: E402


def affine(rng, n_in, n_out):
    W, b = jnp.asarray(rng.standard_normal((n_out, n_in))), jnp.asarray(rng.standard_normal(n_out))
    return lambda x: W @ x + b


def random_layers(rng):
    """Every layer type once, in random order: (layers, input size)."""
    size = int(rng.integers(2, 6))
    spec = [(str(kind), int(rng.integers(1, 6))) for kind in rng.permutation(JAX_KINDS)]
    return jax_model(spec, size, rng), size


@pytest.mark.parametrize("seed", range(2))
def test_random_models_of_every_layer_type(seed):
    rng = np.random.default_rng(seed)
    layers, n_in = random_layers(rng)
    x = jnp.asarray(rng.standard_normal(n_in))
    reverse = jax.jit(jax.jacrev(compose(layers)))(x)
    for method in ("auto", "forward", "reverse"):
        J = jax.jit(jcj.jacobian(layers, method))(x)
        assert J.shape == reverse.shape and J.dtype == jnp.float64
        np.testing.assert_allclose(J, reverse, rtol=1e-10, atol=1e-12)


def test_under_jit_and_a_mixed_plan():
    rng = np.random.default_rng(0)
    dims = [12, 2, 12, 2, 12]
    layers = []
    for n, m in zip(dims[:-1], dims[1:], strict=True):
        layers += [affine(rng, n, m), jnp.tanh]
    layers = layers[:-1]
    jac = jcj.jacobian(layers)
    x = jnp.asarray(rng.standard_normal(12))
    p = jac.plan(x)
    assert p.mode == "mixed" and p.cost < min(p.forward_cost, p.reverse_cost)
    assert p is jac.plan(jax.ShapeDtypeStruct((12,), jnp.float64))
    expected = jax.jacrev(compose(layers))(x)
    np.testing.assert_allclose(jax.jit(jac)(x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jac(x), expected, rtol=1e-10, atol=1e-12)
    batched = jax.vmap(jac)(jnp.stack([x, 2 * x]))  # composes with other transformations
    np.testing.assert_allclose(batched[0], expected, rtol=1e-10, atol=1e-12)


def test_calibrated_costs(monkeypatch):
    monkeypatch.setattr(jcj.sequence, "_REPEATS", 2)  # the timings are not checked, only their use
    rng = np.random.default_rng(1)
    layers = [affine(rng, 3, 4), jax.nn.softmax, jnp.tanh]
    jac = jcj.jacobian(layers, calibrate=True)
    x = jnp.asarray(rng.standard_normal(3))
    chain = jac.chain(x)
    assert [layer.kind for layer in chain.layers] == [
        "matrix-free",
        "matrix-free",
        "diagonal",
    ]
    assert all(layer.jvp_cost >= 1 and layer.vjp_cost >= 1 for layer in chain.layers[:2])
    expected = jax.jacfwd(compose(layers))(x)
    np.testing.assert_allclose(jax.jit(jac)(x), expected, rtol=1e-10, atol=1e-12)


def test_calibrating_a_layer_that_casts(monkeypatch):
    # the adjoint's directions take the layer's output dtype, not its input's
    monkeypatch.setattr(jcj.sequence, "_REPEATS", 2)
    W = jnp.asarray(np.random.default_rng(2).standard_normal((3, 4)))
    layers = [lambda x: jnp.sin(W @ x).astype(jnp.float32), jnp.cos]
    x = jnp.ones(4, dtype=jnp.float64)  # x64 is on in this module
    J = jcj.jacobian(layers, calibrate=True)(x)
    np.testing.assert_allclose(J, jax.jacrev(compose(layers))(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("function", "kind"),
    [
        (lambda x: x, "identity"),
        (jnp.tanh, "diagonal"),
        (jax.nn.relu, "diagonal"),
        (jax.nn.gelu, "diagonal"),
        (jax.nn.silu, "diagonal"),
        (lambda x: jnp.where(x > 0, x, 0.1 * x), "diagonal"),
        (lambda x: x * jnp.arange(4.0) + 1, "diagonal"),
        (jax.nn.softmax, "matrix-free"),
        (lambda x: x[::-1], "matrix-free"),
        (jnp.cumsum, "matrix-free"),
        (lambda x: x * x.sum(), "matrix-free"),
        (lambda x: jnp.ones((4, 4)) @ x, "matrix-free"),
    ],
)
def test_layer_kinds_from_jaxprs(function, kind):
    spec = jax.ShapeDtypeStruct((4,), jnp.float64)
    assert jcj.layer_kind(jax.make_jaxpr(function)(spec)) == kind


def test_bad_input():
    rng = np.random.default_rng(2)
    layers = [affine(rng, 3, 4), jnp.tanh, affine(rng, 5, 2)]
    with pytest.raises(ShapeError, match=r"layer 3 .* cannot take the output of layer 2"):
        jcj.jacobian(layers)(jnp.ones(3))
    good = jcj.jacobian(layers[:2])
    with pytest.raises(ShapeError, match=r"x must be a 1-D vector, got shape \(3, 1\)"):
        good(jnp.ones((3, 1)))
    with pytest.raises(ShapeError, match="layer 1 .* cannot take x"):
        good(jnp.ones(5))
    with pytest.raises(LayerError, match=r"layer 2 is a str \('tanh'\), not a JAX-callable"):
        jcj.jacobian([jnp.tanh, "tanh"])
    with pytest.raises(ShapeError, match="layer 1's output must be a 1-D vector"):
        jcj.jacobian([jnp.sum])(jnp.ones(3))
    with pytest.raises(ShapeError, match="must return one 1-D array, got 2 outputs"):
        jcj.jacobian([lambda x: (x, x)])(jnp.ones(3))


@jax.custom_vjp
def sine(x):
    return jnp.sin(x)


sine.defvjp(lambda x: (jnp.sin(x), x), lambda x, ct: (jnp.cos(x) * ct,))


def test_a_failing_sweep_names_the_layer():
    x = jnp.linspace(0.0, 1.0, 3)
    with pytest.raises(LayerError, match=r"layer 2 \(sine\) failed in its tangent sweep: TypeError: can't apply forward-mode"):
        jcj.jacobian([lambda v: 2 * v, sine], "forward")(x)
    with pytest.raises(LayerError, match=r"layer 1 \(sine\) failed in its calibration"):
        jcj.jacobian([sine], calibrate=True)(x)  # fails before any timing
    np.testing.assert_allclose(jcj.jacobian([sine], "reverse")(x), jnp.diag(jnp.cos(x)))


def test_non_finite_values_are_refused_when_concrete():
    layers = [jnp.tanh, lambda v: jnp.ones((2, 3)) @ v]
    jac = jcj.jacobian(layers)
    bad = jnp.array([1.0, jnp.nan, 0.0])
    with pytest.raises(NonFiniteError, match="x has NaN or infinite entries"):
        jac(bad)
    with pytest.raises(NonFiniteError, match=r"layer 1 \(sqrt\)'s Jacobian at its input"):
        jcj.jacobian([jnp.sqrt])(jnp.zeros(3))
    with pytest.raises(NonFiniteError, match=r"layer 1 \(log\) returned NaN or infinite"):
        jcj.jacobian([jnp.log])(-jnp.ones(3))  # its derivative 1/x is finite: still refused
    # Under jit and vmap the values are tracers: nothing is checked, NaN propagates.
    J = jax.jit(jac)(bad)
    assert J.shape == (2, 3) and bool(jnp.isnan(J).any())
    np.testing.assert_array_equal(jnp.isnan(J), jnp.isnan(jax.jacrev(compose(layers))(bad)))
    batched = jax.vmap(jac)(jnp.stack([bad, jnp.ones(3)]))
    assert bool(jnp.isnan(batched[0]).any()) and bool(jnp.isfinite(batched[1]).all())


def test_bad_x_and_outputs_and_options():
    jac = jcj.jacobian([jnp.tanh])
    for x, message in (
        ("abc", "x must be a 1-D array of real numbers"),
        (None, "x must be a 1-D array of real numbers"),
        (jnp.ones(3, dtype=jnp.complex64), "x must hold real numbers, got dtype complex64"),
        (3.0, r"x must be a 1-D vector, got shape \(\)"),
        (jnp.ones(0), r"x must be a 1-D vector, got shape \(0,\)"),
    ):
        with pytest.raises(ShapeError, match=message):
            jac(x)
    np.testing.assert_allclose(jac([0, 1]), jnp.diag(1 - jnp.tanh(jnp.array([0.0, 1.0])) ** 2))
    with pytest.raises(ShapeError, match=r"layer 1 \(<lambda>\) must return one 1-D array, got a dict"):
        jcj.jacobian([lambda v: {"y": v}])(jnp.ones(3))
    with pytest.raises(ShapeError, match="layer 1's output must hold floating-point numbers"):
        jcj.jacobian([lambda v: jnp.round(v).astype(jnp.int32)])(jnp.ones(3))
    with pytest.raises(MethodError, match="unknown method 'sideways'"):
        jcj.jacobian([jnp.tanh], "sideways")  # refused when made, not at the first call
    with pytest.raises(MethodError, match="memory_limit"):
        jcj.jacobian([jnp.tanh], memory_limit=1.5)


def test_a_folded_constant_output_has_a_zero_jacobian_and_no_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        J = jcj.jacobian(lambda x: (jnp.sin(x), jnp.ones(3) * 2.0))(jnp.ones(2))
    assert J[1].shape == (3, 2) and not np.any(np.asarray(J[1]))
    np.testing.assert_allclose(J[0], np.diag(np.cos(np.ones(2))), rtol=1e-6)
