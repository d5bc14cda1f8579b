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
import json
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


def plain(value: Any) -> Any:
    """A round-trip node as plain dicts, lists and scalars (what a comparison needs)."""
    return json.loads(json.dumps(value, default=str))


def replace_entry(text: str, section: str, entry: str, value: Any, display: str) -> str:
    """`text` with `<section>.<entry>` set to `value` (None: removed), written where it is,
    or at the end of its section, or in a new section at the end of the file; every other
    line stays as it was. Within the entry, a key whose value is unchanged keeps its lines."""
    document = load(text, display)
    lines = lines_of(text)
    new: list[str] | None = [] if value is None else None
    if not hasattr(document, "lc"):
        raise ConfigError("expected a mapping at the top of the file", Location(display, 1))
    if section not in document:
        if value is None:
            return text
        return "".join(lines) + "".join(fragment({section: {entry: value}}, 0))
    mapping = document[section]
    start = int(document.lc.key(section)[0])
    stop = next_key_line(document, section, len(lines))
    if not hasattr(mapping, "lc") or (mapping.fa.flow_style() if len(mapping) else True):
        raise ConfigError(
            f"'{section}' is written in flow style or empty; write it as an indented block "
            "to edit it here",
            Location(display, start + 1),
        )
    indent = int(mapping.lc.key(next(iter(mapping)))[1])
    if new is None:
        new = fragment({entry: value}, indent)
    if entry in mapping:
        at, until = _entry_lines(mapping, entry, lines, stop)
        if value is not None:
            new = _updated_entry(document, (section, entry, value), display, lines, at, until)
        return "".join(lines[:at] + new + lines[until:])
    end = end_of(lines, start + 1, stop)
    return "".join(lines[:end] + new + lines[end:])


def _entry_lines(mapping: Any, entry: str, lines: list[str], stop: int) -> tuple[int, int]:
    """[first, end) of the lines an entry of a mapping holds (trailing blank lines and
    comments belong to what follows)."""
    at = int(mapping.lc.key(entry)[0])
    return at, end_of(lines, at + 1, next_key_line(mapping, entry, stop))


def _merge_into(node: Any, value: Any) -> Any:
    """`value` written into the round-trip `node` where they differ: what is unchanged keeps
    its node (comments, flow style, quoting)."""
    if hasattr(node, "lc") and isinstance(value, dict) and hasattr(node, "keys"):
        for key in [key for key in node if key not in value]:
            del node[key]
        for key, new in value.items():
            node[key] = _merge_into(node[key], new) if key in node else new
        return node
    return node if node == value else value


def _key_lines(entry: Any, lines: list[str], at: int, until: int) -> dict[str, list[str]]:
    """The lines of each key of an entry's mapping, between the entry's [at, until)."""
    found = {}
    for key in entry:
        start = int(entry.lc.key(key)[0])
        found[key] = lines[start : end_of(lines, start + 1, next_key_line(entry, key, until))]
    return found


def _updated_entry(
    document: Any,
    edit: tuple[str, str, Any],
    display: str,
    lines: list[str],
    at: int,
    until: int,
) -> list[str]:
    """The entry's lines after its values change in place: the lines of a key whose value
    is unchanged stay as written; a changed or new key's lines are as the round-trip
    library writes them (comments, flow style and quoting of what it keeps)."""
    section, entry, value = edit
    mapping = document[section]
    original = mapping[entry]
    if not (hasattr(original, "lc") and isinstance(value, dict) and len(original)):
        return fragment({entry: value}, int(mapping.lc.key(entry)[1]))
    before = {key: plain(item) for key, item in original.items()}
    kept = _key_lines(original, lines, at, until)
    head = lines[at : int(original.lc.key(next(iter(original)))[0])]
    mapping[entry] = _merge_into(original, value)
    stream = io.StringIO()
    round_trip().dump(document, stream)
    dumped = stream.getvalue()
    written = load(dumped, display)
    dumped_lines = lines_of(dumped)
    stop = next_key_line(written, section, len(dumped_lines))
    new_at, new_until = _entry_lines(written[section], entry, dumped_lines, stop)
    rewritten = _key_lines(written[section][entry], dumped_lines, new_at, new_until)
    result = list(head)
    order = [key for key in before if key in value]  # the file's order first
    order += [key for key in value if key not in before]
    for key in order:
        unchanged = key in before and before[key] == plain(value[key])
        result += kept[key] if unchanged else rewritten[key]
    return result
