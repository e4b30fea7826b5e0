"""``jacchain.jax.jacobian`` on any JAX program (issue 11), against ``jax.jacobian`` itself.

The contract: ``jacobian(fun, argnums=0, has_aux=False, *, method="auto", order=None)``
has ``jax.jacobian``'s semantics (pytrees of arrays of any shape in and out, scalars
included; ``argnums`` an int, negative ones included, or a tuple; ``has_aux``); its result
has exactly ``jax.jacobian``'s tree structure, leaf shapes (output leaf shape, then input
leaf shape) and dtypes; it composes with ``jax.jit``, ``jax.vmap`` and ``jax.grad``;
``jac.plan(*args)`` returns the plan without running it; ``jacobian(list_of_layers)``
keeps working as the composition of the list; bad input raises a ``JacChainError``.

The implementation under test is :data:`IMPLEMENTATION`. Setting it to ``jax.jacobian``
checks these tests themselves: every test of results, structures and compositions then
passes, and the tests of what only jacchain has (plans, ``JacChainError``s,
``NonFiniteError`` on concrete values) fail, as they must.

Random programs come from the grammar of ``tests/jax_programs.py`` (one array, a tuple or
a dict out; 1 to 3 scalar, vector or matrix inputs; control flow included); references
are ``jax.jacrev`` jitted (one compilation costs less than eager JAX on control flow).
Float64 throughout. The example counts are shares of the hypothesis profile's.
"""

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

from jax_programs import Program, argnums, covering_programs, programs  # noqa: E402  (tests/ is on the path)
from test_frontend_fuzz import JAX_KINDS, compose, jax_model  # noqa: E402

import jacchain.jax  # noqa: E402
from jacchain.errors import JacChainError, MethodError, NonFiniteError  # noqa: E402
from jacchain.testing import profile_examples  # noqa: E402

IMPLEMENTATION = jacchain.jax.jacobian
"""The function under test; ``jax.jacobian`` to check the tests (see the module docstring)."""

METHODS = ("auto", "forward", "reverse", "markowitz")
"""The methods the contract implies: the cheapest plan, the two pure modes, Markowitz's order."""

RTOL, ATOL = 1e-9, 1e-11


def jacobian(fun: Any, argnums: Any = 0, has_aux: bool = False, method: str = "auto") -> Any:
    """:data:`IMPLEMENTATION`'s Jacobian function of ``fun``; a refused method fails the test.

    ``fun`` may be a list of layers (the list form), given without argnums and has_aux.
    """
    if IMPLEMENTATION is jax.jacobian:  # checking the tests against JAX itself
        fun = compose(fun) if isinstance(fun, list) else fun
        return jax.jacobian(fun, argnums, has_aux)
    try:
        if isinstance(fun, list):
            return IMPLEMENTATION(fun, method=method)
        return IMPLEMENTATION(fun, argnums, has_aux, method=method)
    except MethodError as err:
        pytest.fail(f"jacchain.jax.jacobian refused method {method!r}: {err}")


def assert_same_tree(result: Any, expected: Any) -> None:
    """``result`` has ``expected``'s tree structure, and leaf by leaf its shape, dtype and values."""
    assert jax.tree.structure(result) == jax.tree.structure(expected), (
        f"tree structure {jax.tree.structure(result)}, expected {jax.tree.structure(expected)}"
    )
    for number, (got, want) in enumerate(
        zip(jax.tree.leaves(result), jax.tree.leaves(expected), strict=True)
    ):
        assert isinstance(got, jax.Array), f"leaf {number} is a {type(got).__name__}"
        assert (got.shape, got.dtype) == (want.shape, want.dtype), f"leaf {number}"
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"leaf {number}")


