"""The size limits of the cubic planners, stated once: they refuse up front instead of running out.

The dynamic programs take O(k^3) time and O(k^2) memory. Past the limits below they would
run for minutes and allocate gigabytes, so they raise a :class:`~jacchain.MethodError`
that states the limit and names a planner that can do the job. Measured on a 2-core
machine (``python experiments/planner_limits.py``), each limit keeps one call to a few
seconds and well under a gigabyte.
"""

from __future__ import annotations

from ..errors import MethodError

__all__ = [
    "MAX_DP_LAYERS",
    "MAX_DP_LAYERS_PYTHON_INTS",
    "MAX_GENERALIZED_LAYERS",
    "MAX_GENERALIZED_LAYERS_PYTHON_INTS",
    "dp_limit",
    "generalized_limit",
    "check_length",
]

MAX_DP_LAYERS = 1500
"""Most layers the dense O(k^3) DP plans with int64 tables (2 x 8 k^2 bytes: 36 MB)."""

MAX_DP_LAYERS_PYTHON_INTS = 300
"""Most layers the dense DP plans when its costs exceed int64 and it computes in Python ints."""

MAX_GENERALIZED_LAYERS = 500
"""Most layers Naumann's generalized O(k^3) DP plans with int64 tables."""

MAX_GENERALIZED_LAYERS_PYTHON_INTS = 200
"""Most layers the generalized DP plans when its costs exceed int64 (Python-int tables)."""


def dp_limit(exact_in_int64: bool) -> int:
    """The most layers the dense DP accepts, by the integer type its tables need.

    Examples
    --------
    >>> dp_limit(True), dp_limit(False)
    (1500, 300)
    """
    return MAX_DP_LAYERS if exact_in_int64 else MAX_DP_LAYERS_PYTHON_INTS


def generalized_limit(exact_in_int64: bool) -> int:
    """The most layers the generalized DP accepts, by the integer type its tables need.

    Examples
    --------
    >>> generalized_limit(True), generalized_limit(False)
    (500, 200)
    """
    return MAX_GENERALIZED_LAYERS if exact_in_int64 else MAX_GENERALIZED_LAYERS_PYTHON_INTS


def check_length(planner: str, k: int, limit: int, exact_in_int64: bool, instead: str) -> None:
    """Raise MethodError, before any work, if a cubic planner is asked to plan more than ``limit`` layers.

    Parameters
    ----------
    planner : str
        The planner's name, for the message.
    k : int
        The chain's number of layers.
    limit : int
        The most layers it accepts (:func:`dp_limit`, :func:`generalized_limit`).
    exact_in_int64 : bool
        Whether its tables are int64 (else Python ints, slower, with a lower limit).
    instead : str
        What can do the job, for the message.

    Examples
    --------
    >>> check_length("dp", 3000, 2000, True, "use 'hu-shing'")
    Traceback (most recent call last):
    ...
    jacchain.errors.MethodError: the 'dp' planner takes O(k^3) time and O(k^2) memory and plans at most 2,000 layers; this chain has 3,000: use 'hu-shing'
    """
    if k <= limit:
        return
    integers = "" if exact_in_int64 else " when its costs exceed int64 (exact Python ints)"
    raise MethodError(
        f"the {planner!r} planner takes O(k^3) time and O(k^2) memory and plans at most "
        f"{limit:,} layers{integers}; this chain has {k:,}: {instead}"
    )
