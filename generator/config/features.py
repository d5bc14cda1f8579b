"""Feature flags (`features:` in site.yaml), GrowthBook's feature model in sitegen's YAML.

A feature has a default value of any JSON type and rules, tried in order: a rule may
`force` a value (with a `condition`, a percentage rollout by `coverage` or `range`,
`filters`, a `namespace`), run an experiment (`variations`, `weights`) or depend on other
features (`parent_conditions`). Keys are snake_case as everywhere in sitegen's config and
become GrowthBook's camelCase (`hash_attribute` -> `hashAttribute`); the evaluation is
GrowthBook's `evalFeature` (personalize/growthbook.py), so a flag means here what it means
in GrowthBook.

`features` is a mapping by id like `experiments`: it inherits down `extends`, a child
redefines a flag by its id or removes it with `<id>: false`, and environments overlay it.

A flag whose rules look only at the site and the environment (`condition: {environment:
staging}`, `{site: trailhead}`) is resolved when the site builds: `feature('key')` in a
template is then its value, at no cost to visitors. A flag with rules that look at the
visitor (other attributes, rollouts, experiments) is resolved by the runtime, and each of
its values on the flag's `pages` is a prebuilt variant (personalize/features.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from generator.config.personalization import Experiment
from generator.config.personalization_schema import ID_PATTERN, ConditionOption
from generator.config.schema import (
    CheckContext,
    Int,
    ListOf,
    MapOf,
    Number,
    Option,
    Section,
    Str,
    dotted,
)
from generator.config.sourced_yaml import KeyPath
from generator.errors import ConfigError, Location

BUILD_ATTRIBUTES = ("site", "environment")
"""What a build knows when it resolves a flag: the site's name and the environment."""

GROWTHBOOK_NAMES = {
    "default": "defaultValue",
    "hash_attribute": "hashAttribute",
    "fallback_attribute": "fallbackAttribute",
    "hash_version": "hashVersion",
    "parent_conditions": "parentConditions",
}


class AnyValue(Option):
    """Any value YAML can hold (a flag's value is JSON of any type)."""

    expected = "a value"


class Sparse(Section):
    """A section that keeps only the keys written: GrowthBook tells "absent" from any
    default (a rule without `force` is not one that forces null)."""

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        checked = super().check(value, path, context)
        written = value if isinstance(value, dict) else {}
        return {key: item for key, item in checked.items() if key in written}


class Range(Option):
    """`[start, end)` within [0, 1]."""

    expected = "a range [start, end] with 0 <= start <= end <= 1"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
            or not 0 <= value[0] <= value[1] <= 1
        ):
            raise self.wrong_type(value, path, context)
        return [float(value[0]), float(value[1])]


FILTER = Sparse(
    {
        "attribute": Str("the attribute hashed (default: id)"),
        "seed": Str("hash seed", required=True),
        "hash_version": Int("GrowthBook hash version", default=2, minimum=1),
        "ranges": ListOf(Range(), "the hash ranges that pass", required=True),
    }
)

PARENT = Sparse(
    {
        "id": Str("the feature this rule depends on", required=True),
        "condition": ConditionOption("a condition on {value: <that feature's value>}"),
        "gate": AnyValue("true: when the condition fails, this feature is off altogether"),
    }
)

RULE = Sparse(
    {
        "id": Str("the rule's name in results"),
        "condition": ConditionOption("who the rule applies to"),
        "force": AnyValue("the value it gives"),
        "coverage": Number("share of visitors it applies to", minimum=0, maximum=1),
        "range": Range("the hash range it applies to"),
        "hash_attribute": Str("the attribute hashed for rollouts (default: id)"),
        "fallback_attribute": Str("hashed when hash_attribute is empty"),
        "seed": Str("hash seed (default: the feature's id)"),
        "hash_version": Int("GrowthBook hash version (1 or 2)", minimum=1),
        "filters": ListOf(FILTER, "mutually exclusive groups by hash ranges"),
        "namespace": AnyValue("[name, start, end]: a GrowthBook namespace"),
        "variations": ListOf(AnyValue(), "an experiment's values, one per arm"),
        "weights": ListOf(Number(minimum=0, maximum=1), "the arms' shares, summing to 1"),
        "ranges": ListOf(Range(), "the arms' hash ranges"),
        "key": Str("the experiment's tracking key (default: the feature's id)"),
        "meta": ListOf(AnyValue(), "per arm: {key, name, passthrough}"),
        "name": Str("the experiment's name"),
        "phase": Str("the experiment's phase"),
        "parent_conditions": ListOf(PARENT, "prerequisites: conditions on other features"),
    }
)

