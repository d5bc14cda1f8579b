"""`sitegen env diff`: what differs between two environments of one site.

Three layers, each listed only where they differ, in this order:

- **config**: every resolved value (after `extends` and the environment's overlays), with
  the file and line that set it on each side ("default" where the schema did);
- **content**: pages on one side only or different (environment-limited pages, gates and
  overrides that an overlay changes), experiments, feature flags and rules;
- **output**: the files a build of each environment publishes, by kind (page, variant,
  listing, asset, data, routing), from the manifests of two builds made for the purpose in
  a temporary folder (the user's `build/` is not touched).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from generator.config.model import Network, SiteConfig
from generator.config.sourced_yaml import KeyPath
from generator.content.page import Page
from generator.errors import ConfigError, suggest
from generator.manifest import Manifest

MISSING = object()
CONTENT_KEYS = frozenset({"experiments", "rules", "features"})
"""Config sections compared as content (by key), not value by value."""
SHOWN = 10
"""Output files listed per kind in the text form."""


@dataclass(frozen=True)
class ConfigChange:
    key: str
    """Dotted path, e.g. `params.tagline`."""
    before: Any
    after: Any
    before_at: str
    """Where the first environment's value was set: `file:line`, or `default`."""
    after_at: str


@dataclass(frozen=True)
class ContentChange:
    kind: str
    """page, experiment, flag or rule."""
    key: str
    change: str
    """`only in <env>`, or which fields differ."""


@dataclass(frozen=True)
class OutputChange:
    path: str
    kind: str
    change: str
    """`only in <env>` or `differs`."""
    before: int
    """Size in bytes on the first side (-1: absent)."""
    after: int


@dataclass(frozen=True)
class Deployed:
    """What an environment's target serves now."""

    environment: str
    target: str
    version: str | None
    """The live manifest's version (None: nothing deployed yet)."""
    files: int
    drift: list[str]
    """Files changed, missing or left on the server since that deploy (by size)."""
    unlike_build: int | None
    """Files that differ between what is served and a build of the environment now (None:
    not compared)."""


@dataclass(frozen=True)
class EnvironmentDiff:
    site: str
    before: str
    after: str
    config: list[ConfigChange] = field(default_factory=list)
    content: list[ContentChange] = field(default_factory=list)
    output: list[OutputChange] | None = None
    """None when the output was not compared."""
    deployed: list[Deployed] | None = None
    """With `--deployed`: each environment's target (the target named like it)."""

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for change in self.content:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        kinds = ("page", "experiment", "flag", "rule")
        parts = [_plural(counts[kind], kind) for kind in kinds if kind in counts]
        if self.config:
            parts.append(_plural(len(self.config), "config value"))
        if self.output:
            parts.append(_plural(len(self.output), "output file"))
        what = ", ".join(parts) if parts else "nothing"
        verb = "differs" if what == "nothing" else "differ"
        return f"{self.site}: {self.before} -> {self.after}: {what} {verb}"

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), **asdict(self)}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def environment_diff(
    root: Path, site_name: str, before: str, after: str, output: bool = True, deployed: bool = False
) -> EnvironmentDiff:
    """Compare `site_name` built with `--env before` and with `--env after`; `deployed`:
    also what each environment's target serves."""
    sides = Sides.load(root, site_name, (before, after))
    sites = sides.sites
    if deployed:
        for env in (before, after):
            if env not in sites[env].targets:
                raise ConfigError(
                    f"--deployed: site '{site_name}' has no target named '{env}' in that "
                    "environment (an environment's target is the one named like it)"
                    + suggest(env, list(sites[env].targets)),
                    sites[env].location_of(("targets",)),
                )
    config = config_changes(sites[before], sites[after])
    content = content_changes(sides, before, after)
    manifests: dict[str, Manifest] = {}
    files = None
    if output:
        manifests = built_manifests(root, site_name, (before, after))
        files = manifest_changes(manifests[before], manifests[after], before, after)
    served = (
        [served_by(env, sites[env], manifests.get(env)) for env in (before, after)]
        if deployed
        else None
    )
    return EnvironmentDiff(site_name, before, after, config, content, files, served)


