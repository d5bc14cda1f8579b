"""`sitegen analytics ingest`: access logs and JSONL exports into the events store.

Every input line ends up counted exactly once: as an event (new, or a duplicate of one
already stored), a bot, a malformed line, or ignored (a stylesheet, an image, an error
status, a page view already counted by the pixel). Files are streamed; memory grows with the
number of distinct visitors and user agents, not with the number of lines. With enough
input, worker processes parse it (files, and ranges of large plain logs) while the
ingesting process writes; the store keeps visits up to date as it goes (visits.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

from generator import events as q
from generator.analytics.logs import (
    FAST_LINE,
    LINE,
    MalformedLine,
    is_compressed,
    parse_time,
    read_lines,
)
from generator.analytics.pixel import PIXEL_PATH
from generator.analytics.store import Event, EventStore

BATCH = 5000
LOG_ROWS_KEPT = 200_000
"""HTML hits stored as views that ingest remembers, to delete by key if pixel requests follow."""
VISITOR_CACHE = 50_000
"""Visitor hashes kept (per IP and agent) before the cache starts over."""
SHOWN_MALFORMED = 20
PAGE_STATUSES = frozenset({"200", "304"})
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


Who = tuple[str, str]
"""A visitor of a plain log as the log names them: (IP address, user agent). Never stored."""


def visitor_hash(salt: str, ip: str, agent: str) -> str:
    """What the store keeps of a plain log's visitor: a salted hash of IP and agent."""
    return "h" + hashlib.sha256(f"{salt}\0{ip}\0{agent}".encode()).hexdigest()[:20]


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


@cache
def matomo_bots() -> Any:
    """One pattern for Matomo's bots.yml and feed_readers.yml (shipped by the maintained
    `device_detector` package), with Matomo's own prefix and case rule; compiled with the
    `regex` module, which has the variable-width look-behinds the lists use. Once per
    process (half a second)."""
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
    """What one stretch of input (a file, or a byte range of a plain log) adds: rows for
    the store, handed to `sink` in batches, and what `finish` needs to settle the HTML hits
    of logs that also hold pixel requests. Runs in the ingesting process, or in a worker
    process that parses while the ingesting process writes (`ingest(..., jobs=N)`)."""

    def __init__(
        self, site: str, salt: str, ingest_id: int, sink: Callable[[list[tuple[Any, ...]]], None]
    ) -> None:
        self.site = site
        self.salt = salt
        self.ingest_id = ingest_id
        self.sink = sink
        self.report = IngestReport()
        self.is_bot = BotDetector()
        self.agents: dict[str, tuple[str, bool, str]] = {}
        """Per user agent: the agent (one string object for all its lines), whether it is a
        bot, its device class."""
        self.batch: list[tuple[Any, ...]] = []
        self.log_rows: list[tuple[str, Who]] | None = []
        """(event id, who) of each HTML hit stored as a view (None: too many to keep),
        dropped again if the log turns out to have pixel requests."""
        self.visitors: dict[Who, str] = {}
        """Visitor hash per (IP, user agent) seen."""
        self.pixel_visitors: set[Who] = set()
        self.html_hits: dict[Who, int] = {}
        """HTML page hits per (IP, user agent), counted once the log has shown pixel requests
        (who sent pixel requests is kept unhashed, in memory only: hashing is for what is
        stored)."""
        self.malformed: list[tuple[str, int, str]] = []
        """(file, line number within what this run read, reason) of the first malformed lines."""

    def _visitor_hash(self, ip: str, agent: str) -> str:
        key = (ip, agent)
        found = self.visitors.get(key)
        if found is None:
            if len(self.visitors) >= VISITOR_CACHE:
                self.visitors.clear()  # bounded: a log of mostly new visitors gains nothing
            found = self.visitors[key] = visitor_hash(self.salt, ip, agent)
        return found

    def _flush(self) -> None:
        if self.batch:
            # In key order: neighbouring inserts land on the same pages of the store's
            # B-tree (keys are hashes), a quarter faster than in log order.
            self.batch.sort(key=itemgetter(0))
            self.sink(self.batch)
            self.batch = []

    def _add(self, event: Event) -> None:
        self._row(event.row(self.ingest_id))

    def _row(self, row: tuple[Any, ...]) -> None:
        """One event, as a row of the store (its columns in `EVENT_COLUMNS` order)."""
        self.batch.append(row)
        if len(self.batch) >= BATCH:
            self._flush()

    def _agent(self, agent: str) -> tuple[str, bool, str]:
        found = self.agents[agent] = (agent, self.is_bot(agent), device_class(agent))
        return found

    def _malformed(self, path: Path, number: int, reason: str) -> None:
        self.report.malformed += 1
        if len(self.malformed) < SHOWN_MALFORMED:
            self.malformed.append((str(path), number, reason))

    def access_log(self, path: Path, start: int = 0, end: int | None = None) -> None:
        """The hot loop: a line is matched once; only a line that becomes an event is
        hashed; visitors, devices, bot verdicts and times are cached. `start`/`end`: the
        byte range of a plain log to read (the lines that start in it)."""
        report = self.report
        site = self.site
        agents = self.agents
        fast, full = FAST_LINE.match, LINE.match
        for number, line in read_lines(path, start, end):
            report.lines += 1
            match = fast(line) or full(line)
            if match is None:
                self._malformed(path, number, "not in combined log format")
                continue
            ip, stamp, method, target, _, status, _, referrer, agent = match.groups()
            agent, bot, device = agents.get(agent or "") or self._agent(agent or "")
            if bot or method == "HEAD":
                report.bots += 1
                continue
            try:
                moment = parse_time(stamp)
            except MalformedLine as error:
                self._malformed(path, number, str(error))
                continue
            request_path, _, query = target.partition("?")
            if request_path.lstrip("/") == PIXEL_PATH:
                self._pixel(moment, query, line, (ip, agent), path, number, device)
                continue
            if method != "GET" or status not in PAGE_STATUSES:
                report.ignored += 1
                continue
            page = _page_path(unquote(request_path), query)
            if page is None or page == "/robots.txt/":
                report.ignored += 1
                continue
            if report.pixel_hits:
                # This log has pixel requests, so its HTML hits are not events (see finish);
                # only who made them matters.
                who = (ip, agent)
                self.html_hits[who] = self.html_hits.get(who, 0) + 1
                continue
            event_id = hashlib.sha256(f"{site}\0{line}".encode()).hexdigest()[:32]
            visitor = self._visitor_hash(ip, agent)
            if self.log_rows is not None:
                if len(self.log_rows) < LOG_ROWS_KEPT:
                    self.log_rows.append((event_id, (ip, agent)))
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
                    device,
                    self.ingest_id,
                )
            )

    def _pixel(
        self,
        time: float,
        query: str,
        line: str,
        who: Who,
        path: Path,
        number: int,
        device: str,
    ) -> None:
        values = {}
        for pair in query.split("&"):
            key, _, value = pair.partition("=")
            values[key] = unquote_plus(value) if "%" in value or "+" in value else value
        kind, page, visitor = values.get("e"), values.get("p"), values.get("u")
        if kind not in EVENT_TYPES or not page or not visitor:
            self._malformed(
                path, number, "pixel request without a known event type, page and visitor"
            )
            return
        self.report.pixel_hits += 1
        self.pixel_visitors.add(who)
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
                        path,
                        number,
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

    def parsed(self) -> Parsed:
        """What the ingesting process needs of this run besides its rows."""
        self._flush()
        return Parsed(
            self.report, self.malformed, self.pixel_visitors, self.html_hits, self.log_rows
        )


