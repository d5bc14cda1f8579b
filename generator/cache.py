"""The content-addressed build cache, shared by every site of the network.

Besides the dependency records (which decide what to render again), the build keeps the
results of its costly pure functions under `build/.sitegen/cache/<kind>/`, keyed by the
sha256 of everything they depend on: Markdown rendered by markdown-it-py (`markdown`; the
fast engine's HTML costs less to render again than to store), compiled Sass (`sass`) and
image renditions (`images`). A pool page shown on four sites is parsed once; a theme's
stylesheet shared by three sites is compiled once; an unchanged image is never processed
again, even by a clean build.

Every entry a build uses gets that build's stamp (its start time, in nanoseconds) as its
modification time, set explicitly rather than left to the clock; a build of the whole network
records its stamp when it succeeds, and `sitegen cache gc` removes the entries stamped before
it. `sitegen cache stats` shows what the cache holds.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

KINDS = ("markdown", "sass", "images")
MARKER = "last-build-started"


@dataclass
class CacheStats:
    kind: str
    entries: int
    bytes: int


class ContentCache:
    def __init__(self, root: Path, stamp: int | None = None) -> None:
        self.root = root
        self.stamp = stamp
        """The stamp of the build using the cache (None: reading it only)."""

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    def get(self, kind: str, key: str) -> bytes | None:
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        self._mark_used(path)
        return data

    def put(self, kind: str, key: str, data: bytes) -> None:
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{key}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        self._mark_used(path)

    def get_folder(self, kind: str, key: str) -> Path | None:
        """An entry made of several files (an image's renditions): its folder, if cached."""
        folder = self._path(kind, key)
        if not folder.is_dir():
            return None
        self._mark_used(folder)
        return folder

    def put_folder(self, kind: str, key: str, files: dict[str, bytes]) -> None:
        """Store several files as one entry, in one rename (workers may race: the first
        wins, and holds the same files)."""
        folder = self._path(kind, key)
        temporary = folder.with_name(f"{key}.tmp{os.getpid()}")
        temporary.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (temporary / name).write_bytes(data)
        try:
            os.replace(temporary, folder)
        except OSError:  # another worker cached it first
            shutil.rmtree(temporary, ignore_errors=True)
        self._mark_used(folder)

    def _mark_used(self, path: Path) -> None:
        if self.stamp is not None:
            try:
                os.utime(path, ns=(self.stamp, self.stamp))
            except OSError:
                pass

    def mark_build(self) -> None:
        """The build stamped `self.stamp` succeeded: what it did not use is unused."""
        if self.stamp is None:
            raise ValueError("only a build's cache has a stamp to record")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MARKER).write_text(f"{self.stamp}\n")

    def stats(self) -> list[CacheStats]:
        found = []
        for kind in KINDS:
            entries = size = 0
            for entry in _entries(self.root / kind):
                entries += 1
                size += _size(entry)
            found.append(CacheStats(kind, entries, size))
        return found

    def gc(self) -> tuple[int, int]:
        """Remove the entries the last build did not use; (entries, bytes) removed."""
        try:
            text = (self.root / MARKER).read_text(encoding="utf-8").strip()
        except OSError:
            return 0, 0
        # Earlier versions wrote the time in seconds.
        since = int(float(text) * 1e9) if "." in text else int(text)
        removed = freed = 0
        for kind in KINDS:
            for entry in _entries(self.root / kind):
                if entry.stat().st_mtime_ns < since:
                    freed += _size(entry)
                    removed += 1
                    if entry.is_dir():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
        return removed, freed


def _entries(folder: Path) -> list[Path]:
    """The entries of one kind: files (or, for images, folders) two levels down."""
    if not folder.is_dir():
        return []
    return [
        entry
        for prefix in folder.iterdir()
        if prefix.is_dir()
        for entry in prefix.iterdir()
        if not entry.name.endswith(".tmp") and ".tmp" not in entry.name
    ]


def _size(entry: Path) -> int:
    if entry.is_dir():
        return sum(path.stat().st_size for path in entry.rglob("*") if path.is_file())
    return entry.stat().st_size


_active: ContentCache | None = None


def configure(cache: ContentCache | None) -> None:
    """Use `cache` in this process (and the worker processes it forks)."""
    global _active
    _active = cache


def active() -> ContentCache | None:
    return _active
