"""The rule builder of `sitegen serve` (/_sitegen/rules): its API (the tree and where each
entry comes from, the build's own errors, line-level writes, the token and the on-disk
check) and, in Chromium, an author creating a segment and a rule, seeing the preview
change, and saving: each file diff is exactly the new entry."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from generator.serve.rules import Edit, edited_text
from tests.conftest import demo_copy
from tests.serving import get, serving


def _post(base: str, name: str, body: Any, token: str, origin: str | None = None) -> Any:
    headers = {"X-Sitegen-Token": token, "Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    request = urllib.request.Request(
        f"{base}/_sitegen/api/{name}", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _token(base: str) -> str:
    page = get(base + "/_sitegen/rules")[2].decode()
    found = re.search(r'name="sitegen-token" content="([^"]+)"', page)
    assert found
    return found.group(1)


def test_edits_change_only_the_entry_s_lines() -> None:
    text = (
        "# The brand.\ntitle: X  # shown in titles\nsegments:\n  # who reads\n"
        "  readers:\n    condition: {visits: {$gte: 2}}  # returning\n\n"
        "  # next one\n  pros:\n    condition:\n      plan: pro\nmenu: []\n"
    )
    added = edited_text(
        text, Edit("s", "segments", "mobile", {"condition": {"device": "mobile"}}), "f"
    )
    assert added == text.replace(
        "      plan: pro\n", "      plan: pro\n  mobile:\n    condition:\n      device: mobile\n"
    )
    changed = edited_text(text, Edit("s", "segments", "readers", {"condition": {"visits": 3}}), "f")
    # The changed value keeps its flow style and its comment; no other line moves.
    assert re.fullmatch(
        re.escape(text.split("    condition: {visits")[0])
        + r"    condition: \{visits: 3\} +# returning\n"
        + re.escape(text.split("# returning\n")[1]),
        changed,
    ), changed
    removed = edited_text(text, Edit("s", "segments", "pros", None), "f")
    assert removed == text.replace("  pros:\n    condition:\n      plan: pro\n", "")
    new_section = edited_text(text, Edit("s", "rules", "r", {"when": "pros"}), "f")
    assert new_section == text + "rules:\n  r:\n    when: pros\n"


def test_an_edit_keeps_the_entry_s_comments_order_and_unchanged_lines() -> None:
    text = (
        "experiments:\n  cta:\n    # Why we test this.\n    arms:\n      control: 0.5\n"
        "      bold: {weight: 0.5, markdown: bold}\n"
        '    pages: ["/guides/**",\n            "/care/**"]  # two sections\n'
        "    status: running\n"
    )
    value = {
        "status": "stopped",
        "coverage": 0.5,
        "pages": ["/guides/**", "/care/**"],
        "arms": {"control": 0.5, "bold": {"weight": 0.5, "markdown": "bold"}},
    }
    edited = edited_text(text, Edit("s", "experiments", "cta", value), "f")
    assert edited == text.replace("status: running\n", "status: stopped\n    coverage: 0.5\n")


def test_the_api_checks_with_the_build_and_writes_only_with_the_token(tmp_path: Path) -> None:
    root = demo_copy(tmp_path / "demo")
    site_yaml = root / "sites/trailhead/site.yaml"
    before = site_yaml.read_text()
    with serving(root, "trailhead") as served:
        tree = json.loads(get(served.base + "/_sitegen/api/tree")[2])
        alps = next(site for site in tree["sites"] if site["name"] == "trailhead-alps")
        origins = {entry["id"]: (entry["origin"], entry["where"]) for entry in alps["rules"]}
        assert origins["newsletter-hero"] == ("inherits", "sites/trailhead/site.yaml:28")
        assert origins["returning-hero"][0] == "disables"
        trailhead = next(site for site in tree["sites"] if site["name"] == "trailhead")
        assert "/guides/hiking/layering/" in tree["pages"]

        token = _token(served.base)
        conflicting = {
            "site": "trailhead",
            "kind": "rules",
            "id": "mobile-hero",
            "value": {"when": "newsletter", "pages": ["/"], "priority": 10,
                      "then": {"slot": "hero", "markdown": "returning"}},
        }  # fmt: skip
        status, answer = _post(served.base, "plan", {"edit": conflicting}, token)
        assert status == 200
        # The build's own message: the same words `sitegen build` prints.
        assert "rules 'mobile-hero' (sites/trailhead/site.yaml:" in answer["error"]
        assert "and 'newsletter-hero'" in answer["error"]
        assert "give one a higher priority" in answer["error"]
        unknown = {"site": "trailhead", "kind": "segments", "id": "odd",
                   "value": {"condition": {"device": {"$bogus": 1}}}}  # fmt: skip
        status, answer = _post(served.base, "plan", {"edit": unknown}, token)
        assert re.match(
            r"sites/trailhead/site\.yaml:\d+: segments\.odd\.condition", answer["error"]
        )

        good = {"site": "trailhead", "kind": "segments", "id": "mobile",
                "value": {"condition": {"device": "mobile"}}}  # fmt: skip
        assert (
            _post(served.base, "save", {"edit": good, "digest": trailhead["digest"]}, "")[0] == 403
        )
        cross_site = _post(
            served.base, "save", {"edit": good, "digest": trailhead["digest"]}, token,
            origin="http://evil.test",
        )  # fmt: skip
        assert cross_site[0] == 403
        for bad_site in ("../../etc", "trailhead/../harbor", "nope"):
            edit = {**good, "site": bad_site}
            status, answer = _post(served.base, "save", {"edit": edit, "digest": "x"}, token)
            assert status == 422 and "no site" in answer["error"]
        assert site_yaml.read_text() == before

        site_yaml.write_text(before + "# edited by hand meanwhile\n")
        status, answer = _post(
            served.base, "save", {"edit": good, "digest": trailhead["digest"]}, token
        )
        assert status == 422 and "changed on disk" in answer["error"]
        assert site_yaml.read_text() == before + "# edited by hand meanwhile\n"

        request = urllib.request.Request(
            served.base + "/_sitegen/api/tree", headers={"Host": "evil.test"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 403  # DNS rebinding: another name for this server


def _git_diff(root: Path) -> str:
    return subprocess.run(
        ["git", "diff", "--no-color", "-U0"], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def _added_lines(diff: str) -> list[str]:
    return [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]


def _create_segment(page: Any, root: Path) -> None:
    """A segment, phones, made in the builder's form and written."""
    page.click("#new-segments")
    page.fill("input[name=id]", "phones")
    page.fill("input[name=description]", "Visitors on a phone")
    page.click("text=Add condition")
    page.fill("input[aria-label=attribute]", "device")
    page.fill("input[aria-label=value]", "mobile")
    page.click("#review")
    page.wait_for_selector("#diff-box:not([hidden])")
    page.click("#write")
    page.wait_for_selector("#saved:has-text('Written to sites/trailhead/site.yaml')")
    assert _added_lines(_git_diff(root)) == [
        "segments:",
        "  phones:",
        "    description: Visitors on a phone",
        "    condition:",
        "      device: mobile",
    ]
    subprocess.run(["git", "commit", "-qam", "segment"], cwd=root, check=True)


