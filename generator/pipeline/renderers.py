"""Renderers: one function per kind of output, chosen by `OutputFile.renderer`."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import jinja2
from markupsafe import Markup

from generator.assets.pictures import responsive_images
from generator.content.page import Page
from generator.dependencies import Dependency, DependencyKind, record
from generator.deprecations import TEMPLATE_FUNCTIONS
from generator.errors import BuildError, Location, close_matches
from generator.hosting.csp import with_policy
from generator.personalize.features import resolve as resolve_feature
from generator.personalize.variants import PAGE_SLOT, TEMPLATE_SLOT
from generator.pipeline.personalized import Slots, footer_tags, head_tags, replacement_source
from generator.pipeline.plan import COMPRESSIBLE, Listing, OutputFile, page_url
from generator.pipeline.site_state import SiteState
from generator.render.templates import template_error
from generator.render.views import ConfigView, DataView, PageView, page_summary
from generator.runtime.lazy import LazyPage

Renderer = Callable[[SiteState, OutputFile], bytes]


def _asset_ref(state: SiteState, name: str) -> Any:
    record(DependencyKind.ASSET, name)
    ref = state.assets.refs.get(name)
    if ref is None:
        raise BuildError(
            f"asset '{name}' does not exist" + close_matches(name, list(state.assets.refs))
        )
    return ref


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg")


def _image_url(state: SiteState, name: str) -> str:
    """A page's front-matter image: its URL; when the site checks images only as warnings
    (or not at all) a missing one is published as written, as a missing image in Markdown
    is (the checks stage reported it)."""
    if (
        name not in state.assets.refs
        and state.site.checks.images != "error"
        and name.lower().endswith(IMAGE_SUFFIXES)
    ):
        record(DependencyKind.ASSET, name)
        return name
    return str(_asset_ref(state, name).url)


def related_views(state: SiteState, page_key: str, kind: str = "related") -> list[PageView]:
    """The page's precomputed related (or `kind="next"`) pages."""
    found = state.recommendations
    if found is None:
        return []
    record(DependencyKind.QUERY, f"{kind}:{page_key}")
    lists = found.related if kind == "related" else found.next_pages
    views = []
    for key in lists.get(page_key, ()):
        page = state.pages_by_key.get(key) or found.foreign[key]
        if page.access is None:  # a protected page is in no list
            views.append(PageView(page, state.site.base_url))
    return views


def popular_views(state: SiteState, segment: str = "") -> list[PageView]:
    """The most viewed pages of the site ('') or among a segment's visitors."""
    found = state.recommendations
    if found is None:
        return []
    record(DependencyKind.QUERY, f"popular:{segment}")
    return [
        PageView(state.pages_by_key[key], state.site.base_url)
        for key in found.popular.get(segment, ())
        if key in state.pages_by_key and state.pages_by_key[key].access is None
    ]


def page_breadcrumbs(state: SiteState, page: PageView | None = None) -> list[dict[str, Any]]:
    """Home, the page's top-level section (when the site lists it), the page: each
    {name, url, current, item}, `item` being its schema.org ListItem."""
    if page is None:
        return []
    record(DependencyKind.CONFIG, "menu")
    record(DependencyKind.CONFIG, "base_url")
    trail = [("Home", "/")]
    segments = [part for part in page.url.split("/") if part]
    if len(segments) >= 2 and segments[0] in state.content.sections:
        section = f"/{segments[0]}/"
        named = {item.url: item.title for item in state.site.menu}
        trail.append((named.get(section, segments[0].replace("-", " ").capitalize()), section))
    trail.append((page.title, page.url))
    return [
        {
            "name": name,
            "url": url,
            "current": index == len(trail) - 1,
            "item": {
                "@type": "ListItem",
                "position": index + 1,
                "name": name,
                "item": state.site.base_url.rstrip("/") + url,
            },
        }
        for index, (name, url) in enumerate(trail)
    ]


