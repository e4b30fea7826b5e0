from hypothesis import given
from oracles import forward_mode_cost, reverse_mode_cost, spec_of

import jacchain as jc
from jacchain.chains.cost import fits_int64, product_cost
from jacchain.testing import dims_lists, layer_chains


@given(dims_lists(max_layers=12, max_dim=10**4))
def test_pure_costs_equal_their_closed_forms(dims):
    k = len(dims) - 1
    forward = dims[0] * sum(dims[i] * dims[i - 1] for i in range(2, k + 1))
    reverse = dims[k] * sum(dims[i] * dims[i - 1] for i in range(1, k))
    assert jc.forward_cost(dims) == forward
    assert jc.reverse_cost(dims) == reverse
    assert jc.plan(dims, "forward").cost == forward
    assert jc.plan(dims, "reverse").cost == reverse


@given(layer_chains(max_layers=10, max_dim=8, max_cost=100))
def test_structured_pure_costs_equal_the_layer_by_layer_formulas(chain):
    # Forward: a matrix-free first layer costs d0 tangent sweeps, then each layer is a
    # tangent step (matrix-free) or a product by structure; reverse mirrors it with d_k.
    spec = spec_of(chain)
    assert jc.forward_cost(chain) == forward_mode_cost(spec)
    assert jc.reverse_cost(chain) == reverse_mode_cost(spec)


@given(dims_lists(max_layers=12, max_dim=10**4))
def test_pure_costs_mirror(dims):
    assert jc.forward_cost(dims) == jc.reverse_cost(dims[::-1])


def test_costs_are_exact_beyond_int64_and_float64():
    d = 10**7 + 1
    dims = [d, d + 2, d + 4, d + 6]
    expected = d * ((d + 4) * (d + 2) + (d + 6) * (d + 4))
    assert expected > 2**63
    assert jc.forward_cost(dims) == expected
    assert isinstance(jc.forward_cost(dims), int)
    assert jc.plan(dims, "forward").cost == expected
    assert float(expected) != expected  # float64 would have lost it


def test_product_cost_and_int64_bound():
    assert product_cost(1000, 10, 1000) == 10**7
    assert fits_int64(10**5, 1000) is True
    assert fits_int64(10**7, 10) is False
