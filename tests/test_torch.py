"""The PyTorch front end against torch.func.jacrev and jacfwd, in float64."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jacchain.torch as jct  # noqa: E402
from jacchain.errors import LayerError, NonFiniteError, ShapeError  # noqa: E402

nn = torch.nn


class Reversal(nn.Module):
    """A module of no known type: matrix-free."""

    def forward(self, x):
        return torch.sin(x.flip(0))


def random_model(seed):
    """Every layer type once, in random order, as an nn.Sequential in float64."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    size = int(rng.integers(2, 6))
    n_in, modules = size, []
    size_preserving = {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "softplus": nn.Softplus,
        "gelu": nn.GELU,
        "softmax": lambda: nn.Softmax(dim=0),
        "identity": nn.Identity,
        "dropout": lambda: nn.Dropout(0.5).eval(),
        "reversal": Reversal,
    }
    for kind in rng.permutation(["linear", "layernorm", *size_preserving]):
        if kind == "linear":
            n_out = int(rng.integers(1, 6))
            modules.append(nn.Linear(size, n_out))
            size = n_out
        elif kind == "layernorm":
            modules.append(nn.LayerNorm(size))
        else:
            modules.append(size_preserving[kind]())
    return nn.Sequential(*modules).double(), n_in


@pytest.mark.parametrize("seed", range(6))
def test_random_models_of_every_layer_type(seed):
    model, n_in = random_model(seed)
    x = torch.randn(n_in, dtype=torch.float64)
    reverse, forward = torch.func.jacrev(model)(x), torch.func.jacfwd(model)(x)
    torch.testing.assert_close(forward, reverse)
    for method in ("auto", "forward", "reverse"):
        J, p = jct.jacobian(model, x, method, return_plan=True)
        assert J.shape == reverse.shape and J.dtype == torch.float64
        torch.testing.assert_close(J, reverse, rtol=1e-10, atol=1e-12)
        assert p.method == method
    lambdas = [*model, lambda v: 2 * v]  # a list of modules and plain callables works too
    torch.testing.assert_close(jct.jacobian(lambdas, x), 2 * reverse, rtol=1e-10, atol=1e-12)


def test_layer_kinds():
    kinds = [
        jct.layer_kind(module)
        for module in (
            nn.Linear(3, 2),
            nn.Tanh(),
            nn.LeakyReLU(),
            nn.Identity(),
            nn.Dropout(),
            nn.Dropout().eval(),
            nn.Softmax(dim=0),
            torch.sin,
        )
    ]
    assert kinds == [
        "dense",
        "diagonal",
        "diagonal",
        "identity",
        "matrix-free",
        "identity",
        "matrix-free",
        "matrix-free",
    ]


def test_a_model_whose_optimal_plan_is_mixed():
    torch.manual_seed(0)
    dims = [12, 2, 12, 2, 12]
    modules = []
    for n, m in zip(dims[:-1], dims[1:], strict=True):
        modules += [nn.Linear(n, m), nn.Tanh()]
    model = nn.Sequential(*modules[:-1]).double()
    x = torch.randn(12, dtype=torch.float64)
    J, p = jct.jacobian(model, x, return_plan=True)
    assert p.mode == "mixed" and p.cost < min(p.forward_cost, p.reverse_cost)
    assert jct.plan(model, x) is p
    torch.testing.assert_close(J, torch.func.jacrev(model)(x), rtol=1e-10, atol=1e-12)