def check_reference(program: Program, nums: Any, expected: Any) -> None:
    """The grammar's promises on ``jax.jacrev``'s result: leaf shapes (each output's shape,
    then each differentiated input's, as the program's shape rules say) and finite values."""
    inputs = [program.inputs[nums]] if isinstance(nums, int) else [program.inputs[i] for i in nums]
    outputs = program.shapes
    shapes = [outputs[i] + shape for i in sorted_outputs(program) for shape in inputs]
    assert [leaf.shape for leaf in jax.tree.leaves(expected)] == shapes, program
    assert all(bool(jnp.isfinite(leaf).all()) for leaf in jax.tree.leaves(expected)), program


def sorted_outputs(program: Program) -> list[int]:
    """The program's output value indices in the order of the output tree's leaves."""
    if program.structure != "dict":
        return list(program.outputs)
    keys = sorted(f"y{k}" for k in range(len(program.outputs)))
    return [program.outputs[int(key[1:])] for key in keys]


# --- random programs ------------------------------------------------------------------------


def check_program(program: Program, nums: Any, method: str) -> None:
    """The program's Jacobian in ``nums``, jitted, against ``jax.jacrev``'s, jitted."""
    f, args = program.function(), program.arguments()
    expected = jax.jit(jax.jacrev(f, argnums=nums))(*args)
    check_reference(program, nums, expected)
    assert_same_tree(jax.jit(jacobian(f, nums, method=method))(*args), expected)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=profile_examples(1 / 15, minimum=4))
@given(program=programs(), data=st.data())
def test_random_programs_match_jacrev(method, program, data):
    check_program(program, data.draw(argnums(len(program.inputs)), label="argnums"), method)


@settings(max_examples=profile_examples(1 / 60, minimum=1))
@given(program=covering_programs(), method=st.sampled_from(METHODS))
def test_a_program_of_every_op_matches_jacrev(program, method):
    """Every op of the grammar in one program, so that each run meets each op at least once."""
    check_program(program, tuple(range(len(program.inputs))), method)


@settings(max_examples=profile_examples(1 / 6))
@given(program=programs(), method=st.sampled_from(METHODS), data=st.data())
def test_plans_of_random_programs(program, method, data):
    nums = data.draw(argnums(len(program.inputs)), label="argnums")
    check_plan(jacobian(program.function(), nums, method=method), method, *program.arguments())


def check_plan(jac: Any, method: str, *args: Any) -> Any:
    """``jac.plan(*args)``: exact int costs, an order of vertex numbers, the method's promise
    kept (auto: no worse than either pure mode; another method: its own order's cost)."""
    p = jac.plan(*args)
    costs = {name: getattr(p, name) for name in ("cost", "forward_cost", "reverse_cost")}
    assert all(type(c) is int and c >= 0 for c in costs.values()), costs
    assert all(type(v) is int for v in p.order), f"the plan's order {p.order!r}"
    if method == "auto":
        assert p.cost <= min(p.forward_cost, p.reverse_cost), costs
    else:
        assert p.cost == getattr(p, f"{method}_cost"), (method, p.cost, costs)
    return p


# --- pytrees, argnums, has_aux --------------------------------------------------------------


def _rng_array(seed: int, *shape: int) -> Any:
    return jnp.asarray(np.random.default_rng(seed).uniform(-1.0, 1.0, shape))


PARAMS = {"W": _rng_array(0, 3, 2), "b": _rng_array(1, 3), "scale": jnp.asarray(1.5)}
X = _rng_array(2, 2)


def model(params: dict[str, Any], x: Any) -> dict[str, Any]:
    """A dict of parameters and a vector in; a dict of a vector and a scalar out."""
    h = jnp.tanh(params["W"] @ x + params["b"])
    return {"y": h * params["scale"], "energy": jnp.sum(jnp.sin(h) ** 2)}


def nested(tree: dict[str, Any]) -> tuple[Any, ...]:
    """A nested pytree in (lists, tuples, dicts, a scalar leaf) and a nested pytree out."""
    (W1, b1), (W2, b2) = tree["layers"]
    h = jnp.tanh(W1 @ tree["x"] + b1)
    out = W2 @ h + b2
    return {"out": out * tree["gain"]}, [jnp.sum(out**2), (h[0], jnp.outer(h, out))]