def served_by(environment: str, site: SiteConfig, built: Manifest | None) -> Deployed:
    """The live manifest and drift of the environment's target, and how many files differ
    from `built` (this environment's build now)."""
    from generator.deploy.connection import connect
    from generator.deploy.inspect import drift_of
    from generator.deploy.remote import Remote
    from generator.deploy.state import read_manifest

    target = site.targets[environment]
    with connect(target) as host:
        remote = Remote(host, target)
        live = read_manifest(remote)
        drift = [] if live is None else drift_of(remote, live, full=False)
    if live is None:
        return Deployed(environment, target.name, None, 0, [], None)
    unlike = None if built is None else len(manifest_changes(live, built, "served", "built"))
    return Deployed(environment, target.name, live.version, len(live.files), drift, unlike)


@dataclass(frozen=True)
class Sides:
    """A site as each of some environments has it: the network loaded for each, and the
    site's config in it."""

    root: Path
    networks: dict[str, Network]
    sites: dict[str, SiteConfig]

    @classmethod
    def load(cls, root: Path, site: str, environments: tuple[str, ...]) -> Sides:
        from generator.config import load_network

        networks = {env: load_network(root, env) for env in environments}
        return cls(root, networks, {env: _site(networks[env], site) for env in environments})

    def pages(self) -> dict[str, dict[str, Page]]:
        """Each environment's pages of the site, by key: regular pages, the pages that
        introduce listings (a section's `index.md`) and pages behind a login."""
        from generator.content import SourceReader, collect_site_content

        reader = SourceReader(self.root)
        found = {}
        for env in self.sites:
            content = collect_site_content(self.sites[env], self.networks[env], reader)
            every = (*content.pages, *content.intros.values(), *content.protected)
            found[env] = {page.key: page for page in every}
        return found


def _site(network: Network, name: str) -> SiteConfig:
    buildable = {site.name: site for site in network.buildable_sites()}
    if name not in buildable:
        raise ConfigError(f"no buildable site '{name}'" + suggest(name, list(buildable)))
    return buildable[name]


def config_changes(before: SiteConfig, after: SiteConfig) -> list[ConfigChange]:
    """Every resolved value that differs (lists compared whole), with where each side's
    value was set."""
    first = {path: value for path, value in _leaves(before.values) if path[0] not in CONTENT_KEYS}
    second = {path: value for path, value in _leaves(after.values) if path[0] not in CONTENT_KEYS}
    changes = []
    for path in sorted(first.keys() | second.keys(), key=lambda p: [str(k) for k in p]):
        old, new = first.get(path, MISSING), second.get(path, MISSING)
        if old == new:
            continue
        changes.append(
            ConfigChange(
                ".".join(str(part) for part in path),
                None if old is MISSING else old,
                None if new is MISSING else new,
                _origin(before, path, old),
                _origin(after, path, new),
            )
        )
    return changes


def _leaves(value: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    else:
        yield path, value


def _origin(site: SiteConfig, path: KeyPath, value: Any) -> str:
    if value is MISSING:
        return "absent"
    for end in range(len(path), 0, -1):  # the value's own line, else its nearest parent's
        location = site.locations.get(path[:end])
        if location is not None:
            return str(location)
    return "default"


def content_changes(sides: Sides, before: str, after: str) -> list[ContentChange]:
    pages, sites = sides.pages(), sides.sites
    changes = []
    for key in sorted(pages[before].keys() | pages[after].keys()):
        one, other = pages[before].get(key), pages[after].get(key)
        if one is None or other is None:
            changes.append(
                ContentChange("page", key, f"only in {before if other is None else after}")
            )
            continue
        fields = [
            name
            for name, left, right in (
                ("url", one.url, other.url),
                ("title", one.title, other.title),
                ("source", one.source.display, other.source.display),
                ("access", one.access, other.access),
            )
            if left != right
        ]
        if fields:
            changes.append(ContentChange("page", key, "differs: " + ", ".join(fields)))
    for kind in ("experiment", "flag", "rule"):
        first, second = declared(sites[before], kind), declared(sites[after], kind)
        changes += _keyed(kind, first, second, before, after)
    return changes


def declared(site: SiteConfig, kind: str) -> dict[str, Any]:
    """The site's experiments, feature flags or rules, by key."""
    if kind == "flag":
        return {
            feature.id: {"default": feature.default, "rules": list(feature.rules)}
            for feature in site.features
        }
    found = site.values.get("experiments" if kind == "experiment" else "rules") or {}
    return dict(found) if isinstance(found, dict) else {}


def _keyed(
    kind: str, first: dict[str, Any], second: dict[str, Any], before: str, after: str
) -> list[ContentChange]:
    changes = []
    for key in sorted(first.keys() | second.keys()):
        if key not in second:
            changes.append(ContentChange(kind, key, f"only in {before}"))
        elif key not in first:
            changes.append(ContentChange(kind, key, f"only in {after}"))
        elif canonical(first[key]) != canonical(second[key]):
            fields = sorted(
                name
                for name in set(_as_dict(first[key])) | set(_as_dict(second[key]))
                if canonical(_as_dict(first[key]).get(name))
                != canonical(_as_dict(second[key]).get(name))
            )
            changes.append(ContentChange(kind, key, "differs: " + (", ".join(fields) or "value")))
    return changes


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def built_manifests(root: Path, site: str, environments: tuple[str, ...]) -> dict[str, Manifest]:
    """The site built for each environment in a temporary folder: their manifests."""
    with tempfile.TemporaryDirectory(prefix="sitegen-env-diff-") as folder:
        return {env: _built(root, site, env, Path(folder) / env) for env in environments}


def manifest_changes(
    first: Manifest, second: Manifest, before: str, after: str
) -> list[OutputChange]:
    """Files added, removed or changed from one manifest to the other."""
    changes = []
    for path in sorted(first.files.keys() | second.files.keys()):
        one, other = first.files.get(path), second.files.get(path)
        if one is not None and other is not None and one.sha256 == other.sha256:
            continue
        entry = one if one is not None else other
        assert entry is not None
        change = "differs" if one and other else f"only in {before if other is None else after}"
        changes.append(
            OutputChange(
                path,
                entry.kind,
                change,
                -1 if one is None else one.size,
                -1 if other is None else other.size,
            )
        )
    return changes


def _built(root: Path, site: str, environment: str, out: Path) -> Manifest:
    from generator.layout import BuildLayout
    from generator.pipeline.build import build
    from generator.pipeline.options import BuildOptions

    options = BuildOptions(
        root=root, build_dir=out, environment=environment, sites=(site,), quiet=True
    )
    build(options)
    path = BuildLayout(out).manifest(site)
    return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))


