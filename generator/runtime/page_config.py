"""What the build writes into a page's <head> for the visitor runtime."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from generator.analytics.pixel import PIXEL_PATH
from generator.config.personalization import Personalization, goal_id
from generator.personalize.features import FLAG_SEGMENT
from generator.personalize.variants import Variant, content_files, is_whole_page, specificity
from generator.runtime import FLAG_SOURCES, RUNTIME_DIR, SOURCES

PERSONALIZATION_KEYS = ("segments", "rules", "experiments", "personalization", "analytics")


ASSIGNMENT_VERSION = "0.2.0"
"""Named in every build version, for the runtime code that assigns visitors (assign.js and
runtime.js): raised when that code changes, and only then, so an upgrade of sitegen that
leaves it alone changes no published byte. tests/test_upgrade.py holds the digest of the
code this version names and fails when the code changes without it."""


@cache
def flags_digest() -> str:
    """The sha256 of the code that evaluates visitor flags in the runtime."""
    digest = hashlib.sha256()
    for name in FLAG_SOURCES:
        digest.update((RUNTIME_DIR / name).read_bytes())
    return digest.hexdigest()


@cache
def runtime_digest() -> str:
    """The sha256 of the head runtime's sources."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((RUNTIME_DIR / name).read_bytes())
    return digest.hexdigest()


def personalization_version(values: dict[str, Any], visitor_flags: bool = False) -> str:
    """The build version a page bakes in for exposure logging: a hash of the site's
    segments, rules and experiments and of the assignment code's version, and where
    feature flags look at the visitor, of the flags and the code that evaluates them. It
    changes exactly when what decides a visitor's variant changes; content edits leave it
    alone, so they do not re-render every page of the site, and so does an upgrade of
    sitegen that leaves the assignment code as it was."""
    chosen = {key: values.get(key) for key in PERSONALIZATION_KEYS}
    if visitor_flags:
        chosen["features"] = values.get("features")
        chosen["flags code"] = flags_digest()
    # How an experiment is analysed and what was decided change nothing a visitor gets.
    chosen["experiments"] = {
        id: _as_served(entry) if isinstance(entry, dict) else entry
        for id, entry in (chosen.get("experiments") or {}).items()
    }
    payload = json.dumps([ASSIGNMENT_VERSION, chosen], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


def _as_served(entry: dict[str, Any]) -> dict[str, Any]:
    """An experiment as visitors get it: without its analysis and decision, and each goal
    with an id that only writes out the one config format 1 derived read as unset (as
    format 1 has it), so `sitegen migrate` (which writes them) changes no page."""
    served = {k: v for k, v in entry.items() if k not in ("analysis", "decision")}
    goals = served.get("goals")
    if isinstance(goals, list):
        served["goals"] = [
            {**goal, "id": None}
            if isinstance(goal, dict)
            and goal.get("id") == goal_id(goal.get("page"), goal.get("click"))
            else goal
            for goal in goals
        ]
    return served


def site_needs_runtime(personalization: Personalization, visitor_flags: bool = False) -> bool:
    return (
        visitor_flags
        or personalization.tracking.enabled
        or bool(personalization.rules)
        or any(e.status == "running" for e in personalization.experiments)
    )


def _goals(personalization: Personalization) -> list[dict[str, str]]:
    """Goals of running experiments, for the runtime to report when reached or clicked."""
    return [
        {
            "experiment": e.key,
            "id": goal.id,
            **({"page": goal.page} if goal.page else {"click": goal.click or ""}),
        }
        for e in personalization.experiments
        if e.status == "running"
        for goal in e.goals
    ]


def _segments(personalization: Personalization) -> dict[str, Any]:
    """Named segments, and one for each rule with an inline condition (as in variants.py)."""
    segments = {segment.id: segment.condition for segment in personalization.segments}
    for rule in personalization.rules:
        if rule.segment is None:
            segments[f"rule-{rule.id}"] = rule.condition
    return segments


def _experiments(personalization: Personalization) -> list[dict[str, Any]]:
    return [
        {
            "key": e.key,
            "arms": len(e.arms),
            "names": [arm.name for arm in e.arms],
            "weights": [arm.weight for arm in e.arms],
            "coverage": e.coverage,
            "seed": e.seed,
            "hashVersion": e.hash_version,
            "bucketVersion": e.bucket_version,
            **({"namespace": list(e.namespace)} if e.namespace else {}),
        }
        for e in personalization.experiments
        if e.status == "running"
    ]


def _flag_segments(features: dict[str, Any]) -> dict[str, Any]:
    """A segment per visitor flag value but the first: the visitors the flag gives that
    value (flags.js evaluates `$feature`; assign.js alone finds no visitor in it)."""
    return {
        f"{flag}{FLAG_SEGMENT}{index}": {"$feature": [flag, index]}
        for flag, values in features["values"].items()
        for index in range(1, len(values))
    }


def _page_variants(variants: tuple[Variant, ...]) -> list[dict[str, Any]]:
    """Most specific first; `file`: the variant whose file holds its content ("" the default
    page)."""
    files = content_files(variants)
    return [
        {
            "key": v.key,
            "segments": list(v.segments),
            "arms": [list(a) for a in v.arms],
            "file": files[v.key],
        }
        for v in sorted(variants, key=specificity)
    ]


def page_config(
    personalization: Personalization,
    url: str,
    variant: Variant | None,
    page_variants: tuple[Variant, ...],
    tags: tuple[str, ...],
    attributes: dict[str, Any],
    build: str,
    features: dict[str, Any] | None = None,
) -> str:
    """`window.sitegenConfig` for one page, as JSON safe inside a <script> element.
    `features`: what the runtime needs to evaluate the visitor flags, if the site has any
    (personalize/features.py, `runtime_features`)."""
    segments = _segments(personalization)
    if features:
        segments.update(_flag_segments(features))
    document: dict[str, Any] = {
        "prefix": personalization.cookie_prefix,
        **({"domain": personalization.cookie_domain} if personalization.cookie_domain else {}),
        "segments": segments,
        "experiments": _experiments(personalization),
        "track": {
            "enabled": personalization.tracking.enabled,
            "consent": personalization.tracking.consent_required,
            "dnt": personalization.tracking.respect_dnt,
            "collector": personalization.tracking.collector or "",
            "pixel": "/" + PIXEL_PATH,
            "goals": _goals(personalization),
        },
        "page": {
            "variant": variant.key if variant else "",
            "build": build,
            "url": url,
            "variants": _page_variants(page_variants),
            # Files that replace the page or its template: only a fetch can show them.
            "whole": sorted(v.key for v in page_variants if is_whole_page(v)),
            "tags": list(tags),
            "attributes": attributes,
        },
    }
    if features:
        document["features"] = features
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
