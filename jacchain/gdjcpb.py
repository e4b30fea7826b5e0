"""Reading Naumann's generalized dense Jacobian chain instances (GDJCPB text format)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from .chain import Chain, Layer
from .errors import FileFormatError

__all__ = ["read_gdjcpb", "parse_gdjcpb"]


def _ints(text: str, where: str, count: int) -> list[int]:
    fields = text.split()
    if len(fields) != count:
        raise FileFormatError(f"{where}: expected {count} integer(s), got {len(fields)}: {text!r}")
    values = []
    for field in fields:
        try:
            values.append(int(field))
        except ValueError:
            raise FileFormatError(f"{where}: {field!r} is not an integer") from None
    return values


def parse_gdjcpb(text: str, source: str = "<text>") -> Chain:
    """Parse GDJCPB text: a line with q, then q lines ``m n |E|`` in application order.

    Factor i maps R^n to R^m and its computational graph has |E| edges, so it becomes
    ``Layer(n, m, "matrix-free", edges=E)``: one tangent or adjoint sweep costs E per
    direction, an adjoint sweep records E units of tape. Blank lines are skipped.

    Raises
    ------
    FileFormatError
        Naming the line: a missing or extra number, a non-integer, a size below 1, a
        negative edge count, factors whose shapes do not chain, or fewer or more factors
        than q.

    Examples
    --------
    >>> chain = parse_gdjcpb("3\\n3 3 29\\n1 3 14\\n2 1 7\\n")
    >>> chain.dims, chain.layers[0].edges
    ((3, 3, 1, 2), 29)
    """
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
        layers.append(Layer(n, m, "matrix-free", edges=edges))
    return Chain(layers)


def read_gdjcpb(path: str | PathLike[str]) -> Chain:
    """Read a GDJCPB instance file as a chain of matrix-free layers.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Chain

    Raises
    ------
    FileFormatError
        If the file cannot be read or is malformed (the message names the line).

    See Also
    --------
    parse_gdjcpb : the format.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".gdjcpb", delete=False) as f:
    ...     _ = f.write("2\\n4 3 10\\n1 4 6\\n")
    >>> read_gdjcpb(f.name).dims
    (3, 4, 1)
    >>> os.remove(f.name)
    """
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise FileFormatError(f"cannot read {path}: {err}") from None
    return parse_gdjcpb(text, str(path))
