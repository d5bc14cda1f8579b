"""The visitor-side JavaScript runtime, minified at build time and inlined into pages.

The sources are ES5 (var, function) so that calmjs.parse, a JavaScript parser, can minify
them with local names shortened: the head part must stay within 4 KB gzipped. (Site
JavaScript, which may be any version, goes through rjsmin in assets/minify.py instead.)"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

RUNTIME_DIR = Path(__file__).parent
"""Folder of the runtime's JavaScript sources."""

SOURCES = ("assign.js", "runtime.js")
"""Concatenated in this order: assign.js defines window.sitegen, runtime.js uses it."""
FLAG_SOURCES = ("growthbook.js", "flags.js")
"""On sites with feature flags that look at the visitor, between the two: GrowthBook's
evalFeature, and the `$feature` segments that use it."""


@cache
def minified(*names: str) -> str:
    """The runtime sources `names`, concatenated and minified (globals keep their names)."""
    from calmjs.parse import es5
    from calmjs.parse.unparsers.es5 import minify_print

    source = "\n".join((RUNTIME_DIR / name).read_text(encoding="utf-8") for name in names)
    return str(minify_print(es5(source), obfuscate=True, obfuscate_globals=False)).strip()


def runtime_script(visitor_flags: bool = False) -> str:
    """The head part: assignment, conditions, cookies, slot alternatives, variant fallback;
    with `visitor_flags`, the evaluation of feature flags too."""
    if visitor_flags:
        return minified(SOURCES[0], *FLAG_SOURCES, SOURCES[1])
    return minified(*SOURCES)


def footer_script() -> str:
    """The footer part: tracking and recommendations, after the page is shown."""
    return minified("footer.js")


def preview_script() -> str:
    """The variant switcher of preview builds (not part of the runtime's size budget)."""
    return minified("preview.js")


def lazy_script() -> str:
    """The lazy-component loader, on pages that place lazy components."""
    return minified("lazy.js")


def runtime_size() -> tuple[int, int]:
    """(minified bytes, minified and gzipped bytes) of the part that must run in <head>."""
    data = runtime_script().encode("utf-8")
    return len(data), len(gzip.compress(data, compresslevel=9, mtime=0))
