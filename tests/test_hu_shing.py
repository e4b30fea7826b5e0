"""Hu and Shing's O(k log k) planner: optimal like the DP and brute force, exact, valid steps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import bracketing_cost, brute_force_cost, textbook_dp_cost

import jacchain as jc
from jacchain.chains.validate import check_steps
from jacchain.solvers.dp import dp_table
from jacchain.solvers.hu_shing import _triangulate, hu_shing_steps
from jacchain.testing import dims_lists, plain_product, profile_examples, random_jacobians

examples = profile_examples  # a share of the loaded profile's max_examples (60 in "ci")


def hu_shing_plan(dims):
    """The Hu-Shing plan of ``dims``, after checking its steps and its own cost accounting."""
    chain = jc.Chain.from_dims(dims)
    steps = hu_shing_steps(chain)
    assert steps.dtype == np.int64
    assert check_steps(len(chain), steps) is None
    plan = jc.Plan.from_steps(chain, steps, "hu-shing")
    assert bracketing_cost(dims, steps) == plan.cost  # costed independently
    if len(chain) >= 2:
        claimed, triangles = _triangulate(chain.dims_array.tolist())
        assert claimed == plan.cost
        assert triangles.shape == (len(chain) - 1, 3)
    return plan


def dp_cost(dims):
    cost = dp_table(jc.Chain.from_dims(dims).dims_array).cost
    return cost


def assert_optimal(dims):
    assert hu_shing_plan(dims).cost == dp_cost(dims)


def v_shape(values):
    """Decreasing, then increasing: the smallest value in the middle."""
    values = sorted(values)
    return values[::2][::-1] + values[1::2]


def lambda_shape(values):
    """Increasing, then decreasing: the largest value in the middle."""
    values = sorted(values)
    return values[::2] + values[1::2][::-1]


@st.composite
def repeated_minima(draw, max_layers=120, spread=10**6):
    """Dims in which several vertices (at least two) share the least weight."""
    low = draw(st.integers(min_value=1, max_value=1000))
    dims = draw(st.lists(st.integers(low + 1, low + spread), min_size=3, max_size=max_layers + 1))
    where = draw(
        st.lists(
            st.integers(0, len(dims) - 1), min_size=2, max_size=max(2, len(dims) // 2), unique=True
        )
    )
    for position in where:
        dims[position] = low
    return dims


@settings(max_examples=examples(2 / 3))
@given(dims_lists(max_layers=8, max_dim=40))
def test_equals_dp_and_exhaustive_enumeration_on_short_chains(dims):
    best = brute_force_cost(dims)
    assert hu_shing_plan(dims).cost == best
    assert dp_cost(dims) == best


@settings(max_examples=examples(2 / 3))
@given(dims_lists(max_layers=8, max_dim=3))
def test_equals_exhaustive_enumeration_with_many_ties(dims):
    assert hu_shing_plan(dims).cost == brute_force_cost(dims)


@settings(max_examples=examples(2 / 3))
@given(dims_lists(max_layers=25, max_dim=10**5))
def test_equals_textbook_dp(dims):
    assert hu_shing_plan(dims).cost == textbook_dp_cost(dims)


@settings(max_examples=examples(1 / 4))
@given(dims_lists(min_layers=2, max_layers=200, max_dim=10**6))
def test_equals_dp_on_long_chains_with_wide_dims(dims):
    assert_optimal(dims)


@settings(max_examples=examples(5 / 12))
@given(dims_lists(min_layers=2, max_layers=120, max_dim=6))
def test_equals_dp_on_long_chains_with_few_distinct_dims(dims):
    assert_optimal(dims)


@settings(max_examples=examples(5 / 12))
@given(repeated_minima())
def test_equals_dp_when_several_vertices_share_the_least_weight(dims):
    assert_optimal(dims)


@settings(max_examples=examples(1 / 3))
@given(repeated_minima(spread=3))
def test_equals_dp_when_the_least_weight_repeats_among_near_ties(dims):
    assert_optimal(dims)


@settings(max_examples=examples(1 / 3))
@given(dims_lists(min_layers=2, max_layers=120, max_dim=10**6), st.sampled_from(range(4)))
def test_equals_dp_on_monotone_v_and_lambda_shapes(dims, shape):
    shaped = [sorted(dims), sorted(dims, reverse=True), v_shape(dims), lambda_shape(dims)][shape]
    assert_optimal(shaped)


@settings(max_examples=examples(1 / 3))
@given(st.lists(st.sampled_from([1, 1, 1, 2, 3, 64, 1000]), min_size=2, max_size=121))
def test_equals_dp_with_dims_of_one(dims):
    assert_optimal(dims)


@settings(max_examples=examples(1 / 3))
@given(st.lists(st.integers(0, 20).map(lambda e: 2**e), min_size=2, max_size=121))
def test_equals_dp_with_powers_of_two(dims):
    assert_optimal(dims)


@settings(max_examples=examples(1 / 3))
@given(st.lists(st.integers(10**7, 10**9), min_size=2, max_size=41))
def test_is_exact_when_costs_exceed_int64(dims):
    plan = hu_shing_plan(dims)
    assert isinstance(plan.cost, int)
    assert plan.cost == dp_cost(dims)
    if len(dims) >= 3:
        assert plan.cost > np.iinfo(np.int64).max


def test_is_exact_where_float64_would_tie():
    # Two bracketings whose costs differ by 1 around 1e21; supporting weights that close
    # must be compared exactly.
    big = 10**7
    for dims in ([big, big + 1, big, big + 1], [big + 1, big, big + 1, big, big + 1, big]):
        assert hu_shing_plan(dims).cost == textbook_dp_cost(dims) == brute_force_cost(dims)


@pytest.mark.parametrize(
    "name",
    ["random", "equal", "increasing", "decreasing", "v", "lambda", "sawtooth", "two-values"],
)
@pytest.mark.parametrize("scale", [1, 10**7])
def test_equals_dp_on_named_shapes_of_long_chains(name, scale):
    """300 layers; 150 where the costs need Python ints (the DP's slow exact path)."""
    k = 300 if scale == 1 else 150
    rng = np.random.default_rng(7)
    up = list(range(1, k + 2))
    dims = {
        "random": rng.integers(1, 10**6, k + 1).tolist(),
        "equal": [7] * (k + 1),
        "increasing": up,
        "decreasing": up[::-1],
        "v": v_shape(up),
        "lambda": lambda_shape(up),
        "sawtooth": ([5, 9, 3, 8] * k)[: k + 1],
        "two-values": rng.choice([1, 2], k + 1).tolist(),
    }[name]
    assert_optimal([d * scale for d in dims])


# --- thousands of seeded chains of 20-200 layers --------------------------------------------


def _repeated(rng, k):
    """Few distinct values, each repeated many times."""
    return rng.choice(rng.integers(1, 1000, int(rng.integers(2, 13))), k + 1)


def _narrow_band(rng, k):
    """Near-equal dims base..base+width: ties and near-ties between supporting weights."""
    base = int(rng.integers(1, 10_000))
    return base + rng.integers(0, int(rng.integers(2, max(3, base // 2 + 2))), k + 1)


def _motifs(rng, k):
    """Repeats of m, a, b, c, b, a (m < a < c < b): nested arcs with equal-weight ends."""
    dims = []
    while len(dims) <= k:
        m = int(rng.integers(1, 500))
        a = m + int(rng.integers(1, 5))
        c = a + int(rng.integers(1, 500))
        b = c + int(rng.integers(1, 500))
        dims += [m, a, b, c, b, a]
    return dims[: k + 1]


def _bottleneck(rng, k):
    """30% narrow dims (1..9) among wide ones (100..1000): mixed orders win."""
    narrow = rng.random(k + 1) < 0.3
    return np.where(narrow, rng.integers(1, 10, k + 1), rng.integers(100, 1001, k + 1))


CHAIN_FAMILIES = {
    "uniform": lambda rng, k: rng.integers(1, 1001, k + 1),
    "log-uniform": lambda rng, k: np.exp(rng.uniform(0, np.log(10**4), k + 1)).astype(np.int64) + 1,
    "small dims 1..4": lambda rng, k: rng.integers(1, 5, k + 1),
    "bottleneck": _bottleneck,
    "V": lambda rng, k: v_shape(rng.integers(1, 1001, k + 1).tolist()),
    "lambda": lambda rng, k: lambda_shape(rng.integers(1, 1001, k + 1).tolist()),
    "repeated values": _repeated,
    "narrow band": _narrow_band,
    "motifs": _motifs,
}


def seeded_chains(count, seed, min_layers=20, max_layers=200):
    """``count`` (family, dims) pairs, cycling through the families, from one seeded Generator."""
    rng = np.random.default_rng(seed)
    names = list(CHAIN_FAMILIES)
    for i in range(count):
        k = int(rng.integers(min_layers, max_layers + 1))
        dims = [int(d) for d in CHAIN_FAMILIES[names[i % len(names)]](rng, k)]
        assert len(dims) == k + 1 and min(dims) >= 1
        yield names[i % len(names)], dims


def test_equals_dp_on_thousands_of_seeded_chains_of_20_to_200_layers():
    # Fewer than 1 chain in 1000 of uniform dims exposes a Hu-Shing that welds one unit
    # instead of all (of the "narrow band" and "motifs" families, about 1 in 10): hundreds
    # of chains of every family, 720 in the "ci" profile, thousands in "thorough".
    count = profile_examples(12, minimum=700)
    wrong = []
    for family, dims in seeded_chains(count, seed=20240917):
        chain = jc.Chain.from_dims(dims)
        cost = bracketing_cost(dims, hu_shing_steps(chain))
        optimum = dp_table(chain.dims_array).cost
        if cost != optimum:
            wrong.append((family, len(dims) - 1, cost, optimum, dims))
    assert not wrong, f"{len(wrong)} of {count} chains not optimal; first: {wrong[0]}"


def test_equals_the_textbook_recurrence_on_seeded_chains_of_20_to_40_layers():
    count = profile_examples(5, minimum=100)
    for family, dims in seeded_chains(count, seed=7, max_layers=40):
        assert hu_shing_plan(dims).cost == textbook_dp_cost(dims), (family, dims)


@pytest.mark.parametrize(
    "dims",
    [
        [6, 7, 11, 9, 11, 7],  # the smallest chains where welding must go on past one unit
        [4, 5, 12, 8, 12, 5],
        [337, 707, 479, 707, 337, 271],
        [803, 817, 382, 335, 382, 817],
        [323, 352, 785, 785, 805, 898, 352],
    ],
)
def test_welds_every_unit_it_must(dims):
    assert hu_shing_plan(dims).cost == textbook_dp_cost(dims) == brute_force_cost(dims)


@settings(max_examples=examples(1 / 2))
@given(dims_lists(max_layers=12, max_dim=9))
def test_evaluating_the_plan_gives_the_plain_product(dims):
    jacobians = random_jacobians(dims, seed=len(dims))
    result = hu_shing_plan(dims).evaluate(jacobians)
    np.testing.assert_allclose(result, plain_product(jacobians), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", ["increasing", "decreasing", "v", "lambda", "random"])
def test_long_chains_need_no_recursion(shape):
    # The V and Lambda shapes nest every potential h-arc inside the next: the arc tree is
    # a path of ~k arcs, which a recursive traversal could not walk.
    k = 30_000
    up = list(range(1, k + 2))
    dims = {
        "increasing": up,
        "decreasing": up[::-1],
        "v": v_shape(up),
        "lambda": lambda_shape(up),
        "random": np.random.default_rng(3).integers(1, 10**4, k + 1).tolist(),
    }[shape]
    plan = hu_shing_plan(dims)
    if shape == "increasing":  # the fan from d0 (forward mode) is optimal
        assert plan.cost == plan.forward_cost
    if shape == "decreasing":
        assert plan.cost == plan.reverse_cost


def test_tiny_chains():
    assert hu_shing_steps(jc.Chain.from_dims([3, 4])).shape == (0, 4)
    assert hu_shing_steps(jc.Chain.from_dims([3, 4, 5])).tolist() == [[0, 1, 1, 2]]
    assert hu_shing_plan([1000, 10, 1000, 10, 1000]).cost == 10_200_000
