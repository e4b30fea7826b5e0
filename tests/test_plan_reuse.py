"""Plan reuse in the front ends (issue 15): ``plan=`` follows a saved plan without planning,
checked against the model; each front end plans once per input signature.

A front end given a plan must not plan: every test of a given plan replaces the planner the
front end calls with one that fails. Each cache test counts the planner's calls.
"""

import json

import numpy as np
import pytest

import jacchain as jc
import jacchain.layers.sequential as numpy_front
from jacchain.layers import Dense, Softmax, Tanh
from jacchain.plans.reuse import PlanCache
from jacchain.programs.elimination import ProgramPlan, plan_program
from jacchain.programs.partials import Partial


def _refuse(*args, **kwargs):
    raise AssertionError("planned although a plan was given")


def _counting(monkeypatch, module, name):
    """Replace ``module.name`` by a wrapper counting its calls; return the list of calls."""
    original, calls = getattr(module, name), []

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


# --- numpy --------------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
W1, W2 = RNG.standard_normal((3, 5)), RNG.standard_normal((4, 3))


def test_numpy_follows_a_plan_read_back_from_json_without_planning(monkeypatch):
    model = jc.Sequential([Dense(W1), Tanh(), Dense(W2)])
    x = RNG.standard_normal(5)
    J, p = jc.jacobian(model, x, method="forward", return_plan=True)
    saved = jc.Plan.from_json(p.to_json())
    monkeypatch.setattr(numpy_front, "cached_plan", _refuse)
    again, followed = jc.jacobian(jc.Sequential(list(model)), x, plan=saved, return_plan=True)
    assert followed is saved and np.array_equal(again, J)


def test_numpy_refuses_a_plan_of_other_dims_or_kinds_or_options():
    x = RNG.standard_normal(5)
    saved = jc.jacobian([Dense(W1), Tanh(), Dense(W2)], x, return_plan=True)[1]
    with pytest.raises(jc.PlanFormatError, match="dims 5 -> 3 -> 3 -> 4, but .* 5 -> 3 -> 3$"):
        jc.jacobian([Dense(W1), Tanh()], x, plan=saved)
    with pytest.raises(jc.PlanFormatError, match="layer 2 as diagonal, but the model's layer 2 is dense"):
        jc.jacobian([Dense(W1), Dense(np.eye(3)), Dense(W2)], x, plan=saved)
    with pytest.raises(jc.MethodError, match="plan= or method="):
        jc.jacobian([Dense(W1), Tanh(), Dense(W2)], x, method="forward", plan=saved)
    with pytest.raises(jc.PlanFormatError, match="Plan.from_json"):
        jc.jacobian([Dense(W1), Tanh(), Dense(W2)], x, plan=saved.to_json())
    with pytest.raises(jc.MethodError, match="given as plan=, not method="):
        jc.jacobian([Dense(W1), Tanh(), Dense(W2)], x, method=saved)


def test_numpy_plans_once_per_size(monkeypatch):
    calls = _counting(monkeypatch, numpy_front, "cached_plan")
    model = jc.Sequential([Tanh(), Softmax()])
    for size in (3, 3, 4, 3):
        jc.jacobian(model, np.ones(size, np.float32))
    assert len(calls) == 2 and len(model.plans) == 2 and (4, "auto", None) in model.plans


# --- the cache and the JSON of program plans (no front end needed) ------------------------------


def test_plan_cache_checks_a_given_plan_once_per_signature_and_keeps_only_what_fits():
    given, checked = jc.plan([3, 4, 5]), []

    def check(plan):
        checked.append(plan)
        if len(checked) == 2:
            raise jc.PlanFormatError("does not fit")

    cache = PlanCache(given)
    assert cache.get("a", _refuse, check) is given and cache.get("a", _refuse, check) is given
    with pytest.raises(jc.PlanFormatError):
        cache.get("b", _refuse, check)
    assert checked == [given, given] and list(cache) == ["a"]


def _program_plan():
    edges = {(0, 1): Partial.dense((8,), (1,), symbolic=True),
             (1, 2): Partial.dense((2,), (8,), symbolic=True),
             (2, 3): Partial.identity((2,), symbolic=True)}
    return plan_program(edges, [1, 2], method="search")


