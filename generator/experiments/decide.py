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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.config.yaml_edit import (
    end_of,
    fragment,
    lines_of,
    load,
    next_key_line,
    set_scalar,
    unified_diff,
)
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


def edited(path: Path, made: list[Decision]) -> str:
    """The file's text with the decisions recorded, every other line left as it was."""
    text = path.read_text(encoding="utf-8")
    for decision in made:
        text = _record(text, load(text, str(path)), decision)
    return text


def _mapping(value: Any) -> bool:
    """A non-empty mapping (without narrowing ruamel's CommentedMap to a plain dict)."""
    return isinstance(value, dict) and bool(value)


def _record(text: str, document: Any, decision: Decision) -> str:
    lines = lines_of(text)
    fields = {"status": "concluded", "winner": decision.winner}
    experiments: Any = document.get("experiments") if _mapping(document) else None
    entry: Any = experiments.get(decision.experiment) if _mapping(experiments) else None
    if not _mapping(entry):
        # Inherited from a parent site: an entry of this site's own concludes it here.
        block = {decision.experiment: {**fields, "decision": decision.block}}
        if not _mapping(experiments):
            return "".join([*lines, *fragment({"experiments": block}, 0)])
        last = list(experiments)[-1]
        indent = experiments.lc.key(last)[1]
        stop = next_key_line(document, "experiments", len(lines))
        at = end_of(lines, experiments.lc.key(last)[0], stop)
        return "".join([*lines[:at], *fragment(block, indent), *lines[at:]])
    first = list(entry)[0]
    indent = entry.lc.key(first)[1]
    stop = next_key_line(experiments, decision.experiment, -1)
    if stop < 0:
        stop = next_key_line(document, "experiments", len(lines))
    added: dict[str, Any] = {}
    for key, value in fields.items():
        if key in entry:
            set_scalar(lines, entry.lc.key(key)[0], value)
        else:
            added[key] = value
    added["decision"] = decision.block
    at = end_of(lines, entry.lc.key(first)[0], stop)
    return "".join([*lines[:at], *fragment(added, indent), *lines[at:]])


def diff(path: Path, new: str, display: str) -> str:
    return unified_diff(path.read_text(encoding="utf-8"), new, display)
