"""Editing a user's YAML file line by line, with ruamel.yaml to find where things are.

A round-trip YAML library keeps comments and key order when it writes a document back, but
it re-indents, re-wraps and re-quotes what it did not need to touch. These helpers change
only the lines an edit is about: ruamel.yaml parses the file for the positions of keys and
values (`lc`), and the edit replaces or inserts those lines; the rest of the file stays
byte for byte as the user wrote it. Used by `experiments decide --write` and `migrate`.
"""

from __future__ import annotations

import difflib
import io
import re
from typing import Any

from generator.errors import ConfigError, Location


def round_trip() -> Any:
    """A round-trip parser (ruamel.yaml: keeps where every key is, and the comments)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(text: str, display: str) -> Any:
    """The file's document as ruamel.yaml reads it; a syntax error names the line."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return round_trip().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(f"malformed YAML: {error.problem}", Location(display, line)) from None
    except YAMLError as error:
        raise ConfigError(f"malformed YAML: {error}", Location(display, 0)) from None


def lines_of(text: str) -> list[str]:
    """The text's lines with their endings; the last one ends with a newline too."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def fragment(values: dict[str, Any], indent: int) -> list[str]:
    """`values` as YAML lines at `indent` spaces (ruamel quotes what needs quoting)."""
    stream = io.StringIO()
    round_trip().dump(values, stream)
    return [
        " " * indent + line if line.strip() else line
        for line in stream.getvalue().splitlines(keepends=True)
    ]


SCALAR_LINE = re.compile(r"^(\s*[^:#\s][^:#]*:[ \t]*)(.*?)([ \t]+#.*)?(\r?\n)?$", re.S)


def set_scalar(lines: list[str], line: int, value: str, display: str = "") -> None:
    """Replace the value of the `key: value` on `line` (0-based); the key, the spacing and
    a trailing comment stay as they were."""
    match = SCALAR_LINE.match(lines[line])
    if match is None:
        raise ConfigError(
            "cannot edit this line: expected 'key: value'", Location(display, line + 1)
        )
    lines[line] = match[1] + value + (match[3] or "") + (match[4] or "")


def rename_key(lines: list[str], mapping: Any, old: str, new: str, display: str) -> None:
    """Rename `old` to `new` where it is written, keeping its value, spacing and comment."""
    line, column = mapping.lc.key(old)
    text = lines[line]
    if text[column : column + len(old)] != old or text[column + len(old) :][:1] not in (":", " "):
        raise ConfigError(
            f"cannot rename '{old}' to '{new}' here: expected the key written plainly",
            Location(display, line + 1),
        )
    lines[line] = text[:column] + new + text[column + len(old) :]


def end_of(lines: list[str], start: int, stop: int) -> int:
    """The line after the last content line in [start, stop): where to append."""
    end = stop
    while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def next_key_line(mapping: Any, key: str, fallback: int) -> int:
    """The line of the key after `key` in `mapping`, or `fallback` when it is the last."""
    keys = list(mapping)
    index = keys.index(key)
    return int(mapping.lc.key(keys[index + 1])[0]) if index + 1 < len(keys) else fallback


def unified_diff(old: str, new: str, display: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{display}",
            f"b/{display}",
        )
    )