NESTED = {
    "layers": [(_rng_array(3, 3, 2), _rng_array(4, 3)), (_rng_array(5, 2, 3), _rng_array(6, 2))],
    "x": _rng_array(7, 2),
    "gain": jnp.asarray(0.7),
}


def with_aux(params: dict[str, Any], x: Any) -> tuple[Any, Any]:
    out = model(params, x)
    return out["y"], {"energy": out["energy"], "argmax": jnp.argmax(out["y"]), "x": x}


PYTREE_CASES = {
    "dict params, argnums 0": (model, (PARAMS, X), 0, False),
    "argnums 1, a vector": (model, (PARAMS, X), 1, False),
    "argnums -1": (model, (PARAMS, X), -1, False),
    "argnums (1, 0)": (model, (PARAMS, X), (1, 0), False),
    "argnums (-1,)": (model, (PARAMS, X), (-1,), False),
    "nested pytrees in and out": (nested, (NESTED,), 0, False),
    "has_aux with a tuple argnums": (with_aux, (PARAMS, X), (0, 1), True),
    "has_aux with argnums 1": (with_aux, (PARAMS, X), 1, True),
    "tuple and list arguments": (
        lambda pair, items: pair[0] * jnp.sin(pair[1]) + items[0] @ items[1],
        ((jnp.asarray(2.0), _rng_array(8, 3)), [_rng_array(9, 3, 2), _rng_array(10, 2)]),
        (0, 1),
        False,
    ),
    "scalars in and out": (
        lambda a, b: a * jnp.sin(b) + b**2, (jnp.asarray(0.3), jnp.asarray(-1.2)), (0, 1), False
    ),
    "a scalar in, a matrix out": (
        lambda t: jnp.outer(jnp.cos(t * X), X) * t, (jnp.asarray(0.4),), 0, False
    ),
    "a matrix in, a scalar out": (
        lambda M: jnp.sum(jnp.tanh(M @ M.T)), (_rng_array(11, 2, 3),), 0, False
    ),
    "a matrix in, a matrix out": (lambda M: jnp.exp(M) @ M.T, (_rng_array(12, 2, 3),), 0, False),
    "a Python float": (lambda t: jnp.sin(t) * X, (0.5,), 0, False),
    "an unused argument": (lambda x, y: jnp.sin(x), (X, _rng_array(13, 3)), (0, 1), False),
    "an integer argument, not differentiated": (
        lambda x, index: jnp.sin(x)[index], (_rng_array(14, 3), jnp.asarray([2, 0, 2])), 0, False
    ),
    "a None leaf": (lambda d: d["a"] * 2.0, ({"a": X, "b": None},), 0, False),
}


@pytest.mark.parametrize("case", list(PYTREE_CASES))
def test_pytrees_argnums_and_aux_as_jax_jacobian(case):
    fun, args, nums, has_aux = PYTREE_CASES[case]
    expected = jax.jit(jax.jacobian(fun, nums, has_aux))(*args)
    assert_same_tree(jacobian(fun, nums, has_aux)(*args), expected)


# --- composition with jit, vmap and grad ----------------------------------------------------

XS = jnp.stack([X, 2.0 * X, _rng_array(15, 2)])  # a batch of three inputs


@pytest.fixture(scope="module")
def jacobians():
    """The model's Jacobian in its parameters and input: jacchain's, and jax.jacrev's."""
    return jacobian(model, (0, 1)), jax.jacrev(model, (0, 1))


def squared_norm(jac: Any) -> Any:
    """``(params, x) -> the sum of the squares of every entry of jac(params, x)``."""
    return lambda params, x: sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(jac(params, x)))


def test_jit(jacobians):
    jac, reference = jacobians
    assert_same_tree(jax.jit(jac)(PARAMS, X), jax.jit(reference)(PARAMS, X))


