"""`sitegen config show`: the resolved config as YAML, optionally with where each value came
from."""

from __future__ import annotations

from typing import Any

import yaml

from generator.config.model import SiteConfig
from generator.config.sourced_yaml import KeyPath


def _scalar(value: Any) -> str:
    """One value as YAML would write it inline (quoted only where YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.strip().removesuffix("...").strip()


def format_config(site: SiteConfig, explain: bool = False) -> str:
    lineage = " -> ".join(site.lineage)
    writer = _Writer(site, explain)
    writer.lines.append(f"# site {site.name} (environment {site.environment}; lineage {lineage})")
    if site.abstract:
        writer.lines.append("# abstract: inherited by other sites, never built")
    writer.emit(site.values, (), "")
    return "\n".join(writer.lines) + "\n"


class _Writer:
    """Resolved values as YAML, each line with where its value came from (`explain`)."""

    def __init__(self, site: SiteConfig, explain: bool) -> None:
        self.site = site
        self.explain = explain
        self.lines: list[str] = []

    def origin(self, path: KeyPath) -> str:
        if not self.explain:
            return ""
        location = self.site.locations.get(path)
        return f"  # {location}" if location else "  # default"

    def emit(self, value: Any, path: KeyPath, indent: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                self.entry(f"{indent}{key}", child, (*path, key), indent + "  ")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict) and item:
                    for number, (key, child) in enumerate(item.items()):
                        prefix = f"{indent}- " if number == 0 else f"{indent}  "
                        self.entry(f"{prefix}{key}", child, (*path, index, key), indent + "    ")
                else:
                    self.lines.append(f"{indent}- {_scalar(item)}{self.origin((*path, index))}")

    def entry(self, label: str, child: Any, path: KeyPath, indent: str) -> None:
        """`label: value`, or `label:` and the nested value below it."""
        if isinstance(child, (dict, list)) and child:
            self.lines.append(f"{label}:{self.origin(path)}")
            self.emit(child, path, indent)
        else:
            empty = (
                "{}"
                if isinstance(child, dict)
                else "[]"
                if isinstance(child, list)
                else _scalar(child)
            )
            self.lines.append(f"{label}: {empty}{self.origin(path)}")