FEATURE = Section(
    {
        "default": AnyValue("the value when no rule applies", default=None),
        "description": Str("what the flag is for", default=""),
        "rules": ListOf(RULE, "tried in order; the first that applies gives the value"),
        "pages": ListOf(
            Str(),
            "URL globs of the pages that get a prebuilt variant per value, when the flag "
            "looks at the visitor (sitegen's, not GrowthBook's)",
            default=["/**"],
        ),
    },
    allow_false=True,
)

FEATURE_FIELDS: dict[str, Option] = {
    "features": MapOf(FEATURE, "feature flags, by id (GrowthBook's model)", key_pattern=ID_PATTERN),
}


@dataclass(frozen=True)
class Feature:
    id: str
    default: Any
    rules: tuple[dict[str, Any], ...]
    """GrowthBook's rules (camelCase keys)."""
    location: Location
    visitor_rule: int | None
    """The first rule that looks at the visitor (None: the build resolves the flag)."""
    pages: tuple[str, ...] = ("/**",)
    """Where a flag that looks at the visitor has a variant per value."""
    linked: tuple[Linked, ...] = ()
    """Experiment rules whose key names an experiment of `experiments:`."""


@dataclass(frozen=True)
class Linked:
    """An experiment rule run by a sitegen experiment (`key` names one): the experiment
    assigns the visitors (sticky, QA overrides, bucket versions), counts exposures and
    conversions, and once concluded gives its winner's variation to everyone the rule
    reaches. Variation i is the experiment's arm i, in the order the arms are declared."""

    rule: int
    key: str
    names: tuple[str, ...]
    status: str
    winner: int | None


LINKED_FROM_EXPERIMENT = (
    "weights",
    "coverage",
    "ranges",
    "seed",
    "hash_version",
    "hash_attribute",
    "fallback_attribute",
    "namespace",
    "filters",
)
"""What a linked experiment rule takes from its experiment, and so may not set itself."""


def resolve_features(
    values: Mapping[str, Any],
    location_of: Callable[[KeyPath], Location],
    experiments: tuple[Experiment, ...] = (),
    warnings: list[str] | None = None,
) -> tuple[Feature, ...]:
    """The site's flags, checked beyond their types: a rule either forces a value, runs an
    experiment or only states prerequisites, and an experiment's weights sum to 1; an
    experiment rule whose key names one of `experiments` has a variation per arm. One that
    names none is measured by nothing: a warning (in `warnings`) says so."""
    by_key = {experiment.key: experiment for experiment in experiments}
    features = []
    for id, entry in sorted((values.get("features") or {}).items()):
        if not entry:
            continue  # removed by this site: `<id>: false`
        rules = []
        linked = []
        for index, rule in enumerate(entry.get("rules") or []):
            where = ("features", id, "rules", index)
            _check_rule(rule, where, location_of)
            rules.append(_growthbook(rule))
            experiment = by_key.get(rule.get("key") or id)
            if rule.get("variations") is None:
                continue
            if experiment is not None:
                linked.append(_link(index, rule, experiment, where, location_of))
            elif warnings is not None:
                key = rule.get("key") or id
                warnings.append(
                    f"{location_of(where)}: {dotted(where)}: experiment rule '{key}' is "
                    f"not measured (no 'experiments.{key}'): declare that experiment, with "
                    "goals, to count its visitors and conversions"
                )
        features.append(
            Feature(
                id,
                entry.get("default"),
                tuple(rules),
                location_of(("features", id)),
                _first_visitor_rule(rules, {link.rule: link for link in linked}),
                tuple(entry.get("pages") or ("/**",)),
                tuple(linked),
            )
        )
    return tuple(features)


def _check_rule(
    rule: Mapping[str, Any], where: KeyPath, location_of: Callable[[KeyPath], Location]
) -> None:
    def fail(message: str, *key: str) -> ConfigError:
        return ConfigError(f"{dotted((*where, *key))}: {message}", location_of((*where, *key)))

    variations = rule.get("variations")
    if "force" in rule and variations is not None:
        raise fail("expected either 'force' (a value) or 'variations' (an experiment), not both")
    if "force" not in rule and variations is None and not rule.get("parent_conditions"):
        raise fail("expected 'force' (a value), 'variations' (an experiment) or prerequisites")
    if variations is not None and len(variations) < 2:
        raise fail("an experiment needs at least 2 variations", "variations")
    weights = rule.get("weights")
    if weights is not None:
        if variations is None or len(weights) != len(variations):
            raise fail("expected one weight per variation", "weights")
        if abs(sum(weights) - 1) > 1e-9:
            raise fail(f"weights must sum to 1, they sum to {sum(weights):g}", "weights")