def test_vmap_over_a_batch_axis(jacobians):
    jac, reference = jacobians
    expected = jax.jit(jax.vmap(reference, in_axes=(None, 0)))(PARAMS, XS)
    assert_same_tree(jax.vmap(jac, in_axes=(None, 0))(PARAMS, XS), expected)
    assert_same_tree(jax.vmap(jax.jit(jac), in_axes=(None, 0))(PARAMS, XS), expected)


def test_grad_of_a_function_of_the_jacobian(jacobians):
    jac, reference = jacobians
    expected = jax.jit(jax.grad(squared_norm(reference), argnums=(0, 1)))(PARAMS, X)
    assert_same_tree(jax.grad(squared_norm(jac), argnums=(0, 1))(PARAMS, X), expected)


# --- plans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_plan_of_a_pytree_model(method):
    check_plan(jacobian(model, (0, 1), method=method), method, PARAMS, X)


def test_plan_runs_nothing():
    """The plan needs shapes and dtypes only: the arguments may be ShapeDtypeStructs."""
    jac = jacobian(with_aux, (0, 1), has_aux=True)
    concrete = check_plan(jac, "auto", PARAMS, X)
    specs = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), (PARAMS, X))
    abstract = check_plan(jac, "auto", *specs)
    assert (abstract.cost, abstract.forward_cost, abstract.reverse_cost) == (
        concrete.cost,
        concrete.forward_cost,
        concrete.reverse_cost,
    )


def test_a_bottleneck_plans_cheaper_than_both_pure_modes():
    """x (12) -> 2 -> 12 -> 2 -> 12: forward and reverse each pay the wide ends twice."""
    rng = np.random.default_rng(3)
    Ws = [jnp.asarray(rng.standard_normal(shape)) for shape in ((2, 12), (12, 2), (2, 12), (12, 2))]

    def hourglass(x: Any) -> Any:
        for W in Ws[:-1]:
            x = jnp.tanh(W @ x)
        return Ws[-1] @ x

    p = check_plan(jacobian(hourglass), "auto", _rng_array(16, 12))
    assert p.cost < min(p.forward_cost, p.reverse_cost), (p.cost, p.forward_cost, p.reverse_cost)


# --- the list-of-layers form ----------------------------------------------------------------


def test_a_list_of_layers_is_their_composition():
    rng = np.random.default_rng(4)
    size = 3
    spec = [(str(kind), int(rng.integers(1, 5))) for kind in rng.permutation(JAX_KINDS)[:5]]
    layers = jax_model(spec, size, rng)
    x = jnp.asarray(rng.standard_normal(size))
    expected = jax.jit(jax.jacrev(compose(layers)))(x)
    assert_same_tree(jacobian(layers)(x), expected)  # concrete values
    assert_same_tree(jax.jit(jacobian(layers, method="forward"))(x), expected)


def test_a_list_of_layers_plans_a_mixed_order():
    """The case tests/test_jax.py pins: 12 -> 2 -> 12 -> 2 -> 12 with tanh, a mixed plan."""
    rng = np.random.default_rng(0)
    dims = [12, 2, 12, 2, 12]
    layers = []
    for n, m in zip(dims[:-1], dims[1:], strict=True):
        W, b = jnp.asarray(rng.standard_normal((m, n))), jnp.asarray(rng.standard_normal(m))
        layers += [lambda v, W=W, b=b: W @ v + b, jnp.tanh]
    layers = layers[:-1]
    jac = jacobian(layers)
    x = jnp.asarray(rng.standard_normal(12))
    p = jac.plan(x)
    assert p.cost < min(p.forward_cost, p.reverse_cost)
    assert_same_tree(jac(x), jax.jit(jax.jacrev(compose(layers)))(x))


# --- bad input ------------------------------------------------------------------------------