def test_program_plans_round_trip_through_json_and_bad_documents_are_refused():
    p = _program_plan()
    assert ProgramPlan.from_json(p.to_json()) == p
    assert ProgramPlan.from_json(p.to_json(indent=2)).structure == p.structure
    document = json.loads(p.to_json())
    for field, value, message in [
        ("order", [1, 1], "each once"),
        ("order", [1, 9], "each once"),
        ("vertices", 7, "count the structure"),
        ("steps", [[1, 2, 1, 1, 0], [2, 1, 1, 1, 0]], "in order"),
        ("structure", [[0, 1, "dense", [8], [1]], [0, 1, "dense", [8], [1]]], "sorted and distinct"),
        ("method", "exact", "'method' must be one of"),
        ("counted", {"order": 1}, "'counted'"),
        ("cost", -1, "'cost' must be an int"),
    ]:
        with pytest.raises(jc.PlanFormatError, match=message):
            ProgramPlan.from_json(json.dumps({**document, field: value}))


# --- JAX ----------------------------------------------------------------------------------------


@pytest.fixture
def jax_x64():
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", previous)


def _jax_program(jnp):
    def f(W, x):
        return jnp.tanh(W @ x) * jnp.sum(x ** 2)

    return f, jnp.linspace(0.5, 1.5, 12).reshape(3, 4), jnp.linspace(-1.0, 1.0, 4)


