"""The output tree: staging directories, the journalled commit, manifests.

A build writes every file it renders into a fresh directory under build/.sitegen/staging/
and moves them into build/<site>/ only once every site rendered without error, so a failed
build leaves the previous output exactly as it was. The commit itself is journalled, so a
build killed in the middle of it is finished by the next one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from generator.errors import BuildError
from generator.files import replace_text
from generator.layout import BuildLayout, safe_parts
from generator.manifest import FileEntry, Manifest


@dataclass(frozen=True, slots=True)
class WrittenFile:
    sha256: str
    size: int
    mtime_ns: int


def safe_join(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that would land outside `root`."""
    parts = safe_parts(relative)
    if parts is None:
        raise BuildError(f"output path '{relative}' would leave the output root")
    return root.joinpath(*parts)


def write_file(root: Path, relative: str, data: bytes) -> WrittenFile:
    path = str(safe_join(root, relative))
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        mtime = os.fstat(descriptor).st_mtime_ns
    finally:
        os.close(descriptor)
    return WrittenFile(hashlib.sha256(data).hexdigest(), len(data), mtime)


def make_folders(root: Path, relatives: list[str]) -> None:
    """Create every folder the files at `relatives` need, each once, parents first: the
    writes then open each file once instead of failing and creating its folders."""
    folders: set[str] = set()
    for relative in relatives:
        folder = relative.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    for folder in sorted(folders):  # a parent sorts before its children
        try:
            os.mkdir(safe_join(root, folder))
        except FileExistsError:
            pass


def new_staging_dir(build_dir: Path, site: str) -> Path:
    staging = BuildLayout(build_dir).staging(site)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def _journal_path(build_dir: Path, site: str) -> Path:
    return BuildLayout(build_dir).commit_journal(site)


def commit_site(
    build_dir: Path, site: str, staging: Path, moves: list[str], deletions: list[str]
) -> None:
    """Move the re-rendered files from staging into build/<site>/ and delete what no longer
    belongs.

    Only files that changed are touched, so a one-page edit of a large site costs a few
    renames rather than relinking and deleting the whole tree. The plan is journalled before
    the first rename and the journal is replayed by the next build if this one is killed
    halfway, so the tree always ends up exactly as planned.
    """
    journal = _journal_path(build_dir, site)
    journal.parent.mkdir(parents=True, exist_ok=True)
    temporary = journal.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as stream:
        json.dump({"staging": str(staging), "moves": moves, "deletions": deletions}, stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, journal)
    _apply_commit(build_dir / site, staging, moves, deletions)
    journal.unlink()
    shutil.rmtree(staging, ignore_errors=True)


def finish_interrupted_commits(build_dir: Path) -> list[str]:
    """Replay the journal of any commit a killed build left half done; return the sites."""
    finished = []
    for journal in BuildLayout(build_dir).commit_journals():
        plan = json.loads(journal.read_text(encoding="utf-8"))
        site = journal.parent.name
        _apply_commit(build_dir / site, Path(plan["staging"]), plan["moves"], plan["deletions"])
        journal.unlink()
        shutil.rmtree(plan["staging"], ignore_errors=True)
        finished.append(site)
    # Staging trees of builds killed while rendering hold nothing anyone will need.
    shutil.rmtree(BuildLayout(build_dir).staging_root, ignore_errors=True)
    return finished


def _make_parents(root: Path, relative: str) -> None:
    """Create the folders of `relative`, removing a file that stands where a folder must go
    (a page that moved from `x` to `x/index.html`: the old file is being deleted anyway)."""
    current = root
    for part in relative.split("/")[:-1]:
        current = current / part
        if current.is_file() or current.is_symlink():
            current.unlink()
    (root / relative).parent.mkdir(parents=True, exist_ok=True)


def _apply_commit(target: Path, staging: Path, moves: list[str], deletions: list[str]) -> None:
    if not target.exists() and not deletions and staging.is_dir():
        # First build of the site: the staging tree is the whole site; one rename puts it in.
        os.rename(staging, target)
        return
    target.mkdir(parents=True, exist_ok=True)
    # New and changed files go in before anything is deleted: at every moment each page's
    # assets are present. Renames within one file system are atomic per file.
    for relative in moves:
        source = safe_join(staging, relative)
        if not source.exists():
            continue  # moved before an interruption
        destination = safe_join(target, relative)
        _make_parents(target, relative)
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        os.replace(source, destination)
    for relative in deletions:
        path = safe_join(target, relative)
        if path.is_file() or path.is_symlink():
            path.unlink()
        parent = path.parent
        while parent != target and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def write_manifest(
    build_dir: Path, site: str, files: dict[str, FileEntry], preview: bool = False
) -> str:
    """Write the manifest of the site's current version, and keep a snapshot of it. A
    preview build's manifest says so: `sitegen deploy` refuses it."""
    manifest = Manifest.of_files(site, files, preview)
    version = manifest.version
    document = manifest.to_json()
    # Compact JSON: the C encoder only runs without indentation, and a manifest of a large
    # site is written on every build that changes it.
    text = json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"
    layout = BuildLayout(build_dir)
    layout.versions(site).mkdir(parents=True, exist_ok=True)
    (layout.versions(site) / f"{version}.json").write_text(text, encoding="utf-8")
    replace_text(layout.manifest(site), text)
    return version
