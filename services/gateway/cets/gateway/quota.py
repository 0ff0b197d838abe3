"""Each officer's search quota: at most ``amount`` searches in any ``per_s`` seconds.

A search takes a place in its officer's window once the gateway has checked it, and gives it
back when the federation refuses it as invalid: a mistyped search costs nothing. Counted in
this process's memory (so per gateway replica).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from limits import parse

__all__ = ["Place", "Quota"]


@dataclass(frozen=True, slots=True)
class Place:
    """One search's place in its officer's window."""

    officer: str
    at: float


class Quota:
    def __init__(self, rate: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        """``rate`` like ``30/minute`` (checked by the settings)."""
        item = parse(rate)
        self.amount: int = item.amount
        self.per_s: float = float(item.get_expiry())
        self._clock = clock
        self._windows: dict[str, deque[float]] = {}

    def take(self, officer: str) -> Place | None:
        """A place for one search by ``officer``, or None when the window is full."""
        now = self._clock()
        self._forget(now)
        window = self._windows.setdefault(officer, deque())
        if len(window) >= self.amount:
            return None
        window.append(now)
        return Place(officer, now)

    def give_back(self, place: Place) -> None:
        """The search did not count (the federation refused it as invalid)."""
        window = self._windows.get(place.officer)
        if window is not None and place.at in window:
            window.remove(place.at)

    def retry_after_s(self, officer: str) -> int:
        """Whole seconds until ``officer`` may search again (at least 1)."""
        window = self._windows.get(officer)
        if not window:
            return 1
        return max(1, math.ceil(window[0] + self.per_s - self._clock()))

    def _forget(self, now: float) -> None:
        horizon = now - self.per_s
        for officer in list(self._windows):
            window = self._windows[officer]
            while window and window[0] <= horizon:
                window.popleft()
            if not window:
                del self._windows[officer]
