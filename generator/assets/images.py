"""Responsive images: for each source image, a set of widths in modern formats.

Pillow makes, from a JPEG or PNG: every configured width up to the source's own (never
upscaled), in AVIF (when the installed Pillow can write it), WebP and the source's format;
the orientation its EXIF asks for is applied and all metadata dropped; and a tiny
placeholder (a few hundred bytes, as a data URI) shown while the image loads.

Results are cached by the source's sha256 and the parameters, under one folder shared by
every site of the network: an unchanged image is never processed twice.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.cache import active
from generator.config.settings import ImageSettings

RASTER = (".jpg", ".jpeg", ".png")
FORMAT_VERSION = 1
MIME = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg", "png": "image/png"}
EXTENSION = {"avif": ".avif", "webp": ".webp", "jpeg": ".jpg", "png": ".png"}
PLACEHOLDER_WIDTH = 16


@dataclass(frozen=True, slots=True)
class Rendition:
    format: str
    width: int
    height: int
    name: str
    """Logical name of the file, e.g. images/hero-640.webp."""


@dataclass(frozen=True, slots=True)
class ImageSet:
    width: int
    height: int
    """Of the source, oriented."""
    format: str
    """The source's format (jpeg or png): the fallback."""
    renditions: tuple[Rendition, ...]
    placeholder: str
    """A data: URI of a tiny version."""


def settings_key(settings: ImageSettings) -> str:
    """What of the settings changes the files made (part of the cache key)."""
    return json.dumps([FORMAT_VERSION, settings.widths, settings.quality, settings.formats])


def writable_formats() -> set[str]:
    from PIL import features

    found = {"jpeg", "png"}
    if features.check("webp"):
        found.add("webp")
    if features.check("avif"):
        found.add("avif")
    return found


def responsive_set(
    logical: str, data: bytes, settings: ImageSettings
) -> tuple[ImageSet, dict[str, bytes]]:
    """The renditions of one image (logical name -> bytes) and their description; from the
    build cache when an earlier build made them."""
    key = hashlib.sha256(data + settings_key(settings).encode()).hexdigest()
    stem = logical.rsplit(".", 1)[0]
    cache = active()
    if cache is not None:
        folder = cache.get_folder("images", key)
        found = _from_cache(folder, stem) if folder is not None else None
        if found is not None:
            return found
    image_set, files = _process(stem, data, settings)
    if cache is not None:
        cache.put_folder("images", key, _cache_files(image_set, files))
    return image_set, files


def _process(stem: str, data: bytes, settings: ImageSettings) -> tuple[ImageSet, dict[str, bytes]]:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        source_format = "png" if opened.format == "PNG" else "jpeg"
        image = ImageOps.exif_transpose(opened)  # orientation applied, then EXIF dropped
        image.load()
    if source_format == "jpeg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    width, height = image.size
    widths = [w for w in settings.widths if w < width] + [min(width, max(settings.widths))]
    formats = [f for f in settings.formats if f in writable_formats()] + [source_format]
    files: dict[str, bytes] = {}
    renditions = []
    for target in sorted(set(widths)):
        scaled = (
            image
            if target == width
            else image.resize(
                (target, max(1, round(height * target / width))), Image.Resampling.LANCZOS
            )
        )
        for fmt in formats:
            name = f"{stem}-{target}{EXTENSION[fmt]}"
            files[name] = _encode(scaled, fmt, settings.quality)
            renditions.append(Rendition(fmt, target, scaled.size[1], name))
    tiny = image.resize(
        (PLACEHOLDER_WIDTH, max(1, round(height * PLACEHOLDER_WIDTH / width))),
        Image.Resampling.BILINEAR,
    )
    placeholder_format = "webp" if "webp" in writable_formats() else "jpeg"
    placeholder = (
        f"data:{MIME[placeholder_format]};base64,"
        + base64.b64encode(_encode(tiny.convert("RGB"), placeholder_format, 40)).decode()
    )
    return ImageSet(width, height, source_format, tuple(renditions), placeholder), files


def _encode(image: Any, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": quality}
    if fmt == "jpeg":
        options.update(optimize=True, progressive=True)
    elif fmt == "png":
        options = {"optimize": True}
    elif fmt == "webp":
        options["method"] = 4
    elif fmt == "avif":
        options["speed"] = 8
    image.save(buffer, format=fmt.upper(), **options)  # no exif= : metadata is dropped
    return buffer.getvalue()


def _from_cache(folder: Path, stem: str) -> tuple[ImageSet, dict[str, bytes]] | None:
    try:
        meta = json.loads((folder / "set.json").read_text(encoding="utf-8"))
        renditions = tuple(
            Rendition(
                r["format"], r["width"], r["height"], f"{stem}-{r['width']}{EXTENSION[r['format']]}"
            )
            for r in meta["renditions"]
        )
        files = {
            r.name: (folder / f"{r.width}{EXTENSION[r.format]}").read_bytes() for r in renditions
        }
    except (OSError, ValueError, KeyError):
        return None
    return ImageSet(
        meta["width"], meta["height"], meta["format"], renditions, meta["placeholder"]
    ), files


def _cache_files(image_set: ImageSet, files: dict[str, bytes]) -> dict[str, bytes]:
    """An image set as a cache entry: each rendition by width and format, and set.json."""
    entry = {f"{r.width}{EXTENSION[r.format]}": files[r.name] for r in image_set.renditions}
    entry["set.json"] = json.dumps(
        {
            "width": image_set.width,
            "height": image_set.height,
            "format": image_set.format,
            "placeholder": image_set.placeholder,
            "renditions": [
                {"format": r.format, "width": r.width, "height": r.height}
                for r in image_set.renditions
            ],
        }
    ).encode("utf-8")
    return entry


SVG_ROOT = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE)
SVG_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(px)?\s*")


def svg_size(data: bytes) -> tuple[int, int] | None:
    """An SVG's intrinsic size: its root's width and height when they are plain lengths,
    else its viewBox's; None when it has neither."""
    root = SVG_ROOT.search(data[:4096])
    if root is None:
        return None
    attributes = {
        name.lower(): value
        for name, value in re.findall(
            r'([a-zA-Z:-]+)\s*=\s*"([^"]*)"', root.group(0).decode("utf-8", "replace")
        )
    }
    width = SVG_LENGTH.fullmatch(attributes.get("width", ""))
    height = SVG_LENGTH.fullmatch(attributes.get("height", ""))
    if width and height:
        return round(float(width.group(1))), round(float(height.group(1)))
    box = attributes.get("viewbox", "").replace(",", " ").split()
    try:
        found = (round(float(box[2])), round(float(box[3]))) if len(box) == 4 else None
    except ValueError:
        return None
    return found if found and found[0] > 0 and found[1] > 0 else None