@dataclass
class Parsed:
    report: IngestReport
    malformed: list[tuple[str, int, str]]
    pixel_visitors: set[Who]
    html_hits: dict[Who, int]
    log_rows: list[tuple[str, Who]] | None


@dataclass(frozen=True)
class Piece:
    """What one run reads: a JSONL file, a log, or the lines starting in a byte range of a
    plain log (`end` None: to its end)."""

    path: Path
    kind: str
    start: int = 0
    end: int | None = None

    def read(self, run: Ingest) -> None:
        if self.kind == "jsonl":
            run.jsonl(self.path)
        else:
            run.access_log(self.path, self.start, self.end)


def pieces(access_logs: list[Path], jsonl: list[Path], size: int) -> list[Piece]:
    """The input cut into pieces for workers: a plain log into ranges of `size` bytes, a
    compressed log or a JSONL file whole."""
    found = []
    for path in access_logs:
        length = path.stat().st_size
        if is_compressed(path) or length <= size:
            found.append(Piece(path, "log"))
            continue
        for start in range(0, length, size):
            found.append(Piece(path, "log", start, min(start + size, length)))
    return found + [Piece(path, "jsonl") for path in jsonl]


class Settlement:
    """The ingesting process's side: rows into the store, the runs' counts and findings
    merged in input order, and at the end the HTML hits of logs with pixel requests settled."""

    def __init__(self, store: EventStore, ingest_id: int) -> None:
        self.store = store
        self.ingest_id = ingest_id
        self.report = IngestReport()
        self.pixel_visitors: set[Who] = set()
        self.html_hits: dict[Who, int] = {}
        self.log_rows: list[tuple[str, Who]] | None = []
        self.lines_before: dict[str, int] = {}
        """Lines of each file in the pieces merged so far (to number a later piece's lines)."""

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        new = self.store.add_rows(rows)
        self.report.events += new
        self.report.duplicates += len(rows) - new

    def merge(self, parsed: Parsed, piece: Piece | None = None) -> None:
        """Add a run's counts; `piece`: the run read only that piece (its line numbers count
        from the piece's first line)."""
        report, found = self.report, parsed.report
        before = self.lines_before.get(str(piece.path), 0) if piece else 0
        for path, number, reason in parsed.malformed:
            if len(report.malformed_lines) < SHOWN_MALFORMED:
                report.malformed_lines.append(f"{path}:{before + number}: {reason}")
        if piece is not None:
            self.lines_before[str(piece.path)] = before + found.lines
        report.lines += found.lines
        report.bots += found.bots
        report.malformed += found.malformed
        report.ignored += found.ignored
        report.pixel_hits += found.pixel_hits
        self.pixel_visitors |= parsed.pixel_visitors
        for visitor, hits in parsed.html_hits.items():
            self.html_hits[visitor] = self.html_hits.get(visitor, 0) + hits
        if self.log_rows is not None and parsed.log_rows is not None:
            self.log_rows += parsed.log_rows
            if len(self.log_rows) > LOG_ROWS_KEPT:
                self.log_rows = None
        else:
            self.log_rows = None

    def finish(self) -> None:
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
                deleted: set[str] = set()
                for event_id, who in self.log_rows:
                    if q.LOG_HIT_DELETE(connection, event_id, self.ingest_id).rowcount:
                        dropped += 1
                        bots += who not in self.pixel_visitors
                        deleted.add(event_id)
                taken: set[str] | None = deleted
            else:  # too many to keep in memory: by the ingest's id, scanning the store
                q.PIXEL_VISITORS_CREATE(connection)
                q.PIXEL_VISITORS_CLEAR(connection)
                salt = self.store.salt
                q.PIXEL_VISITORS_INSERT.many(
                    connection, [(visitor_hash(salt, *who),) for who in self.pixel_visitors]
                )
                bots = q.LOG_HITS_WITHOUT_PIXEL(connection, self.ingest_id).fetchone()[0]
                dropped = q.LOG_HITS_DELETE(connection, self.ingest_id).rowcount
                taken = None
            if dropped:
                self.store.visits.taken_back(taken)
            self.report.bots += bots
            self.report.ignored += dropped - bots
            self.report.events -= dropped
            for who, hits in self.html_hits.items():
                if who in self.pixel_visitors:
                    self.report.ignored += hits
                else:
                    self.report.bots += hits
        self.store.finish_ingest(self.ingest_id, self.report.counts())


