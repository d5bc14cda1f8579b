"""The content-addressed build cache, shared by every site of the network.

Besides the dependency records (which decide what to render again), the build keeps the
results of its costly pure functions under `build/.sitegen/cache/<kind>/`, keyed by the
sha256 of everything they depend on: rendered Markdown (`markdown`), compiled Sass (`sass`)
and image renditions (`images`). A pool page shown on four sites is parsed once; a theme's
stylesheet shared by three sites is compiled once; an unchanged image is never processed
again, even by a clean build.

Every entry used is touched; `sitegen cache gc` removes what the last build did not use,
`sitegen cache stats` shows what the cache holds.
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
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    def get(self, kind: str, key: str) -> bytes | None:
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        _touch(path)
        return data

    def put(self, kind: str, key: str, data: bytes) -> None:
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{key}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)

    def mark_build(self, started: float) -> None:
        """A build that started at `started` succeeded: what it did not touch is unused."""
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self.root / MARKER
        marker.write_text(f"{started}\n")
        os.utime(marker, (started, started))

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
            since = (self.root / MARKER).stat().st_mtime
        except OSError:
            return 0, 0
        removed = freed = 0
        for kind in KINDS:
            for entry in _entries(self.root / kind):
                if _used(entry) < since:
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
    return [entry for prefix in folder.iterdir() if prefix.is_dir()
            for entry in prefix.iterdir() if not entry.name.endswith(".tmp")
            and ".tmp" not in entry.name]


def _size(entry: Path) -> int:
    if entry.is_dir():
        return sum(path.stat().st_size for path in entry.rglob("*") if path.is_file())
    return entry.stat().st_size


def _used(entry: Path) -> float:
    return entry.stat().st_mtime


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


_active: ContentCache | None = None


def configure(root: Path | None) -> None:
    """Use the cache under `root` in this process (and the worker processes it forks)."""
    global _active
    _active = ContentCache(root) if root is not None else None


def active() -> ContentCache | None:
    return _active
