"""Feature flags in pages: GrowthBook's `evalFeature` over the site's flags
(config/features.py).

A flag whose rules look only at the site and the environment is resolved by the build,
with those two as the only attributes. A flag that looks at the visitor (itself or
through a prerequisite) takes one of a known set of values: its default, each value a
rule forces, each variation of an experiment rule, and off (null) where a prerequisite
gates it. Each value but the first is an audience the runtime tests ("visitors for whom
the flag is this value", segment `<flag>~<n>`), so the flag's page effects are prebuilt
variants, routed by the server and swapped in by the runtime like any segment's: the
runtime evaluates the flag with the same code as GrowthBook (growthbook.js), on the
visitor's attributes plus `id` (the visitor id, which rollouts and experiment rules hash)
and `site` and `environment`. The first value, the one the default file shows, is what a
visitor with no attributes gets: a crawler's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generator.config.features import BUILD_ATTRIBUTES, Feature, growthbook_features
from generator.config.model import SiteConfig
from generator.errors import BuildError, suggest
from generator.personalize.growthbook import eval_feature


@dataclass(frozen=True)
class Resolved:
    value: Any
    source: str
    """GrowthBook's: defaultValue, force, prerequisite, cyclicPrerequisite."""
    rule: str
    """The rule that gave the value: its `id`, else `rules[<index>]` ('' for the default)."""


FLAG_SEGMENT = "~"
"""Joins a flag's id and a value's index into a segment id: no user id contains it."""


@dataclass(frozen=True)
class VisitorFlag:
    """A flag the runtime resolves, and the values it can take (the first: the default
    file's)."""

    id: str
    values: tuple[Any, ...]
    pages: tuple[str, ...]

    def segment(self, index: int) -> str:
        return f"{self.id}{FLAG_SEGMENT}{index}"

    def index_for(self, site: SiteConfig, attributes: dict[str, Any]) -> int:
        """The index among `values` of what the flag gives a visitor with `attributes`."""
        value = _canonical(_evaluate(site, self.id, attributes).value)
        found = [_canonical(known) for known in self.values]
        return found.index(value) if value in found else 0

    def value_for(self, segments: tuple[str, ...]) -> Any:
        """The value a file for visitors in `segments` shows."""
        for index in range(1, len(self.values)):
            if self.segment(index) in segments:
                return self.values[index]
        return self.values[0]


def visitor_flags(site: SiteConfig) -> tuple[VisitorFlag, ...]:
    """The site's flags that look at the visitor, with their values."""
    by_id = {feature.id: feature for feature in site.features}
    found = []
    for feature in site.features:
        if _visitor_rule(by_id, feature.id) is None:
            continue
        first = _evaluate(site, feature.id, {}).value
        values = [first]
        seen = {_canonical(first)}
        for value in _possible_values(growthbook_features((feature,))[feature.id]):
            if _canonical(value) not in seen:
                seen.add(_canonical(value))
                values.append(value)
        found.append(VisitorFlag(feature.id, tuple(values), feature.pages))
    return tuple(found)


def runtime_features(site: SiteConfig, flags: tuple[VisitorFlag, ...]) -> dict[str, Any]:
    """What the runtime needs to evaluate the visitor flags: GrowthBook's features payload
    (every flag: prerequisites may be any), the build's attributes and each flag's
    values."""
    return {
        "attributes": {"site": site.name, "environment": site.environment},
        "flags": growthbook_features(site.features),
        "values": {flag.id: list(flag.values) for flag in flags},
    }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _possible_values(flag: dict[str, Any]) -> list[Any]:
    """Every value a flag in GrowthBook's payload can give, as its rules are written."""
    values = [flag["defaultValue"]]
    for rule in flag["rules"]:
        if "force" in rule:
            values.append(rule["force"])
        values += rule.get("variations") or []
        if any(parent.get("gate") for parent in rule.get("parentConditions") or []):
            values.append(None)
    return values


def _evaluate(site: SiteConfig, key: str, attributes: dict[str, Any]) -> Resolved:
    features = growthbook_features(site.features)
    context = {
        "attributes": {**attributes, "site": site.name, "environment": site.environment},
        "features": features,
    }
    found = eval_feature(context, key)
    return Resolved(found["value"], found["source"], found["ruleId"])


def resolve(site: SiteConfig, key: str) -> Resolved:
    """The value of flag `key` on `site` in its environment; an error for a flag the
    build cannot resolve (one that looks at the visitor, itself or through a
    prerequisite)."""
    by_id = {feature.id: feature for feature in site.features}
    if key not in by_id:
        raise BuildError(
            f"feature('{key}'): site '{site.name}' has no feature flag '{key}'"
            + suggest(key, list(by_id))
        )
    found = _visitor_rule(by_id, key)
    if found is not None:
        current, rule = found
        raise BuildError(
            f"feature '{current}'"
            + (f" (a prerequisite of '{key}')" if current != key else "")
            + f": rule {rule} looks at the visitor; the build resolves only flags whose "
            f"rules look at {' and '.join(BUILD_ATTRIBUTES)} (the runtime resolves the "
            "others, on the pages the flag's `pages` name)",
            by_id[current].location,
        )
    return _evaluate(site, key, {})


def _visitor_rule(by_id: dict[str, Feature], key: str) -> tuple[str, int] | None:
    """The first flag, `key` or one of its prerequisites, with a rule that looks at the
    visitor, and that rule's index; None when the build can resolve `key`."""
    pending, seen = [key], set()
    while pending:
        current = pending.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        feature = by_id[current]
        if feature.visitor_rule is not None:
            return current, feature.visitor_rule
        for rule in feature.rules:
            pending += [parent["id"] for parent in rule.get("parentConditions") or []]
    return None
