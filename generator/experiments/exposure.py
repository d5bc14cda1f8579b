"""Who saw which arm, and what they did after: an experiment's data from the events store.

- **Exposure** is the pixel's served-variant truth: a view whose variant key (`v`) holds the
  part `<experiment key>-<arm>`. Parts are matched whole against the experiment's own arms
  (`+` separates them), so `repair-cta-repair` never matches `repair-cta-repair-short`.
- A visitor counts in the **first** arm they were exposed to (a QA override that shows a
  second arm later changes nothing), from the time of that first exposure; events are
  ordered by the server's time, then the browser's millisecond clock within a second.
- The work is done by SQLite (window functions, joins on temporary tables), so a million
  exposures take seconds, not Python loops.
- An exposure from a build whose bucket version is older than the experiment's current one
  does not count (a bucket version change re-enrols everyone); build versions come from
  `history.py`, and one not recorded there is taken to be the current configuration.
- A **conversion** is a goal event (`<experiment key>:<goal id>`; older events with the key
  alone mean the experiment's first goal of that kind) at or after the first exposure, in
  the same visit or within the goal's days.
- Per exposed visitor, the exposure's visit also gives **pages per visit**, **bounce** (a
  single page viewed) and **not found** (the 404 page reached, which reports its views
  under /404.html wherever it was served), for guardrails.

Crawlers never appear: the runtime sends nothing for them and ingest drops bot agents.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator import events as q
from generator.config.personalization import Experiment, Goal
from generator.content.page import NOT_FOUND_URL
from generator.events import snapshot
from generator.experiments.history import Version

BOUNCE = "bounce"
PAGES = "pages-per-visit"
NOT_FOUND = "not-found"
EPOCH = dt.date(1970, 1, 1)


@dataclass
class ArmData:
    """One arm's exposed visitors and what they did."""

    name: str
    visitors: int = 0
    conversions: dict[str, int] = field(default_factory=dict)
    """Goal id -> visitors who converted."""
    pages: int = 0
    """Page views in the exposure visits (from the exposure on), summed over visitors."""
    pages_squared: int = 0
    bounces: int = 0
    not_found: int = 0
    """Visitors whose exposure visit reached the 404 page (from the exposure on)."""
    exposures_per_day: dict[dt.date, int] = field(default_factory=dict)
    """First exposures by day (UTC)."""
    conversions_per_day: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    """Goal id -> first conversions by day (UTC)."""


@dataclass
class ExperimentData:
    experiment: Experiment
    arms: dict[str, ArmData]
    expected: dict[str, float] = field(default_factory=dict)
    """Arm -> visitors expected by the configured weights of each visitor's build version."""
    first_exposure: float | None = None
    last_event: float | None = None
    stale_exposures: int = 0
    """Exposure views under an older bucket version (not counted)."""
    unknown_builds: set[str] = field(default_factory=set)

    @property
    def visitors(self) -> int:
        return sum(arm.visitors for arm in self.arms.values())

    @property
    def days(self) -> float:
        if self.first_exposure is None or self.last_event is None:
            return 0.0
        return (self.last_event - self.first_exposure) / 86400


def _day(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=number)


