"""Fuzzing the chain API, plan JSON, the GDJCPB reader and the CLI with hostile input.

Three things are asserted everywhere: only JacChainError subclasses escape; results are
never wrong (costs against a plain recursion, products against numpy.linalg.multi_dot);
refusals happen up front.
"""

import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_limits import peak_bytes  # tests/ is on the path

import jacchain as jc
from jacchain.chains.chain import KINDS
from jacchain.cli import main

SHARE = max(20, settings.default.max_examples)  # every fuzz test runs the profile's count
fuzz = settings(max_examples=SHARE, suppress_health_check=[HealthCheck.too_slow], deadline=None)


def textbook_cost(dims):
    """The matrix-chain optimum by the plain O(k^3) recursion over Python ints."""
    k = len(dims) - 1
    best = {(i, i): 0 for i in range(1, k + 1)}
    for length in range(2, k + 1):
        for lo in range(1, k - length + 2):
            hi = lo + length - 1
            best[lo, hi] = min(
                best[lo, s] + best[s + 1, hi] + dims[lo - 1] * dims[s] * dims[hi]
                for s in range(lo, hi)
            )
    return best[1, k]


scalars = st.one_of(
    st.integers(-5, 40),
    st.integers(2**62, 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
    st.just(np.int32(3)),
    st.just(np.float64(3.0)),
    st.just(3 + 0j),
)
dims_like = st.one_of(
    st.lists(st.integers(1, 30), min_size=0, max_size=9),
    st.lists(scalars, max_size=6),
    st.lists(st.integers(1, 30), max_size=6).map(tuple),
    st.lists(st.integers(1, 30), max_size=6).map(lambda d: np.array(d, dtype=np.int64)),
    st.lists(st.integers(1, 30), max_size=6).map(lambda d: np.array(d, dtype=np.float32)),
    st.lists(st.integers(1, 30), max_size=6).map(lambda d: np.array(d, dtype=np.uint8)),
    st.lists(st.integers(1, 30), min_size=1, max_size=6).map(lambda d: np.array([d])),
    st.lists(st.integers(1, 30), max_size=6).map(set),
    st.dictionaries(st.integers(1, 9), st.integers(1, 9), max_size=4),
    st.lists(st.integers(1, 30), max_size=6).map(lambda d: iter(d)),
    scalars,
)
methods = st.one_of(st.sampled_from(jc.method_names()), st.text(max_size=6), st.none(), scalars)
memory_limits = st.one_of(st.none(), st.integers(-3, 50), scalars)


@fuzz
@given(dims_like, methods, memory_limits)
def test_plan_on_anything_is_right_or_a_jacchain_error(dims, method, memory_limit):
    try:
        p = jc.plan(dims, method=method, memory_limit=memory_limit)
    except jc.JacChainError:
        return
    d = list(p.dims)
    assert min(d) >= 1 and len(d) >= 2
    assert p.cost <= min(p.forward_cost, p.reverse_cost) or method in ("forward", "reverse")
    if method in ("auto", "dp", "hu-shing"):
        assert p.cost == textbook_cost(d)
    if max(d) > 64:
        return
    Js = [np.random.default_rng(0).standard_normal((d[i + 1], d[i])) for i in range(len(d) - 1)]
    expected = Js[0] if len(Js) == 1 else np.linalg.multi_dot(Js[::-1])
    np.testing.assert_allclose(p.evaluate(Js), expected, rtol=1e-9, atol=1e-9)


layer_kwargs = st.fixed_dictionaries(
    {"n_in": scalars, "n_out": scalars},
    optional={
        "kind": st.one_of(st.sampled_from(KINDS), st.text(max_size=5), scalars),
        "nnz": scalars,
        "edges": scalars,
        "jvp_cost": scalars,
        "vjp_cost": scalars,
        "tape": scalars,
    },
)


@fuzz
@given(st.lists(layer_kwargs, min_size=0, max_size=4), methods, memory_limits)
def test_layers_and_chains_from_anything(kwargs_list, method, memory_limit):
    layers = []
    for kwargs in kwargs_list:
        try:
            layers.append(jc.Layer(**kwargs))
        except jc.JacChainError:
            continue
    try:
        chain = jc.Chain(layers)
        p = jc.plan(chain, method=method, memory_limit=memory_limit)
    except jc.JacChainError:
        return
    if method not in ("forward", "reverse"):
        assert p.cost <= min(p.forward_cost, p.reverse_cost)
    assert repr(p) and str(p)


operator_like = st.one_of(
    st.none(),
    scalars,
    st.lists(st.lists(st.integers(-3, 3), max_size=4), max_size=4),
    st.lists(st.integers(-3, 3), max_size=4).map(np.array),
    st.sampled_from(["dense", "int8", "bool", "object", "complex", "nan", "wrongshape", "3d"]),
)


def _materialize(token, shape, rng):
    if not isinstance(token, str):
        return token
    if token == "dense":
        return rng.standard_normal(shape)
    if token == "int8":
        return rng.integers(-100, 100, shape).astype(np.int8)
    if token == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if token == "object":
        return np.array(rng.standard_normal(shape), dtype=object)
    if token == "complex":
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    if token == "nan":
        value = rng.standard_normal(shape)
        value.flat[0] = np.nan
        return value
    if token == "wrongshape":
        return rng.standard_normal((shape[0] + 1, shape[1]))
    if token == "3d":
        return rng.standard_normal((1, *shape))
    return token


@fuzz
@given(
    st.lists(st.integers(1, 5), min_size=2, max_size=5),
    st.lists(operator_like, min_size=0, max_size=6),
    st.sampled_from(["auto", "forward", "reverse", "dp", "approx"]),
    st.booleans(),
)
def test_evaluate_on_anything_is_right_or_a_jacchain_error(dims, tokens, method, check):
    rng = np.random.default_rng(1)
    p = jc.plan(dims, method)
    shapes = [(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]
    operators = [
        _materialize(token, shapes[i] if i < len(shapes) else (1, 1), rng)
        for i, token in enumerate(tokens)
    ]
    try:
        J = p.evaluate(operators, check_finite=check)
    except jc.JacChainError:
        return
    numeric = [np.asarray(op) for op in operators]
    expected = numeric[0] if len(numeric) == 1 else np.linalg.multi_dot(
        [op.astype(np.result_type(op, 1.0)) for op in numeric[::-1]]
    )
    np.testing.assert_allclose(J, expected, rtol=1e-9, atol=1e-9)
    assert J.dtype.kind in "fc"


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 50),
        st.floats(allow_nan=False),
        st.text(max_size=6),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
_PLANS = [jc.plan([5, 2, 7, 3, 4]), jc.plan(jc.read_gdjcpb("p_3_3.1"), memory_limit=20)]


@fuzz
@given(st.sampled_from(_PLANS), st.data())
def test_tampered_plan_json_is_read_right_or_refused(plan, data):
    document = json.loads(plan.to_json())
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(sorted(document) + ["extra"]))
        if data.draw(st.booleans()):
            document.pop(key, None)
        else:
            document[key] = data.draw(json_values)
    text = json.dumps(document)
    try:
        read = jc.Plan.from_json(text)
    except jc.PlanFormatError:
        return
    assert read.cost == jc.Plan.from_steps(read.chain, read.step_array).cost
    assert jc.Plan.from_json(read.to_json()) == read


