"""jacchain.torch.jacobian on any PyTorch program, against torch.func.jacrev in float64."""

import pytest

torch = pytest.importorskip("torch")

import jacchain.torch as jct  # noqa: E402
from jacchain.errors import JacChainError, LayerError, MethodError, NonFiniteError, ShapeError  # noqa: E402
from jacchain.torch import rules  # noqa: E402

nn = torch.nn
F = torch.nn.functional
DTYPE = torch.float64
METHODS = ["forward", "reverse", "search"]  # the pure modes, and the search (never worse than Markowitz)


def close(ours, theirs):
    torch.utils._pytree.tree_map(
        lambda a, b: torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11), ours, theirs
    )


class Block(nn.Module):
    """A pre-norm residual hourglass block."""

    def __init__(self, width=12, hidden=3):
        super().__init__()
        self.norm, self.down, self.up = nn.LayerNorm(width), nn.Linear(width, hidden), nn.Linear(hidden, width)

    def forward(self, x):
        return x + self.up(F.gelu(self.down(self.norm(x))))


def models():
    torch.manual_seed(0)
    return {
        "residual": (nn.Sequential(Block(), Block(), nn.Linear(12, 5)), (12,)),
        "cnn": (nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(3, 2, 3), nn.Tanh(), nn.Flatten(0), nn.Linear(2 * 2 * 2, 4)),
                (1, 8, 8)),
        "transformer": (nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), (3, 8)),
        "conv1d_batchnorm": (nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3), nn.Softplus(),
                                           nn.Flatten(0), nn.Softmax(0)), (1, 2, 6)),
        "attention": (nn.MultiheadAttention(4, 2, batch_first=True), (1, 3, 4)),
    }


def as_function(name, model):
    if name == "attention":
        return lambda x: model(x, x, x)[0]
    return model


@pytest.mark.parametrize(("name", "method"), [(name, "auto") for name in models()] + [
    ("residual", "forward"), ("cnn", "forward"), ("transformer", "forward"),
    ("attention", "reverse"), ("conv1d_batchnorm", "reverse")])
def test_models_against_jacrev(name, method):
    model, shape = models()[name]
    model = model.to(DTYPE).eval()
    if name == "conv1d_batchnorm":  # running statistics away from 0 and 1
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    func = as_function(name, model)
    x = torch.randn(shape, dtype=DTYPE)
    close(jct.jacobian(func, method=method)(x), torch.func.jacrev(func)(x))


@pytest.mark.parametrize("name", list(models()))
def test_parameter_gradients_match_jacrev(name):
    """d <R, J> / d parameters, through jacchain's Jacobian and through jacrev's."""
    model, shape = models()[name]
    model = model.to(DTYPE).eval()
    func = as_function(name, model)
    x = torch.randn(shape, dtype=DTYPE)
    R = torch.randn_like(torch.func.jacrev(func)(x))

    def gradients(jacobian):
        model.zero_grad()
        (jacobian(x) * R).sum().backward()
        return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in model.parameters()]

    # eval-mode attention takes PyTorch's fused kernels, whose jacrev PyTorch cannot
    # differentiate again; the reference runs the plain path (jacchain traces plain ops)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            expected = gradients(torch.func.jacrev(func))
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    for method in ("forward", "reverse") if name == "residual" else ("auto",):
        close(gradients(jct.jacobian(func, method=method)), expected)


def test_pytrees_argnums_and_aux():
    def f(params, x, scale):
        hidden = torch.tanh(params["W"] @ x + params["b"])
        return {"y": hidden * scale, "s": (hidden ** 2).sum()}, hidden.detach()

    params = {"W": torch.randn(3, 4, dtype=DTYPE), "b": torch.randn(3, dtype=DTYPE)}
    args = (params, torch.randn(4, dtype=DTYPE), torch.tensor(1.5, dtype=DTYPE))
    for argnums in (0, 1, (0, 2), (-1, 1)):
        ours, aux = jct.jacobian(f, argnums=argnums, has_aux=True)(*args)
        theirs, their_aux = torch.func.jacrev(f, argnums=argnums, has_aux=True)(*args)
        close(ours, theirs)
        close(aux, their_aux)


