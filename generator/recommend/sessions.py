"""Click sessions: reading them, and the clean-up every model and metric shares."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import Location, SitegenError


@dataclass(frozen=True, slots=True)
class Session:
    """One visitor session: the items (pages) viewed, in order."""

    id: str
    start: float
    """Time of the first click (seconds since the epoch)."""
    items: tuple[str, ...]


def collapse_reloads(items: Iterable[str]) -> tuple[str, ...]:
    """Drop a click on the item just viewed (a reload, or a double click)."""
    collapsed: list[str] = []
    for item in items:
        if not collapsed or collapsed[-1] != item:
            collapsed.append(item)
    return tuple(collapsed)


COLUMNS = ("SessionId", "ItemId", "Time")


def read_session_file(path: Path) -> list[Session]:
    """`SessionId<TAB>ItemId<TAB>Time` with a header line, as in the RecSys 2015 data and
    session-rec's prepared files. Sessions come back ordered by start time, clicks by time."""
    clicks: dict[str, list[tuple[float, int, str]]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream, delimiter="\t")
            header = next(reader, None)
            names = [h.strip() for h in header or []]
            if names != list(COLUMNS):
                unknown = [name for name in names if name not in COLUMNS]
                raise SitegenError(
                    "expected a header line 'SessionId<TAB>ItemId<TAB>Time'"
                    + (f"; unknown column '{unknown[0]}'" if unknown else f", got {names}"),
                    Location(str(path), 1),
                )
            for number, row in enumerate(reader, start=2):
                if not row:
                    continue  # a blank line
                if len(row) != 3:
                    raise SitegenError(
                        f"expected 3 tab-separated fields, got {len(row)}",
                        Location(str(path), number),
                    )
                if not row[0].strip() or not row[1].strip():
                    raise SitegenError(
                        "expected a session id and an item id, got an empty field",
                        Location(str(path), number),
                    )
                try:
                    time = float(row[2])
                except ValueError:
                    raise SitegenError(
                        f"expected a time in seconds, got {row[2]!r}", Location(str(path), number)
                    ) from None
                clicks.setdefault(row[0], []).append((time, number, row[1]))
    except OSError as error:
        raise SitegenError(f"cannot read: {error.strerror}", Location(str(path), 0)) from None
    if not clicks:
        raise SitegenError("expected clicks after the header, found none", Location(str(path), 2))
    sessions = [
        Session(id, min(c[0] for c in found), tuple(item for _, _, item in sorted(found)))
        for id, found in clicks.items()
    ]
    return sorted(sessions, key=lambda s: (s.start, s.id))


def read_msweb(path: Path) -> tuple[list[Session], dict[str, tuple[str, str]]]:
    """The UCI "Anonymous Microsoft Web Data" file (gzip or plain): one session per visitor
    (`C` line) holding the areas it visited (`V` lines), in file order, numbered by case;
    and each area's title and URL path (`A` lines). Its visits are sets: evaluate it with
    `outcome(..., related=True)`."""
    import gzip

    with open(path, "rb") as probe:
        opener = gzip.open if probe.read(2) == b"\x1f\x8b" else open
    areas: dict[str, tuple[str, str]] = {}
    cases: list[tuple[str, list[str]]] = []
    try:
        with opener(path, "rt", encoding="latin-1", newline="") as stream:
            for number, row in enumerate(csv.reader(stream), start=1):
                if row and row[0] == "A" and len(row) >= 5:
                    areas[row[1]] = (row[3], row[4])
                elif row and row[0] == "C" and len(row) >= 3:
                    cases.append((row[2], []))
                elif row and row[0] == "V" and len(row) >= 2:
                    if not cases:
                        raise SitegenError(
                            "expected a C line (a visitor) before V lines",
                            Location(str(path), number),
                        )
                    cases[-1][1].append(row[1])
    except OSError as error:
        raise SitegenError(f"cannot read: {error.strerror}", Location(str(path), 0)) from None
    sessions = [
        Session(case, float(number), tuple(visited))
        for number, (case, visited) in enumerate(cases)
        if visited
    ]
    return sessions, areas