def template_globals(state: SiteState, output: OutputFile | None = None) -> dict[str, Any]:
    """The functions templates call; `output`: the file being rendered (a visitor flag's
    value depends on it)."""
    base_url = state.site.base_url

    def asset_url(name: str) -> str:
        return _image_url(state, name)

    def stylesheet(name: str) -> Markup:
        ref = _asset_ref(state, name)
        return Markup(
            '<link rel="stylesheet" href="{}" integrity="{}" crossorigin="anonymous">'
        ).format(ref.url, ref.integrity)

    def script(name: str, defer: bool = True) -> Markup:
        ref = _asset_ref(state, name)
        return Markup('<script src="{}" integrity="{}" crossorigin="anonymous"{}></script>').format(
            ref.url, ref.integrity, Markup(" defer") if defer else ""
        )

    def recent_pages(count: int = 5) -> list[PageView]:
        record(DependencyKind.QUERY, "recent")
        return [PageView(page, base_url) for page in state.content.recent()[:count]]

    def related_pages(page: PageView | None = None, kind: str = "related") -> list[PageView]:
        return [] if page is None else related_views(state, page.key, kind)

    def popular_pages(segment: str = "") -> list[PageView]:
        return popular_views(state, segment)

    def absolute_url(path: str) -> str:
        record(DependencyKind.CONFIG, "base_url")
        return base_url.rstrip("/") + "/" + path.lstrip("/")

    flags: dict[str, Any] = {}

    def feature(key: str) -> Any:
        """A feature flag's value: resolved for this site and environment, or for a flag
        that looks at the visitor, the value of the file being rendered."""
        record(DependencyKind.CONFIG, "features")
        if key not in flags:
            flags[key] = _feature_value(state, output, key)
        return flags[key]

    found: dict[str, Any] = {
        "site": ConfigView(state.site.values),
        "breadcrumbs": partial(page_breadcrumbs, state),
        "data": DataView(state.load_data),
        "asset_url": asset_url,
        "stylesheet": stylesheet,
        "script": script,
        "recent_pages": recent_pages,
        "related_pages": related_pages,
        "popular_pages": popular_pages,
        "absolute_url": absolute_url,
        "feature": feature,
    }
    # A deprecated name still works, as its replacement (the build warns where it is used).
    for name, deprecation in TEMPLATE_FUNCTIONS.items():
        if deprecation.replacement in found:
            found[name] = found[deprecation.replacement]
    return found


def _feature_value(state: SiteState, output: OutputFile | None, key: str) -> Any:
    """A flag that looks at the visitor has the value of the file being rendered: on its
    pages, each variant's; elsewhere (other pages, the 404 page, lazy components) the
    default file's, what a visitor with no attributes gets."""
    visitor = next((flag for flag in state.visitor_flags if flag.id == key), None)
    if visitor is None:
        return resolve_feature(state.site, key).value
    variant = output.variant if output is not None else None
    return visitor.value_for(variant.segments if variant is not None else ())


def _render_template(
    state: SiteState,
    names: tuple[str, ...],
    context: dict[str, Any],
    origin: Location,
    output: OutputFile,
) -> bytes:
    environment = state.environment
    template_change = next((a for a in output.changes if a.slot == TEMPLATE_SLOT), None)
    if template_change is not None:
        names = (template_change.change.template or "",)
    variant = output.variant
    context = {**context, "variant_key": variant.key if variant else ""}
    slots = Slots(state, output, context)
    context["slot"] = slots
    try:
        template = environment.select_template(list(names))
    except jinja2.TemplatesNotFound:
        raise BuildError(
            f"no template found: looked for {', '.join(names)} in "
            f"the site's templates and theme '{state.site.theme}'",
            origin,
        ) from None
    except jinja2.TemplateError as error:
        raise template_error(error) from None
    context.update(template_globals(state, output))
    lazy = LazyPage(state.components)
    context["lazy"] = lazy.place
    context["sitegen_head"] = lambda: head_tags(state, output)
    context["sitegen_footer"] = lambda: (
        footer_tags(state, output) + lazy.footer(state.site.lazy_concurrency)
    )
    try:
        text = with_policy(state.site, responsive_images(state.assets, template.render(**context)))
        slots.check_all_shown(template.name or names[0])
    except BuildError as error:
        if error.location is None:
            raise BuildError(error.message, origin) from None
        raise
    except jinja2.TemplateError as error:
        raise template_error(error) from None
    return text.encode("utf-8")