def test_data_movement_and_reductions():
    def f(x, y):
        z = torch.cat([x[1:, ::2], y.flip(0)[:, :2]], dim=0)  # slices, flips, cat
        w = F.pad(z, (1, 0)).permute(1, 0).reshape(-1)
        parts = torch.split(w, [4, w.numel() - 4])
        return torch.stack([parts[0].sum(), parts[1].amax(), w.var(), torch.prod(parts[0])]) * x.mean()

    x, y = torch.randn(3, 4, dtype=DTYPE), torch.randn(2, 3, dtype=DTYPE)
    for method in METHODS:
        close(jct.jacobian(f, argnums=(0, 1), method=method)(x, y),
              torch.func.jacrev(f, argnums=(0, 1))(x, y))


def test_elementwise_operations():
    def f(x):
        a = torch.sigmoid(x) * torch.exp(-x) / (1.0 + x ** 2) - torch.rsqrt(x.abs() + 1)
        b = torch.where(x > 0, torch.log1p(x.abs()), torch.sin(x)) + torch.clamp(x, -0.5, 0.5)
        return F.gelu(a) + F.leaky_relu(b) + torch.erf(x).reciprocal().tanh() + x.sqrt().nan_to_num()

    x = torch.rand(5, dtype=DTYPE) + 0.1
    for method in METHODS:
        close(jct.jacobian(f, method=method)(x), torch.func.jacrev(f)(x))


def test_composes_with_vmap_jacrev_jacfwd_and_compile():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.LayerNorm(5), nn.Linear(5, 3)).to(DTYPE).eval()
    jac = jct.jacobian(model)
    xs = torch.randn(6, 4, dtype=DTYPE)
    close(torch.func.vmap(jac)(xs), torch.func.vmap(torch.func.jacrev(model))(xs))

    def f(x):
        return torch.sin(x).sum() * x[0] + (x ** 3).sum()

    x = xs[0]
    hessian = torch.func.hessian(f)(x)
    close(torch.func.jacrev(jct.jacobian(f))(x), hessian)
    close(torch.func.jacfwd(jct.jacobian(f, method="forward"))(x), hessian)
    close(torch.compile(jac, backend="eager")(x), torch.func.jacrev(model)(x))


def test_a_plan_is_made_once_per_signature():
    calls = []

    def f(x):
        calls.append(1)
        return torch.tanh(x)

    jac = jct.jacobian(f)
    x = torch.randn(3, dtype=DTYPE)
    jac(x), jac(x + 1), jac.plan(x)
    assert len(calls) == 1
    jac(torch.randn(4, dtype=DTYPE))
    assert len(calls) == 2
    assert jac.plan(x).cost <= min(jac.plan(x).forward_cost, jac.plan(x).reverse_cost)


def test_search_is_never_worse_than_the_pure_modes():
    model, shape = models()["residual"]
    jac = jct.jacobian(model.to(DTYPE).eval(), method="search", time_limit=0.3)
    plan = jac.plan(torch.randn(shape, dtype=DTYPE))
    assert plan.cost <= min(plan.forward_cost, plan.reverse_cost, plan.markowitz_cost)


def test_a_given_order_is_followed():
    def f(x):
        return torch.tanh(torch.sin(x) * 2.0).sum()

    x = torch.randn(4, dtype=DTYPE)
    G = jct.graph(f, x)
    inner = [v for v in G if G.nodes[v]["role"] == "intermediate"]
    for order in (inner, inner[::-1]):
        jac = jct.jacobian(f, order=order)
        assert list(jac.plan(x).order) == order
        close(jac(x), torch.func.jacrev(f)(x))


def test_chunked_sweeps_give_the_same_jacobian():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(0)).to(DTYPE)
    x = torch.randn(1, 6, 6, dtype=DTYPE)
    for chunk in (1, 5, None):
        close(jct.jacobian(model, chunk_size=chunk)(x), torch.func.jacrev(model)(x))


