"""Structured partials: every rule against its dense partial, the algebra against dense products."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

from jacchain.jax.elimination import eliminate, plan_program  # noqa: E402
from jacchain.jax.partials import Partial, fresh_labels  # noqa: E402
from jacchain.jax.program import program_graph, run_program, trace_program  # noqa: E402
from jacchain.testing import profile_examples  # noqa: E402

rng = np.random.default_rng(0)
A = jnp.asarray(rng.standard_normal((3, 4)))
B = jnp.asarray(rng.standard_normal((4, 2)))
v = jnp.asarray(rng.standard_normal(4)) + 2.0
s = jnp.asarray(0.7)

SINGLE_OPS = {
    "sin": (lambda x: jnp.sin(x), (A,)),
    "mul broadcast row": (lambda x, y: x * y, (A, v)),
    "mul scalar": (lambda x, y: x * y, (A, s)),
    "div": (lambda x, y: x / y, (A, v)),
    "sub": (lambda x, y: x - y, (A, v)),
    "neg": (lambda x: -x, (A,)),
    "integer_pow": (lambda x: x**3, (A,)),
    "pow": (lambda x, y: x**y, (v, A[0] + 2.0)),
    "max": (lambda x, y: jnp.maximum(x, y), (A, A.T[0][:, None] * jnp.ones((3, 4)))),
    "select": (lambda x: jnp.where(A > 0, x, 2 * x), (A,)),
    "dot matrix-vector": (lambda x, y: x @ y, (A, v)),
    "dot matrix-matrix": (lambda x, y: x @ y, (A, B)),
    "dot batched": (lambda x, y: jnp.einsum("bij,bjk->bik", x, y), (
        jnp.stack([A, A * 2]), jnp.stack([B, B + 1]))),
    "dot contract both": (lambda x, y: jnp.einsum("ij,ij->", x, y), (A, A + 1)),
    "reduce_sum axis": (lambda x: jnp.sum(x, axis=0), (A,)),
    "reduce_sum all": (lambda x: jnp.sum(x), (A,)),
    "reduce_max": (lambda x: jnp.max(x, axis=1), (A,)),
    "reduce_prod": (lambda x: jnp.prod(x, axis=0), (A,)),
    "transpose": (lambda x: x.T, (A,)),
    "reshape flat": (lambda x: x.reshape(-1), (A,)),
    "reshape size-1": (lambda x: x.reshape(3, 1, 4), (A,)),
    "squeeze": (lambda x: x[:, None, :].squeeze(1), (A,)),
    "broadcast_in_dim": (lambda x: jnp.broadcast_to(x, (3, 4)), (v,)),
    "slice": (lambda x: x[1:3, ::2], (A,)),
    "concatenate": (lambda x, y: jnp.concatenate([x, y[None, :]]), (A, v)),
    "pad": (lambda x: jnp.pad(x, ((1, 0), (0, 2))), (A,)),
    "rev": (lambda x: jnp.flip(x, axis=1), (A,)),
    "cumsum (matrix-free)": (lambda x: jnp.cumsum(x, axis=1), (A,)),
    "sort (matrix-free)": (lambda x: jnp.sort(x), (v,)),
    "convert": (lambda x: x.astype(jnp.float32).astype(jnp.float64), (A,)),
}


@pytest.mark.parametrize("name", sorted(SINGLE_OPS))
def test_every_edge_structure_equals_its_dense_partial(name):
    function, args = SINGLE_OPS[name]
    program, _, _ = trace_program(function, *args)
    values = run_program(program, list(args))
    for position in range(len(args)):
        graph = program_graph(program, [program.inputs[position]])
        expected = jax.jacfwd(function, argnums=position)(*args)
        for (u, w), terms in graph.edges.items():
            for op_index, _output, _operand, edge in terms:
                if op_index < 0:
                    continue
                op = program.ops[op_index]
                factor = None
                if edge.values is not None:
                    factor = edge.values([values[r] for r in op.inputs], [values[r] for r in op.outputs])
                partial = edge.partial.with_value(factor)
                assert partial.out_shape == graph.shapes[w] and partial.in_shape == graph.shapes[u]
                if len(program.ops) == 1 and u == program.inputs[position]:
                    np.testing.assert_allclose(partial.to_dense(), expected, rtol=1e-12, atol=1e-12)


def test_kronecker_partials_stay_factored():
    """d(X W)/dX acts as W on each row: a factor of W's size, not an (n*m) x (n*k) block."""
    program, _, _ = trace_program(lambda x, w: x @ w, A, B)
    graph = program_graph(program, [program.inputs[0]])
    ((_, edge),) = [(key, terms[0][3]) for key, terms in graph.edges.items()]
    assert edge.partial.stored() == B.size and edge.partial.kind() == "structured"
    assert edge.partial.entries() == A.shape[0] * B.shape[1] * A.size


