"""The PDQ arithmetic of the core: hex form, distance, chunk keys, exact search keys."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from cets.core import pdq


def _random_hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _flip(value: str, positions: list[int]) -> str:
    number = int(value, 16)
    for position in positions:
        number ^= 1 << (255 - position)
    return f"{number:064x}"


def test_hamming_and_nearest() -> None:
    zero = "0" * 64
    assert pdq.hamming(zero, zero) == 0
    assert pdq.hamming(zero, "f" * 64) == 256
    assert pdq.hamming(zero, _flip(zero, [0, 100, 255])) == 3
    assert pdq.nearest(zero, ["f" * 64, _flip(zero, [7]), zero]) == (0, 2)
    assert pdq.nearest(zero, [_flip(zero, [1]), _flip(zero, [2])]) == (1, 0)
    assert pdq.similarity(0) == 1.0 and pdq.similarity(64) == 0.75
    for bad in ("F" * 64, "0" * 63, "g" * 64, ""):
        assert not pdq.is_pdq(bad)
        with pytest.raises(ValueError, match="64 lowercase hexadecimal digits"):
            pdq.hamming(bad, zero)
    with pytest.raises(ValueError):
        pdq.nearest(zero, [])


def test_chunks_are_position_prefixed() -> None:
    value = "9f34d29bd19b9bb491d3c1039aa981f43e0648fba3643f065246a3ed69665f46"
    keys = pdq.chunks(value)
    assert len(keys) == pdq.CHUNKS == 16
    assert keys[0] == "00:9f34" and keys[1] == "01:d29b" and keys[15] == "15:5f46"


@pytest.mark.parametrize("distance", [0, 1, 15, 16, 17, 31, 32, 48, 64, 100])
def test_radii_spend_exactly_the_budget(distance: int) -> None:
    radii = pdq.chunk_radii(distance)
    assert sum(r + 1 for r in radii) == distance + 1
    assert max(radii) - min(radii) <= 1


def test_term_counts() -> None:
    # 16 chunks with radius 1 at d = 31: 16 x (1 + 16); d = 64: 15 x r3 + 1 x r4
    assert pdq.query_term_count(31) == 272
    assert pdq.query_term_count(16) == 32
    assert pdq.query_term_count(64) == 12_972
    for distance in (0, 5, 16, 31, 40):
        value = _random_hash(random.Random(distance))
        assert len(pdq.query_chunks([value], distance)) == pdq.query_term_count(distance)
    with pytest.raises(ValueError):
        pdq.chunk_radii(-1)


def test_longs_round_trip_and_keep_the_distance() -> None:
    rng = random.Random(5)
    for _ in range(50):
        a, b = _random_hash(rng), _random_hash(rng)
        longs_a, longs_b = pdq.to_longs(a), pdq.to_longs(b)
        assert pdq.from_longs(longs_a) == a
        assert all(-(2**63) <= v < 2**63 for v in longs_a)
        bits = sum(
            ((x ^ y) & (2**64 - 1)).bit_count() for x, y in zip(longs_a, longs_b, strict=True)
        )
        assert bits == pdq.hamming(a, b)


def _spread_neighbour(query: str, distance: int, rng: random.Random) -> str:
    """A hash exactly ``distance`` away with its differences spread as evenly over the chunks
    as possible: the hardest case for the pigeonhole argument."""
    per_chunk = [distance // 16 + (1 if i < distance % 16 else 0) for i in range(16)]
    rng.shuffle(per_chunk)
    positions = []
    for chunk, count in enumerate(per_chunk):
        positions += [chunk * 16 + p for p in rng.sample(range(16), count)]
    return _flip(query, positions)


def test_search_keys_find_everything_within_the_distance() -> None:
    """The candidates the keys find, filtered by distance, equal a brute force at every d."""
    rng = random.Random(11)
    stored = [_random_hash(rng) for _ in range(2_000)]
    queries = [_random_hash(rng) for _ in range(3)]
    spread: dict[tuple[int, int], str] = {}
    for qi, query in enumerate(queries):
        for distance in range(pdq.MAX_DISTANCE + 1):
            stored.append(_flip(query, rng.sample(range(256), distance)))
            spread[qi, distance] = _spread_neighbour(query, distance, rng)
            stored.append(spread[qi, distance])
    index: dict[str, set[int]] = defaultdict(set)
    for number, value in enumerate(stored):
        for key in pdq.chunks(value):
            index[key].add(number)
    for distance in (0, 1, 7, 16, 30, 31, 32, 47, 64):
        for qi, query in enumerate(queries):
            candidates: set[int] = set()
            for key in pdq.query_chunks([query], distance):
                candidates |= index.get(key, set())
            found = {i for i in candidates if pdq.hamming(query, stored[i]) <= distance}
            truth = {i for i, v in enumerate(stored) if pdq.hamming(query, v) <= distance}
            assert found == truth
            assert len(truth) >= 2 * (distance + 1)
            assert pdq.hamming(query, spread[qi, distance]) == distance
        # several query hashes at once (an image's dihedral variants): the union
        union: set[int] = set()
        for key in pdq.query_chunks(queries, distance):
            union |= index.get(key, set())
        within = {
            i for i, v in enumerate(stored) if min(pdq.hamming(q, v) for q in queries) <= distance
        }
        assert within <= union
