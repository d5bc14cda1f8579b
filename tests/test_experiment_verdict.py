"""The verdicts of the pre-registered rule, on constructed data: each step of the rule, each
engine, and the command that prints them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from generator.config import load_network
from generator.config.personalization import Experiment, Guardrail
from generator.experiments.exposure import ArmData, ExperimentData
from generator.experiments.verdict import status
from tests.conftest import Result, edit

TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def experiment(project: Path) -> Experiment:
    return load_network(project).sites["root"].personalization.experiments[0]


def data(
    experiment: Experiment,
    control: tuple[int, int],
    bold: tuple[int, int],
    days: float = 14,
    bounces: tuple[int, int] = (0, 0),
    **analysis: object,
) -> ExperimentData:
    """hero-test with (visitors, conversions of 'articles') per arm."""
    arms = {
        "control": ArmData("control", control[0], {"articles": control[1]}, bounces=bounces[0]),
        "bold": ArmData("bold", bold[0], {"articles": bold[1]}, bounces=bounces[1]),
    }
    for arm in arms.values():
        arm.pages = arm.pages_squared = arm.visitors
    total = control[0] + bold[0]
    tuned = replace(experiment, analysis=replace(experiment.analysis, **analysis))  # type: ignore[arg-type]
    return ExperimentData(
        tuned,
        arms,
        expected={"control": total / 2, "bold": total / 2},
        first_exposure=0.0,
        last_event=days * 86400,
    )


def test_each_step_of_the_rule(experiment: Experiment) -> None:
    assert status(data(experiment, (0, 0), (0, 0)), TODAY).verdict == "no-data"
    mismatch = status(data(experiment, (9600, 500), (10400, 900)), TODAY)
    assert mismatch.verdict == "blocked" and "sample ratio mismatch" in mismatch.reason
    few = status(data(experiment, (90, 30), (95, 40)), TODAY)
    assert few.verdict == "collecting" and "not yet: control, bold" in few.reason
    short = status(data(experiment, (2000, 100), (2000, 200), days=3), TODAY)
    assert short.verdict == "collecting" and "3.0 of at least 7 days" in short.reason
    won = status(data(experiment, (5000, 250), (5000, 400)), TODAY)
    assert (won.verdict, won.winner) == ("winner", "bold"), won.reason
    assert "articles +60.0%" in won.reason
    lost = status(data(experiment, (5000, 400), (5000, 250)), TODAY)
    assert (lost.verdict, lost.winner) == ("control", "control")
    even = status(data(experiment, (5000, 250), (5000, 260)), TODAY)
    assert even.verdict == "keep-running" and "no significant difference yet" in even.reason


def test_deadline_keeps_control(experiment: Experiment) -> None:
    deadline = dt.date(2026, 5, 1)
    past = status(data(experiment, (5000, 250), (5000, 260), deadline=deadline), TODAY)
    assert (past.verdict, past.winner) == ("control", "control")
    assert "no result by the deadline 2026-05-01" in past.reason
    running = status(
        data(experiment, (5000, 250), (5000, 260), deadline=deadline, on_deadline="keep-running"),
        TODAY,
    )
    assert running.verdict == "keep-running"


def test_guardrail_blocks_a_winner(experiment: Experiment) -> None:
    guarded = data(
        experiment,
        (5000, 250),
        (5000, 400),
        bounces=(1000, 1400),
        guardrails=(Guardrail("bounce", 0.05),),
    )
    found = status(guarded, TODAY)
    assert (
        found.verdict == "blocked" and "guardrail bounce is worse by more than 5%" in found.reason
    )
    tolerated = replace(guarded.experiment.analysis, guardrails=(Guardrail("bounce", 0.6),))
    guarded.experiment = replace(guarded.experiment, analysis=tolerated)
    assert status(guarded, TODAY).winner == "bold"


def test_frequentist_waits_for_its_planned_sample(experiment: Experiment) -> None:
    early = status(data(experiment, (3000, 150), (3000, 230), engine="frequentist", mde=0.1), TODAY)
    assert early.verdict == "collecting" and "fixed-horizon test is read once" in early.reason
    planned = status(
        data(experiment, (3000, 150), (3000, 230), engine="frequentist", mde=0.5), TODAY
    )
    assert planned.winner == "bold", planned.reason


def test_bayesian_needs_chance_and_small_loss(experiment: Experiment) -> None:
    clear = status(data(experiment, (5000, 250), (5000, 330), engine="bayesian"), TODAY)
    assert clear.winner == "bold" and "chance to beat control" in clear.reason
    unsure = status(data(experiment, (5000, 250), (5000, 262), engine="bayesian"), TODAY)
    assert unsure.verdict == "keep-running"
    strict = status(
        data(experiment, (5000, 250), (5000, 330), engine="bayesian", max_loss=1e-9), TODAY
    )
    assert strict.verdict == "keep-running"


def test_status_command(project: Path, sitegen: Callable[..., Result], tmp_path: Path) -> None:
    events = [
        {
            "time": 1_780_000_000 + i * 600,
            "type": "view",
            "page": "/",
            "visitor": f"v{i}",
            "session": f"s{i}",
            "variant": f"hero-test-{'bold' if i % 2 else 'control'}",
        }
        for i in range(40)
    ]
    export = tmp_path / "events.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    text = sitegen(project, "experiments", "status", "brand", "--as-of", "2026-06-01")
    assert text.code == 0, text.err
    assert "hero-test (running; sequential, alpha 0.05; 40 visitors" in text.out
    assert "sample ratio: 20 / 20 against 20 / 20 expected: p = 1 ok" in text.out
    assert "verdict: collecting" in text.out
    found = json.loads(sitegen(project, "experiments", "status", "brand", "--json").out)
    assert found[0]["arms"]["bold"]["visitors"] == 20 and found[0]["verdict"] == "collecting"
    empty = sitegen(project, "experiments", "status", "other")
    assert empty.code == 0 and "no experiment is running" in empty.out
    bad = sitegen(project, "experiments", "plan", "--baseline", "2", "--mde", "0.1")
    assert bad.code == 2 and "is not a rate between 0 and 1" in bad.err


def test_a_sample_ratio_mismatch_is_printed_by_every_build(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    events = [
        {
            "time": 1_780_000_000 + i * 60,
            "type": "view",
            "page": "/",
            "visitor": f"v{i}",
            "session": f"s{i}",
            "variant": f"hero-test-{'bold' if i % 3 else 'control'}",  # 2:1, weights 1:1
        }
        for i in range(600)
    ]
    export = tmp_path / "events.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    for _ in range(2):  # the build after the ingest, then a no-op build
        built = sitegen(project, "build", "brand")
        assert built.code == 0
        assert "warning: brand: experiment hero-test: sample ratio mismatch (p = " in built.err
        assert "control 200 / bold 400 visitors against 300 / 300 expected" in built.err
    status = sitegen(project, "experiments", "status", "brand")
    assert "MISMATCH" in status.out and "verdict: blocked: sample ratio mismatch" in status.out


def test_alarms_are_computed_again_only_when_the_events_change(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.experiments import alarms

    computed: list[str] = []
    real = alarms._compute

    def counting(*arguments: Any) -> list[str]:
        computed.append("once")
        return real(*arguments)

    monkeypatch.setattr(alarms, "_compute", counting)
    export = tmp_path / "events.jsonl"
    export.write_text(
        json.dumps(
            {
                "time": 1_780_000_000,
                "type": "view",
                "page": "/",
                "visitor": "v",
                "variant": "hero-test-bold",
            }
        )
        + "\n"
    )
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    assert sitegen(project, "build", "brand").code == 0
    # The first build recorded its version's weights: an input of the alarms.
    edit(project / "content/articles/alpha.md", "Alpha body", "Alpha body, edited")
    assert sitegen(project, "build", "brand").code == 0
    assert len(computed) == 2
    edit(project / "content/articles/alpha.md", "edited", "edited again")
    assert sitegen(project, "build", "brand").code == 0  # a build with work, same events
    assert len(computed) == 2


def test_status_migrates_an_older_events_store(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    import sqlite3

    export = tmp_path / "events.jsonl"
    export.write_text(
        "".join(
            json.dumps(
                {
                    "time": 1_780_000_000 + i,
                    "type": "view",
                    "page": "/",
                    "visitor": f"v{i}",
                    "variant": "hero-test-bold",
                }
            )
            + "\n"
            for i in range(3)
        )
    )
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    store = project / "build/.sitegen/events.sqlite"
    with sqlite3.connect(store) as connection:  # as schema 2 left it
        for column in ("client_ms", "referrer", "utm", "device"):
            connection.execute(f"ALTER TABLE events DROP COLUMN {column}")
        connection.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    found = json.loads(sitegen(project, "experiments", "status", "brand", "--json").out)
    assert found[0]["arms"]["bold"]["visitors"] == 3


def test_a_winner_that_sends_more_visitors_to_the_404_page_is_blocked(
    experiment: Experiment,
) -> None:
    guarded = data(experiment, (5000, 250), (5000, 400), guardrails=(Guardrail("not-found", 0.1),))
    guarded.arms["control"].not_found, guarded.arms["bold"].not_found = 100, 200
    found = status(guarded, TODAY)
    assert found.verdict == "blocked"
    assert "guardrail not-found is worse by more than 10%" in found.reason
    # Fewer 404s is better, never a reason to block.
    guarded.arms["control"].not_found, guarded.arms["bold"].not_found = 200, 100
    assert status(guarded, TODAY).winner == "bold"
