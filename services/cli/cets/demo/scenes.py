"""Drawn pictures for tests, benchmarks and the demo, and the edits PDQ is measured against.

The scenes are drawn, not noise: a sky gradient, a ground band, a sun, a house, trees, a few
shapes, a fence and a line of text. Everything is derived from ``random.Random(seed)`` and
Pillow's bundled default font, so the same seed gives the same pixels on every machine with the
same Pillow version.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

Color = tuple[int, int, int]

WIDTH = 512
HEIGHT = 384


def _rand_color(rng: random.Random, lo: int = 0, hi: int = 255) -> Color:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _vertical_gradient(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], top: Color, bottom: Color
) -> None:
    x0, y0, x1, y1 = box
    span = max(1, y1 - y0)
    for y in range(y0, y1):
        t = (y - y0) / span
        color = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(x0, y), (x1 - 1, y)], fill=(color[0], color[1], color[2]))


def draw_scene(seed: int, width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    """Draw a reproducible outdoor scene (RGB) from ``seed``."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible test pictures, not security
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)

    horizon = int(height * rng.uniform(0.45, 0.75))
    sky_top = (rng.randint(0, 90), rng.randint(40, 150), rng.randint(120, 255))
    sky_bottom = (rng.randint(150, 255), rng.randint(150, 255), rng.randint(170, 255))
    _vertical_gradient(draw, (0, 0, width, horizon), sky_top, sky_bottom)
    ground_top = (rng.randint(20, 140), rng.randint(80, 200), rng.randint(0, 90))
    ground_bottom = tuple(max(0, c - rng.randint(30, 90)) for c in ground_top)
    _vertical_gradient(
        draw,
        (0, horizon, width, height),
        ground_top,
        (ground_bottom[0], ground_bottom[1], ground_bottom[2]),
    )

    # Distant hills on the horizon.
    for _ in range(rng.randint(1, 3)):
        cx = rng.randint(-width // 4, width + width // 4)
        rx = rng.randint(width // 6, width // 2)
        ry = rng.randint(height // 12, height // 4)
        draw.ellipse([cx - rx, horizon - ry, cx + rx, horizon + ry], fill=_rand_color(rng, 30, 160))

    # Sun.
    sr = rng.randint(18, 45)
    sx = rng.randint(sr, width - sr)
    sy = rng.randint(sr, max(sr + 1, horizon - sr))
    draw.ellipse([sx - sr, sy - sr, sx + sr, sy + sr], fill=(255, rng.randint(180, 240), 40))

    # Clouds.
    for _ in range(rng.randint(0, 4)):
        cx, cy = rng.randint(0, width), rng.randint(0, max(1, horizon // 2))
        for _ in range(3):
            w, h = rng.randint(25, 60), rng.randint(12, 25)
            ox = rng.randint(-30, 30)
            draw.ellipse([cx + ox - w, cy - h, cx + ox + w, cy + h], fill=(245, 245, 250))

    # House: walls, roof, door, windows.
    hw = rng.randint(width // 6, width // 3)
    hh = rng.randint(height // 7, height // 3)
    hx = rng.randint(5, width - hw - 5)
    hy = horizon + rng.randint(-hh // 3, max(-hh // 3 + 1, (height - horizon) // 3))
    draw.rectangle([hx, hy - hh, hx + hw, hy], fill=_rand_color(rng, 90, 250), outline=(0, 0, 0))
    roof_h = rng.randint(hh // 3, hh)
    draw.polygon(
        [(hx - 10, hy - hh), (hx + hw + 10, hy - hh), (hx + hw // 2, hy - hh - roof_h)],
        fill=_rand_color(rng, 60, 200),
        outline=(0, 0, 0),
    )
    dw, dh = max(8, hw // 6), max(14, hh // 2)
    dx = hx + rng.randint(4, max(5, hw - dw - 4))
    draw.rectangle([dx, hy - dh, dx + dw, hy], fill=_rand_color(rng, 20, 120))
    for _ in range(rng.randint(1, 3)):
        ww = max(6, hw // 6)
        wx = hx + rng.randint(3, max(4, hw - ww - 3))
        wy = hy - hh + rng.randint(4, max(5, hh // 2 - ww))
        draw.rectangle([wx, wy, wx + ww, wy + ww], fill=(180, 220, 255), outline=(40, 40, 40))

    # Trees.
    for _ in range(rng.randint(1, 5)):
        tx = rng.randint(0, width)
        ty = rng.randint(horizon, height)
        th = rng.randint(20, 70)
        draw.rectangle([tx - 3, ty - th, tx + 3, ty], fill=(90, 60, 30))
        cr = rng.randint(12, 35)
        draw.ellipse([tx - cr, ty - th - cr, tx + cr, ty - th + cr], fill=_rand_color(rng, 0, 130))

    # Random shapes (a ball, a kite, a rock ...).
    for _ in range(rng.randint(2, 5)):
        x, y = rng.randint(0, width), rng.randint(0, height)
        s = rng.randint(10, 50)
        kind = rng.randint(0, 2)
        color = _rand_color(rng)
        if kind == 0:
            draw.ellipse([x - s, y - s, x + s, y + s], fill=color)
        elif kind == 1:
            draw.rectangle([x - s, y - s // 2, x + s, y + s // 2], fill=color)
        else:
            draw.polygon([(x, y - s), (x + s, y + s), (x - s, y + s)], fill=color)

    # Fence / road lines.
    fy = rng.randint(horizon, height - 5)
    fence_color = _rand_color(rng, 150, 255)
    draw.line([(0, fy), (width, fy + rng.randint(-20, 20))], fill=fence_color, width=3)
    for x in range(rng.randint(0, 20), width, rng.randint(18, 40)):
        draw.line([(x, fy - 15), (x, fy + 5)], fill=fence_color, width=2)

    # Text.
    font = ImageFont.load_default(size=rng.randint(16, 32))
    text = f"SCENE {seed} " + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(5))
    draw.text(
        (rng.randint(0, width // 2), rng.randint(0, height - 40)),
        text,
        fill=_rand_color(rng),
        font=font,
    )
    return img


def encode(img: Image.Image, image_format: str = "PNG", **options: int) -> bytes:
    """The image as a file's bytes in ``image_format`` (``"PNG"``, ``"JPEG"``, ...)."""
    buf = io.BytesIO()
    img.save(buf, format=image_format, **options)
    return buf.getvalue()


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    with Image.open(io.BytesIO(encode(img, "JPEG", quality=quality))) as out:
        out.load()
        return out.convert("RGB")


def _crop_each_side(img: Image.Image, frac: float) -> Image.Image:
    w, h = img.size
    dx, dy = int(w * frac), int(h * frac)
    return img.crop((dx, dy, w - dx, h - dy))


def _crop_corner(img: Image.Image, frac: float) -> Image.Image:
    """Keep the top-left part: remove ``frac`` of the width on the right, of the height below."""
    w, h = img.size
    return img.crop((0, 0, w - int(w * frac), h - int(h * frac)))


def _rotate(img: Image.Image, degrees: float) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(0, 0, 0))


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize_50": lambda im: im.resize(
        (im.width // 2, im.height // 2), resample=Image.Resampling.LANCZOS
    ),
    "jpeg_q40": lambda im: _jpeg(im, 40),
    "brightness_+20": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "brightness_-20": lambda im: ImageEnhance.Brightness(im).enhance(0.8),
    "crop_1_each_side": lambda im: _crop_each_side(im, 0.01),
    "crop_5_each_side": lambda im: _crop_each_side(im, 0.05),
    "crop_5_corner": lambda im: _crop_corner(im, 0.05),
    "rotate_1": lambda im: _rotate(im, 1.0),
    "rotate_3": lambda im: _rotate(im, 3.0),
    "rotate_5": lambda im: _rotate(im, 5.0),
    "mirror": ImageOps.mirror,
}
"""Named transformations; each takes and returns an RGB ``PIL.Image.Image``."""


def transform(img: Image.Image, name: str) -> Image.Image:
    """Apply the transformation called ``name`` (a key of :data:`TRANSFORMS`)."""
    return TRANSFORMS[name](img)
