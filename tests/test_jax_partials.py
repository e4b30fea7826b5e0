"""Structured partials: every rule against its dense partial, the algebra against dense products."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

from jacchain.jax.linear_operator import LinearOperator  # noqa: E402
from jacchain.jax.program import program_graph, run_program, trace_program  # noqa: E402
from jacchain.programs.elimination import eliminate, plan_program  # noqa: E402
from jacchain.programs.partials import Partial, fresh_labels  # noqa: E402
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
    "pad negative and interior": (
        lambda x: jax.lax.pad(x, 0.0, ((-1, 2, 1), (1, -2, 0))), (A,)),
    "split": (lambda x: jnp.split(x, [1, 3], axis=1)[1], (A,)),
    "reshape regroup": (lambda x: x.reshape(2, 6), (A,)),
    "gather constant indices": (lambda x: x[np.array([2, 0, 1])], (A,)),
    "gather columns, repeated": (lambda x: x[:, np.array([3, 3, 0])], (A,)),
    "gather two axes": (lambda x: x[np.array([2, 0]), np.array([1, 3])], (A,)),
    "take out of bounds": (lambda x: jnp.take(x, np.array([1, 7]), axis=1, mode="fill",
                                              fill_value=0.0), (A,)),
    "gather runtime indices": (lambda x: x[jnp.argmax(x[:, 0])], (A,)),
    "dynamic_slice": (lambda x: jax.lax.dynamic_slice(x, (1, 2), (2, 2)), (A,)),
    "dynamic_update_slice": (lambda x, y: jax.lax.dynamic_update_slice(x, y[None, :2], (1, 1)), (A, v)),
    "scatter set": (lambda x, y: x.at[np.array([0, 2]), 1].set(y[:2]), (A, v)),
    "scatter add repeated": (lambda x, y: x.at[np.array([0, 0]), 1].add(y[:2]), (A, v)),
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


@pytest.mark.parametrize("index, stored", [
    (lambda x: x[:, np.array([3, 3, 0])], 3 * 4),  # a delta on the rows: 3 x 4 factor
    (lambda x: x[np.array([2, 0])], 2 * 3),  # a delta on the columns
    (lambda x: jax.lax.dynamic_slice(x, (1, 0), (2, 4)), 2 * 3),
])
def test_gathers_with_constant_indices_keep_the_axes_they_leave_alone(index, stored):
    program, _, _ = trace_program(index, A)
    graph = program_graph(program, [program.inputs[0]])
    (terms,) = graph.edges.values()
    assert terms[0][3].partial.stored() == stored


def test_kronecker_partials_stay_factored():
    """d(X W)/dX acts as W on each row: a factor of W's size, not an (n*m) x (n*k) block."""
    program, _, _ = trace_program(lambda x, w: x @ w, A, B)
    graph = program_graph(program, [program.inputs[0]])
    ((_, edge),) = [(key, terms[0][3]) for key, terms in graph.edges.items()]
    assert edge.partial.stored() == B.size and edge.partial.kind() == "structured"
    assert edge.partial.entries() == A.shape[0] * B.shape[1] * A.size


SELECTIONS = {
    "slice": lambda x: x[1:3, ::2],
    "gather": lambda x: x[np.array([2, 0])],
    "dynamic_slice": lambda x: jax.lax.dynamic_slice(x, (1, 2), (2, 2)),
    "pad": lambda x: jnp.pad(x, ((1, 0), (0, 2))),
    "concatenate": lambda x: jnp.concatenate([x, x[:1]]),
    "rev": lambda x: jnp.flip(x, axis=0),
    "reshape": lambda x: x.reshape(2, 6),
}


