"""The site comparison: every site on the same measures, per 1,000 visitors, each tested
against the rest of the network, differences marked only where they are meaningful.

Counts per visitor (views, visits, goals, 404s) are compared by Welch's t-test on the
per-visitor sums and sums of squares; rates (bounce, conversion) by a chi-squared test of
the 2x2 table (scipy). The p-values of the whole table are adjusted together with
Benjamini-Hochberg (`scipy.stats.false_discovery_control`): a cell is marked higher or lower
only when its adjusted p-value is under `ALPHA`. Pages per visit is shown, not tested (it
is a ratio of two of the tested measures).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from generator.report.data import ReportData, Totals

ALPHA = 0.05
PER_VISITOR = (
    ("views", "page views per 1,000 visitors"),
    ("visits", "visits per 1,000 visitors"),
    ("goals", "goal conversions per 1,000 visitors"),
    ("not_found", "404 views per 1,000 visitors"),
)
RATES = (
    ("bounce", "bounce rate"),
    ("conversion", "visitors converting"),
)


@dataclass(frozen=True)
class Cell:
    value: float | None
    mark: str = ""
    """'higher', 'lower' or '' (no meaningful difference, or not tested)."""
    p: float | None = None
    """The adjusted p-value (None: not tested)."""


def _rate(totals: Totals, measure: str) -> tuple[int, int]:
    if measure == "bounce":
        return totals.bounces, totals.visits
    return totals.converted, totals.visitors


def compare(data: ReportData) -> tuple[list[str], dict[str, list[Cell]]]:
    """The measures' names, and per site its cells in that order (None: suppressed)."""
    from scipy import stats

    names = [label for _, label in PER_VISITOR] + [label for _, label in RATES]
    names.append("pages per visit")
    tests: list[tuple[str, int, float]] = []  # (site, column, p)
    cells: dict[str, list[Cell]] = {}
    shown = [s for s in data.sites if data.totals[s].visitors >= data.k]
    for site in data.sites:
        own = data.totals[site]
        if own.visitors < data.k:
            cells[site] = [Cell(None)] * len(names)
            continue
        rest = [data.totals[other] for other in shown if other != site]
        row: list[Cell] = []
        for column, (measure, _) in enumerate(PER_VISITOR):
            total, squares = own.sums.get(measure, (0.0, 0.0))
            row.append(Cell(1000 * total / own.visitors))
            others = sum(r.visitors for r in rest)
            if others >= data.k and own.visitors > 1 and others > 1:
                rest_total = sum(r.sums.get(measure, (0.0, 0.0))[0] for r in rest)
                rest_squares = sum(r.sums.get(measure, (0.0, 0.0))[1] for r in rest)
                p = _welch(own.visitors, total, squares, others, rest_total, rest_squares, stats)
                if p is not None:
                    tests.append((site, column, p))
        for offset, (measure, _) in enumerate(RATES):
            hits, of = _rate(own, measure)
            row.append(Cell(hits / of if of else None))
            rest_hits = sum(_rate(r, measure)[0] for r in rest)
            rest_of = sum(_rate(r, measure)[1] for r in rest)
            if of and rest_of and 0 < hits + rest_hits < of + rest_of:
                table = [[hits, of - hits], [rest_hits, rest_of - rest_hits]]
                p = float(stats.chi2_contingency(table).pvalue)
                tests.append((site, len(PER_VISITOR) + offset, p))
        row.append(Cell(own.pages_per_visit))
        cells[site] = row
    if tests:
        adjusted = stats.false_discovery_control([p for _, _, p in tests], method="bh")
        for (site, column, _), p in zip(tests, adjusted, strict=True):
            value = cells[site][column].value
            mark = ""
            if p < ALPHA and value is not None:
                mark = "higher" if value > _rest_value(data, site, column) else "lower"
            cells[site][column] = Cell(value, mark, float(p))
    return names, cells


def _welch(
    n1: int, sum1: float, squares1: float, n2: int, sum2: float, squares2: float, stats: object
) -> float | None:
    mean1, mean2 = sum1 / n1, sum2 / n2
    var1 = max(0.0, (squares1 - n1 * mean1 * mean1) / (n1 - 1))
    var2 = max(0.0, (squares2 - n2 * mean2 * mean2) / (n2 - 1))
    if var1 == 0 and var2 == 0:
        return None
    result = stats.ttest_ind_from_stats(  # type: ignore[attr-defined]
        mean1, math.sqrt(var1), n1, mean2, math.sqrt(var2), n2, equal_var=False
    )
    return float(result.pvalue)


def _rest_value(data: ReportData, site: str, column: int) -> float:
    rest = [data.totals[s] for s in data.sites if s != site and data.totals[s].visitors >= data.k]
    if column < len(PER_VISITOR):
        measure = PER_VISITOR[column][0]
        visitors = sum(r.visitors for r in rest)
        return 1000 * sum(r.sums.get(measure, (0.0, 0.0))[0] for r in rest) / max(1, visitors)
    measure = RATES[column - len(PER_VISITOR)][0]
    hits = sum(_rate(r, measure)[0] for r in rest)
    return hits / max(1, sum(_rate(r, measure)[1] for r in rest))
