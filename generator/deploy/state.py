"""The target's state folder, read and written with as few bytes as a deploy can afford.

- `versions/<id>.json.gz`: the full manifest of every kept version, written once, before
  the deploy that publishes it starts;
- `manifest.json`: which version is live (and the files a killed deploy was still
  deleting): a few bytes, renamed over the old one in one step, so that switching versions
  never uploads the file table again;
- `progress.jsonl`: a header naming the version under way, then one line per batch of
  finished operations, appended (APPE where the server allows it, see
  `Remote.append_line`); a line cut short by a kill is skipped.

Manifests written before this layout (a whole manifest in manifest.json) are still read:
that is format 1 of the remote state, this layout format 2 (`format` and `written_by` in
the pointer). A deploy to a target in format 1 writes format 2 and says so in its journal
entry; the versions kept in format 1 stay readable, so a rollback to them works. A target
in a format newer than this sitegen's is refused before anything on it changes.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import replace
from typing import Any

from generator import __version__
from generator.deploy.remote import Remote
from generator.errors import DeployError
from generator.formats import Format
from generator.manifest import Manifest

REMOTE_STATE = Format("remote deploy state", 2)

PROGRESS = "progress.jsonl"
JOURNAL = "journal.jsonl"


def version_name(version: str) -> str:
    return f"versions/{version}.json.gz"


def read_version(remote: Remote, version: str) -> Manifest | None:
    path = remote.state_path(version_name(version))
    if remote.size(path) is not None:
        try:
            result = Manifest.from_json(json.loads(gzip.decompress(remote.get(path))))
        except (OSError, EOFError, ValueError, KeyError, TypeError, zlib.error) as error:
            raise DeployError(
                f"{path} on the server is damaged ({error}); that version "
                "cannot be read (move the file away to deploy anew)"
            ) from None
        return result
    earlier = remote.read_json(f"versions/{version}.json")  # the earlier layout
    return Manifest.from_json(earlier) if earlier is not None else None


def write_version(remote: Remote, manifest: Manifest) -> None:
    """Keep a version's manifest (once: the name is the version)."""
    path = remote.state_path(version_name(manifest.version))
    if remote.size(path) is None:
        document = manifest.kept().to_json()
        data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        remote.write_bytes(path, gzip.compress(data, mtime=0))


def state_format(remote: Remote, pointer: dict[str, Any] | None = None) -> int | None:
    """The format of the target's state (None before a first deploy); a format this
    sitegen does not know is refused."""
    if pointer is None:
        pointer = remote.read_json("manifest.json")
    if pointer is None:
        return None
    found = pointer.get("format")
    if not isinstance(found, int) or isinstance(found, bool):
        found = 1 if "files" in pointer else 2  # written before the key existed
    refusal = REMOTE_STATE.refusal(found, pointer.get("written_by"))
    if refusal is not None:
        raise DeployError(
            f"{remote.state_path('manifest.json')}: the state on this target is in "
            f"{refusal}; nothing on it was changed"
        )
    return found


def live_pointer(remote: Remote) -> tuple[str, dict[str, Any]]:
    """The live version and its pending deletions, from the few bytes of the pointer alone
    (not the version's manifest)."""
    pointer = remote.read_json("manifest.json") or {}
    if pointer:
        state_format(remote, pointer)
    return str(pointer.get("version", "")), dict(pointer.get("pending_deletions") or {})


def read_manifest(remote: Remote) -> Manifest | None:
    """The live version's manifest (with its pending deletions), None before a first
    deploy."""
    pointer = remote.read_json("manifest.json")
    if pointer is None:
        return None
    state_format(remote, pointer)
    if "files" in pointer:
        return Manifest.from_json(pointer)  # the earlier layout: the whole manifest
    manifest = read_version(remote, pointer["version"])
    if manifest is None:
        raise DeployError(
            f"{remote.state_path('manifest.json')} names version "
            f"{pointer['version'][:12]}, whose manifest is missing from "
            f"{remote.state_path('versions')}; the state folder is damaged"
        )
    return replace(manifest, pending_deletions=dict(pointer.get("pending_deletions") or {}))


def switch_to(
    remote: Remote, manifest: Manifest, pending_deletions: dict[str, Any] | None = None
) -> None:
    """Make `manifest` (already kept by `write_version`) the live version."""
    pointer: dict[str, Any] = {
        "format": REMOTE_STATE.current,
        "written_by": __version__,
        "site": manifest.site or None,
        "version": manifest.version,
    }
    if pending_deletions:
        pointer["pending_deletions"] = pending_deletions
    remote.write_json("manifest.json", pointer)


def read_lines(remote: Remote, name: str) -> tuple[list[Any], int]:
    """The JSON lines of an appended file of the state folder, and how many lines were
    damaged (cut short by a kill) and skipped."""
    path = remote.state_path(name)
    if remote.size(path) is None:
        return [], 0
    values: list[Any] = []
    damaged = 0
    for line in remote.get(path).decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except ValueError:
            damaged += 1
    return values, damaged


def read_journal(remote: Remote) -> tuple[list[dict[str, Any]], int]:
    """The journal's entries, oldest first, and the number of damaged lines skipped."""
    entries, damaged = read_lines(remote, JOURNAL)
    return [entry for entry in entries if isinstance(entry, dict)], damaged


def read_progress(remote: Remote) -> tuple[str, set[tuple[str, ...]]]:
    """The version a killed deploy was publishing, and the operations it finished."""
    lines, _ = read_lines(remote, PROGRESS)
    header = lines[0] if lines and isinstance(lines[0], dict) else {}
    done: set[tuple[str, ...]] = set()
    for batch in lines[1:]:
        if isinstance(batch, list):
            done.update(tuple(item) for item in batch)
    return str(header.get("to_version", "")), done


def start_progress(remote: Remote, to_version: str) -> None:
    remote.write_bytes(
        remote.state_path(PROGRESS), (json.dumps({"to_version": to_version}) + "\n").encode()
    )


def add_progress(remote: Remote, finished: list[list[str]]) -> None:
    remote.append_line(
        remote.state_path(PROGRESS), json.dumps(finished, separators=(",", ":")).encode()
    )
