"""`sitegen experiments report`: offline HTML with accessible, reproducible SVG charts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result
from tests.test_experiment_decide import bold_wins


def test_report_pages(project: Path, sitegen: Callable[..., Result], tmp_path: Path) -> None:
    bold_wins(project, sitegen, tmp_path, "brand")
    out = tmp_path / "report"
    result = sitegen(project, "experiments", "report", "brand", "--out", str(out))
    assert result.code == 0, result.err
    assert "brand: wrote 2 pages" in result.out
    index = (out / "index.html").read_text()
    assert '<a href="hero-test.html">hero-test</a>' in index and "winner (bold)" in index
    page = (out / "hero-test.html").read_text()
    assert "Verdict: winner (bold)." in page
    charts = re.findall(r"<svg[^>]*>", page)
    assert len(charts) == 2 and all('role="img" aria-labelledby=' in svg for svg in charts)
    assert '<title id="cumulative-lift-of-articles-over-time">' in page
    assert re.search(r"<desc>On 2026-\d\d-\d\d: \+\d+\.\d%, interval", page)
    # Offline: nothing fetched from elsewhere (the SVG namespaces are names, not requests).
    assert not re.search(r"""(src|href)=["']https?://""", page)
    again = tmp_path / "again"
    sitegen(project, "experiments", "report", "brand", "--out", str(again))
    assert (again / "hero-test.html").read_text() == page  # reproducible
    assert json.loads(sitegen(project, "experiments", "status", "brand", "--json").out)