def _link(
    index: int,
    rule: Mapping[str, Any],
    experiment: Experiment,
    where: KeyPath,
    location_of: Callable[[KeyPath], Location],
) -> Linked:
    names = tuple(arm.name for arm in experiment.arms)
    if len(rule["variations"]) != len(names):
        raise ConfigError(
            f"{dotted((*where, 'variations'))}: experiment '{experiment.key}' "
            f"({experiment.location}) has {len(names)} arms ({', '.join(names)}); expected "
            "one variation per arm, in the arms' order",
            location_of((*where, "variations")),
        )
    for key in LINKED_FROM_EXPERIMENT:
        if key in rule:
            raise ConfigError(
                f"{dotted((*where, key))}: this rule is run by experiment '{experiment.key}' "
                f"({experiment.location}), which decides who is in it and in which arm; set "
                f"'{key}' there, or give the rule a key of its own",
                location_of((*where, key)),
            )
    winner = names.index(experiment.winner) if experiment.winner in names else None
    return Linked(index, experiment.key, names, experiment.status, winner)


def _growthbook(rule: Mapping[str, Any]) -> dict[str, Any]:
    converted = {GROWTHBOOK_NAMES.get(key, key): value for key, value in rule.items()}
    if "filters" in converted:
        converted["filters"] = [
            {GROWTHBOOK_NAMES.get(k, k): v for k, v in f.items() if v is not None}
            for f in converted["filters"]
        ]
    return {key: value for key, value in converted.items() if value is not None}


def growthbook_features(features: tuple[Feature, ...]) -> dict[str, Any]:
    """The flags as GrowthBook's `features` payload, each rule named (its `id`, else
    `rules[<index>]`) to say which one gave a value. A rule run by a sitegen experiment is
    marked with its key (`sitegenExperiment`) while the experiment runs; once concluded it
    forces the winner's variation on everyone it reaches; before or after (draft,
    stopped) it reaches no one."""
    payload = {}
    for feature in features:
        links = {link.rule: link for link in feature.linked}
        rules = []
        for index, rule in enumerate(feature.rules):
            named = {**rule, "id": rule.get("id") or f"rules[{index}]"}
            link = links.get(index)
            if link is not None:
                if link.status == "running":
                    named["sitegenExperiment"] = link.key
                elif link.status == "concluded" and link.winner is not None:
                    named = {k: v for k, v in named.items() if k not in EXPERIMENT_RULE_KEYS}
                    named["force"] = rule["variations"][link.winner]
                else:
                    continue
            rules.append(named)
        payload[feature.id] = {"defaultValue": feature.default, "rules": rules}
    return payload


EXPERIMENT_RULE_KEYS = ("variations", "weights", "key", "meta", "name", "phase")
"""What a concluded linked rule drops to become a `force` rule."""


ROLLOUT_KEYS = ("coverage", "range", "filters", "namespace", "variations")


def _first_visitor_rule(rules: list[dict[str, Any]], links: dict[int, Linked]) -> int | None:
    """The index of the first rule that looks at the visitor: a rollout, an experiment, a
    condition on another attribute. A linked rule whose experiment is over is a plain
    `force` (concluded) or no rule at all (draft, stopped)."""
    for index, rule in enumerate(rules):
        link = links.get(index)
        if link is not None and link.status != "running":
            if link.status != "concluded":
                continue
            rule = {k: v for k, v in rule.items() if k not in EXPERIMENT_RULE_KEYS}
        if _looks_at_visitor(rule):
            return index
    return None


def _looks_at_visitor(rule: Mapping[str, Any]) -> bool:
    if any(key in rule for key in ROLLOUT_KEYS):
        return True
    return any(name not in BUILD_ATTRIBUTES for name in attributes_of(rule.get("condition")))


def attributes_of(condition: Any) -> Iterator[str]:
    """The attributes a condition reads (the first part of each attribute path)."""
    if isinstance(condition, list):
        for item in condition:
            yield from attributes_of(item)
    elif isinstance(condition, dict):
        for key, value in condition.items():
            if key in ("$and", "$or", "$nor", "$not"):
                yield from attributes_of(value)
            elif not key.startswith("$"):
                yield key.split(".")[0]
