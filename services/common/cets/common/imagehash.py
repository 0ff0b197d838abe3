"""Hashing an image: MD5 and SHA-1 of its bytes, and its PDQ perceptual hash with quality.

Pillow decodes the image (JPEG, PNG, GIF, WebP, BMP, TIFF; the first frame of an animation);
``pdqhash`` (the Python binding of ThreatExchange's C++ PDQ) hashes its pixels. The image is
only ever held in memory: nothing here writes it anywhere or logs anything of it.

``pdqhash`` returns the 256 bits most significant first; packed so, they are the hex form
ThreatExchange's ``pdq-photo-hasher`` prints (checked byte for byte against it, see the tests).
Pixels are hashed as stored: EXIF orientation is not applied, as the reference does not, and
transparency is dropped (the colour under it is hashed). A rotated or mirrored copy is found
through the dihedral hashes instead (:attr:`ImageHashes.dihedral`).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image, UnidentifiedImageError

from cets.core.pdq import HASH_BITS, QUALITY_THRESHOLD

__all__ = [
    "FORMATS",
    "MAX_PIXELS",
    "ImageError",
    "ImageHashes",
    "bits_to_hex",
    "hash_file",
    "hash_image",
    "hash_pixels",
]

FORMATS: Final = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
"""The formats Pillow is allowed to decode (no others, so no rarely used decoder is reached)."""
MAX_PIXELS: Final = 64_000_000
"""Images larger than this (a 8000 x 8000 photograph) are refused before being decoded."""


class ImageError(ValueError):
    """A file that is not an image of a supported format, or cannot be decoded.

    ``str(error)`` is safe to show and log: it never holds the image's content.
    """


@dataclass(frozen=True, slots=True)
class ImageHashes:
    md5: str
    sha1: str
    pdq: str
    """64 lowercase hex digits."""
    quality: int
    """PDQ's quality, 0-100; below :data:`~cets.core.pdq.QUALITY_THRESHOLD` (50) unreliable."""
    width: int
    height: int
    format: str
    dihedral: tuple[str, ...] = ()
    """With ``dihedral=True``: the eight hashes of the image's rotations and flips, in
    :data:`cets.core.pdq.DIHEDRAL_NAMES` order (the first is :attr:`pdq`)."""

    @property
    def low_quality(self) -> bool:
        return self.quality < QUALITY_THRESHOLD


def bits_to_hex(bits: npt.ArrayLike) -> str:
    """256 bits, most significant first (``pdqhash``'s order), as 64 hex digits."""
    array = np.asarray(bits).astype(np.uint8).reshape(-1)
    if array.size != HASH_BITS:
        raise ValueError(f"expected {HASH_BITS} bits, got {array.size}")
    return np.packbits(array).tobytes().hex()


def hash_pixels(image: Image.Image, *, dihedral: bool = False) -> tuple[str, int, tuple[str, ...]]:
    """``(pdq, quality, dihedral hashes)`` of a decoded image (converted to RGB)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    if dihedral:
        vectors, quality = pdqhash.compute_dihedral(pixels)
        hashes = tuple(bits_to_hex(v) for v in vectors)
        return hashes[0], int(quality), hashes
    vector, quality = pdqhash.compute(pixels)
    return bits_to_hex(vector), int(quality), ()


def hash_image(data: bytes, *, dihedral: bool = False) -> ImageHashes:
    """Hash an image held in memory.

    Raises:
        ImageError: not an image of a supported format, too large, or undecodable.
    """
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    try:
        with warnings.catch_warnings():
            # a decompression bomb is refused below, by size, before anything is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageError(
                        f"the image is {width} x {height} pixels, more than {MAX_PIXELS:,}"
                    )
                kind = image.format or "?"
                image.load()
                pdq, quality, variants = hash_pixels(image, dihedral=dihedral)
    except UnidentifiedImageError:
        raise ImageError(
            "not an image of a supported format (JPEG, PNG, GIF, WebP, BMP, TIFF)"
        ) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"the image cannot be decoded ({type(exc).__name__})") from None
    return ImageHashes(
        md5=md5,
        sha1=sha1,
        pdq=pdq,
        quality=quality,
        width=width,
        height=height,
        format=kind,
        dihedral=variants,
    )


def hash_file(path: Path, *, dihedral: bool = False, max_bytes: int | None = None) -> ImageHashes:
    """Hash the image in ``path``.

    Raises:
        ImageError: as :func:`hash_image`, or larger than ``max_bytes``.
        OSError: the file cannot be read.
    """
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise ImageError(f"the file is larger than {max_bytes:,} bytes")
    return hash_image(path.read_bytes(), dihedral=dihedral)
