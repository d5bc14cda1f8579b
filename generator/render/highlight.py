"""Code blocks highlighted by Pygments, after either Markdown engine: a fenced block with a
language (` ```python `) is rendered by both as `<pre><code class="language-python">`; this
pass replaces it with Pygments' markup (CSS classes under `.highlight`, styled by the theme),
so the two engines stay equal and the fast one keeps its speed. A language Pygments does not
know, or a block without one, stays as it is."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

import pygments

PYGMENTS_VERSION = pygments.__version__
CODE_BLOCK = re.compile(r'<pre><code class="language-([^"\s]+)">(.*?)</code></pre>', re.DOTALL)


@lru_cache(maxsize=64)
def _lexer(language: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


@lru_cache(maxsize=1)
def _formatter() -> Any:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


def highlighted(rendered: str) -> str:
    if '<pre><code class="language-' not in rendered:
        return rendered

    def replace(match: re.Match[str]) -> str:
        language, code = match.group(1), match.group(2)
        lexer = _lexer(html.unescape(language))
        if lexer is None:
            return match.group(0)
        from pygments import highlight

        inner = highlight(html.unescape(code), lexer, _formatter())
        return (
            f'<div class="highlight"><pre><code class="language-{language}">{inner}</code>'
            "</pre></div>"
        )

    return CODE_BLOCK.sub(replace, rendered)
