"""GrowthBook's SDK functions under their own names (snake_case), for running GrowthBook's
published test vectors (tests/vectors/growthbook/cases.json) against sitegen, and as the one
place that says which of sitegen's functions implement which of GrowthBook's. The visitor
runtime offers the same functions in camelCase on `window.sitegen`.

sitegen's experiments are a subset of GrowthBook's: a visitor id as the hash attribute,
weights, coverage, namespaces, a seed, hash versions 1 and 2, and the QA override. `run`
implements the whole of GrowthBook's `runExperiment` for one experiment except sticky
bucketing (sitegen's cookies are its sticky buckets); `eval_feature` the whole of
`evalFeature` except contextual bandits (a model a server evaluates).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from generator.conditions import evaluate, js_string, js_truthy, padded_version
from generator.personalize.hashing import bucket_ranges, choose_arm, hash_unit
from generator.personalize.hashing import in_namespace as _in_namespace

__all__ = [
    "choose_variation",
    "eval_condition",
    "get_bucket_ranges",
    "get_equal_weights",
    "get_query_string_override",
    "hash",
    "in_namespace",
    "is_url_targeted",
    "eval_feature",
    "padded_version_string",
    "run",
]

padded_version_string = padded_version
choose_variation = choose_arm


def hash(seed: str, value: Any, version: int) -> float | None:  # noqa: A001 (GrowthBook's name)
    """GrowthBook's `hash`: a number in [0, 1), None for an unknown version."""
    return hash_unit(seed, js_string(value), version)


def eval_condition(
    attributes: Mapping[str, Any],
    condition: Mapping[str, Any],
    saved_groups: Mapping[str, list[Any]] | None = None,
) -> bool:
    """GrowthBook's `evalCondition(obj, condition, savedGroups)`."""
    return evaluate(dict(condition), dict(attributes), dict(saved_groups or {}))


def get_equal_weights(count: int) -> list[float]:
    return [1 / count] * count if count > 0 else []


def get_bucket_ranges(
    count: int, coverage: float | None = None, weights: Sequence[float] | None = None
) -> list[tuple[float, float]]:
    return bucket_ranges(count, 1.0 if coverage is None else coverage, weights)


def in_namespace(hash_value: Any, namespace: Sequence[Any]) -> bool:
    name, start, end = namespace
    return _in_namespace(js_string(hash_value), (name, start, end))


_PARSE_INT = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|\d+)")


def _parse_int(text: str | None) -> int | None:
    """JavaScript's `parseInt(text)` (None for NaN)."""
    found = _PARSE_INT.match(text or "")
    if found is None:
        return None
    value = int(found.group(2), 0) if found.group(2)[:2].lower() == "0x" else int(found.group(2))
    return -value if found.group(1) == "-" else value


def get_query_string_override(key: str, url: str, count: int) -> int | None:
    """The arm a URL's query string forces (`?<key>=<n>`), or None."""
    if not url:
        return None
    parts = url.split("?")
    if len(parts) < 2 or not parts[1]:
        return None
    search = re.sub(r"#.*", "", parts[1])
    values = [pair.split("=")[:2] for pair in search.split("&")]
    found = [_parse_int(pair[1] if len(pair) > 1 else None) for pair in values if pair[0] == key]
    if found and found[0] is not None and 0 <= found[0] < count:
        return found[0]
    return None


def _simple_part(actual: str, pattern: str, is_path: bool) -> bool:
    escaped = re.sub(r"[*.+?^${}()|\[\]\\]", lambda m: "\\" + m.group(0), pattern)
    escaped = escaped.replace("_____", ".*")
    if is_path:
        escaped = r"\/?" + re.sub(r"(^\/|\/$)", "", escaped) + r"\/?"
    return re.fullmatch(escaped, actual, re.IGNORECASE) is not None


def _simple_target(actual: Any, pattern: str) -> bool:
    text = re.sub(r"^([^:/?]*)\.", r"https://\1.", pattern, count=1, flags=re.I)
    expected = urlsplit(
        text.replace("*", "_____")
        if "//" in text
        else "https://_____" + ("" if text.startswith("/") else "/") + text.replace("*", "_____")
    )
    checks = [
        (actual.netloc, expected.netloc, False),
        (actual.path or "/", expected.path or "/", True),
    ]
    if expected.fragment:
        checks.append(
            ("#" + actual.fragment if actual.fragment else "", "#" + expected.fragment, False)
        )
    actual_query = dict(parse_qsl(actual.query, keep_blank_values=True))
    for name, value in parse_qsl(expected.query, keep_blank_values=True):
        checks.append((actual_query.get(name, ""), value, False))
    return all(_simple_part(*check) for check in checks)