def render_page(state: SiteState, output: OutputFile) -> bytes:
    page = state.pages_by_key[output.page_key or ""]
    source = page.source
    if source.template:
        names: tuple[str, ...] = (source.template,)
        if state.environment.loader.find(source.template) is None:  # type: ignore[union-attr]
            record(DependencyKind.TEMPLATE, source.template)
            raise BuildError(
                f"template '{source.template}' not found in the site's templates "
                f"or theme '{state.site.theme}'",
                source.location("template"),
            )
    else:
        names = tuple(
            n for n in (f"{page.section}/page.html" if page.section else "", "page.html") if n
        )
    replacement = next((a for a in output.changes if a.slot == PAGE_SLOT), None)
    if replacement is not None:
        page = replace(page, source=replacement_source(state, replacement))
    return _render_template(
        state, names, {"page": PageView(page, state.site.base_url)}, source.location(), output
    )


class Paginator:
    """`paginator` in listing templates."""

    def __init__(self, listing: Listing) -> None:
        self.number = listing.number
        self.count = listing.count
        self.urls = [page_url(listing.first_url, n) for n in range(1, listing.count + 1)]
        self.previous_url = self.urls[self.number - 2] if self.number > 1 else None
        self.next_url = self.urls[self.number] if self.number < self.count else None


def render_listing(state: SiteState, output: OutputFile) -> bytes:
    listing = output.listing
    assert listing is not None
    base_url = state.site.base_url
    intro = state.pages_by_key.get(listing.intro_key) if listing.intro_key else None
    context = {
        "listing": {
            "kind": listing.kind,
            "name": listing.name,
            "title": listing.title,
            "url": page_url(listing.first_url, listing.number),
        },
        "pages": [PageView(state.pages_by_key[key], base_url) for key in listing.page_keys],
        "intro": PageView(intro, base_url) if intro else None,
        "paginator": Paginator(listing),
        "tags": [
            {"name": name, "url": f"/tags/{slug}/", "count": count}
            for name, slug, count in listing.tags
        ],
    }
    origin = intro.source.location() if intro else Location(output.origin, 0)
    return _render_template(state, listing.templates, context, origin, output)


def _atom_time(value: dt.date | None) -> str:
    if value is None:
        return "1970-01-01T00:00:00Z"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value.isoformat()}T00:00:00Z"


