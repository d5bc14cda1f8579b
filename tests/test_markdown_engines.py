"""The Markdown adapter's fast engine (markdown-it-pyrs) gives exactly markdown-it-py's HTML
with sitegen's setup, or hands the text to markdown-it-py: on the CommonMark spec examples,
markdown-it-py's own fixtures, the demo's Markdown, and texts made of several examples (so
that anchors of repeated headings and mixed constructs are covered)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from markdown_it.utils import read_fixture_file

from generator.render import fast_markdown
from generator.render.markdown import markdown_parser

VECTORS = Path(__file__).parent / "vectors/markdown"
ROOT = Path(__file__).parent.parent
SPEC = [case["markdown"] for case in json.loads((VECTORS / "commonmark.json").read_text())]
FIXTURES = (
    "tables",
    "strikethrough",
    "commonmark_extras",
    "issue-fixes",
    "xss",
    "normalize",
    "fatal",
)


@pytest.fixture(autouse=True)
def engine_installed() -> None:
    if fast_markdown._engine() is None:
        message = "markdown-it-pyrs is not installed (pip install -e '.[test]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def agree(texts: list[str]) -> int:
    """Assert the engines agree on every text; return how many the fast one rendered."""
    parser = markdown_parser()
    fast = 0
    for text in texts:
        rendered = fast_markdown.render_fast(text)
        if rendered is not None:
            assert rendered == parser.render(text), text
            fast += 1
    return fast


def test_the_commonmark_spec_examples() -> None:
    assert len(SPEC) == 652
    # Most examples go through the fast engine: the adapter must not hide behind fallbacks.
    assert agree(SPEC) >= 530  # (536 with smart quotes, which hand some to markdown-it-py)


@pytest.mark.parametrize("name", FIXTURES)
def test_markdown_it_fixtures(name: str) -> None:
    texts = [case[2] for case in read_fixture_file(VECTORS / f"{name}.md")]
    assert agree(texts) >= len(texts) * 0.6


def test_the_demo_network() -> None:
    files = [*ROOT.glob("content/**/*.md"), *ROOT.glob("sites/**/*.md")]
    texts = [path.read_text(encoding="utf-8").split("---\n", 2)[-1] for path in files]
    assert len(texts) > 50
    # Nearly nothing in the demo needs the fallback (a tight list with quotes does: pyrs'
    # smart quotes skip its later items).
    assert agree(texts) >= len(texts) * 0.9


def test_documents_made_of_many_examples() -> None:
    rng = random.Random(12)
    texts = ["\n\n".join(rng.sample(SPEC, rng.randint(2, 5))) for _ in range(2000)]
    texts += ["## Same\n\ntext\n\n### Same\n\n## Same *again*\n\n## Same\n"]
    assert agree(texts) >= 1000


def test_what_needs_the_fallback_gets_it() -> None:
    for text in (
        "a <!-- comment --> b\n",
        "*£*bravo\n",
        "> \n",
        "## An ![image](x.png) heading\n",
        "<http://example.com/%CE%B1>\n",
        "raw <h2>heading</h2>\n",
        "[foo]\n\n[foo]: /url\n",
        "Text[^1].\n\n[^1]: A note.\n",
        "- [ ] to do\n- [x] done\n",
        "Term\n: its definition\n",
        '!!! note "Title"\n    Body.\n',
        '- one\n- "two"\n',
    ):
        assert fast_markdown.render_fast(text) is None, text
