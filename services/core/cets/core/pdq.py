"""PDQ perceptual hashes: their hex form, Hamming distance, and exact near-duplicate search keys.

Pure arithmetic on the 64-hex-digit form; hashing an image (Pillow and ``pdqhash``) happens
elsewhere (:mod:`cets.common.imagehash`), because the core decodes no files.

The hex form is ThreatExchange's: the 256-bit hash written big-endian, as ``pdq-photo-hasher``
prints it. Two hashes match when their Hamming distance is at most
:data:`MATCH_THRESHOLD` (31, ThreatExchange's ``PDQ_CONFIDENT_MATCH_THRESHOLD``).

Exact search within a distance (multi-index hashing)
----------------------------------------------------
A hash is cut into :data:`CHUNKS` disjoint chunks of :data:`CHUNK_BITS` bits, each indexed as
the keyword ``"NN:xxxx"`` (position, then the chunk's four hex digits, so equal patterns at
different positions never collide). The distance of two hashes is the *sum* of their chunks'
distances. Give chunk ``i`` a radius ``r_i`` (``-1``: not looked up). If ``sum(r_i + 1) >= d +
1``, every stored hash within ``d`` of the query has some chunk ``i`` within ``r_i`` of the
query's chunk ``i``; otherwise each chunk would differ by at least ``r_i + 1`` bits and the
total would exceed ``d``. :func:`chunk_radii` spreads ``d + 1`` evenly (the balanced
allocation: exact with the fewest values), :func:`query_chunks` lists every chunk value within
those radii, and the candidates they find are then filtered by the exact 256-bit distance. No
match can be missed, whatever the data; skewed data costs only candidates.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = [
    "CHUNKS",
    "CHUNK_BITS",
    "DEFAULT_MAX_DISTANCE",
    "DIHEDRAL_NAMES",
    "HASH_BITS",
    "HEX_LENGTH",
    "MATCH_THRESHOLD",
    "MAX_DISTANCE",
    "MAX_QUERY_HASHES",
    "QUALITY_THRESHOLD",
    "Longs",
    "ball_size",
    "chunk_radii",
    "chunks",
    "from_longs",
    "hamming",
    "is_pdq",
    "nearest",
    "query_chunks",
    "query_term_count",
    "similarity",
    "to_longs",
]

HASH_BITS: Final = 256
HEX_LENGTH: Final = HASH_BITS // 4
MATCH_THRESHOLD: Final = 31
"""ThreatExchange's confident-match threshold: a distance of at most 31 bits is a match."""
DEFAULT_MAX_DISTANCE: Final = MATCH_THRESHOLD
MAX_DISTANCE: Final = 64
"""The widest search: a quarter of the bits. Unrelated images are 90 bits or more apart
(median 128), so a wider radius finds nothing more that is the same picture."""
QUALITY_THRESHOLD: Final = 50
"""PDQ's guidance: hashes of quality below 50 (flat, featureless images) are unreliable."""
MAX_QUERY_HASHES: Final = 8
"""One image's eight dihedral variants (see :data:`DIHEDRAL_NAMES`)."""
CHUNK_BITS: Final = 16
CHUNKS: Final = HASH_BITS // CHUNK_BITS

DIHEDRAL_NAMES: Final[tuple[str, ...]] = (
    "original",
    "rotated 90°",
    "rotated 180°",
    "rotated 270°",
    "flipped top to bottom",
    "mirrored",
    "transposed",
    "anti-transposed",
)
"""What each of ``pdqhash.compute_dihedral``'s eight hashes is, in its order. A stored copy
found through hash ``i`` is the query image transformed so (index 5: a left-right mirror)."""

Longs = tuple[int, int, int, int]
_HEX: Final = re.compile(r"[0-9a-f]{64}")


def is_pdq(value: str) -> bool:
    """Whether ``value`` is a PDQ hash in normal form: 64 lowercase hex digits."""
    return _HEX.fullmatch(value) is not None


