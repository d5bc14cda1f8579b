"""Access logs and JSONL into the events store: accounting, bots, privacy, idempotence."""

from __future__ import annotations

import gzip
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.analytics.ingest import ingest
from generator.analytics.store import EventStore
from generator.events import EVENT_COLUMNS, SCHEMA_VERSION
from tests.conftest import SHARED_DATA, Result

APACHE_LOGS = SHARED_DATA / "apache-logs/apache_logs"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"


def line(ip: str, time: str, request: str, status: int = 200, agent: str = BROWSER) -> str:
    return f'{ip} - - [{time} +0000] "{request} HTTP/1.1" {status} 512 "-" "{agent}"\n'


def test_real_apache_log_every_line_accounted_for_and_no_ip_stored(tmp_path: Path) -> None:
    if not APACHE_LOGS.exists():
        pytest.skip(f"the evaluation data is absent ({APACHE_LOGS}); see ../shared/data")
    store = EventStore(tmp_path / "events.sqlite")
    report = ingest(store, "trailhead", [APACHE_LOGS], [])
    total = sum(1 for _ in APACHE_LOGS.open(encoding="utf-8", errors="replace"))
    assert report.lines == total == 10_000
    assert (
        report.events + report.duplicates + report.bots + report.malformed + report.ignored
    ) == total
    assert report.events > 1000 and report.bots > 1000 and report.malformed >= 1
    assert store.count("trailhead") == report.events
    again = ingest(store, "trailhead", [APACHE_LOGS], [])
    assert again.events == 0 and again.duplicates == report.events + report.duplicates
    assert store.count("trailhead") == report.events
    store.close()
    ips = set(re.findall(r"^(\S+) ", APACHE_LOGS.read_text(errors="replace"), re.M))
    stored = (tmp_path / "events.sqlite").read_bytes()
    for wal in tmp_path.glob("events.sqlite-*"):
        stored += wal.read_bytes()
    assert not [ip for ip in ips if ip.encode() in stored]


@pytest.mark.parametrize("kept", [200_000, 0])
@pytest.mark.parametrize("old_first", [False, True])
def test_pixel_bots_rotation_and_malformed_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept: int, old_first: bool
) -> None:
    """Either order of the files; with the HTML hits stored before the first pixel request
    remembered (deleted by key) or too many to remember (deleted by a scan)."""
    import generator.analytics.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "LOG_ROWS_KEPT", kept)
    old = tmp_path / "access.log.1.gz"
    with gzip.open(old, "wt") as stream:
        stream.write(line("10.0.0.1", "01/Jun/2026:10:00:00", "GET /guides/"))
        stream.write(
            line(
                "10.0.0.1",
                "01/Jun/2026:10:00:00",
                "GET /_sg/p.gif?e=view&p=/guides/&v=&b=abc&u=v1&s=s1",
            )
        )
    current = tmp_path / "access.log"
    current.write_text(
        line(
            "10.0.0.1",
            "01/Jun/2026:10:01:00",
            "GET /_sg/p.gif?e=view&p=/care/&v=repair-cta-repair&b=abc&u=v1&s=s1",
        )
        + line("10.0.0.1", "01/Jun/2026:10:01:00", "GET /care/")
        + line("10.0.0.1", "01/Jun/2026:10:01:01", "GET /assets/main.1234abcd.css")
        + line("10.0.0.2", "01/Jun/2026:10:02:00", "GET /guides/")  # no JavaScript: a bot
        + line("10.0.0.3", "01/Jun/2026:10:03:00", "HEAD /guides/")
        + line("10.0.0.4", "01/Jun/2026:10:04:00", "GET /guides/", agent="Googlebot/2.1")
        + "this is not a log line\n"
        + line("10.0.0.5", "01/Jun/2026:10:05:00", "GET /_sg/p.gif?e=view")
    )  # no page/visitor
    store = EventStore(tmp_path / "events.sqlite")
    report = ingest(store, "trailhead", [old, current] if old_first else [current, old], [])
    assert report.lines == 10
    assert report.events == 2 and report.pixel_hits == 2
    assert report.bots == 3  # HEAD, Googlebot, the visitor without pixel
    assert report.malformed == 2
    assert report.ignored == 3  # css, and the two HTML hits the pixel covers
    assert any(f"{current}:7: not in combined log format" == m for m in report.malformed_lines)
    rows = store.connection.execute(
        "SELECT type, page, variant, build, visitor, session, source FROM events ORDER BY time"
    ).fetchall()
    assert rows == [
        ("view", "/guides/", "", "abc", "v1", "s1", "pixel"),
        ("view", "/care/", "repair-cta-repair", "abc", "v1", "s1", "pixel"),
    ]


