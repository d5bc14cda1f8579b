"""The pages' own checks, once the plan knows every URL a site publishes: links in Markdown
to pages or files the site does not publish, images it does not have (in the body or the
front matter's `image:`). Each problem names the file and line and up to three close
matches; `checks:` in site.yaml makes each kind an error (the default), a warning or off.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from generator.content.page import Page
from generator.errors import close_matches
from generator.pipeline.plan import SitePlan
from generator.pipeline.site_state import SiteState


def _published(plan: SitePlan) -> tuple[set[str], list[str]]:
    """Every path a request may name (page URLs, files), and the page URLs to suggest."""
    urls = sorted({output.url for output in plan.outputs if output.url})
    paths = {"/" + output.path for output in plan.outputs}
    return {*urls, *paths}, urls


def resolved_link(page: Page, target: str) -> str:
    """The root-relative path a link of `page` asks for (no query, no fragment).

    Targets are internal (`links.internal_links` leaves out schemes, hosts and anchors), so a
    relative one is joined to the folder of the page's URL by hand: `urljoin` costs ten
    times as much, and a build checks every link of every page."""
    path = target.partition("#")[0].partition("?")[0]
    if "%" in path:
        path = unquote(path)
    if not path:
        return ""
    absolute = path if path.startswith("/") else page.url[: page.url.rfind("/") + 1] + path
    normal = posixpath.normpath(absolute)
    folder = absolute.endswith("/") or absolute.rsplit("/", 1)[-1] in (".", "..")
    return normal + "/" if folder and normal != "/" else normal


def _link_problem(target: str, path: str, known: set[str], urls: list[str]) -> str | None:
    if not path or path in known or path + "/" in known or path.rstrip("/") + "/" in known:
        return None
    return f"link to '{target}': no page or file of the site is at {path}" + close_matches(
        path, urls
    )


def _image_problem(page: Page, target: str, state: SiteState, known: set[str]) -> str | None:
    logical = target.split("?")[0].split("#")[0].lstrip("/")
    if logical in state.assets.refs or resolved_link(page, target) in known:
        return None
    images = sorted({*state.assets.pictures, *state.assets.sizes})
    return f"image '{target}' is not an image of the site" + close_matches(logical, images)


def page_problems(state: SiteState, plan: SitePlan) -> tuple[list[str], list[str]]:
    """(errors, warnings) of a site's pages, each `file:line: message`."""
    checks = state.site.checks
    known, urls = _published(plan)
    found: dict[str, list[str]] = {"error": [], "warning": [], "off": []}
    for page in sorted(state.pages_by_key.values(), key=lambda p: p.source.display):
        source = page.source
        for target, line, image in source.links:
            if image:
                problem = _image_problem(page, target, state, known)
                level = checks.images
            else:
                problem = _link_problem(target, resolved_link(page, target), known, urls)
                level = checks.links
            if problem is not None:
                found[level].append(f"{source.display}:{line}: {problem}")
        if source.image and source.image.lstrip("/") not in state.assets.refs:
            images = sorted({*state.assets.pictures, *state.assets.sizes})
            found[checks.images].append(
                f"{source.location('image')}: front matter 'image': '{source.image}' is not an "
                "image of the site" + close_matches(source.image.lstrip("/"), images)
            )
    return found["error"], found["warning"]
