"""Collection: leave out the doctests whose extras are absent (the JAX and PyTorch front
ends, the Dask executor, the figures)."""

import importlib.util

import pytest

_NEEDS = {"jacchain/jax": "jax", "jacchain/torch": "torch",
          "jacchain/execution/dask_evaluate.py": "dask",
          "jacchain/plans/figure.py": "matplotlib", "jacchain/graphs/figure.py": "matplotlib"}

collect_ignore = [path for path, module in _NEEDS.items() if importlib.util.find_spec(module) is None]


def pytest_collection_modifyitems(items: list) -> None:
    """Skip the ``plot`` methods' doctests when matplotlib (the ``plot`` extra) is absent."""
    if importlib.util.find_spec("matplotlib") is not None:
        return
    skip = pytest.mark.skip(reason="needs the 'plot' extra (matplotlib)")
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name.endswith(".plot"):
            item.add_marker(skip)
