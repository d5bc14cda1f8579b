"""The no-change shortcut: signatures of every input file and every published file.

A build that finds the signatures of the last successful build with the same options has
nothing to do, and says so without loading config, content or build state. Anything that
differs (a file touched, added or removed; a published file altered or deleted; other
options) sends the build down the ordinary path, which works out exactly what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INPUT_FOLDERS = ("sites", "content", "themes", "data")
SHORTCUT_FILE = "last-build.json"

FileStat = tuple[int, int]
"""(mtime_ns, size) of a published file."""


def scan_published(site_dir: Path) -> dict[str, FileStat]:
    """Every file under build/<site>/ with its modification time and size."""
    found: dict[str, FileStat] = {}

    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path, f"{prefix}{entry.name}/")
                else:
                    stat = entry.stat(follow_symlinks=False)
                    found[prefix + entry.name] = (stat.st_mtime_ns, stat.st_size)

    if site_dir.is_dir():
        walk(str(site_dir), "")
    return found


def outputs_signature(scans: Mapping[str, Mapping[str, FileStat]]) -> str:
    digest = hashlib.sha256()
    for site in sorted(scans):
        digest.update(f"[{site}]\n".encode())
        for path, (mtime, size) in sorted(scans[site].items()):
            digest.update(f"{path}\0{mtime}\0{size}\n".encode())
    return digest.hexdigest()


def _walk_inputs(digest: Any, directory: str, prefix: str) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        stat = entry.stat()
        digest.update(f"{prefix}{entry.name}\0{stat.st_mtime_ns}\0{stat.st_size}\0"
                      f"{stat.st_ino}\n".encode())
        if entry.is_dir():
            _walk_inputs(digest, entry.path, f"{prefix}{entry.name}/")


def inputs_signature(root: Path) -> str:
    """Names, sizes, modification times and inodes of everything a build can read."""
    digest = hashlib.sha256()
    for folder in INPUT_FOLDERS:
        digest.update(f"[{folder}]\n".encode())
        _walk_inputs(digest, str(root / folder), "")
    return digest.hexdigest()


def load_last_build(private: Path) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = json.loads((private / SHORTCUT_FILE).read_text("utf-8"))
        return result
    except (OSError, ValueError):
        return None


def save_last_build(private: Path, document: dict[str, Any]) -> None:
    private.mkdir(parents=True, exist_ok=True)
    temporary = private / (SHORTCUT_FILE + ".tmp")
    temporary.write_text(json.dumps(document, sort_keys=True, indent=1) + "\n", "utf-8")
    os.replace(temporary, private / SHORTCUT_FILE)


def forget_last_build(private: Path) -> None:
    (private / SHORTCUT_FILE).unlink(missing_ok=True)