def test_jax_program_follows_a_saved_program_plan_or_graph_plan_without_planning(jax_x64, monkeypatch):
    import jax.numpy as jnp

    import jacchain.jax
    import jacchain.jax.function as jax_front

    f, W, x = _jax_program(jnp)
    jac = jacchain.jax.jacobian(f, argnums=(0, 1))
    expected = jac(W, x)
    saved = ProgramPlan.from_json(jac.plan(W, x).to_json())
    graph_plan = jc.GraphPlan.from_json(
        jc.plan_graph(jacchain.jax.graph(f, W, x, argnums=(0, 1)), method="exact").to_json())
    monkeypatch.setattr(jax_front, "plan_program", _refuse)
    for given in (saved, graph_plan):
        again = jacchain.jax.jacobian(f, argnums=(0, 1), plan=given)
        assert again.plan(W, x) is given
        for ours, theirs in zip(again(W, x), expected, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_jax_program_refuses_a_plan_made_for_other_shapes_or_structures(jax_x64):
    import jax.numpy as jnp

    import jacchain.jax

    f, W, x = _jax_program(jnp)
    saved = jacchain.jax.jacobian(f, argnums=(0, 1)).plan(W, x)
    again = jacchain.jax.jacobian(f, argnums=(0, 1), plan=saved)
    with pytest.raises(jc.PlanFormatError, match=r"another program graph: edge .* \(3, 4\) in the plan, .* \(3, 5\) here"):
        again(jnp.ones((3, 5)), jnp.ones(5))
    with pytest.raises(jc.PlanFormatError, match="another program graph"):
        jacchain.jax.jacobian(lambda W, x: jnp.sin(W @ x), argnums=(0, 1), plan=saved)(W, x)
    tampered = json.loads(saved.to_json())
    tampered["steps"][-1][-1] += 1
    with pytest.raises(jc.PlanFormatError, match="costs .* here, the plan says"):
        jacchain.jax.jacobian(f, argnums=(0, 1), plan=ProgramPlan.from_json(json.dumps(tampered)))(W, x)
    graph = jacchain.jax.graph(f, W, x, argnums=(0, 1))
    with pytest.raises(jc.PlanFormatError, match="by graph layers .* no elimination order"):
        jacchain.jax.jacobian(f, argnums=(0, 1), plan=jc.plan_graph(graph, method="chain")).plan(W, x)
    graph_plan = jc.plan_graph(graph, method="exact")
    with pytest.raises(jc.PlanFormatError, match="node 1 has size 15, planned 12"):
        jacchain.jax.jacobian(f, argnums=(0, 1), plan=graph_plan)(jnp.ones((3, 5)), jnp.ones(5))
    with pytest.raises(jc.PlanFormatError, match="ProgramPlan or a jacchain GraphPlan"):
        jacchain.jax.jacobian(f, plan=jc.plan([3, 4]))
    with pytest.raises(jc.MethodError, match="plan= or order="):
        jacchain.jax.jacobian(f, plan=saved, order=list(saved.order))


def test_jax_program_plans_once_per_shape_and_dtype(jax_x64, monkeypatch):
    import jax.numpy as jnp

    import jacchain.jax
    import jacchain.jax.function as jax_front

    calls = _counting(monkeypatch, jax_front, "plan_program")
    jac = jacchain.jax.jacobian(lambda x: jnp.sin(x) * jnp.sum(x))
    for x in (jnp.ones(3), jnp.zeros(3), jnp.ones(4), jnp.ones(3, jnp.float32)):
        jac(x)
    jac.plan(jnp.ones(3))
    assert len(calls) == 1 + 3 and len(jac.plans) == 3  # the first call checks the method


def test_jax_layers_follow_a_saved_plan_and_plan_once_per_shape_and_dtype(jax_x64, monkeypatch):
    import jax.numpy as jnp

    import jacchain.jax
    import jacchain.jax.sequence as jax_layers

    W = jnp.linspace(-1.0, 1.0, 20).reshape(2, 10)
    layers = [lambda x: W @ x, jnp.tanh, lambda x: W.T @ x]
    calls = _counting(monkeypatch, jax_layers, "cached_plan")
    jac = jacchain.jax.jacobian(layers)
    for x in (jnp.ones(10), jnp.zeros(10), jnp.ones(10, jnp.float32)):
        jac.plan(x)
    assert len(calls) == 1 + 2 and len(jac.plans) == 2  # the first call checks the method
    saved = jc.Plan.from_json(jac.plan(jnp.ones(10)).to_json())
    monkeypatch.setattr(jax_layers, "cached_plan", _refuse)
    again = jacchain.jax.jacobian(layers, plan=saved)
    A = np.asarray(W)
    expected = A.T @ np.diag(1 - np.tanh(A @ np.ones(10)) ** 2) @ A
    np.testing.assert_allclose(again(jnp.ones(10)), expected, rtol=1e-12, atol=1e-15)
    with pytest.raises(jc.PlanFormatError, match="takes layer 2 as diagonal, but the model's layer 2 is matrix-free"):
        jacchain.jax.jacobian([layers[0], jnp.cumsum, layers[2]], plan=saved)(jnp.ones(10))
    with pytest.raises(jc.MethodError, match="plan= or calibrate="):
        jacchain.jax.jacobian(layers, calibrate=True, plan=saved)


# --- PyTorch ------------------------------------------------------------------------------------


def test_torch_program_follows_a_saved_plan_without_planning_and_refuses_other_shapes(monkeypatch):
    torch = pytest.importorskip("torch")
    import jacchain.torch
    import jacchain.torch.function as torch_front

    def f(W, x):
        return torch.tanh(W @ x) * torch.sum(x ** 2)

    W, x = torch.linspace(0.5, 1.5, 12, dtype=torch.float64).reshape(3, 4), torch.ones(4, dtype=torch.float64)
    saved = ProgramPlan.from_json(jacchain.torch.jacobian(f, argnums=(0, 1)).plan(W, x).to_json())
    monkeypatch.setattr(torch_front, "plan_program", _refuse)
    again = jacchain.torch.jacobian(f, argnums=(0, 1), plan=saved)
    expected = torch.func.jacrev(f, argnums=(0, 1))(W, x)
    for ours, theirs in zip(again(W, x), expected, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    assert again.plan(W, x) is saved
    with pytest.raises(jc.PlanFormatError, match=r"edge .* \(3, 4\) in the plan, .* \(3, 5\) here"):
        again.plan(torch.ones(3, 5, dtype=torch.float64), torch.ones(5, dtype=torch.float64))


def test_torch_program_plans_once_per_dtype(monkeypatch):
    torch = pytest.importorskip("torch")
    import jacchain.torch
    import jacchain.torch.function as torch_front

    calls = _counting(monkeypatch, torch_front, "plan_program")
    jac = jacchain.torch.jacobian(lambda x: torch.sin(x) * torch.sum(x))
    jac(torch.ones(3))
    jac(torch.zeros(3))
    jac.plan(torch.ones(3, dtype=torch.float64))
    assert len(calls) == 1 + 2 and len(jac.plans) == 2  # the first call checks the method
    assert len(jac._executors) == 1  # the same signature replays the same traced executor


def test_torch_sequential_follows_a_saved_plan(monkeypatch):
    torch = pytest.importorskip("torch")
    import jacchain.torch
    import jacchain.torch.sequence as torch_layers

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 2), torch.nn.Tanh(), torch.nn.Linear(2, 6))
    x = torch.randn(6)
    J, p = jacchain.torch.jacobian(model, x, return_plan=True)
    saved = jc.Plan.from_json(p.to_json())
    monkeypatch.setattr(torch_layers, "cached_plan", _refuse)
    assert torch.equal(jacchain.torch.jacobian(model, x, plan=saved), J)
    with pytest.raises(jc.PlanFormatError, match="dims 6 -> 2 -> 2 -> 6, but .* 6 -> 2 -> 2$"):
        jacchain.torch.jacobian(model[:2], x, plan=saved)
