"""The visitor-side JavaScript runtime, minified at build time and inlined into <head>."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

RUNTIME_DIR = Path(__file__).parent
"""Folder of the runtime's JavaScript sources."""

SOURCES = ("assign.js", "runtime.js")
"""Concatenated in this order: assign.js defines window.sitegen, runtime.js uses it."""


@lru_cache(maxsize=1)
def runtime_script() -> str:
    """The minified runtime (assignment, conditions, cookies, variant fallback)."""
    from generator.assets.minify import minify_js

    return "".join(minify_js((RUNTIME_DIR / name).read_text(encoding="utf-8"))
                   for name in SOURCES).strip()


@lru_cache(maxsize=1)
def footer_script() -> str:
    """The footer part: tracking and recommendations, after the page is shown."""
    from generator.assets.minify import minify_js

    return minify_js((RUNTIME_DIR / "footer.js").read_text(encoding="utf-8")).strip()


@lru_cache(maxsize=1)
def preview_script() -> str:
    """The variant switcher of preview builds (not part of the runtime's size budget)."""
    from generator.assets.minify import minify_js

    return minify_js((RUNTIME_DIR / "preview.js").read_text(encoding="utf-8")).strip()


@lru_cache(maxsize=1)
def lazy_script() -> str:
    """The lazy-component loader, on pages that place lazy components."""
    from generator.assets.minify import minify_js

    return minify_js((RUNTIME_DIR / "lazy.js").read_text(encoding="utf-8")).strip()


def runtime_size() -> tuple[int, int]:
    """(minified bytes, minified and gzipped bytes) of the part that must run in <head>."""
    data = runtime_script().encode("utf-8")
    return len(data), len(gzip.compress(data, compresslevel=9, mtime=0))
