"""Anytime search for cheap vertex elimination orders.

Finding the cheapest elimination order is NP-hard (Naumann, Math. Program. 112, 2008);
forward, reverse and Markowitz orders are one-pass heuristics. :func:`search_order`
improves on them within a time or iteration budget by randomized greedy construction with
restarts from prefixes of the best order found (GRASP with path relinking in the style of
"ruin and recreate"):

- the seeds (forward, reverse, Markowitz, or any given orders) are costed first, so the
  result is never worse than any of them;
- each iteration keeps a prefix of the best order so far (its state is restored from a
  snapshot), then finishes the order greedily, choosing next the vertex that is cheapest
  to eliminate now, its cost perturbed by a random factor in ``[1, 1 + noise]`` (ties
  broken at random; ``noise`` varies between iterations, 0 included);
- or it keeps the best order past the prefix with one vertex moved to another place, or a
  few vertices moved earlier or later by random distances (local moves around the best
  order);
- a construction is abandoned as soon as its cost exceeds the best cost (branch and bound);
- an order that costs less becomes the best, and its prefixes the new restart points; one
  that costs the same replaces it too (a move along a plateau of equal costs, common where
  many partials cost alike).

The search is independent of the cost model: it drives any :class:`SearchModel` (the
linearized graphs of :mod:`jacchain.graphs.elimination`, the structured program graphs of
:mod:`jacchain.jax`). For a given ``seed`` it visits the same sequence of orders, so a
longer budget finds an order at least as cheap; ``iterations`` fixes the budget exactly
(reproducible anywhere), ``time_limit`` stops it at the best order found so far.
"""

from __future__ import annotations

import heapq
import logging
import random
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import MethodError, shown
from ..progress import ProgressBar, check_progress, progress_bar

__all__ = ["SearchModel", "SearchResult", "search_order", "replay", "check_budget", "NOISES",
           "DEFAULT_TIME_LIMIT", "SEARCH_PATIENCE", "LONG_SEARCH"]

logger = logging.getLogger(__name__)

NOISES = (0.0, 0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 10.0)
"""The perturbations a construction draws from (0: greedy, ties broken at random; 10:
nearly a random order)."""

DEFAULT_TIME_LIMIT = 1.0
"""Seconds of search by default (the planners run it for every new graph)."""

LONG_SEARCH = 5.0
"""Seconds of budget past which a search shows its progress bar by default (on a terminal)."""

SEARCH_PATIENCE = 3000
"""Without a time limit of their own, the planners' searches also stop after this many
constructions in a row without improvement."""

FRESH_START = 0.25
"""The share of constructions that start from the empty order rather than a prefix."""

NEARBY = 0.5
"""The share of constructions that perturb the best order instead of building greedily."""

SHIFTS = (0.02, 0.05, 0.1, 0.2)
"""The chances that a vertex moves in a perturbed order."""


class SearchModel(Protocol):
    """What the search needs of an elimination cost model.

    A *state* is the graph after some eliminations; :meth:`eliminate` changes it in place.
    """

    intermediates: tuple[int, ...]

    def start(self) -> Any:
        """The state before any elimination."""

    def copy(self, state: Any) -> Any:
        """An independent copy of ``state``."""

    def cost(self, state: Any, v: int) -> int:
        """The cost of eliminating ``v`` now."""

    def eliminate(self, state: Any, v: int) -> int:
        """Eliminate ``v`` from ``state``; its cost."""

    def neighbours(self, state: Any, v: int) -> Iterable[int]:
        """The vertices whose cost may change when ``v`` is eliminated."""


@dataclass(frozen=True)
class SearchResult:
    """The best order found and how the search went.

    Attributes
    ----------
    order : tuple of int
        The best order (every intermediate once).
    cost : int
        Its cost.
    seeds : dict
        ``{name: cost}`` of the seed orders.
    iterations : int
        Constructions tried.
    seconds : float
        Time spent.
    history : tuple of (float, int)
        ``(seconds, cost)`` at each improvement, the seeds' best first.
    """

    order: tuple[int, ...]
    cost: int
    seeds: dict[str, int]
    iterations: int
    seconds: float
    history: tuple[tuple[float, int], ...]


def replay(model: SearchModel, order: Sequence[int]) -> int:
    """The cost of eliminating ``order`` under ``model``.

    Examples
    --------
    >>> from jacchain.graphs.search import _ChainModel
    >>> replay(_ChainModel([10, 1, 10, 1]), (2, 1))
    20
    """
    state = model.start()
    return sum(model.eliminate(state, v) for v in order)


