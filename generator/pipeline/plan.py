"""Planning a site: every file the build will publish, with the inputs each depends on.

The plan is pure data. Each `OutputFile` carries a `data_key`, the hash of what the plan hands
its renderer (the page's source, the list of pages a listing shows, ...). What the renderer
reads beyond that is recorded while it runs (see `context.py`).
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator import __version__
from generator.analytics.pixel import PIXEL, PIXEL_PATH
from generator.assets import AssetBundle
from generator.config.model import SiteConfig
from generator.content.gates import glob_pattern
from generator.content.index import SiteContent
from generator.content.page import NOT_FOUND_URL, Page, url_to_output_path
from generator.errors import BuildError, Location, suggest
from generator.hosting import server_files
from generator.hosting.protect import PUBLIC_HTACCESS, login_files, protected_htaccess
from generator.hosting.routing import Route, RoutedPage, routes
from generator.layout import safe_parts
from generator.personalize.features import VisitorFlag, visitor_flags
from generator.personalize.variants import (
    AppliedChange,
    Variant,
    base_changes,
    content_files,
    plan_variants,
)
from generator.render.markdown import MARKDOWN_FLAVOUR
from generator.users.access import SiteAccess

RENDERER_VERSION = f"sitegen {__version__}; {MARKDOWN_FLAVOUR}"
"""Part of every data key: a new sitegen or Markdown setup invalidates every cached output."""


@dataclass(frozen=True, slots=True)
class Listing:
    """A generated page that lists other pages (home, section, tag, tag index, 404)."""

    kind: str
    """home, section, tag, tags or not_found."""
    name: str
    """Section name or tag slug ('' for the others)."""
    title: str
    templates: tuple[str, ...]
    """Template names to try, most specific first."""
    page_keys: tuple[str, ...]
    """Keys of the pages shown on this page of the listing."""
    intro_key: str | None
    """Key of the page whose text introduces the listing (`index.md`)."""
    number: int
    """1-based page number within the pagination."""
    count: int
    """Number of pages of the pagination."""
    first_url: str
    """URL of the listing's first page; page n is at `<first_url>page/<n>/`."""
    tags: tuple[tuple[str, str, int], ...] = ()
    """For the tag index: (name, slug, number of pages)."""


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One file the build publishes."""

    path: str
    """Path under build/<site>/, POSIX separators."""
    kind: str
    """Manifest kind: page, variant, asset, data or routing."""
    renderer: str
    """Which renderer produces it: page, listing, feed, sitemap, robots, asset, static."""
    data_key: str
    """Hash of the inputs the plan hands the renderer."""
    origin: str
    """What the file comes from, for messages."""
    page_key: str | None = None
    listing: Listing | None = None
    static_source: Path | None = None
    url: str | None = None
    """The page's URL, for HTML pages and their variants."""
    variant: Variant | None = None
    """Set on a variant file: which one."""
    changes: tuple[AppliedChange, ...] = ()
    """Personalization applied when rendering (winners of concluded experiments on default
    pages; those plus the variant's own changes on variants)."""
    content: bytes | None = None
    """Bytes known at plan time (routing files)."""
    page_variants: tuple[Variant, ...] = ()
    """All variants of the page this output is a version of (the runtime's table)."""
    original: OutputFile | None = None
    """A precompressed file (`x.html.gz`): the output it is the gzip of."""


@dataclass(frozen=True, eq=False)
class SitePlan:
    site: SiteConfig
    outputs: tuple[OutputFile, ...]
    routes: tuple[Route, ...] = ()
    """The routing of variants (what `.htaccess` says; `sitegen serve` reads it)."""


