"""The visitor runtime end to end: headless Chromium against Apache (routing by .htaccess)
and against a plain static server (the JavaScript fallback)."""

from __future__ import annotations

import html
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from generator.personalize.hashing import assign
from tests.apache import apache
from tests.browser import DESKTOP_AGENT, dump_dom
from tests.conftest import Result, edit

# A same-origin harness page: it opens pages of the site in an iframe, waits for the runtime
# (and any variant swap) to settle, and writes what the visitor got into its own DOM.
HARNESS = """<!doctype html><html><body><pre id="out">pending</pre><iframe id="f"></iframe>
<script>
var steps = %(steps)s, results = [], frame = document.getElementById("f");
function settle(done) { setTimeout(done, 1800); }
function read(w) {
  w = w || frame.contentWindow;
  var d = w.document;
  var meta = d.querySelector('meta[name="sitegen:variant"]');
  var hero = d.querySelector(".hero");
  var probe = d.getElementById("probe");
  var links = Array.prototype.map.call(d.querySelectorAll("#sitegen-preview a"), function (a) {
    return [a.textContent, a.getAttribute("href")];
  });
  var related = Array.prototype.map.call(d.querySelectorAll("[data-sg-related] a"),
                                         function (a) { return a.getAttribute("href"); });
  var robots = d.querySelector('meta[name="robots"]');
  var assignment = w.sitegen && w.sitegen.assignment;
  return {assignment: assignment, cookies: d.cookie,
          variant: assignment ? assignment.variant : null, file: meta ? meta.content : null,
          swapped: w.sitegenSwapped !== undefined, robots: robots ? robots.content : null,
          filled: !!(w.sitegen && w.sitegen.slotFile !== undefined),
          visit: readVisit(d.cookie),
          hero: hero ? hero.textContent : null, links: links, related: related,
          probe: probe ? probe.textContent : null};
}
function readVisit(cookies) {
  var match = cookies.match(/(?:^|; )sg_visit=([^;]*)/);
  return match ? JSON.parse(decodeURIComponent(match[1])) : null;
}
function next(i) {
  if (i >= steps.length) {
    document.getElementById("out").textContent = JSON.stringify(results);
    return;
  }
  if (steps[i].indexOf("js:") === 0) {  // run code in the page, then read it again
    // Run from this page, on the frame's objects: the site's CSP forbids eval in the frame.
    var w = frame.contentWindow;
    (new Function("window", "document", "sitegen", steps[i].slice(3)))(w, w.document, w.sitegen);
    settle(function () { results.push(read()); next(i + 1); });
    return;
  }
  if (steps[i].indexOf("tab:") === 0) {  // open the page in a new tab (window) and read it
    var tab = window.open(steps[i].slice(4));
    settle(function () { results.push(read(tab)); next(i + 1); });
    return;
  }
  if (steps[i].indexOf("cookie:") === 0) {  // set a cookie for the site, then go on
    document.cookie = steps[i].slice(7) + "; path=/";
    next(i + 1);
    return;
  }
  frame.src = steps[i];
  settle(function () { results.push(read()); next(i + 1); });
}
next(0);
</script></body></html>"""


def visit(
    base: str,
    docroot: Path,
    steps: list[str],
    console: list[str] | None = None,
    user_agent: str = DESKTOP_AGENT,
) -> list[dict[str, Any]]:
    # .htm: a test page, outside the site's Content-Security-Policy (which .html pages get,
    # and under which the site's own pages run in the frame).
    (docroot / "harness.htm").write_text(HARNESS % {"steps": json.dumps(steps)})
    dom = dump_dom_url(f"{base}/harness.htm", console, user_agent)
    match = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert match and match.group(1) != "pending", dom[:3000]
    results: list[dict[str, Any]] = json.loads(html.unescape(match.group(1)))
    return results


def dump_dom_url(
    url: str, console: list[str] | None = None, user_agent: str = DESKTOP_AGENT
) -> str:
    # Navigate to the harness over HTTP (a file:// page could not read the site's frames).
    return dump_dom(
        f'<!doctype html><script>location.replace("{url}")</script>',
        budget_ms=30000,
        user_agent=user_agent,
        console=console,
    )


@contextmanager
def static_server(docroot: Path) -> Iterator[str]:
    """A plain static server on loopback: no rewrites, no headers."""

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(docroot)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def expected_arm(visitor: str) -> str:
    return ["control", "bold"][assign(visitor, "hero-test", 2, weights=[0.5, 0.5])]


