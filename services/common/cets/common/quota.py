"""A moving-window quota: at most ``amount`` uses by each holder in any ``per_s`` seconds.

The gateway counts each officer's searches with it, a node each partner agency's requests.
A use takes a place in its holder's window, and can be given back (a search refused as
invalid costs nothing). Counted in this process's memory, so per replica. Each use costs a
few microseconds: the holder's window is trimmed when it is used, and every other window at
most once per ``per_s``, so a quota stays small however many holders come and go.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from limits import parse

__all__ = ["Place", "Quota"]


@dataclass(frozen=True, slots=True)
class Place:
    """One use's place in its holder's window."""

    holder: Hashable
    at: float


class Quota:
    def __init__(self, rate: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        """``rate`` like ``30/minute`` (checked by the settings)."""
        item = parse(rate)
        self.amount: int = item.amount
        self.per_s: float = float(item.get_expiry())
        self._clock = clock
        self._windows: dict[Hashable, deque[float]] = {}
        self._swept = clock()

    def take(self, holder: Hashable) -> Place | None:
        """A place for one use by ``holder``, or None when its window is full."""
        now = self._clock()
        self._sweep(now)
        window = self._window(holder, now)
        if len(window) >= self.amount:
            return None
        window.append(now)
        return Place(holder, now)

    def give_back(self, place: Place) -> None:
        """The use did not count (for instance, the search was refused as invalid)."""
        window = self._windows.get(place.holder)
        if window is not None and place.at in window:
            window.remove(place.at)

    def retry_after_s(self, holder: Hashable) -> int:
        """Whole seconds until ``holder`` may use it again (at least 1)."""
        now = self._clock()
        window = self._window(holder, now)
        if len(window) < self.amount:
            return 1
        return max(1, math.ceil(window[0] + self.per_s - now))

    def _window(self, holder: Hashable, now: float) -> deque[float]:
        window = self._windows.setdefault(holder, deque())
        horizon = now - self.per_s
        while window and window[0] <= horizon:
            window.popleft()
        return window

    def _sweep(self, now: float) -> None:
        """Drop the windows of holders with no use left in them (at most once per period)."""
        if now - self._swept < self.per_s:
            return
        self._swept = now
        horizon = now - self.per_s
        for holder in [h for h, w in self._windows.items() if not w or w[-1] <= horizon]:
            del self._windows[holder]