def _create_rule(page: Any, root: Path) -> None:
    """A rule for phones on the home page's hero: the preview follows the form (a priority
    conflict shown inline, then the rule deciding the hero), then written."""
    page.click("#new-rules")
    page.fill("input[name=id]", "phone-hero")
    page.select_option("select[name=segment]", "phones")
    page.fill("textarea[name=pages]", "/")
    page.wait_for_selector("#matched:has-text('1 page(s) match: /')")
    page.fill("input[name=priority]", "10")
    page.fill("input[name=then-slot]", "hero")
    page.fill("input[name=then-markdown]", "returning")
    page.select_option("#profile select[name=device]", "mobile")
    page.wait_for_selector("#problem:has-text('give one a higher priority')")  # vs newsletter
    page.fill("input[name=priority]", "20")
    page.wait_for_selector("#problem:empty", state="attached")
    page.wait_for_selector('#outcome tr[data-url="/"] td:has-text("seg-phones")')
    decided = page.locator('#outcome tr[data-url="/"] td').nth(1).inner_text()
    assert decided == "hero: rule phone-hero"
    page.select_option("#profile select[name=device]", "desktop")
    page.wait_for_selector('#outcome tr[data-url="/"] td:text-is("default")')

    page.click("#review")
    page.wait_for_selector("#diff-box:not([hidden])")
    page.click("#write")
    page.wait_for_selector("#saved:has-text('Written to')")
    assert _added_lines(_git_diff(root)) == [
        "  phone-hero:",
        "    when: phones",
        "    pages:",
        "      - /",
        "    priority: 20",
        "    then:",
        "      slot: hero",
        "      markdown: returning",
    ]
    assert not any(line.startswith("-") and not line.startswith("---")
                   for line in _git_diff(root).splitlines())  # fmt: skip