def format_diff(diff: EnvironmentDiff) -> str:
    lines = [diff.summary()]
    if diff.config:
        lines.append("config:")
        for value in diff.config:
            old = "(absent)" if value.before_at == "absent" else _shown(value.before)
            new = "(absent)" if value.after_at == "absent" else _shown(value.after)
            lines.append(f"  {value.key}: {old} ({value.before_at}) -> {new} ({value.after_at})")
    if diff.content:
        lines.append("content:")
        lines += [f"  {c.kind} {c.key}: {c.change}" for c in diff.content]
    if diff.output:
        lines.append("output:")
        lines.append(format_output(diff.output, "  ").rstrip("\n"))
    if diff.deployed:
        lines.append("deployed:")
        for served in diff.deployed:
            lines.append(f"  {_served(served)}")
            lines += [f"    {problem}" for problem in served.drift]
    return "\n".join(lines) + "\n"


def format_output(files: list[OutputChange], indent: str = "") -> str:
    """Output changes grouped by kind: counts, then the first `SHOWN` files of each."""
    if not files:
        return f"{indent}nothing\n"
    kinds: dict[str, list[OutputChange]] = {}
    for file in files:
        kinds.setdefault(file.kind, []).append(file)
    lines = []
    for kind, found in sorted(kinds.items()):
        counts: dict[str, int] = {}
        for file in found:
            counts[file.change] = counts.get(file.change, 0) + 1
        lines.append(f"{indent}{kind}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        for file in found[:SHOWN]:
            sizes = f"{_size(file.before)} -> {_size(file.after)}"
            lines.append(f"{indent}  {file.path}: {file.change} ({sizes})")
        if len(found) > SHOWN:
            lines.append(f"{indent}  ... and {len(found) - SHOWN} more")
    return "\n".join(lines) + "\n"


def _served(served: Deployed) -> str:
    where = f"{served.environment} on target '{served.target}'"
    if served.version is None:
        return f"{where}: nothing deployed yet"
    text = f"{where}: version {served.version[:12]}, {served.files} files"
    if served.unlike_build is not None:
        text += (
            f"; {_plural(served.unlike_build, 'file')} differ from a build of "
            f"{served.environment} now"
            if served.unlike_build
            else f"; the same as a build of {served.environment} now"
        )
    drift = f"drift in {_plural(len(served.drift), 'file')}:" if served.drift else "no drift"
    return f"{text}; {drift}"


def _shown(value: Any) -> str:
    return json.dumps(value, default=str)


def _size(size: int) -> str:
    return "-" if size < 0 else f"{size:,} bytes"
