"""The exception hierarchy: every error jacchain raises on bad input is a JacChainError."""

from __future__ import annotations

import numbers
from typing import Any

__all__ = [
    "JacChainError",
    "DimensionError",
    "ShapeError",
    "LayerError",
    "OperatorError",
    "FileFormatError",
    "NonFiniteError",
    "MethodError",
    "PlanFormatError",
    "VerificationError",
    "GraphError",
    "MissingExtraError",
    "optional_import",
    "shown",
]


class JacChainError(ValueError):
    """Base class of every error jacchain raises for bad input.

    It subclasses :class:`ValueError`, so ``except ValueError`` keeps working.

    Examples
    --------
    >>> import jacchain as jc
    >>> try:
    ...     jc.Chain.from_dims([3])
    ... except jc.JacChainError as err:
    ...     print(type(err).__name__)
    DimensionError
    """


class DimensionError(JacChainError):
    """Dimensions that cannot describe a chain: too few, not positive ints, not a sequence."""


class ShapeError(JacChainError):
    """An array (or operator) whose shape does not match the chain it is used with."""


class LayerError(JacChainError):
    """A layer description that is inconsistent: an unknown kind, a non-square diagonal, ..."""


class OperatorError(ShapeError):
    """An operator that does not fit its layer's kind (e.g. no ``matmat`` for a matrix-free layer)."""


class FileFormatError(JacChainError):
    """A malformed input file; the message names the file and the line."""


class NonFiniteError(JacChainError):
    """An array holding NaN or infinite entries where finite values are required."""


class MethodError(JacChainError):
    """An unknown planning method, or options that the chosen method does not accept."""


class PlanFormatError(JacChainError):
    """Serialized plan text, or a step array, that is malformed or not a plan of its chain."""


class VerificationError(JacChainError):
    """A plan's result disagrees with pure forward or pure reverse evaluation.

    The :class:`~jacchain.execution.verify.VerificationReport` that failed is kept as ``.report``.
    """

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class GraphError(JacChainError):
    """A computational graph that cannot be planned or evaluated; the message names the node or edge.

    Raised for a graph that is not a directed acyclic ``networkx.DiGraph``, a node without a
    positive int ``size``, an edge whose ``kind`` or ``jacobian`` does not fit its nodes,
    inputs or outputs that are not nodes of the graph, and misuse of the tracer.
    """


class MissingExtraError(JacChainError, ImportError):
    """An optional dependency that a feature needs is not installed; the message names the extra.

    It subclasses :class:`ImportError` as well, so ``except ImportError`` keeps working.
    """


def optional_import(module: str, extra: str, feature: str) -> Any:
    """Import the optional dependency ``module``, or raise a MissingExtraError naming ``extra``.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``"matplotlib.figure"``.
    extra : str
        The jacchain extra that installs it, e.g. ``"plot"``.
    feature : str
        What needs it, for the message, e.g. ``"Plan.plot()"``.

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingExtraError
        When ``module`` cannot be imported.

    Examples
    --------
    >>> optional_import("json", "none", "this example").dumps([1])
    '[1]'
    >>> try:
    ...     optional_import("no_such_module_here", "plot", "Plan.plot()")
    ... except MissingExtraError as err:
    ...     print(err)
    Plan.plot() needs no_such_module_here, which is not installed: pip install 'jacchain[plot]'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.partition(".")[0]
        raise MissingExtraError(
            f"{feature} needs {top}, which is not installed: pip install 'jacchain[{extra}]'"
        ) from None


def shown(value: Any, limit: int = 60) -> str:
    """A short repr of ``value`` for an error message: huge ints are described, not printed.

    Python refuses to print ints of more than 4,300 digits, and a message must never fail;
    ints of more than 1,000 bits are described by their length.

    Examples
    --------
    >>> shown(10**5000), shown("x" * 100, limit=10)
    ('an int of 16610 bits', "'xxxxxx...")
    """
    if isinstance(value, numbers.Integral) and abs(int(value)).bit_length() > 1000:
        return f"an int of {abs(int(value)).bit_length()} bits"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
