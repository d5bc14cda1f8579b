"""`sitegen analytics ingest`: access logs and JSONL exports into the events store.

Every input line ends up counted exactly once: as an event (new, or a duplicate of one
already stored), a bot, a malformed line, or ignored (a stylesheet, an image, an error
status, a page view already counted by the pixel). Files are streamed; memory grows with the
number of distinct visitors and user agents, not with the number of lines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

from generator import events as q
from generator.analytics.logs import FAST_LINE, LINE, MalformedLine, parse_time, read_lines
from generator.analytics.pixel import PIXEL_PATH
from generator.analytics.store import Event, EventStore

BATCH = 5000
LOG_ROWS_KEPT = 200_000
"""HTML hits stored as views that ingest remembers, to delete by key if pixel requests follow."""
VISITOR_CACHE = 50_000
"""Visitor hashes kept (per IP and agent) before the cache starts over."""
SHOWN_MALFORMED = 20
PAGE_STATUSES = {200, 304}
EVENT_TYPES = ("view", "goal", "click", "rec")
DEVICES = ("desktop", "mobile", "tablet")


@dataclass
class IngestReport:
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    bots: int = 0
    malformed: int = 0
    ignored: int = 0
    pixel_hits: int = 0
    malformed_lines: list[str] = field(default_factory=list)
    """`file:line: reason` of the first malformed lines."""

    def counts(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "events": self.events,
            "duplicates": self.duplicates,
            "bots": self.bots,
            "malformed": self.malformed,
            "ignored": self.ignored,
        }

    def summary(self) -> str:
        return (
            f"{self.lines} lines: {self.events} new events, {self.duplicates} already "
            f"stored, {self.bots} bots, {self.malformed} malformed, {self.ignored} ignored"
        )


class BotDetector:
    """Two maintained lists, cached per user agent (logs repeat a few thousand agents across
    millions of lines): `crawler-user-agents`, then Matomo Device Detector's bots and feed
    readers (the `device_detector` package's own lists, matched as Matomo matches them), which
    name what the first misses: feed readers (UniversalFeedParser, Tiny Tiny RSS, Digg's
    fetcher...), which on a real blog's log were a fifth of the counted views."""

    def __init__(self) -> None:
        from crawleruseragents import is_crawler

        self._is_crawler = is_crawler
        self._matomo: Any = None
        self._known: dict[str, bool] = {}

    def __call__(self, agent: str) -> bool:
        verdict = self._known.get(agent)
        if verdict is None:
            verdict = self._known[agent] = (
                not agent
                or agent == "-"
                or bool(self._is_crawler(agent))
                or self._matomo_bot(agent)
            )
        return verdict

    def _matomo_bot(self, agent: str) -> bool:
        if self._matomo is None:
            self._matomo = matomo_bots()
        return self._matomo.search(agent) is not None


def matomo_bots() -> Any:
    """One pattern for Matomo's bots.yml and feed_readers.yml (shipped by the maintained
    `device_detector` package), with Matomo's own prefix and case rule; compiled with the
    `regex` module, which has the variable-width look-behinds the lists use."""
    import os

    import device_detector
    import regex
    import yaml

    folder = os.path.join(os.path.dirname(device_detector.__file__), "regexes", "upstream")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    entries = []
    for name in ("bots.yml", os.path.join("client", "feed_readers.yml")):
        with open(os.path.join(folder, name), encoding="utf-8") as stream:
            entries += yaml.load(stream, Loader=loader)
    alternatives = "|".join(f"(?:{entry['regex']})" for entry in entries)
    return regex.compile(
        rf"(?:^|[^A-Z0-9_-]|[^A-Z0-9-]_|sprd-|MZ-)(?:{alternatives})", regex.IGNORECASE
    )


MOBILE = re.compile(r"Mobi|iPhone|iPod|Windows Phone|Opera Mini", re.I)
TABLET = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|Android(?!.*Mobi)", re.I)


def device_class(agent: str) -> str:
    """desktop, mobile or tablet: the rule browsers' own documentation gives for this (MDN,
    "Browser detection using the user agent": `Mobi` means a phone, an Android without it a
    tablet). A maintained parser (Matomo's Device Detector) takes ~15 ms per distinct agent,
    minutes on a real log; three classes need no more than this."""
    if TABLET.search(agent):
        return "tablet"
    return "mobile" if MOBILE.search(agent) else "desktop"


def referrer_host(referrer: str) -> str:
    """The host of an http(s) referrer, nothing else of it ('' for none or `-`)."""
    if not referrer.startswith(("http://", "https://")):
        return ""
    return referrer.split("/", 3)[2].rsplit("@", 1)[-1].split(":", 1)[0].lower()


def utm_source(query: str) -> str:
    for key, value in _query_pairs(query):
        if key == "utm_source":
            return value[:100]
    return ""


PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml", ".php")
"""Files that are pages (besides folder URLs and names without an extension)."""
FEED_NAMES = frozenset({"feed", "rss", "atom", "rss.xml", "atom.xml", "index.xml", "feed.xml"})
FEED_FORMAT = re.compile(r"(?:^|&)(?:flav|feed|format|type)=[^&]*(?:rss|atom|rdf|xml)", re.I)
"""A query asking a page's URL for its feed (`?flav=rss20`, `?feed=rss2`, `?format=atom`)."""


def _page_path(path: str, query: str = "") -> str | None:
    """The page a request path names, or None for anything that is not an HTML page (an
    asset, a feed: `/feed/`, `/blog?flav=rss20`)."""
    if query and FEED_FORMAT.search(query):
        return None
    for index in ("/index.html", "/index.htm", "/index.xhtml"):
        if path.endswith(index):
            path = path[: -len(index) + 1]
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last.lower() in FEED_NAMES:
        return None
    if path.endswith("/") or path.lower().endswith(PAGE_SUFFIXES) or "." not in last:
        return path if path.endswith("/") or path.lower().endswith(PAGE_SUFFIXES) else path + "/"
    return None


def _milliseconds(text: str) -> int:
    """The pixel's `t`; 0 when absent or not a plausible time in ms (a page that sent
    garbage still counts, without its sub-second order)."""
    return int(text) if text.isdigit() and len(text) <= 15 else 0


def _query_pairs(query: str) -> Iterator[tuple[str, str]]:
    """`parse_qsl` for the runtime's own pixel queries, several times faster: only values
    that need decoding are decoded."""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        yield key, value


class Ingest:
    def __init__(self, store: EventStore, site: str) -> None:
        self.store = store
        self.site = site
        self.report = IngestReport()
        self.is_bot = BotDetector()
        self.devices: dict[str, str] = {}
        self.batch: list[tuple[Any, ...]] = []
        self.log_rows: list[tuple[str, str]] | None = []
        """(event id, visitor) of each HTML hit stored as a view (None: too many to keep),
        dropped again if the log turns out to have pixel requests."""
        self.visitors: dict[tuple[str, str], str] = {}
        """Visitor hash per (IP, user agent) seen."""
        self.pixel_visitors: set[str] = set()
        self.html_hits: dict[str, int] = {}
        """HTML page hits per visitor hash, counted once the log has shown pixel requests."""
        self.ingest_id = 0

    def _visitor_hash(self, ip: str, agent: str) -> str:
        key = (ip, agent)
        found = self.visitors.get(key)
        if found is None:
            if len(self.visitors) >= VISITOR_CACHE:
                self.visitors.clear()  # bounded: a log of mostly new visitors gains nothing
            digest = hashlib.sha256(f"{self.store.salt}\0{ip}\0{agent}".encode())
            found = self.visitors[key] = "h" + digest.hexdigest()[:20]
        return found

    def _flush(self) -> None:
        if self.batch:
            # In key order: neighbouring inserts land on the same pages of the store's
            # B-tree (keys are hashes), a quarter faster than in log order.
            self.batch.sort(key=itemgetter(0))
            new = self.store.add_rows(self.batch)
            self.report.events += new
            self.report.duplicates += len(self.batch) - new
            self.batch = []

    def _add(self, event: Event) -> None:
        self._row(event.row(self.ingest_id))

    def _row(self, row: tuple[Any, ...]) -> None:
        """One event, as a row of the store (its columns in `EVENT_COLUMNS` order)."""
        self.batch.append(row)
        if len(self.batch) >= BATCH:
            self._flush()

    def _device(self, agent: str) -> str:
        found = self.devices.get(agent)
        if found is None:
            found = self.devices[agent] = device_class(agent)
        return found

    def _malformed(self, where: str, reason: str) -> None:
        self.report.malformed += 1
        if len(self.report.malformed_lines) < SHOWN_MALFORMED:
            self.report.malformed_lines.append(f"{where}: {reason}")

    def access_log(self, path: Path) -> None:
        """The hot loop: a line is matched once; only a line that becomes an event is
        hashed; visitors, devices, bot verdicts and times are cached."""
        report = self.report
        site = self.site
        is_bot = self.is_bot
        fast, full = FAST_LINE.match, LINE.match
        for number, line in read_lines(path):
            report.lines += 1
            match = fast(line) or full(line)
            if match is None:
                self._malformed(f"{path}:{number}", "not in combined log format")
                continue
            ip, stamp, method, target, _, status, _, referrer, agent = match.groups()
            agent = agent or ""
            if method == "HEAD" or is_bot(agent):
                report.bots += 1
                continue
            try:
                moment = parse_time(stamp)
            except MalformedLine as error:
                self._malformed(f"{path}:{number}", str(error))
                continue
            request_path, _, query = target.partition("?")
            if request_path.lstrip("/") == PIXEL_PATH:
                self._pixel(
                    moment,
                    query,
                    line,
                    self._visitor_hash(ip, agent),
                    f"{path}:{number}",
                    self._device(agent),
                )
                continue
            page = _page_path(unquote(request_path), query)
            if (
                method != "GET"
                or int(status) not in PAGE_STATUSES
                or page is None
                or page == "/robots.txt/"
            ):
                report.ignored += 1
                continue
            visitor = self._visitor_hash(ip, agent)
            if report.pixel_hits:
                # This log has pixel requests, so its HTML hits are not events (see finish);
                # only who made them matters.
                self.html_hits[visitor] = self.html_hits.get(visitor, 0) + 1
                continue
            event_id = hashlib.sha256(f"{site}\0{line}".encode()).hexdigest()[:32]
            if self.log_rows is not None:
                if len(self.log_rows) < LOG_ROWS_KEPT:
                    self.log_rows.append((event_id, visitor))
                else:
                    self.log_rows = None
            self._row(
                (
                    event_id,
                    site,
                    moment,
                    "view",
                    page,
                    "",
                    "",
                    visitor,
                    "",
                    "",
                    "log",
                    "",
                    0,
                    referrer_host(referrer or ""),
                    utm_source(query) if "utm_" in query else "",
                    self._device(agent),
                    self.ingest_id,
                )
            )

    def _pixel(
        self, time: float, query: str, line: str, visitor_hash: str, where: str, device: str
    ) -> None:
        values = {}
        for pair in query.split("&"):
            key, _, value = pair.partition("=")
            values[key] = unquote_plus(value) if "%" in value or "+" in value else value
        kind, page, visitor = values.get("e"), values.get("p"), values.get("u")
        if kind not in EVENT_TYPES or not page or not visitor:
            self._malformed(where, "pixel request without a known event type, page and visitor")
            return
        self.report.pixel_hits += 1
        self.pixel_visitors.add(visitor_hash)
        get = values.get
        referrer = get("r")
        self._row(
            (
                hashlib.sha256(f"{self.site}\0{line}".encode()).hexdigest()[:32],
                self.site,
                time,
                kind,
                page,
                get("v", ""),
                get("b", ""),
                visitor,
                get("s", ""),
                get("x", ""),
                "pixel",
                get("g", ""),
                _milliseconds(get("t", "")),
                referrer_host("https://" + referrer) if referrer else "",
                get("m", "")[:100],
                device,
                self.ingest_id,
            )
        )

    def jsonl(self, path: Path) -> None:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, start=1):
                self.report.lines += 1
                if not line.strip():
                    self.report.ignored += 1
                    continue
                try:
                    event = self._jsonl_event(json.loads(line))
                except (ValueError, TypeError, KeyError) as error:
                    self._malformed(
                        f"{path}:{number}",
                        f"expected a JSON event object with time, type, page and visitor ({error})",
                    )
                    continue
                if event is None:
                    self.report.ignored += 1
                else:
                    self._add(event)

    def _jsonl_event(self, data: dict[str, Any]) -> Event | None:
        if not isinstance(data, dict):
            raise TypeError("not an object")
        if data.get("site", self.site) != self.site:
            return None
        time = data["time"]
        if isinstance(time, str):
            time = dt.datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp()
        if not isinstance(time, (int, float)) or data["type"] not in EVENT_TYPES:
            raise ValueError(f"time {data['time']!r} or type {data['type']!r}")
        text = {
            key: str(data.get(key, ""))
            for key in ("page", "visitor", "session", "variant", "build", "detail")
        }
        client_ms = data.get("client_ms", 0)
        referrer = str(data.get("referrer", ""))
        if referrer and "://" not in referrer:
            referrer = "https://" + referrer
        segments = data.get("segments", [])
        segments = ".".join(segments) if isinstance(segments, list) else str(segments)
        if not text["page"] or not text["visitor"]:
            raise ValueError("empty page or visitor")
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        event_id = hashlib.sha256(f"{self.site}\0jsonl\0{canonical}".encode()).hexdigest()[:32]
        return Event(
            event_id,
            self.site,
            float(time),
            data["type"],
            text["page"],
            text["variant"],
            text["build"],
            text["visitor"],
            text["session"],
            text["detail"],
            "jsonl",
            segments,
            client_ms if isinstance(client_ms, int) and client_ms >= 0 else 0,
            referrer_host(referrer),
            str(data.get("utm_source", data.get("utm", "")))[:100],
            str(data.get("device", "")) if data.get("device") in DEVICES else "",
        )

    def finish(self) -> None:
        self._flush()
        if self.report.pixel_hits:
            # With the pixel in use, HTML hits in the same log are the same views again:
            # drop them. A visitor whose HTML hits never came with a pixel request ran no
            # JavaScript at all: a bot.
            connection = self.store.connection
            if self.log_rows is not None:
                # The few HTML hits stored before the log showed its first pixel request,
                # deleted by key (only those this ingest added: a hit stored by an earlier
                # ingest stays): no scan of the whole store.
                bots = dropped = 0
                for event_id, visitor in self.log_rows:
                    if q.LOG_HIT_DELETE(connection, event_id, self.ingest_id).rowcount:
                        dropped += 1
                        bots += visitor not in self.pixel_visitors
            else:  # too many to keep in memory: by the ingest's id, scanning the store
                q.PIXEL_VISITORS_CREATE(connection)
                q.PIXEL_VISITORS_CLEAR(connection)
                q.PIXEL_VISITORS_INSERT.many(connection, [(v,) for v in self.pixel_visitors])
                bots = q.LOG_HITS_WITHOUT_PIXEL(connection, self.ingest_id).fetchone()[0]
                dropped = q.LOG_HITS_DELETE(connection, self.ingest_id).rowcount
            self.report.bots += bots
            self.report.ignored += dropped - bots
            self.report.events -= dropped
            for visitor, hits in self.html_hits.items():
                if visitor in self.pixel_visitors:
                    self.report.ignored += hits
                else:
                    self.report.bots += hits
        self.store.finish_ingest(self.ingest_id, self.report.counts())


def ingest(
    store: EventStore, site: str, access_logs: list[Path], jsonl: list[Path]
) -> IngestReport:
    """Read every file into the store; the same lines read again add nothing."""
    run = Ingest(store, site)
    run.ingest_id = store.begin_ingest(site, [str(p) for p in [*access_logs, *jsonl]])
    for path in access_logs:
        run.access_log(path)
    for path in jsonl:
        run.jsonl(path)
    run.finish()
    return run.report