@pytest.mark.parametrize("name", sorted(SELECTIONS))
def test_selections_are_index_maps_that_cost_nothing(name):
    """Data movement is a constant 0/1 map on the moved axes only, and composing with it is free."""
    program, _, _ = trace_program(SELECTIONS[name], A)
    graph = program_graph(program, [program.inputs[0]])
    edges = [terms[0][3] for terms in graph.edges.values() if terms[0][3].partial.selection]
    assert edges, "no selection edge"
    for edge in edges:
        partial = edge.partial
        assert partial.kind() == "selection" and not partial.arithmetic
        constant = np.asarray(edge.values([], []))
        assert set(np.unique(constant)) <= {0.0, 1.0}
        # at most one 1 per row and per column of the map
        rows = constant.reshape(-1, int(np.prod(partial.in_shape))) if partial.factor_labels == (
            partial.out_labels + partial.in_labels) else None
        if rows is not None:
            assert rows.sum(axis=0).max() <= 1 and rows.sum(axis=1).max() <= 1
        upper = Partial.dense((5,), partial.out_shape, rng.standard_normal((5, *partial.out_shape)))
        product, cost = upper.compose(partial.with_value(constant))
        assert cost == 0 and not product.selection
        lower = Partial.dense(partial.in_shape, (2,), rng.standard_normal((*partial.in_shape, 2)))
        product, cost = partial.with_value(constant).compose(lower)
        assert cost == 0
        np.testing.assert_allclose(
            _matrix(product), _matrix(partial.with_value(constant)) @ _matrix(lower), atol=1e-12)
        # with a JAX factor: a contraction with the constant (XLA runs it faster than a
        # gather: 1.19x on RoeFlux_3d, 1.10x on f, when measured), the same numbers
        mapped = partial.with_value(constant)
        jax_upper, jax_lower = (p.with_value(jnp.asarray(p.value)) for p in (upper, lower))
        for first, second in ((jax_upper, mapped), (mapped, jax_lower)):
            product, _ = first.compose(second)
            np.testing.assert_allclose(_matrix(product), _matrix(first) @ _matrix(second), atol=1e-12)
        # two maps compose to a map, still free
        twice, cost = partial.with_value(constant).compose(
            Partial.identity(partial.in_shape).relabeled())
        assert cost == 0 and twice.selection


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


def test_a_while_loop_is_differentiated_forward_even_when_reverse_has_fewer_sweeps():
    """XLA prices both sweeps; a while loop has no VJP, so its partial is formed by JVPs."""
    from jacchain.jax import jacobian

    def f(x):
        def body(carry):
            y, total = carry
            return jnp.sin(y) * 1.5, total + jnp.sum(y**2)

        return jax.lax.while_loop(lambda c: c[1] < 40.0, body, (x, 0.0))[1]

    x = jnp.asarray([0.3, 1.2, -0.7, 2.0])
    np.testing.assert_allclose(jacobian(f)(x), jax.jacfwd(f)(x), rtol=1e-12)


def test_sweep_costs_come_from_xla_and_count_every_scan_step():
    from jacchain.jax.rules import sweep_cost

    def scan(length):
        def f(x):
            return jax.lax.scan(lambda c, _: (jnp.sin(c) * c, None), x, None, length=length)[0]

        return jax.make_jaxpr(f)(jnp.ones(5)).eqns[0]

    short, long = (sweep_cost(scan(n), 0, 0, True) for n in (10, 30))
    assert short > 0 and long == 3 * short
    mul = jax.make_jaxpr(lambda x: x * x)(jnp.ones(1000)).eqns[0]
    assert 500 <= sweep_cost(mul, 0, 0, True) <= 4000


M = jnp.asarray(rng.standard_normal((4, 3)))


def _operator_partial(jvp, vjp):
    """A matrix-free partial of x -> tanh(M x) (R^3 -> R^4) at a point, with given sweep costs."""
    point = jnp.asarray([0.2, -0.5, 1.0])
    operator = LinearOperator(lambda x: jnp.tanh(M @ x), point)
    return Partial.matrix_free((4,), (3,), jvp, vjp, operator)


