"""Segments, rules and experiments of one site, resolved and cross-checked."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from generator.config.sourced_yaml import KeyPath
from generator.errors import ConfigError, Location, suggest


@dataclass(frozen=True, slots=True)
class Change:
    """What a rule or an arm does to a page."""

    slot: str | None = None
    """The slot whose content changes (with `markdown` or `partial`)."""
    markdown: str | None = None
    """Name of the variant text next to the page: `<page>.variants/<slot>.<markdown>.md`."""
    partial: str | None = None
    """A template rendered in place of the slot's default content."""
    template: str | None = None
    """Another template for the whole page."""
    page: str | None = None
    """A Markdown file (project-relative) that replaces the page."""

    @property
    def empty(self) -> bool:
        return not (self.markdown or self.partial or self.template or self.page)


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    description: str
    condition: dict[str, Any]
    location: Location


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    segment: str | None
    """The segment that triggers the rule, or None for an inline condition."""
    condition: dict[str, Any]
    """The condition itself (the segment's, or the inline one)."""
    pages: tuple[str, ...]
    priority: int
    change: Change
    location: Location


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    weight: float
    change: Change


@dataclass(frozen=True, slots=True)
class Goal:
    """What counts as a conversion in an experiment: a page reached or an element clicked,
    within the visit of the exposure or a number of days after it."""

    id: str
    """Stable: the runtime sends `<experiment key>:<id>`, reports and decisions name it."""
    page: str | None
    click: str | None
    within_days: int | None
    """None: in the same visit as the exposure."""
    location: Location


@dataclass(frozen=True, slots=True)
class Guardrail:
    metric: str
    """A goal id, 'bounce' or 'pages-per-visit'."""
    margin: float
    """Relative worsening tolerated before the guardrail blocks a winner."""


GUARDRAIL_METRICS = ("bounce", "pages-per-visit", "not-found")


@dataclass(frozen=True, slots=True)
class Analysis:
    """How an experiment is decided (its `analysis:`, over the site's defaults)."""

    engine: str = "sequential"
    alpha: float = 0.05
    chance_to_win: float = 0.95
    max_loss: float = 0.001
    mde: float = 0.1
    min_visitors: int = 100
    min_conversions: int = 25
    min_days: float = 7.0
    deadline: dt.date | None = None
    on_deadline: str = "keep-control"
    primary: str | None = None
    """The deciding goal's id (None: the experiment has no goals)."""
    guardrails: tuple[Guardrail, ...] = ()


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    key: str
    arms: tuple[Arm, ...]
    coverage: float
    seed: str
    hash_version: int
    bucket_version: int
    pages: tuple[str, ...]
    slot: str | None
    goals: tuple[Goal, ...]
    status: str
    winner: str | None
    namespace: tuple[str, float, float] | None
    location: Location
    analysis: Analysis = Analysis()

    @property
    def live(self) -> bool:
        """Running experiments assign visitors; a concluded one serves its winner to all."""
        return self.status in ("running", "concluded")


@dataclass(frozen=True, slots=True)
class Tracking:
    """The `analytics` settings the runtime follows."""

    enabled: bool = True
    """Send page views, goals and marked clicks through the pixel."""
    consent_required: bool = False
    """Send nothing until the page calls `sitegen.consent(true)`."""
    respect_dnt: bool = True
    """Send nothing when the browser says Do Not Track."""
    collector: str | None = None
    """Also `sendBeacon` every event as JSON to this URL."""


@dataclass(frozen=True, slots=True)
class Personalization:
    segments: tuple[Segment, ...] = ()
    rules: tuple[Rule, ...] = ()
    experiments: tuple[Experiment, ...] = ()
    max_variants: int = 64
    cookie_prefix: str = "sg_"
    routing: bool = True
    tracking: Tracking = Tracking()
    cookie_domain: str = ""
    """The parent domain the assignment cookies are set on ('' the page's own host)."""


WEIGHT_TOLERANCE = 1e-6


def _change(values: dict[str, Any], slot: str | None) -> Change:
    return Change(
        slot=slot,
        markdown=values.get("markdown"),
        partial=values.get("partial"),
        template=values.get("template"),
        page=values.get("page"),
    )


