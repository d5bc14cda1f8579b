"""What a Markdown body links to and shows, with lines, and its first heading.

Read once when a file is parsed and kept in the source cache with the front matter, so the
build checks every page's links without reading unchanged files again. Code (fenced,
indented and inline) is blanked first: a link written inside code is an example, not a link.
"""

from __future__ import annotations

import re

Link = tuple[str, int, bool]
"""(target as written, line in the file, is an image)."""

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[^\n]*\n.*?(?:^\1?\2[`~]*[ \t]*$|\Z)", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
INLINE_LINK = re.compile(r"(!?)\[(?:[^\[\]\\]|\\.|\[[^\[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s)]+)")
REFERENCE = re.compile(r"^ {0,3}\[(?!\^)[^\]\n]+\]:\s*(<[^>\n]*>|\S+)", re.M)
"""A link reference definition (`[label]: /target`); `[^label]:` is a footnote's."""
REFERENCE_USE = re.compile(r"(!?)\[((?:[^\[\]\\]|\\.)*)\](?:\[((?:[^\[\]\\]|\\.)*)\])?(?!\()")
HTML_ATTRIBUTE = re.compile(r"<(a|img)\b[^>]*?\s(href|src)\s*=\s*\"([^\"]*)\"", re.I)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|#)")


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _without_indented_code(body: str) -> str:
    """Indented code blocks (four spaces or a tab, after a blank line or another code line)
    blanked, line by line."""
    lines = body.split("\n")
    previous_blank, in_code = True, False
    for index, line in enumerate(lines):
        blank = not line.strip()
        in_code = not blank and line.startswith(("    ", "\t")) and (previous_blank or in_code)
        if in_code:
            lines[index] = " " * len(line)
        previous_blank = blank
    return "\n".join(lines)


def _without_code(body: str) -> str:
    """The body with code replaced by spaces (lines and offsets unchanged)."""
    body = FENCE.sub(_blank, body)
    body = _without_indented_code(body)
    return INLINE_CODE.sub(_blank, body)


def first_heading(body: str) -> str | None:
    """The text of the body's first ATX heading (`# Title`), outside code."""
    match = HEADING.search(_without_code(body))
    if match is None:
        return None
    text = re.sub(r"[*_`]+", "", match.group(1)).strip()
    return text or None


def internal_links(body: str, body_line: int) -> tuple[Link, ...]:
    """Every link and image of the body that points into the site (not to another scheme,
    host or an anchor of the page itself), with its line in the file."""
    text = _without_code(body)
    found: list[tuple[int, str, bool]] = []
    definitions = {}
    for match in REFERENCE.finditer(text):
        label = match.group(0).split("]", 1)[0].lstrip(" [").lower()
        definitions[label] = (match.start(1), match.group(1).strip("<>"))
    for match in INLINE_LINK.finditer(text):
        found.append((match.start(2), match.group(2).strip("<>"), bool(match.group(1))))
    for match in REFERENCE_USE.finditer(text):
        label = (match.group(3) or match.group(2)).lower()
        if label in definitions:
            # The target is checked where it is defined; an image by where it is used.
            offset, target = definitions[label]
            image = bool(match.group(1))
            found.append((match.start() if image else offset, target, image))
    for match in HTML_ATTRIBUTE.finditer(text):
        found.append((match.start(3), match.group(3), match.group(1).lower() == "img"))
    links = []
    seen = set()
    for offset, target, image in sorted(found):
        if not target or EXTERNAL.match(target) or "{{" in target:
            continue
        line = body_line + body.count("\n", 0, offset)
        if (target, line, image) not in seen:
            seen.add((target, line, image))
            links.append((target, line, image))
    return tuple(links)
