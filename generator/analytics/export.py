"""`sitegen analytics export --format parquet`: the events store as Parquet files,
partitioned by site and day (Hive layout: `site=<site>/day=<YYYY-MM-DD>/events.parquet`),
for DuckDB, Spark or a warehouse once SQLite is outgrown (docs/analytics.md).

Read from one snapshot (a single read transaction on a read-only connection: an ingest
running meanwhile neither blocks it nor shows up half-way), written into a temporary folder
next to the destination and renamed into place at the end, so no partial export is ever
left looking complete. pyarrow is an optional extra (`pip install 'sitegen[parquet]'`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from generator import events as q
from generator.errors import SitegenError
from generator.events import EXPORTED_COLUMNS as COLUMNS
from generator.events import snapshot

CHUNK = 50_000


@dataclass(frozen=True)
class Exported:
    events: int
    files: int


def export_parquet(store: Path, out: Path, sites: Sequence[str] = ()) -> Exported:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SitegenError(
            "analytics export --format parquet needs pyarrow: pip install 'sitegen[parquet]'"
        ) from None
    if out.exists() and any(out.iterdir()):
        raise SitegenError(f"{out}: exists and is not empty; choose a new folder")
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    kinds = {"time": pa.timestamp("ms", tz="UTC"), "client_ms": pa.int64()}
    schema = pa.schema([(name, kinds.get(name, pa.string())) for name in COLUMNS])
    events = files = 0
    try:
        writer: Any = None
        current: tuple[str, str] | None = None
        for partition, rows in _partitions(store, sites):
            if partition != current:
                if writer is not None:
                    writer.close()
                site, day = partition
                folder = staging / f"site={site}" / f"day={day}"
                folder.mkdir(parents=True)
                writer = pq.ParquetWriter(folder / "events.parquet", schema)
                current = partition
                files += 1
            columns = list(zip(*rows, strict=True))
            arrays = [
                pa.array(
                    [int(t * 1000) for t in values] if name == "time" else list(values),
                    type=schema.field(name).type,
                )
                for name, values in zip(COLUMNS, columns, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            events += len(rows)
        if writer is not None:
            writer.close()
        if not events:
            which = f" of {', '.join(sites)}" if sites else ""
            raise SitegenError(f"{store}: no events{which} to export; nothing was written")
        if out.exists():
            out.rmdir()  # (empty: checked above)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Exported(events, files)


def _partitions(
    store: Path, sites: Sequence[str]
) -> Iterator[tuple[tuple[str, str], list[tuple[Any, ...]]]]:
    """Chunks of events in (site, day) order, each with its partition, from one snapshot."""
    with snapshot(store) as connection:  # one snapshot for the whole export
        rows: Iterable[tuple[Any, ...]] = (
            chain.from_iterable(q.EXPORT_SITE(connection, site) for site in sorted(set(sites)))
            if sites
            else q.EXPORT_ALL(connection)
        )
        chunk: list[tuple[Any, ...]] = []
        partition: tuple[str, str] | None = None
        for row in rows:
            key = (row[1], dt.datetime.fromtimestamp(row[2], dt.UTC).date().isoformat())
            if key != partition or len(chunk) >= CHUNK:
                if chunk and partition is not None:
                    yield partition, chunk
                chunk = []
                partition = key
            chunk.append(row)
        if chunk and partition is not None:
            yield partition, chunk
