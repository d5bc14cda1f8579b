"""What the rule builder (`/_sitegen/rules` in `sitegen serve`) reads and writes.

- `site_tree`: every site with the segments, rules, experiments and feature flags it
  defines, overrides, inherits or disables, each with the file and line it comes from.
- `Draft`: an entry as the author is editing it, laid over the sources in a scratch copy of
  the project (symbolic links, with the edited `site.yaml` written out), so the network is
  loaded and checked by the build's own code: the same errors, worded as the CLI words them.
- `who_sees_what`: for a visitor profile, each page's variant and the rules or arms that
  decided it, as the routing and the runtime pick it (the variant whose segments and arms
  are exactly the visitor's among the page's).
- `write`: the edit, line by line (only the entry's own lines change; the rest of the file
  stays as written), refused when the file changed since the builder read it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.conditions import evaluate
from generator.config import load_network
from generator.config.model import Network, SiteConfig
from generator.config.yaml_edit import load, plain, replace_entry, unified_diff
from generator.errors import ConfigError, SitegenError
from generator.files import replace_text
from generator.layout import SITE_FILE
from generator.personalize.features import visitor_flags
from generator.personalize.hashing import assign
from generator.personalize.variants import plan_variants, url_matches

KINDS = ("segments", "rules", "experiments", "features")
"""The keys of site.yaml the builder shows, each a mapping by id."""


class EditError(SitegenError):
    """An edit the builder refuses (the message says why)."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def site_file(root: Path, site: str) -> Path:
    """The one file an edit of `site` may write: sites/<site>/site.yaml (the name is checked
    against the sites that exist, so no path from a request is ever joined)."""
    names = {path.name for path in (root / "sites").iterdir() if (path / SITE_FILE).is_file()}
    if site not in names:
        raise EditError(f"no site '{site}' under sites/")
    return root / "sites" / site / SITE_FILE