def test_plain_log_history_counts_page_views(tmp_path: Path) -> None:
    log = tmp_path / "old.log"
    log.write_text(
        line("10.0.0.1", "01/Jan/2024:10:00:00", "GET /guides/index.html")
        + line("10.0.0.1", "01/Jan/2024:10:00:05", "GET /news/welcome")
        + line("10.0.0.1", "01/Jan/2024:10:00:09", "GET /missing/", status=404)
    )
    store = EventStore(tmp_path / "events.sqlite")
    report = ingest(store, "harbor", [log], [])
    assert report.events == 2 and report.ignored == 1
    pages = [row[0] for row in store.connection.execute("SELECT page FROM events ORDER BY time")]
    assert pages == ["/guides/", "/news/welcome/"]
    visitors = {row[0] for row in store.connection.execute("SELECT visitor FROM events")}
    assert len(visitors) == 1 and "10.0.0.1" not in next(iter(visitors))


def test_jsonl_export(tmp_path: Path) -> None:
    export = tmp_path / "events.jsonl"
    export.write_text(
        '{"time": "2026-06-01T10:00:00Z", "type": "view", "page": "/", "visitor": "a"}\n'
        '{"time": 1780000000, "type": "goal", "page": "/care/", "visitor": "a", '
        '"detail": "repair-cta:care", "client_ms": 1780000000123}\n'
        '{"time": 1780000001, "type": "view", "page": "/", "visitor": "b", "site": "harbor"}\n'
        '{"time": "yesterday", "type": "view", "page": "/", "visitor": "c"}\n'
        "not json\n"
    )
    store = EventStore(tmp_path / "events.sqlite")
    report = ingest(store, "trailhead", [], [export])
    assert (report.events, report.ignored, report.malformed) == (2, 1, 2)
    assert report.malformed_lines[0].startswith(f"{export}:4: expected a JSON event object")
    assert ingest(store, "trailhead", [], [export]).events == 0
    assert store.connection.execute(
        "SELECT detail, client_ms FROM events WHERE type = 'goal'"
    ).fetchall() == [("repair-cta:care", 1780000000123)]


def test_cli_ingest(tmp_path: Path, project: Path, sitegen: Callable[..., Result]) -> None:
    log = tmp_path / "a.log"
    log.write_text(line("10.0.0.1", "01/Jun/2026:10:00:00", "GET /articles/") + "garbage\n")
    result = sitegen(project, "analytics", "ingest", "brand", "--access-log", str(log))
    assert result.code == 0, result.err
    assert "brand: 2 lines: 1 new events" in result.out
    assert f"malformed: {log}:2: not in combined log format" in result.err
    assert (project / "build/.sitegen/events.sqlite").exists()
    missing = sitegen(project, "analytics", "ingest", "brnad", "--access-log", str(log))
    assert missing.code == 1 and "did you mean 'brand'" in missing.err
    with sqlite3.connect(project / "build/.sitegen/events.sqlite") as connection:
        assert connection.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == (
            str(SCHEMA_VERSION),
        )


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('schema', '1'), ('salt', 'abc');"
            "CREATE TABLE events (id TEXT NOT NULL, site TEXT NOT NULL, time REAL NOT NULL,"
            " type TEXT NOT NULL, page TEXT NOT NULL, variant TEXT NOT NULL, build TEXT NOT NULL,"
            " visitor TEXT NOT NULL, session TEXT NOT NULL, detail TEXT NOT NULL,"
            " source TEXT NOT NULL, ingest INTEGER NOT NULL, PRIMARY KEY (id)) WITHOUT ROWID;"
            "INSERT INTO events VALUES ('e1', 'brand', 1, 'view', '/', '', '', 'v', 's', '',"
            " 'pixel', 1);"
        )
    store = EventStore(path)
    assert store.salt == "abc"  # the salt survives
    assert store.connection.execute("SELECT segments, client_ms FROM events").fetchall() == [
        ("", 0)
    ]
    assert store.connection.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == (
        str(SCHEMA_VERSION),
    )


FEED_READERS = (
    "UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/",
    "Tiny Tiny RSS/1.11 (http://tt-rss.org/)",
    "Digg Feed Fetcher 1.0 (Digg/1.0; +http://digg.com/)",
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)",
)


