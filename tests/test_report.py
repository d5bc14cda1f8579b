"""`sitegen report`: the network report's numbers on hand-counted events, suppression of
small cells everywhere (exports included), bad input, and the pages in Chromium (a
screenshot of each page type, and axe-core's accessibility rules)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM_FLAGS, DESKTOP_AGENT, browse_network, chromium, dump_dom, require
from tests.conftest import Result

DAY = dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp()
AXE = Path(__file__).resolve().parent.parent / ".servers/node/node_modules/axe-core/axe.min.js"


def view(visitor: str, time: float, page: str = "/", session: str = "", **more: Any) -> str:
    return json.dumps(
        {
            "time": DAY + time,
            "type": "view",
            "page": page,
            "visitor": visitor,
            "session": session,
            **more,
        }
    )


def events(project: Path, sitegen: Callable[..., Result]) -> None:
    """brand: b0-b5 view / and /news/ in one visit (b0 and b1 also /rare/), x0-x5 view /
    once; b0 reaches a goal and clicks a recommendation. other: o0-o5 and then x0-x5 view
    / once (the x visitors come from brand). region: two visitors."""
    lines: dict[str, list[str]] = {"brand": [], "other": [], "region": []}
    for i in range(6):
        lines["brand"] += [
            view(f"b{i}", 60 * i, "/", f"sb{i}", referrer="https://search.example/?q=x"),
            view(f"b{i}", 60 * i + 20, "/news/", f"sb{i}", device="mobile"),
        ]
        lines["brand"].append(view(f"x{i}", 1000 + i, "/", f"sx{i}", utm_source="mail"))
        lines["other"].append(view(f"o{i}", 2000 + i, "/", f"so{i}"))
        lines["other"].append(view(f"x{i}", 3000 + i, "/", f"sy{i}"))
    lines["brand"] += [view("b0", 30, "/rare/", "sb0"), view("b1", 90, "/rare/", "sb1")]
    lines["brand"].append(
        json.dumps({"time": DAY + 40, "type": "goal", "page": "/news/", "visitor": "b0"})
    )
    lines["brand"].append(
        json.dumps(
            {"time": DAY + 41, "type": "rec", "page": "/news/", "visitor": "b0", "detail": "/"}
        )
    )
    lines["region"] += [view("r0", 5000, "/", "sr0"), view("r1", 86400 * 2, "/", "sr1")]
    for site, found in lines.items():
        export = project / f"{site}.jsonl"
        export.write_text("\n".join(found) + "\n")
        done = sitegen(project, "analytics", "ingest", site, "--jsonl", str(export))
        assert done.code == 0, done.err


def table(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / "data" / f"{name}.csv", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def report(project: Path, sitegen: Callable[..., Result]) -> Path:
    events(project, sitegen)
    done = sitegen(project, "report", "--out", str(project / "report"))
    assert done.code == 0, done.err
    return project / "report"


def test_the_numbers_are_the_hand_counted_ones_and_small_cells_are_suppressed(
    report: Path,
) -> None:
    overview = {row["site"]: row for row in table(report, "index-overview")}
    brand = overview["brand"]
    assert (brand["visitors"], brand["visits"], brand["page views"]) == ("12", "12", "20")
    assert (brand["bounce rate"], brand["goals"]) == ("0.5", "1")  # the x visitors bounce
    other = overview["other"]
    assert (other["visitors"], other["visits"], other["page views"]) == ("12", "12", "12")
    assert overview["network"]["visitors"] == "20"  # x0-x5 are one id on both sites
    assert set(overview["region"].values()) == {"region", ""}  # 2 visitors: suppressed

    pages = {row["page"]: row for row in table(report, "site-brand-pages")}
    assert pages["/"]["views"] == "12" and pages["/news/"]["visitors"] == "6"
    assert "/rare/" not in pages  # two visitors
    document = json.loads((report / "data/site-brand-pages.json").read_text())
    assert document["suppressed_rows"] == 1
    referrers = {row["referrer"]: row["visits"] for row in table(report, "site-brand-referrer")}
    assert referrers == {"search.example": "6", "(none)": "6"}
    campaigns = {row["utm"]: row["visits"] for row in table(report, "site-brand-utm")}
    assert campaigns == {"mail": "6", "(none)": "6"}
    entries = {row["page"]: row["visits started"] for row in table(report, "site-brand-entries")}
    assert entries == {"/": "12"}
    exits = {row["page"]: row["visits ended"] for row in table(report, "site-brand-exits")}
    assert exits == {"/": "6"}  # x0-x5; /news/ (b2-b5) and /rare/ (b0, b1) rest on < 5
    assert "6 visitors were seen on several sites" in (report / "index.html").read_text()
    crossings = table(report, "index-crossings")
    assert crossings == [{"from site": "brand", "to site": "other", "moves": "6", "visitors": "6"}]
    region_days = table(report, "site-region-days")
    assert all(row["visitors"] == "" for row in region_days)

    comparison = {row["site"]: row for row in table(report, "index-comparison")}
    assert (
        comparison["brand"]["bounce rate"] == "0.5" and comparison["other"]["bounce rate"] == "1.0"
    )
    assert comparison["region"]["bounce rate"] == ""

    text = "".join(p.read_text() for p in report.rglob("*") if p.is_file())
    assert not re.search(r"\b[box]\d\b", text)  # no visitor id anywhere
    html = (report / "index.html").read_text()
    assert "<svg" in html and "<title" in html and "<desc>" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing loaded from outside
    for link in re.findall(r'href="(data/[^"]+)"', html):
        assert (report / link).is_file(), link


def test_bad_input_is_refused_and_leaves_no_report(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    out = project / "report"
    missing = sitegen(project, "report", "--out", str(out))
    assert missing.code == 1 and "no events store" in missing.err
    assert not out.exists()

    events(project, sitegen)
    empty = sitegen(project, "report", "--out", str(out), "--from", "2027-01-01")
    assert empty.code == 1 and "no page views of" in empty.err and "nothing to report" in empty.err
    assert not out.exists() and not list(project.glob(".report.partial-*"))
    backwards = sitegen(
        project, "report", "--out", str(out), "--from", "2026-06-02", "--to", "2026-06-01"
    )
    assert backwards.code == 2
    unknown = sitegen(project, "report", "brnad", "--out", str(out))
    assert unknown.code == 1 and "did you mean 'brand'" in unknown.err

    store = project / "build/.sitegen/events.sqlite"
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    newer = sitegen(project, "report", "--out", str(out))
    assert newer.code == 1 and "written by a newer sitegen" in newer.err
    store.write_bytes(b"\0" * 4096)
    for wal in store.parent.glob("events.sqlite-*"):
        wal.unlink()
    corrupt = sitegen(project, "report", "--out", str(out))
    assert corrupt.code == 1 and "the events store cannot be read" in corrupt.err
    assert not out.exists()

    out.mkdir()
    (out / "keep.txt").write_text("mine")
    taken = sitegen(project, "report", "--out", str(out))
    assert taken.code == 1 and "exists and is not empty" in taken.err
    assert (out / "keep.txt").read_text() == "mine"


def screenshot(page: Path, picture: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--window-size=1200,1600",
                f"--screenshot={picture}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=90,
            check=True,
        )


def test_each_page_type_renders_and_passes_axe_in_chromium(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    require(str(AXE))
    for page in ("index.html", "site-brand.html"):
        picture = tmp_path / f"{page}.png"
        screenshot(report / page, picture)
        with Image.open(picture) as image:
            assert image.size == (1200, 1600)
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
            assert len(colours) > 50  # text, tables and a chart, not a blank page

        html = (report / page).read_text()
        harness = (
            "<script>" + AXE.read_text() + "</script><script>"
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})"
            ".then(function (r) { var p = document.createElement('pre'); p.id = 'axe';"
            " p.textContent = JSON.stringify(r.violations.map(function (v) {"
            " return [v.id, v.nodes.length, v.nodes[0].html]; }));"
            " document.body.appendChild(p); });"
            "</script></body>"
        )
        dom = dump_dom(html.replace("</body>", harness), budget_ms=20000)
        found = re.search(r'<pre id="axe">(.*?)</pre>', dom, re.S)
        assert found, f"axe did not run on {page}"
        import html as markup

        violations = json.loads(markup.unescape(found.group(1)))
        assert violations == [], (page, violations)
        assert 'role="img"' in html and "<main>" in html and "<nav" in html
        assert '<th scope="col">' in html and '<th scope="row">' in html


PROBE = (
    '<!doctype html><html lang="en"><title>probe</title><pre id="cookies"></pre>'
    "<script>document.getElementById('cookies').textContent = document.cookie;</script></html>"
)


def visitor_cookie(profile: Path, url: str) -> str:
    """The sg_id cookie a page at `url` sees, in headless Chromium with a lasting profile
    (every *.network.test host on loopback)."""
    dom = browse_network(profile, url, DESKTOP_AGENT, budget_ms=5000)
    found = re.search(r'<pre id="cookies">([^<]*)</pre>', dom)
    if found is None:
        return ""
    return dict(
        pair.strip().split("=", 1) for pair in found.group(1).split(";") if "=" in pair
    ).get("sg_id", "")


@pytest.mark.parametrize("shared", [True, False])
def test_a_cookie_domain_keeps_one_visitor_id_across_the_networks_subdomains(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path, shared: bool
) -> None:
    from tests.apache import DEBIAN_DEFAULT, _free_port, virtual_hosts

    port = _free_port()
    for site in ("brand", "other", "region"):  # every site under the cookie's domain
        yaml = project / f"sites/{site}/site.yaml"
        text = re.sub(r"base_url: \S+\n", "", yaml.read_text())
        yaml.write_text(f"base_url: http://{site}.network.test:{port}/\n" + text)
    if shared:
        root = project / "sites/root/site.yaml"
        root.write_text(root.read_text() + "personalization:\n  cookie_domain: network.test\n")
    built = sitegen(project, "build", "brand", "other")
    assert built.code == 0, built.err
    hosts = {f"{site}.network.test": project / "build" / site for site in ("brand", "other")}
    for folder in hosts.values():
        (folder / "probe.html").write_text(PROBE)
    profile = tmp_path / "profile"
    brand, other = (f"http://{site}.network.test:{port}" for site in ("brand", "other"))
    with virtual_hosts(hosts, DEBIAN_DEFAULT, port):
        subprocess.run(  # the runtime runs on brand's home page and sets the visitor id
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP *.network.test 127.0.0.1",
                f"--user-agent={DESKTOP_AGENT}",
                f"--user-agent={DESKTOP_AGENT}",  # not headless Chromium's own: a crawler's
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{brand}/",
            ],
            capture_output=True,
            timeout=90,
            check=True,
        )
        on_brand = visitor_cookie(profile, f"{brand}/probe.html")
        on_other = visitor_cookie(profile, f"{other}/probe.html")
    assert on_brand  # the runtime set it
    if shared:
        assert on_other == on_brand  # one visitor across brand.network.test and other.
    else:
        assert on_other == ""  # a host-only cookie: the other site cannot see it


def test_a_cookie_domain_the_site_is_not_under_is_a_config_error(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    root = project / "sites/root/site.yaml"
    root.write_text(root.read_text() + "personalization:\n  cookie_domain: elsewhere.test\n")
    done = sitegen(project, "build", "brand")
    assert done.code == 1
    assert "sites/root/site.yaml" in done.err
    assert "elsewhere.test is not brand.test or a parent of it" in done.err


def overview_views(folder: Path) -> dict[str, str]:
    return {row["site"]: row["page views"] for row in table(folder, "index-overview")}


def test_report_and_ingest_run_at_once_on_one_snapshot(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    from generator.analytics.store import Event, EventStore

    events(project, sitegen)  # brand: 20 page views
    store = EventStore(project / "build/.sitegen/events.sqlite")
    # An ingest half-way: its events written, not committed (it holds the write lock).
    ingest = store.begin_ingest("brand", ["half-way.log"])
    store.add(
        [
            Event(f"w{i}", "brand", DAY + 500 + i, "view", "/", "", "", f"w{i}", "s", "", "log")
            for i in range(10)
        ],
        ingest,
    )
    during = sitegen(project, "report", "brand", "--out", str(tmp_path / "during"))
    assert during.code == 0, during.err  # not blocked by the writer...
    assert overview_views(tmp_path / "during")["brand"] == "20"  # ...nor seeing its half
    store.finish_ingest(
        ingest, dict(lines=10, events=10, duplicates=0, bots=0, malformed=0, ignored=0)
    )  # the writer was not blocked either
    store.close()
    after = sitegen(project, "report", "brand", "--out", str(tmp_path / "after"))
    assert after.code == 0, after.err
    assert overview_views(tmp_path / "after")["brand"] == "30"

    # A real ingest in another process while reports run: each report sees the store before
    # the ingest or after it, never part of it.
    log = tmp_path / "big.log"
    with open(log, "w") as stream:
        for i in range(60_000):
            stream.write(
                f"10.1.{i // 250 % 250}.{i % 250} - - [02/Jun/2026:10:{i // 1000 % 60:02d}:"
                f'{i % 60:02d} +0000] "GET /p{i % 50}/ HTTP/1.1" 200 512 "-" '
                f'"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 n{i % 7}"\n'
            )
    import os
    import sys

    running = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator.cli",
            "--root",
            str(project),
            "analytics",
            "ingest",
            "brand",
            "--access-log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    seen = set()
    runs = 0
    while running.poll() is None or runs == 0:
        out = tmp_path / f"r{runs}"
        done = sitegen(project, "report", "brand", "--out", str(out))
        assert done.code == 0, done.err
        seen.add(overview_views(out)["brand"])
        runs += 1
    stdout, stderr = running.communicate()
    assert running.returncode == 0, stderr
    added = int(re.search(r"(\d+) new events", stdout)[1])  # type: ignore[index]
    assert added > 0
    assert seen <= {"30", str(30 + added)}, seen


SORT_HARNESS = """<script>
var table = document.querySelector("table.sortable");
var header = Array.from(table.tHead.rows[0].cells).find(function (c) {
  return c.textContent.trim() === "page views"; });
header.querySelector("button").click();  // descending
header.querySelector("button").click();  // ascending
var order = Array.from(table.tBodies[0].rows).map(function (r) {
  return r.cells[0].textContent.trim(); });
var p = document.createElement("pre"); p.id = "order";
p.textContent = JSON.stringify([order, header.getAttribute("aria-sort"),
  table.tBodies[0].querySelectorAll("button").length]);
document.body.appendChild(p);
</script></body>"""


def test_a_table_sorts_by_a_click_on_its_header_in_chromium(report: Path) -> None:
    html = (report / "index.html").read_text()
    dom = dump_dom(html.replace("</body>", SORT_HARNESS))
    found = re.search(r'<pre id="order">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    import html as markup

    order, state, buttons_in_body = json.loads(markup.unescape(found.group(1)))
    # Written network, brand, other, region (34, 20, 12 views, suppressed); ascending puts
    # the suppressed row last still.
    assert order == ["other", "brand", "network", "region"]
    assert state == "ascending" and buttons_in_body == 0  # row headers stay text
