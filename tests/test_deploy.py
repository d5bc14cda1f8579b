"""`sitegen deploy` against a real FTP server (pyftpdlib on loopback)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, dies_after, edit, jsonl, tree
from tests.ftp import PASSWORD


def published(remote: Path) -> dict[str, bytes]:
    return {
        path: data
        for path, data in tree(remote).items()
        if not path.startswith(".sitegen-state/") and path != "mine.txt"
    }


def test_first_deploy_noop_and_one_page_edit(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, remote = deployable
    assert sitegen(project, "build", "brand").code == 0
    (remote / "mine.txt").write_text("not sitegen's")
    dry = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run")
    assert dry.code == 0 and "upload" in dry.out and "index.html" in dry.out
    assert not (remote / "index.html").exists()  # a dry run changes nothing
    first = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert first.code == 0, first.err
    assert published(remote) == tree(project / "build/brand")
    assert PASSWORD not in first.out + first.err + dry.out
    state = remote / ".sitegen-state"
    manifest = json.loads((state / "manifest.json").read_text())
    assert f"deployed {manifest['version'][:12]} to production" in first.out
    assert not (state / "lock").exists() and not (state / "progress.jsonl").exists()
    events = [entry["event"] for entry in jsonl(state / "journal.jsonl")]
    assert events == ["start", "done"]

    again = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert "0 uploads (0 bytes), 0 deletions, nothing to do" in again.out

    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, edited.")
    assert sitegen(project, "build", "brand").code == 0
    plan = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run").out
    assert "articles/gamma-ray/index.html" in plan
    assert "articles/alpha/index.html" not in plan  # unchanged: not sent
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    assert published(remote) == tree(project / "build/brand")

    (project / "content/articles/gamma.md").unlink()
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    assert not (remote / "articles/gamma-ray/index.html").exists()
    assert (remote / "mine.txt").read_text() == "not sitegen's"  # not ours: untouched
    assert published(remote) == tree(project / "build/brand")


def test_a_killed_deploy_is_finished_by_the_next(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.deploy.execute import Executor

    project, remote = deployable
    assert sitegen(project, "build", "brand").code == 0
    real = Executor.__call__
    monkeypatch.setattr(Executor, "__call__", dies_after(25, real))
    killed = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert killed.code == 130  # interrupted
    monkeypatch.setattr(Executor, "__call__", real)
    locked = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert locked.code == 1 and "locked by" in locked.err
    resumed = sitegen(project, "deploy", "brand", "--target", "production", "--yes", "--break-lock")
    assert resumed.code == 0, resumed.err
    assert "25 already there" in resumed.out  # 20 in the progress, 5 found there
    assert published(remote) == tree(project / "build/brand")


def test_max_bytes_and_missing_build(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, remote = deployable
    missing = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert missing.code == 1 and "run sitegen build first" in missing.err
    assert sitegen(project, "build", "brand").code == 0
    guarded = sitegen(
        project, "deploy", "brand", "--target", "production", "--yes", "--max-bytes", "100"
    )
    assert guarded.code == 1 and "more than --max-bytes 100" in guarded.err
    assert not (remote / "index.html").exists()


def test_diff_and_journal(deployable: tuple[Path, Path], sitegen: Callable[..., Result]) -> None:
    project, _ = deployable
    assert sitegen(project, "build", "brand").code == 0
    first = sitegen(project, "diff", "brand", "--target", "production")
    assert first.code == 0 and "(nothing) ->" in first.out
    manifest = json.loads((project / "build/.sitegen/sites/brand/manifest.json").read_text())
    pages = sum(1 for entry in manifest["files"].values() if entry["kind"] == "page")
    assert f"pages: {pages} added" in first.out
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    assert "is up to date" in sitegen(project, "diff", "brand", "--target", "production").out
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, edited.")
    (project / "content/articles/beta-new.md").write_text("---\ntitle: New\n---\nNew.\n")
    assert sitegen(project, "build", "brand").code == 0
    changed = sitegen(project, "diff", "brand", "--target", "production").out
    assert "pages: 1 added, " in changed and " changed" in changed
    journal = sitegen(project, "journal", "brand", "--target", "production").out.splitlines()
    assert [line.split()[2] for line in journal] == ["start", "done"]


def test_status_reports_drift(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, remote = deployable
    assert (
        "nothing deployed yet" in sitegen(project, "status", "brand", "--target", "production").out
    )
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    clean = sitegen(project, "status", "brand", "--target", "production", "--full").out
    assert "no drift" in clean
    (remote / "robots.txt").write_text("User-agent: *\nDisallow: /\n")  # edited by hand
    page = remote / "articles/alpha/index.html"
    page.write_bytes(page.read_bytes().replace(b"Alpha", b"Omega"))  # same size
    (remote / "404.html").unlink()
    by_size = sitegen(project, "status", "brand", "--target", "production").out
    assert "changed  robots.txt (size)" in by_size and "missing  404.html" in by_size
    assert "articles/alpha" not in by_size
    full = sitegen(project, "status", "brand", "--target", "production", "--full").out
    assert "changed  articles/alpha/index.html (content)" in full


def test_a_deploy_killed_among_deletions_deletes_the_rest_next_time(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.deploy.execute import Executor

    project, remote = deployable
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    (project / "content/articles/gamma.md").unlink()
    (project / "content/news/hello.md").unlink()
    assert sitegen(project, "build", "brand").code == 0
    real_delete = Executor._delete
    monkeypatch.setattr(Executor, "_delete", dies_after(1, real_delete))
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 130
    monkeypatch.setattr(Executor, "_delete", real_delete)
    plan = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run").out
    assert "delete" in plan
    assert (
        sitegen(project, "deploy", "brand", "--target", "production", "--yes", "--break-lock").code
        == 0
    )
    assert published(remote) == tree(project / "build/brand")


def test_target_options_state_outside_the_root_active_mode_and_plan_digest(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, remote = deployable
    site_yaml = project / "sites/brand/site.yaml"
    edit(site_yaml, "/www\n", "/www\n    state: /www/state\n")
    # a config error, found when the network loads (any command), not when a deploy starts
    inside = sitegen(project, "build", "brand")
    assert inside.code == 1
    assert (
        "site.yaml:" in inside.err
        and "targets.production.state: '/www/state' is "
        "inside the web root '/www' and would be published"
        in inside.err
    )
    edit(
        site_yaml,
        "state: /www/state",
        "state: /sitegen-state\n    passive: false\n    connections: 2\n    timeout: 5",
    )
    assert sitegen(project, "build", "brand").code == 0
    dry = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run")
    digest = re.search(r"\(plan ([0-9a-f]{16})\)", dry.out).group(1)  # type: ignore[union-attr]
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, later.")
    assert sitegen(project, "build", "brand").code == 0
    moved = sitegen(project, "deploy", "brand", "--target", "production", "--yes", "--plan", digest)
    assert moved.code == 1 and f"not {digest}: the build or the server changed" in moved.err
    assert not (remote / "index.html").exists()
    dry = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run")
    digest = re.search(r"\(plan ([0-9a-f]{16})\)", dry.out).group(1)  # type: ignore[union-attr]
    done = sitegen(
        project, "deploy", "brand", "--target", "production", "--yes", "--plan", digest
    )  # active-mode data connections
    assert done.code == 0, done.err
    assert tree(remote) == tree(project / "build/brand")  # no state inside the web root
    assert (remote.parent / "sitegen-state/manifest.json").is_file()
    status = sitegen(project, "status", "brand", "--target", "production")
    assert "no drift" in status.out


def test_a_file_the_site_never_published_is_never_overwritten(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, remote = deployable
    assert sitegen(project, "build", "brand").code == 0
    (remote / "robots.txt").write_text("the host's own robots.txt\n")
    refused = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert refused.code == 1
    assert "robots.txt: upload failed: a file the site never published" in refused.err
    assert (remote / "robots.txt").read_text() == "the host's own robots.txt\n"


def test_a_long_deploy_keeps_its_lock(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.deploy.lock as lock
    from generator.deploy.remote import Remote

    project, remote = deployable
    assert sitegen(project, "build", "brand").code == 0
    monkeypatch.setattr(lock, "LOCK_SECONDS", 0)  # every lock is half gone at once
    written: list[str] = []
    real = Remote.put

    def recording(self: Remote, path: str, data: bytes) -> None:
        written.append(path.rpartition("/.sitegen-state/")[2])
        real(self, path, data)

    monkeypatch.setattr(Remote, "put", recording)
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    # Taken once, then renewed with the progress (every 20 operations of the 39).
    assert written.count("lock/owner.json") == 2
    assert not (remote / ".sitegen-state/lock").exists()


def test_live_pages_go_after_the_new_pages_they_link_to(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new article: the live listings, tags and neighbours that now link to it are
    replaced only once it is on the server (the order of renames into place, as the server
    saw them); new pages go in any order, as no visitor can reach them before a live page
    links to them."""
    from generator.deploy.remote import Remote

    project, remote = deployable
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    (project / "content/articles/fresh.md").write_text(
        "---\ntitle: Fresh\ntags: [red]\n---\nFresh, see [alpha](/articles/alpha/).\n"
    )
    assert sitegen(project, "build", "brand").code == 0
    live = set(tree(remote))
    placed: list[str] = []
    real = Remote.rename

    def recording(self: Remote, source: str, destination: str) -> None:
        real(self, source, destination)
        if ".sitegen-" in source and "/.sitegen-state/" not in destination:
            placed.append(destination.removeprefix("/www/"))

    monkeypatch.setattr(Remote, "rename", recording)
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    fresh = placed.index("articles/fresh/index.html")
    linking = [
        path
        for path in placed
        if path.endswith(".html")
        and path in live
        and b'href="/articles/fresh/"' in (remote / path).read_bytes()
    ]
    assert len(linking) >= 3, linking  # listings, a tag page, the home page
    assert all(placed.index(path) > fresh for path in linking), (placed, fresh)


