"""`sitegen analytics copy`: one environment's events store copied into another's through
sanitization rules, so that staging gets realistic traffic without production's identities.

What the copy does to every event (the rules file tunes the query allow-list, withdrawn
visitors, the date shift and sampling):

- **re-salt**: visitor, session and event ids are replaced by keyed hashes under a salt made
  for this copy and thrown away: nothing in the copy joins back to production;
- **query**: a query string in a page or detail keeps only the allow-listed parameters
  (`utm_*` by default);
- **scrub**: e-mail addresses, tokens (long runs of letters and digits, `token=`/`key=`
  style values) and long numbers are removed from every text field;
- **withdrawn**: every event of a visitor who withdrew consent (their ids, listed in the
  rules) is dropped;
- **shift_days** moves every time by whole days; **sample** keeps that share of visitors
  (chosen by their new hash, so each copy samples different visitors).

The events store keeps no user agent (only the device class) and no IP address, so there is
nothing more to reduce. The summary (rows in and out, fields changed per rule) is printed and
written into the copy's metadata under `sanitized`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from generator import events as q
from generator.errors import ConfigError, Location, SitegenError, suggest

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
TOKEN = re.compile(
    r"(?i)\b(?:token|key|secret|password|passwd|auth|session|sid|code)=[^&\s]*"
    r"|\b[A-Za-z]+_[A-Za-z0-9]{16,}\b"
    r"|\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}\b"
)
"""A credential in a query, a prefixed key (`tok_...`, `sk_...`), or a run of 20+ letters
and digits mixed (a token, a hash); a slug such as `2026-11-30-new-boots` is none of these."""
LONG_NUMBER = re.compile(r"\d{6,}")
REMOVED = "x"
RULES = ("query_allow", "withdrawn", "shift_days", "sample")
TEXT_FIELDS = ("page", "variant", "build", "detail", "segments", "referrer", "utm")


@dataclass(frozen=True)
class Rules:
    query_allow: tuple[str, ...] = ("utm_*",)
    withdrawn: frozenset[str] = frozenset()
    shift_days: int = 0
    sample: float = 1.0


def load_rules(path: Path | None) -> Rules:
    """The rules file (YAML: any of `query_allow`, `withdrawn`, `shift_days`, `sample`);
    an unknown rule or a wrong value names the file and line."""
    if path is None:
        return Rules()
    from generator.config.sourced_yaml import load_sourced_yaml

    display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"cannot read the rules: {error.strerror}", Location(display, 0)
        ) from None
    document = load_sourced_yaml(text, display)
    data = document.data if isinstance(document.data, dict) else {}
    for key in data:
        if key not in RULES:
            raise ConfigError(
                f"unknown rule '{key}'; expected one of {', '.join(RULES)}" + suggest(key, RULES),
                document.locations.get((key,), Location(display, 1)),
            )

    def fail(key: str, expected: str) -> ConfigError:
        return ConfigError(
            f"rule '{key}': expected {expected}, got {data[key]!r}",
            document.locations.get((key,), Location(display, 1)),
        )

    rules = Rules()
    allow = data.get("query_allow", list(rules.query_allow))
    if not isinstance(allow, list) or not all(isinstance(item, str) for item in allow):
        raise fail("query_allow", "a list of parameter names or globs, e.g. [utm_*]")
    withdrawn = data.get("withdrawn", [])
    if not isinstance(withdrawn, list) or not all(isinstance(item, str) for item in withdrawn):
        raise fail("withdrawn", "a list of visitor ids")
    shift = data.get("shift_days", 0)
    if isinstance(shift, bool) or not isinstance(shift, int):
        raise fail("shift_days", "a whole number of days")
    sample = data.get("sample", 1.0)
    if isinstance(sample, bool) or not isinstance(sample, (int, float)) or not 0 < sample <= 1:
        raise fail("sample", "a share of visitors above 0 and at most 1, e.g. 0.1")
    return Rules(tuple(allow), frozenset(withdrawn), shift, float(sample))


@dataclass
class Summary:
    rows_in: int = 0
    rows_out: int = 0
    changed: Counter[str] = field(default_factory=Counter)
    """Rule -> fields it changed (or, for withdrawn and sample, rows it dropped)."""

    def text(self) -> str:
        rules = ", ".join(f"{rule} {count}" for rule, count in sorted(self.changed.items()))
        return f"{self.rows_in} events in, {self.rows_out} out; changed: {rules or 'nothing'}"

    def to_json(self) -> dict[str, Any]:
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "changed": dict(self.changed)}


class Sanitizer:
    def __init__(self, rules: Rules, salt: bytes | None = None) -> None:
        self.rules = rules
        self.salt = salt or secrets.token_bytes(32)
        self.summary = Summary()

    def keyed(self, value: str, prefix: str) -> str:
        if not value:
            return value
        digest = hmac.new(self.salt, value.encode(), hashlib.sha256).hexdigest()
        return prefix + digest[:20]

    def row(self, row: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One event (EVENT_COLUMNS without `ingest`), sanitized, or None to drop it."""
        self.summary.rows_in += 1
        event = dict(zip(q.EVENT_COLUMNS[:-1], row, strict=True))
        if event["visitor"] in self.rules.withdrawn:
            self.summary.changed["withdrawn"] += 1
            return None
        visitor = self.keyed(event["visitor"], "s")
        if self.rules.sample < 1 and int(visitor[1:9], 16) / 0xFFFFFFFF >= self.rules.sample:
            self.summary.changed["sample"] += 1
            return None
        event["id"] = self.keyed(event["id"], "")
        event["visitor"], event["session"] = visitor, self.keyed(event["session"], "t")
        self.summary.changed["resalt"] += 1
        if self.rules.shift_days:
            event["time"] = float(event["time"]) + self.rules.shift_days * 86400
            self.summary.changed["shift_days"] += 1
        for name in ("page", "detail"):
            kept = self._query(event[name])
            if kept != event[name]:
                event[name] = kept
                self.summary.changed["query"] += 1
        for name in TEXT_FIELDS:
            value = event[name]
            if isinstance(value, str) and value:
                scrubbed = LONG_NUMBER.sub(REMOVED, TOKEN.sub(REMOVED, EMAIL.sub(REMOVED, value)))
                if scrubbed != value:
                    event[name] = scrubbed
                    self.summary.changed["scrub"] += 1
        self.summary.rows_out += 1
        return tuple(event[name] for name in q.EVENT_COLUMNS[:-1])

    def _query(self, text: str) -> str:
        path, mark, query = text.partition("?")
        if not mark:
            return text
        kept = [
            pair
            for pair in query.split("&")
            if any(
                fnmatchcase(pair.partition("=")[0], allowed) for allowed in self.rules.query_allow
            )
        ]
        return path + ("?" + "&".join(kept) if kept else "")


