"""The visitor-side JavaScript runtime (shipped as package data, minified at build time)."""

from __future__ import annotations

from pathlib import Path

RUNTIME_DIR = Path(__file__).parent
"""Folder of the runtime's JavaScript sources."""