def resolve_personalization(
    values: dict[str, Any], location_of: Callable[[KeyPath], Location]
) -> Personalization:
    """Build the personalization of a site from its validated config values."""
    segments = tuple(
        Segment(id, entry["description"] or "", entry["condition"], location_of(("segments", id)))
        for id, entry in sorted(values.get("segments", {}).items())
        if entry
    )
    by_id = {segment.id: segment for segment in segments}
    rules = []
    for id, entry in sorted(values.get("rules", {}).items()):
        if not entry:
            continue
        when = entry["when"]
        if isinstance(when, str):
            if when not in by_id:
                raise ConfigError(
                    f"rules.{id}.when: segment '{when}' does not exist"
                    + suggest(when, list(by_id)),
                    location_of(("rules", id, "when")),
                )
            segment, condition = when, by_id[when].condition
        else:
            segment, condition = None, when["condition"]
        then = entry["then"]
        change = _change(then, then.get("slot"))
        _check_change(change, ("rules", id, "then"), location_of)
        rules.append(
            Rule(
                id,
                segment,
                condition,
                tuple(entry["pages"]),
                entry["priority"],
                change,
                location_of(("rules", id)),
            )
        )
    experiments = []
    keys: dict[str, str] = {}
    for id, entry in sorted(values.get("experiments", {}).items()):
        if not entry:
            continue
        experiment = _experiment(id, entry, location_of)
        own = entry.get("analysis") or {}
        experiment = replace(
            experiment,
            analysis=_analysis(experiment, own, values.get("analysis") or {}, location_of),
        )
        if experiment.key in keys:
            raise ConfigError(
                f"experiments.{id}: key '{experiment.key}' is already used by "
                f"experiment '{keys[experiment.key]}'; keys must be unique in a "
                "site",
                location_of(("experiments", id)),
            )
        keys[experiment.key] = id
        experiments.append(experiment)
    settings = values["personalization"]
    analytics = values["analytics"]
    return Personalization(
        segments,
        tuple(rules),
        tuple(experiments),
        settings["max_variants"],
        settings["cookie_prefix"],
        settings["routing"],
        Tracking(
            analytics["enabled"],
            analytics["consent"] == "required",
            analytics["respect_dnt"],
            analytics.get("collector"),
        ),
        _cookie_domain(values, location_of),
    )


def _cookie_domain(values: dict[str, Any], location_of: Callable[[KeyPath], Location]) -> str:
    """`personalization.cookie_domain`, checked against the site's own host: a browser only
    sets a cookie on a domain the page is on (or under)."""
    domain = (values["personalization"].get("cookie_domain") or "").lstrip(".")
    base_url = values.get("base_url") or ""
    host = base_url.split("/")[2].split(":")[0] if "://" in base_url else ""
    if domain and host and host != domain and not host.endswith("." + domain):
        raise ConfigError(
            f"personalization.cookie_domain: {domain} is not {host} or a parent of it "
            f"(base_url {base_url}); a browser would refuse the cookie",
            location_of(("personalization", "cookie_domain")),
        )
    return domain


ANALYSIS_KEYS = tuple(
    field.name for field in fields(Analysis) if field.name not in ("primary", "guardrails")
)


def _analysis(
    experiment: Experiment,
    own: dict[str, Any],
    defaults: dict[str, Any],
    location_of: Callable[[KeyPath], Location],
) -> Analysis:
    """The experiment's own `analysis:` keys over the site's `analysis:` over the built-in
    defaults; checked against the experiment's goals."""
    where = ("experiments", experiment.id, "analysis")
    if experiment.status == "running" and not experiment.goals:
        raise ConfigError(
            f"experiments.{experiment.id}: a running experiment needs 'goals' (what counts "
            "as a conversion: a page reached or an element clicked)",
            location_of(("experiments", experiment.id)),
        )
    chosen: dict[str, Any] = {}
    for key in ANALYSIS_KEYS:
        if own.get(key) is not None:
            chosen[key] = own[key]
            place: KeyPath = (*where, key)
        elif defaults.get(key) is not None:
            chosen[key] = defaults[key]
            place = ("analysis", key)
        else:
            continue
        if key == "alpha" and not 0 < chosen[key] < 1:
            raise ConfigError(
                f"{'.'.join(map(str, place))}: alpha must be between 0 and 1 (exclusive), "
                f"got {chosen[key]}",
                location_of(place),
            )
    goal_ids = [goal.id for goal in experiment.goals]
    primary = own.get("primary") or (goal_ids[0] if goal_ids else None)
    if primary is not None and primary not in goal_ids:
        raise ConfigError(
            f"experiments.{experiment.id}.analysis.primary: goal '{primary}' does not exist"
            + suggest(primary, goal_ids),
            location_of((*where, "primary")),
        )
    guardrails = []
    for index, entry in enumerate(own.get("guardrails") or []):
        metric = entry["metric"]
        if metric not in goal_ids and metric not in GUARDRAIL_METRICS:
            raise ConfigError(
                f"experiments.{experiment.id}.analysis.guardrails[{index}].metric: expected a "
                f"goal id of the experiment or one of {', '.join(GUARDRAIL_METRICS)}, got "
                f"'{metric}'" + suggest(metric, [*goal_ids, *GUARDRAIL_METRICS]),
                location_of((*where, "guardrails", index, "metric")),
            )
        guardrails.append(Guardrail(metric, entry["margin"]))
    return Analysis(**chosen, primary=primary, guardrails=tuple(guardrails))


