"""Loading a network: every `sites/*/site.yaml`, `themes/*/theme.yaml` and `content/*/` pool.

Resolution order for one site: start from nothing; for each file from the root of its
`extends` chain down to the site itself, lay the file over the result, then that file's
`environments.<env>` block over that. A child's plain value therefore beats its parent's
per-environment value: the nearest file always wins.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict
from pathlib import Path
from typing import Any

from generator.config.compat import resolve_compat
from generator.config.features import resolve_features
from generator.config.merge import merge_documents, subdocument, without_keys
from generator.config.model import MenuItem, Network, PoolGate, SiteConfig, ThemeConfig
from generator.config.personalization import resolve_personalization
from generator.config.schema import CheckContext, Section, dotted
from generator.config.settings import resolve_settings
from generator.config.site_schema import SITE_SCHEMA, THEME_SCHEMA
from generator.config.sourced_yaml import KeyPath, SourcedDocument, load_sourced_yaml_file
from generator.errors import ConfigError, Location, suggest
from generator.formats import CONFIG

STANDARD_ENVIRONMENTS = ("development", "staging", "production")
NOT_INHERITED = {"extends", "abstract", "environments", "sitegen", "schema"}
"""Keys about the file itself, or its children: never passed down `extends`."""


def load_network(root: Path, environment: str = "production") -> Network:
    """Load and validate the whole network under `root`."""
    root = root.resolve()
    pools = _discover_pools(root)
    deprecations: list[str] = []
    themes = _load_themes(root, deprecations)
    documents = _load_site_documents(root)
    if not documents:
        raise ConfigError(
            f"no sites found: expected {_display(root, root / 'sites')}/<name>/site.yaml"
        )
    environments = _check_environment(documents, environment)
    warnings: list[str] = []
    sites = {
        name: _resolve_site(
            root, name, documents, environment, themes, pools, warnings, deprecations
        )
        for name in sorted(documents)
    }
    return Network(
        root,
        environment,
        sites,
        themes,
        pools,
        tuple(dict.fromkeys(warnings)),
        tuple(dict.fromkeys(deprecations)),
        tuple(sorted(environments)),
    )


def _display(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _discover_pools(root: Path) -> dict[str, Path]:
    content = root / "content"
    if not content.is_dir():
        return {}
    return {
        path.name: path
        for path in sorted(content.iterdir())
        if path.is_dir() and not path.name.startswith((".", "_"))
    }


def _load_site_documents(root: Path) -> dict[str, SourcedDocument]:
    sites_dir = root / "sites"
    if not sites_dir.is_dir():
        return {}
    documents = {}
    for path in sorted(sites_dir.glob("*/site.yaml")):
        display = _display(root, path)
        document = load_sourced_yaml_file(path, display)
        if not isinstance(document.data, dict):
            raise ConfigError("expected a mapping of settings", Location(display, 1))
        if file_format(document, display) >= 2:
            _check_goal_ids(document, display)
        documents[path.parent.name] = document
    return documents


def file_format(document: SourcedDocument, display: str) -> int:
    """The config format a site or theme file is in (its `sitegen:` key, or the `schema:`
    of format 1 files; absent: 1). A format newer than this sitegen reads is refused before
    anything else is checked: its keys would be misread."""
    for key in ("sitegen", "schema"):
        if key not in document.data:
            continue
        value = document.data[key]
        where = document.locations.get((key,), Location(display, 1))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"{key}: expected the version of the file's format, a whole number from 1, "
                f"got {value!r}",
                where,
            )
        refusal = CONFIG.refusal(value)
        if refusal is not None:
            raise ConfigError(f"{key}: {value}: this file is in {refusal}", where)
        return value
    return 1


def _check_goal_ids(document: SourcedDocument, display: str) -> None:
    """Config format 2: every experiment goal names its id (format 1 derived it)."""
    places: list[tuple[Any, tuple[str | int, ...]]] = [(document.data, ())]
    environments = document.data.get("environments")
    if isinstance(environments, dict):
        places += [(overlay, ("environments", name)) for name, overlay in environments.items()]
    for data, prefix in places:
        experiments = data.get("experiments") if isinstance(data, dict) else None
        if not isinstance(experiments, dict):
            continue
        for id, entry in experiments.items():
            goals = entry.get("goals") if isinstance(entry, dict) else None
            for index, goal in enumerate(goals if isinstance(goals, list) else []):
                if isinstance(goal, dict) and "id" not in goal:
                    path = (*prefix, "experiments", id, "goals", index)
                    raise ConfigError(
                        f"{dotted(path)}: config format 2 needs "
                        "an 'id' for every goal, its stable name in the events (`sitegen "
                        "migrate` writes the ones format 1 derived)",
                        document.locations.get(path, Location(display, 1)),
                    )


def _check_environment(documents: dict[str, SourcedDocument], environment: str) -> set[str]:
    """The environments the network knows (the standard ones and every one a site
    declares); `environment` must be one of them."""
    known = set(STANDARD_ENVIRONMENTS)
    for document in documents.values():
        environments = document.data.get("environments")
        if isinstance(environments, dict):
            known.update(environments)
    if environment not in known:
        raise ConfigError(f"unknown environment '{environment}'" + suggest(environment, known))
    return known


def extends_chain(
    name: str,
    kind: str,
    parent_of: Callable[[str], object],
    location_of: Callable[[str], Location | None],
    known: Collection[str],
) -> list[str]:
    """`name`, its parent, ... the root, following `extends`; a parent that does not exist or
    a cycle is an error at the `extends` line that caused it. Used for sites and themes."""
    chain = [name]
    while (parent := parent_of(chain[-1])) is not None:
        where = location_of(chain[-1])
        if not isinstance(parent, str):
            raise ConfigError(f"extends: expected the name of a {kind}", where)
        if parent not in known:
            raise ConfigError(
                f"extends: {kind} '{parent}' does not exist" + suggest(parent, list(known)), where
            )
        if parent in chain:
            cycle = " -> ".join([*chain[chain.index(parent) :], parent])
            raise ConfigError(f"extends: cycle in {kind} inheritance: {cycle}", where)
        chain.append(parent)
    return chain


def _lineage(name: str, documents: dict[str, SourcedDocument]) -> list[str]:
    return extends_chain(
        name,
        "site",
        lambda site: documents[site].data.get("extends"),
        lambda site: documents[site].locations.get(("extends",)),
        documents,
    )


def _resolve_site(
    root: Path,
    name: str,
    documents: dict[str, SourcedDocument],
    environment: str,
    themes: dict[str, ThemeConfig],
    pools: dict[str, Path],
    warnings: list[str],
    deprecations: list[str],
) -> SiteConfig:
    lineage = _lineage(name, documents)
    merged = _merged(name, lineage, documents, environment)
    file_location = Location(_display(root, root / "sites" / name / "site.yaml"), 1)

    def location_of(path: KeyPath) -> Location:
        while path not in merged.locations and path:
            path = path[:-1]
        return merged.locations.get(path, file_location)

    context = CheckContext(location_of)
    # The site's own `environments` block is part of `merged`, so every environment is
    # checked, not only the selected one: a typo in `production:` stops a staging build too.
    values = SITE_SCHEMA.check(merged.data, (), context)
    warnings.extend(context.warnings)
    deprecations.extend(context.deprecations)
    abstract = bool(values.get("abstract", False))
    resolved = _with_defaults(SITE_SCHEMA, values)
    if not abstract:
        _require(SITE_SCHEMA, resolved, location_of)
        if resolved["theme"] not in themes:
            raise ConfigError(
                f"theme: theme '{resolved['theme']}' does not exist"
                + suggest(resolved["theme"], list(themes)),
                location_of(("theme",)),
            )
    gates = _pool_gates(resolved, pools, location_of)
    base_url = resolved["base_url"] or ""
    compat = resolve_compat(resolved, file_format(documents[name], file_location.file))
    personalization = resolve_personalization(resolved, location_of)
    return SiteConfig(
        name=name,
        directory=root / "sites" / name,
        lineage=tuple(lineage),
        abstract=abstract,
        environment=environment,
        title=resolved["title"] or "",
        description=resolved["description"],
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        language=resolved["language"],
        theme=resolved["theme"] or "",
        pools=tuple(gates),
        per_page=resolved["pagination"]["per_page"],
        feed_enabled=resolved["feed"]["enabled"],
        feed_entries=resolved["feed"]["entries"],
        sitemap=resolved["sitemap"],
        robots_disallow=tuple(resolved["robots"]["disallow"]),
        menu=tuple(MenuItem(item["title"], item["url"]) for item in resolved["menu"]),
        minify=resolved["assets"]["minify"],
        params=resolved["params"],
        personalization=personalization,
        features=resolve_features(
            resolved, location_of, personalization.experiments, None if abstract else warnings
        ),
        compat=compat,
        **resolve_settings(resolved, location_of, name),
        # `compat` as resolved (an unset flag's value depends on the file's format).
        values={k: v for k, v in resolved.items() if k not in NOT_INHERITED}
        | {"compat": asdict(compat)},
        locations=dict(merged.locations),
    )


def _merged(
    name: str, lineage: list[str], documents: dict[str, SourcedDocument], environment: str
) -> SourcedDocument:
    """The site's documents merged down its lineage, each with its overlay for
    `environment`; keys that are not inherited come from the site's own file only."""
    own = documents[name]
    merged = SourcedDocument({}, {})
    for ancestor in reversed(lineage):
        document = documents[ancestor]
        merged = merge_documents(merged, without_keys(document, NOT_INHERITED))
        environments = document.data.get("environments")
        if isinstance(environments, dict) and isinstance(environments.get(environment), dict):
            overlay = subdocument(document, ("environments", environment))
            merged = merge_documents(merged, overlay)
    for key in NOT_INHERITED & set(own.data):
        merged.data[key] = own.data[key]
        for path, loc in own.locations.items():
            if path and path[0] == key:
                merged.locations[path] = loc
    return merged