def test_feed_readers_and_feed_requests_are_not_visitors_and_xhtml_pages_are(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            line(f"10.0.1.{n}", "01/Jun/2026:10:00:00", "GET /blog/", agent=agent)
            for n, agent in enumerate(FEED_READERS)
        )
        + line("10.0.2.1", "01/Jun/2026:10:01:00", "GET /blog/tags/puppet?flav=rss20")
        + line("10.0.2.1", "01/Jun/2026:10:01:01", "GET /blog/feed/")
        + line("10.0.2.1", "01/Jun/2026:10:01:02", "GET /blog/?feed=rss2")
        + line("10.0.2.1", "01/Jun/2026:10:01:03", "GET /projects/grok.xhtml")
        + line("10.0.2.1", "01/Jun/2026:10:01:04", "GET /blog/tags/puppet")
        + line("10.0.2.1", "01/Jun/2026:10:01:05", "GET /about/index.htm")
    )
    store = EventStore(tmp_path / "events.sqlite")
    report = ingest(store, "trailhead", [log], [])
    assert report.bots == len(FEED_READERS)
    assert report.ignored == 3  # the three feed requests of a browser
    pages = sorted(row[0] for row in store.connection.execute("SELECT page FROM events"))
    assert pages == ["/about/", "/blog/tags/puppet/", "/projects/grok.xhtml"]
    store.close()


def test_no_feed_reader_of_a_real_log_is_counted_as_a_visitor(tmp_path: Path) -> None:
    if not APACHE_LOGS.exists():
        pytest.skip(f"the evaluation data is absent ({APACHE_LOGS}); see ../shared/data")
    readers = [
        text
        for text in APACHE_LOGS.read_text(encoding="utf-8", errors="replace").splitlines(True)
        if re.search(r"feedparser|tt-rss|Feedly|NewsBlur|Digg Feed|feedbin|Inoreader", text, re.I)
    ]
    assert len(readers) > 100  # the log has them: a fifth of its page requests
    log = tmp_path / "readers.log"
    log.write_text("".join(readers))
    store = EventStore(tmp_path / "events.sqlite")
    report = ingest(store, "trailhead", [log], [])
    assert report.events == 0 and report.bots == len(readers) - report.malformed
    store.close()


def test_export_writes_parquet_by_site_and_day_that_reads_back_the_same(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    import pyarrow.dataset as ds

    log = project / "access.log"
    log.write_text(
        line("10.0.3.1", "01/Jun/2026:23:59:00", "GET /articles/alpha/")
        + line("10.0.3.1", "02/Jun/2026:00:01:00", "GET /articles/beta/")
        + line("10.0.3.2", "02/Jun/2026:10:00:00", "GET /news/hello/")
    )
    other = project / "other.log"
    other.write_text(line("10.0.3.3", "02/Jun/2026:11:00:00", "GET /stories/alpha/"))
    assert sitegen(project, "analytics", "ingest", "brand", "--access-log", str(log)).code == 0
    assert sitegen(project, "analytics", "ingest", "other", "--access-log", str(other)).code == 0
    out = project / "export"
    done = sitegen(project, "analytics", "export", "--out", str(out))
    assert done.code == 0, done.err
    assert "4 events in 3 files" in done.out
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert files == [
        "site=brand/day=2026-06-01/events.parquet",
        "site=brand/day=2026-06-02/events.parquet",
        "site=other/day=2026-06-02/events.parquet",
    ]
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    rows = sorted(zip(table["site"].to_pylist(), table["page"].to_pylist(), strict=True))
    assert rows == [
        ("brand", "/articles/alpha/"),
        ("brand", "/articles/beta/"),
        ("brand", "/news/hello/"),
        ("other", "/stories/alpha/"),
    ]
    stamps = sorted(table["time"].to_pylist())
    assert stamps[0].isoformat() == "2026-06-01T23:59:00+00:00"
    # Bad input: a folder that is not new, a site with no events; nothing partial left.
    again = sitegen(project, "analytics", "export", "--out", str(out))
    assert again.code == 1 and "exists and is not empty" in again.err
    empty = sitegen(project, "analytics", "export", "region", "--out", str(project / "none"))
    assert empty.code == 1 and "no events of region to export" in empty.err
    assert not (project / "none").exists()
    assert not list(project.glob(".none.partial-*"))


PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)


