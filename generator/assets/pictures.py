"""Responsive images: the last pass over a rendered HTML page that concerns its images.

Every `<img>` whose `src` names a raster image of the site's `images/` folders (as
`/images/x.jpg`, `images/x.jpg`, or the URL `asset_url()` gave) becomes a `<picture>` with
AVIF and WebP sources, `srcset`/`sizes`, `width`/`height` (no layout shift) and the tiny
placeholder as its background. Images load lazily and decode asynchronously, except the
page's first large image, which is fetched with `fetchpriority="high"`. An SVG gets its
published URL and, unless the author gave one, its intrinsic size.
"""

from __future__ import annotations

import html
import re
from typing import Any

from markupsafe import escape

from generator.assets.bundle import AssetBundle, PictureRef
from generator.dependencies import DependencyKind, record

IMG = re.compile(r"<img\b([^>]*?)/?>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?')


def responsive_images(assets: AssetBundle, text: str) -> str:
    pictures = assets.pictures
    sizes = assets.sizes
    if not (pictures or sizes) or "<img" not in text:
        return text
    by_url = {assets.refs[name].url: name for name in [*pictures, *sizes]}
    record(DependencyKind.CONFIG, "images")
    first_large = [True]

    def replace(match: re.Match[str]) -> str:
        attributes = {
            name.lower(): html.unescape(value or "")
            for name, value in ATTRIBUTE.findall(match.group(1))
        }
        source = attributes.get("src", "")
        logical = source.lstrip("/")
        name = by_url.get(source) or (logical if logical in pictures or logical in sizes else None)
        if name is None:
            return match.group(0)
        record(DependencyKind.ASSET, name)
        if name not in pictures:
            # An SVG: its published URL, and its size so that the page does not move when
            # it loads (unless the author gave one).
            image = {**attributes, "src": assets.refs[name].url}
            if "width" not in attributes and "height" not in attributes:
                image["width"], image["height"] = (str(n) for n in sizes[name])
            return (
                "<img " + " ".join(f'{key}="{escape(value)}"' for key, value in image.items()) + ">"
            )

        eager = pictures[name].large and first_large[0]
        if eager:
            first_large[0] = False
        return picture_markup(pictures[name], attributes, eager)

    return IMG.sub(replace, text)


def picture_markup(picture: PictureRef, attributes: dict[str, str], eager: bool) -> str:
    sources = "".join(
        f'<source type="{mime}" srcset="{escape(srcset)}" sizes="{escape(picture.sizes)}">'
        for mime, srcset in picture.sources
    )
    kept = {
        k: v
        for k, v in attributes.items()
        if k
        not in (
            "src",
            "srcset",
            "sizes",
            "width",
            "height",
            "loading",
            "decoding",
            "fetchpriority",
            "style",
        )
    }
    image: dict[str, Any] = {
        "src": picture.fallback_url,
        "srcset": picture.fallback_srcset,
        "sizes": picture.sizes,
        "width": picture.width,
        "height": picture.height,
        "alt": kept.pop("alt", ""),
        **kept,
    }
    if eager:
        image["fetchpriority"] = "high"
    else:
        image.update(loading="lazy", decoding="async")
    image["style"] = (
        f"background:url({picture.placeholder}) center/cover no-repeat;height:auto;max-width:100%"
    )
    rendered = " ".join(f'{key}="{escape(value)}"' for key, value in image.items())
    return f"<picture>{sources}<img {rendered}></picture>"
