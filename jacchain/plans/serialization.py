"""Plans as JSON: an exact round trip, and a strict reader that checks what it reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from ..chains.chain import Chain, Layer
from ..chains.cost import layer_table
from ..chains.operations import Operation
from ..chains.validate import check_steps
from ..errors import JacChainError, PlanFormatError

__all__ = ["plan_to_json", "plan_from_json", "load_json", "check_header", "FORMAT", "VERSION"]

FORMAT = "jacchain.plan"
VERSION = 1
_OPERATIONS = {op.label: int(op) for op in Operation}
_CHECKED_FIELDS = (
    "cost",
    "forward_cost",
    "reverse_cost",
    "mode",
    "largest_intermediate",
    "largest_tape",
)
_LAYER_FIELDS = ("n_in", "n_out", "kind", "nnz", "edges", "jvp_cost", "vjp_cost", "tape")


def plan_to_json(plan: Any, indent: int | None = None) -> str:
    """The plan as JSON text: dims, method, steps, and the derived costs for readers.

    Examples
    --------
    >>> import jacchain as jc
    >>> print(plan_to_json(jc.plan([3, 4, 5])))  # doctest: +ELLIPSIS
    {"format": "jacchain.plan", "version": 1, "method": "auto", "dims": [3, 4, 5], ...}
    """
    document = {
        "format": FORMAT,
        "version": VERSION,
        "method": plan.method,
        "dims": list(plan.dims),
        "memory_limit": plan.memory_limit,
        "steps": [
            [Operation(op).label, lo, split, hi] for op, lo, split, hi in plan.step_array.tolist()
        ],
    }
    if not plan.chain.is_dense:
        document["layers"] = [
            {
                name: getattr(layer, name)
                for name in _LAYER_FIELDS
                if getattr(layer, name) is not None
            }
            for layer in plan.chain.layers
        ]
    document.update({field: getattr(plan, field) for field in _CHECKED_FIELDS})
    return json.dumps(document, indent=indent)


def _parse_chain(document: dict) -> Chain:
    try:
        chain = Chain.from_dims(document["dims"])
    except JacChainError as err:
        raise _fail(f"bad dims: {err}") from None
    raw_layers = document.get("layers")
    if raw_layers is None:
        return chain
    if not isinstance(raw_layers, list) or not all(isinstance(x, dict) for x in raw_layers):
        raise _fail("'layers' must be a list of objects")
    try:
        layers = [Layer(**{key: value for key, value in raw.items()}) for raw in raw_layers]
        structured = Chain(layers)
    except TypeError as err:
        raise _fail(f"bad layer fields ({err})") from None
    except JacChainError as err:
        raise _fail(f"bad layers: {err}") from None
    if structured.dims != chain.dims:
        raise _fail(f"the layers' sizes {list(structured.dims)} disagree with dims")
    return structured


def _fail(message: str) -> PlanFormatError:
    return PlanFormatError(f"not a valid jacchain plan: {message}")


def _parse_steps(raw: Any) -> np.ndarray:
    if not isinstance(raw, list):
        raise _fail(f"'steps' must be a list, got {type(raw).__name__}")
    rows = []
    for index, entry in enumerate(raw, start=1):
        if not (isinstance(entry, list) and len(entry) == 4):
            raise _fail(f"step {index} must be [operation, lo, split, hi], got {entry!r}")
        name, *bounds = entry
        if name not in _OPERATIONS:
            raise _fail(
                f"step {index} has unknown operation {name!r}; valid: {', '.join(_OPERATIONS)}"
            )
        if any(isinstance(b, bool) or not isinstance(b, int) for b in bounds):
            raise _fail(f"step {index} bounds must be ints, got {bounds!r}")
        rows.append([_OPERATIONS[name], *bounds])
    try:
        return np.array(rows, dtype=np.int64).reshape(-1, 4)
    except OverflowError as err:
        raise _fail(f"step bounds out of range ({err})") from None


_FIELDS = frozenset(
    {"format", "version", "method", "dims", "memory_limit", "steps", "layers", *_CHECKED_FIELDS}
)


def load_json(text: Any, fail: Callable[[str], PlanFormatError] | None = None) -> Any:
    """Parse JSON text; every failure (syntax, nesting depth, huge numbers, NaN or Infinity)
    is a PlanFormatError made by ``fail(message)`` (default: a plan's).

    Examples
    --------
    >>> load_json('{"a": [1, 2]}')
    {'a': [1, 2]}
    """
    fail = fail or _fail
    if not isinstance(text, (str, bytes, bytearray)):
        raise fail(f"expected JSON text (str or bytes), got {type(text).__name__}")

    def reject(name: str) -> None:
        raise fail(f"{name} is not a number a plan can hold")

    try:
        return json.loads(text, parse_constant=reject)
    except PlanFormatError:
        raise
    except RecursionError:
        raise fail("malformed JSON (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError, Python's digit limit
        raise fail(f"malformed JSON ({err})") from None


def check_header(
    document: Any,
    fields: frozenset[str],
    fmt: str,
    version: int,
    fail: Callable[[str], PlanFormatError],
    kind: str,
) -> None:
    """Refuse what is not a JSON object of ``kind`` with known ``fields``, format tag
    ``fmt`` and ``version`` (errors made by ``fail``).

    Examples
    --------
    >>> check_header({"format": FORMAT, "version": VERSION}, _FIELDS, FORMAT, VERSION, _fail,
    ...              "plan")
    >>> check_header([], _FIELDS, FORMAT, VERSION, _fail, "plan")
    Traceback (most recent call last):
    ...
    jacchain.errors.PlanFormatError: not a valid jacchain plan: expected a JSON object, got list
    """
    if not isinstance(document, dict):
        raise fail(f"expected a JSON object, got {type(document).__name__}")
    unknown = sorted(set(document) - fields)
    if unknown:
        raise fail(f"unknown field {unknown[0]!r}; a {kind} has {', '.join(sorted(fields))}")
    if document.get("format") != fmt:
        raise fail(f"'format' must be {fmt!r}, got {document.get('format')!r:.80}")
    found = document.get("version")
    if type(found) is not int or found != version:
        raise fail(f"unsupported version {found!r:.80} (this reader: the int {version})")


def plan_from_json(text: str | bytes, build: Callable[..., Any]) -> Any:
    """Read a plan from JSON text, checking its bracketing and derived fields against its dims.

    ``build(chain, steps, method, memory_limit)`` makes the plan (``Plan.from_json`` passes
    ``Plan.from_steps``; this module does not know the Plan class).

    Raises
    ------
    PlanFormatError
        On malformed JSON (also: nested too deeply, numbers over Python's digit limit,
        NaN or Infinity), an unknown field, a wrong format tag or version (the int 1), bad
        dims or layers, steps that do not form a bracketing of the chain, or a stored cost
        or mode that disagrees with the steps or is not an int (a string for the mode).

    Examples
    --------
    >>> import jacchain as jc
    >>> plan_from_json(jc.plan([2, 3, 4]).to_json(), jc.Plan.from_steps).dims
    (2, 3, 4)
    """
    document = load_json(text)
    check_header(document, _FIELDS, FORMAT, VERSION, _fail, "plan")
    for key in ("method", "dims", "steps"):
        if key not in document:
            raise _fail(f"missing field {key!r}")
    method = document["method"]
    if not isinstance(method, str) or not method:
        raise _fail(f"'method' must be a non-empty string, got {method!r}")
    chain = _parse_chain(document)
    memory_limit = document.get("memory_limit")
    if memory_limit is not None and (
        isinstance(memory_limit, bool) or not isinstance(memory_limit, int) or memory_limit < 0
    ):
        raise _fail(f"'memory_limit' must be null or a non-negative int, got {memory_limit!r}")
    steps = _parse_steps(document["steps"])
    table = None if chain.is_dense else layer_table(chain)
    problem = check_steps(len(chain), steps, table)
    if problem is not None:
        raise _fail(f"the steps do not make a plan for dims {list(chain.dims)}: {problem}")
    plan = build(chain, steps, method, memory_limit)
    if memory_limit is not None and plan.largest_tape > memory_limit:
        raise _fail(f"the steps record a tape of {plan.largest_tape}, over memory_limit")
    for field in _CHECKED_FIELDS:
        if field not in document:
            continue
        stored, expected = document[field], getattr(plan, field)
        if type(stored) is not type(expected):
            raise _fail(
                f"stored {field} {stored!r} must be {'an int' if field != 'mode' else 'a string'}"
            )
        if stored != expected:
            raise _fail(
                f"stored {field} {stored!r} disagrees with the steps, which give {expected!r}"
            )
    return plan
