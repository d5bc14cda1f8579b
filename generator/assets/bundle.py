"""One site's assets: each entry point runs through its list of steps, then is fingerprinted.

Steps are data (`CSS_STEPS`, `JS_STEPS`): adding one (autoprefixing, a banner) means adding a
pair to a list, not editing a chain of calls. Fingerprints come from the final bytes, so the
same inputs always give the same names, and the `integrity` (SRI) value is computed from the
same bytes the browser will receive.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from generator.assets.images import MIME, RASTER, ImageSet, responsive_set, svg_size
from generator.assets.minify import minify_css, minify_js
from generator.assets.sass import SassCompiler, default_compiler
from generator.cache import active
from generator.config.model import Network, SiteConfig
from generator.config.settings import ImageSettings
from generator.errors import BuildError, Location

ASSET_PREFIX = "assets/"
MANIFEST_PATH = "assets/manifest.json"


@dataclass(frozen=True, slots=True)
class AssetRef:
    """A published asset as templates refer to it."""

    url: str
    """Root-relative, fingerprinted URL, e.g. `/assets/main.3f2a1c9e.css`."""
    integrity: str
    """Subresource Integrity value (`sha384-...`)."""


@dataclass(frozen=True, eq=False)
class AssetBundle:
    """Every asset file of one site, and how logical names map to them."""

    files: dict[str, bytes]
    """Output path -> bytes, fingerprinted assets and the asset manifest."""
    static: dict[str, Path]
    """Output path -> source file, copied verbatim (favicon, fonts)."""
    refs: dict[str, AssetRef]
    """Logical name (`main.css`, `images/hero.jpg`) -> published asset."""
    pictures: dict[str, PictureRef] = field(default_factory=dict)
    """Logical name of a raster image -> its responsive set as published."""
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Logical name of an SVG image -> its intrinsic width and height, which pages give its
    <img> so that nothing moves when it loads."""


@dataclass(frozen=True, slots=True)
class PictureRef:
    """A responsive image as pages use it: `<picture>` sources and the fallback `<img>`."""

    width: int
    height: int
    sources: tuple[tuple[str, str], ...]
    """(MIME type, srcset) of the modern formats, best first."""
    fallback_srcset: str
    fallback_url: str
    placeholder: str
    sizes: str
    large: bool
    """Wide enough to count as a page's large (first-painted) image."""


@dataclass(frozen=True, slots=True)
class AssetContext:
    site: SiteConfig
    search_roots: tuple[Path, ...]
    root: Path
    sass: SassCompiler


Step = tuple[str, Callable[[AssetContext, Path, str], str]]


def _compile_sass(context: AssetContext, entry: Path, text: str) -> str:
    if entry.suffix not in (".scss", ".sass"):
        return text
    load_paths = tuple(root / "scss" for root in context.search_roots)
    cache = active()
    if cache is None:
        return context.sass.compile(entry, load_paths, context.root)
    # Keyed by every file the compiler could import (what the entry's folders hold, in
    # search order) and the compiler: sites that share a theme compile it once.
    digest = hashlib.sha256(f"{context.sass.name}\0{entry}\0".encode())
    for folder in load_paths:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    digest.update(f"{path.relative_to(folder)}\0".encode() + path.read_bytes())
            digest.update(b"\1")
    key = digest.hexdigest()
    found = cache.get("sass", key)
    if found is not None:
        return found.decode("utf-8")
    css = context.sass.compile(entry, load_paths, context.root)
    cache.put("sass", key, css.encode("utf-8"))
    return css


def _minify_css(context: AssetContext, entry: Path, text: str) -> str:
    return minify_css(text) if context.site.minify else text


def _minify_js(context: AssetContext, entry: Path, text: str) -> str:
    return minify_js(text) if context.site.minify else text


CSS_STEPS: list[Step] = [("sass", _compile_sass), ("minify", _minify_css)]
JS_STEPS: list[Step] = [("minify", _minify_js)]


def search_roots(site: SiteConfig, network: Network) -> tuple[Path, ...]:
    """Where assets are looked for: the site, the sites it extends, its theme chain."""
    sites = [network.sites[name].directory for name in site.lineage]
    return tuple(sites + list(network.themes[site.theme].directories))


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def fingerprinted_path(logical: str, data: bytes) -> str:
    path = PurePosixPath(logical)
    digest = hashlib.sha256(data).hexdigest()[:8]
    return ASSET_PREFIX + str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def _find(roots: tuple[Path, ...], folders: tuple[str, ...], name: str) -> Path | None:
    for root in roots:
        for folder in folders:
            candidate = root / folder / name
            if candidate.is_file():
                return candidate
    return None


