"""Personalization while rendering a page: slots, variant texts, the <head> tags of the
runtime, and pages replaced by a rule or an arm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from generator.content.index import VARIANTS_SUFFIX
from generator.content.sources import Source, parse_source
from generator.dependencies import DependencyKind, record
from generator.errors import BuildError
from generator.hosting.csp import csp_marker
from generator.layout import safe_parts
from generator.personalize.features import runtime_features
from generator.personalize.variants import (
    PAGE_SLOT,
    TEMPLATE_SLOT,
    AppliedChange,
    base_changes,
    content_files,
    is_whole_page,
)
from generator.pipeline.plan import OutputFile
from generator.pipeline.site_state import SiteState
from generator.render.markdown import render_markdown
from generator.runtime import footer_script, preview_script, runtime_script
from generator.runtime.page_config import (
    PERSONALIZATION_KEYS,
    page_config,
    site_needs_runtime,
)
from generator.runtime.prefetch import NextPages, speculation_rules

SLOT_FILL = Markup("<script>sitegen.fill(document.currentScript)</script>")
"""Ends a slot that has alternatives; the same text everywhere, so one CSP hash allows it."""
DEFAULT_FILE = "default"
"""How a slot's alternatives name the default page's file (no variant key has this form)."""


class Slots:
    """`{% call slot("hero") %}default{% endcall %}` in templates.

    On the default page a slot shows what the template wrote inside it; on a variant, the
    variant's text (`<page>.variants/<slot>.<name>.md`) or partial instead. Slots a variant
    changes but the template never shows are an error: the author meant something that
    would silently not happen.

    Every file of a page also carries what its other files show in each slot (unless one
    of the two replaces the whole page): `<!--sg-slot-->shown<!--/sg-slot-->`, then one
    `<template data-sg-slot="file keys">` per other content, then SLOT_FILL. When the
    runtime finds the visitor belongs to another file than the one served (a new visitor's
    first view), it fills the slot from the template as the parser reaches it: no request,
    no hidden page, nothing shifts.
    """

    def __init__(self, state: SiteState, output: OutputFile, context: dict[str, Any]) -> None:
        self.state = state
        self.output = output
        self.context = context
        self.shown: set[str] = set()
        self.changes = {a.slot: a for a in output.changes if not a.slot.startswith("@")}
        self.alternatives = self._alternatives()

    def _alternatives(self) -> dict[str, list[tuple[AppliedChange | None, list[str]]]]:
        """Per slot: (content, the keys of the files that show it) for each content other
        than this file's."""
        variants = self.output.page_variants
        if not variants or (self.output.variant and is_whole_page(self.output.variant)):
            return {}
        by_key = {variant.key: variant for variant in variants}
        base = {
            a.slot: a for a in base_changes(self.output.url or "", self.state.site.personalization)
        }
        found: dict[str, list[tuple[AppliedChange | None, list[str]]]] = {}
        for key in sorted(set(content_files(variants).values())):
            if key and is_whole_page(by_key[key]):
                continue
            own = {a.slot: a for a in by_key[key].changes} if key else {}
            for slot in sorted({*own, *base, *self.changes} - {TEMPLATE_SLOT, PAGE_SLOT}):
                applied = own.get(slot) or base.get(slot)
                current = self.changes.get(slot)
                change = applied.change if applied else None
                if change == (current.change if current else None):
                    continue
                groups = found.setdefault(slot, [])
                group = next((g for g in groups if (g[0].change if g[0] else None) == change), None)
                if group is None:
                    groups.append((applied, [key or DEFAULT_FILE]))
                else:
                    group[1].append(key or DEFAULT_FILE)
        return found

    def __call__(self, name: str, caller: Any = None) -> Markup:
        self.shown.add(name)
        shown = self._render(name, self.changes.get(name), caller)
        alternatives = self.alternatives.get(name)
        if not alternatives:
            return shown
        parts = [Markup("<!--sg-slot-->"), shown, Markup("<!--/sg-slot-->")]
        for applied, keys in alternatives:
            parts.append(
                Markup('<template data-sg-slot="{}">{}</template>').format(
                    " ".join(keys), self._render(name, applied, caller)
                )
            )
        return Markup("").join([*parts, SLOT_FILL])

    def _render(self, name: str, applied: AppliedChange | None, caller: Any) -> Markup:
        if applied is None:
            return Markup(caller()) if caller is not None else Markup("")
        change = applied.change
        if change.partial:
            template = self.state.environment.get_template(change.partial)
            return Markup(template.render(**self.context))
        path = self._variant_text(name, change.markdown or "", applied)
        source = parse_source(path, str(path.relative_to(self.state.network.root)))
        return Markup(render_markdown(source.body))

    def _variant_text(self, slot: str, name: str, wanted_by: AppliedChange) -> Path:
        filename = f"{slot}.{name}.md"
        candidates = [folder / filename for folder in variant_folders(self.state, self.output)]
        for candidate in candidates:
            record(DependencyKind.FILE, str(candidate))
            if candidate.is_file():
                return candidate
        shown = ", ".join(str(c.relative_to(self.state.network.root)) for c in candidates)
        raise BuildError(
            f"{wanted_by.source} changes slot '{slot}' of {self.output.url} with "
            f"text '{name}', but there is no such file (expected one of: {shown})",
            wanted_by.location,
        )

    def check_all_shown(self, template: str) -> None:
        for slot, applied in sorted(self.changes.items()):
            if slot not in self.shown:
                known = ", ".join(sorted(self.shown)) or "none"
                raise BuildError(
                    f"{applied.source} changes slot '{slot}', but template "
                    f"'{template}' used by {self.output.url} has no such slot "
                    f"(expected one of its slots: {known})",
                    applied.location,
                )


