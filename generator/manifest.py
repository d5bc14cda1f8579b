"""A version of a site as a manifest: the one format the build writes and deploys read.

`build/.sitegen/sites/<site>/manifest.json` (and its snapshots under `versions/`) hold what
the build published; a target's `versions/<id>.json.gz` hold the same with what the deploy
added (links into other sites, promoted winners, migrations, when and from which commit);
the target's live pointer adds the files a killed deploy was still deleting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

CORE_KEYS = ("site", "version", "files", "preview", "pending_deletions")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One published file."""

    sha256: str
    size: int
    kind: str
    """page, variant, listing, asset, data, routing."""

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "kind": self.kind}


@dataclass(frozen=True)
class Manifest:
    site: str
    version: str
    """The hash of the file table (`version_of`)."""
    files: Mapping[str, FileEntry]
    preview: bool = False
    """A preview build (a variant switcher on every page): never deployed."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """What a deploy records besides the files (links, winners, migrations, deployed,
    commit, rolled_back): free-form, carried as it is."""
    pending_deletions: Mapping[str, Any] = field(default_factory=dict)
    """Only on the live manifest of a target: files a killed deploy was still deleting
    (path -> sha256 and kind). Never part of a kept version."""

    @classmethod
    def of_files(cls, site: str, files: Mapping[str, FileEntry], preview: bool = False) -> Manifest:
        return cls(site, version_of(files), dict(files), preview)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Manifest:
        files = {
            path: FileEntry(entry["sha256"], entry.get("size", -1), entry.get("kind", "file"))
            for path, entry in document["files"].items()
        }
        return cls(
            str(document.get("site", "")),
            str(document["version"]),
            files,
            bool(document.get("preview", False)),
            {key: value for key, value in document.items() if key not in CORE_KEYS},
            dict(document.get("pending_deletions") or {}),
        )

    def to_json(self) -> dict[str, Any]:
        """The document, keys sorted by the writer; a kept version has no pending
        deletions (`kept`)."""
        document: dict[str, Any] = {
            **self.meta,
            "site": self.site,
            "version": self.version,
            "files": {path: entry.to_json() for path, entry in sorted(self.files.items())},
        }
        if self.preview:
            document["preview"] = True
        if self.pending_deletions:
            document["pending_deletions"] = dict(self.pending_deletions)
        return document

    def kept(self) -> Manifest:
        """The manifest as a kept version: without the live pointer's pending deletions."""
        return replace(self, pending_deletions={})

    def with_meta(self, **values: Any) -> Manifest:
        return replace(self, meta={**self.meta, **values})


def version_of(files: Mapping[str, FileEntry]) -> str:
    """A version id is the hash of its manifest's file table."""
    table = {path: entry.to_json() for path, entry in sorted(files.items())}
    payload = json.dumps(table, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
