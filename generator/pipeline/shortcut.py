"""The no-change shortcut: a signature of every input file, and the published trees.

A build that finds the signatures of the last successful build with the same options has
nothing to do, and says so without loading config, content or build state. Anything that
differs (a file touched, added or removed; a published file altered or deleted; other
options) sends the build down the ordinary path, which works out exactly what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.files import replace_text

INPUT_FOLDERS = ("sites", "content", "themes", "data")
SHORTCUT_FORMAT = 2

FileStat = tuple[int, int]
"""(mtime_ns, size) of a published file."""


@dataclass(frozen=True, eq=False)
class PublishedTree:
    """What is under build/<site>/: every file's stat and every folder's mtime."""

    files: dict[str, FileStat]
    folders: dict[str, int]
    """Folder ('' for the site's root) -> mtime_ns; a folder's mtime changes whenever an
    entry is added to it, removed or renamed."""

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "folders": self.folders}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublishedTree:
        return cls(
            {path: (stat[0], stat[1]) for path, stat in data["files"].items()},
            dict(data["folders"]),
        )


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def scan_published(site_dir: Path, expected: PublishedTree | None = None) -> PublishedTree:
    """Stat everything under build/<site>/.

    With `expected` (what the last build left), a folder whose mtime has not moved still holds
    exactly the entries it had, so only its files are stat'ed: listing the thousands of
    one-page folders of a large site costs several times more than stat'ing them.
    """
    scanner = _Scanner(str(site_dir), expected)
    if site_dir.is_dir():
        scanner.visit("")
    return PublishedTree(scanner.files, scanner.folders)


class _Scanner:
    def __init__(self, root: str, expected: PublishedTree | None) -> None:
        self.root = root
        self.expected = expected
        self.files: dict[str, FileStat] = {}
        self.folders: dict[str, int] = {}
        self.children: dict[str, list[str]] = {}
        """The files each folder held, by the last build's record."""
        self.subfolders: dict[str, list[str]] = {}
        if expected is not None:
            children, subfolders = self.children, self.subfolders
            for path in expected.files:
                children.setdefault(path.rpartition("/")[0], []).append(path)
            for folder in expected.folders:
                if folder:
                    subfolders.setdefault(folder.rpartition("/")[0], []).append(folder)

    def visit(self, folder: str) -> None:
        # String concatenation, not os.path.join: this runs for every published file.
        full = f"{self.root}/{folder}" if folder else self.root
        try:
            mtime = os.lstat(full).st_mtime_ns
        except FileNotFoundError:
            return
        self.folders[folder] = mtime
        if self.expected is None or self.expected.folders.get(folder) != mtime:
            self._list(folder, full)
            return
        files = self.files
        root = self.root
        lstat = os.lstat
        for path in self.children.get(folder, ()):
            try:
                stat = lstat(f"{root}/{path}")
            except FileNotFoundError:
                continue  # cannot happen without the folder's mtime moving; be safe anyway
            files[path] = (stat.st_mtime_ns, stat.st_size)
        for subfolder in self.subfolders.get(folder, ()):
            self.visit(subfolder)

    def _list(self, folder: str, full: str) -> None:
        prefix = f"{folder}/" if folder else ""
        with os.scandir(full) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    self.visit(prefix + entry.name)
                else:
                    stat = entry.stat(follow_symlinks=False)
                    self.files[prefix + entry.name] = (stat.st_mtime_ns, stat.st_size)


def tree_after_commit(site_dir: Path, files: dict[str, FileStat]) -> PublishedTree:
    """The published tree once a commit wrote `files`: their folders' mtimes are read now."""
    folders = {""}
    for path in files:
        folder = _parent(path)
        while folder not in folders:
            folders.add(folder)
            folder = _parent(folder)
    root = str(site_dir)
    return PublishedTree(
        dict(files),
        {
            folder: os.lstat(os.path.join(root, folder) if folder else root).st_mtime_ns
            for folder in sorted(folders)
        },
    )


def _walk_inputs(digest: Any, directory: str, prefix: str) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        stat = entry.stat()
        digest.update(
            f"{prefix}{entry.name}\0{stat.st_mtime_ns}\0{stat.st_size}\0{stat.st_ino}\n".encode()
        )
        if entry.is_dir():
            _walk_inputs(digest, entry.path, f"{prefix}{entry.name}/")


def inputs_signature(root: Path, files: tuple[Path, ...] = ()) -> str:
    """Names, sizes, modification times and inodes of everything a build can read: the
    input folders, and single files such as the events store."""
    digest = hashlib.sha256()
    for folder in INPUT_FOLDERS:
        digest.update(f"[{folder}]\n".encode())
        _walk_inputs(digest, str(root / folder), "")
    for path in files:
        try:
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\0{stat.st_ino}\n".encode())
        except FileNotFoundError:
            digest.update(f"{path}\0absent\n".encode())
    return digest.hexdigest()


def load_last_build(path: Path) -> dict[str, Any] | None:
    """The record of the last build (`BuildLayout.last_build`), if it has this format."""
    try:
        result: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return result if result.get("format") == SHORTCUT_FORMAT else None


def save_last_build(path: Path, document: dict[str, Any]) -> None:
    document = {**document, "format": SHORTCUT_FORMAT}
    # Compact: the C encoder only runs without indentation, and a large site's tree is big.
    replace_text(path, json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n")


def forget_last_build(path: Path) -> None:
    path.unlink(missing_ok=True)
