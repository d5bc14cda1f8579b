"""The build as data: a list of named stages that can be extended by name."""

from __future__ import annotations

import pytest

from generator.pipeline.build import STAGES
from generator.pipeline.stages import StageList


def test_stages_run_in_order_and_insert_by_name() -> None:
    stages = StageList[str]([("a", lambda s: s + "a"), ("c", lambda s: s + "c")])
    stages.insert_after("a", "b", lambda s: s + "b")
    stages.insert_before("a", "start", lambda s: s + ">")
    stages.push("end", lambda s: s + ".")
    assert stages.names == ["start", "a", "b", "c", "end"]
    assert stages.run("") == ">abc."
    with pytest.raises(KeyError, match="no stage named 'x' \\(stages: start, a, b, c, end\\)"):
        stages.insert_after("x", "y", lambda s: s)
    with pytest.raises(ValueError, match="a stage named 'b' exists already"):
        stages.push("b", lambda s: s)


def test_the_build_stages_are_the_documented_ones() -> None:
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs/architecture.md").read_text()
    assert " -> ".join(STAGES.names) in text