def _int(value: str) -> int:
    if not is_pdq(value):
        raise ValueError(f"a PDQ hash is {HEX_LENGTH} lowercase hexadecimal digits")
    return int(value, 16)


def hamming(a: str, b: str) -> int:
    """The Hamming distance (0 to 256) of two hashes in normal form."""
    return (_int(a) ^ _int(b)).bit_count()


def nearest(stored: str, queries: Sequence[str]) -> tuple[int, int]:
    """``(distance, index)`` of the query hash nearest to ``stored`` (the first on a tie)."""
    if not queries:
        raise ValueError("no query hashes")
    value = _int(stored)
    distances = [(value ^ _int(q)).bit_count() for q in queries]
    best = min(distances)
    return best, distances.index(best)


def similarity(distance: int) -> float:
    """The share of the 256 bits two hashes have in common: 1.0 for identical hashes."""
    return (HASH_BITS - distance) / HASH_BITS


def chunks(value: str) -> list[str]:
    """The keyword values indexed for a hash: ``"00:9f34"`` ... ``"15:5f46"``."""
    _int(value)
    width = CHUNK_BITS // 4
    return [f"{i:02d}:{value[i * width : (i + 1) * width]}" for i in range(CHUNKS)]


def chunk_radii(max_distance: int) -> list[int]:
    """Each chunk's radius, with ``sum(r + 1) == max_distance + 1`` spread evenly."""
    if not 0 <= max_distance <= HASH_BITS:
        raise ValueError(f"a distance is between 0 and {HASH_BITS}")
    base, extra = divmod(max_distance + 1, CHUNKS)
    return [base - 1 + (1 if i < extra else 0) for i in range(CHUNKS)]


def ball_size(radius: int) -> int:
    """How many chunk values lie within ``radius`` bits of one chunk value."""
    return sum(math.comb(CHUNK_BITS, j) for j in range(min(radius, CHUNK_BITS) + 1))


def query_term_count(max_distance: int) -> int:
    """How many values :func:`query_chunks` lists for one hash (without listing them)."""
    return sum(ball_size(r) for r in chunk_radii(max_distance))


@functools.lru_cache(maxsize=CHUNK_BITS + 1)
def _flip_masks(radius: int) -> tuple[int, ...]:
    """Every chunk-wide mask with at most ``radius`` bits set."""
    masks = [0]
    for count in range(1, min(radius, CHUNK_BITS) + 1):
        for positions in itertools.combinations(range(CHUNK_BITS), count):
            masks.append(sum(1 << p for p in positions))
    return tuple(masks)


def query_chunks(values: Iterable[str], max_distance: int) -> list[str]:
    """The chunk values to look up so that every stored hash within ``max_distance`` of any of
    ``values`` is among the candidates: sorted, each once."""
    radii = chunk_radii(max_distance)
    width = CHUNK_BITS // 4
    found: set[str] = set()
    for value in values:
        _int(value)
        for i, radius in enumerate(radii):
            if radius < 0:
                continue
            chunk = int(value[i * width : (i + 1) * width], 16)
            found.update(f"{i:02d}:{chunk ^ mask:04x}" for mask in _flip_masks(radius))
    return sorted(found)


def to_longs(value: str) -> Longs:
    """The hash as four signed 64-bit integers, big-endian (OpenSearch ``long`` fields).

    The sum of ``Long.bitCount(a ^ b)`` over the four is the Hamming distance: reading the
    words as two's complement keeps every bit.
    """
    _int(value)
    words = [int(value[i * 16 : (i + 1) * 16], 16) for i in range(4)]
    signed = [w - (1 << 64) if w >= 1 << 63 else w for w in words]
    return signed[0], signed[1], signed[2], signed[3]


def from_longs(longs: Longs) -> str:
    """The inverse of :func:`to_longs`."""
    return "".join(f"{v & 0xFFFFFFFFFFFFFFFF:016x}" for v in longs)
