"""The PyTorch front end against torch.func.jacrev and jacfwd, in float64."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jacchain.torch as jct  # noqa: E402
from jacchain.errors import LayerError, ShapeError  # noqa: E402

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