def build_brand(project: Path, sitegen: Callable[..., Result], name: str = "served") -> Path:
    assert sitegen(project, "build", "brand").code == 0
    docroot = project / name
    shutil.copytree(project / "build/brand", docroot)
    return docroot


def test_new_visitor_gets_the_predicted_arm_and_keeps_it(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        first, reload, other_page = visit(base, docroot, ["/", "/", "/articles/alpha/"])
    visitor = first["assignment"]["visitor"]
    arm = expected_arm(visitor)
    assert f"sg_x_hero-test=1.{arm}" in first["cookies"]
    # the first view: the server had no cookies yet and served the default file; the arm's
    # hero came from the <template> inside it, with no request and no swap
    assert first["variant"] == f"hero-test-{arm}" and first["file"] == ""
    assert ("BOLD HERO" in first["hero"]) == (arm == "bold")
    assert not first["swapped"] and first["robots"] is None
    # the reload: Apache routed by cookie (the control arm changes nothing: its file is the
    # default page), no swap needed, same arm
    assert reload["assignment"]["visitor"] == visitor
    assert reload["file"] == ("hero-test-bold" if arm == "bold" else "")
    assert reload["variant"] == f"hero-test-{arm}" and not reload["swapped"]
    # another page: same visitor, same arm, a page without variants stays the default
    assert other_page["assignment"]["visitor"] == visitor
    assert other_page["assignment"]["arms"] == {"hero-test": arm}
    assert other_page["variant"] == ""


def test_segment_content_and_qa_override(project: Path, sitegen: Callable[..., Result]) -> None:
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        [landing, later] = visit(
            base, docroot, ["/?utm_source=newsletter&sg=hero-test:control", "/"]
        )
    assert landing["assignment"]["segments"] == ["newsletter"]
    assert landing["variant"] == "hero-test-control+seg-newsletter"
    assert "newsletter reader" in landing["hero"]
    # the segment (utm kept for the visit) and the forced arm stick; Apache now routes, to
    # the newsletter file (the control arm changes nothing)
    assert later["variant"] == "hero-test-control+seg-newsletter"
    assert later["file"] == "seg-newsletter" and not later["swapped"]
    assert "newsletter reader" in later["hero"]


def test_fallback_without_server_routing(project: Path, sitegen: Callable[..., Result]) -> None:
    docroot = build_brand(project, sitegen)
    with static_server(docroot) as base:
        [first, second] = visit(base, docroot, ["/?sg=hero-test:bold", "/"])
    assert first["variant"] == "hero-test-bold" and "BOLD HERO" in first["hero"]
    # every view on such a host is a swap: served default, shown variant
    assert second["variant"] == "hero-test-bold" and "BOLD HERO" in second["hero"]


def test_preview_build_has_a_switcher_that_forces_each_variant(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "brand", "--preview").code == 0
    assert not (project / "build").exists()  # previews go elsewhere
    docroot = project / "build-preview/brand"
    with static_server(docroot) as base:
        [first] = visit(base, docroot, ["/"])
        links = dict(first["links"])
        assert set(links) == {
            "default",
            "seg-newsletter",
            "hero-test-control",
            "hero-test-bold",
            "hero-test-control+seg-newsletter",
            "hero-test-bold+seg-newsletter",
        }
        [bold, default] = visit(base, docroot, [links["hero-test-bold"], links["default"]])
    assert bold["variant"] == "hero-test-bold" and "BOLD HERO" in bold["hero"]
    assert default["variant"] == "" and "Default hero" in default["hero"]


def test_arms_are_sticky_until_the_bucket_version_is_bumped(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    visitor = next(f"sticky-{n}" for n in range(100) if expected_arm(f"sticky-{n}") == "control")
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        # an earlier assignment to "bold" (say, before the weights changed) is kept
        [kept] = visit(
            base, docroot, [f"cookie:sg_id={visitor}", "cookie:sg_x_hero-test=1.bold", "/"]
        )
    assert kept["assignment"]["arms"] == {"hero-test": "bold"}
    assert kept["variant"] == "hero-test-bold"
    edit(
        project / "sites/root/site.yaml",
        "    status: running",
        "    status: running\n    bucket_version: 2",
    )
    docroot = build_brand(project, sitegen, "served-2")
    with apache(docroot) as base:
        [again] = visit(
            base, docroot, [f"cookie:sg_id={visitor}", "cookie:sg_x_hero-test=1.bold", "/"]
        )
    assert again["assignment"]["arms"] == {"hero-test": "control"}  # re-enrolled by hash
    assert "sg_x_hero-test=2.control" in again["cookies"]
    assert again["variant"] == "hero-test-control"


def test_runtime_stays_within_its_budget() -> None:
    from generator.runtime import runtime_size

    minified, gzipped = runtime_size()
    assert gzipped <= 4096, (minified, gzipped)


def test_pixel_requests_reach_the_access_log_and_ingest_as_events(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    from generator.analytics.ingest import ingest
    from generator.analytics.store import EventStore

    docroot = build_brand(project, sitegen)
    assert (docroot / "_sg/p.gif").read_bytes().startswith(b"GIF89a")
    with apache(docroot) as base:
        [home, goal] = visit(base, docroot, ["/", "/articles/"])
        log = base.access_log.read_text()
    visitor = home["assignment"]["visitor"]
    arm = expected_arm(visitor)
    pixel_lines = [entry for entry in log.splitlines() if "/_sg/p.gif?" in entry]
    assert any(
        "e=view" in entry
        and "p=%2F&" in entry
        and f"u={visitor}" in entry
        and f"v=hero-test-{arm}" in entry
        for entry in pixel_lines
    ), pixel_lines
    copy = tmp_path / "access.log"
    copy.write_text(log)
    store = EventStore(tmp_path / "events.sqlite")
    report = ingest(store, "brand", [copy], [])
    rows = store.connection.execute(
        "SELECT type, page, variant, visitor, detail FROM events ORDER BY time"
    ).fetchall()
    assert ("view", "/", f"hero-test-{arm}", visitor, "") in rows
    assert ("view", "/articles/", "", visitor, "") in rows
    assert ("goal", "/articles/", "", visitor, "hero-test:articles") in rows  # its goal id
    # The browser's millisecond clock orders events within one second.
    clocks = [row[0] for row in store.connection.execute("SELECT client_ms FROM events")]
    assert clocks and all(clock > 1_700_000_000_000 for clock in clocks)
    sessions = {
        row[0]
        for row in store.connection.execute(
            "SELECT session FROM events WHERE visitor = ?", (visitor,)
        )
    }
    assert len(sessions) == 1 and "" not in sessions
    assert report.malformed == 0


def test_tracking_waits_for_consent_when_the_site_asks_for_it(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    edit(project / "sites/root/site.yaml", "rules:\n", "analytics:\n  consent: required\nrules:\n")
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        visit(base, docroot, ["/articles/"])
        before = base.access_log.read_text()
        visit(base, docroot, ["/articles/", "js:sitegen.consent(true)"])
        after = base.access_log.read_text()
    assert "/_sg/p.gif" not in before  # nothing without consent
    assert "/_sg/p.gif?e=view&p=%2Farticles%2F" in after  # the queued view, once granted


def test_related_pages_leave_out_what_the_visitor_has_seen(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    for name in ("alpha-two", "alpha-three"):
        (project / f"content/articles/{name}.md").write_text(
            f"---\ntitle: {name}\ndate: 2026-01-09\ntags: [red]\n---\n"
            "Alpha body text, a heading and a table: more about alpha.\n"
        )
    docroot = build_brand(project, sitegen)
    listed = json.loads((docroot / "_sg/rec/articles/alpha.json").read_text())["related"]
    assert len(listed) >= 2
    seen = listed[0]["url"]
    with static_server(docroot) as base:
        [fresh] = visit(base, docroot, ["/articles/alpha/"])
        [_, later] = visit(base, docroot, [seen, "/articles/alpha/"])
    assert fresh["related"] == [entry["url"] for entry in listed]  # the build's list
    assert later["related"] == [entry["url"] for entry in listed[1:]]  # without the seen one


def test_clicks_on_recommendations_reach_the_log(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        visit(
            base,
            docroot,
            ["/articles/alpha/", "js:document.querySelector('[data-sg-rec]').click()"],
        )
        log = base.access_log.read_text()
    clicked = json.loads((docroot / "_sg/rec/articles/alpha.json").read_text())["related"][0]
    assert re.search(
        r"/_sg/p\.gif\?e=rec&p=%2Farticles%2Falpha%2F&.*x="
        + re.escape(clicked["url"].replace("/", "%2F")),
        log,
    ), log[-2000:]


def test_a_variant_url_swaps_to_the_visitors_variant_of_its_page(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """Opened at a /_variants/ URL, the page shows the visitor's variant of the page (its
    slots from the file's templates; a whole-page variant from the page's URL in its config,
    not a /_variants/ path inside another), and tells crawlers not to index that URL."""
    edit(
        project / "sites/root/site.yaml",
        "rules:\n",
        "rules:\n  whole:\n"
        "    when: {condition: {utm.source: whole}}\n    pages: [/articles/alpha/]\n"
        "    then: {template: page.html}\n",
    )
    docroot = build_brand(project, sitegen)
    console: list[str] = []
    with apache(docroot) as base:
        [shown, whole] = visit(
            base,
            docroot,
            [
                "cookie:sg_x_hero-test=1.control",
                "/_variants/hero-test-bold/index.html",
                "/_variants/seg-rule-whole/articles/alpha/index.html",
            ],
            console,
        )
        log = base.access_log.read_text()
    # the swapped-in default runs all its inline scripts (its speculation rules included)
    # under the policy of the file it replaced
    assert not [line for line in console if "Content Security Policy" in line], console
    assert shown["assignment"]["arms"] == {"hero-test": "control"}
    assert shown["variant"] == "hero-test-control" and not shown["swapped"]
    assert "Default hero" in shown["hero"] and shown["robots"] == "noindex"
    assert whole["variant"] == "" and whole["swapped"]  # back to the default file
    assert "/_variants/seg-rule-whole/_variants/" not in log
    assert '"GET /articles/alpha/ HTTP/1.1" 200' in log


def persistent_cookies(profile: Path) -> dict[str, int]:
    """The cookies Chromium keeps on disk (session cookies never are), by name: expiry."""
    import sqlite3

    database = profile / "Default" / "Cookies"
    if not database.exists():
        return {}
    with sqlite3.connect(database) as connection:
        return {
            name: expires
            for name, expires, persistent in connection.execute(
                "SELECT name, expires_utc, is_persistent FROM cookies"
            )
            if persistent
        }


def test_nothing_lasting_before_consent(
    project: Path, sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    """With `consent: required`, a visitor who has not consented gets session cookies only
    (still routed, still in the same arm for the session) and no local storage; consent
    makes the id and the arms last a year."""
    import subprocess

    from tests.browser import CHROMIUM_FLAGS, chromium

    edit(project / "sites/brand/site.yaml", "menu+:", "analytics:\n  consent: required\nmenu+:")
    docroot = build_brand(project, sitegen)
    profile = tmp_path / "profile"

    def browse(steps: list[str]) -> list[dict[str, Any]]:
        (docroot / "harness.htm").write_text(HARNESS % {"steps": json.dumps(steps)})
        with apache(docroot) as base:
            page = tmp_path / "start.html"
            page.write_text(
                f'<!doctype html><script>location.replace("{base}/harness.htm")</script>'
            )
            dom = subprocess.run(
                [
                    chromium(),
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "--virtual-time-budget=30000",
                    f"--user-agent={DESKTOP_AGENT}",
                    "--dump-dom",
                    page.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=90,
            ).stdout
        match = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
        assert match and match.group(1) != "pending", dom[:2000]
        results: list[dict[str, Any]] = json.loads(html.unescape(match.group(1)))
        return results

    [first, second] = browse(["/", "/articles/alpha/"])
    assert "sg_id=" in first["cookies"] and first["assignment"]["arms"]
    assert second["assignment"]["visitor"] == first["assignment"]["visitor"]
    assert persistent_cookies(profile) == {}  # nothing outlives the session
    assert not local_storage_mentions(profile, b"sg_")
    browse(["/", "js:sitegen.consent(true)", "/articles/alpha/"])
    kept = persistent_cookies(profile)
    assert {"sg_id", "sg_visits", "sg_x_hero-test", "sg_consent"} <= set(kept), kept
    assert local_storage_mentions(profile, b"sg_")  # history and seen pages now


def local_storage_mentions(profile: Path, text: bytes) -> bool:
    folder = profile / "Default" / "Local Storage"
    return any(text in path.read_bytes() for path in folder.rglob("*") if path.is_file())


VISITOR_FLAGS = """features:
  newsletter-footer:
    default: false
    pages: [/]
    rules:
      - condition: {utm.source: newsletter}
        force: true
  beta:
    default: "off"
    pages: [/]
    rules:
      - coverage: 0.5
        force: "on"
"""


def test_flags_that_look_at_the_visitor_are_resolved_in_the_browser(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    from generator.personalize.growthbook import eval_feature

    root = project / "sites/root/site.yaml"
    root.write_text(root.read_text() + VISITOR_FLAGS)
    edit(
        project / "themes/plain/templates/base.html",
        '{% include "partials/footer.html" %}',
        "<p id=probe>{{ 'news' if feature('newsletter-footer') else 'plain' }}"
        "/{{ feature('beta') }}</p>{% include \"partials/footer.html\" %}",
    )
    rollout = {"beta": {"defaultValue": "off", "rules": [{"coverage": 0.5, "force": "on"}]}}

    def beta(visitor: str) -> str:
        found = eval_feature({"attributes": {"id": visitor}, "features": rollout}, "beta")
        return str(found["value"])

    # Two visitor ids the rollout puts on either side, as GrowthBook's hashing does.
    ids = [f"{n:024x}" for n in range(40)]
    inside = next(i for i in ids if beta(i) == "on")
    outside = next(i for i in ids if beta(i) == "off")
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        first, reload, other = visit(
            base,
            docroot,
            [
                f"cookie:sg_id={inside}",
                "/?utm_source=newsletter&sg=hero-test:control",
                "/",
                f"cookie:sg_id={outside}",
                "/",
            ],
        )
    segments = ["seg-beta~1", "seg-newsletter", "seg-newsletter-footer~1"]
    # The first view: the server served the default file; the runtime evaluated both
    # flags (the utm condition, the rollout on the visitor id) and swapped in their file.
    assert first["assignment"]["visitor"] == inside
    assert first["probe"] == "news/on" and first["swapped"]
    assert first["variant"] == "+".join(sorted(["hero-test-control", *segments]))
    # The next view: Apache routed by the segment cookie to the file (the control arm
    # changes nothing, so the file is the one without it), no swap.
    assert reload["probe"] == "news/on" and not reload["swapped"]
    assert reload["file"] == "+".join(segments)
    # Another visitor id, outside the rollout: the server still routes by the cookie the
    # last page wrote, the runtime finds the flag off and shows the file for that.
    assert other["assignment"]["visitor"] == outside
    assert other["probe"] == "news/off" and other["swapped"]
    assert other["variant"] == "hero-test-control+seg-newsletter+seg-newsletter-footer~1"


LINKED_EXPERIMENT = """  footer-test:
    arms: {old: 0.5, new: 0.5}
    pages: ["/"]
    status: running
    goals:
      - page: /articles/
"""

LINKED_FLAG = """features:
  new-footer:
    default: false
    pages: [/]
    rules:
      - condition: {utm.source: newsletter}
        force: true
      - key: footer-test
        variations: [false, true]
"""


def test_an_experiment_rule_gives_the_arm_the_runtime_keeps(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    root = project / "sites/root/site.yaml"
    text = root.read_text().replace("experiments:\n", "experiments:\n" + LINKED_EXPERIMENT, 1)
    root.write_text(text + LINKED_FLAG)
    edit(
        project / "themes/plain/templates/base.html",
        '{% include "partials/footer.html" %}',
        "<p id=probe>{{ 'new' if feature('new-footer') else 'old' }}</p>"
        '{% include "partials/footer.html" %}',
    )

    def arm(visitor: str) -> str:
        return ["old", "new"][assign(visitor, "footer-test", 2, weights=[0.5, 0.5])]

    ids = [f"{n:024x}" for n in range(40)]
    new = next(i for i in ids if arm(i) == "new")
    old = next(i for i in ids if arm(i) == "old")
    forget = "cookie:sg_x_footer-test=; expires=Thu, 01 Jan 1970 00:00:00 GMT"
    docroot = build_brand(project, sitegen)
    with apache(docroot) as base:
        first, forced, second, caught, later = visit(
            base,
            docroot,
            [
                f"cookie:sg_id={new}",
                "/",
                "/?sg=footer-test:old",
                forget,
                "cookie:sg_visit=; expires=Thu, 01 Jan 1970 00:00:00 GMT",  # a new visit
                f"cookie:sg_id={old}",
                "/",
                forget,
                "/?utm_source=newsletter",
                "/",
            ],
        )
    # The flag has the variation of the arm the experiment gives: the one runtime.js keeps
    # in its cookie and reports to the pixel, so sitegen's statistics count this visitor.
    assert first["probe"] == "new" and first["assignment"]["arms"]["footer-test"] == "new"
    assert re.search(r"sg_x_footer-test=\d+\.new", first["cookies"]), first["cookies"]
    # Not GrowthBook's own assignment: a QA override of the arm moves the flag with it.
    assert forced["probe"] == "old" and forced["assignment"]["arms"]["footer-test"] == "old"
    assert second["probe"] == "old" and second["assignment"]["arms"]["footer-test"] == "old"
    # A visitor an earlier rule catches never reaches the experiment rule: not enrolled
    # (as GrowthBook counts exposures). The campaign lasts the visit, and so does that.
    assert caught["probe"] == "new"
    assert "footer-test" not in caught["assignment"]["arms"]
    assert re.search(r"sg_x_footer-test=\d+\.-", caught["cookies"]), caught["cookies"]
    assert later["probe"] == "new" and "footer-test" not in later["assignment"]["arms"]
