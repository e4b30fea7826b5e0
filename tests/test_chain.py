import numpy as np
import pytest

import jacchain as jc
from jacchain.chains.chain import as_dims


@pytest.mark.parametrize(
    "bad",
    [
        None,
        5,
        3.0,
        "784 10",
        b"12",
        [],
        [7],
        [3, 0, 4],
        [3, -1, 4],
        [3, True, 4],
        [3, 4.0, 4],
        [3, "4", 4],
        [3, None, 4],
        [3, 2**63, 4],
        np.array([[3, 4]]),
        np.array([3.0, 4.0]),
        np.array([3, 0]),
        np.array([True, True]),
    ],
)
def test_bad_dims_raise_dimension_error(bad):
    with pytest.raises(jc.DimensionError):
        jc.Chain.from_dims(bad)
    with pytest.raises(jc.JacChainError):
        jc.plan(bad)
    with pytest.raises(ValueError):
        jc.plan(bad)


def test_dimension_error_names_the_position():
    with pytest.raises(jc.DimensionError, match=r"dims\[2\] = 0"):
        jc.Chain.from_dims([3, 4, 0, 5])


def test_dims_accepts_numpy_integers_and_arrays():
    assert as_dims([np.int32(3), np.uint8(4)]).tolist() == [3, 4]
    assert jc.Chain.from_dims(np.array([5, 6, 7], dtype=np.uint16)).dims == (5, 6, 7)
    assert jc.Chain.from_dims(range(1, 5)).dims == (1, 2, 3, 4)


def test_chain_basics():
    chain = jc.Chain.from_dims([784, 512, 10])
    assert len(chain) == 2
    assert chain.dims == (784, 512, 10)
    assert chain.shape == (10, 784)
    assert chain.layers == (jc.Layer(784, 512), jc.Layer(512, 10))
    assert chain == jc.Chain(chain.layers)
    assert hash(chain) == hash(jc.Chain.from_dims((784, 512, 10)))
    assert chain != jc.Chain.from_dims([784, 512, 11])
    with pytest.raises(AttributeError):
        chain.foo = 1


def test_chain_from_layers_checks_consecutive_shapes():
    with pytest.raises(jc.ShapeError, match="layer 2 takes inputs of size 4"):
        jc.Chain([jc.Layer(3, 5), jc.Layer(4, 2)])
    with pytest.raises(jc.DimensionError):
        jc.Chain([])
    with pytest.raises(jc.DimensionError):
        jc.Chain([jc.Layer(3, 5), (5, 2)])
    with pytest.raises(jc.DimensionError):
        jc.Chain(None)


@pytest.mark.parametrize("bad", [0, -2, 2.0, True, "3", None])
def test_bad_layer_sizes(bad):
    with pytest.raises(jc.DimensionError):
        jc.Layer(bad, 3)
    with pytest.raises(jc.DimensionError):
        jc.Layer(3, bad)


def test_long_chain_repr_is_short():
    chain = jc.Chain.from_dims(np.full(100_001, 7))
    assert len(chain) == 100_000
    assert len(repr(chain)) < 120
    assert "more" in repr(chain)


@pytest.mark.parametrize(
    "dims, match",
    [
        ({3: 1, 4: 1}, "ordered sequence .* got a dict"),
        ({3, 4}, "got a set"),
        (frozenset({3, 4}), "got a frozenset"),
        ({3: 1, 4: 1}.keys(), "got a dict_keys"),
        ([3, 2**70], r"dims\[1\] = 1180591620717411303424 is too large"),
        ([3, 10**5000], "an int of 16610 bits is too large"),
    ],
)
def test_unordered_or_oversized_dims_are_refused(dims, match):
    with pytest.raises(jc.DimensionError, match=match):
        jc.plan(dims)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_in=3, n_out=10**5000), jc.DimensionError, "at most 2\\*\\*63 - 1, got an int of"),
        (dict(n_in=3, n_out=3, kind="sparse", nnz=10**5000), jc.LayerError, "nnz must be at most"),
        (dict(n_in=3, n_out=3, kind="matrix-free", edges=2**64), jc.LayerError, "edges must be"),
        (dict(n_in=3, n_out=3, kind=["x"]), jc.LayerError, "unknown layer kind \\['x'\\]"),
    ],
)
def test_layers_with_oversized_or_odd_fields(kwargs, error, match):
    with pytest.raises(error, match=match):
        jc.Layer(**kwargs)