def copy_events(source: Path, destination: Path, rules: Rules, dry_run: bool = False) -> Summary:
    """Every event of `source` through the sanitizer into a new store at `destination`
    (replacing one there only once the copy is complete: a failed copy leaves it as it
    was)."""
    from generator.analytics.store import EventStore

    sanitizer = Sanitizer(rules)
    if dry_run:
        for _ in _sanitized(source, sanitizer):
            pass
        _require_events(source, sanitizer.summary)
        return sanitizer.summary
    temporary = destination.with_name(destination.name + ".sitegen-copy")
    _remove(temporary)
    store = EventStore(temporary)
    try:
        _write(store, _sanitized(source, sanitizer), sanitizer.summary, source.name)
        _require_events(source, sanitizer.summary)
    except BaseException:
        store.close()
        _remove(temporary)
        raise
    store.close()
    _remove(destination)
    temporary.replace(destination)
    return sanitizer.summary


def _sanitized(source: Path, sanitizer: Sanitizer) -> Iterator[tuple[Any, ...]]:
    from generator.events import snapshot

    with snapshot(source) as connection:
        for row in q.EXPORT_ALL(connection):
            clean = sanitizer.row(tuple(row))
            if clean is not None:
                yield clean


def _write(store: Any, rows: Iterator[tuple[Any, ...]], summary: Summary, name: str) -> None:
    ingests: dict[str, int] = {}
    written: Counter[str] = Counter()
    batch: list[tuple[Any, ...]] = []
    for clean in rows:
        site = clean[1]
        if site not in ingests:
            ingests[site] = store.begin_ingest(site, [f"sanitized copy of {name}"])
        written[site] += 1
        batch.append((*clean, ingests[site]))
        if len(batch) >= 5000:
            store.add_rows(batch)
            batch = []
    if batch:
        store.add_rows(batch)
    q.META_INSERT(store.connection, "sanitized", json.dumps(summary.to_json()))
    for site, ingest in ingests.items():  # each site's row counts its own events
        store.finish_ingest(ingest, _counts(written[site]))
    store.connection.commit()


def _require_events(source: Path, summary: Summary) -> None:
    if summary.rows_in == 0:
        raise SitegenError(f"{source}: the events store holds no events to copy")


def _remove(path: Path) -> None:
    """A store file and its write-ahead log."""
    for found in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        found.unlink(missing_ok=True)


def _counts(events: int) -> dict[str, int]:
    """An ingests row for a site's copied events (what was dropped is in `sanitized`)."""
    return {
        "lines": events,
        "events": events,
        "duplicates": 0,
        "bots": 0,
        "malformed": 0,
        "ignored": 0,
    }
