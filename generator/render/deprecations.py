"""Deprecated template functions called by a site's templates, found in the templates'
source (Jinja's parser), so the warning names the file and line whether or not the pages
are rendered again."""

from __future__ import annotations

import jinja2
from jinja2 import nodes

from generator.deprecations import TEMPLATE_FUNCTIONS
from generator.render.templates import ThemeLoader


def deprecated_calls(environment: jinja2.Environment) -> list[str]:
    """`file:line: message` for each call of a deprecated template function."""
    loader = environment.loader
    if not TEMPLATE_FUNCTIONS or not isinstance(loader, ThemeLoader):
        return []
    found = []
    for name in loader.list_templates():
        path = loader.find(name)
        if path is None or path.suffix not in (".html", ".xml", ".txt", ".j2"):
            continue
        try:
            tree = environment.parse(path.read_text(encoding="utf-8"))
        except jinja2.TemplateSyntaxError:
            continue  # the render reports it, with its line
        display = (
            str(path.relative_to(loader.root)) if path.is_relative_to(loader.root) else str(path)
        )
        for call in tree.find_all(nodes.Call):
            callee = call.node
            if isinstance(callee, nodes.Name) and callee.name in TEMPLATE_FUNCTIONS:
                found.append(
                    f"{display}:{call.lineno}: {TEMPLATE_FUNCTIONS[callee.name].message()}"
                )
    return found