def test_the_jacobian_is_differentiable_in_the_parameters():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Softmax(dim=0), nn.Linear(4, 2)).double()
    x = torch.randn(3, dtype=torch.float64)
    grads = []
    for jacobian in (lambda: jct.jacobian(model, x), lambda: torch.func.jacrev(model)(x)):
        model.zero_grad()
        (jacobian() ** 2).sum().backward()
        grads.append(
            [
                torch.zeros_like(parameter) if parameter.grad is None else parameter.grad.clone()
                for parameter in model.parameters()  # J does not depend on the last bias
            ]
        )
    for ours, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_bad_input():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(5, 2)).double()
    with pytest.raises(
        ShapeError, match=r"layer 3 .* takes inputs of size 5, but layer 2 produces"
    ):
        jct.jacobian(model, torch.ones(3, dtype=torch.float64))
    good = model[:2]
    with pytest.raises(ShapeError, match=r"x must be a 1-D vector, got shape \(3, 1\)"):
        jct.jacobian(good, torch.ones(3, 1, dtype=torch.float64))
    with pytest.raises(ShapeError, match="x must be a 1-D torch.Tensor, got ndarray"):
        jct.jacobian(good, np.ones(3))
    with pytest.raises(ShapeError, match="takes inputs of size 3, but x has size 4"):
        jct.jacobian(good, torch.ones(4, dtype=torch.float64))
    with pytest.raises(ShapeError, match=r"layer 1 \(LayerNorm\) cannot take x"):
        jct.jacobian([nn.LayerNorm(5)], torch.ones(4))
    with pytest.raises(LayerError, match=r"layer 2 is a str \('tanh'\), not a module or callable"):
        jct.jacobian([nn.Tanh(), "tanh"], torch.ones(3))
    with pytest.raises(ShapeError, match="layer 1's output must be a 1-D vector"):
        jct.jacobian([torch.sum], torch.ones(3))
    with pytest.raises(ShapeError, match="layer 1 .* must return a 1-D tensor, got tuple"):
        jct.jacobian([lambda v: (v, v)], torch.ones(3))


# --- gradients of the Jacobian: every supported module type, every plan direction --------


class Scaled(nn.Module):
    """A custom module with a parameter: matrix-free."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, 4, dtype=torch.float64))

    def forward(self, x):
        return torch.sin(self.scale * x.flip(0)) * x.sum()


CAPTURED = torch.linspace(-1.0, 1.0, 4, dtype=torch.float64).requires_grad_(True)


def activation(name):
    return nn.Threshold(0.1, 20.0) if name == "Threshold" else getattr(nn, name)()


MODULE_TYPES = {
    **{name: (lambda name=name: activation(name)) for name in jct.ELEMENTWISE_MODULES},
    "Identity": nn.Identity,
    "Dropout (eval)": lambda: nn.Dropout(0.5).eval(),
    "LayerNorm": lambda: nn.LayerNorm(4),
    "Softmax": lambda: nn.Softmax(dim=0),
    "LogSoftmax": lambda: nn.LogSoftmax(dim=0),
    "custom module": Scaled,
    "function": lambda: lambda v: torch.cos(v) * (CAPTURED @ v),  # a captured leaf
}


def gradients(jacobian, layers, x, R):
    """d<J, R>/d(x, every parameter), zeros where autograd leaves None."""
    leaves = [x, CAPTURED, *(p for m in layers if isinstance(m, nn.Module) for p in m.parameters())]
    for leaf in leaves:
        leaf.grad = None
    (jacobian() * R).sum().backward()
    return [torch.zeros_like(t) if t.grad is None else t.grad.clone() for t in leaves]


@pytest.mark.parametrize("name", sorted(MODULE_TYPES))
def test_gradients_of_the_jacobian_match_jacrev(name):
    if name == "Hardsigmoid":
        pytest.skip("PyTorch cannot differentiate hardsigmoid_backward (nor torch.func.jacrev)")
    torch.manual_seed(3)
    module = MODULE_TYPES[name]()
    module = module.double() if isinstance(module, nn.Module) else module
    layers = [nn.Linear(3, 4).double(), module, nn.Linear(4, 2).double()]

    def model(v):
        for layer in layers:
            v = layer(v)
        return v

    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    R = torch.randn(2, 3, dtype=torch.float64)
    expected = gradients(lambda: torch.func.jacrev(model)(x), layers, x, R)
    for method in ("forward", "reverse", "auto"):
        got = gradients(lambda method=method: jct.jacobian(layers, x, method), layers, x, R)
        for ours, theirs in zip(got, expected, strict=True):
            torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-11)
        with torch.no_grad():  # forward mode allowed: the values stay right
            J = jct.jacobian(layers, x, method)
        torch.testing.assert_close(J, torch.func.jacrev(model)(x), rtol=1e-10, atol=1e-12)


def test_layer_norm_reproducer_of_issue_9():
    """The tangent sweep through LayerNorm gave lin.weight.grad[0, 0] = 1.6510, not 1.97656."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 30)).double()
    x = torch.randn(4, dtype=torch.float64)
    R = torch.randn(30, 4, dtype=torch.float64)
    grads = []
    for jacobian in (lambda: jct.jacobian(model, x), lambda: torch.func.jacrev(model)(x)):
        model.zero_grad()
        (jacobian() * R).sum().backward()
        grads.append(model[0].weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)
    with torch.no_grad():  # no gradients needed: forward mode through LayerNorm is planned
        assert "tangent[J2]" in jct.plan(model, x).expression
    assert "tangent" not in jct.plan(model, x).expression  # VJPs only where autograd follows


