"""Who saw which arm, and what they did after: an experiment's data from the events store.

- **Exposure** is the pixel's served-variant truth: a view whose variant key (`v`) holds the
  part `<experiment key>-<arm>`. Parts are matched whole against the experiment's own arms
  (`+` separates them), so `repair-cta-repair` never matches `repair-cta-repair-short`.
- A visitor counts in the **first** arm they were exposed to (a QA override that shows a
  second arm later changes nothing), from the time of that first exposure; events are
  ordered by the server's time, then the browser's millisecond clock within a second.
- An exposure from a build whose bucket version is older than the experiment's current one
  does not count (a bucket version change re-enrols everyone); build versions come from
  `history.py`, and one not recorded there is taken to be the current configuration.
- A **conversion** is a goal event (`<experiment key>:<goal id>`; older events with the key
  alone mean the experiment's first goal of that kind) at or after the first exposure, in
  the same visit or within the goal's days.
- Per exposed visitor, the exposure's visit also gives **pages per visit** and **bounce**
  (a single page viewed), for guardrails.

Crawlers never appear: the runtime sends nothing for them and ingest drops bot agents.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.config.personalization import Experiment, Goal
from generator.experiments.history import Version

BOUNCE = "bounce"
PAGES = "pages-per-visit"


@dataclass
class ArmData:
    """One arm's exposed visitors and what they did."""

    name: str
    visitors: int = 0
    conversions: dict[str, int] = field(default_factory=dict)
    """Goal id -> visitors who converted."""
    pages: int = 0
    """Page views in the exposure visits, summed over visitors."""
    pages_squared: int = 0
    bounces: int = 0
    exposure_days: list[dt.date] = field(default_factory=list)
    conversion_days: dict[str, list[dt.date]] = field(default_factory=dict)


@dataclass
class ExperimentData:
    experiment: Experiment
    arms: dict[str, ArmData]
    expected: dict[str, float] = field(default_factory=dict)
    """Arm -> visitors expected by the configured weights of each visitor's build version."""
    first_exposure: float | None = None
    last_event: float | None = None
    stale_exposures: int = 0
    """Exposures under an older bucket version (not counted)."""
    unknown_builds: set[str] = field(default_factory=set)

    @property
    def visitors(self) -> int:
        return sum(arm.visitors for arm in self.arms.values())

    @property
    def days(self) -> float:
        if self.first_exposure is None or self.last_event is None:
            return 0.0
        return (self.last_event - self.first_exposure) / 86400


@dataclass
class _Exposure:
    arm: str
    time: float
    session: str
    pages: int = 0
    converted: dict[str, float] = field(default_factory=dict)
    """Goal id -> time of the first conversion."""


Row = tuple[str, str, float, int, str, str, str, str]
"""(visitor, session, time, client ms, type, variant, build, detail)."""


def _rows(store: Path, site: str) -> Iterator[Row]:
    if not store.exists():
        return
    connection = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
    try:
        yield from connection.execute(
            "SELECT visitor, session, time, client_ms, type, variant, build, detail FROM events "
            "WHERE site = ? AND type IN ('view', 'goal', 'click') "
            "ORDER BY visitor, time, client_ms",
            (site,),
        )
    except sqlite3.OperationalError:
        return  # an empty or older store: nothing to read
    finally:
        connection.close()