def variant_folders(state: SiteState, output: OutputFile) -> list[Path]:
    """Where a page's variant texts live: next to the page (or the listing's index.md), in a
    folder `<name>.variants/`; for a pool page also next to the pool's own file."""
    folders = []
    page = state.pages_by_key.get(output.page_key or "")
    listing = output.listing
    if page is None and listing is not None and listing.intro_key:
        page = state.pages_by_key.get(listing.intro_key)
    if page is not None:
        source = page.source.path
        folders.append(source.with_name(source.stem + VARIANTS_SUFFIX))
        if page.pool is not None and page.overridden:
            relative = page.key[len(page.pool) + 1 :]
            original = state.network.pools[page.pool] / f"{relative}.md"
            folders.append(original.with_name(original.stem + VARIANTS_SUFFIX))
    elif output.url is not None:
        # A listing without an index.md: the nearest site in the lineage that has the folder.
        for name in state.site.lineage:
            folder = state.network.sites[name].directory / "content" / output.url.strip("/")
            folders.append(folder / ("index" + VARIANTS_SUFFIX))
    return folders


def head_tags(state: SiteState, output: OutputFile) -> Markup:
    """`{{ sitegen_head() }}`: what every page carries in <head> for personalization: the
    variant key it was built as (read by the runtime), noindex on preview builds, and, on
    sites that personalize, the inline runtime with its config (no request
    before first paint)."""
    variant = output.variant
    build = state.build_version
    rules = speculation_rules(
        state.site.prefetch,
        NextPages(state.recommendations, state.pages_by_key),
        output.url,
        output.page_key,
    )
    # Filled in once the page is rendered (hosting/csp.py), from the inline scripts and styles
    # it ends up holding.
    tags = csp_marker()
    tags += Markup(
        '<meta name="sitegen:variant" content="{}">\n<meta name="sitegen:build" content="{}">'
    ).format(variant.key if variant else "", build)
    record(DependencyKind.OPTION, "preview")
    # A variant's file is served at its page's URL, so it carries no noindex: on a
    # /_variants/ URL the runtime adds it (and .htaccess or _headers send X-Robots-Tag).
    if state.preview:
        tags += Markup('\n<meta name="robots" content="noindex">')
    if rules:
        # Made by the build as JSON with "<" escaped: safe inside <script>.
        tags += Markup('\n<script type="speculationrules">{}</script>').format(Markup(rules))
    personalization = state.site.personalization
    for key in PERSONALIZATION_KEYS:
        record(DependencyKind.CONFIG, key)
    flags = state.visitor_flags
    if not site_needs_runtime(personalization, bool(flags)) or output.url is None:
        return tags
    page = state.pages_by_key.get(output.page_key or "")
    attributes = page.source.meta.get("attributes") if page is not None else None
    config = page_config(
        personalization,
        output.url,
        variant,
        output.page_variants,
        page.tags if page is not None else (),
        attributes if isinstance(attributes, dict) else {},
        build,
        runtime_features(state.site, flags) if flags else None,
    )
    # Both are JSON / minified code made by the build, safe inside <script>. The
    # configuration is a data block, not a script: the Content-Security-Policy allows the
    # runtime by its hash, which must not change from page to page.
    tags += Markup(
        '\n<script type="application/json" id="sitegen-config">{}</script>\n<script>{}</script>'
    ).format(Markup(config), Markup(runtime_script(bool(flags))))
    if state.preview:
        tags += Markup("\n<script>{}</script>").format(Markup(preview_script()))
    return tags


def replacement_source(state: SiteState, applied: AppliedChange) -> Source:
    """The Markdown file a rule or arm puts in a page's place (project-relative)."""
    relative = applied.change.page or ""
    parts = safe_parts(relative)
    if parts is None:
        raise BuildError(f"{applied.source}: page '{relative}' would leave the project folder")
    path = state.network.root.joinpath(*parts)
    record(DependencyKind.FILE, str(path))
    if not path.is_file():
        raise BuildError(f"{applied.source}: page '{relative}' does not exist")
    return parse_source(path, relative)


def footer_tags(state: SiteState, output: OutputFile) -> Markup:
    """`{{ sitegen_footer() }}` before `</body>`: tracking and recommendations, which need
    not run before first paint and so stay out of the head's byte budget."""
    if (
        not site_needs_runtime(state.site.personalization, bool(state.visitor_flags))
        or output.url is None
    ):
        return Markup("")
    return Markup("<script>{}</script>").format(Markup(footer_script()))