PIECE_BYTES = 32 * 2**20
"""A plain log is read by workers in ranges of this many bytes (about 130,000 lines)."""
PARALLEL_BYTES = 8 * 2**20
"""Less input than this is read in the ingesting process: starting workers costs more."""


def _parse(piece: Piece, site: str, salt: str, ingest_id: int, out: str) -> Parsed:
    """A worker's job: read `piece`, its rows pickled in batches to the file `out`."""
    with open(out, "wb") as stream:
        run = Ingest(
            site, salt, ingest_id, lambda rows: pickle.dump(rows, stream, pickle.HIGHEST_PROTOCOL)
        )
        piece.read(run)
        return run.parsed()


def _stored_rows(path: Path) -> Iterator[list[tuple[Any, ...]]]:
    with open(path, "rb") as stream:
        while True:
            try:
                yield pickle.load(stream)
            except EOFError:
                return


def ingest(
    store: EventStore,
    site: str,
    access_logs: list[Path],
    jsonl: list[Path],
    jobs: int = 1,
    piece_bytes: int = PIECE_BYTES,
) -> IngestReport:
    """Read every file into the store, in one transaction; the same lines read again add
    nothing. `jobs` worker processes (0: one per core) parse pieces of the input (files, and
    ranges of large plain logs) while this process writes what they found, in input order;
    the result is the same as with one."""
    work = pieces(access_logs, jsonl, piece_bytes)
    ingest_id = store.begin_ingest(site, [str(p) for p in [*access_logs, *jsonl]])
    settlement = Settlement(store, ingest_id)
    workers = min(jobs or os.cpu_count() or 1, len(work))
    size = sum(path.stat().st_size for path in [*access_logs, *jsonl])
    if workers <= 1 or size < PARALLEL_BYTES:
        run = Ingest(site, store.salt, ingest_id, settlement.insert)
        for piece in work:
            piece.read(run)
        settlement.merge(run.parsed())
    else:
        # Spawned, not forked: this process holds the store open inside a transaction.
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            with tempfile.TemporaryDirectory(prefix="sitegen-ingest-") as folder:
                outs = [Path(folder) / f"{number}.pickle" for number in range(len(work))]
                futures = [
                    pool.submit(_parse, piece, site, store.salt, ingest_id, str(out))
                    for piece, out in zip(work, outs, strict=True)
                ]
                for piece, out, future in zip(work, outs, futures, strict=True):
                    parsed = future.result()
                    for rows in _stored_rows(out):
                        settlement.insert(rows)
                    out.unlink()
                    settlement.merge(parsed, piece)
        finally:
            pool.shutdown(cancel_futures=True)
    settlement.finish()
    return settlement.report
