"""Collection: leave out the doctests of the modules whose extras are absent (the JAX and
PyTorch front ends, the Dask executor)."""

import importlib.util

_NEEDS = {"jacchain/jax": "jax", "jacchain/torch": "torch",
          "jacchain/execution/dask_evaluate.py": "dask"}

collect_ignore = [path for path, module in _NEEDS.items() if importlib.util.find_spec(module) is None]
