"""The rule builder's HTTP API (under `/_sitegen/api/`), called by `rules.js`.

    GET  tree      the sites, their entries and where each comes from; the served site's
                   pages; the operators and attributes conditions use
    POST preview   {edit?, profile, globs?}: the edit checked by the build's own loading
                   (its error as the CLI prints it), and who sees what on the served site's
                   pages with the edit applied; the pages `globs` match
    POST plan      {edit}: the file diff the edit would write, or the error
    POST save      {edit, digest}: written if it loads and the file is unchanged since read

Every POST must carry the session's token (`X-Sitegen-Token`, given to the builder page
only) and come from the builder's own origin; a request naming another host (DNS
rebinding) is refused. Nothing but `sites/<site>/site.yaml` of an existing site is written.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from generator.conditions import OPERATORS
from generator.errors import SitegenError
from generator.layout import SITE_FILE, BuildLayout
from generator.manifest import Manifest
from generator.serve import rules

ATTRIBUTES = (
    "utm.source",
    "utm.medium",
    "utm.campaign",
    "referrer",
    "visits",
    "pages",
    "history",
    "device",
    "language",
    "hour",
    "path",
)
"""The visitor attributes the runtime sets (docs/personalization.md); pages' own
`attributes:` add to them."""
ROW_OPERATORS = tuple(op for op in OPERATORS if op not in ("$inGroup", "$notInGroup"))
"""Operators a condition row may use ($inGroup needs saved groups, which sitegen lacks)."""
PAGE_KINDS = ("page", "listing")


@dataclass
class RulesApi:
    root: Path
    environment: str
    site: str
    """The served site (who sees what is shown for its pages)."""
    layout: BuildLayout
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def pages(self) -> list[str]:
        """The served site's page URLs, from its last build's manifest."""
        try:
            document = json.loads(self.layout.manifest(self.site).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        manifest = Manifest.from_json(document)
        urls = {
            "/" + path[: -len("index.html")]
            for path, entry in manifest.files.items()
            if entry.kind in PAGE_KINDS and path.endswith("index.html")
        }
        return sorted(urls)

    def handle(self, method: str, name: str, body: bytes) -> tuple[HTTPStatus, Any]:
        try:
            request = json.loads(body or b"{}") if method == "POST" else {}
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"error": "expected a JSON body"}
        try:
            if method == "GET" and name == "tree":
                return HTTPStatus.OK, self.tree()
            if method == "POST" and name == "preview":
                return HTTPStatus.OK, self.preview(request)
            if method == "POST" and name == "plan":
                return HTTPStatus.OK, self.plan(request)
            if method == "POST" and name == "save":
                return HTTPStatus.OK, self.save(request)
        except SitegenError as error:
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(error)}
        return HTTPStatus.NOT_FOUND, {"error": f"no {method} {name}"}

    def tree(self) -> dict[str, Any]:
        checked = rules.draft(self.root, self.environment, None)
        if checked.network is None:
            return {"error": checked.error, "sites": []}
        return {
            "served": self.site,
            "environment": self.environment,
            "sites": rules.site_tree(self.root, checked.network),
            "pages": self.pages(),
            "operators": list(ROW_OPERATORS),
            "attributes": list(ATTRIBUTES),
        }

    def _edit(self, request: dict[str, Any]) -> rules.Edit | None:
        edit = request.get("edit")
        return None if edit is None else rules.Edit.of_request(edit)

    def preview(self, request: dict[str, Any]) -> dict[str, Any]:
        pages = self.pages()
        checked = rules.draft(self.root, self.environment, self._edit(request), {self.site: pages})
        globs = request.get("globs")
        answer: dict[str, Any] = {"error": checked.error}
        if isinstance(globs, list):
            answer["matched"] = rules.matching(pages, [str(glob) for glob in globs])
        if checked.network is not None:
            site = checked.network.sites[self.site]
            profile = request.get("profile") if isinstance(request.get("profile"), dict) else {}
            answer["pages"] = rules.who_sees_what(site, pages, profile or {})
        return answer

    def plan(self, request: dict[str, Any]) -> dict[str, Any]:
        edit = self._edit(request)
        if edit is None:
            return {"error": "nothing to write"}
        checked = rules.draft(self.root, self.environment, edit, {self.site: self.pages()})
        return {
            "file": f"sites/{edit.site}/{SITE_FILE}",
            "diff": checked.diff,
            "error": checked.error,
        }

    def save(self, request: dict[str, Any]) -> dict[str, Any]:
        edit = self._edit(request)
        if edit is None:
            return {"error": "nothing to write"}
        expected = str(request.get("digest", ""))
        pages = {self.site: self.pages()}
        written = rules.write(self.root, self.environment, edit, expected, pages)
        return {
            "file": f"sites/{edit.site}/{SITE_FILE}",
            "diff": written.diff,
            "digest": rules.digest(written.new),
        }
