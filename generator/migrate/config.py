"""Migrations of the config files (`sites/*/site.yaml`, `themes/*/theme.yaml`)."""

from __future__ import annotations

from typing import Any

from generator.config.compat import FLAGS
from generator.config.personalization import goal_id
from generator.config.yaml_edit import lines_of, load, rename_key, set_scalar
from generator.formats import CONFIG
from generator.migrate.registry import migration


@migration(
    CONFIG,
    1,
    "'sitegen: 2'; experiment goals name their ids; a site file records 0.2.0's behaviour "
    "changes as off (compat)",
)
def to_format_2(text: str, display: str) -> str:
    """Format 1 derived a goal's id from its page or selector; format 2 writes it, so that
    editing the page no longer renames the goal in the events. The ids written are the
    ones format 1 derived: the statistics carry on unchanged. A site file also records the
    behaviour changes that format 2 turns on by default as off (`compat:`), so the site's
    output stays the same."""
    document = load(text, display)
    lines = lines_of(text)
    goals = sorted(_goals_without_id(document), key=lambda goal: -_first_key(goal)[1])
    for goal, (_, line, column) in ((goal, _first_key(goal)) for goal in goals):
        name = goal_id(goal.get("page"), goal.get("click"))
        written = lines[line]
        if goal.fa.flow_style():  # - {page: /care/}
            lines[line] = f"{written[:column]}id: {name}, {written[column:]}"
        else:  # - page: /care/  ->  - id: care / page: /care/
            lines[line] = f"{written[:column]}id: {name}\n{' ' * column}{written[column:]}"
    text = "".join(lines)
    document = load(text, display)
    lines = lines_of(text)
    if "sitegen" in document:
        line = document.lc.key("sitegen")[0]
        set_scalar(lines, line, "2", display)
    elif "schema" in document:
        line = document.lc.key("schema")[0]
        rename_key(lines, document, "schema", "sitegen", display)
        set_scalar(lines, line, "2", display)
    elif document:
        line = document.lc.key(next(iter(document)))[0]
        lines.insert(line, "sitegen: 2\n")
    else:
        line = len(lines)
        lines.append("sitegen: 2\n")
    kept = [flag.name for flag in FLAGS if flag.since_format == 2]
    if display.endswith("site.yaml") and "compat" not in document and kept:
        # The output stays what format 1 gave: the site opts in to each change later.
        flags = ", ".join(f"{name}: false" for name in kept)
        lines.insert(
            line + 1, f"compat: {{{flags}}}  # sitegen 0.1's output (docs/compatibility.md)\n"
        )
    return "".join(lines)


def _goals_without_id(document: Any) -> list[Any]:
    places = [document]
    environments = document.get("environments")
    if isinstance(environments, dict):
        places += [overlay for overlay in environments.values() if isinstance(overlay, dict)]
    found = []
    for place in places:
        experiments = place.get("experiments")
        for entry in experiments.values() if isinstance(experiments, dict) else ():
            goals = entry.get("goals") if isinstance(entry, dict) else None
            for goal in goals if isinstance(goals, list) else ():
                if isinstance(goal, dict) and goal and "id" not in goal:
                    found.append(goal)
    return found


def _first_key(goal: Any) -> tuple[str, int, int]:
    key = next(iter(goal))
    line, column = goal.lc.key(key)
    return key, int(line), int(column)
