"""The Graphax / AlphaGrad benchmark tasks (experiments/graphax_tasks.py) are sound.

Each task runs on its example inputs, returns finite outputs of its documented shapes, and
its Jacobian by ``jax.jacfwd`` equals that by ``jax.jacrev`` in float64 (forward and reverse
mode share no code path, so agreement validates the task's differentiability on its
sampled domain). These tests check the tasks, not jacchain; the suite that compares
jacchain with JAX is experiments/graphax_suite.py.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import jacchain.jax  # noqa: E402

_PATH = Path(__file__).resolve().parents[1] / "experiments" / "graphax_tasks.py"
_SPEC = importlib.util.spec_from_file_location("graphax_tasks", _PATH)
gt = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = gt  # dataclasses resolve annotations through sys.modules
_SPEC.loader.exec_module(gt)

NAMES = sorted(gt.TASKS)


@pytest.fixture(autouse=True, scope="module")
def float64():
    """Every test here runs in float64; the previous setting is restored afterwards."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
"""XLA options that cut these programs' compile time by about a third (measured: 17.9 s to
11.6 s for the ten); they run in microseconds either way. Compilation is most of this file's
time: the ten programs take about 16 s of CPU, merged into one program too."""


@functools.cache
def compiled(name: str):
    """One jitted program: a task's flat output, and its Jacobian by jacchain and by jacrev.

    The inputs are flattened into one vector and the outputs into another, so each mode's
    Jacobian is one (outputs, inputs) matrix: the same entries as with ``argnums`` over
    every input, at a fraction of the compile time (one leaf instead of hundreds).
    """
    task = gt.TASKS[name]
    _, unravel = ravel_pytree(task.inputs(dtype=jnp.float64))

    def flat(v):
        return ravel_pytree(task(*unravel(v)))[0]

    def program(v):
        # a short search (auto stops at 0.2 s here): the plan changes, the Jacobian must not
        return flat(v), jacchain.jax.jacobian(flat, time_limit=0.2)(v), jax.jacrev(flat)(v)

    return jax.jit(program, compiler_options=FAST_COMPILE)


def evaluate(name: str, seed: int):
    """A task's float64 inputs for ``seed``, then its flat output and both Jacobians
    (jacchain's vertex elimination first, jax.jacrev second)."""
    xs = gt.TASKS[name].inputs(seed=seed, dtype=jnp.float64)
    return xs, *compiled(name)(ravel_pytree(xs)[0])


def assert_same_jacobian(forward, reverse, rtol: float = 1e-9) -> None:
    """Equal entries within ``rtol`` of the Jacobian's largest magnitude (at least 1)."""
    scale = max(float(jnp.max(jnp.abs(reverse))), 1.0)
    np.testing.assert_allclose(forward, reverse, rtol=rtol, atol=rtol * scale)


def test_the_ten_tasks_with_their_published_counts():
    assert set(gt.TASKS) == set(gt.PUBLISHED) and len(gt.TASKS) == 10
    for name, counts in gt.PUBLISHED.items():
        assert len(counts) == 3 and all(isinstance(c, int) and c > 0 for c in counts), name
    for task in gt.TASKS.values():
        assert task.source.startswith("jamielohoff/graphax") and task.description


@pytest.mark.parametrize("name", NAMES)
def test_task_runs_finite_with_documented_shapes(name):
    """Float64 (the suite's --x64); its float32 default is checked by the suite each run.

    jacchain's Jacobian (vertex elimination on the task's structured graph) equals jax.jacrev's.
    """
    task = gt.TASKS[name]
    xs, out, J_forward, J_reverse = evaluate(name, seed=0)
    assert all(x.dtype == jnp.float64 for x in xs)
    gt.check_shapes(task, xs, jax.eval_shape(task.function, *xs))  # raises on any difference
    assert out.shape == (gt.output_count(task),) and bool(jnp.all(jnp.isfinite(out)))
    assert J_reverse.shape == (gt.output_count(task), gt.input_count(task))
    assert bool(jnp.all(jnp.isfinite(J_reverse)))
    assert_same_jacobian(J_forward, J_reverse)


