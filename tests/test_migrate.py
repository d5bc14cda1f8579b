"""`sitegen migrate` and the config format's version: each migration with its fixture (old
tree in, expected tree out), idempotence, all or nothing, and a newer format refused
(issue 14)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import __version__
from generator.events import SCHEMA_VERSION
from generator.formats import CONFIG
from generator.migrate.registry import MIGRATIONS
from tests.conftest import FIXTURES, Result, edit, tree

CONFIG_1_TO_2 = FIXTURES / "migrate/config-1-to-2"


@pytest.fixture
def old_tree(tmp_path: Path) -> Path:
    destination = tmp_path / "old"
    shutil.copytree(CONFIG_1_TO_2 / "before", destination)
    return destination


def test_every_version_of_every_format_has_its_next_step() -> None:
    for version in range(1, CONFIG.current):
        assert (CONFIG.name, version) in MIGRATIONS, version
    assert (CONFIG.name, CONFIG.current) not in MIGRATIONS


def test_config_1_to_2_gives_the_expected_tree_and_then_nothing(
    old_tree: Path, sitegen: Callable[..., Result]
) -> None:
    migrated = sitegen(old_tree, "migrate")
    assert migrated.code == 0, migrated.err
    assert tree(old_tree) == tree(CONFIG_1_TO_2 / "after")
    assert "--- a/sites/shop/site.yaml" in migrated.out and "+        page: /thanks/" in (
        migrated.out
    )
    assert "sites/shop/site.yaml: line 4: 'baseurl' is deprecated, renamed 'base_url'" in (
        migrated.out
    )
    assert "sites/shop-eu" not in migrated.out  # already format 2: left as it is
    assert "migrated 2 file(s)" in migrated.out
    again = sitegen(old_tree, "migrate")
    assert again.code == 0 and "nothing to migrate" in again.out
    assert tree(old_tree) == tree(CONFIG_1_TO_2 / "after")


def test_dry_run_prints_the_diff_and_writes_nothing(
    old_tree: Path, sitegen: Callable[..., Result]
) -> None:
    dry = sitegen(old_tree, "migrate", "--dry-run")
    assert dry.code == 0, dry.err
    assert "+sitegen: 2" in dry.out and "2 file(s) would change" in dry.out
    assert tree(old_tree) == tree(CONFIG_1_TO_2 / "before")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "sites/shop-eu/site.yaml",
            "sitegen: 2\n",
            "baseurl: https://eu.shop.test/\n",
            "sites/shop-eu/site.yaml:1: baseurl: deprecated, and 'base_url' is set too",
        ),
        (
            "themes/plain/theme.yaml",
            "description: Plain.\n",
            "description: [Plain.\n",
            "themes/plain/theme.yaml:4: malformed YAML",
        ),
        (
            "sites/shop-eu/site.yaml",
            "sitegen: 2\n",
            "sitegen: 3\n",
            "sites/shop-eu/site.yaml:1: sitegen: 3: this file is in config format 3, written "
            "by a newer sitegen",
        ),
    ],
)
def test_a_file_that_cannot_migrate_stops_everything_before_a_write(
    old_tree: Path,
    sitegen: Callable[..., Result],
    file: str,
    old: str,
    new: str,
    expected: str,
) -> None:
    edit(old_tree / file, old, new)
    before = tree(old_tree)
    failed = sitegen(old_tree, "migrate")
    assert failed.code == 1 and expected in failed.err, failed.err
    assert tree(old_tree) == before  # the shop's file, which could migrate, too


def test_a_newer_config_format_is_refused_and_the_output_kept(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build").code == 0
    published = tree(project / "build/brand")
    site = project / "sites/brand/site.yaml"
    site.write_text("sitegen: 3\n" + site.read_text())
    refused = sitegen(project, "build")
    assert refused.code == 1
    assert (
        "sites/brand/site.yaml:1: sitegen: 3: this file is in config format 3, written by a "
        f"newer sitegen; this is sitegen {__version__}, which reads config formats up to 2: "
        "upgrade sitegen"
    ) in refused.err
    assert tree(project / "build/brand") == published
    theme = project / "themes/plain/theme.yaml"
    site.write_text(site.read_text().replace("sitegen: 3\n", ""))
    theme.write_text("sitegen: 7\n" + (theme.read_text() if theme.exists() else ""))
    assert "themes/plain/theme.yaml:1: sitegen: 7: this file is in config format 7" in (
        sitegen(project, "build").err
    )


def test_format_2_needs_every_goal_id(project: Path, sitegen: Callable[..., Result]) -> None:
    root = project / "sites/root/site.yaml"
    root.write_text("sitegen: 2\n" + root.read_text())
    failed = sitegen(project, "build")
    line = root.read_text().splitlines().index("      - page: /articles/") + 1
    assert failed.code == 1
    assert (
        f"sites/root/site.yaml:{line}: experiments.hero-test.goals[0]: config format 2 needs an "
        "'id' for every goal"
    ) in failed.err


def test_the_old_format_key_still_reads_with_a_warning(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    root = project / "sites/root/site.yaml"
    root.write_text("schema: 1\n" + root.read_text())
    built = sitegen(project, "build")
    assert built.code == 0, built.err
    assert "sites/root/site.yaml:1: 'schema' is deprecated since sitegen 0.2.0" in built.err


def test_migrating_a_network_changes_no_published_byte(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    assert sitegen(project, "build", "--clean").code == 0
    before = {name: tree(project / "build" / name) for name in ("brand", "other", "region")}
    migrated = sitegen(project, "migrate")
    assert migrated.code == 0, migrated.err
    assert "+        page: /articles/" in migrated.out  # the goal got its id
    assert sitegen(project, "build", "--clean").code == 0
    after = {name: tree(project / "build" / name) for name in ("brand", "other", "region")}
    assert after == before


def test_strict_makes_every_deprecated_use_an_error(
    project: Path, sitegen: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sitegen(project, "build").code == 0
    published = tree(project / "build/brand")
    edit(project / "sites/other/site.yaml", "base_url:", "baseurl:")
    edit(project / "sites/brand/site.yaml", "base_url:", "baseurl:")
    root = project / "sites/root/site.yaml"
    root.write_text("schema: 1\n" + root.read_text())
    warned = sitegen(project, "build")
    assert warned.code == 0 and warned.err.count("is deprecated since") == 3, warned.err
    for strict in (["--strict"], []):
        if not strict:
            monkeypatch.setenv("SITEGEN_DEPRECATIONS", "error")
        failed = sitegen(project, "build", *strict)
        assert failed.code == 1
        assert "3 use(s) of deprecated names, errors with --strict" in failed.err
        for file in ("sites/other/site.yaml:3", "sites/brand/site.yaml", "sites/root/site.yaml:1"):
            assert f"\n{file}" in failed.err, failed.err
    assert tree(project / "build/brand") == published  # the good output stays
    monkeypatch.delenv("SITEGEN_DEPRECATIONS")
    assert sitegen(project, "migrate").code == 0
    assert sitegen(project, "build", "--strict").code == 0


def test_the_deprecations_page_is_made_from_the_schemas() -> None:
    """docs/deprecations.md lists every deprecated key; regenerate it with
    `python -m generator.config.deprecations > docs/deprecations.md`."""
    from generator.config.deprecations import document

    page = Path(__file__).resolve().parent.parent / "docs/deprecations.md"
    assert page.read_text(encoding="utf-8") == document()
    assert "| `site.yaml` | `baseurl` | `base_url` | 0.1.0 | 1.0.0 |" in document()


def test_a_behaviour_change_waits_for_the_site_to_opt_in(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    """compat.not_found_page_runtime, this release's change to the 404 page: off for a
    site file in format 1 (an existing site), on for one in format 2 (a new one), and
    whatever the site says when it says it."""
    not_found = project / "build/brand/404.html"
    brand = project / "sites/brand/site.yaml"
    original = brand.read_text()
    for header, runtime in [
        ("", False),
        ("sitegen: 2\n", True),
        ("sitegen: 2\ncompat: {not_found_page_runtime: false}\n", False),
        ("compat:\n  not_found_page_runtime: true\n", True),
    ]:
        brand.write_text(header + original)
        built = sitegen(project, "build", "brand")
        assert built.code == 0, built.err
        assert ('id="sitegen-config"' in not_found.read_text()) is runtime, header


def test_an_older_events_store_is_copied_migrated_and_reported_once(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    import json
    import sqlite3

    export = project / "events.jsonl"
    export.write_text(
        "".join(
            json.dumps({"time": 1_780_000_000 + i, "type": "view", "page": "/", "visitor": f"v{i}"})
            + "\n"
            for i in range(5)
        )
    )
    assert sitegen(project, "analytics", "ingest", "brand", "--jsonl", str(export)).code == 0
    store = project / "build/.sitegen/events.sqlite"
    with sqlite3.connect(store) as connection:  # as sitegen 0.1 left it: schema 2
        for column in ("client_ms", "referrer", "utm", "device"):
            connection.execute(f"ALTER TABLE events DROP COLUMN {column}")
        for table in ("visits", "page_visitors"):
            connection.execute(f"DROP TABLE {table}")
        connection.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    first = sitegen(project, "build", "brand")
    assert first.code == 0, first.err
    assert f"events store migrated from schema 2 to {SCHEMA_VERSION}" in first.err
    assert "kept as events.sqlite.schema-2.bak" in first.err
    with sqlite3.connect(store.with_name("events.sqlite.schema-2.bak")) as old:
        assert old.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
        assert old.execute("SELECT COUNT(*) FROM events").fetchone() == (5,)
    with sqlite3.connect(store) as new:
        assert new.execute("SELECT COUNT(*), SUM(client_ms) FROM events").fetchone() == (5, 0)
        # the visits the report reads were made from the events already stored
        assert new.execute("SELECT COUNT(*), SUM(views) FROM visits").fetchone() == (5, 5)
        assert new.execute("SELECT SUM(views) FROM page_visitors").fetchone() == (5,)
    edit(project / "content/articles/alpha.md", "\n---\n", "\n---\nEdited.\n")
    second = sitegen(project, "build", "brand")
    assert second.code == 0 and "migrated" not in second.err


def test_a_newer_events_store_is_refused_and_left_alone(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    import sqlite3

    store = project / "build/.sitegen/events.sqlite"
    store.parent.mkdir(parents=True)
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute("INSERT INTO meta VALUES ('schema', '9')")
    before = store.read_bytes()
    failed = sitegen(project, "build", "brand")
    assert failed.code == 1
    assert "this events store is in events store format 9, written by a newer sitegen" in (
        failed.err
    )
    assert store.read_bytes() == before


def test_a_build_folder_a_newer_sitegen_wrote_is_refused_and_left_alone(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    import json

    assert sitegen(project, "build", "brand").code == 0
    record = project / "build/.sitegen/format.json"
    assert json.loads(record.read_text()) == {"format": 1, "written_by": __version__}
    record.write_text(json.dumps({"format": 2, "written_by": "0.9.0"}))
    before = tree(project / "build")
    expected = (
        "build/.sitegen/format.json: this build folder is in build state format 2, written "
        f"by sitegen 0.9.0; this is sitegen {__version__}, which reads build state formats "
        "up to 1: upgrade sitegen"
    )
    for command in (["build", "brand"], ["experiments", "status", "brand"], ["cache", "gc"]):
        failed = sitegen(project, *command)
        assert failed.code == 1, command
        assert expected in failed.err, failed.err
    assert tree(project / "build") == before


def test_front_matter_in_a_newer_format_is_refused_at_its_line(
    project: Path, sitegen: Callable[..., Result]
) -> None:
    page = project / "content/articles/alpha.md"
    page.write_text(page.read_text().replace("---\n", "---\nsitegen: 1\n", 1))
    assert sitegen(project, "build", "brand").code == 0  # today's format: read as ever
    page.write_text(page.read_text().replace("sitegen: 1\n", "sitegen: 2\n"))
    failed = sitegen(project, "build", "brand")
    assert failed.code == 1
    assert (
        "content/articles/alpha.md:2: sitegen: 2: this front matter is in front matter format "
        "2, written by a newer sitegen"
    ) in failed.err
