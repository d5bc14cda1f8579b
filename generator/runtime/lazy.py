"""Lazy components: parts of a page that load after it, when a trigger fires.

A component is a template under `components/` (theme or site). The build renders each once
per site, before the pages, to its own fingerprinted fragment (`/_sg/components/<name>.<hash>
.html`). In a page, one line marks it lazy:

    {{ lazy("newsletter", trigger="visible", priority=2, height="14rem") }}

which leaves a placeholder that reserves the space (no layout shift) and holds the fragment
in `<noscript>` for visitors without JavaScript, and adds the component to the page's
lazy-load manifest (component, URL, trigger, priority, bytes, what it depends on). The
footer then carries the manifest and the loader (runtime/lazy.js), which loads components as
their triggers fire (visible, idle, interaction, a media query), by priority, through a queue
of at most `lazy.concurrency` requests at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
from markupsafe import Markup

from generator.dependencies import DependencyKind, record, recording
from generator.errors import BuildError, suggest
from generator.render.templates import template_error
from generator.runtime import lazy_script

FOLDER = "components"
PREFIX = "_sg/components/"
TRIGGERS = ("visible", "idle", "interaction", "media")
HEIGHT = re.compile(r"\d+(\.\d+)?(px|rem|em|vh|%)")


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    path: str
    """Output path of the fragment (fingerprinted)."""
    content: bytes
    depends: tuple[str, ...]
    """What rendering it read, as kind:key (templates, data files, config)."""

    @property
    def url(self) -> str:
        return "/" + self.path


def render_components(
    environment: jinja2.Environment, globals_: dict[str, Any]
) -> dict[str, Component]:
    """Every template under components/ rendered once for the site."""
    names = sorted(
        name
        for name in environment.list_templates()
        if name.startswith(FOLDER + "/") and name.endswith(".html")
    )
    found = {}
    for template_name in names:
        name = template_name[len(FOLDER) + 1 : -len(".html")]
        with recording() as read:
            try:
                text = environment.get_template(template_name).render(**globals_)
            except jinja2.TemplateError as error:
                raise template_error(error) from None
        data = text.strip().encode("utf-8") + b"\n"
        digest = hashlib.sha256(data).hexdigest()[:8]
        found[name] = Component(
            name,
            f"{PREFIX}{name}.{digest}.html",
            data,
            tuple(sorted(f"{kind}:{key}" for kind, key in read)),
        )
    return found


@dataclass
class LazyPage:
    """The lazy components one page uses, in the order it placed them."""

    components: Mapping[str, Component]
    entries: list[dict[str, Any]] = field(default_factory=list)

    def place(
        self,
        name: str,
        trigger: str = "visible",
        priority: int = 5,
        height: str = "10rem",
        media: str | None = None,
    ) -> Markup:
        record(DependencyKind.COMPONENT, name)
        component = self.components.get(name)
        if component is None:
            raise BuildError(
                f"lazy component '{name}' does not exist: expected a template "
                f"{FOLDER}/{name}.html" + suggest(name, list(self.components))
            )
        if trigger not in TRIGGERS:
            raise BuildError(
                f"lazy('{name}'): trigger '{trigger}' is not one of {', '.join(TRIGGERS)}"
            )
        if trigger == "media" and not media:
            raise BuildError(f"lazy('{name}'): trigger 'media' needs media='(a media query)'")
        if not HEIGHT.fullmatch(height):
            raise BuildError(
                f"lazy('{name}'): height '{height}' is not a CSS length such as 12rem or 320px"
            )
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise BuildError(f"lazy('{name}'): priority must be an integer")
        ident = f"sg-lazy-{len(self.entries) + 1}"
        self.entries.append(
            {
                "id": ident,
                "component": name,
                "url": component.url,
                "trigger": trigger,
                "media": media,
                "priority": priority,
                "bytes": len(component.content),
                "depends": component.depends,
            }
        )
        return Markup(
            '<div class="sg-lazy" id="{}" style="min-height:{}"><noscript>{}</noscript></div>'
        ).format(ident, height, Markup(component.content.decode("utf-8")))

    def footer(self, concurrency: int) -> Markup:
        """The page's lazy-load manifest (a JSON data block) and the loader."""
        if not self.entries:
            return Markup("")
        manifest = json.dumps(
            {"concurrency": concurrency, "components": self.entries},
            sort_keys=True,
            separators=(",", ":"),
        ).replace("<", "\\u003c")
        return Markup(
            '<script type="application/json" id="sitegen-lazy">{}</script><script>{}</script>'
        ).format(Markup(manifest), Markup(lazy_script()))