def _pool_gates(
    resolved: dict[str, Any], pools: dict[str, Path], location_of: Callable[[KeyPath], Location]
) -> list[PoolGate]:
    gates = []
    for pool, gate in sorted(resolved["pools"].items()):
        if gate is False:
            continue
        if pool not in pools:
            raise ConfigError(
                f"pools: pool '{pool}' does not exist" + suggest(pool, list(pools)),
                location_of(("pools", pool)),
            )
        gate = _with_defaults(SITE_SCHEMA.fields["pools"].value, gate)  # type: ignore[attr-defined]
        gates.append(
            PoolGate(
                pool,
                gate["mount"] or f"/{pool}/",
                tuple(gate["include"]),
                tuple(gate["exclude"]),
                tuple(gate["tags"]),
                location_of(("pools", pool)),
            )
        )
    return gates


def _with_defaults(schema: Section, values: dict[str, Any]) -> dict[str, Any]:
    result = schema.defaults()
    for key, value in values.items():
        option = schema.fields.get(key)
        if isinstance(option, Section) and isinstance(value, dict):
            result[key] = _with_defaults(option, value)
        else:
            result[key] = value
    return result


def _require(schema: Section, values: dict[str, Any], location_of: Any) -> None:
    for key, option in schema.fields.items():
        if option.required and values.get(key) is None:
            raise ConfigError(
                f"missing required key '{key}' ({option.doc}); set it here or in "
                "a site this one extends",
                location_of(()),
            )