# --- refusals: random layers, failing sweeps, non-finite values ---------------------------


def test_dropout_in_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    with pytest.raises(LayerError, match=r"layer 2 \(Dropout\) is in training mode: its Jacobian is random; call model.eval\(\)"):
        jct.jacobian(model, torch.ones(3))
    nested = nn.Sequential(nn.Sequential(nn.Tanh(), nn.RReLU()))
    with pytest.raises(LayerError, match=r"layer 1 \(Sequential\) \(its submodule '1', RReLU\) is in training"):
        jct.jacobian(nested, torch.ones(3))
    np.testing.assert_allclose(jct.jacobian(model.eval(), torch.ones(3)).detach(), model[0].weight.detach())


class NoForwardMode(torch.autograd.Function):
    """sin with a backward rule only: forward-mode AD fails inside PyTorch."""

    @staticmethod
    def forward(x):
        return torch.sin(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        return grad * torch.cos(ctx.saved_tensors[0])


def test_a_failing_sweep_names_the_layer():
    x = torch.linspace(0.0, 1.0, 3, dtype=torch.float64)
    layers = [torch.nn.Linear(3, 3).double().requires_grad_(False), NoForwardMode.apply]
    with torch.no_grad(), pytest.raises(LayerError, match=r"layer 2 \(apply\) failed in its tangent sweep: RuntimeError"):
        jct.jacobian(layers, x, "forward")
    expected = torch.cos(layers[0](x))[:, None] * layers[0].weight
    torch.testing.assert_close(jct.jacobian(layers, x, "reverse"), expected)


def test_non_finite_values_are_refused_when_concrete():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh()).double()
    bad = torch.tensor([1.0, float("nan"), 0.0], dtype=torch.float64)
    with pytest.raises(NonFiniteError, match="x has NaN or infinite entries"):
        jct.jacobian(model, bad)
    with pytest.raises(NonFiniteError, match="the Jacobian has NaN or infinite entries: a matrix-free layer"):
        jct.jacobian([torch.sqrt], torch.zeros(3, dtype=torch.float64))
    with pytest.raises(NonFiniteError, match=r"layer 2 \(log\) returned NaN or infinite values"):
        jct.jacobian([nn.Identity(), torch.log], -torch.ones(3, dtype=torch.float64))
    infinite = nn.Linear(2, 2).double().requires_grad_(False)
    infinite.weight[0, 0] = float("inf")
    with pytest.raises(NonFiniteError, match=r"layer 2 \(Linear\)'s Jacobian at its input"):
        jct.jacobian([nn.Tanh(), infinite], torch.ones(2, dtype=torch.float64))
    batch = torch.stack([bad, torch.ones(3, dtype=torch.float64)])
    J = torch.func.vmap(lambda v: jct.jacobian(model, v))(batch)  # abstract values: NaN flows
    assert torch.isnan(J[0]).all() and torch.isfinite(J[1]).all()
    torch.testing.assert_close(J[1], torch.func.jacrev(model)(batch[1]))


def test_bad_dtypes_and_outputs():
    with pytest.raises(ShapeError, match="x must hold real numbers, got dtype torch.complex64"):
        jct.jacobian([nn.Tanh()], torch.ones(3, dtype=torch.complex64))
    with pytest.raises(ShapeError, match="layer 1's output must hold floating-point numbers"):
        jct.jacobian([lambda v: v.long()], torch.ones(3))
    J = jct.jacobian([nn.Tanh()], torch.tensor([0, 1]))  # integers: the default float dtype
    assert J.dtype == torch.get_default_dtype()
