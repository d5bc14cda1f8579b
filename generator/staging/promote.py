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

import yaml

from generator.assets.bundle import layered_files, search_roots
from generator.config.merge import merge_documents
from generator.config.sourced_yaml import SourcedDocument
from generator.config.yaml_edit import end_of, lines_of, load, plain, replace_entry, unified_diff
from generator.content.gates import glob_pattern
from generator.content.page import Page
from generator.content.sources import split_front_matter
from generator.errors import ConfigError, ContentError, Location, SitegenError
from generator.layout import SITE_FILE
from generator.pipeline.checks import resolved_link
from generator.render.templates import ThemeLoader, template_directories
from generator.staging.diff import Sides, canonical, declared

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
    sides = Sides.load(root, site_name, (before, after))
    sites, pages = sides.sites, sides.pages()
    waiting = {key: page for key, page in pages[before].items() if key not in pages[after]}
    promotion = Promotion(site_name, before, after)
    chosen = _chosen_pages(waiting, selection)
    promotion.pages = sorted(chosen)
    entries = {
        kind: _waiting_entries(declared(sites[before], kind), declared(sites[after], kind))
        for kind in ("experiment", "flag")
    }
    promotion.experiments = _chosen_entries(
        "experiment", entries["experiment"], selection.experiments, selection.everything
    )
    promotion.flags = _chosen_entries(
        "flag", entries["flag"], selection.flags, selection.everything
    )
    if not promotion.pages and not promotion.experiments and not promotion.flags:
        raise SitegenError(
            f"nothing to promote: {after} already has everything selected of {before}"
        )
    problems = _missing_links(chosen, waiting, pages[after])
    problems += _missing_files(sides, (before, after), chosen, promotion.experiments)
    if problems:
        raise ContentError(
            f"cannot promote to {after}: "
            + "; ".join(problems)
            + f" (promote those too, give {after} what is missing, or remove the uses)"
        )
    for key in promotion.pages:
        path = waiting[key].source.path
        old = promotion.edits.get(path, (path.read_text(encoding="utf-8"),) * 2)
        promotion.edits[path] = (old[0], _add_environment(old[1], after, waiting[key]))
    moves = [("experiments", name) for name in promotion.experiments]
    moves += [("features", name) for name in promotion.flags]
    for section, name in moves:
        for path in _declaring_files(sides, before, section, name):
            old = promotion.edits.get(path, (path.read_text(encoding="utf-8"),) * 2)
            display = str(path.relative_to(root))
            promotion.edits[path] = (old[0], _move_entry(old[1], before, section, name, display))
    return promotion


