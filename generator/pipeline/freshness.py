"""Fingerprints of recorded dependencies.

`fingerprint(kind, key)` returns a string that changes whenever what a render read changes.
The same function is used when a render records its dependencies and when the next build
checks them, so the two can never disagree about what "unchanged" means.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from generator.content.page import Page
from generator.dependencies import DependencyKind
from generator.pipeline.site_state import SiteState
from generator.pipeline.state import FIELD_SEPARATOR, RECORD_SEPARATOR, decode_dependencies


def _hash(value: Any) -> str:
    payload = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _hash_keys(keys: Sequence[str]) -> str:
    """`_hash` of a list of page keys, without JSON (a build checks thousands of them)."""
    return hashlib.blake2b("\0".join(keys).encode(), digest_size=16).hexdigest()


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


def _template(state: SiteState, key: str) -> str:
    return str(state.environment.loader.fingerprint(key))  # type: ignore[union-attr]


def _config(state: SiteState, key: str) -> str:
    value: Any = state.site.values
    for part in key.split(".") if key else []:
        if not isinstance(value, dict) or part not in value:
            return "absent"
        value = value[part]
    return _hash(value)


def _page(state: SiteState, key: str) -> str:
    page_key, _, field = key.rpartition("#")
    page = state.pages_by_key.get(page_key)
    if page is None and state.recommendations is not None:
        page = state.recommendations.foreign.get(page_key)
    return "gone" if page is None else _page_field(page, field)


def _data(state: SiteState, key: str) -> str:
    path = state.data_file(key)
    return "missing" if path is None else hashlib.sha256(path.read_bytes()).hexdigest()


def _asset(state: SiteState, key: str) -> str:
    ref = state.assets.refs.get(key)
    return "missing" if ref is None else f"{ref.url} {ref.integrity}"


def _option(state: SiteState, key: str) -> str:
    return str(state.preview) if key == "preview" else f"unknown option {key}"


def _file(state: SiteState, key: str) -> str:
    path = Path(key)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def _component(state: SiteState, key: str) -> str:
    component = state.components.get(key)
    return component.path if component is not None else "missing"


def _query(state: SiteState, key: str) -> str:
    found = state.recommendations
    name, _, argument = key.partition(":")
    if name == "recent":
        return _hash_keys([page.key for page in state.content.recent()])
    if name == "popular-segments":
        return _hash_keys(sorted(found.popular) if found else [])
    if name == "popular":
        return _hash_keys(found.popular.get(argument, ()) if found else ())
    if name == "chances":
        return _hash(found.next_chances.get(argument, ()) if found else ())
    if name in ("related", "next"):
        lists = (found.related if name == "related" else found.next_pages) if found else {}
        return _hash_keys(lists.get(argument, ()))
    return f"unknown query {key}"


FINGERPRINTS: dict[DependencyKind, Callable[[SiteState, str], str]] = {
    DependencyKind.TEMPLATE: _template,
    DependencyKind.CONFIG: _config,
    DependencyKind.PAGE: _page,
    DependencyKind.DATA: _data,
    DependencyKind.ASSET: _asset,
    DependencyKind.OPTION: _option,
    DependencyKind.FILE: _file,
    DependencyKind.QUERY: _query,
    DependencyKind.COMPONENT: _component,
}
"""How each kind of dependency is fingerprinted: a new kind is one entry here."""


class Fingerprints:
    """Memoized dependency fingerprints of one site for one build."""

    def __init__(self, state: SiteState) -> None:
        self.state = state
        self._memo: dict[tuple[str, str], str] = {}

    def still_hold(self, encoded: str) -> bool:
        """Whether every dependency of an output's record (`encode_dependencies`) still has
        the fingerprint recorded."""
        return not self.broken([encoded])[0]

    def broken(self, records: Sequence[str]) -> list[bool]:
        """Per encoded record (`encode_dependencies`), whether some dependency no longer has
        the fingerprint recorded.

        Outputs share most of their dependencies: each distinct one is checked once, and the
        records are then compared with the few that fail by set operations (in C) rather
        than item by item."""
        items: set[str] = set()
        for encoded in records:
            if encoded and not encoded.startswith("["):
                items.update(encoded.split(RECORD_SEPARATOR))
        failing = {item for item in items if not self._holds(item)}
        result = []
        for encoded in records:
            if encoded.startswith("["):
                result.append(
                    not all(
                        self.fingerprint(kind, key) == value
                        for kind, key, value in decode_dependencies(encoded)
                    )
                )
            else:
                result.append(
                    bool(failing)
                    and bool(encoded)
                    and not failing.isdisjoint(encoded.split(RECORD_SEPARATOR))
                )
        return result

    def _holds(self, item: str) -> bool:
        kind, key, value = item.split(FIELD_SEPARATOR)
        return self.fingerprint(kind, key) == value

    def fingerprint(self, kind: str, key: str) -> str:
        """`kind` as recorded, or as read back from the build state (a plain string)."""
        memo_key = (kind, key)
        value = self._memo.get(memo_key)
        if value is None:
            # DependencyKind is a StrEnum: the table is found by the stored string itself.
            compute = FINGERPRINTS.get(kind)  # type: ignore[call-overload]
            value = (
                f"unknown dependency kind {kind}" if compute is None else compute(self.state, key)
            )
            self._memo[memo_key] = value
        return value
