"""The last pass over a rendered HTML page: responsive images, then its Content-Security-
Policy, computed from what the final page holds.

- Every `<img>` whose `src` names a raster image of the site's `images/` folders (as
  `/images/x.jpg`, `images/x.jpg`, or the URL `asset_url()` gave) becomes a `<picture>` with
  AVIF and WebP sources, `srcset`/`sizes`, `width`/`height` (no layout shift) and the tiny
  placeholder as its background. Images load lazily and decode asynchronously, except the
  page's first large image, which is fetched with `fetchpriority="high"`.
- The `<meta>` policy `sitegen_head()` placed gets the hashes of the page's inline scripts
  and style attributes: exactly what the page holds is allowed, nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any

from markupsafe import Markup, escape

from generator.assets.bundle import PictureRef
from generator.dependencies import DependencyKind, record
from generator.hosting.policy import page_policy
from generator.pipeline.site_state import SiteState

CSP_MARKER = "sitegen-content-security-policy"
IMG = re.compile(r"<img\b([^>]*?)/?>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?')
INLINE_SCRIPT = re.compile(r"<script(\s[^>]*)?>(.*?)</script>", re.DOTALL | re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
STYLE_ELEMENT = re.compile(r"<style(?:\s[^>]*)?>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def csp_marker() -> Markup:
    return Markup(f'<meta http-equiv="Content-Security-Policy" content="{CSP_MARKER}">\n')


def finalize_html(state: SiteState, text: str) -> str:
    text = responsive_images(state, text)
    if CSP_MARKER in text:
        text = _with_policy(state, text)
    return text


def responsive_images(state: SiteState, text: str) -> str:
    pictures = state.assets.pictures
    sizes = state.assets.sizes
    if not (pictures or sizes) or "<img" not in text:
        return text
    by_url = {state.assets.refs[name].url: name for name in [*pictures, *sizes]}
    record(DependencyKind.CONFIG, "images")
    first_large = [True]

    def replace(match: re.Match[str]) -> str:
        attributes = {name.lower(): html.unescape(value or "")
                      for name, value in ATTRIBUTE.findall(match.group(1))}
        source = attributes.get("src", "")
        logical = source.lstrip("/")
        name = by_url.get(source) or (logical if logical in pictures or logical in sizes
                                      else None)
        if name is None:
            return match.group(0)
        record(DependencyKind.ASSET, name)
        if name not in pictures:
            # An SVG: its published URL, and its size so that the page does not move when
            # it loads (unless the author gave one).
            image = {**attributes, "src": state.assets.refs[name].url}
            if "width" not in attributes and "height" not in attributes:
                image["width"], image["height"] = (str(n) for n in sizes[name])
            return "<img " + " ".join(f'{key}="{escape(value)}"'
                                      for key, value in image.items()) + ">"

        eager = pictures[name].large and first_large[0]
        if eager:
            first_large[0] = False
        return picture_markup(pictures[name], attributes, eager)

    return IMG.sub(replace, text)


def picture_markup(picture: PictureRef, attributes: dict[str, str], eager: bool) -> str:
    sources = "".join(f'<source type="{mime}" srcset="{escape(srcset)}" '
                      f'sizes="{escape(picture.sizes)}">' for mime, srcset in picture.sources)
    kept = {k: v for k, v in attributes.items()
            if k not in ("src", "srcset", "sizes", "width", "height", "loading", "decoding",
                         "fetchpriority", "style")}
    image: dict[str, Any] = {
        "src": picture.fallback_url, "srcset": picture.fallback_srcset, "sizes": picture.sizes,
        "width": picture.width, "height": picture.height, "alt": kept.pop("alt", ""), **kept}
    if eager:
        image["fetchpriority"] = "high"
    else:
        image.update(loading="lazy", decoding="async")
    image["style"] = (f"background:url({picture.placeholder}) center/cover no-repeat;"
                      "height:auto;max-width:100%")
    rendered = " ".join(f'{key}="{escape(value)}"' for key, value in image.items())
    return f"<picture>{sources}<img {rendered}></picture>"


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _with_policy(state: SiteState, text: str) -> str:
    scripts = []
    for attributes, body in INLINE_SCRIPT.findall(text):
        attributes = attributes or ""
        if "src=" in attributes or re.search(r'type="application/(ld\+)?json"', attributes):
            continue   # external scripts are 'self'; data blocks are not executed
        scripts.append(_hash(body))
    styles = sorted({_hash(html.unescape(value)) for value in STYLE_ATTRIBUTE.findall(text)})
    elements = sorted({_hash(body) for body in STYLE_ELEMENT.findall(text)})
    record(DependencyKind.CONFIG, "http")
    record(DependencyKind.CONFIG, "cdn")
    policy = page_policy(state.site, sorted(set(scripts)),
                         (["'unsafe-hashes'", *styles] if styles else []) + elements)
    if policy is None:
        return re.sub(r'<meta http-equiv="Content-Security-Policy" content="'
                      + CSP_MARKER + r'">\n?', "", text, count=1)
    return text.replace(CSP_MARKER, str(escape(policy)), 1)
