"""Plans executed on Dask: lazy, blockwise, equal to numpy's, on any scheduler."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import jacchain as jc  # noqa: E402
from jacchain.errors import OperatorError, ShapeError  # noqa: E402
from jacchain.testing import plain_product, random_jacobians  # noqa: E402


@pytest.mark.parametrize("method", ["auto", "forward", "reverse"])
@pytest.mark.parametrize("dims", [[60, 7, 50, 5, 40], [3, 80, 90, 2], [30, 30]])
def test_dask_jacobians_give_numpy_s_product_lazily(dims, method):
    Js = random_jacobians(dims, 0)
    plan = jc.plan(dims, method)
    mixed = [da.from_array(J, chunks=16) if i % 2 == 0 else J for i, J in enumerate(Js)]
    for operators in ([da.from_array(J, chunks=16) for J in Js], mixed):
        lazy = plan.evaluate(operators)
        assert isinstance(lazy, da.Array) and lazy.shape == (dims[-1], dims[0])
        np.testing.assert_allclose(lazy.compute(), plain_product(Js), rtol=1e-10, atol=1e-12)


def test_diagonal_and_identity_layers():
    chain = jc.Chain([jc.Layer(6, 6, "diagonal"), jc.Layer(6, 4), jc.Layer(4, 4, "identity"),
                      jc.Layer(4, 5)])
    rng = np.random.default_rng(1)
    diagonal, A, B = rng.standard_normal(6), rng.standard_normal((4, 6)), rng.standard_normal((5, 4))
    lazy = jc.plan(chain).evaluate([da.from_array(diagonal, chunks=3), A, None, da.from_array(B)])
    np.testing.assert_allclose(lazy.compute(), B @ A @ np.diag(diagonal))


def test_a_local_cluster_computes_it_and_it_is_stored_block_by_block(tmp_path):
    dims = [200, 20, 150, 30, 180]
    Js = random_jacobians(dims, 2)
    lazy = jc.plan(dims).evaluate([da.from_array(J, chunks=64) for J in Js])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        np.testing.assert_allclose(lazy.compute(), plain_product(Js), rtol=1e-10)
        da.to_npy_stack(tmp_path / "J", lazy, axis=0)  # one file per row of blocks, by the workers
    stored = da.from_npy_stack(tmp_path / "J")
    assert stored.numblocks[0] == lazy.numblocks[0] > 1
    np.testing.assert_allclose(stored.compute(), plain_product(Js), rtol=1e-10)


def test_what_dask_evaluation_refuses():
    chain = jc.Chain([jc.Layer(3, 3, "matrix-free", edges=9), jc.Layer(3, 2)])
    with pytest.raises(OperatorError, match="matrix-free"):
        jc.plan(chain).evaluate([object(), da.ones((2, 3))])
    with pytest.raises(ShapeError, match="shape"):
        jc.plan([3, 4, 2]).evaluate([da.ones((4, 3)), da.ones((3, 4))])
    with pytest.raises(ShapeError, match="expected 2 Jacobians"):
        jc.plan([3, 4, 2]).evaluate([da.ones((4, 3))])


def test_chunks_of_directions_run_on_the_cluster():
    from test_directions import chain_and_operators

    chain, operators, expected = chain_and_operators(3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        for method, client_given, chunks in (("forward", None, 2), ("reverse", client, 3)):
            operators[1].widths.clear()
            lazy = jc.plan(chain, method).evaluate(operators, chunk_size=2, client=client_given)
            assert isinstance(lazy, da.Array)
            np.testing.assert_allclose(lazy.compute(), expected)
            # 4 tangent or 5 adjoint directions, at most 2 a task (in-process workers share
            # the scattered operator, so its record shows their calls)
            assert len(operators[1].widths) == chunks and max(operators[1].widths) <= 2


@pytest.mark.parametrize("method", ["forward", "reverse", "auto"])
def test_matrix_free_layers_next_to_dask_arrays(method):
    from test_directions import chain_and_operators

    chain, (A, operator, B), expected = chain_and_operators(4)
    lazy = jc.plan(chain, method).evaluate([da.from_array(A, chunks=8), operator, B], chunk_size=3)
    np.testing.assert_allclose(lazy.compute(), expected)
    accumulated = jc.Chain([jc.Layer(30, 30, "matrix-free", edges=900)])
    for how in ("forward", "reverse"):  # one matrix-free layer: formed by sweeps of the identity
        J = jc.plan(accumulated, how).evaluate([operator], chunk_size=7, client=None)
        np.testing.assert_allclose(J, operator.matrix)


def test_the_dask_demo_runs_on_a_local_cluster():
    import io

    from jacchain.cli.demo import dask_demo

    out = io.StringIO()
    result = dask_demo(out, processes=False)
    assert result["max_error"] < 1e-9 and "dashboard:" in out.getvalue()


def test_a_torch_jacobian_s_columns_on_the_cluster():
    torch = pytest.importorskip("torch")
    import jacchain.torch as jct

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Tanh(), torch.nn.Linear(5, 6)).double()
    x = torch.randn(7, dtype=torch.float64)
    expected = torch.func.jacrev(model)(x).detach().numpy()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            lazy = jct.jacobian(model, chunk_size=4)(x)  # the active client: 2 tasks, 4 and 3 columns
            assert isinstance(lazy, da.Array) and lazy.shape == (6, 7)
            np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-10)
        assert len([t for t in stream.data if "_columns" in str(t["key"])]) == 2
        def g(params, v):
            return {"y": torch.tanh(params["W"] @ v) * params["s"]}, v.sum()

        params = {"W": torch.randn(3, 7, dtype=torch.float64), "s": torch.tensor(1.5, dtype=torch.float64)}
        ours, aux = jct.jacobian(g, argnums=(0, 1), has_aux=True, chunk_size=15, client=client)(params, x)
        theirs, their_aux = torch.func.jacrev(g, argnums=(0, 1), has_aux=True)(params, x)
        assert float(aux) == float(their_aux)
        np.testing.assert_allclose(ours["y"][0]["W"].compute(), theirs["y"][0]["W"].numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours["y"][0]["s"].compute(), theirs["y"][0]["s"].numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours["y"][1].compute(), theirs["y"][1].numpy(), rtol=1e-10)
    np.testing.assert_allclose(jct.jacobian(model, chunk_size=3)(x).detach().numpy(), expected)


def test_a_jax_jacobian_s_columns_on_the_cluster():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    import jacchain.jax as jcj

    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        _jax_columns(jax, jnp, jcj)
    finally:
        jax.config.update("jax_enable_x64", x64)


def _jax_columns(jax, jnp, jcj):
    W = jnp.asarray(np.random.default_rng(4).standard_normal((6, 7)))

    def f(x):
        return {"y": jnp.tanh(W @ x), "s": jnp.sum(x ** 2)}

    x = jnp.linspace(-1.0, 1.0, 7)
    expected = jax.jacrev(f)(x)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        lazy = jcj.jacobian(f, chunk_size=4, client=client)(x)
        assert isinstance(lazy["y"], da.Array) and lazy["y"].shape == (6, 7) and lazy["s"].shape == (7,)
        for key in expected:
            np.testing.assert_allclose(lazy[key].compute(), expected[key], rtol=1e-10)

        def g(params, v):
            return jnp.tanh(params["W"] @ v) * params["s"], jnp.sum(v)

        params = {"W": W, "s": jnp.asarray(1.5)}
        ours, aux = jcj.jacobian(g, argnums=(0, 1), has_aux=True, chunk_size=12, client=client)(params, x)
        theirs, their_aux = jax.jacobian(g, argnums=(0, 1), has_aux=True)(params, x)
        assert float(aux) == float(their_aux)
        for got, want in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
            np.testing.assert_allclose(np.asarray(got.compute()), want, rtol=1e-10)