def is_url_targeted(url: str, targets: Sequence[Mapping[str, Any]]) -> bool:
    """GrowthBook's `isURLTargeted` (`urlPatterns`: regex or simple, include or exclude)."""
    if not targets:
        return False
    parsed = urlsplit(url if "//" in url else "https://_" + url)
    has_include = included = False
    for target in targets:
        pattern = target.get("pattern", "")
        try:
            if target.get("type") == "regex":
                expression = re.compile(pattern)
                path = url.split("//", 1)[-1]
                path = path[path.index("/") :] if "/" in path else "/"
                match = bool(expression.search(url) or expression.search(path))
            else:
                match = _simple_target(parsed, pattern)
        except (re.error, ValueError):
            match = False
        if target.get("include") is False:
            if match:
                return False
        else:
            has_include = True
            included = included or match
    return included or not has_include


def _hash_attribute(attributes: Mapping[str, Any], name: str | None) -> tuple[str, Any]:
    attribute = name or "id"
    value = attributes.get(attribute)
    return attribute, value if js_truthy(value) else ""


def run(
    context: Mapping[str, Any], experiment: Mapping[str, Any], feature_id: str | None = None
) -> dict[str, Any]:
    """GrowthBook's `runExperiment`: the result a visitor in `context` gets (`feature_id`:
    the feature whose experiment rule this is)."""
    key = experiment["key"]
    variations = list(experiment.get("variations", []))
    attributes: Mapping[str, Any] = context.get("attributes") or {}
    url = context.get("url") or ""

    def result(index: int, hash_used: bool = False, bucket: float | None = None) -> dict[str, Any]:
        return _result(experiment, variations, attributes, index, hash_used, bucket, feature_id)

    if len(variations) < 2 or context.get("enabled") is False:
        return result(-1)
    overrides = (context.get("overrides") or {}).get(key)
    if overrides:
        experiment = {**experiment, **overrides}
    if experiment.get("urlPatterns") and not is_url_targeted(url, experiment["urlPatterns"]):
        return result(-1)
    forced = _forced(context, key, url, len(variations))
    if forced is not None:
        return result(forced)
    _, value = _hash_attribute(attributes, experiment.get("hashAttribute"))
    if (
        experiment.get("status") == "draft"
        or experiment.get("active") is False
        or not value
        or not _included(context, experiment, value, url)
    ):
        return result(-1)
    unit = hash(experiment.get("seed") or key, value, experiment.get("hashVersion") or 1)
    if unit is None:
        return result(-1)
    ranges = experiment.get("ranges") or get_bucket_ranges(
        len(variations), experiment.get("coverage"), experiment.get("weights")
    )
    assigned = choose_variation(unit, [tuple(r) for r in ranges])
    if assigned < 0:
        return result(-1)
    if "force" in experiment:
        force = experiment["force"]
        return result(-1 if force is None else force)
    if context.get("qaMode") or experiment.get("status") == "stopped":
        return result(-1)
    return result(assigned, True, unit)


def _result(
    experiment: Mapping[str, Any],
    variations: list[Any],
    attributes: Mapping[str, Any],
    index: int,
    hash_used: bool,
    bucket: float | None,
    feature_id: str | None = None,
) -> dict[str, Any]:
    """GrowthBook's `_getResult`: variation `index`, or the first outside the experiment."""
    inside = 0 <= index < len(variations)
    index = index if inside else 0
    attribute, value = _hash_attribute(attributes, experiment.get("hashAttribute"))
    meta = (experiment.get("meta") or [{}] * len(variations))[index] if variations else {}
    found = {
        "featureId": feature_id,
        "key": meta.get("key") or str(index),
        "inExperiment": inside,
        "hashUsed": hash_used,
        "variationId": index,
        "value": variations[index] if variations else None,
        "hashAttribute": attribute,
        "hashValue": value,
        "stickyBucketUsed": False,
    }
    if meta.get("name"):
        found["name"] = meta["name"]
    if meta.get("passthrough"):
        found["passthrough"] = meta["passthrough"]
    if bucket is not None:
        found["bucket"] = bucket
    return found


EXPERIMENT_RULE_KEYS = (
    "coverage",
    "weights",
    "hashAttribute",
    "fallbackAttribute",
    "disableStickyBucketing",
    "bucketVersion",
    "minBucketVersion",
    "namespace",
    "meta",
    "ranges",
    "name",
    "phase",
    "seed",
    "hashVersion",
    "filters",
    "condition",
)
"""What an experiment rule of a feature hands on to the experiment it runs."""


def eval_feature(context: Mapping[str, Any], key: str) -> dict[str, Any]:
    """GrowthBook's `evalFeature`: the value of feature `key` for the visitor in
    `context` (`features`, `attributes`, `savedGroups`, `forcedVariations`, `url`), with
    where it came from (`source`: defaultValue, force, experiment, prerequisite,
    cyclicPrerequisite or unknownFeature)."""
    return _eval_feature(context, key, frozenset())


