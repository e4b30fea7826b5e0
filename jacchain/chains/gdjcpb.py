"""Reading Naumann's generalized dense Jacobian chain instances (GDJCPB text format).

The instances of Naumann's paper ship with jacchain (``jacchain/data/gdjcpb``, with their
source noted there): :func:`gdjcpb_instances` lists them and :func:`read_gdjcpb` reads one
by name from any directory.
"""

from __future__ import annotations

from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from ..errors import FileFormatError, JacChainError
from .chain import Chain, Layer

__all__ = ["read_gdjcpb", "parse_gdjcpb", "gdjcpb_instances"]

_MAX_DIGITS = 40


def _ints(text: str, where: str, count: int) -> list[int]:
    fields = text.split()
    if len(fields) != count:
        raise FileFormatError(f"{where}: expected {count} integer(s), got {len(fields)}: {text!r}")
    values = []
    for field in fields:
        shown = field if len(field) <= _MAX_DIGITS else field[:_MAX_DIGITS] + "..."
        if len(field.lstrip("+-")) > _MAX_DIGITS:
            raise FileFormatError(f"{where}: {shown!r} has too many digits")
        try:
            values.append(int(field))
        except ValueError:
            raise FileFormatError(f"{where}: {shown!r} is not an integer") from None
    return values


def parse_gdjcpb(text: str, source: str = "<text>") -> Chain:
    """Parse GDJCPB text: a line with q, then q lines ``m n |E|`` in application order.

    Factor i maps R^n to R^m and its computational graph has |E| edges, so it becomes
    ``Layer(n, m, "matrix-free", edges=E)``: one tangent or adjoint sweep costs E per
    direction, an adjoint sweep records E units of tape. Blank lines are skipped.

    Raises
    ------
    FileFormatError
        Naming the line: a missing or extra number, a non-integer (or one of more than 40
        digits), a size below 1 or above 2**63 - 1, a negative or oversized edge count,
        factors whose shapes do not chain, or fewer or more factors than q; and text that
        is not a str.

    Examples
    --------
    >>> chain = parse_gdjcpb("3\\n3 3 29\\n1 3 14\\n2 1 7\\n")
    >>> chain.dims, chain.layers[0].edges
    ((3, 3, 1, 2), 29)
    """
    if not isinstance(text, str):
        raise FileFormatError(
            f"{source}: parse_gdjcpb takes the file's text as a str, got {type(text).__name__}"
        )
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise FileFormatError(f"{source}: empty file (expected the chain length q first)")
    number, first = lines[0]
    (q,) = _ints(first, f"{source}, line {number}", 1)
    if q < 1:
        raise FileFormatError(f"{source}, line {number}: the chain length q must be >= 1, got {q}")
    factors = lines[1:]
    if len(factors) != q:
        raise FileFormatError(f"{source}: q = {q} factors announced, {len(factors)} given")
    layers = []
    for number, line in factors:
        where = f"{source}, line {number}"
        m, n, edges = _ints(line, where, 3)
        if m < 1 or n < 1:
            raise FileFormatError(f"{where}: sizes must be >= 1, got m = {m}, n = {n}")
        if edges < 0:
            raise FileFormatError(f"{where}: the edge count must be >= 0, got {edges}")
        if layers and n != layers[-1].n_out:
            raise FileFormatError(
                f"{where}: this factor takes inputs of size {n} but the previous one "
                f"produces {layers[-1].n_out}: the shapes do not chain"
            )
        try:
            layers.append(Layer(n, m, "matrix-free", edges=edges))
        except JacChainError as err:
            raise FileFormatError(f"{where}: {err}") from None
    return Chain(layers)


def gdjcpb_instances() -> list[str]:
    """The names of the GDJCPB instances shipped with jacchain, sorted.

    Examples
    --------
    >>> "p_3_3.1" in gdjcpb_instances(), len(gdjcpb_instances())
    (True, 11)
    """
    folder = resources.files("jacchain") / "data" / "gdjcpb"
    return sorted(entry.name for entry in folder.iterdir() if entry.name != "README.md")


def _resolve(path: Any) -> tuple[Any, str]:
    """The file to read and its name for messages: a path, or a shipped instance's name."""
    if not isinstance(path, (str, PathLike)):
        what = type(path).__name__
        hint = ""
        if hasattr(path, "read"):
            hint = ": pass its path, or its text to jacchain.parse_gdjcpb"
        elif isinstance(path, bytes):
            hint = ": decode it first (os.fsdecode)"
        raise FileFormatError(
            f"read_gdjcpb(path): path must be a str or os.PathLike, got {what}{hint}"
        )
    try:
        candidate = Path(path)
    except TypeError as err:  # an os.PathLike whose __fspath__ gives bytes
        raise FileFormatError(f"read_gdjcpb(path): {err}") from None
    if not candidate.exists() and str(path) in gdjcpb_instances():
        return resources.files("jacchain") / "data" / "gdjcpb" / str(path), str(path)
    return candidate, str(path)


def read_gdjcpb(path: str | PathLike[str]) -> Chain:
    """Read a GDJCPB instance file as a chain of matrix-free layers.

    Parameters
    ----------
    path : str or path-like
        A file, or the name of an instance shipped with jacchain (:func:`gdjcpb_instances`,
        e.g. ``"p_3_3.1"``) when no such file exists.

    Returns
    -------
    Chain

    Raises
    ------
    FileFormatError
        If ``path`` is not a str or path-like, the file cannot be read, or it is
        malformed (the message names the file and the line).

    See Also
    --------
    parse_gdjcpb : the format.

    Examples
    --------
    >>> read_gdjcpb("p_3_3.1").dims
    (3, 3, 1, 2)
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".gdjcpb", delete=False) as f:
    ...     _ = f.write("2\\n4 3 10\\n1 4 6\\n")
    >>> read_gdjcpb(f.name).dims
    (3, 4, 1)
    >>> os.remove(f.name)
    """
    source, name = _resolve(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise FileFormatError(f"cannot read {name}: {err}") from None
    return parse_gdjcpb(text, name)
