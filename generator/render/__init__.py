"""Rendering: Markdown, the Jinja2 environment over the theme chain, template views."""

from __future__ import annotations
