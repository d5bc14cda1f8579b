"""Demo data: a simulated log for the demo network ingests into events and drives the
recommendations of the next build."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result

REPO = Path(__file__).resolve().parent.parent


def test_simulate_ingest_build(tmp_path: Path, sitegen: Callable[..., Result]) -> None:
    project = tmp_path / "demo"
    for folder in ("sites", "content", "themes"):
        shutil.copytree(REPO / folder, project / folder)
    log = tmp_path / "trailhead.log"
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
    assert set(rows) == {"popularity", "covisit", "content", "transitions", "sequential", "hybrid"}
    # the simulated visitors follow shared tags: session models beat popularity
    assert float(rows["hybrid"][0]) > float(rows["popularity"][0])
    empty = sitegen(project, "recommend", "eval", "harbor")
    assert empty.code == 1 and "run sitegen analytics ingest first" in empty.err