def _check_change(
    change: Change, path: KeyPath, location_of: Callable[[KeyPath], Location]
) -> None:
    if (change.markdown or change.partial) and not change.slot:
        raise ConfigError(
            f"{'.'.join(map(str, path))}: 'markdown' and 'partial' change a slot; "
            "expected 'slot' too",
            location_of(path),
        )
    if change.markdown and change.partial:
        raise ConfigError(
            f"{'.'.join(map(str, path))}: expected one of 'markdown' or 'partial', not both",
            location_of(path),
        )
    if change.slot and not (change.markdown or change.partial):
        raise ConfigError(
            f"{'.'.join(map(str, path))}: slot '{change.slot}' needs "
            "'markdown' or 'partial' to change it",
            location_of(path),
        )


def goal_id(page: str | None, click: str | None) -> str:
    """The default id of a goal: its page or selector as lower-case words (`/care/` ->
    `care`, `.cta-repair a` -> `cta-repair-a`, `/` -> `home`)."""
    words = re.findall(r"[a-z0-9]+", (page or click or "").lower())
    return "-".join(words) or "home"


def _goals(
    id: str, entries: list[dict[str, Any]], location_of: Callable[[KeyPath], Location]
) -> tuple[Goal, ...]:
    goals: list[Goal] = []
    for index, entry in enumerate(entries):
        where = ("experiments", id, "goals", index)
        if bool(entry.get("page")) == bool(entry.get("click")):
            raise ConfigError(
                f"experiments.{id}.goals[{index}]: expected one of 'page' (a URL reached) or "
                "'click' (a CSS selector)",
                location_of(where),
            )
        name = entry.get("id") or goal_id(entry.get("page"), entry.get("click"))
        if any(goal.id == name for goal in goals):
            raise ConfigError(
                f"experiments.{id}.goals[{index}]: goal id '{name}' is used twice; give "
                "each goal its own 'id'",
                location_of(where),
            )
        within = entry["within"]
        goals.append(
            Goal(
                name,
                entry.get("page"),
                entry.get("click"),
                None if within == "visit" else int(within[:-1]),
                location_of(where),
            )
        )
    return tuple(goals)


def _experiment(
    id: str, entry: dict[str, Any], location_of: Callable[[KeyPath], Location]
) -> Experiment:
    where = ("experiments", id)
    arms_values = entry["arms"]
    if len(arms_values) < 2:
        raise ConfigError(
            f"experiments.{id}.arms: expected at least two arms, got {len(arms_values)}",
            location_of((*where, "arms")),
        )
    total = sum(arm["weight"] for arm in arms_values.values())
    if not math.isclose(total, 1.0, abs_tol=WEIGHT_TOLERANCE):
        raise ConfigError(
            f"experiments.{id}.arms: weights sum to {total:g}; expected 1",
            location_of((*where, "arms")),
        )
    slot = entry.get("slot")
    arms = []
    for name, arm in arms_values.items():
        change = _change(arm, slot if (arm.get("markdown") or arm.get("partial")) else None)
        if (arm.get("markdown") or arm.get("partial")) and not slot:
            raise ConfigError(
                f"experiments.{id}.arms.{name}: changes a slot, but the experiment names no 'slot'",
                location_of((*where, "arms", name)),
            )
        arms.append(Arm(name, arm["weight"], change))
    winner = entry.get("winner")
    status = entry["status"]
    if status == "concluded" and winner is None:
        raise ConfigError(
            f"experiments.{id}: a concluded experiment needs a 'winner'",
            location_of((*where, "status")),
        )
    if winner is not None and winner not in arms_values:
        raise ConfigError(
            f"experiments.{id}.winner: arm '{winner}' does not exist"
            + suggest(winner, list(arms_values)),
            location_of((*where, "winner")),
        )
    namespace = None
    if entry.get("namespace"):
        start_end = entry["namespace"]["range"]
        if len(start_end) != 2 or not 0 <= start_end[0] < start_end[1] <= 1:
            raise ConfigError(
                f"experiments.{id}.namespace.range: expected [start, end) with "
                "0 <= start < end <= 1",
                location_of((*where, "namespace", "range")),
            )
        namespace = (entry["namespace"]["name"], start_end[0], start_end[1])
    key = entry.get("key") or id
    return Experiment(
        id,
        key,
        tuple(arms),
        entry["coverage"],
        entry.get("seed") or key,
        entry["hash_version"],
        entry["bucket_version"],
        tuple(entry["pages"]),
        slot,
        _goals(id, entry["goals"], location_of),
        status,
        winner,
        namespace,
        location_of(where),
    )