def render_feed(state: SiteState, output: OutputFile) -> bytes:
    site = state.site
    base = site.base_url.rstrip("/")
    entries: list[Page] = list(state.content.recent()[: site.feed_entries])
    updated = max(
        (page.date for page in entries if page.date is not None), key=_atom_time, default=None
    )
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(site.language)}>',
        f"  <title>{escape(site.title)}</title>",
        f"  <subtitle>{escape(site.description)}</subtitle>",
        f"  <id>{escape(site.base_url)}</id>",
        f'  <link rel="alternate" href={quoteattr(site.base_url)}/>',
        f'  <link rel="self" href={quoteattr(base + "/feed.xml")}/>',
        f"  <updated>{_atom_time(updated)}</updated>",
    ]
    for page in entries:
        url = base + page.url
        lines += [
            "  <entry>",
            f"    <title>{escape(page.title)}</title>",
            f'    <link rel="alternate" href={quoteattr(url)}/>',
            f"    <id>{escape(url)}</id>",
            f"    <updated>{_atom_time(page.date)}</updated>",
            f"    <summary>{escape(page_summary(page))}</summary>",
            "  </entry>",
        ]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_sitemap(state: SiteState, output: OutputFile) -> bytes:
    base = state.site.base_url.rstrip("/")
    entries: list[tuple[str, dt.date | None]] = [("/", None)]
    entries += [(f"/{section}/", None) for section in state.content.sections]
    entries += [(page.url, page.date) for page in state.content.pages]
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for url, date in sorted(entries):
        lastmod = f"<lastmod>{date.isoformat()[:10]}</lastmod>" if date else ""
        lines.append(f"  <url><loc>{escape(base + url)}</loc>{lastmod}</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_robots(state: SiteState, output: OutputFile) -> bytes:
    site = state.site
    lines = ["User-agent: *"]
    record(DependencyKind.OPTION, "preview")
    if state.preview:  # a preview is never to be indexed, wherever it ends up
        lines.append("Disallow: /")
    else:
        lines += [f"Disallow: {path}" for path in site.robots_disallow] or ["Disallow:"]
    if site.sitemap:
        lines += ["", f"Sitemap: {site.base_url.rstrip('/')}/sitemap.xml"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_asset(state: SiteState, output: OutputFile) -> bytes:
    return state.assets.files[output.path]


def _card(state: SiteState, page: PageView) -> dict[str, str | None]:
    """A recommended page as the runtime shows it: title, URL, summary, image URL."""
    image = page.image
    return {
        "title": page.title,
        "url": page.url,
        "summary": page.summary,
        "image": _image_url(state, image) if image else None,
    }


def render_recommendations(state: SiteState, output: OutputFile) -> bytes:
    """`_sg/rec/<page>.json`: the page's related pages (what the runtime shows) and next pages
    (what it may prefetch)."""
    key = output.page_key or ""
    return _json_bytes(
        {
            "related": [_card(state, p) for p in related_views(state, key)],
            "next": [p.url for p in related_views(state, key, "next")],
        }
    )


def render_popular(state: SiteState, output: OutputFile) -> bytes:
    """`_sg/rec/_popular.json`: the most viewed pages, overall ("") and per segment."""
    found = state.recommendations
    record(DependencyKind.QUERY, "popular-segments")
    return _json_bytes(
        {
            segment: [_card(state, p) for p in popular_views(state, segment)]
            for segment in (sorted(found.popular) if found is not None else [])
        }
    )


def _json_bytes(document: Any) -> bytes:
    return (
        json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode("utf-8")


def render_bytes(state: SiteState, output: OutputFile) -> bytes:
    assert output.content is not None
    return output.content


def render_static(state: SiteState, output: OutputFile) -> bytes:
    assert output.static_source is not None
    return output.static_source.read_bytes()


RECENT: dict[tuple[str, str], tuple[bytes, frozenset[Dependency]]] = {}
"""Bytes and dependencies of the last few text outputs this process rendered: the `.gz`
twin that follows its original in the plan compresses them instead of rendering again."""


def remember_rendered(output: OutputFile, data: bytes, dependencies: frozenset[Dependency]) -> None:
    if output.path.endswith(COMPRESSIBLE):
        if len(RECENT) >= 64:
            RECENT.pop(next(iter(RECENT)))
        RECENT[(output.path, output.data_key)] = (data, dependencies)


def render_gzip(state: SiteState, output: OutputFile) -> bytes:
    original = output.original
    assert original is not None
    found = RECENT.get((original.path, original.data_key))
    if found is None:
        data = RENDERERS[original.renderer](state, original)
    else:
        data, dependencies = found
        for kind, key in dependencies:  # the twin depends on what its original read
            record(kind, key)
    # mtime=0 and no file name: the same bytes for the same input, build after build.
    return gzip.compress(data, compresslevel=9, mtime=0)


RENDERERS: dict[str, Renderer] = {
    "gzip": render_gzip,
    "page": render_page,
    "listing": render_listing,
    "feed": render_feed,
    "sitemap": render_sitemap,
    "robots": render_robots,
    "asset": render_asset,
    "static": render_static,
    "bytes": render_bytes,
    "recommendations": render_recommendations,
    "popular": render_popular,
}