def test_operations_without_a_forward_rule_are_swept_in_reverse(monkeypatch):
    monkeypatch.setattr(rules, "NO_FORWARD_RULE", rules.NO_FORWARD_RULE | {"convolution"})
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(0), nn.Tanh())
    x = torch.randn(1, 7, dtype=DTYPE)
    jac = jct.jacobian(model.to(DTYPE), method="forward")
    swept = [data["partial"].sweeps for _, _, data in jct.graph(model, x).edges(data=True)
             if data["partial"].sweeps is not None]
    assert swept and all(jvp is None for jvp, _ in swept)

    def no_jvp(*args, **kwargs):
        raise AssertionError("a tangent sweep went through the convolution")

    monkeypatch.setattr(torch.func, "jvp", no_jvp)
    close(jac(x), torch.func.jacrev(model)(x))


def test_earlier_form_still_works():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh()).to(DTYPE)
    x = torch.randn(3, dtype=DTYPE)
    close(jct.jacobian(model, x), torch.func.jacrev(model)(x))
    close(jct.jacobian(model, x, "forward"), torch.func.jacrev(model)(x))


def test_bad_input():
    with pytest.raises(JacChainError, match="function or an nn.Module"):
        jct.jacobian(3)
    with pytest.raises(MethodError):
        jct.jacobian(torch.sin, method="sideways")
    with pytest.raises(MethodError, match="chunk_size"):
        jct.jacobian(torch.sin, chunk_size=0)
    with pytest.raises(ShapeError, match="argnums"):
        jct.jacobian(torch.sin, argnums=(0, 0))(torch.ones(2))
    with pytest.raises(ShapeError, match="floating-point inputs"):
        jct.jacobian(torch.sin)(torch.ones(2, dtype=torch.int64))
    with pytest.raises(ShapeError, match="floating-point tensor outputs"):
        jct.jacobian(lambda x: (x > 0))(torch.ones(2))
    with pytest.raises(ShapeError, match="pair"):
        jct.jacobian(torch.sin, has_aux=True)(torch.ones(2))
    with pytest.raises(LayerError, match="control flow"):
        jct.jacobian(lambda x: x if x.sum() > 0 else -x)(torch.ones(2))
    with pytest.raises(NonFiniteError):
        jct.jacobian(torch.sqrt)(torch.zeros(2, dtype=DTYPE))
    with pytest.raises(NonFiniteError):
        jct.jacobian(torch.sin)(torch.tensor([1.0, float("nan")]))
    for error in (MethodError, ShapeError, LayerError, NonFiniteError):
        assert issubclass(error, ValueError)


def test_reshapes_next_to_dense_and_diagonal_partials():
    """Reshapes that merge or split axes compose by reshaping the neighbour's factor (a
    dense one) or by their 0/1 matrix (next to a diagonal): both agree with jacrev."""
    W = torch.randn(5, 12, dtype=DTYPE)

    def f(x):
        merged = torch.tanh(x).reshape(12)  # (3, 4) -> (12,): a diagonal before, a dense after
        split = (W @ merged).repeat(2)[:10].reshape(2, 5)
        return torch.sin(split).reshape(5, 2).permute(1, 0) * split.sum()

    x = torch.randn(3, 4, dtype=DTYPE)
    for method in METHODS:
        close(jct.jacobian(f, method=method)(x), torch.func.jacrev(f)(x))


def test_mutations_are_traced_functionalized():
    """make_fx keeps in-place operations; such programs are traced by torch.export instead,
    which functionalizes them, and the Jacobian is jacrev's."""
    from jacchain.torch.program import trace_program

    def inplace(x):
        y = x.clone()
        y.mul_(2.0)
        y.add_(torch.sin(x))
        return y[:2] * y.sum()

    x = torch.linspace(0.1, 1.0, 5, dtype=DTYPE)
    assert trace_program(lambda x: [inplace(x)], [x])[1] == "torch.export"
    assert trace_program(lambda x: [torch.sin(x) * x], [x])[1] == "torch.fx"
    torch.testing.assert_close(jct.jacobian(inplace)(x), torch.func.jacrev(inplace)(x))
