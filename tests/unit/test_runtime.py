"""The runtime of a started service: its event loop and garbage collector (cets.common.runtime)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from cets.common import runtime


@pytest.fixture
def collector() -> Iterator[None]:
    """Whatever a test does to the collector is undone after it."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("collector")
def test_settle_freezes_what_is_alive_and_raises_only_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    kept = {"started": [1, 2]}
    runtime.settle()
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects())  # frozen: no generation lists it
    assert gc.get_threshold() == (runtime.YOUNG_THRESHOLD, 10, 10)
    # a cycle made after start-up is still garbage the collector finds
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


@pytest.mark.usefixtures("collector")
def test_settle_collects_start_up_garbage_before_freezing() -> None:
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    del a, b
    runtime.settle()
    gc.unfreeze()  # the frozen objects back in the generations: the pair is in neither
    assert not any(isinstance(o, Node) for o in gc.get_objects())


def test_a_service_runs_on_uvloop() -> None:
    async def main() -> tuple[str, int]:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__, 7

    assert runtime.run(main()) == ("uvloop", 7)