@pytest.mark.parametrize("atomic", [False, True])
def test_atomic_replace_never_leaves_a_page_missing(
    atomic: bool,
    deployable: tuple[Path, Path],
    sitegen: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By default a replaced page is set aside, then the new one renamed in: a gap of one
    rename. With `atomic_replace: true` it is replaced in one rename over it (its old
    content copied into the store first), so no page is ever missing, and rollback still
    brings the old version back byte for byte."""
    from generator.deploy.remote import Remote

    project, remote = deployable
    if atomic:
        edit(project / "sites/brand/site.yaml", "/www\n", "/www\n    atomic_replace: true\n")
    assert sitegen(project, "build", "brand").code == 0
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
    v1 = {
        path: data for path, data in tree(remote).items() if not path.startswith(".sitegen-state/")
    }
    edit(project / "themes/plain/scss/main.scss", "{", "{ color: #9ab;")  # every page
    assert sitegen(project, "build", "brand").code == 0
    pages = [path for path in v1 if path.endswith(".html")]
    gaps: list[str] = []
    real = Remote.rename

    def checking(self: Remote, source: str, destination: str) -> None:
        real(self, source, destination)
        gaps.extend(path for path in pages if not (remote / path).is_file())

    with monkeypatch.context() as patch:
        patch.setattr(Remote, "rename", checking)
        result = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert result.code == 0, result.err
    assert (gaps == []) == atomic, gaps[:3]
    back = sitegen(project, "rollback", "brand", "--target", "production", "--yes")
    assert back.code == 0, back.err
    assert {
        path: data for path, data in tree(remote).items() if not path.startswith(".sitegen-state/")
    } == v1


def test_a_preview_build_is_noindex_everywhere_and_never_deployed(
    deployable: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    from tests.apache import apache, fetch

    project, remote = deployable
    assert sitegen(project, "build", "brand", "--preview").code == 0
    preview = project / "build-preview/brand"
    pages = sorted(preview.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        assert b'<meta name="robots" content="noindex">' in page.read_bytes(), page
    assert "Disallow: /\n" in (preview / "robots.txt").read_text()
    with apache(preview) as base:
        for path in ("/", "/articles/alpha/", "/feed.xml", "/robots.txt"):
            assert fetch(base + path).headers["X-Robots-Tag"] == "noindex", path
    refused = sitegen(
        project,
        "deploy",
        "brand",
        "--target",
        "production",
        "--yes",
        "--out",
        str(project / "build-preview"),
    )
    assert refused.code == 1 and "holds a preview build of 'brand'" in refused.err
    assert list(remote.iterdir()) == []  # nothing was sent
    # The real build of the same project is indexable and deploys.
    assert sitegen(project, "build", "brand").code == 0
    page = project / "build/brand/articles/alpha/index.html"
    assert b'<meta name="robots" content="noindex">' not in page.read_bytes()
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 0
