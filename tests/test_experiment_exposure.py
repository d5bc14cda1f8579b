"""Exposures and conversions from the events store, on hand-written events: first exposure
wins, arms matched whole, conversions only after exposure and within their window, old
bucket versions left out, the split expected from each build version's weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.analytics.ingest import ingest
from generator.analytics.store import EventStore
from generator.config import load_network
from generator.config.personalization import Experiment
from generator.experiments.exposure import experiment_data
from generator.experiments.history import Configured, Version
from tests.conftest import edit

DAY = 86400
T0 = 1_780_000_000


def event(visitor: str, at: float, kind: str = "view", **fields: Any) -> dict[str, Any]:
    return {
        "time": T0 + at,
        "type": kind,
        "page": fields.pop("page", "/"),
        "visitor": visitor,
        "session": fields.pop("session", f"{visitor}-s1"),
        "build": fields.pop("build", "b1"),
        **fields,
    }


def data_of(
    tmp_path: Path,
    experiments: tuple[Experiment, ...],
    events: list[dict[str, Any]],
    versions: dict[str, Version] | None = None,
) -> Any:
    export = tmp_path / "events.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in events))
    store = EventStore(tmp_path / "events.sqlite")
    ingest(store, "root", [], [export])
    store.close()
    return experiment_data(tmp_path / "events.sqlite", "root", experiments, versions or {})


@pytest.fixture
def experiments(project: Path) -> tuple[Experiment, ...]:
    edit(
        project / "sites/root/site.yaml",
        "      - page: /articles/\n",
        "      - page: /articles/\n      - id: later\n        page: /later/\n        within: 2d\n"
        "      - click: .hero a\n",
    )
    return load_network(project).sites["root"].personalization.experiments


def test_first_exposure_wins_and_only_later_conversions_count(
    tmp_path: Path, experiments: tuple[Experiment, ...]
) -> None:
    events = [
        # a: converts before exposure (not counted), then is exposed to bold, converts.
        event("a", 0, "goal", page="/articles/", detail="hero-test:articles"),
        event("a", 10, variant="hero-test-bold"),
        event("a", 20, "goal", page="/articles/", detail="hero-test:articles"),
        # b: control first, then a QA override shows bold: stays in control.
        event("b", 0, variant="hero-test-control"),
        event("b", 5, variant="hero-test-bold"),
        # c: exposed and converting in the same second: the browser's clock orders them.
        event("c", 30, variant="seg-newsletter+hero-test-bold", client_ms=(T0 + 30) * 1000 + 5),
        event(
            "c",
            30,
            "goal",
            page="/articles/",
            detail="hero-test:articles",
            client_ms=(T0 + 30) * 1000 + 900,
        ),
        # d: the goal came in the same second, but before the exposure.
        event(
            "d",
            40,
            "goal",
            page="/articles/",
            detail="hero-test:articles",
            client_ms=(T0 + 40) * 1000 + 1,
        ),
        event("d", 40, variant="hero-test-control", client_ms=(T0 + 40) * 1000 + 500),
    ]
    data = data_of(tmp_path, experiments, events)["hero-test"]
    bold, control = data.arms["bold"], data.arms["control"]
    assert (bold.visitors, control.visitors) == (2, 2)
    assert bold.conversions == {"articles": 2}
    assert control.conversions == {}


def test_arms_are_matched_whole_not_by_prefix(
    tmp_path: Path, project: Path, experiments: tuple[Experiment, ...]
) -> None:
    data = data_of(
        tmp_path,
        experiments,
        [event("a", 0, variant="hero-test-bold-short"), event("b", 0, variant="hero-test-boldx")],
    )
    assert data["hero-test"].visitors == 0


def test_conversion_windows(tmp_path: Path, experiments: tuple[Experiment, ...]) -> None:
    events = [
        event("a", 0, variant="hero-test-bold"),
        # same-visit goal, reached in a later visit: not counted
        event("a", DAY, "goal", page="/articles/", detail="hero-test:articles", session="a-s2"),
        # a 2-day goal a day later: counted; the same goal again: counted once
        event("a", DAY, "goal", page="/later/", detail="hero-test:later", session="a-s2"),
        event("a", DAY + 5, "goal", page="/later/", detail="hero-test:later", session="a-s2"),
        event("b", 0, variant="hero-test-bold"),
        # three days later: outside the window
        event("b", 3 * DAY, "goal", page="/later/", detail="hero-test:later", session="b-s2"),
        # a click goal, and an event from before goal ids (the key alone: the first click goal)
        event("b", 20, "click", detail="hero-test:hero-a"),
        event("c", 0, variant="hero-test-control"),
        event("c", 10, "click", detail="hero-test"),
    ]
    data = data_of(tmp_path, experiments, events)["hero-test"]
    assert data.arms["bold"].conversions == {"later": 1, "hero-a": 1}
    assert data.arms["control"].conversions == {"hero-a": 1}


def test_bounce_and_pages_of_the_exposure_visit(
    tmp_path: Path, experiments: tuple[Experiment, ...]
) -> None:
    events = [
        event("a", 0, variant="hero-test-bold"),
        event("a", 60, page="/articles/"),
        event("a", 90, page="/articles/alpha/"),
        event("a", DAY, page="/", session="a-s2"),  # another visit: not counted
        event("b", 0, variant="hero-test-bold"),
    ]
    bold = data_of(tmp_path, experiments, events)["hero-test"].arms["bold"]
    assert (bold.visitors, bold.pages, bold.pages_squared, bold.bounces) == (2, 4, 10, 1)


def test_the_404_page_reached_in_the_exposure_visit(
    tmp_path: Path, experiments: tuple[Experiment, ...]
) -> None:
    events = [
        event("a", 0, variant="hero-test-bold"),
        event("a", 60, page="/404.html"),
        event("a", 90, page="/404.html"),  # one visitor, counted once
        event("b", 0, page="/404.html"),  # before the exposure: not counted
        event("b", 10, variant="hero-test-bold"),
        event("c", 0, variant="hero-test-bold"),
        event("c", DAY, page="/404.html", session="c-s2"),  # another visit: not counted
        event("d", 0, variant="hero-test-control"),
        event("d", 5, page="/404.html"),
    ]
    arms = data_of(tmp_path, experiments, events)["hero-test"].arms
    assert (arms["bold"].visitors, arms["bold"].not_found) == (3, 1)
    assert (arms["control"].visitors, arms["control"].not_found) == (1, 1)


def test_bucket_versions_and_each_builds_weights(
    tmp_path: Path, project: Path, experiments: tuple[Experiment, ...]
) -> None:
    edit(
        project / "sites/root/site.yaml",
        "    status: running",
        "    status: running\n    bucket_version: 2",
    )
    current = load_network(project).sites["root"].personalization.experiments
    versions = {
        "old": Version(
            "old",
            T0,
            {
                "hero-test": Configured(
                    "hero-test", (("control", 0.5), ("bold", 0.5)), 1.0, 1, "running"
                )
            },
        ),
        "new": Version(
            "new",
            T0,
            {
                "hero-test": Configured(
                    "hero-test", (("control", 0.8), ("bold", 0.2)), 1.0, 2, "running"
                )
            },
        ),
    }
    events = [
        event("a", 0, variant="hero-test-bold", build="old"),  # before the re-enrolment
        event("b", 0, variant="hero-test-bold", build="new"),
        event("c", 0, variant="hero-test-control", build="new"),
        event("d", 0, variant="hero-test-control", build="unrecorded"),
    ]
    data = data_of(tmp_path, current, events, versions)["hero-test"]
    assert data.stale_exposures == 1 and data.visitors == 3
    assert data.unknown_builds == {"unrecorded"}
    # new: 0.8/0.2 twice; unrecorded: the current config's 0.5/0.5
    assert data.expected == pytest.approx({"control": 2.1, "bold": 0.9})


def test_no_events_is_no_data(tmp_path: Path, experiments: tuple[Experiment, ...]) -> None:
    data = experiment_data(tmp_path / "missing.sqlite", "root", experiments, {})
    assert data["hero-test"].visitors == 0 and data["hero-test"].days == 0.0