@pytest.mark.parametrize("name", NAMES)
def test_jacobian_layout_is_jax_jacobians(name):
    """With argnums over every input, leaf (i, j) has output i's shape + input j's shape."""
    task = gt.TASKS[name]
    argnums = gt.all_argnums(task)
    J = jax.eval_shape(jax.jacrev(task.function, argnums=argnums), *task.inputs())
    leaves = [leaf.shape for leaf in jax.tree.leaves(J)]
    assert leaves == [o + i for o in task.output_shapes for i in task.input_shapes]


@settings(max_examples=settings.default.max_examples)
@given(name=st.sampled_from(NAMES), seed=st.integers(0, 2**32 - 1))
def test_sampled_domain_is_valid_and_forward_equals_reverse(name, seed):
    """Any seed's inputs lie in the domain: finite outputs and Jacobians; jacchain == jacrev."""
    _, out, J_forward, J_reverse = evaluate(name, seed)
    assert bool(jnp.all(jnp.isfinite(out))) and bool(jnp.all(jnp.isfinite(J_reverse)))
    assert_same_jacobian(J_forward, J_reverse)


def test_inputs_are_deterministic_per_seed():
    task = gt.TASKS["Encoder"]
    same = zip(task.inputs(seed=7), task.inputs(seed=7), strict=True)
    assert all(bool(jnp.array_equal(a, b)) for a, b in same)
    assert not bool(jnp.array_equal(task.inputs(seed=7)[0], task.inputs(seed=8)[0]))


@pytest.mark.parametrize("name", NAMES)
def test_batched_inputs_stack_sequential_draws_for_vmap(name):
    task = gt.TASKS[name]
    xs = gt.batched_inputs(task, 5, seed=3, dtype=jnp.float64)
    assert [x.shape for x in xs] == [(5, *shape) for shape in task.input_shapes]
    rng = np.random.default_rng(3)  # row i: the i-th draw from one generator seeded 3
    for i in range(5):
        for column, drawn in zip(xs, task.sample(rng), strict=True):
            np.testing.assert_array_equal(np.asarray(column[i]), drawn)
    assert len({tuple(np.ravel(row)) for row in np.asarray(xs[0])}) == 5  # distinct draws
    out = jax.eval_shape(jax.vmap(task.function), *xs)
    assert [leaf.shape for leaf in jax.tree.leaves(out)] == [
        (5, *shape) for shape in task.output_shapes
    ]


def test_bad_batch_and_wrong_shapes_are_refused():
    task = gt.TASKS["HumanHeartDipole"]
    with pytest.raises(ValueError, match="batch must be at least 1"):
        gt.batched_inputs(task, 0)
    xs = task.inputs()
    with pytest.raises(ValueError, match="input shapes"):
        gt.check_shapes(task, xs[:-1], task(*xs))
    with pytest.raises(ValueError, match="output shapes"):
        gt.check_shapes(task, xs, task(*xs)[:-1])
    with pytest.raises(TypeError, match="g takes 15 inputs"):
        gt.random_g(*gt.TASKS["g"].inputs()[:3])


@pytest.mark.parametrize("name", ["RobotArm_6DOF", "HumanHeartDipole", "PropaneCombustion", "g"])
def test_the_counted_convention_reproduces_alphagrads_published_counts(name):
    """AlphaGrad counts multiplications (+-1 partials included, sums of paths free): on these
    four tasks jacchain's graphs give its forward, reverse and Markowitz counts exactly."""
    from jacchain.jax.program import program_graph, trace_program
    from jacchain.programs.elimination import plan_program

    task = gt.TASKS[name]
    program, _, _ = trace_program(task.function, *task.inputs(seed=0, dtype=np.float32))
    graph = program_graph(program, program.inputs)
    plan = plan_program(graph.partials(), graph.intermediates, "markowitz",
                        unit_partials="counted",
                        assembly_cost={c: graph.assembly_cost(c) for c in ("counted", "free")})
    assert (plan.forward_cost, plan.reverse_cost, plan.markowitz_cost) == gt.PUBLISHED[name]
