"""`sitegen report`: the network report as static HTML, readable offline.

`index.html` (the network: overview, site comparison, shared content, audiences, paths
between sites, experiments) and `site-<name>.html` per site (its overview, top pages, entry
and exit pages, referrers, campaigns, devices, recommendations). Charts are matplotlib SVG
inside the page, each with a text title and description (the experiments report's helper);
every table is also written as `data/<page>-<table>.csv` and `.json`. Tables are sortable by
a small inline script, and readable and in a meaningful order without it. Nothing is loaded
from anywhere: no fonts, scripts or images from outside the page.

The report is written into a temporary folder next to `--out` and renamed into place at the
end: a report that failed half-way is never left looking complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup, escape

from generator.errors import SitegenError
from generator.experiments.report import inline_svg
from generator.report.compare import compare
from generator.report.data import ReportData, Table

ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
STYLE = """
body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem}
a{color:#0645ad}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
th button{font:inherit;font-weight:bold;background:none;border:0;padding:0;color:inherit;
cursor:pointer}
.higher{background:#d8f0d8}.lower{background:#f6dcdc}
.note{color:#444}
svg{max-width:100%;height:auto}
"""
SORT = """
document.querySelectorAll("table.sortable thead th").forEach(function (th) {
  var label = th.textContent, button = document.createElement("button");
  if (!label.trim()) return;
  button.textContent = label; th.textContent = ""; th.appendChild(button);
  button.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var down = th.getAttribute("aria-sort") !== "descending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[index].dataset.value, y = b.cells[index].dataset.value;
      if (x === undefined) x = a.cells[index].textContent.trim();
      if (y === undefined) y = b.cells[index].textContent.trim();
      if (x === "" || y === "") return (x === "") - (y === "");  // suppressed cells last
      var nx = parseFloat(x), ny = parseFloat(y);
      var order = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
      return down ? -order : order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""
TABLE = ENVIRONMENT.from_string(
    """
<h3 id="{{ id }}">{{ table.title }}</h3>
{% if table.note %}<p class="note">{{ table.note }}</p>{% endif %}
{% if table.rows %}
<table class="sortable"><caption class="note">{{ table.title }}{% if table.suppressed %}
({{ table.suppressed }} rows resting on fewer than {{ k }} visitors left out){% endif %};
data: <a href="data/{{ id }}.csv">CSV</a>, <a href="data/{{ id }}.json">JSON</a></caption>
<thead><tr>{% for column in table.columns %}<th scope="col">{{ column }}</th>{% endfor %}
</tr></thead><tbody>
{% for row in table.rows %}<tr>{% for cell in row %}{% if loop.first %}<th scope="row">{{ cell }}
</th>{% else %}<td data-value="{{ '' if cell is none else cell }}">{{ '' if cell is none else cell
}}</td>{% endif %}{% endfor %}</tr>
{% endfor %}</tbody></table>
{% else %}<p>Nothing to show{% if table.suppressed %} ({{ table.suppressed }} rows resting on
fewer than {{ k }} visitors left out){% endif %}.</p>{% endif %}
"""
)
PAGE = ENVIRONMENT.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title><style>{{ style }}</style></head>
<body><header><p>sitegen network report, {{ data.start }} to {{ data.end }}</p>
<h1>{{ title }}</h1>
<nav aria-label="Report pages"><ul><li><a href="index.html">Network</a></li>
{% for site in data.sites %}<li><a href="site-{{ site }}.html">{{ site }}</a></li>{% endfor %}
</ul></nav></header>
<main>{{ body }}</main>
<footer><p class="note">Cells resting on fewer than {{ data.k }} visitors are suppressed here
and in the data files. No IP address is stored.</p></footer>
<script>{{ sort }}</script></body></html>
"""
)


@dataclass(frozen=True)
class Written:
    folder: Path
    pages: int
    data_files: int


def _table(table: Table, id: str, k: int) -> str:
    return TABLE.render(table=table, id=id, k=k)


def _overview(data: ReportData) -> Table:
    rows: list[list[Any]] = []
    for name, totals in [("network", data.network), *data.totals.items()]:
        if totals.visitors < data.k:
            rows.append([name] + [None] * 7)
            continue
        rows.append(
            [
                name,
                totals.visitors,
                totals.visits,
                totals.views,
                round(totals.pages_per_visit or 0, 2),
                round(totals.bounce_rate or 0, 3),
                totals.goals,
                totals.not_found,
            ]
        )
    return Table(
        "overview",
        "Overview",
        [
            "site",
            "visitors",
            "visits",
            "page views",
            "pages per visit",
            "bounce rate",
            "goals",
            "404s",
        ],
        rows,
        note="A visitor seen on two sites counts once for the network only when the sites "
        "share visitor ids.",
    )


def _bots(data: ReportData) -> Table:
    rows = [
        [site, bots, lines, round(bots / lines, 3) if lines else None]
        for site, (bots, lines) in sorted(data.bots.items())
    ]
    return Table(
        "bots",
        "Bots",
        ["site", "bot lines", "log lines", "share"],
        rows,
        note="Crawlers, feed readers and HEAD requests are dropped when a log is ingested, so "
        "they are counted per ingest, over all dates.",
    )


def _days(data: ReportData, site: str) -> Table:
    rows = [[day.isoformat(), *values] for day, values in sorted(data.days.get(site, {}).items())]
    return Table("days", "Per day", ["day", "visitors", "visits", "page views"], rows)


def _weeks(data: ReportData, site: str) -> Table:
    weeks: dict[str, list[int]] = {}
    for day, (visitors, visits, views) in sorted(data.days.get(site, {}).items()):
        if visitors is None:
            continue
        year, week, _ = day.isocalendar()
        counts = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        counts[0] += visits or 0
        counts[1] += views or 0
    return Table(
        "weeks",
        "Per week",
        ["week", "visits", "page views"],
        [[week, *counts] for week, counts in weeks.items()],
        note="Days resting on fewer visitors than the threshold are left out of their week.",
    )


def _chart(data: ReportData, sites: list[str], title: str) -> str:
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "sitegen"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: smaller, faster, selectable
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3))
    axes = figure.subplots()
    summary = []
    for site in sites:
        days = sorted(d for d, v in data.days.get(site, {}).items() if v[0] is not None)
        if not days:
            continue
        views = [data.days[site][d][2] for d in days]
        axes.plot(
            np.array(days, dtype="datetime64[D]"),
            np.array(views),
            marker=".",
            label=site or "network",
        )
        summary.append(
            f"{site or 'network'}: {sum(v or 0 for v in views)} page views over "
            f"{len(days)} days, at most {max(v or 0 for v in views)} a day"
        )
    axes.set_ylabel("page views per day")
    if summary:
        axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    figure.subplots_adjust(left=0.09, right=0.98, top=0.96, bottom=0.22)  # no tight_layout:
    # it measures every text element, a fifth of a second per chart
    return inline_svg(figure, title, "; ".join(summary) or "No day with enough visitors.")


def _comparison(data: ReportData) -> tuple[Table, str]:
    names, cells = compare(data)
    rows = [
        [site] + [None if c.value is None else round(c.value, 3) for c in cells[site]]
        for site in data.sites
    ]
    table = Table(
        "comparison",
        "Site comparison",
        ["site", *names],
        rows,
        note="Each site against the rest of the network. Marked cells differ meaningfully "
        "(Welch's t-test for counts per visitor, chi-squared for rates; Benjamini-Hochberg "
        "adjusted p < 0.05); unmarked ones do not, however different they look.",
    )
    body = [f'<h2 id="comparison">{table.title}</h2><p class="note">{table.note}</p>']
    body.append(
        '<table class="sortable"><caption class="note">Per 1,000 visitors unless a rate; '
        'data: <a href="data/index-comparison.csv">CSV</a>, '
        '<a href="data/index-comparison.json">JSON</a></caption><thead><tr>'
    )
    body += [f'<th scope="col">{escape(n)}</th>' for n in table.columns]
    body.append("</tr></thead><tbody>")
    for site in data.sites:
        body.append(f'<tr><th scope="row">{escape(site)}</th>')
        for cell in cells[site]:
            if cell.value is None:
                body.append('<td data-value="">suppressed</td>')
                continue
            label = f" ({cell.mark}, p = {cell.p:.3g})" if cell.mark else ""
            shown = f"{cell.value:,.0f}" if abs(cell.value) >= 100 else f"{cell.value:.3g}"
            body.append(
                f'<td data-value="{cell.value:.6g}" class="{cell.mark}">{shown}{escape(label)}</td>'
            )
        body.append("</tr>")
    body.append("</tbody></table>")
    for site, row in zip(data.sites, table.rows, strict=True):
        row += [cells[site][i].mark for i in range(len(names))]
    table.columns += [f"{name}: difference" for name in names]
    return table, "".join(body)


def _export(folder: Path, id: str, table: Table) -> int:
    with open(folder / f"{id}.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(table.columns)
        writer.writerows([["" if c is None else c for c in row] for row in table.rows])
    document = {
        "title": table.title,
        "columns": table.columns,
        "rows": table.rows,
        "suppressed_rows": table.suppressed,
    }
    (folder / f"{id}.json").write_text(json.dumps(document, indent=1, default=str) + "\n")
    return 2


def write(
    data: ReportData,
    out: Path,
    shared_note: str,
    experiments: Callable[[Path], dict[str, list[tuple[str, str]]]],
) -> Written:
    """Write the report into `out` (a new or empty folder). `experiments` writes the sites'
    experiment pages into the folder it is given and returns, per site, each experiment's
    id and page (relative to that folder's <site>/)."""
    check_out(out)
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    files = 0
    try:
        (staging / "data").mkdir(parents=True)
        experiment_pages = experiments(staging / "experiments")
        pages = 0
        index_tables: list[tuple[str, Table]] = [("overview", _overview(data))]
        chart = _chart(data, ["", *data.sites], "Page views per day")
        body = [f'<h2 id="network">The network</h2>{chart}']
        body.append(_table(index_tables[0][1], "index-overview", data.k))
        for name, table in (
            ("days", _days(data, "")),
            ("weeks", _weeks(data, "")),
            ("bots", _bots(data)),
        ):
            index_tables.append((name, table))
            body.append(_table(table, f"index-{name}", data.k))
        comparison, html = _comparison(data)
        index_tables.append(("comparison", comparison))
        body.append(html)
        body.append('<h2 id="content">Shared content</h2>')
        shared = data.tables[""]["shared"]
        index_tables.append(("shared", shared))
        body.append(_table(shared, "index-shared", data.k))
        body.append(f'<h2 id="audiences">Shared audiences</h2><p>{escape(shared_note)}</p>')
        for audience in (data.segments, data.overlaps, data.crossings):
            if audience is not None:
                index_tables.append((audience.name, audience))
                body.append(_table(audience, f"index-{audience.name}", data.k))
        if data.shared_visitors:
            body.append(f"<p>{data.shared_visitors} visitors were seen on several sites.</p>")
        body.append('<h2 id="experiments">Experiments</h2>')
        listed = [
            f'<li><a href="experiments/{escape(site)}/{escape(page)}">'
            f"{escape(site)}: {escape(key)}</a></li>"
            for site, found in sorted(experiment_pages.items())
            for key, page in found
        ]
        body.append(f"<ul>{''.join(listed)}</ul>" if listed else "<p>No experiment.</p>")
        (staging / "index.html").write_text(
            PAGE.render(
                title="Network report",
                data=data,
                body=Markup("".join(body)),
                style=STYLE,
                sort=Markup(SORT),
            ),
            encoding="utf-8",
        )
        pages += 1
        for name, table in index_tables:
            files += _export(staging / "data", f"index-{name}", table)
        for site in data.sites:
            files += _site_page(data, site, staging)
            pages += 1
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Written(out, pages, files)


def _site_page(data: ReportData, site: str, staging: Path) -> int:
    tables = [("days", _days(data, site)), ("weeks", _weeks(data, site))]
    tables += [
        (name, data.tables[site][name])
        for name in ("pages", "entries", "exits", "referrer", "utm", "device", "recommended")
        if name in data.tables[site]
    ]
    totals = data.totals[site]
    summary = (
        f"{totals.visitors} visitors, {totals.visits} visits, {totals.views} page views, "
        f"{totals.goals} goal conversions, {totals.not_found} views of the 404 page."
        if totals.visitors >= data.k
        else f"Fewer than {data.k} visitors: suppressed."
    )
    body = [f"<h2>Overview</h2><p>{escape(summary)}</p>"]
    body.append(_chart(data, [site], f"Page views per day on {site}"))
    body += [_table(table, f"site-{site}-{name}", data.k) for name, table in tables]
    (staging / f"site-{site}.html").write_text(
        PAGE.render(
            title=f"Site report: {site}",
            data=data,
            body=Markup("".join(body)),
            style=STYLE,
            sort=Markup(SORT),
        ),
        encoding="utf-8",
    )
    files = 0
    for name, table in tables:
        files += _export(staging / "data", f"site-{site}-{name}", table)
    return files


def check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SitegenError(f"{out}: exists and is not empty; choose a new folder")
