"""The no-change shortcut: a signature of every input file and every published file.

A build that finds the same signature as the last successful build with the same options
has nothing to do, and says so without loading config, content or state. Anything that
differs (a file touched, added, removed; a published file altered; other options) sends the
build down the ordinary path, which works out exactly what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

INPUT_FOLDERS = ("sites", "content", "themes", "data")
SIGNATURE_FILE = "last-build.json"


def _walk(digest: Any, directory: str, prefix: str) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        stat = entry.stat()
        digest.update(f"{prefix}{entry.name}\0{stat.st_mtime_ns}\0{stat.st_size}\0"
                      f"{stat.st_ino}\n".encode())
        if entry.is_dir():
            _walk(digest, entry.path, f"{prefix}{entry.name}/")


def tree_signature(root: Path, folders: tuple[str, ...]) -> str:
    """Names, sizes, modification times and inodes of everything under the folders."""
    digest = hashlib.sha256()
    for folder in folders:
        digest.update(f"[{folder}]\n".encode())
        _walk(digest, str(root / folder), "")
    return digest.hexdigest()


def _path(private: Path) -> Path:
    return private / SIGNATURE_FILE


def load_signature(private: Path) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = json.loads(_path(private).read_text(encoding="utf-8"))
        return result
    except (OSError, ValueError):
        return None


def save_signature(private: Path, document: dict[str, Any]) -> None:
    private.mkdir(parents=True, exist_ok=True)
    temporary = _path(private).with_suffix(".tmp")
    temporary.write_text(json.dumps(document, sort_keys=True, indent=1) + "\n",
                         encoding="utf-8")
    os.replace(temporary, _path(private))


def forget_signature(private: Path) -> None:
    _path(private).unlink(missing_ok=True)