def _raises(error: type[Exception]) -> Any:
    def fun(x: Any) -> Any:
        raise error("a function that fails")

    return fun


def _python_branch(x: Any) -> Any:
    return x if x.sum() > 0 else -x  # a Python `if` on a traced value


BAD_CALLS = {
    "argnums out of range": (lambda x, y: x * y, (X, X), 2, False),
    "negative argnums out of range": (lambda x, y: x * y, (X, X), -3, False),
    "a tuple argnums out of range": (lambda x, y: x * y, (X, X), (0, 2), False),
    "repeated argnums": (lambda x, y: x * y, (X, X), (0, 0), False),
    "empty argnums": (lambda x, y: x * y, (X, X), (), False),
    "argnums a str": (lambda x, y: x * y, (X, X), "0", False),
    "argnums a float": (lambda x, y: x * y, (X, X), 1.5, False),
    "a str argument": (jnp.sin, ("text",), 0, False),
    "a str leaf": (lambda d: d["a"] * 2, ({"a": X, "b": "text"},), 0, False),
    "an object argument": (jnp.sin, (object(),), 0, False),
    "integer outputs": (lambda x: jnp.round(x).astype(jnp.int32), (X,), 0, False),
    "boolean outputs": (lambda x: x > 0, (X,), 0, False),
    "a str output": (lambda x: "text", (X,), 0, False),
    "has_aux, one array returned": (jnp.sin, (X,), 0, True),
    "a function that raises": (_raises(RuntimeError), (X,), 0, False),
    "a function that raises IndexError": (_raises(IndexError), (X,), 0, False),
    "a Python branch on a traced value": (_python_branch, (X,), 0, False),
    "not a function": (42, (X,), 0, False),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_input_raises_jacchain_errors(case):
    fun, args, nums, has_aux = BAD_CALLS[case]
    with pytest.raises(JacChainError):
        IMPLEMENTATION(fun, nums, has_aux)(*args)


def test_an_unknown_method_is_refused():
    with pytest.raises(MethodError, match="sideways"):
        IMPLEMENTATION(model, 1, method="sideways")(PARAMS, X)


def test_non_finite_values_are_refused_when_concrete():
    bad = X.at[0].set(jnp.nan)
    with pytest.raises(NonFiniteError):
        IMPLEMENTATION(model, 1)(PARAMS, bad)
    with pytest.raises(NonFiniteError):
        IMPLEMENTATION(model, 0)({**PARAMS, "scale": jnp.asarray(jnp.inf)}, X)
    with pytest.raises(NonFiniteError):  # a finite input, an infinite derivative
        IMPLEMENTATION(lambda x: jnp.sqrt(x) * 2.0)(jnp.zeros(2))
    # Under jit the values are tracers: nothing is checked, NaN propagates as in jax.jacrev.
    got = jax.jit(IMPLEMENTATION(model, 1))(PARAMS, bad)
    expected = jax.jacrev(model, 1)(PARAMS, bad)
    for leaf, want in zip(jax.tree.leaves(got), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(jnp.isnan(leaf), jnp.isnan(want))


def test_chunked_matrix_free_sweeps_equal_whole_ones():
    """A scan is matrix-free: chunk_size splits its batched sweeps, the Jacobian stays."""
    import jax
    import jax.numpy as jnp

    import jacchain.jax as jcj

    def f(x):
        def step(h, _):
            return jnp.tanh(h * 1.1 + 0.1), None

        return jax.lax.scan(step, x, None, length=5)[0] * x[0]

    x = jnp.linspace(-1.0, 1.0, 7)
    expected = jax.jacrev(f)(x)
    for method in ("forward", "reverse"):
        for chunk in (1, 3, None):
            np.testing.assert_allclose(jcj.jacobian(f, method=method, chunk_size=chunk)(x), expected,
                                       rtol=1e-10, atol=1e-12)
    with pytest.raises(MethodError, match="chunk_size"):
        jcj.jacobian(f, chunk_size=0)
