"""A small typed schema for YAML configuration.

Each option knows its type, default and documentation, and checks a value at a key path,
raising `ConfigError` at the line that wrote the bad value. Deprecated keys are declared once
with `Deprecated(moved_to=...)`; using one gives a warning naming the file, line and
replacement, and the value is moved to the new key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.config.sourced_yaml import KeyPath
from generator.errors import ConfigError, Location, redact_url, suggest

LocationOf = Callable[[KeyPath], Location]

CREDENTIAL_KEYS = frozenset({"password", "passwd", "secret", "token"})


def dotted(path: KeyPath) -> str:
    """`('pools', 'guides', 'include', 0)` -> `pools.guides.include[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


@dataclass
class CheckContext:
    """What a check needs besides the value: where things are, and where warnings go."""

    location_of: LocationOf
    warnings: list[str] = field(default_factory=list)
    deprecations: list[str] = field(default_factory=list)
    """Each use of a deprecated key: `file:line: message` (warnings, or errors with
    `--strict`)."""

    def fail(self, path: KeyPath, message: str) -> ConfigError:
        return ConfigError(f"{dotted(path)}: {message}", self.location_of(path))


class Option:
    """Base of all options: a documented, typed value with a default."""

    expected = "a value"

    def __init__(self, doc: str = "", default: Any = None, required: bool = False) -> None:
        self.doc = doc
        self.default = default
        self.required = required

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        return value

    def wrong_type(self, value: Any, path: KeyPath, context: CheckContext) -> ConfigError:
        return context.fail(path, f"expected {self.expected}, got {_type_name(value)}")


class Str(Option):
    expected = "a string"

    def __init__(
        self,
        doc: str = "",
        default: Any = None,
        required: bool = False,
        pattern: str | None = None,
        pattern_doc: str = "",
    ) -> None:
        super().__init__(doc, default, required)
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_doc = pattern_doc

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if not isinstance(value, str):
            raise self.wrong_type(value, path, context)
        if self.pattern and not self.pattern.fullmatch(value):
            shown = redact_url(value)
            if shown != value:
                raise context.fail(
                    path,
                    "a password inside the URL is not allowed: "
                    "credentials come from the environment or ~/.netrc "
                    f"(got '{shown}')",
                )
            raise context.fail(
                path, f"expected {self.pattern_doc or self.pattern.pattern}, got '{value}'"
            )
        return value


class Url(Str):
    expected = "an absolute http(s) URL"

    def __init__(self, doc: str = "", default: Any = None, required: bool = False) -> None:
        super().__init__(
            doc,
            default,
            required,
            r"https?://[^\s/]+(/[^\s]*)?",
            "an absolute http(s) URL such as https://example.org/",
        )


class Bool(Option):
    expected = "true or false"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if not isinstance(value, bool):
            raise self.wrong_type(value, path, context)
        return value


class Int(Option):
    expected = "an integer"

    def __init__(
        self, doc: str = "", default: Any = None, required: bool = False, minimum: int | None = None
    ) -> None:
        super().__init__(doc, default, required)
        self.minimum = minimum

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong_type(value, path, context)
        if self.minimum is not None and value < self.minimum:
            raise context.fail(path, f"expected an integer of at least {self.minimum}, got {value}")
        return value


class ListOf(Option):
    def __init__(
        self, item: Option, doc: str = "", default: Any = None, required: bool = False
    ) -> None:
        super().__init__(doc, [] if default is None else default, required)
        self.item = item
        self.expected = f"a list of {item.expected.removeprefix('a ').removeprefix('an ')}s"

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if not isinstance(value, list):
            raise self.wrong_type(value, path, context)
        return [self.item.check(item, (*path, index), context) for index, item in enumerate(value)]


class Section(Option):
    """A mapping with known keys; unknown keys are errors with a suggestion."""

    expected = "a mapping"

    def __init__(
        self,
        fields: Mapping[str, Option],
        doc: str = "",
        required: bool = False,
        allow_false: bool = False,
        enforce_required: bool = True,
    ) -> None:
        super().__init__(doc, None, required)
        self.fields = dict(fields)
        self.allow_false = allow_false
        self.enforce_required = enforce_required
        """False where a key may be set by another file (a site's parent, an environment):
        the caller checks required keys once everything is merged."""

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if value is False and self.allow_false:
            return False
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.wrong_type(value, path, context)
        result: dict[str, Any] = {}
        for key, item in value.items():
            self._check_key(key, item, value, path, context, result)
        for key, option in self.fields.items():
            if key in result or isinstance(option, Deprecated):
                continue
            if option.required and self.enforce_required:
                raise context.fail(path, f"missing required key '{key}' ({option.doc})")
            if not isinstance(option, Section):
                default = option.default
                result[key] = (
                    list(default)
                    if isinstance(default, list)
                    else (dict(default) if isinstance(default, dict) else default)
                )
        return result

    def _check_key(
        self,
        key: str,
        item: Any,
        value: dict[str, Any],
        path: KeyPath,
        context: CheckContext,
        result: dict[str, Any],
    ) -> None:
        """Check one key of the section's `value` into `result` (a deprecated key goes to
        the key it moved to, unless that one is set too)."""
        option = self.fields.get(key)
        if key in CREDENTIAL_KEYS:
            raise context.fail(
                (*path, key),
                "credentials never live in configuration "
                "files; sitegen reads them from the environment or ~/.netrc",
            )
        if option is None:
            known = [name for name, opt in self.fields.items() if not isinstance(opt, Deprecated)]
            raise context.fail((*path, key), "unknown key" + suggest(key, known))
        if isinstance(option, Deprecated):
            location = context.location_of((*path, key))
            context.deprecations.append(f"{location}: {option.message(dotted((*path, key)))}")
            target = option.moved_to
            if target not in value:
                result[target] = self.fields[target].check(item, (*path, key), context)
            return
        result[key] = option.check(item, (*path, key), context)

    def defaults(self) -> dict[str, Any]:
        return {
            name: (opt.defaults() if isinstance(opt, Section) else opt.default)
            for name, opt in self.fields.items()
            if not isinstance(opt, Deprecated)
        }


class MapOf(Option):
    """A mapping whose keys the user names (pools, environments)."""

    expected = "a mapping"

    def __init__(
        self,
        value: Option,
        doc: str = "",
        key_pattern: str = r"[a-z0-9][a-z0-9_-]*",
        key_doc: str = "lower-case letters, digits, '-' and '_'",
    ) -> None:
        super().__init__(doc, {})
        self.value = value
        self.key_pattern = re.compile(key_pattern)
        self.key_doc = key_doc

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.wrong_type(value, path, context)
        result = {}
        for key, item in value.items():
            if not self.key_pattern.fullmatch(key):
                raise context.fail((*path, key), f"expected a name of {self.key_doc}")
            result[key] = self.value.check(item, (*path, key), context)
        return result


class Deprecated(Option):
    """A key that still works but has moved; using it warns with the file and line (an
    error with `--strict`). Semantic versions: a minor release deprecates, only a major
    one removes (CHANGELOG.md)."""

    def __init__(self, moved_to: str, since: str, removed_in: str) -> None:
        super().__init__(f"deprecated since {since}: use '{moved_to}'")
        self.moved_to = moved_to
        self.since = since
        self.removed_in = removed_in

    def message(self, key: str) -> str:
        return (
            f"'{key}' is deprecated since sitegen {self.since} and goes in {self.removed_in}; "
            f"use '{self.moved_to}' (`sitegen migrate` rewrites it)"
        )


class Number(Option):
    expected = "a number"

    def __init__(
        self,
        doc: str = "",
        default: Any = None,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> None:
        super().__init__(doc, default, required)
        self.minimum = minimum
        self.maximum = maximum

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.wrong_type(value, path, context)
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise context.fail(
                path, f"expected a number from {self.minimum} to {self.maximum}, got {value}"
            )
        return float(value)


class Choice(Str):
    def __init__(self, choices: tuple[str, ...], doc: str = "", default: Any = None) -> None:
        super().__init__(doc, default)
        self.choices = choices
        self.expected = "one of " + ", ".join(choices)

    def check(self, value: Any, path: KeyPath, context: CheckContext) -> Any:
        if value not in self.choices:
            raise context.fail(path, f"expected one of {', '.join(self.choices)}, got {value!r}")
        return value