def _own(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return document if isinstance(document, dict) else {}


def _line_of(text: str, kind: str, entry: str) -> int:
    """The line (1-based) where `entry` of `kind` is written in a site file, or 0."""
    try:
        document = load(text, "")
    except ConfigError:
        return 0
    section: Any = document.get(kind) if hasattr(document, "get") else None
    if not hasattr(section, "lc") or entry not in section:
        return 0
    return int(section.lc.key(entry)[0]) + 1


def site_tree(root: Path, network: Network) -> list[dict[str, Any]]:
    """Every site, parents before children, with each entry of `KINDS` it has or disables:
    `origin` is `defines` (first declared here), `overrides` (redeclared here), `inherits`
    or `disables` (`<id>: false` here); `file:line` where its value comes from."""
    texts = {
        name: (root / "sites" / name / SITE_FILE).read_text(encoding="utf-8")
        for name in network.sites
    }
    owns = {name: _own(root / "sites" / name / SITE_FILE) for name in network.sites}
    sites = []
    for site in sorted(network.sites.values(), key=lambda s: (len(s.lineage), s.name)):
        kinds: dict[str, list[dict[str, Any]]] = {}
        for kind in KINDS:
            resolved = site.values.get(kind) or {}
            own = owns[site.name].get(kind) or {}
            entries = []
            for entry in sorted({*resolved, *own}):
                declared = [
                    name
                    for name in site.lineage
                    if isinstance(owns[name].get(kind), dict) and entry in owns[name][kind]
                ]
                source = declared[0] if declared else site.name
                if own.get(entry) is False:
                    origin = "disables"
                elif entry in own:
                    origin = "overrides" if len(declared) > 1 else "defines"
                else:
                    origin = "inherits"
                line = _line_of(texts[source], kind, entry)
                entries.append(
                    {
                        "id": entry,
                        "origin": origin,
                        "from": source,
                        "where": f"sites/{source}/{SITE_FILE}:{line}",
                        "value": plain(resolved.get(entry, False)),
                    }
                )
            kinds[kind] = entries
        sites.append(
            {
                "name": site.name,
                "parent": site.lineage[1] if len(site.lineage) > 1 else None,
                "abstract": site.abstract,
                "digest": digest(texts[site.name]),
                **kinds,
            }
        )
    return sites


# --- editing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Edit:
    """One entry of one site file, as the author wants it (None: remove it there)."""

    site: str
    kind: str
    entry: str
    value: Any

    @classmethod
    def of_request(cls, document: Any) -> Edit:
        if not isinstance(document, dict):
            raise EditError("expected an edit: {site, kind, id, value}")
        kind, entry = document.get("kind"), document.get("id")
        if kind not in KINDS:
            raise EditError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not isinstance(entry, str) or not entry:
            raise EditError("an entry needs an id")
        return cls(str(document.get("site", "")), kind, entry, document.get("value"))


def edited_text(text: str, edit: Edit, display: str) -> str:
    """`text` with the entry's lines replaced (or added at the end of its section, or the
    section added at the end of the file); every other line stays as it was."""
    try:
        return replace_entry(text, edit.kind, edit.entry, edit.value, display)
    except ConfigError as error:
        raise EditError(str(error)) from None


@contextmanager
def scratch(root: Path, replaced: dict[Path, str]) -> Iterator[Path]:
    """A project that is `root` except for the files in `replaced` (path -> new text): every
    other file is reached by a symbolic link, so nothing is copied but the site files."""
    folder = Path(tempfile.mkdtemp(prefix="sitegen-rules-"))
    try:
        for entry in root.iterdir():
            if entry.name != "sites" and not entry.name.startswith("build"):
                os.symlink(entry, folder / entry.name)
        for site in (root / "sites").iterdir():
            if not site.is_dir():
                continue
            (folder / "sites" / site.name).mkdir(parents=True)
            for entry in site.iterdir():
                target = folder / "sites" / site.name / entry.name
                if entry.name == SITE_FILE:
                    text = replaced.get(entry, None)
                    target.write_text(
                        entry.read_text(encoding="utf-8") if text is None else text,
                        encoding="utf-8",
                    )
                else:
                    os.symlink(entry, target)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Draft:
    """An edit checked by loading the network with it."""

    file: Path
    old: str
    new: str
    diff: str
    network: Network | None
    error: str | None


def draft(
    root: Path,
    environment: str,
    edit: Edit | None,
    pages: Mapping[str, Sequence[str]] | None = None,
) -> Draft:
    """The network with `edit` applied (None: as it is), loaded by the build's code; the
    error is the CLI's text (file:line: message). `pages` (site -> URLs) also runs the
    variant planning of those pages, which reports rules that conflict."""
    if edit is None:
        file, old, new = root / "sites", "", ""
    else:
        file = site_file(root, edit.site)
        old = file.read_text(encoding="utf-8")
        display = f"sites/{edit.site}/{SITE_FILE}"
        try:
            new = edited_text(old, edit, display)
        except SitegenError as error:
            return Draft(file, old, old, "", None, error.report())
    diff = unified_diff(old, new, f"sites/{edit.site}/{SITE_FILE}") if edit else ""
    with scratch(root, {file: new} if edit else {}) as project:
        try:
            network = load_network(project, environment)
            for name, urls in (pages or {}).items():
                site = network.sites.get(name)
                if site is not None:
                    for url in urls:
                        plan_variants(url, site.personalization)
        except SitegenError as error:
            message = error.report().replace(str(project) + "/", "")
            return Draft(file, old, new, diff, None, message)
    return Draft(file, old, new, diff, network, None)


def write(
    root: Path,
    environment: str,
    edit: Edit,
    expected: str,
    pages: Mapping[str, Sequence[str]] | None = None,
) -> Draft:
    """Write `edit` once it loads cleanly (and plans `pages` without conflicts) and the
    file is still what the builder read (`expected`: its digest then)."""
    file = site_file(root, edit.site)
    if digest(file.read_text(encoding="utf-8")) != expected:
        raise EditError(
            f"sites/{edit.site}/{SITE_FILE} changed on disk since the rule builder read it: "
            "nothing written; reload to see the new version"
        )
    checked = draft(root, environment, edit, pages)
    if checked.error is not None:
        raise EditError(checked.error)
    replace_text(file, checked.new)
    return checked


# --- who sees what -----------------------------------------------------------------------


def who_sees_what(
    site: SiteConfig, urls: Sequence[str], profile: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each page's variant for the visitor `profile` ({attributes, arms, visitor}): the
    segments they match, the arm of each experiment on the page (an override from `arms`,
    '-' for not enrolled, else the arm their visitor id hashes to), and what decided."""
    attributes = profile.get("attributes") or {}
    overrides = profile.get("arms") or {}
    visitor = str(profile.get("visitor") or "preview-visitor")
    personalization = site.personalization
    matched = {
        segment.id
        for segment in personalization.segments
        if evaluate(segment.condition, attributes)
    }
    matched |= {
        f"rule-{rule.id}"
        for rule in personalization.rules
        if rule.segment is None and evaluate(rule.condition, attributes)
    }
    arms: dict[str, str | None] = {}
    for experiment in personalization.experiments:
        chosen = overrides.get(experiment.key)
        if chosen in {arm.name for arm in experiment.arms}:
            arms[experiment.key] = chosen
        elif chosen == "-":
            arms[experiment.key] = None
        else:
            index = assign(
                visitor,
                experiment.key,
                len(experiment.arms),
                weights=[arm.weight for arm in experiment.arms],
                coverage=experiment.coverage,
                seed=experiment.seed,
                hash_version=experiment.hash_version,
                namespace=experiment.namespace,
            )
            arms[experiment.key] = experiment.arms[index].name if index >= 0 else None
    flags = visitor_flags(site)
    flag_segments = {
        flag.id: flag.segment(index)
        for flag in flags
        if (index := flag.index_for(site, attributes)) > 0
    }
    rows: list[dict[str, Any]] = []
    for url in urls:
        try:
            variants = plan_variants(url, personalization, flags)
        except SitegenError as error:
            rows.append({"url": url, "variant": None, "error": error.report(), "decided": []})
            continue
        page_segments = {s for v in variants for s in v.other_segments}
        on_page_flags = {flag_id for v in variants for flag_id, _ in v.flags}
        segments = tuple(
            sorted(
                (page_segments & matched)
                | {
                    segment
                    for flag_id, segment in flag_segments.items()
                    if flag_id in on_page_flags
                }
            )
        )
        on_page = {key for v in variants for key, _ in v.arms}
        wanted = tuple(sorted((k, arms[k]) for k in on_page if arms.get(k) is not None))
        chosen_variant = next(
            (v for v in variants if v.segments == segments and tuple(v.arms) == wanted), None
        )
        decided = [
            {"slot": change.slot, "by": change.source, "where": str(change.location or "")}
            for change in (chosen_variant.changes if chosen_variant else ())
        ]
        decided += [
            {"slot": "flag", "by": f"feature flag {flag_id} (value {index + 1})", "where": ""}
            for flag_id, index in (chosen_variant.flags if chosen_variant else ())
        ]
        rows.append(
            {
                "url": url,
                "variant": chosen_variant.key if chosen_variant else "",
                "segments": list(segments),
                "decided": decided,
            }
        )
    return rows


def matching(urls: Sequence[str], globs: Sequence[str]) -> list[str]:
    return [url for url in urls if url_matches(url, tuple(globs))]
