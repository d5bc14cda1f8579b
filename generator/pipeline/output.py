"""The output tree: staging directories, manifests, and the atomic swap.

A build writes each site into a fresh directory under build/.sitegen/staging/ and only moves
it to build/<site>/ once every site rendered without error, so a failed build leaves the
previous output exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from generator.errors import BuildError

PRIVATE_DIR = ".sitegen"


@dataclass(frozen=True, slots=True)
class WrittenFile:
    sha256: str
    size: int
    mtime_ns: int


def safe_join(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that would land outside `root`."""
    parts = relative.split("/")
    if relative.startswith("/") or "\\" in relative or any(p in ("", ".", "..") for p in parts):
        raise BuildError(f"output path '{relative}' would leave the output root")
    return root.joinpath(*parts)


def write_file(root: Path, relative: str, data: bytes) -> WrittenFile:
    path = safe_join(root, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return WrittenFile(hashlib.sha256(data).hexdigest(), len(data), path.stat().st_mtime_ns)


def link_file(source_root: Path, target_root: Path, relative: str) -> int:
    """Put the previous build's file into the new tree (a hard link: no bytes copied)."""
    source = safe_join(source_root, relative)
    target = safe_join(target_root, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target.stat().st_mtime_ns


def private_dir(build_dir: Path) -> Path:
    return build_dir / PRIVATE_DIR


def new_staging_dir(build_dir: Path, site: str) -> Path:
    staging = private_dir(build_dir) / "staging" / f"{site}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def swap_in(build_dir: Path, site: str, staging: Path) -> None:
    """Replace build/<site>/ with the staging tree: two renames, the old tree removed after."""
    target = build_dir / site
    trash = private_dir(build_dir) / "trash" / f"{site}-{os.getpid()}"
    if trash.exists():
        shutil.rmtree(trash)
    trash.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.rename(target, trash)
    os.rename(staging, target)
    if trash.exists():
        shutil.rmtree(trash)


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    sha256: str
    size: int
    kind: str


def manifest_version(files: dict[str, ManifestEntry]) -> str:
    """A version id is the hash of its manifest's file table."""
    table = {path: {"sha256": e.sha256, "size": e.size, "kind": e.kind}
             for path, e in sorted(files.items())}
    payload = json.dumps(table, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def write_manifest(build_dir: Path, site: str, files: dict[str, ManifestEntry]) -> str:
    """Write the manifest of the site's current version, and keep a snapshot of it."""
    version = manifest_version(files)
    document = {
        "site": site,
        "version": version,
        "files": {path: {"sha256": e.sha256, "size": e.size, "kind": e.kind}
                  for path, e in sorted(files.items())},
    }
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    site_dir = private_dir(build_dir) / "sites" / site
    (site_dir / "versions").mkdir(parents=True, exist_ok=True)
    (site_dir / "versions" / f"{version}.json").write_text(text, encoding="utf-8")
    temporary = site_dir / "manifest.json.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, site_dir / "manifest.json")
    return version


def read_manifest(build_dir: Path, site: str) -> dict[str, object] | None:
    path = private_dir(build_dir) / "sites" / site / "manifest.json"
    if not path.exists():
        return None
    result: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return result