def _random_partial(draw, out_shape, in_shape):
    """A partial of the given shapes with random deltas, broadcasts, sums and factor axes."""
    out_labels = list(fresh_labels(len(out_shape)))
    in_labels = list(fresh_labels(len(in_shape)))
    sizes = dict(zip(out_labels, out_shape, strict=True))
    sizes.update(zip(in_labels, in_shape, strict=True))
    for i, size in enumerate(in_shape):
        matches = [o for o, osize in enumerate(out_shape) if osize == size and out_labels[o] not in in_labels]
        if matches and draw(st.booleans()):
            in_labels[i] = out_labels[draw(st.sampled_from(matches))]
    labels = list(dict.fromkeys(out_labels + in_labels))
    factor = tuple(label for label in labels if draw(st.booleans())) if draw(st.booleans()) else None
    value = None
    if factor is not None:
        value = np.asarray(draw(st.lists(st.floats(-2, 2), min_size=1, max_size=1))[0]) + rng.standard_normal(
            tuple(sizes[label] for label in factor)
        )
    scale = draw(st.sampled_from([1.0, -1.0, 0.5]))
    return Partial(tuple(out_labels), tuple(in_labels), sizes, factor, value, scale)


def _matrix(partial):
    out, inn = partial.out_shape, partial.in_shape
    return np.asarray(partial.to_dense()).reshape(int(np.prod(out)), int(np.prod(inn)))


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@settings(max_examples=profile_examples(2))
@given(st.data(), shapes, shapes, shapes)
def test_composition_and_sums_equal_dense_products(data, w_shape, v_shape, u_shape):
    upper = _random_partial(data.draw, w_shape, v_shape)
    lower = _random_partial(data.draw, v_shape, u_shape)
    product, cost = upper.compose(lower)
    np.testing.assert_allclose(_matrix(product), _matrix(upper) @ _matrix(lower), atol=1e-10)
    assert 0 <= cost <= int(np.prod(w_shape)) * int(np.prod(v_shape)) * int(np.prod(u_shape))
    other = _random_partial(data.draw, w_shape, u_shape)
    total, _ = product.add(other)
    np.testing.assert_allclose(_matrix(total), _matrix(product) + _matrix(other), atol=1e-10)
    symbolic, symbolic_cost = (
        Partial(upper.out_labels, upper.in_labels, upper.sizes, upper.factor_labels, None,
                upper.scale, symbolic=True)
        .compose(lower)
    )
    assert symbolic.value is None and symbolic_cost == cost
    assert (symbolic.factor_labels is None) == (product.factor_labels is None)


def test_eliminating_in_any_order_gives_the_same_jacobian():
    def f(x):
        h = jnp.tanh(x)
        return jnp.sum(h * x) + h[0] * jnp.sin(h).sum()

    x = jnp.asarray(rng.standard_normal(4))
    program, _, _ = trace_program(f, x)
    graph = program_graph(program, program.inputs)
    plan = plan_program(graph.partials(), graph.intermediates)
    assert plan.cost <= min(plan.forward_cost, plan.reverse_cost)
    values = run_program(program, [x])
    expected = jax.grad(f)(x)
    for order in (graph.intermediates, graph.intermediates[::-1], list(plan.order)):
        edges = {}
        for key, terms in graph.edges.items():
            partial = None
            for op_index, _o, _k, edge in terms:
                op = program.ops[op_index]
                factor = None if edge.values is None else edge.values(
                    [values[r] for r in op.inputs], [values[r] for r in op.outputs])
                term = edge.partial.with_value(factor)
                partial = term if partial is None else partial.add(term)[0]
            edges[key] = partial
        final, _ = eliminate(edges, order)
        ((key, partial),) = final.items()
        np.testing.assert_allclose(partial.to_dense(), expected, rtol=1e-12)