class Analysis:
    """Reads a site's events once for all its experiments."""

    def __init__(self, experiments: Sequence[Experiment], versions: dict[str, Version]) -> None:
        self.experiments = {e.key: e for e in experiments}
        self.versions = versions
        self.data = {
            e.key: ExperimentData(e, {arm.name: ArmData(arm.name) for arm in e.arms})
            for e in experiments
        }
        self._parts: dict[str, list[tuple[str, str]]] = {}
        self._last: float | None = None
        self._pairs = {
            f"{e.key}-{arm.name}": (e.key, arm.name) for e in experiments for arm in e.arms
        }

    def _arms_in(self, variant: str) -> list[tuple[str, str]]:
        """(experiment key, arm) pairs a variant key names, matched part by part."""
        found = self._parts.get(variant)
        if found is None:
            found = self._parts[variant] = [
                self._pairs[part] for part in variant.split("+") if part in self._pairs
            ]
        return found

    def _counts(self, key: str, build: str) -> bool:
        """Does an exposure under `build` count for experiment `key`?"""
        experiment = self.experiments[key]
        version = self.versions.get(build)
        configured = version.experiments.get(key) if version is not None else None
        if configured is None:
            self.data[key].unknown_builds.add(build)
            return True
        return configured.bucket_version >= experiment.bucket_version

    def _share(self, key: str, build: str) -> dict[str, float]:
        """The arms' shares in the build version an exposure happened under."""
        experiment = self.experiments[key]
        version = self.versions.get(build)
        configured = version.experiments.get(key) if version is not None else None
        weights = (
            dict(configured.arms)
            if configured is not None
            else {a.name: a.weight for a in experiment.arms}
        )
        total = sum(weights.get(a.name, 0.0) for a in experiment.arms) or 1.0
        return {a.name: weights.get(a.name, 0.0) / total for a in experiment.arms}

    def read(self, store: Path, site: str) -> dict[str, ExperimentData]:
        visitor = None
        exposures: dict[str, _Exposure] = {}
        for row in _rows(store, site):
            if row[0] != visitor:
                self._finish(exposures)
                visitor, exposures = row[0], {}
            self._event(row, exposures)
        self._finish(exposures)
        for data in self.data.values():
            data.last_event = self._last
        return self.data

    def _event(self, row: Row, exposures: dict[str, _Exposure]) -> None:
        time = row[2]
        if self._last is None or time > self._last:
            self._last = time
        if row[4] == "view":
            self._view(row, exposures)
        else:
            self._conversion(row, exposures)

    def _view(self, row: Row, exposures: dict[str, _Exposure]) -> None:
        _, session, time, _, _, variant, build, _ = row
        for key, arm in self._arms_in(variant):
            if key in exposures:
                continue
            data = self.data[key]
            if not self._counts(key, build):
                data.stale_exposures += 1
                continue
            exposures[key] = _Exposure(arm, time, session)
            for name, share in self._share(key, build).items():
                data.expected[name] = data.expected.get(name, 0.0) + share
            if data.first_exposure is None or time < data.first_exposure:
                data.first_exposure = time
        for exposure in exposures.values():
            if exposure.session == session:
                exposure.pages += 1

    def _conversion(self, row: Row, exposures: dict[str, _Exposure]) -> None:
        _, session, time, _, kind, _, _, detail = row
        key, _, goal_id = detail.partition(":")
        exposure = exposures.get(key)
        if exposure is None:
            return  # not exposed (yet; rows come in time order): not a conversion
        goal = self._goal(key, goal_id, kind)
        if goal is None or goal.id in exposure.converted:
            return
        if goal.within_days is None:
            if session != exposure.session:
                return
        elif time - exposure.time > goal.within_days * 86400:
            return
        exposure.converted[goal.id] = time

    def _goal(self, key: str, goal_id: str, kind: str) -> Goal | None:
        goals = self.experiments[key].goals if key in self.experiments else ()
        if goal_id:
            return next((goal for goal in goals if goal.id == goal_id), None)
        # Events from before goal ids: the first goal of that kind.
        wanted = "page" if kind == "goal" else "click"
        return next((goal for goal in goals if getattr(goal, wanted)), None)

    def _finish(self, exposures: dict[str, _Exposure]) -> None:
        for key, exposure in exposures.items():
            arm = self.data[key].arms[exposure.arm]
            arm.visitors += 1
            arm.pages += exposure.pages
            arm.pages_squared += exposure.pages**2
            arm.bounces += exposure.pages == 1
            arm.exposure_days.append(_day(exposure.time))
            for goal_id, time in exposure.converted.items():
                arm.conversions[goal_id] = arm.conversions.get(goal_id, 0) + 1
                arm.conversion_days.setdefault(goal_id, []).append(_day(time))


def _day(time: float) -> dt.date:
    return dt.datetime.fromtimestamp(time, dt.UTC).date()


def experiment_data(
    store: Path, site: str, experiments: Sequence[Experiment], versions: dict[str, Version]
) -> dict[str, ExperimentData]:
    """Every experiment's data, by key, from one pass over the site's events."""
    return Analysis(experiments, versions).read(store, site)