def test_referrer_host_campaign_and_device_are_kept_and_nothing_more(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        '10.0.0.1 - - [01/Jun/2026:10:00:00 +0000] "GET /guides/?utm_source=newsletter&id=7 '
        'HTTP/1.1" 200 512 "https://mail.example.net:443/inbox?user=anna@example.org" '
        f'"{PHONE}"\n'
        '10.0.0.2 - - [01/Jun/2026:10:00:01 +0000] "GET /trips/ HTTP/1.1" 200 512 "-" '
        f'"{TABLET}"\n'
        '10.0.0.3 - - [01/Jun/2026:10:00:02 +0000] "GET /about/ HTTP/1.1" 200 512 "-" '
        f'"{BROWSER}"\n'
    )
    export = tmp_path / "events.jsonl"
    export.write_text(
        '{"time": 1780000000, "type": "view", "page": "/", "visitor": "v9", '
        '"referrer": "https://www.search.example/q?x=secret", "utm_source": "ads", '
        '"device": "phone-ish"}\n'
    )
    store = EventStore(tmp_path / "events.sqlite")
    ingest(store, "trailhead", [log], [export])
    rows = store.connection.execute(
        "SELECT page, referrer, utm, device FROM events ORDER BY time"
    ).fetchall()
    assert rows == [
        ("/", "www.search.example", "ads", ""),  # an unknown device class is not kept
        ("/guides/", "mail.example.net", "newsletter", "mobile"),
        ("/trips/", "", "", "tablet"),
        ("/about/", "", "", "desktop"),
    ]
    stored = (tmp_path / "events.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("events.sqlite-*")
    )
    assert b"inbox" not in stored and b"anna@" not in stored and b"secret" not in stored
    store.close()


@pytest.mark.parametrize("block", [2**20, 1, 4, 7])
def test_ranges_of_a_plain_log_read_every_line_once_numbered_from_the_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Whatever the ranges and the blocks read at a time (cut inside lines and inside a
    character: `\xc3\xa9` is é)."""
    import generator.analytics.logs as logs
    from generator.analytics.logs import read_lines

    monkeypatch.setattr(logs, "READ_BLOCK", block)

    log = tmp_path / "a.log"
    log.write_bytes(
        b"first\r\nsecond\n\nfourth line, caf\xc3\xa9\nfifth \xff\nlast without newline"
    )
    whole = [text for _, text in read_lines(log)]
    assert whole == [
        "first",
        "second",
        "",
        "fourth line, caf\u00e9",
        "fifth \ufffd",
        "last without newline",
    ]
    length = log.stat().st_size
    for size in range(1, length + 2):
        found = []
        for start in range(0, length, size):
            numbers = [n for n, _ in read_lines(log, start, min(start + size, length))]
            assert numbers == list(range(1, len(numbers) + 1))
            found += [text for _, text in read_lines(log, start, min(start + size, length))]
        assert found == whole, size


def test_parallel_ingest_stores_and_counts_what_one_process_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes (real ones) reading files and small ranges of a plain log: the same
    events, counts and malformed-line numbers as one process reading everything."""
    import generator.analytics.ingest as ingest_module

    logs = []
    for number in range(3):
        text = ""
        for step in range(60):
            ip = f"10.0.{number}.{step % 7}"
            stamp = f"01/Jun/2026:1{number}:{step // 60:02d}:{step % 60:02d}"
            if step % 5 == 0:
                text += line(ip, stamp, f"GET /_sg/p.gif?e=view&p=/p{step}/&u=v{step % 7}&s=s1")
            elif step % 11 == 0:
                text += f"not a log line {step}\n"
            elif step % 13 == 0:
                text += line(ip, stamp, "GET /guides/", agent="Googlebot/2.1")
            else:
                text += line(ip, stamp, f"GET /p{step}/").replace(
                    "\n", "\r\n" if step % 2 else "\n"
                )
        logs.append(text)
    plain = tmp_path / "access.log"
    plain.write_text(logs[0] + logs[1], newline="")
    history = tmp_path / "old.log"  # no pixel requests: its HTML hits are views
    history.write_text(logs[2].replace("/_sg/p.gif", "/page"), newline="")
    compressed = tmp_path / "access.log.1.gz"
    with gzip.open(compressed, "wt", newline="") as stream:
        stream.write(logs[2])
    export = tmp_path / "events.jsonl"
    export.write_text(
        '{"time": 1780000000, "type": "view", "page": "/", "visitor": "a"}\nnot json\n'
    )
    files = ([plain, history, compressed], [export])

    one = EventStore(tmp_path / "one.sqlite")
    serial = ingest(one, "trailhead", *files)
    monkeypatch.setattr(ingest_module, "PARALLEL_BYTES", 0)
    many = EventStore(tmp_path / "many.sqlite")
    parallel = ingest(many, "trailhead", *files, jobs=2, piece_bytes=700)
    assert len(ingest_module.pieces(*files, 700)) > 20
    assert parallel == serial
    assert serial.malformed == 17 and serial.bots > 0 and serial.events > 0
    assert f"{plain}:72: not in combined log format" in serial.malformed_lines
    query = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY id"
    assert many.connection.execute(query).fetchall() == one.connection.execute(query).fetchall()
    again = ingest(many, "trailhead", *files, jobs=2, piece_bytes=700)
    assert again.events == 0 and again.duplicates == serial.events + serial.duplicates
