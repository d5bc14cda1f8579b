"""`sitegen experiments decide`: apply each experiment's pre-registered rule, and with
`--write` record the outcome in the site's own `site.yaml` as a reviewable change.

The edit goes through a round-trip YAML library (ruamel.yaml), so the file keeps its
comments, key order, quoting and blank lines; only the concluded experiments' entries gain
`status: concluded`, `winner:` and a `decision:` block with the figures and the date. An
experiment inherited from a parent site is concluded by an entry in the site's own file
(maps merge by id), so the parent and its other children are left alone.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import ConfigError, Location
from generator.experiments.verdict import Status

CONCLUDING = ("winner", "control")


@dataclass(frozen=True)
class Decision:
    experiment: str
    """The experiment's id."""
    winner: str
    reason: str
    block: dict[str, Any]
    """The `decision:` mapping written under the experiment."""


def decisions(statuses: list[Status], today: dt.date) -> list[Decision]:
    """The experiments the rule concludes (running ones only)."""
    found = []
    for status in statuses:
        if status.experiment.status != "running" or status.verdict not in CONCLUDING:
            continue
        winner = status.winner or status.control
        primary = status.experiment.analysis.primary or ""
        found.append(
            Decision(
                status.experiment.id,
                winner,
                status.reason,
                {
                    "date": today,
                    "engine": status.experiment.analysis.engine,
                    "goal": primary,
                    "reason": status.reason,
                    "visitors": {name: arm.visitors for name, arm in status.data.arms.items()},
                    "conversions": {
                        name: arm.conversions.get(primary, 0)
                        for name, arm in status.data.arms.items()
                    },
                },
            )
        )
    return found


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: keeps comments and where every key is
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _fragment(values: dict[str, Any], indent: int) -> list[str]:
    """`values` as YAML lines at `indent` spaces (ruamel quotes what needs quoting)."""
    stream = io.StringIO()
    _yaml().dump(values, stream)
    return [
        " " * indent + line if line.strip() else line
        for line in stream.getvalue().splitlines(keepends=True)
    ]


SCALAR_LINE = re.compile(r"^(\s*[^:#\s][^:#]*:[ \t]*)(.*?)([ \t]+#.*)?(\r?\n)?$", re.S)


def _set_scalar(lines: list[str], line: int, value: str) -> None:
    """Replace the value of the `key: value` on `line`; the key, the spacing and a trailing
    comment stay as they were."""
    match = SCALAR_LINE.match(lines[line])
    if match is None:
        raise ConfigError("cannot edit this line", Location("", line + 1))
    lines[line] = match[1] + value + (match[3] or "") + (match[4] or "")


def _end_of(lines: list[str], start: int, stop: int) -> int:
    """The line after the last content line in [start, stop): where to append."""
    end = stop
    while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _next_key_line(mapping: Any, key: str, fallback: int) -> int:
    keys = list(mapping)
    index = keys.index(key)
    return mapping.lc.key(keys[index + 1])[0] if index + 1 < len(keys) else fallback


def edited(path: Path, made: list[Decision]) -> str:
    """The file's text with the decisions recorded, every other line left as it was."""
    from ruamel.yaml.error import YAMLError

    text = path.read_text(encoding="utf-8")
    for decision in made:
        try:
            document = _yaml().load(text)
        except YAMLError as error:
            raise ConfigError(f"cannot edit: {error}", Location(str(path), 0)) from None
        text = _record(text, document, decision)
    return text


def _mapping(value: Any) -> bool:
    """A non-empty mapping (without narrowing ruamel's CommentedMap to a plain dict)."""
    return isinstance(value, dict) and bool(value)


def _record(text: str, document: Any, decision: Decision) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    fields = {"status": "concluded", "winner": decision.winner}
    experiments: Any = document.get("experiments") if _mapping(document) else None
    entry: Any = experiments.get(decision.experiment) if _mapping(experiments) else None
    if not _mapping(entry):
        # Inherited from a parent site: an entry of this site's own concludes it here.
        block = {decision.experiment: {**fields, "decision": decision.block}}
        if not _mapping(experiments):
            return "".join([*lines, *_fragment({"experiments": block}, 0)])
        last = list(experiments)[-1]
        indent = experiments.lc.key(last)[1]
        stop = _next_key_line(document, "experiments", len(lines))
        at = _end_of(lines, experiments.lc.key(last)[0], stop)
        return "".join([*lines[:at], *_fragment(block, indent), *lines[at:]])
    first = list(entry)[0]
    indent = entry.lc.key(first)[1]
    stop = _next_key_line(experiments, decision.experiment, -1)
    if stop < 0:
        stop = _next_key_line(document, "experiments", len(lines))
    added: dict[str, Any] = {}
    for key, value in fields.items():
        if key in entry:
            _set_scalar(lines, entry.lc.key(key)[0], value)
        else:
            added[key] = value
    added["decision"] = decision.block
    at = _end_of(lines, entry.lc.key(first)[0], stop)
    return "".join([*lines[:at], *_fragment(added, indent), *lines[at:]])


def diff(path: Path, new: str, display: str) -> str:
    old = path.read_text(encoding="utf-8")
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{display}",
            f"b/{display}",
        )
    )
