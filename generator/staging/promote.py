"""`sitegen promote`: move finished items from one environment to another by editing the
sources, and nothing else.

- a page limited to environments (`environments: [staging]`) gets the target environment
  added to that list;
- an experiment or feature flag declared only in an environment's overlay
  (`environments.staging.experiments.<id>`, `environments.staging.features.<id>`) moves to
  the same file's top-level `experiments:` or `features:`, where every environment has it.

Edits change only the lines they are about (config/yaml_edit.py): the rest of each file
stays byte for byte. A selection is refused, naming each problem, when a promoted page links
to a page the target environment would still lack. The user reviews the diff and commits;
`sitegen deploy` publishes as usual.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.config.model import SiteConfig
from generator.config.yaml_edit import end_of, lines_of, load, unified_diff
from generator.content.gates import glob_pattern
from generator.content.page import Page
from generator.content.sources import split_front_matter
from generator.errors import ConfigError, ContentError, Location, SitegenError

LINK = re.compile(r"""(?:\]\(|href=["'])(/[^)"'#?\s]*)""")
"""A site-relative link in Markdown or HTML."""


@dataclass(frozen=True)
class Selection:
    pages: tuple[str, ...] = ()
    """Globs over page keys (`articles/preview-*`) or URLs (`/articles/preview-*/`)."""
    experiments: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    everything: bool = False


@dataclass
class Promotion:
    site: str
    before: str
    after: str
    pages: list[str] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    edits: dict[Path, tuple[str, str]] = field(default_factory=dict)
    """File -> (text now, text after the promotion)."""

    def diff(self, root: Path) -> str:
        return "".join(
            unified_diff(old, new, str(path.relative_to(root)))
            for path, (old, new) in sorted(self.edits.items())
        )

    def write(self) -> None:
        for path, (_, new) in self.edits.items():
            temporary = path.with_name(path.name + ".sitegen-promote")
            temporary.write_text(new, encoding="utf-8")
            temporary.replace(path)


def plan_promotion(
    root: Path, site_name: str, before: str, after: str, selection: Selection
) -> Promotion:
    """The edits that give `after` exactly the selected items of `before`; errors name
    every selection that matches nothing and every dependency left behind."""
    from generator.staging.diff import Sides

    sides = Sides.load(root, site_name, (before, after))
    sites, pages = sides.sites, sides.pages()
    waiting = {key: page for key, page in pages[before].items() if key not in pages[after]}
    promotion = Promotion(site_name, before, after)
    chosen = _chosen_pages(waiting, selection)
    promotion.pages = sorted(chosen)
    promotion.experiments = _chosen_entries(
        "experiment",
        _ids(sites[before], "experiments"),
        _ids(sites[after], "experiments"),
        selection.experiments,
        selection.everything,
    )
    promotion.flags = _chosen_entries(
        "flag",
        _ids(sites[before], "features"),
        _ids(sites[after], "features"),
        selection.flags,
        selection.everything,
    )
    if not promotion.pages and not promotion.experiments and not promotion.flags:
        raise SitegenError(
            f"nothing to promote: {after} already has everything selected of {before}"
        )
    problems = _missing_links(chosen, waiting, pages[after])
    if problems:
        raise ContentError(
            f"cannot promote to {after}: "
            + "; ".join(problems)
            + " (promote those pages too, or remove the links)"
        )
    for key in promotion.pages:
        path = waiting[key].source.path
        old = promotion.edits.get(path, (path.read_text(encoding="utf-8"),) * 2)
        promotion.edits[path] = (old[0], _add_environment(old[1], after, waiting[key]))
    moves = [("experiments", name) for name in promotion.experiments]
    moves += [("features", name) for name in promotion.flags]
    for section, name in moves:
        path = _declaring_file(sites[before], section, name, root)
        old = promotion.edits.get(path, (path.read_text(encoding="utf-8"),) * 2)
        display = str(path.relative_to(root))
        promotion.edits[path] = (old[0], _move_entry(old[1], before, section, name, display))
    return promotion


def _ids(site: SiteConfig, section: str) -> set[str]:
    if section == "features":
        return {feature.id for feature in site.features}
    return set(site.values.get(section) or {})


def _chosen_pages(waiting: dict[str, Page], selection: Selection) -> dict[str, Page]:
    if selection.everything:
        return dict(waiting)
    chosen = {}
    for glob in selection.pages:
        pattern = glob_pattern(glob.strip("/"))
        found = {
            key: page
            for key, page in waiting.items()
            if pattern.fullmatch(key) or pattern.fullmatch(page.url.strip("/"))
        }
        if not found:
            raise SitegenError(
                f"--pages {glob}: no page matches that is only in the source environment"
                + (f" (there: {', '.join(sorted(waiting))})" if waiting else " (there is none)")
            )
        chosen.update(found)
    return chosen


def _chosen_entries(
    kind: str, there: set[str], here: set[str], named: tuple[str, ...], everything: bool
) -> list[str]:
    """The experiments (or flags) to promote: those only the source has, all of them or
    the ones named."""
    waiting = sorted(there - here)
    if everything:
        return waiting
    for name in named:
        if name not in waiting:
            known = f"; only there: {', '.join(waiting)}" if waiting else ""
            option = "--experiments" if kind == "experiment" else "--flags"
            raise SitegenError(
                f"{option} {name}: not a {kind} that only the source environment has{known}"
            )
    return sorted(named)


def _missing_links(
    chosen: dict[str, Page], waiting: dict[str, Page], target: dict[str, Page]
) -> list[str]:
    """Links of the promoted pages to pages the target would still lack."""
    left_behind = {page.url: key for key, page in waiting.items() if key not in chosen}
    problems = []
    for _, page in sorted(chosen.items()):
        for url in sorted(set(LINK.findall(page.source.body))):
            url = url if url.endswith("/") or "." in url.rsplit("/", 1)[-1] else url + "/"
            if url in left_behind:
                problems.append(
                    f"{page.source.display} links to {url}, the page {left_behind[url]}, "
                    "which is not promoted"
                )
    return problems


def _add_environment(text: str, environment: str, page: Page) -> str:
    """The page's text with `environment` added to its front matter's `environments:`."""
    display = page.source.display
    front, _, _ = split_front_matter(text, display)
    if front is None:
        raise ContentError("expected front matter with 'environments:'", Location(display, 1))
    document = load(front, display)
    lines = lines_of(text)
    line, _ = document.lc.key("environments")
    line += 1  # the opening '---'
    value = document["environments"]
    if getattr(value, "fa", None) is not None and value.fa.flow_style():
        names = [*value, environment]
        head = lines[line].split(":", 1)[0]
        lines[line] = f"{head}: [{', '.join(names)}]\n"
    else:
        last, column = value.lc.item(len(value) - 1)
        lines.insert(last + 2, " " * (column - 2) + f"- {environment}\n")
    return "".join(lines)


def _declaring_file(site: SiteConfig, section: str, name: str, root: Path) -> Path:
    location = site.locations.get((section, name))
    if location is None or not location.file:
        raise ConfigError(f"cannot tell which file declares {section}.{name}")
    return root / location.file


def _move_entry(text: str, environment: str, section: str, name: str, display: str) -> str:
    """`environments.<environment>.<section>.<name>` moved to the top-level `<section>:`
    of the same file, its lines re-indented, nothing else changed."""
    document = load(text, display)
    lines = lines_of(text)
    try:
        overlay = document["environments"][environment]
        block = overlay[section]
        first = int(block.lc.key(name)[0])
    except (KeyError, TypeError):
        raise ConfigError(
            f"'{name}' is not declared under environments.{environment}.{section} in this "
            "file (a value overridden there is promoted by hand)",
            Location(display, 0),
        ) from None
    ancestors = [
        (block, name),
        (overlay, section),
        (document["environments"], environment),
        (document, "environments"),
    ]
    stop = end_of(lines, first, _block_end(ancestors, len(lines)))
    indent = len(lines[first]) - len(lines[first].lstrip())
    moved = [
        line[indent - 2 :] if line[: indent - 2].isspace() else line for line in lines[first:stop]
    ]
    # Remove the entry (with the overlay's `<section>:` line when it held only this one).
    cut = int(overlay.lc.key(section)[0]) if len(block) == 1 else first
    top = document.get(section)
    if top is None:
        where = len(lines)
        moved = [f"{section}:\n", *moved]
    else:
        where = end_of(lines, 0, _block_end([(document, section)], len(lines)))
    # The later edit first, so that the earlier one's line numbers still hold.
    if where >= stop:
        lines[where:where] = moved
        del lines[cut:stop]
    else:
        del lines[cut:stop]
        lines[where:where] = moved
    return "".join(lines)


def _block_end(ancestors: list[tuple[Any, str]], total: int) -> int:
    """Where the value of the first (mapping, key) ends: the line of the next key of that
    mapping, or of the mappings it is nested in (innermost first), or the end of the file."""
    for mapping, key in ancestors:
        keys = list(mapping)
        index = keys.index(key)
        if index + 1 < len(keys):
            return int(mapping.lc.key(keys[index + 1])[0])
    return total


def production_changes(root: Path, site: str, environment: str, promotion: Promotion) -> list[Any]:
    """What the promotion changes in `environment`'s build (what a deploy would upload or
    delete): a build of the sources as they are and one of a copy with the edits applied,
    compared by manifest, in a temporary folder."""
    from generator.staging.diff import _built, manifest_changes

    with tempfile.TemporaryDirectory(prefix="sitegen-promote-") as folder:
        copy = Path(folder) / "sources"
        shutil.copytree(
            root,
            copy,
            ignore=shutil.ignore_patterns("build", "build-preview", ".git", ".venv", ".servers"),
        )
        for path, (_, new) in promotion.edits.items():
            (copy / path.relative_to(root)).write_text(new, encoding="utf-8")
        now = _built(root, site, environment, Path(folder) / "now")
        then = _built(copy, site, environment, Path(folder) / "then")
    return manifest_changes(now, then, "current", "promoted")