@fuzz
@given(st.one_of(st.text(max_size=200), st.binary(max_size=60)))
def test_plan_json_from_arbitrary_text(text):
    with contextlib.suppress(jc.PlanFormatError):
        jc.Plan.from_json(text)


gdjcpb_lines = st.lists(
    st.one_of(
        st.tuples(st.integers(-2, 6), st.integers(-2, 6), st.integers(-3, 40)).map(
            lambda t: " ".join(map(str, t))
        ),
        st.text(alphabet="0123456789 -+.xe\t", max_size=12),
        st.just("9" * 50),
    ),
    max_size=6,
)


@fuzz
@given(st.integers(-1, 6), gdjcpb_lines)
def test_gdjcpb_text_is_read_right_or_refused(q, lines):
    text = "\n".join([str(q), *lines])
    try:
        chain = jc.parse_gdjcpb(text, "fuzz.txt")
    except jc.FileFormatError as err:
        assert str(err).startswith("fuzz.txt")
        return
    factors = [list(map(int, line.split())) for line in lines if line.strip()]
    assert len(chain) == q == len(factors)
    assert chain.dims == (factors[0][1], *(m for m, _n, _e in factors))
    assert [layer.edges for layer in chain.layers] == [e for _m, _n, e in factors]
    p = jc.plan(chain)
    assert p.cost <= min(p.forward_cost, p.reverse_cost)