def _feature_result(
    key: str,
    value: Any,
    source: str,
    rule_id: str = "",
    experiment: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    found = {
        "value": value,
        "on": js_truthy(value),
        "off": not js_truthy(value),
        "source": source,
        "ruleId": rule_id,
    }
    if experiment is not None:
        found["experiment"] = experiment
    if result is not None:
        found["experimentResult"] = result
    return found


def _eval_feature(context: Mapping[str, Any], key: str, stack: frozenset[str]) -> dict[str, Any]:
    if key in stack:
        return _feature_result(key, None, "cyclicPrerequisite")
    stack = stack | {key}
    feature = (context.get("features") or {}).get(key)
    if feature is None:
        return _feature_result(key, None, "unknownFeature")
    attributes: Mapping[str, Any] = context.get("attributes") or {}
    for rule in feature.get("rules") or []:
        gate = _prerequisites(context, rule.get("parentConditions") or [], stack)
        if gate in ("cyclicPrerequisite", "prerequisite"):
            return _feature_result(key, None, gate)
        if gate == "skip":
            continue
        if rule.get("filters") and _filtered_out(rule["filters"], attributes):
            continue
        if "force" in rule:
            condition = rule.get("condition")
            if condition and not eval_condition(attributes, condition, context.get("savedGroups")):
                continue
            if not _in_rollout(attributes, rule.get("seed") or key, rule):
                continue
            return _feature_result(key, rule["force"], "force", rule.get("id") or "")
        if not rule.get("variations"):
            continue
        experiment = {"variations": rule["variations"], "key": rule.get("key") or key}
        experiment.update({name: rule[name] for name in EXPERIMENT_RULE_KEYS if name in rule})
        result = run(context, experiment, key)
        if result["inExperiment"] and not result.get("passthrough"):
            return _feature_result(
                key, result["value"], "experiment", rule.get("id") or "", experiment, result
            )
    default = feature.get("defaultValue")
    return _feature_result(key, default, "defaultValue")


def _prerequisites(
    context: Mapping[str, Any], conditions: Sequence[Mapping[str, Any]], stack: frozenset[str]
) -> str:
    """'' when every parent condition holds; 'skip' (this rule), 'prerequisite' (a gate
    failed: the feature is off) or 'cyclicPrerequisite'."""
    for parent in conditions:
        found = _eval_feature(context, parent["id"], stack)
        if found["source"] == "cyclicPrerequisite":
            return "cyclicPrerequisite"
        if not eval_condition({"value": found["value"]}, parent.get("condition") or {}):
            return "prerequisite" if parent.get("gate") else "skip"
    return ""


def _filtered_out(filters: Sequence[Mapping[str, Any]], attributes: Mapping[str, Any]) -> bool:
    """GrowthBook's `isFilteredOut`: outside every range of some filter."""
    for rule in filters:
        _, value = _hash_attribute(attributes, rule.get("attribute"))
        unit = hash(rule["seed"], value, rule.get("hashVersion") or 2) if value else None
        if unit is None or not any(start <= unit < end for start, end in rule["ranges"]):
            return True
    return False


def _in_rollout(attributes: Mapping[str, Any], seed: str, rule: Mapping[str, Any]) -> bool:
    """GrowthBook's `isIncludedInRollout` for a force rule's `range` or `coverage`."""
    span, coverage = rule.get("range"), rule.get("coverage")
    if span is None and coverage is None:
        return True
    if span is None and coverage == 0:
        return False
    _, value = _hash_attribute(attributes, rule.get("hashAttribute"))
    if not value:
        return False
    unit = hash(seed, value, rule.get("hashVersion") or 1)
    if unit is None:
        return False
    if span is not None:
        return bool(span[0] <= unit < span[1])
    return coverage is not None and bool(unit <= coverage)


def _forced(context: Mapping[str, Any], key: str, url: str, count: int) -> int | None:
    """A variation forced by the URL's query string, else by the context."""
    forced = get_query_string_override(key, url, count)
    if forced is not None:
        return forced
    forced_variations = context.get("forcedVariations") or {}
    return forced_variations[key] if key in forced_variations else None


def _included(
    context: Mapping[str, Any], experiment: Mapping[str, Any], value: Any, url: str
) -> bool:
    """Whether the visitor passes the experiment's filters (or namespace), condition,
    groups and URL expression."""
    attributes: Mapping[str, Any] = context.get("attributes") or {}
    filters = experiment.get("filters")
    if filters:
        for rule in filters:
            _, filtered = _hash_attribute(attributes, rule.get("attribute"))
            unit = hash(rule["seed"], filtered, rule.get("hashVersion") or 2) if filtered else None
            if unit is None or not any(start <= unit < end for start, end in rule["ranges"]):
                return False
    elif experiment.get("namespace") and not in_namespace(value, experiment["namespace"]):
        return False
    condition = experiment.get("condition")
    if condition and not eval_condition(attributes, condition, context.get("savedGroups")):
        return False
    parents = experiment.get("parentConditions")
    if parents and _prerequisites(context, parents, frozenset()):
        return False  # a parent feature's value fails its condition
    groups = experiment.get("groups")
    if groups and not any((context.get("groups") or {}).get(group) for group in groups):
        return False
    if experiment.get("url"):
        path = re.sub(r"^[^/]*/", "/", re.sub(r"^https?://", "", url))
        expression = re.compile(experiment["url"])
        if not url or not (expression.search(url) or expression.search(path)):
            return False
    return True
