"""`sitegen experiments decide`: the rule's outcome recorded in the site's own site.yaml,
every other line kept; the next build then serves the winner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from generator.config import load_network
from tests.conftest import Result, edit

T0 = 1_780_000_000


def bold_wins(project: Path, sitegen: Callable[..., Result], tmp_path: Path, site: str) -> None:
    """400 visitors per arm over ten days; 40 control and 120 bold visitors reach /articles/."""
    events = []
    for number in range(800):
        arm = "bold" if number % 2 else "control"
        visitor, at = f"v{number}", T0 + number * 1080
        events.append(
            {
                "time": at,
                "type": "view",
                "page": "/",
                "visitor": visitor,
                "session": f"s{number}",
                "variant": f"hero-test-{arm}",
            }
        )
        if (arm == "bold" and number % 40 < 12) or (arm == "control" and number % 40 < 4):
            events.append(
                {
                    "time": at + 30,
                    "type": "goal",
                    "page": "/articles/",
                    "visitor": visitor,
                    "session": f"s{number}",
                    "detail": "hero-test:articles",
                }
            )
    export = tmp_path / "events.jsonl"
    export.write_text("".join(json.dumps(e) + "\n" for e in events))
    assert sitegen(project, "analytics", "ingest", site, "--jsonl", str(export)).code == 0


def test_decide_records_the_winner_and_keeps_the_file(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    root = project / "sites/brand/site.yaml"
    # The experiment written out in the site's own file (it also inherits it from root).
    edit(
        root,
        "menu+:",
        'experiments:\n  hero-test:\n    pages: ["/"]\n    status: running  # since May\n\n'
        "    # the test's goal\n    goals:\n      - page: /articles/\nmenu+:",
    )
    before = root.read_text()
    bold_wins(project, sitegen, tmp_path, "brand")
    dry = sitegen(project, "experiments", "decide", "brand", "--as-of", "2026-06-20")
    assert dry.code == 0, dry.err
    assert "hero-test: concluded, winner bold: articles +200.0%" in dry.out
    assert "-    status: running  # since May\n+    status: concluded  # since May" in dry.out
    assert "(not written" in dry.out and root.read_text() == before
    written = sitegen(project, "experiments", "decide", "brand", "--as-of", "2026-06-20", "--write")
    assert written.code == 0 and "wrote sites/brand/site.yaml" in written.out
    after = root.read_text()
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert removed == ["    status: running  # since May"]  # nothing else changed
    assert "    # the test's goal\n" in after and '    pages: ["/"]\n' in after
    experiment = load_network(project).sites["brand"].personalization.experiments[0]
    assert (experiment.status, experiment.winner) == ("concluded", "bold")
    again = sitegen(project, "experiments", "decide", "brand", "--as-of", "2026-06-21", "--write")
    assert again.code == 0 and "nothing to conclude" in again.out
    assert root.read_text() == after


def test_an_inherited_experiment_is_concluded_in_the_sites_own_file(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    bold_wins(project, sitegen, tmp_path, "brand")
    parent = (project / "sites/root/site.yaml").read_text()
    result = sitegen(project, "experiments", "decide", "brand", "--as-of", "2026-06-20", "--write")
    assert result.code == 0, result.err
    assert (project / "sites/root/site.yaml").read_text() == parent
    own = (project / "sites/brand/site.yaml").read_text()
    assert own.endswith("decision:\n") is False and "experiments:\n  hero-test:\n" in own
    network = load_network(project)
    brand = network.sites["brand"].personalization.experiments[0]
    assert (brand.status, brand.winner) == ("concluded", "bold")
    assert brand.analysis.engine == "sequential" and brand.arms[1].change.partial
    # The parent keeps running it (a child of brand, such as region, inherits the decision).
    assert network.sites["root"].personalization.experiments[0].status == "running"
    # The next build serves the winner on the default page, with no variant left.
    assert sitegen(project, "build", "brand").code == 0
    assert not list((project / "build/brand").glob("_variants/hero-test-*"))
    assert "BOLD HERO" in (project / "build/brand/index.html").read_text()


def test_no_data_concludes_nothing(project: Path, sitegen: Callable[..., Result]) -> None:
    result = sitegen(project, "experiments", "decide", "brand", "--write")
    assert result.code == 0
    assert "hero-test: no-data: no data yet" in result.out and "nothing to conclude" in result.out