cli_words = st.one_of(
    st.sampled_from(
        ["plan", "demo", "--json", "--method", "dp", "auto", "--gdjcpb", "p_3_3.1",
         "--memory-limit", "--max-rows", "--seed", "--repeats", "-1", "0", "3", "1000", "x"]
    ),
    st.integers(-3, 2000).map(str),
    st.text(max_size=5),
)


@settings(max_examples=SHARE, deadline=None)
@given(st.lists(cli_words, max_size=7))
def test_the_cli_never_prints_a_traceback(argv):
    assume("demo" not in argv)  # the demo times real products: covered by tests/test_cli.py
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse's usage errors and --help
            status = exit_.code
    assert status in (0, 1, 2, None)
    assert "Traceback" not in err.getvalue()
    if status == 2 and err.getvalue().startswith("jacchain: error"):
        assert len(err.getvalue().strip().splitlines()) == 1
    assert "internal error" not in err.getvalue()


@pytest.mark.parametrize(
    "chain",
    [
        jc.Chain([jc.Layer(7, 3), jc.Layer(3, 7, "matrix-free", edges=21)] * 50_000),
        jc.Chain([jc.Layer(2, 2, "diagonal"), jc.Layer(2, 2)] * 251),
    ],
    ids=["100,000 structured layers", "502 structured layers"],
)
def test_the_generalized_dp_refuses_long_chains_up_front(chain):
    def refused():
        with pytest.raises(jc.MethodError, match="plans at most 500 layers"):
            jc.plan(chain, method="dp")

    assert peak_bytes(refused) < 100 * 2**20


def test_the_cli_refuses_and_plans_a_long_gdjcpb_file(tmp_path):
    path = tmp_path / "long.gdjcpb"
    path.write_text("800\n" + "3 3 7\n" * 800)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["plan", "--gdjcpb", str(path), "--method", "dp"]) == 2
    assert "plans at most 500 layers" in err.getvalue()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["plan", "--gdjcpb", str(path)]) == 0
    assert "chosen cost" in out.getvalue()


@fuzz
@given(
    st.lists(st.integers(1, 6), min_size=2, max_size=6),
    st.one_of(
        st.lists(st.lists(st.integers(-2, 7), min_size=4, max_size=4), max_size=6),
        st.lists(st.lists(st.integers(-2, 7), max_size=5), max_size=4),
        st.lists(scalars, max_size=4),
        scalars,
    ),
)
def test_plans_from_arbitrary_steps_are_right_or_refused(dims, steps):
    chain = jc.Chain.from_dims(dims)
    try:
        p = jc.Plan.from_steps(chain, steps)
    except jc.PlanFormatError:
        return
    Js = [np.random.default_rng(0).standard_normal((dims[i + 1], dims[i])) for i in range(len(dims) - 1)]
    expected = Js[0] if len(Js) == 1 else np.linalg.multi_dot(Js[::-1])
    np.testing.assert_allclose(p.evaluate(Js), expected, rtol=1e-9, atol=1e-9)
    assert p.cost >= textbook_cost(dims)


def test_from_steps_refuses_what_is_not_a_chain():
    with pytest.raises(jc.PlanFormatError, match="needs a jacchain.Chain, got list"):
        jc.Plan.from_steps([2, 3, 4], [[0, 1, 1, 2]])


@pytest.mark.parametrize("max_rows", ["x", None, 0, -1, 2.5, True])
def test_reports_refuse_a_bad_row_count(max_rows):
    graph_plan = jc.trace(lambda x: x * x, 2.0).plan()
    for plan in (jc.plan([3, 4, 5, 6]), graph_plan):
        with pytest.raises(jc.JacChainError, match="max_rows must be an int >= 1"):
            plan.report(max_rows=max_rows)


@pytest.mark.parametrize(
    "call",
    [
        lambda huge: jc.plan([2, 3], method=huge),
        lambda huge: jc.plan([2, huge]),
        lambda huge: jc.Layer(2, 2, kind=huge),
        lambda huge: jc.Layer(2, 2, "matrix-free", edges=huge),
        lambda huge: jc.plan_graph(__import__("networkx").DiGraph([(huge, 1)])),
        lambda huge: jc.trace(lambda x: x * 2, 1.0).plan().report(max_rows=-huge),
        lambda huge: jc.parse_gdjcpb("1\n2 2 " + "9" * 5000),
    ],
)
def test_messages_never_fail_on_ints_too_long_to_print(call):
    with pytest.raises(jc.JacChainError, match="an int of 16610 bits|too many digits"):
        call(10**5000)