def layered_files(roots: tuple[Path, ...], folder: str) -> dict[str, Path]:
    """Relative path -> file, the first root that has a path winning."""
    found: dict[str, Path] = {}
    for root in reversed(roots):
        directory = root / folder
        if directory.is_dir():
            for path in sorted(directory.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    found[path.relative_to(directory).as_posix()] = path
    return dict(sorted(found.items()))


def build_site_assets(
    site: SiteConfig, network: Network, sass: SassCompiler | None = None
) -> AssetBundle:
    theme = network.themes[site.theme]
    roots = search_roots(site, network)
    context = AssetContext(site, roots, network.root, sass or default_compiler())
    files: dict[str, bytes] = {}
    refs: dict[str, AssetRef] = {}
    paths: dict[str, str] = {}
    # A CDN in front of the assets (`cdn.asset_base`, per site and environment): pages name
    # them by the CDN's URL; the files are published at the same paths as without it.
    base = site.cdn.asset_base

    def publish(logical: str, data: bytes) -> None:
        path = fingerprinted_path(logical, data)
        files[path] = data
        paths[logical] = path
        refs[logical] = AssetRef(f"{base}/{path}", integrity(data))

    entries: list[tuple[str, tuple[str, ...], list[Step], str]]
    entries = [(name, ("scss", "css"), CSS_STEPS, ".css") for name in theme.css]
    entries += [(name, ("js",), JS_STEPS, ".js") for name in theme.js]
    for name, folders, steps, suffix in entries:
        entry = _find(roots, folders, name)
        if entry is None:
            theme_file = theme.directories[0] / "theme.yaml"
            raise BuildError(
                f"asset entry point '{name}' not found in the {'/'.join(folders)} "
                f"folders of the site or theme '{theme.name}'",
                Location(str(theme_file.relative_to(network.root)), 0),
            )
        text = entry.read_text(encoding="utf-8")
        for _, step in steps:
            text = step(context, entry, text)
        publish(str(PurePosixPath(name).with_suffix(suffix)), text.encode("utf-8"))

    settings = site.images
    pictures: dict[str, PictureRef] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for relative, path in layered_files(roots, "images").items():
        logical = f"images/{relative}"
        if path.suffix.lower() not in RASTER:
            data = path.read_bytes()
            publish(logical, data)
            size = svg_size(data) if path.suffix.lower() == ".svg" else None
            if size is not None:
                sizes[logical] = size
            continue
        try:
            image_set, renditions = responsive_set(logical, path.read_bytes(), settings)
        except (OSError, ValueError, SyntaxError) as error:  # what Pillow raises on bad data
            raise BuildError(
                f"not a readable {path.suffix.lstrip('.').upper()} image: {error}",
                Location(str(path.relative_to(network.root)), 0),
            ) from None
        urls = {}
        for name, data in renditions.items():
            publish(name, data)
            urls[name] = refs[name].url
        pictures[logical] = _picture(image_set, urls, settings)
        largest = max(
            (r for r in image_set.renditions if r.format == image_set.format), key=lambda r: r.width
        ).name
        refs[logical], paths[logical] = refs[largest], paths[largest]

    manifest = {
        name: {"path": ref.url, "integrity": ref.integrity, "size": len(files[paths[name]])}
        for name, ref in sorted(refs.items())
    }
    files[MANIFEST_PATH] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    static = layered_files(roots, "static")
    return AssetBundle(files, static, refs, pictures, sizes)


def _picture(image_set: ImageSet, urls: dict[str, str], settings: ImageSettings) -> PictureRef:
    def srcset(fmt: str) -> str:
        return ", ".join(
            f"{urls[r.name]} {r.width}w" for r in image_set.renditions if r.format == fmt
        )

    modern = [fmt for fmt in ("avif", "webp") if any(r.format == fmt for r in image_set.renditions)]
    fallback = max(
        (r for r in image_set.renditions if r.format == image_set.format), key=lambda r: r.width
    )
    return PictureRef(
        image_set.width,
        image_set.height,
        tuple((MIME[fmt], srcset(fmt)) for fmt in modern),
        srcset(image_set.format),
        urls[fallback.name],
        image_set.placeholder,
        settings.sizes,
        image_set.width >= settings.large,
    )
