"""`sitegen experiments report SITE --out DIR`: an HTML page per experiment, readable
offline: the status tables, and two charts as static SVG inside the page (matplotlib's SVG
backend, each with a text title and description for screen readers): the cumulative relative
lift of the primary goal with its interval, day by day; exposures per day and arm.

matplotlib rather than hand-drawn SVG: axes, ticks and legends are its job, and its SVG
output can be made reproducible (a fixed hash salt, no date in the metadata).
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import escape

from generator.experiments import stats
from generator.experiments.present import as_text
from generator.experiments.stats import Summary
from generator.experiments.verdict import Status


@dataclass(frozen=True)
class Point:
    day: dt.date
    relative: float | None
    low: float | None
    high: float | None


def lift_over_time(found: Status) -> list[Point]:
    """The primary goal's relative lift of the first treatment arm against control, with
    the data known at the end of each day."""
    primary = found.experiment.analysis.primary
    arms = [name for name in found.data.arms if name != found.control]
    if primary is None or not arms:
        return []
    control, treatment = found.data.arms[found.control], found.data.arms[arms[0]]
    days = sorted(set(control.exposures_per_day) | set(treatment.exposures_per_day))
    if not days:
        return []
    cumulative = {
        name: (_running(arm.exposures_per_day), _running(arm.conversions_per_day.get(primary, {})))
        for name, arm in ((found.control, control), (arms[0], treatment))
    }
    engine = stats.ENGINES[found.experiment.analysis.engine]
    points = []
    least = found.experiment.analysis.min_visitors
    for day in _every_day(days[0], days[-1]):
        a, b = _as_of(cumulative[found.control], day), _as_of(cumulative[arms[0]], day)
        if min(a.n, b.n) < least:
            continue  # the first days' intervals are too wide to show anything
        try:
            comparison = engine(a, b, found.experiment.analysis.alpha)
        except stats.NoData:
            points.append(Point(day, None, None, None))
            continue
        interval = comparison.relative_interval
        points.append(
            Point(
                day,
                comparison.relative,
                interval.low if interval else None,
                interval.high if interval else None,
            )
        )
    return points


def _every_day(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


Running = tuple[list[dt.date], list[int]]


def _running(per_day: dict[dt.date, int]) -> Running:
    """Days in order, and the running total up to each."""
    days = sorted(per_day)
    totals, total = [], 0
    for day in days:
        total += per_day[day]
        totals.append(total)
    return days, totals


def _total(running: Running, day: dt.date) -> int:
    days, totals = running
    position = bisect.bisect_right(days, day)
    return totals[position - 1] if position else 0


def _as_of(arm: tuple[Running, Running], day: dt.date) -> Summary:
    """The arm's visitors and conversions known at the end of `day`."""
    return Summary.conversions(_total(arm[0], day), _total(arm[1], day))


def inline_svg(figure: object, title: str, description: str) -> str:
    """The figure as an inline <svg> with an accessible name and description."""
    from matplotlib.figure import Figure

    assert isinstance(figure, Figure)
    stream = io.StringIO()
    figure.savefig(stream, format="svg", metadata={"Date": None, "Creator": None})
    text = stream.getvalue()
    text = text[text.index("<svg") :]
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    heading = f'<title id="{name}">{escape(title)}</title><desc>{escape(description)}</desc>'
    return re.sub(
        r"(<svg[^>]*)>",
        lambda match: f'{match[1]} role="img" aria-labelledby="{name}">{heading}',
        text,
        count=1,
    )


def lift_chart(found: Status, points: list[Point]) -> str:
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "sitegen"
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3))
    axes = figure.subplots()
    shown = [p for p in points if p.relative is not None]
    days = np.array([p.day for p in shown], dtype="datetime64[D]")
    axes.axhline(0, color="#888", linewidth=0.8)
    if shown:
        lift = np.array([p.relative for p in shown], dtype=float)
        low = np.array([p.low if p.low is not None else np.nan for p in shown], dtype=float)
        high = np.array([p.high if p.high is not None else np.nan for p in shown], dtype=float)
        axes.fill_between(days, low, high, color="#9ecae1", label="interval")
        axes.plot(days, lift, color="#08519c", label="relative lift")
        axes.legend(loc="upper left", fontsize="small")
    axes.set_ylabel("relative lift")
    axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    figure.autofmt_xdate()
    figure.tight_layout()
    last = shown[-1] if shown else None
    description = (
        f"On {last.day.isoformat()}: {last.relative:+.1%}"
        + (f", interval {last.low:+.1%} to {last.high:+.1%}" if last.low is not None else "")
        if last is not None and last.relative is not None
        else "No lift measured yet."
    )
    return inline_svg(
        figure,
        f"Cumulative lift of {found.experiment.analysis.primary} over time",
        description,
    )


def exposures_chart(found: Status) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 2.6))
    axes = figure.subplots()
    summary = []
    for name, arm in found.data.arms.items():
        per_day = arm.exposures_per_day
        days = sorted(per_day)
        axes.plot(
            np.array(days, dtype="datetime64[D]"),
            np.array([per_day[day] for day in days]),
            marker=".",
            label=name,
        )
        summary.append(f"{name}: {arm.visitors} visitors over {len(days)} days")
    axes.set_ylabel("first exposures")
    axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    return inline_svg(figure, "Exposures per day and arm", "; ".join(summary))


PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ id }}: experiment report</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
pre{overflow-x:auto;background:#f6f6f6;padding:1rem}figure{margin:1.5rem 0}
svg{max-width:100%;height:auto}</style></head>
<body><h1>{{ id }}</h1>
<p><strong>Verdict: {{ verdict }}{% if winner %} ({{ winner }}){% endif %}.</strong>
{{ reason }}</p>
<figure>{{ lift | safe }}<figcaption>Cumulative lift of the primary goal.</figcaption></figure>
<figure>{{ exposures | safe }}<figcaption>First exposures per day.</figcaption></figure>
<h2>Figures</h2><pre>{{ text }}</pre>
<p><a href="index.html">All experiments</a></p></body></html>
"""
)

INDEX = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ site }}: experiments</title></head>
<body><h1>Experiments of {{ site }}</h1>
{% if rows %}<table><thead><tr><th>experiment</th><th>status</th><th>visitors</th>
<th>verdict</th></tr></thead><tbody>
{% for row in rows %}<tr><td><a href="{{ row.id }}.html">{{ row.id }}</a></td>
<td>{{ row.status }}</td><td>{{ row.visitors }}</td><td>{{ row.verdict }}</td></tr>
{% endfor %}</tbody></table>{% else %}<p>No experiment is running, stopped or concluded.</p>
{% endif %}</body></html>
"""
)


def write_report(site: str, statuses: list[Status], folder: Path) -> list[Path]:
    """index.html and one page per experiment; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for found in statuses:
        path = folder / f"{found.experiment.id}.html"
        path.write_text(
            PAGE.render(
                id=found.experiment.id,
                verdict=found.verdict,
                winner=found.winner,
                reason=found.reason,
                lift=lift_chart(found, lift_over_time(found)),
                exposures=exposures_chart(found),
                text=as_text(found),
            ),
            encoding="utf-8",
        )
        written.append(path)
    index = folder / "index.html"
    index.write_text(
        INDEX.render(
            site=site,
            rows=[
                {
                    "id": found.experiment.id,
                    "status": found.experiment.status,
                    "visitors": found.data.visitors,
                    "verdict": found.verdict + (f" ({found.winner})" if found.winner else ""),
                }
                for found in statuses
            ],
        ),
        encoding="utf-8",
    )
    return [index, *written]
