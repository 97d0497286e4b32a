"""Images produced by code, as the model gets them: with ``vision``, downscaled (Pillow) to at most ``max_side``
pixels on the long side and re-encoded as PNG or JPEG; without, a note with their size. SVG is not rasterised (no
renderer is assumed): the model is told one was shown."""

from __future__ import annotations

import base64
import binascii
import io
import struct

MAX_SIDE = 1024


def size_of(mime: str, data: str) -> tuple[int, int] | None:
    """(width, height) of a base64 image, from its header (PNG, GIF, JPEG) or Pillow; None if unknown."""
    try:
        raw = base64.b64decode(data[:200_000] if mime != "image/jpeg" else data, validate=False)
    except (binascii.Error, ValueError):
        return None
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR":
        return struct.unpack(">II", raw[16:24])
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", raw[6:10])
    try:
        from PIL import Image

        with Image.open(io.BytesIO(raw)) as image:
            return image.width, image.height
    except Exception:
        return None


def downscaled(mime: str, data: str, max_side: int = MAX_SIDE) -> tuple[str, str]:
    """``(mime, base64)`` of the image at most ``max_side`` on its long side (unchanged when smaller, or when
    Pillow is missing or cannot read it)."""
    size = size_of(mime, data)
    if size is None or max(size) <= max_side:
        return mime, data
    try:
        from PIL import Image

        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            keep_png = mime == "image/png" or image.mode in ("RGBA", "LA", "P")
            if keep_png:
                image.save(out, format="PNG", optimize=True)
            else:
                image.convert("RGB").save(out, format="JPEG", quality=85)
    except Exception:
        return mime, data
    return ("image/png" if keep_png else "image/jpeg"), base64.b64encode(out.getvalue()).decode()


def describe(mime: str, data: str) -> str:
    """``image/png, 640x480`` (or just the type when the size is unknown)."""
    size = size_of(mime, data)
    return f"{mime}, {size[0]}x{size[1]}" if size else mime
