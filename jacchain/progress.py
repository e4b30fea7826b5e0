"""Progress bars for long operations: a tqdm bar on a terminal, or when asked; silent otherwise.

Every long operation of jacchain (calibration, searches with a time limit, the exact
elimination near its limit) reports through :func:`progress_bar`, and the experiments
through :func:`tracked`. Their ``enabled`` argument is the ``progress=`` of the public
functions: ``None`` shows a bar only when standard error is a terminal and tqdm (the
extra ``progress``) is installed, ``True`` always (tqdm missing: a MissingExtraError
naming the extra), ``False`` never. Nothing else is ever written: what jacchain has to
say otherwise goes to ``logging.getLogger("jacchain")``, silent unless configured.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sized
from types import TracebackType
from typing import Any, TypeVar

from .errors import MethodError, MissingExtraError, optional_import, shown

__all__ = ["ProgressBar", "progress_bar", "tracked", "check_progress"]

T = TypeVar("T")

_TIMED_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.3g}/{total:.3g} s{postfix}"
"""A bar whose units are seconds: its count is the time spent."""


def check_progress(enabled: Any) -> bool | None:
    """``enabled`` checked: None, True or False, else a MethodError.

    Examples
    --------
    >>> check_progress(None), check_progress(True)
    (None, True)
    >>> check_progress("yes")
    Traceback (most recent call last):
    ...
    jacchain.errors.MethodError: progress must be None, True or False, got 'yes'
    """
    if enabled is None or isinstance(enabled, bool):
        return enabled
    raise MethodError(f"progress must be None, True or False, got {shown(enabled)}")


class ProgressBar:
    """A tqdm bar, or nothing at all when silent; use :func:`progress_bar` to make one.

    Every method does nothing on a silent bar, so code reports progress without asking
    whether anyone watches. It is a context manager that closes the bar.

    Examples
    --------
    >>> with ProgressBar() as bar:  # silent
    ...     bar.update(3)
    ...     bar.note("cost 42")
    >>> bar.shown
    False
    """

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn."""
        return self._bar is not None

    def update(self, n: float = 1) -> None:
        """Advance the bar by ``n``."""
        if self._bar is not None:
            self._bar.update(n)

    def advance_to(self, n: float) -> None:
        """Set the bar's count to ``n`` (e.g. the seconds spent so far) when it is further."""
        if self._bar is not None and n > self._bar.n:
            self._bar.update(min(n, self._bar.total or n) - self._bar.n)

    def note(self, text: str) -> None:
        """Show ``text`` after the bar (e.g. the best cost found so far)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text)

    def close(self) -> None:
        """Close the bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _on_terminal() -> bool:
    """Whether standard error is a terminal."""
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except (AttributeError, ValueError):  # a stream without isatty, or a closed one
        return False


def progress_bar(
    total: float | None = None,
    desc: str = "",
    enabled: bool | None = None,
    unit: str = "it",
    leave: bool = False,
) -> ProgressBar:
    """A progress bar on standard error (tqdm), or a silent one.

    Parameters
    ----------
    total : float, optional
        The count at completion (None: unknown; the bar counts up). With ``unit="s"``
        the count is seconds, advanced with :meth:`ProgressBar.advance_to`.
    desc : str
        The text before the bar.
    enabled : bool or None
        ``None``: a bar only when standard error is a terminal and tqdm is installed;
        ``True``: a bar; ``False``: silent.
    unit : str
        What is counted.
    leave : bool
        Keep the finished bar on screen.

    Returns
    -------
    ProgressBar

    Raises
    ------
    MissingExtraError
        If ``enabled`` is True and tqdm is not installed (extra ``progress``).
    MethodError
        If ``enabled`` is not None, True or False.

    Examples
    --------
    >>> with progress_bar(total=3, desc="layers", enabled=False) as bar:
    ...     for _ in range(3):
    ...         bar.update()
    >>> bar.shown
    False
    """
    enabled = check_progress(enabled)
    if enabled is False or (enabled is None and not _on_terminal()):
        return ProgressBar()
    try:
        tqdm = optional_import("tqdm", "progress", "a progress bar").tqdm
    except MissingExtraError:
        if enabled:
            raise
        return ProgressBar()  # on a terminal without tqdm: silent, as not asked for
    options: dict[str, Any] = {"bar_format": _TIMED_FORMAT} if unit == "s" and total else {}
    return ProgressBar(tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr,
                            dynamic_ncols=True, **options))


def tracked(
    items: Iterable[T],
    desc: str = "",
    enabled: bool | None = None,
    total: int | None = None,
    unit: str = "it",
    leave: bool = False,
) -> Iterator[T]:
    """Iterate over ``items`` while a :func:`progress_bar` counts them.

    ``total`` defaults to ``len(items)`` where items have a length; the other parameters
    are :func:`progress_bar`'s.

    Examples
    --------
    >>> [x * x for x in tracked(range(4), "squares", enabled=False)]
    [0, 1, 4, 9]
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    return _counted(items, progress_bar(total, desc, enabled, unit, leave))  # errors now


def _counted(items: Iterable[T], bar: ProgressBar) -> Iterator[T]:
    with bar:
        for item in items:
            yield item
            bar.update()