def test_an_author_builds_a_segment_and_a_rule_in_the_browser(tmp_path: Path, browser: Any) -> None:
    root = demo_copy(tmp_path / "demo")
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "demo"]):  # fmt: skip
        subprocess.run(["git", *command], cwd=root, check=True)
    with serving(root, "trailhead") as served:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(served.base + "/_sitegen/rules")
        page.wait_for_selector("#new-segments")
        home = page.locator('#outcome tr[data-url="/"] td').first
        assert home.inner_text() == "default"

        _create_segment(page, root)
        _create_rule(page, root)
        assert problems == []

        # What was saved is rebuilt by serve (the .htaccess routes it) and served to a
        # visitor holding the segment's cookie once serve has the new routes.
        htaccess = root / "build-preview/trailhead/.htaccess"
        hero = (root / "sites/trailhead/content/index.variants/hero.returning.md").read_text()
        welcome = hero.split("---")[-1].strip().splitlines()[0][:30].encode()
        phone = b""
        for _ in range(300):
            phone = get(served.base + "/", cookie="sg_seg=phones")[2]
            if welcome in phone.split(b"<template")[0]:
                break
            time.sleep(0.1)
        assert "seg-phones" in htaccess.read_text()
        assert welcome in phone.split(b"<template")[0]  # the phones variant's hero
        assert welcome not in get(served.base + "/")[2].split(b"<template")[0]


def test_who_sees_what_follows_segments_arms_and_visitor_flags(project: Path) -> None:
    from generator.config import load_network
    from generator.serve.rules import who_sees_what
    from tests.test_features import FLAGS

    root_yaml = project / "sites/root/site.yaml"
    flags = FLAGS.replace(
        "condition: {environment: staging}", "condition: {utm.source: newsletter}"
    )
    root_yaml.write_text(root_yaml.read_text() + flags)
    site = load_network(project).sites["brand"]
    out = {e.key: "-" for e in site.personalization.experiments}  # enrolled in none
    plain = who_sees_what(site, ["/"], {"attributes": {}, "arms": out})[0]
    assert plain["variant"] == "" and plain["decided"] == []
    newsletter = who_sees_what(
        site, ["/"], {"attributes": {"utm": {"source": "newsletter"}}, "arms": out}
    )[0]
    # The fixture's newsletter segment has a rule on the home page too.
    assert newsletter["variant"] == "seg-launch~2+seg-new-footer~1+seg-newsletter"
    assert {
        "feature flag launch (value 3)",
        "feature flag new-footer (value 2)",
    } <= {d["by"] for d in newsletter["decided"]}
    experiment = site.personalization.experiments[0]
    forced = who_sees_what(site, ["/"], {"arms": {experiment.key: experiment.arms[1].name}})[0]
    assert forced["variant"] == f"{experiment.key}-{experiment.arms[1].name}"
    assert (
        forced["decided"][0]["by"] == f"experiment {experiment.key}, arm {experiment.arms[1].name}"
    )