def _waiting_entries(there: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """The experiments (or flags) the source has and the target lacks or has otherwise."""
    return sorted(
        name for name, value in there.items() if canonical(value) != canonical(here.get(name))
    )


def _chosen_pages(waiting: dict[str, Page], selection: Selection) -> dict[str, Page]:
    if selection.everything:
        return dict(waiting)
    chosen = {}
    for glob in selection.pages:
        pattern = glob_pattern(glob.strip("/"))
        found = {
            key: page
            for key, page in waiting.items()
            if any(pattern.fullmatch(name) for name in (key, page.url.strip("/"), page.url[1:]))
        }
        if not found:
            raise SitegenError(
                f"--pages {glob}: no page matches that is only in the source environment"
                + (f" (there: {', '.join(sorted(waiting))})" if waiting else " (there is none)")
            )
        chosen.update(found)
    return chosen


def _chosen_entries(
    kind: str, waiting: list[str], named: tuple[str, ...], everything: bool
) -> list[str]:
    """The experiments (or flags) to promote: all that the source has otherwise than the
    target, or the ones named."""
    if everything:
        return waiting
    for name in named:
        if name not in waiting:
            known = f" (those are: {', '.join(waiting)})" if waiting else " (there is none)"
            option = "--experiments" if kind == "experiment" else "--flags"
            raise SitegenError(
                f"{option} {name}: not a {kind} that the source environment has and the "
                f"target lacks or has otherwise{known}"
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


@dataclass(frozen=True)
class _Resources:
    """What one environment of the site can use: its templates and its files by the path
    pages name them with (`images/…`, and static files from the site's root)."""

    templates: ThemeLoader
    files: dict[str, Path]

    @classmethod
    def of(cls, sides: Sides, environment: str) -> _Resources:
        site, network = sides.sites[environment], sides.networks[environment]
        roots = search_roots(site, network)
        images = {f"images/{name}": path for name, path in layered_files(roots, "images").items()}
        return cls(
            ThemeLoader(template_directories(site, network), sides.root),
            {**layered_files(roots, "static"), **images},
        )


def _missing_files(
    sides: Sides, environments: tuple[str, str], chosen: dict[str, Page], experiments: list[str]
) -> list[str]:
    """Templates, images and files that the promoted pages and experiments use and that only
    the source environment has (another theme in its overlay, say)."""
    before, after = environments
    there, here = _Resources.of(sides, before), _Resources.of(sides, after)
    uses: list[tuple[str, str, str]] = []  # (who, kind, template name)
    problems = []
    for _, page in sorted(chosen.items()):
        source = page.source
        if source.template:
            uses.append((source.display, "template", source.template))
        targets = [target for target, _, _ in source.links]
        for target in targets + ([source.image] if source.image else []):
            logical = target.partition("#")[0].partition("?")[0].lstrip("/")
            names = {logical, resolved_link(page, target).lstrip("/")}
            found = [there.files[name] for name in sorted(names & there.files.keys())]
            if found and not names & here.files.keys():
                problems.append(
                    f"{source.display} uses '{target}', a file only {before} has "
                    f"({found[0].relative_to(sides.root)})"
                )
    for experiment in sides.sites[before].personalization.experiments:
        if experiment.id in experiments:
            for arm in experiment.arms:
                change = arm.change
                for kind, name in (("partial", change.partial), ("template", change.template)):
                    if name:
                        uses.append((f"experiment {experiment.id} (arm {arm.name})", kind, name))
    for user, kind, name in uses:
        found_there = there.templates.find(name)
        if found_there is not None and here.templates.find(name) is None:
            problems.append(
                f"{user} uses the {kind} '{name}', which only {before} has "
                f"({found_there.relative_to(sides.root)})"
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
    if not len(value) or value.fa.flow_style():
        # `[a, b]  # comment`, maybe over several lines: the name goes before the `]`.
        close = next(index for index in range(line, len(lines)) if "]" in lines[index])
        text_before, bracket, rest = lines[close].partition("]")
        separator = ", " if len(value) else ""
        if text_before.strip():
            text_before = text_before.rstrip()
        lines[close] = text_before + separator + environment + bracket + rest
    else:
        last, column = value.lc.item(len(value) - 1)
        lines.insert(last + 2, " " * (column - 2) + f"- {environment}\n")
    return "".join(lines)


def _declaring_files(sides: Sides, environment: str, section: str, name: str) -> list[Path]:
    """The site files of the lineage whose `environment` overlay sets `<section>.<name>`."""
    network = sides.networks[environment]
    found = []
    for site in sides.sites[environment].lineage:
        path = network.sites[site].directory / SITE_FILE
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        overlay = ((document.get("environments") or {}).get(environment) or {}).get(section)
        if isinstance(overlay, dict) and name in overlay:
            found.append(path)
    if not found:
        kind = "flag" if section == "features" else "experiment"
        raise ConfigError(
            f"{kind} '{name}' differs between the environments, but no "
            f"environments.{environment}.{section}.{name} of the site's files sets the "
            "difference (the target's own overlay does, or another setting): promote it by hand"
        )
    return found


def _move_entry(text: str, environment: str, section: str, name: str, display: str) -> str:
    """`environments.<environment>.<section>.<name>` moved to the top-level `<section>:`
    of the same file, nothing else changed: its lines re-indented when the top level lacks
    the entry, or its values laid over the top-level entry's when it overrides one."""
    document = load(text, display)
    lines = lines_of(text)
    try:
        environments = document["environments"]
        overlay = environments[environment]
        block = overlay[section]
        first = int(block.lc.key(name)[0])
    except (KeyError, TypeError, AttributeError):
        raise ConfigError(
            f"'{name}' is not set under environments.{environment}.{section} in this file",
            Location(display, 0),
        ) from None
    ancestors = [
        (block, name),
        (overlay, section),
        (environments, environment),
        (document, "environments"),
    ]
    stop = end_of(lines, first, _block_end(ancestors, len(lines)))
    # What goes: the entry, with each mapping around it that held only it.
    cut = first
    if len(block) == 1:
        cut = int(overlay.lc.key(section)[0])
        if len(overlay) == 1:
            cut = int(environments.lc.key(environment)[0])
            if len(environments) == 1:
                cut = int(document.lc.key("environments")[0])
    top = document.get(section)
    if hasattr(top, "get") and name in top:
        value = _laid_over(plain(top[name]), plain(block[name]))
        return replace_entry("".join(lines[:cut] + lines[stop:]), section, name, value, display)
    indent = len(lines[first]) - len(lines[first].lstrip())
    moved = [
        line[indent - 2 :] if line[: indent - 2].isspace() else line for line in lines[first:stop]
    ]
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


def _laid_over(base: Any, overlay: Any) -> Any:
    """What loading gives when `overlay` (an environment's value) is laid over `base`."""
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        return overlay
    return merge_documents(SourcedDocument(base, {}), SourcedDocument(overlay, {})).data


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
        _check_entries_promoted(copy, promotion)
        try:
            then = _built(copy, site, environment, Path(folder) / "then")
        except SitegenError as error:
            raise SitegenError(
                f"cannot promote to {environment}: its build with these edits fails: {error}"
            ) from None
    return manifest_changes(now, then, "current", "promoted")


def _check_entries_promoted(copy: Path, promotion: Promotion) -> None:
    """Each promoted experiment and flag is, with the edits, the same in both environments
    (the target's own overlay may still set it otherwise)."""
    sides = Sides.load(copy, promotion.site, (promotion.before, promotion.after))
    for kind, names in (("experiment", promotion.experiments), ("flag", promotion.flags)):
        there = declared(sides.sites[promotion.before], kind)
        here = declared(sides.sites[promotion.after], kind)
        for name in names:
            if canonical(there.get(name)) != canonical(here.get(name)):
                raise SitegenError(
                    f"cannot promote {kind} '{name}': with the edits, {promotion.after} still "
                    f"has it otherwise than {promotion.before} (its own overlay sets it?): "
                    "promote it by hand"
                )
