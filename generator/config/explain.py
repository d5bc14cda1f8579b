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
    lines: list[str] = []

    def origin(path: KeyPath) -> str:
        if not explain:
            return ""
        location = site.locations.get(path)
        return f"  # {location}" if location else "  # default"

    def emit(value: Any, path: KeyPath, indent: str) -> None:
        if isinstance(value, dict):
            for key in value:
                child = value[key]
                if isinstance(child, (dict, list)) and child:
                    lines.append(f"{indent}{key}:{origin((*path, key))}")
                    emit(child, (*path, key), indent + "  ")
                else:
                    empty = "{}" if isinstance(child, dict) else "[]" if isinstance(child, list) \
                        else _scalar(child)
                    lines.append(f"{indent}{key}: {empty}{origin((*path, key))}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict) and item:
                    first = True
                    for key, child in item.items():
                        prefix = f"{indent}- " if first else f"{indent}  "
                        first = False
                        if isinstance(child, (dict, list)) and child:
                            lines.append(f"{prefix}{key}:{origin((*path, index, key))}")
                            emit(child, (*path, index, key), indent + "    ")
                        else:
                            lines.append(f"{prefix}{key}: {_scalar(child)}"
                                         f"{origin((*path, index, key))}")
                else:
                    lines.append(f"{indent}- {_scalar(item)}{origin((*path, index))}")

    lineage = " -> ".join(site.lineage)
    lines.append(f"# site {site.name} (environment {site.environment}; lineage {lineage})")
    if site.abstract:
        lines.append("# abstract: inherited by other sites, never built")
    emit(site.values, (), "")
    return "\n".join(lines) + "\n"
