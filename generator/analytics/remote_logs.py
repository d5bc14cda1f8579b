"""`analytics ingest --from-target NAME`: the host's access logs over FTP/FTPS, reading only
the bytes not ingested yet.

For each log path of the target: a plain log that kept its first bytes and grew is read from
where the last ingest stopped (whole lines only; a half-written last line waits for the
next run); a log whose first bytes changed was rotated and is read from the start; a
gzip-compressed (rotated) log is read whole once, and again only if it changes.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.analytics.store import EventStore
from generator.config.settings import Target
from generator.deploy.connection import connect

HEAD_BYTES = 1024
CHUNK = 1 << 16


@dataclass
class Download:
    remote: str
    local: Path
    commit: Callable[[], None]
    """Records what was read, once its lines are safely ingested."""


def _head_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_from(host: Any, path: str, offset: int, destination: Path) -> int:
    """Copy the remote file from `offset` to `destination`; return the bytes copied."""
    copied = 0
    with host.open(path, "rb", rest=offset or None) as source, open(destination, "wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            copied += len(chunk)
    return copied


@contextmanager
def fetch_new_logs(
    store: EventStore, site: str, target: Target, notes: list[str]
) -> Iterator[list[Download]]:
    """Download what is new in the target's logs into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="sitegen-logs-") as folder, connect(target) as host:
        downloads = []
        for number, remote in enumerate(target.logs):
            if not host.path.isfile(remote):
                notes.append(f"{target.name}:{remote}: no such file on the target")
                continue
            size = host.path.getsize(remote)
            with host.open(remote, "rb") as stream:
                first = stream.read(HEAD_BYTES)
            head = _head_hash(first)
            known = store.remote_position(site, target.name, remote)
            local = Path(folder) / f"{number}-{Path(remote).name}"
            if first[:2] == b"\x1f\x8b":
                if known is not None and known[1:] == (size, head):
                    continue  # this rotated file was read
                _read_from(host, remote, 0, local)
                downloads.append(
                    Download(remote, local, _commit(store, site, target, remote, size, size, head))
                )
                continue
            start = known[0] if known is not None and known[2] == head and size >= known[0] else 0
            if start == size:
                continue
            _read_from(host, remote, start, local)
            data = local.read_bytes()
            whole = data.rfind(b"\n") + 1  # leave a half-written line
            local.write_bytes(data[:whole])
            if whole:
                downloads.append(
                    Download(
                        remote,
                        local,
                        _commit(store, site, target, remote, start + whole, size, head),
                    )
                )
        yield downloads


def _commit(
    store: EventStore, site: str, target: Target, remote: str, offset: int, size: int, head: str
) -> Callable[[], None]:
    return lambda: store.set_remote_position(site, target.name, remote, offset, size, head)


def _remote_name(message: str, downloads: list[Download], target: str) -> str:
    """Name a downloaded log by its place on the target, not its temporary copy."""
    for download in downloads:
        local = str(download.local)
        if message.startswith(local + ":"):
            number, _, reason = message[len(local) + 1 :].partition(": ")
            return f"{target}:{download.remote} (line {number} of the new part): {reason}"
    return message


def ingest_with_target(
    store: EventStore,
    site: str,
    target: Target,
    access_logs: list[Path],
    jsonl: list[Path],
    notes: list[str],
    jobs: int = 1,
) -> Any:
    """Ingest local files and what the target's logs gained since the last time; the
    positions move on only once those lines are in the store. Malformed lines are named by
    their place on the target."""
    from generator.analytics.ingest import ingest

    with fetch_new_logs(store, site, target, notes) as downloads:
        report = ingest(store, site, [*access_logs, *(d.local for d in downloads)], jsonl, jobs)
        for download in downloads:
            download.commit()
            notes.append(
                f"{target.name}:{download.remote}: {download.local.stat().st_size} new bytes"
            )
        report.malformed_lines = [
            _remote_name(line, downloads, target.name) for line in report.malformed_lines
        ]
    return report
