"""Apache/nginx "combined" access-log lines: the expressions and the time, parsed without
strptime (ingest.py matches them in its hot loop).

127.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET /a/ HTTP/1.1" 200 2326 "ref" "agent"
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO

LINE = re.compile(
    r"(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "
    r'"(?P<method>[A-Z]+) (?P<target>\S+)(?: (?P<protocol>[^"]*))?" '
    r"(?P<status>\d{3}) (?P<size>\d+|-)"
    r'(?: "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?\s*$'
)

# The same format without backslash escapes in the quoted fields: several times faster, and
# what nearly every line is; a line it does not match gets the full expression.
FAST_LINE = re.compile(
    r"(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "
    r'"(?P<method>[A-Z]+) (?P<target>\S+)(?: (?P<protocol>[^"]*))?" '
    r'(?P<status>\d{3}) (?P<size>\d+|-)(?: "(?P<referrer>[^"\\]*)" "(?P<agent>[^"\\]*)")?\s*$'
)

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


READ_BLOCK = 2**20
"""Bytes of a plain log read and decoded at a time."""


class MalformedLine(ValueError):
    pass


@lru_cache(maxsize=4096)
def parse_time(text: str) -> float:
    """`17/May/2015:10:05:03 +0000` -> epoch seconds."""
    try:
        day, month, year = int(text[0:2]), MONTHS[text[3:6]], int(text[7:11])
        hour, minute, second = int(text[12:14]), int(text[15:17]), int(text[18:20])
        sign = -1 if text[21] == "-" else 1
        offset = sign * (int(text[22:24]) * 3600 + int(text[24:26]) * 60)
    except (KeyError, ValueError, IndexError):
        raise MalformedLine(f"unreadable time '{text}'") from None
    moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    return moment.timestamp() - offset


def is_compressed(path: Path) -> bool:
    """A gzip-compressed file (by its magic bytes, not its name)."""
    with open(path, "rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def open_log(path: Path) -> IO[str]:
    """A log file as text, gzip-compressed or not."""
    if is_compressed(path):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_lines(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[int, str]]:
    """(line number, line) of a log file, streamed, without its line ending. For a plain
    file, only the lines that start in the byte range `start`..`end` (None: the end),
    numbered from the range's first line: ranges cut anywhere read every line exactly once."""
    if is_compressed(path):
        with open_log(path) as stream:
            for number, line in enumerate(stream, start=1):
                yield number, line.rstrip("\r\n")
        return
    with open(path, "rb") as stream:
        if start:
            stream.seek(start - 1)  # the line under way at `start` belongs to the range before
            start += len(stream.readline()) - 1
        if end is not None:
            # The last line that starts before `end` ends at the first newline from `end - 1`.
            stream.seek(max(end - 1, start))
            end = stream.tell() + len(stream.readline()) if end > start else start
        stream.seek(start)
        number, left, rest = 0, (None if end is None else end - start), b""
        while left is None or left > 0:
            block = stream.read(READ_BLOCK if left is None else min(READ_BLOCK, left))
            if not block:
                break
            if left is not None:
                left -= len(block)
            block, _, after = (rest + block).rpartition(b"\n")
            if not _:  # no line end in it yet
                rest = after
                continue
            rest = after
            # Decoded a block at a time (cut at a line end, so never inside a character):
            # a third of the time of decoding line by line.
            for line in block.decode("utf-8", "replace").split("\n"):
                number += 1
                yield number, line.rstrip("\r") if line.endswith("\r") else line
        if rest:
            yield number + 1, rest.decode("utf-8", "replace").rstrip("\r\n")
