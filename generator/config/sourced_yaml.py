"""YAML loading that remembers the file and line of every value.

PyYAML's composer gives a node tree with marks; we build plain Python values from it and keep a
side table `path -> Location`, so that every later error (and `config show --explain`) can name
the line that set a value. Duplicate keys, which PyYAML accepts silently, are an error here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.errors import ConfigError, Location

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]
"""A path into a YAML document: mapping keys and list indexes."""


@dataclass(frozen=True, slots=True)
class SourcedDocument:
    """A YAML document and the location of each value in it."""

    data: Any
    """The plain Python value (dicts, lists, scalars)."""
    locations: dict[KeyPath, Location] = field(default_factory=dict)
    """Where each value (by its key path) was written."""


def yaml_error_location(error: yaml.YAMLError, file: str, line_offset: int = 0) -> Location:
    """The location PyYAML reports for a syntax error, shifted by `line_offset`."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 + line_offset if mark is not None else line_offset + 1
    return Location(file, line)


def yaml_error_message(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    return f"malformed YAML: {problem}" + (f" ({context})" if context else "")


def load_sourced_yaml(text: str, file: str, line_offset: int = 0) -> SourcedDocument:
    """Parse one YAML document; raise `ConfigError` naming the line of a syntax error."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(
            yaml_error_message(error), yaml_error_location(error, file, line_offset)
        ) from None
    if root is None:
        return SourcedDocument({}, {(): Location(file, 1 + line_offset)})
    builder = _Builder(file, line_offset)
    data = builder.build(root, ())
    return SourcedDocument(data, builder.locations)


def load_sourced_yaml_file(path: Path, display: str) -> SourcedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text: {error.reason}", Location(display, 0)) from None
    return load_sourced_yaml(text, display)


class _Builder:
    def __init__(self, file: str, line_offset: int) -> None:
        self.file = file
        self.line_offset = line_offset
        self.locations: dict[KeyPath, Location] = {}
        self.constructor = SafeConstructor()

    def location(self, node: Node) -> Location:
        return Location(self.file, node.start_mark.line + 1 + self.line_offset)

    def build(self, node: Node, path: KeyPath) -> Any:
        self.locations[path] = self.location(node)
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node)
                if not isinstance(key, str):
                    key = str(key) if isinstance(key, (int, float, bool)) else key
                if not isinstance(key, str):
                    raise ConfigError("mapping keys must be strings", self.location(key_node))
                if key in result:
                    raise ConfigError(f"duplicate key '{key}'", self.location(key_node))
                # The key's own line is the most useful place to point at for its value.
                result[key] = self.build(value_node, (*path, key))
                self.locations[(*path, key)] = self.location(key_node)
            return result
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise ConfigError(
                "expected a plain value here, not a list or mapping", self.location(node)
            )
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            raise ConfigError(yaml_error_message(error), self.location(node)) from None
