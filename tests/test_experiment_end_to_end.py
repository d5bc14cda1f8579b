"""End to end on the demo network: a simulated log with a true lift on one arm, ingested;
`decide --write` concludes that arm; the next build has no losing variant; real Apache serves
the winner to a visitor holding the loser's cookie."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from generator.config import load_network
from tests.apache import apache, fetch
from tests.conftest import Result, demo_copy

GUIDE = "/guides/hiking/layering/"


@pytest.mark.parametrize(("lifted", "loser"), [("repair", "control"), ("control", "repair")])
def test_the_lifted_arm_wins_and_is_served_to_everyone(
    tmp_path: Path,
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    lifted: str,
    loser: str,
) -> None:
    project = demo_copy(tmp_path / "demo")
    monkeypatch.setenv("SITEGEN_USER", "tom")  # Trailhead's editor: may decide there
    assert sitegen(project, "build", "trailhead").code == 0
    log = tmp_path / "access.log"
    simulated = sitegen(
        project,
        "analytics",
        "simulate",
        "trailhead",
        "--output",
        str(log),
        "--visitors",
        "3000",
        "--lift",
        f"repair-cta:{lifted}=1.0",
    )
    assert simulated.code == 0, simulated.err
    assert sitegen(project, "analytics", "ingest", "trailhead", "--access-log", str(log)).code == 0
    decided = sitegen(
        project, "experiments", "decide", "trailhead", "--write", "--as-of", "2026-07-01"
    )
    assert decided.code == 0, decided.err
    assert f"repair-cta: concluded, winner {lifted}: " in decided.out, decided.out
    experiment = load_network(project).sites["trailhead"].personalization.experiments[0]
    assert (experiment.status, experiment.winner) == ("concluded", lifted)

    built = sitegen(project, "build", "trailhead")
    assert built.code == 0, built.err
    site = project / "build/trailhead"
    assert not list(site.glob("_variants/repair-cta-*")), "a losing variant is still published"
    page = (site / GUIDE.strip("/") / "index.html").read_bytes()
    assert (b"cta-repair" in page) == (lifted == "repair")
    with apache(site) as base:
        served = fetch(base + GUIDE, cookie=f"sg_id=abc; sg_x_repair-cta=1.{loser}")
        assert served.status == 200 and served.body == page