@pytest.mark.parametrize("sweeps", [(1, 10**9), (10**9, 1), (10**6, 10**6), (5, None), (None, 5)])
def test_matrix_free_partials_compose_by_jvps_vjps_or_arrays(sweeps):
    operator = _operator_partial(*sweeps)
    expected = np.asarray(jax.jacfwd(operator.value.function)(operator.value.point))
    np.testing.assert_allclose(operator.to_dense(), expected, rtol=1e-12)
    upper = Partial.dense((2,), (4,), jnp.asarray(rng.standard_normal((2, 4))))
    lower = Partial.dense((3,), (5,), jnp.asarray(rng.standard_normal((3, 5))))
    below, cost_below = operator.compose(lower)
    above, cost_above = upper.compose(operator)
    np.testing.assert_allclose(_matrix(below), expected @ _matrix(lower), rtol=1e-12)
    np.testing.assert_allclose(_matrix(above), _matrix(upper) @ expected, rtol=1e-12)
    jvp, vjp = sweeps
    # the cost is the cheapest way: sweeps over the neighbour, or forming the array first
    formed = min(c for c in (jvp and 3 * jvp, vjp and 4 * vjp) if c)
    assert cost_below == min(c for c in (jvp and 5 * jvp, formed + 4 * 3 * 5) if c)
    assert cost_above == min(c for c in (vjp and 2 * vjp, formed + 2 * 4 * 3) if c)
    symbolic = replace(operator, value=None, symbolic=True)
    assert symbolic.compose(lower)[1] == cost_below and upper.compose(symbolic)[1] == cost_above
    total, cost = operator.add(Partial.identity((4,)).compose(operator)[0])
    np.testing.assert_allclose(_matrix(total), 2 * expected, rtol=1e-12)
    both, _ = _operator_partial(*sweeps).compose(
        Partial.matrix_free((3,), (3,), 1, 1, LinearOperator(jnp.sin, jnp.asarray([0.1, 0.2, 0.3])))
    )
    np.testing.assert_allclose(_matrix(both), expected @ np.diag(np.cos([0.1, 0.2, 0.3])), rtol=1e-12)


def test_a_loop_feeding_a_scalar_costs_one_vjp_not_one_sweep_per_input():
    """A matrix-free scan under a scalar loss is applied to one row by one VJP (reverse)."""
    from jacchain.jax import jacobian

    W = jnp.asarray(rng.standard_normal((50, 50)) / 7)

    def loss(x):
        y = jax.lax.scan(lambda c, _: (jnp.tanh(W @ c), None), x, None, length=5)[0]
        return jnp.sum(y**2)

    x = jnp.linspace(-1.0, 1.0, 50)
    plan = jacobian(loss).plan(x)
    assert plan.strategy == "reverse" and plan.cost * 20 < plan.forward_cost
    np.testing.assert_allclose(jacobian(loss)(x), jax.grad(loss)(x), rtol=1e-10)


@pytest.mark.parametrize(("big", "small"), [((6,), (2, 3)), ((2, 3, 4), (6, 4)), ((4, 6), (4, 2, 3))])
def test_a_reshape_composes_by_reshaping_its_neighbour(big, small):
    """The reshape shortcut (no product with the 0/1 identity) equals the plain product."""
    from dataclasses import replace

    from jacchain.programs.structures import index_map, reshape_blocks

    for out_shape, in_shape in ((big, small), (small, big)):
        reshape, constant = index_map(out_shape, in_shape, reshape_blocks(out_shape, in_shape))
        assert reshape.reshape
        reshape = reshape.with_value(constant)
        plain = replace(reshape, reshape=False)
        above = Partial.dense((5,), out_shape, rng.standard_normal((5, *out_shape)))
        below = Partial.dense(in_shape, (3,), rng.standard_normal((*in_shape, 3)))
        for fast, slow in ((above.compose(reshape), above.compose(plain)),
                           (reshape.compose(below), plain.compose(below))):
            assert fast[1] == slow[1] == 0  # moving entries costs nothing either way
            np.testing.assert_allclose(fast[0].to_dense(), slow[0].to_dense())
