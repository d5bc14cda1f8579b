"""Fingerprints of recorded dependencies.

`fingerprint(kind, key)` returns a string that changes whenever what a render read changes.
The same function is used when a render records its dependencies and when the next build
checks them, so the two can never disagree about what "unchanged" means.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from generator.content.page import Page
from generator.pipeline.site_state import SiteState


def _hash(value: Any) -> str:
    payload = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _page_field(page: Page, field: str) -> str:
    """A string that changes whenever the field's value can: the value itself where it is
    short, the source's digest where the value is derived from the body."""
    source = page.source
    if field == "title":
        return page.title
    if field == "url":
        return page.url
    if field == "date":
        return repr(page.date)
    if field == "tags":
        return repr(page.tags)
    if field == "summary":
        return f"set:{source.summary}" if source.summary else f"derived:{source.digest}"
    if field == "content":
        return source.digest
    if field == "image":
        return repr(source.image)
    if field == "weight":
        return str(source.weight)
    if field == "meta":
        return _hash(source.meta)
    return f"unknown field {field}"


class Fingerprints:
    """Memoized dependency fingerprints of one site for one build."""

    def __init__(self, state: SiteState) -> None:
        self.state = state
        self._memo: dict[tuple[str, str], str] = {}

    def fingerprint(self, kind: str, key: str) -> str:
        memo_key = (kind, key)
        value = self._memo.get(memo_key)
        if value is None:
            value = self._memo[memo_key] = self._compute(kind, key)
        return value

    def _compute(self, kind: str, key: str) -> str:
        state = self.state
        if kind == "template":
            return state.environment.loader.fingerprint(key)  # type: ignore[union-attr]
        if kind == "config":
            value: Any = state.site.values
            for part in key.split(".") if key else []:
                if not isinstance(value, dict) or part not in value:
                    return "absent"
                value = value[part]
            return _hash(value)
        if kind == "page":
            page_key, _, field = key.rpartition("#")
            page = state.pages_by_key.get(page_key)
            if page is None and state.recommendations is not None:
                page = state.recommendations.foreign.get(page_key)
            return "gone" if page is None else _page_field(page, field)
        if kind == "data":
            path = state.data_file(key)
            return "missing" if path is None else hashlib.sha256(path.read_bytes()).hexdigest()
        if kind == "asset":
            ref = state.assets.refs.get(key)
            return "missing" if ref is None else f"{ref.url} {ref.integrity}"
        if kind == "option" and key == "preview":
            return str(state.preview)
        if kind == "file":
            path = Path(key)
            return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        if kind == "query" and key.startswith(("popular:", "popular-segments")):
            popular = state.recommendations.popular if state.recommendations else {}
            if key == "popular-segments":
                return _hash(sorted(popular))
            return _hash(popular.get(key.split(":", 1)[1], ()))
        if kind == "component":
            component = state.components.get(key)
            return component.path if component is not None else "missing"
        if kind == "query" and key.startswith("chances:"):
            chances = state.recommendations.next_chances if state.recommendations else {}
            return _hash(chances.get(key.split(":", 1)[1], ()))
        if kind == "query" and key.startswith(("related:", "next:")):
            found = state.recommendations
            lists = (found.related if key.startswith("related:") else found.next_pages) \
                if found is not None else {}
            return _hash(lists.get(key.split(":", 1)[1], ()))
        if kind == "query" and key == "recent":
            return _hash([page.key for page in state.content.recent()])
        return f"unknown dependency kind {kind}"
