"""The Content-Security-Policy of a page, computed from what the final page holds.

`sitegen_head()` places a `<meta>` policy with a marker; once the page is rendered, the
marker becomes the policy with the hashes of the page's inline scripts, style elements and
style attributes: exactly what the page holds is allowed, nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

from markupsafe import Markup, escape

from generator.config.model import SiteConfig
from generator.dependencies import DependencyKind, record
from generator.hosting.policy import page_policy

CSP_MARKER = "sitegen-content-security-policy"
INLINE = re.compile(
    r"(?i:<script(\s[^>]*)?>(.*?)</script>)"
    r"|(?i:<style(?:\s[^>]*)?>(.*?)</style>)"
    r'|\sstyle="([^"]*)"',
    re.DOTALL,
)
"""What a policy must allow, in one pass over the page: inline scripts (attributes, body),
style elements (body), style attributes (value). A script's body is opaque: what looks like
markup inside it is not."""
DATA_BLOCK = re.compile(r'type="application/(ld\+)?json"')


def csp_marker() -> Markup:
    return Markup(f'<meta http-equiv="Content-Security-Policy" content="{CSP_MARKER}">\n')


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def with_policy(site: SiteConfig, text: str) -> str:
    """The page with its policy in place of the marker (or without the marker when the
    site sends no policy)."""
    if CSP_MARKER not in text:
        return text
    scripts: set[str] = set()
    elements: set[str] = set()
    attributes: set[str] = set()
    for match in INLINE.finditer(text):
        script_attributes, script, style, attribute = match.groups()
        if attribute is not None:
            attributes.add(_hash(html.unescape(attribute)))
        elif style is not None:
            elements.add(_hash(style))
        elif "src=" not in (script_attributes or "") and not DATA_BLOCK.search(
            script_attributes or ""
        ):
            # External scripts are 'self'; data blocks are not executed.
            scripts.add(_hash(script))
    styles = sorted(attributes)
    record(DependencyKind.CONFIG, "http")
    record(DependencyKind.CONFIG, "cdn")
    policy = page_policy(
        site, sorted(scripts), (["'unsafe-hashes'", *styles] if styles else []) + sorted(elements)
    )
    if policy is None:
        return re.sub(
            r'<meta http-equiv="Content-Security-Policy" content="' + CSP_MARKER + r'">\n?',
            "",
            text,
            count=1,
        )
    return text.replace(CSP_MARKER, str(escape(policy)), 1)
