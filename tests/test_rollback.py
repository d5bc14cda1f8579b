"""`sitegen rollback` against a real FTP server: from a second clone with no build, the
server alone puts an earlier version back, and the dependency checks refuse what would break."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, dies_after, edit, jsonl, tree
from tests.ftp import PASSWORD, USER

ATOMIC = {"index.html", "404.html", ".htaccess", "_headers", "_redirects"}
"""Files a deploy replaces in one rename, keeping a copy of the old one (by bytes)."""


def _target(project: Path, site: str, port: int, folder: str, keep: int | None = None) -> None:
    options = f"\n    keep: {keep}" if keep is not None else ""
    path = project / f"sites/{site}/site.yaml"
    path.write_text(
        path.read_text() + f"targets:\n  production:\n    url: "
        f"ftp://{USER}@127.0.0.1:{port}/{folder}{options}\n"
    )


@pytest.fixture
def network(
    project: Path, ftp_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    port, home = ftp_server
    _target(project, "brand", port, "brand")
    _target(project, "other", port, "other")
    monkeypatch.setenv("SITEGEN_FTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SITEGEN_DEPLOYER", "Test Deployer")
    return project, home


def published(remote: Path) -> dict[str, bytes]:
    return {
        path: data for path, data in tree(remote).items() if not path.startswith(".sitegen-state/")
    }


def deploy(sitegen: Callable[..., Result], project: Path, site: str = "brand") -> Result:
    assert sitegen(project, "build", site).code == 0
    result = sitegen(project, "deploy", site, "--target", "production", "--yes")
    assert result.code == 0, result.err
    return result


def version(project: Path, site: str = "brand") -> str:
    manifest = project / f"build/.sitegen/sites/{site}/manifest.json"
    return str(json.loads(manifest.read_text())["version"])


def test_round_trip_v1_v2_v3_back_to_v1_from_a_second_clone(
    network: tuple[Path, Path], sitegen: Callable[..., Result], tmp_path: Path
) -> None:
    project, home = network
    remote = home / "brand"
    deploy(sitegen, project)
    v1, v1_files = version(project), tree(project / "build/brand")
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, second.")
    edit(project / "themes/plain/scss/main.scss", "{", "{ letter-spacing: 0.01em;")
    deploy(sitegen, project)
    (project / "content/articles/beta.md").unlink()
    (project / "content/articles/epsilon.md").write_text("---\ntitle: Epsilon\n---\nNew.\n")
    edit(project / "content/articles/gamma.md", "second.", "third.")
    deploy(sitegen, project)
    v3, v3_files = version(project), tree(project / "build/brand")
    assert published(remote) == v3_files

    clone = tmp_path / "second-clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("build"))
    dry = sitegen(
        clone, "rollback", "brand", "--target", "production", "--to", v1[:10], "--dry-run"
    )
    assert dry.code == 0, dry.err
    assert f"rollback brand to production: {v3[:12]} -> {v1[:12]}" in dry.out
    assert "restore" in dry.out and "dependency checks: passed" in dry.out
    assert published(remote) == tree(project / "build/brand")  # dry: untouched

    back = sitegen(clone, "rollback", "brand", "--target", "production", "--to", v1[:10], "--yes")
    assert back.code == 0, back.err
    assert published(remote) == v1_files  # byte for byte
    # Renames only; bytes go only to keeping copies of the files replaced in one rename
    # (entry pages and routing files), exactly those that change.
    sent = int(re.search(r"(\d+) bytes sent", back.out).group(1))  # type: ignore[union-attr]
    atomic = [p for p in v3_files if p in ATOMIC and v3_files[p] != v1_files.get(p)]
    assert "0 copied" in back.out and atomic
    assert sent == sum(len(v3_files[p]) for p in atomic)
    state = remote / ".sitegen-state"
    assert json.loads((state / "manifest.json").read_text())["version"] == v1
    journal = jsonl(state / "journal.jsonl")
    assert [(e["kind"], e["event"]) for e in journal][-2:] == [
        ("rollback", "start"),
        ("rollback", "done"),
    ]
    assert journal[-1]["who"] == "Test Deployer" and journal[-1]["to"] == v1
    assert (clone / "build/.sitegen/sites/brand/journal.jsonl").is_file()

    # Forward again from the first clone: the server still holds v3's contents.
    again = sitegen(project, "deploy", "brand", "--target", "production", "--yes")
    assert again.code == 0, again.err
    assert published(remote) == tree(project / "build/brand")
    assert ": 0 uploaded, " in again.out and " restored by rename" in again.out


def test_only_the_last_versions_are_kept(
    network: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, home = network
    edit(project / "sites/brand/site.yaml", "url: ftp://", "keep: 1\n    url: ftp://")
    versions = []
    previous = "Gamma body."
    for body in ("Gamma one.", "Gamma two.", "Gamma three."):
        edit(project / "content/articles/gamma.md", previous, body)
        previous = body
        deploy(sitegen, project)
        versions.append(version(project))
    state = home / "brand/.sitegen-state"
    assert sorted(p.name for p in (state / "versions").iterdir()) == sorted(
        f"{version}.json.gz" for version in versions[1:]
    )
    gone = sitegen(
        project, "rollback", "brand", "--target", "production", "--to", versions[0][:12], "--yes"
    )
    assert gone.code == 1 and f"version {versions[0][:12]} is not kept" in gone.err
    assert versions[1][:12] in gone.err  # names what is
    # The object store holds only what version two needs and the live site lacks.
    stored = {p.name for p in (state / "objects").iterdir()}
    previous = json.loads(
        gzip.decompress((state / f"versions/{versions[1]}.json.gz").read_bytes())
    )["files"]
    live = json.loads((state / "manifest.json").read_text())["version"]
    current = json.loads(gzip.decompress((state / f"versions/{live}.json.gz").read_bytes()))[
        "files"
    ]
    assert stored == {
        entry["sha256"]
        for path, entry in previous.items()
        if current.get(path, {}).get("sha256") != entry["sha256"]
    }
    assert sitegen(project, "rollback", "brand", "--target", "production", "--yes").code == 0
    assert published(home / "brand") != tree(project / "build/brand")


def test_dependency_checks_refuse_without_force(
    network: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, home = network
    deploy(sitegen, project)
    v1 = version(project)
    # Version 2 of brand: a new page that the other site links to, a migration, a winner.
    (project / "content/articles/epsilon.md").write_text("---\ntitle: Epsilon\n---\nNew.\n")
    edit(
        project / "sites/brand/site.yaml",
        "menu+:",
        "migrations: [2026-11-segments-v2]\nexperiments:\n  hero-test:\n"
        "    status: concluded\n    winner: bold\nmenu+:",
    )
    deploy(sitegen, project)
    (project / "sites/other/content").mkdir(parents=True, exist_ok=True)
    (project / "sites/other/content/partners.md").write_text(
        "---\ntitle: Partners\n---\nSee [Epsilon](https://brand.test/articles/epsilon/).\n"
    )
    deploy(sitegen, project, "other")

    dry = sitegen(project, "rollback", "brand", "--target", "production", "--dry-run")
    assert dry.code == 0
    for reason in (
        f"version {v1[:12]} predates the migration '2026-11-segments-v2'",
        "undo the promotion of arm 'bold' as the winner of experiment 'hero-test'",
        f"site 'other' links to /articles/epsilon/ which version {v1[:12]} lacks",
    ):
        assert reason in dry.out, dry.out
    before = published(home / "brand")
    refused = sitegen(project, "rollback", "brand", "--target", "production", "--yes")
    assert refused.code == 1 and "rollback refused" in refused.err and "--force" in refused.err
    assert published(home / "brand") == before  # untouched
    forced = sitegen(project, "rollback", "brand", "--target", "production", "--yes", "--force")
    assert forced.code == 0, forced.err
    assert not (home / "brand/articles/epsilon/index.html").exists()


def test_an_abandoned_deploy_never_corrupts_what_rollback_keeps(
    network: tuple[Path, Path], sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.deploy.execute import Executor

    project, home = network
    remote = home / "brand"
    deploy(sitegen, project)
    v1, v1_files = version(project), tree(project / "build/brand")
    # Version 2 is killed half-way: some pages already hold v2 while the manifest says v1.
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, version 2.")
    edit(project / "content/articles/alpha.md", "Alpha body text.", "Alpha, version 2.")
    assert sitegen(project, "build", "brand").code == 0
    plan = sitegen(project, "deploy", "brand", "--target", "production", "--dry-run").out
    pages = [line for line in plan.splitlines() if line.startswith("  upload  page")]
    assert any("articles/alpha/" in line for line in pages)
    real = Executor.__call__
    last = plan.splitlines().index(pages[-1])  # every page placed, entry files not
    monkeypatch.setattr(Executor, "__call__", dies_after(last, real))
    assert sitegen(project, "deploy", "brand", "--target", "production", "--yes").code == 130
    monkeypatch.setattr(Executor, "__call__", real)
    assert b"version 2" in (remote / "articles/alpha/index.html").read_bytes()
    # Version 3 instead (the run for version 2 is abandoned), then back to version 1.
    edit(project / "content/articles/gamma.md", "version 2.", "version 3, longer than 2.")
    deploy_result = None
    assert sitegen(project, "build", "brand").code == 0
    deploy_result = sitegen(
        project, "deploy", "brand", "--target", "production", "--yes", "--break-lock"
    )
    assert deploy_result.code == 0, deploy_result.err
    assert published(remote) == tree(project / "build/brand")
    back = sitegen(
        project,
        "rollback",
        "brand",
        "--target",
        "production",
        "--to",
        v1[:12],
        "--yes",
        "--verify",
        "full",
    )
    assert back.code == 0, back.err
    assert published(remote) == v1_files
    # Every object in the store holds the content its name says.
    import hashlib

    for stored in (remote / ".sitegen-state/objects").iterdir():
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == stored.name


def test_a_file_changed_by_hand_is_never_kept_as_the_version_it_replaced(
    network: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, home = network
    remote = home / "brand"
    deploy(sitegen, project)
    v1 = version(project)
    page = remote / "articles/alpha/index.html"
    page.write_bytes(page.read_bytes() + b"<!-- edited on the server by hand -->")
    edit(project / "content/articles/alpha.md", "Alpha body text.", "Alpha, version 2.")
    deploy(sitegen, project)
    import hashlib

    for stored in (remote / ".sitegen-state/objects").iterdir():  # nothing mislabelled
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == stored.name
    # So version 1's alpha page is not on the server: the rollback says so, changes nothing.
    before = published(remote)
    back = sitegen(project, "rollback", "brand", "--target", "production", "--to", v1[:12], "--yes")
    assert back.code == 1
    assert "cannot be restored from the server alone" in back.err
    assert "articles/alpha/index.html" in back.err
    assert published(remote) == before


def _as_format_1(state: Path) -> None:
    """Turn the target's state into the layout sitegen wrote before the pointer: the whole
    manifest in manifest.json, kept versions as plain JSON."""
    live = json.loads((state / "manifest.json").read_text())["version"]
    for kept in (state / "versions").glob("*.json.gz"):
        document = json.loads(gzip.decompress(kept.read_bytes()))
        (state / "versions" / kept.name.removesuffix(".gz")).write_text(json.dumps(document))
        kept.unlink()
    (state / "manifest.json").write_text((state / f"versions/{live}.json").read_text())


def test_a_target_in_the_earlier_state_format_is_migrated_by_the_next_deploy(
    network: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, home = network
    state = home / "brand/.sitegen-state"
    deploy(sitegen, project)
    v1, v1_files = version(project), tree(project / "build/brand")
    _as_format_1(state)
    assert "files" in json.loads((state / "manifest.json").read_text())
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, second.")
    deploy(sitegen, project)
    pointer = json.loads((state / "manifest.json").read_text())
    assert pointer["format"] == 2 and pointer["written_by"] and "files" not in pointer
    journal = jsonl(state / "journal.jsonl")
    assert [entry.get("migrated") for entry in journal[-2:]] == [
        "remote deploy state format 1 -> 2"
    ] * 2
    assert (state / f"versions/{v1}.json").is_file()  # the older layout, still there
    back = sitegen(project, "rollback", "brand", "--target", "production", "--to", v1[:10], "--yes")
    assert back.code == 0, back.err
    assert published(home / "brand") == v1_files  # byte for byte, across the migration


def test_a_target_in_a_newer_state_format_is_refused_untouched(
    network: tuple[Path, Path], sitegen: Callable[..., Result]
) -> None:
    project, home = network
    deploy(sitegen, project)
    pointer = home / "brand/.sitegen-state/manifest.json"
    document = json.loads(pointer.read_text())
    pointer.write_text(json.dumps({**document, "format": 3, "written_by": "0.9.0"}))
    before = tree(home / "brand")
    edit(project / "content/articles/gamma.md", "Gamma body.", "Gamma body, second.")
    assert sitegen(project, "build", "brand").code == 0
    for command in (
        ["deploy", "brand", "--yes"],
        ["rollback", "brand", "--yes"],
        ["status", "brand"],
    ):
        refused = sitegen(project, *command, "--target", "production")
        assert refused.code == 1, command
        assert (
            "the state on this target is in remote deploy state format 3, written by sitegen "
            "0.9.0; this is sitegen"
        ) in refused.err, refused.err
    assert tree(home / "brand") == before
