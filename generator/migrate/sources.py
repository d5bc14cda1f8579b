"""`sitegen migrate` for pages and templates: deprecated front-matter keys and template
functions renamed to their replacements where they are written.

Only the words concerned change: a front-matter key is renamed on its line (ruamel.yaml
finds it), a template call on the line Jinja's parser puts it on. A use that cannot be
rewritten with certainty (the old key and its replacement both set; a line where the
name appears other than as the calls the parser found) stops the migration before
anything is written, naming the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes

from generator.config.yaml_edit import lines_of, load, rename_key
from generator.deprecations import FRONT_MATTER_KEYS, TEMPLATE_FUNCTIONS
from generator.errors import ConfigError, Location

TEMPLATE_SUFFIXES = (".html", ".xml", ".txt", ".j2")
_FENCE_CLOSE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def page_files(root: Path) -> Iterator[Path]:
    """Every Markdown file of the content pools and the sites' own content."""
    for folder in [root / "content", *sorted((root / "sites").glob("*/content"))]:
        yield from _files(folder, (".md",))


def template_files(root: Path) -> Iterator[Path]:
    """Every template of the themes and the sites."""
    for folder in sorted([*root.glob("themes/*/templates"), *root.glob("sites/*/templates")]):
        yield from _files(folder, TEMPLATE_SUFFIXES)


def _files(folder: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
            if path.suffix in suffixes and path.is_file() and not hidden:
                yield path


def rename_front_matter(text: str, display: str) -> tuple[str, list[str]]:
    """The page's text with every deprecated front-matter key renamed; the steps taken."""
    if not FRONT_MATTER_KEYS:
        return text, []
    crlf = "\r\n" in text
    plain = text.replace("\r\n", "\n")
    if not plain.startswith("---\n"):
        return text, []
    close = _FENCE_CLOSE.search(plain, 4)
    if close is None:
        return text, []  # the build names the unclosed front matter
    front = plain[4 : close.start()]
    # A first blank line puts every key on the line index it has in the whole file.
    loaded = load("\n" + front, display)
    if not isinstance(loaded, dict):
        return text, []
    document: Any = loaded  # ruamel.yaml's mapping, which knows where its keys are
    lines = lines_of(plain)
    steps = []
    found = [key for key in document if key in FRONT_MATTER_KEYS]
    for key in sorted(found, key=lambda key: -document.lc.key(key)[0]):
        replacement = FRONT_MATTER_KEYS[key].replacement
        line = document.lc.key(key)[0] + 1
        if replacement in document:
            raise ConfigError(
                f"front matter '{key}': deprecated, and '{replacement}' is set too: remove one "
                "of them (migrate cannot tell which you meant)",
                Location(display, line),
            )
        rename_key(lines, document, key, replacement, display)
        steps.append(
            f"line {line}: front-matter key '{key}' is deprecated, renamed '{replacement}'"
        )
    if not steps:
        return text, []
    new = "".join(lines)
    if not plain.endswith("\n"):
        new = new[:-1]
    return (new.replace("\n", "\r\n") if crlf else new), sorted(steps)


def rename_template_calls(text: str, display: str) -> tuple[str, list[str]]:
    """The template's text with every call of a deprecated function renamed; the steps."""
    if not TEMPLATE_FUNCTIONS or not any(name in text for name in TEMPLATE_FUNCTIONS):
        return text, []
    try:
        tree = _parser().parse(text)
    except jinja2.TemplateSyntaxError:
        return text, []  # the build reports it, with its line
    calls: dict[tuple[int, str], int] = {}
    for call in tree.find_all(nodes.Call):
        callee = call.node
        if isinstance(callee, nodes.Name) and callee.name in TEMPLATE_FUNCTIONS:
            where = (call.lineno, callee.name)
            calls[where] = calls.get(where, 0) + 1
    if not calls:
        return text, []
    lines = lines_of(text)
    steps = []
    for (line, name), count in sorted(calls.items()):
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?=\s*\()")
        written = lines[line - 1]
        if len(pattern.findall(written)) != count:
            raise ConfigError(
                f"template function '{name}' is deprecated, but this line names it other than "
                f"as the {count} call(s) the template makes: rename it to "
                f"'{TEMPLATE_FUNCTIONS[name].replacement}' by hand",
                Location(display, line),
            )
        replacement = TEMPLATE_FUNCTIONS[name].replacement
        lines[line - 1] = pattern.sub(replacement, written)
        steps.append(
            f"line {line}: template function '{name}' is deprecated, renamed '{replacement}'"
        )
    new = "".join(lines)
    return (new if text.endswith("\n") else new[:-1]), steps


def _parser() -> jinja2.Environment:
    """An environment with the build's syntax settings, for parsing only."""
    return jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