def search_order(
    model: SearchModel,
    seeds: Mapping[str, Sequence[int]],
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    iterations: int | None = None,
    patience: int | None = None,
    progress: bool | Callable[[SearchResult], None] | None = None,
) -> SearchResult:
    """Search for an elimination order cheaper than the ``seeds``.

    Parameters
    ----------
    model : SearchModel
    seeds : mapping
        ``{name: order}``: the orders to start from (at least one).
    time_limit : float or None
        Stop after this many seconds (None: no limit).
    seed : int
        The random seed: the same seed visits the same orders.
    iterations : int, optional
        Stop after this many constructions.
    patience : int, optional
        Stop after this many constructions in a row without improvement.
    progress : bool or callable, optional
        True: a progress bar on standard error (tqdm, the extra ``progress``) over the
        time limit (else the iterations), its text the best cost so far; False: none; a
        callable receives a :class:`SearchResult` at each improvement instead. By default
        the bar is shown when standard error is a terminal, tqdm is installed and the
        budget is long: a time limit over :data:`LONG_SEARCH` seconds, or patience alone.
        Improvements are logged (DEBUG) to ``logging.getLogger("jacchain")`` in any case.

    Returns
    -------
    SearchResult

    Raises
    ------
    MethodError
        If no budget is given (no time limit, iterations or patience), a budget is not a
        non-negative number, or ``progress`` is not None, a bool or a callable.
    MissingExtraError
        If ``progress`` is True and tqdm is not installed.

    Examples
    --------
    >>> from jacchain.graphs.search import _ChainModel
    >>> model = _ChainModel([1000, 10, 1000, 10, 1000])
    >>> result = search_order(model, {"forward": (1, 2, 3)}, time_limit=None, iterations=50)
    >>> result.cost, result.seeds
    (10200000, {'forward': 30000000})
    """
    check_budget(time_limit, iterations, patience, seed)
    report = progress if callable(progress) else None
    enabled = False if report is not None else check_progress(progress)
    if not seeds:
        raise MethodError("the search needs at least one seed order")
    clock = time.perf_counter()
    rng = random.Random(seed)
    costs = {name: replay(model, order) for name, order in seeds.items()}
    best_name = min(costs, key=lambda name: costs[name])
    best_order, best_cost = tuple(seeds[best_name]), costs[best_name]
    history = [(time.perf_counter() - clock, best_cost)]
    if len(model.intermediates) <= 1:  # one order only
        return SearchResult(best_order, best_cost, costs, 0, history[0][0], tuple(history))
    snapshots = _snapshots(model, best_order)
    count = since = 0
    with _search_bar(enabled, time_limit, iterations) as bar:
        bar.note(f"best cost {best_cost:,}")
        while not _spent(clock, time_limit, iterations, count, patience, since):
            count += 1
            if bar.shown:
                bar.advance_to(count if time_limit is None else time.perf_counter() - clock)
            fresh = rng.random() < FRESH_START or len(snapshots) == 1
            position, state, prefix_cost = snapshots[0] if fresh else rng.choice(snapshots[:-1])
            if rng.random() < NEARBY:
                found = _nearby(model, model.copy(state), best_order, position, prefix_cost, rng,
                                best_cost)
            else:
                found = _construct(model, model.copy(state), best_order[:position], prefix_cost,
                                   rng.choice(NOISES), rng, best_cost)
            if found is None or found[0] == best_order:
                since += 1
                continue
            improved = found[1] < best_cost
            best_order, best_cost = found  # an equal cost moves along the plateau
            snapshots = _snapshots(model, best_order)
            if not improved:
                since += 1
                continue
            since = 0
            history.append((time.perf_counter() - clock, best_cost))
            bar.note(f"best cost {best_cost:,}")
            logger.debug("search: cost %s after %d constructions, %.2f s", f"{best_cost:,}",
                         count, history[-1][0])
            if report is not None:
                report(SearchResult(best_order, best_cost, costs, count, history[-1][0],
                                    tuple(history)))
    seconds = time.perf_counter() - clock
    logger.debug("search: best cost %s after %d constructions in %.2f s (seeds: %s)",
                 f"{best_cost:,}", count, seconds, costs)
    return SearchResult(best_order, best_cost, costs, count, seconds, tuple(history))


