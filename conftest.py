"""Collection: leave out the JAX and PyTorch front ends' doctests when those extras are absent."""

import importlib.util

collect_ignore = [
    f"jacchain/{name}" for name in ("jax", "torch") if importlib.util.find_spec(name) is None
]
