"""Feature flags resolved by the build: GrowthBook's `evalFeature` over the site's flags,
with the site's name and environment as the only attributes (config/features.py)."""

from __future__ import annotations

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
    _check_build_time(by_id, key)
    features = growthbook_features(site.features)
    for flag in features.values():  # name each rule, to say which one gave the value
        flag["rules"] = [
            {**rule, "id": rule.get("id") or f"rules[{index}]"}
            for index, rule in enumerate(flag["rules"])
        ]
    context = {
        "attributes": {"site": site.name, "environment": site.environment},
        "features": features,
    }
    found = eval_feature(context, key)
    return Resolved(found["value"], found["source"], found["ruleId"])


def _check_build_time(by_id: dict[str, Feature], key: str) -> None:
    pending, seen = [key], set()
    while pending:
        current = pending.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        feature = by_id[current]
        if feature.visitor_rule is not None:
            raise BuildError(
                f"feature '{current}'"
                + (f" (a prerequisite of '{key}')" if current != key else "")
                + f": rule {feature.visitor_rule} looks at the visitor; the build resolves "
                f"only flags whose rules look at {' and '.join(BUILD_ATTRIBUTES)} (visitor "
                "flags are not resolved by sitegen yet)",
                feature.location,
            )
        for rule in feature.rules:
            pending += [parent["id"] for parent in rule.get("parentConditions") or []]