def _load_themes(root: Path, deprecations: list[str]) -> dict[str, ThemeConfig]:
    themes_dir = root / "themes"
    if not themes_dir.is_dir():
        return {}
    raw: dict[str, tuple[dict[str, Any], SourcedDocument | None]] = {}
    for directory in sorted(p for p in themes_dir.iterdir() if p.is_dir()):
        path = directory / "theme.yaml"
        if path.exists():
            display = _display(root, path)
            document = load_sourced_yaml_file(path, display)
            if isinstance(document.data, dict):
                file_format(document, display)

            def location_of(
                key: KeyPath, document: SourcedDocument = document, display: str = display
            ) -> Location:
                while key not in document.locations and key:
                    key = key[:-1]
                return document.locations.get(key, Location(display, 1))

            context = CheckContext(location_of)
            values = THEME_SCHEMA.check(document.data, (), context)
            deprecations.extend(context.deprecations)
            raw[directory.name] = (_with_defaults(THEME_SCHEMA, values), document)
        else:
            raw[directory.name] = (THEME_SCHEMA.defaults(), None)
    themes = {}

    def theme_extends_line(theme: str) -> Location | None:
        document = raw[theme][1]
        return document.locations.get(("extends",)) if document else None

    for name in raw:
        chain = extends_chain(
            name, "theme", lambda theme: raw[theme][0]["extends"], theme_extends_line, raw
        )
        css: list[str] = next((raw[t][0]["css"] for t in chain if raw[t][0]["css"]), [])
        js: list[str] = next((raw[t][0]["js"] for t in chain if raw[t][0]["js"]), [])
        themes[name] = ThemeConfig(
            name, tuple(themes_dir / t for t in chain), tuple(css), tuple(js)
        )
    return themes
