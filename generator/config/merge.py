"""Merging configuration layers: maps merge deeply, lists replace, `key+:` appends.

Every layer is a `SourcedDocument`; the result keeps, for each value, the location of the
layer that set it, so `config show --explain` can name the file and line.
"""

from __future__ import annotations

from typing import Any

from generator.config.sourced_yaml import KeyPath, SourcedDocument
from generator.errors import ConfigError, Location

APPEND_SUFFIX = "+"
"""`menu+: [...]` in a child appends to the inherited `menu` instead of replacing it."""

WHOLE_VALUE_KEYS = frozenset({"condition", "when", "then", "arms"})
"""Mappings under these keys replace the inherited mapping instead of merging into it: a
child that redefines a segment's condition means that condition, not both ANDed together."""


def merge_documents(base: SourcedDocument, overlay: SourcedDocument) -> SourcedDocument:
    """Return `overlay` laid over `base`; neither input is changed."""
    locations = dict(base.locations)
    data = _merge(base.data, overlay.data, (), (), overlay.locations, locations)
    return SourcedDocument(data, locations)


def subdocument(document: SourcedDocument, path: KeyPath) -> SourcedDocument:
    """The part of `document` under `path`, with its locations rebased to the root."""
    value: Any = document.data
    for key in path:
        value = value[key]
    size = len(path)
    locations = {key[size:]: loc for key, loc in document.locations.items() if key[:size] == path}
    return SourcedDocument(value, locations)


def without_keys(document: SourcedDocument, keys: set[str]) -> SourcedDocument:
    data = {key: value for key, value in document.data.items() if key not in keys}
    locations = {
        path: loc for path, loc in document.locations.items() if not path or path[0] not in keys
    }
    return SourcedDocument(data, locations)


def _replace(
    target: dict[KeyPath, Location],
    at: KeyPath,
    source: dict[KeyPath, Location],
    source_at: KeyPath,
) -> None:
    """Drop the locations under `at`, then copy those under `source_at` to `at`."""
    size = len(at)
    for key in [key for key in target if key[:size] == at]:
        del target[key]
    source_size = len(source_at)
    for key, loc in source.items():
        if key[:source_size] == source_at:
            target[at + key[source_size:]] = loc


def _merge(
    base: Any,
    overlay: Any,
    path: KeyPath,
    overlay_path: KeyPath,
    overlay_locations: dict[KeyPath, Location],
    locations: dict[KeyPath, Location],
) -> Any:
    whole = bool(path) and path[-1] in WHOLE_VALUE_KEYS
    if whole or not (isinstance(base, dict) and isinstance(overlay, dict)):
        _replace(locations, path, overlay_locations, overlay_path)
        return overlay
    result = dict(base)
    for raw_key, value in overlay.items():
        key_path = (*overlay_path, raw_key)
        if raw_key.endswith(APPEND_SUFFIX) and len(raw_key) > 1:
            key = raw_key[: -len(APPEND_SUFFIX)]
            inherited = result.get(key, [])
            where = overlay_locations.get(key_path)
            if not isinstance(value, list):
                raise ConfigError(
                    f"'{raw_key}' appends to a list, so its value must be a list", where
                )
            if not isinstance(inherited, list):
                raise ConfigError(
                    f"'{raw_key}' appends, but the inherited '{key}' is not a list", where
                )
            result[key] = inherited + value
            offset = len(inherited)
            if where is not None:
                locations[(*path, key)] = where
            for index in range(len(value)):
                source = (*key_path, index)
                _replace(locations, (*path, key, offset + index), overlay_locations, source)
            continue
        if raw_key in result:
            result[raw_key] = _merge(
                result[raw_key], value, (*path, raw_key), key_path, overlay_locations, locations
            )
        else:
            _replace(locations, (*path, raw_key), overlay_locations, key_path)
            result[raw_key] = value
    return result