def page_data_key(page: Page) -> str:
    """`data_key` for a page, without JSON: it runs for every page of every build."""
    payload = "\0".join(
        (RENDERER_VERSION, "page", page.key, page.url, page.source.display, page.source.digest)
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def text_key(*parts: str) -> str:
    """`data_key` of strings, without JSON (for what every page has)."""
    payload = "\0".join((RENDERER_VERSION, *parts))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def data_key(*parts: Any) -> str:
    payload = json.dumps([RENDERER_VERSION, *parts], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def page_url(first_url: str, number: int) -> str:
    return first_url if number == 1 else f"{first_url}page/{number}/"


def _paginate(
    kind: str,
    name: str,
    title: str,
    templates: tuple[str, ...],
    pages: tuple[Page, ...],
    per_page: int,
    first_url: str,
    intro: Page | None,
) -> list[Listing]:
    count = max(1, math.ceil(len(pages) / per_page))
    return [
        Listing(
            kind,
            name,
            title,
            templates,
            tuple(page.key for page in pages[(n - 1) * per_page : n * per_page]),
            intro.key if intro else None,
            n,
            count,
            first_url,
        )
        for n in range(1, count + 1)
    ]


def plan_listings(site: SiteConfig, content: SiteContent) -> list[Listing]:
    intro = content.intros.get
    home_intro = intro("/")
    listings = [
        Listing(
            "home",
            "",
            home_intro.title if home_intro else site.title,
            ("home.html", "list.html"),
            tuple(page.key for page in content.recent()[: site.per_page]),
            home_intro.key if home_intro else None,
            1,
            1,
            "/",
        )
    ]
    for section, pages in content.sections.items():
        url = f"/{section}/"
        section_intro = intro(url)
        title = section_intro.title if section_intro else section.replace("-", " ").title()
        listings += _paginate(
            "section",
            section,
            title,
            (f"{section}/section.html", "section.html", "list.html"),
            pages,
            site.per_page,
            url,
            section_intro,
        )
    if content.tags:
        listings.append(
            Listing(
                "tags",
                "",
                "Tags",
                ("tags.html", "list.html"),
                (),
                None,
                1,
                1,
                "/tags/",
                tuple((name, slug, len(pages)) for slug, (name, pages) in content.tags.items()),
            )
        )
    for slug, (name, pages) in content.tags.items():
        listings += _paginate(
            "tag",
            slug,
            name,
            ("tag.html", "list.html"),
            pages,
            site.per_page,
            f"/tags/{slug}/",
            None,
        )
    if site.search_enabled:
        listings.append(
            Listing("search", "", "Search", ("search.html",), (), None, 1, 1, "/search/")
        )
    listings.append(
        Listing("not_found", "", "Page not found", ("404.html",), (), None, 1, 1, "/404.html")
    )
    return listings


RECOMMENDATIONS_PREFIX = "_sg/rec/"


def recommendations_path(url: str) -> str:
    """`/guides/boots/` -> `_sg/rec/guides/boots.json`: where the runtime finds a page's
    related and next pages."""
    return f"{RECOMMENDATIONS_PREFIX}{url.strip('/') or 'index'}.json"


VARIANT_PREFIX = "_variants/"
"""Every variant file lives under this one folder: `_variants/<variant key>/<page path>`."""


def _with_variants(
    default: OutputFile, site: SiteConfig, flags: tuple[VisitorFlag, ...]
) -> list[OutputFile]:
    """The default page with the winners of concluded experiments, then one output per
    variant (see personalize/variants.py)."""
    url = default.url or ""
    base = base_changes(url, site.personalization)
    variants = plan_variants(url, site.personalization, flags)
    if not base and not variants:
        return [default]  # most pages: nothing to add (and a copy costs, 10,000 times)
    outputs = [
        replace(
            default,
            changes=base,
            page_variants=variants,
            data_key=(
                data_key(default.data_key, base, _variants_key(variants))
                if base or variants
                else default.data_key
            ),
        )
    ]
    files = content_files(variants)
    for variant in variants:
        if files[variant.key] != variant.key:
            continue  # its content is the default page's or another variant's
        own = {applied.slot for applied in variant.changes}
        changes = tuple(
            sorted(
                [c for c in base if c.slot not in own] + list(variant.changes),
                key=lambda applied: applied.slot,
            )
        )
        outputs.append(
            replace(
                default,
                path=f"{VARIANT_PREFIX}{variant.key}/{default.path}",
                kind="variant",
                variant=variant,
                changes=changes,
                page_variants=variants,
                data_key=data_key(default.data_key, variant, changes, _variants_key(variants)),
            )
        )
    return outputs


def _variants_key(variants: tuple[Variant, ...]) -> str:
    """What every file of a page depends on from its siblings: their keys and changes (the
    runtime's table, the slot alternatives each file carries)."""
    return (
        data_key([(v.key, v.segments, v.arms, v.changes, *v.flags) for v in variants])
        if variants
        else ""
    )


def routed_pages(outputs: list[OutputFile]) -> list[RoutedPage]:
    """The pages that have variants, with their variants' files."""
    pages = []
    for output in sorted(outputs, key=lambda o: o.path):
        if output.variant is not None or not output.page_variants:
            continue
        files = content_files(output.page_variants)
        routed = tuple(
            (variant, f"{VARIANT_PREFIX}{files[variant.key]}/{output.path}")
            for variant in output.page_variants
            if files[variant.key]
        )
        if routed:
            pages.append(RoutedPage(output.url or "", output.path, routed))
    return pages


def _routing_outputs(
    site: SiteConfig,
    pages: list[RoutedPage],
    preview: bool = False,
    hidden: frozenset[str] = frozenset(),
) -> list[OutputFile]:
    """`.htaccess`, `_headers` and `_redirects` for the pages that have variants (and, for a
    preview build, `X-Robots-Tag: noindex` on everything)."""
    files = server_files(site, pages, PIXEL_PATH, preview, hidden)
    return [
        OutputFile(
            path,
            "routing",
            "bytes",
            data_key("routing", path, text),
            "routing rules",
            content=text.encode("utf-8"),
        )
        for path, text in files.items()
    ]


def plan_site(
    site: SiteConfig,
    content: SiteContent,
    assets: AssetBundle,
    components: Mapping[str, Any] | None = None,
    preview: bool = False,
    access: SiteAccess | None = None,
    search: Mapping[str, bytes] | None = None,
) -> SitePlan:
    outputs = [
        *_component_outputs(components or {}),
        *_page_outputs(site, content),
        *_listing_outputs(site, content),
    ]
    if access is not None:
        outputs += _protected_outputs(site, content, access, outputs)
    if site.recommendations.enabled:
        outputs.append(
            OutputFile(
                f"{RECOMMENDATIONS_PREFIX}_popular.json",
                "data",
                "popular",
                data_key("popular"),
                "most viewed pages",
            )
        )
    model: tuple[Route, ...] = ()
    if site.personalization.routing:
        hidden = frozenset(page.url for page in content.protected)
        pages = routed_pages(outputs)
        model = routes(pages, site.personalization)
        outputs += _routing_outputs(site, pages, preview, hidden)
    if site.personalization.tracking.enabled:
        outputs.append(
            OutputFile(
                PIXEL_PATH,
                "asset",
                "bytes",
                data_key("pixel", PIXEL_PATH),
                "tracking pixel",
                content=PIXEL,
            )
        )
    outputs += _site_files(site, content)
    outputs += _asset_outputs(assets)
    outputs += [
        OutputFile(
            f"pagefind/{path}",
            "asset",
            "bytes",
            data_key("search", path, hashlib.sha256(data).hexdigest()),
            "search index",
            content=data,
        )
        for path, data in sorted((search or {}).items())
    ]
    if site.http.precompress:
        outputs += precompressed(outputs)
    check_output_paths(outputs)
    check_goal_pages(site, {output.url for output in outputs if output.url})
    return SitePlan(site, tuple(sorted(outputs, key=lambda output: output.path)), model)


def check_goal_pages(site: SiteConfig, urls: set[str]) -> None:
    """A running experiment's page goal must be a page the site publishes: a goal nobody
    can reach would read as 'no effect' forever."""
    for experiment in site.personalization.experiments:
        if experiment.status != "running":
            continue
        for index, goal in enumerate(experiment.goals):
            if goal.page is not None and goal.page not in urls:
                raise BuildError(
                    f"experiments.{experiment.id}.goals[{index}]: page '{goal.page}' is not a "
                    f"page of site '{site.name}'" + suggest(goal.page, sorted(urls)),
                    goal.location,
                )


def _component_outputs(components: Mapping[str, Any]) -> list[OutputFile]:
    return [
        OutputFile(
            component.path,
            "asset",
            "bytes",
            data_key("component", component.path),
            f"lazy component {name}",
            content=component.content,
        )
        for name, component in sorted(components.items())
    ]


def _page_outputs(site: SiteConfig, content: SiteContent) -> list[OutputFile]:
    """Every page with its variants, and its recommendation lists."""
    outputs: list[OutputFile] = []
    recommend = site.recommendations.enabled
    flags = visitor_flags(site)
    for page in content.pages:
        outputs += _with_variants(_page_file(page), site, flags)
        if recommend:
            outputs.append(
                OutputFile(
                    recommendations_path(page.url),
                    "data",
                    "recommendations",
                    text_key("recommendations", page.key),
                    page.source.display,
                    page_key=page.key,
                    url=page.url,
                )
            )
    return outputs


def _page_file(page: Page) -> OutputFile:
    """A page's default file (its variants are planned from it)."""
    return OutputFile(
        page.output_path,
        "page",
        "page",
        page_data_key(page),
        page.source.display,
        page_key=page.key,
        url=page.url,
    )


def _protected_outputs(
    site: SiteConfig, content: SiteContent, access: SiteAccess, outputs: list[OutputFile]
) -> list[OutputFile]:
    """Protected pages with their variants, each file's folder with the `.htaccess` that
    lets only their readers in, and `Require all granted` for a public page's folder below
    one of them. No recommendation list: a protected page is in no list."""
    flags = visitor_flags(site)
    planned: list[OutputFile] = []
    rules: dict[str, str] = {}
    for page in content.protected:
        files = _with_variants(_page_file(page), site, flags)
        text = protected_htaccess(
            site.auth, access.readers[page.url], access.login_url, _secure(site)
        )
        for output in files:
            rules[posixpath.dirname(output.path)] = text
        planned += files
    for output in outputs:
        folder = posixpath.dirname(output.path)
        if folder in rules:
            continue
        inside = [f for f in rules if f and (folder + "/").startswith(f + "/")]
        if inside:
            rules[folder] = PUBLIC_HTACCESS
    if access.login_origins:  # the network's login page and logout address
        for path, data in sorted(
            login_files(site.auth, access.login_origins, _secure(site)).items()
        ):
            planned.append(
                OutputFile(
                    path,
                    "routing" if path.endswith(".htaccess") else "asset",
                    "bytes",
                    data_key("login", path, hashlib.sha256(data).hexdigest()),
                    "login page",
                    content=data,
                )
            )
    for folder, text in sorted(rules.items()):
        path = posixpath.join(folder, ".htaccess") if folder else ".htaccess"
        if path == ".htaccess":
            raise BuildError(
                "the home page cannot be protected: its folder is the site's root, whose "
                ".htaccess routes the whole site; protect a section instead",
                content.protected[0].access_location,
            )
        planned.append(
            OutputFile(
                path,
                "routing",
                "bytes",
                data_key("protected", path, text),
                "access rules",
                content=text.encode("utf-8"),
            )
        )
    return planned


def _secure(site: SiteConfig) -> bool:
    """Whether the site is served over HTTPS (the session cookie is then `secure`)."""
    return site.base_url.startswith("https:")


def _listing_outputs(site: SiteConfig, content: SiteContent) -> list[OutputFile]:
    outputs: list[OutputFile] = []
    flags = visitor_flags(site)
    for listing in plan_listings(site, content):
        url = page_url(listing.first_url, listing.number)
        if listing.kind == "not_found":
            # With the runtime, the 404 page reports its views under NOT_FOUND_URL (Apache
            # serves it at whatever address was not found): "reached the 404 page" is then
            # an event like any page view, for experiments' guardrails.
            runtime = site.compat.not_found_page_runtime
            outputs.append(
                OutputFile(
                    "404.html",
                    "page",
                    "listing",
                    data_key("listing", listing, NOT_FOUND_URL)
                    if runtime
                    else data_key("listing", listing),
                    "404 page",
                    listing=listing,
                    url=NOT_FOUND_URL if runtime else None,
                )
            )
            continue
        outputs += _with_variants(
            OutputFile(
                url_to_output_path(url),
                "page",
                "listing",
                data_key("listing", listing),
                f"{listing.kind} listing {url}",
                listing=listing,
                url=url,
            ),
            site,
            flags,
        )
    return outputs


def _site_files(site: SiteConfig, content: SiteContent) -> list[OutputFile]:
    """The feed, the sitemap and robots.txt."""
    outputs = []
    if site.feed_enabled:
        entries = [
            (p.key, p.url, p.title, p.date, p.source.summary, p.source.digest)
            for p in content.recent()[: site.feed_entries]
        ]
        outputs.append(
            OutputFile(
                "feed.xml",
                "data",
                "feed",
                data_key(
                    "feed", site.title, site.description, site.base_url, site.language, entries
                ),
                "Atom feed",
            )
        )
    if site.sitemap:
        urls = [(p.url, p.date) for p in content.pages]
        outputs.append(
            OutputFile(
                "sitemap.xml",
                "data",
                "sitemap",
                data_key(
                    "sitemap", site.base_url, urls, sorted(content.sections), sorted(content.tags)
                ),
                "sitemap",
            )
        )
    outputs.append(
        OutputFile(
            "robots.txt",
            "data",
            "robots",
            data_key("robots", site.base_url, site.sitemap, site.robots_disallow),
            "robots.txt",
        )
    )
    return outputs


def _asset_outputs(assets: AssetBundle) -> list[OutputFile]:
    outputs = []
    for path, data in assets.files.items():
        kind = "data" if path.endswith("manifest.json") else "asset"
        outputs.append(
            OutputFile(
                path, kind, "asset", data_key("asset", path, hashlib.sha256(data).hexdigest()), path
            )
        )
    for path, source in assets.static.items():
        outputs.append(
            OutputFile(
                path,
                "asset",
                "static",
                data_key("static", path, hashlib.sha256(source.read_bytes()).hexdigest()),
                str(source),
                static_source=source,
            )
        )
    return outputs


COMPRESSIBLE = (".html", ".css", ".js", ".json", ".svg", ".xml", ".txt")


def precompressed(outputs: list[OutputFile]) -> list[OutputFile]:
    """A `.gz` twin for every text file (served by the .htaccess to clients that accept
    gzip): its renderer renders the original and compresses it, so it has the same
    dependencies and is fresh exactly when the original is."""
    return [
        OutputFile(
            output.path + ".gz",
            output.kind,
            "gzip",
            data_key("gzip", output.data_key),
            f"{output.origin} (gzip)",
            original=output,
        )
        for output in outputs
        if output.path.endswith(COMPRESSIBLE) and output.kind != "routing"
    ]


CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_ESCAPES = {code: repr(chr(code))[1:-1] for code in [*range(32), 127]}
"""Control characters as Python writes them in strings (`\\n`), so a message stays one
line."""


def check_output_paths(outputs: list[OutputFile]) -> None:
    """No path leaves the output root or holds a control character; no two outputs share
    a path or a folder, even by letter case (`Guides/` and `guides/` are one folder on a
    case-insensitive host)."""
    seen: dict[str, OutputFile] = {}
    folders: dict[str, tuple[str, OutputFile]] = {}
    for output in outputs:
        folder = output.path.rpartition("/")[0]
        while folder:
            first = folders.setdefault(folder.casefold(), (folder, output))
            if first[0] != folder:
                raise BuildError(
                    f"folder '{folder}/' and '{first[0]}/' (of {first[1].origin})"
                    " differ only by letter case; case-insensitive hosts would "
                    "merge them",
                    Location(output.origin, 0),
                )
            if first[1] is not output:
                break  # seen before, and so were its parents
            folder = folder.rpartition("/")[0]
        if CONTROL.search(output.path):
            raise BuildError(
                f"output path {output.path!r} holds a control character (a line "
                "break, a tab...): FTP commands are lines, so no server could "
                "take it; rename the file",
                Location(output.origin.translate(CONTROL_ESCAPES), 0),
            )
        if safe_parts(output.path) is None:
            raise BuildError(
                f"output path '{output.path}' would leave the output root",
                Location(output.origin, 0),
            )
        folded = output.path.casefold()
        other = seen.get(folded)
        if other is not None:
            what = (
                "the same path"
                if other.path == output.path
                else f"paths that differ only by letter case ('{other.path}')"
            )
            raise BuildError(
                f"'{output.path}' and {other.origin} map to {what}; case-insensitive "
                "hosts would serve one for the other",
                Location(output.origin, 0),
            )
        seen[folded] = output


def apply_rebuild_rules(plan: SitePlan, root: Path) -> SitePlan:
    """`rebuild:` rules, for dependencies nothing records (a script that reads a data file,
    a template filter that opens files): every output whose URL matches a rule's `then`
    globs depends on the contents of the project files its `when` globs match."""
    rules = plan.site.rebuild
    if not rules:
        return plan
    compiled = []
    for rule in rules:
        digest = hashlib.sha256()
        for pattern in rule.when:
            for path in sorted(root.glob(pattern)):
                if path.is_file():
                    digest.update(f"{path.relative_to(root)}\0".encode() + path.read_bytes())
        compiled.append(([glob_pattern(g.strip("/")) for g in rule.then], digest.hexdigest()))
    outputs = []
    for output in plan.outputs:
        target = (
            output.url if output.kind in ("page", "variant") and output.url else output.path
        ).strip("/")
        extra = [
            digest
            for patterns, digest in compiled
            if any(pattern.fullmatch(target) for pattern in patterns)
        ]
        outputs.append(
            replace(output, data_key=data_key(output.data_key, *extra)) if extra else output
        )
    return replace(plan, outputs=tuple(outputs))
