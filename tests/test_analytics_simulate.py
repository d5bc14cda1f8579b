"""Demo data: a simulated log for the demo network ingests into events and drives the
recommendations of the next build."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result, demo_copy


def test_simulate_ingest_build(tmp_path: Path, sitegen: Callable[..., Result]) -> None:
    project = demo_copy(tmp_path / "demo")
    log = tmp_path / "trailhead.log"
    # The visitors walk the built site: what they send comes from its pages.
    assert sitegen(project, "build", "trailhead").code == 0
    result = sitegen(
        project,
        "analytics",
        "simulate",
        "trailhead",
        "--output",
        str(log),
        "--visitors",
        "150",
        "--seed",
        "7",
    )
    assert result.code == 0, result.err
    text = log.read_text()
    again = tmp_path / "again.log"
    sitegen(
        project,
        "analytics",
        "simulate",
        "trailhead",
        "--output",
        str(again),
        "--visitors",
        "150",
        "--seed",
        "7",
    )
    assert again.read_text() == text  # deterministic
    assert "utm_source=newsletter" in text and "Googlebot" in text and '"HEAD ' in text
    assert "v=repair-cta-" in text and "e=goal" in text
    # As the runtime sends them: encoded fields, the page's build version, the browser's
    # clock; goals and clicks by sendBeacon (POST), with '<experiment>:<goal id>'.
    build = json.loads(
        re.search(
            r'id="sitegen-config">(.*?)</script>',
            (project / "build/trailhead/index.html").read_text(),
        )[1]  # type: ignore[index]
    )["page"]["build"]
    pixels = [entry for entry in text.splitlines() if "/_sg/p.gif?" in entry]
    assert pixels and all(f"&b={build}&" in entry for entry in pixels)
    assert all(re.search(r"&t=\d{13}(&m=\w+)? HTTP", entry) for entry in pixels)
    assert any("&m=newsletter HTTP" in entry for entry in pixels)  # a view's campaign
    assert all("p=%2F" in entry for entry in pixels)
    goals = [entry for entry in pixels if "e=goal" in entry or "e=click" in entry]
    assert goals and all('"POST /_sg/p.gif' in entry for entry in goals)
    assert any("x=repair-cta%3Acare&" in entry for entry in goals)
    clicks = [entry for entry in goals if "e=click" in entry]
    # The clicked element is only in the repair arm's call to action.
    assert clicks and all("v=repair-cta-repair" in entry for entry in clicks)
    assert all("x=repair-cta%3Acta-repair-a&" in entry for entry in clicks)
    ingested = sitegen(project, "analytics", "ingest", "trailhead", "--access-log", str(log))
    assert ingested.code == 0
    assert " 3 malformed" in ingested.out and "bots" in ingested.out
    assert sitegen(project, "build", "trailhead").code == 0
    related = json.loads(
        (project / "build/trailhead/_sg/rec/guides/hiking/layering.json").read_text()
    )
    assert len(related["related"]) == 5 and related["next"]
    evaluation = sitegen(project, "recommend", "eval", "trailhead")
    assert evaluation.code == 0, evaluation.err
    rows = {line.split()[0]: line.split()[1:] for line in evaluation.out.splitlines()[2:]}
    assert set(rows) == {
        "popularity",
        "covisit",
        "content",
        "transitions",
        "sequential",
        "vsknn",
        "stan",
        "hybrid",
    }
    # the simulated visitors follow shared tags: session models beat popularity (HR@10,
    # after the count of events)
    assert float(rows["hybrid"][1]) > float(rows["popularity"][1])
    empty = sitegen(project, "recommend", "eval", "harbor")
    assert empty.code == 1 and "run sitegen analytics ingest first" in empty.err


def test_simulate_refuses_what_it_cannot_do(
    tmp_path: Path, project: Path, sitegen: Callable[..., Result]
) -> None:
    log = str(tmp_path / "x.log")
    unbuilt = sitegen(project, "analytics", "simulate", "brand", "--output", log)
    assert unbuilt.code == 1 and "run sitegen build first" in unbuilt.err
    wrong_arm = sitegen(
        project, "analytics", "simulate", "brand", "--output", log, "--lift", "hero-test:blod=0.2"
    )
    assert wrong_arm.code == 1
    assert "experiment 'hero-test' has no arm 'blod' (did you mean 'bold'?)" in wrong_arm.err
    malformed = sitegen(
        project, "analytics", "simulate", "brand", "--output", log, "--lift", "hero-test=0.2"
    )
    assert malformed.code == 1 and "expected EXPERIMENT:ARM=RELATIVE" in malformed.err