def check_budget(time_limit: Any, iterations: Any, patience: Any, seed: Any) -> None:
    """Raise a MethodError unless the budget is non-negative numbers (one at least) and
    the seed an int.

    Examples
    --------
    >>> check_budget(1.0, None, None, 0)
    >>> check_budget(None, None, None, 0)
    Traceback (most recent call last):
    ...
    jacchain.errors.MethodError: the search needs a budget: time_limit, iterations or patience
    """
    for name, value in (("time_limit", time_limit), ("iterations", iterations),
                        ("patience", patience)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise MethodError(f"{name} must be a non-negative number or None, got {shown(value)}")
    if time_limit is None and iterations is None and patience is None:
        raise MethodError("the search needs a budget: time_limit, iterations or patience")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise MethodError(f"seed must be an int, got {shown(seed)}")


def _spent(clock: float, time_limit: float | None, iterations: int | None, count: int,
           patience: int | None, since: int) -> bool:
    if iterations is not None and count >= iterations:
        return True
    if patience is not None and since >= patience:
        return True
    return time_limit is not None and time.perf_counter() - clock >= time_limit


def _search_bar(enabled: bool | None, time_limit: float | None,
                iterations: int | None) -> ProgressBar:
    """The search's bar: over its time limit, else its iterations; by default (None) only
    for a long budget (over :data:`LONG_SEARCH` seconds, or patience alone)."""
    long = time_limit > LONG_SEARCH if time_limit is not None else iterations is None
    if enabled is None and not long:
        enabled = False
    if time_limit is not None:
        return progress_bar(time_limit, "search", enabled, unit="s")
    return progress_bar(iterations, "search", enabled, unit="orders")


def _snapshots(model: SearchModel, order: tuple[int, ...]) -> list[tuple[int, Any, int]]:
    """States along ``order`` to restart from: ``(position, state, cost so far)``, about
    sixteen, the empty prefix first and the whole order last."""
    step = max(1, len(order) // 16)
    state, cost = model.start(), 0
    snapshots = [(0, model.copy(state), 0)]
    for position, v in enumerate(order, start=1):
        cost += model.eliminate(state, v)
        if position % step == 0 or position == len(order):
            snapshots.append((position, model.copy(state), cost))
    return snapshots


def _construct(
    model: SearchModel,
    state: Any,
    prefix: tuple[int, ...],
    cost: int,
    noise: float,
    rng: random.Random,
    bound: int,
) -> tuple[tuple[int, ...], int] | None:
    """Finish ``prefix`` greedily under perturbed costs; None once it costs more than
    ``bound``."""
    done = set(prefix)

    def key(v: int) -> tuple[float, float]:
        return (model.cost(state, v) * (1.0 + noise * rng.random()), rng.random())

    keys = {v: key(v) for v in model.intermediates if v not in done}
    heap = [(value, v) for v, value in keys.items()]
    heapq.heapify(heap)
    order = list(prefix)
    while heap:
        value, v = heapq.heappop(heap)
        if keys.get(v) != value:
            continue
        del keys[v]
        touched = list(model.neighbours(state, v))
        cost += model.eliminate(state, v)
        if cost > bound:
            return None
        order.append(v)
        for x in touched:
            if x in keys:
                keys[x] = key(x)
                heapq.heappush(heap, (keys[x], x))
    return tuple(order), cost


def _nearby(
    model: SearchModel,
    state: Any,
    best: tuple[int, ...],
    position: int,
    cost: int,
    rng: random.Random,
    bound: int,
) -> tuple[tuple[int, ...], int] | None:
    """The best order past ``position`` with one vertex moved to another place, or a few
    moved earlier or later by random distances; None once it costs more than ``bound``."""
    rest = list(best[position:])
    if rng.random() < 0.5:  # one vertex moves anywhere later in the order (an insertion)
        v = rest.pop(rng.randrange(len(rest)))
        rest.insert(rng.randrange(len(rest) + 1), v)
    else:  # a few vertices move by random distances
        chance, reach = rng.choice(SHIFTS), max(2, len(rest) // 4)
        keyed = []
        for rank, v in enumerate(rest):
            shift = rng.choice((-1, 1)) * rng.uniform(1, reach) if rng.random() < chance else 0.0
            keyed.append((rank - shift, rank, v))
        rest = [v for _key, _rank, v in sorted(keyed)]
    order = list(best[:position])
    for v in rest:
        cost += model.eliminate(state, v)
        if cost > bound:
            return None
        order.append(v)
    return tuple(order), cost


class _ChainModel:
    """Vertex elimination on a path graph with dense edges (for examples and tests)."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = list(sizes)
        self.intermediates = tuple(range(1, len(sizes) - 1))

    def start(self) -> dict[Hashable, Any]:
        n = len(self.sizes)
        return {"pred": list(range(-1, n - 1)), "succ": list(range(1, n + 1))}

    def copy(self, state: dict[Hashable, Any]) -> dict[Hashable, Any]:
        return {"pred": list(state["pred"]), "succ": list(state["succ"])}

    def cost(self, state: dict[Hashable, Any], v: int) -> int:
        sizes = self.sizes
        return sizes[state["pred"][v]] * sizes[v] * sizes[state["succ"][v]]

    def eliminate(self, state: dict[Hashable, Any], v: int) -> int:
        cost = self.cost(state, v)
        u, w = state["pred"][v], state["succ"][v]
        state["succ"][u], state["pred"][w] = w, u
        return cost

    def neighbours(self, state: dict[Hashable, Any], v: int) -> list[int]:
        return [state["pred"][v], state["succ"][v]]
