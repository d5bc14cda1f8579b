"""Where everything under a build folder lives: one home for every path, so no module spells
`build/.sitegen/...` by hand.

    build/<site>/                    the published files of a site
    build/.sitegen/                  private state, never published:
        format.json                  the format of this folder (`STATE`) and who wrote it
        last-build.json              the no-op shortcut's record of the last build
        state.sqlite                 per-output records and dependencies
        events.sqlite                the analytics events store
        cache/                       the build cache (cache/images/: image derivatives)
        recommendations/<site>.json  the site's last lists and what they were computed from
        recommendations/<site>.content.npz  its content model (neighbours.ContentModel)
        staging/<site>-<pid>/        renders of a build in progress
        sites/<site>/manifest.json   the site's current manifest (what deploy publishes)
        sites/<site>/versions/       every manifest version built
        sites/<site>/commit.json     the journal of a commit in progress
        sites/<site>/journal.jsonl   the local journal of deploys and rollbacks
        sites/<site>/experiments.json  what each build version configured for experiments
        sites/<site>/alarms.json     the experiments' alarms and what they were computed from
        sites/<site>/htpasswd        the password file of its protected pages (users.yaml)
        sites/<site>/routes.json     the routing of its variants (`sitegen serve` reads it)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from generator import __version__
from generator.errors import SitegenError
from generator.formats import Format

PRIVATE = ".sitegen"
SITE_FILE = "site.yaml"
"""Each site's config: sites/<site>/site.yaml."""
"""The private folder's name under a build folder."""

STATE = Format("build state", 1)
"""The layout of `build/.sitegen/` as a whole: manifests and their snapshots, journals, the
experiments' history, the caches. Format 1 is sitegen 0.1.0's, which wrote no record (a
folder without `format.json` is format 1). The events store has a version of its own."""


@dataclass(frozen=True, slots=True)
class BuildLayout:
    """The paths of one build folder."""

    root: Path
    """The build folder (`<project>/build` unless --out says otherwise)."""

    def published(self, site: str) -> Path:
        return self.root / site

    @property
    def private(self) -> Path:
        return self.root / PRIVATE

    @property
    def format_record(self) -> Path:
        return self.private / "format.json"

    def checked(self) -> BuildLayout:
        """This layout, once its private state is known to be in a format this sitegen
        reads: a folder a newer sitegen wrote is refused before anything reads or changes
        it."""
        try:
            document = json.loads(self.format_record.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self
        except (OSError, ValueError) as error:
            raise SitegenError(f"{self.format_record}: unreadable ({error})") from None
        found = document.get("format") if isinstance(document, dict) else None
        if not isinstance(found, int) or isinstance(found, bool) or found < 1:
            raise SitegenError(
                f'{self.format_record}: expected {{"format": <version>, ...}}, found '
                f"{json.dumps(document)[:80]}"
            )
        refusal = STATE.refusal(found, document.get("written_by"))
        if refusal is not None:
            raise SitegenError(f"{self.format_record}: this build folder is in {refusal}")
        return self

    def claim(self) -> None:
        """Check the folder's format and record it, for a command that writes into it (the
        record names the first sitegen that wrote this format)."""
        self.checked()
        if not self.format_record.exists():
            self.private.mkdir(parents=True, exist_ok=True)
            record = {"format": STATE.current, "written_by": __version__}
            self.format_record.write_text(json.dumps(record) + "\n", encoding="utf-8")

    @property
    def last_build(self) -> Path:
        return self.private / "last-build.json"

    @property
    def state(self) -> Path:
        return self.private / "state.sqlite"

    @property
    def events(self) -> Path:
        return self.private / "events.sqlite"

    def events_of(self, environment: str) -> Path:
        """An environment's events store: production's is `events.sqlite` (what ingest
        writes); another's, `events-<environment>.sqlite` (what `analytics copy` writes)."""
        if environment == "production":
            return self.events
        return self.private / f"events-{environment}.sqlite"

    @property
    def cache(self) -> Path:
        return self.private / "cache"

    def recommendations(self, site: str) -> Path:
        return self.private / "recommendations" / f"{site}.json"

    def content_model(self, site: str) -> Path:
        return self.private / "recommendations" / f"{site}.content.npz"

    @property
    def staging_root(self) -> Path:
        return self.private / "staging"

    def staging(self, site: str) -> Path:
        """This process's staging folder for a site."""
        return self.staging_root / f"{site}-{os.getpid()}"

    @property
    def sites(self) -> Path:
        return self.private / "sites"

    def site(self, site: str) -> Path:
        return self.sites / site

    def manifest(self, site: str) -> Path:
        return self.site(site) / "manifest.json"

    def experiments(self, site: str) -> Path:
        return self.site(site) / "experiments.json"

    def versions(self, site: str) -> Path:
        return self.site(site) / "versions"

    def manifests(self) -> list[Path]:
        """The current manifest of every site this folder holds, by site name."""
        return sorted(self.sites.glob("*/manifest.json"))

    def commit_journal(self, site: str) -> Path:
        return self.site(site) / "commit.json"

    def commit_journals(self) -> list[Path]:
        """The journals of commits in progress (left by a killed build)."""
        return sorted(self.sites.glob("*/commit.json"))

    def htpasswd(self, site: str) -> Path:
        """The site's password file for protected pages (never published: deploy puts it
        outside the web root, at the target's `htpasswd`)."""
        return self.site(site) / "htpasswd"

    def routes(self, site: str) -> Path:
        """The routing of the site's variants as the last build planned it
        (`hosting.routing.routes_document`): what `sitegen serve` routes requests by."""
        return self.site(site) / "routes.json"

    def deploy_journal(self, site: str) -> Path:
        return self.site(site) / "journal.jsonl"


def safe_parts(relative: str) -> list[str] | None:
    """The parts of a relative POSIX path that stays inside whatever folder it is joined
    to, or None: an absolute path, a backslash, an empty, `.` or `..` part. The one check
    every path from a user's file or a plan goes through (output files, templates, pages a
    rule puts in place, remote paths)."""
    parts = relative.split("/")
    if (
        relative.startswith("/")
        or "\\" in relative
        or any(part in ("", ".", "..") for part in parts)
    ):
        return None
    return parts