class Analysis:
    """A site's experiments from a few SQL queries over the events store: one pass picks
    the site's exposures, goals and views into temporary tables; the rest are joins."""

    def __init__(self, experiments: Sequence[Experiment], versions: dict[str, Version]) -> None:
        self.experiments = list(experiments)
        self.versions = versions

    def read(self, store: Path, site: str) -> dict[str, ExperimentData]:
        data = {
            e.key: ExperimentData(e, {arm.name: ArmData(arm.name) for arm in e.arms})
            for e in self.experiments
        }
        if not store.exists() or not self.experiments:
            return data
        with snapshot(store) as connection:
            last = q.LAST_EVENT_TIME(connection, site).fetchone()[0]
            self._prepare(connection, site, data)
            for found in data.values():
                found.last_event = last
                self._exposures(connection, found)
                for goal in found.experiment.goals:
                    self._conversions(connection, found, goal)
                self._visits(connection, found)
        return data

    def _prepare(
        self, connection: sqlite3.Connection, site: str, data: dict[str, ExperimentData]
    ) -> None:
        # One pass over the store; the rest reads these temporary tables (in memory).
        q.SITE_EVENTS(connection, site)
        q.EXPOSURES(connection)
        pairs = {
            f"{e.key}-{arm.name}": (e.key, arm.name) for e in self.experiments for arm in e.arms
        }
        variants = [row[0] for row in q.EXPOSED_VARIANTS(connection)]
        q.VARIANT_ARMS_CREATE(connection)
        rows = {}
        for variant in variants:
            for part in variant.split("+"):  # whole parts: no prefix ever matches
                if part in pairs and (variant, pairs[part][0]) not in rows:
                    rows[variant, pairs[part][0]] = pairs[part][1]
        q.VARIANT_ARMS_INSERT.many(
            connection, [(variant, key, arm) for (variant, key), arm in rows.items()]
        )
        builds = [row[0] for row in q.EXPOSED_BUILDS(connection)]
        q.STALE_CREATE(connection)
        q.STALE_INSERT.many(
            connection,
            [
                (key, build)
                for key, found in data.items()
                for build in builds
                if not self._counts(found, build)
            ],
        )
        for key, count in q.STALE_EXPOSURES(connection):
            data[key].stale_exposures = count
        q.FIRST_EXPOSURES(connection)
        q.FIRST_INDEX(connection)
        q.GOALS(connection)
        q.GOALS_INDEX(connection)
        q.VIEWS(connection)
        q.SITE_EVENTS_DROP(connection)
        q.VIEWS_INDEX(connection)

    def _counts(self, found: ExperimentData, build: str) -> bool:
        """Does an exposure under `build` count (not from before a re-enrolment)?"""
        version = self.versions.get(build)
        configured = version.experiments.get(found.experiment.key) if version else None
        if configured is None:
            return True
        return configured.bucket_version >= found.experiment.bucket_version

    def _shares(self, found: ExperimentData, build: str) -> dict[str, float]:
        """The arms' shares in the build version an exposure happened under."""
        experiment = found.experiment
        version = self.versions.get(build)
        configured = version.experiments.get(experiment.key) if version else None
        if configured is None:
            found.unknown_builds.add(build)
            weights = {arm.name: arm.weight for arm in experiment.arms}
        else:
            weights = dict(configured.arms)
        total = sum(weights.get(arm.name, 0.0) for arm in experiment.arms) or 1.0
        return {arm.name: weights.get(arm.name, 0.0) / total for arm in experiment.arms}

    def _exposures(self, connection: sqlite3.Connection, found: ExperimentData) -> None:
        rows = q.EXPOSURES_BY_DAY(connection, found.experiment.key).fetchall()
        by_build: dict[str, int] = {}
        for arm_name, build, day, count, earliest in rows:
            arm = found.arms[arm_name]
            arm.visitors += count
            arm.exposures_per_day[_day(day)] = arm.exposures_per_day.get(_day(day), 0) + count
            by_build[build] = by_build.get(build, 0) + count
            if found.first_exposure is None or earliest < found.first_exposure:
                found.first_exposure = earliest
        for build, count in by_build.items():
            for name, share in self._shares(found, build).items():
                found.expected[name] = found.expected.get(name, 0.0) + count * share

    def _conversions(
        self, connection: sqlite3.Connection, found: ExperimentData, goal: Goal
    ) -> None:
        """Visitors converting on `goal` at or after their first exposure, within its
        window (events from before goal ids name the experiment alone: its first goal of
        that kind)."""
        key = found.experiment.key
        kind = "goal" if goal.page else "click"
        first_of_kind = next(
            (g for g in found.experiment.goals if (g.page if goal.page else g.click)), None
        )
        detail = f"{key}:{goal.id}"
        older = key if first_of_kind is goal else detail
        if goal.within_days is None:
            rows = q.CONVERSIONS_IN_VISIT(connection, key, kind, detail, older).fetchall()
        else:
            seconds = goal.within_days * 86400
            rows = q.CONVERSIONS_WITHIN(connection, key, kind, detail, older, seconds).fetchall()
        for arm_name, day, count in rows:
            arm = found.arms[arm_name]
            arm.conversions[goal.id] = arm.conversions.get(goal.id, 0) + count
            per_day = arm.conversions_per_day.setdefault(goal.id, {})
            per_day[_day(day)] = per_day.get(_day(day), 0) + count

    def _visits(self, connection: sqlite3.Connection, found: ExperimentData) -> None:
        """Pages per visit, bounces and 404s of each exposure visit, from the exposure on."""
        rows = q.EXPOSURE_VISITS(connection, NOT_FOUND_URL, found.experiment.key).fetchall()
        for arm_name, pages, squared, bounces, lost in rows:
            arm = found.arms[arm_name]
            arm.pages, arm.pages_squared, arm.bounces = pages, squared, bounces
            arm.not_found = lost


def experiment_data(
    store: Path, site: str, experiments: Sequence[Experiment], versions: dict[str, Version]
) -> dict[str, ExperimentData]:
    """Every experiment's data, by key."""
    return Analysis(experiments, versions).read(store, site)
