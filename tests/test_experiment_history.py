"""Each build version's experiment configuration is kept, so the statistics judge an
exposure by the weights its visitor was split by."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from generator.experiments import history
from tests.conftest import Result, edit


def test_each_build_version_keeps_its_weights(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    path = project / "build/.sitegen/sites/brand/experiments.json"
    assert sitegen(project, "build").code == 0
    first = history.read(path)
    assert len(first) == 1
    [version] = first.values()
    assert version.experiments["hero-test"].arms == (("control", 0.5), ("bold", 0.5))
    # A content edit is the same version; a weight change is a new one, the old one stays.
    edit(project / "content/articles/alpha.md", "Alpha body", "Alpha body, edited")
    assert sitegen(project, "build").code == 0
    assert history.read(path).keys() == first.keys()
    edit(project / "sites/root/site.yaml", "      control: 0.5", "      control: 0.7")
    edit(project / "sites/root/site.yaml", "        weight: 0.5", "        weight: 0.3")
    assert sitegen(project, "build").code == 0
    versions = history.read(path)
    assert len(versions) == 2 and version.version in versions
    [new] = [v for name, v in versions.items() if name != version.version]
    assert new.experiments["hero-test"].weight("control") == 0.7
    assert versions[version.version].experiments["hero-test"].weight("control") == 0.5
    assert json.loads(path.read_text())["format"] == history.FORMAT
