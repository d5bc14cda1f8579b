"""`sitegen analytics copy`: production's events into staging's store through the
sanitization rules; nothing in the copy joins back to production."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.analytics.ingest import ingest
from generator.analytics.store import EventStore
from tests.conftest import SHARED_DATA, Result

APACHE_LOGS = SHARED_DATA / "apache-logs/apache_logs"
SECRETS = [
    "anna.smith@example.org",
    "tok_9f8e7d6c5b4a39281706f5e4",
    "4111111111111111",
]


def production_store(project: Path) -> Path:
    """The real Apache log ingested for brand, plus runtime events that carry an e-mail,
    a token and a card number in their page, detail and campaign."""
    store_path = project / "build/.sitegen/events.sqlite"
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = EventStore(store_path)
    if APACHE_LOGS.exists():
        ingest(store, "brand", [APACHE_LOGS], [])
    elif __import__("os").environ.get("CI") == "true":
        pytest.fail(f"the evaluation data is absent in CI ({APACHE_LOGS})")
    export = project / "runtime.jsonl"
    rows = [
        {
            "time": 1780000000 + n,
            "type": "view" if n % 2 else "goal",
            "page": f"/account/?email={SECRETS[0]}&utm_source=news&order={SECRETS[2]}",
            "visitor": f"v-{n % 7}",
            "session": f"s-{n % 11}",
            "detail": f"signup:{SECRETS[1]}",
            "utm_source": f"mail-{SECRETS[0]}",
        }
        for n in range(40)
    ]
    export.write_text("".join(json.dumps(row) + "\n" for row in rows))
    slug = project / "slug.jsonl"
    slug.write_text(
        json.dumps(
            {
                "time": 1780000100,
                "type": "view",
                "visitor": "v-0",
                "session": "s-0",
                "page": "/news/2026-11-30-new-boots-for-winter/",
            }
        )
        + "\n"
    )
    ingest(store, "brand", [], [export])
    ingest(store, "other", [], [slug])
    store.close()
    return store_path


def every_text(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        found = []
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in connection.execute(f"SELECT * FROM {table}"):  # noqa: S608
                found.append(" ".join(str(value) for value in row))
    return "\n".join(found)


def test_copy_to_staging_leaves_no_production_identity(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    source = production_store(project)
    with sqlite3.connect(source) as connection:
        visitors = {row[0] for row in connection.execute("SELECT DISTINCT visitor FROM events")}
        sessions = {row[0] for row in connection.execute("SELECT DISTINCT session FROM events")}
        ids = {row[0] for row in connection.execute("SELECT id FROM events")}
        total = connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    ips = (
        set(re.findall(r"^(\S+) ", APACHE_LOGS.read_text(errors="replace"), re.M))
        if (APACHE_LOGS.exists())
        else set()
    )
    result = sitegen(project, "analytics", "copy", "--from", "production", "--to", "staging")
    assert result.code == 0, result.err
    assert f"{total} events in, {total} out" in result.out
    copy = project / "build/.sitegen/events-staging.sqlite"
    text = every_text(copy)
    tokens = set(re.findall(r"[\w.@+-]+", text))
    assert not tokens & visitors - {""}, "a production visitor hash survived"
    assert not tokens & (sessions - {""}) and not tokens & ids
    assert not tokens & ips
    for secret in SECRETS:
        assert secret not in text
    assert "utm_source=news" in text and "email=" not in text  # the allow-listed query
    assert "/news/2026-11-30-new-boots-for-winter/" in text  # a dated slug is no token
    with sqlite3.connect(copy) as connection:
        meta = dict(connection.execute("SELECT key, value FROM meta"))
        assert connection.execute("SELECT COUNT(*) FROM events").fetchone()[0] == total
        assert connection.execute("SELECT COUNT(*) FROM visits").fetchone()[0] > 0
        # One ingests row per site, each counting its own events (not the copy's total).
        assert connection.execute("SELECT SUM(events) FROM ingests").fetchone()[0] == total
    summary = json.loads(meta["sanitized"])
    assert summary["rows_in"] == total and summary["changed"]["scrub"] >= 80
    # The copy is a store like any other: a second copy replaces it, not adds to it.
    again = sitegen(project, "analytics", "copy", "--from", "production", "--to", "staging")
    assert again.code == 0
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT COUNT(*) FROM events").fetchone()[0] == total
        second = {row[0] for row in connection.execute("SELECT visitor FROM events")}
    assert not second & set(re.findall(r"[\w.@+-]+", text))  # a new salt every copy


def test_copy_rules_withdrawn_sample_shift_and_bad_input(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    production_store(project)
    rules = tmp_path / "rules.yaml"
    rules.write_text("withdrawn: [v-1, v-2]\nshift_days: -30\nquery_allow: []\n")
    copy = project / "build/.sitegen/events-staging.sqlite"
    args = ("analytics", "copy", "--from", "production", "--to", "staging", "--rules", str(rules))
    assert sitegen(project, *args).code == 0
    with sqlite3.connect(copy) as connection:
        pages = [
            row[0] for row in connection.execute("SELECT page FROM events WHERE source = 'jsonl'")
        ]
        first = connection.execute("SELECT MIN(time) FROM events WHERE source = 'jsonl'").fetchone()
    assert len(pages) == 41 - 12  # v-1 and v-2 had 6 events each
    assert all("?" not in page for page in pages)  # no parameter allowed at all
    assert first[0] == pytest.approx(1780000000 + 1 - 30 * 86400)  # n=0 was v-0: kept
    before = copy.read_bytes()
    rules.write_text("withdrawn: [v-1]\nsampel: 0.5\n")
    bad = sitegen(project, *args)
    assert bad.code == 1 and f"{rules}:2: unknown rule 'sampel'" in bad.err
    assert "did you mean 'sample'" in bad.err and copy.read_bytes() == before
    rules.write_text("sample: 2\n")
    assert "rule 'sample': expected a share" in sitegen(project, *args).err
    dangerous = sitegen(project, "analytics", "copy", "--from", "staging", "--to", "production")
    assert dangerous.code == 2 and "refusing to copy into production" in dangerous.err
    unknown = sitegen(project, "analytics", "copy", "--from", "production", "--to", "stagin")
    assert unknown.code == 1 and "unknown environment 'stagin'" in unknown.err
    dry = sitegen(
        project, "analytics", "copy", "--from", "production", "--to", "development", "--dry-run"
    )
    assert dry.code == 0 and "dry run: nothing written" in dry.out
    assert not (project / "build/.sitegen/events-development.sqlite").exists()


def test_a_staging_build_reads_the_staging_copy_not_production(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    export = project / "views.jsonl"
    rows = [
        {
            "time": 1780000000 + visitor * 7200 + step * 60,
            "type": "view",
            "page": page,
            "visitor": f"v{visitor}",
            "session": f"s{visitor}",
        }
        for visitor in range(6)
        for step, page in enumerate(["/articles/alpha/", "/news/world/"])
    ]
    export.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    alpha = project / "build/brand/_sg/rec/articles/alpha.json"
    assert sitegen(project, "build", "brand", "--env", "staging").code == 0
    assert json.loads(alpha.read_text())["next"] == []  # staging has no data of its own yet
    assert (
        sitegen(project, "analytics", "copy", "--from", "production", "--to", "staging").code == 0
    )
    assert sitegen(project, "build", "brand", "--env", "staging").code == 0
    assert json.loads(alpha.read_text())["next"][0] == "/news/world/"  # from the copy
    assert sitegen(project, "build", "brand").code == 0
    assert json.loads(alpha.read_text())["next"][0] == "/news/world/"  # production's own


def test_copy_from_the_targets_logs(
    project: Path,
    sitegen: Callable[..., Result],
    ftp_server: tuple[int, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The production target's access log, read over FTP, straight into staging's store:
    no IP address, user agent, e-mail or production hash arrives there."""
    from tests.conftest import edit

    port, home = ftp_server
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        f"targets:\n  production:\n    url: ftp://deployer@127.0.0.1:{port}/\n"
        "    logs: [/logs/access.log]\nmenu+:",
    )
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD_PRODUCTION", "s3cret-pass")
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
    (home / "logs/access.log").write_text(
        "".join(
            f"203.0.113.{n} - - [01/Jun/2026:10:{n:02}:00 +0000] "
            f'"GET /articles/alpha/?mail=anna%40example.org&utm_source=news HTTP/1.1" 200 512 '
            f'"https://mail.example.org/inbox" "{agent}"\n'
            for n in range(12)
        )
    )
    args = ("analytics", "copy", "--from", "production", "--to", "staging")
    result = sitegen(project, *args, "--from-target", "production", "--site", "brand")
    assert result.code == 0, result.err
    assert "production: 12 lines: 12 new events" in result.out
    assert "12 events in, 12 out" in result.out
    text = every_text(project / "build/.sitegen/events-staging.sqlite")
    assert "203.0.113." not in text and "Chrome" not in text and "Mozilla" not in text
    assert "anna" not in text and "s3cret" not in result.out + result.err
    assert "/articles/alpha/" in text
    assert not (project / "build/.sitegen/events.sqlite").exists()  # production's untouched
    lonely = sitegen(project, *args, "--from-target", "production")
    assert lonely.code == 2 and "--from-target needs --site" in lonely.err
