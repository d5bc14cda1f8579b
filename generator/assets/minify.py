"""Minifiers: csscompressor for CSS, rjsmin for JavaScript (both deterministic)."""

from __future__ import annotations


def minify_css(text: str) -> str:
    import csscompressor

    return str(csscompressor.compress(text)) + "\n"


def minify_js(text: str) -> str:
    import rjsmin

    return str(rjsmin.jsmin(text)) + "\n"
